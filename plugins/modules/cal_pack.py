# -*- coding: utf-8 -*-
# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file holds the documentation only: the module is the action plugin
# plugins/action/cal_pack.py, which runs on the controller.

DOCUMENTATION = r"""
---
module: cal_pack
short_description: Install or remove a Remote Desktop CAL pack on a license server, exactly once
version_added: 0.1.0
description:
  - Installs a pack of Remote Desktop client access licenses (CALs) on an activated license server, bought under
    any license program (retail, Open License, Select, Enterprise Agreement, SPLA and the other agreements, or a
    license key pack ID from web or telephone), as the Install Licenses wizard of RD Licensing Manager does. Each
    declaration is installed once, however often the task runs, and with several runs at once.
  - Removes, with V(state=absent), the pack a declaration installed; or, with O(force=true), a pack named by its
    key pack id.
  - Give the numbers of the purchase (always from ansible-vault or an AWX credential, or with C(no_log) on the task)
    and O(marker_key), a secret of your own that lets the module recognise the packs it installed.
  - Refuses, before it changes anything, a license server that is not activated, CALs newer than the license
    server's Windows Server version, and markers it cannot check (written with another key), each time saying how
    to go on.
  - How the module recognises its packs (keyed markers on the license server), what each party can read, key
    rotation and the migration from the first design are in the notes below and the CAL packs guide
    (docs/cal_packs.md).
options:
  program:
    description:
      - The license program, as the wizard lists them.
      - V(retail) (License Pack, Retail Purchase) takes O(license_code).
      - V(open_license) takes O(license_number) and O(authorization_number).
      - V(select), V(enterprise_agreement), V(campus_agreement), V(school_agreement), V(spla) (Services Provider
        License Agreement) and V(other_agreement) (Open Value, Multi-Year Open, Open Subscription and others)
        take O(agreement_number).
      - V(license_key_pack_id) installs with a license key pack ID obtained by web or telephone, for a license
        server that cannot reach the Internet; it takes O(key_pack_id).
    type: str
    required: true
    choices: [retail, open_license, select, enterprise_agreement, campus_agreement, school_agreement, spla,
              other_agreement, license_key_pack_id]
  license_code:
    description: The 25-character license code of a retail pack. Hyphens and spaces are ignored.
    type: str
  license_number:
    description: The 8-digit license number from an Open License confirmation.
    type: str
  authorization_number:
    description: The 15-character authorization number from an Open License confirmation.
    type: str
  agreement_number:
    description:
      - The enrollment or agreement number, digits only. Microsoft documents 7 digits, but longer ones occur in
        production, so 5 to 10 digits are accepted and Windows is the judge of the rest.
    type: str
  key_pack_id:
    description: The 35-character license key pack ID from web or telephone installation.
    type: str
  product_version:
    description:
      - The Windows Server version of the CALs. Required for the programs that take numbers; for V(retail) and
        V(license_key_pack_id) the code determines it, and the value, when given, is used to recognise a pack
        installed by hand and checked after the install.
      - A license server takes CALs of its own Windows Server version and earlier (Microsoft's RDS CAL version
        compatibility table), so the module refuses, before it changes anything, to install CALs newer than the
        license server's version as it reads it.
    type: str
    choices: ['2008R2', '2012', '2016', '2019', '2022', '2025']
  product_version_id:
    description:
      - Overrides the C(ProductVersion) number sent to Windows for O(product_version). Microsoft's install method
        pages document V(2) (2008 and 2008 R2), V(4) (2012), V(5) (2016) and V(6) (2019).
      - V(7) for 2022 and V(8) for 2025 are an extrapolation, not documented for any install method. V(7) is the
        key pack class's C(ProductVersionID) for 2022, which the class page has only through a community edit;
        V(8) appears in no Microsoft page (only in a monitoring tool's code). The install methods' numbering
        already differs from C(ProductVersionID) (2008 R2 is V(2) here, V(3) as C(ProductVersionID)), so the
        extrapolation may be wrong; when Windows refuses it, set the number Windows expects here.
    type: int
  license_type:
    description: V(per_device) or V(per_user) CALs. Required with the same programs as O(product_version).
    type: str
    choices: [per_device, per_user]
  count:
    description: The number of CALs in the pack. Required with the same programs as O(product_version).
    type: int
  state:
    description:
      - V(present) installs the pack unless the matching rule finds it; V(absent) removes the pack a marker proves
        this declaration installed.
      - With V(absent), a pack that merely looks like the declaration (no marker) stays, with a warning naming it;
        remove it with O(remove_key_pack_id) and O(force=true).
    type: str
    choices: [present, absent]
    default: present
  marker_key:
    description:
      - The secret that keys the markers (HMAC-SHA256), at least 20 characters, for example from
        C(openssl rand -base64 32). Keep it in ansible-vault or an AWX credential; it never leaves the controller.
      - Required, except with O(remove_key_pack_id). When not given, the environment variable
        E(REMOTE_DESKTOP_LICENSING_MARKER_KEY) is used.
      - Use the same key for every run against a license server. Markers made with a key the task is not given
        stop the module with a recovery message.
    type: str
  previous_marker_keys:
    description:
      - Earlier values of O(marker_key), while rotating to a new one. A pack marked with one of them is recognised
        and marked again with O(marker_key). Drop them once every declaration has run with the new key.
    type: list
    elements: str
    default: []
  force:
    description:
      - With V(state=absent), remove a pack that has licenses issued to clients (otherwise the module refuses),
        and allow O(remove_key_pack_id).
    type: bool
    default: false
  remove_key_pack_id:
    description:
      - With V(state=absent) and O(force=true), the C(KeyPackId) (as RV(key_pack_id) and
        M(remote_desktop.licensing.licensing_info) report it) of a pack to remove although no marker proves this
        collection installed it, for example a pack installed by hand. The numbers are not needed then.
      - The built-in pack is never removed.
    type: int
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: >-
      Reports what would be installed, recognised or removed. A new pack's id is not known before Windows
      assigns it. On a host whose license server is not installed or activated yet (an earlier task of the
      same run would do it), the install is predicted with a warning instead of failing.
  diff_mode:
    support: full
    details: >-
      Shows the declared pack before and after (program, id, version, type, count, whether it is recorded, and the
      C(label) recorded beside its marker, for example V(select, 2022, per_user, 25 CALs)), who may read the marker
      key (C(marker_key_access), SDDL with numeric rights), and the packs recorded for the same program and number
      with other attributes (C(same_number_packs)); never the numbers.
  platform:
    platforms: windows
notes:
  - Windows keeps no agreement number or license code on a key pack, so the module keeps a marker per pack on
    the license server (value names under C(HKLM\SOFTWARE\Ansible\RemoteDesktopLicensing), a key only SYSTEM and
    Administrators can read) holding an HMAC of the declaration keyed with O(marker_key). The key stays on the
    controller, so neither the host nor the logs hold anything from which a number could be guessed.
  - Beside each marker the module records the pack's label in plain form (program, version, type and count, never
    a number), from which M(remote_desktop.licensing.licensing_info) and the report show the program a pack was
    bought under. A pack marked before labels existed gains its label on the next run of its declaration, without
    reinstalling; that run reports C(changed) (a registry write, the C(label) step), which check mode predicts.
  - "The matching rule: a pack whose marker has this declaration's HMAC; else, after an install that was
    interrupted, the unmarked pack of the program's key pack type that appeared since; else, for V(state=present)
    only, an unmarked pack (never the built-in one) of the program's key pack type with the declared product
    version, license type and count, which is how a pack installed by hand is recognised and then marked. The
    same declaration is never installed twice, in any order of tasks and with several runs at once; two different
    agreements with equal version, type and count are both installed."
  - A declaration whose count (or version, or type) was changed is a different pack, installed beside the old one;
    the task warns when it sees a pack recorded for the same program and number. To change a pack, declare the
    old one with V(state=absent) (docs/cal_packs.md, Changing a pack).
  - All numbers and keys are C(no_log). The numbers are sent to the host in the internal module's secret option,
    never logged, and never written to the host except to Windows' install call; the markers are sent as secrets
    too and never appear in the plan, the result or the diff.
  - While another run installs the same pack, the module waits for it (up to two minutes); a run that read the
    markers before another run changed them plans again, so two jobs at once install one pack.
  - Installing CALs validates the pack with the Microsoft Clearinghouse over the Internet. A license server
    without Internet access installs with V(license_key_pack_id).
  - An install costs two round trips after the read. The first writes a pending marker, takes the markers' lock
    and installs, so a run interrupted at any point is finished by the next run, never repeated. The second writes
    the pack's marker once Windows has given its key pack id. The first marker written on a license server costs
    two more (the lock alone, then a read).
seealso:
  - module: remote_desktop.licensing.license_server
  - module: remote_desktop.licensing.licensing_info
  - name: Install client access licenses
    description: Microsoft's guide to the Install Licenses wizard.
    link: https://learn.microsoft.com/windows-server/remote/remote-desktop-services/rds-install-cals
author:
  - Remote Desktop Licensing contributors (@remote-desktop)
"""

