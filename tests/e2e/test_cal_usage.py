"""cal_usage end to end: ansible's winrm connection, the bridge, the lab's usage reports.

ls1 (Windows Server 2025) is activated with 20 Per User 2022 CALs and 10 Per Device 2022 CALs. `rdlab use` signs in
25 users (five more than installed: Per User CALs over-allocate) and one user of a 2025 session host whose request
fails (2022 CALs serve 2022 and earlier);
`rdlab issue` records 3 Per Device CALs. Pages of 10 entries make the Per User list three pages.
"""

import json

import pytest

from .support import ModuleLab, is_read

DOMAIN = "corp.example.com"
CONTACT = {"first_name": "Ada", "last_name": "Lovelace", "company": "Example Ltd", "country_region": "United Kingdom"}
PACK = {"program": "enterprise_agreement", "agreement_number": "{{ agreement }}", "product_version": "2022",
        "marker_key": "cal-usage-test-marker-key"}
USERS = ["CORP\\user%05d" % n for n in range(1, 26)]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = ModuleLab.start(tmp_path_factory, f"ls1:license_server:os=2025:domain={DOMAIN}")
    setup = lab.tasks("ls1", ("license_server", {"contact": CONTACT, "activation": "activated"}),
                      ("cal_pack", dict(PACK, license_type="per_user", count=20)),
                      ("cal_pack", dict(PACK, license_type="per_device", count=10, agreement_number="{{ other }}")),
                      vars={"agreement": "7654321", "other": "7654322"})
    assert setup.rc == 0, setup.output
    device_pack = setup.results("ls1")[-1]["key_pack_id"]
    lab.rdlab("use", "ls1", "--user", "CORP\\user", "--version", "2022", "--count", "25")
    lab.rdlab("use", "ls1", "--user", "CORP\\newuser", "--version", "2025")
    lab.rdlab("issue", "ls1", "--key-pack", str(device_pack), "--count", "3", "--computer", "PC1", "--computer", "PC2",
              "--computer", "PC3")
    yield lab
    lab.stop()


def reports(lab):
    return [r["FileName"] for r in lab.state("ls1")["license_server"].get("reports", [])]


def fetch_calls(run):
    return [m for m in run.methods("ls1") if m.startswith("FetchReport")]


def test_1_check_mode_without_a_report_reads_only(lab):
    before = lab.state("ls1")
    run = lab.run("ls1", "cal_usage", {"page_size": 10}, check=True)
    result = run.result()
    assert run.rc == 0 and result["changed"], run.output
    assert result["report"] is None and result["per_user"] == [] and result["summary"] == []
    assert any("No usage report exists" in w for w in result["warnings"])
    assert "GenerateReportEx" not in run.methods("ls1")
    assert lab.state("ls1") == before


def test_2_a_report_is_generated_and_read_in_pages(lab):
    run = lab.run("ls1", "cal_usage", {"page_size": 10, "user_names": "plain"})
    result = run.result()
    assert run.rc == 0 and result["changed"], run.output
    assert result["report"]["reused"] is False and reports(lab) == [result["report"]["file_name"]]
    assert sorted(u["user"] for u in result["per_user"]) == USERS
    assert {(u["product_version"], u["product_version_id"]) for u in result["per_user"]} == {("2022", 7)}
    per_user = next(s for s in result["summary"] if s["cal_type"] == "per_user")
    assert per_user == {"product_version": "2022", "product_version_id": 7, "cal_type": "per_user", "installed": 20,
                        "issued": 25, "available": -5, "failed_requests": 0}
    per_device = next(s for s in result["summary"] if s["cal_type"] == "per_device")
    assert (per_device["installed"], per_device["issued"], per_device["available"]) == (10, 3, 7)
    assert [d["computer"] for d in result["per_device"]] == ["PC1", "PC2", "PC3"]
    assert result["failed_per_user"][0]["user"] == "CORP\\newuser"
    assert result["failed_per_user"][0]["product_version"] == "2025"
    assert result["failed_summary"] == [{"domain": "CORP", "count": 1}]
    # Two round trips: the read; the generation with the pages (three of Per User, one of each other list).
    assert len(run.commands("ls1")) == 2
    assert fetch_calls(run).count("FetchReportEntries") == 3
    hardware_ids = [r["sHardwareId"] for r in lab.state("ls1")["license_server"]["issued_licenses"]]
    assert hardware_ids and not [h for h in hardware_ids if h in run.output], "a hardware ID reached the output"
    assert "hardware" not in json.dumps(result).lower()


def test_3_a_recent_report_is_reused(lab):
    existing = reports(lab)
    run = lab.run("ls1", "cal_usage", {"page_size": 10, "max_age": "12h"})
    result = run.result()
    assert run.rc == 0 and not result["changed"], run.output
    assert result["report"]["reused"] and result["report"]["file_name"] == existing[0]
    assert reports(lab) == existing and len(result["per_user"]) == 25
    assert "GenerateReportEx" not in run.methods("ls1") and len(run.commands("ls1")) == 2


