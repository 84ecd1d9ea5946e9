"""host_bridge.ps1 and the lab's executor (rdlab/modules/host_bridge.py) held together (issue 10, item 6).

No PowerShell runs here, so the script is parsed with tree-sitter (tree-sitter-powershell, as
`make ps-syntax` does) and what it declares is compared with the mirror: operation kinds and their
dispatch, required fields, read-only kinds, the allowlist and its tables, error kinds (literal, switch
branches, New-BridgeError kinds, catch-all kinds), result keys of each operation, the CIM type table.
Adding any of these to one side only fails a test here. Then the edge inputs a line-by-line review
found, run through the mirror; the script's side of each is named in its test.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
from pathlib import Path

import pytest
import tree_sitter
import tree_sitter_powershell

from rdlab.model import cim
from rdlab.model.host import Host, new_host_state
from rdlab.modules import host_bridge as mirror

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = (ROOT / "plugins/modules/host_bridge.ps1").read_bytes()
MIRROR = Path(mirror.__file__).read_text()
# Script function -> the mirror functions that build the same result.
RESULT_BUILDERS = {
    "Invoke-CimGet": ["cim_get"], "Invoke-CimCall": ["cim_invoke", "_invoke"], "ConvertFrom-MethodResult": ["_method_result"],
    "Invoke-CimSet": ["cim_set"], "Invoke-Feature": ["feature"], "Invoke-Operation": ["operation", "_error"],
    "Get-ClassDeclaration": ["cim_class"],
}
# Hashtables the script builds as cmdlet parameters or for its own use, not results.
NOT_RESULTS = {"params", "readBack", "properties", "table", "arguments", "given", "out", "dict"}


# --- the script, parsed ----------------------------------------------------------------------------

def parse(source: bytes):
    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))
    return parser.parse(source).root_node


def walk(node):
    yield node
    for child in node.children:
        yield from walk(child)


def text(node) -> str:
    return node.text.decode()


def literal(node) -> str:
    return text(node)[1:-1] if node.type == "string_literal" else text(node)


def strings(node) -> list[str]:
    return [literal(n) for n in walk(node) if n.type == "string_literal"]


def assignment(root, name: str):
    """The right-hand side of the top-level `$name = ...`."""
    for node in walk(root):
        if node.type == "assignment_expression":
            left = node.children[0]
            if text(left).strip() == "$" + name:
                return node.children[2]
    raise AssertionError(f"no ${name} = ... in host_bridge.ps1")


def hashtable(node) -> dict[str, list[str]]:
    table = {}
    for entry in walk(node):
        if entry.type == "hash_entry":
            key = entry.children[0]
            table[literal(next(n for n in walk(key) if n.type in ("string_literal", "simple_name")))] = \
                strings(entry.children[2])
    return table


def function(root, name: str):
    for node in walk(root):
        if node.type == "function_statement" and text(node.children[1]) == name:
            return node
    raise AssertionError(f"no function {name} in host_bridge.ps1")


def script_tables(root) -> dict:
    tables = {name: hashtable(assignment(root, name)) for name in mirror.HASHTABLES}
    for node in walk(root):  # `$name['key'] += @(...)` after a table adds to that entry
        if node.type == "assignment_expression" and text(node.children[1]).strip() == "+=":
            added = re.fullmatch(r"\$(\w+)\['([^']+)'\]", text(node.children[0]).strip())
            if added and added.group(1) in tables:
                tables[added.group(1)].setdefault(added.group(2), []).extend(strings(node.children[2]))
    tables.update({name: strings(assignment(root, name)) for name in mirror.ARRAYS})
    return tables


def dispatch_kinds(root) -> set[str]:
    """The switch in Invoke-Operation that runs each kind: its explicit branches."""
    body = function(root, "Invoke-Operation")
    switch = next(n for n in walk(body) if n.type == "switch_statement" and "-CaseSensitive" in text(n))
    return {literal(c.children[0].children[0]) for c in walk(switch)
            if c.type == "switch_clause" and c.children[0].children}


def script_error_kinds(root) -> set[str]:
    kinds = set()
    for node in walk(root):
        if node.type == "hash_entry" and text(node.children[0]).strip() == "kind":
            value = [n for n in walk(node.children[2]) if n.type == "string_literal"]
            kinds.update(literal(n) for n in value)
        if node.type == "command" and text(node.children[0]) == "New-BridgeError":
            arguments = [n for n in walk(node.children[1]) if n.type == "string_literal"]
            kinds.add(literal(arguments[-1]))
        if node.type == "assignment_expression" and text(node.children[0]).strip() == "$errorKind":
            # Only the values chosen (switch clause bodies, if/elseif/else bodies), not the conditions.
            for block in walk(node.children[2]):
                if block.type == "statement_block":
                    body = text(block)[1:-1].strip()
                    kinds.update(literal(s) for s in walk(block) if s.type == "string_literal" and text(s) == body)
    return kinds


def script_result_keys(root, name: str) -> set[str]:
    keys = set()
    for node in walk(function(root, name)):
        if node.type == "assignment_expression" and text(node.children[0]).strip().lstrip("$") in NOT_RESULTS:
            continue
        if node.type == "hash_literal_expression" and not _assigned_to_internal(node):
            keys.update(text(e.children[0]).strip() for e in node.children[1].children if e.type == "hash_entry")
    return keys


def _assigned_to_internal(node) -> bool:
    parent = node.parent
    while parent is not None and parent.type != "function_statement":
        if parent.type == "assignment_expression":
            return text(parent.children[0]).strip().lstrip("$") in NOT_RESULTS
        parent = parent.parent
    return False


# --- the mirror, read ------------------------------------------------------------------------------

def mirror_result_keys(names: list[str]) -> set[str]:
    tree = ast.parse(MIRROR)
    keys = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name in names:
            internal = {id(n.value) for n in ast.walk(node) if isinstance(n, ast.Assign)
                        and any(isinstance(t, ast.Name) and t.id in ("read_back",) for t in n.targets)}
            # A dict literal looked up at once ({...}.get(x)) is a mapping table, not a result.
            internal |= {id(n.value) for n in ast.walk(node) if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Dict)}
            for d in ast.walk(node):
                if isinstance(d, ast.Dict) and id(d) not in internal:
                    keys.update(k.value for k in d.keys if isinstance(k, ast.Constant) and isinstance(k.value, str))
    return keys


def mirror_error_kinds() -> set[str]:
    """Every kind the mirror can report: 'kind' entries, _error() and BridgeError() first arguments, and the
    kinds chosen by mapping tables."""
    kinds = set()
    for node in ast.walk(ast.parse(MIRROR)):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if isinstance(key, ast.Constant) and key.value == "kind" and isinstance(value, ast.Constant):
                    kinds.add(value.value)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("_error", "BridgeError") and \
                len(node.args) >= (1 if node.func.id == "_error" else 2):
            arg = node.args[0] if node.func.id == "_error" else node.args[1]
            if isinstance(arg, ast.Constant):
                kinds.add(arg.value)
            elif isinstance(arg, ast.IfExp):
                kinds.update(v.value for v in (arg.body, arg.orelse) if isinstance(v, ast.Constant))
    kinds.update({"invalid_class", "invalid_namespace", "cim_error"})  # the NativeErrorCode mapping's values
    return kinds


@pytest.fixture(scope="module")
def script():
    return parse(SCRIPT)


# --- the agreement -----------------------------------------------------------------------------------

def test_the_script_parses(script):
    assert not any(n.type == "ERROR" or n.is_missing for n in walk(script))


def test_tables_read_by_the_mirror_are_the_scripts(script):
    assert mirror.read_tables(SCRIPT.decode()) == script_tables(script)


def test_an_addition_before_its_table_is_refused_as_powershell_would():
    """`$t['k'] += @(...)` before `$t = @{...}` indexes $null: the module would fail on Windows, so the lab fails."""
    text = SCRIPT.decode()
    line = "$changingMethods['StdRegProv'] += @('SetSecurityDescriptor')\n"
    moved = text.replace(line, "").replace("$changingMethods = @{", line + "$changingMethods = @{", 1)
    assert moved != text
    with pytest.raises(mirror.BridgeModuleError, match="before the table is defined"):
        mirror.read_tables(moved)


def test_kinds_and_their_dispatch(script):
    required = set(script_tables(script)["requiredFields"])
    explicit = dispatch_kinds(script)
    assert explicit == set(_mirror_handlers())
    # Every other kind takes the switch's default branch, the feature branch: the mirror's too.
    assert required - explicit == set(mirror.FEATURE_KINDS)


def _mirror_handlers():
    batch = mirror._Batch(Host(new_host_state("x")), script_tables(parse(SCRIPT)), {}, False)
    return batch.handlers


def test_read_only_kinds(script):
    assert set(script_tables(script)["readOnlyKinds"]) == {"cim_get", "feature_get", "cim_class"}
    batch = mirror._Batch(Host(new_host_state("x")), script_tables(script), {}, False)
    for kind in script_tables(script)["requiredFields"]:
        assert batch.read_only({"class": "X", "method": "Y"}, kind) == (kind in script_tables(script)["readOnlyKinds"])


def test_error_kinds(script):
    assert script_error_kinds(script) == mirror.ERROR_KINDS
    assert mirror_error_kinds() == mirror.ERROR_KINDS


@pytest.mark.parametrize("script_function", sorted(RESULT_BUILDERS))
def test_result_keys(script, script_function):
    assert script_result_keys(script, script_function) == mirror_result_keys(RESULT_BUILDERS[script_function])


def test_cim_type_table(script):
    body = function(script, "ConvertTo-CimValue")
    types = next(n for n in walk(body) if n.type == "assignment_expression" and text(n.children[0]).strip() == "$types")
    script_types = {text(e.children[0]).strip().lower() for e in walk(types) if e.type == "hash_entry"}
    assert script_types == set(cim.UINT_RANGES) | set(cim.SINT_RANGES) | {"boolean", "string"}


def test_privileges_are_enabled_around_the_call_on_both_sides(script):
    """'privileges' (issue 11): the script loads ansible-core's Ansible.Privilege util and Invoke-CimCall makes
    its PrivilegeEnabler, disposed in a finally; the mirror enables the same names for its call only."""
    assert b"#AnsibleRequires -CSharpUtil Ansible.Privilege" in SCRIPT
    assert script_tables(script)["privileges"] == ["SeShutdownPrivilege"]
    call = text(function(script, "Invoke-CimCall"))
    assert "New-PrivilegeEnabler $Op" in call and "$enabler.Dispose()" in call.split("finally", 1)[1]
    assert "[Ansible.Privilege.PrivilegeEnabler]::new($true" in text(function(script, "New-PrivilegeEnabler"))
    host = Host(new_host_state("srv"))
    seen = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mirror._Batch, "_invoke", lambda self, op, arguments: seen.append(set(self.host.privileges_enabled))
                      or {"return_value": 0, "out": {}})
        run(host, dict(OS, kind="cim_invoke", method="Win32ShutdownTracker", privileges=["SeShutdownPrivilege"]))
    assert seen == [{"seshutdownprivilege"}] and host.privileges_enabled == set()


def shape_messages_of_the_script(root) -> set[str]:
    """The messages Test-Shape returns (its double-quoted literals after `return`)."""
    body = function(root, "Test-Shape")
    return {text(n)[1:-1] for r in walk(body) if r.type == "flow_control_statement" and text(r).startswith("return")
            for n in walk(r) if n.type == "expandable_string_literal"}


def shape_messages_of_the_mirror() -> set[str]:
    node = next(n for n in ast.walk(ast.parse(MIRROR)) if isinstance(n, ast.FunctionDef) and n.name == "_shape_problem")
    return {r.value.value for r in ast.walk(node) if isinstance(r, ast.Return) and isinstance(r.value, ast.Constant)
            and isinstance(r.value.value, str)}


def test_shape_checks_agree(script):
    """Test-Shape and _shape_problem refuse the same operation keys with the same words (omit_properties too)."""
    messages = shape_messages_of_the_script(script)
    assert "'omit_properties' must be a list of property names" in messages
    assert messages == shape_messages_of_the_mirror()


def test_omit_properties_reach_every_embedded_instance_on_both_sides(script):
    """omit_properties (issue 13): Invoke-CimCall hands the op's list to ConvertFrom-MethodResult on both of its
    paths, which hands it to ConvertTo-BridgeValue, which leaves those properties out of an instance and passes
    the list down into arrays and nested instances; the mirror does the same, ignoring case as -contains does."""
    call = text(function(script, "Invoke-CimCall"))
    assert call.count("ConvertFrom-MethodResult (Invoke-CimMethod") == call.count("$Op['omit_properties']") == 2
    assert "ConvertTo-BridgeValue $p.Value $Omit" in text(function(script, "ConvertFrom-MethodResult"))
    convert = text(function(script, "ConvertTo-BridgeValue"))
    assert "if (-not (@($Omit) -contains $p.Name)) { $dict[$p.Name] = ConvertTo-BridgeValue $p.Value $Omit }" in convert
    assert "ConvertTo-BridgeValue $_ $Omit" in convert
    host = Host(new_host_state("ls1", roles=("license_server",), domain="corp.example.com"))
    entries = [{"sIssuedToComputer": "PC1", "sHardwareId": "0a-1b", "ExpirationDate": None, "ProductVersionID": 7}]
    report = dict(LS, **{"class": "Win32_TSLicenseReport"}, kind="cim_invoke", method="FetchReportPerDeviceEntries",
                  arguments={"StartIndex": 0, "Count": 10})
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mirror.REPOSITORY, "invoke", lambda *a, **k: {
            "ReturnValue": 0, "Count": 1, "ReportPerDeviceEntries": [dict(e) for e in entries]})
        whole, omitted, refused = run(host, report, dict(report, omit_properties=["shardwareid", "User"]),
                                      dict(report, omit_properties=["sHardwareId", 7]))["results"]
    assert whole["out"]["ReportPerDeviceEntries"][0]["sHardwareId"] == "0a-1b"
    assert omitted["out"]["ReportPerDeviceEntries"] == [{"sIssuedToComputer": "PC1", "ExpirationDate": None,
                                                         "ProductVersionID": 7}]
    assert omitted["out"]["Count"] == 1  # a top-level out parameter is not an embedded instance's property
    assert refused["error"] == {"kind": "invalid_operation",
                                "message": "'omit_properties' must be a list of property names"}


def test_the_agreement_fails_when_one_side_changes(script):
    """The test above is not vacuous: a kind or an error kind added to the script alone is seen."""
    changed = SCRIPT.replace(b"'cim_set' { Invoke-CimSet $Op }", b"'cim_set' { Invoke-CimSet $Op }\n"
                             b"            'cim_delete' { Invoke-CimDelete $Op }")
    assert dispatch_kinds(parse(changed)) != set(_mirror_handlers())
    changed = SCRIPT.replace(b"'InvalidNamespace' { 'invalid_namespace' }",
                             b"'InvalidNamespace' { 'invalid_namespace' }\n            'AccessDenied' { 'access_denied' }")
    assert script_error_kinds(parse(changed)) != mirror.ERROR_KINDS
    changed = SCRIPT.replace(b"must be a list of property names", b"must be a list of names")
    assert shape_messages_of_the_script(parse(changed)) != shape_messages_of_the_mirror()


# --- edge inputs, in the mirror (the script's side of each is named) ---------------------------------

def run(host, *ops, check_mode=False, secrets=None):
    args = {"operations": [dict(op, id=str(i)) for i, op in enumerate(ops)],
            "secrets": json.dumps(secrets) if secrets else "", "_ansible_check_mode": check_mode}
    return mirror.run(host, args, SCRIPT.decode())


LS = {"namespace": "root/cimv2", "class": "Win32_TSLicenseServer"}
SERVICE = {"namespace": "root/cimv2", "class": "Win32_Service"}
REG = {"namespace": "root/default", "class": "StdRegProv"}
OS = {"namespace": "root/cimv2", "class": "Win32_OperatingSystem"}
POLICY = r"SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services"


@pytest.fixture
def license_server():
    return Host(new_host_state("ls1", roles=("license_server",), domain="corp.example.com"))


@pytest.mark.parametrize("op, message", [
    (dict(LS, kind="cim_invoke", method="GetActivationStatus", arguments="x"), "'arguments' must be a dict"),
    (dict(LS, kind="cim_invoke", method="ActivateServer", secret_arguments=["x"]), "'secret_arguments' must be a dict"),
    (dict(LS, kind="cim_get", properties="FirstName"), "'properties' of a 'cim_get' operation must be a list"),
    ({"kind": "feature_get", "names": "RDS-Licensing"}, "'names' must be a list"),
    (dict(LS, kind="cim_set", properties={}), "a 'cim_set' operation needs 'properties', a dict of at least one "
                                              "property"),
    (dict(LS, kind="cim_invoke", method="GetActivationStatus", omit_properties="sHardwareId"),
     "'omit_properties' must be a list of property names"),
])
def test_a_malformed_operation_fails_alone(license_server, op, message):
    """Test-Shape in the script: the operation fails with invalid_operation, the batch goes on."""
    first, second = run(license_server, op, dict(LS, kind="cim_invoke", method="GetActivationStatus"))["results"]
    assert first["error"] == {"kind": "invalid_operation", "message": message}
    assert second["ok"] is True


def test_an_instance_call_or_set_that_matches_nothing_fails(license_server):
    """Get-Instance in the script: no instance is not_found, never a silent success."""
    start = dict(SERVICE, kind="cim_invoke", method="StartService", instances=True, filter="Name = 'TermServLicensing'")
    license_server.state["services"].pop("TermServLicensing")
    (result,) = run(license_server, start)["results"]
    assert result["error"] == {"kind": "not_found", "message": "no instance of Win32_Service matches the filter "
                                                               "'Name = 'TermServLicensing''"}
    set_ = dict(LS, kind="cim_set", properties={"FirstName": "Ada"})
    license_server.state["features"] = {}
    (result,) = run(license_server, set_)["results"]
    assert result["ok"] is False and result["error"]["kind"] in ("invalid_class", "not_found")


def test_null_items_in_an_array_argument_are_refused(license_server):
    """ConvertTo-CimValue in the script: a null item is the caller's error, named, never sent to Windows."""
    host = Host(new_host_state("sh1", roles=("session_host",)))
    op = {"namespace": "root/cimv2/TerminalServices", "class": "Win32_TerminalServiceSetting", "kind": "cim_invoke",
          "method": "SetSpecifiedLicenseServerList", "instances": True, "arguments": {"SpecifiedLSList": ["a", None]}}
    (result,) = run(host, op)["results"]
    assert result["error"] == {"kind": "invalid_operation", "message": "'SpecifiedLSList' has a null item"}
    assert host.state["session_host"]["specified_servers"] == []


