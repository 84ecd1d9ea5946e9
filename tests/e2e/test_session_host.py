"""session_host end to end: ansible's winrm connection, the bridge, the lab.

ls1 is an activated license server; each session host plays one story.
"""

from types import SimpleNamespace

import pytest

from .support import ModuleLab, is_read, plan_actions

DOMAIN = "corp.example.com"
LS1 = f"ls1.{DOMAIN}"
PER_USER = {"mode": "per_user", "license_servers": [LS1]}
POLICY_KEY = r"software\policies\microsoft\windows nt\terminal services"
VALID = {"server": LS1, "status": 11, "name": "valid", "valid": True,
         "meaning": "The license server can be contacted and is a valid license server."}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = ModuleLab.start(
        tmp_path_factory,
        f"ls1:license_server:domain={DOMAIN}",
        f"wmi:session_host:domain={DOMAIN}",       # configured through WMI
        f"servers:session_host:domain={DOMAIN}",   # license server lists and their connectivity
        f"gp:session_host:domain={DOMAIN}",        # configured through local Group Policy
        f"gpo:session_host:domain={DOMAIN}",       # Group Policy set by someone else
        f"grace:session_host:domain={DOMAIN}",     # late in its grace period
        f"licensed:session_host:domain={DOMAIN}",  # a permanent CAL ended its grace period
        f"verify:session_host:domain={DOMAIN}",
        "wg:session_host",                         # in a workgroup
        f"new:none:domain={DOMAIN}",               # role installed by the module, with a reboot
        f"pending:none:domain={DOMAIN}",           # role installed by the module, no reboot
        "core:none:installation=core",
    )
    lab.seed("ls1", {"license_server": {"activation_status": 0, "license_server_id": "LSID" + "0" * 31}})
    yield lab
    lab.stop()


def assert_unchanged_by_reads(run, host):
    assert len(run.commands(host)) == 1, run.transcript
    assert all(is_read(op) for batch in run.batches(host) for op in batch)


def policy(lab, host) -> dict:
    """The Group Policy values under the Terminal Services policy key, by name."""
    return {v["name"]: v["data"] for v in lab.state(host)["registry"].get(POLICY_KEY, {}).values()}


# --- WMI: check mode, the run, the second run ------------------------------------------------------------

@pytest.fixture(scope="module")
def wmi(lab):
    before = lab.state("wmi")
    check = lab.run("wmi", "session_host", PER_USER, check=True)
    after_check = lab.state("wmi")
    real = lab.run("wmi", "session_host", PER_USER)
    again = lab.run("wmi", "session_host", PER_USER)
    return SimpleNamespace(before=before, check=check, after_check=after_check, real=real, again=again)


def test_check_mode_changes_nothing(wmi):
    assert wmi.check.rc == 0, wmi.check.output
    assert wmi.after_check == wmi.before
    assert [c["check_mode"] for c in wmi.check.commands("wmi")] == [True]


def test_check_mode_predicts_the_real_run(wmi):
    check, real = wmi.check.result(), wmi.real.result()
    assert plan_actions(check) == plan_actions(real) == ["mode", "license_servers"]
    assert check["plan"] == real["plan"] and check["diff"] == real["diff"]
    for key in ("mode", "mode_source", "license_servers", "license_servers_source", "connectivity"):
        assert check[key] == real[key], key


def test_first_run_sets_mode_and_servers(lab, wmi):
    result = wmi.real.result()
    assert wmi.real.rc == 0 and result["changed"] is True
    assert result["diff"]["before"] == {"role_installed": True, "mode": "not_configured", "mode_source": "local",
                                        "license_servers": [], "license_servers_source": "local"}
    assert result["diff"]["after"] == dict(result["diff"]["before"], mode="per_user", license_servers=[LS1])
    assert result["connectivity"] == [VALID] and result["grace_period_days_left"] == 120
    settings = lab.state("wmi")["session_host"]
    assert (settings["licensing_type"], settings["specified_servers"]) == (4, [LS1])


