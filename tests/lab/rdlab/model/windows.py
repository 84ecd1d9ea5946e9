"""Base Windows classes the collection reads: Win32_OperatingSystem, Win32_ComputerSystem,
Win32_Service (root/cimv2) and StdRegProv (root/default).

Sources: the Win32 provider pages ([W32 wmi] win32-operatingsystem, win32-computersystem,
win32-service, stdregprov). Only the properties and methods the collection uses are modelled.
"""

from __future__ import annotations

import datetime as dt

from . import power
from .cim import ASSUMED, DOCUMENTED, OBSERVED, WBEM_E_NOT_SUPPORTED, CimClass, Method, Param, Prop
from .host import HKLM, OPERATING_SYSTEMS

ERROR_FILE_NOT_FOUND = 2  # StdRegProv Get*Value for a missing key or value [W32 wmi] stdregprov
ERROR_ACCESS_DENIED = 5
ERROR_PRIVILEGE_NOT_HELD = 1314  # System Error Codes; that Win32ShutdownTracker answers it is ASSUMED
# EnumValues Types: the REG_* constants of WinReg.h, as the EnumValues page's example uses them.
REG_TYPES = {"REG_SZ": 1, "REG_EXPAND_SZ": 2, "REG_BINARY": 3, "REG_DWORD": 4, "REG_MULTI_SZ": 7,
             "REG_QWORD": 11}
# Win32_Service method results [W32 wmi] startservice-method-in-class-win32-service and
# stopservice-...: 5 = the control cannot be sent in this state (the StopService page's example
# reads it as "already stopped"), 10 = already running, 14 = the service is disabled.
SERVICE_CANNOT_ACCEPT_CONTROL, SERVICE_ALREADY_RUNNING, SERVICE_DISABLED = 5, 10, 14


def _dmtf(iso: str) -> str:
    moment = dt.datetime.fromisoformat(iso).astimezone(dt.timezone.utc)
    return moment.strftime("%Y%m%d%H%M%S.000000+000")


def _os(host):
    caption, version = OPERATING_SYSTEMS[host.state["os"]][:2]
    return [{
        "Caption": caption, "Version": version, "BuildNumber": version.rsplit(".", 1)[-1],
        "CSName": host.name.upper(), "LastBootUpTime": _dmtf(host.state["boot_time"]),
        "ProductType": 3,  # 3 = Server [W32 wmi] win32-operatingsystem
        # [W32 wmi] win32-operatingsystem: OSType 18 WINNT, OperatingSystemSKU 7 PRODUCT_STANDARD_SERVER (the lab's
        # editions are Standard), Manufacturer "Microsoft Corporation" for Windows. 64-bit (every lab OS is 64-bit
        # only) and Primary true (one OS per host) are ASSUMED.
        "OSType": 18, "OperatingSystemSKU": 7, "Manufacturer": "Microsoft Corporation", "OSArchitecture": "64-bit",
        "Primary": True,
    }]


def _computer_system(host):
    domain = host.state.get("domain")
    return [{
        "Name": host.name.upper(), "Domain": domain or "WORKGROUP", "PartOfDomain": bool(domain),
        "Workgroup": None if domain else "WORKGROUP",
        "DomainRole": 3 if domain else 2,  # 3 member server, 2 standalone server [W32 wmi]
    }]


def _services(host):
    return [{"Name": name, "DisplayName": s["display_name"], "State": s["state"], "StartMode": s["start_mode"],
             "Started": s["state"] == "Running"}  # [W32 wmi] win32-service: whether the service is started
            for name, s in host.state["services"].items()]


def _service(host, instance):
    return host.state["services"][instance["Name"]]


def start_service(host, instance, _args):
    service = _service(host, instance)
    if service["state"] == "Running":
        return SERVICE_ALREADY_RUNNING, {}
    if service["start_mode"] == "Disabled":
        return SERVICE_DISABLED, {}
    service["state"] = "Running"
    return 0, {}


def stop_service(host, instance, _args):
    service = _service(host, instance)
    if service["state"] == "Stopped":
        return SERVICE_CANNOT_ACCEPT_CONTROL, {}
    service["state"] = "Stopped"  # the lab's services have no dependents (code 3 never arises)
    return 0, {}


# --- Win32_OperatingSystem.Win32ShutdownTracker ----------------------------------------------------