def test_operation_keys_ignore_case(license_server):
    """ConvertTo-CaseInsensitive in the script: Ansible.Basic's dicts are case-sensitive, hashtables are not."""
    (result,) = run(license_server, {"Kind": "cim_invoke", "NameSpace": "root/cimv2", "CLASS": "Win32_TSLicenseServer",
                                     "Method": "GetActivationStatus"})["results"]
    assert result["ok"] is True and result["out"] == {"ActivationStatus": 1}


def test_a_cmdlet_argument_error_is_not_the_callers_fault():
    """The script's catch-all: only New-BridgeError errors are invalid_operation; a cmdlet's
    ArgumentException (CimCmdlets refusing an unknown parameter on an instance call) is a cim_error."""
    host = Host(new_host_state("sh1", roles=("session_host",)))
    op = {"namespace": "root/cimv2/TerminalServices", "class": "Win32_TerminalServiceSetting", "kind": "cim_invoke",
          "method": "ChangeMode", "instances": True, "arguments": {"LicenseType": 4}}
    (result,) = run(host, op)["results"]
    assert result["error"]["kind"] == "cim_error"


# --- the executor's own read-only table (issue 9, finding 6) ------------------------------------------

@pytest.mark.parametrize("op", [
    dict(LS, namespace="root/cimv2", **{"class": "Win32_TSLicenseKeyPack"}, kind="cim_invoke",
         method="UninstallLicenseKeyPackWithId", arguments={"KeyPackId": 2}, read_only=True),
    dict(REG, kind="cim_invoke", method="DeleteValue", read_only=True,
         arguments={"hDefKey": 2147483650, "sSubKeyName": POLICY, "sValueName": "LicensingMode"}),
])
def test_check_mode_ignores_the_callers_read_only_flag(license_server, op):
    license_server.reg_create_key(POLICY)
    license_server.reg_set(POLICY, "LicensingMode", "REG_DWORD", 4)
    before = json.dumps(license_server.state, sort_keys=True)
    result = run(license_server, op, check_mode=True)
    assert result["results"][0]["error"]["kind"] == "check_mode"
    assert result["changed"] is False
    assert json.dumps(license_server.state, sort_keys=True) == before


