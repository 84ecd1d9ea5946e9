"""The RD Licensing usage report (TlsWmiProv, Server 2012 and later): Win32_TSLicenseReport and the entry
classes its Fetch* methods return as embedded instances, in root/cimv2.

Sources: [W32] MicrosoftDocs/win32 desktop-src/TermServ: win32-tslicensereport.md (FileName key,
GenerationDateTime; LicenseUsageCount, InstalledLicenses, ScopeType, ScopeValue "not supported"),
generatereportex-win32-tslicensereport.md ("Generates a current license usage report for both Per User and
Per Device licenses", static, out FileName), generatereport-win32-tslicensereport.md ("Returns
WBEM_E_NOT_SUPPORTED" after 2008 R2), deletereport-win32-tslicensereport.md (instance method), and the five
Fetch* pages: StartIndex (first entry, index 0), in/out Count ("zero indicates that all of the report entries
starting at StartIndex are to be retrieved. On return, contains the number of entries"), the out array, and
"A value of LSERVER_I_NO_MORE_DATA (0x4001) indicates that there are no more report entries"
(fetchreportentries, win32-tslicensereport-fetchreportsummaryentries).

ASSUMED where the pages are silent (listed in docs/fidelity.md): a report is a snapshot taken when it is
generated; 0x4001 comes back when StartIndex is at or past the last entry, with Count 0 and no array; a
page holds min(Count, what is left) entries (no cap of the provider's own); the file name's form; Version;
TSCALAvailability's thresholds; which entries a report lists (Per User CALs not expired, Per Device CALs not
revoked, failed Per User requests recorded by `rdlab use` or `rdlab connect`); the three Fetch* pages that do
not say whether they are static are instance methods as their siblings are.
"""

from __future__ import annotations

from .cim import ASSUMED, WBEM_E_NOT_FOUND, WBEM_E_NOT_SUPPORTED, CimClass, LabStateError, Method, Param, Prop
from .licensing import (
    LICENSE_REVOKED, NS, OS_ORDER, PRODUCT_VERSIONS, _available, _dmtf, _from_dmtf, _ls, _type_and_model,
    held_per_user_cal, key_pack_view, per_user_cal,
)

LSERVER_I_NO_MORE_DATA = 0x4001  # [W32] fetchreportentries-win32-tslicensereport.md, Return value
REPORT_CLASS = "Win32_TSLicenseReport"
# Out parameter of each Fetch* method and the snapshot list it reads ([W32] each method page).
FETCH = {
    "FetchReportSummaryEntries": ("ReportSummaryEntries", "summary"),
    "FetchReportEntries": ("ReportEntries", "per_user"),
    "FetchReportPerDeviceEntries": ("ReportPerDeviceEntries", "per_device"),
    "FetchReportFailedPerUserEntries": ("ReportFailedPerUserEntries", "failed_per_user"),
    "FetchReportFailedPerUserSummaryEntries": ("ReportFailedPerUserSummaryEntries", "failed_summary"),
}
# TSCALType values [W32] win32-tslicensereportsummaryentry.md.
CAL_TYPE_TEXT = {0: "Per Device", 1: "Per User"}


def _reports(host) -> list[dict]:
    return _ls(host).get("reports") or []  # a read never writes the state


# --- usage seeded by the lab: a user signs in to a Per User session host of a given CAL version ----------

def use_per_user(host, user: str, version: str) -> dict:
    """`rdlab use`: a user signs in to a Per User session host running Windows Server `version`, which asks
    this license server for a Per User CAL. The same rule as `rdlab connect` (licensing.per_user_cal): a CAL
    of the host's version or newer ([WSD] rds-client-access-license.md, "RDS CAL version compatibility"),
    over-allocated when none is left; a held CAL is renewed; with no installed pack serving the version the
    request fails and is recorded for the report's failed entries. A session host newer than the license
    server gets no CAL from it (LOWER_VERSION, rdlab.model.terminal_services): refused as a lab error."""
    if version not in OS_ORDER:
        raise LabStateError(f"--version must be one of {', '.join(OS_ORDER)}, got {version!r}")
    if OS_ORDER.index(version) > OS_ORDER.index(host.state["os"]):
        raise LabStateError(f"a Windows Server {version} session host cannot use {host.name}, a {host.state['os']} "
                            "license server (LOWER_VERSION); start the license server with a newer os")
    renewed = held_per_user_cal(host, user) is not None
    cal = per_user_cal(host, user, version)
    if cal is None:
        return {"user": user, "outcome": "failed"}
    return {"user": user, "outcome": "renewed" if renewed else "issued", "key_pack_id": cal["KeyPackId"]}


