# -*- coding: utf-8 -*-
# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY
# The interfaces in this file serve this collection's own plugins; they may change in any release,
# even a bugfix release. Do not import them from other collections or playbooks.
"""The fleet licensing report: licensing_info results of many hosts in, one report out, with the
findings that need more than one host. Pure functions, unit tested; the licensing_report filter is a
thin wrapper.


Cross-host findings follow Microsoft's compatibility rules ([WSD] rds-client-access-license.md, "RDS CAL
version compatibility"): a session host needs CALs of its own Windows Server version or later, and a
license server holds CALs of its own version or earlier, so a license server older than a session host
cannot serve it. A license server that is not activated issues Per Device CALs only as 90-day temporary
CALs and can still issue Per User CALs (RD Licensing Manager's help, "Activate a Remote Desktop License
Server"). A mode without CALs of its type is one of the causes of "no Remote Desktop license servers
available" (support/windows-server/remote/cannot-connect-rds-no-license-server.md) when the mode is Per
Device; Per User CALs are not enforced, so for a Per User host it is a compliance warning.

Secrets: the report copies allowlisted fields only; the license server ID, the product ID and the
activation contact never reach it, whatever the results hold.
"""

from __future__ import annotations

import csv
import datetime
import io
import re

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _bridge as bridge
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _diagnostics as diagnostics
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _info as info
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _report_usage as report_usage
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _wmi as wmi

SCHEMA_VERSION = 1
SEVERITIES = diagnostics.SEVERITIES
LICENSE_TYPES = ("per_device", "per_user")
LICENSE_TYPE_TEXT = {"per_device": "Per Device", "per_user": "Per User"}
MODE_TEXT = {"per_device": "Per Device", "per_user": "Per User", "not_configured": "Not configured",
             "remote_admin": "Remote administration", "personal": "Personal desktop", "unknown": "Unknown",
             "entra_id_per_user": "Entra ID Per User"}
# CAL product versions, oldest first (wmi.PRODUCT_VERSION_ID's names).
CAL_VERSIONS = ("2008", "2008R2", "2012", "2016", "2019", "2022", "2025")
# The CAL version a session host needs, by its Windows version: (major, minor, first build) -> CAL
# version. [WSD] rds-client-access-license.md: CALs of the host's version or later; Windows Server 2012 R2
# (6.3) takes 2012 CALs, 2008 R2 (6.1) takes 2008 R2 CALs. Builds: 2016 14393, 2019 17763, 2022 20348,
# 2025 26100 (Win32_OperatingSystem.Version).
REQUIRED_CAL_VERSION = (
    ((10, 0, 26100), "2025"),
    ((10, 0, 20348), "2022"),
    ((10, 0, 17763), "2019"),
    ((10, 0, 14393), "2016"),
    ((6, 2, 0), "2012"),
    ((6, 1, 0), "2008R2"),
    ((6, 0, 0), "2008"),
)
GRACE_CODES = ("grace_period_ending", "grace_period_over")
# Win32_TSLicenseKeyPack.KeyPackType in words ([W32] win32-tslicensekeypack.md; 6 is the built-in pack's, which
# the page lists as "not supported", observed-outputs.md §1c). It says how the pack was bought as Windows records
# it; the license program (Select, Enterprise Agreement, SPLA, ...) is on no property of the pack.
KEY_PACK_TYPE_TEXT = {"unknown": "Unknown", "retail": "Retail purchase", "volume": "Volume purchase",
                      "concurrent": "Concurrent license", "temporary": "Temporary licenses", "open_license": "Open license",
                      "built_in": "Built-in", "undocumented_7": "Undocumented (7)"}
# The license program a pack was bought under, as the Install Licenses wizard names it (docs/cal_packs.md): known
# only for packs cal_pack installed, from the label it records beside its marker (licensing_info's `program`).
PROGRAM_TEXT = {"retail": "License Pack (retail)", "open_license": "Open License", "select": "Select License",
                "enterprise_agreement": "Enterprise Agreement", "campus_agreement": "Campus Agreement",
                "school_agreement": "School Agreement", "spla": "Services Provider License Agreement",
                "other_agreement": "Other agreement", "license_key_pack_id": "License key pack ID"}

# The fields of a key pack the report copies (licensing_info's key_packs).
KEY_PACK_FIELDS = ("key_pack_id", "built_in", "unlimited", "key_pack_type", "license_type", "product_version",
                   "product_version_text", "total", "issued", "available", "issued_licenses", "expiration_date",
                   "description", "type_and_model", "program")