def test_every_mutating_call_reports_changed(license_server):
    license_server.reg_create_key(POLICY)
    delete = dict(REG, kind="cim_invoke", method="DeleteValue", read_only=True,
                  arguments={"hDefKey": 2147483650, "sSubKeyName": POLICY, "sValueName": "Nothing"})
    assert run(license_server, delete)["changed"] is False  # it failed: 2, no such value
    license_server.reg_set(POLICY, "LicensingMode", "REG_DWORD", 4)
    delete["arguments"]["sValueName"] = "LicensingMode"
    assert run(license_server, delete)["changed"] is True
    read = dict(LS, kind="cim_invoke", method="GetActivationStatus")
    assert run(license_server, read)["changed"] is False


@pytest.mark.parametrize("op, message", [
    (dict(LS, kind="cim_invoke", method="DeactivateServer"), "Win32_TSLicenseServer.DeactivateServer is not on the "
                                                             "bridge's allowlist"),
    (dict(REG, kind="cim_invoke", method="GetStringValue", arguments={"sSubKeyName": r"SOFTWARE\Microsoft\Windows"}),
     "the registry key is not on the bridge's allowlist"),
    (dict(REG, kind="cim_invoke", method="GetStringValue", arguments={"hDefKey": 2147483649, "sSubKeyName": POLICY}),
     "only HKEY_LOCAL_MACHINE is on the bridge's allowlist"),
    (dict(SERVICE, kind="cim_get", filter="Name = 'WinRM'"),
     "only the services TermServLicensing are on the bridge's allowlist (filter Name = '...')"),
    ({"kind": "feature_install", "names": ["Web-Server"]}, "the feature(s) Web-Server are not on the bridge's allowlist"),
    # A key's access rules may be replaced on the CAL pack marker key only, not on any allowlisted key.
    (dict(REG, kind="cim_invoke", method="SetSecurityDescriptor", arguments={"sSubKeyName": POLICY}),
     r"only the keys SOFTWARE\Ansible\RemoteDesktopLicensing may have their security read or set"),
])
def test_the_allowlist_is_narrowed_to_what_the_collection_needs(license_server, op, message):
    (result,) = run(license_server, op)["results"]
    assert result["error"] == {"kind": "not_allowed", "message": message}


def test_unmodelled_differences_are_listed():
    """What the mirror still does differently is named in its source, for the closing note."""
    assert "Known differences" in inspect.getsource(mirror)


def test_a_class_declaration_gives_an_in_out_parameter_both_qualifiers(license_server):
    """Get-CimClass lists In and Out on an in/out parameter (the Fetch* methods' Count)."""
    op = {"namespace": "root/cimv2", "class": "Win32_TSLicenseReport", "kind": "cim_class"}
    (result,) = run(license_server, op)["results"]
    fetch = next(m for m in result["declaration"]["methods"] if m["name"] == "FetchReportEntries")
    assert {p["name"]: p["qualifiers"] for p in fetch["parameters"]} == {
        "StartIndex": ["In"], "Count": ["In", "Out"], "ReportEntries": ["Out"]}
