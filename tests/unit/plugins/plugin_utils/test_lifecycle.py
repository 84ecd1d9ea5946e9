"""The reboot (issue 11): SeShutdownPrivilege enabled for the call, 1115 and 1190 waited for, the connection
timeout lowered while polling and restored, the wait for a licensing read after the new boot time, -vv phases
and the elapsed time. A scripted host and an injected clock: nothing waits."""

from unittest import mock

import pytest
from ansible.errors import AnsibleConnectionFailure

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _bridge as bridge
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _lifecycle as lifecycle


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


class ScriptedHost:
    """Answers the reboot's batches by the clock: down from `down_at` to `up_at`, ready from `ready_at`."""

    def __init__(self, clock, answer=0, down_after=2, down_for=20, unready_for=10):
        self.clock, self.answer = clock, answer
        self.down_after, self.down_for, self.unready_for = down_after, down_for, unready_for
        self.boot, self.down_at, self.batches = "2026-12-01T08:00:00Z", None, []

    def run(self, action, task_vars, batch, stop_on_error=False):
        self.batches.append(batch.operations)
        now = self.clock()
        if self.down_at is not None and self.down_at <= now < self.down_at + self.down_for:
            raise AnsibleConnectionFailure("winrm connection error: connection refused")
        if self.down_at is not None and now >= self.down_at + self.down_for:
            self.boot = "2026-12-01T09:00:00Z"
        return bridge.BatchResult(batch, [self.answer_op(op, now) for op in batch.operations])

    def answer_op(self, op, now):
        if op.get("method") == "Win32ShutdownTracker":
            if self.answer:
                return {"ok": False, "error": {"kind": "return_value", "return_value": self.answer, "out": {}}}
            self.down_at = now + self.down_after
            return {"ok": True, "return_value": 0, "out": {}}
        if op["class"] == "Win32_OperatingSystem":
            return {"ok": True, "instances": [{"LastBootUpTime": self.boot}]}
        ready = self.down_at is not None and now >= self.down_at + self.down_for + self.unready_for
        return {"ok": True, "instances": [{}]} if ready else \
            {"ok": False, "error": {"kind": "cim_error", "message": "provider not loaded", "hresult": 0x80041001}}


@pytest.fixture
def clock():
    return Clock()


def action_for(timeout_option=30):
    action = mock.MagicMock()
    action.result = {}
    options = {} if timeout_option is None else {"connection_timeout": timeout_option}

    def get_option(name):
        return options[name]

    action._connection.get_option.side_effect = get_option
    action._connection.set_option.side_effect = options.__setitem__
    action.options = options
    return action


def reboot(action, host, clock, timeout=600):
    with mock.patch.object(bridge, "run", host.run):
        return lifecycle.reboot(action, {}, timeout, sleep=clock.sleep, clock=clock)


def vv_lines(action):
    return [c.args[0] for c in action._display.vv.call_args_list]


def test_a_reboot_enables_the_privilege_waits_for_the_boot_time_then_for_a_licensing_read(clock):
    action, host = action_for(), ScriptedHost(clock)
    elapsed = reboot(action, host, clock)
    start = next(op for op in host.batches[0] if op["id"] == "reboot")
    assert start["privileges"] == ["SeShutdownPrivilege"] and start["arguments"]["Flags"] == 6
    # down at 2 s, back at 22 s (polled at 25 s), ready at 32 s (polled at 35 s)
    assert elapsed == 35
    assert vv_lines(action) == [
        "reboot: started", "reboot: waiting for a new boot time (was 2026-12-01T08:00:00Z)",
        "reboot: the host is back; waiting until it answers a licensing read", "reboot: done in 35 seconds"]
    assert action.result == {}  # no warning


def test_the_connection_timeout_is_lowered_while_the_host_is_down_and_restored(clock):
    action, host = action_for(timeout_option=30), ScriptedHost(clock)
    reboot(action, host, clock)
    assert [c.args for c in action._connection.set_option.call_args_list] == [
        ("connection_timeout", 5), ("connection_timeout", 30)]
    assert action.options["connection_timeout"] == 30


def test_a_connection_without_the_timeout_option_is_left_alone(clock):
    action, host = action_for(timeout_option=None), ScriptedHost(clock)
    reboot(action, host, clock)
    action._connection.set_option.assert_not_called()


@pytest.mark.parametrize("code", [1115, 1190])
def test_a_restart_already_on_its_way_is_waited_for_with_a_warning(clock, code):
    action, host = action_for(), ScriptedHost(clock, answer=code)
    host.down_at = 1  # someone else's restart
    reboot(action, host, clock)
    assert "Win32ShutdownTracker returned %d" % code in action.result["warnings"][0]
    assert "a restart is already on its way" in vv_lines(action)[0]


def test_a_refused_reboot_fails_with_windows_answer(clock):
    action, host = action_for(), ScriptedHost(clock, answer=1314)
    with pytest.raises(bridge.BridgeError, match="could not start the reboot: .*1314"):
        reboot(action, host, clock)


def test_a_host_that_never_comes_back_times_out_naming_the_phase(clock):
    action, host = action_for(), ScriptedHost(clock, down_for=10 ** 6)
    with pytest.raises(lifecycle.HostTimeout, match=r"did not come back from its reboot within 60 seconds "
                                                    r"\(last: winrm connection error"):
        reboot(action, host, clock, timeout=60)
    assert action.options["connection_timeout"] == 30  # restored even so


def test_a_host_back_but_not_answering_times_out_naming_the_read(clock):
    action, host = action_for(), ScriptedHost(clock, unready_for=10 ** 6)
    with pytest.raises(lifecycle.HostTimeout, match="does not answer a licensing read within 60 seconds"):
        reboot(action, host, clock, timeout=60)
