# -*- coding: utf-8 -*-
# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file holds the documentation only: the module is the action plugin
# plugins/action/licensing_info.py, which runs on the controller.

DOCUMENTATION = r"""
---
module: licensing_info
short_description: Report the Remote Desktop Licensing state of a Windows host
version_added: 0.1.0
description:
  - Reads, in one WinRM round trip, everything about Remote Desktop (Terminal Server) Licensing on a
    Windows Server host, as the license server and as a session host.
  - As a license server, whether the RD Licensing role service is installed, the C(TermServLicensing)
    service, activation status, product ID, discovery scope, whether it is published in Active
    Directory and a member of the Terminal Server License Servers group, whether the License server security
    group policy is enabled and whether it is registered as a service connection point, and every installed
    CAL key pack with its counters (the built-in pack is marked).
  - As a session host, the licensing mode and whether Group Policy sets it, the configured license
    servers, what license server discovery finds, the Group Policy values, and the days left in the grace
    period.
  - Issued Per Device licenses are counted per key pack (active, temporary, revoked).
  - CAL usage per CAL version and type (RV(license_server.usage)), read from the key packs' counters without changing
    anything. Per User CALs in use and failed Per User requests are known only from a Per User usage report, which
    this module does not generate; P(remote_desktop.licensing.cal_usage#module) does (docs/guide_cal_usage.md).
  - RV(diagnostics) lists findings with a severity, like the RD Licensing Diagnoser does. They cover a license
    server that is not activated or whose service is down, CAL packs used up, over-allocated or expiring, CAL
    versions running out (O(low_cals_threshold)), temporary Per Device CALs expiring within 14 days, Per User CALs without
    the Terminal Server License Servers group, a session host without a licensing mode or license servers, Group
    Policy overrides, a mode that does not match the CALs of its own license server, license servers that cannot
    be reached or are not allowed to issue CALs to the host (the License server security group policy), and a
    grace period running out.
  - Works on hosts with neither role and says so. A part that cannot be read is listed under
    RV(problems) and never fails the task.
  - Reads only; never changes the host.
options:
  check_connectivity:
    description:
      - On a session host with license servers, ask Windows whether each can be reached and is valid
        (C(GetTStoLSConnectivityStatus)) and report it in RV(session_host.connectivity) and RV(diagnostics).
      - The configured servers are known only after the first read, so this costs a second round trip.
    type: bool
    default: false
  low_cals_threshold:
    description:
      - A CAL version (of one CAL type) is running out when the CALs left are at most this percent of those
        installed, which gives a C(cals_running_out) finding in RV(diagnostics). A version with none left is not
        repeated there, since each of its packs already has a C(cals_exhausted) finding; V(0) turns
        C(cals_running_out) off.
      - The O(remote_desktop.licensing.licensing_report#filter:low_cals_threshold) option of the report does the same
        for the usage read by P(remote_desktop.licensing.cal_usage#module).
    type: int
    default: 10
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - remote_desktop.licensing.reveal
attributes:
  check_mode:
    support: full
    details: The module reads only, so check mode runs it unchanged.
  diff_mode:
    support: none
  platform:
    platforms: windows
notes:
  - Runs on the controller as an action plugin and executes one batch of CIM queries on the host through
    the collection's internal C(host_bridge) module, so the host needs nothing but WinRM and PowerShell.
  - Uses CIM (C(Win32_TSLicenseServer), C(Win32_TSLicenseKeyPack), C(Win32_TerminalServiceSetting)), never
    the RemoteDesktop cmdlets or the C(RDS:) drive, so no RD Connection Broker is needed and it works under
    Windows PowerShell 5.1 and PowerShell 7.
  - The licensing classes answer only to members of the local Administrators group.
  - C(LicensingType) is reported as Per Device V(2), Per User V(4), Not configured V(5), as C(ChangeMode),
    Group Policy and Microsoft support scripts use it; the class reference page lists other numbers.
seealso:
  - name: Win32_TSLicenseServer class
    description: The license server's WMI class.
    link: https://learn.microsoft.com/windows/win32/termserv/win32-tslicenseserver
  - name: Win32_TerminalServiceSetting class
    description: The session host's licensing settings.
    link: https://learn.microsoft.com/windows/win32/termserv/win32-terminalservicesetting
author:
  - Remote Desktop Licensing contributors (@remote-desktop)
"""