EXAMPLES = r"""
- name: Install 25 Windows Server 2022 Per User CALs bought under SPLA
  remote_desktop.licensing.cal_pack:
    program: spla
    agreement_number: "{{ vault_spla_agreement }}"
    product_version: "2022"
    license_type: per_user
    count: 25
    marker_key: "{{ vault_cal_pack_marker_key }}"

- name: Install a retail pack, the code given inline (no_log keeps it out of the output)
  remote_desktop.licensing.cal_pack:
    program: retail
    license_code: ABCDE-FGHIJ-KLMNO-PQRST-UVWXY
    product_version: "2019"
    license_type: per_device
    count: 20
    marker_key: "{{ vault_cal_pack_marker_key }}"
  no_log: true

- name: Install CALs from an Open License confirmation
  remote_desktop.licensing.cal_pack:
    program: open_license
    license_number: "{{ vault_open_license_number }}"
    authorization_number: "{{ vault_open_authorization_number }}"
    product_version: "2022"
    license_type: per_device
    count: 10
    marker_key: "{{ vault_cal_pack_marker_key }}"

- name: Rotate the marker key (run every declaration once like this, then drop previous_marker_keys)
  remote_desktop.licensing.cal_pack:
    program: spla
    agreement_number: "{{ vault_spla_agreement }}"
    product_version: "2022"
    license_type: per_user
    count: 25
    marker_key: "{{ vault_cal_pack_marker_key_2027 }}"
    previous_marker_keys:
      - "{{ vault_cal_pack_marker_key }}"

- name: Remove the pack that an Enterprise Agreement declaration installed
  remote_desktop.licensing.cal_pack:
    program: enterprise_agreement
    agreement_number: "{{ vault_ea_number }}"
    product_version: "2019"
    license_type: per_user
    count: 50
    marker_key: "{{ vault_cal_pack_marker_key }}"
    state: absent

- name: Remove key pack 7, installed by hand, although no marker proves whose it is
  remote_desktop.licensing.cal_pack:
    program: retail
    remove_key_pack_id: 7
    force: true
    state: absent
"""

RETURN = r"""
key_pack_id:
  description: The C(KeyPackId) of the matched, installed or (before removal) removed pack; null when none.
  returned: always
  type: int
  sample: 3
key_pack:
  description: The key pack as Windows reports it, in the shape of RV(remote_desktop.licensing.licensing_info#module:license_server.key_packs).
  returned: when a pack is matched or installed
  type: dict
  sample: {"key_pack_id": 3, "key_pack_type": "volume", "license_type": "per_user", "product_version": "2022",
           "total": 25, "issued": 0, "available": 25, "built_in": false}
matched_by:
  description: How the pack was found before the task's change, V(marker), V(pending) (an interrupted install),
    V(attributes) (a pack installed by hand), V(key_pack_id) (O(remove_key_pack_id)), or null (not found);
    V(installed) after a new install.
  returned: always
  type: str
  sample: marker
plan:
  description: The changes, applied or (in check mode) to be applied, each with C(action), C(description) and the
    C(operations) sent to the host (secrets only as references).
  returned: always
  type: list
  elements: dict
"""
