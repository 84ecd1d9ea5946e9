# -*- coding: utf-8 -*-
# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cal_usage: the Per User and Per Device usage of a license server, from a usage report it reuses or generates."""

from __future__ import annotations

import datetime as dt

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _bridge as bridge
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _cal_usage as planner
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _wmi as wmi
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._action import LicensingAction, TaskFailed
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._plan import PlanError


class ActionModule(LicensingAction):
    PLANNER = planner

    def run_module(self, want, task_vars):
        have = self.read(task_vars, want)[0]
        choice = planner.choose(want, have, dt.datetime.now(dt.timezone.utc), self._task.check_mode)
        plan = self.record(planner.plan(want, have, choice))
        # Check mode lists the deletions planned; a run lists those done (_apply), even when a later one failed.
        self.result.update(user_names=want["user_names"], report=None,
                           deleted_reports=_listed(choice["delete"]) if self._task.check_mode else [])
        self.result.update(planner.empty_lists())
        pager = planner.Pager(want["page_size"], planner.expected_sizes(have), planner.omitted_properties(want))
        if self._task.check_mode:
            return self._check_mode(task_vars, want, have, choice, plan, pager)
        report = self._apply(task_vars, have, choice, plan, pager)
        self._page(task_vars, pager, planner.report_filter(report))
        return self._finish(want, have, choice, dict(report, reused=not choice["generate"]), pager)

    def _check_mode(self, task_vars, want, have, choice, plan, pager):
        """Only reads: the newest existing report (a recent one, or the one a real run would replace)."""
        report = choice["read"]
        if report is None:
            self.result["warnings"].append("No usage report exists on this license server yet: a run without check "
                                           "mode generates one; the lists are empty.")
            self.result["diff"] = {"before": self.before, "after": planner.predict(want, have, plan, choice)}
            return self.result
        if choice["generate"]:
            self.result["warnings"].append(
                "The newest usage report (%s, generated %s) is older than max_age: a run without check mode generates "
                "a new one; check mode reads this one." % (report["file_name"], report["generated"]))
        self._page(task_vars, pager, planner.report_filter(report))
        return self._finish(want, have, choice, dict(report, reused=True), pager)

    def _apply(self, task_vars, have, choice, plan, pager):
        """Generate and delete as planned, with the first pages of the report read in the same round trip. The
        pages and the new report's listing run even when a step fails (they read), so the step is what fails."""
        condition = planner.new_report_filter(have) if choice["generate"] else planner.report_filter(choice["read"])
        reads = bridge.Batch()
        if choice["generate"]:
            reads.get("new_report", wmi.CIMV2, planner.REPORT_CLASS, filter=condition,
                      properties=["FileName", "GenerationDateTime"])
        pager.add(reads, condition)
        results = self.apply(task_vars, plan, reads, observe=lambda done: self._deleted(plan, choice, done))
        if not choice["generate"]:
            self._take(pager, results)
            return choice["read"]
        name = plan.result(results, "generate").out.get("FileName")
        if not name:  # the page gives FileName as the method's only out-parameter
            raise TaskFailed("GenerateReportEx succeeded but returned no FileName, so the new report cannot be told "
                             "from the others: run again, or read the newest report with max_age.",
                             dict(self.result, changed=True))
        listed = [{"file_name": r.get("FileName"), "generated": r.get("GenerationDateTime")}
                  for r in results["new_report"].instances]
        if len(listed) == 1 and listed[0]["file_name"] == name:
            self._take(pager, results)
            return listed[0]
        # Another report appeared beside ours (a concurrent run): read ours by its name from the start.
        ours = next((r for r in listed if r["file_name"] == name), {"file_name": name, "generated": None})
        pager.__init__(pager.page_size, pager.expected, pager.omit)
        return ours

    def _deleted(self, plan, choice, results):
        """deleted_reports: the reports whose DeleteReport succeeded (the batch stops at the first failure)."""
        step = next((s for s in plan.steps if s.action == "delete"), None)
        if step is not None:
            self.result["deleted_reports"] = _listed(
                report for report, op in zip(choice["delete"], step.batch.operations) if results[op["id"]].ok)

    def _page(self, task_vars, pager, condition):
        """Round trips of pages until every list has ended."""
        while not pager.finished:
            results = bridge.run(self, task_vars, pager.add(bridge.Batch(), condition))
            self._take(pager, results)

    def _take(self, pager, results):
        try:
            pager.take(results)
        except PlanError as e:
            raise TaskFailed(str(e), dict(self.result, changed=self.applied))

    def _finish(self, want, have, choice, report, pager):
        self.result["report"] = {"file_name": report["file_name"], "generated": report["generated"],
                                 "reused": report["reused"]}
        self.result.update(planner.shape(pager.entries, want["user_names"], want["user_name_salt"] or planner.new_salt()))
        new_name = None if report["reused"] else report["file_name"]
        self.result["diff"] = {"before": self.before, "after": planner.predict(want, have, self.plan, choice, new_name)}
        return self.result


def _listed(reports):
    return [{"file_name": r["file_name"], "generated": r["generated"]} for r in reports]
