# -*- coding: utf-8 -*-
# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY
# The interfaces in this file serve this collection's own plugins; they may change in any release,
# even a bugfix release. Do not import them from other collections or playbooks.
"""Reading a host's licensing state: the read batch and the parser that turns its results into
the licensing_info result. Pure functions, unit tested without a host.
"""

from __future__ import annotations

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _usage as usage
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _wmi as wmi
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._bridge import Batch

# Microsoft's grace-period article for RD Session Host (previous-versions, Windows Server 2008 R2,
# hh553157): once a license server has issued a permanent CAL to a client of the session host, Windows
# creates LicensingGracePeriodEnded under this key; the grace period is then over whatever
# GetGracePeriodDays says. The page does not say whether it is a value or a subkey: EnumValues and EnumKey
# ([W32 wmi] stdregprov) look for either.
GRACE_ENDED_KEY = r"SYSTEM\CurrentControlSet\Services\TermService\Parameters"
GRACE_ENDED_VALUE = "LicensingGracePeriodEnded"


def _registry_read(batch, op_id, method, key, value):
    # StdRegProv methods are static [W32 wmi] stdregprov.
    batch.invoke(op_id, wmi.REGISTRY_NAMESPACE, wmi.REGISTRY_CLASS, method, read_only=True,
                 arguments={"hDefKey": wmi.HKEY_LOCAL_MACHINE, "sSubKeyName": key, "sValueName": value})


def read_batch(reveal_license_server_id=False):
    """Everything licensing_info reports, in one round trip. Parts that do not exist fail alone.

    GetLicenseServerId is asked only when the ID will be revealed: ansible's winrm connection prints a
    module's raw output at -vvvvv (AWX "WinRM Debug"), so an ID read and filtered afterwards leaks there."""
    batch = Batch()
    batch.get("os", wmi.CIMV2, wmi.OS_CLASS, properties=["Caption", "Version"])
    batch.get("computer", wmi.CIMV2, wmi.COMPUTER_SYSTEM_CLASS,
              properties=["Name", "Domain", "PartOfDomain", "Workgroup"])
    _registry_read(batch, "installation_type", "GetStringValue", wmi.CURRENT_VERSION_KEY, "InstallationType")
    batch.feature_get("features", wmi.ALL_FEATURES)
    batch.get("service", wmi.CIMV2, wmi.SERVICE_CLASS, filter="Name = '%s'" % wmi.LICENSING_SERVICE,
              properties=["Name", "State", "StartMode"])
    batch.get("license_server", wmi.CIMV2, wmi.LICENSE_SERVER_CLASS)
    reads = [("activation", "GetActivationStatus", None),
             ("published", "IsLSPublished", None),
             ("group", "IsLSinTSLSGroup", {"Domain": ""}),  # empty = the server's own domain [W32]
             ("security_group_policy", "IsLSSecGrpGPEnabled", None),
             ("scp", "IsLSRegisteredToSCP", None)]
    if reveal_license_server_id:
        reads.append(("server_id", "GetLicenseServerId", None))
    for op_id, method, args in reads:
        batch.invoke(op_id, wmi.CIMV2, wmi.LICENSE_SERVER_CLASS, method, arguments=args, read_only=True)
    batch.get("key_packs", wmi.CIMV2, wmi.KEY_PACK_CLASS)
    # Issued Per Device licenses ([W32] win32-tsissuedlicense.md): only the columns the counts need, and the
    # expiry of the temporary ones.
    batch.get("issued", wmi.CIMV2, wmi.ISSUED_LICENSE_CLASS,
              properties=["LicenseId", "KeyPackId", "LicenseStatus", "ExpirationDate"])
    batch.get("ts_setting", wmi.TS_NAMESPACE, wmi.TS_SETTING_CLASS)
    # Win32_TerminalServiceSetting methods are instance methods [W32].
    batch.invoke("ts_servers", wmi.TS_NAMESPACE, wmi.TS_SETTING_CLASS, "GetSpecifiedLicenseServerList",
                 instances=True, read_only=True)
    # What license server discovery finds, and whether each server may issue CALs to this host [W32]
    # findlicenseservers-win32-terminalservicesetting.md, win32-tsdiscoveredlicenseserver.md.
    batch.invoke("discovered", wmi.TS_NAMESPACE, wmi.TS_SETTING_CLASS, "FindLicenseServers", instances=True,
                 read_only=True)
    batch.invoke("grace", wmi.TS_NAMESPACE, wmi.TS_SETTING_CLASS, "GetGracePeriodDays", instances=True,
                 read_only=True)
    for op_id, method in (("grace_ended", "EnumValues"), ("grace_ended_key", "EnumKey")):
        batch.invoke(op_id, wmi.REGISTRY_NAMESPACE, wmi.REGISTRY_CLASS, method, read_only=True,
                     arguments={"hDefKey": wmi.HKEY_LOCAL_MACHINE, "sSubKeyName": GRACE_ENDED_KEY})
    _registry_read(batch, "policy_mode", "GetDWORDValue", wmi.POLICY_KEY, wmi.POLICY_LICENSING_MODE)
    _registry_read(batch, "policy_servers", "GetStringValue", wmi.POLICY_KEY, wmi.POLICY_LICENSE_SERVERS)
    return batch


