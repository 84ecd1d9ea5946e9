"""The report role's HTML template escapes every value, even one that reaches it untyped (finding 8 of
issue 9: grace days, key pack ids and totals were written without escaping)."""

from pathlib import Path

import jinja2

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _report as report

TEMPLATE = Path(__file__).resolve().parents[3] / "roles" / "report" / "templates" / "report.html.j2"
EVIL = "<img src=x onerror=alert(1)>"


def fleet_with_markup_everywhere():
    ls = {"host": {"name": "LS1", "os": "Windows Server 2022", "os_version": "10.0.20348", "domain": "corp.example.com"},
          "roles": {"license_server": True, "session_host": True},
          "license_server": {"installed": True, "activation_status": "activated", "key_packs": [
              {"key_pack_id": 3, "built_in": False, "unlimited": False, "license_type": "per_user",
               "product_version": "2022", "total": 5, "issued": 1, "available": 4}]},
          "session_host": {"installed": True, "licensing_mode": "per_user", "license_servers": ["ls1"],
                           "grace_period_days_left": 3}, "problems": [], "diagnostics": []}
    fleet = report.build({"ls1": ls})
    # What the filter's type checks would stop, put straight into the report the template reads.
    host = fleet["hosts"][0]
    host["session_host"]["grace_period_days_left"] = EVIL
    pack = host["license_server"]["key_packs"][0]
    pack.update(key_pack_id=EVIL, total=EVIL, issued=EVIL, available=EVIL)
    fleet["summary"]["hosts"] = EVIL
    for usage in fleet["cal_usage"]:
        usage.update(issued=EVIL, total=EVIL, issued_percent=EVIL)
    return fleet


def test_every_value_is_escaped():
    page = jinja2.Environment().from_string(TEMPLATE.read_text()).render(report_fleet=fleet_with_markup_everywhere())
    assert "<img" not in page
    assert page.count("&lt;img src=x onerror=alert(1)&gt;") >= 6
    assert "<span class=\"badge" in page  # the page's own markup is not escaped
