"""The documented members of the classes on host_bridge.ps1's allowlist that the lab does not model, each with
its reason (issue 15). tests/lab/tests/test_model_members.py fails when a member of an allowlisted class in
Microsoft's schema (rdlab/schema/cim_schema.json) is neither modelled nor listed here, and when an entry here
names a member that is modelled or not in the schema; docs/fidelity.md lists every entry.

What the lab answers for them: a property comes back null (in a full Get, a projection and a WHERE), as an
unset property does on Windows; a call of a method, or a write of a property, fails the command loudly
(rdlab.model.cim.NotModelled, with the reason below) rather than pass a made-up error for Windows's.
"""

from __future__ import annotations

TSS = "Win32_TerminalServiceSetting"
SESSION_SETTINGS = (
    "session settings outside licensing (profiles, home folders, temporary folders, printing, reconnection, "
    "smart cards, drain mode, network fair-share weights); no source gives a new server's values")

NOT_MODELLED: list[tuple[str, tuple[str, ...], str]] = [
    (TSS, ("Caption", "Description", "InstallDate", "Name", "Status", "GetCapabilitiesID", "ActiveDesktop",
           "UserPermission", "Logons"), "descriptive and retired properties; no source gives a server's values"),
    (TSS, ("DeleteTempFolders", "PolicySourceDeleteTempFolders", "UseTempFolders", "PolicySourceUseTempFolders",
           "SingleSession", "PolicySourceSingleSession", "ProfilePath", "PolicySourceProfilePath", "HomeDirectory",
           "PolicySourceHomeDirectory", "TimeZoneRedirection", "PolicySourceTimeZoneRedirection",
           "DisableForcibleLogoff", "PolicySourceDisableForcibleLogoff", "FallbackPrintDriverType",
           "PolicySourceFallbackPrintDriverType", "SessionBrokerDrainMode", "LimitedUserSessions",
           "EnableRemoteDesktopMSI", "PolicySourceEnableRemoteDesktopMSI", "EnableAutomaticReconnection",
           "PolicySourceEnableAutomaticReconnection", "UseRDEasyPrintDriver", "PolicySourceUseRDEasyPrintDriver",
           "RedirectSmartCards", "PolicySourceRedirectSmartCards", "NetworkFSSUserSessionWeight",
           "NetworkFSSLocalSystemWeight", "NetworkFSSCatchAllWeight"), SESSION_SETTINGS),
    (TSS, ("SetFallbackPrintDriverType", "SetHomeDirectory", "SetPolicyPropertyName", "SetProfilePath",
           "SetSingleSession", "SetTimeZoneRedirection"), "they set the session settings above, not modelled"),
    (TSS, ("CreateWinstation", "GetTSLanaIds", "GetWinstationDriverNames"),
     "listeners, network adapters and winstation drivers: the lab has no network stack"),
    (TSS, ("GetRegisteredLicenseServerList",),
     "registered license servers come from Active Directory discovery, which the lab does not model"),
    ("Win32_TSLicenseKeyPack", ("ConvertLicenses", "ImportAgreementLicenseKeyPack", "ImportLicenseKeyPackOffline",
                                "ImportOpenPurchaseLicenseKeyPack", "ImportRetailPurchaseLicenseKeyPack",
                                "ReinstallAgreementLicenseKeyPack", "ReinstallLicenseKeyPackOffline",
                                "ReinstallOpenPurchaseLicenseKeyPack", "ReinstallRetailPurchaseLicenseKeyPack",
                                "RemoveLicensesWithIdCount", "UninstallLicenseKeyPack"),
     "CAL pack import, reinstall, conversion and partial removal: no module uses them yet, and the lab's "
     "Clearinghouse stand-in has no offline or migration flow to answer them with"),
    ("Win32_Service", ("AcceptPause", "AcceptStop", "Caption", "CheckPoint", "CreationClassName", "DelayedAutoStart",
                       "Description", "DesktopInteract", "ErrorControl", "ExitCode", "InstallDate", "PathName",
                       "ProcessId", "ServiceSpecificExitCode", "ServiceType", "StartName", "Status",
                       "SystemCreationClassName", "SystemName", "TagId", "WaitHint"),
     "the lab's services have no process, binary, account, dependencies or control history"),
    ("Win32_Service", ("Change", "Create", "Delete", "InterrogateService", "PauseService", "ResumeService",
                       "UserControlService"),
     "the collection only starts services and sets their start mode; the lab models no other control"),
    ("Win32_Service", ("GetSecurityDescriptor", "SetSecurityDescriptor"), "service ACLs are not modelled"),
    ("Win32_OperatingSystem", (
        "BootDevice", "BuildType", "CodeSet", "CountryCode", "CreationClassName", "CSCreationClassName", "CSDVersion",
        "CurrentTimeZone", "DataExecutionPrevention_Available", "DataExecutionPrevention_32BitApplications",
        "DataExecutionPrevention_Drivers", "DataExecutionPrevention_SupportPolicy", "Debug", "Description",
        "Distributed", "EncryptionLevel", "FreePhysicalMemory", "FreeSpaceInPagingFiles", "FreeVirtualMemory",
        "InstallDate", "LargeSystemCache", "LocalDateTime", "Locale", "MaxNumberOfProcesses",
        "MaxProcessMemorySize", "MUILanguages", "Name", "NumberOfLicensedUsers", "NumberOfProcesses",
        "NumberOfUsers", "Organization", "OSLanguage", "OSProductSuite", "OtherTypeDescription", "PAEEnabled",
        "PlusProductID", "PlusVersionNumber", "PortableOperatingSystem", "RegisteredUser", "SerialNumber", "ServicePackMajorVersion",
        "ServicePackMinorVersion", "SizeStoredInPagingFiles", "Status", "SuiteMask", "SystemDevice",
        "SystemDirectory", "SystemDrive", "TotalSwapSpaceSize", "TotalVirtualMemorySize", "TotalVisibleMemorySize",
        "WindowsDirectory", "QuantumLength", "QuantumType"),
     "memory, paging, locale, disk, product key and installation details: the lab host has no hardware or "
     "installation to report; only its OS identity, type and edition, boot time and product type are modelled"),
    ("Win32_OperatingSystem", ("Reboot", "Shutdown", "Win32Shutdown"),
     "restarts are modelled through Win32ShutdownTracker, the call the collection makes"),
    ("Win32_OperatingSystem", ("SetDateTime",), "the lab's clock moves with the host state key clock_offset_days"),
    ("Win32_ComputerSystem", (
        "AdminPasswordStatus", "AutomaticManagedPagefile", "AutomaticResetBootOption", "AutomaticResetCapability",
        "BootOptionOnLimit", "BootOptionOnWatchDog", "BootROMSupported", "BootupState", "BootStatus", "Caption",
        "ChassisBootupState", "ChassisSKUNumber", "CreationClassName", "CurrentTimeZone", "DaylightInEffect",
        "Description", "DNSHostName", "EnableDaylightSavingsTime", "FrontPanelResetStatus", "HypervisorPresent",
        "InfraredSupported", "InitialLoadInfo", "InstallDate", "KeyboardPasswordStatus", "LastLoadInfo",
        "Manufacturer", "Model", "NameFormat", "NetworkServerModeEnabled", "NumberOfLogicalProcessors",
        "NumberOfProcessors", "OEMLogoBitmap", "OEMStringArray", "PauseAfterReset", "PCSystemType", "PCSystemTypeEx",
        "PowerManagementCapabilities", "PowerManagementSupported", "PowerOnPasswordStatus", "PowerState",
        "PowerSupplyState", "PrimaryOwnerContact", "PrimaryOwnerName", "ResetCapability", "ResetCount", "ResetLimit",
        "Roles", "Status", "SupportContactDescription", "SystemFamily", "SystemSKUNumber", "SystemStartupDelay",
        "SystemStartupOptions", "SystemStartupSetting", "SystemType", "ThermalState", "TotalPhysicalMemory",
        "UserName", "WakeUpType"),
     "hardware, firmware, power and owner details: the lab host has no machine; only its name and domain "
     "membership are modelled"),
    ("Win32_ComputerSystem", ("JoinDomainOrWorkgroup", "Rename", "SetPowerState", "UnjoinDomainOrWorkgroup"),
     "a lab host's name and domain are set when it is seeded (rdlab), not by a call"),
]


