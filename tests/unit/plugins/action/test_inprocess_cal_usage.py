"""cal_usage against the lab's host model, in-process: a report generated beside another one at the same
moment, and a list longer than the key packs suggest, each read to its end."""

import pytest
from inprocess_lab import InProcessLab
from rdlab.model.usage_report import generate_report_ex, use_per_user

CONTACT = {"first_name": "Ada", "last_name": "Lovelace", "company": "Example Ltd", "country_region": "United Kingdom"}
PACK = {"program": "enterprise_agreement", "agreement_number": "7654321", "product_version": "2022",
        "license_type": "per_user", "count": 5, "marker_key": "cal-usage-inprocess-marker-key"}


@pytest.fixture
def lab(tmp_path):
    lab = InProcessLab("ls1:license_server:os=2025:domain=corp.example.com", directory=tmp_path)
    assert not lab.run("ls1", "license_server", {"contact": CONTACT, "activation": "activated"}).get("failed")
    assert not lab.run("ls1", "cal_pack", PACK).get("failed")
    with lab.fleet.host("ls1") as host:
        for n in range(3):
            use_per_user(host, "CORP\\user%d" % n, "2022")
        for n in range(5):
            use_per_user(host, "CORP\\new%d" % n, "2025")  # 2025 session hosts, 2022 CALs: five failed requests
    return lab


def sent_methods(lab):
    return [[op.get("method") for op in batch["operations"]] for batch in lab.batches]


def test_a_report_generated_by_someone_else_at_the_same_time_is_not_read(lab):
    execute = lab._bridge

    def racing(host, check_mode):
        inner = execute(host, check_mode)

        def run(module_name, module_args, task_vars=None, wrap_async=False):
            if any(op.get("method") == "GenerateReportEx" for op in module_args["operations"]):
                with lab.fleet.host(host) as model:
                    generate_report_ex(model, None, {})  # another administrator's report, a moment before ours
            return inner(module_name, module_args, task_vars, wrap_async)
        return run
    lab._bridge = racing
    before = len(lab.batches)
    result = lab.run("ls1", "cal_usage", {"max_age": "0", "user_names": "plain"})
    assert not result.get("failed"), result.get("msg")
    names = [r["FileName"] for r in lab.state("ls1")["license_server"]["reports"]]
    assert result["report"]["file_name"] == names[-1] and len(names) == 2  # ours, generated after the other
    assert sorted(u["user"] for u in result["per_user"]) == ["CORP\\user0", "CORP\\user1", "CORP\\user2"]
    assert len(lab.batches) - before == 3  # the read, the generation, our report read by its name
    assert "GenerateReportEx" in sent_methods(lab)[-2] and "GenerateReportEx" not in sent_methods(lab)[-1]


def test_a_list_longer_than_expected_is_read_in_more_round_trips(lab):
    before = len(lab.batches)
    result = lab.run("ls1", "cal_usage", {"page_size": 2, "user_names": "omitted"})
    assert not result.get("failed"), result.get("msg")
    assert len(result["failed_per_user"]) == 5 and len(result["per_user"]) == 3
    assert result["summary"][0]["failed_requests"] == 0  # the failures are of 2025, the pack is 2022
    # the read; the generation with the pages the key packs suggest (one of failures: none expected); then twice
    # as many pages of failures per trip until a short page ends the list
    trips = sent_methods(lab)[before:]
    assert len(trips) == 3
    assert [m for m in trips[-1] if m] == ["FetchReportFailedPerUserEntries"] * 2


def test_a_generation_that_names_no_report_fails_in_words(lab):
    """GenerateReportEx's page gives FileName as its only out-parameter: without it the new report cannot be told
    from others, so the task says so instead of failing on a missing name."""
    execute = lab._bridge

    def nameless(host, check_mode):
        inner = execute(host, check_mode)

        def run(module_name, module_args, task_vars=None, wrap_async=False):
            result = inner(module_name, module_args, task_vars, wrap_async)
            for item in result.get("results") or []:
                if item.get("ok") and "FileName" in (item.get("out") or {}):
                    item["out"]["FileName"] = None
            return result
        return run
    lab._bridge = nameless
    result = lab.run("ls1", "cal_usage", {"max_age": "0"})
    assert result.get("failed") and result["changed"] is True
    assert "GenerateReportEx succeeded but returned no FileName" in result["msg"]


def reports_of(lab):
    return [r["FileName"] for r in lab.state("ls1")["license_server"]["reports"]]


def three_reports(lab):
    with lab.fleet.host("ls1") as model:
        for _count in range(3):
            generate_report_ex(model, None, {})
    return reports_of(lab)


def test_deleted_reports_lists_the_reports_deleted(lab):
    names = three_reports(lab)
    predicted = lab.run("ls1", "cal_usage", {"keep": 1}, check_mode=True)
    assert sorted(r["file_name"] for r in predicted["deleted_reports"]) == names[:2] and reports_of(lab) == names
    result = lab.run("ls1", "cal_usage", {"keep": 1})
    assert not result.get("failed"), result.get("msg")
    assert sorted(r["file_name"] for r in result["deleted_reports"]) == names[:2] and reports_of(lab) == names[2:]


def test_a_failed_deletion_lists_only_the_reports_deleted(lab):
    """A run that fails on its first DeleteReport deleted nothing: deleted_reports must not list the plan."""
    names = three_reports(lab)
    with lab.fleet.host("ls1") as model:
        model.state.setdefault("faults", {})["cim_fail"] = {
            "class": "Win32_TSLicenseReport", "method": "DeleteReport", "count": 1, "code": 0x80041001}
    result = lab.run("ls1", "cal_usage", {"keep": 1})
    assert result.get("failed") and "Could not delete 2 old usage reports" in result["msg"]
    assert result["deleted_reports"] == [] and reports_of(lab) == names
