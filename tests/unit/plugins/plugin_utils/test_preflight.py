"""The preflight's class check: the collection's expectations against a host's declarations (Get-CimClass)."""

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _license_server as license_server
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _preflight as preflight
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _wmi as wmi
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._bridge import BatchResult
# The bridge-shaped read results licensing_info's parser is tested with.
from ansible_collections.remote_desktop.licensing.tests.unit.plugins.plugin_utils import test_info as sample


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
    # Qualifier names are case-insensitive in MOF, so a class may declare `in`.
    host = declaration("Win32_TSLicenseServer", methods=[("IsLSinTSLSGroup", [("Domain", "in")])], properties=["ProductId"])
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


# --- the whole preflight: one batch's results judged ------------------------------------------------------------


NTLM = {"transport": "ntlm", "kerberos_delegation": False, "become": False, "become_method": None}
BECOME = dict(NTLM, become=True, become_method="runas")
DENIED = {"ok": False, "error": {"kind": "return_value", "return_value": 0x80070005, "out": {}}}


def declared_as_expected():
    """Each class declared with exactly what the collection's reads use."""
    found = {}
    for key, entry in preflight.read_expectations().items():
        name = key[1]  # class names are unique across the namespaces the collection reads
        found[name] = declaration(name, methods=[(m, [(a, "In") for a in args]) for m, args in entry["methods"].items()],
                                  properties=sorted(entry["properties"]))
    return found


def run(raw, connection=None, anonymize=False, declarations=None, privileges_held=True):
    batch = preflight.batch()
    declarations = declared_as_expected() if declarations is None else declarations
    answers = []
    for op in batch.operations:
        if op["kind"] == "cim_class":
            answers.append(sample.ok(declaration=declarations[op["class"]]) if op["class"] in declarations
                           else sample.MISSING)
        elif op["id"].startswith("privilege."):
            answers.append(sample.ok(return_value=0, out={"sValue": "Server"}) if privileges_held else {
                "ok": False, "error": {"kind": "cim_error", "message": "Failed to enable privilege"}})
        else:
            answers.append(raw.get(op["id"], sample.NOT_FOUND))
    assumptions, observation = preflight.assess(BatchResult(batch, answers), connection or NTLM, anonymize)
    return dict((a["name"], a) for a in assumptions), observation


def domain_member(raw):
    raw["computer"] = sample.ok(instances=[{"Name": "LS1", "Domain": "corp.example.com", "PartOfDomain": True}])
    return raw


def test_the_batch_only_reads_and_never_asks_the_license_server_id():
    batch = preflight.batch()
    assert all(op["kind"] in ("cim_get", "feature_get", "cim_class") or op.get("read_only") for op in batch.operations)
    assert "GetLicenseServerId" not in [op.get("method") for op in batch.operations]
    assert batch.operations[-1]["privileges"] == ["SeShutdownPrivilege"]


def test_a_workgroup_license_server_as_expected_holds_everything():
    checks, observation = run(sample.license_server())
    assert [name for name, a in checks.items() if not a["holds"]] == []
    assert checks["domain_controller_reachable"]["observed"] == "not a domain member"
    assert observation["license_server"]["contact_set"] == ["company", "country_region", "first_name", "last_name"]
    text = str(observation)
    assert "Ada" not in text and "00490-1" not in text and "A" * 35 not in text


def test_licensing_classes_may_be_absent_only_without_the_role():
    declarations = dict((k, v) for k, v in declared_as_expected().items() if not k.startswith("Win32_TS"))
    assert run(sample.bare_host(), declarations=declarations)[0]["class_declarations"]["holds"] is True
    failed = run(sample.license_server(), declarations=declarations)[0]["class_declarations"]
    assert not failed["holds"] and "root/cimv2:Win32_TSLicenseServer does not exist on the host" in failed["observed"]


def test_the_second_hop_is_named_with_license_servers_advice():
    raw = domain_member(sample.license_server())
    raw["group"] = DENIED
    checks = run(raw)[0]
    hop = checks["domain_controller_reachable"]
    assert hop["holds"] is False and "0x80070005 E_ACCESSDENIED" in hop["meaning"]
    assert "become: true with become_method: runas" in hop["meaning"]
    assert checks["connection_delegates"]["holds"] is False
    remedy = license_server.second_hop_remedy()
    assert hop["meaning"].endswith(remedy) and checks["connection_delegates"]["meaning"].endswith(remedy)
    assert run(domain_member(sample.license_server()), connection=BECOME)[0]["connection_delegates"]["holds"] is True


def test_an_unknown_product_version_a_missing_privilege_and_an_old_windows_are_named():
    raw = sample.license_server()
    raw["key_packs"] = sample.ok(instances=[sample.BUILT_IN, dict(sample.PER_USER_2012, ProductVersionID=9)])
    raw["os"] = sample.ok(instances=[{"Caption": "Microsoft Windows Server 2012 Standard", "Version": "6.2.9200"}])
    checks = run(raw, privileges_held=False)[0]
    failed = [n for n, a in checks.items() if not a["holds"]]
    assert failed == ["windows_version", "key_pack_versions", "token_privileges"]
    assert checks["key_pack_versions"]["observed"] == [0, 9]
    assert "SeShutdownPrivilege" in checks["token_privileges"]["meaning"]


def test_a_refused_policy_read_is_named():
    raw = sample.bare_host()
    raw["policy_mode"] = DENIED
    policy = run(raw)[0]["policy_keys"]
    assert policy["holds"] is False and policy["observed"]["policy_servers"] == "absent"


def test_anonymize_replaces_every_host_name():
    raw = domain_member(sample.license_server())
    raw["group"] = DENIED
    raw["policy_servers"] = sample.ok(return_value=0, out={"sValue": "ls2.corp.example.com, LS3"})
    checks, observation = run(raw, anonymize=True)
    text = (str(checks) + str(observation)).lower()
    assert "ls1" not in text and "corp.example.com" not in text and "ls2" not in text and "ls3" not in text
    assert observation["host"]["name"] == "host-1" and observation["host"]["domain"] == "domain-1"
    assert observation["session_host"]["policy"]["license_servers"] == ["server-1", "server-2"]
    assert checks["domain_controller_reachable"]["meaning"].startswith("host-1 could not reach")
