# -*- coding: utf-8 -*-
# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""preflight: check, in one read-only round trip, what a read can show of the collection's assumptions about a host."""

from __future__ import annotations

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _bridge as bridge
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _preflight as planner
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._action import LicensingAction


class ActionModule(LicensingAction):
    PLANNER = planner

    def run_module(self, want, task_vars):
        connection = self.connection_facts()
        connection.pop("become_user")  # a user name: not in the observation
        results = bridge.run(self, task_vars, planner.batch())
        assumptions, observation = planner.assess(results, connection, anonymize=want["anonymize"])
        return {"changed": False, "assumptions": assumptions, "observation": observation,
                "failed_assumptions": [a["name"] for a in assumptions if not a["holds"]]}
