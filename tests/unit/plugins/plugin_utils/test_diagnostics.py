"""Diagnostics: the findings a Windows admin would get from the RD Licensing Diagnoser."""

import datetime

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _license_server as license_server
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._diagnostics import diagnose

NOW = datetime.datetime(2026, 11, 28, tzinfo=datetime.timezone.utc)


def pack(key_pack_id=3, license_type="per_user", total=20, issued=0, available=20,
         expiration_date="2038-01-19T03:14:07Z"):
    return {"key_pack_id": key_pack_id, "built_in": False, "unlimited": False, "license_type": license_type,
            "product_version": "2022", "total": total, "issued": issued, "available": available,
            "expiration_date": expiration_date}


def report(ls=None, sh=None, domain=True, name="HOST"):
    return {
        "host": {"name": name, "part_of_domain": domain},
        "roles": {"license_server": ls is not None, "session_host": sh is not None},
        "license_server": dict({"installed": True, "activation_status": "activated", "key_packs": [pack()],
                                "service": {"state": "Running", "start_mode": "Auto"},
                                "in_license_servers_group": True}, **(ls or {})) if ls is not None
        else {"installed": False},
        "session_host": dict({"licensing_mode": "per_user", "licensing_mode_source": "local",
                              "license_servers": ["ls1"], "license_servers_source": "local",
                              "grace_period_days_left": 90, "connectivity": None}, **(sh or {})) if sh is not None
        else {},
    }


def codes(findings):
    return [(f["severity"], f["code"]) for f in findings]


def test_healthy_hosts_have_no_findings():
    assert diagnose(report(ls={}), NOW) == []
    assert diagnose(report(sh={}), NOW) == []


def test_license_server_findings():
    findings = diagnose(report(ls={"activation_status": "not_activated", "in_license_servers_group": False,
                                   "service": {"state": "Stopped", "start_mode": "Manual"}}), NOW)
    assert codes(findings) == [("error", "service_not_running"), ("error", "not_activated"),
                               ("warning", "not_in_license_servers_group")]


def test_cal_findings():
    findings = diagnose(report(ls={"key_packs": [
        pack(3, "per_user", total=10, issued=14, available=0),
        pack(4, "per_device", total=5, issued=5, available=0),
        pack(5, "per_device", expiration_date="2026-12-20T00:00:00Z")]}), NOW)
    assert codes(findings) == [("warning", "per_user_over_allocated"), ("warning", "cals_exhausted"),
                               ("warning", "cals_expiring")]
    assert "14 Per User CALs issued of 10" in findings[0]["message"]


def test_session_host_findings():
    findings = diagnose(report(sh={"licensing_mode": "not_configured", "license_servers": [],
                                   "licensing_mode_source": "group_policy", "grace_period_days_left": 12}), NOW)
    assert codes(findings) == [("error", "mode_not_configured"), ("error", "no_license_servers"),
                               ("warning", "grace_period_ending"), ("info", "group_policy")]


def test_unreachable_server_and_grace_over():
    findings = diagnose(report(sh={"grace_period_days_left": 0, "connectivity": [
        {"server": "ls1", "status": 6, "valid": False, "meaning": "The license server cannot be contacted."}]}), NOW)
    assert codes(findings) == [("error", "license_server_not_valid"), ("error", "grace_period_over")]


def test_a_valid_server_means_the_grace_period_does_not_matter():
    assert diagnose(report(sh={"grace_period_days_left": 0, "connectivity": [
        {"server": "ls1", "status": 11, "valid": True, "meaning": "ok"}]}), NOW) == []


def test_mode_that_does_not_match_the_cals_of_its_own_license_server():
    findings = diagnose(report(ls={"key_packs": [pack(license_type="per_device")]},
                               sh={"license_servers": ["host.corp.example.com"]}, name="HOST"), NOW)
    # Per User CALs are not enforced: a compliance finding, not an error ([WSD] rds-client-access-license.md).
    assert codes(findings) == [("warning", "mode_cal_mismatch")]
    assert "Windows does not enforce Per User CALs" in findings[0]["message"]
    findings = diagnose(report(ls={"key_packs": [pack(license_type="per_user")]},
                               sh={"license_servers": ["host.corp.example.com"], "licensing_mode": "per_device"},
                               name="HOST"), NOW)
    assert codes(findings) == [("error", "mode_cal_mismatch")]
    assert "temporary CALs, which expire after 90 days, and are then refused" in findings[0]["message"]