CONNECTIVITY_FIELDS = ("server", "status", "name", "meaning", "valid")
DISCOVERED_FIELDS = ("name", "available", "issuing_cals", "admin_on_license_server")

# CSV columns: one row per host, one row per key pack. docs/report.md describes them.
HOST_COLUMNS = (
    "host", "name", "fqdn", "status", "license_server", "session_host", "os", "os_version", "domain",
    "activation_status", "cals_per_device_total", "cals_per_device_issued", "cals_per_device_available",
    "cals_per_user_total", "cals_per_user_issued", "cals_per_user_available", "licensing_mode",
    "licensing_mode_source", "license_servers", "license_servers_source", "grace_period_days_left",
    "errors", "warnings", "infos", "diagnostic_codes", "error", "grace_period",
)
KEY_PACK_COLUMNS = (
    "host", "name", "key_pack_id", "license_type", "product_version", "key_pack_type", "total", "issued",
    "available", "built_in", "unlimited", "expiration_date", "description", "program",
)


def _finding(severity, code, message, source="fleet"):
    return {"severity": severity, "code": code, "message": message, "source": source}


def _now_iso(now):
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return now.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- one host --------------------------------------------------------------------------------------

def _status(result, inventory_hostname):
    """ok, unreachable, failed or not_run; why, in words; and what the connection itself said, when known."""
    if not isinstance(result, dict) or not result or result.get("skipped"):
        return "not_run", "licensing_info did not run on this host.", None
    if result.get("unreachable"):
        return ("unreachable",) + _unreachable(result, inventory_hostname)
    if result.get("failed"):
        return "failed", _first_line(result.get("msg")) or "licensing_info failed.", None
    if not isinstance(result.get("host"), dict) or not isinstance(result.get("roles"), dict):
        # A failure hidden by failed_when: false still has its message.
        return "failed", _first_line(result.get("msg")) or "The result is not a licensing_info result.", None
    return "ok", None, None


def _first_line(value):
    """The first line of a message: a traceback's lines stay in the task output."""
    return str(value or "").strip().split("\n", 1)[0].strip()


def _unreachable(result, inventory_hostname):
    """The reason in the words of the collection's UNREACHABLE messages (_bridge), without the connection's own
    text (a Python exception's, such as "('Connection aborted.', RemoteDisconnected(...))"), which comes apart."""
    msg = str(result.get("msg") or "").strip()
    detail = result.get("connection_error")
    if isinstance(detail, str):  # licensing_info's UNREACHABLE: its msg is in words, with the detail in it
        return bridge.without_detail(msg, detail) or "The host could not be reached.", detail or None
    if not msg:
        return "The host could not be reached.", None
    # Ansible's own UNREACHABLE (or an older result): msg is what pywinrm or requests raised.
    detail = _first_line(msg)
    return bridge.without_detail(bridge.describe_text(msg, inventory_hostname), detail), detail


def _copy(mapping, fields):
    mapping = mapping or {}
    return {field: mapping.get(field) for field in fields}


# Values come from hosts: a report must not trust their types (a string where a count belongs would reach
# the HTML and the CSV as text). What is not of the expected type is reported as unknown (None).
KEY_PACK_NUMBERS = ("key_pack_id", "total", "issued", "available")


def _int(value):
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(value):
    return value if isinstance(value, str) else None


def _key_pack(pack):
    entry = _copy(pack, KEY_PACK_FIELDS)
    for field in KEY_PACK_FIELDS:
        if field in KEY_PACK_NUMBERS:
            entry[field] = _int(entry[field])
        elif field in ("built_in", "unlimited"):
            entry[field] = bool(entry[field])
        elif field == "issued_licenses":
            counts = entry[field] if isinstance(entry[field], dict) else {}
            entry[field] = dict((_text(k), _int(v)) for k, v in counts.items() if _text(k)) or None
        else:
            entry[field] = _text(entry[field])
    entry["key_pack_type_text"] = KEY_PACK_TYPE_TEXT.get(entry["key_pack_type"], entry["key_pack_type"])
    entry["program_text"] = PROGRAM_TEXT.get(entry["program"], entry["program"]) if entry["program"] else None
    return entry


