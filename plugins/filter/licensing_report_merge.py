# -*- coding: utf-8 -*-
# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The licensing_report_part and licensing_report_merge filters: the fleet report in two steps, for AWX job
slicing. Documentation: licensing_report_part.yml and licensing_report_merge.yml beside this file. The logic
is plugin_utils/_report_parts.py."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _report_parts as parts
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _report_usage as report_usage
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _usage as usage


def licensing_report_part(results, as_text=False):
    """{inventory_hostname: licensing_info result} of one slice -> its part of the report (or its JSON text)."""
    try:
        return parts.part_text(results) if as_text else parts.part(results)
    except TypeError as error:
        raise AnsibleFilterError(str(error)) from error


def licensing_report_merge(report_parts, title=None, expected_parts=None, usage_results=None, user_names="hashed",
                           low_cals_threshold=usage.LOW_CALS_PERCENT):
    """The parts of every slice -> the fleet report, as licensing_report makes it from all results at once
    (with the same usage options: the cal_usage results, how user names show, the low CALs threshold)."""
    if expected_parts is not None:
        try:
            expected_parts = int(expected_parts)
        except (TypeError, ValueError) as error:
            raise AnsibleFilterError("licensing_report_merge: expected_parts must be a number of slices, got %r"
                                     % (expected_parts,)) from error
    try:
        report_usage.check_options(usage_results, user_names, low_cals_threshold)
        return parts.merge(list(report_parts) if isinstance(report_parts, tuple) else report_parts,
                           title=title, expected_parts=expected_parts, usage_results=usage_results,
                           user_names=user_names, low_cals_threshold=low_cals_threshold)
    except (TypeError, ValueError) as error:
        raise AnsibleFilterError("licensing_report_merge: %s" % error) from error


class FilterModule(object):
    def filters(self):
        return {
            "licensing_report_part": licensing_report_part,
            "licensing_report_merge": licensing_report_merge,
        }
