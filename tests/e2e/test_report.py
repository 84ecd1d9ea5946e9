"""The fleet report end to end: playbooks/report.yml through ansible's winrm connection against a lab, the JSON
and CSV it writes, and the HTML page as a person sees it in headless Chromium (Debian's package; the test setup,
tools/install-chromium.sh, installs it)."""

from __future__ import annotations

import csv
import datetime
import json
import shutil
import zlib
from pathlib import Path

import pytest
import yaml

from rdlab.testing import ROOT, start_lab

from .support import headless, probe_page

PLAYBOOK = ROOT / "playbooks" / "report.yml"
SETUP = Path(__file__).resolve().parent / "playbooks" / "report_lab.yml"
HOSTS = ["gone", "ls1", "ls2", "sh1", "sh2", "sh3"]
# A host in the inventory that nothing answers for: the report must list it, not stop.
UNREACHABLE = """\
windows:
  hosts:
    gone:
      ansible_host: 127.0.0.1
      ansible_port: 1
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """ls1 (2022) activated with CALs in use, ls2 (2016) not activated, sh1 (2019) Per Device on ls1, sh2 (2022)
    Per User on ls2 with 20 grace days left, sh3 (2022) Per Device on ls1, and an unreachable host."""
    lab = start_lab(tmp_path_factory.mktemp("lab"),
                    "ls1:license_server:domain=corp.example.com",
                    "ls2:license_server:os=2016:domain=corp.example.com",
                    "sh1:session_host:os=2019:domain=corp.example.com",
                    "sh2:session_host:domain=corp.example.com",
                    "sh3:session_host:domain=corp.example.com")
    try:
        setup = lab.playbook(SETUP)
        assert setup.returncode == 0, setup.stdout + setup.stderr
        # Clients never connect to the lab: 18 Per Device CALs issued by the lab, 31 Per User CALs seeded.
        packs = {p["ProductType"]: p["KeyPackId"] for p in lab.state("ls1")["license_server"]["key_packs"]}
        lab.rdlab("issue", "ls1", "--key-pack", str(packs[0]), "--count", "18")
        key_packs = lab.state("ls1")["license_server"]["key_packs"]
        for pack in key_packs:
            if pack["KeyPackId"] == packs[1]:
                pack["IssuedLicenses"] = 31
        seed(lab, "ls1", {"license_server": {"key_packs": key_packs}}, tmp_path_factory)
        lab.rdlab("connect", "sh2")  # the grace period starts at the first client connection (hh553157)
        seed(lab, "sh2", {"clock_offset_days": 100}, tmp_path_factory)
        yield lab
    finally:
        lab.rdlab("stop")


def seed(lab, host, document, tmp_path_factory):
    path = tmp_path_factory.mktemp("seed") / "seed.json"
    path.write_text(json.dumps(document))
    lab.rdlab("seed", host, str(path))


def run_report(lab, directory: Path, *extra: str):
    inventory = directory.parent / "unreachable.yml"
    inventory.write_text(UNREACHABLE)
    return lab.playbook(PLAYBOOK, "-i", str(inventory), "-e", json.dumps({"report_dir": str(directory)}), *extra)


@pytest.fixture(scope="module")
def report_dir(lab, tmp_path_factory):
    directory = tmp_path_factory.mktemp("report") / "out"
    run = run_report(lab, directory)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"Report written to {directory}/ (html, json, csv)" in run.stdout
    assert "hosts: 6 (1 not read); license servers: 2 (1 activated); session hosts: 3" in run.stdout
    assert "errors: 6; warnings: 3; grace period warnings: 1" in run.stdout
    return directory


@pytest.fixture(scope="module")
def report(report_dir):
    return json.loads((report_dir / "report.json").read_text())


def by_host(report):
    return {h["inventory_hostname"]: h for h in report["hosts"]}


def codes(host, source=None):
    return [f["code"] for f in host["diagnostics"] if source is None or f["source"] == source]


# --- what the playbook writes ------------------------------------------------------------------------

def test_the_playbook_writes_every_file(report_dir):
    assert sorted(p.name for p in report_dir.iterdir()) == [
        "per_device_usage.csv", "per_user_usage.csv", "report-key-packs.csv", "report.csv", "report.html", "report.json"]
    # Without cal_usage results (playbooks/cal_usage.yml), the usage CSV files have their header only.
    assert (report_dir / "per_user_usage.csv").read_text() == (
        "host,license_server,status,user,product_version,expires,tried_on\n")


def test_json_has_every_host_and_the_fleet_numbers(report):
    hosts = by_host(report)
    assert sorted(hosts) == HOSTS
    assert report["schema_version"] == 1
    assert report["summary"] == {
        "hosts": 6, "hosts_read": 5, "hosts_not_read": 1, "license_servers": 2, "license_servers_activated": 1,
        "session_hosts": 3, "errors": 6, "warnings": 3, "infos": 0, "grace_warnings": 1, "hosts_with_errors": 4,
        "hosts_with_warnings": 2, "grace_warning_days": 30}
    assert [(u["license_type"], u["product_version"], u["total"], u["issued"], u["available"], u["license_servers"])
            for u in report["cal_usage"]] == [("per_device", "2019", 25, 18, 7, ["ls1"]),
                                              ("per_user", "2022", 50, 31, 19, ["ls1"])]
    assert hosts["ls1"]["license_server"]["activation_status"] == "activated"
    assert hosts["ls2"]["license_server"]["activation_status"] == "not_activated"
    assert hosts["sh2"]["session_host"]["licensing_mode"] == "per_user"
    assert hosts["sh2"]["session_host"]["grace_period_days_left"] == 20
    # sh2's license server is not valid: it lives on its grace period. sh1 and sh3 are served by ls1.
    assert [hosts[h]["session_host"]["grace_period"] for h in ("sh1", "sh2", "sh3")] == [
        "not_needed", "running", "not_needed"]
    assert hosts["sh1"]["session_host"]["license_servers"] == ["LS1.CORP.EXAMPLE.COM"]
    # The connection is refused: unreachable, in words.
    gone = hosts["gone"]
    assert gone["status"] == "unreachable" and "Nothing listens on port " in gone["error"]
    assert codes(gone) == ["host_unreachable"]


def test_json_has_the_cross_host_findings(report):
    hosts = by_host(report)
    # sh2 uses ls2: not activated, older than sh2 (2016 < 2022), no Per User CALs (a warning: Per User CALs are
    # not enforced). check_connectivity is on, so licensing_info itself reports the lower version too.
    assert codes(hosts["sh2"], "fleet") == ["license_server_not_activated", "license_server_older", "no_cals_for_mode"]
    assert "license_server_not_valid" in codes(hosts["sh2"], "host")
    assert "grace_period_ending" in codes(hosts["sh2"], "host")
    # sh3 (2022) is Per Device on ls1, which has 2019 Per Device CALs only.
    assert codes(hosts["sh3"], "fleet") == ["cal_version_too_old"]
    # sh1 (2019, Per Device) names ls1 by its FQDN in capitals: matched, and nothing is wrong.
    assert hosts["sh1"]["diagnostics"] == []


def test_no_secret_reaches_any_file(lab, report_dir):
    state = lab.state("ls1")["license_server"]
    secrets = [state["license_server_id"], state["product_id"], "1234567", "7654321", "rds-admins@example.com"]
    assert all(secrets)
    for path in report_dir.iterdir():
        text = path.read_text()
        assert [s for s in secrets if s in text] == [], path.name
        assert "license_server_id" not in text


def test_csv_one_row_per_host(report_dir):
    rows = {r["host"]: r for r in csv.DictReader((report_dir / "report.csv").open(newline=""))}
    assert sorted(rows) == HOSTS
    assert rows["ls1"]["activation_status"] == "activated"
    assert (rows["ls1"]["cals_per_user_total"], rows["ls1"]["cals_per_user_issued"],
            rows["ls1"]["cals_per_user_available"]) == ("50", "31", "19")
    assert (rows["ls1"]["cals_per_device_total"], rows["ls1"]["cals_per_device_issued"]) == ("25", "18")
    assert rows["ls2"]["activation_status"] == "not_activated" and rows["ls2"]["errors"] == "1"
    assert rows["sh2"]["licensing_mode"] == "per_user" and rows["sh2"]["grace_period_days_left"] == "20"
    assert (rows["sh2"]["grace_period"], rows["sh3"]["grace_period"], rows["ls1"]["grace_period"]) == (
        "running", "not_needed", "")
    assert (rows["sh1"]["host"], rows["sh1"]["name"], rows["sh1"]["fqdn"]) == ("sh1", "SH1", "sh1.corp.example.com")
    assert rows["sh2"]["license_servers"] == "ls2"
    assert rows["sh2"]["diagnostic_codes"].split(";") == [
        "license_server_not_valid", "license_server_not_activated", "license_server_older", "grace_period_ending",
        "no_cals_for_mode"]
    assert rows["gone"]["status"] == "unreachable" and "Nothing listens on port 1 of gone" in rows["gone"]["error"]
    assert rows["sh1"]["session_host"] == "true" and rows["sh1"]["license_server"] == "false"


def test_csv_one_row_per_key_pack(report_dir):
    rows = list(csv.DictReader((report_dir / "report-key-packs.csv").open(newline="")))
    assert [(r["host"], r["license_type"], r["product_version"], r["total"], r["issued"]) for r in rows] == [
        ("ls1", "built_in", "built_in", "4294967295", "0"), ("ls1", "per_user", "2022", "50", "31"),
        ("ls1", "per_device", "2019", "25", "18"), ("ls2", "built_in", "built_in", "4294967295", "0")]
    # The program cal_pack recorded when report_lab.yml installed the packs, in the last column; none for the
    # built-in packs, which the collection did not install.
    assert list(rows[0])[-1] == "program"
    assert [r["program"] for r in rows] == ["", "spla", "enterprise_agreement", ""]


def test_the_json_has_the_program_of_each_pack_the_collection_installed(report):
    packs = [(p["key_pack_type_text"], p["program"], p["program_text"]) for p in by_host(report)["ls1"]["license_server"]["key_packs"]]
    assert packs == [("Built-in", None, None), ("Volume purchase", "spla", "Services Provider License Agreement"),
                     ("Volume purchase", "enterprise_agreement", "Enterprise Agreement")]


def test_fail_on_error_fails_after_writing(lab, tmp_path):
    directory = tmp_path / "strict"
    run = run_report(lab, directory, "-e", "report_fail_on=error")
    assert run.returncode != 0
    assert "sh2: License server ls2 is not activated" in run.stdout
    assert (directory / "report.html").exists() and (directory / "report.json").exists()


def test_limit_narrows_the_report(lab, tmp_path):
    directory = tmp_path / "limited"
    run = run_report(lab, directory, "--limit", "ls2,sh2")
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads((directory / "report.json").read_text())
    assert sorted(by_host(report)) == ["ls2", "sh2"]
    assert codes(by_host(report)["sh2"], "fleet") == [
        "license_server_not_activated", "license_server_older", "no_cals_for_mode"]


# --- the HTML page, as a person sees it ----------------------------------------------------------------

# Appended to a copy of the page (the report itself has no script): what the browser laid out, as JSON.
PROBE = """
<script>
const box = (el) => el.getBoundingClientRect();
const seen = {
  title: document.title,
  text: document.body.innerText,
  cards: [...document.querySelectorAll('.cards .card')].map(c => c.innerText.replace(/\\s+/g, ' ').trim()),
  bars: [...document.querySelectorAll('#cal-usage .usage')].map(u => ({
    label: u.querySelector('.what').innerText,
    numbers: u.querySelector('.numbers').innerText,
    ratio: box(u.querySelector('.fill')).width / box(u.querySelector('.bar')).width,
    height: box(u.querySelector('.fill')).height,
    colour: getComputedStyle(u.querySelector('.fill')).backgroundColor})),
  hosts: Object.fromEntries([...document.querySelectorAll('#hosts tbody tr')].map(tr =>
    [tr.dataset.host, [...tr.cells].map(td => td.innerText.replace(/\\s+/g, ' ').trim())])),
  findings: [...document.querySelectorAll('#findings tbody tr')].map(tr =>
    [...tr.cells].map(td => td.innerText.replace(/\\s+/g, ' ').trim())),
  badge_colours: Object.fromEntries([...document.querySelectorAll('#findings .badge')].map(b =>
    [b.innerText.toLowerCase(), getComputedStyle(b).backgroundColor])),
  details: Object.fromEntries([...document.querySelectorAll('#details article')].map(a =>
    [a.id, a.innerText.replace(/\\s+/g, ' ').trim()])),
  key_pack_heads: [...document.querySelectorAll('#details article thead th')].map(th => [th.innerText, th.title]),
  built_in_notes: [...document.querySelectorAll('#details .note')].map(n => [n.innerText, n.title]),
  loaded: performance.getEntriesByType('resource').map(e => e.name),
  width: document.documentElement.scrollWidth,
};
const pre = document.createElement('pre');
pre.id = 'probe';
pre.textContent = JSON.stringify(seen);
document.body.appendChild(pre);
</script>
"""


@pytest.fixture(scope="module")
def seen(chromium, report_dir, tmp_path_factory):
    return look(chromium, report_dir, tmp_path_factory)


def test_the_page_is_self_contained(report_dir, seen):
    page = (report_dir / "report.html").read_text()
    for needle in ("<script", "<link", "<img", "<iframe", "@import", "url(", "http://", "https://", "src="):
        assert needle not in page.lower(), needle
    assert seen["loaded"] == []  # the browser fetched nothing besides the page


def test_the_summary_a_person_sees(seen):
    assert seen["title"] == "Remote Desktop Licensing report"
    assert seen["cards"][0].startswith("6 Hosts 2 license servers (1 activated), 3 session hosts, 1 not read")
    assert seen["cards"][1:] == ["6 Errors on 4 hosts", "3 Warnings on 2 hosts",
                                 "1 Grace period warning session hosts with 30 days or less and no valid license server"]
    assert seen["width"] <= 1280  # nothing runs off the side of the window


def test_the_cal_bars(seen):
    bars = {b["label"]: b for b in seen["bars"]}
    assert list(bars) == ["Per Device CALs, Windows Server 2019", "Per User CALs, Windows Server 2022"]
    device, user = bars.values()
    assert device["numbers"] == "18 issued of 25 · 7 available · 72%"
    assert user["numbers"] == "31 issued of 50 · 19 available · 62%"
    assert device["ratio"] == pytest.approx(0.72, abs=0.01) and user["ratio"] == pytest.approx(0.62, abs=0.01)
    assert device["height"] > 10 and device["colour"] not in ("rgba(0, 0, 0, 0)", "transparent")


def test_the_hosts_table(seen):
    hosts = seen["hosts"]
    assert sorted(hosts) == HOSTS
    heading = ["name", "roles", "os", "domain", "activation", "mode", "servers", "grace", "findings"]
    ls1, ls2, sh1, sh2, sh3 = (dict(zip(heading, hosts[h])) for h in ("ls1", "ls2", "sh1", "sh2", "sh3"))
    # Every host by its inventory name; the computer name is in its details.
    assert [hosts[h][0] for h in HOSTS] == HOSTS
    assert ls1["activation"] == "Activated" and ls1["roles"] == "License server"
    assert ls2["activation"] == "Not activated" and ls2["os"] == "Windows Server 2016 Standard 10.0.14393"
    assert sh1["mode"] == "Per Device (local setting)" and sh1["servers"] == "LS1.CORP.EXAMPLE.COM valid"
    assert sh1["findings"] == "none" and sh1["domain"] == "corp.example.com"
    assert sh2["mode"] == "Per User (local setting)" and sh2["servers"] == "ls2 lower version"
    # The grace period where it matters: sh2 has no valid license server; ls1 serves sh1 and sh3, whose counter
    # (120: no client ever connected) is not a countdown.
    assert sh2["grace"] == "20 days left" and sh2["findings"] == "3 errors 2 warnings"
    assert sh3["grace"] == "not needed" and sh3["findings"] == "1 error"
    assert sh1["grace"] == "not needed" and "120" not in " ".join(hosts["sh1"] + hosts["sh3"])
    assert hosts["gone"][0] == "gone" and hosts["gone"][1].startswith("Unreachable:")
    assert "Nothing listens on port 1 of gone" in hosts["gone"][1] and hosts["gone"][2] == "1 error"
    assert "not activated" in seen["text"].lower()


def test_the_findings_with_severity_colours(seen):
    findings = seen["findings"]
    assert [f[0] for f in findings] == ["ERROR"] * 6 + ["WARNING"] * 3
    messages = {(f[1], f[3].split()[0]): f[2] for f in findings}
    assert {f[1] for f in findings} == {"gone", "ls1", "ls2", "sh2", "sh3"}  # inventory names
    assert messages[("sh2", "license_server_not_activated")] == (
        "License server ls2 is not activated: it issues Per Device CALs only as temporary CALs, which expire after 90 "
        "days, and no CAL pack can be installed on it.")
    assert messages[("sh2", "no_cals_for_mode")] == (
        "The session host is in Per User mode, but none of its license servers in this report (ls2) has Per User "
        "CALs. Windows does not enforce Per User CALs: users are not refused, but they are not licensed.")
    assert messages[("sh3", "cal_version_too_old")].startswith("The session host runs Microsoft Windows Server 2022")
    assert messages[("sh2", "grace_period_ending")] == "The licensing grace period ends in 20 days."
    assert "(fleet)" in [f[3] for f in findings if f[1] == "sh2"][2]
    colours = seen["badge_colours"]
    assert colours["error"] == "rgb(180, 35, 24)" and colours["warning"] == "rgb(247, 144, 9)"


def test_the_screenshot(chromium, report_dir, tmp_path):
    shot = tmp_path / "report.png"
    headless(chromium, tmp_path / "profile", "--window-size=1280,1600", f"--screenshot={shot}",
             (report_dir / "report.html").as_uri())
    width, height, distinct = png_summary(shot.read_bytes())
    assert (width, height) == (1280, 1600)
    assert distinct > 50  # text, colours and bars, not a blank page
    keep = ROOT / "build" / "e2e-report"
    keep.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, keep / "report.png")  # for a person to look at after the run


def png_summary(data: bytes) -> tuple[int, int, int]:
    """Width, height and the number of distinct byte values in the image data (no imaging library needed)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    chunks, offset = [], 8
    while offset < len(data):
        length = int.from_bytes(data[offset:offset + 4], "big")
        if data[offset + 4:offset + 8] == b"IDAT":
            chunks.append(data[offset + 8:offset + 8 + length])
        offset += 12 + length
    return width, height, len(set(zlib.decompress(b"".join(chunks))))


