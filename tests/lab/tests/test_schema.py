"""The lab speaks Microsoft's words: every name and type comes from rdlab/schema/cim_schema.json
(extracted from MicrosoftDocs/win32 and microsoft/wmi), and a model that strays fails loudly."""

import copy
import importlib.util
import json
import subprocess
from pathlib import Path

import pytest

from rdlab.model import terminal_services, windows
from rdlab.model.cim import CimClass, Method, Param, Prop, SchemaMismatch, bind_to_schema
from rdlab.model.host import Host, new_host_state
from rdlab.model.repository import REPOSITORY, Repository
from rdlab.schema import SCHEMA, find_method, find_param

ROOT = Path(__file__).resolve().parents[3]
TOOL = ROOT / "tools/extract-cim-schema.py"


def test_every_entry_names_its_page_and_commit():
    commits = {s["repository"]: s["commit"] for s in SCHEMA.sources}
    assert set(commits) == {"MicrosoftDocs/win32", "microsoft/wmi"}
    for cls in SCHEMA.classes():
        for entry in [cls] + cls["properties"] + cls["methods"]:
            source = entry["source"]
            assert source["commit"] == commits[source["repository"]]
            assert source["path"].endswith((".md", ".go"))


def test_the_connectivity_out_parameter_has_windows_spelling():
    setting = SCHEMA.find_class("root/cimv2/TerminalServices", "Win32_TerminalServiceSetting")
    method = find_method(setting, "GetTStoLSConnectivityStatus")
    assert find_param(method, "tstolsconnectivitystatus")["name"] == "TStoLSConnectivityStatus"
    assert method["source"]["path"] == "desktop-src/TermServ/gettstolsconnectivitystatus-win32-terminalservicesetting.md"


def test_disagreements_record_both_sources_and_the_choice():
    licensing_type = [d for d in SCHEMA.disagreements if d["member"] == "LicensingType"]
    assert len(licensing_type) == 1
    pages = [s["path"] for s in licensing_type[0]["sources"]]
    assert pages == ["desktop-src/TermServ/win32-terminalservicesetting.md",
                     "desktop-src/TermServ/win32-terminalservicesetting-changemode.md"]
    class_page_values = {v["value"]: v.get("label") for v in licensing_type[0]["sources"][0]["says"]}
    assert class_page_values["3"] == "Per User"  # the page's odd numbering, kept as it says
    assert "2 Per Device, 4 Per User, 5 Not configured" in licensing_type[0]["choice"]


def test_community_edits_are_marked():
    pack = SCHEMA.find_class("root/cimv2", "Win32_TSLicenseKeyPack")
    marked = {(p["name"], v["value"]) for p in pack["properties"] for v in p.get("values", [])
              if v.get("community_edit")}
    assert {("ProductType", "3"), ("ProductVersionID", "7")} <= marked
    assert ("ProductType", "1") not in marked


def _class(**changes):
    base = dict(namespace="root/cimv2/TerminalServices", name="Win32_TerminalServiceSetting", keys=["ServerName"],
                properties=[Prop("ServerName", "string")], methods=[])
    base.update(changes)
    return CimClass(**base)


@pytest.mark.parametrize("cls, message", [
    (_class(name="Win32_TerminalServiceSettings"), "not in Microsoft's schema"),
    (_class(name="win32_terminalservicesetting"), "spelt 'Win32_TerminalServiceSetting'"),
    (_class(properties=[Prop("Servername", "string")]), "spelt 'ServerName'"),
    (_class(properties=[Prop("LicensingType", "uint16")]), "declares uint16, Microsoft's schema uint32"),
    (_class(methods=[Method("GetTStoLSConnectivityStatus",
                            [Param("TsToLsConnectivityStatus", "uint32", "out")], False)]),
     "spelt 'TStoLSConnectivityStatus'"),
    (_class(methods=[Method("ChangeMode", [Param("LicensingType", "uint32", "out")], False)]),
     "the model says out, the schema in"),
])
def test_a_model_declaring_other_words_does_not_load(cls, message):
    with pytest.raises(SchemaMismatch, match=message):
        bind_to_schema(cls)


def test_a_method_gets_every_out_parameter_of_the_schema():
    setting = REPOSITORY.get("root/cimv2/TerminalServices", "Win32_TerminalServiceSetting")
    method = setting.method("GetTStoLSConnectivityStatus")
    assert [(p.direction, p.cim_type, p.name) for p in method.params] == [
        ("in", "string", "ServerName"), ("out", "uint32", "TStoLSConnectivityStatus")]


def _session_host():
    return Host(new_host_state("sh1", roles=("session_host",)))


def _one_class_repository(cls):
    return Repository([cls])


def test_a_model_returning_a_property_in_another_case_fails_loudly(monkeypatch):
    cls = copy.deepcopy(REPOSITORY.get("root/cimv2", "Win32_Service"))
    cls.enumerate = lambda host: [{"name": "TermServLicensing"}]
    host = _session_host()
    monkeypatch.setattr(host, "cim_class", lambda ns, name: cls)
    with pytest.raises(SchemaMismatch, match="returned 'name'"):
        REPOSITORY.get_instances(host, "root/cimv2", "Win32_Service")


