"""Restarts: what Win32_OperatingSystem.Win32ShutdownTracker starts and what a restart changes.

Source: [W32 wmi] win32shutdowntracker-method-in-class-win32-operatingsystem: the shutdown takes
place Timeout seconds after the call; Flags 2 = reboot, 6 = forced reboot (2 + 4); 0 = success.
How long a host then stays down is in no source: the host state key `reboot_seconds` (default 3,
ASSUMED) sets it. Timeline, in the host's clock (Host.now, so clock_offset_days moves it too):

    call ── Timeout ──> down_at ── reboot_seconds ──> up_at: new boot, pending restart cleared

While down, the fleet drops every WinRM exchange with the host (rdlab.fleet.before_exchange);
a model call that still reaches a down host (only possible in process) raises HostDown.
"""

from __future__ import annotations

import datetime as dt

DEFAULT_REBOOT_SECONDS = 3  # ASSUMED: no source gives a restart's duration
REBOOT_FLAGS = (2, 6)  # [W32 wmi] win32shutdowntracker: 2 reboot, 6 forced reboot
# System error code 1115 ERROR_SHUTDOWN_IN_PROGRESS: the method page sends callers to the System
# Error Codes for other results; that a second call answers this one is ASSUMED.
ERROR_SHUTDOWN_IN_PROGRESS = 1115


class HostDown(Exception):
    """The host is restarting and answers nothing. Not a WbemError: no Windows answer exists."""


def schedule(host, timeout: int, comment: str | None, reason: int | None) -> int:
    """Win32ShutdownTracker with a reboot flag: the host goes down `timeout` seconds from now."""
    if host.state.get("reboot"):
        return ERROR_SHUTDOWN_IN_PROGRESS
    down_at = host.now() + dt.timedelta(seconds=timeout or 0)
    seconds = host.state.get("reboot_seconds", DEFAULT_REBOOT_SECONDS)
    host.state["reboot"] = {
        "down_at": down_at.isoformat(),
        "up_at": (down_at + dt.timedelta(seconds=float(seconds))).isoformat(),
        "comment": comment, "reason_code": reason,  # kept for `rdlab show`; Windows logs them
    }
    return 0


def is_down(host) -> bool:
    """Whether the host is down now. A restart whose time is over is completed first."""
    reboot = host.state.get("reboot")
    if not reboot:
        return False
    now = host.now()
    if now >= dt.datetime.fromisoformat(reboot["up_at"]):
        _come_back(host, reboot["up_at"])
        return False
    return now >= dt.datetime.fromisoformat(reboot["down_at"])


def check_up(host) -> None:
    if is_down(host):
        raise HostDown(f"{host.name} is restarting; the lab drops connections to it until it is back")


def complete_pending_installs(host) -> None:
    """What a restart finishes: features waiting for it take effect; nothing is pending any more."""
    host.state["install_pending"] = []
    host.state["uninstall_pending"] = []
    host.state["pending_restart"] = False
    host.state["services"].update(host.state.pop("services_after_restart", None) or {})


def _come_back(host, up_at: str) -> None:
    host.state["reboot"] = None
    host.state["boot_time"] = up_at  # Win32_OperatingSystem.LastBootUpTime reads it
    complete_pending_installs(host)
    for service in host.state["services"].values():
        # [W32 wmi] win32-service StartMode: Auto services are started by the service control
        # manager during system startup; Manual and Disabled ones are not.
        service["state"] = "Running" if service["start_mode"] == "Auto" else "Stopped"
