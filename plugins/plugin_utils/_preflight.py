# -*- coding: utf-8 -*-
# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY
# The interfaces in this file serve this collection's own plugins; they may change in any release,
# even a bugfix release. Do not import them from other collections or playbooks.
"""The read-only preflight: the assumptions about a host that a read can check (docs/troubleshooting.md lists
them, and what it cannot check), in one round trip.

The class check: what the collection's own operations assume of each CIM class, against the
class as a host declares it (the bridge's cim_class operation, Get-CimClass).

The expectation is taken from the batches the collection sends (the classes it reads, the methods it calls
and the argument names it passes, the properties it asks for), never from a copy of Microsoft's schema, so a
host that declares a class differently from what the code assumes is found before a module trips on it.
CIM names are case-insensitive: a difference only in case is not a disagreement.
"""

from __future__ import annotations

import re

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _info as info
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _license_server as license_server
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _lifecycle as lifecycle
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _wmi as wmi
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._bridge import Batch

CIM_KINDS = ("cim_get", "cim_invoke", "cim_set")


def expectations(*batches):
    """{(namespace, class): {"methods": {method: set of argument names}, "properties": set of names}} for
    every CIM operation of the batches, with the names as the collection spells them."""
    expected = {}
    for batch in batches:
        for op in batch.operations:
            if op["kind"] not in CIM_KINDS:
                continue
            entry = expected.setdefault((op["namespace"], op["class"]),
                                        {"methods": {}, "properties": set()})
            if op["kind"] == "cim_invoke":
                names = set(op.get("arguments") or {}) | set(op.get("secret_arguments") or {})
                entry["methods"].setdefault(op["method"], set()).update(names)
            elif op["kind"] == "cim_set":
                entry["properties"].update(op["properties"])
            else:
                entry["properties"].update(op.get("properties") or [])
    return expected


def read_expectations():
    """What licensing_info's read batch (the reads every module starts with) assumes."""
    return expectations(info.read_batch(reveal_license_server_id=True))


def declaration_batch(expected):
    """One cim_class operation per class, ids 'class.<n>' in the order of `expected`."""
    batch = Batch()
    for index, (namespace, class_name) in enumerate(sorted(expected)):
        batch.declaration("class.%d" % index, namespace, class_name)
    return batch


def _is_input(parameter):
    """An In qualifier, in any case: MOF qualifier names are case-insensitive, so a class may declare `in`."""
    return "in" in [q.lower() for q in parameter.get("qualifiers") or []]


def disagreements(expected, declaration):
    """What `declaration` (the cim_class result's `declaration`) lacks of `expected` (one class's entry),
    as sentences: a method, an in-parameter, a property the collection uses that the host does not declare."""
    name = declaration.get("name")
    methods = dict((m["name"].lower(), m) for m in declaration.get("methods") or [])
    properties = set(p["name"].lower() for p in declaration.get("properties") or [])
    found = []
    for method, arguments in sorted(expected["methods"].items()):
        declared = methods.get(method.lower())
        if declared is None:
            found.append("%s declares no method %s" % (name, method))
            continue
        inputs = set(p["name"].lower() for p in declared.get("parameters") or [] if _is_input(p))
        for argument in sorted(arguments):
            if argument.lower() not in inputs:
                found.append("%s.%s declares no in-parameter %s" % (name, method, argument))
    for prop in sorted(expected["properties"]):
        if prop.lower() not in properties:
            found.append("%s declares no property %s" % (name, prop))
    return found


def compare(expected, results, batch, may_be_absent=()):
    """Every disagreement between `expected` and the declarations a host gave for `batch`, as sentences; a class
    the host does not have is one too (its role may not be installed: the sentence says which class), unless
    its (namespace, class) is in `may_be_absent`. Only the batch's cim_class operations are compared."""
    found = []
    for op in batch.operations:
        if op["kind"] != "cim_class":
            continue
        result = results[op["id"]]
        entry = expected[(op["namespace"], op["class"])]
        if result.missing and (op["namespace"], op["class"]) in may_be_absent:
            continue
        if result.missing:
            found.append("%s:%s does not exist on the host" % (op["namespace"], op["class"]))
        elif not result.ok:
            found.append("%s:%s could not be read: %s" % (op["namespace"], op["class"], result.message()))
        else:
            found.extend(disagreements(entry, result.raw.get("declaration") or {}))
    return found


# --- the preflight module: one round trip, then pure judgement -------------------------------------------------

ARGUMENT_SPEC = {"anonymize": {"type": "bool", "default": False}}
OBSERVATION_FORMAT = 1
# The privileges the bridge may enable (host_bridge.ps1's allowlist): each is probed by a harmless registry read
# with it enabled. Ansible.Privilege's PrivilegeEnabler (strict) fails when the token does not hold it.
PROBED_PRIVILEGES = (lifecycle.SHUTDOWN_PRIVILEGE,)
PRIVILEGE_NEEDS = {lifecycle.SHUTDOWN_PRIVILEGE: "Win32_OperatingSystem.Win32ShutdownTracker (the reboots of "
                                                 "license_server and session_host)"}
