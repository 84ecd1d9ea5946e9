# -*- coding: utf-8 -*-
# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cal_pack: install or remove a CAL key pack on a license server, exactly once, even with two runs at once."""

from __future__ import annotations

import time

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _bridge as bridge
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _cal_pack as planner
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _info as info
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _wmi as wmi
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._action import LicensingAction, TaskFailed
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._bridge import Batch
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._plan import Plan, PlanError

# While another run installs the same pack (a fresh pending marker), read again every POLL_SECONDS, for
# up to WAIT_SECONDS; a run that lost the lock to another plans again, up to ATTEMPTS times.
WAIT_SECONDS = 120
POLL_SECONDS = 1
ATTEMPTS = 3
CONFLICT = object()


def _verify_batch(want):
    batch = Batch()
    batch.get("verify_packs", wmi.CIMV2, wmi.KEY_PACK_CLASS)
    return planner.read_ops(batch, want)


class ActionModule(LicensingAction):
    PLANNER = planner

    def run_module(self, want, task_vars):
        prepared = Plan()
        for dummy in range(ATTEMPTS):
            have, plan = self._read_and_plan(want, task_vars)
            prepare = planner.prepare(want, have) if plan.changed else Plan()
            if prepare.changed and not self._task.check_mode:
                self.apply(task_vars, prepare)  # the first lock, alone; then read again (planner docstring)
                prepared.extend(prepare)
                continue
            self._report_plan(prepared, prepare, plan)
            before = self.before  # the host as the task's first read found it
            present = want["state"] == "present"
            if not plan.changed or self._task.check_mode:
                return self._report(before, planner.predict(want, have, plan), plan.pack if present else None,
                                    plan.pack)
            pack = self._install(want, task_vars, plan, have) if plan.installs else self._change(want, task_vars, plan)
            if pack is not CONFLICT:
                self._check_acl()
                return self._report(before, planner.after(want, pack, self.acl_after, plan), pack, plan.pack)
        raise TaskFailed("Other runs kept changing the CAL pack markers of this license server while this task "
                         "planned (%d attempts); run it again." % ATTEMPTS, dict(self.result, changed=self.applied))

    def _report_plan(self, *plans):
        """The task's plan, as this attempt makes it (an attempt that lost the lock reports nothing)."""
        self.plan = Plan()
        self.result.update(changed=False, plan=[], warnings=[])
        for plan in plans:
            self.record(plan)
        self.result["matched_by"] = plans[-1].how

    def _read_and_plan(self, want, task_vars):
        """Read the host and plan; while another run is installing this pack, wait for it."""
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            have = self.read(task_vars, want)[0]
            try:
                return have, planner.plan(want, have, check_mode=self._task.check_mode)
            except planner.Busy as e:
                if time.monotonic() >= deadline:
                    raise PlanError("%s. Gave up waiting after %d seconds: run the task again later" % (e, WAIT_SECONDS))
                time.sleep(POLL_SECONDS)

    def _send(self, task_vars, plan, want):
        results = bridge.run(self, task_vars, plan.batch(_verify_batch(want)), stop_on_error=True)
        self.applied = self.applied or plan.applied_any(results)
        self.acl_after = planner.read_acl(results)  # the marker key's ACL as this round trip left it
        return results

    def _install(self, want, task_vars, plan, have):
        """Pending marker, lock and install in one round trip; the pack's marker once Windows told its id."""
        install = plan.phase("config")
        results = self._send(task_vars, install, want)
        if planner.lock_conflict(install, results):
            self._forget(task_vars, planner.forget_pending(plan, "Forget the pending marker: another run took the "
                                                                 "lock first"), want)
            return CONFLICT
        failure = install.failure(results)
        if failure:
            if planner.install_error_is_definite(install, results):
                self._forget(task_vars, planner.forget_pending(plan), want)
            raise TaskFailed(failure, dict(self.result, changed=self.applied))
        key_pack_id = self._installed_id(want, task_vars, plan, install, results, have)
        mark = planner.record(want, plan, key_pack_id)
        # The record step, now with its operations, in place of the placeholder the plan reported.
        self.result["plan"] = [s for s in self.result["plan"] if s["phase"] != "record"] + mark.report()
        results = self._send(task_vars, mark, want)
        failure = mark.failure(results)
        if failure and not planner.pending_already_gone(mark, results):
            raise TaskFailed(failure, dict(self.result, changed=True))
        pack = self._check(want, results, key_pack_id)
        self._check_attributes(want, pack)
        self.result["matched_by"] = "installed"
        return pack

    def _installed_id(self, want, task_vars, plan, install, results, have):
        """The KeyPackId the install returned. A 'success' without one: the pack that appeared, if exactly
        one did; none appeared means nothing was installed."""
        call = install.result(results, "install")
        key_pack_id = call.out.get("KeyPackId")
        if key_pack_id is not None:
            return key_pack_id
        before = set(p["key_pack_id"] for p in have["license_server"]["key_packs"])
        appeared = [p["KeyPackId"] for p in results["verify_packs"].instances if p["KeyPackId"] not in before]
        if len(appeared) == 1:
            self.result.setdefault("warnings", []).append(
                "%s returned success but no KeyPackId; key pack %d appeared and is recorded as this pack."
                % (call.operation["method"], appeared[0]))
            return appeared[0]
        if not appeared:
            self._forget(task_vars, planner.forget_pending(plan), want)
        raise TaskFailed(
            "%s returned success but no KeyPackId, and %s, so the module cannot tell which key pack it installed. %s"
            % (call.operation["method"], "no key pack appeared" if not appeared else
               "%d key packs appeared (%s)" % (len(appeared), ", ".join(str(i) for i in appeared)),
               "Nothing was installed: run the task again." if not appeared else
               "The pending marker stays: remove the extra pack by hand, then run again."),
            dict(self.result, changed=bool(appeared)))

    def _change(self, want, task_vars, plan):
        """Markers and removals in one round trip, after taking the lock."""
        results = self._send(task_vars, plan, want)
        if planner.lock_conflict(plan, results):
            return CONFLICT
        failure = plan.failure(results)
        if failure:
            raise TaskFailed(failure, dict(self.result, changed=self.applied))
        if plan.pack is None:
            return None
        return self._check(want, results, plan.pack["key_pack_id"])

    def _forget(self, task_vars, plan, want):
        """Best effort: when it fails, the pending marker stays and expires (planner.PENDING_LEASE)."""
        try:
            results = self._send(task_vars, plan, want)
        except bridge.BridgeError:
            return
        if not plan.failure(results):
            self.result["plan"] = self.result["plan"] + plan.report()

    def _check(self, want, results, key_pack_id):
        """The pack read back in the same round trip, and its marker: the change took effect."""
        packs = dict((p["KeyPackId"], info.key_pack(p)) for p in results["verify_packs"].instances)
        markers = planner.read_markers(results)
        present = key_pack_id in packs
        if want["state"] == "present":
            marked = planner.is_marked(want, markers, key_pack_id)
            labelled = planner.is_labelled(want, markers, key_pack_id)
            if not (present and marked and labelled):
                raise TaskFailed("After the change key pack %s is %s and %s" % (
                    key_pack_id, "present" if present else "missing from Win32_TSLicenseKeyPack",
                    ("marked" if labelled else "marked, but its label is missing") if marked else "not marked"),
                    dict(self.result, changed=True))
        elif present:
            raise TaskFailed("Key pack %s is still installed after UninstallLicenseKeyPackWithId" % key_pack_id,
                             dict(self.result, changed=True))
        return packs.get(key_pack_id)

    def _check_acl(self):
        """Every change leaves the marker key readable by SYSTEM and Administrators only (planner.prepare and
        the secure step): say so when Windows did not take the new security descriptor."""
        if not planner.acl_is_restricted(self.acl_after):
            raise TaskFailed("After SetSecurityDescriptor the CAL pack marker key HKLM\\%s allows %s, not only SYSTEM "
                             "and Administrators" % (planner.MARKER_KEY, planner.acl_text(self.acl_after)),
                             dict(self.result, changed=True))

    def _check_attributes(self, want, pack):
        """Retail codes and key pack IDs carry their own version, type and count: say when they differ."""
        expected = {"product_version_id": want["product_version_id"], "license_type": want["license_type"],
                    "total": want["count"]}
        wrong = ["%s is %s, declared %s" % (k, pack[k], v) for k, v in expected.items()
                 if v is not None and pack[k] != v]
        if wrong:
            self.result.setdefault("warnings", []).append(
                "The installed key pack %d differs from the declaration: %s. Later runs match it by its marker."
                % (pack["key_pack_id"], "; ".join(wrong)))

    def _report(self, before, after, pack, matched=None):
        """`pack` as it is after the task; `matched` as the declaration found it (a removed pack keeps its id)."""
        self.result["key_pack_id"] = (pack or matched or {}).get("key_pack_id")
        self.result["key_pack"] = pack
        self.result["diff"] = {"before": before, "after": after}
        return self.result
