# -*- coding: utf-8 -*-
# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""session_host: licensing mode and license servers of an RD Session Host."""

from __future__ import annotations

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _session_host as planner
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._action import LicensingAction, TaskFailed


class ActionModule(LicensingAction):
    PLANNER = planner

    def run_module(self, want, task_vars):
        self.result["reboot_required"] = False
        have = self._read(want, task_vars)
        plan = planner.plan(want, have)
        role = self.record(plan.phase("role"))
        if role.steps and not self._task.check_mode:
            have = self._install(want, role, task_vars)
            if self.result["reboot_required"]:
                self.result["warnings"].append("Reboot the host to finish installing the RD Session Host role, "
                                               "then run the task again to configure licensing.")
                return self._finish(want, have, planner.view(have), advise=False)
            plan = planner.plan(want, have)  # on the host as it reads now
        config = self.record(plan.phase("config"))
        self.result["warnings"].extend(plan.warnings)
        if not config.steps or self._task.check_mode:
            return self._finish(want, have, planner.predict(want, have, plan))
        final = self.apply_and_read(task_vars, config, want, servers=self._servers(want, have))[0]
        self.verify(planner.predict(want, have, config), planner.view(final))
        return self._finish(want, final, planner.view(final))

    def _servers(self, want, have):
        """The servers whose connectivity is checked: the wanted list, else the configured one."""
        if not want["check_connectivity"]:
            return []
        if want.get("license_servers") is not None:
            return want["license_servers"]
        return have["session_host"]["license_servers"] or []

    def _read(self, want, task_vars):
        have = self.read(task_vars, want)[0]
        if want["check_connectivity"] and want.get("license_servers") is None and have["session_host"]["license_servers"]:
            # license_servers not given: the configured list is known only now (one more round trip).
            have = self.read(task_vars, want, servers=self._servers(want, have))[0]
        return have

    def _install(self, want, role, task_vars):
        self.apply_role(task_vars, role, want)
        return self._read(want, task_vars)

    def _finish(self, want, have, after, advise=True):
        """The result; `advise`: warn about the licensing the host is left with (not when it was not configured
        because a restart must come first)."""
        sh = have["session_host"]
        self.result.update(after)
        self.result["grace_period_days_left"] = sh.get("grace_period_days_left")
        self.result["grace_period_ended"] = sh.get("grace_period_ended")
        self.result["connectivity"] = have["connectivity"]
        self.result["diff"] = {"before": self.before, "after": after}
        if advise:
            self.result["warnings"].extend(planner.advice(want, after, have["connectivity"]))
        failure = planner.grace_check(want, sh, have["connectivity"])
        if failure:
            raise TaskFailed(failure, self.result)
        return self.result
