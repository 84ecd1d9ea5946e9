"""StdRegProv's key security in the lab, and the bridge's embedded instance arguments (issue 9: the CAL pack
marker key restricted to SYSTEM and Administrators).

The descriptor is built here as a caller would build it, never from plugin code: the lab learns Windows from
Microsoft's pages (__SecurityDescriptor, __ACE, __Trustee; StdRegProv Get/SetSecurityDescriptor).
"""

from __future__ import annotations

import json
from pathlib import Path

from rdlab.model import windows
from rdlab.model.host import Host, new_host_state
from rdlab.modules import host_bridge as mirror

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = (ROOT / "plugins/modules/host_bridge.ps1").read_text()
KEY = r"SOFTWARE\Ansible\RemoteDesktopLicensing"
REG = {"namespace": "root/default", "class": "StdRegProv", "kind": "cim_invoke"}
USERS, SYSTEM, ADMINISTRATORS = "S-1-5-32-545", "S-1-5-18", "S-1-5-32-544"


def run(host, *ops):
    args = {"operations": [dict(op, id=str(i)) for i, op in enumerate(ops)], "secrets": ""}
    return mirror.run(host, args, SCRIPT)["results"]


def instance(cim_class, properties, types=None):
    return {"cim_class": cim_class, "properties": properties, "types": types or {}}


def ace(sid, mask=0xF003F, flags=2):
    trustee = instance("__Trustee", {"SidString": sid})
    return instance("__ACE", {"AccessMask": mask, "AceFlags": flags, "AceType": 0, "Trustee": trustee},
                    {"AccessMask": "UInt32", "AceFlags": "UInt32", "AceType": "UInt32"})


def descriptor(*aces, control=0x1004):
    return instance("__SecurityDescriptor", {"ControlFlags": control, "DACL": list(aces)}, {"ControlFlags": "UInt32"})


def set_descriptor(value):
    return dict(REG, method="SetSecurityDescriptor",
                arguments={"hDefKey": 2147483650, "sSubKeyName": KEY, "Descriptor": value})


GET = dict(REG, method="GetSecurityDescriptor", arguments={"hDefKey": 2147483650, "sSubKeyName": KEY})


def host_with_key():
    host = Host(new_host_state("ls1"))
    run(host, dict(REG, method="CreateKey", arguments={"hDefKey": 2147483650, "sSubKeyName": KEY}))
    return host


def test_a_new_key_inherits_hklm_software_so_users_can_read_it():
    host = host_with_key()
    assert windows.can_read_values(host, KEY, USERS)
    got = run(host, GET)[0]
    assert got["ok"] and got["out"]["Descriptor"]["ControlFlags"] & 0x1000 == 0  # not protected
    assert [(a["Trustee"]["SidString"], a["AceFlags"] & 0x10) for a in got["out"]["Descriptor"]["DACL"]] == [
        (SYSTEM, 0x10), (ADMINISTRATORS, 0x10), (USERS, 0x10)]


def test_a_protected_dacl_of_system_and_administrators_shuts_users_out():
    host = host_with_key()
    result = run(host, set_descriptor(descriptor(ace(SYSTEM), ace(ADMINISTRATORS))), GET)
    assert result[0]["ok"], result[0]
    assert not windows.can_read_values(host, KEY, USERS)
    assert windows.can_read_values(host, KEY, ADMINISTRATORS)
    dacl = result[1]["out"]["Descriptor"]["DACL"]
    assert [(a["Trustee"]["SidString"], a["AccessMask"], a["AceFlags"]) for a in dacl] == [
        (SYSTEM, 0xF003F, 2), (ADMINISTRATORS, 0xF003F, 2)]
    assert result[1]["out"]["Descriptor"]["ControlFlags"] & 0x1000
    assert json.loads(json.dumps(host.state))["registry_security"]  # the state stays JSON


def test_a_dacl_without_protection_adds_to_what_the_key_inherits():
    host = host_with_key()
    run(host, set_descriptor(descriptor(ace(SYSTEM), control=0x4)))
    assert windows.can_read_values(host, KEY, USERS)


