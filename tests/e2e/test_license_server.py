"""license_server end to end: ansible's winrm connection, the bridge, the lab.

Each host of the lab plays one story, so the tests stay independent of each other except where a
story has chapters (install, then configure, then remove on `fresh`), which run in file order.
"""

from types import SimpleNamespace

import pytest

from .support import ModuleLab, is_read, plan_actions

DOMAIN = "corp.example.com"
CONTACT = {"first_name": "Ada", "last_name": "Lovelace", "company": "Example Ltd",
           "country_region": "United Kingdom", "email": "rds-admins@example.com"}
ACTIVATED = {"contact": CONTACT, "activation": "activated"}
TOOLS = ["RDS-Licensing-UI", "RSAT-RDS-Licensing-Diagnosis-UI"]
# A license server ID as the web or telephone method gives it: 7 groups of 5, hyphens ignored.
SERVER_ID = "Q7KX2-M4PLR-9WZT3-BN6YD-H8CJV-F2RQS-X5TGA"
SHORT_ID = "Q7KX2-M4PLR-9WZT3-BN6YD-H8CJV-F2RQS-X5TG"  # 34 characters


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = ModuleLab.start(
        tmp_path_factory,
        f"fresh:none:domain={DOMAIN}",                 # installed, configured, then removed, in file order
        f"offline:license_server:domain={DOMAIN}",     # activation with a license server ID
        f"handmade:license_server:domain={DOMAIN}",    # activated by hand, without the Diagnoser
        f"unreachable:license_server:domain={DOMAIN}",  # the Clearinghouse cannot be reached; no Diagnoser
        f"nocontact:license_server:domain={DOMAIN}",   # no Diagnoser either
        f"flaky:license_server:domain={DOMAIN}",       # the Clearinghouse fails twice, then answers
        f"noadmin:license_server:domain={DOMAIN}",     # the account is in no domain group
        f"verify:license_server:domain={DOMAIN}",
        "wg:license_server",                           # a workgroup server
        "core:none:installation=core",
    )
    # A license server host of the lab has the RD Licensing Manager but not the Diagnoser, which the module
    # adds; these hosts get it, so that their stories are about one thing.
    for host in ("noadmin", "verify", "wg", "flaky"):
        lab.seed(host, {"features": {"RSAT-RDS-Licensing-Diagnosis-UI": True}})
    yield lab
    lab.stop()


def assert_unchanged_by_reads(run, host):
    """The run sent one command, and it only read."""
    assert len(run.commands(host)) == 1, run.transcript
    assert all(is_read(op) for batch in run.batches(host) for op in batch)


# --- install and activate a bare host: check mode, the run, the second run ---------------------------

@pytest.fixture(scope="module")
def install(lab):
    before = lab.state("fresh")
    check = lab.run("fresh", "license_server", ACTIVATED, check=True)
    after_check = lab.state("fresh")
    real = lab.run("fresh", "license_server", ACTIVATED)
    again = lab.run("fresh", "license_server", ACTIVATED)
    return SimpleNamespace(before=before, check=check, after_check=after_check, real=real, again=again)


def test_check_mode_changes_nothing(install):
    assert install.check.rc == 0, install.check.output
    assert install.after_check == install.before
    assert [c["check_mode"] for c in install.check.commands("fresh")] == [True]
    assert all(is_read(op) for op in install.check.batches("fresh")[0])


def test_check_mode_predicts_the_real_run(install):
    check, real = install.check.result(), install.real.result()
    assert check["changed"] is real["changed"] is True
    assert plan_actions(check) == plan_actions(real) == ["install_role", "contact", "activate"]
    assert check["plan"] == real["plan"]
    assert check["diff"] == real["diff"]
    assert check["activation_status"] == real["activation_status"] == "activated"


def test_first_run_installs_and_activates(lab, install):
    result = install.real.result()
    assert install.real.rc == 0, install.real.output
    assert result["diff"]["before"]["state"] == "absent"
    after = result["diff"]["after"]
    assert after["state"] == "present" and after["management_tools"] == TOOLS
    assert after["service"] == {"state": "Running", "start_mode": "Auto"}
    assert after["activation"] == "activated" and after["scope"] == "domain"
    assert {k: after["contact"][k] for k in CONTACT} == CONTACT
    assert result["license_server_id"] is None  # not asked for
    state = lab.state("fresh")
    assert all(state["features"][f] for f in ["RDS-Licensing"] + TOOLS)
    assert state["license_server"]["activation_status"] == 0
    assert result["product_id"] == state["license_server"]["product_id"]


