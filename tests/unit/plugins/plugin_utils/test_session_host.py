"""session_host's planner: WMI and Group Policy, never fighting a policy it did not write."""

import pytest

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _session_host as sh
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._plan import PlanError


def args(**overrides):
    base = dict((k, spec.get("default")) for k, spec in sh.ARGUMENT_SPEC.items())
    base.update(overrides)
    return base


def have(mode="not_configured", servers=(), mode_source="local", servers_source="local", policy_mode=None,
         policy_servers=None, installed=True, domain=True):
    return {"host": {"name": "SH1", "part_of_domain": domain}, "roles": {"session_host": installed},
            "features": {"RDS-RD-Server": installed},
            "session_host": {"installed": installed, "licensing_mode": mode, "licensing_mode_source": mode_source,
                             "license_servers": list(servers), "license_servers_source": servers_source,
                             "grace_period_days_left": 100,
                             "policy": {"licensing_mode": policy_mode, "license_servers": policy_servers}}}


def test_validation():
    assert sh.validate(args(license_servers=[" ls1 ", "ls2"]))["license_servers"] == ["ls1", "ls2"]
    with pytest.raises(ValueError, match="without spaces or commas"):
        sh.validate(args(license_servers=["ls1,ls2"]))
    with pytest.raises(ValueError, match="lists a server twice"):
        sh.validate(args(license_servers=["LS1", "ls1"]))
    with pytest.raises(ValueError, match="min_grace_days must be between 0 and 120"):
        sh.validate(args(min_grace_days=200))


def test_wmi_plan():
    plan = sh.plan_config(sh.validate(args(mode="per_user", license_servers=["ls1"])), have(), {})
    assert [(s.action, s.batch.operations[0]["method"], s.batch.operations[0]["arguments"]) for s in plan.steps] == [
        ("mode", "ChangeMode", {"LicensingType": 4}),
        ("license_servers", "SetSpecifiedLicenseServerList", {"SpecifiedLSList": ["ls1"]})]


def test_server_names_compare_without_case():
    plan = sh.plan_config(sh.validate(args(mode="per_user", license_servers=["LS1"])),
                          have(mode="per_user", servers=["ls1"]), {})
    assert plan.steps == []


def test_wmi_does_not_fight_group_policy():
    plan = sh.plan_config(sh.validate(args(mode="per_user", license_servers=["ls1"])),
                          have(mode="per_device", mode_source="group_policy", servers=["gpo-ls"],
                               servers_source="group_policy"), {})
    assert plan.steps == []
    assert [w.split(" (")[0] for w in plan.warnings] == ["Group Policy sets the licensing mode",
                                                         "Group Policy sets the license servers"]


def test_group_policy_method_writes_and_records_its_values():
    plan = sh.plan_config(sh.validate(args(mode="per_device", license_servers=["ls1", "ls2"], method="group_policy")),
                          have(), {})
    ops = [op for s in plan.steps for op in s.batch.operations]
    assert ("SetDWORDValue", 2) in [(op["method"], op["arguments"].get("uValue")) for op in ops]
    assert ("SetStringValue", "ls1,ls2") in [(op["method"], op["arguments"].get("sValue")) for op in ops]
    assert ops[-1]["arguments"]["sValue"] == ["LicenseServers=ls1,ls2", "LicensingMode=2"]


def test_group_policy_method_leaves_values_it_did_not_write():
    host = have(mode="per_user", mode_source="group_policy", policy_mode=4)
    plan = sh.plan_config(sh.validate(args(mode="per_device", method="group_policy")), host, {})
    assert plan.steps == [] and "Group Policy sets the licensing mode (per_user)" in plan.warnings[0]
    # but its own earlier value it may change
    plan = sh.plan_config(sh.validate(args(mode="per_device", method="group_policy")), host, {"LicensingMode": "4"})
    assert [s.action for s in plan.steps] == ["policy_mode"]


def test_clearing_the_policy_servers_deletes_the_value():
    host = have(servers=["ls1"], servers_source="group_policy", policy_servers=["ls1"])
    plan = sh.plan_config(sh.validate(args(license_servers=[], method="group_policy")), host,
                          {"LicenseServers": "ls1"})
    assert [op["method"] for op in plan.steps[0].batch.operations][:2] == ["CreateKey", "DeleteValue"]


def test_not_a_session_host():
    with pytest.raises(PlanError, match="SH1 is not an RD Session Host: set install_role: true"):
        sh.plan_config(sh.validate(args(mode="per_user")), have(installed=False), {})


def test_per_user_in_a_workgroup_is_refused_unless_allowed():
    with pytest.raises(PlanError, match="mode: per_user is not permitted on SH1, which is in a workgroup: .* set "
                                        "allow_per_user_in_workgroup: true"):
        sh.plan_config(sh.validate(args(mode="per_user")), have(domain=False), {})
    plan = sh.plan_config(sh.validate(args(mode="per_user", allow_per_user_in_workgroup=True)), have(domain=False), {})
    assert [s.action for s in plan.steps] == ["mode"]
    assert plan.warnings[0].startswith("Per User licensing is not permitted in a workgroup "
                                       "(allow_per_user_in_workgroup is set)")
    assert sh.plan_config(sh.validate(args(mode="per_device")), have(domain=False), {}).warnings == []
    assert sh.plan_config(sh.validate(args(mode="per_user")), have(domain=True), {}).warnings == []


