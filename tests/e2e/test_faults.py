"""Faults, many hosts, and secrets at full verbosity: through ansible's winrm connection and the lab."""

import datetime
import json

import pytest
import yaml

from rdlab.testing import ROOT, start_lab

SITE = ROOT / "playbooks" / "site.yml"
# Recognisable secrets: each must appear nowhere but where the host must receive it.
SECRETS = {
    "agreement": "7391468",
    "open_license": "52814736",
    "open_authorization": "QWXZ7YV3KP2M9RT",
    "retail": "ZQ7K2M9RTX4WB8NP3VJ6HC472",  # its last three characters tell the lab: 2012, Per Device, 20
    "license_server_id": "Q9W8E7R6T5Y4U3I2O1P0A9S8D7F6G5H4J3K",
    "marker_key": "faults-marker-key-Zq81vX0pL3nW",
}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    directory = tmp_path_factory.mktemp("faults")
    hosts = ["ls1:none:domain=corp.example.com:groups=license_servers"]
    hosts += ["sh%d:session_host:domain=corp.example.com" % i for i in range(1, 11)]
    lab = start_lab(directory, *hosts)
    yield lab
    lab.rdlab("stop")


def seed(lab, host, document, tmp_path):
    path = tmp_path / ("%s-seed.json" % host)
    path.write_text(json.dumps(document))
    lab.rdlab("seed", host, str(path))


def test_a_host_restarting_during_the_run_fails_clearly_and_a_rerun_converges(fleet, tmp_path):
    now = datetime.datetime.now(datetime.timezone.utc)
    seed(fleet, "sh1", {"reboot": {"down_at": (now - datetime.timedelta(seconds=1)).isoformat(),
                                   "up_at": (now + datetime.timedelta(seconds=600)).isoformat(),
                                   "comment": "test", "reason_code": 0}}, tmp_path)
    args = {"mode": "per_device", "license_servers": ["ls1"], "check_connectivity": False}
    down = fleet.adhoc("sh1", "remote_desktop.licensing.session_host", args, tmp_path=tmp_path)["sh1"]
    assert down["_rc"] != 0 and down["unreachable"] is True  # as ansible reports a host it cannot reach
    assert down["msg"].startswith("The connection to sh1 (127.0.0.1) dropped twice while reading it: "), down
    assert fleet.state("sh1")["session_host"]["licensing_type"] == 5  # nothing was changed
    seed(fleet, "sh1", {"reboot": {"up_at": (now - datetime.timedelta(seconds=1)).isoformat()}}, tmp_path)
    again = fleet.adhoc("sh1", "remote_desktop.licensing.session_host", args, tmp_path=tmp_path)["sh1"]
    assert again["_rc"] == 0 and again["changed"] is True and again["mode"] == "per_device"
    assert fleet.adhoc("sh1", "remote_desktop.licensing.session_host", args, tmp_path=tmp_path)["sh1"]["changed"] is False


def test_a_cim_call_failing_once_gives_an_actionable_message_and_a_rerun_converges(fleet, tmp_path):
    fleet.rdlab("fault", "set", "sh2", "cim_fail", "--class", "Win32_TerminalServiceSetting", "--method",
                "ChangeMode", "--count", "1")
    args = {"mode": "per_user", "license_servers": ["ls1"], "check_connectivity": False}
    failed = fleet.adhoc("sh2", "remote_desktop.licensing.session_host", args, tmp_path=tmp_path)["sh2"]
    assert failed["_rc"] != 0
    assert failed["msg"] == ("Could not set the licensing mode to per_user: Win32_TerminalServiceSetting.ChangeMode "
                             "in root/cimv2/TerminalServices returned 0x80041001 WBEM_E_FAILED (Generic failure).")
    # stop_on_error: nothing after the failed call ran, so the license servers were not half set
    assert fleet.state("sh2")["session_host"]["specified_servers"] == []
    again = fleet.adhoc("sh2", "remote_desktop.licensing.session_host", args, tmp_path=tmp_path)["sh2"]
    assert again["_rc"] == 0 and again["changed"] is True
    assert (again["mode"], again["license_servers"]) == ("per_user", ["ls1"])


