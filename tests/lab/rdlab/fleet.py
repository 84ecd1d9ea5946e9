"""A fleet of simulated hosts on disk: state, transcript and faults, and the command runner that
the WinRM servers call.

Layout of a state directory:
    lab.json              hosts (name, address, port, scheme) and credentials
    hosts/<name>.json     each host's state (rdlab.model.host)
    transcript.jsonl      one line per command and per bridge operation each host received
    tls/                  the generated certificate

Every command loads the host's state from disk under a lock and saves it after, so `rdlab`
commands (seed, reset, fault) act on a running lab and state survives restarts.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from . import modules
from .model import power
from .model.host import Host
from .winrm.server import CommandResult, DropConnection

FAULTS = {
    "activation_unreachable": "the Microsoft Clearinghouse cannot be reached: automatic activation and "
                              "online CAL installs fail",
    "activation_flaky": "the next COUNT automatic activations fail as if the Microsoft Clearinghouse could not be "
                        "reached, then it answers again",
    "cim_fail": "the next COUNT calls of CLASS.METHOD (or any) return CODE (default 0x80041001)",
    "slow": "every WinRM exchange with the host waits SECONDS first",
    "drop_connection": "the next COUNT commands run, then the connection drops before the answer",
}


class Fleet:
    def __init__(self, state_dir: str | os.PathLike):
        self.dir = Path(state_dir)
        self._locks: dict[str, threading.Lock] = {}
        self._counter_lock = threading.Lock()

    # --- configuration --------------------------------------------------------------------------
    @property
    def config(self) -> dict:
        return json.loads((self.dir / "lab.json").read_text())

    def host_names(self) -> list[str]:
        return [h["name"] for h in self.config["hosts"]]

    def host_path(self, name: str) -> Path:
        if name not in self.host_names():
            raise KeyError(f"no host named {name!r} in the lab at {self.dir}")
        return self.dir / "hosts" / f"{name}.json"

    # --- state ----------------------------------------------------------------------------------
    @contextmanager
    def host(self, name: str, write: bool = True):
        """The host's model, loaded under a lock; saved when the block ends without error."""
        lock = self._locks.setdefault(name, threading.Lock())
        path = self.host_path(name)
        with lock, open(path.with_suffix(".lock"), "w") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)  # also excludes the rdlab CLI in another process
            state = json.loads(path.read_text())
            host = Host(state, fleet=self)
            yield host
            if write:
                tmp = path.with_suffix(".tmp")
                tmp.write_text(json.dumps(state, indent=2, sort_keys=True))
                tmp.replace(path)

    def read_state(self, name: str) -> dict:
        return json.loads(self.host_path(name).read_text())

    def resolve(self, server_name: str) -> Host | None:
        """A host by the name a session host would use (short name or FQDN, any case); read-only."""
        short = server_name.split(".")[0].lower()
        for name in self.host_names():
            if name.lower() == short:
                return Host(self.read_state(name), fleet=self)
        return None

    # --- the WinRM servers' CommandRunner -------------------------------------------------------
    def before_exchange(self, host: str, action: str) -> None:
        state = self.read_state(host)
        seconds = state.get("faults", {}).get("slow")
        if seconds:
            time.sleep(float(seconds))
        if state.get("reboot"):
            self._drop_while_restarting(host)

    def _drop_while_restarting(self, host: str) -> None:
        """A restarting host answers nothing (rdlab.model.power); the state is saved so that a
        restart whose time is over completes here, before the exchange is answered."""
        with self.host(host) as model:
            down = power.is_down(model)
        if down:
            raise DropConnection(f"{host} is restarting")

    def run_command(self, host: str, command: str, arguments: list[str], stdin: bytes) -> CommandResult:
        drop = False
        with self.host(host) as model:
            batch = self._next_batch(model)
            result, record = modules.execute(model, command, arguments, stdin)
            self.write_transcript(host, batch, record)
            drop = self._take_drop(model)
        if drop:
            raise DropConnection(f"fault drop_connection on {host}")
        return result

    def _next_batch(self, model: Host) -> int:
        model.state["commands_received"] = model.state.get("commands_received", 0) + 1
        return model.state["commands_received"]

    @staticmethod
    def _take_drop(model: Host) -> bool:
        fault = model.state.get("faults", {}).get("drop_connection")
        if not fault:
            return False
        fault["count"] = fault.get("count", 1) - 1
        if fault["count"] <= 0:
            model.state["faults"].pop("drop_connection")
        return True

    # --- transcript -----------------------------------------------------------------------------
    def write_transcript(self, host: str, batch: int, record: dict) -> None:
        now = dt.datetime.now(dt.timezone.utc).isoformat()
        lines = [{"time": now, "host": host, "batch": batch, **record["command"]}]
        lines += [{"time": now, "host": host, "batch": batch, "index": i, **op}
                  for i, op in enumerate(record.get("operations", []))]
        with self._counter_lock, open(self.dir / "transcript.jsonl", "a") as f:
            for line in lines:
                f.write(json.dumps(line, sort_keys=True) + "\n")

    def transcript(self, host: str | None = None) -> list[dict]:
        path = self.dir / "transcript.jsonl"
        if not path.exists():
            return []
        lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        return [line for line in lines if host is None or line["host"] == host]