# --- the License server security group policy (issue 15) -----------------------------------------------

def look(chromium, directory: Path, tmp_path_factory) -> dict:
    """What headless Chromium shows of a report written to `directory` (the probe of the `seen` fixture)."""
    return probe_page(chromium, (directory / "report.html").read_text(), PROBE, tmp_path_factory)


def test_a_session_host_refused_by_the_security_group_policy_is_shown(lab, chromium, tmp_path_factory):
    """Last in this file, as it changes ls1: its "License server security group" policy on, with sh1 in its
    Terminal Server Computers group and sh3 (also on ls1) outside it."""
    seed(lab, "ls1", {"license_server": {"security_group_policy": True, "terminal_server_computers": ["SH1"]}},
         tmp_path_factory)
    try:
        directory = tmp_path_factory.mktemp("report") / "out"
        run = run_report(lab, directory)
        assert run.returncode == 0, run.stdout + run.stderr
        findings = look(chromium, directory, tmp_path_factory)["findings"]
    finally:
        seed(lab, "ls1", {"license_server": {"security_group_policy": False, "terminal_server_computers": []}},
             tmp_path_factory)
    shown = {(f[1], f[3].split()[0]): (f[0], f[2]) for f in findings}
    severity, message = shown[("sh3", "license_server_refuses")]
    assert severity == "ERROR"
    assert message.startswith("License server ls1 is not allowed to issue RDS CALs to this session host")
    assert shown[("sh3", "license_server_not_valid")][1].endswith("(status 5).")
    assert shown[("ls1", "security_group_policy")][0] == "INFO"
    assert ("sh1", "license_server_refuses") not in shown and ("sh1", "license_server_not_valid") not in shown


