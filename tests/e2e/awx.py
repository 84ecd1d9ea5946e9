"""AWX's way of running a job, for the tests: the private data directory it hands to ansible-runner, its
inventory script data (sliced as a sliced job template slices it), and how a workflow carries set_stats
artifacts to the next node. Each piece follows AWX's source (ansible/awx, cited per function); nothing here
imports AWX.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import yaml
from ansible_runner.utils import args2cmdline
from rdlab.testing import COLLECTIONS


class UnsafeStringDumper(yaml.SafeDumper):
    """AWX's SafeStringDumper (awx/main/utils/safe_yaml.py): every string is tagged !unsafe."""

    def represent_data(self, data):
        if isinstance(data, str):
            return self.represent_scalar("!unsafe", data)
        return super().represent_data(data)


def safe_dump(variables):
    """AWX's safe_dump without a safe_dict: one YAML document per top-level key, all strings unsafe."""
    return "".join(yaml.dump_all([{key: value}], None, Dumper=UnsafeStringDumper, default_flow_style=False)
                   for key, value in variables.items())


def write_private(path, text):
    path.write_text(text)
    os.chmod(path, stat.S_IRUSR)


def awx_inventory(lab_inventory):
    """The lab's inventory as AWX's inventory script data, without the credentials (they come from the
    Machine credential)."""
    source = yaml.safe_load(lab_inventory.read_text())["all"]
    connection = {key: value for key, value in source["vars"].items() if key not in ("ansible_user", "ansible_password")}
    # The windows group turns become on (runas); the account and its password come from the Machine credential.
    become = {key: value for key, value in (source["children"]["windows"].get("vars") or {}).items()
              if key not in ("ansible_become_user", "ansible_become_password")}
    groups, hostvars = {}, {}

    def walk(name, group):
        children = group.get("children", {})
        hosts = group.get("hosts", {}) or {}
        groups[name] = {"hosts": sorted(hosts), "children": sorted(children), "vars": {}}
        for host, variables in hosts.items():
            hostvars.setdefault(host, {"remote_tower_enabled": "true"}).update(variables or {})
        for child, data in children.items():
            walk(child, data)

    for name, group in source["children"].items():
        walk(name, group)
    groups["windows"]["vars"] = dict(connection, **become)
    groups["all"] = {"hosts": [], "children": sorted(source["children"]), "vars": {}}
    groups["_meta"] = {"hostvars": hostvars}
    return groups, source["vars"]["ansible_user"], source["vars"]["ansible_password"]


def become_args(user):
    """The Machine credential's privilege escalation (runas as the same account, playbooks/awx_setup.yml) on
    ansible-playbook's command line, as AWX's build_args writes it (awx/main/tasks/jobs.py): the method, the
    user, and a prompt for the password. The inventory's windows group turns become on (ansible_become): a
    template's privilege escalation (-b) would reach the tasks delegated to the controller too."""
    return ["--become-method", "runas", "--become-user", user, "--ask-become-pass"]


def slice_hosts(names, number, count):
    """AWX's slicing rule (awx/main/models/inventory.py, Inventory.get_sliced_hosts): the enabled hosts
    ordered by name, and slice `number` (1-based) of `count` takes every count-th host from offset number-1."""
    return sorted(names)[number - 1::count]


def sliced_inventory(data, number, count):
    """The inventory script data of one slice, as Inventory.get_script_data(slice_number, slice_count) writes
    it: groups keep only the slice's hosts (a group with no host left keeps its children and vars), hostvars
    only the slice's hosts. The hosts of other slices are nowhere in it."""
    hostvars = data["_meta"]["hostvars"]
    hosts = set(slice_hosts(hostvars, number, count))
    sliced = {"_meta": {"hostvars": {name: hostvars[name] for name in sorted(hosts)}}}
    for name, group in data.items():
        if name == "_meta":
            continue
        kept = dict(group, hosts=[host for host in group.get("hosts", []) if host in hosts])
        if name == "all" or kept["hosts"] or kept.get("children") or kept.get("vars"):
            sliced[name] = kept
    return sliced


