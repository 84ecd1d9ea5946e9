"""Test helpers: a lab started with the rdlab command line, and ansible run against it through the
real winrm connection plugin, as a user would. Used by tests/e2e (and the benchmark)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

LAB = Path(__file__).resolve().parents[1]
ROOT = LAB.parents[1]
COLLECTIONS = Path(os.environ.get("ANSIBLE_COLLECTIONS_PATH") or ROOT / "build" / "collections")
BIN = Path(sys.executable).parent


class Lab:
    def __init__(self, directory: Path):
        self.dir = directory
        self.inventory = directory / "inventory" / "hosts.yml"

    def rdlab(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        env = dict(os.environ, PYTHONPATH=str(LAB))
        return subprocess.run([sys.executable, "-m", "rdlab", *args, "--dir", str(self.dir)],
                              capture_output=True, text=True, env=env, check=check)

    def state(self, host: str) -> dict:
        return json.loads(self.rdlab("show", host).stdout)

    def transcript(self, host: str | None = None) -> list[dict]:
        lines = self.rdlab("transcript", *(["--host", host] if host else [])).stdout.splitlines()
        return [json.loads(line) for line in lines]

    def env(self) -> dict:
        return dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), ANSIBLE_HOST_KEY_CHECKING="False",
                    ANSIBLE_NOCOLOR="1", ANSIBLE_DEPRECATION_WARNINGS="False")

    def adhoc(self, pattern: str, module: str, args: dict | None = None, *extra: str,
              tmp_path: Path) -> dict[str, dict]:
        """Run an ad-hoc module; returns each host's result (ansible's tree output)."""
        tree = tmp_path / f"tree-{len(list(tmp_path.glob('tree-*')))}"
        command = [str(BIN / "ansible"), "-i", str(self.inventory), pattern, "-m", module, "-t", str(tree), *extra]
        if args is not None:
            command += ["-a", json.dumps(args)]
        run = subprocess.run(command, capture_output=True, text=True, env=self.env(), timeout=300, check=False)
        results = {p.name: json.loads(p.read_text()) for p in tree.glob("*")} if tree.exists() else {}
        for result in results.values():
            result["_rc"] = run.returncode  # the tree callback drops 'failed'; the exit code tells
        if not results:
            raise AssertionError(f"ansible returned no results:\n{run.stdout}\n{run.stderr}")
        return results

    def playbook(self, playbook: Path, *extra: str) -> subprocess.CompletedProcess:
        command = [str(BIN / "ansible-playbook"), "-i", str(self.inventory), str(playbook), *extra]
        return subprocess.run(command, capture_output=True, text=True, env=self.env(), timeout=600, check=False)


def start_lab(directory: Path, *hosts: str, scheme: str = "http", auth: str = "ntlm", become: bool = True) -> Lab:
    """A lab as `rdlab start` makes it: by default NTLM with message encryption over HTTP and become (runas) as
    the same account, what the documentation tells users to use; auth="basic" where a test needs Basic,
    become=False where it needs a session without credentials for the second hop."""
    lab = Lab(directory)
    args = ["start", "--scheme", scheme, "--auth", auth, "--reset", *([] if become else ["--no-become"])]
    for host in hosts:
        args += ["--host", host]
    lab.rdlab(*args)
    return lab
