# -*- coding: utf-8 -*-
# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY
# The interfaces in this file serve this collection's own plugins; they may change in any release,
# even a bugfix release. Do not import them from other collections or playbooks.
"""Windows facts about RD Licensing: classes, methods, enumerations, codes.

Every value cites its source. Keys, as in docs/sources.md:
  [W32] MicrosoftDocs/win32 desktop-src/TermServ/<page>
  [WSD] MicrosoftDocs/windowsserverdocs
  [JAG] jagilber/powershellScripts rds-lic-svr-chk.ps1 (Microsoft support engineer)
  [OBS] docs/sources.md "observed outputs": output pasted from real servers
Values no source gives are marked ASSUMED and listed in docs/fidelity.md.
"""

from __future__ import annotations

CIMV2 = "root/cimv2"
TS_NAMESPACE = "root/cimv2/TerminalServices"  # [W32] win32-terminalservicesetting.md (2008+)
REGISTRY_NAMESPACE = "root/default"  # StdRegProv lives here [W32 wmi] stdregprov

LICENSE_SERVER_CLASS = "Win32_TSLicenseServer"  # [W32] win32-tslicenseserver.md, all methods static
KEY_PACK_CLASS = "Win32_TSLicenseKeyPack"  # [W32] win32-tslicensekeypack.md
ISSUED_LICENSE_CLASS = "Win32_TSIssuedLicense"  # [W32] win32-tsissuedlicense.md
TS_SETTING_CLASS = "Win32_TerminalServiceSetting"  # [W32] win32-terminalservicesetting.md
SERVICE_CLASS = "Win32_Service"
OS_CLASS = "Win32_OperatingSystem"
COMPUTER_SYSTEM_CLASS = "Win32_ComputerSystem"
REGISTRY_CLASS = "StdRegProv"

# Windows feature names. [WSD] administration/server-core/server-core-roles-and-services.md and
# server-core-removed-roles.md: RDS-Licensing exists on Server Core, the two tools and RDS-RD-Server
# do not.
FEATURE_LICENSING = "RDS-Licensing"
FEATURE_LICENSING_UI = "RDS-Licensing-UI"
FEATURE_LICENSING_DIAGNOSIS = "RSAT-RDS-Licensing-Diagnosis-UI"
FEATURE_SESSION_HOST = "RDS-RD-Server"
ALL_FEATURES = (FEATURE_LICENSING, FEATURE_LICENSING_UI, FEATURE_LICENSING_DIAGNOSIS, FEATURE_SESSION_HOST)

# The RD Licensing service short name. [JAG] Get-Service TermServLicensing.
LICENSING_SERVICE = "TermServLicensing"

# Win32_TSLicenseServer GetActivationStatus / Activate* out parameter ActivationStatus.
# [W32] getactivationstatus-win32-tslicenseserver.md; [JAG] prints "0 = activated, 1 = not activated".
ACTIVATION_STATUS = {0: "activated", 1: "not_activated", 2: "unknown"}

# Win32_TSLicenseServer.ServerRole, the discovery scope. [W32] win32-tslicenseserver.md.
SERVER_ROLE = {0: "workgroup", 1: "domain", 2: "forest"}

# Win32_TSLicenseKeyPack.KeyPackType. [W32] win32-tslicensekeypack.md. 6 is documented as
# "not supported" yet is what the built-in pack carries, and 7 occurs undocumented ([OBS] 1a, 1c).
KEY_PACK_TYPE = {
    0: "unknown",
    1: "retail",
    2: "volume",
    3: "concurrent",
    4: "temporary",
    5: "open_license",
    6: "built_in",
    7: "undocumented_7",
}

# Win32_TSLicenseKeyPack.ProductType. [W32] 0..2. 3 "BuiltIn" is a COMMUNITY EDIT ONLY: added to the page
# by a GitHub user outside Microsoft (MicrosoftDocs/win32 commit 3179fbfae2, 2022), not by Microsoft;
# it is also observed on the built-in pack ([OBS] 1c).
PRODUCT_TYPE = {0: "per_device", 1: "per_user", 2: "not_valid", 3: "built_in"}

