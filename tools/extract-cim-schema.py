#!/usr/bin/env python
"""Extract Microsoft's published CIM schema of the classes the collection and its lab touch.

Reads local git mirrors (nothing is fetched here; the mirrors come from a `fetch` of the public
repositories, see `make schema`):
  --docs      MicrosoftDocs/win32: desktop-src/TermServ (Terminal Services WMI provider) and
              desktop-src/CIMWin32Prov (Win32 provider) class and method pages, MOF syntax blocks.
  --bindings  microsoft/wmi (optional): Go bindings Microsoft generated from live Server 2019 and
              23H2 machines. The source of StdRegProv (its reference pages are not in
              MicrosoftDocs/win32) and a cross-check of the exact case of every name.
Writes tests/lab/rdlab/schema/cim_schema.json: every class with its properties (type, access,
qualifiers, documented values) and methods (static or not, every in and out parameter with its
type and exact case), each entry with the repository, page path and commit it came from, and the
disagreements between sources with the choice the lab makes.

    tools/extract-cim-schema.py --docs DIR --bindings DIR [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "tests/lab/rdlab/schema/cim_schema.json"
DOCS_REPO = "MicrosoftDocs/win32"
BINDINGS_REPO = "microsoft/wmi"

# (namespace, class, class page) of every class the collection or the lab touches.
DOC_CLASSES = [
    ("root/cimv2", "Win32_TSLicenseServer", "desktop-src/TermServ/win32-tslicenseserver.md"),
    ("root/cimv2", "Win32_TSLicenseKeyPack", "desktop-src/TermServ/win32-tslicensekeypack.md"),
    ("root/cimv2", "Win32_TSIssuedLicense", "desktop-src/TermServ/win32-tsissuedlicense.md"),
    ("root/cimv2/TerminalServices", "Win32_TerminalServiceSetting",
     "desktop-src/TermServ/win32-terminalservicesetting.md"),
    ("root/cimv2", "Win32_OperatingSystem", "desktop-src/CIMWin32Prov/win32-operatingsystem.md"),
    ("root/cimv2", "Win32_Service", "desktop-src/CIMWin32Prov/win32-service.md"),
    ("root/cimv2", "Win32_ComputerSystem", "desktop-src/CIMWin32Prov/win32-computersystem.md"),
    # The Per User usage report and its entry classes (Server 2012 and later), for cal_usage (issue 13).
    ("root/cimv2", "Win32_TSLicenseReport", "desktop-src/TermServ/win32-tslicensereport.md"),
    ("root/cimv2", "Win32_TSLicenseReportEntry", "desktop-src/TermServ/win32-tslicensereportentry.md"),
    ("root/cimv2", "Win32_TSLicenseReportSummaryEntry", "desktop-src/TermServ/win32-tslicensereportsummaryentry.md"),
    ("root/cimv2", "Win32_TSLicenseReportPerDeviceEntry",
     "desktop-src/TermServ/win32-tslicensereportperdeviceentry.md"),
    ("root/cimv2", "Win32_TSLicenseReportFailedPerUserEntry",
     "desktop-src/TermServ/win32-tslicensereportfailedperuserentry.md"),
    ("root/cimv2", "Win32_TSLicenseReportFailedPerUserSummaryEntry",
     "desktop-src/TermServ/win32-tslicensereportfailedperusersummaryentry.md"),
    # FindLicenseServers' out objects (an abstract class: never enumerated, only returned).
    ("root/cimv2/TerminalServices", "Win32_TSDiscoveredLicenseServer",
     "desktop-src/TermServ/win32-tsdiscoveredlicenseserver.md"),
]
# StdRegProv: no reference page in MicrosoftDocs/win32 (learn.microsoft.com keeps it under
# previous-versions, whose source is not public): the live-generated binding is the source.
BINDING_CLASSES = [("root/default", "StdRegProv", "server23h2/root/wmidefault/StdRegProv.go")]
# Bindings compared with the documentation, name by name.
CROSS_CHECKS = {
    "Win32_TerminalServiceSetting": ["server2019/root/cimv2/terminalservices/Win32_TerminalServiceSetting.go",
                                     "server23h2/root/cimv2/terminalservices/Win32_TerminalServiceSetting.go"],
    "Win32_Service": ["server2019/root/cimv2/Win32_Service.go"],
    "Win32_OperatingSystem": ["server2019/root/cimv2/Win32_OperatingSystem.go"],
    "Win32_ComputerSystem": ["server2019/root/cimv2/Win32_ComputerSystem.go"],
}
# Where sources disagree on meaning (not on names, which are compared mechanically): what the lab
# follows and why. Keyed by (class, member).
CHOICES = {
    ("Win32_TerminalServiceSetting", "LicensingType"): (
        "The lab reports 2 Per Device, 4 Per User, 5 Not configured, as ChangeMode's parameter, the class's "
        "BitMap qualifier (0,1,2,4,5), Win32_TSDeploymentLicensing, the RemoteDesktop module's enum and the "
        "Group Policy values do; the class page's 3 = Per User, 4 = Not configured is the odd one out "
        "(rd-licensing-wmi.md §10.1)."),
}


# Commits of the docs that come from outside Microsoft's documentation team: what they added is marked
# community_edit on each value (git blame of the page), so nothing rests on it unannounced.
COMMUNITY_EDITS_SHORT = {
    "3179fbfae2": "2022-05-12 edit by the GitHub user inorangestylee (not a Microsoft docs author): added "
                  "ProductType 3 'BuiltIn', ProductVersionID 7 'Windows Server 2022' and the 2016-2022 "
                  "ProductVersion strings",
}
COMMUNITY_EDITS: dict = {}  # full hash -> {"why": ...}, filled by main() from COMMUNITY_EDITS_SHORT


# Type names misprinted on a page, read as meant; each is recorded as a disagreement.
MISPRINTS = {"unit32": "uint32"}


class Git:
    def __init__(self, path: str):
        self.path = path
        self.commit = self._git("rev-parse", "HEAD").strip()

    def _git(self, *args: str) -> str:
        return subprocess.run(["git", "-C", self.path, *args], check=True, capture_output=True,
                              text=True).stdout

    def full(self, short: str) -> str | None:
        """The full hash of a commit of this mirror, None when the mirror does not have it."""
        found = subprocess.run(["git", "-C", self.path, "rev-parse", "--verify", "-q", short + "^{commit}"],
                               capture_output=True, text=True, check=False)
        return found.stdout.strip() or None

    def blame(self, path: str) -> dict[str, str]:
        """Line text -> the commit that last changed it."""
        lines, commit = {}, None
        for line in self._git("blame", "--porcelain", self.commit, "--", path).splitlines():
            if re.match(r"^[0-9a-f]{40} ", line):
                commit = line.split()[0]
            elif line.startswith("\t"):
                lines[line[1:]] = commit
        return lines

    def read(self, path: str) -> str:
        return self._git("show", f"{self.commit}:{path}")


# --- MOF types ---------------------------------------------------------------------------------

def mof_type(type_name: str, array: bool) -> str:
    """uint32, string, boolean, datetime, sint32 ...; embedded objects as 'object:<class>'; '[]' for arrays."""
    lowered = type_name.lower()
    lowered = MISPRINTS.get(lowered, lowered)
    simple = {"bool": "boolean", "int32": "sint32", "int16": "sint16", "int8": "sint8", "int64": "sint64",
              "date": "datetime", "time": "datetime"}
    known = {"uint8", "uint16", "uint32", "uint64", "sint8", "sint16", "sint32", "sint64", "string", "boolean",
             "datetime", "real32", "real64", "char16", "object"}
    base = simple.get(lowered, lowered)
    if base not in known:
        base = "object:" + type_name
    return base + ("[]" if array else "")


# --- documentation pages -----------------------------------------------------------------------

def _syntax_block(text: str) -> str:
    match = re.search(r"## Syntax\s*```[^\n]*\n(.*?)```", text, re.S)
    if not match:
        raise ValueError("no syntax block")
    return match.group(1)


def _sections(text: str, heading: str) -> dict[str, str]:
    """'**Name**' definition sections of the Properties (or Parameters) part of a page."""
    part = text.split(heading, 1)[1] if heading in text else ""
    part = re.split(r"\n## ", part, maxsplit=1)[0]
    pieces = re.split(r"\n(?:\*\*|\*)([A-Za-z_][A-Za-z0-9_]*)(?:\*\*|\*)(?: \\\[[a-z, ]+\\\])?\n</dt>", part)
    return {pieces[i]: pieces[i + 1] for i in range(1, len(pieces) - 1, 2)}


def _values(section: str) -> list[dict]:
    """Documented values: '**NAME** (n)' or '**n**' entries, each with its first line of description."""
    values = []
    pattern = r"</span>\*\*([^*\n]+?)\*\*(?: \(([^)\n]+)\))?\s*\n\s*</dt> <dd>\s*\n\s*([^\n]*)"
    for label, number, description in re.findall(pattern, section):
        label = label.replace("\\_", "_").strip()
        value = number if number is not None and number != "" else label
        entry = {"value": value.strip()}
        if value != label:
            entry["label"] = label
        if description.strip():
            entry["description"] = re.sub(r"\s+", " ", description.replace("\\", "")).strip()
        values.append(entry)
    for line, value, description in re.findall(r"^(\| *([^|\n]+?) *\| *([^|\n]+?) *\|) *$", section, re.M):
        if value in ("Value", "Method") or set(value) <= set(":-"):
            continue
        values.append({"value": value.strip('"'), "description": description.strip(), "_line": line})
    return values


def parse_class_page(text: str) -> dict:
    block = _syntax_block(text)
    header = re.search(r"class\s+(\w+)(?:\s*:\s*(\w+))?", block)
    qualifiers = re.search(r"^\s*\[(.*)\]\s*$", block.split("class", 1)[0], re.M)
    sections = _sections(text, "### Properties")
    properties = []
    for prop_qualifiers, type_name, name, array in re.findall(
            r"^\s*(?:\[([^\]]*)\]\s*)?([A-Za-z_]\w*)\s+([A-Za-z_]\w*)\s*(\[\])?\s*;", block, re.M):
        section = sections.get(name, "")
        access = re.search(r"Access type: ([^\n]+)", section)
        page_qualifiers = re.search(r"Qualifiers: ([^\n]+)", section)
        entry = {"name": name, "type": mof_type(type_name, bool(array)),
                 "access": access.group(1).strip() if access else None}
        found = [q.strip() for q in prop_qualifiers.split(",") if q.strip()] if prop_qualifiers else []
        if page_qualifiers:
            found += [re.sub(r"\[\*\*([^*]+)\*\*\]\([^)]*\)", r"\1", q).strip()
                      for q in page_qualifiers.group(1).split(", ")]
        if found:
            entry["qualifiers"] = found
        if not section:
            entry["documented"] = False  # in the syntax block only
        values = _values(section)
        if values:
            entry["values"] = values
        properties.append(entry)
    static_all = "All of the methods contained within this class are static" in text
    links = re.findall(r"\[\*\*(\w+)\*\*\]\(([\w.-]+\.md)\)", text.split("### Methods", 1)[1].split("### ", 1)[0]) \
        if "### Methods" in text else []
    return {"name": header.group(1), "superclass": header.group(2),
            "qualifiers": [q.strip() for q in re.split(r",\s*(?![^()]*\))", qualifiers.group(1))] if qualifiers else [],
            "properties": properties, "static_all": static_all, "method_pages": links}


def parse_method_page(text: str) -> dict:
    block = _syntax_block(text)
    head = re.search(r"(\w+)\s+(\w+)\s*\(", block)
    params = []
    sections = _sections(text, "## Parameters")
    for qualifiers, type_name, name, array in re.findall(
            r"\[([^\]]+)\]\s*([A-Za-z_]\w*)\s+([A-Za-z_]\w*)\s*(\[\])?", block):
        flags = {q.strip().lower() for q in qualifiers.split(",")}
        direction = "inout" if {"in", "out"} <= flags else "out" if "out" in flags else "in"
        entry = {"name": name, "type": mof_type(type_name, bool(array)), "direction": direction}
        values = _values(sections.get(name, ""))
        if values:
            entry["values"] = values
        params.append(entry)
    for param in params:
        # An out array of embedded instances: the class its items are (the syntax names it as the type).
        if param["type"].startswith("object:"):
            param["embedded_instance"] = param["type"][len("object:"):].rstrip("[]")
    static = None
    if re.search(r"This is not a static (function|method)", text):
        static = False
    elif re.search(r"This is a static (function|method)", text):
        static = True
    return {"name": head.group(2), "return_type": mof_type(head.group(1), False), "params": params,
            "static": static, "return_values": _return_values(text)}


def _return_values(text: str) -> list[dict]:
    """The codes the Return value section names: '**NAME** (0xNNNN)' with its value, or a bare
    '**NAME**' (a standard WBEM code whose number the page does not give)."""
    match = re.search(r"## Return value\s*\n(.*?)(?=\n## |\Z)", text, re.S)
    if not match:
        return []
    section = match.group(1).replace("\\_", "_")
    found = []
    for name, number in re.findall(r"\*\*((?:S|E|WBEM|LSERVER)_[A-Z0-9_]+)\*\*(?: \((0x[0-9A-Fa-f]+)\))?", section):
        entry = {"name": name}
        if number:
            entry["value"] = int(number, 16)
        if entry not in found:
            found.append(entry)
    return found


def doc_classes(docs: Git) -> tuple[list[dict], list[dict]]:
    classes, problems = [], []
    for namespace, name, page in DOC_CLASSES:
        parsed = parse_class_page(docs.read(page))
        if parsed["name"] != name:
            raise SystemExit(f"{page}: the syntax block declares {parsed['name']}, expected {name}")
        source = {"repository": DOCS_REPO, "commit": docs.commit, "path": page}
        methods = []
        for listed, file_name in dict(parsed["method_pages"]).items():  # a method listed twice is read once
            path = str(Path(page).parent / file_name)
            text = docs.read(path)
            method = parse_method_page(text)
            problems += _misprints(name, method, path, text)
            if method["name"] != listed:
                problems.append({"class": name, "member": listed, "sources": [
                    {"path": page, "says": listed}, {"path": path, "says": method["name"]}],
                    "choice": f"{method['name']}: the method page's MOF syntax"})
            if method["static"] is None and parsed["static_all"]:
                method["static"] = True
            methods.append(dict(method, source=dict(source, path=path)))
        provenance = _provenance(docs, page)
        properties = [dict(p, source=source) for p in parsed["properties"]]
        for prop in properties:
            for value in prop.get("values", []):
                line = value.pop("_line", None)
                commit = provenance.get(line)
                if commit in COMMUNITY_EDITS:
                    value["community_edit"] = dict(COMMUNITY_EDITS[commit], commit=commit)
        classes.append({"namespace": namespace, "name": name, "superclass": parsed["superclass"],
                        "qualifiers": parsed["qualifiers"], "source": source, "properties": properties,
                        "methods": methods})
    return classes, problems


def _provenance(docs: Git, page: str) -> dict[str, str]:
    return docs.blame(page)


def _misprints(class_name: str, method: dict, path: str, text: str) -> list[dict]:
    block = _syntax_block(text)
    found = []
    for wrong, meant in MISPRINTS.items():
        for name in re.findall(rf"\b{wrong}\s+(\w+)", block):
            found.append({"class": class_name, "member": f"{method['name']}.{name}",
                          "sources": [{"path": path, "says": wrong}],
                          "choice": f"{meant}: '{wrong}' is not a MOF type, a misprint of {meant}"})
    return found


# --- Go bindings -------------------------------------------------------------------------------

def parse_binding(text: str, class_name: str) -> dict:
    """Properties (SetProperty<Name>) and methods (<param> comments + IN/OUT markers) of one binding."""
    go_types = {"uint32": "uint32", "uint16": "uint16", "uint64": "uint64", "uint8": "uint8", "int32": "sint32",
                "int16": "sint16", "int64": "sint64", "string": "string", "bool": "boolean", "time.Time": "datetime"}
    properties = []
    for name, array, go_type in re.findall(
            rf"func \(instance \*{class_name}\) SetProperty(\w+)\(value (\[\])?([\w.]+)\)", text):
        base = go_types.get(go_type, "object:" + go_type)
        properties.append({"name": name, "type": base + ("[]" if array else "")})
    methods = []
    pattern = rf"((?://[^\n]*\n|\n)*)func \(instance \*{class_name}\) (\w+)\(([^)]*)\)"
    for comments, name, signature in re.findall(pattern, text):
        if name.startswith(("SetProperty", "GetProperty")):
            continue
        types = dict(re.findall(r'<param name="(\w+)" type="([^"]*)"', comments))
        params = []
        for direction, pname in re.findall(r"/\* (IN|OUT) \*/\s*(\w+)", signature):
            raw = types.get(pname, "").strip()
            array = raw.endswith("[]")
            params.append({"name": pname, "type": mof_type(raw.replace("[]", "").strip() or "object", array),
                           "direction": direction.lower()})
        methods.append({"name": name, "return_type": "uint32", "params": params, "static": None})
    return {"properties": properties, "methods": methods}


def binding_classes(bindings: Git) -> list[dict]:
    classes = []
    for namespace, name, path in BINDING_CLASSES:
        parsed = parse_binding(bindings.read(path), name)
        source = {"repository": BINDINGS_REPO, "commit": bindings.commit, "path": path}
        classes.append({"namespace": namespace, "name": name, "superclass": None, "qualifiers": [],
                        "source": source, "properties": [dict(p, source=source) for p in parsed["properties"]],
                        "methods": [dict(m, source=source) for m in parsed["methods"]]})
    return classes


def cross_check(classes: list[dict], bindings: Git) -> list[dict]:
    """Every name and type the documentation and a live binding both have, compared exactly."""
    found = []
    by_name = {c["name"]: c for c in classes}
    for class_name, paths in CROSS_CHECKS.items():
        documented = by_name[class_name]
        for path in paths:
            binding = parse_binding(bindings.read(path), class_name)
            where = {"repository": BINDINGS_REPO, "commit": bindings.commit, "path": path}
            doc_props = {p["name"].lower(): p for p in documented["properties"]}
            for prop in binding["properties"]:
                found += _compare(class_name, prop["name"], doc_props.get(prop["name"].lower()), prop, documented,
                                  where)
            doc_methods = {m["name"].lower(): m for m in documented["methods"]}
            for method in binding["methods"]:
                doc = doc_methods.get(method["name"].lower())
                if doc is None:
                    continue  # documented elsewhere or not at all: the documentation's list is the scope
                found += _compare(class_name, method["name"], doc, method, documented, where)
                doc_params = {p["name"].lower(): p for p in doc["params"]}
                for param in method["params"]:
                    member = f"{doc['name']}.{param['name']}"
                    found += _compare(class_name, member, doc_params.get(param["name"].lower()), param, doc, where)
    return found


def _compare(class_name, member, doc, live, doc_owner, where) -> list[dict]:
    page = doc_owner["source"]["path"]
    if doc is None:
        return [{"class": class_name, "member": member, "sources": [
            {"path": page, "says": "not listed"}, dict(where, says=live.get("type", "present"))],
            "choice": "the documentation: the lab models what the pages list"}]
    problems = []
    if doc["name"] != live["name"]:
        # The binding was generated from a live machine: its spelling is the one Windows returns.
        problems.append({"class": class_name, "member": member, "sources": [
            {"path": page, "says": doc["name"]}, dict(where, says=live["name"])],
            "choice": f"{live['name']} as Windows returns it (the live binding); the page's spelling is kept "
                      "as documented_as"})
        doc["documented_as"], doc["name"] = doc["name"], live["name"]
    if "type" in doc and doc["type"] != live["type"] and not live["type"].startswith("object:"):
        problems.append({"class": class_name, "member": member, "sources": [
            {"path": page, "says": doc["type"]}, dict(where, says=live["type"])],
            "choice": f"{doc['type']} as documented"})
    return problems


def value_disagreements(classes: list[dict]) -> list[dict]:
    """LicensingType: the property's documented values against ChangeMode's parameter values."""
    setting = next(c for c in classes if c["name"] == "Win32_TerminalServiceSetting")
    prop = next(p for p in setting["properties"] if p["name"] == "LicensingType")
    change = next(m for m in setting["methods"] if m["name"] == "ChangeMode")
    param = next(p for p in change["params"] if p["name"] == "LicensingType")
    return [{"class": "Win32_TerminalServiceSetting", "member": "LicensingType", "sources": [
        {"path": setting["source"]["path"], "says": prop.get("values", [])},
        {"path": change["source"]["path"], "says": param.get("values", [])}],
        "choice": CHOICES[("Win32_TerminalServiceSetting", "LicensingType")]}]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--docs", required=True, help="git dir of a MicrosoftDocs/win32 mirror")
    parser.add_argument("--bindings", required=True, help="git dir of a microsoft/wmi mirror")
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)
    docs, bindings = Git(args.docs), Git(args.bindings)
    COMMUNITY_EDITS.update({docs.full(short): {"why": why} for short, why in COMMUNITY_EDITS_SHORT.items()
                            if docs.full(short)})
    classes, problems = doc_classes(docs)
    problems += cross_check(classes, bindings) + value_disagreements(classes)
    classes += binding_classes(bindings)
    schema = {
        "generated_by": "tools/extract-cim-schema.py (make schema)",
        "sources": [{"repository": DOCS_REPO, "commit": docs.commit},
                    {"repository": BINDINGS_REPO, "commit": bindings.commit}],
        "classes": classes,
        "disagreements": problems,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(schema, indent=1, sort_keys=False) + "\n")
    print(f"{args.out}: {len(classes)} classes, {len(problems)} disagreements", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
