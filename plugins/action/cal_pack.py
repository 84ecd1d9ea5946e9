# -*- coding: utf-8 -*-
# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cal_pack: install or remove a CAL key pack on a license server, exactly once."""

from __future__ import annotations

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _cal_pack as planner
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _bridge as bridge
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _info as info
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _wmi as wmi
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._action import LicensingAction, TaskFailed
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._bridge import Batch
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._plan import Plan


def _verify_batch():
    batch = Batch()
    batch.get("verify_packs", wmi.CIMV2, wmi.KEY_PACK_CLASS)
    return planner.read_ops(batch)


class ActionModule(LicensingAction):
    PLANNER = planner

    def run_module(self, want, task_vars):
        results = bridge.run(self, task_vars, planner.read_ops(info.read_batch()))
        have = info.parse(results)
        salt, markers = planner.read_markers(results)
        plan, pack, how, fp, new_salt = planner.plan(want, have, salt, markers, check_mode=self._task.check_mode)
        self.result = {"changed": plan.changed, "plan": plan.report(), "matched_by": how}
        if plan.warnings:
            self.result["warnings"] = plan.warnings
        before = _view(want, pack, recorded=how == "marker")
        if not plan.changed or self._task.check_mode:
            return self._report(before, _predicted(want, pack), pack if want["state"] == "present" else None, pack)
        matched = pack
        if want["state"] == "present" and pack is None:
            pack = self._install(want, task_vars, plan, markers, fp)
            self.result["matched_by"] = "installed"
        else:
            packs = self._apply_and_check(task_vars, plan, want, fp, matched["key_pack_id"])
            pack = packs.get(matched["key_pack_id"])
        return self._report(before, _view(want, pack, recorded=pack is not None), pack, matched)

    def _install(self, want, task_vars, plan, markers, fp):
        """Pending marker and install in one round trip; the pack's marker once Windows told its id."""
        install = Plan()
        install.steps = plan.steps[:1]
        results = self.apply(task_vars, install, _verify_batch())
        call = [r for r in results if r.operation.get("method", "").startswith("Install")][0]
        key_pack_id = call.out.get("KeyPackId")
        if key_pack_id is None:
            raise TaskFailed(
                "%s returned success but no KeyPackId, so the module cannot tell which key pack it installed. The "
                "pending marker stays on the license server: the next run records the new key pack if one appeared, "
                "or installs the pack if none did." % call.operation["method"], dict(self.result, changed=True))
        mark = Plan()
        mark.steps.append(planner.mark_after_install(want, markers, fp, key_pack_id))
        self.result["plan"] = install.report() + mark.report()
        pack = self._apply_and_check(task_vars, mark, want, fp, key_pack_id).get(key_pack_id)
        self._check_attributes(want, pack)
        return pack

    def _apply_and_check(self, task_vars, plan, want, fp, key_pack_id):
        """Apply, then check the key packs and markers read back in the same round trip."""
        results = self.apply(task_vars, plan, _verify_batch())
        packs = dict((p["KeyPackId"], info.key_pack(p)) for p in results["verify_packs"].instances)
        dummy, markers = planner.read_markers(results)
        present = key_pack_id in packs
        marked = markers["packs"].get(key_pack_id) == fp
        if want["state"] == "present" and not (present and marked):
            raise TaskFailed("After the change key pack %s is %s and %s" % (
                key_pack_id, "present" if present else "missing from Win32_TSLicenseKeyPack",
                "marked" if marked else "not marked"), dict(self.result, changed=True))
        if want["state"] == "absent" and present:
            raise TaskFailed("Key pack %s is still installed after UninstallLicenseKeyPackWithId" % key_pack_id,
                             dict(self.result, changed=True))
        return packs

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


def _view(want, pack, recorded):
    """The declared pack as the diff shows it; the numbers are never in it."""
    view = {"program": want["program"], "state": "present" if pack else "absent"}
    if pack:
        view.update((k, pack[k]) for k in ("key_pack_id", "product_version", "license_type", "total"))
        view["recorded"] = recorded
    return view


def _predicted(want, pack):
    """The view after the plan, for check mode (a new pack's id is not known before Windows assigns it)."""
    if want["state"] == "absent":
        return _view(want, None, False)
    if pack is not None:
        return _view(want, pack, True)
    return {"program": want["program"], "state": "present", "key_pack_id": None,
            "product_version": want["product_version"], "license_type": want["license_type"],
            "total": want["count"], "recorded": True}