# --- the key packs and the host details (issue 12, "The report page") -------------------------------------------

BUILT_IN_NOTE = ("The built-in pack: Windows creates it on every license server and lists its version as "
                 "Windows 2000 Server, "
                 "with an unlimited count. It is not a pack anyone installed and holds no CALs for today's session "
                 "hosts, which need CALs of their own Windows Server version or later; the report does not count it.")


def test_the_key_packs_show_their_key_pack_type_and_explain_the_built_in_pack(seen):
    heads = dict(seen["key_pack_heads"])
    assert "Program" not in heads
    assert heads["Key pack type"] == ("How Windows records the pack was bought (Win32_TSLicenseKeyPack.KeyPackType). "
                                      "Windows does not record the license program (Select, Enterprise Agreement, "
                                      "SPLA, ...): it appears beside the type only for packs this collection "
                                      "installed, where cal_pack recorded it.")
    ls1 = seen["details"]["host-ls1"]
    # The SPLA and Enterprise Agreement packs: Windows records a volume purchase; cal_pack recorded the program
    # when report_lab.yml installed them.
    assert ls1.count("Volume purchase") == 2
    assert "Volume purchase - Services Provider License Agreement (recorded by cal_pack)" in ls1
    assert "Volume purchase - Enterprise Agreement (recorded by cal_pack)" in ls1
    assert ls1.count("recorded by cal_pack") == 2
    assert "Windows 2000 Server * Built-in unlimited (built-in, not counted)" in ls1
    assert ("Key pack type is how Windows records the pack was bought; it does not record the license program "
            "(Select, Enterprise Agreement, SPLA, ...). The program appears only for packs this collection "
            "installed: cal_pack records it beside its marker. * " + BUILT_IN_NOTE) in ls1
    assert seen["built_in_notes"] == [["Windows 2000 Server *", BUILT_IN_NOTE]] * 2  # ls1 and ls2


