"""make bench: the collection's cost on fleets of 1, 10, 100, 300 and 1,000 lab hosts.

For each size (one license server per 50 session hosts; a single host is both), against a fresh
simulated lab and with the same forks throughout:
  - site.yml, first converge and no-change converge;
  - one no-change module task (session_host) and one win_ping task over the same session hosts.
Then, on the largest fleet, the no-change converge again as --slices jobs run one after the other, each
with the inventory of one slice as AWX's job slicing cuts it (docs/awx_slicing.md): the cost of one slice.
Each run is measured as wall time, controller CPU time (user + system of ansible and every worker),
peak controller memory (the largest process), and, from the lab's transcript, WinRM commands and
bytes sent per host. The table goes to stdout and build/bench.json; docs/performance.md explains it.

Then cal_usage on one license server whose report lists --cal-usage Per User CALs (10,000): a run that
generates the report and one that reuses it, with the bytes the host returned.

    python tools/bench.py [--sizes 1,10,100,300,1000] [--forks 50] [--slices 4] [--cal-usage 10000]
    python tools/bench.py --sizes= --cal-usage 10000     # the cal_usage row alone
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


def slice_hosts(names: list[str], number: int, count: int) -> list[str]:
    """AWX's slicing rule (awx/main/models/inventory.py, Inventory.get_sliced_hosts): the hosts ordered by
    name, slice `number` (1-based) of `count` takes every count-th host from offset number-1."""
    return sorted(names)[number - 1::count]


def write_slice_inventory(lab: Lab, number: int, count: int, path: Path) -> list[str]:
    """The lab's inventory with the hosts of one slice only, as AWX's inventory script gives a slice job
    (Inventory.get_script_data): every group keeps the slice's hosts and its variables."""
    inventory = json.loads(lab.inventory.read_text().split("\n", 1)[1])
    groups = inventory["all"]["children"]["windows"]["children"]
    names = [host for group in groups.values() for host in group.get("hosts") or {}]
    kept = set(slice_hosts(names, number, count))
    for group in groups.values():
        group["hosts"] = {name: v for name, v in (group.get("hosts") or {}).items() if name in kept}
    path.write_text(json.dumps(inventory))
    return sorted(kept)


def lab_cpu(lab: Lab) -> float:
    """CPU seconds the lab's server process has used (Linux /proc): the simulated hosts' work."""
    pid = int((lab.dir / "lab.pid").read_text())
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def measure(lab: Lab, playbook: Path, forks: int, extra: list[str], inventory: Path | None = None) -> dict:
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
                              "-i", str(inventory or lab.inventory), str(playbook), "-f", str(forks), *extra],
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


def bench_slices(lab: Lab, size: int, forks: int, slices: int, workdir: Path) -> list[dict]:
    """The no-change converge of the fleet as `slices` jobs in sequence, one per AWX slice. A slice holds only
    its own hosts, so the session hosts name their license servers (the list the whole fleet derives from
    the license_servers group), as a sliced site job must (rds_sliced_job, docs/awx_slicing.md)."""
    servers = [spec.split(":", maxsplit=1)[0] for spec in host_specs(size) if "groups=license_servers" in spec]
    extra = ["-e", f"@{DEMO_VARS}", "-e", json.dumps({"rds_sliced_job": True,
                                                      "session_host_license_servers": servers})]
    runs = []
    for number in range(1, slices + 1):
        inventory = workdir / f"slice-{number}.json"
        hosts = write_slice_inventory(lab, number, slices, inventory)
        run = measure(lab, ROOT / "playbooks" / "site.yml", forks, extra, inventory)
        if run["changed"]:
            raise SystemExit(f"slice {number}/{slices} of the converged fleet changed something")
        runs.append(dict(run, slice=number, hosts=len(hosts)))
        progress(f"{size} hosts, no change converge, slice {number}/{slices}", run)
    return runs


def progress(what: str, run: dict) -> None:
    """A line per run as it ends, so that a long benchmark shows where it is and what it has measured."""
    print(f"bench: {what}: {json.dumps(run)}", flush=True)


def bench_size(size: int, forks: int, workdir: Path, slices: int = 0) -> dict:
    lab = start_lab(workdir / f"lab-{size}", *host_specs(size))
    try:
        site = ROOT / "playbooks" / "site.yml"
        extra = ["-e", f"@{DEMO_VARS}"]
        single = workdir / "single.yml"
        single.write_text(json.dumps(SESSION_HOST_TASK))
        ping = workdir / "ping.yml"
        ping.write_text(json.dumps(WIN_PING_TASK))
        result = {"size": size, "forks": forks}
        for run, playbook, run_extra in (("first_converge", site, extra), ("no_change_converge", site, extra),
                                         ("no_change_task", single, []), ("win_ping_task", ping, [])):
            result[run] = measure(lab, playbook, forks, run_extra)
            progress(f"{size} hosts, {run}", result[run])
            if run == "no_change_converge" and slices > 1:  # on the converged fleet, before the single tasks
                result["sliced_no_change_converge"] = bench_slices(lab, size, forks, slices, workdir)
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
        rows += slice_rows(r)
    return "\n".join(rows)


