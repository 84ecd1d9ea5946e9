# -*- coding: utf-8 -*-
# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY
# The interfaces in this file serve this collection's own plugins; they may change in any release,
# even a bugfix release. Do not import them from other collections or playbooks.
"""CAL usage per license server and CAL version, and the findings about it: pure, unit tested.

Usage rows have the shape of cal_usage's `summary` (the result shape both issue-13 modules share):

    {product_version, product_version_id, cal_type, installed, issued, available, failed_requests}

They come from one of two places:
- cal_usage's Per User usage report (Win32_TSLicenseReport, [W32] win32-tslicensereport.md): what an
  audit counts. Per User CALs are not enforced by Windows, only tracked ([WSD] rds-client-access-license.md),
  so the report is the only count of the Per User CALs in use; it also counts failed Per User requests.
- licensing_info's key packs (Win32_TSLicenseKeyPack TotalLicenses / IssuedLicenses / AvailableLicenses
  [W32] win32-tslicensekeypack.md), read without changing anything. There `issued` is the license
  server's own counter and `failed_requests` is unknown (None): failed requests are in a report only.

User names are personal data: the report shows them plain, as a keyed hash or not at all (user_names).
"""

from __future__ import annotations

import datetime
import re

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _cal_usage as cal_usage

CAL_TYPES = ("per_device", "per_user")
CAL_TYPE_TEXT = {"per_device": "Per Device", "per_user": "Per User"}
USER_NAMES = cal_usage.USER_NAMES  # the user_names option's values
# Default of the low_cals_threshold option: a CAL version with 10 % or less of its CALs left is running out.
LOW_CALS_PERCENT = 10
# Temporary Per Device CALs are valid 90 days ([WSD] rds-client-access-license.md): warn in the last 14.
TEMPORARY_WARNING_DAYS = 14
# The finding codes this module makes; the report replaces a host's own with those from a cal_usage result.
CODES = ("over_allocation", "cals_running_out", "failed_per_user_requests")
# The key packs' own finding of the same fact: a Per User usage report says it better, so it replaces it.
REPLACED_BY_REPORT = CODES + ("per_user_over_allocated",)
HASHED = re.compile(r"^sha256:[0-9a-f]{16}$")
# Win32_TSIssuedLicense.LicenseStatus 1 = temporary ([W32] win32-tsissuedlicense.md).
LICENSE_TEMPORARY = 1


def _finding(severity, code, message):
    return {"severity": severity, "code": code, "message": message}


def _int(value):
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# --- rows ----------------------------------------------------------------------------------------------

def from_key_packs(key_packs):
    """Usage rows from licensing_info's key packs: one per CAL version and type, newest version first.
    The built-in and unlimited packs are left out, as in licensing_info's totals."""
    rows = {}
    for pack in key_packs or []:
        if pack.get("built_in") or pack.get("unlimited") or pack.get("license_type") not in CAL_TYPES:
            continue
        key = (pack.get("product_version"), pack.get("license_type"))
        row = rows.setdefault(key, {
            "product_version": pack.get("product_version"), "product_version_id": pack.get("product_version_id"),
            "cal_type": pack.get("license_type"), "installed": 0, "issued": 0, "available": 0,
            "failed_requests": None})
        row["installed"] += _int(pack.get("total")) or 0
        row["issued"] += _int(pack.get("issued")) or 0
    for row in rows.values():
        row["available"] = row["installed"] - row["issued"]
    return ordered(rows.values())


def ordered(rows):
    """Newest CAL version first (by ProductVersionID, then name), Per Device before Per User."""
    def version(row):
        version_id = row.get("product_version_id")
        return (version_id if isinstance(version_id, int) else -1, str(row.get("product_version")))

    def cal_type(row):
        return CAL_TYPES.index(row["cal_type"]) if row.get("cal_type") in CAL_TYPES else 9
    return sorted(sorted(rows, key=cal_type), key=version, reverse=True)


def from_summary(summary):
    """Usage rows from cal_usage's summary, type-checked (values come from hosts)."""
    rows = []
    for row in summary or []:
        if not isinstance(row, dict):
            continue
        clean = {"product_version": str(row.get("product_version") or "unknown"),
                 "product_version_id": _int(row.get("product_version_id")),
                 "cal_type": str(row.get("cal_type") or "unknown")}
        for field in ("installed", "issued", "available", "failed_requests"):
            clean[field] = _int(row.get(field))
        if clean["available"] is None and clean["installed"] is not None and clean["issued"] is not None:
            clean["available"] = clean["installed"] - clean["issued"]
        rows.append(clean)
    return ordered(rows)


# --- findings ------------------------------------------------------------------------------------------

def _label(row):
    cal_type = CAL_TYPE_TEXT.get(row["cal_type"], row["cal_type"])
    return "%s CALs for Windows Server %s" % (cal_type, row["product_version"])


