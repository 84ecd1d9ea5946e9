# -*- coding: utf-8 -*-
# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file holds the documentation only: the module is the action plugin
# plugins/action/license_server.py, which runs on the controller.

DOCUMENTATION = r"""
---
module: license_server
short_description: Install, configure and activate a Remote Desktop license server
version_added: 0.1.0
description:
  - Installs or removes the Remote Desktop Licensing role service (C(RDS-Licensing)) with its management
    tools, keeps the C(TermServLicensing) service running and automatic, sets the contact information
    Microsoft asks for at activation, activates, reactivates or deactivates the license server, and sets its
    discovery scope, its publication in Active Directory and its membership of the Terminal Server License
    Servers group.
  - Each option is managed only when given. Only what differs is changed; a second run changes nothing.
  - After installing the role the module waits until the licensing WMI classes answer, then configures the
    server in the same task. What it would refuse to configure (missing contact fields, domain options on a
    workgroup host) it refuses before installing anything.
options:
  state:
    description:
      - V(present) installs the role service, V(absent) removes it (with its management tools).
      - With V(absent), O(activation=deactivated) deactivates the server first. Its CALs are not moved, so migrate
        them to another license server beforehand (RD Licensing Manager, Manage RDS CALs; Microsoft's "Migrate your
        Remote Desktop Services Client Access Licenses").
    type: str
    choices: [present, absent]
    default: present
  include_management_tools:
    description:
      - Also install the RD Licensing Manager (C(RDS-Licensing-UI)) and the RD Licensing Diagnoser
        (C(RSAT-RDS-Licensing-Diagnosis-UI)). Server Core has neither, and gets the role service alone.
    type: bool
    default: true
  contact:
    description:
      - The contact information the Microsoft Clearinghouse asks for. Automatic activation needs
        O(contact.first_name), O(contact.last_name), O(contact.company) and O(contact.country_region).
      - Only the fields given are managed; an empty string clears a field.
    type: dict
    suboptions:
      first_name:
        description: C(FirstName).
        type: str
      last_name:
        description: C(LastName).
        type: str
      company:
        description: C(Company).
        type: str
      country_region:
        description: C(CountryRegion), the country or region name as the activation wizard lists it, for example
          V(United States) or V(Denmark).
        type: str
      email:
        description: C(eMail).
        type: str
      org_unit:
        description: C(OrgUnit).
        type: str
      address:
        description: C(Address).
        type: str
      city:
        description: C(City).
        type: str
      state_or_province:
        description: C(State).
        type: str
      postal_code:
        description: C(PostalCode).
        type: str
  activation:
    description:
      - V(activated) activates the license server when it is not; V(deactivated) deactivates it when it is.
      - Not managed when omitted.
      - Both the method's return value and the C(ActivationStatus) it reports are checked, and the status is read
        back.
    type: str
    choices: [activated, deactivated]
  activation_method:
    description:
      - V(automatic) activates over the Internet (C(ActivateServerAutomatic)); Microsoft documents outbound TCP
        443 to the Microsoft Clearinghouse. The module calls the method on the license server, so the license
        server itself needs to reach it.
      - Without Internet on the license server, Microsoft's first alternative is RD Licensing Manager on another
        computer that has Internet access (by hand); then the web browser or telephone methods, which give the
        license server ID for V(license_server_id).
      - V(license_server_id) activates with a license server ID obtained by web browser or telephone
        (C(ActivateServer)), for servers that cannot reach the Internet. Give it in O(license_server_id).
      - Deactivation is always automatic.
    type: str
    choices: [automatic, license_server_id]
    default: automatic
  license_server_id:
    description:
      - The 35-character license server ID from web or telephone activation. Hyphens and spaces are ignored.
      - Required with O(activation_method=license_server_id) and O(activation=activated).
    type: str
  reactivation_reason:
    description:
      - Reactivate an activated server automatically, for example after its certificate was corrupted. This runs
        on every task run that sets it, so set it only for the run that should reactivate.
    type: str
    choices: [redeployed, certificate_corrupt, private_key_compromised, key_expired, server_upgraded]
  scope:
    description:
      - The discovery scope (C(ChangeRole)). V(domain) needs Domain Admins membership and V(forest) Enterprise
        Admins membership; both need a domain member.
    type: str
    choices: [workgroup, domain, forest]
  publish_in_ad:
    description:
      - Publish the license server in Active Directory (C(PublishLS)) or remove it (C(UnpublishLS)), so session
        hosts in the forest can discover it. Needs Enterprise Admins membership.
    type: bool
  ad_group_membership:
    description:
      - Add the license server's computer account to the domain's Terminal Server License Servers group
        (SID S-1-5-32-561) or remove it. Per User CAL tracking and reporting need it. Needs Domain Admins
        membership.
    type: bool
  ready_timeout:
    description:
      - Seconds to wait after installing the role for the licensing WMI classes to answer.
    type: int
    default: 300
  force:
    description:
      - With O(state=absent), remove the role service although the license server holds CAL key packs (the
        built-in pack aside), or its key packs cannot be read. Without it the module refuses and changes
        nothing, because removing the role takes the CALs with it.
    type: bool
    default: false
  activation_retries:
    description:
      - How many more times to try automatic activation (C(ActivateServerAutomatic)) after it fails, for the
        Microsoft Clearinghouse fails now and then. The default, three tries in all, is what Microsoft's own RDP
        protocol test-suite setup does before it gives up.
      - Before each new try the module reads the license server's C(ActivationStatus) again, so a server that the
        failed call activated after all is not activated again. The other configuration steps the failure stopped
        are applied with the new try.
      - Activation with a license server ID and reactivation are tried once.
      - V(0) tries once.
    type: int
    default: 2
  activation_retry_delay:
    description:
      - Seconds to wait between activation tries (O(activation_retries)).
    type: int
    default: 5
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - remote_desktop.licensing.reboot
  - remote_desktop.licensing.reveal
attributes:
  check_mode:
    support: full
    details: >-
      Reports the plan and the predicted result without changing the host. When the role is not installed,
      the rest of the plan is predicted for a freshly installed license server.
  diff_mode:
    support: full
    details: Shows the managed state before and after; no secret is in it.
  platform:
    platforms: windows
notes:
  - Uses CIM (C(Win32_TSLicenseServer)) through the collection's internal host module, never the RemoteDesktop
    cmdlets or the C(RDS:) drive, so no RD Connection Broker is needed and it works under PowerShell 7.
  - The account needs to be a member of the local Administrators group; O(scope), O(publish_in_ad) and
    O(ad_group_membership) need the domain groups named with them. A missing privilege is reported with the
    group it needs.
  - O(scope=domain) and O(scope=forest), O(publish_in_ad) and O(ad_group_membership) make the license server
    call a domain controller as the connecting account (the second hop). Over WinRM with NTLM or Basic, or Kerberos
    without delegation, it has no credentials to pass on and the domain controller refuses even a Domain Admin.
    Use C(become) with C(become_method=runas) and C(become_user) the same account, or the CredSSP transport, or
    Kerberos with delegation (inventory examples in the collection's docs/troubleshooting.md). The module reads
    C(IsLSinTSLSGroup) first; when that read is refused, a task that needs the domain controller fails before it
    changes anything, saying so.
  - Which error Windows returns for each failed activation or privilege check is not documented; the module
    reports the call, its return value and what to try.
  - The start type of the C(TermServLicensing) service after an install and the initial discovery scope are
    not documented; check mode predicts an automatic, running service and the domain scope on domain members.
seealso:
  - module: remote_desktop.licensing.cal_pack
  - module: remote_desktop.licensing.licensing_info
  - name: Activate the Remote Desktop Services license server
    description: Microsoft's guide to activation, with the web and telephone methods.
    link: https://learn.microsoft.com/windows-server/remote/remote-desktop-services/rds-activate-license-server
author:
  - Remote Desktop Licensing contributors (@remote-desktop)
"""

