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

from ansible.errors import AnsibleConnectionFailure, AnsibleError

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
    """Reboot the host and wait until it answers with a new boot time. Returns the seconds it took."""
    started = clock()
    batch = bridge.Batch()
    batch.get("boot", wmi.CIMV2, wmi.OS_CLASS, properties=["LastBootUpTime"])
    batch.invoke("reboot", wmi.CIMV2, wmi.OS_CLASS, "Win32ShutdownTracker", instances=True, arguments={
        "Timeout": REBOOT_DELAY, "Comment": "Reboot by Ansible (remote_desktop.licensing)",
        "ReasonCode": REBOOT_REASON, "Flags": REBOOT_FLAGS})
    results = bridge.run(action, task_vars, batch)
    if not results["reboot"].ok:
        raise bridge.BridgeError("could not start the reboot: %s" % results["reboot"].message())
    before = (results["boot"].instance or {}).get("LastBootUpTime")
    last_error = "it kept its old boot time"
    while clock() - started < timeout:
        sleep(POLL_SECONDS)
        try:
            _reset(action)
            if boot_time(action, task_vars) != before:
                return clock() - started
        except bridge.HostUnreachable as e:
            if e.reason == "authentication":
                raise  # polling on would add a failed logon every few seconds
            last_error = str(e).splitlines()[0]
        except (AnsibleError, bridge.BridgeError) as e:  # down or coming up
            last_error = str(e).splitlines()[0] if str(e) else type(e).__name__
    raise HostTimeout("the host did not come back from its reboot within %d seconds (last: %s)"
                      % (timeout, last_error))


def _reset(action):
    """A rebooted host has forgotten the WinRM shell: start a new connection."""
    try:
        action._connection.reset()
    except (AnsibleConnectionFailure, AnsibleError):
        action._connection.close()