# --- the snapshot a report keeps -----------------------------------------------------------------------

def _version_text(version_id) -> str:
    return PRODUCT_VERSIONS.get(version_id, {}).get("string", "Unknown")


def _summary(host) -> list[dict]:
    """One entry per CAL version and type of the purchased packs ([W32] summary entry: installed, issued)."""
    totals = {}
    for pack in _ls(host)["key_packs"]:
        if pack["ProductType"] not in CAL_TYPE_TEXT or pack["TotalLicenses"] == 4294967295:
            continue
        key = (pack["ProductVersionID"], pack["ProductType"])
        installed, issued = totals.get(key, (0, 0))
        totals[key] = (installed + pack["TotalLicenses"], issued + pack["IssuedLicenses"])
    entries = []
    for (version_id, product_type), (installed, issued) in sorted(totals.items()):
        # ASSUMED thresholds: "Available" while some are left, "None" when all are issued.
        availability = "Available" if issued < installed else "None"
        entries.append({"ProductVersion": _version_text(version_id), "ProductVersionID": version_id,
                        "TSCALType": CAL_TYPE_TEXT[product_type], "InstalledLicenses": installed,
                        "IssuedLicenses": issued, "TSCALAvailability": availability})
    return entries


def _pack(host, key_pack_id):
    return next((key_pack_view(p) for p in _ls(host)["key_packs"] if p["KeyPackId"] == key_pack_id), {})


def _per_user(host, now) -> list[dict]:
    rows = []
    for cal in (_ls(host).get("per_user_cals") or {}).values():
        if _from_dmtf(cal["ExpirationDate"]) <= now:
            continue
        pack = _pack(host, cal["KeyPackId"])
        rows.append({"User": cal["User"], "ExpirationDate": cal["ExpirationDate"],
                     "CALType": pack.get("TypeAndModel"), "ProductVersion": pack.get("ProductVersion"),
                     "ProductVersionID": pack.get("ProductVersionID")})
    return rows


def _per_device(host) -> list[dict]:
    rows = []
    for row in _ls(host)["issued_licenses"]:
        if row["LicenseStatus"] == LICENSE_REVOKED:
            continue
        pack = _pack(host, row["KeyPackId"])
        rows.append({"sIssuedToComputer": row["sIssuedToComputer"], "sHardwareId": row["sHardwareId"],
                     "ExpirationDate": row["ExpirationDate"], "CALType": pack.get("TypeAndModel"),
                     "ProductVersion": pack.get("ProductVersion"), "ProductVersionID": pack.get("ProductVersionID")})
    return rows


def _failed(host) -> list[dict]:
    return [{"User": f["User"], "TriedIssuanceOn": f["TriedIssuanceOn"],
             "CALType": _type_and_model(f["ProductVersionID"], True),
             "ProductVersion": _version_text(f["ProductVersionID"]), "ProductVersionID": f["ProductVersionID"]}
            for f in (_ls(host).get("failed_per_user") or {}).values()]


def _failed_summary(host, failed: list[dict]) -> list[dict]:
    """Failed requests per domain: the user's DOMAIN\\ prefix, else the license server's domain (ASSUMED)."""
    counts = {}
    for entry in failed:
        domain = entry["User"].split("\\")[0] if "\\" in entry["User"] else host.state.get("domain") or ""
        counts[domain] = counts.get(domain, 0) + 1
    return [{"DomainName": d, "FailedIssuanceCount": n} for d, n in sorted(counts.items())]


# --- the methods --------------------------------------------------------------------------------------

