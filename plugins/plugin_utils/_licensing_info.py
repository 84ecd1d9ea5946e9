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

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _cal_pack as cal_pack
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _diagnostics as diagnostics
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _session_host as session_host
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _usage as usage
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _wmi as wmi
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._plan import REVEAL_OPTIONS, Plan

ARGUMENT_SPEC = dict(REVEAL_OPTIONS, check_connectivity={"type": "bool", "default": False},
                     low_cals_threshold={"type": "int", "default": usage.LOW_CALS_PERCENT})


def validate(args):
    usage.validate_threshold(args["low_cals_threshold"])
    return dict(args)


def read_ops(batch, want, servers=None):
    """The licensing_info reads: the names of the CAL pack markers (their labels say which program the collection
    installed each pack under), in the first round trip; with `servers`, only the connectivity check of each."""
    if not servers:
        # StdRegProv.EnumValues is static [W32 wmi] stdregprov; the key is cal_pack's (docs/cal_packs.md).
        batch.invoke("marker_names", wmi.REGISTRY_NAMESPACE, wmi.REGISTRY_CLASS, "EnumValues", read_only=True,
                     arguments={"hDefKey": wmi.HKEY_LOCAL_MACHINE, "sSubKeyName": wmi.MARKER_KEY})
    return session_host.connectivity_ops(batch, servers)


def observe(want, have, results):
    """The report with the connectivity of the servers checked (None when none was), and findings."""
    report = dict(have)
    report["license_server"], unread = _with_programs(have, results)
    report["problems"] = have["problems"] + unread
    report["session_host"] = dict(have["session_host"], connectivity=None)
    checked = session_host.connectivity(results)
    if checked:
        report["session_host"]["connectivity"] = checked
    report["diagnostics"] = diagnostics.diagnose(report, low_cals_threshold=want["low_cals_threshold"])
    return report


def _with_programs(have, results):
    """The license server section with each key pack's `program`: the one a cal_pack label records, None when the
    collection recorded none (a pack installed otherwise, or marked before labels existed); and the problem reading
    them, if any. A key that does not exist (StdRegProv answers 2) is a server without markers; another failure
    is a problem (on a license server), and no program is known."""
    section = dict(have["license_server"])
    result = results["marker_names"]
    programs, unread = {}, []
    if result.ok:
        programs = cal_pack.recorded_programs(result.out.get("sNames"))
    elif result.return_value != wmi.REGISTRY_NOT_FOUND and section["installed"]:
        unread.append({"part": "cal_pack_markers", "message": result.message()})
    section["key_packs"] = [dict(p, program=programs.get(p["key_pack_id"])) for p in section["key_packs"]]
    return section, unread


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