def _license_server(result):
    section = result.get("license_server") or {}
    if not result["roles"].get("license_server"):
        return None
    service = section.get("service") or {}
    packs = [_key_pack(p) for p in section.get("key_packs") or []]
    return {
        "activation_status": section.get("activation_status"),
        "service_state": service.get("state"),
        "service_start_mode": service.get("start_mode"),
        "scope": section.get("scope"),
        "published_in_ad": section.get("published_in_ad"),
        "in_license_servers_group": section.get("in_license_servers_group"),
        "security_group_policy": section.get("security_group_policy"),
        "registered_scp": section.get("registered_scp"),
        "management_tools_installed": section.get("management_tools_installed"),
        "key_packs": packs,
        "totals": info.totals(packs),
    }


def _connectivity(check):
    entry = dict((k, _text(v)) for k, v in _copy(check, CONNECTIVITY_FIELDS).items())
    entry.update(status=_int(check.get("status")), valid=bool(check.get("valid")))
    return entry


def _session_host(result):
    section = result.get("session_host") or {}
    if not result["roles"].get("session_host"):
        return None
    connectivity = section.get("connectivity") if isinstance(section.get("connectivity"), list) else None
    mode = _text(section.get("licensing_mode"))
    discovered = section.get("discovered_license_servers")
    discovered = [d for d in discovered if isinstance(d, dict)] if isinstance(discovered, list) else None
    entry = {
        "licensing_mode": mode,
        "licensing_mode_text": MODE_TEXT.get(mode, mode),
        "licensing_mode_source": section.get("licensing_mode_source"),
        "license_servers": [s for s in section.get("license_servers") or [] if isinstance(s, str)],
        "license_servers_source": section.get("license_servers_source"),
        "grace_period_days_left": _int(section.get("grace_period_days_left")),
        "grace_period_ended": section.get("grace_period_ended") if isinstance(section.get("grace_period_ended"), bool)
        else None,
        "connectivity": None if connectivity is None else [_connectivity(c) for c in connectivity if isinstance(c, dict)],
        "discovered_license_servers": None if discovered is None else [_copy(d, DISCOVERED_FIELDS) for d in discovered],
    }
    entry["grace_period"] = grace_period(entry)
    return entry


def grace_period(sh):
    """Whether the grace period matters for a session host (its report entry), for the page and the CSV:

    ended       a permanent CAL ended it (LicensingGracePeriodEnded, hh553157), whatever the days say;
    not_needed  a licensing mode is set and a configured license server answers as valid
                (GetTStoLSConnectivityStatus): clients get CALs from it. Windows's counter counts down whatever
                the connectivity ([JAG], observed-outputs.md §3) and reads 120 before the first client
                connection (hh553157), so its days say nothing about such a host;
    unchecked   a mode and license servers are set, but whether they answer was not asked (licensing_info
                without check_connectivity): the days may or may not matter;
    running     the host relies on its grace period: no licensing mode, no license server, or none valid;
    None        the days were not read.
    The same rule as licensing_info's grace findings (_diagnostics._grace: days count only without a valid
    license server), plus the mode, which a host needs before any license server can license it."""
    if sh["grace_period_ended"]:
        return "ended"
    if sh["grace_period_days_left"] is None:
        return None
    if sh["licensing_mode"] not in LICENSE_TYPES or not sh["license_servers"]:
        return "running"
    if sh["connectivity"] is None:
        return "unchecked"
    return "not_needed" if any(check["valid"] for check in sh["connectivity"]) else "running"


