#!/usr/bin/env python
"""Capture what an ansible-core sends through its winrm connection, as payload fixtures for the lab.

Usage: VENV/bin/python tools/capture-payloads.py OUT_DIR
  Run it with the python of a venv that has the ansible-core to capture (and pywinrm); its
  ansible / ansible-playbook run ad-hoc tasks against a recording WinRM server (tests/lab's server,
  Basic auth over loopback HTTP). ANSIBLE_COLLECTIONS_PATH must hold the matching ansible.windows.
  Writes OUT_DIR/<case>.json, trimmed as tests/lab/tests/fixtures/payloads/README.md describes.

The recording host answers every module with one canned result and every raw command with one
line: it only has to let ansible finish the task, the commands it records are the point.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "lab"))

from rdlab.winrm.server import CommandResult, WinRMServer  # noqa: E402

BIN = Path(sys.executable).parent
OLD_SEPARATOR = b"\0\0\0\0"  # bootstrap_wrapper.ps1 of ansible-core <= 2.18 splits stdin here
NEW_SEPARATOR = b"\n\0\0\0\0\n"  # ansible-core >= 2.19

# case: (ansible arguments, description for the fixture)
CASES = {
    "win_ping": (["-m", "ansible.windows.win_ping", "-a", "data=hello"], "ansible.windows.win_ping: {data: hello}"),
    "become": (["-m", "ansible.windows.win_ping", "-b", "--become-method", "runas", "--become-user", "SYSTEM"],
               "ansible.windows.win_ping with become: true, become_method: runas, become_user: SYSTEM"),
    "async": (["-m", "ansible.windows.win_ping", "-B", "10", "-P", "0"],
              "ansible.windows.win_ping with async: 10, poll: 0"),
    "setup": (["-m", "ansible.builtin.gather_facts"], "gather_facts"),
    "raw": (["-m", "raw", "-a", "Get-Date"], "raw: Get-Date"),
    "raw_multiline": (["-m", "raw", "-a", '$a = 1\nWrite-Output "two lines $a"\n'],
                      'raw: "$a = 1\\nWrite-Output \\"two lines $a\\"\\n"'),
    "put_file": (["-m", "ansible.builtin.script", "-a", "{script}"], "ansible.builtin.script: x.ps1 (its put_file)"),
}


class Recorder:
    """The host side: records each command, answers just enough for the task to finish."""

    def __init__(self) -> None:
        self.commands: list[dict] = []
        self.lock = threading.Lock()

    def before_exchange(self, host: str, action: str) -> None:
        pass

    def run_command(self, host: str, command: str, arguments: list[str], stdin: bytes) -> CommandResult:
        with self.lock:
            self.commands.append({"command": command, "arguments": arguments, "stdin": stdin})
        if not stdin:
            return CommandResult(b"captured\r\n", b"", 0)
        if OLD_SEPARATOR not in stdin:  # ansible-core <= 2.18 put_file: base64 chunks, one per line
            return put_file_answer(stdin)
        if b"winrm_put_file.ps1" in stdin:  # >= 2.19: the chunks follow a second NUL line
            return put_file_answer(stdin.split(NEW_SEPARATOR)[2])
        if NEW_SEPARATOR in stdin and b"module_wrapper.ps1" not in stdin:  # >= 2.19: mkdtemp is a script too
            return CommandResult(b"C:\\Windows\\TEMP\\ansible-tmp-capture\r\n", b"", 0)
        result = {"changed": False, "ping": "hello", "ansible_facts": {}}
        if b"async_wrapper" in stdin:
            result.update(started=1, finished=0, ansible_job_id="j1", results_file="x")
        return CommandResult(json.dumps(result).encode(), b"", 0)


def put_file_answer(chunks: bytes) -> CommandResult:
    data = b"".join(base64.b64decode(line) for line in chunks.split() if line)
    return CommandResult(json.dumps({"sha1": hashlib.sha1(data).hexdigest()}).encode(), b"", 0)


def run_case(server: WinRMServer, recorder: Recorder, args: list[str], work: Path) -> list[dict]:
    inventory = work / "hosts.yml"
    inventory.write_text(json.dumps({"all": {"hosts": {"capture": {
        "ansible_host": "127.0.0.1", "ansible_port": server.port, "ansible_connection": "winrm",
        "ansible_winrm_transport": "basic", "ansible_winrm_scheme": "http",
        "ansible_user": server.username, "ansible_password": server.password}}}}))
    recorder.commands.clear()
    env = dict(os.environ, ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_NOCOLOR="1")
    run = subprocess.run([str(BIN / "ansible"), "-i", str(inventory), "capture", *args],
                         capture_output=True, text=True, env=env, timeout=120, check=False)
    if run.returncode != 0:
        sys.exit(f"capture failed: ansible {' '.join(args)}\n{run.stdout}\n{run.stderr}")
    return list(recorder.commands)


def pick(case: str, commands: list[dict]) -> dict:
    if case.startswith("raw"):
        return commands[-1]
    if case == "put_file":
        return next(c for c in commands if c["stdin"] and (OLD_SEPARATOR not in c["stdin"]
                                                           or b"winrm_put_file.ps1" in c["stdin"]))
    return next(c for c in commands if OLD_SEPARATOR in c["stdin"])


# --- trimming: placeholders for script bodies, '...' for local paths --------------------------


def b64_text(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def placeholder(name: str) -> str:
    return f"# {name}, trimmed"


def first_lines(b64: str, count: int = 3) -> str:
    return b64_text("\n".join(base64.b64decode(b64).decode("utf-8-sig").splitlines()[:count]))


def local_path(path: str) -> str:
    for marker in ("/ansible_collections/", "/ansible/"):
        if marker in path:
            return "..." + path[path.index(marker):]
    return path


def encoded_placeholder(arguments: list[str], name: str) -> list[str]:
    words = " ".join(arguments).split()
    words[-1] = base64.b64encode(placeholder(name).encode("utf-16-le")).decode()
    return [" ".join(words)]


def trim_old(stdin: bytes) -> dict:
    """ansible-core <= 2.18: '<exec_wrapper.ps1>\\0\\0\\0\\0<manifest JSON>'."""
    manifest = json.loads(stdin.partition(OLD_SEPARATOR)[2])
    manifest["module_entry"] = first_lines(manifest["module_entry"])
    for key in ("powershell_modules", "csharp_utils"):
        manifest[key] = {name: b64_text(placeholder(name)) for name in manifest[key]}
    for key in list(manifest):
        if key.endswith(("_wrapper", "_watchdog")) and isinstance(manifest[key], str):
            manifest[key] = b64_text(placeholder(f"{key}.ps1"))
    return {"exec_wrapper": placeholder("exec_wrapper.ps1") + "\n\n", "manifest": manifest}


def trim_new(stdin: bytes) -> dict:
    """ansible-core >= 2.19: '<bootstrap JSON>\\n\\0\\0\\0\\0\\n<manifest JSON>'."""
    bootstrap_raw, rest = stdin.split(NEW_SEPARATOR, 1)
    manifest_raw, trailer = (rest.split(NEW_SEPARATOR, 1) + [b""])[:2]
    bootstrap, manifest = json.loads(bootstrap_raw), json.loads(manifest_raw)
    bootstrap["script"] = placeholder("exec_wrapper.ps1")
    for name, entry in manifest["scripts"].items():
        module = ".plugins.modules." in name
        entry["script"] = first_lines(entry["script"]) if module else b64_text(placeholder(name))
        entry["path"] = local_path(entry["path"])
    parts = {"bootstrap": bootstrap, "manifest": manifest}
    if trailer:
        parts["trailer"] = (NEW_SEPARATOR + trailer).decode()
    return parts


def fixture(case: str, command: dict, core: str, described: str) -> dict:
    stdin, arguments = command["stdin"], command["arguments"]
    if OLD_SEPARATOR in stdin and NEW_SEPARATOR not in stdin:
        parts = trim_old(stdin)
    elif NEW_SEPARATOR in stdin:
        parts = trim_new(stdin)
    else:
        parts = {"lines": stdin.decode()} if stdin else None
    if not case.startswith("raw") and arguments:
        script = "winrm put_file script" if "lines" in (parts or {}) else "bootstrap_wrapper.ps1"
        arguments = encoded_placeholder(arguments, script)
    return {"ansible_core": core, "captured_with": f"{described} (winrm connection, basic auth)",
            "command": command["command"], "arguments": arguments, "stdin": parts}


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    core = subprocess.run([str(BIN / "python"), "-c", "import ansible.release as r; print(r.__version__)"],
                          capture_output=True, text=True, check=True).stdout.strip()
    recorder = Recorder()
    with WinRMServer("capture", recorder, auth=("basic",), allow_unencrypted=True) as server:
        with tempfile.TemporaryDirectory() as tmp:
            capture_all(server, recorder, Path(tmp), out, core)


def capture_all(server: WinRMServer, recorder: Recorder, work: Path, out: Path, core: str) -> None:
    script = work / "x.ps1"
    script.write_text("Write-Output 'x'\n")
    for case, (args, described) in CASES.items():
        args = [a.replace("{script}", str(script)) for a in args]
        command = pick(case, run_case(server, recorder, args, work))
        path = out / f"{case}.json"
        path.write_text(json.dumps(fixture(case, command, core, described), indent=1) + "\n")
        print(f"captured {path}")


if __name__ == "__main__":
    main()
