"""Win32_TerminalServiceSetting in root/cimv2/TerminalServices (TSCfgWmi), and the Group Policy
values that override it.

Sources: [W32] win32-terminalservicesetting.md and its method pages; rd-licensing-wmi.md §4 and §10;
observed-outputs.md §3. LicensingType is emitted as 2 / 4 / 5 (Per Device / Per User / Not
configured), as every source but the property page does (rd-licensing-wmi.md §10.1).
"""

from __future__ import annotations

import datetime as dt

from . import power
from .cim import (
    ASSUMED, DOCUMENTED, OBSERVED, WBEM_E_INVALID_OPERATION, WBEM_E_INVALID_PARAMETER, WBEM_E_NOT_SUPPORTED,
    CimClass, LabStateError, Method, Param, Prop,
)

NS = "root/cimv2/terminalservices"
POLICY_KEY = r"SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services"
GRACE_PERIOD_DAYS = 120  # [WSD] rds-client-access-license.md; hh553157 (2008 and later)
LICENSING_TYPE_REMOTE_ADMIN = 1
LICENSING_TYPE_NOT_CONFIGURED = 5
CHANGE_MODE_VALUES = (2, 4)  # [W32] changemode: 2 Per Device, 4 Per User
# hh553157 ("Understand the licensing grace period", Windows Server 2008 R2): once a permanent CAL has been
# issued to a client of the session host, Windows creates LicensingGracePeriodEnded under this key. The
# page does not say whether it is a value or a key, nor its type: the lab writes a REG_DWORD 1 (ASSUMED).
GRACE_ENDED_KEY = r"SYSTEM\CurrentControlSet\Services\TermService\Parameters"
GRACE_ENDED_VALUE = "LicensingGracePeriodEnded"


def new_session_host_state(host) -> dict:
    return {
        "licensing_type": LICENSING_TYPE_NOT_CONFIGURED,
        "specified_servers": [],
        # hh553157: the grace period begins when the session host first accepts a client connection
        # (accept_connection, `rdlab connect`); until then it is not running.
        "grace_start": None,
    }


def _sh(host):
    """The RD Session Host's settings, or None while the host acts as a plain server: without the
    role, and after installing it until the restart it asks for (ASSUMED: RestartNeeded says the
    role is not complete before; TerminalServerMode and the licensing methods answer as without it)."""
    if host.install_pending("RDS-RD-Server"):
        return None
    return host.state["session_host"]


def _policy_dword(host, name):
    entry = host.reg_get(POLICY_KEY, name)
    return entry["data"] if entry and entry["type"] == "REG_DWORD" else None


def _policy_servers(host):
    entry = host.reg_get(POLICY_KEY, "LicenseServers")
    if not entry or entry["type"] != "REG_SZ":
        return None
    # REG_SZ, comma separated ([WSD] rds-license-session-hosts.md); [JAG] trims each name.
    return [s.strip() for s in entry["data"].split(",") if s.strip()]


def effective_licensing_type(host) -> tuple[int, int]:
    """(LicensingType, PolicySourceLicensingType): Group Policy wins over the local setting."""
    policy = _policy_dword(host, "LicensingMode")
    if policy in (2, 4, 6):  # 6 = "AAD Per User" in the newest ADMX
        return policy, 1
    if _sh(host) is None:
        return LICENSING_TYPE_REMOTE_ADMIN, 0  # no RD Session Host: admin mode (ASSUMED value)
    return _sh(host)["licensing_type"], 0


def _instances(host) -> list[dict]:
    licensing_type, source = effective_licensing_type(host)
    return [{
        "ServerName": host.name.upper(),
        "LicensingType": licensing_type,
        "PolicySourceLicensingType": source,
        "PolicySourceConfiguredLicenseServers": 1 if _policy_servers(host) is not None else 0,
        "TerminalServerMode": 1 if _sh(host) is not None else 0,  # 1 AppServer, 0 RemoteAdmin [W32]
        # BitMap qualifier values 0,1,2,4,5 [W32]; which bits a host reports is ASSUMED.
        "PossibleLicensingTypes": 6 if _sh(host) is not None else 2,
        "LicensingName": {2: "Per device", 4: "Per user", 5: "Not configured", 1: "Remote Desktop for Administration"}
        .get(licensing_type, ""),  # wording ASSUMED
        "LicensingDescription": "",
    }]


