# -*- coding: utf-8 -*-
# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY
# The interfaces in this file serve this collection's own plugins; they may change in any release,
# even a bugfix release. Do not import them from other collections or playbooks.
"""The cal_usage planner: which usage report to read (a recent one, or a new one), which old reports to
delete, and the report's entries read in pages and shaped for people.

Windows's interface ([W32] desktop-src/TermServ, Server 2012 and later): Win32_TSLicenseReport
(win32-tslicensereport.md; FileName is the key, GenerationDateTime when it was made);
GenerateReportEx, a static method, "Generates a current license usage report for both Per User and Per
Device licenses" and returns its FileName (generatereportex-win32-tslicensereport.md); GenerateReport
"is not supported" after 2008 R2; DeleteReport removes one report (an instance method); five instance
methods read a report: FetchReportSummaryEntries, FetchReportEntries (Per User CALs in use),
FetchReportPerDeviceEntries, FetchReportFailedPerUserEntries, FetchReportFailedPerUserSummaryEntries. Each
takes StartIndex (the first entry, index 0) and an in/out Count ("the number of report entries to retrieve
... On return, contains the number of entries" in the out array) and returns an array of embedded
Win32_TSLicenseReport*Entry instances; "A value of LSERVER_I_NO_MORE_DATA (0x4001) indicates that there are
no more report entries" (fetchreportentries-win32-tslicensereport.md).

Paging: each page is one Fetch call of `page_size` entries. A page with fewer entries than asked, or 0x4001,
ends a list (the module's reading of the pages: that a provider fills each page it can is not documented).
As many pages as the key packs' issued counts suggest go in one round trip, at most MAX_PAGES_PER_TRIP; a list
longer than that gets twice as many pages in each further trip.

The planner interface (_plan.py) with one addition: choose(want, have, now, check_mode) decides which report
to read, generate or delete (it depends on the time and on check mode), and plan() and predict() take its
answer.

Hardware IDs (sHardwareId of the per-device entries) are never asked for: each Fetch call carries the bridge's
omit_properties, so the host leaves them out of the entries it returns (ansible's winrm connection prints a
module's raw output at -vvvvv); with user_names omitted, User is left out the same way. They are also dropped
on arrival, should a host return them anyway. User names are shown plain, as a keyed hash or not at all; a
hashed name reaches the controller plain (it is hashed there, with the run's key).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import re

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _bridge as bridge
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _wmi as wmi
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._plan import Plan, PlanError

REPORT_CLASS = "Win32_TSLicenseReport"  # [W32] win32-tslicensereport.md
NO_MORE_DATA = 0x4001  # LSERVER_I_NO_MORE_DATA [W32] fetchreportentries-win32-tslicensereport.md
# (list, Fetch method, its out array) [W32] each method page.
FETCHES = (
    ("summary", "FetchReportSummaryEntries", "ReportSummaryEntries"),
    ("per_user", "FetchReportEntries", "ReportEntries"),
    ("per_device", "FetchReportPerDeviceEntries", "ReportPerDeviceEntries"),
    ("failed_per_user", "FetchReportFailedPerUserEntries", "ReportFailedPerUserEntries"),
    ("failed_summary", "FetchReportFailedPerUserSummaryEntries", "ReportFailedPerUserSummaryEntries"),
)
LISTS = tuple(kind for kind, _method, _out in FETCHES)
# TSCALType [W32] win32-tslicensereportsummaryentry.md: "Per Device", "Per User", "Unknown".
CAL_TYPE = {"Per User": "per_user", "Per Device": "per_device"}
DEFAULT_PAGE_SIZE = 1000
MAX_PAGE_SIZE = 100000
MAX_PAGES_PER_TRIP = 50
HARDWARE_ID = "sHardwareId"  # Win32_TSLicenseReportPerDeviceEntry [W32] win32-tslicensereportperdeviceentry.md
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
USER_NAMES = ("hashed", "plain", "omitted")

ARGUMENT_SPEC = {
    "max_age": {"type": "str", "default": "1d"},
    "keep": {"type": "int"},
    "user_names": {"type": "str", "choices": list(USER_NAMES), "default": "hashed"},
    "page_size": {"type": "int", "default": DEFAULT_PAGE_SIZE},
    # A key shared by the tasks of one run (a playbook makes it once), so that a user hashes alike on every
    # license server of the run; without it each task draws its own.
    "user_name_salt": {"type": "str", "no_log": True},
}
MIN_SALT_LENGTH = 16


def validate(args):
    if args.get("keep") is not None and args["keep"] < 1:
        raise ValueError("keep must be 1 or more (the newest reports to keep), got %d" % args["keep"])
    if not 1 <= args["page_size"] <= MAX_PAGE_SIZE:
        raise ValueError("page_size must be 1 to %d entries, got %d" % (MAX_PAGE_SIZE, args["page_size"]))
    salt = args.get("user_name_salt")
    if salt is not None and len(salt) < MIN_SALT_LENGTH:
        raise ValueError("user_name_salt must be at least %d characters (a random key made once per run), got %d"
                         % (MIN_SALT_LENGTH, len(salt)))  # never the value: it is a key
    return {"max_age": parse_age(args["max_age"]), "keep": args.get("keep"), "user_names": args["user_names"],
            "page_size": args["page_size"], "user_name_salt": salt.encode("utf-8") if salt else None}


def parse_age(value):
    """'0' (never reuse) or a number and a unit: s, m, h, d or w ('12h', '1d'), as a timedelta."""
    text = str(value).strip().lower()
    match = re.match(r"^(\d+)\s*([smhdw])?$", text)
    if not match or (match.group(2) is None and match.group(1) != "0"):
        raise ValueError("max_age must be a number and a unit s, m, h, d or w (for example 12h or 1d), or 0 to "
                         "always generate a report, got %r" % value)
    try:
        return dt.timedelta(seconds=int(match.group(1)) * UNITS[match.group(2) or "s"])
    except OverflowError:
        raise ValueError("max_age %r is longer than Python can count; use at most 999999999 days" % value)


def read_ops(batch, want):
    batch.get("reports", wmi.CIMV2, REPORT_CLASS, properties=["FileName", "GenerationDateTime"])
    return batch


def observe(want, have, results):
    """`have` with `reports`: the usage reports on the host, newest first; None where the class does not
    exist (not a license server, or Windows older than Server 2012)."""
    result = results["reports"]
    if not have["license_server"]["installed"] or result.missing:
        have["reports"] = None
        return have
    if not result.ok:
        raise PlanError("could not list the usage reports: %s" % result.message())
    have["reports"] = sort_reports({"file_name": r.get("FileName"), "generated": r.get("GenerationDateTime")}
                                   for r in result.instances)
    return have


def sort_reports(reports):
    """Newest first; a report without a readable date counts as the oldest."""
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    return sorted(reports, key=lambda r: (bridge.parse_time(r["generated"]) or epoch, r["file_name"] or ""),
                  reverse=True)


def choose(want, have, now, check_mode=False):
    """{"read": the existing report to read or None, "generate": bool, "delete": [reports]}.

    A report younger than max_age is reused (the newest); otherwise a new one is generated, except in check
    mode, which reads the newest existing report instead. `keep` keeps the newest N reports, the new one
    counted, and deletes only reports older than every report it keeps."""
    reports = have["reports"] or []
    young = [r for r in reports if bridge.parse_time(r["generated"])
             and now - bridge.parse_time(r["generated"]) <= want["max_age"]]
    reuse = young[0] if young and want["max_age"] > dt.timedelta(0) else None
    generate = reuse is None
    read = reuse if reuse is not None else (reports[0] if check_mode and reports else None)
    delete = []
    if want["keep"] is not None:
        kept_old = want["keep"] - 1 if generate else want["keep"]
        delete = reports[kept_old:]
    return {"read": read, "generate": generate, "delete": delete}


def report_filter(report):
    """A WQL condition naming one report; a quote in the name escaped with a backslash (WQL's escape)."""
    return "FileName = '%s'" % report["file_name"].replace("\\", "\\\\").replace("'", "\\'")


def new_report_filter(have):
    """The reports that were not there at the read: the one GenerateReportEx makes (None: every report)."""
    known = [report_filter(r) for r in have["reports"] or []]
    return "NOT (%s)" % " OR ".join(known) if known else None


def plan(want, have, choice):
    result = Plan()
    if have["reports"] is None:
        raise PlanError("%s has no usage reports to read: the Win32_TSLicenseReport class exists only on an RD license "
                        "server running Windows Server 2012 or later" % have["host"]["name"])
    if choice["generate"]:
        step = result.add("generate", "Generate a usage report of the Per User and Per Device CALs (GenerateReportEx)")
        step.invoke(wmi.CIMV2, REPORT_CLASS, "GenerateReportEx", name="generate")
    if choice["delete"]:
        step = result.add("delete", "Delete %d old usage reports: %s" % (
            len(choice["delete"]), ", ".join("%s (%s)" % (r["file_name"], r["generated"]) for r in choice["delete"])))
        for report in choice["delete"]:
            step.invoke(wmi.CIMV2, REPORT_CLASS, "DeleteReport", instances=True, filter=report_filter(report))
    return result


def after_install(want, have):
    return have


def view(have):
    return {"reports": [r["file_name"] for r in have.get("reports") or []]}


def predict(want, have, plan_, choice=None, new_name=None):
    """The report names after the plan: the deleted ones gone, the new one (when its name is known) added."""
    gone = set(r["file_name"] for r in (choice or {}).get("delete", []))
    names = [name for name in view(have)["reports"] if name not in gone]
    return {"reports": ([new_name] if new_name else []) + names}


# --- paging -----------------------------------------------------------------------------------------

class Pager(object):
    """The pages of the five lists, sent in as few round trips as the expected sizes allow."""

    def __init__(self, page_size, expected, omit=()):
        self.page_size = page_size
        self.expected = expected  # list -> the number of entries it is expected to hold
        self.omit = list(omit)  # entry properties the host leaves out (omitted_properties)
        self.next = dict((kind, 0) for kind in LISTS)
        self.entries = dict((kind, []) for kind in LISTS)
        self.done = set()
        self.sent = {}
        self.last_pages = {}  # list -> the pages the last trip asked for

    @property
    def finished(self):
        return len(self.done) == len(LISTS)

    def pages(self, kind):
        """Enough pages for what is expected from here, and one more to see the end; twice as many as the last
        trip's when the list turned out longer than expected; at most MAX_PAGES_PER_TRIP."""
        left = max(0, self.expected.get(kind, 0) - self.next[kind])
        return min(MAX_PAGES_PER_TRIP, max(left // self.page_size + 1, 2 * self.last_pages.get(kind, 0)))

    def add(self, batch, condition, prefix="page"):
        """One Fetch call per page of every list not finished, on the report the condition names."""
        self.sent = {}
        for kind, method, _out in FETCHES:
            if kind in self.done:
                continue
            starts = [self.next[kind] + n * self.page_size for n in range(self.pages(kind))]
            self.sent[kind] = []
            self.last_pages[kind] = len(starts)
            for start in starts:
                op_id = "%s.%s.%d" % (prefix, kind, start)
                batch.invoke(op_id, wmi.CIMV2, REPORT_CLASS, method, instances=True, filter=condition,
                             arguments={"StartIndex": start, "Count": self.page_size}, read_only=True,
                             omit_properties=self.omit)
                self.sent[kind].append((op_id, start))
        return batch

    def take(self, results):
        """Read the pages sent; a list ends at a short page or at 0x4001. Raises PlanError on another failure."""
        for kind, method, out_name in FETCHES:
            for op_id, start in self.sent.get(kind, []):
                result = results[op_id]
                if not result.ok and result.return_value != NO_MORE_DATA:
                    raise PlanError("could not read the usage report: %s" % result.message())
                # 0x4001 may come with the last entries (its out is kept in the error): they count too.
                out = result.out if result.ok else (result.error.get("out") or {})
                items = [without_hardware_id(item) for item in _get(out, out_name) or []]
                self.entries[kind].extend(items)
                self.next[kind] = start + len(items)
                # ASSUMED (docs/fidelity.md): a page shorter than asked is the last; the pages do not say.
                if not result.ok or len(items) < self.page_size:
                    self.done.add(kind)
                    break
        self.sent = {}


def _get(out, name):
    """An out-parameter by name, in any case (CIM names are case-insensitive)."""
    return next((value for key, value in out.items() if key.lower() == name.lower()), None)


def without_hardware_id(entry):
    return dict((k, v) for k, v in entry.items() if k.lower() != HARDWARE_ID.lower())


def omitted_properties(want):
    """The entry properties the host leaves out of its answers: sHardwareId always (results never reveal a
    hardware ID), and User when user names are omitted (User of Win32_TSLicenseReportEntry and
    Win32_TSLicenseReportFailedPerUserEntry, [W32] win32-tslicensereportentry.md and
    win32-tslicensereportfailedperuserentry.md). A hashed name must reach the controller to be hashed there."""
    return [HARDWARE_ID] + (["User"] if want["user_names"] == "omitted" else [])


def expected_sizes(have):
    """Entries each list is expected to hold: Per User and Per Device from the key packs' issued counts (the
    built-in pack's temporary Per Device CALs included), the rest one page."""
    kinds = {"per_user": "per_user", "per_device": "per_device", "built_in": "per_device"}
    expected = {"per_user": 0, "per_device": 0}
    for pack in have["license_server"].get("key_packs") or []:
        if pack.get("license_type") in kinds and isinstance(pack.get("issued"), int):
            expected[kinds[pack["license_type"]]] += pack["issued"]
    return expected


# --- the result ---------------------------------------------------------------------------------------

def new_salt():
    """A random key for the user-name hashes of one run."""
    return os.urandom(32)


def user_name(name, mode, salt):
    """The plain name, 'sha256:<16 hex>' (HMAC-SHA256 of the lowercased name, keyed with the run's salt: the
    same user hashes alike within the run, differently in another), or None."""
    if name is None or mode == "omitted":
        return None
    if mode == "plain":
        return name
    digest = hmac.new(salt, name.lower().encode("utf-8"), hashlib.sha256).hexdigest()
    return "sha256:%s" % digest[:16]


def _version(entry):
    version_id = entry.get("ProductVersionID")
    return wmi.PRODUCT_VERSION_ID.get(version_id) or entry.get("ProductVersion") or "unknown", version_id


def shape(entries, mode, salt):
    """The five lists as the module returns them."""
    failed = [_failed(e, mode, salt) for e in entries["failed_per_user"]]
    return {
        "summary": [_summary(e, failed) for e in entries["summary"]],
        "per_user": [dict(zip(("product_version", "product_version_id"), _version(e)),
                          user=user_name(e.get("User"), mode, salt), expires=e.get("ExpirationDate"))
                     for e in entries["per_user"]],
        "per_device": [dict(zip(("product_version", "product_version_id"), _version(e)),
                            computer=e.get("sIssuedToComputer"), expires=e.get("ExpirationDate"))
                       for e in entries["per_device"]],
        "failed_per_user": failed,
        "failed_summary": [{"domain": e.get("DomainName"), "count": e.get("FailedIssuanceCount") or 0}
                           for e in entries["failed_summary"]],
    }


def _failed(entry, mode, salt):
    version, version_id = _version(entry)
    return {"user": user_name(entry.get("User"), mode, salt), "product_version": version,
            "product_version_id": version_id, "tried_on": entry.get("TriedIssuanceOn")}


def _summary(entry, failed):
    version, version_id = _version(entry)
    cal_type = CAL_TYPE.get(entry.get("TSCALType"), entry.get("TSCALType"))
    installed, issued = entry.get("InstalledLicenses") or 0, entry.get("IssuedLicenses") or 0
    failures = len([f for f in failed if f["product_version_id"] == version_id]) if cal_type == "per_user" else 0
    return {"product_version": version, "product_version_id": version_id, "cal_type": cal_type,
            "installed": installed, "issued": issued, "available": installed - issued, "failed_requests": failures}


def empty_lists():
    return dict((kind, []) for kind in LISTS)