# The licensing classes exist only with the RDS-Licensing role ([W32] win32-tslicenseserver.md, Requirements).
LICENSING_CLASSES = tuple((wmi.CIMV2, c) for c in (wmi.LICENSE_SERVER_CLASS, wmi.KEY_PACK_CLASS,
                                                   wmi.ISSUED_LICENSE_CLASS))
POLICY_READS = ("policy_mode", "policy_servers", "installation_type")
# README: Windows Server 2012 R2 (6.3) to 2025; InstallationType as _wmi.CURRENT_VERSION_KEY cites it.
MIN_VERSION = (6, 3)
INSTALLATION_TYPES = ("Server", "Server Core")
# What the domain steps of license_server are called in its options, for the second hop's message.
DOMAIN_OPTIONS = ["scope: domain or forest", "publish_in_ad", "ad_group_membership"]


def validate(args):
    return dict(args)


def batch():
    """licensing_info's reads (never the license server ID), every class's declaration, the privilege probes."""
    reads = info.read_batch(reveal_license_server_id=False)
    for op in declaration_batch(read_expectations()).operations:
        reads.declaration(op["id"], op["namespace"], op["class"])
    for index, privilege in enumerate(PROBED_PRIVILEGES):
        reads.invoke("privilege.%d" % index, wmi.REGISTRY_NAMESPACE, wmi.REGISTRY_CLASS, "GetStringValue",
                     read_only=True, privileges=[privilege], arguments={
                         "hDefKey": wmi.HKEY_LOCAL_MACHINE, "sSubKeyName": wmi.CURRENT_VERSION_KEY,
                         "sValueName": "InstallationType"})
    return reads


def assumption(name, holds, observed, expected, meaning):
    return {"name": name, "holds": bool(holds), "observed": observed, "expected": expected,
            "meaning": None if holds else meaning}


def assess(results, connection, anonymize=False):
    """(assumptions, observation) from the preflight batch's results and the controller's view of the
    connection (transport, become, become_method, kerberos_delegation). Host names replaced when `anonymize`."""
    have = info.parse(results)
    checks = [
        _windows(have), _classes(have, results), _key_packs(have), _policy_keys(results), _privileges(results),
        _second_hop(have, results, connection), _connection(have, connection)]
    observation = _observation(have, results, connection)
    if anonymize:
        names = _names(have)
        checks, observation = _scrub(checks, names), _scrub(observation, names)
    return checks, observation


def _windows(have):
    host = have["host"]
    version = tuple(int(p) for p in re.findall(r"\d+", host.get("os_version") or "")[:2])
    server = "Server" in (host.get("os") or "")
    holds = server and version >= MIN_VERSION and host.get("installation_type") in INSTALLATION_TYPES
    return assumption("windows_version", holds, {"os": host.get("os"), "os_version": host.get("os_version"),
                                                 "installation_type": host.get("installation_type")},
                      "Windows Server 2012 R2 (6.3) or later, installation type Server or Server Core",
                      "The collection is written and tested for Windows Server 2012 R2 to 2025 only; the RD "
                      "Licensing and RD Session Host role services are Windows Server features.")


def _classes(have, results):
    expected = read_expectations()
    absent = LICENSING_CLASSES if not have["roles"]["license_server"] else ()
    found = compare(expected, results, declaration_batch(expected), absent)
    return assumption("class_declarations", not found, found or "as expected",
                      "every class, method, in-parameter and property of the modules' common read batch, declared "
                      "(Get-CimClass)", "A module that uses what the host does not declare fails on this host: "
                      "report it with the observation file.")


def _key_packs(have):
    ids = sorted(set(p["product_version_id"] for p in have["license_server"]["key_packs"]),
                 key=lambda i: (i is None, i))
    unknown = [i for i in ids if i not in wmi.PRODUCT_VERSION_ID]
    return assumption("key_pack_versions", not unknown, ids, sorted(wmi.PRODUCT_VERSION_ID),
                      "Key packs with ProductVersionID %s are reported as product_version unknown and left out of "
                      "the totals; cal_pack cannot tell them from a pack it would install." % unknown)


def _policy_keys(results):
    refused = dict((op_id, results[op_id].message()) for op_id in POLICY_READS
                   if not (results[op_id].ok or results[op_id].return_value == wmi.REGISTRY_NOT_FOUND))
    observed = dict((op_id, "read" if results[op_id].ok else "absent") for op_id in POLICY_READS)
    observed.update(refused)
    return assumption("policy_keys", not refused, observed, "each readable or absent (StdRegProv 0 or 2)",
                      "The Group Policy values of the session host and the installation type cannot be read: "
                      "licensing_info reports them as problems and session_host cannot tell a policy override.")


