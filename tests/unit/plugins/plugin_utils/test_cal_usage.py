"""cal_usage's planner: validation, which report to read, housekeeping, paging and the result's shape."""

import datetime as dt
import re

import pytest

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _cal_usage as planner
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._bridge import Batch, BatchResult
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._plan import PlanError

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.timezone.utc)


def want(**given):
    base = {"max_age": "1d", "keep": None, "user_names": "hashed", "page_size": 1000, "user_name_salt": None}
    base.update(given)
    return planner.validate(base)


def have(*ages_in_hours, installed=True):
    reports = [{"file_name": "R%d" % hours, "generated": (NOW - dt.timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")}
               for hours in ages_in_hours]
    return {"host": {"name": "LS1"}, "license_server": {"installed": installed, "totals": {}},
            "reports": planner.sort_reports(reports) if installed else None}


@pytest.mark.parametrize("text, seconds", [("12h", 43200), ("1d", 86400), (" 2 w", 1209600), ("30m", 1800),
                                           ("0", 0), ("90s", 90), ("1D", 86400)])
def test_max_age_forms(text, seconds):
    assert planner.parse_age(text) == dt.timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["yesterday", "12", "-1d", "1.5h", "", "1y"])
def test_max_age_refused_names_the_option(text):
    with pytest.raises(ValueError, match="max_age must be a number and a unit"):
        planner.parse_age(text)


@pytest.mark.parametrize("given, message", [({"keep": 0}, "keep must be 1 or more"),
                                            ({"page_size": 0}, "page_size must be 1 to 100000"),
                                            ({"page_size": 100001}, "page_size must be 1 to 100000"),
                                            ({"user_name_salt": "short-key"}, "user_name_salt must be at least 16")])
def test_bad_numbers_are_refused(given, message):
    with pytest.raises(ValueError, match=message):
        want(**given)


def test_the_newest_report_younger_than_max_age_is_reused():
    choice = planner.choose(want(max_age="12h"), have(30, 2, 5), NOW)
    assert choice == {"read": {"file_name": "R2", "generated": "2026-12-01T10:00:00Z"}, "generate": False, "delete": []}


def test_no_recent_report_generates_one_and_check_mode_reads_the_newest_instead():
    assert planner.choose(want(max_age="1h"), have(30, 2), NOW)["generate"]
    assert planner.choose(want(max_age="1h"), have(30, 2), NOW)["read"] is None
    check = planner.choose(want(max_age="1h"), have(30, 2), NOW, check_mode=True)
    assert check["generate"] and check["read"]["file_name"] == "R2"
    assert planner.choose(want(max_age="0"), have(0), NOW)["generate"]  # 0: always a new one


def test_keep_deletes_only_reports_older_than_those_kept():
    reused = planner.choose(want(keep=2), have(1, 48, 30, 72), NOW)
    assert [r["file_name"] for r in reused["delete"]] == ["R48", "R72"]
    generated = planner.choose(want(keep=2, max_age="0"), have(1, 48, 30), NOW)
    assert [r["file_name"] for r in generated["delete"]] == ["R30", "R48"]  # the new one and R1 are kept
    assert planner.choose(want(keep=5), have(1, 2), NOW)["delete"] == []
    assert planner.choose(want(), have(1, 2, 3), NOW)["delete"] == []  # keep not given: nothing deleted


def test_the_plan_generates_and_deletes_by_name():
    choice = planner.choose(want(keep=1, max_age="0"), have(1, 2), NOW)
    plan = planner.plan(want(), have(1, 2), choice)
    assert [s.action for s in plan.steps] == ["generate", "delete"]
    ops = [op for s in plan.steps for op in s.batch.operations]
    assert [(op["method"], op.get("filter")) for op in ops] == [
        ("GenerateReportEx", None), ("DeleteReport", "FileName = 'R1'"), ("DeleteReport", "FileName = 'R2'")]
    assert planner.plan(want(), have(1), planner.choose(want(), have(1), NOW)).steps == []


def test_not_a_license_server_is_said_in_words():
    with pytest.raises(PlanError, match="Windows Server 2012 or later"):
        planner.plan(want(), have(installed=False), {"generate": True, "delete": [], "read": None})


def test_filters_quote_names_and_exclude_the_known_reports():
    assert planner.report_filter({"file_name": "it's"}) == "FileName = 'it\\'s'"
    assert planner.new_report_filter(have(1, 2)) == "NOT (FileName = 'R1' OR FileName = 'R2')"
    assert planner.new_report_filter(have()) is None


def page(op_id, entries=None, code=None, out="ReportEntries"):
    if code is not None:
        return {"id": op_id, "ok": False, "error": {"kind": "return_value", "return_value": code, "out": {}}}
    return {"id": op_id, "ok": True, "return_value": 0, "out": {"Count": len(entries), out: entries}}


def test_pages_follow_the_expected_size_and_a_short_page_or_0x4001_ends_a_list():
    pager = planner.Pager(10, {"per_user": 25, "per_device": 0})
    batch = pager.add(Batch(), "FileName = 'R1'")
    starts = [op["arguments"]["StartIndex"] for op in batch.operations if op["method"] == "FetchReportEntries"]
    assert starts == [0, 10, 20] and len(batch.operations) == 7  # three pages, one of each other list
    assert all(op["read_only"] and op["instances"] for op in batch.operations)
    users = [{"User": "u%d" % n} for n in range(25)]
    raw = []
    for op in batch.operations:
        if op["method"] == "FetchReportEntries":
            start = op["arguments"]["StartIndex"]
            raw.append(page(op["id"], users[start:start + 10]))
        else:
            raw.append(page(op["id"], code=planner.NO_MORE_DATA))
    pager.take(BatchResult(batch, raw))
    assert pager.finished and [u["User"] for u in pager.entries["per_user"]] == [u["User"] for u in users]


def test_a_list_longer_than_expected_takes_another_trip_from_where_it_stopped():
    pager = planner.Pager(2, {"per_user": 1})
    batch = pager.add(Batch(), None)
    raw = [page(op["id"], [{"User": "a"}, {"User": "b"}]) if op["method"] == "FetchReportEntries"
           else page(op["id"], []) for op in batch.operations]
    pager.take(BatchResult(batch, raw))
    assert not pager.finished and pager.next["per_user"] == 2
    again = pager.add(Batch(), None)
    assert [op["arguments"]["StartIndex"] for op in again.operations] == [2, 4]  # twice the pages of the last trip
    pager.take(BatchResult(again, [page(op["id"], code=planner.NO_MORE_DATA) for op in again.operations]))
    assert pager.finished and len(pager.entries["per_user"]) == 2


def test_entries_that_come_with_0x4001_are_kept():
    """Should Windows return the last entries together with LSERVER_I_NO_MORE_DATA, none is lost."""
    pager = planner.Pager(10, {"per_user": 5})
    batch = pager.add(Batch(), None)
    last = {"ok": False, "error": {"kind": "return_value", "return_value": planner.NO_MORE_DATA,
                                   "out": {"Count": 2, "ReportEntries": [{"User": "a"}, {"User": "b"}]}}}
    raw = [dict(last, id=op["id"]) if op["method"] == "FetchReportEntries" else page(op["id"], code=planner.NO_MORE_DATA)
           for op in batch.operations]
    pager.take(BatchResult(batch, raw))
    assert pager.finished and [u["User"] for u in pager.entries["per_user"]] == ["a", "b"]


def test_a_max_age_too_long_to_count_is_an_error_naming_the_option():
    with pytest.raises(ValueError, match="max_age"):
        planner.parse_age("99999999999w")


def test_another_failure_is_an_error_and_hardware_ids_are_dropped():
    pager = planner.Pager(10, {})
    batch = pager.add(Batch(), None)
    raw = [page(op["id"], [{"sIssuedToComputer": "PC1", "sHardwareId": "abc"}], out="ReportPerDeviceEntries")
           if op["method"] == "FetchReportPerDeviceEntries" else page(op["id"], code=planner.NO_MORE_DATA)
           for op in batch.operations]
    pager.take(BatchResult(batch, raw))
    assert pager.entries["per_device"] == [{"sIssuedToComputer": "PC1"}]
    pager = planner.Pager(10, {})
    batch = pager.add(Batch(), None)
    with pytest.raises(PlanError, match="could not read the usage report"):
        pager.take(BatchResult(batch, [page(op["id"], code=0x80041001) for op in batch.operations]))


@pytest.mark.parametrize("mode, omitted", [("hashed", ["sHardwareId"]), ("plain", ["sHardwareId"]),
                                           ("omitted", ["sHardwareId", "User"])])
def test_every_fetch_asks_the_host_to_leave_out_what_is_never_revealed(mode, omitted):
    """Hardware IDs always, user names when omitted: the host leaves them out (omit_properties), so they never
    reach the raw module output that ansible's winrm connection prints at -vvvvv."""
    assert planner.omitted_properties(want(user_names=mode)) == omitted
    pager = planner.Pager(10, {"per_user": 25}, planner.omitted_properties(want(user_names=mode)))
    batch = pager.add(Batch(), "FileName = 'R1'")
    fetches = [op for op in batch.operations if op["method"].startswith("FetchReport")]
    assert len(fetches) == len(batch.operations) == 7
    assert all(op["omit_properties"] == omitted for op in fetches)
    pager.take(BatchResult(batch, [page(op["id"], code=planner.NO_MORE_DATA) for op in batch.operations]))
    pager.__init__(pager.page_size, pager.expected, pager.omit)  # a restart keeps what is omitted
    assert all(op["omit_properties"] == omitted for op in pager.add(Batch(), None).operations)


ENTRIES = {
    "summary": [{"ProductVersion": "Windows Server 2022", "ProductVersionID": 7, "TSCALType": "Per User",
                 "InstalledLicenses": 20, "IssuedLicenses": 25},
                {"ProductVersion": "Windows Server 2019", "ProductVersionID": 6, "TSCALType": "Per Device",
                 "InstalledLicenses": 10, "IssuedLicenses": 3},
                {"ProductVersion": "Windows Server 2019", "ProductVersionID": 6, "TSCALType": "Odd",
                 "InstalledLicenses": 1, "IssuedLicenses": 0}],
    "per_user": [{"User": "CORP\\Ada", "ProductVersionID": 7, "ExpirationDate": "2027-01-30T00:00:00Z"}],
    "per_device": [{"sIssuedToComputer": "PC1", "ProductVersionID": 6, "ExpirationDate": None}],
    "failed_per_user": [{"User": "corp\\ada", "ProductVersionID": 7, "TriedIssuanceOn": "2026-11-30T00:00:00Z"},
                        {"User": "CORP\\Bob", "ProductVersionID": 99, "ProductVersion": "Windows Server 2031"}],
    "failed_summary": [{"DomainName": "CORP", "FailedIssuanceCount": 2}],
}


def test_the_result_shape_per_version_and_type():
    shaped = planner.shape(ENTRIES, "plain", b"k")
    assert shaped["summary"] == [
        {"product_version": "2022", "product_version_id": 7, "cal_type": "per_user", "installed": 20, "issued": 25,
         "available": -5, "failed_requests": 1},
        {"product_version": "2019", "product_version_id": 6, "cal_type": "per_device", "installed": 10, "issued": 3,
         "available": 7, "failed_requests": 0},
        {"product_version": "2019", "product_version_id": 6, "cal_type": "Odd", "installed": 1, "issued": 0,
         "available": 1, "failed_requests": 0}]
    assert shaped["per_user"] == [{"user": "CORP\\Ada", "product_version": "2022", "product_version_id": 7,
                                   "expires": "2027-01-30T00:00:00Z"}]
    assert shaped["per_device"] == [{"computer": "PC1", "product_version": "2019", "product_version_id": 6,
                                     "expires": None}]
    assert shaped["failed_per_user"][1]["product_version"] == "Windows Server 2031"  # unknown id: Windows's text
    assert shaped["failed_summary"] == [{"domain": "CORP", "count": 2}]


def test_hashed_names_are_keyed_stable_within_a_run_and_case_blind():
    salt = planner.new_salt()
    shaped = planner.shape(ENTRIES, "hashed", salt)
    ada, ada_failed = shaped["per_user"][0]["user"], shaped["failed_per_user"][0]["user"]
    assert re.fullmatch(r"sha256:[0-9a-f]{16}", ada) and ada == ada_failed
    assert planner.shape(ENTRIES, "hashed", planner.new_salt())["per_user"][0]["user"] != ada
    assert "Ada" not in str(shaped) and "Bob" not in str(shaped)
    omitted = planner.shape(ENTRIES, "omitted", salt)
    assert [u["user"] for u in omitted["per_user"] + omitted["failed_per_user"]] == [None, None, None]


def test_expected_sizes_come_from_the_key_packs():
    packs = [{"license_type": "per_user", "issued": 25}, {"license_type": "per_user", "issued": 5},
             {"license_type": "per_device", "issued": 3}, {"license_type": "built_in", "issued": 2},
             {"license_type": "per_device", "issued": None}, {"license_type": "not_valid", "issued": 9}]
    assert planner.expected_sizes({"license_server": {"key_packs": packs}}) == {"per_user": 30, "per_device": 5}


def test_a_salt_given_makes_hashes_alike_across_tasks():
    salt = want(user_name_salt="a-run-wide-random-key-0123456789")["user_name_salt"]
    first, second = planner.shape(ENTRIES, "hashed", salt), planner.shape(ENTRIES, "hashed", salt)
    assert first["per_user"][0]["user"] == second["per_user"][0]["user"]
    assert want()["user_name_salt"] is None