def findings(rows, low_cals_threshold=LOW_CALS_PERCENT, from_report=True):
    """Over-allocation, CALs running out and failed Per User requests, per CAL version and type.

    from_report: the rows are cal_usage's (a Per User usage report). From key packs, over-allocation of Per
    User CALs is already a finding per pack (per_user_over_allocated), and so is a pack with none left
    (cals_exhausted): neither is repeated here."""
    result = []
    for row in rows:
        installed, issued, available = row.get("installed"), row.get("issued"), row.get("available")
        if installed is not None and issued is not None and available is not None:
            if available < 0 and (from_report or row["cal_type"] != "per_user"):
                result.append(_over_allocation(row))
            elif 0 <= available and installed > 0 and available * 100 <= installed * low_cals_threshold \
                    and (from_report or available):
                left = "none left" if available == 0 else "%d left" % available
                result.append(_finding("warning", "cals_running_out", "%s: %s (%d in use of %d), at or below the "
                                       "threshold of %d %%." % (_label(row), left, issued, installed,
                                                                low_cals_threshold)))
        failed = row.get("failed_requests")
        if isinstance(failed, int) and not isinstance(failed, bool) and failed > 0:
            # FetchReportFailedPerUserEntries: "failed" Per User CALs ([W32]); the causes are not documented.
            plural = "" if failed == 1 else "s"
            result.append(_finding("warning", "failed_per_user_requests", "%s: the license server failed to issue "
                                   "%d Per User CAL%s. Check its event log (event 4105: it cannot write the user's "
                                   "account in Active Directory) and the CALs left." % (_label(row), failed, plural)))
    return result


def _over_allocation(row):
    over = row["issued"] - row["installed"]
    text = "%s: %d in use, %d installed: %d over." % (_label(row), row["issued"], row["installed"], over)
    if row["cal_type"] == "per_user":
        # Per User CALs are not enforced, only tracked ([WSD] rds-client-access-license.md): users over the
        # number installed are served anyway, and only this count shows the gap an audit finds.
        text += (" Windows does not enforce Per User CALs, so nobody is refused, but %d more CALs are needed to be "
                 "licensed (a compliance risk)." % over)
    return _finding("warning", "over_allocation", text)


def temporary_licenses(issued):
    """Temporary Per Device CALs (LicenseStatus 1) by expiry day, soonest first: [{expires, count}]."""
    days = {}
    for lic in issued or []:
        if lic.get("LicenseStatus") == LICENSE_TEMPORARY:
            day = (lic.get("ExpirationDate") or "")[:10] or None
            days[day] = days.get(day, 0) + 1
    return [{"expires": day, "count": days[day]} for day in sorted(days, key=lambda d: d or "9999")]


def temporary_findings(temporary, now, days=TEMPORARY_WARNING_DAYS):
    """Temporary Per Device CALs already expired, and those that expire within `days`, as two findings: after
    its expiry a device is refused unless the license server can issue a permanent CAL ([WSD]
    rds-client-access-license.md)."""
    expired, expiring = [], []
    for entry in temporary or []:
        expires = _day(entry.get("expires"))
        if expires is None:
            continue
        if expires.date() < now.date():  # by day, as temporary_licenses groups them: today is not expired yet
            expired.append((expires, entry.get("count") or 0))
        elif expires <= now + datetime.timedelta(days=days):
            expiring.append((expires, entry.get("count") or 0))
    findings = []
    if expired:
        count = sum(entry[1] for entry in expired)
        findings.append(_finding("warning", "temporary_licenses_expired", "%s expired (the first on %s): the "
                                 "devices are refused unless this server has a permanent CAL for them."
                                 % (_temporary_cals(count), min(entry[0] for entry in expired).date().isoformat())))
    if expiring:
        count = sum(entry[1] for entry in expiring)
        findings.append(_finding("warning", "temporary_licenses_expiring", "%s expire%s within %d days (first on "
                                 "%s): the devices are refused then unless this server has a permanent CAL for them."
                                 % (_temporary_cals(count), "s" if count == 1 else "", days,
                                    min(entry[0] for entry in expiring).date().isoformat())))
    return findings


def _temporary_cals(count):
    return "%d temporary Per Device CAL%s" % (count, "" if count == 1 else "s")


def _day(text):
    try:
        return datetime.datetime.strptime(text[:10], "%Y-%m-%d").replace(tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        return None


def validate_threshold(value, option="low_cals_threshold"):
    """The threshold percent, or ValueError naming the option and the expected form."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise ValueError("%s must be a whole number of percent from 0 to 100, got %r" % (option, value))
    return value


# --- user names ------------------------------------------------------------------------------------------

def new_salt():
    """A random key for one report: hashed names are stable within it and not linkable across reports."""
    return cal_usage.new_salt()


def pseudonym(name, salt):
    """'sha256:<16 hex>': cal_usage's own hashing (HMAC-SHA256 of the lower-cased name keyed with the salt)."""
    return cal_usage.user_name(name, "hashed", salt)


def user_name(value, given, wanted, salt):
    """A user as the report may show it: `given` is how cal_usage returned names, `wanted` the report's option.

    The report never shows more than either allows: a name cal_usage hashed or omitted stays so, and a value
    that does not look like what `given` promises is dropped rather than shown."""
    if not isinstance(value, str) or wanted == "omitted":
        return None
    if given == "plain":
        return value if wanted == "plain" else pseudonym(value, salt)
    if given == "hashed" and HASHED.match(value):
        return value
    return None
