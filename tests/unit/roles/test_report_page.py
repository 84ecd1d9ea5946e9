"""What a person reads on the report page and in its CSV (issue 12, "The report page"): the key pack type for what
it is, the grace period only where it matters, why a host was not read in words, hosts by their inventory names,
and the built-in pack explained. The page is rendered from the role's template as the role renders it."""

import re
from html.parser import HTMLParser
from pathlib import Path

import jinja2
import markupsafe
import pytest

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _report as report

TEMPLATE = Path(__file__).resolve().parents[3] / "roles" / "report" / "templates" / "report.html.j2"
BUILT_IN = {"key_pack_id": 2, "built_in": True, "unlimited": True, "key_pack_type": "built_in",
            "license_type": "built_in", "product_version": "built_in", "product_version_text": "Windows 2000 Server",
            "total": 4294967295, "issued": 0, "available": 4294967295, "expiration_date": "2035-12-31T23:00:00Z",
            "description": "A02-5.00-EX", "type_and_model": "Built-in TS Per Device CAL"}
SPLA = {"key_pack_id": 3, "built_in": False, "unlimited": False, "key_pack_type": "volume", "license_type": "per_user",
        "product_version": "2022", "product_version_text": "Windows Server 2022", "total": 50, "issued": 31,
        "available": 19, "expiration_date": "2038-01-19T03:14:07Z", "type_and_model": "RDS Per User CAL"}
VALID = {"server": "ls1", "status": 11, "name": "valid", "meaning": "the license server is valid", "valid": True}
NOT_CONNECTABLE = {"server": "ls1", "status": 6, "name": "not_connectable", "meaning": "cannot be reached",
                   "valid": False}
DROPPED = "('Connection aborted.', RemoteDisconnected('Remote end closed connection without response'))"


def result(name, ls=None, sh=None):
    return {
        "host": {"name": name.upper(), "os": "Microsoft Windows Server 2022 Standard", "os_version": "10.0.20348",
                 "domain": "corp.example.com", "part_of_domain": True},
        "roles": {"license_server": ls is not None, "session_host": sh is not None},
        "license_server": dict({"installed": True, "activation_status": "activated", "key_packs": [BUILT_IN, SPLA]},
                               **(ls or {})),
        "session_host": dict({"installed": True, "licensing_mode": "per_user", "license_servers": ["ls1"],
                              "grace_period_days_left": 120, "grace_period_ended": False, "connectivity": [VALID]},
                             **(sh or {})),
        "problems": [], "diagnostics": [],
    }


INLINE = ("span", "b", "code", "a")


class _Text(HTMLParser):
    """The text of each element with an id or a data-host, as a browser shows it (tags dropped, spaces joined),
    and the cells of each row of the hosts table."""

    def __init__(self):
        super().__init__()
        self.open = []
        self.text = {}
        self.cells = {}
        self.row = None

    def _space(self, tag):
        if tag not in INLINE:  # a cell, a row, a paragraph: a browser separates their text
            self.handle_data(" ")

    def handle_starttag(self, tag, attrs):
        self._space(tag)
        attrs = dict(attrs)
        key = attrs.get("data-host") and "row:" + attrs["data-host"] or attrs.get("id")
        if attrs.get("data-host"):
            self.row = self.cells.setdefault(attrs["data-host"], [])
        elif tag == "td" and self.row is not None:
            self.row.append("")
            key = "cell"
        self.open.append(key)
        if key and key != "cell":
            self.text[key] = ""

    def handle_endtag(self, tag):
        self._space(tag)
        if self.open:
            self.open.pop()
        if tag == "tr":
            self.row = None

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_data(self, data):
        for key in self.open:
            if key == "cell":
                self.row[-1] += data
            elif key:
                self.text[key] += data


def _words(text):
    return re.sub(r"\s+", " ", text).strip()


def render(results):
    page = jinja2.Environment().from_string(TEMPLATE.read_text()).render(report_fleet=report.build(results))
    parser = _Text()
    parser.feed(page.replace("<br>", " "))
    return page, {k: _words(v) for k, v in parser.text.items()}


def hosts_table(results):
    """{inventory name: {column: cell text}} of the hosts table."""
    page = jinja2.Environment().from_string(TEMPLATE.read_text()).render(report_fleet=report.build(results))
    parser = _Text()
    parser.feed(page.replace("<br>", " "))
    heading = ["host", "roles", "os", "domain", "activation", "mode", "servers", "grace", "findings"]
    return {host: dict(zip(heading, (_words(c) for c in cells))) for host, cells in parser.cells.items()}


# --- 1. the key pack type, labelled for what it is ------------------------------------------------------------