def test_the_changing_run_verifies_in_the_same_round_trip(install):
    """Read, install (with the probe that the classes answer), read the fresh role, then the changes
    followed by the reads that verify them in one command."""
    batches = install.real.batches("fresh")
    assert len(batches) == 4
    last = [op.get("method") or op["kind"] for op in batches[-1]]
    assert last[:2] == ["cim_set", "ActivateServerAutomatic"]
    assert "GetActivationStatus" in last[2:] and all(is_read(op) for op in batches[-1][2:])


def test_second_run_changes_nothing_in_one_round_trip(install):
    result = install.again.result()
    assert result["changed"] is False and result["plan"] == []
    assert result["diff"]["before"] == result["diff"]["after"] == install.real.result()["diff"]["after"]
    assert_unchanged_by_reads(install.again, "fresh")


def test_a_change_that_does_not_read_back_fails(lab):
    """Windows answers 0 to ChangeRole but the scope stays as it was: the read-back says so."""
    lab.fault("verify", "cim_fail", "--class", "Win32_TSLicenseServer", "--method", "ChangeRole", "--code", "0")
    run = lab.run("verify", "license_server", {"scope": "forest"})
    assert run.rc != 0
    assert run.result()["msg"] == ("The changes were applied but the host reads back differently: scope is "
                                   "'domain', expected 'forest'")
    assert run.result()["changed"] is True
    retry = lab.run("verify", "license_server", {"scope": "forest"}).result()
    assert plan_actions(retry) == ["scope"] and lab.state("verify")["license_server"]["server_role"] == 2


def test_an_activation_whose_status_says_otherwise_fails(lab):
    """ActivateServerAutomatic returns 0 but no ActivationStatus 0: both results are checked. (With retries, the
    next try would activate: test_activation_is_retried_while_the_clearinghouse_fails.)"""
    lab.fault("verify", "cim_fail", "--class", "Win32_TSLicenseServer", "--method", "ActivateServerAutomatic",
              "--code", "0")
    run = lab.run("verify", "license_server", dict(ACTIVATED, activation_retries=0))
    assert run.rc != 0
    assert run.result()["msg"].startswith("Could not activate the license server automatically over the Internet: "
                                          "ActivateServerAutomatic returned 0 but ActivationStatus None (expected 0).")
    retry = lab.run("verify", "license_server", ACTIVATED).result()
    assert plan_actions(retry) == ["activate"] and retry["activation_status"] == "activated"


# --- activation: by license server ID, without the Internet, without a contact -----------------------

def test_activation_with_a_license_server_id(lab):
    args = {"activation": "activated", "activation_method": "license_server_id",
            "license_server_id": "{{ vault_license_server_id }}"}
    run = lab.tasks("offline", ("license_server", args), ("license_server", args),
                    vars={"vault_license_server_id": SERVER_ID}, extra=("-vvvv", "--diff"))
    first, second = run.results("offline")
    assert run.rc == 0, run.output
    # The lab's license server has the RD Licensing Manager only: the Diagnoser comes with the first run.
    assert plan_actions(first) == ["install_role", "activate"] and first["activation_status"] == "activated"
    (operation,) = first["plan"][1]["operations"]
    assert operation["method"] == "ActivateServer"
    assert operation["secret_arguments"] == {"sLicenseServerId": "activate.1.sLicenseServerId"}  # a reference
    # read, install the Diagnoser, read the new role, activate and verify; then the second task's one read
    assert second["changed"] is False and len(run.commands("offline")) == 4 + 1
    compact = SERVER_ID.replace("-", "")
    assert compact not in run.output and SERVER_ID not in run.output
    assert compact not in str(run.transcript)
    revealed = lab.run("offline", "license_server", {"reveal_license_server_id": True}).result()
    assert revealed["license_server_id"] == compact and revealed["changed"] is False
    assert compact not in str(revealed["diff"])  # revealed on request, never in the diff


def test_a_malformed_license_server_id_is_refused_before_the_host_is_asked(lab):
    args = {"activation": "activated", "activation_method": "license_server_id",
            "license_server_id": "{{ vault_license_server_id }}"}
    run = lab.tasks("offline", ("license_server", args), vars={"vault_license_server_id": SHORT_ID},
                    extra=("-vvvv",))
    assert run.rc != 0
    assert run.result()["msg"] == (
        "Invalid options for remote_desktop.licensing.license_server: license_server_id must be the 35-character "
        "license server ID that web or telephone activation gives (letters and digits; hyphens and spaces ignored); "
        "got 34 characters")
    assert SHORT_ID not in run.output and SHORT_ID.replace("-", "") not in run.output
    assert run.commands("offline") == []