def test_the_changing_run_verifies_in_the_same_round_trip(wmi):
    read, apply = wmi.real.batches("wmi")
    assert all(is_read(op) for op in read)
    methods = [op.get("method") or op["kind"] for op in apply]
    assert methods[:2] == ["ChangeMode", "SetSpecifiedLicenseServerList"]
    assert {"GetSpecifiedLicenseServerList", "GetTStoLSConnectivityStatus"} <= set(methods[2:])
    assert all(is_read(op) for op in apply[2:])


def test_second_run_changes_nothing_in_one_round_trip(wmi):
    result = wmi.again.result()
    assert result["changed"] is False and result["plan"] == []
    assert result["connectivity"] == [VALID]
    assert_unchanged_by_reads(wmi.again, "wmi")


def test_a_change_that_does_not_read_back_fails(lab):
    lab.fault("verify", "cim_fail", "--class", "Win32_TerminalServiceSetting", "--method", "ChangeMode", "--code", "0")
    run = lab.run("verify", "session_host", {"mode": "per_user"})
    assert run.statuses() == ["failed"]
    assert run.result()["msg"] == ("The changes were applied but the host reads back differently: mode is "
                                   "'not_configured', expected 'per_user'")


# --- license servers: connectivity, the extra round trip, clearing (in this order, on one host) ---------

def test_connectivity_of_a_valid_license_server_and_of_an_unknown_name(lab):
    result = lab.run("servers", "session_host", {"license_servers": [f"nosuch.{DOMAIN}", LS1]}).result()
    assert result["license_servers"] == [f"nosuch.{DOMAIN}", LS1]
    assert result["connectivity"] == [
        {"server": f"nosuch.{DOMAIN}", "status": 6, "name": "not_connectable", "valid": False,
         "meaning": "The license server cannot be contacted."},
        VALID]


def test_checking_the_configured_servers_costs_one_more_round_trip(lab):
    configured = lab.run("servers", "session_host", {"mode": "per_device"})  # servers from the test above
    assert [c["status"] for c in configured.result()["connectivity"]] == [6, 11]
    assert len(configured.commands("servers")) == 3  # read, read with the servers now known, apply
    unchecked = lab.run("servers", "session_host", {"mode": "per_device", "check_connectivity": False})
    assert unchecked.result()["connectivity"] == [] and len(unchecked.commands("servers")) == 1


def test_an_empty_list_clears_the_license_servers(lab):
    assert lab.state("servers")["session_host"]["specified_servers"] == [f"nosuch.{DOMAIN}", LS1]
    cleared = lab.run("servers", "session_host", {"license_servers": []}).result()
    assert plan_actions(cleared) == ["license_servers"]
    assert cleared["plan"][0]["description"] == "Set the license servers to none"
    assert cleared["license_servers"] == [] and cleared["connectivity"] == []
    assert lab.state("servers")["session_host"]["specified_servers"] == []
    again = lab.run("servers", "session_host", {"license_servers": []})
    assert again.result()["changed"] is False
    assert_unchanged_by_reads(again, "servers")


# --- Group Policy: its own values, and someone else's -------------------------------------------------

def test_group_policy_method(lab):
    want = dict(PER_USER, method="group_policy")
    before = lab.state("gp")
    check = lab.run("gp", "session_host", want, check=True).result()
    assert lab.state("gp") == before
    real = lab.run("gp", "session_host", want).result()
    assert plan_actions(check) == plan_actions(real) == ["policy_mode", "policy_servers"]
    assert check["plan"] == real["plan"] and check["diff"] == real["diff"]
    assert (real["mode"], real["mode_source"]) == ("per_user", "group_policy")
    assert (real["license_servers"], real["license_servers_source"]) == ([LS1], "group_policy")
    assert policy(lab, "gp") == {"LicensingMode": 4, "LicenseServers": LS1}
    again = lab.run("gp", "session_host", want)
    assert again.result()["changed"] is False and "warnings" not in again.result()
    assert_unchanged_by_reads(again, "gp")
    # Its own values it changes again: they are recorded as written by the module.
    device = lab.run("gp", "session_host", {"mode": "per_device", "license_servers": [], "method": "group_policy"})
    assert plan_actions(device.result()) == ["policy_mode", "policy_servers"]
    assert policy(lab, "gp") == {"LicensingMode": 2}
    assert device.result()["license_servers_source"] == "local"