def test_the_key_pack_column_is_the_key_pack_type_and_says_the_program_is_not_recorded():
    page, text = render({"ls1": result("ls1", ls={})})
    assert "<th>Program</th>" not in page
    assert re.search(r'<th title="How Windows records the pack was bought \(Win32_TSLicenseKeyPack.KeyPackType\)\. '
                     r'Windows does not record the license program \(Select, Enterprise Agreement, SPLA, \.\.\.\): '
                     r'it appears beside the type only for packs this collection installed, where cal_pack recorded '
                     r'it\.">Key pack type</th>', page)
    details = text["host-ls1"]
    assert "Per User CAL Windows Server 2022 Volume purchase 50 31 19" in details.replace("RDS ", "")
    assert "recorded by cal_pack" not in details  # licensing_info gave no program for the pack
    assert ("Key pack type is how Windows records the pack was bought; it does not record the license program "
            "(Select, Enterprise Agreement, SPLA, ...). The program appears only for packs this collection "
            "installed: cal_pack records it beside its marker.") in details


@pytest.mark.parametrize("program, shown", [
    ("enterprise_agreement", "Volume purchase - Enterprise Agreement (recorded by cal_pack)"),
    ("spla", "Volume purchase - Services Provider License Agreement (recorded by cal_pack)"),
    ("<b>new</b>", "Volume purchase - <b>new</b> (recorded by cal_pack)")])  # a value from a host: escaped
def test_the_program_the_collection_recorded_is_shown_beside_the_key_pack_type(program, shown):
    page, text = render({"ls1": result("ls1", ls={"key_packs": [BUILT_IN, dict(SPLA, program=program)]})})
    assert shown in text["host-ls1"]
    assert "<b>new</b>" not in page
    rows = report.to_csv(report.build({"ls1": result("ls1", ls={"key_packs": [dict(SPLA, program=program)]})}),
                         "key_packs").splitlines()
    assert rows[0].endswith(",description,program") and rows[1].endswith("," + program)


@pytest.mark.parametrize("key_pack_type, shown", [
    ("retail", "Retail purchase"), ("volume", "Volume purchase"), ("open_license", "Open license"),
    ("temporary", "Temporary licenses"), ("undocumented_7", "Undocumented (7)"), ("built_in", "Built-in")])
def test_each_key_pack_type_in_words(key_pack_type, shown):
    fleet = report.build({"ls1": result("ls1", ls={"key_packs": [dict(SPLA, key_pack_type=key_pack_type)]})})
    assert fleet["hosts"][0]["license_server"]["key_packs"][0]["key_pack_type_text"] == shown


# --- 2. the grace period only where it matters --------------------------------------------------------------

@pytest.mark.parametrize("sh, state, shown", [
    # Licensed: a valid license server and a mode. Windows's counter still says 120: not shown as a countdown.
    ({}, "not_needed", "not needed"),
    # No valid license server: the host lives on its grace period.
    ({"connectivity": [NOT_CONNECTABLE], "grace_period_days_left": 97}, "running", "97 days left"),
    ({"license_servers": [], "connectivity": None, "grace_period_days_left": 1}, "running", "1 day left"),
    ({"licensing_mode": "not_configured", "grace_period_days_left": 45}, "running", "45 days left"),
    ({"connectivity": [NOT_CONNECTABLE], "grace_period_days_left": 0}, "running", "over"),
    # Nobody asked whether the license servers answer: the days, and that.
    ({"connectivity": None, "grace_period_days_left": 80}, "unchecked",
     "80 days left (license servers not checked)"),
    # A permanent CAL ended it (hh553157).
    ({"grace_period_ended": True}, "ended", "over (CAL issued)"),
    ({"grace_period_days_left": None}, None, "—"),
])
def test_the_grace_period_is_shown_only_where_it_matters(sh, state, shown):
    fleet = report.build({"sh1": result("sh1", sh=sh)})
    assert fleet["hosts"][0]["session_host"]["grace_period"] == state
    assert hosts_table({"sh1": result("sh1", sh=sh)})["sh1"]["grace"] == shown
    text = render({"sh1": result("sh1", sh=sh)})[1]
    assert ("Grace period " + shown) in text["host-sh1"]
    if state == "not_needed":
        assert "120" not in text["row:sh1"] and "days left" not in text["host-sh1"]


def test_the_csv_says_whether_the_grace_period_matters():
    fleet = report.build({"sh1": result("sh1", sh={}),
                          "sh2": result("sh2", sh={"connectivity": [NOT_CONNECTABLE], "grace_period_days_left": 20})})
    rows = {r.split(",")[0]: dict(zip(report.HOST_COLUMNS, r.split(","))) for r in report.to_csv(fleet).splitlines()[1:]}
    assert (rows["sh1"]["grace_period"], rows["sh1"]["grace_period_days_left"]) == ("not_needed", "120")
    assert (rows["sh2"]["grace_period"], rows["sh2"]["grace_period_days_left"]) == ("running", "20")


# --- 3. why a host was not read, in words --------------------------------------------------------------------

def test_a_dropped_connection_reads_as_words_and_the_exception_text_stays_in_the_details():
    msg = ("The connection to sh1 (127.0.0.1) dropped twice while reading it: %s. If this happens on every run, check "
           "ansible_winrm_scheme: http spoken to an HTTPS listener (port 5985) drops the connection like this." % DROPPED)
    page, text = render({"sh1": {"unreachable": True, "msg": msg, "connection_error": DROPPED}})
    plain = ("The connection to sh1 (127.0.0.1) dropped twice while reading it. If this happens on every run, check "
             "ansible_winrm_scheme: http spoken to an HTTPS listener (port 5985) drops the connection like this.")
    assert text["row:sh1"] == "sh1 Unreachable: %s 1 error" % plain
    assert "RemoteDisconnected" not in text["hosts"] and "RemoteDisconnected" not in text["findings"]
    assert "The connection said " + DROPPED in text["host-sh1"]
    assert str(markupsafe.escape(DROPPED)) in page  # escaped, in the details only