def test_check_mode_predicts_the_real_run_on_a_server_set_up_by_hand(lab):
    """Activated by hand, with the RD Licensing Manager only: the run adds the Diagnoser and the contact, and
    check mode must not plan an activation that the real run will not do."""
    lab.seed("handmade", {"license_server": {"activation_status": 0, "license_server_id": SERVER_ID.replace("-", "")}})
    before = lab.state("handmade")
    check = lab.run("handmade", "license_server", ACTIVATED, check=True).result()
    assert lab.state("handmade") == before
    real = lab.run("handmade", "license_server", ACTIVATED).result()
    assert plan_actions(check) == plan_actions(real) == ["install_role", "contact"]
    assert check["plan"] == real["plan"] and check["diff"] == real["diff"]


def test_unreachable_clearinghouse_points_to_web_or_telephone_activation(lab):
    lab.fault("unreachable", "activation_unreachable")
    run = lab.run("unreachable", "license_server", dict(ACTIVATED, activation_retry_delay=0))
    result = run.result()
    assert run.rc != 0
    # Three tries (activation_retries: 2), each after a read of the activation status, then the last failure.
    assert run.methods("unreachable").count("ActivateServerAutomatic") == 3
    assert result["msg"].endswith(
        "Tried 3 times, 0 seconds apart (activation_retries: 2, activation_retry_delay: 0).")
    assert result["msg"].startswith(
        "Could not activate the license server automatically over the Internet: "
        "Win32_TSLicenseServer.ActivateServerAutomatic in root/cimv2 returned 0x80041001 WBEM_E_FAILED "
        "(Generic failure). If the license server cannot reach the Microsoft Clearinghouse over the Internet "
        "(outbound TCP 443), activate it from RD Licensing Manager on a computer that has Internet access, or by "
        "web browser or telephone")
    assert "activation_method: license_server_id and license_server_id" in result["msg"]
    # The product ID the web page asks for is in the failed result, and in the message.
    product_id = lab.state("unreachable")["license_server"]["product_id"]
    assert result["product_id"] == product_id
    assert f"with the server's product ID ({product_id}, product_id in this result)" in result["msg"]
    # The failed result carries the whole plan: the Diagnoser went in by an earlier round trip, the contact
    # just before the failed call.
    assert result["changed"] is True and plan_actions(result) == ["install_role", "contact", "activate"]
    assert lab.state("unreachable")["license_server"]["activation_status"] == 1
    lab.clear_faults("unreachable")
    retry = lab.run("unreachable", "license_server", ACTIVATED).result()
    assert plan_actions(retry) == ["activate"] and retry["activation_status"] == "activated"


def test_activation_is_retried_while_the_clearinghouse_fails(lab):
    lab.fault("flaky", "activation_flaky", "--count", "2")
    run = lab.run("flaky", "license_server", dict(ACTIVATED, activation_retry_delay=1), extra=("-vv",))
    result = run.result()
    assert run.rc == 0, run.output
    assert result["changed"] and result["activation_status"] == "activated"
    assert plan_actions(result) == ["contact", "activate"]
    assert run.methods("flaky").count("ActivateServerAutomatic") == 3
    assert "activation try 1 of 3 failed, trying again in 1 s" in run.output
    assert "activation try 2 of 3 failed" in run.output
    assert lab.state("flaky")["license_server"]["activation_status"] == 0
    again = lab.run("flaky", "license_server", ACTIVATED)
    assert again.result()["changed"] is False and "ActivateServerAutomatic" not in again.methods("flaky")


def test_automatic_activation_names_the_missing_contact_fields(lab):
    """The refusal comes before anything is installed (the Diagnoser is missing on this host): only reads."""
    want = {"activation": "activated", "contact": {"first_name": "Ada"}}
    message = ("Automatic activation needs the contact fields contact.first_name, contact.last_name, contact.company, "
               "contact.country_region; missing: contact.last_name, contact.company, contact.country_region")
    before = lab.state("nocontact")
    for attempt in range(2):
        run = lab.run("nocontact", "license_server", want)
        assert run.statuses() == ["failed"] and run.result()["msg"] == message, attempt
        assert run.result()["changed"] is False
        assert_unchanged_by_reads(run, "nocontact")
    assert lab.state("nocontact")["features"] == before["features"]
    assert lab.state("nocontact")["license_server"] == before["license_server"]


# --- scope, Active Directory, domain privileges -----------------------------------------------------

