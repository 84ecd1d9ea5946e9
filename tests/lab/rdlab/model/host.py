"""A simulated Windows Server host: its state (plain JSON) and the behaviour around it.

The state dict is what `rdlab show` prints and what is persisted between runs. Behaviour
(features, services, registry, the CIM classes) reads and writes it; the protocol layer never
touches it directly.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib

from . import power
from .cim import (
    ASSUMED, DOCUMENTED, OBSERVED, WBEM_E_INVALID_CLASS, WBEM_E_INVALID_NAMESPACE, CimClass, LabStateError,
    WbemError,
)

# Lab OS catalogue: caption and version as Win32_OperatingSystem reports them (public build numbers).
OPERATING_SYSTEMS = {
    "2012R2": ("Microsoft Windows Server 2012 R2 Standard", "6.3.9600", 4),
    "2016": ("Microsoft Windows Server 2016 Standard", "10.0.14393", 5),
    "2019": ("Microsoft Windows Server 2019 Standard", "10.0.17763", 6),
    "2022": ("Microsoft Windows Server 2022 Standard", "10.0.20348", 7),
    "2025": ("Microsoft Windows Server 2025 Standard", "10.0.26100", 8),
}
# The third element is the ProductVersionID of the CALs that OS serves (rd-licensing-wmi.md §2).

# Windows features the lab knows. [WSD] server-core-removed-roles.md: the UI tools and RDS-RD-Server
# are not on Server Core. Display names and which tools -IncludeManagementTools adds are ASSUMED.
FEATURES = {
    "RDS-Licensing": {"display_name": "Remote Desktop Licensing", "core": True, "tools": ["RDS-Licensing-UI"]},
    "RDS-Licensing-UI": {"display_name": "Remote Desktop Licensing Tools", "core": False, "tools": []},
    "RSAT-RDS-Licensing-Diagnosis-UI": {"display_name": "RD Licensing Diagnoser Tools", "core": False, "tools": []},
    "RDS-RD-Server": {
        "display_name": "Remote Desktop Session Host", "core": False,
        "tools": ["RSAT-RDS-Licensing-Diagnosis-UI"],
    },
}
# RD Session Host needs a restart; RD Licensing was seen installed and used without one
# (observed-outputs.md §4, [PRAC]). The others are ASSUMED not to need one.
RESTART_NEEDED = {"RDS-RD-Server"}

HKLM = 2147483650


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def new_host_state(name: str, os: str = "2022", installation: str = "desktop", domain: str | None = None,
                   roles: tuple[str, ...] = ()) -> dict:
    """A fresh host. `roles` may hold 'license_server' and 'session_host': those roles start installed."""
    if os not in OPERATING_SYSTEMS:
        raise ValueError(f"os must be one of {', '.join(OPERATING_SYSTEMS)}, got {os!r}")
    if installation not in ("desktop", "core"):
        raise ValueError(f"installation must be desktop or core, got {installation!r}")
    unknown = set(roles) - {"license_server", "session_host"}
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}; use license_server and session_host")
    state = {
        "name": name,
        "os": os,
        "installation": installation,
        "domain": domain,
        "boot_time": _now().isoformat(),
        "clock_offset_days": 0,
        "features": {},
        "pending_restart": False,
        "install_pending": [],  # features Get-WindowsFeature shows as InstallPending until a restart
        "reboot": None,  # a scheduled restart (rdlab.model.power)
        "reboot_seconds": power.DEFAULT_REBOOT_SECONDS,
        # The connecting account's domain group memberships (lab-only; `rdlab seed` changes them).
        # Default: a domain host is managed by a domain and enterprise admin, a workgroup host by
        # a local administrator (ASSUMED; the lab's single user is always a local administrator).
        "account": {"domain_admin": bool(domain), "enterprise_admin": bool(domain)},
        "services": {},
        "registry": {},
        "license_server": None,
        "session_host": None,
        "faults": {},
    }
    host = Host(state)
    # HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion InstallationType: "Server" / "Server Core".
    host.reg_set(r"SOFTWARE\Microsoft\Windows NT\CurrentVersion", "InstallationType", "REG_SZ",
                 "Server Core" if installation == "core" else "Server")
    seed_registry(host)
    if "license_server" in roles:
        host.install_features(["RDS-Licensing"], include_management_tools=True)
    if "session_host" in roles:
        host.install_features(["RDS-RD-Server"], include_management_tools=False)
        power.complete_pending_installs(host)  # seeded as if installed and rebooted long ago
    return state


# Registry values every Windows Server holds (issue 15), consistent with the host's OS and installation type.
CURRENT_VERSION_KEY = r"SOFTWARE\Microsoft\Windows NT\CurrentVersion"
TERMINAL_SERVER_KEY = r"SYSTEM\CurrentControlSet\Control\Terminal Server"


def current_version_values(os: str) -> list[tuple[str, str, object]]:
    """(name, type, data) under CURRENT_VERSION_KEY. CurrentVersion is "6.3" from Windows Server 2012 R2 on:
    "All Windows 10 based releases will be listed as version 6.3" (GetProductInfo, sysinfoapi.h, learn.microsoft.com),
    as seen in public registry dumps; the real version is in CurrentMajorVersionNumber / CurrentMinorVersionNumber
    on 10.0-based releases only (seen in public scripts, which fall back to CurrentVersion). ProductName is the
    Win32_OperatingSystem Caption without "Microsoft " and EditionID "ServerStandard" for the lab's Standard
    editions (both as seen in public dumps; ASSUMED for Server Core)."""
    caption, version = OPERATING_SYSTEMS[os][:2]
    build = version.rsplit(".", 1)[-1]
    values = [("ProductName", "REG_SZ", caption.removeprefix("Microsoft ")), ("CurrentVersion", "REG_SZ", "6.3"),
              ("CurrentBuild", "REG_SZ", build), ("CurrentBuildNumber", "REG_SZ", build),
              ("EditionID", "REG_SZ", "ServerStandard")]
    if not version.startswith("6."):
        major, minor = version.split(".")[:2]
        values += [("CurrentMajorVersionNumber", "REG_DWORD", int(major)),
                   ("CurrentMinorVersionNumber", "REG_DWORD", int(minor))]
    return values


def seed_registry(host) -> None:
    """CurrentVersion (InstallationType is set by the caller) and the Terminal Server key of a new server:
    fDenyTSConnections 1, Remote Desktop off until enabled (ASSUMED: what a new Windows Server shows); the RDP-Tcp
    listener's PortNumber 3389 ([WSD] "Change the listening port for Remote Desktop on your computer"); the RCM
    and RCM/Licensing Core keys, empty (ASSUMED: the lab keeps the licensing mode in the WMI model, not there)."""
    for name, reg_type, data in current_version_values(host.state["os"]):
        host.reg_set(CURRENT_VERSION_KEY, name, reg_type, data)
    host.reg_set(TERMINAL_SERVER_KEY, "fDenyTSConnections", "REG_DWORD", 1)
    host.reg_set(TERMINAL_SERVER_KEY + r"\WinStations\RDP-Tcp", "PortNumber", "REG_DWORD", 3389)
    host.reg_create_key(TERMINAL_SERVER_KEY + r"\RCM\Licensing Core")
    host.reg_create_key(TERMINAL_SERVER_KEY + r"\RCM")


class Host:
    """Behaviour over one host's state dict."""

    def __init__(self, state: dict, fleet=None):
        self.state = state
        self.fleet = fleet  # lets a session host look up a license server by name
        # The privileges enabled in the caller's token for the call being answered (lowercased names): the
        # bridge's executor sets them around one call, as host_bridge.ps1's New-PrivilegeEnabler does.
        self.privileges_enabled: set[str] = set()
        # The logon session of the command being answered (rdlab.model.session.Session), set by the module runner.
        # None: a session on the host itself (the model's own tests), which holds its caller's credentials.
        self.session = None

    # --- identity -------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.state["name"]

    @property
    def os_entry(self):
        return OPERATING_SYSTEMS[self.state["os"]]

    def now(self) -> dt.datetime:
        return _now() + dt.timedelta(days=self.state.get("clock_offset_days", 0))

    def seeded_id(self, purpose: str, length: int, alphabet: str) -> str:
        """Deterministic per-host identifiers (ProductId, license server IDs): reproducible labs."""
        digest = hashlib.sha256(f"{self.name}:{purpose}".encode()).digest()
        return "".join(alphabet[b % len(alphabet)] for b in digest * 2)[:length]

    # --- features -------------------------------------------------------------------------------
    def feature_available(self, name: str) -> bool:
        info = FEATURES.get(name)
        return info is not None and (info["core"] or self.state["installation"] == "desktop")

    def feature_installed(self, name: str) -> bool:
        return bool(self.state["features"].get(name))

    def feature_install_state(self, name: str) -> str:
        """Get-WindowsFeature's InstallState. A feature whose install asked for a restart is
        InstallPending until the restart (ASSUMED: the state name is ServerManager's, which
        feature reaches it is the lab's RESTART_NEEDED table)."""
        power.check_up(self)
        if name in self.state.get("removed_features", []):
            return "Removed"  # Features on Demand: the payload is not on disk (host state key removed_features)
        if not self.feature_installed(name):
            return "UninstallPending" if name in self.state.get("uninstall_pending", []) else "Available"
        return "InstallPending" if name in self.state.get("install_pending", []) else "Installed"

    def install_pending(self, name: str) -> bool:
        return name in self.state.get("install_pending", [])

    def install_features(self, names: list[str], include_management_tools: bool) -> dict:
        """Install-WindowsFeature: all or nothing; unknown names fail before anything changes."""
        power.check_up(self)
        self._check_feature_names(names)
        wanted = list(names)
        if include_management_tools:
            wanted += [t for n in names for t in FEATURES[n]["tools"] if self.feature_available(t)]
        removed = [n for n in wanted if n in self.state.get("removed_features", [])]
        if removed:
            # Install-WindowsFeature without -Source for a feature whose payload is removed; the text is
            # DISM's 0x800F081F (ASSUMED for Install-WindowsFeature's wording).
            raise FeatureError("Installation of one or more roles, role services, or features failed. The source "
                               "files could not be found. Use the \"Source\" option to specify the location of the "
                               f"files that are required to restore the feature ({', '.join(removed)}).")
        changed = [n for n in dict.fromkeys(wanted) if not self.feature_installed(n)]
        for name in changed:
            self.state["features"][name] = True
            if name in self.state.get("uninstall_pending", []):
                self.state["uninstall_pending"].remove(name)  # installed again before the restart
            self._on_feature_installed(name)
        waiting = [n for n in changed if n in RESTART_NEEDED]
        if waiting:
            self.state["pending_restart"] = True
            self.state.setdefault("install_pending", []).extend(waiting)
        restart = bool(waiting)
        exit_code = "SuccessRestartRequired" if restart else "Success" if changed else "NoChangeNeeded"
        return {"success": True, "restart_needed": restart, "changed_features": changed, "exit_code": exit_code}

    def uninstall_features(self, names: list[str], include_management_tools: bool) -> dict:
        power.check_up(self)
        self._check_feature_names(names)
        wanted = list(names)
        if include_management_tools:
            wanted += [t for n in names for t in FEATURES[n]["tools"]]
        changed = [n for n in dict.fromkeys(wanted) if self.feature_installed(n)]
        for name in changed:
            self.state["features"][name] = False
            if self.install_pending(name):
                self.state["install_pending"].remove(name)
            else:
                # Get-WindowsFeature shows UninstallPending until the restart the removal asks for (ASSUMED
                # for these features, like the restart itself).
                self.state.setdefault("uninstall_pending", []).append(name)
            self._on_feature_removed(name)
        # Removing a role service asks for a restart on Windows Server (ASSUMED for these features).
        restart = bool(changed)
        if restart:
            self.state["pending_restart"] = True
        return {"success": True, "restart_needed": restart, "changed_features": changed,
                "exit_code": "SuccessRestartRequired" if changed else "NoChangeNeeded"}

    def _check_feature_names(self, names):
        for name in names:
            if not self.feature_available(name):
                # Install-WindowsFeature's text for a name the OS does not have (ASSUMED wording).
                raise FeatureError(
                    f"ArgumentNotValid: The role, role service, or feature name is not valid: '{name}'. "
                    "The name was not found.")

    def _on_feature_installed(self, name: str):
        from . import licensing, terminal_services  # the providers own their state's shape
        if name == "RDS-Licensing":
            service = {
                # Start type and state after install are not in any source (ASSUMED: automatic, running).
                "display_name": "Remote Desktop Licensing", "state": "Running", "start_mode": "Auto",
            }
            if self.install_pending("RDS-RD-Server"):
                # ASSUMED from a public setup script (rd-licensing-wmi.md §12): while an RDS-RD-Server install
                # waits for its restart, TermServLicensing is registered only at that restart.
                self.state.setdefault("services_after_restart", {})["TermServLicensing"] = service
            else:
                self.state["services"]["TermServLicensing"] = service
            if self.state["license_server"] is None:
                self.state["license_server"] = licensing.new_license_server_state(self)
        if name == "RDS-RD-Server" and self.state["session_host"] is None:
            self.state["session_host"] = terminal_services.new_session_host_state(self)

    def _on_feature_removed(self, name: str):
        if name == "RDS-Licensing":
            self.state["services"].pop("TermServLicensing", None)
            # The licensing database stays on disk after removal (ASSUMED); state is kept so a
            # reinstall finds the packs again.
        if name == "RDS-RD-Server":
            self.state["session_host"] = None

    # --- registry (HKLM only) -------------------------------------------------------------------
    def reg_get(self, key: str, value: str):
        values = self.state["registry"].get(key.lower())
        if values is None:
            return None
        return values.get(value.lower())

    def _remember_case(self, key: str) -> None:
        # Windows keeps a key's case (EnumKey answers it); the lab stores keys in lower case and their
        # spelling here (state files from before issue 15 have none: their subkeys answer in lower case).
        self.state.setdefault("registry_case", {}).setdefault(key.lower(), key)

    def reg_set(self, key: str, value: str, reg_type: str, data):
        self._remember_case(key)
        values = self.state["registry"].setdefault(key.lower(), {})
        values[value.lower()] = {"name": value, "type": reg_type, "data": data}

    def reg_delete(self, key: str, value: str) -> bool:
        values = self.state["registry"].get(key.lower(), {})
        return values.pop(value.lower(), None) is not None

    def reg_key_exists(self, key: str) -> bool:
        return key.lower() in self.state["registry"]

    def reg_create_key(self, key: str):
        self._remember_case(key)
        self.state["registry"].setdefault(key.lower(), {})

    def reg_values(self, key: str) -> list[dict] | None:
        """The values of a key ({name, type, data} each, in creation order), None if it is missing."""
        values = self.state["registry"].get(key.lower())
        return None if values is None else list(values.values())

    def reg_subkeys(self, key: str) -> list[str]:
        """The names of a key's direct subkeys, spelt as they were created (sorted, ignoring case)."""
        prefix = key.lower().rstrip("\\") + "\\"
        depth = prefix.count("\\")
        spelling = self.state.get("registry_case", {})
        names = {k[len(prefix):].split("\\")[0].lower(): spelling.get(k, k).split("\\")[depth]
                 for k in sorted(self.state["registry"]) if k.startswith(prefix)}
        return sorted(names.values(), key=str.lower)

    def reg_has_subkeys(self, key: str) -> bool:
        prefix = key.lower().rstrip("\\") + "\\"
        return any(k.startswith(prefix) for k in self.state["registry"])

    def reg_delete_key(self, key: str) -> None:
        self.state["registry"].pop(key.lower(), None)
        self.state.get("registry_case", {}).pop(key.lower(), None)

    # --- the connecting account -------------------------------------------------------------------
    def account(self) -> dict:
        """{"domain_admin": bool, "enterprise_admin": bool} from the state key `account`."""
        account = dict(self.state.get("account") or {})
        unknown = set(account) - {"domain_admin", "enterprise_admin"}
        if unknown or not all(isinstance(v, bool) for v in account.values()):
            raise LabStateError(f"state key 'account' takes domain_admin and enterprise_admin (booleans), "
                                f"got {self.state.get('account')!r}")
        default = bool(self.state.get("domain"))
        if self.session is not None and self.session.domain_identity() == "computer":
            # become as SYSTEM: the domain controller sees the computer account, in no admin group (ASSUMED).
            return {"domain_admin": False, "enterprise_admin": False}
        return {"domain_admin": account.get("domain_admin", default),
                "enterprise_admin": account.get("enterprise_admin", default)}

    def second_hop_refusal(self) -> int:
        """0 when code in the caller's session can reach a domain controller with credentials, else the code a
        domain operation returns (rdlab.model.session: the second hop; the code is ASSUMED)."""
        from .session import E_ACCESSDENIED
        if self.session is None or self.session.domain_identity() != "none":
            return 0
        return E_ACCESSDENIED

    # --- CIM entry points -----------------------------------------------------------------------
    def cim_class(self, namespace: str, name: str) -> CimClass:
        from .repository import REPOSITORY
        power.check_up(self)  # every CIM operation starts here
        ns = namespace.replace("\\", "/").lower()
        if ns not in REPOSITORY.namespaces(self):
            raise WbemError(WBEM_E_INVALID_NAMESPACE, namespace)
        cls = REPOSITORY.get(ns, name)
        if cls is None or not cls.available(self):
            raise WbemError(WBEM_E_INVALID_CLASS, name)
        return cls

    def snapshot(self) -> dict:
        return copy.deepcopy(self.state)


