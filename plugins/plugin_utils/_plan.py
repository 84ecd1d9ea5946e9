# -*- coding: utf-8 -*-
# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY
# The interfaces in this file serve this collection's own plugins; they may change in any release,
# even a bugfix release. Do not import them from other collections or playbooks.
"""Plans: what a module will change, as steps that carry the exact bridge operations to send.

A planner (a pure function of what the user wants and what the host has) returns a Plan. In check
mode the plan is reported and nothing is sent; otherwise all steps go to the host in one batch,
followed by the read operations that verify the result, so a change costs one round trip more than
a read.
"""

from __future__ import annotations

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._bridge import Batch


class PlanError(Exception):
    """The wanted state cannot be reached from the host's state; nothing was changed."""


class Step(object):
    """One change, in words and in bridge operations."""

    def __init__(self, action, description, failure_hint=None):
        self.action = action
        self.description = description
        self.failure_hint = failure_hint  # what to tell the user when this step's call fails
        self.expect_out = {}  # out parameters the step's calls must return, e.g. ActivationStatus 0
        self.batch = Batch()
        self._count = 0

    def _id(self):
        self._count += 1
        return "%s.%d" % (self.action, self._count)

    def get(self, *args, **kwargs):
        return self.batch.get(self._id(), *args, **kwargs)

    def invoke(self, *args, **kwargs):
        return self.batch.invoke(self._id(), *args, **kwargs)

    def set(self, *args, **kwargs):
        return self.batch.set(self._id(), *args, **kwargs)

    def feature_install(self, *args, **kwargs):
        return self.batch.feature_install(self._id(), *args, **kwargs)

    def feature_uninstall(self, *args, **kwargs):
        return self.batch.feature_uninstall(self._id(), *args, **kwargs)

    def report(self):
        return {"action": self.action, "description": self.description,
                "operations": [dict(op) for op in self.batch.operations]}


class Plan(object):
    def __init__(self):
        self.steps = []
        self.warnings = []

    def add(self, action, description, failure_hint=None):
        step = Step(action, description, failure_hint)
        self.steps.append(step)
        return step

    def extend(self, other):
        self.steps.extend(other.steps)
        self.warnings.extend(other.warnings)

    @property
    def changed(self):
        return bool(self.steps)

    def report(self):
        return [step.report() for step in self.steps]

    def batch(self, verify=None):
        """All steps' operations, then the verification reads (a Batch), as one batch."""
        combined = Batch()
        for step in self.steps:
            combined.operations.extend(step.batch.operations)
            combined.secrets.update(step.batch.secrets)
        if verify is not None:
            # The verification reads run even after a failed step: they show what the host has now.
            combined.operations.extend(dict(op, always=True) for op in verify.operations)
            combined.secrets.update(verify.secrets)
        return combined

    def failure(self, results):
        """The first failed operation of the applied steps as a message, or None. A call that returned
        0 but an out parameter other than the step expects has failed too ([W32]: check both)."""
        for step in self.steps:
            for op in step.batch.operations:
                result = results[op["id"]]
                if not result.ok and result.error.get("kind") != "skipped":
                    problem = result.message()
                elif result.ok and op["kind"] == "cim_invoke" and _unexpected(step.expect_out, result.out):
                    problem = "%s returned 0 but %s" % (op["method"], _unexpected(step.expect_out, result.out))
                else:
                    continue
                what = step.description[0].lower() + step.description[1:]
                message = "Could not %s: %s." % (what, problem)
                if step.failure_hint:
                    message += " " + step.failure_hint(result)
                return message
        return None

    def applied_any(self, results):
        """Whether any operation of the steps succeeded, i.e. whether the host may have changed."""
        return any(results[op["id"]].ok for step in self.steps for op in step.batch.operations)


def _unexpected(expected, out):
    wrong = ["%s %s (expected %s)" % (k, out.get(k), v) for k, v in sorted(expected.items()) if out.get(k) != v]
    return ", ".join(wrong)