def host_entry(inventory_hostname, result):
    """The report's entry for one host, from its licensing_info result (or a failed or unreachable one)."""
    status, error, detail = _status(result, inventory_hostname)
    entry = {
        "inventory_hostname": inventory_hostname,
        "name": inventory_hostname,
        "fqdn": None,
        "status": status,
        "error": error,
        "error_detail": detail,
        "roles": {"license_server": None, "session_host": None},
        "os": None,
        "os_version": None,
        "installation_type": None,
        "domain": None,
        "workgroup": None,
        "license_server": None,
        "session_host": None,
        "problems": [],
        "diagnostics": [],
    }
    if status != "ok":
        code = "host_unreachable" if status == "unreachable" else "host_not_read"
        entry["diagnostics"] = [_finding("error", code, "Could not read the licensing state: %s" % error, "report")]
        return entry
    host = dict((k, _text(v)) for k, v in result["host"].items())
    name = host.get("name") or inventory_hostname
    entry.update({
        "name": name,
        "fqdn": ("%s.%s" % (name, host["domain"])).lower() if host.get("domain") else None,
        "roles": {"license_server": bool(result["roles"].get("license_server")),
                  "session_host": bool(result["roles"].get("session_host"))},
        "os": host.get("os"),
        "os_version": host.get("os_version"),
        "installation_type": host.get("installation_type"),
        "domain": host.get("domain"),
        "workgroup": host.get("workgroup"),
        "license_server": _license_server(result),
        "session_host": _session_host(result),
        "problems": [_copy(p, ("part", "message")) for p in result.get("problems") or []],
    })
    own = [_finding(f.get("severity"), f.get("code"), f.get("message"), "host") for f in result.get("diagnostics") or []]
    own += [_finding("warning", "read_problem", "Could not read %s: %s" % (p["part"], p["message"]), "report")
            for p in entry["problems"]]
    entry["diagnostics"] = diagnostics.most_severe_first(own)
    return entry


# --- matching license server names to hosts ---------------------------------------------------------

_IP_ADDRESS = re.compile(r"^[0-9.]+$|:")


def _short(name):
    return name.split(".")[0]


class Fleet(object):
    """The hosts of the report, found by the names session hosts use for their license servers."""

    def __init__(self, hosts):
        self.hosts = hosts
        self._exact = {}
        self._short = {}
        for host in hosts:
            for name in self.names(host):
                self._exact.setdefault(name, []).append(host)
                if not _IP_ADDRESS.search(name):
                    self._short.setdefault(_short(name), []).append(host)

    @staticmethod
    def names(host):
        """Every name the host is known by, lower case: inventory name, computer name, FQDN."""
        names = {host["inventory_hostname"].lower()}
        if host["status"] == "ok":
            names.add(host["name"].lower())
            if host["fqdn"]:
                names.add(host["fqdn"])
        return names

    def resolve(self, server):
        """The host a configured license server name means, or None: exact names first (case-insensitive),
        then the short name when it is unique and does not contradict a known FQDN."""
        name = _normal(server)
        if not name:
            return None
        exact = _unique(self._exact.get(name, []))
        if exact is not None or _IP_ADDRESS.search(name):
            return exact
        candidates = [h for h in _unique_list(self._short.get(_short(name), []))
                      if "." not in name or not _known_fqdns(h) or name in _known_fqdns(h)]
        return candidates[0] if len(candidates) == 1 else None


def _normal(server):
    """A configured server name as compared: no spaces, backslashes or final dot, lower case."""
    return (server or "").strip().strip("\\").rstrip(".").lower()


def _known_fqdns(host):
    return {n for n in Fleet.names(host) if "." in n and not _IP_ADDRESS.search(n)}


def _unique_list(hosts):
    seen = []
    for host in hosts:
        if all(host is not other for other in seen):
            seen.append(host)
    return seen


def _unique(hosts):
    hosts = _unique_list(hosts)
    return hosts[0] if len(hosts) == 1 else None


# --- cross-host findings ----------------------------------------------------------------------------

def os_version(text):
    """'10.0.20348' -> (10, 0, 20348); None when it does not parse."""
    parts = re.findall(r"\d+", text or "")
    return tuple(int(p) for p in parts[:3]) if len(parts) >= 2 else None


def required_cal_version(version_text):
    """The oldest CAL version a session host of this Windows version accepts, or None when unknown."""
    version = os_version(version_text)
    if version is None:
        return None
    version = version + (0,) * (3 - len(version))
    for first, cal in REQUIRED_CAL_VERSION:
        if version >= first:
            return cal
    return None


def _cal_rank(version):
    return CAL_VERSIONS.index(version) if version in CAL_VERSIONS else -1


def _real_cals(pack, license_type):
    return (not pack["built_in"] and not pack["unlimited"] and pack["license_type"] == license_type
            and (pack["total"] or 0) > 0)


def _label(host):
    """A host as the report names it: its inventory name, everywhere (the computer name is in its details)."""
    return host["inventory_hostname"]


def _configured(server, host):
    """'ls1', or 'ls1 (configured as 192.0.2.10)' when the session host's name for it is not the inventory name
    or its short form (ls1.corp.example.com and LS1 say ls1)."""
    name, label = _normal(server), _label(host).lower()
    if name == label or not (_IP_ADDRESS.search(name) or _IP_ADDRESS.search(label)) and _short(name) == _short(label):
        return _label(host)
    return "%s (configured as %s)" % (_label(host), server.strip())


