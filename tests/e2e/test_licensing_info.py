"""licensing_info end to end: ansible's winrm connection, the bridge, the lab."""

import json
import re

import pytest

HOSTS = ["ls1", "sh1", "sh2", "bare", "core1"]


@pytest.fixture(scope="module")
def report(lab, tmp_path_factory):
    before = {h: lab.state(h) for h in HOSTS}
    results = lab.adhoc("all", "remote_desktop.licensing.licensing_info", tmp_path=tmp_path_factory.mktemp("r"))
    return before, results


def test_every_host_reports(report):
    results = report[1]
    assert sorted(results) == sorted(HOSTS)
    for host, result in results.items():
        assert not result.get("failed"), (host, result)
        assert result["changed"] is False
        assert result["problems"] == [], (host, result["problems"])


def test_license_server_report(report):
    ls = report[1]["ls1"]
    assert ls["roles"] == {"license_server": True, "session_host": False}
    assert ls["host"]["domain"] == "corp.example.com" and ls["host"]["os_version"] == "10.0.20348"
    server = ls["license_server"]
    assert server["activation_status"] == "not_activated"
    assert server["service"] == {"state": "Running", "start_mode": "Auto"}
    assert server["scope"] == "domain"
    (built_in,) = server["key_packs"]
    assert built_in["built_in"] and built_in["description"] == "A02-5.00-EX"
    assert built_in["expiration_date"] == "2035-12-31T23:00:00Z"


def test_session_host_report(report):
    sh = report[1]["sh1"]["session_host"]
    assert sh["installed"] is True
    assert sh["licensing_mode"] == "not_configured" and sh["licensing_type"] == 5
    assert sh["license_servers"] == [] and sh["grace_period_days_left"] == 120
    assert report[1]["sh1"]["host"]["os"] == "Microsoft Windows Server 2019 Standard"


def test_host_with_neither_role_says_so(report):
    bare = report[1]["bare"]
    assert bare["roles"] == {"license_server": False, "session_host": False}
    assert bare["license_server"]["installed"] is False and bare["license_server"]["key_packs"] == []
    assert bare["host"]["workgroup"] == "WORKGROUP"


def test_server_core_license_server(report):
    core = report[1]["core1"]
    assert core["host"]["installation_type"] == "Server Core"
    assert core["license_server"]["installed"] and not core["license_server"]["management_tools_installed"]
    assert core["license_server"]["scope"] == "workgroup"
    assert core["license_server"]["in_license_servers_group"] is None  # no domain to ask


def test_reading_changes_nothing(lab, report):
    before = report[0]
    for host in HOSTS:
        after = lab.state(host)
        for state in (before[host], after):
            state.pop("commands_received", None)
            state.pop("event_log", None)
        assert after == before[host]


def test_each_call_is_one_batch(lab, report):
    for host in HOSTS:
        commands = [line for line in lab.transcript(host) if line["kind"] == "command"]
        assert len(commands) == 1, commands
        assert commands[0]["module"] == "remote_desktop.licensing.host_bridge"
        ops = [line for line in lab.transcript(host) if line["kind"] != "command"]
        # 21 reads of the host, and the CAL pack markers' names (their labels give each pack's program).
        assert {op["batch"] for op in ops} == {commands[0]["batch"]} and len(ops) == 22
        assert [op["method"] for op in ops if op.get("class") == "StdRegProv"].count("EnumValues") == 2
        # Without reveal_license_server_id the ID is not even asked for: -vvvvv prints the raw answers.
        assert "GetLicenseServerId" not in [op.get("method") for op in ops]


def test_check_mode(lab, tmp_path):
    results = lab.adhoc("sh2", "remote_desktop.licensing.licensing_info", None, "--check", tmp_path=tmp_path)
    assert results["sh2"]["session_host"]["grace_period_days_left"] == 120
    assert lab.transcript("sh2")[-1]["batch"] == 2


def test_bad_option_fails_before_touching_the_host(lab, tmp_path):
    commands = len([line for line in lab.transcript("ls1") if line["kind"] == "command"])
    result = lab.adhoc("ls1", "remote_desktop.licensing.licensing_info", {"reveal_license_server_id": "maybe"},
                       tmp_path=tmp_path)["ls1"]
    assert result["_rc"] != 0
    # ansible-core's own wording: up to 2.17 it names the type "<class 'str'>", from 2.18 "str".
    assert re.match(r"Invalid options for remote_desktop\.licensing\.licensing_info: argument "
                    r"'reveal_license_server_id' is of type (str|<class 'str'>) and we were unable to convert to bool",
                    result["msg"]), result["msg"]
    assert len([line for line in lab.transcript("ls1") if line["kind"] == "command"]) == commands


def test_grace_period_follows_the_lab_clock(lab, tmp_path):
    lab.rdlab("connect", "sh1")  # the grace period starts at the first client connection (hh553157)
    seed = tmp_path / "clock.json"
    seed.write_text(json.dumps({"clock_offset_days": 100}))
    lab.rdlab("seed", "sh1", str(seed))
    result = lab.adhoc("sh1", "remote_desktop.licensing.licensing_info", tmp_path=tmp_path)["sh1"]
    assert result["session_host"]["grace_period_days_left"] == 20