def shutdown_tracker(host, _instance, args):
    """Only restarts are modelled; log off, shutdown and power off would leave nothing to test
    against, so they are refused with WBEM_E_NOT_SUPPORTED (ASSUMED: not a Windows answer)."""
    if args.get("Flags") not in power.REBOOT_FLAGS:
        return WBEM_E_NOT_SUPPORTED, {}
    # [W32 wmi] Remarks: "The calling process must have the SE_SHUTDOWN_NAME privilege" (enabled for the
    # call: the bridge's 'privileges'); the code Windows answers without it is ASSUMED.
    if "seshutdownprivilege" not in host.privileges_enabled:
        return ERROR_PRIVILEGE_NOT_HELD, {}
    return power.schedule(host, args.get("Timeout") or 0, args.get("Comment"), args.get("ReasonCode")), {}


def change_start_mode(host, instance, args):
    mode = args.get("StartMode")
    if mode not in ("Boot", "System", "Automatic", "Manual", "Disabled"):
        return 21, {}  # 21 = invalid parameter [W32 wmi] changestartmode
    _service(host, instance)["start_mode"] = "Auto" if mode == "Automatic" else mode
    return 0, {}


# --- StdRegProv: HKLM only ----------------------------------------------------------------------

def _reg(kind, out_name):
    def get(host, _instance, args):
        if args.get("hDefKey", HKLM) != HKLM:
            return ERROR_ACCESS_DENIED, {out_name: None}
        entry = host.reg_get(args.get("sSubKeyName") or "", args.get("sValueName") or "")
        if entry is None or entry["type"] != kind:
            return ERROR_FILE_NOT_FOUND, {out_name: None}
        return 0, {out_name: entry["data"]}
    return get


def _reg_set(kind, in_name):
    def set_(host, _instance, args):
        if args.get("hDefKey", HKLM) != HKLM:
            return ERROR_ACCESS_DENIED, {}
        key = args.get("sSubKeyName") or ""
        if not host.reg_key_exists(key):
            return ERROR_FILE_NOT_FOUND, {}  # Set*Value does not create keys; CreateKey does
        data = args.get(in_name)
        host.reg_set(key, args.get("sValueName") or "", kind, list(data or []) if kind == "REG_MULTI_SZ" else data)
        return 0, {}
    return set_


def enum_values(host, _instance, args):
    """[W32 wmi] enumvalues: names and types, null when the key has only its default value.
    A missing key answers 2 like Get*Value (ASSUMED: the page gives no code)."""
    if args.get("hDefKey", HKLM) != HKLM:
        return ERROR_ACCESS_DENIED, {"sNames": None, "Types": None}
    values = host.reg_values(args.get("sSubKeyName") or "")
    if values is None:
        return ERROR_FILE_NOT_FOUND, {"sNames": None, "Types": None}
    if not values:
        return 0, {"sNames": None, "Types": None}
    return 0, {"sNames": [v["name"] for v in values], "Types": [REG_TYPES[v["type"]] for v in values]}


def enum_key(host, _instance, args):
    """[W32 wmi] enumkey: the subkeys' names, null when there are none. A missing key answers 2 like
    Get*Value (ASSUMED: the page gives no code); names come back in lower case (the lab's storage)."""
    if args.get("hDefKey", HKLM) != HKLM:
        return ERROR_ACCESS_DENIED, {"sNames": None}
    key = args.get("sSubKeyName") or ""
    if not host.reg_key_exists(key) and not host.reg_has_subkeys(key):
        return ERROR_FILE_NOT_FOUND, {"sNames": None}
    return 0, {"sNames": host.reg_subkeys(key) or None}


def delete_key(host, _instance, args):
    """[W32 wmi] deletekey: WinError.h codes. 2 for a missing key (ASSUMED, as Get*Value); 5 for a
    key with subkeys, as RegDeleteKey answers ([MS-RRP] 3.1.5.8 BaseRegDeleteKey; that StdRegProv passes
    it on is ASSUMED)."""
    if args.get("hDefKey", HKLM) != HKLM:
        return ERROR_ACCESS_DENIED, {}
    key = args.get("sSubKeyName") or ""
    if not host.reg_key_exists(key):
        return ERROR_FILE_NOT_FOUND, {}
    if host.reg_has_subkeys(key):
        return ERROR_ACCESS_DENIED, {}
    host.reg_delete_key(key)
    return 0, {}


def create_key(host, _instance, args):
    key = args.get("sSubKeyName") or ""
    parts = key.split("\\")
    for i in range(1, len(parts) + 1):  # CreateKey creates the missing parents too
        host.reg_create_key("\\".join(parts[:i]))
    return 0, {}


