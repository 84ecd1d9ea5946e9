"""The RD Licensing WMI provider (TlsWmiProv): Win32_TSLicenseServer, Win32_TSLicenseKeyPack,
Win32_TSIssuedLicense, in root/cimv2.

Sources: [W32] MicrosoftDocs/win32 desktop-src/TermServ/<class or method page>; observed values
from observed-outputs.md ([OBS] §n). Every method returns 0 on success or a WBEM code ([W32] each
method page; terminal-services-wmi-provider-error-codes.md). Which WBEM code a given failure
returns is not documented: those choices are marked ASSUMED and listed in docs/fidelity.md.
"""

from __future__ import annotations

import datetime as dt
import re

from .cim import (
    ASSUMED, OBSERVED, WBEM_E_ACCESS_DENIED, WBEM_E_FAILED, WBEM_E_INVALID_PARAMETER, WBEM_E_NOT_FOUND,
    WBEM_E_NOT_SUPPORTED, CimClass, LabStateError, Method, Param, Prop, dmtf_to_datetime,
)

NS = "root/cimv2"
CONTACT_FIELDS = ["FirstName", "LastName", "Company", "CountryRegion", "eMail", "OrgUnit", "Address", "City",
                  "State", "PostalCode"]
# [W32] activateserverautomatic-win32-tslicenseserver.md: fails unless these are set.
ACTIVATION_REQUIRED = ["FirstName", "LastName", "Company", "CountryRegion"]
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
DIGITS = "0123456789"

# The built-in pack, exactly as seen on two real servers ([OBS] §1a, §1b, §1c).
BUILT_IN_PACK = {
    "KeyPackId": 2, "Description": "A02-5.00-EX", "KeyPackType": 6, "ProductType": 3,
    "ProductVersion": "Windows 2000 Server", "ProductVersionID": 0, "TotalLicenses": 4294967295,
    "IssuedLicenses": 0, "AvailableLicenses": 4294967295, "ExpirationDate": "20351231230000.000000-000",
    "TypeAndModel": "Built-in TS Per Device CAL", "AccessRights": 7,
}

# ProductVersion parameter -> pack attributes. 2, 4 and 6 are documented or observed; 5 documented
# (install pages, 2020 revision); 7 and 8 are ASSUMED from ProductVersionID and a public script
# (rd-licensing-wmi.md §11; observed-outputs.md §6). Strings: [OBS] for 2008/R2, 2012, 2019 (English);
# the others follow the same pattern (ASSUMED). Description suffixes: [OBS] 6.00, 6.02, 10.01; the
# others ASSUMED.
PRODUCT_VERSIONS = {
    2: {"string": "Windows Server 2008 or Windows Server 2008 R2", "suffix": "6.00", "os_min": "2012R2"},
    4: {"string": "Windows Server 2012", "suffix": "6.02", "os_min": "2012R2"},
    5: {"string": "Windows Server 2016", "suffix": "10.00", "os_min": "2016"},
    6: {"string": "Windows Server 2019", "suffix": "10.01", "os_min": "2019"},
    7: {"string": "Windows Server 2022", "suffix": "10.02", "os_min": "2022"},
    8: {"string": "Windows Server 2025", "suffix": "10.03", "os_min": "2025"},
}
OS_ORDER = ["2012R2", "2016", "2019", "2022", "2025"]
# KeyPackType by install method: [W32] win32-tslicensekeypack.md 1 retail, 2 volume, 5 open license.
KEY_PACK_TYPE_RETAIL, KEY_PACK_TYPE_VOLUME, KEY_PACK_TYPE_OPEN = 1, 2, 5
# A pack from a web/phone key pack ID: the type is not documented (ASSUMED volume).
KEY_PACK_TYPE_FROM_ID = 2


def new_license_server_state(host) -> dict:
    return {
        "contact": {f: "" for f in CONTACT_FIELDS},
        "activation_status": 1,  # 1 = not activated [W32]
        "license_server_id": None,
        "server_role": 1 if host.state.get("domain") else 0,  # ASSUMED default scope
        "published": False,
        "in_tsls_group": False,
        # The "License server security group" policy is off until configured (ASSUMED default), and the local
        # Terminal Server Computers group empty (ASSUMED). Registered as a service connection point in AD DS
        # when the server is in a domain (ASSUMED default).
        "security_group_policy": False,
        "terminal_server_computers": [],
        "registered_scp": bool(host.state.get("domain")),
        "key_packs": [dict(BUILT_IN_PACK)],
        "next_key_pack_id": 3,  # [OBS] ids run upward from 2
        "issued_licenses": [],
        # ProductId format is in no source: a Windows-style product ID, ASSUMED.
        "product_id": "{}-{}-{}-AA{}".format(
            host.seeded_id("pid1", 5, DIGITS), host.seeded_id("pid2", 5, DIGITS),
            host.seeded_id("pid3", 5, DIGITS), host.seeded_id("pid4", 3, DIGITS)),
    }


def _ls(host) -> dict:
    return host.state["license_server"]


def _available(host) -> bool:
    # The classes come with the role service ([W32] MOF TlsWmiProv.mof; [HCB] waits for them).
    return host.feature_installed("RDS-Licensing") and host.state["license_server"] is not None


def _online(host) -> bool:
    return not host.state.get("faults", {}).get("activation_unreachable")


# --- Win32_TSLicenseServer ---------------------------------------------------------------------

def _server_instance(host) -> list[dict]:
    ls = _ls(host)
    version = host.os_entry[1]
    instance = {f: ls["contact"].get(f, "") for f in CONTACT_FIELDS}
    instance.update({
        "ServerRole": ls["server_role"],
        "DatabasePath": "C:\\Windows\\system32\\LServer\\",  # default path [OBS] §4
        "ProductId": ls["product_id"],
        "Version": version,  # format ASSUMED
        "VersionNumber": version.rsplit(".", 1)[0],  # format ASSUMED
    })
    return [instance]


def _server_put(host, instance, props):
    for name, value in props.items():
        field = next(f for f in CONTACT_FIELDS if f.lower() == name.lower())
        _ls(host)["contact"][field] = value


def _missing_contact(host) -> list[str]:
    return [f for f in ACTIVATION_REQUIRED if not _ls(host)["contact"].get(f)]


def _activate(host, server_id: str | None = None):
    ls = _ls(host)
    ls["activation_status"] = 0
    ls["license_server_id"] = server_id or host.seeded_id("lsid", 35, ALNUM)


def _take_flaky_activation(host) -> bool:
    """The 'activation_flaky' fault: the next N automatic activations fail as an unreachable Clearinghouse does."""
    faults = host.state.setdefault("faults", {})
    fault = faults.get("activation_flaky")
    if not fault:
        return False
    fault["count"] = fault.get("count", 1) - 1
    if fault["count"] <= 0:
        faults.pop("activation_flaky")
    return True