def test_a_model_returning_an_out_parameter_in_another_case_fails_loudly(monkeypatch):
    cls = copy.deepcopy(REPOSITORY.get("root/cimv2/TerminalServices", "Win32_TerminalServiceSetting"))
    cls.method("GetGracePeriodDays").impl = lambda host, instance, args: (0, {"daysLeft": 3})
    host = _session_host()
    monkeypatch.setattr(host, "cim_class", lambda ns, name: cls)
    with pytest.raises(SchemaMismatch, match="returned 'daysLeft'"):
        REPOSITORY.invoke(host, "root/cimv2/TerminalServices", "Win32_TerminalServiceSetting", "GetGracePeriodDays",
                          {}, instance={})


def test_a_model_reading_an_argument_in_another_case_fails_loudly(monkeypatch):
    cls = copy.deepcopy(REPOSITORY.get("root/cimv2/TerminalServices", "Win32_TerminalServiceSetting"))
    cls.method("ChangeMode").impl = lambda host, instance, args: (0, {"x": args.get("licensingType")})
    host = _session_host()
    monkeypatch.setattr(host, "cim_class", lambda ns, name: cls)
    with pytest.raises(SchemaMismatch, match="read the argument 'licensingType'"):
        REPOSITORY.invoke(host, "root/cimv2/TerminalServices", "Win32_TerminalServiceSetting", "ChangeMode",
                          {"licensingtype": 4}, instance={})


def test_callers_may_use_any_case_as_cim_allows():
    host = _session_host()
    result = REPOSITORY.invoke(host, "ROOT/CIMV2/TERMINALSERVICES", "win32_terminalservicesetting",
                               "gettstolsconnectivitystatus", {"servername": "nowhere"}, instance={})
    assert set(result) == {"ReturnValue", "TStoLSConnectivityStatus"}


def test_every_modelled_class_is_bound():
    assert all(cls.schema is not None for cls in REPOSITORY.classes.values())
    assert {c.name for c in terminal_services.classes() + windows.classes()} <= \
        {c["name"] for c in SCHEMA.classes()}


def test_the_tool_reads_a_docs_mirror(tmp_path):
    """A miniature MicrosoftDocs/win32 and microsoft/wmi: the tool takes names, case and types from the pages."""
    docs, wmi = _mirror_from_schema(tmp_path)
    out = tmp_path / "schema.json"
    subprocess.run(["python3", str(TOOL), "--docs", str(docs), "--bindings", str(wmi), "--out", str(out)], check=True,
                   capture_output=True)
    produced = json.loads(out.read_text())
    setting = next(c for c in produced["classes"] if c["name"] == "Win32_TerminalServiceSetting")
    method = next(m for m in setting["methods"] if m["name"] == "GetTStoLSConnectivityStatus")
    assert [(p["direction"], p["type"], p["name"]) for p in method["params"]] == [
        ("in", "string", "ServerName"), ("out", "uint32", "TStoLSConnectivityStatus")]
    assert method["source"]["commit"] == produced["sources"][0]["commit"]


def _git(path, *args):
    subprocess.run(["git", "-C", str(path), *args], check=True, capture_output=True)


def _mirror_from_schema(tmp_path):
    """Pages regenerated from the committed schema's own entries (syntax blocks only)."""
    spec = importlib.util.spec_from_file_location("extract_cim_schema", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    tool = vars(module)
    docs, wmi = tmp_path / "docs", tmp_path / "wmi"
    for repo in (docs, wmi):
        repo.mkdir()
        _git(repo, "init", "-q")
    for namespace, name, page in tool["DOC_CLASSES"]:
        cls = SCHEMA.find_class(namespace, name)
        lines = "\n".join(f"  {p['type'].replace('[]', '')} {p['name']}{'[]' if p['type'].endswith('[]') else ''};"
                          for p in cls["properties"])
        links = "\n".join(f"| [**{m['name']}**]({Path(m['source']['path']).name}) | x |" for m in cls["methods"])
        _write(docs / page, f"## Syntax\n\n``` syntax\nclass {name}\n{{\n{lines}\n}};\n```\n\n### Methods\n\n{links}\n\n### Properties\n")
        for m in cls["methods"]:
            params = ",\n".join(f"  [{p['direction']}] {p['type'].replace('[]', '').replace('object:', '')} "
                                f"{p['name']}{'[]' if p['type'].endswith('[]') else ''}" for p in m["params"])
            _write(docs / m["source"]["path"], f"## Syntax\n\n```mof\nuint32 {m['name']}(\n{params}\n);\n```\n")
    for path in [p for paths in tool["CROSS_CHECKS"].values() for p in paths] + \
            [b[2] for b in tool["BINDING_CLASSES"]]:
        _write(wmi / path, "package x\n")
    for repo in (docs, wmi):
        _git(repo, "add", "-A")
        _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "pages")
    return docs, wmi


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