def delete_value(host, _instance, args):
    found = host.reg_delete(args.get("sSubKeyName") or "", args.get("sValueName") or "")
    return (0 if found else ERROR_FILE_NOT_FOUND), {}


def check_access(host, _instance, args):
    """[W32 wmi] checkaccess-method-in-class-stdregprov: bGranted true when the caller holds the rights asked for.
    The lab's caller is an administrator, who holds every right on HKLM keys (ASSUMED: every DACL the lab models
    grants Administrators full control);
    a missing key answers 2 like Get*Value (ASSUMED)."""
    if args.get("hDefKey", HKLM) != HKLM:
        return ERROR_ACCESS_DENIED, {"bGranted": False}
    key = args.get("sSubKeyName") or ""
    if not host.reg_key_exists(key) and not host.reg_has_subkeys(key):
        return ERROR_FILE_NOT_FOUND, {"bGranted": False}
    return 0, {"bGranted": True}


# --- StdRegProv key security: GetSecurityDescriptor / SetSecurityDescriptor ----------------------------
# [W32 wmi] getsecuritydescriptor- and setsecuritydescriptor-method-in-class-stdregprov; the descriptor is a
# __SecurityDescriptor of __ACE and __Trustee ([W32 wmisdk] --securitydescriptor, --ace, --trustee). A key
# without a descriptor of its own inherits its parent's inheritable ACEs ([SYS] registry-key-security-and-
# access-rights: "The ACLs in a default security descriptor for a key are inherited from its direct parent
# key"). The hive's top keys carry SOFTWARE_DACL (ASSUMED, below). state["registry_security"] holds the
# descriptors set: {key: {"protected": bool, "aces": [{"sid", "mask", "type", "flags"}]}}.
KEY_ALL_ACCESS, KEY_READ, KEY_QUERY_VALUE = 0xF003F, 0x20019, 0x1  # registry-key-security-and-access-rights
CONTAINER_INHERIT_ACE, INHERITED_ACE = 0x2, 0x10  # ACE_HEADER AceFlags (winnt.h)
SE_DACL_PRESENT, SE_DACL_AUTO_INHERITED, SE_DACL_PROTECTED, SE_SELF_RELATIVE = 0x4, 0x400, 0x1000, 0x8000
ERROR_INVALID_PARAMETER = 87
# HKLM\SOFTWARE's DACL as a fresh Windows Server has it: SYSTEM and Administrators full control, Users read,
# each inherited by subkeys. ASSUMED from the default permission tables of the Windows Registry Guide
# (Microsoft Press, "Mapping Default Permissions"): no Microsoft reference page lists it.
SOFTWARE_DACL = (("S-1-5-18", KEY_ALL_ACCESS), ("S-1-5-32-544", KEY_ALL_ACCESS), ("S-1-5-32-545", KEY_READ))
ACCOUNTS = {"S-1-5-18": ("NT AUTHORITY", "SYSTEM"), "S-1-5-32-544": ("BUILTIN", "Administrators"),
            "S-1-5-32-545": ("BUILTIN", "Users")}


def key_security(host, key: str) -> dict:
    """{"protected", "dacl"}: the key's effective DACL, its own ACEs then those it inherits."""
    key = key.lower().rstrip("\\")
    own = host.state.get("registry_security", {}).get(key) or {"protected": False, "aces": []}
    if own["protected"]:
        return {"protected": True, "dacl": list(own["aces"])}
    if "\\" not in key:
        inherited = [{"sid": sid, "mask": mask, "type": 0, "flags": CONTAINER_INHERIT_ACE} for sid, mask in SOFTWARE_DACL]
    else:
        inherited = [dict(a, flags=a["flags"] | INHERITED_ACE) for a in key_security(host, key.rsplit("\\", 1)[0])["dacl"]
                     if a["flags"] & CONTAINER_INHERIT_ACE]
    return {"protected": False, "dacl": list(own["aces"]) + inherited}


def can_read_values(host, key: str, sid: str) -> bool:
    """Whether an access-allowed ACE gives `sid` KEY_QUERY_VALUE on the key (the lab has no deny ACEs)."""
    return any(a["type"] == 0 and a["sid"] == sid and a["mask"] & KEY_QUERY_VALUE
               for a in key_security(host, key)["dacl"])


