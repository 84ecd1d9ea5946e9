"""Restarts through Win32_OperatingSystem.Win32ShutdownTracker, what waits for them, and the fleet
dropping connections while a host is down."""

import datetime as dt

import pytest
from test_model_helpers import LS, TS, invoke, one

from rdlab.cli import create_lab
from rdlab.fleet import Fleet
from rdlab.model.host import Host, new_host_state
from rdlab.model.power import HostDown
from rdlab.winrm.server import DropConnection

OS = {"namespace": "root/cimv2", "class": "Win32_OperatingSystem"}
SERVICE = {"namespace": "root/cimv2", "class": "Win32_Service", "filter": "Name = 'TermServLicensing'"}


def restart(host, timeout=0, flags=6, privileges=("SeShutdownPrivilege",)):
    args = {"Timeout": timeout, "Comment": "lab", "ReasonCode": 0, "Flags": flags}
    return one(host, invoke("Win32ShutdownTracker", OS, instances=True, arguments=args, privileges=list(privileges)))


def advance(host, seconds):
    host.state["clock_offset_days"] += seconds / 86400


def last_boot(host):
    return one(host, dict(OS, kind="cim_get", properties=["LastBootUpTime"]))["instances"][0]["LastBootUpTime"]


def test_restart_goes_down_after_the_timeout_and_comes_back():
    host = Host(new_host_state("srv"))
    before = last_boot(host)
    assert restart(host, timeout=10)["calls"] == [{"return_value": 0, "out": {}}]
    advance(host, 9)
    assert last_boot(host) == before  # still up: the timeout has not run out
    advance(host, 2)
    with pytest.raises(HostDown):
        last_boot(host)
    advance(host, 3)  # reboot_seconds defaults to 3
    booted = last_boot(host)
    expected = dt.datetime.fromisoformat(host.state["boot_time"]).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert booted == expected and booted > before
    assert host.state["reboot"] is None


def test_restart_duration_is_the_reboot_seconds_key():
    host = Host(new_host_state("srv"))
    host.state["reboot_seconds"] = 60
    restart(host, flags=2)
    advance(host, 59)
    with pytest.raises(HostDown):
        one(host, {"kind": "feature_install", "names": ["RDS-Licensing"]})
    advance(host, 2)
    assert one(host, {"kind": "feature_install", "names": ["RDS-Licensing"]})["ok"]


@pytest.mark.parametrize("flags", [0, 1, 4, 5, 8, 12])
def test_only_restarts_are_modelled(flags):
    host = Host(new_host_state("srv"))
    assert restart(host, flags=flags)["error"]["return_value"] == 0x8004100C  # NOT_SUPPORTED
    assert host.state["reboot"] is None


def test_a_restart_needs_the_shutdown_privilege_enabled_for_the_call():
    """[W32 wmi] Remarks: the caller must have SE_SHUTDOWN_NAME; without it, 1314 (ASSUMED)."""
    host = Host(new_host_state("srv"))
    assert restart(host, privileges=())["error"]["return_value"] == 1314  # ERROR_PRIVILEGE_NOT_HELD
    assert host.state["reboot"] is None
    assert restart(host)["ok"] and host.state["reboot"]
    assert not host.privileges_enabled  # enabled for that call only


def test_only_allowlisted_privileges_can_be_asked_for():
    host = Host(new_host_state("srv"))
    error = restart(host, privileges=("SeTcbPrivilege",))["error"]
    assert error == {"kind": "not_allowed",
                     "message": "the privilege(s) SeTcbPrivilege are not on the bridge's allowlist"}
    bad = one(host, invoke("Win32ShutdownTracker", OS, instances=True, privileges="SeShutdownPrivilege"))
    assert bad["error"] == {"kind": "invalid_operation", "message": "'privileges' must be a list"}


def test_a_second_restart_while_one_is_scheduled():
    host = Host(new_host_state("srv"))
    restart(host, timeout=30)
    assert restart(host, timeout=30)["error"]["return_value"] == 1115  # ERROR_SHUTDOWN_IN_PROGRESS


def test_win32shutdowntracker_is_an_instance_method():
    host = Host(new_host_state("srv"))
    error = one(host, invoke("Win32ShutdownTracker", OS, arguments={"Flags": 2}))["error"]
    assert error["hresult"] == 0x80041016


def test_session_host_takes_effect_after_the_restart():
    host = Host(new_host_state("srv"))
    installed = one(host, {"kind": "feature_install", "names": ["RDS-RD-Server"]})
    assert installed["restart_needed"] == "Yes" and host.state["pending_restart"]
    assert host.feature_install_state("RDS-RD-Server") == "InstallPending"
    read = dict(TS, kind="cim_get", properties=["TerminalServerMode", "LicensingType"])

    def mode_and_type():
        instance = one(host, read)["instances"][0]
        return instance["TerminalServerMode"], instance["LicensingType"]

    assert mode_and_type() == (0, 1)  # RemoteAdmin, Remote Desktop for Administration
    change = invoke("ChangeMode", TS, instances=True, arguments={"LicensingType": 4})
    assert one(host, change)["error"]["return_value"] == 0x8004100C
    restart(host)
    advance(host, 5)
    assert mode_and_type() == (1, 5)  # AppServer, not configured
    assert host.feature_install_state("RDS-RD-Server") == "Installed"
    assert not host.state["pending_restart"]
    assert one(host, change)["ok"]


def test_a_seeded_session_host_was_restarted_long_ago():
    host = Host(new_host_state("sh1", roles=("session_host",)))
    assert host.feature_install_state("RDS-RD-Server") == "Installed"
    assert host.feature_install_state("RDS-Licensing") == "Available"
    assert not host.state["pending_restart"]
    assert one(host, dict(TS, kind="cim_get"))["instances"][0]["TerminalServerMode"] == 1


def test_licensing_needs_no_restart():
    host = Host(new_host_state("srv"))
    one(host, {"kind": "feature_install", "names": ["RDS-Licensing"]})
    assert host.feature_install_state("RDS-Licensing") == "Installed"
    assert one(host, invoke("GetActivationStatus", LS))["ok"]


def test_a_restart_starts_automatic_services_only():
    host = Host(new_host_state("ls1", roles=("license_server",)))
    service = dict(SERVICE, kind="cim_get", properties=["State"])
    for mode, state in (("Manual", "Stopped"), ("Disabled", "Stopped"), ("Automatic", "Running")):
        one(host, invoke("ChangeStartMode", SERVICE, instances=True, arguments={"StartMode": mode}))
        restart(host)
        advance(host, 5)
        assert one(host, service)["instances"][0]["State"] == state, mode


# --- the fleet: every WinRM exchange drops while the host is down ------------------------------


@pytest.fixture
def fleet(tmp_path):
    spec = {"name": "sh1", "roles": ["session_host"], "os": "2022", "installation": "desktop", "domain": None,
            "address": "127.0.0.1"}
    create_lab(tmp_path, [spec], "http")
    return Fleet(tmp_path)


def test_the_fleet_drops_exchanges_while_the_host_restarts(fleet):
    with fleet.host("sh1") as model:
        model.state["reboot_seconds"] = 60
        restart(model, timeout=0)
    for action in ("Create", "Command", "Receive"):
        with pytest.raises(DropConnection):
            fleet.before_exchange("sh1", action)
    with fleet.host("sh1") as model:  # what `rdlab seed {"clock_offset_days": ...}` does
        model.state["clock_offset_days"] += 61 / 86400
    fleet.before_exchange("sh1", "Create")
    state = fleet.read_state("sh1")
    assert state["reboot"] is None and not state["pending_restart"]