def change_mode(host, _instance, args):
    if _policy_dword(host, "LicensingMode") is not None:
        # [W32] error codes page: INVALID_OPERATION when Group Policy overrides the property.
        return WBEM_E_INVALID_OPERATION, {}
    if args.get("LicensingType") not in CHANGE_MODE_VALUES:
        return WBEM_E_INVALID_PARAMETER, {}
    if _sh(host) is None:
        return WBEM_E_NOT_SUPPORTED, {}  # no RD Session Host role: ASSUMED code
    _sh(host)["licensing_type"] = args["LicensingType"]
    return 0, {}


def set_specified_list(host, _instance, args):
    if _policy_servers(host) is not None:
        return WBEM_E_INVALID_OPERATION, {}
    if _sh(host) is None:
        return WBEM_E_NOT_SUPPORTED, {}
    _sh(host)["specified_servers"] = list(args.get("SpecifiedLSList") or [])
    return 0, {}


def get_specified_list(host, _instance, _args):
    policy = _policy_servers(host)
    if policy is not None:
        return 0, {"SpecifiedLSList": policy}
    servers = _sh(host)["specified_servers"] if _sh(host) else []
    return 0, {"SpecifiedLSList": list(servers)}


def _days_left(host) -> int:
    """Before the first connection the whole period is left (ASSUMED); after it the days count down, and
    go on counting after a permanent CAL ended the grace period (ASSUMED; [JAG]: "always counts down")."""
    started = _sh(host)["grace_start"]
    if started is None:
        return GRACE_PERIOD_DAYS
    elapsed = (host.now() - dt.datetime.fromisoformat(started)).days
    return max(0, GRACE_PERIOD_DAYS - elapsed)


def grace_period_days(host, _instance, _args):
    if _sh(host) is None:
        return WBEM_E_NOT_SUPPORTED, {"DaysLeft": None}  # ASSUMED
    return 0, {"DaysLeft": _days_left(host)}


def grace_period_over(host) -> bool:
    return _days_left(host) == 0 or host.reg_get(GRACE_ENDED_KEY, GRACE_ENDED_VALUE) is not None


def accept_connection(host, computer: str, user: str, resolve=None) -> dict:
    """Lab event: a client (computer, user) connects to this session host. The grace period begins at the
    first accepted connection (hh553157). In Per Device or Per User mode the session host asks its license
    servers, in order, for a CAL ([WSD] rds-client-access-license.md); the first permanent CAL ends the
    grace period and Windows records LicensingGracePeriodEnded (hh553157). Per User CALs cannot be tracked
    in a workgroup (same page): a workgroup host gets none. `resolve` opens a license server's model for
    writing (the fleet's read-only lookup by default). Returns what happened."""
    sh = _sh(host)
    if sh is None:
        raise LabStateError(f"{host.name} is not an RD Session Host (or its install waits for a restart)")
    if sh["grace_start"] is None:
        sh["grace_start"] = host.now().isoformat()
    licensing_type = effective_licensing_type(host)[0]
    server, cal, permanent = _request_cal(host, licensing_type, computer, user, resolve)
    if permanent:
        host.reg_set(GRACE_ENDED_KEY, GRACE_ENDED_VALUE, "REG_DWORD", 1)
    return {"accepted": _accepted(host, licensing_type, server, cal), "license_server": server, "cal": cal,
            "grace_period_days_left": _days_left(host), "grace_period_ended": grace_period_over(host)}


def _request_cal(host, licensing_type, computer, user, resolve):
    """(license server name, CAL, permanent?) from the first configured server that answers and issues one."""
    from .licensing import LICENSE_ACTIVE, per_device_cal, per_user_cal
    if licensing_type not in (2, 4):
        return None, None, False
    for name in _configured_servers(host):
        target, status = _license_server_answer(host, name, resolve)
        if status not in (7, 11):
            continue
        if licensing_type == 2:
            cal = per_device_cal(target, computer, host.state["os"])
            return name, cal, cal["LicenseStatus"] == LICENSE_ACTIVE
        if not host.state.get("domain"):
            return name, None, False
        cal = per_user_cal(target, user, host.state["os"])
        if cal is not None:
            return name, cal, True
    return None, None, False


def _accepted(host, licensing_type, server, cal) -> bool:
    """In the grace period every connection is accepted; after it a Per Device client needs a CAL, and a
    Per User client a license server that answers (Per User CALs are not enforced, [WSD]
    rds-client-access-license.md)."""
    if not grace_period_over(host):
        return True
    if licensing_type == 2:
        return cal is not None
    return licensing_type == 4 and server is not None


def _configured_servers(host) -> list[str]:
    policy = _policy_servers(host)
    return policy if policy is not None else list(_sh(host)["specified_servers"])


