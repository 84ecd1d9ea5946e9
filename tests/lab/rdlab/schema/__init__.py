"""Microsoft's published CIM schema of the classes the lab models, as data.

cim_schema.json is extracted by tools/extract-cim-schema.py (`make schema`) from MicrosoftDocs/win32
(class and method pages, MOF syntax) and microsoft/wmi (bindings generated from live machines); every
entry names the repository, page and commit it came from. The lab takes every class, property,
method and parameter name and type from here, never from the collection's code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

PATH = Path(__file__).with_name("cim_schema.json")


@dataclass(frozen=True)
class Schema:
    data: dict

    @property
    def sources(self) -> list[dict]:
        return self.data["sources"]

    @property
    def disagreements(self) -> list[dict]:
        return self.data["disagreements"]

    def classes(self) -> list[dict]:
        return self.data["classes"]

    def find_class(self, namespace: str, name: str) -> dict | None:
        """Case-insensitive, as CIM is: the caller compares the exact spelling itself."""
        return next((c for c in self.data["classes"] if c["namespace"].lower() == namespace.lower()
                     and c["name"].lower() == name.lower()), None)


def _member(members: list[dict], name: str) -> dict | None:
    return next((m for m in members if m["name"].lower() == name.lower()), None)


def find_property(cls: dict, name: str) -> dict | None:
    return _member(cls["properties"], name)


def find_method(cls: dict, name: str) -> dict | None:
    return _member(cls["methods"], name)


def find_param(method: dict, name: str) -> dict | None:
    return _member(method["params"], name)


def source_text(entry: dict) -> str:
    """'MicrosoftDocs/win32 desktop-src/TermServ/x.md @47e64c1'."""
    source = entry["source"]
    return f"{source['repository']} {source['path']} @{source['commit'][:7]}"


SCHEMA = Schema(json.loads(PATH.read_text()))
