"""Every documented member of the classes on the bridge's allowlist is modelled or listed with a reason (issue 15),
and the members added for it answer as their pages say."""

import pytest
from rdlab.model import unmodelled
from rdlab.model.cim import (
    WBEM_E_INVALID_OPERATION, WBEM_E_INVALID_PARAMETER, WBEM_E_NOT_SUPPORTED, NotModelled, WbemError,
)
from rdlab.model.host import HKLM, Host, new_host_state
from rdlab.model.repository import REPOSITORY
from rdlab.modules.host_bridge import read_allowlist
from rdlab.schema import SCHEMA
from rdlab.modules import host_bridge as bridge
from test_model_helpers import SOURCE, TS

TS_NS, TSS = "root/cimv2/TerminalServices", "Win32_TerminalServiceSetting"
POLICY_KEY = r"SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services"


def allowlist():
    return read_allowlist(SOURCE)


# --- the rule ------------------------------------------------------------------------------------

def test_every_documented_member_of_an_allowlisted_class_is_modelled_or_listed():
    assert unmodelled.unexplained(REPOSITORY, SCHEMA, allowlist()) == []


def test_the_rule_fails_for_a_documented_member_without_model_or_reason():
    methods = ("JoinDomainOrWorkgroup", "Rename", "SetPowerState", "UnjoinDomainOrWorkgroup")
    table = [entry for entry in unmodelled.NOT_MODELLED if entry[:2] != ("Win32_ComputerSystem", methods)]
    assert len(table) == len(unmodelled.NOT_MODELLED) - 1
    assert sorted(unmodelled.unexplained(REPOSITORY, SCHEMA, allowlist(), table)) == sorted(
        f"Win32_ComputerSystem.{name} is documented but neither modelled nor listed" for name in methods)


def test_the_rule_fails_for_a_listed_member_that_is_modelled_or_not_documented():
    table = unmodelled.NOT_MODELLED + [("StdRegProv", ("EnumKey", "EnumKeys"), "stale")]
    assert unmodelled.unexplained(REPOSITORY, SCHEMA, allowlist(), table) == [
        "StdRegProv.EnumKey is modelled and also listed as not modelled",
        "StdRegProv.EnumKeys is listed but not in Microsoft's schema",
    ]


def test_the_rule_fails_for_an_allowlisted_class_the_lab_does_not_have():
    assert unmodelled.unexplained(REPOSITORY, SCHEMA, {"root/cimv2": ["Win32_Process"]}) == [
        "root/cimv2:Win32_Process is allowlisted but not in the schema or the lab"]


def test_every_allowlisted_class_is_checked():
    checked = {c for classes in allowlist().values() for c in classes}
    assert {"win32_terminalservicesetting", "win32_tslicenseserver", "stdregprov", "win32_service"} <= checked


# --- Win32_TerminalServiceSetting -------------------------------------------------------------------

@pytest.fixture
def session_host():
    return Host(new_host_state("sh1", roles=("session_host",), domain="corp.example"))


def setting(host, *properties):
    return REPOSITORY.get_instances(host, TS_NS, TSS, None, list(properties) or None)[1][0]


def call(host, method, **arguments):
    return REPOSITORY.invoke(host, TS_NS, TSS, method, arguments, instance=setting(host))


def test_a_projection_of_any_documented_property_answers_with_it(session_host):
    projected = setting(session_host, "AllowTSConnections")
    assert projected["AllowTSConnections"] == 0  # Remote Desktop is off on a new server
    assert projected["ServerName"] == "SH1"  # the key comes back with a projection
    assert projected["LicensingType"] is None
    # A documented property the lab does not model is null, not "Invalid query".
    assert setting(session_host, "ProfilePath")["ProfilePath"] is None
    with pytest.raises(WbemError) as refused:
        setting(session_host, "NoSuchProperty")
    assert refused.value.text == "Invalid query"


def test_a_where_on_an_unmodelled_documented_property(session_host):
    found = REPOSITORY.get_instances(session_host, TS_NS, TSS, "ProfilePath IS NULL AND AllowTSConnections = 0")[1]
    assert [i["ServerName"] for i in found] == ["SH1"]


