"""make bench: the collection's cost on fleets of 1, 10, 100 and 300 lab hosts.

For each size (one license server per 50 session hosts; a single host is both), against a fresh
simulated lab and with the same forks throughout:
  - site.yml, first converge and no-change converge;
  - one no-change module task (session_host) and one win_ping task over the same session hosts.
Each run is measured as wall time, controller CPU time (user + system of ansible and every worker),
peak controller memory (the largest process), and, from the lab's transcript, WinRM commands and
bytes sent per host. The table goes to stdout and build/bench.json; docs/performance.md explains it.

    python tools/bench.py [--sizes 1,10,100,300] [--forks 50]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "lab"))

from rdlab.testing import Lab, start_lab  # noqa: E402 - the lab lives with the tests

DEMO_VARS = ROOT / "tests" / "lab" / "demo" / "vars.yml"
SESSION_HOST_TASK = [{"name": "One session_host task", "hosts": "session_hosts", "gather_facts": False, "tasks": [
    {"name": "Licensing mode and servers", "remote_desktop.licensing.session_host": {
        "mode": "per_user", "check_connectivity": False}}]}]
WIN_PING_TASK = [{"name": "One win_ping task", "hosts": "session_hosts", "gather_facts": False, "tasks": [
    {"name": "Ping", "ansible.windows.win_ping": None}]}]


def host_specs(size: int) -> list[str]:
    if size == 1:
        return ["h1:session_host:domain=corp.example.com:groups=license_servers+session_hosts"]
    servers = max(1, math.ceil(size / 51))
    specs = [f"ls{i}:none:domain=corp.example.com:groups=license_servers" for i in range(1, servers + 1)]
    specs += [f"sh{i}:session_host:domain=corp.example.com" for i in range(1, size - servers + 1)]
    return specs


def lab_cpu(lab: Lab) -> float:
    """CPU seconds the lab's server process has used (Linux /proc): the simulated hosts' work."""
    pid = int((lab.dir / "lab.pid").read_text())
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def measure(lab: Lab, playbook: Path, forks: int, extra: list[str]) -> dict:
    """Run a playbook; its cost on the controller, in the lab, and on the wire."""
    before = len(lab.transcript())
    lab_before = lab_cpu(lab)
    # A wrapper process per run: its RUSAGE_CHILDREN covers ansible-playbook and every worker it
    # reaped, and nothing else, so CPU time and peak memory belong to this run alone.
    wrapper = ("import json, resource, subprocess, sys; run = subprocess.run(sys.argv[1:], capture_output=True, "
               "text=True, check=False); u = resource.getrusage(resource.RUSAGE_CHILDREN); "
               "print(json.dumps({'rc': run.returncode, 'out': run.stdout, 'err': run.stderr, "
               "'cpu': u.ru_utime + u.ru_stime, 'rss': u.ru_maxrss}))")
    started = time.monotonic()
    wrapped = subprocess.run([sys.executable, "-c", wrapper, str(Path(sys.executable).parent / "ansible-playbook"),
                              "-i", str(lab.inventory), str(playbook), "-f", str(forks), *extra],
                             capture_output=True, text=True, env=lab.env(), check=False)
    wall = time.monotonic() - started
    lab_seconds = lab_cpu(lab) - lab_before
    report = json.loads(wrapped.stdout)
    run = argparse.Namespace(returncode=report["rc"], stdout=report["out"], stderr=report["err"])
    if run.returncode != 0:
        raise SystemExit(f"{playbook.name} failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
    commands = [line for line in lab.transcript()[before:] if line["kind"] == "command"]
    hosts = {line["host"] for line in commands}
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(report["cpu"], 2),
        "peak_rss_mb": round(report["rss"] / 1024, 1),  # the largest process of the run (Linux: KiB)
        "lab_cpu_s": round(lab_seconds, 2),
        "commands_per_host": round(len(commands) / max(1, len(hosts)), 2),
        "bytes_per_host": round(sum(c["stdin_bytes"] for c in commands) / max(1, len(hosts))),
        "changed": "changed=0" not in run.stdout.split("PLAY RECAP")[-1] or None,
    }


def bench_size(size: int, forks: int, workdir: Path) -> dict:
    lab = start_lab(workdir / f"lab-{size}", *host_specs(size))
    try:
        site = ROOT / "playbooks" / "site.yml"
        extra = ["-e", f"@{DEMO_VARS}"]
        single = workdir / "single.yml"
        single.write_text(json.dumps(SESSION_HOST_TASK))
        ping = workdir / "ping.yml"
        ping.write_text(json.dumps(WIN_PING_TASK))
        result = {"size": size, "forks": forks, "first_converge": measure(lab, site, forks, extra)}
        result["no_change_converge"] = measure(lab, site, forks, extra)
        result["no_change_task"] = measure(lab, single, forks, [])
        result["win_ping_task"] = measure(lab, ping, forks, [])
        task, ping = result["no_change_task"], result["win_ping_task"]
        result["task_to_ping_ratio"] = round(task["wall_s"] / ping["wall_s"], 2)
        result["task_to_ping_cpu_ratio"] = round(task["cpu_s"] / ping["cpu_s"], 2)
        return result
    finally:
        lab.rdlab("stop")


def table(results: list[dict]) -> str:
    rows = ["| hosts | run | wall s | controller CPU s | peak MB | lab CPU s | commands/host | KB sent/host |",
            "|---|---|---|---|---|---|---|---|"]
    for r in results:
        for run in ("first_converge", "no_change_converge", "no_change_task", "win_ping_task"):
            m = r[run]
            rows.append(f"| {r['size']} | {run.replace('_', ' ')} | {m['wall_s']} | {m['cpu_s']} | {m['peak_rss_mb']} "
                        f"| {m['lab_cpu_s']} | {m['commands_per_host']} | {m['bytes_per_host'] / 1024:.0f} |")
        rows.append(f"| {r['size']} | **no-change task / win_ping** | **{r['task_to_ping_ratio']}** "
                    f"| **{r['task_to_ping_cpu_ratio']}** | | | | |")
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--sizes", default="1,10,100,300")
    parser.add_argument("--forks", type=int, default=50)
    args = parser.parse_args()
    os.environ.setdefault("ANSIBLE_COLLECTIONS_PATH", str(ROOT / "build" / "collections"))
    results = []
    with tempfile.TemporaryDirectory(prefix="rdlab-bench-") as tmp:
        for size in [int(s) for s in args.sizes.split(",")]:
            print(f"bench: {size} hosts ...", flush=True)
            results.append(bench_size(size, args.forks, Path(tmp)))
    (ROOT / "build").mkdir(exist_ok=True)
    (ROOT / "build" / "bench.json").write_text(json.dumps(results, indent=2))
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
