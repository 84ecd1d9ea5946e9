"""The lab in-process: an action plugin's host_bridge calls answered by the lab's hosts directly,
without WinRM, as moto answers boto3 in-process.

A planner-plus-action test then takes milliseconds: it runs the real action plugin (validation,
planning, check mode, verification, messages) against the same host model the WinRM lab serves.
What only the wire can show (payloads, the transcript, secrets in ansible's output, connection
failures, reboots) stays with the end-to-end tests in tests/e2e.
"""

from __future__ import annotations

import importlib
import tempfile
from pathlib import Path
from unittest import mock

from rdlab import cli
from rdlab.fleet import Fleet
from rdlab.modules import host_bridge

# Beside the unit tests, not in the lab: the lab learns Windows from Microsoft's schema and never imports
# the collection; this runner is the one place that joins the two, for tests.
ROOT = Path(__file__).resolve().parents[4]
BRIDGE_SOURCE = ROOT / "plugins" / "modules" / "host_bridge.ps1"
ACTIONS = "ansible_collections.remote_desktop.licensing.plugins.action"


class InProcessLab:
    """Hosts as `rdlab start --host SPEC` makes them, served to action plugins in this process."""

    def __init__(self, *host_specs: str, directory: Path | None = None):
        self.dir = Path(directory or tempfile.mkdtemp(prefix="rdlab-inprocess-"))
        cli.create_lab(self.dir, [cli.parse_host_spec(spec) for spec in host_specs], "http")
        self.fleet = Fleet(self.dir)
        self.source = BRIDGE_SOURCE.read_text()  # the allowlist the lab enforces comes from the module
        self.batches: list[dict] = []  # every batch sent: {"host", "check_mode", "operations"}

    def state(self, host: str) -> dict:
        return self.fleet.read_state(host)

    def run(self, host: str, module: str, args: dict | None = None, check_mode: bool = False,
            diff: bool = False) -> dict:
        """Run remote_desktop.licensing.<module> on `host`; returns the task result ansible would get."""
        action_class = importlib.import_module("%s.%s" % (ACTIONS, module)).ActionModule
        task = mock.MagicMock(args=dict(args or {}), action="remote_desktop.licensing.%s" % module,
                              check_mode=check_mode, diff=diff, async_val=0)
        action = action_class(task, mock.MagicMock(), mock.MagicMock(), loader=None, templar=None,
                              shared_loader_obj=None)
        action._execute_module = self._bridge(host, check_mode)
        return action.run(task_vars={"inventory_hostname": host})

    def _bridge(self, host: str, check_mode: bool):
        def execute(module_name, module_args, task_vars=None, wrap_async=False):
            assert module_name == "remote_desktop.licensing.host_bridge", module_name
            self.batches.append({"host": host, "check_mode": check_mode, "operations": module_args["operations"]})
            with self.fleet.host(host) as model:
                try:
                    return host_bridge.run(model, dict(module_args, _ansible_check_mode=check_mode), self.source)
                except host_bridge.BridgeModuleError as e:
                    return {"failed": True, "msg": str(e)}
        return execute
