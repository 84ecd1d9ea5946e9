"""The paths users walk around the happy one (issue 12): misconfiguration, unreachable hosts and changes of
mind, each walked as a user walked it, through ansible's winrm connection and the lab."""

from __future__ import annotations

import pytest

from rdlab.testing import start_lab

from .support import ModuleLab, is_read, plan_actions

DOMAIN = "corp.example.com"
LS1 = f"ls1.{DOMAIN}"
NOSUCH = f"nosuch.{DOMAIN}"
POLICY_KEY = r"software\policies\microsoft\windows nt\terminal services"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = ModuleLab.start(
        tmp_path_factory,
        f"ls1:license_server:domain={DOMAIN}",
        f"conn:session_host:domain={DOMAIN}",      # reached with the wrong settings
        f"typo:session_host:domain={DOMAIN}",      # the role with a misspelt group
        f"pending:none:domain={DOMAIN}",           # role installed without reboot, then with
        f"switch:session_host:domain={DOMAIN}",    # group_policy, then wmi
        f"w1:session_host:domain={DOMAIN}",        # the same warning on two hosts
        f"w2:session_host:domain={DOMAIN}",
        f"lsrole:license_server:domain={DOMAIN}",  # the license_server role without a contact
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


def test_an_https_listener_reached_wrongly_is_unreachable_in_words(tmp_path_factory):
    https = ModuleLab(start_lab(tmp_path_factory.mktemp("https"), "tls:session_host", scheme="https"),
                      tmp_path_factory.mktemp("runs"))
    try:
        plain = https.run("tls", "licensing_info", extra=("-e", "ansible_winrm_scheme=http")).result()
        untrusted = https.run("tls", "licensing_info",
                              extra=("-e", "ansible_winrm_ca_trust_path=/nonexistent-ca.pem")).result()
    finally:
        https.stop()
    assert plain["unreachable"] is True
    assert "check ansible_winrm_scheme: http spoken to an HTTPS listener" in plain["msg"]
    assert untrusted["unreachable"] is True
    assert untrusted["msg"].startswith("The certificate of tls (127.0.0.1) on port ")
    assert untrusted["msg"].endswith("set ansible_winrm_ca_trust_path to the CA that issued it.")


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


def role_play(host, role, variables):
    return [{"name": "e2e", "hosts": host, "gather_facts": False,
             "roles": [{"role": f"remote_desktop.licensing.{role}", "vars": variables}]}]


def policy(lab, host) -> dict:
    """The Group Policy values under the Terminal Services policy key, by name."""
    return {v["name"]: v["data"] for v in lab.state(host)["registry"].get(POLICY_KEY, {}).values()}


# --- 1. the session_host role never clears license servers by mistake ---------------------------------------

def test_a_misspelt_license_server_group_fails_naming_it_and_changes_nothing(lab):
    assert lab.run("typo", "session_host", {"mode": "per_user", "license_servers": [LS1]}).rc == 0
    before = lab.state("typo")
    run = lab.play(role_play("typo", "session_host", {"session_host_license_server_group": "license_server"}))
    assert run.rc != 0 and run.statuses("typo") == ["ok", "failed"]  # the argument spec, then the check
    assert run.results("typo")[-1]["msg"] == (
        "The inventory group 'license_server' (session_host_license_server_group) has no hosts, so this role cannot "
        "tell the license servers of typo. Put the license servers in that group, set "
        "session_host_license_server_group to the group that holds them, or set session_host_license_servers (an "
        "empty list clears the host's license servers). Nothing was changed.")
    assert run.commands("typo") == [] and lab.state("typo") == before


def test_an_empty_list_given_explicitly_clears_and_warns_that_no_server_is_left(lab):
    run = lab.play(role_play("typo", "session_host", {"session_host_license_servers": []}))
    result = run.results("typo")[-1]
    assert run.rc == 0 and result["changed"] is True and result["license_servers"] == []
    assert lab.state("typo")["session_host"]["specified_servers"] == []
    assert result["warnings"] == [
        "typo: The licensing mode is per_user but no license server is configured: the host gets no CALs, and "
        "refuses connections once its grace period ends. Set session_host_license_servers."]


# --- 3. a pending install with reboot: true restarts ---------------------------------------------------------

def test_a_pending_install_is_finished_by_a_restart_when_reboot_is_allowed(lab):
    lab.seed("pending", {"reboot_seconds": 1})
    want = {"mode": "per_user", "license_servers": [LS1], "install_role": True}
    first = lab.run("pending", "session_host", want).result()
    assert first["reboot_required"] is True and lab.state("pending")["pending_restart"] is True
    before = lab.state("pending")
    check = lab.run("pending", "session_host", dict(want, reboot=True), check=True).result()
    assert lab.state("pending") == before
    run = lab.run("pending", "session_host", dict(want, reboot=True))
    real = run.result()
    assert run.rc == 0, run.output
    assert plan_actions(check) == plan_actions(real) == ["restart", "mode", "license_servers"]
    assert real["plan"][0]["description"] == "Restart the host to finish installing RDS-RD-Server"
    assert check["diff"] == real["diff"] and real["rebooted"] is True
    assert (real["mode"], real["license_servers"]) == ("per_user", [LS1])
    state = lab.state("pending")
    assert state["pending_restart"] is False and state["boot_time"] != before["boot_time"]
    assert state["session_host"]["licensing_type"] == 4
    again = lab.run("pending", "session_host", dict(want, reboot=True))
    assert again.result()["changed"] is False and "Win32ShutdownTracker" not in again.methods("pending")


# --- 4. group_policy, then wmi: the module removes its own policy values ---------------------------------------

def test_switching_from_group_policy_to_wmi_removes_the_modules_own_policy_values(lab):
    assert lab.run("switch", "session_host", {"mode": "per_user", "license_servers": [LS1],
                                              "method": "group_policy"}).rc == 0
    assert policy(lab, "switch") == {"LicensingMode": 4, "LicenseServers": LS1}
    want = {"mode": "per_device", "license_servers": [LS1], "method": "wmi"}
    check = lab.run("switch", "session_host", want, check=True).result()
    run = lab.run("switch", "session_host", want)
    result = run.result()
    assert run.rc == 0 and "warnings" not in result
    assert plan_actions(check) == plan_actions(result) == [
        "policy_mode_remove", "mode", "policy_servers_remove", "license_servers"]
    assert check["diff"] == result["diff"]
    assert (result["mode"], result["mode_source"]) == ("per_device", "local")
    assert (result["license_servers"], result["license_servers_source"]) == ([LS1], "local")
    assert policy(lab, "switch") == {}
    again = lab.run("switch", "session_host", want)
    assert again.result()["changed"] is False and len(again.commands("switch")) == 1
    assert all(is_read(op) for batch in again.batches("switch") for op in batch)


# --- 6. and 7. warnings name their host; a server that does not answer is worth one -----------------------------

def test_the_same_warning_on_two_hosts_names_each_host(lab):
    run = lab.tasks("w1,w2", ("session_host", {"mode": "per_device", "license_servers": [NOSUCH]}))
    assert run.rc == 0
    for host in ("w1", "w2"):
        assert run.result(host)["warnings"] == [
            f"{host}: The license server {NOSUCH} does not answer as a valid license server (connectivity status 6, "
            "not_connectable): The license server cannot be contacted."]
        assert f"[WARNING]: {host}: The license server {NOSUCH} does not answer" in run.output


def test_the_session_host_role_checks_that_its_license_servers_answer(lab):
    run = lab.play(role_play("w1", "session_host", {"session_host_license_servers": [LS1, NOSUCH]}))
    assert run.rc == 0
    assert run.results("w1")[-1]["warnings"] == [
        f"w1: The license server {NOSUCH} does not answer as a valid license server (connectivity status 6, "
        "not_connectable): The license server cannot be contacted."]


# --- 8. role errors name role variables ---------------------------------------------------------------------

def test_the_license_server_role_names_its_own_variables(lab):
    before = lab.state("lsrole")
    run = lab.play(role_play("lsrole", "license_server", {"license_server_last_name": "Admin"}))
    assert run.statuses("lsrole") == ["ok", "failed"]
    assert run.results("lsrole")[-1]["msg"] == (
        "Automatic activation needs the contact fields license_server_first_name, license_server_last_name, "
        "license_server_company, license_server_country_region; missing: license_server_first_name, "
        "license_server_company, license_server_country_region")
    assert lab.state("lsrole") == before


# --- 10. the info playbook prints the findings ----------------------------------------------------------------

def test_the_info_playbook_prints_each_hosts_findings(lab):
    from rdlab.testing import ROOT
    run = lab.play(ROOT / "playbooks" / "info.yml", "--limit", "ls1,typo")
    assert run.rc == 0, run.output
    shown = {host: run.results(host)[-1]["msg"] for host in ("ls1", "typo")}
    assert "Finding (warning, no_cals): No CAL packs are installed besides the built-in one." in shown["ls1"]
    # typo is Per User with its license servers cleared (the tests above)
    findings = [line for line in shown["typo"] if line.startswith("Finding (")]
    assert findings and findings[0].startswith("Finding (error, no_license_servers): No license server is configured")
    assert findings[0] in run.output and "Findings: none" not in shown["typo"]