EXAMPLES = r"""
- name: Read the licensing state of every Windows host
  remote_desktop.licensing.licensing_info:
  register: licensing

- name: Warn when a session host is close to the end of its grace period
  ansible.builtin.debug:
    msg: "{{ inventory_hostname }} has {{ licensing.session_host.grace_period_days_left }} grace days left"
  when:
    - licensing.session_host.installed
    - licensing.session_host.grace_period_days_left is not none
    - licensing.session_host.grace_period_days_left < 30

- name: Fail on any error-level finding, with connectivity checked
  remote_desktop.licensing.licensing_info:
    check_connectivity: true
  register: licensing
  failed_when: licensing.diagnostics | selectattr('severity', 'equalto', 'error') | list | length > 0

- name: Show the license server ID (for telephone or web activation of CAL packs)
  remote_desktop.licensing.licensing_info:
    reveal_license_server_id: true
  register: license_server
  no_log: true
"""

RETURN = r"""
host:
  description: The host's identity.
  returned: always
  type: dict
  contains:
    name:
      description: The computer name.
      type: str
      sample: LS1
    os:
      description: The operating system's caption.
      type: str
      sample: Microsoft Windows Server 2022 Standard
    os_version:
      description: The operating system's version.
      type: str
      sample: 10.0.20348
    installation_type:
      description: V(Server) or V(Server Core), from the registry; null when it cannot be read.
      type: str
      sample: Server
    part_of_domain:
      description: Whether the host is joined to a domain.
      type: bool
      sample: true
    domain:
      description: The domain's name when joined, otherwise null.
      type: str
      sample: corp.example.com
    workgroup:
      description: The workgroup's name when not joined, otherwise null.
      type: str
      sample: WORKGROUP
roles:
  description: Which RD Licensing roles the host has.
  returned: always
  type: dict
  contains:
    license_server:
      description: The RD Licensing role service (C(RDS-Licensing)) is installed.
      type: bool
      sample: true
    session_host:
      description: The RD Session Host role service (C(RDS-RD-Server)) is installed.
      type: bool
      sample: false
features:
  description: Installed state of each related Windows feature the host knows.
  returned: always
  type: dict
  sample: {"RDS-Licensing": true, "RDS-Licensing-UI": true, "RDS-RD-Server": false}
restart_pending:
  description: Features whose install or removal Windows finishes only at the next restart
    (C(InstallState) C(InstallPending) or C(UninstallPending)).
  returned: always
  type: list
  elements: str
  sample: ["RDS-RD-Server"]
removed_features:
  description:
    - Features whose files are removed from the host (C(InstallState) C(Removed), Features on Demand on Server
      Core). Installing one needs a source, which license_server and session_host do not give; they refuse it
      with a message.
  returned: always
  type: list
  elements: str
  sample: []
license_server:
  description: The host as a license server. Keys other than RV(license_server.installed) are null or empty
    when the role is not installed.
  returned: always
  type: dict
  contains:
    installed:
      description: The RD Licensing role service is installed.
      type: bool
    management_tools_installed:
      description: The RD Licensing Manager tools (C(RDS-Licensing-UI)) are installed.
      type: bool
    service:
      description: The C(TermServLicensing) service's C(state) and C(start_mode), or null if it does not exist.
      type: dict
      sample: {"state": "Running", "start_mode": "Auto"}
    activation_status:
      description: V(activated), V(not_activated) or V(unknown) (C(GetActivationStatus)).
      type: str
      sample: activated
    license_server_id:
      description: The license server ID; only with O(reveal_license_server_id) on an activated server.
      type: str
    product_id:
      description: The license server's product ID.
      type: str
    scope:
      description: The discovery scope, V(workgroup), V(domain) or V(forest) (C(ServerRole)).
      type: str
      sample: domain
    published_in_ad:
      description: Whether the server is published in Active Directory (C(IsLSPublished)).
      type: bool
    in_license_servers_group:
      description: Whether the server is in its domain's Terminal Server License Servers group
        (C(IsLSinTSLSGroup)); null when it cannot be asked, for example in a workgroup.
      type: bool
    security_group_policy:
      description:
        - Whether the C(License server security group) Group Policy setting is enabled on this license server
          (C(IsLSSecGrpGPEnabled)). Enabled, the server answers only session hosts whose computer accounts are in
          its local group C(RDS Endpoint Servers) (C(Terminal Server Computers) in Microsoft's page for the method and
          on Windows Server 2008 R2); the others get no CALs.
        - Null when it cannot be asked.
      type: bool
    registered_scp:
      description: Whether the license server is registered as a service connection point in Active Directory
        Domain Services (C(IsLSRegisteredToSCP)); null when it cannot be asked.
      type: bool
    contact:
      description: The contact information used for activation (first_name, last_name, company,
        country_region, email, org_unit, address, city, state_or_province, postal_code).
      type: dict
    key_packs:
      description: Every CAL key pack, the built-in one included and marked.
      type: list
      elements: dict
      contains:
        key_pack_id:
          description: C(KeyPackId).
          type: int
          sample: 3
        built_in:
          description: This is the built-in pack that every license server carries (not real CALs).
          type: bool
        key_pack_type:
          description: The program, from C(KeyPackType) (V(retail), V(volume), V(open_license), V(temporary), ...).
          type: str
          sample: volume
        key_pack_type_id:
          description: The raw C(KeyPackType).
          type: int
        license_type:
          description: V(per_device), V(per_user) or V(built_in) (C(ProductType)).
          type: str
          sample: per_user
        product_version:
          description: The CAL version (V(2008), V(2008R2), V(2012), ... V(2025)) from C(ProductVersionID).
          type: str
          sample: "2019"
        product_version_id:
          description: The raw C(ProductVersionID).
          type: int
        product_version_text:
          description: C(ProductVersion) as Windows words it (localized).
          type: str
          sample: Windows Server 2019
        total:
          description: C(TotalLicenses).
          type: int
        issued:
          description: C(IssuedLicenses).
          type: int
        available:
          description: C(AvailableLicenses).
          type: int
        unlimited:
          description: C(TotalLicenses) is 4294967295, as on the built-in and temporary packs.
          type: bool
        expiration_date:
          description: C(ExpirationDate) in ISO 8601, UTC.
          type: str
          sample: "2038-01-19T03:14:07Z"
        description:
          description: C(Description), for example V(C50-10.01-S).
          type: str
        type_and_model:
          description: C(TypeAndModel), for example V(RDS Per User CAL).
          type: str
        issued_licenses:
          description: Issued licenses of the pack (C(Win32_TSIssuedLicense), Per Device only) by status,
            C(active), C(temporary), C(revoked) and C(other).
          type: dict
          sample: {"active": 12, "temporary": 1, "revoked": 0, "other": 0}
        program:
          description:
            - The license program the pack was bought under, as recorded by M(remote_desktop.licensing.cal_pack)
              when it installed or recognised the pack (one of its O(remote_desktop.licensing.cal_pack#module:program)
              choices, for example V(select) or V(enterprise_agreement)). Windows does not record the program.
            - V(null) for a pack the collection did not record (installed by other means, or marked before the
              collection recorded programs, until the pack's declaration runs again).
            - Read from the names of the CAL pack markers in the same round trip as the rest; never a number.
          type: str
          sample: enterprise_agreement
    totals:
      description: Installed CALs by license type and product version, without the built-in and unlimited packs.
      type: dict
      sample: {"per_user": {"2022": {"total": 50, "issued": 3, "available": 47}}}
    usage:
      description:
        - CAL usage per CAL version and type, from the key packs (the built-in and unlimited packs left out), newest
          version first, in the shape of P(remote_desktop.licensing.cal_usage#module)'s C(summary).
        - C(product_version) (for example V(2022)), C(product_version_id), C(cal_type) (V(per_device) or V(per_user)),
          C(installed), C(issued) (the license server's own counter), C(available) (installed minus issued; negative
          when over-allocated) and C(failed_requests) (always null here; failed requests are in a Per User usage report
          only).
      type: list
      elements: dict
      sample: [{"product_version": "2022", "product_version_id": 7, "cal_type": "per_device", "installed": 25,
                "issued": 18, "available": 7, "failed_requests": null}]
    temporary_licenses:
      description: Temporary Per Device CALs issued (C(Win32_TSIssuedLicense) C(LicenseStatus) 1) by the day they
        expire, soonest first, each with C(expires) (V(YYYY-MM-DD)) and C(count); null when the issued licenses could
        not be read.
      type: list
      elements: dict
      sample: [{"expires": "2027-03-01", "count": 2}]
session_host:
  description: The host as a session host.
  returned: always
  type: dict
  contains:
    installed:
      description: The RD Session Host role service is installed.
      type: bool
    licensing_mode:
      description:
        - V(per_device), V(per_user), V(not_configured), V(remote_admin), V(personal), V(entra_id_per_user)
          (Group Policy value 6, Entra ID Per User) or V(unknown).
      type: str
      sample: per_user
    licensing_type:
      description: The raw C(LicensingType).
      type: int
      sample: 4
    licensing_mode_source:
      description: V(local) or V(group_policy) (C(PolicySourceLicensingType)).
      type: str
    license_servers:
      description: The license servers the host uses (C(GetSpecifiedLicenseServerList)), in order.
      type: list
      elements: str
    license_servers_source:
      description: V(local) or V(group_policy) (C(PolicySourceConfiguredLicenseServers)).
      type: str
    grace_period_days_left:
      description: Days left in the licensing grace period (C(GetGracePeriodDays)); V(0) when it is over;
        null when the role is not installed. The grace period begins when the host first accepts a client
        connection, and is also over once a permanent CAL was issued (see RV(session_host.grace_period_ended)).
      type: int
      sample: 97
    grace_period_ended:
      description:
        - Whether Windows recorded C(LicensingGracePeriodEnded), as a value or a subkey (the article does not say
          which), under C(HKLM\SYSTEM\CurrentControlSet\Services\TermService\Parameters), which it does once a license
          server issued a permanent CAL to a client of the host (Microsoft's grace-period article, hh553157). The
          grace period is then over, whatever RV(session_host.grace_period_days_left) says.
        - Null when the role is not installed or the key could not be read.
      type: bool
      sample: false
    connectivity:
      description: With O(check_connectivity), for each license server the C(status) code, its C(name), its
        C(meaning) as Microsoft documents it and whether it is C(valid) (9 or 11); otherwise null.
      type: list
      elements: dict
    discovered_license_servers:
      description:
        - What license server discovery finds (C(Win32_TerminalServiceSetting.FindLicenseServers)), each with
          C(name), C(available) (an RPC connection can be made), C(issuing_cals) (whether the license server is
          allowed to issue CALs to this session host) and C(admin_on_license_server) (whether the connecting account
          is an administrator there); each true, false or null for Windows's C(don't know).
        - Null when the role is not installed or discovery could not be run.
        - C(PingLicenseServer) and C(CanAccessLicenseServer) are not called, since Microsoft documents them as no longer
          available as of Windows Server 2008 R2; RV(session_host.connectivity) (C(GetTStoLSConnectivityStatus))
          and C(issuing_cals) answer the same questions.
      type: list
      elements: dict
    policy:
      description: The Group Policy registry values under
        C(HKLM\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services), null when not set.
      type: dict
      sample: {"licensing_mode": 4, "license_servers": ["ls1.corp.example.com"]}
diagnostics:
  description: Findings, most severe first, each with C(severity) (V(error), V(warning), V(info)), a C(code) and a
    C(message) an administrator can act on.
  returned: always
  type: list
  elements: dict
  sample:
    - {severity: error, code: not_activated,
       message: "The license server is not activated: it issues Per Device CALs only as temporary CALs, which
         expire after 90 days (Per User CALs it can issue), and no CAL pack can be installed until it is
         activated."}
problems:
  description: Parts of the state that could not be read, each with the C(part) and a C(message). A role
    that is not installed is not a problem.
  returned: always
  type: list
  elements: dict
  sample: []
"""