def test_set_allow_ts_connections_writes_the_registry_value(session_host):
    assert call(session_host, "SetAllowTSConnections", AllowTSConnections=1, ModifyFirewallException=1) == \
        {"ReturnValue": 0}
    assert setting(session_host)["AllowTSConnections"] == 1
    assert session_host.reg_get(r"SYSTEM\CurrentControlSet\Control\Terminal Server", "fDenyTSConnections")["data"] == 0
    assert call(session_host, "SetAllowTSConnections", AllowTSConnections=2, ModifyFirewallException=0) == \
        {"ReturnValue": WBEM_E_INVALID_PARAMETER}


def test_group_policy_wins_over_allow_ts_connections(session_host):
    session_host.reg_set(POLICY_KEY, "fDenyTSConnections", "REG_DWORD", 0)
    assert {k: setting(session_host)[k] for k in ("AllowTSConnections", "PolicySourceAllowTSConnections")} == \
        {"AllowTSConnections": 1, "PolicySourceAllowTSConnections": 1}
    assert call(session_host, "SetAllowTSConnections", AllowTSConnections=0, ModifyFirewallException=0) == \
        {"ReturnValue": WBEM_E_INVALID_OPERATION}


def test_fair_share_properties_are_read_write(session_host):
    assert {k: setting(session_host)[k] for k in ("EnableDFSS", "EnableDiskFSS", "EnableNetworkFSS")} == \
        {"EnableDFSS": 1, "EnableDiskFSS": 1, "EnableNetworkFSS": 1}
    REPOSITORY.put(session_host, TS_NS, TSS, setting(session_host), {"EnableDiskFSS": 0})
    assert setting(session_host)["EnableDiskFSS"] == 0
    with pytest.raises(WbemError) as refused:
        REPOSITORY.put(session_host, TS_NS, TSS, setting(session_host), {"EnableDFSS": 7})
    assert refused.value.hresult == WBEM_E_INVALID_PARAMETER
    with pytest.raises(WbemError) as read_only:
        REPOSITORY.put(session_host, TS_NS, TSS, setting(session_host), {"AllowTSConnections": 1})
    assert read_only.value.text == "Read only"


def test_fair_share_through_the_bridge(session_host):
    write = dict(TS, kind="cim_set", id="0", properties={"EnableNetworkFSS": 0})
    (result,) = bridge.run(session_host, {"operations": [write]}, SOURCE)["results"]
    assert result["ok"] and result["instances"][0]["EnableNetworkFSS"] == 0


def test_writing_or_calling_an_unmodelled_member_fails_loudly(session_host):
    with pytest.raises(NotModelled, match="ProfilePath is documented by Microsoft but not modelled by the lab: "
                                          "session settings outside licensing"):
        REPOSITORY.put(session_host, TS_NS, TSS, setting(session_host), {"profilepath": "x"})
    with pytest.raises(NotModelled, match="GetTSLanaIds .* the lab has no network stack"):
        call(session_host, "GetTSLanaIds")
    with pytest.raises(WbemError) as undocumented:
        call(session_host, "NoSuchMethod")
    assert undocumented.value.text == "Invalid method"


def test_deprecated_direct_connect_properties_are_present_and_null(session_host):
    instance = setting(session_host)
    assert "PolicySourceDirectConnectLicenseServers" in instance
    assert instance["PolicySourceDirectConnectLicenseServers"] is None
    assert instance["DirectConnectLicenseServers"] is None


def specified(host):
    return call(host, "GetSpecifiedLicenseServerList")["SpecifiedLSList"]


def test_the_specified_list_methods(session_host):
    assert call(session_host, "AddLSToSpecifiedLicenseServerList", LicenseServerName="ls1")["ReturnValue"] == 0
    call(session_host, "AddLSToSpecifiedLicenseServerList", LicenseServerName="ls2")
    call(session_host, "AddLSToSpecifiedLicenseServerList", LicenseServerName="LS1")  # already listed
    assert specified(session_host) == ["ls1", "ls2"]
    call(session_host, "SetPrimaryLicenseServer", LicenseServerName="ls2")
    assert specified(session_host) == ["ls2", "ls1"]
    call(session_host, "RemoveLSFromSpecifiedLicenseServerList", LicenseServerName="ls2")
    assert specified(session_host) == ["ls1"]
    assert call(session_host, "EmptySpecifiedLicenseServerList") == {"ReturnValue": 0}
    assert specified(session_host) == []
    session_host.reg_set(POLICY_KEY, "LicenseServers", "REG_SZ", "ls9")
    assert call(session_host, "EmptySpecifiedLicenseServerList") == {"ReturnValue": WBEM_E_INVALID_OPERATION}


