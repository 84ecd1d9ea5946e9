# -*- coding: utf-8 -*-
# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The licensing_report and licensing_report_csv filters. Documentation: licensing_report.yml and
licensing_report_csv.yml beside this file. The logic is plugin_utils/_report.py."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _report as report
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _report_usage as report_usage
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _usage as usage


def licensing_report(results, title=None, usage_results=None, user_names="hashed",
                     low_cals_threshold=usage.LOW_CALS_PERCENT):
    """{inventory_hostname: licensing_info result} -> the fleet report; with usage_results
    ({inventory_hostname: cal_usage result}), the license servers' usage from their Per User usage reports."""
    if not isinstance(results, dict):
        raise AnsibleFilterError("licensing_report expects a dict of inventory_hostname: licensing_info result, "
                                 "got %s" % type(results).__name__)
    _check_usage_options(usage_results, user_names, low_cals_threshold)
    return report.build(results, title=title, usage_results=usage_results, user_names=user_names,
                        low_cals_threshold=low_cals_threshold)


def _check_usage_options(usage_results, user_names, low_cals_threshold):
    try:
        report_usage.check_options(usage_results, user_names, low_cals_threshold)
    except ValueError as error:
        raise AnsibleFilterError("licensing_report: %s" % error) from error


def licensing_report_csv(fleet_report, table="hosts"):
    """The fleet report as CSV text, one row per host or per key pack."""
    if not isinstance(fleet_report, dict) or "hosts" not in fleet_report:
        raise AnsibleFilterError("licensing_report_csv expects the result of remote_desktop.licensing.licensing_report")
    try:
        return report.to_csv(fleet_report, table)
    except (KeyError, ValueError) as error:
        raise AnsibleFilterError("licensing_report_csv: %s" % error) from error


class FilterModule(object):
    def filters(self):
        return {
            "licensing_report": licensing_report,
            "licensing_report_csv": licensing_report_csv,
        }
