# -*- coding: utf-8 -*-
# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file holds the documentation only: the module is the action plugin
# plugins/action/preflight.py, which runs on the controller.

DOCUMENTATION = r"""
---
module: preflight
short_description: Check, without changing anything, the host facts a read can show that the modules rely on
version_added: 0.1.0
description:
  - Reads, in one WinRM round trip, the facts about a host that the collection's modules rely on and that a
    read can show, and says which of these assumptions hold, for a first run on a real license server or session
    host. What only a change would show is not checked (see the notes).
  - It checks the Windows version and installation type; the licensing classes as the host declares them (C(Get-CimClass))
    against each class, method, in-parameter and property of the read batch every module starts with (the one of
    M(remote_desktop.licensing.licensing_info)); each installed key
    pack's C(ProductVersionID) against the collection's version table; the Group Policy and C(CurrentVersion)
    registry values it reads; whether the connecting account's token holds the privileges the bridge enables
    (C(SeShutdownPrivilege), for reboots); on a domain member, whether a domain read (C(IsLSinTSLSGroup)) reaches
    a domain controller (the second hop); the WinRM transport and become, from the connection's variables.
  - Returns RV(observation), a record of what the host showed, to attach to a bug report (the playbook
    C(remote_desktop.licensing.preflight) writes one file per host). It holds no license code, license server
    ID, product ID, password or contact detail.
  - Reads only; never changes the host. Check mode and normal runs are the same.
options:
  anonymize:
    description:
      - Replace the host's name, its domain or workgroup and every license server name in the results with
        C(host-1), C(domain-1), C(server-1) and so on.
    type: bool
    default: false
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The module reads only, so check mode runs it unchanged.
  diff_mode:
    support: none
  platform:
    platforms: windows
notes:
  - Runs on the controller as an action plugin and executes one batch of read-only CIM queries on the host
    through the collection's internal C(host_bridge) module.
  - It cannot check what only a change would show, such as the account's rights in the domain (Domain Admins,
    Enterprise Admins), activation with the Microsoft Clearinghouse, a CAL pack install or a reboot; nor the
    declarations of what only a change or another module's own reads use (for example cal_usage's report class).
  - A token privilege is reported as held when the bridge could enable it for a harmless read; the privilege
    check of a method that needs it is Windows's own.
seealso:
  - module: remote_desktop.licensing.licensing_info
author:
  - Remote Desktop Licensing contributors (@remote-desktop)
"""

EXAMPLES = r"""
- name: Check, read-only, what the collection's modules rely on about the host
  remote_desktop.licensing.preflight:
  register: preflight

- name: Show what did not hold
  ansible.builtin.debug:
    msg: "{{ item.name }}: {{ item.meaning }}"
  loop: "{{ preflight.assumptions | rejectattr('holds') | list }}"

- name: Keep an anonymized observation for a bug report
  remote_desktop.licensing.preflight:
    anonymize: true
  register: preflight
"""

RETURN = r"""
assumptions:
  description: Each assumption, in a fixed order.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: >-
        V(windows_version), V(class_declarations), V(key_pack_versions), V(policy_keys), V(token_privileges),
        V(domain_controller_reachable), V(connection_delegates).
      type: str
    holds:
      description: Whether the host is as the collection assumes.
      type: bool
    observed:
      description: What the host (or, for V(connection_delegates), the connection) showed.
      type: raw
    expected:
      description: What the collection assumes.
      type: raw
    meaning:
      description: What a failed assumption means for the modules; null when it holds.
      type: str
  sample:
    - name: key_pack_versions
      holds: false
      observed: [0, 9]
      expected: [0, 2, 3, 4, 5, 6, 7, 8]
      meaning: Key packs with ProductVersionID [9] are reported as product_version unknown ...
failed_assumptions:
  description: The names of the assumptions that did not hold.
  returned: always
  type: list
  elements: str
  sample: [key_pack_versions]
observation:
  description: >-
    What the host showed, as JSON: the connection (transport, Kerberos delegation, become and its method), the
    host, roles and features, the license server (without contact details, product ID or license server ID; only
    the names of the contact fields that are set), the session host, each read's outcome, each class's declaration
    and which privileges could be enabled. Host names replaced when O(anonymize) is true.
  returned: always
  type: dict
  sample:
    format: 1
    connection: {transport: ntlm, kerberos_delegation: false, become: true, become_method: runas}
    host: {name: host-1, os: Microsoft Windows Server 2022 Standard, os_version: 10.0.20348}
    privileges: {SeShutdownPrivilege: true}
"""