def _os_text(host):
    return "%s, %s" % (host["os"] or "Windows", host["os_version"]) if host["os_version"] else (host["os"] or "?")


def cross_host_findings(session_host, fleet):
    """What the fleet says about one session host: findings the host alone cannot make."""
    sh = session_host["session_host"]
    findings = []
    servers = sh["license_servers"] or []
    resolved = [(server, fleet.resolve(server)) for server in servers]
    outside = [server for server, host in resolved if host is None]
    readable = [(server, host) for server, host in resolved if host is not None and host["status"] == "ok"]
    sh_version = os_version(session_host["os_version"])
    for server, host in readable:
        if not host["roles"]["license_server"]:
            findings.append(_finding("error", "not_a_license_server", "License server %s is in this report but does "
                                     "not have the RD Licensing role service installed." % _configured(server, host)))
            continue
        if host["license_server"]["activation_status"] != "activated":
            # RD Licensing Manager's help: not activated, it issues Per Device CALs only as 90-day temporary
            # CALs; it can issue Per User CALs.
            findings.append(_finding("error", "license_server_not_activated", "License server %s is not activated: "
                                     "it issues Per Device CALs only as temporary CALs, which expire after 90 days, "
                                     "and no CAL pack can be installed on it." % _configured(server, host)))
        ls_version = os_version(host["os_version"])
        if sh_version and ls_version and ls_version < sh_version:
            findings.append(_finding("error", "license_server_older", "License server %s runs %s, older than this "
                                     "session host (%s): it cannot hold CALs of this host's version. Use a license "
                                     "server of the same Windows Server version or later."
                                     % (_configured(server, host), _os_text(host), _os_text(session_host))))
    findings += _security_group_findings(session_host, readable)
    findings += _mode_findings(session_host, [h for s, h in readable if h["roles"]["license_server"]], outside)
    return findings


def _security_group_findings(session_host, readable):
    """A license server with the License server security group policy answers only session hosts in its local
    Terminal Server Computers group ([W32] islssecgrpgpenabled-win32-tslicenseserver.md). Whether this host is
    a member is asked of the license server (IsSecureAccessAllowed), which the report does not call; the
    session host's own discovery (FindLicenseServers, IssuingCALs) says it when it found the server."""
    told = {_short(d["name"]).lower(): d["issuing_cals"]
            for d in session_host["session_host"].get("discovered_license_servers") or []}
    findings = []
    for server, host in readable:
        ls = host["license_server"]
        if not ls or not ls.get("security_group_policy") or told.get(host["name"].lower()) is not None:
            continue
        findings.append(_finding("warning", "license_server_security_group", "License server %s has the License "
                                 "server security group policy enabled: it issues CALs only to session hosts in its "
                                 "%s. If this host is not a member, it gets no "
                                 "licenses." % (_configured(server, host), wmi.TSC_GROUP)))
    return findings


def _mode_findings(session_host, servers, outside):
    mode = session_host["session_host"]["licensing_mode"]
    if mode not in LICENSE_TYPES or not servers:
        return []
    servers = _unique_list(servers)
    mode_text = LICENSE_TYPE_TEXT[mode]
    names = ", ".join(_label(h) for h in servers)
    # Per Device CALs are enforced (temporary CALs for 90 days, then refusal); Per User CALs are not, so their
    # absence is a compliance finding ([WSD] rds-client-access-license.md). With servers outside the report,
    # they might hold the CALs: a warning, not an error.
    severity = "warning" if outside or mode == "per_user" else "error"
    effect = (" Windows does not enforce Per User CALs: users are not refused, but they are not licensed."
              if mode == "per_user" else " Devices get temporary CALs, which expire after 90 days, and are then "
              "refused.")
    rest = (" %d configured license server%s %s not in this report (%s)." % (
        len(outside), "" if len(outside) == 1 else "s", "is" if len(outside) == 1 else "are", ", ".join(outside))
        if outside else "")
    packs = [p for h in servers for p in h["license_server"]["key_packs"] if _real_cals(p, mode)]
    if not packs:
        own = any(f["code"] == "mode_cal_mismatch" for f in session_host["diagnostics"])
        if own and all(h is session_host for h in servers):
            return []  # licensing_info already said so: the host is its own only license server
        return [_finding(severity, "no_cals_for_mode", "The session host is in %s mode, but none of its license "
                         "servers in this report (%s) has %s CALs.%s%s" % (mode_text, names, mode_text, effect, rest))]
    needed = required_cal_version(session_host["os_version"])
    if needed is None or any(_cal_rank(p["product_version"]) >= _cal_rank(needed) for p in packs):
        return []
    have = ", ".join(sorted({p["product_version"] for p in packs}, key=_cal_rank))
    return [_finding(severity, "cal_version_too_old", "The session host runs %s and needs Windows Server %s %s CALs "
                     "or later, but its license servers in this report (%s) have %s %s CALs only.%s%s"
                     % (_os_text(session_host), needed, mode_text, names, have, mode_text, effect, rest))]


