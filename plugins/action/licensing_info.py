# -*- coding: utf-8 -*-
# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""licensing_info: report a host's RD Licensing state in one round trip (two with connectivity)."""

from __future__ import annotations

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _bridge as bridge
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _diagnostics as diagnostics
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _licensing_info as planner
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _session_host as session_host
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._action import LicensingAction


class ActionModule(LicensingAction):
    PLANNER = planner

    def run_module(self, want, task_vars):
        report = self.read(task_vars, want)[0]
        servers = planner.connectivity_wanted(want, report)
        if servers:
            # Only the connectivity calls: the rest of the host was read in the first round trip.
            results = bridge.run(self, task_vars, planner.read_ops(bridge.Batch(), want, servers))
            report["session_host"]["connectivity"] = session_host.connectivity(results)
            report["diagnostics"] = diagnostics.diagnose(report, low_cals_threshold=want["low_cals_threshold"])
        report["changed"] = False
        return report
