# -*- coding: utf-8 -*-
# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""licensing_info: report a host's RD Licensing state in one round trip (two with connectivity)."""

from __future__ import annotations

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _bridge as bridge
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _diagnostics as diagnostics
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _session_host as session_host
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._action import LicensingAction


class ActionModule(LicensingAction):
    ARGUMENT_SPEC = {
        "reveal_license_server_id": {"type": "bool", "default": False},
        "check_connectivity": {"type": "bool", "default": False},
    }

    def run_module(self, args, task_vars):
        self.reveal = args["reveal_license_server_id"]
        report = self.read_info(task_vars)[0]
        servers = report["session_host"]["license_servers"] or []
        report["session_host"]["connectivity"] = None
        if args["check_connectivity"] and report["roles"]["session_host"] and servers:
            # The configured servers are known only after the first read: one more round trip.
            results = bridge.run(self, task_vars, session_host.connectivity_ops(bridge.Batch(), servers))
            report["session_host"]["connectivity"] = session_host.connectivity(results, servers)
        report["diagnostics"] = diagnostics.diagnose(report)
        report["changed"] = False
        return report
