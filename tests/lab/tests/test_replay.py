"""Replay, in the style of public scripts (a licensing data collector, monitoring plugins, setup scripts), a broad set
of read and write calls against every class on the bridge's allowlist (issue 15 item 4): a full Get, a WQL projection
of every documented property, and every documented method with its documented in-parameters. The calls are
written here from Microsoft's pages (rdlab/schema/cim_schema.json), not copied from any script.

Each call goes through the raw CIM model and through the lab's host_bridge mirror, and every documented property
and out-parameter must come back, spelt as Windows spells it. Through the bridge as shipped, a method that is not on
its allowlist is refused (the bridge restricts what may be asked; the lab models what Windows would answer).
"""

import re

import pytest
from rdlab.model import licensing, unmodelled
from rdlab.model.cim import NotModelled
from rdlab.model.host import HKLM, Host, new_host_state
from rdlab.model.repository import REPOSITORY
from rdlab.modules import host_bridge as bridge
from rdlab.modules.host_bridge import read_allowlist, read_tables
from rdlab.schema import SCHEMA
from test_model_helpers import CONTACT, SOURCE, WIDE_SOURCE

SCRATCH_KEY = r"SOFTWARE\Ansible\RemoteDesktopLicensing"  # on the bridge's registry allowlist
READ_KEY = r"SOFTWARE\Microsoft\Windows NT\CurrentVersion"
# What a script passes, where a value by type alone would not make a sensible call.
ARGUMENTS = {
    "hDefKey": HKLM, "sSubKeyName": SCRATCH_KEY, "sValueName": "Replay", "uRequired": 1,  # KEY_QUERY_VALUE
    "LicensingType": 4, "SpecifiedLSList": ["ls1"], "ServerName": "ls1", "LicenseServerName": "ls1",
    "AllowTSConnections": 1, "ModifyFirewallException": 0, "tsname": "sh1", "Domain": "corp.example",
    "ServerRole": 1, "Reason": 1, "StartMode": "Automatic", "Timeout": 0, "Comment": "replay", "ReasonCode": 0,
    "Flags": 2, "AgreementType": 0, "sAgreementNumber": "1234567", "ProductVersion": 7, "ProductType": 0,
    "LicenseCount": 5, "StartIndex": 0, "Count": 10,
}
BY_TYPE = {"uint8": 1, "uint16": 0, "uint32": 0, "uint64": 2 ** 33, "sint32": 0, "boolean": False, "string": "replay"}
# StdRegProv calls in a script's order: create the key, write, read, then clean up.
FIRST, LAST = ("CreateKey",), ("DeleteValue", "DeleteKey", "DeleteReport")
# Instances a call acts on, as a script selects them (Win32_Service: the bridge allows named services only).
FILTERS = {"Win32_Service": "Name = 'TermServLicensing'"}


def allowlisted():
    return [(ns, cls.name) for ns, classes in read_allowlist(SOURCE).items() for name in classes
            for cls in [REPOSITORY.get(ns, name)]]


def fresh_host():
    """A domain server with both roles, an activated license server with a CAL pack and issued CALs."""
    host = Host(new_host_state("sh1", roles=("license_server", "session_host"), domain="corp.example"))
    server = REPOSITORY.get_instances(host, "root/cimv2", "Win32_TSLicenseServer")[1][0]
    REPOSITORY.put(host, "root/cimv2", "Win32_TSLicenseServer", server, CONTACT)
    assert REPOSITORY.invoke(host, "root/cimv2", "Win32_TSLicenseServer", "ActivateServerAutomatic", {})["ReturnValue"] == 0
    installed = REPOSITORY.invoke(host, "root/cimv2", "Win32_TSLicenseKeyPack", "InstallAgreementLicenseKeyPack", {
        "AgreementType": 0, "sAgreementNumber": "7654321", "ProductVersion": 7, "ProductType": 0, "LicenseCount": 10})
    licensing.issue_licenses(host, installed["KeyPackId"], 2)
    # A usage report exists, as on a server where RD Licensing Manager made one (the Fetch* methods act on it).
    assert REPOSITORY.invoke(host, "root/cimv2", "Win32_TSLicenseReport", "GenerateReportEx", {})["ReturnValue"] == 0
    return host


def in_arguments(method: dict) -> dict:
    args = {}
    for param in (p for p in method["params"] if p["direction"] in ("in", "inout")):
        if param["name"] in ARGUMENTS:
            args[param["name"]] = ARGUMENTS[param["name"]]
        elif param["type"].endswith("[]"):
            args[param["name"]] = [BY_TYPE[param["type"][:-2]]] if param["type"][:-2] in BY_TYPE else []
        elif param["type"] in BY_TYPE:
            args[param["name"]] = BY_TYPE[param["type"]]
    return args


