# -*- coding: utf-8 -*-
# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY
# The interfaces in this file serve this collection's own plugins; they may change in any release,
# even a bugfix release. Do not import them from other collections or playbooks.
"""The licensing_info planner: a read-only module, so its plan is always empty.

It follows the planner interface of _plan.py like every module; what it reads and how it is parsed
is _info.py, its findings _diagnostics.py.
"""

from __future__ import annotations

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _diagnostics as diagnostics
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _session_host as session_host
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _usage as usage
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._plan import REVEAL_OPTIONS, Plan

ARGUMENT_SPEC = dict(REVEAL_OPTIONS, check_connectivity={"type": "bool", "default": False},
                     low_cals_threshold={"type": "int", "default": usage.LOW_CALS_PERCENT})


def validate(args):
    usage.validate_threshold(args["low_cals_threshold"])
    return dict(args)


def read_ops(batch, want, servers=None):
    """The licensing_info reads; with `servers`, the connectivity check of each (read-only)."""
    return session_host.connectivity_ops(batch, servers)


def observe(want, have, results):
    """The report with the connectivity of the servers checked (None when none was), and findings."""
    report = dict(have)
    report["session_host"] = dict(have["session_host"], connectivity=None)
    checked = session_host.connectivity(results)
    if checked:
        report["session_host"]["connectivity"] = checked
    report["diagnostics"] = diagnostics.diagnose(report, low_cals_threshold=want["low_cals_threshold"])
    return report


def connectivity_wanted(want, have):
    """The configured servers to check in a second round trip (they are known only after the first)."""
    if want["check_connectivity"] and have["roles"]["session_host"]:
        return have["session_host"]["license_servers"] or []
    return []


def plan(want, have):
    return Plan()


def after_install(want, have):
    return have


def view(have):
    return have


def predict(want, have, plan):
    return view(have)
