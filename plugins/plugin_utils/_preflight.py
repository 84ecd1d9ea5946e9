# -*- coding: utf-8 -*-
# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY
# The interfaces in this file serve this collection's own plugins; they may change in any release,
# even a bugfix release. Do not import them from other collections or playbooks.
"""The preflight's class check: what the collection's own operations assume of each CIM class, against the
class as a host declares it (the bridge's cim_class operation, Get-CimClass).

The expectation is taken from the batches the collection sends (the classes it reads, the methods it calls
and the argument names it passes, the properties it asks for), never from a copy of Microsoft's schema, so a
host that declares a class differently from what the code assumes is found before a module trips on it.
CIM names are case-insensitive: a difference only in case is not a disagreement.
"""

from __future__ import annotations

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _info as info
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._bridge import Batch

CIM_KINDS = ("cim_get", "cim_invoke", "cim_set")


def expectations(*batches):
    """{(namespace, class): {"methods": {method: set of argument names}, "properties": set of names}} for
    every CIM operation of the batches, with the names as the collection spells them."""
    expected = {}
    for batch in batches:
        for op in batch.operations:
            if op["kind"] not in CIM_KINDS:
                continue
            entry = expected.setdefault((op["namespace"], op["class"]),
                                        {"methods": {}, "properties": set()})
            if op["kind"] == "cim_invoke":
                names = set(op.get("arguments") or {}) | set(op.get("secret_arguments") or {})
                entry["methods"].setdefault(op["method"], set()).update(names)
            elif op["kind"] == "cim_set":
                entry["properties"].update(op["properties"])
            else:
                entry["properties"].update(op.get("properties") or [])
    return expected


def read_expectations():
    """What licensing_info's read batch (the reads every module starts with) assumes."""
    return expectations(info.read_batch(reveal_license_server_id=True))


def declaration_batch(expected):
    """One cim_class operation per class, ids 'class.<n>' in the order of `expected`."""
    batch = Batch()
    for index, (namespace, class_name) in enumerate(sorted(expected)):
        batch.declaration("class.%d" % index, namespace, class_name)
    return batch


def disagreements(expected, declaration):
    """What `declaration` (the cim_class result's `declaration`) lacks of `expected` (one class's entry),
    as sentences: a method, an in-parameter, a property the collection uses that the host does not declare."""
    name = declaration.get("name")
    methods = dict((m["name"].lower(), m) for m in declaration.get("methods") or [])
    properties = set(p["name"].lower() for p in declaration.get("properties") or [])
    found = []
    for method, arguments in sorted(expected["methods"].items()):
        declared = methods.get(method.lower())
        if declared is None:
            found.append("%s declares no method %s" % (name, method))
            continue
        inputs = set(p["name"].lower() for p in declared.get("parameters") or [] if "In" in (p.get("qualifiers") or []))
        for argument in sorted(arguments):
            if argument.lower() not in inputs:
                found.append("%s.%s declares no in-parameter %s" % (name, method, argument))
    for prop in sorted(expected["properties"]):
        if prop.lower() not in properties:
            found.append("%s declares no property %s" % (name, prop))
    return found


def compare(expected, results, batch):
    """Every disagreement between `expected` and the declarations a host gave for `batch`, as sentences; a class
    the host does not have is one too (its role may not be installed: the sentence says which class)."""
    found = []
    for op in batch.operations:
        result = results[op["id"]]
        entry = expected[(op["namespace"], op["class"])]
        if result.missing:
            found.append("%s:%s does not exist on the host" % (op["namespace"], op["class"]))
        elif not result.ok:
            found.append("%s:%s could not be read: %s" % (op["namespace"], op["class"], result.message()))
        else:
            found.extend(disagreements(entry, result.raw.get("declaration") or {}))
    return found
