"""The simulated lab over the wire: what Windows rejects, HTTPS, facts, persistence, secrets."""

import json

import pytest
import yaml

from rdlab.testing import Lab, start_lab

BRIDGE = "remote_desktop.licensing.host_bridge"


def bridge_call(lab, host, tmp_path, *operations, secrets=None):
    args = {"operations": [dict(op, id=str(i)) for i, op in enumerate(operations)], "secrets": json.dumps(secrets) if secrets else ""}
    return lab.adhoc(host, BRIDGE, args, tmp_path=tmp_path)[host]


def test_windows_rejections_over_winrm(lab, tmp_path):
    ls = {"namespace": "root/cimv2", "class": "Win32_TSLicenseServer", "kind": "cim_invoke"}
    result = bridge_call(lab, "ls1", tmp_path,
                         dict(ls, method="GetActivationStatsu"),
                         dict(ls, method="IsLSinTSLSGroup", arguments={"Domian": ""}))
    misspelt_method, misspelt_param = [r["error"] for r in result["results"]]
    # A method the bridge does not allow never reaches Windows (the lab's model answers 0x8004102E for it:
    # tests/lab/tests/test_model.py).
    assert misspelt_method == {"kind": "not_allowed",
                               "message": "Win32_TSLicenseServer.GetActivationStatsu is not on the bridge's allowlist"}
    assert (misspelt_param["native_error"], misspelt_param["hresult"]) == ("InvalidParameter", 0x8004102F)
    no_role = bridge_call(lab, "bare", tmp_path, dict(ls, kind="cim_get"))["results"][0]["error"]
    assert (no_role["kind"], no_role["hresult"], no_role["message"]) == ("invalid_class", 0x80041010, "Invalid class")


def test_secrets_never_reach_transcript_state_or_event_log(lab, tmp_path):
    secret = "1234567"
    op = {"namespace": "root/cimv2", "class": "Win32_TSLicenseKeyPack", "kind": "cim_invoke",
          "method": "InstallAgreementLicenseKeyPack", "secret_arguments": {"sAgreementNumber": "agreement"},
          "arguments": {"AgreementType": 0, "ProductVersion": 7, "ProductType": 1, "LicenseCount": 5}}
    result = bridge_call(lab, "ls1", tmp_path, op, secrets={"agreement": secret})
    assert result["results"][0]["error"]["kind"] == "return_value"  # not activated: nothing installed
    for text in (json.dumps(result), (lab.dir / "transcript.jsonl").read_text(),
                 (lab.dir / "hosts" / "ls1.json").read_text()):
        assert secret not in text
    line = [t for t in lab.transcript("ls1") if t.get("method") == "InstallAgreementLicenseKeyPack"][-1]
    assert line["secret_arguments"] == {"sAgreementNumber": "string (secret, masked)"}
    assert line["arguments"] == {"AgreementType": "integer", "LicenseCount": "integer", "ProductType": "integer",
                                 "ProductVersion": "integer"}
    # host_bridge is no_log as a whole: Ansible.Basic writes no "Invoked with" event for it.
    assert all(entry["module"] != "remote_desktop.licensing.host_bridge" for entry in lab.state("ls1").get("event_log", []))


def test_unsimulated_modules_fail_loudly(lab, tmp_path):
    result = lab.adhoc("bare", "ansible.windows.win_shell", None, "-a", "whoami", tmp_path=tmp_path)["bare"]
    assert result["_rc"] != 0
    assert "does not simulate the module ansible.windows.win_shell" in result["msg"]


def test_playbook_with_gather_facts(lab, tmp_path):
    playbook = tmp_path / "facts.yml"
    playbook.write_text(json.dumps([{"name": "facts", "hosts": "sh1", "gather_facts": True, "tasks": [
        {"ansible.builtin.assert": {"that": ["ansible_os_family == 'Windows'",
                                             "ansible_distribution_version == '10.0.17763'"]}}]}]))
    run = lab.playbook(playbook)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "ok=2" in run.stdout


