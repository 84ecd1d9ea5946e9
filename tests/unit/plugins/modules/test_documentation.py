"""Each module's documented options (doc fragments merged, as ansible-doc shows them) equal the
argument spec its planner validates. validate-modules cannot check this: the modules are
documentation only, their code is the action plugin."""

import functools
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

COLLECTION = "ansible_collections.remote_desktop.licensing"
MODULES = ["cal_pack", "cal_usage", "issued_license", "license_server", "licensing_info", "preflight", "session_host"]
# What the documentation and the spec must agree on; an absent key means the ansible default.
KEYS = ("type", "default", "choices", "elements", "required")
DEFAULTS = {"type": "str", "default": None, "choices": None, "elements": None, "required": False}


@functools.lru_cache(maxsize=None)
def documented_options(module):
    """The options as ansible-doc shows them (it merges the doc fragments)."""
    collections = Path(__file__).resolve().parents[4] / "build" / "collections"
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.environ.get("ANSIBLE_COLLECTIONS_PATH", str(collections)))
    name = "remote_desktop.licensing.%s" % module
    run = subprocess.run([str(Path(sys.executable).parent / "ansible-doc"), "--json", "-t", "module", name],
                         capture_output=True, text=True, env=env, check=True)
    return json.loads(run.stdout)[name]["doc"]["options"]


def spec_of(module):
    action = importlib.import_module("%s.plugins.action.%s" % (COLLECTION, module)).ActionModule
    return action.PLANNER.ARGUMENT_SPEC


def normalised(options):
    """{name: {key: value}} of options and their suboptions, with ansible's defaults filled in."""
    result = {}
    for name, option in options.items():
        entry = dict((key, option.get(key, DEFAULTS[key])) for key in KEYS)
        if entry["choices"] is not None:
            entry["choices"] = sorted(entry["choices"])
        result[name] = entry
        sub = option.get("suboptions") or option.get("options")
        if sub:
            entry["suboptions"] = normalised(sub)
    return result


@pytest.mark.parametrize("module", MODULES)
def test_documented_options_equal_the_argument_spec(module):
    assert normalised(documented_options(module)) == normalised(spec_of(module))


def test_a_difference_is_found():
    """The comparison itself: an option documented with another default is a difference."""
    documented = normalised(documented_options("session_host"))
    spec = dict(spec_of("session_host"))
    spec["reboot_timeout"] = dict(spec["reboot_timeout"], default=1)
    assert documented != normalised(spec)
