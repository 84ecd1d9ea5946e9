# -*- coding: utf-8 -*-
# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file holds the documentation only: the module is the action plugin
# plugins/action/issued_license.py, which runs on the controller.

DOCUMENTATION = r"""
---
module: issued_license
short_description: Revoke issued Remote Desktop Per Device CALs on a license server
version_added: 0.1.0
description:
  - Revokes the Per Device client access licenses (CALs) that a license server issued to the selected computers,
    as RD Licensing Manager's Revoke License does one computer at a time, so that the CALs of retired or
    replaced computers go back to their key pack.
  - Only Per Device CALs can be revoked; Per User CALs cannot.
  - "Windows limits revocation: at any time at most 20 % of the installed Per Device CALs of one version may be
    revoked (Microsoft's Remote Desktop Services client access license page; the Remote Desktop team blog
    I(Manual Revocation of Client Access Licenses)). When the limit is reached Windows refuses the revocation
    and tells the date of the next allowed one: the module stops at that refusal, reports the date and fails,
    and never retries."
  - A license already revoked is left as it is (the task is V(ok) for it).
  - The module never reads the hardware ID or the user of a license.
options:
  computers:
    description:
      - Revoke the CALs issued to these computers (C(sIssuedToComputer)), compared without regard to case.
    type: list
    elements: str
  key_pack_id:
    description: Revoke only CALs issued from this key pack (C(KeyPackId)).
    type: int
  issued_before:
    description:
      - Revoke only CALs issued before this date, V(YYYY-MM-DD) (midnight UTC) or a UTC time
        V(YYYY-MM-DDTHH:MM:SSZ).
    type: str
  status:
    description:
      - Revoke only CALs in one of these states (C(LicenseStatus)). Licenses already revoked still count as
        selected and already done.
    type: list
    elements: str
    choices: [active, concurrent, pending, temporary, unknown, upgrade]
  state:
    description:
      - V(revoked) is the only state; a revoked CAL cannot be restored.
    type: str
    choices: [revoked]
    default: revoked
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: >-
      Lists the licenses that would be revoked and estimates how many CALs of each version remain revocable
      afterwards, from the 20 % rule and the revoked CALs that have not yet expired. The estimate is the module's
      own (how Windows rounds and when a revocation stops counting are not documented); a warning says when the
      selection is larger than the estimate.
  diff_mode:
    support: full
    details: The selected licenses (id, key pack, computer, status) before and after.
  platform:
    platforms: windows
notes:
  - At least one of O(computers), O(key_pack_id), O(issued_before) and O(status) must be given, so that a task
    never means every issued CAL.
  - All revocations and the read back go in one round trip after the read.
  - Windows documents C(NextRevokeAllowedOn) as valid only when a revocation failed because the limit was reached;
    the module reports it only then.
seealso:
  - module: remote_desktop.licensing.licensing_info
  - module: remote_desktop.licensing.cal_pack
  - name: Revoke method of the Win32_TSIssuedLicense class
    description: The Windows interface the module uses.
    link: https://learn.microsoft.com/windows/win32/termserv/revoke-win32-tsissuedlicense
  - name: License your RDS deployment with client access licenses (CALs)
    description: Microsoft's page on CAL types and revocation.
    link: https://learn.microsoft.com/windows-server/remote/remote-desktop-services/rds-client-access-license
author:
  - Remote Desktop Licensing contributors (@remote-desktop)
"""

EXAMPLES = r"""
- name: Revoke the CALs of two retired computers
  remote_desktop.licensing.issued_license:
    computers: [PC-OLD-017, PC-OLD-018]

- name: See which active CALs of key pack 3 issued before 2024 would be revoked
  remote_desktop.licensing.issued_license:
    key_pack_id: 3
    issued_before: "2024-01-01"
    status: [active]
  check_mode: true
  register: would_revoke

- name: Show the next date Windows allows a revocation when the limit is reached
  remote_desktop.licensing.issued_license:
    computers: "{{ retired_computers }}"
  register: revocation
  ignore_errors: true

- name: Report it
  ansible.builtin.debug:
    msg: "Next revocation allowed on {{ revocation.next_revoke_allowed_on }}"
  when: revocation.next_revoke_allowed_on
"""

RETURN = r"""
matched:
  description: The number of issued licenses the selection matches, already revoked ones included.
  returned: always
  type: int
  sample: 3
already_revoked:
  description: How many of the matched licenses were revoked before the task.
  returned: always
  type: int
  sample: 1
revoked:
  description: The C(LicenseId)s revoked by the task (in check mode, those that would be revoked).
  returned: always
  type: list
  elements: int
  sample: [12, 13]
licenses:
  description: The matched licenses after the task (predicted in check mode), never with a hardware ID.
  returned: always
  type: list
  elements: dict
  sample: [{"license_id": 12, "key_pack_id": 3, "computer": "PC-OLD-017", "status": "revoked"}]
revocable:
  description:
    - CALs still revocable per CAL version. After a revocation, the C(RevokableCals) Windows returned for that
      version; otherwise (and in check mode) the module's estimate, see RV(revocable_estimated).
  returned: always
  type: dict
  sample: {"2019": 3}
revocable_estimated:
  description: Whether RV(revocable) is the module's estimate rather than Windows's answer.
  returned: always
  type: bool
  sample: true
next_revoke_allowed_on:
  description: When Windows refused a revocation because its limit was reached, the date it allows the next
    (C(NextRevokeAllowedOn), ISO 8601 UTC); null otherwise.
  returned: always
  type: str
  sample: "2027-01-15T09:30:00Z"
msg:
  description: Says so when the selection matches no issued license; on failure, what Windows refused.
  returned: when nothing matches, or on failure
  type: str
plan:
  description: The revocations, applied or (in check mode) to be applied, each with C(action), C(description) and
    the C(operations) sent to the host.
  returned: always
  type: list
  elements: dict
"""