def slice_rows(r: dict) -> list[str]:
    """One row per slice of the sliced no-change converge, and the slices together."""
    runs = r.get("sliced_no_change_converge") or []
    rows = []
    for m in runs:
        rows.append(f"| {r['size']} | no change converge, slice {m['slice']}/{len(runs)} ({m['hosts']} hosts) "
                    f"| {m['wall_s']} | {m['cpu_s']} | {m['peak_rss_mb']} | {m['lab_cpu_s']} "
                    f"| {m['commands_per_host']} | {m['bytes_per_host'] / 1024:.0f} |")
    if runs:
        total = {key: round(sum(m[key] for m in runs), 2) for key in ("wall_s", "cpu_s", "lab_cpu_s")}
        rows.append(f"| {r['size']} | **no change converge, {len(runs)} slices in sequence** | **{total['wall_s']}** "
                    f"| **{total['cpu_s']}** | **{max(m['peak_rss_mb'] for m in runs)}** | {total['lab_cpu_s']} | | |")
    return rows


CAL_USAGE_SETUP = [{"name": "A license server with Per User CALs", "hosts": "ls1", "gather_facts": False, "tasks": [
    {"name": "Activated", "remote_desktop.licensing.license_server": {"activation": "activated", "contact": {
        "first_name": "Ada", "last_name": "Lovelace", "company": "Example Ltd", "country_region": "United Kingdom"}}},
    {"name": "Per User CALs", "remote_desktop.licensing.cal_pack": {
        "program": "enterprise_agreement", "agreement_number": "7654321", "product_version": "2022",
        "license_type": "per_user", "count": 10000, "marker_key": "bench-cal-usage-marker-key"}}]}]


def cal_usage_play(args: dict) -> list[dict]:
    return [{"name": "CAL usage", "hosts": "ls1", "gather_facts": False, "tasks": [
        {"name": "cal_usage", "remote_desktop.licensing.cal_usage": args}]}]


def bench_cal_usage(users: int, workdir: Path) -> dict:
    """cal_usage on one license server whose report lists `users` Per User CALs: a run that generates the report
    and reads it, then one that reuses it; each with the bytes the host returned (the report's pages)."""
    lab = start_lab(workdir / "lab-cal-usage", "ls1:license_server:domain=corp.example.com")
    try:
        setup = workdir / "cal-usage-setup.yml"
        setup.write_text(json.dumps(CAL_USAGE_SETUP))
        measure(lab, setup, 1, [])
        lab.rdlab("use", "ls1", "--user", "CORP\\user", "--version", "2022", "--count", str(users))
        result = {"users": users}
        for run, args in (("generate", {"max_age": "0", "keep": 1}), ("reuse", {"max_age": "1d", "keep": 1})):
            play = workdir / f"cal-usage-{run}.yml"
            play.write_text(json.dumps(cal_usage_play(args)))
            before = len(lab.transcript())
            result[run] = measure(lab, play, 1, [])
            commands = [line for line in lab.transcript()[before:] if line["kind"] == "command"]
            result[run]["bytes_received"] = sum(c.get("stdout_bytes", 0) for c in commands)
            progress(f"cal_usage, {users} Per User entries, {run}", result[run])
        return result
    finally:
        lab.rdlab("stop")


def cal_usage_table(result: dict) -> str:
    rows = ["| Per User entries | run | wall s | controller CPU s | peak MB | lab CPU s | round trips | KB sent | "
            "KB received |", "|---|---|---|---|---|---|---|---|---|"]
    for run in ("generate", "reuse"):
        m = result[run]
        rows.append(f"| {result['users']} | {run} | {m['wall_s']} | {m['cpu_s']} | {m['peak_rss_mb']} | {m['lab_cpu_s']} "
                    f"| {m['commands_per_host']:.0f} | {m['bytes_per_host'] / 1024:.0f} | {m['bytes_received'] / 1024:.0f} |")
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--sizes", default="1,10,100,300,1000")
    parser.add_argument("--forks", type=int, default=50)
    parser.add_argument("--slices", type=int, default=4,
                        help="run the largest fleet's no-change converge again as this many AWX slices (0: not)")
    parser.add_argument("--cal-usage", type=int, default=10000,
                        help="Per User entries of the cal_usage run (0: not run); --sizes= runs it alone")
    args = parser.parse_args()
    os.environ.setdefault("ANSIBLE_COLLECTIONS_PATH", str(ROOT / "build" / "collections"))
    results = []
    with tempfile.TemporaryDirectory(prefix="rdlab-bench-") as tmp:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
        for size in sizes:
            print(f"bench: {size} hosts ...", flush=True)
            results.append(bench_size(size, args.forks, Path(tmp), args.slices if size == max(sizes) else 0))
            (ROOT / "build").mkdir(exist_ok=True)
            (ROOT / "build" / "bench.json").write_text(json.dumps(results, indent=2))
        usage = bench_cal_usage(args.cal_usage, Path(tmp)) if args.cal_usage else None
    if results:
        print(table(results))
    if usage:
        (ROOT / "build").mkdir(exist_ok=True)
        (ROOT / "build" / "bench-cal-usage.json").write_text(json.dumps(usage, indent=2))
        print(cal_usage_table(usage))
    return 0


if __name__ == "__main__":
    sys.exit(main())
