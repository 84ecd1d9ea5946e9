# -*- coding: utf-8 -*-
# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY
# The interfaces in this file serve this collection's own plugins; they may change in any release,
# even a bugfix release. Do not import them from other collections or playbooks.
"""Plans, and the one interface every planner follows.

A module is an action plugin (plugins/action/<module>.py) over a planner (plugin_utils/_<module>.py).
The planner holds all the module's knowledge as pure functions, so pytest tests it without a host;
the action plugin only moves data between the planner and the host. Every planner module defines:

  ARGUMENT_SPEC             the module's whole argument spec (shared options: the *_OPTIONS below,
                            documented by the doc fragments of the same names)
  validate(args) -> want    checks the spec cannot express, before anything touches the host;
                            raises ValueError naming the option and the expected form; `want` is
                            the normalised declaration
  read_ops(batch, want)     adds the module's own reads to the licensing_info read batch
                            (_info.read_batch) and returns it: one round trip reads everything.
                            Keyword arguments, where a planner takes them, name what only a
                            first read can tell (the configured license servers to check)
  observe(want, have, results) -> have
                            `have` (the licensing_info report of those results) with the module's
                            own reads parsed into it
  plan(want, have) -> Plan  the steps that make the host match `want`, each with its phase; empty
                            when nothing differs. Raises PlanError when `want` cannot be reached
  after_install(want, have) -> have
                            the host as it reads once the "role" phase is applied: the licensing
                            classes exist only then, so check mode plans the later phases on it
                            (planners without a role phase return `have` unchanged)
  view(have) -> dict        the part of the host the module manages, as the diff shows it; never
                            a secret
  predict(want, have, plan) -> dict
                            view() after the plan: check mode's "after", and what a real run must
                            read back (a mismatch fails the task)

Phases: a phase ends where the action must read the host again before it can plan on:
  role      install a Windows feature. The licensing classes the later steps use exist only
            afterwards (and a restart may come first), so the action applies this phase alone,
            reads the host again and plans the rest anew. A removal needs no new read: it goes
            last in the same round trip as the steps before it.
  config    everything else, applied with the verification reads in the same round trip
            A role-phase step whose action is RESTART ("restart") has no operations: the action
            restarts the host (a feature an earlier run installed without reboot waits for it).
  record    what the module writes once an earlier phase told it something (cal_pack's marker
            needs the KeyPackId that Windows returns from the install)
Plan.phase(name) gives one phase's steps; the plan's warnings stay with the whole plan.

A step names the operations the action must look at (Step.invoke(..., name="install")), and
Plan.result(results, name) finds that operation's result: the action never searches by position or
by method name. In check mode the plan is reported and nothing that changes the host is sent.
"""

from __future__ import annotations

import re

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._bridge import Batch


class PlanError(Exception):
    """The wanted state cannot be reached from the host's state; nothing was changed."""


PHASES = ("role", "config", "record")
RESTART = "restart"  # the action of a role-phase step that restarts the host (no operations)

# Options several modules share; their documentation is the doc fragment of the same name
# (plugins/doc_fragments/reboot.py, reveal.py), and a unit test holds the two together.
REBOOT_OPTIONS = {
    "reboot": {"type": "bool", "default": False},
    "reboot_timeout": {"type": "int", "default": 600},
}
REVEAL_OPTIONS = {"reveal_license_server_id": {"type": "bool", "default": False}}


def compact_code(value):
    """Codes and numbers are typed with hyphens and spaces and in any case; Windows takes them without."""
    return re.sub(r"[\s-]", "", value or "").upper()


def check_timeouts(args, *names):
    for name in names:
        if args[name] < 0:
            raise ValueError("%s must be 0 or more seconds, got %d" % (name, args[name]))


class Step(object):
    """One change, in words and in bridge operations."""

    def __init__(self, action, description, failure_hint=None, phase="config"):
        if phase not in PHASES:
            raise ValueError("unknown phase %r" % phase)
        self.action = action
        self.phase = phase
        self.names = {}  # operation name -> operation id, for Plan.result
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
        name = kwargs.pop("name", None)
        op = self.batch.invoke(self._id(), *args, **kwargs)
        if name is not None:
            self.names[name] = op["id"]
        return op

    def set(self, *args, **kwargs):
        return self.batch.set(self._id(), *args, **kwargs)

    def feature_install(self, *args, **kwargs):
        return self.batch.feature_install(self._id(), *args, **kwargs)

    def feature_uninstall(self, *args, **kwargs):
        return self.batch.feature_uninstall(self._id(), *args, **kwargs)

    def report(self):
        return {"action": self.action, "phase": self.phase, "description": self.description,
                "operations": [dict(op) for op in self.batch.operations]}


class Plan(object):
    def __init__(self):
        self.steps = []
        self.warnings = []

    def add(self, action, description, failure_hint=None, phase="config"):
        step = Step(action, description, failure_hint, phase)
        self.steps.append(step)
        return step

    def phase(self, name):
        """The steps of one phase, as a plan of their own (warnings stay with the whole plan)."""
        part = Plan()
        part.steps = [step for step in self.steps if step.phase == name]
        return part

    def result(self, results, name):
        """The result of the operation a step named `name`."""
        for step in self.steps:
            if name in step.names:
                return results[step.names[name]]
        raise KeyError("no step of this plan has an operation named %r" % name)

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
        failed = self.failed_step(results)
        if failed is None:
            return None
        step, result, problem = failed
        what = step.description[0].lower() + step.description[1:]
        message = "Could not %s: %s." % (what, problem)
        if step.failure_hint:
            message += " " + step.failure_hint(result)
        return message

    def failed_step(self, results):
        """(step, result, problem) of the first failed operation of the applied steps, or None."""
        for step in self.steps:
            for op in step.batch.operations:
                result = results[op["id"]]
                if not result.ok and result.error.get("kind") != "skipped":
                    return step, result, result.message()
                if result.ok and op["kind"] == "cim_invoke" and _unexpected(step.expect_out, result.out):
                    return step, result, "%s returned 0 but %s" % (
                        op["method"], _unexpected(step.expect_out, result.out))
        return None

    def applied_any(self, results):
        """Whether any operation of the steps succeeded, i.e. whether the host may have changed."""
        return any(results[op["id"]].ok for step in self.steps for op in step.batch.operations)


def _unexpected(expected, out):
    wrong = ["%s %s (expected %s)" % (k, out.get(k), v) for k, v in sorted(expected.items()) if out.get(k) != v]
    return ", ".join(wrong)
