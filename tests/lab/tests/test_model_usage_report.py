"""Win32_TSLicenseReport: GenerateReportEx, the Fetch* methods with paging through embedded instances,
DeleteReport, GenerateReport's refusal; usage seeded with `rdlab use`. Through the bridge executor in
process, like test_model.py."""

import pytest
from test_model_helpers import CONTACT, LS, PACKS, SOURCE, invoke, one

from rdlab.model.cim import LabStateError, SchemaMismatch
from rdlab.model.host import Host, new_host_state
from rdlab.model.licensing import issue_licenses
from rdlab.model.usage_report import use_per_user
from rdlab.modules import host_bridge as bridge

REPORT = {"namespace": "root/cimv2", "class": "Win32_TSLicenseReport"}
NO_MORE_DATA = 0x4001  # [W32] fetchreportentries-win32-tslicensereport.md


def license_server(per_user=5, per_device=10):
    # A 2025 license server with 2022 packs: a 2025 session host's request is one no installed pack serves.
    host = Host(new_host_state("ls1", os="2025", roles=("license_server",), domain="corp.example.com"))
    one(host, dict(LS, kind="cim_set", properties=CONTACT))
    assert one(host, invoke("ActivateServerAutomatic"))["ok"]
    ids = []
    for product_type, count in ((1, per_user), (0, per_device)):
        args = {"AgreementType": 0, "sAgreementNumber": "1234567", "ProductVersion": 7, "ProductType": product_type,
                "LicenseCount": count}
        ids.append(one(host, invoke("InstallAgreementLicenseKeyPack", target=PACKS, arguments=args))["out"]["KeyPackId"])
    return host, ids


def generate(host):
    result = one(host, invoke("GenerateReportEx", target=REPORT))
    assert result["ok"], result
    return result["out"]["FileName"]


def fetch(host, name, method, start, count):
    return one(host, invoke(method, target=REPORT, instances=True, filter=f"FileName = '{name}'",
                            arguments={"StartIndex": start, "Count": count}))


def test_a_report_is_a_snapshot_read_in_pages():
    host, (user_pack, device_pack) = license_server()
    for n in range(7):  # two more than the pack holds: Per User over-allocates
        assert use_per_user(host, f"CORP\\user{n}", "2022")["outcome"] == "issued"
    issue_licenses(host, device_pack, 3, computers=["PC1", "PC2", "PC3"])
    name = generate(host)
    use_per_user(host, "CORP\\late", "2022")  # after the report: not in it
    pages = [fetch(host, name, "FetchReportEntries", start, 3) for start in (0, 3, 6, 9)]
    assert [p["out"]["Count"] for p in pages[:3]] == [3, 3, 1]
    users = [e["User"] for p in pages[:3] for e in p["out"]["ReportEntries"]]
    assert users == [f"CORP\\user{n}" for n in range(7)]
    assert not pages[3]["ok"] and pages[3]["error"]["return_value"] == NO_MORE_DATA
    entry = pages[0]["out"]["ReportEntries"][0]
    assert entry["ExpirationDate"].endswith("Z") and entry["ProductVersionID"] == 7  # embedded datetimes converted
    summary = fetch(host, name, "FetchReportSummaryEntries", 0, 0)["out"]["ReportSummaryEntries"]
    assert [(s["TSCALType"], s["InstalledLicenses"], s["IssuedLicenses"]) for s in summary] == [
        ("Per Device", 10, 3), ("Per User", 5, 7)]
    devices = fetch(host, name, "FetchReportPerDeviceEntries", 0, 0)["out"]["ReportPerDeviceEntries"]
    assert [d["sIssuedToComputer"] for d in devices] == ["PC1", "PC2", "PC3"] and devices[0]["sHardwareId"]


def test_a_newer_cal_serves_an_older_session_host():
    host, (user_pack, _device_pack) = license_server()
    # [WSD] rds-client-access-license.md, "RDS CAL version compatibility": a 2022 CAL serves 2022 and earlier.
    assert [use_per_user(host, f"CORP\\u{v}", v)["key_pack_id"] for v in ("2012R2", "2019", "2022")] == [user_pack] * 3
    assert use_per_user(host, "CORP\\u2019", "2019")["outcome"] == "renewed"
    assert "failed_per_user" not in host.state["license_server"]


def test_failed_requests_when_no_per_user_pack_serves_the_version():
    host = license_server()[0]
    assert use_per_user(host, "CORP\\new", "2025")["outcome"] == "failed"
    assert use_per_user(host, "guest", "2025")["outcome"] == "failed"
    name = generate(host)
    failed = fetch(host, name, "FetchReportFailedPerUserEntries", 0, 0)["out"]["ReportFailedPerUserEntries"]
    assert [(f["User"], f["ProductVersionID"]) for f in failed] == [("CORP\\new", 8), ("guest", 8)]
    domains = fetch(host, name, "FetchReportFailedPerUserSummaryEntries", 0, 0)["out"]
    assert domains["ReportFailedPerUserSummaryEntries"] == [
        {"DomainName": "CORP", "FailedIssuanceCount": 1}, {"DomainName": "corp.example.com", "FailedIssuanceCount": 1}]
    with pytest.raises(LabStateError, match="--version"):
        use_per_user(host, "x", "2012")


def test_a_session_host_newer_than_the_license_server_is_refused():
    host = Host(new_host_state("ls1", os="2022", roles=("license_server",), domain="corp.example.com"))
    with pytest.raises(LabStateError, match="LOWER_VERSION"):
        use_per_user(host, "CORP\\new", "2025")


def test_reports_are_listed_and_deleted():
    host = license_server()[0]
    first, second = generate(host), generate(host)
    listed = one(host, dict(REPORT, kind="cim_get"))["instances"]
    assert [r["FileName"] for r in listed] == [first, second] and listed[0]["GenerationDateTime"].endswith("Z")
    assert one(host, invoke("DeleteReport", target=REPORT, instances=True, filter=f"FileName = '{first}'"))["ok"]
    assert [r["FileName"] for r in one(host, dict(REPORT, kind="cim_get"))["instances"]] == [second]


def test_generate_report_is_not_supported_after_2008_r2():
    host = license_server()[0]
    refused = one(host, invoke("GenerateReport", target=REPORT, arguments={"ScopeType": 1, "ScopeValue": ""}))
    assert refused["error"]["return_value"] == 0x8004100C  # WBEM_E_NOT_SUPPORTED [W32]


def test_the_bridge_lets_fetch_run_in_check_mode_and_not_generate():
    host = license_server()[0]
    name = generate(host)
    ops = [dict(invoke("GenerateReportEx", target=REPORT), id="0"),
           dict(invoke("FetchReportEntries", target=REPORT, instances=True, filter=f"FileName = '{name}'",
                       arguments={"StartIndex": 0, "Count": 0}), id="1")]
    generated, fetched = bridge.run(host, {"operations": ops, "_ansible_check_mode": True}, SOURCE)["results"]
    assert generated["error"]["kind"] == "check_mode"
    assert fetched["error"]["return_value"] == NO_MORE_DATA  # ran: an empty report has no entries
    assert len(one(host, dict(REPORT, kind="cim_get"))["instances"]) == 1


def test_embedded_instances_carry_only_their_schema_properties():
    host = license_server()[0]
    name = generate(host)
    host.state["license_server"]["reports"][0]["entries"]["summary"] = [{"TsCalType": "Per User"}]  # misspelt
    with pytest.raises(SchemaMismatch, match="TsCalType"):
        fetch(host, name, "FetchReportSummaryEntries", 0, 0)