def _privileges(results):
    held = dict((privilege, results["privilege.%d" % i].ok) for i, privilege in enumerate(PROBED_PRIVILEGES))
    missing = [p for p, ok in held.items() if not ok]
    return assumption("token_privileges", not missing, held, dict((p, True) for p in PROBED_PRIVILEGES),
                      "The connecting account's token does not hold %s, which %s need: those calls will fail."
                      % (", ".join(missing), "; ".join(PRIVILEGE_NEEDS[p] for p in missing)))


def _second_hop(have, results, connection):
    """IsLSinTSLSGroup, the read any domain account may make, as license_server judges its refusal."""
    code = license_server.second_hop_refusal(have, results)
    group = results["group"]
    observed = "read" if group.ok else ("not asked" if group.missing else group.message())
    if not have["host"].get("part_of_domain"):
        observed = "not a domain member"
    return assumption("domain_controller_reachable", code is None, observed,
                      "IsLSinTSLSGroup answers on a domain member",
                      license_server.second_hop_message(have["host"].get("name"), code, DOMAIN_OPTIONS,
                                                        dict(connection, become_user="the become_user"))
                      if code else None)


def _connection(have, connection):
    """Whether the connection hands the host credentials to pass to a domain controller (the second hop)."""
    transport = str(connection.get("transport") or "").lower()
    method = str(connection.get("become_method") or "").rsplit(".", maxsplit=1)[-1]  # runas or ansible.builtin.runas
    carries = (connection.get("become") and method == "runas"
               or "credssp" in transport or ("kerberos" in transport and connection.get("kerberos_delegation")))
    holds = carries or not have["host"].get("part_of_domain")
    return assumption("connection_delegates", holds, connection,
                      "on a domain member: become (runas), CredSSP or Kerberos with delegation",
                      "license_server's scope: domain or forest, publish_in_ad and ad_group_membership reach a "
                      "domain controller as the caller, and this connection gives the host no credentials to pass "
                      "on (the second hop). " + license_server.second_hop_remedy())


def _observation(have, results, connection):
    """What the host showed, for a bug report and as a lab fixture: no secret, no license server ID, no contact
    details (only which contact fields are set), no product ID."""
    ls = dict(have["license_server"])
    contact = ls.pop("contact") or {}
    ls.pop("license_server_id", None)
    ls.pop("product_id", None)
    ls["contact_set"] = sorted(k for k, v in contact.items() if v)
    return {
        "format": OBSERVATION_FORMAT,
        "connection": connection,
        "host": have["host"], "roles": have["roles"], "features": have["features"],
        "restart_pending": have["restart_pending"], "removed_features": have["removed_features"],
        "license_server": ls, "session_host": have["session_host"], "problems": have["problems"],
        "declarations": _declarations(results),
        "privileges": dict((p, results["privilege.%d" % i].ok) for i, p in enumerate(PROBED_PRIVILEGES)),
        "reads": dict((r.operation["id"], _outcome(r)) for r in results
                      if r.operation["kind"] != "cim_class" and not r.operation["id"].startswith("privilege.")),
    }


def _declarations(results):
    found = {}
    for result in results:
        op = result.operation
        if op["kind"] == "cim_class":
            key = "%s:%s" % (op["namespace"], op["class"])
            found[key] = result.raw.get("declaration") if result.ok else {"error": _outcome(result)}
    return found


def _outcome(result):
    """ok, or what failed: the error's kind, HRESULT or return value (no message text: it may name the host)."""
    if result.ok:
        return "ok"
    outcome = {"kind": result.error.get("kind")}
    if result.return_value is not None:
        outcome["return_value"] = result.return_value
    if result.error.get("hresult") is not None:
        outcome["hresult"] = result.error["hresult"]
    return outcome


def _names(have):
    """The host names the report holds, each with its replacement (longest first, so an FQDN goes whole)."""
    host, sh = have["host"], have["session_host"]
    names = {}
    for kind, values in (("host", [host.get("name")]), ("domain", [host.get("domain"), host.get("workgroup")]),
                         ("server", (sh.get("license_servers") or []) + (sh["policy"].get("license_servers") or [])
                          + [d["name"] for d in sh.get("discovered_license_servers") or []])):
        for value in values:
            if value and value.lower() not in names:
                names[value.lower()] = "%s-%d" % (kind, sum(1 for v in names.values() if v.startswith(kind)) + 1)
    return sorted(names.items(), key=lambda item: -len(item[0]))


def _scrub(value, names):
    """`value` with every host name (case-insensitively, as a whole name) replaced."""
    if isinstance(value, dict):
        return dict((k, _scrub(v, names)) for k, v in value.items())
    if isinstance(value, list):
        return [_scrub(v, names) for v in value]
    if isinstance(value, str):
        for name, alias in names:
            value = re.sub(r"(?<![\w-])%s(?![\w-])" % re.escape(name), alias, value, flags=re.I)
    return value