def test_many_hosts_at_once_keep_their_own_state_and_output(fleet, tmp_path):
    hosts = ["sh%d" % i for i in range(3, 11)]
    playbook = tmp_path / "own.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": "Each host its own servers", "hosts": ",".join(hosts), "gather_facts": False,
        "tasks": [{"name": "Own license server name", "remote_desktop.licensing.session_host": {
            "mode": "per_device", "check_connectivity": False,
            "license_servers": ["{{ inventory_hostname }}-ls.corp.example.com"]}}]}]))
    run = fleet.playbook(playbook, "-f", "8")
    assert run.returncode == 0, run.stdout + run.stderr
    for host in hosts:
        assert fleet.state(host)["session_host"]["specified_servers"] == ["%s-ls.corp.example.com" % host]
    results = fleet.adhoc(",".join(hosts), "remote_desktop.licensing.licensing_info", None, "-f", "8",
                          tmp_path=tmp_path)
    for host in hosts:
        assert results[host]["session_host"]["license_servers"] == ["%s-ls.corp.example.com" % host]
        assert results[host]["host"]["name"] == host.upper()


def secret_vars(tmp_path):
    """The demo variables with a pack of every kind of number, and activation by license server ID."""
    variables = yaml.safe_load((ROOT / "tests" / "lab" / "demo" / "vars.yml").read_text())
    variables.update({
        "license_server_activation_method": "license_server_id",
        "license_server_license_server_id": SECRETS["license_server_id"],
        "license_server_cal_pack_marker_key": SECRETS["marker_key"],
        "license_server_cal_packs": [
            {"program": "select", "agreement_number": SECRETS["agreement"], "product_version": "2022",
             "license_type": "per_user", "count": 30},
            {"program": "open_license", "license_number": SECRETS["open_license"],
             "authorization_number": SECRETS["open_authorization"], "product_version": "2019",
             "license_type": "per_device", "count": 10},
            {"program": "retail", "license_code": SECRETS["retail"]},
        ],
    })
    path = tmp_path / "secret-vars.yml"
    path.write_text(yaml.safe_dump(variables))
    return path


def test_no_secret_anywhere_after_the_whole_site_at_full_verbosity_with_diff(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("secrets")
    lab = start_lab(tmp_path / "lab", "ls1:none:domain=corp.example.com:groups=license_servers",
                    "sh1:session_host:domain=corp.example.com")
    try:
        run = lab.playbook(SITE, "-e", "@%s" % secret_vars(tmp_path), "-vvvvv", "--diff")
        assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
        assert lab.state("ls1")["license_server"]["activation_status"] == 0
        assert len([p for p in lab.state("ls1")["license_server"]["key_packs"] if p["ProductType"] != 3]) == 3
        places = {"ansible output": run.stdout + run.stderr,
                  "lab transcript": (lab.dir / "transcript.jsonl").read_text()}
        for path in list(lab.dir.rglob("*")) + list(tmp_path.rglob("*")):
            if path.is_file() and path.suffix not in (".key", ".crt") and path.name != "secret-vars.yml":
                places[str(path)] = path.read_text(errors="replace")
        # The one place the host must keep a secret: Windows stores its own license server ID.
        ls1 = lab.state("ls1")
        assert ls1["license_server"].pop("license_server_id") == SECRETS["license_server_id"]
        places[str(lab.dir / "hosts" / "ls1.json")] = json.dumps(ls1)
        for name, value in SECRETS.items():
            for place, text in places.items():
                assert value not in text, "%s (%s) found in %s" % (name, value, place)
    finally:
        lab.rdlab("stop")