def generate_report_ex(host, _instance, _args):
    ls, now = _ls(host), host.now()
    number = ls.get("next_report", 1)
    ls["next_report"] = number + 1
    name = f"PerUserReport_{now.strftime('%Y%m%d%H%M%S')}_{number}"  # form ASSUMED
    failed = _failed(host)
    _ls(host).setdefault("reports", []).append({"FileName": name, "GenerationDateTime": _dmtf(now), "entries": {
        "summary": _summary(host), "per_user": _per_user(host, now), "per_device": _per_device(host),
        "failed_per_user": failed, "failed_summary": _failed_summary(host, failed)}})
    return 0, {"FileName": name}


def generate_report(_host, _instance, _args):
    return WBEM_E_NOT_SUPPORTED, {"FileName": None}  # [W32] generatereport: not supported after 2008 R2


def _report_of(host, instance):
    return next((r for r in _reports(host) if r["FileName"] == instance["FileName"]), None)


def delete_report(host, instance, _args):
    report = _report_of(host, instance)
    if report is None:
        return WBEM_E_NOT_FOUND, {}  # deleted meanwhile; code ASSUMED
    _reports(host).remove(report)
    return 0, {}


def _fetch(method_name):
    out_name, key = FETCH[method_name]

    def fetch(host, instance, args):
        report = _report_of(host, instance)
        if report is None:
            return WBEM_E_NOT_FOUND, {"Count": 0, out_name: None}  # code ASSUMED
        entries = report["entries"][key]
        start, count = args.get("StartIndex") or 0, args.get("Count") or 0
        if start >= len(entries):
            return LSERVER_I_NO_MORE_DATA, {"Count": 0, out_name: None}
        page = entries[start:] if count == 0 else entries[start:start + count]
        return 0, {"Count": len(page), out_name: [dict(e) for e in page]}
    return fetch


def _report_instances(host) -> list[dict]:
    # The deprecated properties are "not supported" from 2012 [W32]: null. Version: in no source (null, ASSUMED).
    return [{"FileName": r["FileName"], "GenerationDateTime": r["GenerationDateTime"], "LicenseUsageCount": None,
             "InstalledLicenses": None, "ScopeType": None, "ScopeValue": None, "Version": None}
            for r in _reports(host)]


def _entry_class(name: str, props: list[tuple[str, str]]) -> CimClass:
    """An entry class: never enumerated, only returned embedded in a Fetch* method's out array."""
    page = name.lower().replace("_", "-") + ".md"
    return CimClass(NS, name, keys=[], available=_available, enumerate=lambda host: [],
                    properties=[Prop(n, t, source=f"[W32] {page}") for n, t in props], source=f"[W32] {page}",
                    notes="Returned only as embedded instances of the Fetch* methods' out arrays.")


