"""The paths users walk around the happy one (issue 12): misconfiguration, unreachable hosts and changes of
mind, each walked as a user walked it, through ansible's winrm connection and the lab."""

from __future__ import annotations

import pytest

from .support import ModuleLab, plan_actions

DOMAIN = "corp.example.com"
LS1 = f"ls1.{DOMAIN}"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = ModuleLab.start(
        tmp_path_factory,
        f"ls1:license_server:domain={DOMAIN}",
        f"conn:session_host:domain={DOMAIN}",      # reached with the wrong settings
    )
    lab.seed("ls1", {"license_server": {"activation_status": 0, "license_server_id": "LSID" + "0" * 31}})
    yield lab
    lab.stop()


def failed_logons(lab, host) -> int:
    """Security event 4625 ("An account failed to log on") on the host: what a lockout policy counts."""
    return len([e for e in lab.state(host).get("security_log", []) if e["event_id"] == 4625])


# --- 2. connection problems are UNREACHABLE, in words, and a refused password is tried once ---------------

def test_a_wrong_password_is_unreachable_and_tried_exactly_once(lab):
    before = failed_logons(lab, "conn")
    run = lab.tasks("conn", ("session_host", {"mode": "per_device", "license_servers": [LS1]}),
                    extra=("-e", "ansible_password=wrong-Passw0rd"))
    result = run.result()
    assert run.statuses() == ["unreachable"] and run.rc != 0
    assert run.recap()["conn"]["unreachable"] == 1 and run.recap()["conn"]["failed"] == 0
    assert result["msg"] == (
        "Authentication as Administrator (ansible_user) was rejected by conn (127.0.0.1): check ansible_user and "
        "ansible_password, and that the account may log on over WinRM. Not retried: each attempt with a wrong "
        "password counts towards an account lockout policy.")
    assert result["connection_error"] == "ntlm: the specified credentials were rejected by the server"
    assert failed_logons(lab, "conn") == before + 1
    assert run.commands("conn") == []


@pytest.mark.parametrize("setting, words", [
    (("ansible_port=1",), "Nothing listens on port 1 of conn (127.0.0.1) (connection refused): check ansible_port"),
    (("ansible_winrm_scheme=https",), "failed (ansible_winrm_scheme: https): the listener on that port may speak HTTP"),
    (("ansible_winrm_message_encryption=never",),
     "The WinRM service on conn (127.0.0.1) refused an unencrypted message over HTTP (its AllowUnencrypted setting"),
])
def test_a_wrong_connection_setting_is_unreachable_in_words(lab, setting, words):
    run = lab.run("conn", "licensing_info", extra=tuple(x for s in setting for x in ("-e", s)))
    result = run.result()
    assert result["unreachable"] is True and "failed" not in result
    assert words in result["msg"], result["msg"]
    assert "dropped" not in result["msg"]


def test_a_host_too_slow_for_the_read_timeout_is_unreachable_and_names_the_setting(lab):
    lab.fault("conn", "slow", "--seconds", "4")
    try:
        run = lab.run("conn", "licensing_info", extra=("-e", "ansible_winrm_read_timeout_sec=3",
                                                       "-e", "ansible_winrm_operation_timeout_sec=2"))
    finally:
        lab.clear_faults("conn")
    result = run.result()
    assert result["unreachable"] is True
    assert result["msg"].startswith("conn (127.0.0.1) did not answer on port ")
    assert "in time (3 seconds)" in result["msg"] and "ansible_winrm_read_timeout_sec" in result["msg"]


def test_ignore_unreachable_lets_the_play_go_on(lab):
    play = [{"name": "e2e", "hosts": "conn", "gather_facts": False, "tasks": [
        {"name": "read", "remote_desktop.licensing.licensing_info": {}, "ignore_unreachable": True},
        {"name": "after", "ansible.builtin.debug": {"msg": "still here"}}]}]
    run = lab.play(play, "-e", "ansible_password=wrong-Passw0rd")
    assert run.statuses("conn") == ["unreachable", "ok"]
    assert run.recap()["conn"]["unreachable"] == 0 and run.recap()["conn"]["ignored"] == 1
