"""CAL usage and its findings (_usage.py): rows from key packs and from cal_usage's summary, over-allocation, CALs
running out, failed Per User requests, temporary CALs near expiry, and user names as personal data."""

import datetime

import pytest

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _diagnostics as diagnostics
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _info as info
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _usage as usage
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._bridge import BatchResult

from test_info import license_server, ok  # the bridge results of test_info.py

NOW = datetime.datetime(2026, 3, 1, 8, 0, tzinfo=datetime.timezone.utc)


def pack(license_type, version, version_id, total, issued, built_in=False, unlimited=False):
    return {"built_in": built_in, "unlimited": unlimited, "license_type": license_type, "product_version": version,
            "product_version_id": version_id, "total": total, "issued": issued}


def row(cal_type, installed, issued, failed=0, version="2022", version_id=7):
    return {"product_version": version, "product_version_id": version_id, "cal_type": cal_type,
            "installed": installed, "issued": issued, "available": installed - issued, "failed_requests": failed}


def codes(findings):
    return [f["code"] for f in findings]


def test_rows_from_key_packs_per_version_and_type_newest_first():
    rows = usage.from_key_packs([
        pack("built_in", "built_in", 0, 4294967295, 0, built_in=True, unlimited=True),
        pack("per_device", "2019", 6, 25, 18), pack("per_device", "2019", 6, 10, 2),
        pack("per_user", "2022", 7, 50, 31), pack("per_device", "2022", 7, 5, 5)])
    assert rows == [
        {"product_version": "2022", "product_version_id": 7, "cal_type": "per_device", "installed": 5, "issued": 5,
         "available": 0, "failed_requests": None},
        {"product_version": "2022", "product_version_id": 7, "cal_type": "per_user", "installed": 50, "issued": 31,
         "available": 19, "failed_requests": None},
        {"product_version": "2019", "product_version_id": 6, "cal_type": "per_device", "installed": 35,
         "issued": 20, "available": 15, "failed_requests": None},
    ]


def test_over_allocation_from_a_usage_report_is_a_compliance_warning():
    found = usage.findings([row("per_user", 10, 12)])
    assert codes(found) == ["over_allocation"]
    assert found[0]["severity"] == "warning"
    assert found[0]["message"] == (
        "Per User CALs for Windows Server 2022: 12 in use, 10 installed: 2 over. Windows does not enforce Per User "
        "CALs, so nobody is refused, but 2 more CALs are needed to be licensed (a compliance risk).")


def test_over_allocated_per_user_key_packs_are_left_to_the_per_pack_finding():
    assert usage.findings([row("per_user", 10, 12)], from_report=False) == []


def test_cals_running_out_at_the_threshold_and_not_above():
    assert codes(usage.findings([row("per_device", 100, 90)])) == ["cals_running_out"]  # 10 % left
    assert usage.findings([row("per_device", 100, 89)]) == []  # 11 % left
    assert codes(usage.findings([row("per_device", 100, 80)], low_cals_threshold=20)) == ["cals_running_out"]
    message = usage.findings([row("per_user", 20, 19)])[0]["message"]
    assert message == "Per User CALs for Windows Server 2022: 1 left (19 in use of 20), at or below the threshold of 10 %."


def test_none_left_is_running_out_from_a_report_but_left_to_cals_exhausted_from_key_packs():
    assert "none left" in usage.findings([row("per_device", 5, 5)])[0]["message"]
    assert usage.findings([row("per_device", 5, 5)], from_report=False) == []
    assert usage.findings([row("per_device", 5, 5)], low_cals_threshold=0)[0]["code"] == "cals_running_out"
    assert usage.findings([row("per_device", 5, 4)], low_cals_threshold=0) == []


def test_failed_per_user_requests():
    found = usage.findings([row("per_user", 50, 3, failed=4)])
    assert codes(found) == ["failed_per_user_requests"]
    assert found[0]["message"].startswith("Per User CALs for Windows Server 2022: the license server failed to issue "
                                          "4 Per User CALs.")
    assert usage.findings([dict(row("per_user", 50, 3), failed_requests=None)]) == []


def test_rows_of_unknown_numbers_make_no_finding():
    assert usage.findings(usage.from_summary([{"cal_type": "per_user", "installed": "10", "issued": 12}])) == []


def test_summary_rows_are_type_checked_and_available_completed():
    rows = usage.from_summary([{"product_version": "2022", "product_version_id": 7, "cal_type": "per_user",
                                "installed": 10, "issued": 12, "failed_requests": True}, "junk"])
    assert rows == [{"product_version": "2022", "product_version_id": 7, "cal_type": "per_user", "installed": 10,
                     "issued": 12, "available": -2, "failed_requests": None}]


