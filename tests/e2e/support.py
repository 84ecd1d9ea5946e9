"""What the module tests share: run a module or a playbook against a lab through ansible's real winrm
connection, and look at what the user sees (each task's result and diff, the output, the PLAY RECAP)
and at what the hosts received (the lab's transcript) and hold (the lab's state).

    lab = ModuleLab.start(tmp_path_factory, "ls1:license_server:domain=corp.example.com")
    run = lab.run("ls1", "license_server", {"scope": "domain"}, check=True)
    run.result()["changed"], run.result()["diff"], run.commands("ls1")
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import threading
import time
from pathlib import Path

from rdlab import cli as rdlab_cli
from rdlab.testing import BIN, ROOT, Lab, start_lab

HERE = Path(__file__).resolve().parent
PLAYBOOKS = HERE / "playbooks"
COLLECTION = "remote_desktop.licensing"
# Bookkeeping the lab updates on every command, read-only ones included.
VOLATILE = ("commands_received", "event_log")
# Operations that only read: what a check-mode run and a run with nothing to change may send.
READ_KINDS = ("cim_get", "feature_get")
READ_METHODS = ("Get", "Is", "Enum", "Find")


class Run:
    """One ansible or ansible-playbook run: exit code, output, task results, transcript lines."""

    def __init__(self, rc: int, output: str, tasks: list[dict], transcript: list[dict]):
        self.rc = rc
        self.output = output
        self.tasks = tasks  # {"host", "task", "status", "result"} per host and task, in order
        self.transcript = transcript

    def results(self, host: str | None = None) -> list[dict]:
        return [t["result"] for t in self.tasks if host is None or t["host"] == host]

    def result(self, host: str | None = None) -> dict:
        """The single task result (of one host); fails when there is not exactly one."""
        results = self.results(host)
        assert len(results) == 1, f"expected one result, got {len(results)}:\n{self.output}"
        return results[0]

    def statuses(self, host: str | None = None) -> list[str]:
        return [t["status"] for t in self.tasks if host is None or t["host"] == host]

    def commands(self, host: str) -> list[dict]:
        """The WinRM commands the host received during the run (one per round trip)."""
        return [line for line in self.transcript if line["host"] == host and line["kind"] == "command"]

    def batches(self, host: str) -> list[list[dict]]:
        """The bridge operations of each command, in order."""
        batches: dict[int, list[dict]] = {}
        for line in self.transcript:
            if line["host"] == host:
                batches.setdefault(line["batch"], [])
                if line["kind"] != "command":
                    batches[line["batch"]].append(line)
        return list(batches.values())

    def methods(self, host: str) -> list[str]:
        """Every CIM method the host was asked to run, in order."""
        return [op["method"] for batch in self.batches(host) for op in batch if op.get("method")]

    def recap(self) -> dict[str, dict[str, int]]:
        """The PLAY RECAP counters by host."""
        return {host: {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", counters)}
                for host, counters in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", self.output, re.M)}


def is_read(op: dict) -> bool:
    return op["kind"] in READ_KINDS or (op["kind"] == "cim_invoke" and op["method"].startswith(READ_METHODS))


class ModuleLab:
    """A running lab and the ways a test drives it."""

    def __init__(self, lab: Lab, work: Path):
        self.lab = lab
        self.work = work
        self._runs = 0

    @classmethod
    def start(cls, tmp_path_factory, *hosts: str) -> ModuleLab:
        return cls(start_lab(tmp_path_factory.mktemp("lab"), *hosts), tmp_path_factory.mktemp("runs"))

    def stop(self) -> None:
        self.lab.rdlab("stop")

    # --- running ansible ---------------------------------------------------------------------------
    def run(self, host: str, module: str, args: dict | None = None, *, check: bool = False, diff: bool = True,
            extra: tuple[str, ...] = ()) -> Run:
        """An ad-hoc run of remote_desktop.licensing.<module> on one host (or pattern)."""
        command = [str(BIN / "ansible"), host, "-m", f"{COLLECTION}.{module}"]
        if args:  # ansible takes "-a {}" for free-form arguments
            command += ["-a", json.dumps(args)]
        return self._ansible(command + (["--check"] if check else []) + (["--diff"] if diff else []) + list(extra))

    def play(self, playbook: Path | list, *extra: str) -> Run:
        """An ansible-playbook run of a file, or of plays given as data (written as JSON, which is YAML)."""
        if not isinstance(playbook, Path):
            path = self.work / f"play-{self._runs}.yml"
            path.write_text(json.dumps(playbook, indent=2))
            playbook = path
        return self._ansible([str(BIN / "ansible-playbook"), str(playbook), *extra])

    def tasks(self, host: str, *tasks: tuple[str, dict], vars: dict | None = None, ignore_errors: bool = False,
              extra: tuple[str, ...] = ()) -> Run:
        """One play on `host` running remote_desktop.licensing.<module> tasks in order; `vars` stand in for the
        vault variables a user would keep secrets in."""
        steps = [{"name": f"task {i}: {module}", f"{COLLECTION}.{module}": args} for i, (module, args) in enumerate(tasks)]
        if ignore_errors:
            steps = [dict(step, ignore_errors=True) for step in steps]
        return self.play([{"name": "e2e", "hosts": host, "gather_facts": False, "vars": vars or {}, "tasks": steps}],
                         *extra)

    def _ansible(self, command: list[str]) -> Run:
        self._runs += 1
        results = self.work / f"results-{self._runs}.jsonl"
        env = dict(self.lab.env(), E2E_RESULTS=str(results), ANSIBLE_CALLBACK_PLUGINS=str(HERE / "callback_plugins"),
                   ANSIBLE_CALLBACKS_ENABLED="e2e_results", ANSIBLE_LOAD_CALLBACK_PLUGINS="1")
        seen = self._transcript_length()
        done = subprocess.run([command[0], "-i", str(self.lab.inventory), *command[1:]], capture_output=True,
                              text=True, env=env, timeout=300, check=False)
        tasks = [json.loads(line) for line in results.read_text().splitlines()] if results.exists() else []
        return Run(done.returncode, done.stdout + done.stderr, tasks, self._transcript()[seen:])

    # --- the lab -----------------------------------------------------------------------------------
    def _transcript(self) -> list[dict]:
        path = self.lab.dir / "transcript.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def _transcript_length(self) -> int:
        path = self.lab.dir / "transcript.jsonl"
        return len(path.read_text().splitlines()) if path.exists() else 0

    def state(self, host: str) -> dict:
        """The host's state without the lab's per-command bookkeeping (what `rdlab show` prints, read directly:
        the lab replaces the file atomically)."""
        state = json.loads((self.lab.dir / "hosts" / f"{host}.json").read_text())
        for key in VOLATILE:
            state.pop(key, None)
        return state

    def rdlab(self, *args: str) -> None:
        """The rdlab command line, run in this process: no interpreter start-up, so a fault lands in time."""
        assert rdlab_cli.main([*args, "--dir", str(self.lab.dir)]) == 0, args

    def seed(self, host: str, document: dict) -> None:
        path = self.work / "seed.json"
        path.write_text(json.dumps(document))
        self.rdlab("seed", host, str(path))

    def fault(self, host: str, name: str, *options: str) -> None:
        self.rdlab("fault", "set", host, name, *options)

    def clear_faults(self, host: str, name: str | None = None) -> None:
        self.rdlab("fault", "clear", host, *([name] if name else []))

    def by_hand(self, host: str, *operations: dict, secrets: dict | None = None) -> list[dict]:
        """Bridge operations sent directly, as an administrator working on the host would act (RD Licensing
        Manager, regedit): not through the modules under test."""
        args = {"operations": [dict(op, id=str(i)) for i, op in enumerate(operations)], "secrets": json.dumps(secrets) if secrets else ""}
        run = self.run(host, "host_bridge", args, diff=False)
        assert run.rc == 0, run.output
        return run.result()["results"]

    def after_next_command(self, host: str, action, poll: float = 0.02) -> threading.Thread:
        """Call `action` from a thread as soon as `host` has received its next command. With the host slowed
        down (fault `slow`), that is before the same task's following command arrives. Join the thread."""
        seen = self._transcript_length()

        def watch():
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                if any(line["host"] == host and line["kind"] == "command" for line in self._transcript()[seen:]):
                    action()
                    return
                time.sleep(poll)
        thread = threading.Thread(target=watch, daemon=True)
        thread.start()
        return thread