def calls(namespace, class_name):
    """(method's schema entry, in-arguments) for every documented method, in a script's order."""
    methods = SCHEMA.find_class(namespace, class_name)["methods"]
    order = {name: i for i, name in enumerate(FIRST)} | {name: 100 + i for i, name in enumerate(LAST)}
    return [(m, in_arguments(m)) for m in sorted(methods, key=lambda m: order.get(m["name"], 50))]


def documented_properties(namespace, class_name):
    return [p["name"] for p in SCHEMA.find_class(namespace, class_name)["properties"]]


def out_names(method: dict) -> set[str]:
    return {p["name"] for p in method["params"] if p["direction"] in ("out", "inout")}


def check_embedded(method: dict, out: dict) -> None:
    """Embedded objects (FindLicenseServers' Win32_TSDiscoveredLicenseServer) carry every property, in Windows's case."""
    for param in (p for p in method["params"] if p["direction"] == "out" and p["type"].startswith("object:")):
        class_name = param["type"][7:].rstrip("[]")
        if class_name.startswith("__"):  # WMI system classes (__SecurityDescriptor) are not in the TermServ schema
            continue
        embedded = (SCHEMA.find_class("root/cimv2/TerminalServices", class_name)
                    or SCHEMA.find_class("root/cimv2", class_name))  # the usage report's entry classes
        for item in out.get(param["name"]) or []:
            assert set(item) == {p["name"] for p in embedded["properties"]}, (method["name"], item)


def instance_of(host, namespace, class_name):
    return REPOSITORY.get_instances(host, namespace, class_name, FILTERS.get(class_name))[1][0]


# --- the raw CIM model -----------------------------------------------------------------------------

@pytest.mark.parametrize("namespace, class_name", allowlisted())
def test_every_documented_property_comes_back_from_the_model(namespace, class_name):
    host = fresh_host()
    names = documented_properties(namespace, class_name)
    instances = REPOSITORY.get_instances(host, namespace, class_name, FILTERS.get(class_name))[1]
    for instance in instances:
        assert set(instance) == set(names)  # every property, spelt as Windows spells it
    for name in names:  # SELECT <name> FROM <class>: a script's projection of one property
        projected = REPOSITORY.get_instances(host, namespace, class_name, FILTERS.get(class_name), [name.lower()])[1]
        assert all(name in i for i in projected) and len(projected) == len(instances)


@pytest.mark.parametrize("namespace, class_name", allowlisted())
def test_every_documented_method_answers_with_its_out_parameters(namespace, class_name):
    host = fresh_host()
    model = REPOSITORY.get(namespace, class_name)
    refused = []
    for method, args in calls(namespace, class_name):
        modelled = model.method(method["name"])
        if modelled is None:
            with pytest.raises(NotModelled, match=re.escape(unmodelled.reason(class_name, method["name"]))):
                REPOSITORY.invoke(host, namespace, class_name, method["name"], args)
            refused.append(method["name"])
            continue
        instance = None if modelled.static else instance_of(host, namespace, class_name)
        result = REPOSITORY.invoke(host, namespace, class_name, method["name"], args, instance=instance)
        assert set(result) == {"ReturnValue"} | out_names(method), method["name"]
        check_embedded(method, result)
    listed = [m["name"] for m, _args in calls(namespace, class_name) if unmodelled.reason(class_name, m["name"])]
    assert refused == listed


# --- through the lab's host_bridge mirror ------------------------------------------------------------

def run(host, source, operations):
    return bridge.run(host, {"operations": [dict(op, id=str(i)) for i, op in enumerate(operations)]}, source)["results"]


def invoke_op(namespace, class_name, method, args):
    op = {"kind": "cim_invoke", "namespace": namespace, "class": class_name, "method": method["name"],
          "arguments": args}
    if not REPOSITORY.get(namespace, class_name).method(method["name"]) or \
            not REPOSITORY.get(namespace, class_name).method(method["name"]).static:
        op.update(instances=True, filter=FILTERS.get(class_name))
    return op


@pytest.mark.parametrize("namespace, class_name", [c for c in allowlisted() if documented_properties(*c)])
def test_reads_through_the_bridge_answer_every_documented_property(namespace, class_name):
    """(StdRegProv has no properties: scripts call its methods only.)"""
    host = fresh_host()
    names = documented_properties(namespace, class_name)
    target = {"namespace": namespace, "class": class_name, "filter": FILTERS.get(class_name)}
    reads = [dict(target, kind="cim_get")] + [dict(target, kind="cim_get", properties=[n]) for n in names]
    results = run(host, SOURCE, reads)
    assert all(r["ok"] for r in results), [r["error"] for r in results if not r["ok"]]
    assert all(set(i) == set(names) for i in results[0]["instances"])
    for name, result in zip(names, results[1:]):
        assert result["instances"] and all(name in i for i in result["instances"]), name


