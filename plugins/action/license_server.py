# -*- coding: utf-8 -*-
# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""license_server: install, configure and activate an RD Licensing server."""

from __future__ import annotations

import time

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _lifecycle as lifecycle
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _license_server as planner
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _wmi as wmi
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._action import LicensingAction, TaskFailed


class ActionModule(LicensingAction):
    PLANNER = planner
    sleep = staticmethod(time.sleep)  # between activation tries; tests replace it

    def run_module(self, want, task_vars):
        self.result["reboot_required"] = False
        want["connection"] = self.connection_facts()
        have = self._read(task_vars, want)
        if want["state"] == "present" and not self._task.check_mode:
            have = self._service_after_restart(want, have, task_vars)
        plan = planner.plan(want, have)
        if want["state"] == "absent":
            final = self._remove(want, have, plan, task_vars)
        else:
            final = self._converge(want, have, plan, task_vars)
        return self._report(want, have, final)

    def _converge(self, want, have, plan, task_vars):
        """The role phase (its own round trip, then a new read), then the configuration phase."""
        role = self.record(plan.phase("role"))
        if role.steps and not self._task.check_mode:
            have = self._service_after_restart(want, self._install(want, role, task_vars), task_vars)
            plan = planner.plan(want, have)  # on the host as it reads now
        config = self.record(plan.phase("config"))
        self.result["warnings"].extend(plan.warnings)
        if not config.steps or self._task.check_mode:
            return None
        have, config, final = self._apply_config(want, have, config, task_vars)
        self.verify(planner.predict(want, have, config), planner.view(final))
        return final

    def _apply_config(self, want, have, config, task_vars):
        """Apply the configuration phase; when automatic activation fails, wait, read the host (its
        ActivationStatus) and apply what is still to do, as often as planner.retry_activation allows.
        Returns the host and the plan the last try started from, and the host after it."""
        tries = 1
        while True:
            try:
                return have, config, self.apply_and_read(task_vars, config, want)[0]
            except TaskFailed as failure:
                if not planner.retry_activation(want, failure.step, tries):
                    raise _tried(failure, tries, want)
                self._display.vv("license_server: activation try %d of %d failed, trying again in %d s: %s" % (
                    tries, want["activation_retries"] + 1, want["activation_retry_delay"], failure))
            self.sleep(want["activation_retry_delay"])
            tries += 1
            have = self.read(task_vars, want)[0]
            config = planner.plan(want, have).phase("config")
            if not config.steps:  # activated after all (the failed call's answer was lost)
                return have, config, have

    def _install(self, want, role, task_vars):
        probe = lifecycle.probe_batch("ready", wmi.CIMV2, wmi.LICENSE_SERVER_CLASS, "GetActivationStatus")
        results = self.apply_role(task_vars, role, want, verify=probe)
        if results is None or not results["ready"].ok:
            lifecycle.wait_until_ready(self, task_vars, probe, want["ready_timeout"])
        return self._read(task_vars, want)

    def _read(self, task_vars, want):
        """The host; its product ID goes into the result at once, so that a failed activation carries the ID
        that web or telephone activation asks for."""
        have = self.read(task_vars, want)[0]
        self.result["product_id"] = have["license_server"].get("product_id")
        return have

    def _service_after_restart(self, want, have, task_vars):
        """RDS-Licensing installed while an RDS-RD-Server install waits for its restart: Windows registers the
        TermServLicensing service only at that restart (a public setup script; rd-licensing-wmi.md §12).
        Reboot when the task allows it, else stop and say so."""
        waiting = wmi.FEATURE_SESSION_HOST in have.get("restart_pending", [])
        if not (have["roles"]["license_server"] and have["license_server"].get("service") is None and waiting):
            return have
        if not want["reboot"]:
            self.result["reboot_required"] = True
            raise TaskFailed("RD Licensing is installed, but Windows registers its service (%s) only at the restart "
                             "that the pending installation of %s needs. Restart the host (or set reboot: true) and "
                             "run the task again." % (wmi.LICENSING_SERVICE, wmi.FEATURE_SESSION_HOST),
                             dict(self.result, changed=self.applied))
        self.result["elapsed"] = int(lifecycle.reboot(self, task_vars, want["reboot_timeout"]))
        self.result["rebooted"] = True
        return self._read(task_vars, want)

    def _remove(self, want, have, plan, task_vars):
        """Deactivation and removal in one round trip: the removal takes the classes with it."""
        self.record(plan)
        if not plan.steps or self._task.check_mode:
            return None
        final, results = self.apply_and_read(task_vars, plan, want)
        self.verify(planner.predict(want, have, plan), planner.view(final))
        self.handle_restart(results, want, task_vars)
        return final

    def _report(self, want, have, final):
        after = planner.view(final) if final is not None else planner.predict(want, have, self.plan)
        ls = (final or have)["license_server"]
        self.result["diff"] = {"before": self.before, "after": after}
        self.result["activation_status"] = after.get("activation")
        self.result["product_id"] = ls.get("product_id")
        self.result["license_server_id"] = ls.get("license_server_id") if self.reveal else None
        return self.result


def _tried(failure, tries, want):
    """The last failure, saying how often activation was tried when it was tried more than once."""
    if tries == 1:
        return failure
    message = str(failure).rstrip(".")
    return TaskFailed("%s. Tried %d times, %d seconds apart (activation_retries: %d, activation_retry_delay: %d)."
                      % (message, tries, want["activation_retry_delay"], want["activation_retries"],
                         want["activation_retry_delay"]), failure.result, failure.step)