def connectivity_status(host, _instance, args):
    """GetTStoLSConnectivityStatus against another lab host (mapping ASSUMED beyond 6 and 11)."""
    if _sh(host) is None:
        return WBEM_E_NOT_SUPPORTED, {"TStoLSConnectivityStatus": None}
    return 0, {"TStoLSConnectivityStatus": _license_server_answer(host, args.get("ServerName") or "")[1]}


def _license_server_answer(host, server_name, resolve=None):
    """(the license server's lab host or None, the connectivity status this session host gets from it)."""
    resolve = resolve or (host.fleet.resolve if host.fleet else lambda _name: None)
    target = resolve(server_name)
    if target is None or power.is_down(target) or not target.feature_installed("RDS-Licensing"):
        return None, 6  # LS_NOT_CONNECTABLE
    service = target.state["services"].get("TermServLicensing", {})
    if service.get("state") != "Running":
        return None, 6
    from .licensing import secure_access_allowed
    if not secure_access_allowed(target, host.name):
        return target, 5  # LS_NOT_IN_TSC_GROUP: the License server security group policy refuses this host
    from .host import OPERATING_SYSTEMS
    order = list(OPERATING_SYSTEMS)
    if order.index(target.state["os"]) < order.index(host.state["os"]):
        return target, 4  # LOWER_VERSION
    if target.state["license_server"]["activation_status"] != 0:
        return target, 7  # UNKNOWN_VALIDITY
    return target, 11  # LS_CONNECTABLE_VALID_LS


def find_license_servers(host, _instance, _args):
    """FindLicenseServers ([W32] findlicenseservers-win32-terminalservicesetting.md): Win32_TSDiscoveredLicenseServer
    objects. The lab discovers only the configured servers (ASSUMED: no domain or forest discovery); IsLSAvailable
    1 when the server answers; IssuingCALs 0 when its security group policy refuses this host, 1 when it allows it,
    2 when it cannot be asked; IsAdminOnLS 2 "don't know" and HowDiscovered null ("no longer supported"), ASSUMED."""
    found = []
    for name in _configured_servers(host) if _sh(host) else []:
        target, status = _license_server_answer(host, name)
        found.append({"LicenseServer": name, "HowDiscovered": None, "IsLSAvailable": 0 if status == 6 else 1,
                      "IsAdminOnLS": 2, "IssuingCALs": 2 if target is None else 0 if status == 5 else 1})
    return 0, {"LicenseServersList": found, "Count": len(found)}


# --- the rest of the class's documented members (issue 15) ------------------------------------------
# Remote Desktop connections: fDenyTSConnections under the Terminal Server key (1 = denied), which a Group Policy
# value of the same name under POLICY_KEY overrides (the ADMX policy "Allow users to connect remotely by using
# Remote Desktop Services", TS_DISABLE_CONNECTIONS). The value names are the ADMX's and what public scripts
# write; no Microsoft reference page names them, so the link to AllowTSConnections is ASSUMED.
TS_KEY = r"SYSTEM\CurrentControlSet\Control\Terminal Server"
DENY_VALUE = "fDenyTSConnections"
# Fair-share scheduling ([W32] EnableDFSS, EnableDiskFSS, EnableNetworkFSS: 0 disabled, 1 enabled; read/write).
# All three on for a new server (ASSUMED: no page gives the default); kept in the host state key ts_settings.
FAIR_SHARE = ("EnableDFSS", "EnableDiskFSS", "EnableNetworkFSS")


def _ts_settings(host) -> dict:
    """The fair-share settings (a read never writes the state: reading must change nothing)."""
    return {**{name: 1 for name in FAIR_SHARE}, **host.state.get("ts_settings", {})}


def allow_ts_connections(host) -> tuple[int, int]:
    """(AllowTSConnections, PolicySourceAllowTSConnections): 1 when connections are allowed; policy wins."""
    policy = _policy_dword(host, DENY_VALUE)
    if policy is not None:
        return (0 if policy else 1), 1
    local = host.reg_get(TS_KEY, DENY_VALUE)
    return (0 if local is None or local["data"] else 1), 0


def _more_properties(host) -> dict:
    allowed, source = allow_ts_connections(host)
    settings = _ts_settings(host)
    return {"AllowTSConnections": allowed, "PolicySourceAllowTSConnections": source,
            **{name: settings[name] for name in FAIR_SHARE}, "PolicySourceEnableDFSS": 0,
            # [W32] both DEPRECATED, "This property is not available" after Windows Server 2008: present, null.
            "DirectConnectLicenseServers": None, "PolicySourceDirectConnectLicenseServers": None}