@pytest.mark.parametrize("raw, words", [
    ("ntlm: the specified credentials were rejected by the server",
     "Authentication (ansible_user) was rejected by win1: check ansible_user and ansible_password, and that the "
     "account may log on over WinRM. Not retried: each attempt with a wrong password counts towards an account "
     "lockout policy."),
    ("ntlm: HTTPSConnectionPool(host='10.0.0.9', port=5986): Max retries exceeded with url: /wsman (Caused by "
     "NewConnectionError('<urllib3.connection.HTTPSConnection object at 0x7f3a2c1d>: Failed to establish a new "
     "connection: [Errno 111] Connection refused'))",
     "Nothing listens on port 5986 of win1 (connection refused): check ansible_port (WinRM listens on 5985 for "
     "HTTP, 5986 for HTTPS) and that the WinRM service runs there."),
    ("ntlm: HTTPConnectionPool(host='10.0.0.9', port=5985): Read timed out. (read timeout=30)",
     "win1 did not answer on port 5985 in time (30 seconds): the host may be down"),
])
def test_ansibles_own_unreachable_text_is_told_in_the_collections_words(raw, words):
    """A result ansible itself made UNREACHABLE carries what pywinrm or requests raised: the report says it with
    the words of the collection's UNREACHABLE messages (_bridge), and keeps the raw text apart."""
    text = render({"win1": {"unreachable": True, "msg": raw}})[1]
    assert text["row:win1"].startswith("win1 Unreachable: " + words)
    assert "0x7f" not in text["row:win1"] and "HTTPConnectionPool" not in text["row:win1"]
    assert "The connection said " + raw in text["host-win1"]
    assert "Could not read the licensing state: " + words in text["findings"]


def test_a_failure_shows_its_first_line_not_a_traceback():
    msg = "Unexpected failure during module execution: 'NoneType' object has no attribute 'get'\nTraceback (most..."
    fleet = report.build({"sh1": {"failed": True, "msg": msg, "exception": "Traceback (most recent call last): ..."}})
    assert fleet["hosts"][0]["error"] == "Unexpected failure during module execution: 'NoneType' object has no " \
                                         "attribute 'get'"
    assert "Traceback" not in report.to_csv(fleet)


# --- 4. one naming convention: the inventory name, the computer name in the details -----------------------------

def test_hosts_are_named_by_their_inventory_names_everywhere():
    results = {"ls1": result("ls1", ls={"activation_status": "not_activated"}),
               "rdsh-01": result("sh1", sh={"license_servers": ["LS1.CORP.EXAMPLE.COM"], "connectivity": None})}
    text = render(results)[1]
    fleet = report.build(results)
    assert text["row:rdsh-01"].startswith("rdsh-01 Session host ")
    assert "SH1" not in text["hosts"] and "SH1" not in text["findings"]
    assert text["findings"].startswith("Findings Severity Host Finding Code error rdsh-01 License server ls1 is not "
                                       "activated")
    assert text["host-rdsh-01"].startswith("rdsh-01 error Computer name SH1 (sh1.corp.example.com)")
    assert [u["license_servers"] for u in fleet["cal_usage"]] == [["ls1"]]
    assert "on ls1" in text["cal-usage"]
    # The CSV: host is the inventory name, name the computer name.
    row = report.to_csv(fleet).splitlines()[2].split(",")
    assert row[:3] == ["rdsh-01", "SH1", "sh1.corp.example.com"]


def test_the_usage_per_license_server_is_headed_by_the_inventory_name():
    results = {"lic-a": result("ls1", ls={}), "ls2": result("ls2", ls={})}
    text = render(results)[1]
    section = text["usage-per-server"]
    assert "lic-a (computer name LS1) From the license server's own counters" in section
    assert "ls2 From the license server's own counters" in section and "LS2" not in section  # LS2 is ls2: said once


# --- 5. the built-in pack's "Windows 2000 Server" ----------------------------------------------------------------

def test_the_built_in_pack_is_explained():
    page, text = render({"ls1": result("ls1", ls={})})
    note = ("The built-in pack: Windows creates it on every license server and lists its version as "
            "Windows 2000 Server, "
            "with an unlimited count. It is not a pack anyone installed and holds no CALs for today's session hosts, "
            "which need CALs of their own Windows Server version or later; the report does not count it.")
    assert '<span class="note" title="%s">Windows 2000 Server *</span>' % markupsafe.escape(note) in page
    assert "* " + note in text["host-ls1"]
    without = render({"ls1": result("ls1", ls={"key_packs": [SPLA]})})[1]
    assert "built-in pack" not in without["host-ls1"]