def _sid_bytes(sid: str) -> list[int]:
    parts = [int(p) for p in sid.split("-")[1:]]
    return [parts[0], len(parts) - 2] + list(parts[1].to_bytes(6, "big")) + \
        [b for sub in parts[2:] for b in sub.to_bytes(4, "little")]


def _sid_text(data) -> str:
    data = bytes(data)
    subs = [int.from_bytes(data[8 + 4 * i:12 + 4 * i], "little") for i in range(data[1])]
    return f"S-{data[0]}-{int.from_bytes(data[2:8], 'big')}" + "".join(f"-{s}" for s in subs)


def _trustee(sid: str) -> dict:
    domain, name = ACCOUNTS.get(sid, (None, None))
    binary = _sid_bytes(sid)
    return {"Domain": domain, "Name": name, "SID": binary, "SidLength": len(binary), "SidString": sid,
            "TIME_CREATED": None}


def get_security_descriptor(host, _instance, args):
    """The DACL only (no SACL without SeSecurityPrivilege, the method pages' Remarks); Owner Administrators and
    Group SYSTEM, ASSUMED."""
    if args.get("hDefKey", HKLM) != HKLM:
        return ERROR_ACCESS_DENIED, {"Descriptor": None}
    key = args.get("sSubKeyName") or ""
    if not host.reg_key_exists(key):
        return ERROR_FILE_NOT_FOUND, {"Descriptor": None}
    security = key_security(host, key)
    control = SE_DACL_PRESENT | SE_SELF_RELATIVE | (SE_DACL_PROTECTED if security["protected"] else SE_DACL_AUTO_INHERITED)
    dacl = [{"AccessMask": a["mask"], "AceFlags": a["flags"], "AceType": a["type"], "GuidInheritedObjectType": None,
             "GuidObjectType": None, "TIME_CREATED": None, "Trustee": _trustee(a["sid"])} for a in security["dacl"]]
    owner, group = ({"AccessMask": 0, "AceFlags": 0, "AceType": 0, "Trustee": _trustee(sid)}
                    for sid in ("S-1-5-32-544", "S-1-5-18"))
    return 0, {"Descriptor": {"ControlFlags": control, "DACL": dacl, "Owner": owner, "Group": group, "SACL": None,
                              "TIME_CREATED": None}}


def set_security_descriptor(host, _instance, args):
    """SE_DACL_PRESENT replaces the key's DACL with the descriptor's, SE_DACL_PROTECTED stops inheritance; without
    SE_DACL_PRESENT the DACL stays (the method pages' Remarks). An ACE whose trustee has neither SID nor SidString
    answers 87 ERROR_INVALID_PARAMETER (ASSUMED)."""
    if args.get("hDefKey", HKLM) != HKLM:
        return ERROR_ACCESS_DENIED, {}
    key = args.get("sSubKeyName") or ""
    if not host.reg_key_exists(key):
        return ERROR_FILE_NOT_FOUND, {}
    descriptor = args.get("Descriptor") or {}
    control = descriptor.get("ControlFlags") or 0
    if not control & SE_DACL_PRESENT:
        return 0, {}
    aces = []
    for ace in descriptor.get("DACL") or []:
        trustee = ace.get("Trustee") or {}
        sid = _sid_text(trustee["SID"]) if trustee.get("SID") else trustee.get("SidString")
        if not sid:
            return ERROR_INVALID_PARAMETER, {}
        if (ace.get("AceFlags") or 0) & INHERITED_ACE:
            continue  # inherited from the parent, not the key's own: kept by inheritance unless protected
        aces.append({"sid": sid, "mask": ace.get("AccessMask") or 0, "type": ace.get("AceType") or 0,
                     "flags": ace.get("AceFlags") or 0})
    host.state.setdefault("registry_security", {})[key.lower().rstrip("\\")] = {
        "protected": bool(control & SE_DACL_PROTECTED), "aces": aces}
    return 0, {}


def _shutdown_tracker_method() -> Method:
    params = [Param("Timeout", "uint32"), Param("Comment", "string"), Param("ReasonCode", "uint32"),
              Param("Flags", "sint32")]
    return Method("Win32ShutdownTracker", params, False, shutdown_tracker,
                  source="[W32 wmi] win32shutdowntracker-method-in-class-win32-operatingsystem: Flags 2 and 6 "
                         "(reboot) only; restart timing ASSUMED (rdlab.model.power)")