def activate_server_automatic(host, _instance, _args):
    if _missing_contact(host):
        return WBEM_E_INVALID_PARAMETER, {"ActivationStatus": _ls(host)["activation_status"]}  # code ASSUMED
    if not _online(host) or _take_flaky_activation(host):
        return WBEM_E_FAILED, {"ActivationStatus": _ls(host)["activation_status"]}  # code ASSUMED
    _activate(host)
    return 0, {"ActivationStatus": 0}


def activate_server(host, _instance, args):
    server_id = args.get("sLicenseServerId") or ""
    if not re.fullmatch(r"[A-Za-z0-9]{35}", server_id):  # 35 alphanumerics, no hyphens [W32]
        return WBEM_E_INVALID_PARAMETER, {"ActivationStatus": _ls(host)["activation_status"]}
    _activate(host, server_id.upper())
    return 0, {"ActivationStatus": 0}


def deactivate_server_automatic(host, _instance, _args):
    if any(not _ls(host)["contact"].get(f) for f in ("FirstName", "LastName")):  # [W32] class page
        return WBEM_E_INVALID_PARAMETER, {"ActivationStatus": _ls(host)["activation_status"]}
    if not _online(host):
        return WBEM_E_FAILED, {"ActivationStatus": _ls(host)["activation_status"]}
    _ls(host).update(activation_status=1, license_server_id=None)
    return 0, {"ActivationStatus": 1}


def reactivate_server_automatic(host, _instance, args):
    if args.get("Reason") not in (0, 1, 2, 3, 4):  # [W32] reasons 0..4
        return WBEM_E_INVALID_PARAMETER, {"ActivationStatus": _ls(host)["activation_status"]}
    if _missing_contact(host):
        return WBEM_E_INVALID_PARAMETER, {"ActivationStatus": _ls(host)["activation_status"]}
    if not _online(host):
        return WBEM_E_FAILED, {"ActivationStatus": _ls(host)["activation_status"]}
    _activate(host, host.seeded_id(f"lsid-re-{host.now().isoformat()}", 35, ALNUM))
    return 0, {"ActivationStatus": 0}


def get_activation_status(host, _instance, _args):
    return 0, {"ActivationStatus": _ls(host)["activation_status"]}


def get_license_server_id(host, _instance, _args):
    # [W32] "only when activated"; what it returns otherwise is not documented (ASSUMED: failure).
    if _ls(host)["activation_status"] != 0:
        return WBEM_E_FAILED, {"sLicenseServerId": None}
    return 0, {"sLicenseServerId": _ls(host)["license_server_id"]}


def is_ls_published(host, _instance, _args):
    return 0, {"Published": bool(_ls(host)["published"])}


def is_ls_in_tsls_group(host, _instance, _args):
    if not host.state.get("domain"):
        return NO_DOMAIN, {"IsMember": None}
    if host.second_hop_refusal():  # the group is read on a domain controller, as the caller
        return host.second_hop_refusal(), {"IsMember": None}
    return 0, {"IsMember": bool(_ls(host)["in_tsls_group"])}


# --- scope, publishing and the license servers group: domain privileges --------------------------
# [W32] changerole, publishls, unpublishls, addlstotslsgroup, removelsfromtslsgroup: ChangeRole(1)
# and the group methods need Domain Admins, ChangeRole(2) and (Un)PublishLS an enterprise admin.
# The code for a missing privilege is not documented: WBEM_E_ACCESS_DENIED, ASSUMED.
# In a workgroup there is no domain or directory to act on: WBEM_E_FAILED, ASSUMED (the same
# answer IsLSinTSLSGroup gives there). The workgroup check comes first (ASSUMED order).
NO_DOMAIN = WBEM_E_FAILED
ROLE_PRIVILEGE = {1: "domain_admin", 2: "enterprise_admin"}  # ServerRole -> group needed [W32]


def _domain_refusal(host, privilege: str) -> int:
    """0 when the host is in a domain and the account has `privilege`, else the failure code."""
    if not host.state.get("domain"):
        return NO_DOMAIN
    if host.second_hop_refusal():  # the domain controller is reached as the caller: rdlab.model.session
        return host.second_hop_refusal()
    return 0 if host.account()[privilege] else WBEM_E_ACCESS_DENIED


def change_role(host, _instance, args):
    role = args.get("ServerRole")
    if role not in (0, 1, 2):  # [W32] 0 workgroup, 1 domain, 2 forest; the code is ASSUMED
        return WBEM_E_INVALID_PARAMETER, {}
    refusal = _domain_refusal(host, ROLE_PRIVILEGE[role]) if role else 0
    if refusal:
        return refusal, {}
    _ls(host)["server_role"] = role
    return 0, {}


def _set_flag(flag: str, value: bool, privilege: str):
    def method(host, _instance, _args):
        refusal = _domain_refusal(host, privilege)
        if refusal:
            return refusal, {}
        _ls(host)[flag] = value  # doing it twice succeeds twice (ASSUMED)
        return 0, {}
    return method


publish_ls = _set_flag("published", True, "enterprise_admin")
unpublish_ls = _set_flag("published", False, "enterprise_admin")
add_to_tsls_group = _set_flag("in_tsls_group", True, "domain_admin")
remove_from_tsls_group = _set_flag("in_tsls_group", False, "domain_admin")


# --- activation by telephone or web: the codes come from the Clearinghouse, no Internet needed ----

def reactivate_server(host, _instance, args):
    """[W32] reactivateserver: a new license server ID obtained by phone or web, 35 alphanumerics
    like ActivateServer's. A server never activated is activated by it (ASSUMED, as the lab's
    ReactivateServerAutomatic)."""
    server_id = args.get("sNewLicenseServerId") or ""
    if not re.fullmatch(r"[A-Za-z0-9]{35}", server_id):
        return WBEM_E_INVALID_PARAMETER, {"ActivationStatus": _ls(host)["activation_status"]}
    _activate(host, server_id.upper())
    return 0, {"ActivationStatus": 0}


def deactivate_server(host, _instance, args):
    """[W32] deactivateserver: a confirmation code received by phone. Its format is in no Microsoft
    page; d-strobel's module checks 35 alphanumerics (observed-outputs.md §2, [PRAC]). Deactivating
    a server that is not activated succeeds (ASSUMED, as the lab's DeactivateServerAutomatic)."""
    if not re.fullmatch(r"[A-Za-z0-9]{35}", args.get("sConfirmCode") or ""):
        return WBEM_E_INVALID_PARAMETER, {"ActivationStatus": _ls(host)["activation_status"]}
    _ls(host).update(activation_status=1, license_server_id=None)
    return 0, {"ActivationStatus": 1}


