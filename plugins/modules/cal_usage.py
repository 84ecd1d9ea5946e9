# -*- coding: utf-8 -*-
# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file holds the documentation only: the module is the action plugin
# plugins/action/cal_usage.py, which runs on the controller.

DOCUMENTATION = r"""
---
module: cal_usage
short_description: Per User and Per Device CAL usage of a Remote Desktop license server
version_added: 0.1.0
description:
  - Reads the CAL usage of an RD license server from a usage report, as RD Licensing Manager's I(Create Report)
    does. Per CAL version and type, the CALs installed, issued and available with the failed Per User requests;
    the Per User CALs in use per user, the Per Device CALs per computer, and the failed Per User requests per
    user and per domain.
  - Windows does not enforce Per User CALs; this report is how an organisation knows whether it is compliant.
  - "The report comes from Windows's usage reports (C(Win32_TSLicenseReport), Windows Server 2012 and later): the
    module reuses the newest report younger than O(max_age), or generates a new one (C(GenerateReportEx)), then
    reads it in pages of O(page_size) entries."
  - "Why a report module changes state: a usage report is a file Windows keeps on the license server. Generating
    one, and deleting old ones (O(keep)), change the server, so the task is V(changed) when it generated or
    deleted a report and V(ok) when it only read one."
  - The hardware IDs of the Per Device entries are never returned. User names are personal data; O(user_names)
    chooses how they are shown.
  - Per User CALs are tracked in Active Directory, so the report lists them only when the license server is in a
    domain and in the domain's Terminal Server License Servers group (the license_server module manages it).
options:
  max_age:
    description:
      - Reuse the newest existing report if it is younger than this, for example V(12h), V(1d) or V(1w)
        (units V(s), V(m), V(h), V(d), V(w)); otherwise generate a new one. V(0) always generates one.
    type: str
    default: 1d
  keep:
    description:
      - Housekeeping. Keep the newest O(keep) reports, the one read counted, and delete the older ones. Only reports
        older than every report kept are deleted; the report a run reads (the one it reuses or generates) is always
        kept. In check mode, when a real run would generate a new report, check mode reads the newest existing one,
        which may be among those the real run would delete.
      - Not given, no report is deleted.
    type: int
  user_names:
    description:
      - How user names appear in the results. V(hashed) shows V(sha256:) and 16 hex digits of an HMAC-SHA256 of
        the lowercased name keyed with O(user_name_salt), or without it with a random key drawn for the task, so
        a user's entries can be matched within the run but not across runs; V(plain) shows the names;
        V(omitted) shows null.
    type: str
    choices: [hashed, plain, omitted]
    default: hashed
  user_name_salt:
    description:
      - The key of the V(hashed) user names, at least 16 characters. Give every task of a run the same random key,
        made once per run (for example with C(lookup('ansible.builtin.password', '/dev/null length=32')) and
        C(run_once)), so that a user hashes alike on every license server of the run and differently in the
        next run. Not given, each task draws its own key. Never returned or logged.
    type: str
  page_size:
    description:
      - The number of entries read by one Fetch call (1 to 100000). The module sends as many pages as the key
        packs' issued counts suggest in one round trip (at most 50), so a larger page means fewer calls.
    type: int
    default: 1000
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: >-
      Only reads existing reports, never generates or deletes one: it reads the newest report (with a warning when
      it is older than O(max_age), as a run would generate a new one) and lists the reports O(keep) would delete.
      With no report on the server the lists are empty and a warning says so.
  diff_mode:
    support: full
    details: The names of the usage reports on the license server before and after.
  platform:
    platforms: windows
notes:
  - "Round trips: one read (the host and its reports), then one that generates or deletes as needed and reads the
    report's first pages; more only when a list is longer than its key packs' issued counts suggest (each further
    round trip asks for twice as many pages as the one before) or longer than 50 pages."
  - A page with fewer entries than asked, or Windows's C(LSERVER_I_NO_MORE_DATA) (0x4001), ends a list.
  - "Ansible's winrm connection prints each module's raw output at C(-vvvvv) (AWX's C(WinRM Debug)). The hardware
    IDs are left out on the host, so they are not in that output either; with O(user_names=omitted) the user names
    are left out on the host too. With O(user_names=hashed) (and V(plain)) the plain names reach the controller,
    which they must to be hashed with the run's key, and so appear in the C(-vvvvv) output: choose V(omitted) for
    the strictest setting."
seealso:
  - module: remote_desktop.licensing.licensing_info
  - module: remote_desktop.licensing.issued_license
  - name: Win32_TSLicenseReport class
    description: The Windows interface the module uses.
    link: https://learn.microsoft.com/windows/win32/termserv/win32-tslicensereport
author:
  - Remote Desktop Licensing contributors (@remote-desktop)
"""

