"""Every CIM name the plugins use is Microsoft's, in Microsoft's case (issue 10).

The names come from the lab's copy of Microsoft's published schema (tests/lab/rdlab/schema), which
tools/extract-cim-schema.py extracts from MicrosoftDocs/win32 and microsoft/wmi, never from plugin code.
Any identifier-like string in plugins/ with a capital letter (the shape of a CIM name) must be a
class, property, method or parameter name of the schema, spelt exactly so, or one of the listed
non-CIM words (values and registry names). So a misspelt or mis-cased CIM name fails here.
"""

import ast
import re
from pathlib import Path

from rdlab.schema import SCHEMA

PLUGINS = Path(__file__).resolve().parents[3] / "plugins"
CIM_SHAPED = re.compile(r"[A-Za-z][A-Za-z0-9]*")
# Capitalised words in plugins/ that are not CIM names, and what they are.
NOT_CIM = {
    # Win32_Service StartMode / ChangeStartMode / State values
    "Auto", "Automatic", "Running",
    # Get-WindowsFeature InstallState values and Install-WindowsFeature RestartNeeded / ExitCode values
    "Install", "Installed", "InstallPending", "UninstallPending", "Removed", "Available", "Unknown", "Yes", "Maybe",
    "Success", "SuccessRestartRequired", "NoChangeNeeded",
    # Win32_OperatingSystem Caption prefix
    "Windows",
    # a Windows privilege constant name (winnt.h SE_SHUTDOWN_NAME), which the bridge enables for a call
    "SeShutdownPrivilege",
    # the RD Licensing service short name (a Win32_Service Name value)
    "TermServLicensing",
    # registry value names: Group Policy (rd-licensing-wmi.md §4), CurrentVersion, the collection's own records
    "LicensingMode", "LicenseServers", "InstallationType", "KeyPackMarkers", "Salt", "LocalPolicy",
    # the registry name Windows writes when the grace period ends (hh553157)
    "LicensingGracePeriodEnded",
    # plan step words
    "Publish", "Unpublish",
    # properties of the WMI system classes __SecurityDescriptor, __ACE and __Trustee, which the extracted schema
    # does not hold (MicrosoftDocs/win32 desktop-src/WmiSdk/--securitydescriptor.md, --ace.md, --trustee.md;
    # DACL and SID pass as acronyms), and the CimType names the bridge converts an embedded instance's
    # properties to (Microsoft.Management.Infrastructure.CimType)
    "ControlFlags", "AccessMask", "AceFlags", "AceType", "Trustee", "SidLength", "SidString",
    "UInt32", "UInt8Array", "String",
    # the qualifier Get-CimClass gives an in-parameter (the preflight's class check)
    "In",
    # an InstallationType value (CurrentVersion) and the word the preflight looks for in the Caption
    "Server",
}


def schema_names():
    names = set()
    for cls in SCHEMA.classes():
        names.add(cls["name"])
        names.update(p["name"] for p in cls["properties"])
        for method in cls["methods"]:
            names.add(method["name"])
            names.update(p["name"] for p in method["params"])
    return names


def problems(sources):
    """'file:line: word' for every CIM-shaped string that is not Microsoft's exact spelling."""
    names = schema_names()
    folded = {}
    for name in names:
        folded.setdefault(name.lower(), name)
    found = []
    for path, text in sources.items():
        for node in ast.walk(ast.parse(text)):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                continue
            word = node.value
            if not CIM_SHAPED.fullmatch(word) or word == word.lower() or word in names or word in NOT_CIM:
                continue
            if word.isupper() and len(word) <= 4:
                continue  # acronyms (CAL, RDS) are not CIM names
            hint = " (Microsoft spells it %s)" % folded[word.lower()] if word.lower() in folded else ""
            found.append("%s:%d: %s%s" % (path, node.lineno, word, hint))
    return found


def plugin_sources():
    return dict((str(p.relative_to(PLUGINS.parent)), p.read_text()) for p in sorted(PLUGINS.rglob("*.py"))
                if p.parent.name != "modules")  # plugins/modules/*.py are documentation


def test_every_cim_name_in_plugins_is_microsofts_exact_spelling():
    assert problems(plugin_sources()) == []


def test_wmi_class_constants_are_schema_classes_in_their_namespaces():
    from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _wmi as wmi
    pairs = [(wmi.CIMV2, wmi.LICENSE_SERVER_CLASS), (wmi.CIMV2, wmi.KEY_PACK_CLASS), (wmi.CIMV2, wmi.ISSUED_LICENSE_CLASS),
             (wmi.TS_NAMESPACE, wmi.TS_SETTING_CLASS), (wmi.CIMV2, wmi.SERVICE_CLASS), (wmi.CIMV2, wmi.OS_CLASS),
             (wmi.CIMV2, wmi.COMPUTER_SYSTEM_CLASS), (wmi.REGISTRY_NAMESPACE, wmi.REGISTRY_CLASS)]
    for namespace, name in pairs:
        found = SCHEMA.find_class(namespace, name)
        assert found is not None and found["name"] == name and found["namespace"] == namespace, (namespace, name)


def test_a_misspelt_or_miscased_name_is_caught():
    source = ('code = result.out.get("TsToLsConnectivityStatus")\n'
              'batch.invoke("x", ns, cls, "GetTStoLSConectivityStatus", arguments={"ServerName": s})\n'
              'state = instance.get("State")\n')
    assert problems({"example.py": source}) == [
        "example.py:1: TsToLsConnectivityStatus (Microsoft spells it TStoLSConnectivityStatus)",
        "example.py:2: GetTStoLSConectivityStatus",
    ]