# --- the "License server security group" policy and the service connection point -----------------
# [W32] islssecgrpgpenabled-win32-tslicenseserver.md: with the policy enabled the license server "will only
# respond to RDS CAL requests from RD Session Host servers whose computer accounts are members of the Terminal
# Server Computers local group"; issecureaccessallowed-win32-tslicenseserver.md answers that for one session
# host. Names are compared by their first label, case-insensitively (ASSUMED: the page names no form).

def secure_access_allowed(host, session_host_name: str) -> bool:
    ls = _ls(host)
    if not ls.get("security_group_policy"):
        return True
    members = {m.split(".")[0].lower() for m in ls.get("terminal_server_computers") or []}
    return (session_host_name or "").strip().split(".")[0].lower() in members


def is_ls_sec_grp_gp_enabled(host, _instance, _args):
    return 0, {"Enabled": bool(_ls(host).get("security_group_policy"))}


def is_secure_access_allowed(host, _instance, args):
    return 0, {"Allowed": secure_access_allowed(host, args.get("tsname") or "")}


def is_ls_registered_to_scp(host, _instance, _args):
    return 0, {"Registered": bool(_ls(host).get("registered_scp"))}


def is_ls_on_dc(host, _instance, _args):
    return 0, {"OnDC": False}  # the lab has no domain controllers


# --- the rest of the class's documented methods (issue 15) ----------------------------------------
# [W32] win32-tslicenseserver-registerlstoscp.md, -unregisterlsfromscp.md: (un)register the license server as a
# service connection point in AD DS; the pages name only the Administrators group. In a workgroup there is no
# directory: WBEM_E_FAILED (ASSUMED, as the lab's other directory methods). Doing it twice succeeds (ASSUMED).

def _set_scp(registered: bool):
    def method(host, _instance, _args):
        if not host.state.get("domain"):
            return NO_DOMAIN, {}
        _ls(host)["registered_scp"] = registered
        return 0, {}
    return method


register_ls_to_scp = _set_scp(True)
unregister_ls_from_scp = _set_scp(False)


def is_ls_prevent_upgrade_gp_enabled(host, _instance, _args):
    """[W32] islspreventupgradegpenabled-win32-tslicenseserver.md: the "prevent license upgrade" policy. Off on
    a new server (ASSUMED, license server state key prevent_upgrade_policy); the lab does not let it change
    which CAL a session host gets."""
    return 0, {"Enabled": bool(_ls(host).get("prevent_upgrade_policy"))}


def is_ts_in_tsc_group(host, _instance, args):
    """[W32] istsintscgroup-win32-tslicenseserver.md: membership of the local Terminal Server Computers group
    (state key terminal_server_computers; names compared by their first label, ASSUMED as IsSecureAccessAllowed)."""
    members = {m.split(".")[0].lower() for m in _ls(host).get("terminal_server_computers") or []}
    return 0, {"IsMember": (args.get("tsname") or "").strip().split(".")[0].lower() in members}


def retired(_host, _instance, _args):
    """A method Microsoft's page says is no longer available: "Returns WBEM_E_NOT_SUPPORTED" ([W32]
    createtscgroup-, istscgrouppresent-, removetscgroup-win32-tslicenseserver.md, as of Windows Server 2012)."""
    return WBEM_E_NOT_SUPPORTED, {}


# --- Win32_TSLicenseKeyPack --------------------------------------------------------------------

UNLIMITED = 4294967295  # TotalLicenses and AvailableLicenses of an unlimited pack ([OBS] §1a, §1c)


def _pack_instances(host) -> list[dict]:
    packs = []
    for pack in _ls(host)["key_packs"]:
        _check_issued_counter(host, pack)
        pack = key_pack_view(pack)
        if pack["ProductType"] in (0, 1) and pack["TotalLicenses"] != UNLIMITED:
            # Per Device: Available = Total - Issued; Per User can be over-allocated and Available
            # never goes below 0 ([OBS] §1c, Checkmk PR #280).
            pack["AvailableLicenses"] = max(0, pack["TotalLicenses"] - pack["IssuedLicenses"])
        packs.append(pack)
    return packs


def key_pack_view(pack: dict) -> dict:
    """A key pack with the properties Windows derives from its independent ones (KeyPackId, KeyPackType,
    ProductType, ProductVersionID, TotalLicenses, IssuedLicenses, ExpirationDate) filled in where the state
    does not hold them: Description, ProductVersion, TypeAndModel, AvailableLicenses, AccessRights. A value the
    state holds wins (a seeded pack of a version the lab does not know keeps its own text)."""
    return {**_derived_pack_properties(pack), **pack}


def _derived_pack_properties(pack: dict) -> dict:
    total, issued = pack["TotalLicenses"], pack["IssuedLicenses"]
    derived = {"AccessRights": 7,  # [OBS] §1a: 7 on every pack
               "AvailableLicenses": total if total == UNLIMITED else max(0, total - issued)}  # [OBS] §1a, §1c
    if pack["ProductType"] == BUILT_IN_PACK["ProductType"]:  # the built-in pack, as observed ([OBS] §1a, §1c)
        return dict(derived, **{k: BUILT_IN_PACK[k] for k in ("Description", "ProductVersion", "TypeAndModel")})
    info = PRODUCT_VERSIONS.get(pack["ProductVersionID"])
    if pack["ProductType"] not in (0, 1) or info is None:
        return derived
    per_user = pack["ProductType"] == 1
    # [OBS] §1c: A02- Per Device, C50- Per User, then the version's suffix and -S.
    return dict(derived, Description="{}-{}-S".format("C50" if per_user else "A02", info["suffix"]),
                ProductVersion=info["string"], TypeAndModel=_type_and_model(pack["ProductVersionID"], per_user))


def _install_pack(host, key_pack_type: int, version: int, product_type: int, count: int):
    ls = _ls(host)
    if ls["activation_status"] != 0:
        # The wizard requires activation first ([WSD] rds-install-cals.md); code ASSUMED.
        return WBEM_E_FAILED, {"KeyPackId": None}
    if version not in PRODUCT_VERSIONS or product_type not in (0, 1) or count < 1:
        return WBEM_E_INVALID_PARAMETER, {"KeyPackId": None}
    if OS_ORDER.index(PRODUCT_VERSIONS[version]["os_min"]) > OS_ORDER.index(host.state["os"]):
        # A license server cannot hold CALs newer than itself (ecosystem.md §2.4); code ASSUMED.
        return WBEM_E_NOT_SUPPORTED, {"KeyPackId": None}
    if not _online(host):
        # Installs validate the pack with the Clearinghouse over the Internet (rd-licensing-wmi.md §11).
        return WBEM_E_FAILED, {"KeyPackId": None}
    pack_id = ls["next_key_pack_id"]
    ls["next_key_pack_id"] += 1
    ls["key_packs"].append(key_pack_view({
        "KeyPackId": pack_id,
        "KeyPackType": key_pack_type,
        "ProductType": product_type,
        "ProductVersionID": version,
        "TotalLicenses": count,
        "IssuedLicenses": 0,
        "ExpirationDate": "20380119031407.000000-000",  # "never expires" sentinel [OBS] §1c
    }))
    return 0, {"KeyPackId": pack_id}