def test_group_policy_set_by_someone_else_is_reported_not_changed(lab):
    lab.seed("gpo", {"registry": {POLICY_KEY: {
        "licensingmode": {"name": "LicensingMode", "type": "REG_DWORD", "data": 2},
        "licenseservers": {"name": "LicenseServers", "type": "REG_SZ", "data": f"ls9.{DOMAIN}"}}}})
    before = lab.state("gpo")
    run = lab.tasks("gpo", ("session_host", PER_USER), ("session_host", dict(PER_USER, method="group_policy")))
    for result in run.results():
        assert result["changed"] is False and result["plan"] == []
        assert result["warnings"] == [
            "gpo: Group Policy sets the licensing mode (per_device) on this host; the module leaves it alone. Change "
            "it in the Group Policy object that sets it.",
            f"gpo: Group Policy sets the license servers (ls9.{DOMAIN}) on this host; the module leaves it alone. "
            "Change it in the Group Policy object that sets it."]
        assert (result["mode"], result["mode_source"]) == ("per_device", "group_policy")
        assert (result["license_servers"], result["license_servers_source"]) == ([f"ls9.{DOMAIN}"], "group_policy")
    assert run.recap()["gpo"]["changed"] == 0
    assert lab.state("gpo") == before


# --- warnings and guards ---------------------------------------------------------------------------------

def test_per_user_in_a_workgroup_is_refused_unless_allowed(lab):
    before = lab.state("wg")
    refused = lab.run("wg", "session_host", {"mode": "per_user"})
    assert refused.rc != 0 and lab.state("wg") == before
    assert refused.result()["msg"] == (
        "mode: per_user is not permitted on WG, which is in a workgroup: Microsoft permits only Per Device licensing "
        "for session hosts in a workgroup, and Per User CALs cannot be tracked there. Use mode: per_device, or set "
        "allow_per_user_in_workgroup: true to set Per User anyway")
    result = lab.run("wg", "session_host", {"mode": "per_user", "allow_per_user_in_workgroup": True}).result()
    assert result["changed"] is True and result["mode"] == "per_user"
    assert result["warnings"] == [
        "wg: Per User licensing is not permitted in a workgroup (allow_per_user_in_workgroup is set): Per User CALs "
        "cannot be tracked here; Microsoft permits only Per Device licensing for session hosts in a workgroup.",
        "wg: The licensing mode is per_user but no license server is configured: the host gets no CALs, and refuses "
        "connections once its grace period ends. Set license_servers."]
    assert lab.state("wg")["session_host"]["licensing_type"] == 4


def test_min_grace_days_fails_only_without_a_valid_license_server(lab):
    lab.rdlab("connect", "grace")  # the grace period starts at the first client connection (hh553157)
    lab.seed("grace", {"clock_offset_days": 110})
    run = lab.tasks("grace", ("session_host", {"min_grace_days": 30}),
                    ("session_host", {"license_servers": [f"nosuch.{DOMAIN}"], "min_grace_days": 30}),
                    ("session_host", {"license_servers": [LS1], "min_grace_days": 30}), ignore_errors=True)
    none, unknown, valid = run.results()
    assert run.statuses() == ["failed", "failed", "changed"]
    assert none["msg"] == ("The session host has 10 days left in its licensing grace period (min_grace_days: 30) "
                           "and none of its license servers (none configured) answers as a valid license server")
    assert f"none of its license servers (nosuch.{DOMAIN}) answers" in unknown["msg"]
    assert unknown["changed"] is True  # the list was set; the guard runs on the result
    assert valid["grace_period_days_left"] == 10 and valid["connectivity"] == [VALID]