class FeatureError(Exception):
    """A ServerManager cmdlet error (Install-WindowsFeature and friends)."""


# Fidelity notes for the non-CIM parts, listed in docs/fidelity.md by rdlab.fidelity.
FIDELITY = [
    ("Windows feature", "RDS-Licensing installed while an RDS-RD-Server install waits for its restart", ASSUMED,
     "the TermServLicensing service is registered only at that restart (a public setup script says so; no "
     "Microsoft page); the licensing classes answer meanwhile"),
    ("Windows feature", "InstallState Removed (host state key removed_features) and UninstallPending", ASSUMED,
     "ServerManager's InstallState names; Removed refuses an install without -Source with DISM's 'source files "
     "could not be found' text; UninstallPending from a removal until the restart; an install that waits for a "
     "restart exits SuccessRestartRequired"),
    ("Windows feature", "RDS-Licensing, RDS-Licensing-UI, RSAT-RDS-Licensing-Diagnosis-UI, RDS-RD-Server",
     DOCUMENTED, "[WSD] server-core-roles-and-services.md, server-core-removed-roles.md: names, Server Core availability"),
    ("Windows feature", "display names; tools added by -IncludeManagementTools", ASSUMED,
     "no source read gives them"),
    ("Windows feature", "RestartNeeded after installing RDS-RD-Server (Yes) and RDS-Licensing (No)", OBSERVED,
     "observed-outputs.md §4 [PRAC]: licensing used without restart; RD Session Host flows reboot"),
    ("Windows feature", "error text for a feature name the OS does not have", ASSUMED, "no pasted output found"),
    ("Service", "TermServLicensing: Running, Auto after install", ASSUMED,
     "short name [JAG]; start type and state are in no source"),
    ("Windows feature", "InstallState InstallPending (Installed still true) for RDS-RD-Server until the restart",
     ASSUMED, "the state name is ServerManager's; that this feature shows it follows from RestartNeeded Yes"),
    ("Windows feature", "RD Session Host takes effect only after the restart: until then TerminalServerMode 0 "
     "and Win32_TerminalServiceSetting answers as on a server without the role", ASSUMED,
     "in no source; a host seeded with the session_host role was installed and restarted long ago"),
    ("Registry", r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion CurrentVersion 6.3 on every lab OS",
     DOCUMENTED, "GetProductInfo (sysinfoapi.h): \"All Windows 10 based releases will be listed as version 6.3\"; "
     "2012 R2 is 6.3 itself; public registry dumps show the same"),
    ("Registry", "CurrentVersion ProductName (Caption without 'Microsoft '), CurrentBuild and CurrentBuildNumber "
     "(the build of Win32_OperatingSystem Version), CurrentMajorVersionNumber / CurrentMinorVersionNumber (10.0-based "
     "releases only), InstallationType Server / Server Core", OBSERVED, "public registry dumps and scripts"),
    ("Registry", "CurrentVersion EditionID ServerStandard, also on Server Core", ASSUMED,
     "Standard edition as dumps show it; the Server Core value is in no source read"),
    ("Registry", r"SYSTEM\CurrentControlSet\Control\Terminal Server fDenyTSConnections 1 on a new server; its "
     "RCM and RCM\\Licensing Core keys present and empty", ASSUMED,
     "Remote Desktop is off on a new Windows Server; the lab keeps the licensing mode in the WMI model, so no "
     "LicensingMode value is written there; AllowTSConnections and SetAllowTSConnections read and write "
     "fDenyTSConnections (a policy value of the same name wins), and lab client connections ignore it"),
    ("Registry", r"Terminal Server\WinStations\RDP-Tcp PortNumber 3389", DOCUMENTED,
     "[WSD] Change the listening port for Remote Desktop on your computer"),
    ("Restart", "a completed restart clears pending_restart, moves LastBootUpTime, starts Auto services "
     "and leaves Manual and Disabled ones stopped", DOCUMENTED,
     "[W32 wmi] win32-service StartMode; win32-operatingsystem LastBootUpTime"),
]
