"""Helpers shared by the test_model_* files (no tests here): run bridge operations on a host model
in process, as ansible's call of host_bridge would."""

from pathlib import Path

from rdlab.modules import host_bridge as bridge

SOURCE = (Path(__file__).resolve().parents[3] / "plugins/modules/host_bridge.ps1").read_text()
LS = {"namespace": "root/cimv2", "class": "Win32_TSLicenseServer"}
PACKS = {"namespace": "root/cimv2", "class": "Win32_TSLicenseKeyPack"}
TS = {"namespace": "root/cimv2/TerminalServices", "class": "Win32_TerminalServiceSetting"}
CONTACT = {"FirstName": "Ada", "LastName": "Lovelace", "Company": "Example", "CountryRegion": "Denmark"}


def one(host, op):
    """The result of one operation."""
    return bridge.run(host, {"operations": [dict(op, id="0")]}, SOURCE)["results"][0]


def invoke(method, target=None, **kwargs):
    return dict(target or LS, kind="cim_invoke", method=method, **kwargs)