def _type_and_model(version: int, per_user: bool) -> str:
    # [OBS] "TS or RDS Per User CAL" (2008/R2), "RDS Per User CAL" (2012+); Per Device by analogy.
    kind = "Per User" if per_user else "Per Device"
    return f"TS or RDS {kind} CAL" if version == 2 else f"RDS {kind} CAL"


def install_agreement(host, _instance, args):
    agreement_type = args.get("AgreementType")
    number = args.get("sAgreementNumber") or ""
    # [W32] AgreementType 0..5; the number is documented as 7 digits, but an 8-digit SPLA number was
    # used in production (observed-outputs.md §5): the lab accepts 5 to 10 digits (ASSUMED bounds).
    if agreement_type not in range(6) or not re.fullmatch(r"\d{5,10}", number):
        return WBEM_E_INVALID_PARAMETER, {"KeyPackId": None}
    return _install_pack(host, KEY_PACK_TYPE_VOLUME, args.get("ProductVersion"), args.get("ProductType"),
                         args.get("LicenseCount") or 0)


def install_open(host, _instance, args):
    # [W32] license number 8 digits, authorization number 15 alphanumerics, no hyphens.
    if not re.fullmatch(r"\d{8}", args.get("sLicenseNumber") or "") or \
            not re.fullmatch(r"[A-Za-z0-9]{15}", args.get("sAuthorizationNumber") or ""):
        return WBEM_E_INVALID_PARAMETER, {"KeyPackId": None}
    return _install_pack(host, KEY_PACK_TYPE_OPEN, args.get("ProductVersion"), args.get("ProductType"),
                         args.get("LicenseCount") or 0)


def decode_code(code: str) -> tuple[int, int, int]:
    """What a retail code or key pack ID stands for. Windows learns this from the Clearinghouse;
    the lab derives it from the code so tests can choose (ASSUMED, lab-only convention):
    the code's last three characters give version (2, 4..8), type (0 device, 1 user) and a count
    index into 5, 10, 20, 25, 50, 100."""
    tail = code[-3:].upper()
    version = int(tail[0]) if tail[0] in "245678" else 7
    product_type = 1 if tail[1] == "1" else 0
    counts = [5, 10, 20, 25, 50, 100]
    count = counts[int(tail[2]) % len(counts)] if tail[2].isdigit() else 5
    return version, product_type, count


def install_retail(host, _instance, args):
    code = args.get("sLicenseCode") or ""
    if not re.fullmatch(r"[A-Za-z0-9]{25}", code):  # 25 alphanumerics, no hyphens [W32]
        return WBEM_E_INVALID_PARAMETER, {"KeyPackId": None}
    return _install_pack(host, KEY_PACK_TYPE_RETAIL, *decode_code(code))


def install_key_pack_id(host, _instance, args):
    code = args.get("sLicenseKeyPackId") or ""
    if not re.fullmatch(r"[A-Za-z0-9]{35}", code):  # 35 characters, no hyphens [W32]
        return WBEM_E_INVALID_PARAMETER, {"KeyPackId": None}
    ls = _ls(host)
    if ls["activation_status"] != 0:
        return WBEM_E_FAILED, {"KeyPackId": None}
    # Offline route: no Clearinghouse call, so the activation_unreachable fault does not apply.
    faults = host.state.setdefault("faults", {})
    saved, faults["activation_unreachable"] = faults.get("activation_unreachable"), False
    try:
        return _install_pack(host, KEY_PACK_TYPE_FROM_ID, *decode_code(code))
    finally:
        faults["activation_unreachable"] = saved


def uninstall_with_id(host, _instance, args):
    packs = _ls(host)["key_packs"]
    pack = next((p for p in packs if p["KeyPackId"] == args.get("KeyPackId")), None)
    if pack is None:
        return WBEM_E_NOT_FOUND, {}  # ASSUMED code
    if pack["ProductType"] == 3:
        return WBEM_E_INVALID_PARAMETER, {}  # the built-in pack cannot be removed (ASSUMED)
    packs.remove(pack)
    return 0, {}


# --- Win32_TSIssuedLicense ---------------------------------------------------------------------
# [W32] win32-tsissuedlicense.md: the class lists issued Per Device CALs; LicenseStatus 1 temporary,
# 2 active, 4 revoked (the other documented values are not modelled). Licenses are never issued
# by real clients here: the lab seeds them (issue_licenses, `rdlab issue`) or issues them when a lab
# client connects to a session host (per_device_cal, `rdlab connect`). A Per Device pack's
# IssuedLicenses counts its rows that are not revoked (ASSUMED: no source says how revoked CALs
# count), so Available = Total - Issued ([OBS] §1c).
LICENSE_TEMPORARY, LICENSE_ACTIVE, LICENSE_REVOKED = 1, 2, 4
# Validity from the issue date ([WSD] rds-client-access-license.md): a temporary Per Device CAL 90 days,
# a permanent one a random 52 to 89 days before renewal. A revoked CAL keeps the permanent CAL's range
# (ASSUMED). Per User CALs show as expiring 60 days after they are issued (same page).
TEMPORARY_DAYS = 90
PERMANENT_DAYS = (52, 89)
PER_USER_DAYS = 60
RENEW_WITHIN_DAYS = 7  # same page: a permanent CAL within 7 days of expiry is renewed at the next connection
LICENSE_DAYS = {LICENSE_TEMPORARY: TEMPORARY_DAYS, LICENSE_ACTIVE: PERMANENT_DAYS, LICENSE_REVOKED: PERMANENT_DAYS}
# Which session host versions a CAL version serves ([WSD] rds-client-access-license.md, "RDS CAL version
# compatibility": its own version and earlier; 2012 CALs serve 2012 R2): the newest lab OS each serves.
CAL_SERVES_UP_TO = {2: None, 4: "2012R2", 5: "2016", 6: "2019", 7: "2022", 8: "2025"}


def _validity_days(host, status: int, license_id: int) -> int:
    days = LICENSE_DAYS[status]
    if isinstance(days, int):
        return days
    low, high = days
    # Random, but reproducible per license: the lab draws it from the host's seed.
    return low + int(host.seeded_id(f"validity{license_id}", 4, DIGITS)) % (high - low + 1)


