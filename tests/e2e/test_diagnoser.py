"""The RD Licensing Diagnoser's checks end to end (issue 15): the "License server security group" policy
(IsLSSecGrpGPEnabled), the service connection point (IsLSRegisteredToSCP) and what discovery finds from a
session host (FindLicenseServers), through licensing_info, in the host's one round trip.

ls1 enforces its security group; member is in its Terminal Server Computers group, outsider is not: the
classic "no licenses available" of a session host refused by the policy."""

import json

import pytest

from .support import ModuleLab

DOMAIN = "corp.example.com"
LS1 = f"ls1.{DOMAIN}"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = ModuleLab.start(tmp_path_factory, f"ls1:license_server:domain={DOMAIN}",
                          f"member:session_host:domain={DOMAIN}", f"outsider:session_host:domain={DOMAIN}")
    lab.seed("ls1", {"license_server": {"activation_status": 0, "license_server_id": "LSID" + "0" * 31,
                                        "security_group_policy": True, "terminal_server_computers": ["MEMBER"]}})
    for host in ("member", "outsider"):
        lab.seed(host, {"session_host": {"licensing_type": 2, "specified_servers": [LS1]}})
    yield lab
    lab.stop()


def codes(result):
    return [(f["severity"], f["code"]) for f in result["diagnostics"]]


def test_the_license_server_reports_its_security_group_policy_and_scp(lab):
    run = lab.run("ls1", "licensing_info", diff=False)
    result = run.result()
    assert not result.get("failed") and result["problems"] == [], result
    assert result["license_server"]["security_group_policy"] is True
    assert result["license_server"]["registered_scp"] is True
    assert ("info", "security_group_policy") in codes(result)
    assert len(run.commands("ls1")) == 1  # still one round trip
    calls = {line["method"]: line["out"] for line in run.transcript if line.get("kind") == "cim_invoke"}
    assert calls["IsLSSecGrpGPEnabled"] == ["Enabled"] and calls["IsLSRegisteredToSCP"] == ["Registered"]


def test_a_session_host_refused_by_the_policy_is_an_error_the_member_is_not(lab):
    run = lab.run("member:outsider", "licensing_info", {"check_connectivity": True}, diff=False)
    results = {t["host"]: t["result"] for t in run.tasks}
    member, outsider = results["member"], results["outsider"]
    assert member["session_host"]["discovered_license_servers"] == [
        {"name": LS1, "available": True, "issuing_cals": True, "admin_on_license_server": None}]
    assert outsider["session_host"]["discovered_license_servers"] == [
        {"name": LS1, "available": True, "issuing_cals": False, "admin_on_license_server": None}]
    assert ("error", "license_server_refuses") in codes(outsider)
    refusal = next(f["message"] for f in outsider["diagnostics"] if f["code"] == "license_server_refuses")
    assert 'RDS Endpoint Servers ("Terminal Server Computers"' in refusal
    assert "license_server_refuses" not in [f["code"] for f in member["diagnostics"]]
    # GetTStoLSConnectivityStatus agrees: 5, not in the Terminal Server Computers group.
    assert [(c["status"], c["name"]) for c in outsider["session_host"]["connectivity"]] == [(5, "not_in_tsc_group")]
    assert [c["status"] for c in member["session_host"]["connectivity"]] == [11]
    (call,) = [line for line in run.transcript if line["host"] == "outsider" and line.get("method") == "FindLicenseServers"]
    assert sorted(call["out"]) == ["Count", "LicenseServersList"]


def test_the_refused_host_gets_no_cal_and_the_member_does(lab):
    refused = json.loads(lab.lab.rdlab("connect", "outsider").stdout)
    served = json.loads(lab.lab.rdlab("connect", "member").stdout)
    assert refused["cal"] is None and refused["license_server"] is None
    assert served["license_server"] == LS1 and served["cal"] is not None
