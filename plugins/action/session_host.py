# -*- coding: utf-8 -*-
# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""session_host: licensing mode and license servers of an RD Session Host."""

from __future__ import annotations

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import info
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import session_host as planner
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils.action import LicensingAction, TaskFailed
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils.bridge import Batch


class ActionModule(LicensingAction):
    ARGUMENT_SPEC = planner.ARGUMENT_SPEC

    def run_module(self, args, task_vars):
        want = planner.validate(args)
        self.begin(reboot_required=False)
        have, results = self._read(want, task_vars)
        self.initial = planner.view(have)
        role = self.record(planner.plan_role(want, have))
        if role.steps and self._task.check_mode:
            have = planner.after_install(have)  # plan the configuration on the fresh role
        elif role.steps:
            have, results = self._install(want, role, task_vars)
            if self.result["reboot_required"]:
                self.result["warnings"].append("Reboot the host to finish installing the RD Session Host role, "
                                               "then run the task again to configure licensing.")
                return self._finish(want, have, planner.view(have), results)
        config = self.record(planner.plan_config(want, have, planner.read_record(results)))
        if not config.steps or self._task.check_mode:
            return self._finish(want, have, planner.predict(want, have, config), results)
        results = self.apply(task_vars, config, planner.read_ops(info.read_batch(), self._servers(want, have)))
        final = info.parse(results)
        self.verify(planner.predict(want, have, config), planner.view(final))
        return self._finish(want, final, planner.view(final), results)

    def _servers(self, want, have):
        """The servers whose connectivity is checked: the wanted list, else the configured one."""
        if not want["check_connectivity"]:
            return []
        if want.get("license_servers") is not None:
            return want["license_servers"]
        return have["session_host"]["license_servers"] or []

    def _read(self, want, task_vars):
        wanted = want.get("license_servers") if want["check_connectivity"] else []
        have, results = self.read_info(task_vars, planner.read_ops(Batch(), wanted))
        if wanted is None and have["session_host"]["license_servers"]:
            # license_servers not given: the configured list is known only now (one more round trip).
            have, results = self.read_info(task_vars, planner.read_ops(Batch(), self._servers(want, have)))
        return have, results

    def _install(self, want, role, task_vars):
        self.handle_restart(self.apply(task_vars, role), want, task_vars)
        return self._read(want, task_vars)

    def _finish(self, want, have, after, results):
        sh = have["session_host"]
        report = planner.connectivity(results, self._servers(want, have)) if sh["installed"] else []
        self.result.update(after)
        self.result["grace_period_days_left"] = sh.get("grace_period_days_left")
        self.result["grace_period_ended"] = sh.get("grace_period_ended")
        self.result["connectivity"] = report
        self.result["diff"] = {"before": self.initial, "after": after}
        failure = planner.grace_check(want, sh, report)
        if failure:
            raise TaskFailed(failure, self.result)
        return self.result