def inventory_vars(lab):
    return yaml.safe_load(lab.inventory.read_text())["all"]["vars"]


@pytest.fixture
def https_lab(tmp_path_factory):
    lab = start_lab(tmp_path_factory.mktemp("https"), "ls9:license_server", "sh9:session_host:address=127.0.0.2",
                    scheme="https")
    yield lab
    lab.rdlab("stop")


def test_https_with_certificate_validation(https_lab, tmp_path):
    from rdlab.winrm.tls import CERT_NAME
    assert inventory_vars(https_lab) | {"ansible_password": "-"} == {
        "ansible_connection": "winrm", "ansible_winrm_scheme": "https", "ansible_user": "Administrator",
        "ansible_password": "-", "ansible_winrm_transport": "ntlm", "ansible_winrm_message_encryption": "auto",
        "ansible_winrm_server_cert_validation": "validate",
        "ansible_winrm_ca_trust_path": str(https_lab.dir / "tls" / CERT_NAME)}
    # The certificate names both hosts' addresses.
    results = https_lab.adhoc("all", "remote_desktop.licensing.licensing_info", tmp_path=tmp_path)
    assert {host: result["_rc"] for host, result in results.items()} == {"ls9": 0, "sh9": 0}, results
    assert results["ls9"]["license_server"]["installed"] is True


def test_a_basic_lab_over_http(tmp_path_factory, tmp_path):
    lab = start_lab(tmp_path_factory.mktemp("basic"), "ls8:license_server", auth="basic")
    try:
        assert {k: v for k, v in inventory_vars(lab).items() if k.startswith("ansible_winrm")} == {
            "ansible_winrm_scheme": "http", "ansible_winrm_transport": "basic",
            "ansible_winrm_message_encryption": "never"}
        result = lab.adhoc("ls8", "remote_desktop.licensing.licensing_info", tmp_path=tmp_path)["ls8"]
        assert result["_rc"] == 0, result
        # A Basic lab offers Basic only: NTLM gets a 401, as from a listener with Negotiate turned off.
        ntlm = lab.adhoc("ls8", "ansible.windows.win_ping", None, "-e", "ansible_winrm_transport=ntlm",
                         tmp_path=tmp_path)["ls8"]
        assert ntlm["_rc"] != 0 and "credentials were rejected" in ntlm["msg"]
    finally:
        lab.rdlab("stop")


def test_the_default_lab_speaks_ntlm_with_encryption_only(lab, tmp_path):
    assert {k: v for k, v in inventory_vars(lab).items() if k.startswith("ansible_winrm")} == {
        "ansible_winrm_scheme": "http", "ansible_winrm_transport": "ntlm", "ansible_winrm_message_encryption": "auto"}
    for override, message in (("ansible_winrm_transport=basic", "credentials were rejected"),
                              ("ansible_winrm_message_encryption=never", "AllowUnencrypted is false")):
        result = lab.adhoc("bare", "ansible.windows.win_ping", None, "-e", override, tmp_path=tmp_path)["bare"]
        assert result["_rc"] != 0 and message in result["msg"], result


def test_state_survives_a_restart(https_lab, tmp_path):
    seed = tmp_path / "contact.json"
    seed.write_text(json.dumps({"license_server": {"contact": {"Company": "Persisted Ltd"}}}))
    https_lab.rdlab("seed", "ls9", str(seed))
    https_lab.rdlab("stop")
    https_lab.rdlab("start")
    result = https_lab.adhoc("ls9", "remote_desktop.licensing.licensing_info", tmp_path=tmp_path)["ls9"]
    assert result["license_server"]["contact"]["company"] == "Persisted Ltd"


def test_lab_refuses_non_loopback_addresses(tmp_path):
    run = Lab(tmp_path).rdlab("start", "--host", "x:address=10.0.0.5", check=False)
    assert run.returncode != 0
    assert not (tmp_path / "ready").exists()
