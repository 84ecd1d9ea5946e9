# -*- coding: utf-8 -*-
# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""issued_license: revoke selected Per Device CALs on a license server, within Windows's limit."""

from __future__ import annotations

import datetime as dt

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _bridge as bridge
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _issued_license as planner
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._action import LicensingAction, TaskFailed


class ActionModule(LicensingAction):
    PLANNER = planner

    def run_module(self, want, task_vars):
        have = self.read(task_vars, want)[0]
        plan = self.record(planner.plan(want, have))
        pending = planner.to_revoke(have)
        self.result.update(matched=len(have["selected"]), already_revoked=len(have["selected"]) - len(pending),
                           revoked=[lic["license_id"] for lic in pending] if self._task.check_mode else [],
                           next_revoke_allowed_on=None)
        if not have["selected"]:
            self.result["msg"] = "No issued license matches the selection (%s)." % planner.describe_selection(want)
        if not plan.steps or self._task.check_mode:
            self.result.update(revocable=planner.estimate_after(want, have), revocable_estimated=True)
            return self._finish(have, planner.predict(want, have, plan))
        # The revocations and the read back in one round trip; the first refusal stops the rest (no retry).
        results = bridge.run(self, task_vars, plan.batch(self.read_batch(want)), stop_on_error=True)
        self.applied = plan.applied_any(results)
        revoked, refused, refusal, windows_says = planner.outcome(plan, have, results)
        final = self.observe(want, results)
        self.result.update(changed=bool(revoked), revoked=[lic["license_id"] for lic in revoked],
                           revocable=dict(planner.revocable(final, _now()), **windows_says),
                           revocable_estimated=False)
        if refused is not None:
            self.result["next_revoke_allowed_on"] = (refusal.error.get("out") or {}).get("NextRevokeAllowedOn")
            self._finish(final, planner.view(final))
            raise TaskFailed(planner.refusal_message(refused, refusal, len(revoked), len(pending)), self.result)
        self.verify(planner.predict(want, have, plan), planner.view(final))
        return self._finish(final, planner.view(final))

    def _finish(self, have, after):
        self.result["licenses"] = after["licenses"]
        self.result["diff"] = {"before": self.before, "after": after}
        return self.result


def _now():
    return dt.datetime.now(dt.timezone.utc)