def test_writing_back_what_was_read_does_not_duplicate_inherited_aces():
    """A script's read-modify-write: the inherited ACEs it read back stay inherited, not the key's own."""
    host = host_with_key()
    read = run(host, GET)[0]["out"]["Descriptor"]
    aces = [instance("__ACE", {"AccessMask": a["AccessMask"], "AceFlags": a["AceFlags"], "AceType": a["AceType"],
                               "Trustee": instance("__Trustee", {"SidString": a["Trustee"]["SidString"]})},
                     {"AccessMask": "UInt32", "AceFlags": "UInt32", "AceType": "UInt32"}) for a in read["DACL"]]
    assert run(host, set_descriptor(descriptor(*aces, control=0x4)))[0]["ok"]
    assert [(a["sid"], a["flags"] & 0x10) for a in windows.key_security(host, KEY)["dacl"]] == [
        (SYSTEM, 0x10), (ADMINISTRATORS, 0x10), (USERS, 0x10)]


def test_without_se_dacl_present_the_dacl_stays():
    host = host_with_key()
    run(host, set_descriptor(descriptor(ace(SYSTEM), control=0x1000)))
    assert windows.can_read_values(host, KEY, USERS)


def test_a_trustee_given_by_its_binary_sid():
    host = host_with_key()
    system = instance("__Trustee", {"SID": [1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0]}, {"SID": "UInt8Array"})
    only = instance("__ACE", {"AccessMask": 0xF003F, "AceFlags": 0, "AceType": 0, "Trustee": system},
                    {"AccessMask": "UInt32"})
    assert run(host, set_descriptor(descriptor(only)))[0]["ok"]
    assert [a["sid"] for a in windows.key_security(host, KEY)["dacl"]] == [SYSTEM]


def test_the_missing_key_answers_2():
    host = Host(new_host_state("ls1"))
    assert run(host, GET)[0]["error"]["return_value"] == 2
    assert run(host, set_descriptor(descriptor(ace(SYSTEM))))[0]["error"]["return_value"] == 2


def test_an_instance_argument_that_is_not_one_is_the_callers_fault():
    """ConvertTo-CimInstanceArgument in the script: a dict without cim_class, or a plain value."""
    host = host_with_key()
    for value in ({"properties": {}}, "D:P(A;;KA;;;SY)", instance("__ACE", "x")):
        error = run(host, set_descriptor(value))[0]["error"]
        assert error == {"kind": "invalid_operation",
                         "message": "'Descriptor' must be an instance: a dict with cim_class and properties"}


def test_an_instance_of_another_class_is_a_type_mismatch():
    host = host_with_key()
    error = run(host, set_descriptor(instance("__ACE", {})))[0]["error"]
    assert error["kind"] == "cim_error" and error["hresult"] == 0x80041005


def test_a_typed_property_is_converted_strictly():
    host = host_with_key()
    bad = descriptor(ace(SYSTEM))
    bad["properties"]["ControlFlags"] = "not a number"
    error = run(host, set_descriptor(bad))[0]["error"]
    assert error == {"kind": "invalid_operation", "message": "cannot convert the value of 'ControlFlags' to CIM type "
                                                             "uint32"}


def test_the_script_builds_embedded_instances_the_same_way():
    """The script's side: an Instance-typed parameter goes to ConvertTo-CimInstanceArgument, which converts the
    typed properties with ConvertTo-CimValue, nests dicts and lists of dicts, and makes a client-only instance."""
    value = SCRIPT.split("function ConvertTo-CimValue", 1)[1].split("\nfunction ", 1)[0]
    assert "if ($typeName -ceq 'Instance')" in value and "ConvertTo-CimInstanceArgument $Value $Name" in value
    build = SCRIPT.split("function ConvertTo-CimInstanceArgument", 1)[1].split("\nfunction ", 1)[0]
    for part in ("ConvertTo-CimValue $v $types[$k] $k", "ConvertTo-CimInstanceArgument $v $k",
                 "New-CimInstance -ClientOnly -ClassName $Value['cim_class'] -Property $properties",
                 "must be an instance: a dict with cim_class and properties"):
        assert part in build
    assert "$readOnlyMethods['StdRegProv'] += @('GetSecurityDescriptor')" in SCRIPT
    assert "$changingMethods['StdRegProv'] += @('SetSecurityDescriptor')" in SCRIPT
