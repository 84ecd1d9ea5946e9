"""Write the inventory.winrm ansible-test windows-integration reads, from a lab's hosts.yml.

Usage: python tools/integration-inventory.py LAB_HOSTS_YML OUTPUT [NAME=VALUE ...]
Every lab host goes into the [windows] group, with the lab's connection variables and the NAME=VALUE
test variables (the rds_test_* defaults of the targets) in [windows:vars].
"""

from __future__ import annotations

import os
import sys

import yaml  # PyYAML: ansible-core's own dependency


def hosts(group):
    found = dict(group.get("hosts") or {})
    for child in (group.get("children") or {}).values():
        found.update(hosts(child))
    return found


def main(source, output, *test_vars):
    with open(source) as f:
        inventory = yaml.safe_load(f)
    lines = ["[windows]"]
    for name, host in sorted(hosts(inventory["all"]).items()):
        lines.append("%s ansible_host=%s ansible_port=%s" % (name, host["ansible_host"], host["ansible_port"]))
    lines += ["", "[windows:vars]"]
    lines += ["%s=%s" % item for item in inventory["all"]["vars"].items()]
    lines += list(test_vars)
    with open(output, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.chmod(output, 0o600)  # it holds the lab's password


if __name__ == "__main__":
    main(*sys.argv[1:])
