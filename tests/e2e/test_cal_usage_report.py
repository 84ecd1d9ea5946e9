"""The CAL usage report end to end: playbooks/cal_usage.yml through ansible's winrm connection against a lab of two
license servers, the files it writes, the run failing on over-allocation, and the page as a person sees it in
headless Chromium (as tests/e2e/test_report.py does).

ls1 (Windows Server 2025) has 20 Per User 2022 CALs and 25 users signed in (five more than installed: Per User CALs
over-allocate), one failed Per User request of a 2025 session host (2022 CALs serve 2022 and earlier), and 10 Per
Device 2022 CALs of which 3 are issued; ls2 has 50 Per User 2022 CALs and 3 of the same users."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from rdlab.testing import ROOT, start_lab

from .support import probe_page

PLAYBOOK = ROOT / "playbooks" / "cal_usage.yml"
SETUP = Path(__file__).resolve().parent / "playbooks" / "cal_usage_lab.yml"
DOMAIN = "corp.example.com"
USERS = ["CORP\\user%05d" % n for n in range(1, 26)]
FORMULA_COMPUTER = "=HYPERLINK(1)"
FILES = ["per_device_usage.csv", "per_user_usage.csv", "report-key-packs.csv", "report.csv", "report.html",
         "report.json"]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = start_lab(tmp_path_factory.mktemp("lab"), f"ls1:license_server:os=2025:domain={DOMAIN}",
                    f"ls2:license_server:domain={DOMAIN}")
    try:
        setup = lab.playbook(SETUP)
        assert setup.returncode == 0, setup.stdout + setup.stderr
        device = [p["KeyPackId"] for p in lab.state("ls1")["license_server"]["key_packs"] if p["ProductType"] == 0][0]
        lab.rdlab("use", "ls1", "--user", "CORP\\user", "--version", "2022", "--count", "25")
        lab.rdlab("use", "ls1", "--user", "CORP\\newuser", "--version", "2025")
        lab.rdlab("issue", "ls1", "--key-pack", str(device), "--count", "3", "--computer", "PC1", "--computer", "PC2",
                  "--computer", FORMULA_COMPUTER)
        lab.rdlab("use", "ls2", "--user", "CORP\\user", "--version", "2022", "--count", "3")
        yield lab
    finally:
        lab.rdlab("stop")


def run(lab, directory: Path, **extra_vars):
    return lab.playbook(PLAYBOOK, "-e", json.dumps(dict(extra_vars, report_dir=str(directory))))


def reports(lab, host):
    return [r["FileName"] for r in lab.state(host)["license_server"].get("reports", [])]


def usage_of(report, host):
    return next(u for u in report["usage"] if u["host"] == host)


def row(server, cal_type, version="2022"):
    return next(r for r in server["rows"] if r["cal_type"] == cal_type and r["product_version"] == version)


def read_csv(path: Path):
    return list(csv.DictReader(path.open(newline="")))


def test_1_check_mode_generates_nothing(lab, tmp_path):
    before = {host: lab.state(host)["license_server"] for host in ("ls1", "ls2")}
    check = lab.playbook(PLAYBOOK, "--check", "-e", json.dumps({"report_dir": str(tmp_path / "out")}))
    assert check.returncode == 0, check.stdout + check.stderr
    assert "No usage report exists" in check.stdout + check.stderr
    assert {host: lab.state(host)["license_server"] for host in ("ls1", "ls2")} == before
    assert not (tmp_path / "out").exists()  # check mode writes no file either


@pytest.fixture(scope="module")
def written(lab, tmp_path_factory):
    """The first real run, failing on over-allocation after writing the report."""
    directory = tmp_path_factory.mktemp("report") / "out"
    result = run(lab, directory, report_fail_on_codes=["over_allocation"])
    return directory, result


def test_2_the_run_fails_on_over_allocation_after_writing_every_file(written):
    directory, result = written
    assert result.returncode != 0, result.stdout
    assert ("ls1: Per User CALs for Windows Server 2022: 25 in use, 20 installed: 5 over. Windows does not enforce "
            "Per User CALs") in result.stdout
    assert "(over_allocation)" in result.stdout and "ls2:" not in result.stdout.split("Fail on findings with a code")[1]
    assert sorted(p.name for p in directory.iterdir()) == FILES


def test_3_each_license_server_generated_one_usage_report(lab, written):
    assert len(reports(lab, "ls1")) == 1 and len(reports(lab, "ls2")) == 1


def test_json_has_the_usage_of_each_server_from_its_report(written):
    report = json.loads((written[0] / "report.json").read_text())
    ls1, ls2 = usage_of(report, "ls1"), usage_of(report, "ls2")
    assert ls1["source"] == ls2["source"] == "cal_usage" and ls1["user_names"] == "hashed"
    assert ls1["report"]["reused"] is False and ls1["report"]["file_name"]
    per_user = row(ls1, "per_user")
    assert (per_user["installed"], per_user["issued"], per_user["available"], per_user["state"],
            per_user["over_by"]) == (20, 25, -5, "over_allocated", 5)
    per_device = row(ls1, "per_device")
    assert (per_device["installed"], per_device["issued"], per_device["available"], per_device["state"]) == (
        10, 3, 7, "ok")
    assert (row(ls2, "per_user")["issued"], row(ls2, "per_user")["state"]) == (3, "ok")
    assert ls1["failed_summary"] == [{"domain": "CORP", "count": 1}]
    findings = {(f["host"], f["code"]) for f in report["diagnostics"]}
    assert ("ls1", "over_allocation") in findings
    assert not [f for f in findings if f[0] == "ls2" and f[1] in ("over_allocation", "cals_running_out")]


def test_per_user_csv_has_no_plain_name_by_default(written):
    directory = written[0]
    rows = read_csv(directory / "per_user_usage.csv")
    in_use = [r for r in rows if r["status"] == "in_use"]
    assert len([r for r in in_use if r["host"] == "ls1"]) == 25 and len([r for r in in_use if r["host"] == "ls2"]) == 3
    assert all(re.fullmatch(r"sha256:[0-9a-f]{16}", r["user"]) for r in rows)
    ls1_users = {r["user"] for r in in_use if r["host"] == "ls1"}
    assert len(ls1_users) == 25  # distinct users, distinct values
    # One key for the run: user00001 to user00003 hash alike on both license servers.
    assert {r["user"] for r in in_use if r["host"] == "ls2"} < ls1_users
    assert [(r["host"], r["product_version"]) for r in rows if r["status"] == "failed"] == [("ls1", "2025")]
    for name in ("report.html", "report.json", "per_user_usage.csv"):
        text = (directory / name).read_text().lower()
        assert "user00001" not in text and "newuser" not in text, name


def test_per_device_csv_names_computers_and_neutralises_formulas(written):
    rows = read_csv(written[0] / "per_device_usage.csv")
    assert sorted(r["computer"] for r in rows) == ["'" + FORMULA_COMPUTER, "PC1", "PC2"]
    assert {(r["host"], r["license_server"], r["product_version"]) for r in rows} == {("ls1", "LS1", "2022")}


# Appended to a copy of the page (the report has no script): the usage section and the findings as laid out.
PROBE = """
<script>
const text = (el) => el.innerText.replace(/\\s+/g, ' ').trim();
const seen = {
  servers: [...document.querySelectorAll('#usage-per-server article')].map(a => ({
    host: a.dataset.host, source: text(a.querySelector('.source')),
    rows: [...a.querySelectorAll('tbody tr')].map(tr => ({
      type: tr.dataset.calType, version: tr.dataset.productVersion, cells: [...tr.cells].map(text),
      marker: getComputedStyle(tr.cells[0]).boxShadow,
      state_colour: tr.querySelector('.state') ? getComputedStyle(tr.querySelector('.state')).color : null})),
    failed: a.querySelector('.failed-summary') ? text(a.querySelector('.failed-summary')) : null})),
  findings: [...document.querySelectorAll('#findings tbody tr')].map(tr => [...tr.cells].map(text)),
  width: document.documentElement.scrollWidth,
};
const pre = document.createElement('pre');
pre.id = 'probe';
pre.textContent = JSON.stringify(seen);
document.body.appendChild(pre);
</script>
"""


def look(chromium, directory: Path, tmp_path_factory) -> dict:
    return probe_page(chromium, (directory / "report.html").read_text(), PROBE, tmp_path_factory)


def test_the_page_shows_the_over_allocation(chromium, written, tmp_path_factory):
    seen = look(chromium, written[0], tmp_path_factory)
    servers = {s["host"]: s for s in seen["servers"]}
    assert sorted(servers) == ["ls1", "ls2"]
    assert servers["ls1"]["source"].startswith("From the Per User usage report ")
    assert servers["ls1"]["source"].endswith("; user names hashed.")
    over = next(r for r in servers["ls1"]["rows"] if r["type"] == "per_user" and r["version"] == "2022")
    assert over["cells"] == ["Windows Server 2022", "Per User", "20", "25", "-5", "0", "over-allocated by 5"]
    assert over["state_colour"] == "rgb(180, 35, 24)"  # the page's error red
    assert "rgb(180, 35, 24)" in over["marker"]  # the row's red edge
    device = next(r for r in servers["ls1"]["rows"] if r["type"] == "per_device")
    assert device["cells"] == ["Windows Server 2022", "Per Device", "10", "3", "7", "0", "ok"]
    assert servers["ls1"]["failed"] == "Failed Per User requests by domain: CORP 1"
    shown = {(f[1], f[3].split()[0]): (f[0], f[2]) for f in seen["findings"]}
    severity, message = shown[("ls1", "over_allocation")]
    assert severity == "WARNING" and message.startswith("Per User CALs for Windows Server 2022: 25 in use, 20 "
                                                        "installed: 5 over.")
    assert seen["width"] <= 1280


def test_z_a_second_run_reuses_the_reports_and_shows_plain_names_when_asked(lab, written, tmp_path):
    before = {host: reports(lab, host) for host in ("ls1", "ls2")}
    again = run(lab, tmp_path / "out", report_user_names="plain")
    assert again.returncode == 0, again.stdout + again.stderr
    assert {host: reports(lab, host) for host in ("ls1", "ls2")} == before  # reused, none generated
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert usage_of(report, "ls1")["report"]["reused"] is True
    users = sorted(r["user"] for r in read_csv(tmp_path / "out" / "per_user_usage.csv")
                   if r["host"] == "ls1" and r["status"] == "in_use")
    assert users == USERS