def _issued_instances(host) -> list[dict]:
    return [dict(i) for i in _ls(host)["issued_licenses"]]


def _counted(host, key_pack_id: int) -> int:
    return sum(1 for row in _ls(host)["issued_licenses"]
               if row["KeyPackId"] == key_pack_id and row["LicenseStatus"] != LICENSE_REVOKED)


def _check_issued_counter(host, pack: dict) -> None:
    """A seeded state whose Per Device counter disagrees with its issued rows is not a Windows
    state: fail loudly instead of answering with one of the two numbers."""
    if pack["ProductType"] == 0 and pack["IssuedLicenses"] != _counted(host, pack["KeyPackId"]):
        raise LabStateError(
            f"key pack {pack['KeyPackId']} has IssuedLicenses {pack['IssuedLicenses']} but "
            f"{_counted(host, pack['KeyPackId'])} issued licenses that are not revoked; seed Per Device "
            "licenses with `rdlab issue` (rdlab.model.licensing.issue_licenses), which keeps both in step")


def issue_licenses(host, key_pack_id: int, count: int, status: int = LICENSE_ACTIVE,
                   computers: list[str] | None = None, days: int | None = None) -> list[dict]:
    """Lab-only: record `count` Per Device licenses issued from a pack, as the license server would
    after session hosts asked for them, and keep the pack's IssuedLicenses in step."""
    pack = _issuable_pack(host, key_pack_id, count, status, computers)
    ls = _ls(host)
    issued_at = host.now()
    # LicenseIds run upward from 1 per server (ASSUMED, like KeyPackIds [OBS] §1c).
    first = ls.get("next_license_id") or 1 + max([r["LicenseId"] for r in ls["issued_licenses"]] or [0])
    ls["next_license_id"] = first + count
    rows = [_license_row(host, first + n, key_pack_id, computers[n] if computers else f"CLIENT{first + n:03d}",
                         status, issued_at, issued_at + dt.timedelta(
                             days=_validity_days(host, status, first + n) if days is None else days))
            for n in range(count)]
    ls["issued_licenses"].extend(rows)
    pack["IssuedLicenses"] = _counted(host, key_pack_id)
    return rows


def _issuable_pack(host, key_pack_id: int, count: int, status: int, computers) -> dict:
    pack = next((p for p in _ls(host)["key_packs"] if p["KeyPackId"] == key_pack_id), None)
    if pack is None:
        raise LabStateError(f"no key pack {key_pack_id} on {host.name}")
    if pack["ProductType"] != 0:
        # [W32] Win32_TSIssuedLicense describes Per Device CALs; the built-in pack is not modelled.
        raise LabStateError(f"key pack {key_pack_id} is not a Per Device pack (ProductType {pack['ProductType']})")
    _check_issued_counter(host, pack)
    if computers is not None and len(computers) != count:
        raise LabStateError(f"give one computer name per license: {count} licenses, {len(computers)} names")
    if status not in LICENSE_DAYS or count < 1:
        raise LabStateError(f"issue a positive count with LicenseStatus 1, 2 or 4, got {count} and {status}")
    if status != LICENSE_REVOKED and _counted(host, key_pack_id) + count > pack["TotalLicenses"]:
        raise LabStateError(f"key pack {key_pack_id} has only {pack['TotalLicenses'] - _counted(host, key_pack_id)} "
                            "licenses left")
    return pack


def _license_row(host, license_id, key_pack_id, computer, status, issued_at, expires_at) -> dict:
    return {
        "LicenseId": license_id, "KeyPackId": key_pack_id,
        "sIssuedToUser": "",  # who was signed in is not tracked by the lab (ASSUMED empty)
        "sIssuedToComputer": computer,
        # Hardware ID format is in no source: 5 groups of 8 hex digits, ASSUMED.
        "sHardwareId": "-".join(host.seeded_id(f"hwid{license_id}:{i}", 8, "0123456789abcdef") for i in range(5)),
        "IssueDate": _dmtf(issued_at), "ExpirationDate": _dmtf(expires_at),
        "LicenseStatus": status,
    }


# Revoke ([W32] revoke-win32-tsissuedlicense.md): an instance method for Per Device CALs only, out RevokableCals
# and NextRevokeAllowedOn, the date valid only when the call failed because the maximum revoke count was reached.
# The limit: at most 20 % of the installed Per Device CALs of a version revoked at a time ([WSD]
# rds-client-access-license.md; [BLOG] "Manual Revocation of Client Access Licenses (CALs)"). ASSUMED where
# the sources are silent: the limit rounds down with a minimum of one; a revocation counts until the revoked
# CAL's ExpirationDate, which is also the next allowed date; RevokableCals is what remains after the call;
# the failure codes.
REVOKE_PERCENT = 20


def _version_of(host, key_pack_id: int):
    pack = next((p for p in _ls(host)["key_packs"] if p["KeyPackId"] == key_pack_id), None)
    return pack and pack["ProductVersionID"]