def _service_methods() -> list[Method]:
    page = "[W32 wmi] {}-method-in-class-win32-service"
    return [
        Method("StartService", [], False, start_service,
               source=page.format("startservice") + ": 0, 10 already running, 14 disabled"),
        Method("StopService", [], False, stop_service,
               source=page.format("stopservice") + ": 0, 5 when already stopped (the page's example)"),
        Method("ChangeStartMode", [Param("StartMode", "string")], False, change_start_mode,
               source=page.format("changestartmode")),
    ]


def _registry_methods() -> list[Method]:
    key_params = [Param("hDefKey", "uint32"), Param("sSubKeyName", "string"), Param("sValueName", "string")]
    page = "[W32 wmi] {}-method-in-class-stdregprov"
    specs = [
        ("GetDWORDValue", key_params + [Param("uValue", "uint32", "out")], _reg("REG_DWORD", "uValue")),
        ("GetStringValue", key_params + [Param("sValue", "string", "out")], _reg("REG_SZ", "sValue")),
        ("GetMultiStringValue", key_params + [Param("sValue", "string[]", "out")], _reg("REG_MULTI_SZ", "sValue")),
        ("SetDWORDValue", key_params + [Param("uValue", "uint32")], _reg_set("REG_DWORD", "uValue")),
        ("SetStringValue", key_params + [Param("sValue", "string")], _reg_set("REG_SZ", "sValue")),
        # The page's MOF says "Variant sValue[]", described as "an array of string data values".
        ("SetMultiStringValue", key_params + [Param("sValue", "string[]")], _reg_set("REG_MULTI_SZ", "sValue")),
        ("EnumValues", key_params[:2] + [Param("sNames", "string[]", "out"), Param("Types", "sint32[]", "out")],
         enum_values),
        ("EnumKey", key_params[:2] + [Param("sNames", "string[]", "out")], enum_key),
        ("CreateKey", key_params[:2], create_key),
        ("DeleteKey", key_params[:2], delete_key),
        ("DeleteValue", key_params, delete_value),
        # The rest of the class's documented methods (issue 15), each from its page.
        ("GetQWORDValue", key_params + [Param("uValue", "uint64", "out")], _reg("REG_QWORD", "uValue")),
        ("SetQWORDValue", key_params + [Param("uValue", "uint64")], _reg_set("REG_QWORD", "uValue")),
        ("GetExpandedStringValue", key_params + [Param("sValue", "string", "out")], _reg("REG_EXPAND_SZ", "sValue")),
        ("SetExpandedStringValue", key_params + [Param("sValue", "string")], _reg_set("REG_EXPAND_SZ", "sValue")),
        ("GetBinaryValue", key_params + [Param("uValue", "uint8[]", "out")], _reg("REG_BINARY", "uValue")),
        ("SetBinaryValue", key_params + [Param("uValue", "uint8[]")], _reg_set("REG_BINARY", "uValue")),
        ("CheckAccess", key_params[:2] + [Param("uRequired", "uint32"), Param("bGranted", "boolean", "out")],
         check_access),
        ("GetSecurityDescriptor", key_params[:2] + [Param("Descriptor", "object:__SecurityDescriptor", "out")],
         get_security_descriptor),
        ("SetSecurityDescriptor", key_params[:2] + [Param("Descriptor", "object:__SecurityDescriptor")],
         set_security_descriptor),
    ]
    return [Method(name, params, True, impl, source=page.format(name.lower())) for name, params, impl in specs]