def classes() -> list[CimClass]:
    w32 = "[W32] {}-win32-tslicensereport.md"
    paging = [Param("StartIndex", "uint32"), Param("Count", "uint32", "inout")]
    fetch_pages = {"FetchReportSummaryEntries": "win32-tslicensereport-fetchreportsummaryentries.md"}
    fetches = [Method(m, paging + [Param(out, f"object:{entry}[]", "out")], False, _fetch(m), status=ASSUMED,
                      source=(f"[W32] {fetch_pages.get(m) or m.lower() + '-win32-tslicensereport.md'}; 0x4001 when "
                              "StartIndex is past the end, pages of min(Count, what is left) ASSUMED"))
               for m, (out, entry) in (
                   ("FetchReportSummaryEntries", ("ReportSummaryEntries", "Win32_TSLicenseReportSummaryEntry")),
                   ("FetchReportEntries", ("ReportEntries", "Win32_TSLicenseReportEntry")),
                   ("FetchReportPerDeviceEntries", ("ReportPerDeviceEntries", "Win32_TSLicenseReportPerDeviceEntry")),
                   ("FetchReportFailedPerUserEntries",
                    ("ReportFailedPerUserEntries", "Win32_TSLicenseReportFailedPerUserEntry")),
                   ("FetchReportFailedPerUserSummaryEntries",
                    ("ReportFailedPerUserSummaryEntries", "Win32_TSLicenseReportFailedPerUserSummaryEntry")))]
    report = CimClass(
        NS, REPORT_CLASS, keys=["FileName"], available=_available, enumerate=_report_instances,
        properties=[Prop("FileName", "string", source="[W32] key"),
                    Prop("GenerationDateTime", "datetime", source="[W32]"),
                    Prop("LicenseUsageCount", "uint32", source="[W32] not supported: null"),
                    Prop("InstalledLicenses", "uint32", source="[W32] not supported: null"),
                    Prop("ScopeType", "uint32", source="[W32] not supported: null"),
                    Prop("ScopeValue", "string", source="[W32] not supported: null"),
                    Prop("Version", "uint32", status=ASSUMED, source="in no source: null")],
        methods=[Method("GenerateReportEx", [Param("FileName", "string", "out")], True, generate_report_ex,
                        status=ASSUMED, source=w32.format("generatereportex") + "; snapshot and file name ASSUMED"),
                 Method("GenerateReport", [Param("ScopeType", "uint32"), Param("ScopeValue", "string"),
                                           Param("FileName", "string", "out")], True, generate_report,
                        source=w32.format("generatereport") + ": WBEM_E_NOT_SUPPORTED after 2008 R2"),
                 Method("DeleteReport", [], False, delete_report, source=w32.format("deletereport")),
                 *fetches],
        source="[W32] win32-tslicensereport.md",
        notes="Reports are kept in the license server state key reports; usage is seeded with `rdlab use` "
              "(Per User) and `rdlab issue` or `rdlab connect` (Per Device).")
    common = [("CALType", "string"), ("ProductVersion", "string"), ("ProductVersionID", "uint32")]
    return [report,
            _entry_class("Win32_TSLicenseReportSummaryEntry", [
                ("ProductVersion", "string"), ("ProductVersionID", "uint32"), ("TSCALType", "string"),
                ("InstalledLicenses", "uint32"), ("IssuedLicenses", "uint32"), ("TSCALAvailability", "string")]),
            _entry_class("Win32_TSLicenseReportEntry", [("User", "string"), ("ExpirationDate", "datetime")] + common),
            _entry_class("Win32_TSLicenseReportPerDeviceEntry", [
                ("sIssuedToComputer", "string"), ("sHardwareId", "string"), ("ExpirationDate", "datetime")] + common),
            _entry_class("Win32_TSLicenseReportFailedPerUserEntry",
                         [("User", "string"), ("TriedIssuanceOn", "datetime")] + common),
            _entry_class("Win32_TSLicenseReportFailedPerUserSummaryEntry",
                         [("DomainName", "string"), ("FailedIssuanceCount", "uint32")])]


FIDELITY_NOTES = [
    ("Win32_TSLicenseReport", "a report is a snapshot of the usage when GenerateReportEx runs: Per User CALs not "
     "expired (state key per_user_cals, seeded by `rdlab use` or `rdlab connect`), Per Device CALs not revoked, "
     "failed Per User requests (state key failed_per_user, recorded by `rdlab use` or `rdlab connect` when no "
     "installed Per User pack serves the session host's version), a summary per CAL version and type of the "
     "purchased packs", ASSUMED,
     "[W32] generatereportex: 'a current license usage report for both Per User and Per Device licenses'; what "
     "exactly it lists is in no source read"),
    ("Win32_TSLicenseReport", "Fetch* paging: a page holds min(Count, entries left) entries (Count 0: all); "
     "StartIndex at or past the end returns 0x4001 LSERVER_I_NO_MORE_DATA with Count 0 and no array", ASSUMED,
     "StartIndex, in/out Count and 0x4001 are [W32] (fetchreportentries); when exactly 0x4001 comes and whether "
     "the provider caps a page is not documented"),
    ("Win32_TSLicenseReport", "file name PerUserReport_<UTC yyyymmddhhmmss>_<n>; Version null; TSCALAvailability "
     "'Available' while issued < installed, else 'None'; failed summary per the user's DOMAIN\\ prefix (else the "
     "server's domain); a report missing when fetched or deleted returns 0x80041002", ASSUMED, "in no source read"),
]