def answered(result) -> dict | None:
    """The out-parameters of a call the bridge made (success or a non-zero ReturnValue), else None."""
    if result["ok"]:
        return result["calls"][0]["out"] if "calls" in result else result["out"]
    return result["error"].get("out") if result["error"]["kind"] == "return_value" else None


@pytest.mark.parametrize("namespace, class_name", allowlisted())
def test_methods_through_the_bridge_as_shipped(namespace, class_name):
    """The bridge answers the methods on its own allowlist with every out-parameter and refuses the others."""
    host, tables = fresh_host(), read_tables(SOURCE)
    on_allowlist = {m.lower() for table in ("readOnlyMethods", "changingMethods")
                    for k, ms in tables[table].items() if k.lower() == class_name.lower() for m in ms}
    for method, args in calls(namespace, class_name):
        if class_name == "StdRegProv" and method["name"] in ("EnumKey", "EnumValues", "CheckAccess"):
            args = dict(args, sSubKeyName=READ_KEY)
        (result,) = run(host, SOURCE, [invoke_op(namespace, class_name, method, args)])
        if method["name"].lower() in on_allowlist:
            out = answered(result)
            assert out is not None and set(out) == out_names(method), (method["name"], result)
            check_embedded(method, out)
        else:
            assert result["error"]["kind"] == "not_allowed", (method["name"], result)


@pytest.mark.parametrize("namespace, class_name", allowlisted())
def test_every_modelled_method_through_a_bridge_that_allows_it(namespace, class_name):
    """With every modelled method on the bridge's allowlist, each answers with every out-parameter in Windows's
    case (the widened allowlist holds modelled methods only: the bridge refuses the others before asking)."""
    host = fresh_host()
    model = REPOSITORY.get(namespace, class_name)
    for method, args in calls(namespace, class_name):
        (result,) = run(host, WIDE_SOURCE, [invoke_op(namespace, class_name, method, args)])
        if model.method(method["name"]) is None:
            assert result["error"]["kind"] == "not_allowed", method["name"]  # not in WIDE_SOURCE's tables either
            continue
        out = answered(result)
        assert out is not None and set(out) == out_names(method), (method["name"], result)
        check_embedded(method, out)


def test_the_replay_covers_every_allowlisted_class():
    assert {name for _namespace, name in allowlisted()} == {
        "Win32_TSLicenseServer", "Win32_TSLicenseKeyPack", "Win32_TSIssuedLicense", "Win32_Service",
        "Win32_OperatingSystem", "Win32_ComputerSystem", "Win32_TerminalServiceSetting", "StdRegProv",
        "Win32_TSLicenseReport"}


def test_script_style_registry_reads_of_keys_every_server_has():
    host = fresh_host()

    def reg(method, key, **args):
        return REPOSITORY.invoke(host, "root/default", "StdRegProv", method, dict(hDefKey=HKLM, sSubKeyName=key, **args))
    version = {name: reg("GetStringValue", READ_KEY, sValueName=name)["sValue"]
               for name in ("ProductName", "CurrentVersion", "CurrentBuild", "CurrentBuildNumber", "InstallationType",
                            "EditionID")}
    assert version == {"ProductName": "Windows Server 2022 Standard", "CurrentVersion": "6.3", "CurrentBuild": "20348",
                       "CurrentBuildNumber": "20348", "InstallationType": "Server", "EditionID": "ServerStandard"}
    assert reg("GetDWORDValue", READ_KEY, sValueName="CurrentMajorVersionNumber")["uValue"] == 10
    terminal_server = r"SYSTEM\CurrentControlSet\Control\Terminal Server"
    assert reg("GetDWORDValue", terminal_server, sValueName="fDenyTSConnections") == {"ReturnValue": 0, "uValue": 1}
    assert reg("EnumKey", terminal_server)["sNames"] == ["RCM", "WinStations"]
    assert reg("EnumKey", terminal_server + r"\RCM")["sNames"] == ["Licensing Core"]
    assert reg("GetDWORDValue", terminal_server + r"\WinStations\RDP-Tcp", sValueName="PortNumber")["uValue"] == 3389


@pytest.mark.parametrize("os, caption, build", [("2012R2", "Windows Server 2012 R2 Standard", "9600"),
                                                ("2025", "Windows Server 2025 Standard", "26100")])
def test_current_version_follows_the_host_os_and_installation(os, caption, build):
    host = Host(new_host_state("core1", os=os, installation="core"))
    values = {v["name"]: v["data"] for v in host.reg_values(READ_KEY)}
    assert (values["ProductName"], values["CurrentBuild"], values["CurrentVersion"], values["InstallationType"]) == \
        (caption, build, "6.3", "Server Core")
    assert ("CurrentMajorVersionNumber" in values) == (os != "2012R2")  # 10.0-based releases only
