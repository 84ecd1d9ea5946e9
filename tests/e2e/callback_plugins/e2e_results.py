# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Callback for the end-to-end tests: every task result, as the user's playbook would register it."""

from __future__ import annotations

DOCUMENTATION = """
    name: e2e_results
    type: aggregate
    short_description: write each task result as a JSON line (end-to-end tests only)
    description:
      - Appends one JSON line per host and task to the file named by the E2E_RESULTS environment
        variable, with the task's name, its status and its result (diff included).
      - Used by tests/e2e/support.py; not part of the collection.
"""

import json
import os

from ansible.plugins.callback import CallbackBase


def _parts(result):
    """Host name, task name and result dict, on ansible-core 2.15 to 2.21."""
    try:
        return result.host.get_name(), result.task.get_name(), result.result
    except AttributeError:
        return result._host.get_name(), result._task.get_name(), result._result


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "e2e_results"
    CALLBACK_NEEDS_ENABLED = True

    def _write(self, status, result):
        path = os.environ.get("E2E_RESULTS")
        if not path:
            return
        host, task, data = _parts(result)
        data = dict((k, v) for k, v in data.items() if not k.startswith("_ansible"))
        if status == "ok" and data.get("changed"):
            status = "changed"
        with open(path, "a") as f:
            f.write(json.dumps({"host": host, "task": task, "status": status, "result": data}, default=str) + "\n")

    def v2_runner_on_ok(self, result):
        self._write("ok", result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._write("failed", result)

    def v2_runner_on_skipped(self, result):
        self._write("skipped", result)

    def v2_runner_on_unreachable(self, result):
        self._write("unreachable", result)
