# -*- coding: utf-8 -*-
# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""license_server: install, configure and activate an RD Licensing server."""

from __future__ import annotations

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _info as info
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _lifecycle as lifecycle
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _wmi as wmi
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _license_server as planner
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._action import LicensingAction, TaskFailed
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._plan import Plan, PlanError


class ActionModule(LicensingAction):
    ARGUMENT_SPEC = dict(planner.ARGUMENT_SPEC, reveal_license_server_id={"type": "bool", "default": False})

    def run_module(self, args, task_vars):
        self.reveal = args["reveal_license_server_id"]
        want = planner.validate(args)
        have = self.read_info(task_vars)[0]
        self.before = have
        self.begin(reboot_required=False)
        if want["state"] == "present":
            final = self._present(want, have, task_vars)
        else:
            final = self._absent(want, have, task_vars)
        return self._report(want, have, final)

    # --- state: present ----------------------------------------------------------------------
    def _present(self, want, have, task_vars):
        role = planner.plan_role(want, have)
        if role.steps:
            # Refuse what the configuration cannot do (missing contact, domain options in a workgroup)
            # before installing anything: plan it on the host as it will read after the install.
            planner.plan_config(want, planner.after_install(want, have))
        self.record(role)
        if role.steps and not self._task.check_mode:
            have = self._install(want, role, task_vars)
        elif role.steps:
            have = planner.after_install(want, have)  # check mode: plan on the fresh role
        if not self._task.check_mode:
            have = self._service_after_restart(want, have, task_vars)
        try:
            config = planner.plan_config(want, have)
        except PlanError as e:
            raise TaskFailed(str(e), self.result)  # with the role step, when one was applied
        self.record(config)
        if not config.steps or self._task.check_mode:
            self.predicted = planner.predict(want, self.before, self.plan)
            return None
        final = self.apply_and_read(task_vars, config)
        self.verify(planner.predict(want, have, config), planner.view(final))
        return final

    def _install(self, want, role, task_vars):
        probe = lifecycle.probe_batch("ready", wmi.CIMV2, wmi.LICENSE_SERVER_CLASS, "GetActivationStatus")
        results = self.apply(task_vars, role, verify=probe)
        self.handle_restart(results, want, task_vars)
        if not results["ready"].ok:
            lifecycle.wait_until_ready(self, task_vars, probe, want["ready_timeout"])
        have = self.read_info(task_vars)[0]
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
        lifecycle.reboot(self, task_vars, want["reboot_timeout"])
        self.result["rebooted"] = True
        return self.read_info(task_vars)[0]

    # --- state: absent -----------------------------------------------------------------------
    def _absent(self, want, have, task_vars):
        plan = Plan()
        if have["roles"]["license_server"]:
            plan.extend(planner.plan_config(want, have))  # deactivation comes before removal
        role = planner.plan_role(want, have)
        plan.extend(role)
        self.record(plan)
        if not plan.steps or self._task.check_mode:
            self.predicted = planner.predict(want, have, plan)
            return None
        results = self.apply(task_vars, plan, verify=info.read_batch())
        final = info.parse(results, reveal_license_server_id=self.reveal)
        self.verify(planner.predict(want, have, plan), planner.view(final))
        self.handle_restart(results, want, task_vars)
        return final

    # --- results -----------------------------------------------------------------------------
    def _report(self, want, have, final):
        after = planner.view(final) if final is not None else self.predicted
        ls = (final or have)["license_server"]
        self.result["diff"] = {"before": planner.view(have), "after": after}
        self.result["activation_status"] = after.get("activation")
        self.result["product_id"] = ls.get("product_id")
        self.result["license_server_id"] = ls.get("license_server_id") if self.reveal else None
        return self.result