def test_grace_check():
    want = sh.validate(args(min_grace_days=30))
    host = have()["session_host"]
    host["grace_period_days_left"] = 12
    invalid = [{"server": "ls1", "valid": False}]
    assert "12 days left" in sh.grace_check(want, host, invalid)
    assert sh.grace_check(want, host, [{"server": "ls1", "valid": True}]) is None
    host["grace_period_days_left"] = 31
    assert sh.grace_check(want, host, invalid) is None
    # A permanent CAL ended the grace period (hh553157): the days GetGracePeriodDays still counts do not matter.
    host["grace_period_ended"] = True
    assert sh.grace_check(want, host, invalid).startswith("The session host's licensing grace period is over: a "
                                                          "license server issued it a permanent CAL")
    assert sh.grace_check(want, host, [{"server": "ls1", "valid": True}]) is None
    assert sh.grace_check(sh.validate(args()), host, invalid) is None  # no min_grace_days: no guard


def test_connectivity_meanings():
    from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._bridge import Batch, BatchResult
    batch = sh.connectivity_ops(Batch(), ["ls1", "nowhere"])
    results = BatchResult(batch, [{"ok": True, "out": {"TsToLsConnectivityStatus": 11}},
                                  {"ok": True, "out": {"TsToLsConnectivityStatus": 6}}])
    report = sh.connectivity(results)
    assert [(r["name"], r["valid"]) for r in report] == [("valid", True), ("not_connectable", False)]


def test_a_restart_pending_install_is_named_not_attempted():
    host = have()
    host["restart_pending"] = ["RDS-RD-Server"]
    with pytest.raises(PlanError, match="Windows finishes the install only at the next restart: reboot the host"):
        sh.plan_config(sh.validate(args(mode="per_user")), host, {})


def test_a_restart_pending_install_with_reboot_allowed_plans_the_restart_then_the_configuration():
    host = have(mode="remote_admin")
    host["restart_pending"] = ["RDS-RD-Server"]
    host["policy_record"] = {}
    plan = sh.plan(sh.validate(args(mode="per_user", license_servers=["ls1"], install_role=True, reboot=True)), host)
    assert [(s.action, s.phase, s.batch.operations) for s in plan.phase("role").steps] == [("restart", "role", [])]
    assert [s.action for s in plan.phase("config").steps] == ["mode", "license_servers"]
    # without reboot: no restart step, and the configuration says why it cannot go on
    with pytest.raises(PlanError, match="reboot the host"):
        sh.plan(sh.validate(args(mode="per_user", install_role=True)), host)


def test_switching_to_wmi_removes_the_policy_values_the_module_wrote():
    host = have(mode="per_user", mode_source="group_policy", policy_mode=4, servers=["ls1"],
                servers_source="group_policy", policy_servers=["ls1"])
    record = {"LicensingMode": "4", "LicenseServers": "ls1"}
    want = sh.validate(args(mode="per_device", license_servers=["ls1"]))
    plan = sh.plan_config(want, host, record)
    assert [s.action for s in plan.steps] == ["policy_mode_remove", "mode", "policy_servers_remove",
                                              "license_servers"]
    assert plan.warnings == []
    ops = [op for s in plan.steps for op in s.batch.operations]
    assert [(op["method"], op["arguments"].get("sValueName")) for op in ops if op["method"] == "DeleteValue"] == [
        ("DeleteValue", "LicensingMode"), ("DeleteValue", "LicenseServers")]
    assert ops[-1]["method"] == "SetMultiStringValue" and ops[-1]["arguments"]["sValue"] == []
    assert sh.predict(want, host, plan) == {"role_installed": True, "mode": "per_device", "mode_source": "local",
                                            "license_servers": ["ls1"], "license_servers_source": "local"}
    # a value that differs from the record is someone else's: reported, not removed
    plan = sh.plan_config(want, host, {"LicensingMode": "2"})
    assert plan.steps == []
    assert "Group Policy sets the licensing mode (per_user)" in plan.warnings[0]


def test_advice_on_a_mode_without_servers_and_on_servers_that_do_not_answer():
    after = {"mode": "per_user", "license_servers": []}
    assert sh.advice(sh.validate(args(mode="per_user")), after, []) == [
        "The licensing mode is per_user but no license server is configured: the host gets no CALs, and refuses "
        "connections once its grace period ends. Set license_servers."]
    assert sh.advice(sh.validate(args()), after, []) == []  # the task configured nothing
    report = [{"server": "ls1", "status": 11, "name": "valid", "valid": True, "meaning": "ok"},
              {"server": "nowhere", "status": 6, "name": "not_connectable", "valid": False,
               "meaning": "The license server cannot be contacted."}]
    assert sh.advice(sh.validate(args(license_servers=["ls1", "nowhere"])),
                     {"mode": "per_user", "license_servers": ["ls1", "nowhere"]}, report) == [
        "The license server nowhere does not answer as a valid license server (connectivity status 6, "
        "not_connectable): The license server cannot be contacted."]