def put_settings(host, _instance, properties):
    """Set-CimInstance of the writable fair-share properties; a value other than 0 or 1 is refused
    (WBEM_E_INVALID_PARAMETER, ASSUMED code)."""
    from .cim import WbemError
    for name, value in properties.items():
        if value not in (0, 1):
            raise WbemError(WBEM_E_INVALID_PARAMETER, f"{name} takes 0 or 1")
    host.state["ts_settings"] = {**_ts_settings(host), **properties}


def set_allow_ts_connections(host, _instance, args):
    """[W32] win32-terminalservicesetting-setallowtsconnections.md: writes AllowTSConnections; "returns an error
    if the setting is under group policy control" (INVALID_OPERATION, ASSUMED as ChangeMode's). The lab has no
    firewall: ModifyFirewallException is accepted and changes nothing."""
    if _policy_dword(host, DENY_VALUE) is not None:
        return WBEM_E_INVALID_OPERATION, {}
    allow = args.get("AllowTSConnections")
    if allow not in (0, 1) or args.get("ModifyFirewallException") not in (None, 0, 1):
        return WBEM_E_INVALID_PARAMETER, {}
    host.reg_set(TS_KEY, DENY_VALUE, "REG_DWORD", 0 if allow else 1)
    return 0, {}


def _edit_specified_list(edit):
    """AddLSToSpecifiedLicenseServerList and its siblings: the same refusals as SetSpecifiedLicenseServerList."""
    def method(host, _instance, args):
        if _policy_servers(host) is not None:
            return WBEM_E_INVALID_OPERATION, {}
        if _sh(host) is None:
            return WBEM_E_NOT_SUPPORTED, {}
        name = (args.get("LicenseServerName") or "").strip() if "LicenseServerName" in args.allowed else ""
        _sh(host)["specified_servers"] = edit(_sh(host)["specified_servers"], name)
        return 0, {}
    return method


def _without(servers, name):
    return [s for s in servers if s.lower() != name.lower()]


add_ls_to_list = _edit_specified_list(lambda servers, name: servers if name.lower() in map(str.lower, servers)
                                      else servers + [name])
remove_ls_from_list = _edit_specified_list(_without)
empty_list = _edit_specified_list(lambda _servers, _name: [])
set_primary_ls = _edit_specified_list(lambda servers, name: [name] + _without(servers, name))


def get_domain(host, _instance, _args):
    """[W32] getdomain-win32-terminalservicesetting.md; a workgroup server answers its workgroup's name (ASSUMED)."""
    return 0, {"Domain": host.state.get("domain") or "WORKGROUP"}


def retired(_host, _instance, _args):
    """Methods whose page says "no longer available for use as of Windows Server 2008 R2" (or "not supported"):
    WBEM_E_NOT_SUPPORTED, ASSUMED from the Win32_TSLicenseServer pages that say so for their retired methods."""
    return WBEM_E_NOT_SUPPORTED, {}


def _more_props() -> list[Prop]:
    page = "[W32] win32-terminalservicesetting.md"
    return [
        Prop("AllowTSConnections", "uint32", status=ASSUMED,
             source=page + "; from fDenyTSConnections (Terminal Server key, policy key wins), denied on a new server"),
        Prop("PolicySourceAllowTSConnections", "uint32", status=ASSUMED, source=page + "; 1 when the policy value is set"),
        *[Prop(name, "uint32", writable=True, status=ASSUMED, source=page + "; 1 on a new server ASSUMED")
          for name in FAIR_SHARE],
        Prop("PolicySourceEnableDFSS", "uint32", status=ASSUMED, source=page + "; no policy modelled: 0"),
        Prop("DirectConnectLicenseServers", "string", source=page + ": DEPRECATED, not available: null"),
        Prop("PolicySourceDirectConnectLicenseServers", "uint32", source=page + ": DEPRECATED, not available: null"),
    ]