# --- the fleet ---------------------------------------------------------------------------------------

def cal_usage(hosts):
    """CALs per license type and product version over every readable license server: totals, issued,
    available and the servers holding them. The built-in and unlimited packs are left out."""
    usage = {}
    for host in hosts:
        if host["status"] != "ok" or not host["license_server"]:
            continue
        for pack in host["license_server"]["key_packs"]:
            if pack["built_in"] or pack["unlimited"] or pack["license_type"] not in LICENSE_TYPES:
                continue
            entry = usage.setdefault((pack["license_type"], pack["product_version"]), {
                "license_type": pack["license_type"],
                "license_type_text": LICENSE_TYPE_TEXT[pack["license_type"]],
                "product_version": pack["product_version"],
                "product_version_text": pack["product_version_text"],
                "total": 0, "issued": 0, "available": 0, "license_servers": []})
            for key in ("total", "issued", "available"):
                entry[key] += pack[key] or 0
            if _label(host) not in entry["license_servers"]:
                entry["license_servers"].append(_label(host))
    result = []
    for key in sorted(usage, key=lambda k: (LICENSE_TYPES.index(k[0]), -_cal_rank(k[1]), k[1])):
        entry = usage[key]
        entry["issued_percent"] = int(round(100.0 * entry["issued"] / entry["total"])) if entry["total"] else 0
        entry["bar_percent"] = min(100, entry["issued_percent"])
        entry["over_allocated"] = entry["issued"] > entry["total"]
        result.append(entry)
    return result


def _totals(usage):
    totals = {}
    for entry in usage:
        totals.setdefault(entry["license_type"], {})[entry["product_version"]] = {
            key: entry[key] for key in ("total", "issued", "available")}
    return totals


def _count(findings):
    return {severity: len([f for f in findings if f["severity"] == severity]) for severity in SEVERITIES}


def build(results, now=None, title=None, **usage_options):
    """The fleet report from {inventory_hostname: licensing_info result}. usage_options: _report_usage.apply's
    (usage_results: {inventory_hostname: cal_usage result}, user_names, low_cals_threshold)."""
    if not isinstance(results, dict):
        raise TypeError("licensing_report expects a dict of inventory_hostname: licensing_info result, got %s"
                        % type(results).__name__)
    hosts = [host_entry(str(name), results[name]) for name in sorted(results, key=lambda n: str(n).lower())]
    return from_entries(hosts, now=now, title=title, **usage_options)