def without(mapping: dict, *keys: str) -> dict:
    return {k: v for k, v in mapping.items() if k not in keys}


def plan_actions(result: dict) -> list[str]:
    return [step["action"] for step in result["plan"]]


def leaks(texts: dict[str, str], secrets: list[str]) -> list[str]:
    """'<where>: <secret>' for every secret found in a text; [] when none leaked."""
    return [f"{where}: {secret}" for where, text in texts.items() for secret in secrets if secret in text]


# --- the report as a person sees it: Debian's chromium, headless ------------------------------------------------

INSTALL_CHROMIUM = ROOT / "tools" / "install-chromium.sh"
CHROMIUM = Path("/usr/bin/chromium")


def headless(chromium, profile: Path, *args: str) -> subprocess.CompletedProcess:
    command = [str(chromium), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--hide-scrollbars", f"--user-data-dir={profile}", *args]
    run = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert run.returncode == 0, run.stderr
    return run


def probe_page(chromium, page: str, script: str, tmp_path_factory) -> dict:
    """What `script` (appended to a copy of the page: the report has no script of its own) puts as JSON in a
    <pre id="probe">, read from the DOM chromium renders at 1280x1600."""
    probe = tmp_path_factory.mktemp("probe") / "probe.html"
    probe.write_text(page.replace("</body>", script + "</body>"))
    dom = headless(chromium, tmp_path_factory.mktemp("profile"), "--window-size=1280,1600", "--dump-dom",
                   probe.as_uri()).stdout
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    return json.loads(html.unescape(found.group(1)))
