"""The modules converge a fresh lab, and a second run changes nothing (playbooks/converge.yml).

Fresh: three domain hosts with no role. Converged: ls1 is an activated license server in the domain's
Terminal Server License Servers group with a CAL pack of each license program; sh1 (2019) and sh2 (2022)
are RD Session Hosts in Per User mode pointing at ls1.
"""

from types import SimpleNamespace

import pytest

from .support import PLAYBOOKS, ModuleLab, is_read

DOMAIN = "corp.example.com"
HOSTS = ("ls1", "sh1", "sh2")
SESSION_HOSTS = ("sh1", "sh2")
CONVERGE = PLAYBOOKS / "converge.yml"
CAL_PACK_TASKS = 9  # playbooks/cal_packs.yml


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = ModuleLab.start(tmp_path_factory, f"ls1:none:domain={DOMAIN}", f"sh1:none:os=2019:domain={DOMAIN}",
                          f"sh2:none:domain={DOMAIN}")
    yield lab
    lab.stop()


@pytest.fixture(scope="module")
def converge(lab):
    before = {host: lab.state(host) for host in HOSTS}
    check = lab.play(CONVERGE, "--check", "--diff")
    # The failed cal_pack task (below) ends the playbook before the session hosts' play: check them alone.
    check_session_hosts = lab.play(CONVERGE, "--check", "--diff", "--limit", ",".join(SESSION_HOSTS))
    after_check = {host: lab.state(host) for host in HOSTS}
    first = lab.play(CONVERGE, "--diff")
    second = lab.play(CONVERGE, "--diff")
    report = lab.run("all", "licensing_info", {"check_connectivity": True})
    return SimpleNamespace(before=before, check=check, check_session_hosts=check_session_hosts,
                           after_check=after_check, first=first, second=second,
                           report={t["host"]: t["result"] for t in report.tasks})


def test_check_mode_on_the_fresh_lab_changes_nothing(converge):
    assert converge.after_check == converge.before
    for run, hosts in ((converge.check, ["ls1"]), (converge.check_session_hosts, SESSION_HOSTS)):
        for host in hosts:
            assert run.commands(host) and all(c["check_mode"] for c in run.commands(host))
            assert all(is_read(op) for batch in run.batches(host) for op in batch)


def test_check_mode_predicts_what_the_first_run_does(converge):
    # The license server and the session hosts are predicted exactly...
    for run, host in [(converge.check, "ls1")] + [(converge.check_session_hosts, h) for h in SESSION_HOSTS]:
        predicted, done = run.results(host)[0], converge.first.results(host)[0]
        assert predicted["changed"] is done["changed"] is True, host
        assert predicted["plan"] == done["plan"] and predicted["diff"] == done["diff"], host
    # ...but CAL packs cannot be predicted on a license server that check mode did not install: cal_pack
    # refuses, as it does on any host without the role, and the playbook stops there.
    assert converge.check.statuses("ls1") == ["changed", "failed"]
    assert converge.check.results("ls1")[1]["msg"].startswith("LS1 is not a license server")


def test_first_run_converges(converge):
    assert converge.first.rc == 0, converge.first.output
    assert converge.first.statuses("ls1") == ["changed"] * (1 + CAL_PACK_TASKS)
    for host in SESSION_HOSTS:
        (result,) = converge.first.results(host)
        assert result["rebooted"] is True and result["changed"] is True


def test_the_lab_is_converged(converge):
    server = converge.report["ls1"]["license_server"]
    assert server["activation_status"] == "activated" and server["scope"] == "domain"
    assert server["published_in_ad"] is True and server["in_license_servers_group"] is True
    packs = [p for p in server["key_packs"] if not p["built_in"]]
    assert len(packs) == CAL_PACK_TASKS
    assert {p["key_pack_type"] for p in packs} == {"retail", "open_license", "volume"}
    for host in SESSION_HOSTS:
        session_host = converge.report[host]["session_host"]
        assert session_host["licensing_mode"] == "per_user"
        assert session_host["license_servers"] == [f"ls1.{DOMAIN}"]
        assert [c["status"] for c in session_host["connectivity"]] == [11]
    for host in HOSTS:
        assert [d for d in converge.report[host]["diagnostics"] if d["severity"] == "error"] == [], host


def test_second_run_changes_nothing(converge):
    recap = converge.second.recap()
    assert converge.second.rc == 0, converge.second.output
    assert sorted(recap) == sorted(HOSTS)
    assert all(counters["changed"] == 0 and counters["failed"] == 0 for counters in recap.values()), recap


def test_second_run_costs_one_round_trip_per_module_call(converge):
    calls = {"ls1": 1 + CAL_PACK_TASKS, "sh1": 1, "sh2": 1}
    for host, expected in calls.items():
        assert len(converge.second.commands(host)) == expected, host
        assert all(is_read(op) for batch in converge.second.batches(host) for op in batch)
