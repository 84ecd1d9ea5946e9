# -*- coding: utf-8 -*-
# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY
# The interfaces in this file serve this collection's own plugins; they may change in any release,
# even a bugfix release. Do not import them from other collections or playbooks.
"""The fleet report's CAL usage per license server (docs/guide_cal_usage.md): pure, unit tested.

For each license server in the report, usage per CAL version with both CAL types, from the server's
cal_usage result when there is one (its Per User usage report: Per User CALs in use, failed requests,
the CALs behind them) and from its licensing_info key packs otherwise. A cal_usage result replaces the
host's own usage findings (licensing_info made them from key packs) with those of the report.

User names: the report shows what both cal_usage's user_names and the report's allow, never more
(_usage.user_name): with `hashed` or `omitted` no plain name reaches the HTML, the JSON or the CSV.
"""

from __future__ import annotations

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _diagnostics as diagnostics
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _usage as usage

CSV_TABLES = ("per_user_usage", "per_device_usage")
PER_USER_COLUMNS = ("host", "license_server", "status", "user", "product_version", "expires", "tried_on")
PER_DEVICE_COLUMNS = ("host", "license_server", "computer", "product_version", "expires")


def _finding(severity, code, message):
    return {"severity": severity, "code": code, "message": message, "source": "usage"}


def _text(value):
    return value if isinstance(value, str) else None


def _list(value):
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def is_cal_usage(result):
    """A cal_usage result that read a report (not failed, skipped, or a check run with no report yet)."""
    return (isinstance(result, dict) and not result.get("failed") and not result.get("skipped")
            and not result.get("unreachable") and isinstance(result.get("report"), dict)
            and isinstance(result.get("summary"), list))


def _problem(result):
    """Why a cal_usage result on this host gives no usage, or None when there was none to give."""
    if not isinstance(result, dict) or not result or result.get("skipped"):
        return None
    if result.get("failed") or result.get("unreachable"):
        return "cal_usage failed: %s" % (result.get("msg") or "no message")
    if result.get("report") is None:
        return "no Per User usage report exists yet (cal_usage in check mode reads existing reports only)"
    return "the cal_usage result is not in the expected shape"


def _row_view(row, low_cals_threshold):
    """A usage row with what the page shows: the CAL type's name, the percent in use and the state."""
    view = dict(row, cal_type_text=usage.CAL_TYPE_TEXT.get(row["cal_type"], row["cal_type"]), state="unknown",
                over_by=None, in_use_percent=None)
    installed, issued, available = row.get("installed"), row.get("issued"), row.get("available")
    if installed is None or issued is None or available is None:
        return view
    view["in_use_percent"] = int(round(100.0 * issued / installed)) if installed else None
    if available < 0:
        view.update(state="over_allocated", over_by=-available)
    elif installed and available * 100 <= installed * low_cals_threshold:
        view["state"] = "none_left" if available == 0 else "running_out"
    else:
        view["state"] = "ok"
    return view


def _from_cal_usage(host, result, wanted, salt):
    given = result.get("user_names")
    names = dict(host=host["inventory_hostname"], license_server=host["name"])
    per_user = [dict(names, status="in_use", user=usage.user_name(e.get("user"), given, wanted, salt),
                     product_version=_text(e.get("product_version")), expires=_text(e.get("expires")),
                     tried_on=None) for e in _list(result.get("per_user"))]
    per_user += [dict(names, status="failed", user=usage.user_name(e.get("user"), given, wanted, salt),
                      product_version=_text(e.get("product_version")), expires=None,
                      tried_on=_text(e.get("tried_on"))) for e in _list(result.get("failed_per_user"))]
    report = result["report"]
    return {
        "source": "cal_usage",
        "report": {"file_name": _text(report.get("file_name")), "generated": _text(report.get("generated")),
                   "reused": bool(report.get("reused"))},
        "user_names": wanted if given == "plain" else (given if given in usage.USER_NAMES else "omitted"),
        "rows": usage.from_summary(result["summary"]),
        "failed_summary": [{"domain": _text(e.get("domain")), "count": e.get("count")}
                           for e in _list(result.get("failed_summary"))],
        "per_user": per_user,
        "per_device": [dict(names, computer=_text(e.get("computer")), product_version=_text(e.get("product_version")),
                            expires=_text(e.get("expires"))) for e in _list(result.get("per_device"))],
    }


def _from_key_packs(host):
    return {"source": "licensing_info", "report": None, "user_names": None,
            "rows": usage.from_key_packs(host["license_server"].get("key_packs")),
            "failed_summary": [], "per_user": [], "per_device": []}


def check_options(usage_results, user_names, low_cals_threshold):
    """ValueError naming the option that is wrong: what licensing_report and licensing_report_merge take."""
    if usage_results is not None and not isinstance(usage_results, dict):
        raise ValueError("usage_results must be a dict of inventory_hostname: cal_usage result, got %s"
                         % type(usage_results).__name__)
    if user_names not in usage.USER_NAMES:
        raise ValueError("user_names must be one of %s, got %r" % (", ".join(usage.USER_NAMES), user_names))
    usage.validate_threshold(low_cals_threshold)


def apply(hosts, usage_results=None, user_names="hashed", low_cals_threshold=usage.LOW_CALS_PERCENT, salt=None):
    """The report's usage section, one entry per readable license server; the findings made from cal_usage
    results are put in the host entries (in place), replacing the host's own usage findings."""
    usage_results = usage_results if isinstance(usage_results, dict) else {}
    salt = salt or usage.new_salt()
    section = []
    for host in hosts:
        if host["status"] != "ok" or not host["license_server"]:
            continue
        result = usage_results.get(host["inventory_hostname"])
        problem = None
        if is_cal_usage(result):
            entry = _from_cal_usage(host, result, user_names, salt)
            own = [f for f in host["diagnostics"] if f.get("code") not in usage.REPLACED_BY_REPORT]
            new = [_finding(f["severity"], f["code"], f["message"])
                   for f in usage.findings(entry["rows"], low_cals_threshold, from_report=True)]
            host["diagnostics"] = diagnostics.most_severe_first(own + new)
        else:
            entry = _from_key_packs(host)
            problem = _problem(result)
            if problem and (result.get("failed") or result.get("unreachable")):
                host["diagnostics"] = diagnostics.most_severe_first(host["diagnostics"] + [_finding(
                    "warning", "usage_not_read", "Per User usage could not be read: %s. The usage shown is the "
                    "license server's own counters." % problem)])
        entry.update(host=host["inventory_hostname"], name=host["name"], problem=problem,
                     rows=[_row_view(row, low_cals_threshold) for row in entry["rows"]])
        section.append(entry)
    return section


def csv_rows(report, table):
    """The header and the raw rows of one usage CSV table (the caller neutralises the cells)."""
    columns = PER_USER_COLUMNS if table == "per_user_usage" else PER_DEVICE_COLUMNS
    key = "per_user" if table == "per_user_usage" else "per_device"
    rows = [[entry.get(column) for column in columns]
            for server in report.get("usage") or [] for entry in server.get(key) or []]
    return columns, rows
