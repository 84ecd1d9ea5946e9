# -*- coding: utf-8 -*-
# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""licensing_info: report a host's RD Licensing state in one round trip."""

from __future__ import annotations

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import bridge, info
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils.action import LicensingAction


class ActionModule(LicensingAction):
    ARGUMENT_SPEC = {
        "reveal_license_server_id": {"type": "bool", "default": False},
    }

    def run_module(self, args, task_vars):
        batch = info.read_batch()
        results = bridge.run(self, task_vars, batch)
        report = info.parse(results, reveal_license_server_id=args["reveal_license_server_id"])
        report["changed"] = False
        return report