# Win32_TSLicenseKeyPack.ProductVersionID. [W32] lists 2..6. 7 = 2022 is a COMMUNITY EDIT ONLY (the same
# 2022 edit by a GitHub user outside Microsoft, MicrosoftDocs/win32 commit 3179fbfae2); 8 = 2025 is not
# documented at all and was "seen in the wild" ([OBS] 6, Checkmk PR #787). 0 is what the built-in pack
# carries ([OBS] 1c).
PRODUCT_VERSION_ID = {
    0: "built_in",
    2: "2008",
    3: "2008R2",
    4: "2012",
    5: "2016",
    6: "2019",
    7: "2022",
    8: "2025",
}

# Observed on two real servers: the built-in pack ([OBS] 1a, 1b, 1c).
BUILT_IN_KEY_PACK_TYPE = 6
BUILT_IN_PRODUCT_TYPE = 3
BUILT_IN_TYPE_AND_MODEL = "Built-in TS Per Device CAL"
UINT32_MAX = 4294967295  # TotalLicenses of the built-in and temporary packs ([OBS] 1a, 1b)

# Win32_TerminalServiceSetting.LicensingType as read. The class page says 3 = Per User and 4 = Not
# Configured, but ChangeMode, the class's own BitMap qualifier, Win32_TSDeploymentLicensing, [JAG]
# and the Group Policy values all use 2 / 4 / 5 (rd-licensing-wmi.md §10.1; [OBS] 3).
LICENSING_TYPE = {
    0: "personal",
    1: "remote_admin",
    2: "per_device",
    4: "per_user",
    5: "not_configured",
    # Group Policy LicensingMode 6, "AAD Per User" (Entra ID Per User) in the newest TerminalServer.admx
    # (rd-licensing-wmi.md §12). That LicensingType then reads 6 as the policy value does is ASSUMED: no
    # source shows the WMI property under this policy. A configured mode, never "not configured".
    6: "entra_id_per_user",
}
# Licensing modes that are configured but not served by CALs of an RD license server.
ENTRA_ID_MODES = ("entra_id_per_user",)
# ChangeMode's LicensingType parameter. [W32] win32-terminalservicesetting-changemode.md.
CHANGE_MODE_VALUE = {"per_device": 2, "per_user": 4}

# Win32_TerminalServiceSetting.PolicySourceLicensingType / PolicySourceConfiguredLicenseServers.
# [W32] win32-terminalservicesetting.md: 0 = set on the server, 1 = set by Group Policy.
POLICY_SOURCE = {0: "local", 1: "group_policy"}

# GetTStoLSConnectivityStatus out TStoLSConnectivityStatus (that exact case: the method page's MOF and
# microsoft/wmi's live-generated binding; the bridge client reads names case-insensitively anyway). [W32]
# gettstolsconnectivitystatus-win32-terminalservicesetting.md, names as [JAG]'s enum; [JAG] counts
# 9 and 11 as success.
# The local group the "License server security group" policy admits. The method pages ([W32]
# islssecgrpgpenabled-, istsintscgroup-win32-tslicenseserver.md) and the Windows Server 2008 R2 page "Remote Desktop
# License Server Security Group Configuration" (ee891342) call it Terminal Server Computers; the policy's current ADMX
# text (TS_LICENSE_SECGROUP) calls it RDS Endpoint Servers, the built-in group S-1-5-32-576 (winnt.h
# DOMAIN_ALIAS_RID_RDS_ENDPOINT_SERVERS). Messages give both names (docs/troubleshooting.md).
TSC_GROUP = ('local group RDS Endpoint Servers ("Terminal Server Computers" in the WMI pages and on Windows Server '
             '2008 R2)')
CONNECTIVITY_STATUS = {
    0: ("unknown", "The connectivity status is unknown."),
    1: ("valid_ws08r2", "The license server is a valid Windows Server 2008 R2 license server."),
    2: ("valid_ws08", "The license server is a valid Windows Server 2008 license server."),
    3: ("beta_rtm_mismatch", "The license server and the session host are beta and RTM builds."),
    4: ("lower_version", "The license server is an older version than the session host."),
    5: ("not_in_tsc_group", "The session host is not in the license server's " + TSC_GROUP + "."),
    6: ("not_connectable", "The license server cannot be contacted."),
    7: ("unknown_validity", "The license server can be contacted but its validity is unknown."),
    8: ("access_denied", "The license server can be contacted but access is denied."),
    9: ("valid_ws08r2_vdi", "The license server is valid for VDI."),
    10: ("feature_not_supported", "The license server does not support this feature."),
    11: ("valid", "The license server can be contacted and is a valid license server."),
}