EXAMPLES = r"""
- name: Install and activate the license server over the Internet
  remote_desktop.licensing.license_server:
    contact:
      first_name: Ada
      last_name: Lovelace
      company: Example Ltd
      country_region: United Kingdom
      email: rds-admins@example.com
    activation: activated
    scope: domain
    ad_group_membership: true

- name: Publish in Active Directory and join the license servers group, with runas as the same account
  remote_desktop.licensing.license_server:
    publish_in_ad: true
    ad_group_membership: true
  become: true
  become_method: runas
  become_user: "{{ ansible_user }}"
  vars:
    ansible_become_password: "{{ ansible_password }}"

- name: Activate an offline license server with an ID from the web or telephone method
  remote_desktop.licensing.license_server:
    activation: activated
    activation_method: license_server_id
    license_server_id: "{{ vault_license_server_id }}"

- name: Deactivate and remove the license server
  remote_desktop.licensing.license_server:
    state: absent
    activation: deactivated
    reboot: true
"""

RETURN = r"""
activation_status:
  description: V(activated), V(not_activated) or V(unknown) after the task (predicted in check mode).
  returned: always
  type: str
  sample: activated
license_server_id:
  description: The license server ID, with O(reveal_license_server_id) on an activated server; otherwise null.
  returned: always
  type: str
product_id:
  description: The license server's product ID, which web and telephone activation ask for.
  returned: always
  type: str
  sample: 00490-92005-99454-AT527
reboot_required:
  description: Windows says a restart is needed to complete the install or removal, and O(reboot) was not set.
  returned: always
  type: bool
  sample: false
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
  description: The changes, applied or (in check mode) to be applied, each with C(action), C(description) and the
    C(operations) sent to the host. Secret values are never in it.
  returned: always
  type: list
  elements: dict
  sample:
    - action: activate
      description: Activate the license server automatically over the Internet
      operations:
        - {id: activate.1, kind: cim_invoke, namespace: root/cimv2, class: Win32_TSLicenseServer,
           method: ActivateServerAutomatic}
"""