def test_a_permanent_cal_ends_the_grace_period_for_the_guard(lab):
    """hh553157: the first permanent CAL ends the grace period and Windows records LicensingGracePeriodEnded;
    GetGracePeriodDays may go on counting, so the guard reads the registry value."""
    packs = lab.state("ls1")["license_server"]["key_packs"]
    per_device = dict(packs[0], KeyPackId=90, KeyPackType=2, ProductType=0, ProductVersion="Windows Server 2022",
                      ProductVersionID=7, TotalLicenses=5, IssuedLicenses=0, AvailableLicenses=5,
                      Description="A02-10.02-S", TypeAndModel="RDS Per Device CAL")
    lab.seed("ls1", {"license_server": {"key_packs": packs + [per_device]}})
    want = {"mode": "per_device", "license_servers": [LS1], "min_grace_days": 30}
    first = lab.run("licensed", "session_host", want).result()
    assert (first["grace_period_days_left"], first["grace_period_ended"]) == (120, False)
    lab.rdlab("connect", "licensed", "--computer", "PC1")  # a temporary CAL
    lab.rdlab("connect", "licensed", "--computer", "PC1")  # the permanent CAL
    assert lab.state("licensed")["registry"][r"system\currentcontrolset\services\termservice\parameters"][
        "licensinggraceperiodended"]["data"] == 1
    valid = lab.run("licensed", "session_host", want).result()
    assert valid["changed"] is False and (valid["grace_period_days_left"], valid["grace_period_ended"]) == (120, True)
    gone = lab.run("licensed", "session_host", dict(want, license_servers=[f"nosuch.{DOMAIN}"]))
    assert gone.rc != 0
    assert gone.result()["msg"] == (
        "The session host's licensing grace period is over: a license server issued it a permanent CAL (Windows "
        "recorded LicensingGracePeriodEnded), so it needs a valid license server from now on, and none of its license "
        f"servers (nosuch.{DOMAIN}) answers as one")


# --- the role -------------------------------------------------------------------------------------------

def test_install_role_with_reboot_then_configure(lab):
    lab.seed("new", {"reboot_seconds": 1})
    want = dict(PER_USER, install_role=True, reboot=True)
    before = lab.state("new")
    check = lab.run("new", "session_host", want, check=True).result()
    assert lab.state("new") == before
    run = lab.run("new", "session_host", want)
    real = run.result()
    assert run.rc == 0, run.output
    assert plan_actions(check) == plan_actions(real) == ["install_role", "mode", "license_servers"]
    assert check["plan"] == real["plan"] and check["diff"] == real["diff"]
    assert real["rebooted"] is True and real["reboot_required"] is False
    assert (real["mode"], real["license_servers"], real["connectivity"]) == ("per_user", [LS1], [VALID])
    assert "Win32ShutdownTracker" in run.methods("new")
    state = lab.state("new")
    assert state["features"]["RDS-RD-Server"] and not state["pending_restart"] and state["install_pending"] == []
    assert state["boot_time"] != before["boot_time"] and state["session_host"]["licensing_type"] == 4
    again = lab.run("new", "session_host", want)
    assert again.result()["changed"] is False
    assert_unchanged_by_reads(again, "new")


def test_install_role_without_reboot_stops_and_says_so(lab):
    result = lab.run("pending", "session_host", dict(PER_USER, install_role=True)).result()
    assert result["changed"] is True and result["reboot_required"] is True
    assert plan_actions(result) == ["install_role"] and result["mode"] == "remote_admin"
    assert result["warnings"] == ["pending: Reboot the host to finish installing the RD Session Host role, then run "
                                  "the task again to configure licensing."]
    assert lab.state("pending")["pending_restart"] is True


def test_server_core_refusals(lab):
    before = lab.state("core")
    run = lab.tasks("core", ("session_host", {"install_role": True}), ("session_host", {"mode": "per_user"}),
                    ignore_errors=True)
    assert [r["msg"] for r in run.results()] == [
        "CORE does not offer RDS-RD-Server (Server Core has no RD Session Host)",
        "CORE is not an RD Session Host: set install_role: true, or install RDS-RD-Server first"]
    assert len(run.commands("core")) == 2 and lab.state("core") == before


def test_bad_options_fail_before_any_winrm_command(lab):
    run = lab.tasks("core", ("session_host", {"license_servers": ["ls1,ls2"]}),
                    ("session_host", {"license_servers": [LS1, LS1.upper()]}),
                    ("session_host", {"min_grace_days": 121}), ignore_errors=True)
    prefix = "Invalid options for remote_desktop.licensing.session_host: "
    assert [r["msg"] for r in run.results()] == [
        prefix + "license_servers must be host names or addresses without spaces or commas, got 'ls1,ls2'",
        prefix + "license_servers lists a server twice",
        prefix + "min_grace_days must be between 0 and 120 (the grace period is 120 days), got 121"]
    assert run.commands("core") == []
