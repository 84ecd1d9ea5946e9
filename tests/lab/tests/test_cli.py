"""The rdlab command line as a user meets it: piped into head, and the inventory it writes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from rdlab.cli import create_lab, parse_host_spec, write_inventory

LAB_ROOT = Path(__file__).resolve().parents[1]


def test_show_piped_into_head_ends_quietly(tmp_path):
    create_lab(tmp_path, [parse_host_spec("sh1:session_host")], "http")
    env = dict(os.environ, PYTHONPATH=str(LAB_ROOT))
    run = subprocess.run(f"'{sys.executable}' -m rdlab show sh1 --dir '{tmp_path}' | head -1", shell=True,
                         capture_output=True, text=True, env=env, check=False)
    assert run.stdout == "{\n"
    assert run.stderr == ""  # no BrokenPipeError traceback


def test_the_inventory_is_yaml_a_person_can_read(tmp_path):
    create_lab(tmp_path, [parse_host_spec("ls1:license_server"), parse_host_spec("sh1:session_host")], "http")
    text = write_inventory(tmp_path).read_text()
    assert text.startswith("# Written by rdlab")
    # Block style only: the braces left are the become variables' templates.
    assert "{" not in text.replace("{{ ", "").replace(" }}", "") and "all:\n  vars:\n    ansible_connection: winrm\n" in text
    inventory = yaml.safe_load(text)
    # become (runas) as the same account, as docs/troubleshooting.md tells users for the second hop.
    assert not [k for k in inventory["all"]["vars"] if "become" in k]  # not for tasks delegated to the controller
    assert inventory["all"]["children"]["windows"]["vars"] == {
        "ansible_become": True, "ansible_become_method": "runas", "ansible_become_user": "{{ ansible_user }}",
        "ansible_become_password": "{{ ansible_password }}"}
    assert sorted(inventory["all"]["children"]["windows"]["children"]) == ["license_servers", "session_hosts"]
