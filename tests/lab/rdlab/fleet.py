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


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read: host states hold the lab's license server IDs and markers,
    and the lab may run on a machine shared with others."""
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
        out.write(text)
    os.chmod(path, 0o600)  # an existing file keeps its mode through O_CREAT


class Fleet:
    def __init__(self, state_dir: str | os.PathLike):
        self.dir = Path(state_dir)
        self._locks: dict[str, threading.Lock] = {}
        self._counter_lock = threading.Lock()
        self._names_seen: tuple[tuple[int, int], list[str]] | None = None

    # --- configuration --------------------------------------------------------------------------
    @property
    def config(self) -> dict:
        return json.loads((self.dir / "lab.json").read_text())

    def host_names(self) -> list[str]:
        """The hosts of lab.json, parsed again only when the file changed: every WinRM exchange and every
        license server a session host checks looks a host up, and parsing the whole file each time made
        the lab's cost per command grow with the number of hosts (0.7 s of CPU per command at 1,000)."""
        stat = (self.dir / "lab.json").stat()
        key = (stat.st_mtime_ns, stat.st_size)
        seen = self._names_seen
        if seen is None or seen[0] != key:
            seen = (key, [h["name"] for h in self.config["hosts"]])
            self._names_seen = seen
        return seen[1]

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
                write_private(tmp, json.dumps(state, indent=2, sort_keys=True))
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

    def logon_failed(self, host: str, scheme: str) -> None:
        """A refused logon: Windows writes event 4625 "An account failed to log on" to the Security log
        (learn.microsoft.com, windows/security/threat-protection/auditing/event-4625), and an account
        lockout policy counts it. Successful logons are not recorded."""
        with self.host(host) as model:
            log = model.state.setdefault("security_log", [])
            log.append({"event_id": 4625, "message": "An account failed to log on.", "authentication": scheme,
                        "time": dt.datetime.now(dt.timezone.utc).isoformat()})
            del log[:-50]  # keep the newest 50, like a small log

    def run_command(self, host: str, command: str, arguments: list[str], stdin: bytes) -> CommandResult:
        return self.run_session_command(host, None, command, arguments, stdin)

    def run_session_command(self, host: str, logon, command: str, arguments: list[str], stdin: bytes) -> CommandResult:
        """Run a command in the session its shell's creator logged on (winrm.server.Logon; None: NTLM)."""
        drop = False
        config = self.config
        with self.host(host) as model:
            batch = self._next_batch(model)
            result, record = modules.execute(model, command, arguments, stdin, logon,
                                             (config["username"], config["password"]))
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
