"""host_bridge called directly through ansible's winrm connection (issue 9, finding 6; issue 10, item 7).

The executor keeps its own table of read-only methods: a caller's read_only flag does not let a call that
changes the host run in check mode."""

import json

import pytest

from .support import ModuleLab

DOMAIN = "corp.example.com"
POLICY = r"SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = ModuleLab.start(tmp_path_factory, f"ls1:license_server:domain={DOMAIN}")
    lab.seed("ls1", {"license_server": {"activation_status": 0, "license_server_id": "LSID" + "0" * 31}})
    yield lab
    lab.stop()


def bridge(lab, *operations, check=False, secrets=""):
    args = {"operations": [dict(op, id=str(i)) for i, op in enumerate(operations)], "secrets": secrets}
    return lab.run("ls1", "host_bridge", args, check=check, diff=False)


@pytest.mark.parametrize("op", [
    {"kind": "cim_invoke", "namespace": "root/cimv2", "class": "Win32_TSLicenseKeyPack",
     "method": "UninstallLicenseKeyPackWithId", "arguments": {"KeyPackId": 2}, "read_only": True},
    {"kind": "cim_invoke", "namespace": "root/default", "class": "StdRegProv", "method": "DeleteValue",
     "read_only": True, "arguments": {"hDefKey": 2147483650, "sSubKeyName": POLICY, "sValueName": "LicensingMode"}},
], ids=["UninstallLicenseKeyPackWithId", "registry delete"])
def test_check_mode_refuses_a_change_marked_read_only(lab, op):
    lab.by_hand("ls1", {"kind": "cim_invoke", "namespace": "root/default", "class": "StdRegProv",
                        "method": "CreateKey", "arguments": {"hDefKey": 2147483650, "sSubKeyName": POLICY}},
                {"kind": "cim_invoke", "namespace": "root/default", "class": "StdRegProv", "method": "SetDWORDValue",
                 "arguments": {"hDefKey": 2147483650, "sSubKeyName": POLICY, "sValueName": "LicensingMode",
                               "uValue": 4}})
    before = lab.state("ls1")
    run = bridge(lab, op, check=True)
    (result,) = run.result()["results"]
    assert result["ok"] is False and result["error"]["kind"] == "check_mode"
    assert run.result()["changed"] is False
    assert lab.state("ls1") == before


def test_the_invocation_never_shows_the_secrets(lab):
    """Ansible.Basic masks the secrets string by its value in the invocation it returns."""
    run = bridge(lab, {"kind": "cim_get", "namespace": "root/cimv2", "class": "Win32_TSLicenseServer"},
                 secrets=json.dumps({"x": "TOPSECRETVALUE1"}))
    assert run.result()["results"][0]["ok"] is True
    assert "TOPSECRETVALUE1" not in json.dumps(run.result())


# --- cim_class: a class's declaration (Get-CimClass), for the preflight (issue 11, item 4) ---------------------

def test_a_class_declaration_is_read_only_and_answered_from_the_schema(lab):
    before = lab.state("ls1")
    op = {"kind": "cim_class", "namespace": "root/cimv2", "class": "Win32_TSLicenseServer"}
    run = bridge(lab, op, check=True)
    (result,) = run.result()["results"]
    assert result["ok"] is True and run.result()["changed"] is False
    declaration = result["declaration"]
    methods = {m["name"]: m for m in declaration["methods"]}
    assert methods["IsLSinTSLSGroup"] == {"name": "IsLSinTSLSGroup", "static": True, "parameters": [
        {"name": "Domain", "cim_type": "String", "qualifiers": ["In"]},
        {"name": "IsMember", "cim_type": "Boolean", "qualifiers": ["Out"]}]}
    assert {"name": "FirstName", "cim_type": "String", "qualifiers": ["read", "write"]} in declaration["properties"]
    assert lab.state("ls1") == before


def test_a_class_outside_the_allowlist_is_refused(lab):
    op = {"kind": "cim_class", "namespace": "root/cimv2", "class": "Win32_Process"}
    (result,) = bridge(lab, op).result()["results"]
    assert result["error"] == {"kind": "not_allowed", "message": "root/cimv2:Win32_Process is not on the bridge's "
                                                                 "allowlist"}


def test_the_host_declares_what_the_collections_reads_assume(lab):
    """The preflight's class check through the real connection: the collection's expectations (from its read
    batch) against the lab's declarations (from Microsoft's schema)."""
    from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _preflight as preflight
    from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._bridge import BatchResult
    expected = preflight.read_expectations()
    batch = preflight.declaration_batch(expected)
    run = lab.run("ls1", "host_bridge", {"operations": batch.operations, "secrets": ""}, check=True, diff=False)
    results = BatchResult(batch, run.result()["results"])
    assert preflight.compare(expected, results, batch) == []
