"""Helpers shared by the test_model_* files (no tests here): run bridge operations on a host model
in process, as ansible's call of host_bridge would."""

import re
from pathlib import Path

from rdlab.modules import host_bridge as bridge

SOURCE = (Path(__file__).resolve().parents[3] / "plugins/modules/host_bridge.ps1").read_text()


def widen(source: str) -> str:
    """The module source with every modelled method, and the registry keys and services these tests use, on
    its allowlist: the test_model_* files test the models' answers, not the bridge's allowlist (that is
    test_bridge_agreement.py's and test_model.py's business)."""
    from rdlab.model.repository import REPOSITORY
    methods = "\n".join("    '%s' = @(%s)" % (cls.name, ", ".join("'%s'" % m.name for m in cls.methods))
                        for cls in REPOSITORY.classes.values() if cls.methods)
    source = re.sub(r"^\$changingMethods = @\{.*?^\}", lambda m: "$changingMethods = @{\n" + methods + "\n}", source,
                    count=1, flags=re.S | re.M)
    keys = ["SOFTWARE\\Lab\\Test", "SOFTWARE\\Lab\\Test\\Child", "SOFTWARE\\Lab\\Test\\Missing",
            "SOFTWARE\\Lab\\Test\\Beta\\Deeper", "SOFTWARE\\Lab\\Test\\Alpha"]
    source = source.replace("$registryKeys = @(", "$registryKeys = @(%s, " % ", ".join("'%s'" % k for k in keys), 1)
    return source.replace("$services = @(", "$services = @('Missing', ", 1)


WIDE_SOURCE = widen(SOURCE)
LS = {"namespace": "root/cimv2", "class": "Win32_TSLicenseServer"}
PACKS = {"namespace": "root/cimv2", "class": "Win32_TSLicenseKeyPack"}
TS = {"namespace": "root/cimv2/TerminalServices", "class": "Win32_TerminalServiceSetting"}
CONTACT = {"FirstName": "Ada", "LastName": "Lovelace", "Company": "Example", "CountryRegion": "Denmark"}


def one(host, op):
    """The result of one operation."""
    return bridge.run(host, {"operations": [dict(op, id="0")]}, WIDE_SOURCE)["results"][0]


def invoke(method, target=None, **kwargs):
    return dict(target or LS, kind="cim_invoke", method=method, **kwargs)