def classes() -> list[CimClass]:
    wmi = "[W32 wmi] {}"
    return [
        CimClass("root/cimv2", "Win32_OperatingSystem", keys=[], enumerate=_os, source=wmi.format("win32-operatingsystem"),
                 properties=[Prop(n, t) for n, t in [("Caption", "string"), ("Version", "string"),
                             ("BuildNumber", "string"), ("CSName", "string"), ("LastBootUpTime", "datetime"),
                             ("ProductType", "uint32")]] + [
                     Prop(n, t, source=wmi.format("win32-operatingsystem") + note) for n, t, note in [
                         ("OSType", "uint16", ": 18 WINNT"), ("OperatingSystemSKU", "uint32", ": 7 Standard Server"),
                         ("Manufacturer", "string", ": Microsoft Corporation")]] + [
                     Prop(n, t, status=ASSUMED, source=wmi.format("win32-operatingsystem") + note) for n, t, note in [
                         ("OSArchitecture", "string", ": 64-bit, every lab OS is 64-bit only"),
                         ("Primary", "boolean", ": true, one OS per host")]],
                 methods=[_shutdown_tracker_method()],
                 notes="LastBootUpTime moves when a restart completes."),
        CimClass("root/cimv2", "Win32_ComputerSystem", keys=["Name"], enumerate=_computer_system,
                 source=wmi.format("win32-computersystem"),
                 properties=[Prop(n, t) for n, t in [("Name", "string"), ("Domain", "string"),
                             ("PartOfDomain", "boolean"), ("Workgroup", "string"), ("DomainRole", "uint16")]]),
        CimClass("root/cimv2", "Win32_Service", keys=["Name"], enumerate=_services, source=wmi.format("win32-service"),
                 properties=[Prop(n, "string") for n in ("Name", "DisplayName", "State", "StartMode")] +
                 [Prop("Started", "boolean", source=wmi.format("win32-service") + ": State Running")],
                 methods=_service_methods(),
                 notes="Only services the lab models (TermServLicensing) exist. A restart starts Auto services "
                       "and leaves the others stopped."),
        CimClass("root/default", "StdRegProv", keys=[], source=wmi.format("stdregprov"), properties=[],
                 methods=_registry_methods(),
                 notes="HKEY_LOCAL_MACHINE only; other hives return 5 (access denied), ASSUMED.",
                 status=DOCUMENTED),
    ]


FIDELITY_NOTES = [
    ("StdRegProv", "hives other than HKLM", ASSUMED, "answer 5 (access denied)"),
    ("StdRegProv", "EnumKey answers subkey names as they were first created", OBSERVED,
     "Windows keeps a key's case; a lab state file written before issue 15 kept none, and its keys answer in "
     "lower case"),
    ("StdRegProv", "access checks", ASSUMED,
     "CheckAccess does not evaluate the key's DACL: it grants every right on an existing HKLM key to the lab's "
     "caller, an administrator, whom every DACL the collection sets also grants full control"),
    ("StdRegProv", "EnumValues, EnumKey and DeleteKey on a missing key", ASSUMED,
     "answer 2 (file not found), as Get*Value does; their pages give no code"),
    ("StdRegProv", "DeleteKey on a key that has subkeys", ASSUMED,
     "answers 5 (access denied), what RegDeleteKey returns (Microsoft's Remote Registry Protocol spec "
     "[MS-RRP] 3.1.5.8 BaseRegDeleteKey)"),
    ("StdRegProv", "HKLM\\SOFTWARE's DACL, which new keys under it inherit", ASSUMED,
     "SYSTEM and Administrators full control, Users read (KEY_READ), all inherited by subkeys: the Windows Registry "
     "Guide's default permission tables; no Microsoft reference page lists them. Registry-key-security-and-access-"
     "rights documents that a new key inherits its parent's ACLs"),
    ("StdRegProv", "GetSecurityDescriptor's Owner and Group", ASSUMED,
     "Administrators and SYSTEM; the method pages give no example"),
    ("StdRegProv", "SetSecurityDescriptor with an ACE whose trustee has neither SID nor SidString", ASSUMED,
     "answers 87 ERROR_INVALID_PARAMETER"),
    ("Win32_OperatingSystem", "Win32ShutdownTracker with Flags other than 2 and 6 (log off, shutdown, power off)",
     ASSUMED, "not modelled: answers 0x8004100C WBEM_E_NOT_SUPPORTED, which is not a Windows answer"),
    ("Win32_OperatingSystem", "Win32ShutdownTracker without SeShutdownPrivilege enabled for the call", ASSUMED,
     "answers 1314 ERROR_PRIVILEGE_NOT_HELD (System Error Codes); the page says only that the caller must have "
     "SE_SHUTDOWN_NAME"),
    ("Win32_OperatingSystem", "Win32ShutdownTracker while a restart is already scheduled", ASSUMED,
     "answers 1115 ERROR_SHUTDOWN_IN_PROGRESS (System Error Codes, to which the method page refers)"),
    ("Win32_OperatingSystem", "restart duration: host state key reboot_seconds, default 3", ASSUMED,
     "in no source; the host goes down Timeout seconds after the call [W32 wmi] and drops every WinRM "
     "exchange until it is back"),
    ("Win32_OperatingSystem", "Win32ShutdownTracker with the Force flag (6)", ASSUMED,
     "the page calls the return value indeterminate; the lab answers 0 and the restart is the same as with 2"),
]