class _Reader:
    """Collects problems while parsing: a part that fails is reported, never fatal."""

    def __init__(self, results):
        self.results = results
        self.problems = []

    def ok(self, op_id, expected_missing=False):
        """The result if it succeeded; otherwise None, recording a problem unless it was expected."""
        result = self.results[op_id]
        if result.ok:
            return result
        if not (expected_missing and result.missing):
            self.problems.append({"part": op_id, "message": result.message()})
        return None

    def asked(self, op_id):
        """Whether the batch had this read (some are asked only when needed)."""
        try:
            self.results[op_id]
        except KeyError:
            return False
        return True

    def registry(self, op_id, out_name):
        """A registry value, or None when it does not exist (return value 2)."""
        result = self.results[op_id]
        if result.ok:
            return result.out.get(out_name)
        if result.return_value != wmi.REGISTRY_NOT_FOUND:
            self.problems.append({"part": op_id, "message": result.message()})
        return None


def parse(results, reveal_license_server_id=False):
    """The licensing_info result from the read batch's results."""
    reader = _Reader(results)
    features = _features(reader)
    host = _host(reader)
    result = {
        "host": host,
        "roles": {
            "license_server": features.get(wmi.FEATURE_LICENSING, False),
            "session_host": features.get(wmi.FEATURE_SESSION_HOST, False),
        },
        "features": features,
        "restart_pending": _restart_pending(reader),
        "removed_features": _in_state(reader, ("Removed",)),
        "license_server": _license_server(reader, features, reveal_license_server_id, host.get("part_of_domain")),
        "session_host": _session_host(reader, features),
    }
    result["problems"] = reader.problems
    return result


def _features(reader):
    result = reader.ok("features")
    if result is None:
        return {}
    return {f["name"]: bool(f.get("installed")) for f in result.raw.get("features") or []}


def _restart_pending(reader):
    """Features whose install or removal Windows finishes only at the next restart (InstallState
    InstallPending, UninstallPending: ServerManager's InstallState values)."""
    return _in_state(reader, ("InstallPending", "UninstallPending"))


def _in_state(reader, states):
    """Features in one of these InstallStates. Removed: the payload is not on disk (Features on Demand on
    Server Core); installing needs a source."""
    result = reader.results["features"]
    if not result.ok:
        return []
    return [f["name"] for f in result.raw.get("features") or [] if f.get("install_state") in states]


def _host(reader):
    os_info = (reader.ok("os") or _EMPTY).instance or {}
    computer = (reader.ok("computer") or _EMPTY).instance or {}
    part_of_domain = computer.get("PartOfDomain")
    return {
        "name": computer.get("Name"),
        "os": os_info.get("Caption"),
        "os_version": os_info.get("Version"),
        "installation_type": reader.registry("installation_type", "sValue"),
        "part_of_domain": part_of_domain,
        "domain": computer.get("Domain") if part_of_domain else None,
        "workgroup": computer.get("Workgroup") if part_of_domain is False else None,
    }


class _Empty(object):
    instance = None
    out = {}


_EMPTY = _Empty()


