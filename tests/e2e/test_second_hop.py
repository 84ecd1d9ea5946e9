"""The second hop end to end: a license server reaches a domain controller as the caller only when the session
holds the caller's credentials (rdlab/model/session.py). The lab's inventory here has no become, as a user's
first inventory often has not; become is given on the command line where a test wants it.
"""

import pytest

from .support import ModuleLab, is_read, plan_actions

DOMAIN = "corp.example.com"
WANT = {"contact": {"first_name": "Ada", "last_name": "Lovelace"}, "scope": "forest", "publish_in_ad": True,
        "ad_group_membership": True}
# become (runas) as the connecting account, as docs/troubleshooting.md tells users.
BECOME = ("-e", "ansible_become=true", "-e", "ansible_become_method=runas", "-e", "ansible_become_user={{ ansible_user }}",
          "-e", "ansible_become_password={{ ansible_password }}")
ADVICE = ("Use one of: become: true with become_method: runas and become_user the same account (its password in "
          "ansible_become_password); ansible_winrm_transport: credssp; Kerberos with delegation "
          "(ansible_winrm_transport: kerberos, ansible_winrm_kerberos_delegation: true).")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    from rdlab.testing import start_lab
    lab = ModuleLab(start_lab(tmp_path_factory.mktemp("lab"),
                              f"plain:license_server:domain={DOMAIN}",          # NTLM, then become
                              f"delegated:license_server:domain={DOMAIN}:delegation=true",  # CredSSP's stand-in
                              f"system:license_server:domain={DOMAIN}",         # become as SYSTEM
                              f"wrongpw:license_server:domain={DOMAIN}",        # become with a wrong password
                              become=False),
                    tmp_path_factory.mktemp("runs"))
    for host in ("plain", "delegated", "system", "wrongpw"):
        lab.seed(host, {"features": {"RSAT-RDS-Licensing-Diagnosis-UI": True}})
    yield lab
    lab.stop()


def test_ntlm_without_become_is_refused_before_anything_changes(lab):
    before = lab.state("plain")
    for check in (True, False):
        run = lab.run("plain", "license_server", WANT, check=check)
        result = run.result()
        assert run.statuses() == ["failed"], run.output
        assert result["msg"] == (
            "PLAIN could not reach a domain controller as the account Ansible connects with: IsLSinTSLSGroup, a read "
            "any domain account may make, was refused (0x80070005 E_ACCESSDENIED). Nothing was changed: the steps "
            "that need the domain controller (change the discovery scope to forest; publish the license server in "
            "Active Directory; add the license server to the Terminal Server License Servers group (S-1-5-32-561)) "
            "would be refused the same way. The license server makes these calls to a domain controller as you, and "
            "this connection (transport ntlm, no become) gives it no credentials to pass on (the second hop). "
            + ADVICE + " docs/troubleshooting.md has an inventory example of each.")
        assert result["changed"] is False
        # One read, nothing written: not the contact either, which needs no domain controller.
        assert len(run.commands("plain")) == 1 and all(is_read(op) for op in run.batches("plain")[0])
        assert run.commands("plain")[0]["session"] == {"authentication": "ntlm", "delegation": False, "become": None}
    assert lab.state("plain") == before


def test_licensing_info_over_ntlm_cannot_read_the_group(lab):
    result = lab.run("plain", "licensing_info").result()
    assert result["license_server"]["in_license_servers_group"] is None
    assert result["license_server"]["published_in_ad"] is False  # IsLSPublished reads the local server
    # The null is explained: the refused read is a problem, and a finding names the second hop.
    assert [p["part"] for p in result["problems"]] == ["group"]
    (finding,) = [f for f in result["diagnostics"] if f["code"] == "domain_controller_unreachable"]
    assert "0x80070005" in finding["message"] and "(the second hop)" in finding["message"]
    with_become = lab.run("plain", "licensing_info", extra=BECOME).result()
    assert with_become["problems"] == [] and "domain_controller_unreachable" not in [
        f["code"] for f in with_become["diagnostics"]]


def test_become_as_the_same_account_converges(lab):
    check = lab.run("plain", "license_server", WANT, check=True, extra=BECOME)
    run = lab.run("plain", "license_server", WANT, extra=BECOME)
    assert run.rc == 0, run.output
    real = run.result()
    assert plan_actions(check.result()) == plan_actions(real) == ["contact", "scope", "publish", "group"]
    assert check.result()["diff"] == real["diff"]
    server = lab.state("plain")["license_server"]
    assert (server["server_role"], server["published"], server["in_tsls_group"]) == (2, True, True)
    assert {c["session"]["become"] for c in run.commands("plain")} == {"Administrator"}
    again = lab.run("plain", "license_server", WANT, extra=BECOME)
    assert again.result()["changed"] is False
    assert len(again.commands("plain")) == 1 and all(is_read(op) for op in again.batches("plain")[0])


def test_a_delegating_listener_converges_without_become(lab):
    run = lab.run("delegated", "license_server", WANT)
    assert run.rc == 0, run.output
    assert plan_actions(run.result()) == ["contact", "scope", "publish", "group"]
    assert lab.state("delegated")["license_server"]["in_tsls_group"] is True
    assert run.commands("delegated")[0]["session"] == {"authentication": "ntlm", "delegation": True, "become": None}
    assert lab.run("delegated", "license_server", WANT).result()["changed"] is False


def test_become_as_system_reaches_the_domain_as_the_computer(lab):
    """SYSTEM reads the group (the computer account may), but is in no admin group: the privilege message."""
    extra = ("-e", "ansible_become=true", "-e", "ansible_become_method=runas", "-e", "ansible_become_user=SYSTEM")
    run = lab.run("system", "license_server", {"ad_group_membership": True}, extra=extra)
    assert run.statuses() == ["failed"]
    assert ("Win32_TSLicenseServer.AddLStoTSLSGroup in root/cimv2 returned 0x80041003 WBEM_E_ACCESS_DENIED (Access "
            "denied). This needs the account Ansible connects with to be a member of Domain Admins") in run.result()["msg"]
    assert "the second hop" in run.result()["msg"]
    assert lab.state("system")["license_server"]["in_tsls_group"] is False


def test_become_with_a_wrong_password_fails_as_logon_user_does(lab):
    before = lab.state("wrongpw")
    extra = ("-e", "ansible_become=true", "-e", "ansible_become_method=runas", "-e", "ansible_become_user=Administrator",
             "-e", "ansible_become_password=wrong-Passw0rd")
    run = lab.run("wrongpw", "license_server", WANT, extra=extra)
    assert run.statuses() == ["failed"]
    assert ("Failed to logon .\\Administrator (The user name or password is incorrect, Win32ErrorCode 1326)"
            in run.result()["msg"])
    assert lab.state("wrongpw") == before
