"""Property: CIM names are case-insensitive (DMTF DSP0004; PowerShell ignores case), so a host that answers
with every property and out-parameter name in another case gets exactly the same module result.

Each module runs in process against a lab host (tests/lab/rdlab, its bridge executor in place of the WinRM
round trip); the scrambled run differs from the plain one only in the case of every name in every bridge
result."""

import copy
import importlib
import random as stdlib_random
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rdlab.model.host import Host, new_host_state
from rdlab.modules import host_bridge as lab_bridge

SOURCE = (Path(__file__).resolve().parents[4] / "plugins/modules/host_bridge.ps1").read_text()
CONTACT = {"first_name": "Ada", "last_name": "Lovelace", "company": "Example", "country_region": "Denmark"}
DOMAIN = "corp.example.com"


def _license_server(activated):
    state = new_host_state("ls1", roles=("license_server",), domain=DOMAIN)
    if activated:
        state["license_server"].update(activation_status=0, license_server_id="LSID" + "0" * 31)
    return state


def _session_host():
    state = new_host_state("sh1", roles=("session_host",), domain=DOMAIN)
    state["session_host"]["specified_servers"] = ["ls1." + DOMAIN]
    return state


# (module, arguments, host state): each reads the host, and most change it.
SCENARIOS = [
    ("licensing_info", {}, lambda: _license_server(True)),
    ("licensing_info", {"check_connectivity": True}, _session_host),
    ("session_host", {"mode": "per_user", "license_servers": ["ls2." + DOMAIN]}, _session_host),
    ("license_server", {"contact": CONTACT, "activation": "activated", "scope": "domain"},
     lambda: _license_server(False)),
    ("cal_pack", {"program": "retail", "license_code": "ABCDE" * 4 + "AB" + "612",
                  "marker_key": "case-insensitive-test-marker-key"}, lambda: _license_server(True)),
]


def scramble(result, random):
    """The bridge result with every CIM name (instance properties, out parameters) in a random case."""
    def names(value):
        if isinstance(value, dict):
            return dict((_case(k, random), names(v)) for k, v in value.items())
        if isinstance(value, list):
            return [names(v) for v in value]
        return value

    scrambled = copy.deepcopy(result)
    for op in scrambled.get("results", []):
        for key in ("instances", "out", "calls"):
            if key in op:
                op[key] = names(op[key]) if key != "calls" else [dict(c, out=names(c["out"])) for c in op[key]]
        if isinstance(op.get("error"), dict) and "out" in op["error"]:
            op["error"]["out"] = names(op["error"]["out"])
    return scrambled


def _case(name, random):
    return "".join(c.upper() if random.random() < 0.5 else c.lower() for c in name)


def run_module(name, args, state, random=None):
    host = Host(copy.deepcopy(state))
    # cal_pack names its lock and pending values with a random nonce: a fixed one keeps the runs comparable.
    nonce = mock.patch("ansible_collections.remote_desktop.licensing.plugins.plugin_utils._cal_pack.new_nonce",
                       return_value="0123456789abcdef")
    with nonce:
        return _run(name, args, host, random)


def _run(name, args, host, random):
    module = importlib.import_module("ansible_collections.remote_desktop.licensing.plugins.action.%s" % name)
    task = mock.MagicMock(args=copy.deepcopy(args), action="remote_desktop.licensing.%s" % name, check_mode=False,
                          diff=True, async_val=0)
    action = module.ActionModule(task, mock.MagicMock(), mock.MagicMock(), loader=None, templar=None,
                                 shared_loader_obj=None)

    def execute(module_name, module_args, task_vars, wrap_async):
        result = lab_bridge.run(host, copy.deepcopy(module_args), SOURCE)
        return scramble(result, random) if random is not None else result

    action._execute_module = execute
    return action.run(task_vars={}), host.state


@pytest.mark.parametrize("name, args, state", SCENARIOS, ids=[s[0] + "-" + str(i) for i, s in enumerate(SCENARIOS)])
def test_every_module_reads_names_in_any_case(name, args, state):
    initial = state()
    expected, expected_state = run_module(name, args, initial)
    assert not expected.get("failed"), expected

    @settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.integers(min_value=0, max_value=2 ** 32))
    def check(seed):
        result, host_state = run_module(name, args, initial, stdlib_random.Random(seed))
        assert result == expected
        assert host_state == expected_state

    check()


def test_a_scrambled_result_really_differs_in_case():
    raw = {"results": [{"ok": True, "out": {"TStoLSConnectivityStatus": 11}, "instances": [{"KeyPackId": 3}]}]}
    scrambled = scramble(raw, stdlib_random.Random(4))
    assert [k.lower() for k in scrambled["results"][0]["out"]] == ["tstolsconnectivitystatus"]
    assert list(scrambled["results"][0]["out"]) != ["TStoLSConnectivityStatus"]
