"""GetTStoLSConnectivityStatus end to end (issue 10): the lab answers with Windows's out-parameter name,
TStoLSConnectivityStatus, and a session host pointed at a valid license server reports valid: true through
session_host, licensing_info and the fleet report; one pointed at an unreachable server trips min_grace_days.

Before the fix the collection read TsToLsConnectivityStatus: every one of these saw valid: false."""

import datetime as dt
import json

import pytest

from rdlab.schema import SCHEMA, find_method, find_property
from rdlab.testing import ROOT

from .support import ModuleLab

DOMAIN = "corp.example.com"
LS1 = f"ls1.{DOMAIN}"
NOWHERE = f"nosuch.{DOMAIN}"
REPORT = ROOT / "playbooks" / "report.yml"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = ModuleLab.start(tmp_path_factory, f"ls1:license_server:domain={DOMAIN}",
                          f"good:session_host:domain={DOMAIN}", f"lost:session_host:domain={DOMAIN}")
    lab.seed("ls1", {"license_server": {"activation_status": 0, "license_server_id": "LSID" + "0" * 31}})
    for host, server in (("good", LS1), ("lost", NOWHERE)):
        # 10 days of grace left: the first client connection 110 days ago (the grace period starts there,
        # hh553157); the servers configured through WMI, as an administrator would.
        first_connection = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=110)).isoformat()
        lab.seed(host, {"session_host": {"licensing_type": 4, "specified_servers": [server],
                                         "grace_start": first_connection}})
    yield lab
    lab.stop()


def connectivity_calls(run, host):
    return [line for line in run.transcript if line["host"] == host and line.get("method") == "GetTStoLSConnectivityStatus"]


def test_session_host_with_a_valid_license_server_is_valid(lab):
    run = lab.tasks("good", ("session_host", {"mode": "per_user", "license_servers": [LS1], "min_grace_days": 30}))
    result = run.result()
    assert not result.get("failed"), result
    assert [(c["server"], c["status"], c["valid"]) for c in result["connectivity"]] == [(LS1, 11, True)]
    # What came back from the host carries Windows's name, exactly (the transcript records names, not values).
    (call,) = connectivity_calls(run, "good")
    assert call["out"] == ["TStoLSConnectivityStatus"]


def test_session_host_with_an_unreachable_license_server_trips_min_grace_days(lab):
    run = lab.tasks("lost", ("session_host", {"mode": "per_user", "license_servers": [NOWHERE], "min_grace_days": 30}),
                    ignore_errors=True)
    result = run.result()
    assert run.statuses() == ["failed"]
    assert result["msg"].startswith("The session host has 10 days left in its licensing grace period "
                                    "(min_grace_days: 30) and none of its license servers")
    assert [(c["server"], c["status"], c["valid"]) for c in result["connectivity"]] == [(NOWHERE, 6, False)]


def test_licensing_info_reports_valid_and_not_valid(lab):
    run = lab.run("good:lost", "licensing_info", {"check_connectivity": True}, diff=False)
    results = {t["host"]: t["result"] for t in run.tasks}
    good, lost = results["good"]["session_host"], results["lost"]["session_host"]
    assert [(c["status"], c["valid"]) for c in good["connectivity"]] == [(11, True)]
    assert [(c["status"], c["valid"]) for c in lost["connectivity"]] == [(6, False)]
    assert "license_server_not_valid" not in [p["code"] for p in results["good"]["diagnostics"]]
    assert "license_server_not_valid" in [p["code"] for p in results["lost"]["diagnostics"]]


def test_every_name_that_came_back_is_microsofts(lab):
    """The transcript records the names of what each call returned: all are in Microsoft's schema, exactly."""
    run = lab.run("good:ls1", "licensing_info", {"check_connectivity": True}, diff=False)
    checked = 0
    for line in run.transcript:
        if line.get("kind") not in ("cim_get", "cim_invoke") or not line.get("ok"):
            continue
        cls = SCHEMA.find_class(line["namespace"], line["class"])
        for name in line.get("properties", []):
            assert find_property(cls, name)["name"] == name, (line["class"], name)
            checked += 1
        for name in line.get("out", []):
            params = find_method(cls, line["method"])["params"]
            assert name in [p["name"] for p in params if p["direction"] != "in"], (line["method"], name)
            checked += 1
    assert checked > 20


def test_the_report_shows_the_valid_license_server(lab, tmp_path):
    run = lab.play(REPORT, "-e", json.dumps({"report_dir": str(tmp_path), "rds_report_hosts_pattern": "all"}))
    assert run.rc == 0, run.output
    report = json.loads(next(tmp_path.glob("*.json")).read_text())
    hosts = {h["inventory_hostname"]: h for h in report["hosts"]}
    assert [(c["status"], c["valid"]) for c in hosts["good"]["session_host"]["connectivity"]] == [(11, True)]
    assert "license_server_not_valid" not in codes(hosts["good"])
    assert "license_server_not_valid" in codes(hosts["lost"])


def codes(host):
    return [f["code"] for f in host["diagnostics"]]


# --- licensing mode 6, Entra ID Per User (newest ADMX) ----------------------------------------------------

@pytest.fixture(scope="module")
def entra(lab):
    policy = r"software\policies\microsoft\windows nt\terminal services"
    lab.seed("good", {"registry": {policy: {"licensingmode": {"name": "LicensingMode", "type": "REG_DWORD",
                                                              "data": 6}}}})
    yield "good"
    lab.seed("good", {"registry": {policy: {"licensingmode": None}}})


def test_mode_6_is_reported_by_licensing_info_session_host_and_the_report(lab, entra, tmp_path):
    info = lab.run(entra, "licensing_info", diff=False).result()
    assert info["session_host"]["licensing_mode"] == "entra_id_per_user"
    assert info["session_host"]["licensing_mode_source"] == "group_policy"
    codes = [d["code"] for d in info["diagnostics"]]
    assert "mode_not_configured" not in codes and "entra_id_per_user" in codes
    module = lab.tasks(entra, ("session_host", {"license_servers": [LS1]})).result()
    assert module["mode"] == "entra_id_per_user" and module["mode_source"] == "group_policy"
    run = lab.play(REPORT, "-e", json.dumps({"report_dir": str(tmp_path), "rds_report_hosts_pattern": entra}))
    assert run.rc == 0, run.output
    (host,) = json.loads(next(tmp_path.glob("*.json")).read_text())["hosts"]
    assert host["session_host"]["licensing_mode"] == "entra_id_per_user"
    assert "Entra ID Per User" in next(tmp_path.glob("*.html")).read_text()
