"""Base Windows classes the collection reads: Win32_OperatingSystem, Win32_ComputerSystem,
Win32_Service (root/cimv2) and StdRegProv (root/default).

Sources: the Win32 provider pages ([W32 wmi] win32-operatingsystem, win32-computersystem,
win32-service, stdregprov). Only the properties and methods the collection uses are modelled.
"""

from __future__ import annotations

import datetime as dt

from .cim import ASSUMED, DOCUMENTED, CimClass, Method, Param, Prop
from .host import HKLM, OPERATING_SYSTEMS

ERROR_FILE_NOT_FOUND = 2  # StdRegProv Get*Value for a missing key or value [W32 wmi] stdregprov
ERROR_ACCESS_DENIED = 5


def _dmtf(iso: str) -> str:
    moment = dt.datetime.fromisoformat(iso).astimezone(dt.timezone.utc)
    return moment.strftime("%Y%m%d%H%M%S.000000+000")


def _os(host):
    caption, version, _ = OPERATING_SYSTEMS[host.state["os"]]
    return [{
        "Caption": caption, "Version": version, "BuildNumber": version.rsplit(".", 1)[-1],
        "CSName": host.name.upper(), "LastBootUpTime": _dmtf(host.state["boot_time"]),
        "ProductType": 3,  # 3 = Server [W32 wmi] win32-operatingsystem
    }]


def _computer_system(host):
    domain = host.state.get("domain")
    return [{
        "Name": host.name.upper(), "Domain": domain or "WORKGROUP", "PartOfDomain": bool(domain),
        "Workgroup": None if domain else "WORKGROUP",
        "DomainRole": 3 if domain else 2,  # 3 member server, 2 standalone server [W32 wmi]
    }]


def _services(host):
    return [{"Name": name, "DisplayName": s["display_name"], "State": s["state"], "StartMode": s["start_mode"]}
            for name, s in host.state["services"].items()]


def _service(host, instance):
    return host.state["services"][instance["Name"]]


def start_service(host, instance, _args):
    _service(host, instance)["state"] = "Running"
    return 0, {}  # 0 = success; 10 = already running [W32 wmi] startservice (not modelled)


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
        host.reg_set(key, args.get("sValueName") or "", kind, args.get(in_name))
        return 0, {}
    return set_


def create_key(host, _instance, args):
    key = args.get("sSubKeyName") or ""
    parts = key.split("\\")
    for i in range(1, len(parts) + 1):  # CreateKey creates the missing parents too
        host.reg_create_key("\\".join(parts[:i]))
    return 0, {}


def delete_value(host, _instance, args):
    found = host.reg_delete(args.get("sSubKeyName") or "", args.get("sValueName") or "")
    return (0 if found else ERROR_FILE_NOT_FOUND), {}


def classes() -> list[CimClass]:
    wmi = "[W32 wmi] {}"
    key_params = [Param("hDefKey", "uint32"), Param("sSubKeyName", "string"), Param("sValueName", "string")]
    return [
        CimClass("root/cimv2", "Win32_OperatingSystem", keys=[], enumerate=_os, source=wmi.format("win32-operatingsystem"),
                 properties=[Prop(n, t) for n, t in [("Caption", "string"), ("Version", "string"),
                             ("BuildNumber", "string"), ("CSName", "string"), ("LastBootUpTime", "datetime"),
                             ("ProductType", "uint32")]]),
        CimClass("root/cimv2", "Win32_ComputerSystem", keys=["Name"], enumerate=_computer_system,
                 source=wmi.format("win32-computersystem"),
                 properties=[Prop(n, t) for n, t in [("Name", "string"), ("Domain", "string"),
                             ("PartOfDomain", "boolean"), ("Workgroup", "string"), ("DomainRole", "uint16")]]),
        CimClass("root/cimv2", "Win32_Service", keys=["Name"], enumerate=_services, source=wmi.format("win32-service"),
                 properties=[Prop(n, "string") for n in ("Name", "DisplayName", "State", "StartMode")],
                 methods=[Method("StartService", [], False, start_service),
                          Method("ChangeStartMode", [Param("StartMode", "string")], False, change_start_mode)],
                 notes="Only services the lab models (TermServLicensing) exist."),
        CimClass("root/default", "StdRegProv", keys=[], source=wmi.format("stdregprov"), properties=[],
                 methods=[
                     Method("GetDWORDValue", key_params + [Param("uValue", "uint32", "out")], True,
                            _reg("REG_DWORD", "uValue")),
                     Method("GetStringValue", key_params + [Param("sValue", "string", "out")], True,
                            _reg("REG_SZ", "sValue")),
                     Method("GetMultiStringValue", key_params + [Param("sValue", "string[]", "out")], True,
                            _reg("REG_MULTI_SZ", "sValue")),
                     Method("SetDWORDValue", key_params + [Param("uValue", "uint32")], True,
                            _reg_set("REG_DWORD", "uValue")),
                     Method("SetStringValue", key_params + [Param("sValue", "string")], True,
                            _reg_set("REG_SZ", "sValue")),
                     Method("CreateKey", key_params[:2], True, create_key),
                     Method("DeleteValue", key_params, True, delete_value),
                 ], notes="HKEY_LOCAL_MACHINE only; other hives return 5 (access denied), ASSUMED.",
                 status=DOCUMENTED),
    ]


FIDELITY_NOTES = [("StdRegProv", "hives other than HKLM", ASSUMED, "answer 5 (access denied)")]