def _license_server(reader, features, reveal_id, domain_member):
    installed = features.get(wmi.FEATURE_LICENSING, False)
    section = {
        "installed": installed,
        "management_tools_installed": features.get(wmi.FEATURE_LICENSING_UI, False),
        "service": None,
        "activation_status": None,
        "license_server_id": None,
        "product_id": None,
        "scope": None,
        "published_in_ad": None,
        "in_license_servers_group": None,
        "security_group_policy": None,
        "registered_scp": None,
        "contact": None,
        "key_packs": [],
        "totals": {},
        "usage": [],
        "temporary_licenses": None,
    }
    service = (reader.ok("service") or _EMPTY).instance
    if service:
        section["service"] = {"state": service.get("State"), "start_mode": service.get("StartMode")}
    # Without the role the licensing classes do not exist: expected, not a problem.
    server = reader.ok("license_server", expected_missing=not installed)
    if server is None or server.instance is None:
        for op_id in ("activation", "server_id", "published", "group", "security_group_policy", "scp", "key_packs",
                      "issued"):
            if reader.asked(op_id):
                reader.ok(op_id, expected_missing=True)
        return section
    instance = server.instance
    section["product_id"] = instance.get("ProductId")
    section["scope"] = wmi.SERVER_ROLE.get(instance.get("ServerRole"))
    section["contact"] = {option: instance.get(prop) for option, prop in CONTACT_PROPERTIES}
    activation = reader.ok("activation")
    if activation is not None:
        section["activation_status"] = wmi.ACTIVATION_STATUS.get(activation.out.get("ActivationStatus"), "unknown")
    activated = section["activation_status"] == "activated"
    # GetLicenseServerId answers only when activated [W32]; its failure otherwise is expected.
    server_id = reader.ok("server_id") if activated and reveal_id and reader.asked("server_id") else None
    if server_id is not None and reveal_id:
        section["license_server_id"] = server_id.out.get("sLicenseServerId")
    section["published_in_ad"] = (reader.ok("published") or _EMPTY).out.get("Published")
    # A domain member asks a domain controller ([W32] islsintslsgroup-win32-tslicenseserver.md): a refusal is a
    # problem (most likely the second hop: _diagnostics names it). In a workgroup there is no domain to ask.
    group = reader.ok("group") if domain_member else None
    section["in_license_servers_group"] = group.out.get("IsMember") if group is not None else None
    # IsLSSecGrpGPEnabled [W32] islssecgrpgpenabled-win32-tslicenseserver.md: the "License server security
    # group" policy; enabled, the server answers only session hosts in its local Terminal Server Computers group.
    section["security_group_policy"] = (reader.ok("security_group_policy") or _EMPTY).out.get("Enabled")
    # IsLSRegisteredToSCP [W32] win32-tslicenseserver-islsregisteredtoscp.md: its service connection point in
    # AD DS (minimum Windows Server 2008 R2).
    scp = reader.ok("scp")
    section["registered_scp"] = scp.out.get("Registered") if scp is not None else None
    packs = reader.ok("key_packs")
    section["key_packs"] = [key_pack(p) for p in (packs.instances if packs else [])]
    issued = reader.ok("issued")
    if issued is not None:
        counts = issued_counts(issued.instances)
        for pack in section["key_packs"]:
            pack["issued_licenses"] = counts.get(pack["key_pack_id"], dict(EMPTY_COUNTS))
        section["temporary_licenses"] = usage.temporary_licenses(issued.instances)
    section["totals"] = totals(section["key_packs"])
    section["usage"] = usage.from_key_packs(section["key_packs"])
    return section


# Module option name -> Win32_TSLicenseServer property [W32] win32-tslicenseserver.md.
CONTACT_PROPERTIES = (
    ("first_name", "FirstName"), ("last_name", "LastName"), ("company", "Company"),
    ("country_region", "CountryRegion"), ("email", "eMail"), ("org_unit", "OrgUnit"), ("address", "Address"),
    ("city", "City"), ("state_or_province", "State"), ("postal_code", "PostalCode"),
)


def is_built_in(pack):
    """The built-in pack: ProductType 3, KeyPackType 6, 'Built-in TS Per Device CAL' ([OBS] §1c)."""
    return (pack.get("ProductType") == wmi.BUILT_IN_PRODUCT_TYPE
            or pack.get("KeyPackType") == wmi.BUILT_IN_KEY_PACK_TYPE
            or (pack.get("TypeAndModel") or "").startswith("Built-in"))


def key_pack(pack):
    """One Win32_TSLicenseKeyPack instance, named for people; raw codes kept beside the names."""
    return {
        "key_pack_id": pack.get("KeyPackId"),
        "built_in": is_built_in(pack),
        "key_pack_type": wmi.KEY_PACK_TYPE.get(pack.get("KeyPackType"), "unknown"),
        "key_pack_type_id": pack.get("KeyPackType"),
        "license_type": wmi.PRODUCT_TYPE.get(pack.get("ProductType"), "unknown"),
        "product_version": wmi.PRODUCT_VERSION_ID.get(pack.get("ProductVersionID"), "unknown"),
        "product_version_id": pack.get("ProductVersionID"),
        "product_version_text": pack.get("ProductVersion"),
        "total": pack.get("TotalLicenses"),
        "issued": pack.get("IssuedLicenses"),
        "available": pack.get("AvailableLicenses"),
        "unlimited": pack.get("TotalLicenses") == wmi.UINT32_MAX,
        "expiration_date": pack.get("ExpirationDate"),
        "description": pack.get("Description"),
        "type_and_model": pack.get("TypeAndModel"),
    }


