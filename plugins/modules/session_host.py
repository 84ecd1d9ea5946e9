# -*- coding: utf-8 -*-
# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file holds the documentation only: the module is the action plugin
# plugins/action/session_host.py, which runs on the controller.

DOCUMENTATION = r"""
---
module: session_host
short_description: Set the licensing mode and license servers of a Remote Desktop Session Host
version_added: 0.1.0
description:
  - Sets a session host to Per Device or Per User licensing and points it at its license servers, in order,
    without an RD Connection Broker.
  - Writes through C(Win32_TerminalServiceSetting) (C(ChangeMode), C(SetSpecifiedLicenseServerList)) by default,
    or through the local Group Policy values on request.
  - When Group Policy it did not write sets the mode or the servers (a domain GPO, for example), the module
    reports it and leaves it alone instead of fighting it on every run.
  - Optionally installs the RD Session Host role service (C(RDS-RD-Server)), with a reboot when Windows asks for
    one.
  - Reports the grace period and, for each license server, the connectivity status Windows gives, and can fail
    the task when the grace period is running out.
options:
  mode:
    description: V(per_device) or V(per_user). Not managed when omitted.
    type: str
    choices: [per_device, per_user]
  license_servers:
    description:
      - The license servers, in the order the host should try them (names or addresses). V([]) clears the list.
      - Not managed when omitted.
    type: list
    elements: str
  method:
    description:
      - V(wmi) writes the host's own settings through C(Win32_TerminalServiceSetting).
      - V(group_policy) writes the local policy values "Set the Remote Desktop licensing mode" (C(LicensingMode))
        and "Use the specified Remote Desktop license servers" (C(LicenseServers)) under
        C(HKLM\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services), as Microsoft's guide for session hosts
        without a Connection Broker describes. The module records what it writes, so it knows its own values from
        those of a domain GPO.
      - Switching from V(group_policy) to V(wmi) removes the policy values the module itself wrote (the plan's
        C(policy_mode_remove) and C(policy_servers_remove) steps) for the settings the task declares, then
        writes them through WMI. Policy values the module did not write are left alone, with a warning.
    type: str
    choices: [wmi, group_policy]
    default: wmi
  install_role:
    description:
      - Install the RD Session Host role service (C(RDS-RD-Server)) when it is missing. It is not available on
        Server Core.
      - Windows needs a restart to finish the install; without O(reboot) the task stops after the install, returns
        RV(reboot_required) and configures licensing on the next run. A run with O(reboot=true) on a host whose
        install waits for that restart restarts it first (the plan's C(restart) step).
    type: bool
    default: false
  check_connectivity:
    description:
      - Ask Windows whether each license server can be reached and is valid (C(GetTStoLSConnectivityStatus)).
      - When O(license_servers) is not given, checking the configured servers costs one more round trip.
      - The task warns about each license server that does not answer as a valid license server; it does not
        fail (see O(min_grace_days) for that).
    type: bool
    default: true
  min_grace_days:
    description:
      - Fail the task when the host lives on its grace period with fewer days left than this. The host lives on
        its grace period while none of its license servers answers as a valid license server (connectivity
        status 9 or 11).
      - The grace period begins when the host first accepts a client connection and ends when a license server
        issues the first permanent CAL to one of its clients, or when its days run out (Microsoft's grace-period
        article, hh553157). Once Windows recorded that a permanent CAL ended it (RV(grace_period_ended)), the task
        fails whenever no license server answers as valid, whatever RV(grace_period_days_left) says.
    type: int
  allow_per_user_in_workgroup:
    description:
      - Microsoft does not permit Per User licensing for session hosts in a workgroup ("you have to use Per Device
        CALs ... Per User CALs are not permitted", License Remote Desktop session hosts), and Per User CALs cannot
        be tracked there. With O(mode=per_user) on a host that is not in a domain, the task fails before changing
        anything, unless this is V(true); then it sets Per User and warns.
    type: bool
    default: false
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - remote_desktop.licensing.reboot
attributes:
  check_mode:
    support: full
    details: Reports the plan and the predicted result. A role install is predicted to leave the host not
      configured, with no license servers.
  diff_mode:
    support: full
  platform:
    platforms: windows
notes:
  - Per User licensing is not permitted in a workgroup (workgroup servers "have to use Per Device CALs", License
    Remote Desktop session hosts); the module refuses O(mode=per_user) on a host that is not in a domain unless
    O(allow_per_user_in_workgroup=true).
  - The task warns when it leaves a licensing mode set with no license server configured.
  - Every warning begins with the host's inventory name.
  - C(LicensingType) is read as Per Device V(2), Per User V(4), Not configured V(5), as C(ChangeMode) and Group
    Policy number them.
  - With O(method=group_policy) the values are written to the registry directly, as C(reg add) would; the
    Local Group Policy Editor does not show them.
seealso:
  - module: remote_desktop.licensing.license_server
  - module: remote_desktop.licensing.licensing_info
  - name: License your RDS deployment with client access licenses
    description: Microsoft's guide to pointing session hosts at license servers.
    link: https://learn.microsoft.com/windows-server/remote/remote-desktop-services/rds-license-session-hosts
author:
  - Remote Desktop Licensing contributors (@remote-desktop)
"""