def _revoke_window(host, version) -> tuple[int, list[dt.datetime]]:
    """(the limit for a version, the expiry of each revoked CAL of it that still counts)."""
    installed = sum(p["TotalLicenses"] for p in _ls(host)["key_packs"]
                    if p["ProductType"] == 0 and p["ProductVersionID"] == version)
    counting = [dmtf_to_datetime(r["ExpirationDate"]) for r in _ls(host)["issued_licenses"]
                if r["LicenseStatus"] == LICENSE_REVOKED and _version_of(host, r["KeyPackId"]) == version]
    return max(1, installed * REVOKE_PERCENT // 100), [d for d in counting if d > host.now()]


def revoke(host, instance, args):
    row = next((r for r in _ls(host)["issued_licenses"] if r["LicenseId"] == instance["LicenseId"]
                and r["KeyPackId"] == instance["KeyPackId"]), None)
    pack = next((p for p in _ls(host)["key_packs"] if row and p["KeyPackId"] == row["KeyPackId"]), None)
    if row is None or pack is None:
        return WBEM_E_NOT_FOUND, {"RevokableCals": None, "NextRevokeAllowedOn": None}  # code ASSUMED
    if pack["ProductType"] != 0 or row["LicenseStatus"] == LICENSE_REVOKED:
        # Only Per Device CALs can be revoked [W32]; the code, and revoking a revoked CAL, ASSUMED.
        return WBEM_E_INVALID_PARAMETER, {"RevokableCals": None, "NextRevokeAllowedOn": None}
    limit, counting = _revoke_window(host, pack["ProductVersionID"])
    if len(counting) >= limit:
        return WBEM_E_FAILED, {"RevokableCals": 0, "NextRevokeAllowedOn": _dmtf(min(counting))}
    row["LicenseStatus"] = LICENSE_REVOKED
    pack["IssuedLicenses"] = _counted(host, pack["KeyPackId"])
    return 0, {"RevokableCals": limit - len(counting) - 1, "NextRevokeAllowedOn": None}


def _dmtf(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y%m%d%H%M%S.000000+000")


def _from_dmtf(text: str) -> dt.datetime:
    return dt.datetime.strptime(text[:14], "%Y%m%d%H%M%S").replace(tzinfo=dt.timezone.utc)


# --- CALs asked for by a session host (lab event: a client connects) -----------------------------

def _serves(pack: dict, session_host_os: str) -> bool:
    newest = CAL_SERVES_UP_TO.get(pack.get("ProductVersionID"))
    return newest is not None and OS_ORDER.index(newest) >= OS_ORDER.index(session_host_os)


def _cal_pack_for(host, product_type: int, session_host_os: str, over_allocate: bool = False) -> dict | None:
    packs = [p for p in _ls(host)["key_packs"] if p["ProductType"] == product_type
             and p["TotalLicenses"] != 4294967295 and _serves(p, session_host_os)]
    free = [p for p in packs if p["IssuedLicenses"] < p["TotalLicenses"]]
    return (free or (packs if over_allocate else [None]))[0] if packs else None


def per_device_cal(host, computer: str, session_host_os: str) -> dict:
    """What this license server issues when a session host asks for a Per Device CAL for `computer`
    ([WSD] rds-client-access-license.md, "Per device RDS CALs"): a temporary CAL (90 days) the first time
    the device connects; at the next connection, on an activated server with CALs for the session host's
    version left, a permanent CAL (a random 52 to 89 days); a permanent CAL within 7 days of its expiry is
    renewed. Returns the device's license row after the request. Temporary CALs are recorded on the
    built-in pack (ASSUMED: which pack Windows records them on is in no source read)."""
    ls, now = _ls(host), host.now()
    held = next((r for r in ls["issued_licenses"] if r["sIssuedToComputer"].lower() == computer.lower()
                 and r["LicenseStatus"] in (LICENSE_TEMPORARY, LICENSE_ACTIVE) and _from_dmtf(r["ExpirationDate"]) > now),
                None)
    if held is None:
        return issue_licenses_to(host, BUILT_IN_PACK["KeyPackId"], computer, LICENSE_TEMPORARY)
    if held["LicenseStatus"] == LICENSE_ACTIVE:
        if _from_dmtf(held["ExpirationDate"]) - now <= dt.timedelta(days=RENEW_WITHIN_DAYS):
            # A new random period; the renewal draws its own number (ASSUMED seed offset).
            days = _validity_days(host, LICENSE_ACTIVE, held["LicenseId"] + 1000)
            held["ExpirationDate"] = _dmtf(now + dt.timedelta(days=days))
        return held
    pack = _cal_pack_for(host, 0, session_host_os)
    if ls["activation_status"] != 0 or pack is None:
        return held  # the temporary CAL goes on working until it expires
    held.update(KeyPackId=pack["KeyPackId"], LicenseStatus=LICENSE_ACTIVE, IssueDate=_dmtf(now), ExpirationDate=_dmtf(
        now + dt.timedelta(days=_validity_days(host, LICENSE_ACTIVE, held["LicenseId"]))))
    pack["IssuedLicenses"] = _counted(host, pack["KeyPackId"])
    return held


def issue_licenses_to(host, key_pack_id: int, computer: str, status: int) -> dict:
    """One license row for one computer, outside the seeding checks (the built-in pack is not a CAL pack)."""
    ls, now = _ls(host), host.now()
    license_id = ls.get("next_license_id") or 1 + max([r["LicenseId"] for r in ls["issued_licenses"]] or [0])
    ls["next_license_id"] = license_id + 1
    row = _license_row(host, license_id, key_pack_id, computer, status, now,
                       now + dt.timedelta(days=_validity_days(host, status, license_id)))
    ls["issued_licenses"].append(row)
    return row


def cal_version_for(session_host_os: str) -> int:
    """The ProductVersionID of the CALs a session host of this OS asks for: the oldest version that serves it
    (CAL_SERVES_UP_TO, the same compatibility rule; 2012 R2 asks for 2012 CALs)."""
    return min(v for v, newest in CAL_SERVES_UP_TO.items() if newest == session_host_os)


def per_user_cal(host, user: str, session_host_os: str) -> dict | None:
    """What this license server issues for a Per User session host's user ([WSD] rds-client-access-license.md,
    "Per user RDS CALs"): a CAL from the available pool or, when none is left, the overused pool (the
    pack's IssuedLicenses goes above its total); it shows as expiring 60 days after issue and is extended
    when the user signs in. A CAL serves its own session host version and earlier ("RDS CAL version
    compatibility", same page: _serves). None when no installed Per User pack serves the session host's
    version: the request is recorded as failed (state key failed_per_user, one entry per user and CAL version,
    ASSUMED) for the usage report's failed entries. An unactivated server issues Per User CALs too (RD
    Licensing Manager's help; its packs were installed while it was activated). Per User CALs are tracked in
    Active Directory, not in Win32_TSIssuedLicense: the lab keeps them in the state key per_user_cals."""
    ls, now = _ls(host), host.now()
    cals = ls.setdefault("per_user_cals", {})
    held = held_per_user_cal(host, user)
    if held is not None:
        held["ExpirationDate"] = _dmtf(now + dt.timedelta(days=PER_USER_DAYS))
        return held
    pack = _cal_pack_for(host, 1, session_host_os, over_allocate=True)
    if pack is None:
        version_id = cal_version_for(session_host_os)
        ls.setdefault("failed_per_user", {})[f"{user.lower()}|{version_id}"] = {
            "User": user, "TriedIssuanceOn": _dmtf(now), "ProductVersionID": version_id}
        return None
    pack["IssuedLicenses"] += 1
    cals[user.lower()] = {"User": user, "KeyPackId": pack["KeyPackId"], "IssueDate": _dmtf(now),
                          "ExpirationDate": _dmtf(now + dt.timedelta(days=PER_USER_DAYS))}
    return cals[user.lower()]


def held_per_user_cal(host, user: str) -> dict | None:
    """The user's Per User CAL when it has not expired."""
    held = (_ls(host).get("per_user_cals") or {}).get(user.lower())
    return held if held is not None and _from_dmtf(held["ExpirationDate"]) > host.now() else None


def server_methods() -> list[Method]:
    out_status = Param("ActivationStatus", "uint32", "out")
    w32 = "[W32] {}-win32-tslicenseserver.md"
    return [
        Method("ActivateServerAutomatic", [out_status], True, activate_server_automatic,
               source=w32.format("activateserverautomatic")),
        Method("ActivateServer", [Param("sLicenseServerId", "string"), out_status], True, activate_server,
               source=w32.format("activateserver")),
        Method("DeactivateServerAutomatic", [out_status], True, deactivate_server_automatic,
               source=w32.format("deactivateserverautomatic")),
        Method("ReactivateServerAutomatic", [Param("Reason", "uint32"), out_status], True,
               reactivate_server_automatic, source=w32.format("reactivateserverautomatic")),
        Method("GetActivationStatus", [out_status], True, get_activation_status,
               source=w32.format("getactivationstatus")),
        Method("GetLicenseServerId", [Param("sLicenseServerId", "string", "out")], True, get_license_server_id,
               source=w32.format("getlicenseserverid") + "; failure when not activated ASSUMED"),
        Method("IsLSPublished", [Param("Published", "boolean", "out")], True, is_ls_published,
               source=w32.format("islspublished")),
        Method("IsLSinTSLSGroup", [Param("Domain", "string"), Param("IsMember", "boolean", "out")], True,
               is_ls_in_tsls_group, source=w32.format("islsintslsgroup") + "; workgroup failure ASSUMED"),
        Method("IsLSonDC", [Param("OnDC", "boolean", "out")], True, is_ls_on_dc, source=w32.format("islsondc")),
        Method("IsLSSecGrpGPEnabled", [Param("Enabled", "boolean", "out")], True, is_ls_sec_grp_gp_enabled,
               source="[W32] islssecgrpgpenabled-win32-tslicenseserver.md; policy off by default ASSUMED"),
        Method("IsSecureAccessAllowed", [Param("tsname", "string"), Param("Allowed", "boolean", "out")], True,
               is_secure_access_allowed, source="[W32] issecureaccessallowed-win32-tslicenseserver.md; names "
               "compared by their first label ASSUMED"),
        Method("IsLSRegisteredToSCP", [Param("Registered", "boolean", "out")], True, is_ls_registered_to_scp,
               source="[W32] win32-tslicenseserver-islsregisteredtoscp.md; registered on a domain host by default ASSUMED"),
        *_scope_methods(w32),
        *_directory_methods(),
        Method("ReactivateServer", [Param("sNewLicenseServerId", "string"), out_status], True, reactivate_server,
               source=w32.format("reactivateserver") + "; ID format as ActivateServer's"),
        Method("DeactivateServer", [Param("sConfirmCode", "string"), out_status], True, deactivate_server,
               source=w32.format("deactivateserver") + "; code format [PRAC] observed-outputs.md §2"),
    ]


def _scope_methods(w32: str) -> list[Method]:
    privilege = "; missing privilege 0x80041003 and workgroup 0x80041001 ASSUMED"
    return [
        Method("ChangeRole", [Param("ServerRole", "uint32")], True, change_role,
               source=w32.format("changerole") + ": 1 Domain Admins, 2 enterprise admin" + privilege),
        Method("PublishLS", [], True, publish_ls, source=w32.format("publishls") + ": enterprise admin" + privilege),
        Method("UnpublishLS", [], True, unpublish_ls,
               source=w32.format("unpublishls") + ": enterprise admin" + privilege),
        Method("AddLStoTSLSGroup", [], True, add_to_tsls_group,
               source=w32.format("addlstotslsgroup") + ": Domain Admins" + privilege),
        Method("RemoveLSfromTSLSGroup", [], True, remove_from_tsls_group,
               source=w32.format("removelsfromtslsgroup") + ": Domain Admins" + privilege),
    ]


def _directory_methods() -> list[Method]:
    """The service connection point, the policies and the Terminal Server Computers group (issue 15)."""
    w32 = "[W32] {}-win32-tslicenseserver.md"
    scp = "; workgroup 0x80041001 and a second call succeeding ASSUMED"
    gone = ": no longer available as of Windows Server 2012, returns WBEM_E_NOT_SUPPORTED"
    return [
        Method("RegisterLSToSCP", [], True, register_ls_to_scp,
               source="[W32] win32-tslicenseserver-registerlstoscp.md" + scp),
        Method("UnRegisterLSFromSCP", [], True, unregister_ls_from_scp,
               source="[W32] win32-tslicenseserver-unregisterlsfromscp.md" + scp),
        Method("IsLSPreventUpgradeGPEnabled", [Param("Enabled", "boolean", "out")], True,
               is_ls_prevent_upgrade_gp_enabled, source=w32.format("islspreventupgradegpenabled") +
               "; off by default ASSUMED; the policy does not change which CAL the lab issues"),
        Method("IsTSinTSCGroup", [Param("tsname", "string"), Param("IsMember", "boolean", "out")], True,
               is_ts_in_tsc_group, source=w32.format("istsintscgroup") + "; names compared by their first label "
               "ASSUMED"),
        Method("CreateTSCGroup", [], True, retired, source=w32.format("createtscgroup") + gone),
        Method("IsTSCGroupPresent", [Param("Present", "boolean", "out")], True, retired,
               source=w32.format("istscgrouppresent") + gone),
        Method("RemoveTSCGroup", [], True, retired, source=w32.format("removetscgroup") + gone),
    ]


def key_pack_methods() -> list[Method]:
    out_id = Param("KeyPackId", "uint32", "out")
    w32 = "[W32] {}-win32-tslicensekeypack.md"
    common = [Param("ProductVersion", "uint32"), Param("ProductType", "uint32"), Param("LicenseCount", "uint32")]
    return [
        Method("InstallAgreementLicenseKeyPack",
               [Param("AgreementType", "uint32"), Param("sAgreementNumber", "string"), *common, out_id],
               True, install_agreement, source=w32.format("installagreementlicensekeypack")),
        Method("InstallOpenLicenseKeyPack",
               [Param("sLicenseNumber", "string"), Param("sAuthorizationNumber", "string"), *common, out_id],
               True, install_open, source=w32.format("installopenlicensekeypack")),
        Method("InstallRetailPurchaseLicenseKeyPack", [Param("sLicenseCode", "string"), out_id], True,
               install_retail, status=ASSUMED,
               source=w32.format("installretailpurchaselicensekeypack") + "; pack contents derived from the code"),
        Method("InstallLicenseKeyPack", [Param("sLicenseKeyPackId", "string"), out_id], True,
               install_key_pack_id, status=ASSUMED,
               source=w32.format("installlicensekeypack") + "; pack contents derived from the code"),
        Method("UninstallLicenseKeyPackWithId", [Param("KeyPackId", "uint32")], True, uninstall_with_id,
               source="[W32] win32-tslicensekeypack-uninstalllicensekeypackwithid.md"),
    ]


def classes() -> list[CimClass]:
    contact = [Prop(f, "string", writable=True, source="[W32] win32-tslicenseserver.md") for f in CONTACT_FIELDS]
    server = CimClass(
        NS, "Win32_TSLicenseServer", keys=[], available=_available, enumerate=_server_instance, put=_server_put,
        properties=contact + [
            Prop("ServerRole", "uint32", source="[W32]"),
            Prop("DatabasePath", "string", status=OBSERVED, source="[OBS] §4 default path"),
            Prop("ProductId", "string", status=ASSUMED, source="format in no source"),
            Prop("Version", "string", status=ASSUMED, source="format in no source"),
            Prop("VersionNumber", "string", status=ASSUMED, source="format in no source"),
        ],
        methods=server_methods(), source="[W32] win32-tslicenseserver.md",
        notes="Singleton; all methods static. Method failure codes are ASSUMED (undocumented).")
    pack_props = [
        ("KeyPackId", "uint32"), ("KeyPackType", "uint32"), ("ProductType", "uint32"), ("ProductVersion", "string"),
        ("ProductVersionID", "uint32"), ("TotalLicenses", "uint32"), ("IssuedLicenses", "uint32"),
        ("AvailableLicenses", "uint32"), ("ExpirationDate", "datetime"), ("Description", "string"),
        ("TypeAndModel", "string"), ("AccessRights", "uint32"),
    ]
    key_pack = CimClass(
        NS, "Win32_TSLicenseKeyPack", keys=["KeyPackId"], available=_available, enumerate=_pack_instances,
        properties=[Prop(n, t, source="[W32] win32-tslicensekeypack.md") for n, t in pack_props],
        methods=key_pack_methods(), status=OBSERVED,
        source="[W32] win32-tslicensekeypack.md; built-in pack and counters [OBS] §1")
    issued_props = [
        ("LicenseId", "uint32"), ("KeyPackId", "uint32"), ("sIssuedToUser", "string"),
        ("sIssuedToComputer", "string"), ("sHardwareId", "string"), ("IssueDate", "datetime"),
        ("ExpirationDate", "datetime"), ("LicenseStatus", "uint32"),
    ]
    issued = CimClass(
        NS, "Win32_TSIssuedLicense", keys=["LicenseId", "KeyPackId"], available=_available,
        enumerate=_issued_instances,
        properties=[Prop(n, t, source="[W32] win32-tsissuedlicense.md") for n, t in issued_props],
        methods=[Method("Revoke", [Param("RevokableCals", "uint32", "out"),
                                   Param("NextRevokeAllowedOn", "datetime", "out")], False, revoke,
                        status=ASSUMED, source="[W32] revoke-win32-tsissuedlicense.md; the 20 % limit [WSD] "
                        "rds-client-access-license.md; rounding, counting window and codes ASSUMED")],
        source="[W32] win32-tsissuedlicense.md",
        notes="Issued licenses are seeded (rdlab issue) or issued at a lab client connection (rdlab connect).")
    return [server, key_pack, issued]


# Assumptions of this provider that are not a single property or method (listed in docs/fidelity.md).
FIDELITY_NOTES = [
    ("Win32_TSLicenseServer", "a call without the domain privilege its page names", ASSUMED,
     "returns 0x80041003 WBEM_E_ACCESS_DENIED; the code is not documented. Host state key account = "
     "{domain_admin, enterprise_admin}: both true on a domain host, both false in a workgroup"),
    ("Win32_TSLicenseServer", "ChangeRole(1 or 2), PublishLS, UnpublishLS, AddLStoTSLSGroup, "
     "RemoveLSfromTSLSGroup, IsLSinTSLSGroup in a workgroup", ASSUMED,
     "return 0x80041001 WBEM_E_FAILED: there is no domain to act on"),
    ("Win32_TSLicenseServer", "PublishLS when published, AddLStoTSLSGroup when a member (and the reverse)",
     ASSUMED, "succeed again"),
    ("Win32_TSLicenseServer", "ReactivateServer on a server never activated; DeactivateServer on one not "
     "activated", ASSUMED, "succeed, as the lab's *Automatic variants do"),
    ("Win32_TSIssuedLicense", "Per Device IssuedLicenses = issued rows that are not revoked (LicenseStatus 4)",
     ASSUMED, "Available = Total - Issued is [OBS] §1c; how revoked CALs count is in no source. A seed "
     "that breaks the rule fails loudly"),
    ("Win32_TSIssuedLicense", "Revoke: the limit is max(1, 20 % of the version's installed Per Device CALs, rounded "
     "down); a revoked CAL counts until its ExpirationDate, the earliest of which is NextRevokeAllowedOn; "
     "RevokableCals is what remains after a successful call; refusal codes", ASSUMED,
     "20 % per version is [WSD] rds-client-access-license.md and [BLOG]; the date only on a refusal at the "
     "limit is [W32] revoke-win32-tsissuedlicense.md; the rest is in no source read"),
    ("Win32_TSIssuedLicense", "rows: sIssuedToUser empty, sHardwareId format; a revoked row's validity as a "
     "permanent CAL's", ASSUMED, "in no source read. Validity of temporary (90 days) and permanent (random 52 to "
     "89 days) Per Device CALs is [WSD] rds-client-access-license.md; rdlab.model.licensing.issue_licenses"),
    ("Win32_TSIssuedLicense", "temporary CALs issued at a client connection (`rdlab connect`) are rows of the "
     "built-in pack; the upgrade to a permanent CAL moves the row to a purchased Per Device pack", ASSUMED,
     "the temporary-then-permanent sequence is [WSD] rds-client-access-license.md; the pack a temporary CAL "
     "is recorded on is in no source read"),
    ("Win32_TSLicenseKeyPack", "Per User CALs issued at a client connection raise the Per User pack's "
     "IssuedLicenses (over the total when none is left) and are kept in the state key per_user_cals", ASSUMED,
     "Per User CALs are tracked in Active Directory ([WSD] rds-client-access-license.md); the lab has none"),
    ("Win32_TSLicenseServer", "License server security group policy (IsLSSecGrpGPEnabled) and the local Terminal "
     "Server Computers group", ASSUMED, "off and empty on a new server; set with the license server state keys "
     "security_group_policy and terminal_server_computers (first labels of names, any case). With the policy on, "
     "a session host outside the group gets GetTStoLSConnectivityStatus 5 and no CAL"),
    ("Win32_TSLicenseServer", "IsLSRegisteredToSCP on a new server", ASSUMED,
     "true in a domain, false in a workgroup (state key registered_scp)"),
    ("Win32_TSLicenseServer", "after uninstalling RDS-Licensing the database stays; a reinstall finds the "
     "activation and the key packs again", ASSUMED, "in no source; the classes are gone while it is "
     "uninstalled (0x80041010)"),
]