def test_temporary_licenses_grouped_by_day_and_expiring_soon():
    issued = [{"LicenseStatus": 1, "ExpirationDate": "2026-03-10T10:00:00Z"},
              {"LicenseStatus": 1, "ExpirationDate": "2026-03-10T11:00:00Z"},
              {"LicenseStatus": 1, "ExpirationDate": "2026-05-30T00:00:00Z"},
              {"LicenseStatus": 2, "ExpirationDate": "2026-03-02T00:00:00Z"}]
    temporary = usage.temporary_licenses(issued)
    assert temporary == [{"expires": "2026-03-10", "count": 2}, {"expires": "2026-05-30", "count": 1}]
    found = usage.temporary_findings(temporary, NOW)
    assert found == [{"severity": "warning", "code": "temporary_licenses_expiring", "message":
                      "2 temporary Per Device CALs expire within 14 days (first on 2026-03-10): the devices are "
                      "refused then unless this server has a permanent CAL for them."}]
    assert usage.temporary_findings(temporary[1:], NOW) == []
    assert usage.temporary_findings(None, NOW) == []


def test_temporary_licenses_already_expired_are_not_said_to_expire():
    temporary = [{"expires": "2026-02-20", "count": 3}, {"expires": "2026-02-28", "count": 1},
                 {"expires": "2026-03-01", "count": 1}, {"expires": "2026-03-20", "count": 4}]
    found = usage.temporary_findings(temporary, NOW)
    assert found == [
        {"severity": "warning", "code": "temporary_licenses_expired", "message":
         "4 temporary Per Device CALs expired (the first on 2026-02-20): the devices are refused unless this server "
         "has a permanent CAL for them."},
        {"severity": "warning", "code": "temporary_licenses_expiring", "message":
         "1 temporary Per Device CAL expires within 14 days (first on 2026-03-01): the devices are refused then "
         "unless this server has a permanent CAL for them."}]
    assert [f["code"] for f in usage.temporary_findings(temporary[:1], NOW)] == ["temporary_licenses_expired"]


@pytest.mark.parametrize("value", [-1, 101, "10", True, None, 2.5])
def test_threshold_must_be_a_percent(value):
    with pytest.raises(ValueError, match="low_cals_threshold must be a whole number of percent from 0 to 100"):
        usage.validate_threshold(value)


def test_hashed_names_are_keyed_stable_within_a_run_and_not_across():
    salt, other = b"1" * 16, b"2" * 16
    first = usage.pseudonym("CORP\\alice", salt)
    assert first == usage.pseudonym("corp\\ALICE", salt)
    assert first != usage.pseudonym("CORP\\alice", other)
    assert usage.HASHED.match(first)


@pytest.mark.parametrize("value, given, wanted, shown", [
    ("CORP\\alice", "plain", "plain", "CORP\\alice"),
    ("CORP\\alice", "plain", "hashed", "hashed"),
    ("CORP\\alice", "plain", "omitted", None),
    ("sha256:0123456789abcdef", "hashed", "plain", "sha256:0123456789abcdef"),
    ("sha256:0123456789abcdef", "hashed", "hashed", "sha256:0123456789abcdef"),
    ("CORP\\alice", "hashed", "plain", None),  # a plain name where a hash was promised is dropped
    ("CORP\\alice", "omitted", "plain", None),
    ("CORP\\alice", None, "plain", None),
    (None, "plain", "plain", None),
])
def test_user_names_never_show_more_than_either_option_allows(value, given, wanted, shown):
    result = usage.user_name(value, given, wanted, b"s" * 16)
    if shown == "hashed":
        assert result == usage.pseudonym(value, b"s" * 16)
    else:
        assert result == shown


def test_licensing_info_reads_usage_and_temporary_licenses_in_its_one_round_trip():
    batch = info.read_batch()
    issued = [op for op in batch.operations if op["id"] == "issued"][0]
    assert "ExpirationDate" in issued["properties"]
    raw = license_server()
    raw["issued"] = ok(instances=[{"LicenseId": 1, "KeyPackId": 4, "LicenseStatus": 1,
                                   "ExpirationDate": "2026-03-05T00:00:00Z"}])
    ls = info.parse(BatchResult(batch, [raw[op["id"]] for op in batch.operations]))["license_server"]
    assert ls["usage"] == [{"product_version": "2012", "product_version_id": 4, "cal_type": "per_user",
                            "installed": 20, "issued": 11, "available": 9, "failed_requests": None}]
    assert ls["temporary_licenses"] == [{"expires": "2026-03-05", "count": 1}]


def test_licensing_info_findings_with_its_threshold():
    raw = license_server()
    raw["issued"] = ok(instances=[{"LicenseId": 1, "KeyPackId": 4, "LicenseStatus": 1,
                                   "ExpirationDate": "2026-03-05T00:00:00Z"}])
    batch = info.read_batch()
    report = info.parse(BatchResult(batch, [raw[op["id"]] for op in batch.operations]))
    assert "cals_running_out" not in codes(diagnostics.diagnose(report, now=NOW))  # 9 of 20 left: 45 %
    found = codes(diagnostics.diagnose(report, now=NOW, low_cals_threshold=50))
    assert "cals_running_out" in found and "temporary_licenses_expiring" in found