# Group Policy registry values. "Set the Remote Desktop licensing mode" (LicensingMode, REG_DWORD
# 2 / 4) and "Use the specified Remote Desktop license servers" (LicenseServers, REG_SZ, comma
# separated). rd-licensing-wmi.md §4 (admx.help; [WSD] rds-license-session-hosts.md).
HKEY_LOCAL_MACHINE = 2147483650  # 0x80000002, StdRegProv hDefKey [W32 wmi] stdregprov
POLICY_KEY = r"SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services"
POLICY_LICENSING_MODE = "LicensingMode"
POLICY_LICENSE_SERVERS = "LicenseServers"
# StdRegProv Get*Value returns 2 (ERROR_FILE_NOT_FOUND) when the key or value does not exist.
REGISTRY_NOT_FOUND = 2
# The collection's own registry key: CAL pack markers and the Group Policy values the module wrote.
MARKER_KEY = r"SOFTWARE\Ansible\RemoteDesktopLicensing"
# HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion InstallationType: "Server" or "Server Core".
CURRENT_VERSION_KEY = r"SOFTWARE\Microsoft\Windows NT\CurrentVersion"

# WBEM error codes. [W32] terminal-services-wmi-provider-error-codes.md, texts as WbemErrorEnum.
WBEM_ERRORS = {
    0x80041001: ("WBEM_E_FAILED", "Generic failure"),
    0x80041002: ("WBEM_E_NOT_FOUND", "Not found"),
    0x80041003: ("WBEM_E_ACCESS_DENIED", "Access denied"),
    0x80041004: ("WBEM_E_PROVIDER_FAILURE", "Provider failure"),
    0x80041005: ("WBEM_E_TYPE_MISMATCH", "Type mismatch"),
    0x80041006: ("WBEM_E_OUT_OF_MEMORY", "Out of memory"),
    0x80041008: ("WBEM_E_INVALID_PARAMETER", "Invalid parameter"),
    0x80041009: ("WBEM_E_NOT_AVAILABLE", "Not available"),
    0x8004100C: ("WBEM_E_NOT_SUPPORTED", "Not supported"),
    0x8004100E: ("WBEM_E_INVALID_NAMESPACE", "Invalid namespace"),
    0x8004100F: ("WBEM_E_INVALID_OBJECT", "Invalid object"),
    0x80041010: ("WBEM_E_INVALID_CLASS", "Invalid class"),
    0x80041014: ("WBEM_E_INITIALIZATION_FAILURE", "Initialization failure"),
    0x80041016: ("WBEM_E_INVALID_OPERATION", "Invalid operation"),
    0x80041017: ("WBEM_E_INVALID_QUERY", "Invalid query"),
    0x80041018: ("WBEM_E_INVALID_QUERY_TYPE", "Invalid query type"),
    0x80041019: ("WBEM_E_ALREADY_EXISTS", "Already exists"),
    0x80041021: ("WBEM_E_INVALID_SYNTAX", "Invalid syntax"),
    0x80041023: ("WBEM_E_READ_ONLY", "Read only"),
    0x80041024: ("WBEM_E_PROVIDER_NOT_CAPABLE", "Provider not capable"),
    0x80041028: ("WBEM_E_ILLEGAL_NULL", "Illegal null"),
    0x8004102B: ("WBEM_E_VALUE_OUT_OF_RANGE", "Value out of range"),
    0x8004102E: ("WBEM_E_INVALID_METHOD", "Invalid method"),
    0x8004102F: ("WBEM_E_INVALID_METHOD_PARAMETERS", "Invalid method Parameter(s)"),
    0x8004103A: ("WBEM_E_INVALID_OBJECT_PATH", "Invalid object path"),
}
WBEM_E_INVALID_CLASS = 0x80041010
WBEM_E_INVALID_NAMESPACE = 0x8004100E


def describe_code(code):
    """Name a WBEM code or return value, e.g. '0x80041010 WBEM_E_INVALID_CLASS (Invalid class)'."""
    if code is None:
        return "no code"
    code = int(code) & 0xFFFFFFFF
    if code in WBEM_ERRORS:
        name, text = WBEM_ERRORS[code]
        return "0x%08X %s (%s)" % (code, name, text)
    if code < 0x10000:
        return str(code)
    return "0x%08X" % code
