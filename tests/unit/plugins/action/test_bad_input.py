"""Property: any input to any module ends in a clear message naming an option, before any host call,
or is valid and reaches the host. Never a traceback."""

import importlib
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

MODULES = ["license_server", "cal_pack", "session_host", "licensing_info"]
SECRETS = ("license_code", "license_number", "authorization_number", "agreement_number", "key_pack_id",
           "license_server_id")


def action_for(name, args):
    module = importlib.import_module("ansible_collections.remote_desktop.licensing.plugins.action.%s" % name)
    task = mock.MagicMock(args=args, action="remote_desktop.licensing.%s" % name, check_mode=False, diff=False,
                          async_val=0)
    action = module.ActionModule(task, mock.MagicMock(), mock.MagicMock(), loader=None, templar=None,
                                 shared_loader_obj=None)
    calls = []

    def host(**kwargs):
        calls.append(kwargs)
        return {"failed": True, "msg": "the host was called"}

    action._execute_module = host
    return action, calls


def spec_of(name):
    return importlib.import_module("ansible_collections.remote_desktop.licensing.plugins.action.%s" % name) \
        .ActionModule.PLANNER.ARGUMENT_SPEC


def value_for(option_spec):
    """Values of every kind, the option's own choices among them."""
    kinds = [st.none(), st.booleans(), st.integers(min_value=-10, max_value=2 ** 40), st.text(max_size=40),
             st.lists(st.text(max_size=10), max_size=3), st.dictionaries(st.text(max_size=8), st.text(max_size=8),
                                                                         max_size=2),
             st.sampled_from(["A" * 25, "1234567", "12345678", "B" * 15, "C" * 35, "2022", "per_user"])]
    if option_spec.get("choices"):
        kinds.append(st.sampled_from(option_spec["choices"]))
    return st.one_of(kinds)


def args_for(name):
    spec = spec_of(name)
    options = st.fixed_dictionaries({}, optional=dict((k, value_for(v)) for k, v in spec.items()))
    unknown = st.dictionaries(st.sampled_from(["bogus", "Mode", "state_x"]), st.text(max_size=5), max_size=1)
    return st.tuples(options, unknown).map(lambda pair: dict(pair[0], **pair[1]))


@pytest.mark.parametrize("name", MODULES)
def test_any_input_fails_clearly_or_reaches_the_host(name):
    spec = spec_of(name)

    @settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(args_for(name))
    def check(args):
        action, calls = action_for(name, dict(args))
        result = action.run(task_vars={})
        assert result.get("failed") is True  # the fake host always fails
        message = result["msg"]
        if calls:
            assert message == "The host bridge module failed: the host was called"
            assert len(calls) == 1  # validation passed: the read is the first and only call
        else:
            assert message.startswith("Invalid options for remote_desktop.licensing.%s: " % name), message
            assert any(option in message for option in list(spec) + ["bogus", "Mode", "state_x"]), message
        public = [str(v) for k, v in args.items() if k not in SECRETS] + [repr(spec)]
        for option in SECRETS:
            value = args.get(option)
            if isinstance(value, str) and len(value) >= 6 and not any(value in text for text in public):
                assert value not in message  # a secret is never echoed

    check()


@pytest.mark.parametrize("value", ["inf", "-Infinity", "nan"])
def test_values_that_crash_ansibles_int_check_are_named(value):
    action, calls = action_for("license_server", {"ready_timeout": value})
    result = action.run(task_vars={})
    assert calls == []
    assert result["msg"].startswith("Invalid options for remote_desktop.licensing.license_server: argument "
                                    "'ready_timeout'"), result["msg"]