def from_entries(hosts, now=None, title=None, **usage_options):
    """The fleet report from host entries (host_entry's, in report order): the cross-host findings, the
    counts and the totals. The entries are completed in place. build() and the merge of sliced jobs'
    parts (_report_parts.merge) both end here, so a merged report is built exactly as an unsliced one."""
    fleet = Fleet(hosts)
    for host in hosts:
        if host["status"] == "ok" and host["session_host"]:
            host["diagnostics"] = diagnostics.most_severe_first(host["diagnostics"] + cross_host_findings(host, fleet))
    usage_per_server = report_usage.apply(hosts, **usage_options)
    findings = []
    for host in hosts:
        host["counts"] = _count(host["diagnostics"])
        host["severity"] = next((s for s in SEVERITIES if host["counts"][s]), "ok")
        for finding in host["diagnostics"]:
            findings.append(dict(finding, host=host["inventory_hostname"], host_name=host["name"]))
    usage = cal_usage(hosts)
    counts = _count(findings)
    readable = [h for h in hosts if h["status"] == "ok"]
    return {
        "schema_version": SCHEMA_VERSION,
        "title": title or "Remote Desktop Licensing report",
        "generated_at": _now_iso(now),
        "summary": {
            "hosts": len(hosts),
            "hosts_read": len(readable),
            "hosts_not_read": len(hosts) - len(readable),
            "license_servers": len([h for h in readable if h["roles"]["license_server"]]),
            "license_servers_activated": len([h for h in readable if h["license_server"]
                                              and h["license_server"]["activation_status"] == "activated"]),
            "session_hosts": len([h for h in readable if h["roles"]["session_host"]]),
            "errors": counts["error"],
            "warnings": counts["warning"],
            "infos": counts["info"],
            "grace_warnings": len([h for h in hosts if any(f["code"] in GRACE_CODES for f in h["diagnostics"])]),
            "hosts_with_errors": len([h for h in hosts if h["counts"]["error"]]),
            "hosts_with_warnings": len([h for h in hosts if h["counts"]["warning"]]),
            "grace_warning_days": diagnostics.GRACE_WARNING_DAYS,
        },
        "cal_usage": usage,
        "totals": _totals(usage),
        "usage": usage_per_server,
        "hosts": hosts,
        "diagnostics": sorted(findings, key=lambda f: (SEVERITIES.index(f["severity"])
                                                       if f["severity"] in SEVERITIES else 9, f["host"].lower())),
    }


# --- CSV ----------------------------------------------------------------------------------------------

# A spreadsheet runs a cell that starts with one of these as a formula (OWASP, CSV Injection): such a
# text cell gets a leading single quote, which spreadsheets show as text. Numbers are the report's own,
# type-checked, so a negative count stays a number.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def host_row(host):
    ls = host["license_server"] or {}
    sh = host["session_host"] or {}
    totals = ls.get("totals") or {}
    row = {
        "host": host["inventory_hostname"], "name": host["name"], "fqdn": host["fqdn"], "status": host["status"],
        "license_server": host["roles"]["license_server"], "session_host": host["roles"]["session_host"],
        "os": host["os"], "os_version": host["os_version"], "domain": host["domain"] or host["workgroup"],
        "activation_status": ls.get("activation_status"),
        "licensing_mode": sh.get("licensing_mode"), "licensing_mode_source": sh.get("licensing_mode_source"),
        "license_servers": ";".join(sh.get("license_servers") or []),
        "license_servers_source": sh.get("license_servers_source"),
        "grace_period_days_left": sh.get("grace_period_days_left"),
        "grace_period": sh.get("grace_period"),
        "errors": host["counts"]["error"], "warnings": host["counts"]["warning"], "infos": host["counts"]["info"],
        "diagnostic_codes": ";".join(f["code"] for f in host["diagnostics"]),
        "error": host["error"],
    }
    for license_type in LICENSE_TYPES:
        for key in ("total", "issued", "available"):
            value = sum(v[key] for v in (totals.get(license_type) or {}).values()) if host["license_server"] else None
            row["cals_%s_%s" % (license_type, key)] = value
    return [_cell(row[column]) for column in HOST_COLUMNS]


def key_pack_rows(host):
    rows = []
    for pack in (host["license_server"] or {}).get("key_packs") or []:
        row = dict(pack, host=host["inventory_hostname"], name=host["name"])
        rows.append([_cell(row.get(column)) for column in KEY_PACK_COLUMNS])
    return rows


def to_csv(report, table="hosts"):
    """The report as CSV text: one row per host (table 'hosts'), per key pack ('key_packs'), per Per User CAL
    in use or failed request ('per_user_usage') or per Per Device CAL ('per_device_usage')."""
    if table not in ("hosts", "key_packs") + report_usage.CSV_TABLES:
        raise ValueError("table must be 'hosts', 'key_packs', 'per_user_usage' or 'per_device_usage', got %r"
                         % (table,))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if table in report_usage.CSV_TABLES:
        columns, rows = report_usage.csv_rows(report, table)
        writer.writerow(columns)
        writer.writerows([_cell(value) for value in row] for row in rows)
        return out.getvalue()
    if table == "hosts":
        writer.writerow(HOST_COLUMNS)
        writer.writerows(host_row(host) for host in report["hosts"])
    else:
        writer.writerow(KEY_PACK_COLUMNS)
        for host in report["hosts"]:
            writer.writerows(key_pack_rows(host))
    return out.getvalue()