EXAMPLES = r"""
- name: Read the CAL usage, generating a report when the newest is older than a day
  remote_desktop.licensing.cal_usage:
  register: usage

- name: Fail when more Per User CALs are in use than installed
  ansible.builtin.assert:
    that: usage.summary | selectattr('cal_type', 'equalto', 'per_user') | selectattr('available', 'lt', 0) | list | length == 0
    fail_msg: Per User CALs are over-allocated

- name: A fresh report, the newest three kept, user names shown
  remote_desktop.licensing.cal_usage:
    max_age: "0"
    keep: 3
    user_names: plain
"""

RETURN = r"""
report:
  description: The report read; null in check mode when no report exists.
  returned: always
  type: dict
  contains:
    file_name:
      description: The report's C(FileName).
      type: str
    generated:
      description: When it was generated (ISO 8601 UTC).
      type: str
    reused:
      description: Whether an existing report was read rather than a new one generated.
      type: bool
  sample: {"file_name": "PerUserReport_20270115093000_3", "generated": "2027-01-15T09:30:00Z", "reused": true}
deleted_reports:
  description:
    - The reports deleted by O(keep) (in check mode, those that would be).
    - When a deletion fails, the task fails and lists only the reports deleted before it.
  returned: always
  type: list
  elements: dict
  sample: [{"file_name": "PerUserReport_20270101093000_1", "generated": "2027-01-01T09:30:00Z"}]
user_names:
  description: The value of O(user_names).
  returned: always
  type: str
  sample: hashed
summary:
  description:
    - Per CAL version and type (V(per_user), V(per_device), or Windows's text when it is another) the CALs
      installed, issued, available (installed less issued; negative when over-allocated) and the failed Per
      User requests of that version.
  returned: always
  type: list
  elements: dict
  sample: [{"product_version": "2022", "product_version_id": 7, "cal_type": "per_user", "installed": 50,
            "issued": 53, "available": -3, "failed_requests": 0}]
per_user:
  description: The Per User CALs in use.
  returned: always
  type: list
  elements: dict
  sample: [{"user": "sha256:3f7a09c2b1d4e5f6", "product_version": "2022", "product_version_id": 7,
            "expires": "2027-03-16T09:30:00Z"}]
per_device:
  description: The Per Device CALs issued, per computer; never a hardware ID.
  returned: always
  type: list
  elements: dict
  sample: [{"computer": "PC-017", "product_version": "2019", "product_version_id": 6,
            "expires": "2027-02-20T09:30:00Z"}]
failed_per_user:
  description: Per User CAL requests that failed, per user.
  returned: always
  type: list
  elements: dict
  sample: [{"user": "sha256:90bc1d2e3f4a5b6c", "product_version": "2019", "product_version_id": 6,
            "tried_on": "2027-01-14T08:00:00Z"}]
failed_summary:
  description: Failed Per User requests per domain.
  returned: always
  type: list
  elements: dict
  sample: [{"domain": "CORP", "count": 1}]
plan:
  description: The generation and deletions, applied or (in check mode) to be applied, each with C(action),
    C(description) and the C(operations) sent to the host.
  returned: always
  type: list
  elements: dict
"""
