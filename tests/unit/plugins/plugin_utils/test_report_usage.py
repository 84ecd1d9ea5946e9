"""The fleet report's CAL usage per license server (_report_usage.py): from cal_usage results (the result shape both
issue-13 modules share) or from key packs, its findings, the usage CSV files with user names as personal data,
and the HTML page (escaped, over-allocation shown)."""

import csv
import io
import re
from pathlib import Path

import jinja2

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _report as report
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _report_usage as report_usage

from test_report import BUILT_IN, NOW, pack, result  # the licensing_info results of test_report.py

TEMPLATE = Path(__file__).resolve().parents[4] / "roles" / "report" / "templates" / "report.html.j2"
EVIL = "<img src=x onerror=alert(1)>"


def cal_usage(user_names="plain", per_user=None, summary=None, **extra):
    """A cal_usage result in the fixed shape: 12 Per User 2022 CALs in use of 10, 2 failed requests."""
    result = {
        "changed": True,
        "report": {"file_name": "PerUser_2026-03-01.rpt", "generated": "2026-03-01T07:55:00Z", "reused": False},
        "deleted_reports": [],
        "user_names": user_names,
        "summary": summary if summary is not None else [
            {"product_version": "2022", "product_version_id": 7, "cal_type": "per_user", "installed": 10,
             "issued": 12, "available": -2, "failed_requests": 2},
            {"product_version": "2019", "product_version_id": 6, "cal_type": "per_device", "installed": 25,
             "issued": 18, "available": 7, "failed_requests": 0}],
        "per_user": per_user if per_user is not None else [
            {"user": "CORP\\alice", "product_version": "2022", "product_version_id": 7,
             "expires": "2026-04-30T00:00:00Z"},
            {"user": "=HYPERLINK(\"http://x\")", "product_version": "2022", "product_version_id": 7, "expires": None}],
        "per_device": [{"computer": "PC-017", "product_version": "2019", "product_version_id": 6,
                        "expires": "2026-04-01T00:00:00Z"},
                       {"computer": "@SUM(A1)", "product_version": "2019", "product_version_id": 6, "expires": None}],
        "failed_per_user": [{"user": "CORP\\bob", "product_version": "2022", "product_version_id": 7,
                             "tried_on": "2026-02-28T09:00:00Z"}],
        "failed_summary": [{"domain": "CORP", "count": 2}],
    }
    result.update(extra)
    return result


def licensing_info():
    """ls1: the same server as licensing_info sees it, with its own (key pack) usage findings."""
    return {"ls1": result("ls1", ls={"key_packs": [BUILT_IN, pack(3, "per_user", "2022", 10, 9),
                                                   pack(4, "per_device", "2019", 25, 18)]},
                          diagnostics=[{"severity": "warning", "code": "cals_running_out",
                                        "message": "from key packs"}])}


def build(usage_results=None, **options):
    return report.build(licensing_info(), now=NOW, usage_results=usage_results, **options)


def codes(entry):
    return [(f["code"], f["source"]) for f in entry["diagnostics"]]


def csv_rows(fleet, table):
    return list(csv.DictReader(io.StringIO(report.to_csv(fleet, table))))


def test_without_cal_usage_the_usage_is_the_key_packs_and_the_host_findings_stay():
    fleet = build()
    server = fleet["usage"][0]
    assert server["source"] == "licensing_info" and server["report"] is None and server["problem"] is None
    assert [(r["product_version"], r["cal_type"], r["installed"], r["issued"], r["available"], r["failed_requests"],
             r["state"]) for r in server["rows"]] == [("2022", "per_user", 10, 9, 1, None, "running_out"),
                                                      ("2019", "per_device", 25, 18, 7, None, "ok")]
    assert codes(fleet["hosts"][0]) == [("cals_running_out", "host")]
    assert report.to_csv(fleet, "per_user_usage") == "host,license_server,status,user,product_version,expires,tried_on\n"


def test_a_cal_usage_result_replaces_the_usage_and_its_findings():
    fleet = build({"ls1": cal_usage()})
    server = fleet["usage"][0]
    assert server["source"] == "cal_usage" and server["report"]["file_name"] == "PerUser_2026-03-01.rpt"
    over = server["rows"][0]
    assert (over["cal_type"], over["installed"], over["issued"], over["available"]) == ("per_user", 10, 12, -2)
    assert over["state"] == "over_allocated" and over["over_by"] == 2 and over["in_use_percent"] == 120
    assert server["failed_summary"] == [{"domain": "CORP", "count": 2}]
    assert codes(fleet["hosts"][0]) == [("over_allocation", "usage"), ("failed_per_user_requests", "usage")]
    assert fleet["summary"]["warnings"] == 2
    found = {f["code"]: f for f in fleet["diagnostics"]}
    assert found["over_allocation"]["host_name"] == "LS1"
    assert found["over_allocation"]["message"].startswith("Per User CALs for Windows Server 2022: 12 in use, 10 "
                                                          "installed: 2 over.")


def test_the_key_packs_over_allocation_is_replaced_by_the_reports():
    """The same fact twice, possibly with other numbers, would be shown twice and matched twice by fail_on."""
    hosts = licensing_info()
    hosts["ls1"]["diagnostics"].append({"severity": "warning", "code": "per_user_over_allocated",
                                        "message": "from key packs"})
    fleet = report.build(hosts, now=NOW, usage_results={"ls1": cal_usage()})
    assert codes(fleet["hosts"][0]) == [("over_allocation", "usage"), ("failed_per_user_requests", "usage")]