# Win32_TSIssuedLicense.LicenseStatus [W32]: 1 temporary, 2 active, 4 revoked; the rest counted as other.
LICENSE_STATUS = {1: "temporary", 2: "active", 4: "revoked"}
EMPTY_COUNTS = {"active": 0, "temporary": 0, "revoked": 0, "other": 0}


def issued_counts(licenses):
    """Issued licenses per KeyPackId, by status."""
    counts = {}
    for lic in licenses:
        entry = counts.setdefault(lic.get("KeyPackId"), dict(EMPTY_COUNTS))
        entry[LICENSE_STATUS.get(lic.get("LicenseStatus"), "other")] += 1
    return counts


def totals(packs):
    """Installed CALs by license type and product version; the built-in and unlimited packs excluded."""
    result = {}
    for pack in packs:
        if pack["built_in"] or pack["unlimited"] or pack["license_type"] not in ("per_device", "per_user"):
            continue
        entry = result.setdefault(pack["license_type"], {}).setdefault(
            pack["product_version"], {"total": 0, "issued": 0, "available": 0})
        for key in ("total", "issued", "available"):
            entry[key] += pack[key] or 0
    return result


def _session_host(reader, features):
    section = {
        "installed": features.get(wmi.FEATURE_SESSION_HOST, False),
        "licensing_mode": None,
        "licensing_type": None,
        "licensing_mode_source": None,
        "license_servers": None,
        "license_servers_source": None,
        "grace_period_days_left": None,
        "grace_period_ended": None,
        "discovered_license_servers": None,
        "policy": {
            "licensing_mode": reader.registry("policy_mode", "uValue"),
            "license_servers": _split_servers(reader.registry("policy_servers", "sValue")),
        },
    }
    setting = (reader.ok("ts_setting") or _EMPTY).instance
    if setting:
        licensing_type = setting.get("LicensingType")
        section["licensing_type"] = licensing_type
        section["licensing_mode"] = wmi.LICENSING_TYPE.get(licensing_type, "unknown")
        section["licensing_mode_source"] = wmi.POLICY_SOURCE.get(setting.get("PolicySourceLicensingType"))
        section["license_servers_source"] = wmi.POLICY_SOURCE.get(setting.get("PolicySourceConfiguredLicenseServers"))
    servers = reader.ok("ts_servers")
    if servers is not None:
        # [OBS] §3: names sometimes come back with a leading space.
        section["license_servers"] = [s.strip() for s in servers.out.get("SpecifiedLSList") or [] if s.strip()]
    section["discovered_license_servers"] = _discovered(reader, section["installed"])
    grace = reader.ok("grace", expected_missing=True) if section["installed"] else None
    if grace is not None:
        section["grace_period_days_left"] = grace.out.get("DaysLeft")
    if section["installed"]:
        section["grace_period_ended"] = _grace_ended(reader)
    return section


# Win32_TSDiscoveredLicenseServer [W32] win32-tsdiscoveredlicenseserver.md: IsLSAvailable 0 not available,
# 1 available (an RPC connection can be made); IssuingCALs 0 not allowed, 1 allowed, 2 don't know (whether
# the server may issue RDS CALs to this session host); IsAdminOnLS 0 no, 1 yes, 2 don't know.
# HowDiscovered is deprecated ("no longer supported"): not reported.
YES_NO_UNKNOWN = {0: False, 1: True}


def _discovered(reader, installed):
    """FindLicenseServers' list, named for people; None when not a session host or unreadable."""
    found = reader.ok("discovered", expected_missing=True) if installed else None
    if found is None:
        return None
    return [{
        "name": (server.get("LicenseServer") or "").strip(),
        "available": YES_NO_UNKNOWN.get(server.get("IsLSAvailable")),
        "issuing_cals": YES_NO_UNKNOWN.get(server.get("IssuingCALs")),
        "admin_on_license_server": YES_NO_UNKNOWN.get(server.get("IsAdminOnLS")),
    } for server in found.out.get("LicenseServersList") or []]


def _grace_ended(reader):
    """LicensingGracePeriodEnded as a value or a subkey of TermService\\Parameters; None when unreadable."""
    names = []
    for op_id in ("grace_ended", "grace_ended_key"):
        found = reader.registry(op_id, "sNames")
        result = reader.results[op_id]
        if not (result.ok or result.return_value == wmi.REGISTRY_NOT_FOUND):  # no key: no value either
            return None
        names += [n.lower() for n in found or []]
    return GRACE_ENDED_VALUE.lower() in names


def _split_servers(value):
    # "Use the specified Remote Desktop license servers": comma separated ([WSD] rds-license-session-hosts.md).
    if value is None:
        return None
    return [s.strip() for s in value.split(",") if s.strip()]