def _more_methods() -> list[Method]:
    page = "[W32] {}-win32-terminalservicesetting.md"
    listed = "; policy 0x80041016 and no RD Session Host 0x8004100C ASSUMED as SetSpecifiedLicenseServerList"
    gone = ": no longer available as of Windows Server 2008 R2; WBEM_E_NOT_SUPPORTED ASSUMED"
    return [
        Method("SetAllowTSConnections", [Param("AllowTSConnections", "uint32"), Param("ModifyFirewallException", "uint32")],
               False, set_allow_ts_connections, status=ASSUMED,
               source="[W32] win32-terminalservicesetting-setallowtsconnections.md; registry value and codes ASSUMED"),
        Method("AddLSToSpecifiedLicenseServerList", [Param("LicenseServerName", "string")], False, add_ls_to_list,
               source=page.format("addlstospecifiedlicenseserverlist") + "; a name already listed stays once" + listed),
        Method("RemoveLSFromSpecifiedLicenseServerList", [Param("LicenseServerName", "string")], False,
               remove_ls_from_list, source=page.format("removelsfromspecifiedlicenseserverlist") +
               "; a name not listed succeeds" + listed),
        Method("EmptySpecifiedLicenseServerList", [], False, empty_list,
               source=page.format("emptyspecifiedlicenseserverlist") + listed),
        Method("SetPrimaryLicenseServer", [Param("LicenseServerName", "string")], False, set_primary_ls,
               source=page.format("setprimarylicenseserver") + "; a name not listed is added first" + listed),
        Method("GetDomain", [Param("Domain", "string", "out")], False, get_domain, source=page.format("getdomain")),
        *[Method(name, [], False, retired, status=ASSUMED, source=page.format(name.lower()) + gone)
          for name in ("PingLicenseServer", "CanAccessLicenseServer")],
        *[Method(name, [], False, retired, status=ASSUMED,
                 source=f"[W32] win32-terminalservicesetting-{name.lower()}.md" + gone)
          for name in ("AddDirectConnectLicenseServer", "DeleteDirectConnectLicenseServer", "SetDisableForcibleLogoff")],
        Method("UpdateDirectConnectLicenseServer", [], False, retired, status=ASSUMED,
               source=page.format("updatedirectconnectlicenseserver") + gone),
    ]


def classes() -> list[CimClass]:
    w32 = "[W32] {}-win32-terminalservicesetting.md"
    props = [
        Prop("ServerName", "string", source="[W32]"),
        Prop("LicensingType", "uint32", status=OBSERVED,
             source="2/4/5 per ChangeMode, BitMap qualifier, [JAG] (rd-licensing-wmi.md §10.1)"),
        Prop("PolicySourceLicensingType", "uint32", source="[W32]"),
        Prop("PolicySourceConfiguredLicenseServers", "uint32", source="[W32]"),
        Prop("TerminalServerMode", "uint32", source="[W32]"),
        Prop("PossibleLicensingTypes", "uint32", status=ASSUMED, source="bits reported are in no source"),
        Prop("LicensingName", "string", status=ASSUMED, source="no real value found"),
        Prop("LicensingDescription", "string", status=ASSUMED, source="no real value found"),
    ]
    methods = [
        Method("ChangeMode", [Param("LicensingType", "uint32")], False, change_mode, source="[W32] win32-terminalservicesetting-changemode.md"),
        Method("SetSpecifiedLicenseServerList", [Param("SpecifiedLSList", "string[]")], False, set_specified_list,
               source=w32.format("setspecifiedlicenseserverlist")),
        Method("GetSpecifiedLicenseServerList", [Param("SpecifiedLSList", "string[]", "out")], False,
               get_specified_list, source=w32.format("getspecifiedlicenseserverlist")),
        Method("GetGracePeriodDays", [Param("DaysLeft", "uint32", "out")], False, grace_period_days,
               status=ASSUMED, source=w32.format("getgraceperioddays") + "; the countdown starts at the first "
               "client connection (hh553157); the value before it and after a permanent CAL ended the period "
               "ASSUMED"),
        Method("GetTStoLSConnectivityStatus",
               [Param("ServerName", "string"), Param("TStoLSConnectivityStatus", "uint32", "out")], False,
               connectivity_status, status=ASSUMED,
               source=w32.format("gettstolsconnectivitystatus") + "; which status the lab picks is ASSUMED"),
        Method("FindLicenseServers", [Param("LicenseServersList", "object:Win32_TSDiscoveredLicenseServer[]", "out"),
                                      Param("Count", "uint32", "out")], False, find_license_servers, status=ASSUMED,
               source="[W32] findlicenseservers-win32-terminalservicesetting.md, win32-tsdiscoveredlicenseserver.md; "
               "only configured servers are discovered, ASSUMED"),
    ]
    return [CimClass(NS, "Win32_TerminalServiceSetting", keys=["ServerName"], properties=props + _more_props(),
                     methods=methods + _more_methods(), put=put_settings,
                     enumerate=lambda host: [{**i, **_more_properties(host)} for i in _instances(host)],
                     source="[W32] win32-terminalservicesetting.md",
                     notes="Instance methods. Group Policy values override LicensingType and the server list.",
                     status=DOCUMENTED)]