def test_a_failed_cal_usage_falls_back_to_the_key_packs_and_says_why():
    fleet = build({"ls1": {"failed": True, "msg": "not in a domain"}})
    server = fleet["usage"][0]
    assert server["source"] == "licensing_info" and server["problem"] == "cal_usage failed: not in a domain"
    assert ("usage_not_read", "usage") in codes(fleet["hosts"][0])


def test_a_check_run_without_a_report_is_shown_as_such_without_a_finding():
    fleet = build({"ls1": cal_usage(report=None, summary=[], per_user=[], per_device=[], failed_per_user=[])})
    server = fleet["usage"][0]
    assert server["source"] == "licensing_info" and server["problem"].startswith("no Per User usage report exists")
    assert codes(fleet["hosts"][0]) == [("cals_running_out", "host")]


def test_the_threshold_of_the_report():
    summary = [{"product_version": "2022", "product_version_id": 7, "cal_type": "per_user", "installed": 100,
                "issued": 85, "available": 15, "failed_requests": 0}]
    assert codes(build({"ls1": cal_usage(summary=summary)})["hosts"][0]) == []
    fleet = build({"ls1": cal_usage(summary=summary)}, low_cals_threshold=20)
    assert codes(fleet["hosts"][0]) == [("cals_running_out", "usage")]
    assert fleet["usage"][0]["rows"][0]["state"] == "running_out"


def test_per_user_csv_hashed_by_default_never_shows_a_plain_name():
    fleet = build({"ls1": cal_usage("plain")}, user_names="hashed")
    text = report.to_csv(fleet, "per_user_usage")
    assert "alice" not in text and "bob" not in text and "HYPERLINK" not in text
    rows = csv_rows(fleet, "per_user_usage")
    statuses = [(r["status"], r["product_version"]) for r in rows]
    assert statuses == [("in_use", "2022"), ("in_use", "2022"), ("failed", "2022")]
    assert all(re.match(r"^sha256:[0-9a-f]{16}$", r["user"]) for r in rows)
    assert rows[0]["license_server"] == "LS1" and rows[0]["host"] == "ls1"
    assert rows[0]["expires"] == "2026-04-30T00:00:00Z" and rows[2]["tried_on"] == "2026-02-28T09:00:00Z"
    assert "alice" not in repr(fleet)  # nor in report.json or the page


def test_per_user_csv_omitted_and_plain():
    assert {r["user"] for r in csv_rows(build({"ls1": cal_usage("plain")}, user_names="omitted"),
                                        "per_user_usage")} == {""}
    rows = csv_rows(build({"ls1": cal_usage("plain")}, user_names="plain"), "per_user_usage")
    assert rows[0]["user"] == "CORP\\alice"
    assert rows[1]["user"] == "'=HYPERLINK(\"http://x\")"  # neutralised: a spreadsheet shows it as text


def test_names_cal_usage_hashed_stay_hashed_and_a_plain_one_slipped_in_is_dropped():
    per_user = [{"user": "sha256:0123456789abcdef", "product_version": "2022", "product_version_id": 7,
                 "expires": None},
                {"user": "CORP\\carol", "product_version": "2022", "product_version_id": 7, "expires": None}]
    rows = csv_rows(build({"ls1": cal_usage("hashed", per_user=per_user, failed_per_user=[])}, user_names="plain"),
                    "per_user_usage")
    assert [r["user"] for r in rows] == ["sha256:0123456789abcdef", ""]


def test_per_device_csv_neutralises_formulas():
    rows = csv_rows(build({"ls1": cal_usage()}), "per_device_usage")
    assert [(r["computer"], r["product_version"], r["expires"]) for r in rows] == [
        ("PC-017", "2019", "2026-04-01T00:00:00Z"), ("'@SUM(A1)", "2019", "")]
    assert list(rows[0]) == list(report_usage.PER_DEVICE_COLUMNS)


def render(fleet):
    return jinja2.Environment().from_string(TEMPLATE.read_text()).render(report_fleet=fleet)


def section(page):
    return page[page.index('<section id="usage-per-server">'):page.index('<section id="findings">')]


def test_the_page_shows_over_allocation_per_server_and_version():
    part = section(render(build({"ls1": cal_usage()})))
    assert 'data-source="cal_usage"' in part and "PerUser_2026-03-01.rpt" in part
    over = re.search(r'<tr class="error" data-cal-type="per_user" data-product-version="2022">(.*?)</tr>', part, re.S)
    assert over, part
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", over.group(1), re.S)]
    assert cells == ["Windows Server 2022", "Per User", "10", "12", "-2", "2", "over-allocated by 2"]
    assert "Failed Per User requests by domain: CORP 2" in part
    assert "<th class=\"num\">In use</th>" in part


def test_the_page_without_cal_usage_says_where_the_numbers_come_from():
    part = section(render(build()))
    assert 'data-source="licensing_info"' in part and "From the license server's own counters" in part
    assert "<th class=\"num\">Issued</th>" in part and "running out" in part


def test_every_usage_value_is_escaped():
    fleet = build({"ls1": cal_usage()})
    server = fleet["usage"][0]
    server.update(name=EVIL, host=EVIL, problem=EVIL)
    server["report"].update(file_name=EVIL, generated=EVIL)
    server["failed_summary"] = [{"domain": EVIL, "count": EVIL}]
    server["rows"][0].update(product_version=EVIL, cal_type_text=EVIL, installed=EVIL, issued=EVIL, available=EVIL,
                             failed_requests=EVIL, over_by=EVIL)
    part = section(render(fleet))
    assert "<img" not in part
    assert part.count("&lt;img src=x onerror=alert(1)&gt;") >= 12