def test_the_details_give_the_computer_name(seen):
    assert seen["details"]["host-sh1"].startswith("sh1 OK Computer name SH1 (sh1.corp.example.com) ")
    assert seen["details"]["host-ls2"].startswith("ls2 ERROR Computer name LS2 (ls2.corp.example.com) ")
    assert "Grace period not needed" in seen["details"]["host-sh3"]
    assert "Grace period 20 days left" in seen["details"]["host-sh2"]


# --- hosts not read (last: it restarts sh3) ----------------------------------------------------------------------

def test_hosts_not_read_say_why_in_words(lab, chromium, tmp_path_factory):
    """A wrong password, nothing listening, a host restarting under the read: each row says what failed in the words
    of the collection's UNREACHABLE messages, never a Python exception; what the connection said is in the details."""
    lab_hosts = yaml.safe_load(lab.inventory.read_text())["all"]["children"]["windows"]["children"]
    sh1 = lab_hosts["session_hosts"]["hosts"]["sh1"]
    directory = tmp_path_factory.mktemp("unread") / "out"
    inventory = directory.parent / "unread.yml"
    inventory.write_text(yaml.safe_dump({"windows": {"hosts": {
        "gone": {"ansible_host": "127.0.0.1", "ansible_port": 1},
        "locked": {"ansible_host": sh1["ansible_host"], "ansible_port": sh1["ansible_port"],
                   "ansible_password": "wrong-Passw0rd"}}}}))
    now = datetime.datetime.now(datetime.timezone.utc)
    seed(lab, "sh3", {"reboot": {"down_at": (now - datetime.timedelta(seconds=1)).isoformat(),
                                 "up_at": (now + datetime.timedelta(seconds=600)).isoformat(),
                                 "comment": "test", "reason_code": 0}}, tmp_path_factory)
    try:
        run = lab.playbook(PLAYBOOK, "-i", str(inventory), "-e", json.dumps({"report_dir": str(directory)}),
                           "--limit", "gone,locked,sh3")
    finally:
        seed(lab, "sh3", {"reboot": {"up_at": (now - datetime.timedelta(seconds=1)).isoformat()}}, tmp_path_factory)
    assert run.returncode == 0, run.stdout + run.stderr
    page = look(chromium, directory, tmp_path_factory)
    rows = page["hosts"]
    assert rows["locked"][1] == (
        "Unreachable: Authentication as Administrator (ansible_user) was rejected by locked (127.0.0.1): check "
        "ansible_user and ansible_password, and that the account may log on over WinRM. Not retried: each attempt "
        "with a wrong password counts towards an account lockout policy.")
    assert rows["gone"][1].startswith("Unreachable: Nothing listens on port 1 of gone (127.0.0.1) (connection refused)")
    assert rows["sh3"][1] == (
        "Unreachable: The connection to sh3 (127.0.0.1) dropped twice while reading it. If this happens on every run, "
        "check ansible_winrm_scheme: http spoken to an HTTPS listener (port %s) drops the connection like this."
        % lab_hosts["session_hosts"]["hosts"]["sh3"]["ansible_port"])
    shown = " ".join(" ".join(row) for row in rows.values()) + " ".join(" ".join(f) for f in page["findings"])
    for python in ("Connection aborted", "RemoteDisconnected", "Error(", "object at 0x", "Traceback"):
        assert python not in shown, python
    # What the connection itself said, apart, in the details.
    assert "The connection said ntlm: ('Connection aborted.', RemoteDisconnected(" in page["details"]["host-sh3"]
    assert "The connection said ntlm: the specified credentials were rejected by the server" in \
        page["details"]["host-locked"]
    csv_rows = {r["host"]: r for r in csv.DictReader((directory / "report.csv").open(newline=""))}
    assert csv_rows["sh3"]["error"] == rows["sh3"][1][len("Unreachable: "):]
    assert csv_rows["locked"]["error"] == rows["locked"][1][len("Unreachable: "):]