def answer(class_name: str, members: tuple[str, ...]) -> str:
    """What the lab answers for listed members, as docs/fidelity.md says it."""
    from ..schema import SCHEMA
    entry = next(c for c in SCHEMA.classes() if c["name"] == class_name)
    methods = {m["name"] for m in entry["methods"]}
    if all(m in methods for m in members):
        return "; a call fails the command loudly (NotModelled), never passing for a Windows answer"
    return "; the lab answers null in a Get, a projection or a WHERE, and a write fails the command loudly"


def reason(class_name: str, member: str) -> str | None:
    """Why the lab does not model `member` of `class_name` (exact names), or None when it is not listed."""
    return next((why for cls, members, why in NOT_MODELLED if cls == class_name and member in members), None)


def unexplained(repository, schema, allowlist: dict[str, list[str]], table=None) -> list[str]:
    """What breaks the rule for the allowlisted classes ({namespace: [class, ...]}, any case): a documented
    member with neither a model nor a listed reason, or a listed member that is modelled or not documented."""
    table = NOT_MODELLED if table is None else table
    listed = {(cls.lower(), m) for cls, members, _why in table for m in members}
    problems = []
    for namespace, classes in allowlist.items():
        for class_name in classes:
            entry = schema.find_class(namespace, class_name)
            model = repository.get(namespace, class_name)
            if entry is None or model is None:
                problems.append(f"{namespace}:{class_name} is allowlisted but not in the schema or the lab")
                continue
            members = [(p["name"], model.prop(p["name"])) for p in entry["properties"]] + \
                      [(m["name"], model.method(m["name"])) for m in entry["methods"]]
            for name, modelled in members:
                is_listed = (entry["name"].lower(), name) in listed
                if modelled is None and not is_listed:
                    problems.append(f"{entry['name']}.{name} is documented but neither modelled nor listed")
                if modelled is not None and is_listed:
                    problems.append(f"{entry['name']}.{name} is modelled and also listed as not modelled")
            documented = {name for name, _modelled in members}
            problems += [f"{entry['name']}.{m} is listed but not in Microsoft's schema" for cls, ms, _why in table
                         if cls.lower() == entry["name"].lower() for m in ms if m not in documented]
    return problems
