# -*- coding: utf-8 -*-
# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY
# The interfaces in this file serve this collection's own plugins; they may change in any release,
# even a bugfix release. Do not import them from other collections or playbooks.
"""Waiting for a role's classes after an install, and rebooting a host, through the bridge.

A reboot uses CIM like everything else: Win32_OperatingSystem.Win32ShutdownTracker starts it (with a
delay so the answer gets back first) and LastBootUpTime tells when the host is back, so no raw
command is needed.
"""

from __future__ import annotations

import time

from ansible.errors import AnsibleError

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _bridge as bridge
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _wmi as wmi

POLL_SECONDS = 5
# Win32ShutdownTracker [W32 wmi] win32shutdowntracker-method-in-class-win32-operatingsystem:
# Flags 6 = reboot (2) + forced (4); `shutdown /r /t N` also forces when N > 0.
REBOOT_FLAGS = 6
REBOOT_DELAY = 2
# SHTDN_REASON_MAJOR_APPLICATION | SHTDN_REASON_MINOR_INSTALLATION | SHTDN_REASON_FLAG_PLANNED
# ([W32] system shutdown reason codes).
REBOOT_REASON = 0x80040002
SHUTDOWN_PRIVILEGE = "SeShutdownPrivilege"
# System Error Codes: 1115 ERROR_SHUTDOWN_IN_PROGRESS, 1190 ERROR_SHUTDOWN_IS_SCHEDULED. A restart is already
# coming (ansible.windows's reboot helper waits on 1115 too): wait for it instead of failing.
ALREADY_REBOOTING = (1115, 1190)
# The connection timeout while polling a host that is going down or coming up, as ansible.windows's
# reboot helper (its connect_timeout default, 5 s): a host that does not answer is tried again soon.
POLL_CONNECTION_TIMEOUT = 5


class HostTimeout(Exception):
    pass


def probe_batch(op_id, namespace, class_name, method):
    """A read-only call that succeeds once a class answers."""
    batch = bridge.Batch()
    batch.invoke(op_id, namespace, class_name, method, read_only=True)
    return batch


def wait_until_ready(action, task_vars, probe, timeout, sleep=time.sleep, clock=time.monotonic):
    """Repeat the probe batch until every operation succeeds, at most `timeout` seconds."""
    deadline = clock() + timeout
    while True:
        results = bridge.run(action, task_vars, probe)
        failed = [r for r in results if not r.ok]
        if not failed:
            return
        if clock() >= deadline:
            raise HostTimeout("%s still fails after %d seconds: %s" % (
                failed[0].operation.get("class"), timeout, failed[0].message()))
        sleep(POLL_SECONDS)


def boot_time(action, task_vars):
    batch = bridge.Batch()
    batch.get("boot", wmi.CIMV2, wmi.OS_CLASS, properties=["LastBootUpTime"])
    result = bridge.run(action, task_vars, batch)["boot"]
    if not result.ok or not result.instance:
        raise bridge.BridgeError("could not read the boot time: %s" % result.message())
    return result.instance.get("LastBootUpTime")


def reboot(action, task_vars, timeout, sleep=time.sleep, clock=time.monotonic):
    """Reboot the host and wait until it is back and answers a licensing read, as ansible.windows's reboot
    helper (plugin_utils/_reboot.py, behind win_reboot) does with its own commands: start the reboot, wait for
    a new boot time with a short connection timeout, restore the timeout, then wait until the host is ready.
    Each phase is reported at -vv. Returns the seconds it took (the task's `elapsed`)."""
    started = clock()
    deadline = started + timeout
    before = _start_reboot(action, task_vars)
    saved = _poll_timeout(action, POLL_CONNECTION_TIMEOUT)
    try:
        action._display.vv("reboot: waiting for a new boot time (was %s)" % before)
        _until(lambda: boot_time(action, task_vars) != before, action, deadline, timeout, sleep, clock,
               "the host did not come back from its reboot")
    finally:
        _poll_timeout(action, saved)
    action._display.vv("reboot: the host is back; waiting until it answers a licensing read")
    _until(lambda: _answers(action, task_vars), action, deadline, timeout, sleep, clock,
           "the host came back from its reboot but does not answer a licensing read")
    elapsed = clock() - started
    action._display.vv("reboot: done in %d seconds" % elapsed)
    return elapsed


def _start_reboot(action, task_vars):
    """Read the boot time and start the reboot in one round trip, with SeShutdownPrivilege enabled for the
    call ([W32 wmi] win32shutdowntracker Remarks: the caller must have SE_SHUTDOWN_NAME; Restart-Computer
    enables it before the same call). Returns the boot time before."""
    batch = bridge.Batch()
    batch.get("boot", wmi.CIMV2, wmi.OS_CLASS, properties=["LastBootUpTime"])
    batch.invoke("reboot", wmi.CIMV2, wmi.OS_CLASS, "Win32ShutdownTracker", instances=True, arguments={
        "Timeout": REBOOT_DELAY, "Comment": "Reboot by Ansible (remote_desktop.licensing)",
        "ReasonCode": REBOOT_REASON, "Flags": REBOOT_FLAGS}, privileges=[SHUTDOWN_PRIVILEGE])
    results = bridge.run(action, task_vars, batch)
    started = results["reboot"]
    if not started.ok and started.error.get("return_value") in ALREADY_REBOOTING:
        action._display.vv("reboot: Windows answered %d: a restart is already on its way; waiting for it"
                           % started.error["return_value"])
        action.result.setdefault("warnings", []).append(
            "A restart was already in progress or scheduled on the host (Win32ShutdownTracker returned %d), not "
            "started by this task: the task waited for it. If it was a shutdown, the host does not come back."
            % started.error["return_value"])
    elif not started.ok:
        raise bridge.BridgeError("could not start the reboot: %s" % started.message())
    action._display.vv("reboot: started")
    return (results["boot"].instance or {}).get("LastBootUpTime")


def _until(condition, action, deadline, timeout, sleep, clock, failure):
    """Poll `condition` every POLL_SECONDS, a new connection each time, until it holds or the deadline."""
    last_error = "no answer yet"
    while clock() < deadline:
        sleep(POLL_SECONDS)
        try:
            bridge.reset_connection(action)
            if condition():
                return
            last_error = "not yet"
        except bridge.HostUnreachable as e:
            if e.reason == "authentication":
                raise  # polling on would add a failed logon every few seconds
            last_error = str(e).splitlines()[0]
        except (AnsibleError, bridge.BridgeError) as e:  # down or coming up
            last_error = str(e).splitlines()[0] if str(e) else type(e).__name__
    raise HostTimeout("%s within %d seconds (last: %s)" % (failure, timeout, last_error))


def _answers(action, task_vars):
    """Win32_TerminalServiceSetting is on every Windows Server and its provider is the one licensing reads
    go through: once it answers, the host is ready for the module's next round trip."""
    batch = bridge.Batch()
    batch.get("ready", wmi.TS_NAMESPACE, wmi.TS_SETTING_CLASS, properties=["TerminalServerMode"])
    return bridge.run(action, task_vars, batch)["ready"].ok


def _poll_timeout(action, seconds):
    """Set the connection's connection_timeout (ansible's winrm and psrp connections have the option; their
    new connection after the reset takes it); returns the value before, None where there is none."""
    try:
        before = action._connection.get_option("connection_timeout")
    except KeyError:  # a connection without the option: leave it alone, as ansible.windows does
        return None
    if seconds is not None and seconds != before:
        action._connection.set_option("connection_timeout", seconds)
    return before