@pytest.mark.parametrize("mode", ["hashed", "omitted"])
def test_4_user_names_are_not_shown_unless_asked(lab, mode):
    run = lab.run("ls1", "cal_usage", {"page_size": 10, "user_names": mode})
    result = run.result()
    assert run.rc == 0 and result["user_names"] == mode
    assert "user0" not in json.dumps(result) and "newuser" not in json.dumps(result)
    users = [u["user"] for u in result["per_user"] + result["failed_per_user"]]
    if mode == "omitted":
        assert set(users) == {None}
    else:
        assert all(u.startswith("sha256:") and len(u) == len("sha256:") + 16 for u in users)
        assert len(set(users)) == 26  # distinct users, distinct hashes


def test_4_a_run_wide_salt_hashes_alike_and_is_never_shown(lab):
    salt = "run-wide-key-4f9c2a7d1e8b3c6a"
    runs = [lab.run("ls1", "cal_usage", {"user_name_salt": salt}), lab.run("ls1", "cal_usage", {"user_name_salt": salt})]
    assert all(r.rc == 0 for r in runs)
    assert runs[0].result()["per_user"] == runs[1].result()["per_user"]
    assert not [r for r in runs if salt in r.output]


@pytest.mark.parametrize("mode", ["omitted", "hashed"])
def test_4_at_verbosity_5_no_hardware_id_and_no_omitted_name_leaves_the_host(lab, mode):
    """-vvvvv: ansible's winrm connection prints each module's raw output (AWX's "WinRM Debug"). The host leaves
    hardware IDs, and omitted user names, out of its answers; hashed names must reach the controller to be hashed
    there, so they show at -vvvvv (as the module's notes say): the scan sees them, it can fail."""
    run = lab.run("ls1", "cal_usage", {"page_size": 10, "user_names": mode}, extra=("-vvvvv",))
    assert run.rc == 0, run.output
    assert "ReportPerDeviceEntries" in run.output and "PC1" in run.output  # the raw answers are printed
    fetches = [op for op in run.transcript if op.get("method", "").startswith("FetchReport")]
    assert fetches and all(op["omit_properties"] == ["sHardwareId"] + (["User"] if mode == "omitted" else [])
                           for op in fetches)
    transcript = (lab.lab.dir / "transcript.jsonl").read_text()
    hardware_ids = [r["sHardwareId"] for r in lab.state("ls1")["license_server"]["issued_licenses"]]
    assert len(hardware_ids) == 3 and all(hardware_ids)
    assert [h for h in hardware_ids if h in run.output or h in transcript] == []
    names = [u.split("\\")[1] for u in USERS] + ["newuser"]
    shown = [n for n in names if n in run.output]
    assert [n for n in names if n in transcript] == []
    assert shown == ([] if mode == "omitted" else names)


def test_5_housekeeping_keeps_the_newest_and_is_idempotent(lab):
    for run in (lab.run("ls1", "cal_usage", {"max_age": "0"}), lab.run("ls1", "cal_usage", {"max_age": "0"})):
        assert run.rc == 0, run.output
    before = reports(lab)
    assert len(before) == 3
    check = lab.run("ls1", "cal_usage", {"keep": 2}, check=True)
    assert check.rc == 0 and check.result()["changed"]
    assert [r["file_name"] for r in check.result()["deleted_reports"]] == [before[0]]
    assert reports(lab) == before
    run = lab.run("ls1", "cal_usage", {"keep": 2})
    result = run.result()
    assert run.rc == 0 and result["changed"] and result["report"]["generated"]
    assert result["report"]["reused"] and result["report"]["file_name"] == before[-1]
    assert [r["file_name"] for r in result["deleted_reports"]] == [before[0]] and reports(lab) == before[1:]
    again = lab.run("ls1", "cal_usage", {"keep": 2})
    assert again.rc == 0 and not again.result()["changed"] and again.result()["deleted_reports"] == []
    assert reports(lab) == before[1:]


def test_6_check_mode_with_reports_changes_nothing(lab):
    before = lab.state("ls1")
    run = lab.run("ls1", "cal_usage", {"max_age": "0", "keep": 1}, check=True)
    result = run.result()
    assert run.rc == 0 and result["changed"] and result["report"]["reused"]
    # keep 1 with a new report to generate: both existing reports would go (the new one is the one kept).
    assert sorted(r["file_name"] for r in result["deleted_reports"]) == sorted(reports(lab))
    assert len(result["per_user"]) == 25
    assert all(is_read(op) or op["method"].startswith("FetchReport") for batch in run.batches("ls1") for op in batch)
    assert lab.state("ls1") == before


def test_7_bad_input_is_refused_before_the_host(lab):
    run = lab.run("ls1", "cal_usage", {"max_age": "yesterday"})
    assert run.rc != 0 and "max_age must be a number and a unit" in run.output
    assert run.commands("ls1") == []
