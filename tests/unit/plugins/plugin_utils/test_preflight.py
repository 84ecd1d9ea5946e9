"""The preflight's class check: the collection's expectations against a host's declarations (Get-CimClass)."""

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _preflight as preflight
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _wmi as wmi
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._bridge import BatchResult


def parameter(name, direction):
    return {"name": name, "cim_type": "String", "qualifiers": [direction]}


def declaration(name, methods=(), properties=()):
    return {"name": name, "properties": [{"name": p, "cim_type": "String", "qualifiers": ["read"]} for p in properties],
            "methods": [{"name": m, "static": True, "parameters": [parameter(n, d) for n, d in params]}
                        for m, params in methods]}


def test_the_read_batch_tells_what_the_collection_assumes():
    expected = preflight.read_expectations()
    server = expected[(wmi.CIMV2, wmi.LICENSE_SERVER_CLASS)]
    assert server["methods"]["IsLSinTSLSGroup"] == {"Domain"}
    assert server["methods"]["GetActivationStatus"] == set()
    assert expected[(wmi.CIMV2, wmi.SERVICE_CLASS)]["properties"] == {"Name", "State", "StartMode"}
    assert (wmi.REGISTRY_NAMESPACE, wmi.REGISTRY_CLASS) in expected


def test_a_missing_method_parameter_or_property_is_named():
    expected = {"methods": {"IsLSinTSLSGroup": {"Domain"}, "GetActivationStatus": set()}, "properties": {"ProductId"}}
    host = declaration("Win32_TSLicenseServer", methods=[("IsLSinTSLSGroup", [("Domain", "Out")])], properties=["Version"])
    assert preflight.disagreements(expected, host) == [
        "Win32_TSLicenseServer declares no method GetActivationStatus",
        "Win32_TSLicenseServer.IsLSinTSLSGroup declares no in-parameter Domain",
        "Win32_TSLicenseServer declares no property ProductId"]


def test_names_differing_only_in_case_agree():
    expected = {"methods": {"IsLSinTSLSGroup": {"Domain"}}, "properties": {"ProductId"}}
    host = declaration("Win32_TSLicenseServer", methods=[("islsintslsgroup", [("domain", "In")])], properties=["PRODUCTID"])
    assert preflight.disagreements(expected, host) == []


def test_compare_names_a_class_the_host_does_not_have():
    expected = {(wmi.CIMV2, wmi.LICENSE_SERVER_CLASS): {"methods": {}, "properties": set()}}
    batch = preflight.declaration_batch(expected)
    assert batch.operations == [{"id": "class.0", "kind": "cim_class", "namespace": wmi.CIMV2,
                                 "class": wmi.LICENSE_SERVER_CLASS}]
    raw = [{"id": "class.0", "kind": "cim_class", "ok": False,
            "error": {"kind": "invalid_class", "hresult": 0x80041010, "message": "Invalid class"}}]
    results = BatchResult(batch, raw)
    assert preflight.compare(expected, results, batch) == ["root/cimv2:Win32_TSLicenseServer does not exist on the host"]