def test_get_domain(session_host):
    assert call(session_host, "GetDomain") == {"ReturnValue": 0, "Domain": "corp.example"}


@pytest.mark.parametrize("method", ["PingLicenseServer", "CanAccessLicenseServer", "AddDirectConnectLicenseServer",
                                    "DeleteDirectConnectLicenseServer", "UpdateDirectConnectLicenseServer"])
def test_methods_no_longer_available_since_2008_r2(session_host, method):
    result = call(session_host, method)
    assert result["ReturnValue"] == WBEM_E_NOT_SUPPORTED
    documented = next(m for m in REPOSITORY.get(TS_NS, TSS).methods if m.name == method)
    assert set(result) == {"ReturnValue"} | {p.name for p in documented.params if p.direction == "out"}


# --- Win32_TSLicenseServer ----------------------------------------------------------------------------

def license_server(**kwargs):
    return Host(new_host_state("ls1", roles=("license_server",), **kwargs))


def ls_call(host, method, **arguments):
    return REPOSITORY.invoke(host, "root/cimv2", "Win32_TSLicenseServer", method, arguments)


def test_service_connection_point_registration():
    host = license_server(domain="corp.example")
    assert ls_call(host, "UnRegisterLSFromSCP") == {"ReturnValue": 0}
    assert ls_call(host, "IsLSRegisteredToSCP") == {"ReturnValue": 0, "Registered": False}
    assert ls_call(host, "RegisterLSToSCP") == {"ReturnValue": 0}
    assert ls_call(host, "IsLSRegisteredToSCP")["Registered"] is True
    assert ls_call(license_server(), "RegisterLSToSCP")["ReturnValue"] == 0x80041001  # no directory in a workgroup


def test_prevent_upgrade_policy_and_the_terminal_server_computers_group():
    host = license_server(domain="corp.example")
    assert ls_call(host, "IsLSPreventUpgradeGPEnabled") == {"ReturnValue": 0, "Enabled": False}
    host.state["license_server"]["prevent_upgrade_policy"] = True
    assert ls_call(host, "IsLSPreventUpgradeGPEnabled")["Enabled"] is True
    host.state["license_server"]["terminal_server_computers"] = ["sh1.corp.example"]
    assert ls_call(host, "IsTSinTSCGroup", tsname="SH1") == {"ReturnValue": 0, "IsMember": True}
    assert ls_call(host, "IsTSinTSCGroup", tsname="sh2")["IsMember"] is False


@pytest.mark.parametrize("method", ["CreateTSCGroup", "IsTSCGroupPresent", "RemoveTSCGroup"])
def test_group_methods_retired_as_of_2012_return_not_supported(method):
    assert ls_call(license_server(), method)["ReturnValue"] == WBEM_E_NOT_SUPPORTED


# --- StdRegProv ----------------------------------------------------------------------------------------

def reg(host, method, **arguments):
    return REPOSITORY.invoke(host, "root/default", "StdRegProv", method, dict(hDefKey=HKLM, **arguments))


@pytest.mark.parametrize("kind, out, value", [("QWORD", "uValue", 2 ** 40), ("ExpandedString", "sValue", "%SystemRoot%"),
                                              ("Binary", "uValue", [0, 1, 255])])
def test_the_other_value_types_round_trip(kind, out, value):
    host = license_server()
    key = r"SOFTWARE\Ansible\RemoteDesktopLicensing"
    reg(host, "CreateKey", sSubKeyName=key)
    assert reg(host, f"Set{kind}Value", sSubKeyName=key, sValueName="v", **{out: value}) == {"ReturnValue": 0}
    assert reg(host, f"Get{kind}Value", sSubKeyName=key, sValueName="v") == {"ReturnValue": 0, out: value}
    assert reg(host, "GetDWORDValue", sSubKeyName=key, sValueName="v")["ReturnValue"] == 2  # another type


def test_check_access():
    host = license_server()
    assert reg(host, "CheckAccess", sSubKeyName=r"SOFTWARE\Microsoft\Windows NT\CurrentVersion", uRequired=1) == \
        {"ReturnValue": 0, "bGranted": True}
    assert reg(host, "CheckAccess", sSubKeyName=r"SOFTWARE\Missing", uRequired=1)["ReturnValue"] == 2
