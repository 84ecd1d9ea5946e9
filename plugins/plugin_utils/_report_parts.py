# -*- coding: utf-8 -*-
# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY
# The interfaces in this file serve this collection's own plugins; they may change in any release,
# even a bugfix release. Do not import them from other collections or playbooks.
"""The fleet report in two steps, for AWX job slicing (docs/awx_slicing.md).

A sliced job runs each slice of the inventory as a job of its own, so no job sees every host and
none can make the cross-host findings. Each slice therefore publishes a *part*: its hosts' report
entries (host_entry: the allowlisted fields and the host's own findings, never a secret) as a
set_stats artifact. A final step merges the parts of every slice and builds the report with
_report.from_entries, the same function an unsliced run ends in, so both reports are equal.

A part is small and plain JSON, because AWX stores it with the job and passes it on to the next
workflow node as extra vars:

    {"kind": "remote_desktop.licensing.report_part", "schema_version": 1,
     "hosts": [<host_entry>, ...]}

It is published as JSON *text*, not as a mapping. AWX writes the next node's extra vars with every
string tagged !unsafe (awx/main/utils/safe_yaml.py), and ansible-core 2.19 resolves the type of an
!unsafe scalar again (ansible/_internal/_yaml/_constructor.py, _resolve_and_construct_object): the
CAL version '2019' arrives as the integer 2019, an expiration date as a datetime, 'no' as false. One
string that starts with '{' matches no implicit type, so the text arrives as it left.
"""

from __future__ import annotations

import copy
import json

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _report as report

PART_KIND = "remote_desktop.licensing.report_part"
PART_SCHEMA_VERSION = 1


def part(results):
    """{inventory_hostname: licensing_info result} of one slice -> its part of the report."""
    if not isinstance(results, dict):
        raise TypeError("licensing_report_part expects a dict of inventory_hostname: licensing_info result, got %s"
                        % type(results).__name__)
    names = sorted(results, key=lambda n: str(n).lower())
    return {"kind": PART_KIND, "schema_version": PART_SCHEMA_VERSION,
            "hosts": [report.host_entry(str(name), results[name]) for name in names]}


def part_text(results):
    """The part as compact JSON text: what a slice publishes (see the module's docstring for why text)."""
    return json.dumps(part(results), sort_keys=True, separators=(",", ":"))


def _checked_entries(index, item):
    """The host entries of one part (a mapping, or its JSON text), or ValueError saying what is wrong."""
    where = "part %d" % (index + 1)
    if isinstance(item, str):
        try:
            item = json.loads(item)
        except ValueError as error:
            raise ValueError("%s is text but not JSON: %s" % (where, error)) from error
    if not isinstance(item, dict) or item.get("kind") != PART_KIND:
        raise ValueError("%s is not a report part (the result of licensing_report_part, with kind %s)"
                         % (where, PART_KIND))
    if item.get("schema_version") != PART_SCHEMA_VERSION:
        raise ValueError("%s has schema_version %r; this collection reads %d: publish and merge with the same "
                         "collection version" % (where, item.get("schema_version"), PART_SCHEMA_VERSION))
    hosts = item.get("hosts")
    if not isinstance(hosts, list) or not all(isinstance(h, dict) and h.get("inventory_hostname") for h in hosts):
        raise ValueError("%s: hosts must be a list of host entries with an inventory_hostname" % where)
    return hosts


def merge(parts, now=None, title=None, expected_parts=None, **usage_options):
    """The fleet report from the parts of every slice: equal to build() on all their results at once, with
    the same usage_options (_report_usage.apply's usage_results, user_names, low_cals_threshold).

    A host in two parts is an error (the same slice published twice, or slices that overlap): one of
    the two readings would be dropped silently. expected_parts, when given, is the number of slices:
    a slice that published nothing (it failed before the report step, or was cancelled) would
    otherwise leave its hosts out of the report without a word."""
    if not isinstance(parts, list):
        raise TypeError("licensing_report_merge expects a list of report parts, got %s" % type(parts).__name__)
    if expected_parts is not None and len(parts) != expected_parts:
        raise ValueError("expected the parts of %d slices, got %d: the hosts of a slice that did not publish its "
                         "part would be missing from the report" % (expected_parts, len(parts)))
    entries = {}
    for index, item in enumerate(parts):
        for entry in _checked_entries(index, item):
            name = str(entry["inventory_hostname"])
            if name in entries:
                raise ValueError("host %s is in more than one part: each slice must publish its own hosts once"
                                 % name)
            # A copy: from_entries completes the entries in place, and the parts belong to the caller.
            entries[name] = copy.deepcopy(entry)
    hosts = [entries[name] for name in sorted(entries, key=str.lower)]
    return report.from_entries(hosts, now=now, title=title, **usage_options)