EXAMPLES = r"""
- name: Per User licensing from two license servers
  remote_desktop.licensing.session_host:
    mode: per_user
    license_servers:
      - ls1.corp.example.com
      - ls2.corp.example.com

- name: Install RD Session Host, reboot, and license it Per Device through local Group Policy
  remote_desktop.licensing.session_host:
    install_role: true
    reboot: true
    mode: per_device
    license_servers: [ls1.corp.example.com]
    method: group_policy

- name: Fail when fewer than 30 days of grace are left and no license server is valid
  remote_desktop.licensing.session_host:
    min_grace_days: 30
"""

RETURN = r"""
mode:
  description:
    - The licensing mode after the task (predicted in check mode), as licensing_info names it; a host that Group
      Policy sets to Entra ID Per User (value 6) reports V(entra_id_per_user).
  returned: always
  type: str
  sample: per_user
mode_source:
  description: V(local) or V(group_policy).
  returned: always
  type: str
license_servers:
  description: The license servers after the task, in order.
  returned: always
  type: list
  elements: str
license_servers_source:
  description: V(local) or V(group_policy).
  returned: always
  type: str
role_installed:
  description: The RD Session Host role service is installed.
  returned: always
  type: bool
grace_period_days_left:
  description: Days left in the licensing grace period (C(GetGracePeriodDays)); null when the role is not installed.
  returned: always
  type: int
  sample: 97
grace_period_ended:
  description: Whether Windows recorded C(LicensingGracePeriodEnded), which it does once a license server issued a
    permanent CAL to a client of the host (hh553157); the grace period is then over whatever RV(grace_period_days_left)
    says. Null when the role is not installed.
  returned: always
  type: bool
  sample: false
connectivity:
  description: For each license server, the C(status) code, its C(name) and C(meaning) as Microsoft documents them,
    and whether it is C(valid) (9 or 11).
  returned: always
  type: list
  elements: dict
  sample:
    - {server: ls1.corp.example.com, status: 11, name: valid, valid: true,
       meaning: The license server can be contacted and is a valid license server.}
reboot_required:
  description: The role install needs a restart and O(reboot) was not set.
  returned: always
  type: bool
rebooted:
  description: The host was rebooted by this task.
  returned: when the host was rebooted
  type: bool
elapsed:
  description: Seconds the reboot took, from the call that started it until the host answered a licensing read
    again.
  returned: when the host was rebooted
  type: int
  sample: 94
plan:
  description: The changes, applied or (in check mode) to be applied, with the operations sent to the host.
  returned: always
  type: list
  elements: dict
"""