def test_scope_publication_and_group_membership(lab, install):
    want = {"scope": "forest", "publish_in_ad": True, "ad_group_membership": True}
    before = lab.state("fresh")
    check = lab.run("fresh", "license_server", want, check=True).result()
    assert lab.state("fresh") == before
    real = lab.run("fresh", "license_server", want).result()
    assert plan_actions(real) == ["scope", "publish", "group"]
    assert check["plan"] == real["plan"] and check["diff"] == real["diff"]
    after = real["diff"]["after"]
    assert (after["scope"], after["published_in_ad"], after["in_license_servers_group"]) == ("forest", True, True)
    server = lab.state("fresh")["license_server"]
    assert (server["server_role"], server["published"], server["in_tsls_group"]) == (2, True, True)
    again = lab.run("fresh", "license_server", want)
    assert again.result()["changed"] is False
    assert_unchanged_by_reads(again, "fresh")


def test_a_missing_domain_privilege_names_the_group(lab):
    lab.seed("noadmin", {"account": {"domain_admin": False, "enterprise_admin": False}})
    options = [{"ad_group_membership": True}, {"publish_in_ad": True}, {"scope": "forest"}]
    calls = [("AddLStoTSLSGroup", "Domain Admins"), ("PublishLS", "Enterprise Admins"),
             ("ChangeRole", "Enterprise Admins")]
    run = lab.tasks("noadmin", *[("license_server", option) for option in options], ignore_errors=True)
    assert run.statuses() == ["failed"] * len(options)
    for result, (call, group) in zip(run.results(), calls):
        assert (f"Win32_TSLicenseServer.{call} in root/cimv2 returned 0x80041003 WBEM_E_ACCESS_DENIED (Access "
                f"denied). This needs the account Ansible connects with to be a member of {group}") in result["msg"]


def test_a_workgroup_server_refuses_domain_options(lab):
    before = lab.state("wg")
    options = [{"scope": "domain"}, {"scope": "forest"}, {"publish_in_ad": True}, {"ad_group_membership": True}]
    run = lab.tasks("wg", *[("license_server", o) for o in options], ignore_errors=True)
    assert [r["msg"] for r in run.results("wg")] == [
        "%s needs the host to be joined to a domain; WG is in the workgroup WORKGROUP" % option
        for option in ("scope: domain", "scope: forest", "publish_in_ad", "ad_group_membership")]
    assert len(run.commands("wg")) == len(options)  # one read each, nothing written
    assert lab.state("wg") == before


# --- Server Core, removal -----------------------------------------------------------------------------

def test_server_core_gets_the_role_service_without_tools(lab):
    run = lab.tasks("core", ("license_server", {}), ("license_server", {}), extra=("--diff",))
    first, second = run.results("core")
    assert first["plan"][0]["operations"][0]["names"] == ["RDS-Licensing"]
    assert first["diff"]["after"]["management_tools"] == []
    features = lab.state("core")["features"]
    assert features == {"RDS-Licensing": True}
    assert second["changed"] is False


def test_removing_an_activated_server_without_deactivating_warns(lab):
    result = lab.run("offline", "license_server", {"state": "absent"}, check=True).result()
    assert result["warnings"] == ["offline: The license server is removed while activated: migrate its CALs to another "
                                  "license server (RD Licensing Manager, Manage RDS CALs), then deactivate it first "
                                  "(activation: deactivated)."]


def test_removal_deactivates_first_and_reboots(lab, install):
    lab.seed("fresh", {"reboot_seconds": 1})
    want = {"state": "absent", "activation": "deactivated", "reboot": True}
    before = lab.state("fresh")
    check = lab.run("fresh", "license_server", want, check=True).result()
    assert lab.state("fresh") == before
    run = lab.run("fresh", "license_server", want)
    real = run.result()
    assert run.rc == 0, run.output
    assert plan_actions(check) == plan_actions(real) == ["deactivate", "remove_role"]
    assert check["diff"] == real["diff"]
    assert real["diff"]["after"]["state"] == "absent"
    assert real["rebooted"] is True and real["reboot_required"] is False
    assert "Win32ShutdownTracker" in run.methods("fresh")
    state = lab.state("fresh")
    assert state["license_server"]["activation_status"] == 1  # deactivated before the role went
    assert not state["features"]["RDS-Licensing"] and not state["pending_restart"]
    assert state["boot_time"] != before["boot_time"]
    again = lab.run("fresh", "license_server", want)
    assert again.result()["changed"] is False
    assert_unchanged_by_reads(again, "fresh")
