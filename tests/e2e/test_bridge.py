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
