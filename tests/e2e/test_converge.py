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
    after_check = {host: lab.state(host) for host in HOSTS}
    first = lab.play(CONVERGE, "--diff")
    second = lab.play(CONVERGE, "--diff")
    report = lab.run("all", "licensing_info", {"check_connectivity": True})
    return SimpleNamespace(before=before, check=check, after_check=after_check, first=first, second=second,
                           report={t["host"]: t["result"] for t in report.tasks})


def test_check_mode_on_the_fresh_lab_changes_nothing(converge):
    assert converge.check.rc == 0, converge.check.output
    assert converge.after_check == converge.before
    for host in HOSTS:
        assert converge.check.commands(host) and all(c["check_mode"] for c in converge.check.commands(host))
        assert all(is_read(op) for batch in converge.check.batches(host) for op in batch)


def test_check_mode_predicts_what_the_first_run_does(converge):
    # The license server and the session hosts are predicted exactly...
    for host in HOSTS:
        predicted, done = converge.check.results(host)[0], converge.first.results(host)[0]
        assert predicted["changed"] is done["changed"] is True, host
        assert predicted["plan"] == done["plan"] and predicted["diff"] == done["diff"], host
    # ...and each CAL pack as it will be installed once the license server is: the same steps. (The pack's
    # id is Windows'; the markers' first lock is written by the first real task only, which check mode,
    # changing nothing, cannot know.)
    assert converge.check.statuses("ls1") == ["changed"] * (1 + CAL_PACK_TASKS)
    for i, (predicted, done) in enumerate(zip(converge.check.results("ls1")[1:], converge.first.results("ls1")[1:])):
        assert predicted["warnings"][0].startswith("ls1: Check mode: LS1 is not a license server")
        assert [s["action"] for s in predicted["plan"]] == ["prepare", "install", "mark"]
        assert [s["action"] for s in done["plan"]] == (["prepare"] if i == 0 else []) + ["install", "mark"]
        assert predicted["plan"][1]["description"] == done["plan"][-2]["description"]


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
