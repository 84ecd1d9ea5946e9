"""Render the tasks of playbooks/awx_setup.yml as ansible-playbook would, without running them.

Usage: python render_awx_setup.py PLAYBOOK COLLECTIONS_PATH VARIABLES_JSON
Prints a JSON list of [task name, module, arguments], one per task and loop item, with the play's
variables overridden by VARIABLES_JSON (as -e would), loop items expanded and omitted options dropped.
`when` is not evaluated: the arguments of every task are rendered, the optional ones too.

It runs in a process of its own because Ansible's templating finds its lookups and filters through
the collection loader, which this installs the way the ansible-playbook command does; the unit tests'
own process imports the collections as plain packages (tests/unit/conftest.py).
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar
from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

try:  # ansible-core 2.19+: only strings marked trusted are templates, and omit drops the key itself
    from ansible.template import trust_as_template
except ImportError:  # older cores template every string and leave omit's placeholder in place
    trust_as_template = None

OMIT = "__omit_place_holder__render_awx_setup"


def trusted(data):
    """The playbook's strings, marked as templates the way ansible-core marks a playbook it loads."""
    if trust_as_template is None:
        return data
    if isinstance(data, str):
        return trust_as_template(data)
    if isinstance(data, list):
        return [trusted(item) for item in data]
    if isinstance(data, dict):
        return {key: trusted(value) for key, value in data.items()}
    return data


def drop_omitted(data):
    if isinstance(data, dict):
        return {key: drop_omitted(value) for key, value in data.items() if value != OMIT}
    if isinstance(data, list):
        return [drop_omitted(item) for item in data if item != OMIT]
    return data


def module_of(task):
    keys = [key for key in task if "." in key]
    if len(keys) != 1:
        sys.exit("task %r: give one module, by its FQCN" % task.get("name"))
    return keys[0]


def main(playbook, collections, overrides):
    _AnsibleCollectionFinder(paths=[collections])._install()
    loader = DataLoader()
    loader.set_basedir(str(Path(playbook).parent))

    def render(data, variables):
        if trust_as_template is None:
            variables = dict(variables, omit=OMIT)
        return drop_omitted(Templar(loader=loader, variables=variables).template(data))

    (play,) = yaml.safe_load(Path(playbook).read_text())
    play_vars = dict(trusted(play["vars"]), **overrides)
    rendered = []
    for task in play["tasks"]:
        module = module_of(task)
        task_vars = dict(play_vars, **trusted(task.get("vars", {})))
        items = render(trusted(task["loop"]), task_vars) if "loop" in task else [None]
        for item in items:
            item_vars = task_vars if item is None else dict(task_vars, item=item)
            rendered.append([task["name"], module, render(trusted(copy.deepcopy(task[module] or {})), item_vars)])
    variables = {key: render(value, play_vars) for key, value in play_vars.items()}
    json.dump({"tasks": rendered, "vars": variables}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]))