def test_per_user_in_a_workgroup():
    findings = diagnose(report(sh={}, domain=False), NOW)
    assert codes(findings) == [("error", "per_user_in_workgroup")]
    assert findings[0]["message"].startswith("Per User licensing is not permitted in a workgroup")


def test_an_unactivated_license_server_still_issues_per_user_cals():
    (finding,) = [f for f in diagnose(report(ls={"activation_status": "not_activated"}), NOW)
                  if f["code"] == "not_activated"]
    assert "Per Device CALs only as temporary CALs, which expire after 90 days (Per User CALs it can issue)" in \
        finding["message"]


def test_a_permanent_cal_ended_the_grace_period():
    ended = {"grace_period_days_left": 100, "grace_period_ended": True}
    findings = diagnose(report(sh=dict(ended, connectivity=[{"server": "ls1", "valid": False, "status": 6,
                                                             "meaning": "m"}])), NOW)
    assert ("error", "grace_period_over") in codes(findings)
    assert "a permanent CAL was issued: LicensingGracePeriodEnded" in \
        [f for f in findings if f["code"] == "grace_period_over"][0]["message"]
    valid = [{"server": "ls1", "valid": True, "status": 11, "meaning": "m"}]
    assert "grace_period_over" not in [f["code"] for f in diagnose(report(sh=dict(ended, connectivity=valid)), NOW)]
    assert "grace_period_over" not in [f["code"] for f in diagnose(report(sh={"grace_period_days_left": 100}), NOW)]


def test_license_server_security_group_policy_and_scp_are_shown():
    findings = diagnose(report(ls={"security_group_policy": True, "registered_scp": False}), NOW)
    assert codes(findings) == [("info", "security_group_policy"), ("info", "not_registered_scp")]
    assert 'local group RDS Endpoint Servers ("Terminal Server Computers" in the WMI pages' in findings[0]["message"]
    # In a workgroup there is no directory to register in.
    assert codes(diagnose(report(ls={"registered_scp": False}, domain=False), NOW)) == []


def discovered(name, issuing):
    return {"name": name, "available": True, "issuing_cals": issuing, "admin_on_license_server": None}


def test_a_configured_license_server_refusing_this_host_is_an_error():
    findings = diagnose(report(sh={"license_servers": ["ls1.corp.example.com"], "discovered_license_servers": [
        discovered("LS1", False), discovered("ls2", False), discovered("ls3", True)]}), NOW)
    assert codes(findings) == [("error", "license_server_refuses")]
    assert "License server LS1 is not allowed" in findings[0]["message"]
    # With no server configured, any discovered server refusing is the cause.
    findings = diagnose(report(sh={"license_servers": [], "discovered_license_servers": [
        discovered("ls2", False), discovered("ls3", None)]}), NOW)
    assert ("error", "license_server_refuses") in codes(findings)
    assert sum(c == ("error", "license_server_refuses") for c in codes(findings)) == 1


def test_a_refused_group_read_on_a_domain_member_names_the_second_hop():
    refused = [{"part": "group", "message": "IsLSinTSLSGroup failed [0x80070005 E_ACCESSDENIED]"}]
    found = report(ls={"in_license_servers_group": None})
    found["problems"] = refused
    (finding,) = diagnose(found, NOW)
    assert finding["code"] == "domain_controller_unreachable" and finding["severity"] == "warning"
    assert "(IsLSinTSLSGroup: IsLSinTSLSGroup failed [0x80070005 E_ACCESSDENIED])" in finding["message"]
    assert "the second hop" in finding["message"] and "become_method: runas" in finding["message"]
    assert finding["message"].endswith(license_server.second_hop_remedy())
    workgroup = report(ls={"in_license_servers_group": None}, domain=False)
    workgroup["problems"] = refused
    assert diagnose(workgroup, NOW) == []