def workflow_artifacts(runs):
    """The extra vars a workflow node gets from the node before it when that node is a sliced job: AWX's
    WorkflowJob.get_effective_artifacts (awx/main/models/workflow.py) updates one dict with each slice
    job's set_stats artifacts in the order the jobs finished (a top-level key of a later slice replaces
    the same key of an earlier one), and WorkflowJobNode.get_job_kwargs puts them in the extra vars."""
    carried = {}
    for run in runs:
        carried.update(artifacts(run))
    return carried


def artifacts(run):
    """The job's artifacts: the artifact_data of its playbook_on_stats event, which AWX's callback receiver
    (awx/main/tasks/callback.py) saves as Job.artifacts."""
    stats = [event for event in run.events if event["event"] == "playbook_on_stats"]
    assert len(stats) == 1, "the job has no playbook_on_stats event"
    return stats[0]["event_data"].get("artifact_data", {})


def meta_vars(job_id, template_name):
    """AWX's awx_meta_vars (awx/main/models/unified_jobs.py, jobs.py) for a job of a template."""
    return {"awx_job_id": job_id, "tower_job_id": job_id, "awx_job_launch_type": "workflow",
            "awx_job_template_id": 7, "awx_job_template_name": template_name, "awx_user_id": 1,
            "awx_user_name": "admin", "awx_inventory_id": 3, "awx_inventory_name": "Windows servers",
            "awx_project_revision": "0" * 40, "awx_execution_node": "localhost"}


def lay_out(private_data_dir: Path, job_id: int, playbook: str, inventory: dict, extra_vars: dict,
            machine: tuple[str, str] | None = None) -> dict:
    """The private data directory of one job as AWX's RunJob writes it (awx/main/tasks/jobs.py): project/,
    an executable inventory script, env/extravars (safe_dump), env/cmdline (the Machine credential's -u and
    --ask-pass), env/envvars and env/settings. Returns ansible_runner.run's arguments; the Machine password
    goes to runner as the answer to the password prompt, never to a file."""
    for folder in ("project", "inventory", "env", "cp"):
        (private_data_dir / folder).mkdir(parents=True, exist_ok=True)
    (private_data_dir / "project" / "main.yml").write_text(
        "---\n- name: %s\n  ansible.builtin.import_playbook: remote_desktop.licensing.%s\n" % (playbook, playbook))
    hosts = private_data_dir / "inventory" / "hosts"
    hosts.write_text("#! /usr/bin/env python3\n# -*- coding: utf-8 -*-\nprint(%r)\n" % json.dumps(inventory))
    os.chmod(hosts, stat.S_IRUSR | stat.S_IXUSR | stat.S_IWUSR)
    write_private(private_data_dir / "env" / "extravars", safe_dump(extra_vars))
    prompts = {r"Enter passphrase for .*:\s*?$": "", r"BECOME password.*:\s*?$": "", r"Vault password:\s*?$": ""}
    if machine:
        user, password = machine
        write_private(private_data_dir / "env" / "cmdline", args2cmdline("-u", user, "--ask-pass", *become_args(user)))
        prompts.update({r"SSH password:\s*?$": password, r"Password:\s*?$": password,
                        r"BECOME password.*:\s*?$": password})
    envvars = {
        "JOB_ID": str(job_id), "INVENTORY_ID": "3", "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "MAX_EVENT_RES": "700000", "AWX_PRIVATE_DATA_DIR": str(private_data_dir),
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(private_data_dir / "cp"),
        "ANSIBLE_COLLECTIONS_PATH": os.pathsep.join([str(private_data_dir / "requirements_collections"),
                                                     str(COLLECTIONS)]),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }
    (private_data_dir / "env" / "envvars").write_text(yaml.safe_dump(envvars))
    (private_data_dir / "env" / "settings").write_text(yaml.safe_dump(
        {"job_timeout": 0, "suppress_ansible_output": True, "suppress_output_file": False}))
    return {"private_data_dir": str(private_data_dir), "ident": str(job_id), "playbook": "main.yml",
            "inventory": str(hosts), "passwords": prompts, "suppress_env_files": True,
            "fact_cache_type": "", "quiet": True}
