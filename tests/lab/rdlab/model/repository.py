"""The CIM repository of a lab host: the WMI service's side of Get/Invoke/Set.

It does what CIMOM does around a provider: resolve namespace and class, reject unknown methods,
parameters and properties, check argument types against the declared ones, filter instances
with WQL, and shape method results (ReturnValue plus every declared out parameter).
"""

from __future__ import annotations

from . import licensing, terminal_services, usage_report, windows
from .cim import (
    ASSUMED, WBEM_E_FAILED, WBEM_E_INVALID_METHOD, WBEM_E_INVALID_METHOD_PARAMETERS, WBEM_E_INVALID_OPERATION,
    WBEM_E_INVALID_QUERY, WBEM_E_READ_ONLY, CimClass, SchemaMismatch, StrictArguments, WbemError, bind_to_schema,
    coerce, parse_condition,
)


class Repository:
    def __init__(self, classes: list[CimClass]):
        self.classes = {(c.namespace.lower(), c.name.lower()): bind_to_schema(c) for c in classes}

    def namespaces(self, host) -> set[str]:
        # Win32_TerminalServiceSetting's namespace exists on every server from 2008 ([W32]).
        return {key[0] for key in self.classes}

    def get(self, namespace: str, name: str) -> CimClass | None:
        return self.classes.get((namespace.lower(), name.lower()))

    # --- operations as the CIM cmdlets see them -------------------------------------------------
    def get_instances(self, host, namespace: str, class_name: str, condition: str | None = None,
                      properties: list[str] | None = None) -> tuple[CimClass, list[dict]]:
        cls = host.cim_class(namespace, class_name)
        for name in properties or []:
            if cls.prop(name) is None:
                raise WbemError(WBEM_E_INVALID_QUERY, f"{name!r} is not a property of {cls.name}")
        instances = cls.enumerate(host)
        _check_instances(cls, instances)
        if condition:
            predicate = parse_condition(condition, cls)
            instances = [i for i in instances if predicate(i)]
        if properties:
            # The keys always come back with a -Property selection.
            wanted = {p.lower() for p in properties} | {k.lower() for k in cls.keys}
            instances = [{k: (v if k.lower() in wanted else None) for k, v in i.items()} for i in instances]
        return cls, instances

    def invoke(self, host, namespace: str, class_name: str, method_name: str, arguments: dict,
               instance: dict | None = None) -> dict:
        cls = host.cim_class(namespace, class_name)
        method = cls.method(method_name)
        if method is None:
            raise WbemError(WBEM_E_INVALID_METHOD, f"{cls.name} has no method {method_name!r}")
        if instance is None and not method.static:
            # Calling an instance method on the class: the error WMI gives is ASSUMED.
            raise WbemError(WBEM_E_INVALID_OPERATION, f"{cls.name}.{method.name} is not a static method")
        typed = {}
        for name, value in (arguments or {}).items():
            param = method.param(name)
            if param is None or param.direction not in ("in", "inout"):  # an in/out parameter is also an in one
                raise WbemError(WBEM_E_INVALID_METHOD_PARAMETERS, f"{method.name} has no in parameter {name!r}")
            typed[param.name] = coerce(value, param.cim_type)
        fault = _take_fault(host, cls.name, method.name)
        if fault is not None:
            return_value, out = fault, {}
        else:
            where = f"the model of {cls.name}.{method.name}"
            allowed = {p.name for p in method.params if p.direction in ("in", "inout")}
            return_value, out = method.impl(host, instance, StrictArguments(typed, allowed, where))
            _check_out(cls, method, out)
        result = {"ReturnValue": return_value}
        for param in method.params:
            if param.direction in ("out", "inout"):
                result[param.name] = out.get(param.name)
        return result

    def put(self, host, namespace: str, class_name: str, instance: dict, properties: dict) -> None:
        cls = host.cim_class(namespace, class_name)
        typed = {}
        for name, value in properties.items():
            prop = cls.prop(name)
            if prop is None:
                raise WbemError(WBEM_E_INVALID_QUERY, f"{name!r} is not a property of {cls.name}")
            if not prop.writable or cls.put is None:
                raise WbemError(WBEM_E_READ_ONLY, f"{cls.name}.{prop.name} is read-only")
            typed[prop.name] = coerce(value, prop.cim_type)
        cls.put(host, instance, typed)


def _check_instances(cls: CimClass, instances: list[dict]) -> None:
    """Every property a model returns is one the schema gives the class, in the schema's case."""
    names = {p.name for p in cls.properties}
    for instance in instances:
        wrong = sorted(set(instance) - names)
        if wrong:
            raise SchemaMismatch(f"the model of {cls.name} returned {', '.join(map(repr, wrong))}: not a property of "
                                 "the class in Microsoft's schema, in that spelling, or not declared by the model")


def _check_out(cls: CimClass, method, out: dict) -> None:
    names = {p.name for p in method.params if p.direction in ("out", "inout")}
    wrong = sorted(set(out) - names)
    if wrong:
        raise SchemaMismatch(f"the model of {cls.name}.{method.name} returned {', '.join(map(repr, wrong))}: not an "
                             f"out parameter in Microsoft's schema ({', '.join(sorted(names)) or 'none'})")
    for param in method.params:
        if param.cim_type.startswith("object:") and isinstance(out.get(param.name), list):
            _check_embedded(cls, method, param, out[param.name])


def _check_embedded(cls: CimClass, method, param, items: list) -> None:
    """Embedded instances carry only their class's properties, in the schema's spelling."""
    from ..schema import SCHEMA
    embedded = param.cim_type[len("object:"):].rstrip("[]")
    entry = next((c for c in SCHEMA.classes() if c["name"] == embedded), None)
    names = {p["name"] for p in entry["properties"]} if entry else set()
    wrong = sorted({k for item in items if isinstance(item, dict) for k in item} - names)
    if wrong:
        raise SchemaMismatch(f"the model of {cls.name}.{method.name} returned {', '.join(map(repr, wrong))} in "
                             f"{param.name}: not a property of {embedded} in Microsoft's schema")


def _take_fault(host, class_name: str, method_name: str):
    """The 'cim_fail' fault: the next N calls of a method return a chosen code (default generic failure)."""
    faults = host.state.setdefault("faults", {})
    fault = faults.get("cim_fail")
    if not fault:
        return None
    if fault.get("class", "*").lower() not in ("*", class_name.lower()):
        return None
    if fault.get("method", "*").lower() not in ("*", method_name.lower()):
        return None
    fault["count"] = fault.get("count", 1) - 1
    if fault["count"] <= 0:
        faults.pop("cim_fail")
    return int(fault.get("code", WBEM_E_FAILED))


REPOSITORY = Repository(licensing.classes() + terminal_services.classes() + windows.classes()
                        + usage_report.classes())
NOTES = [("any class", "calling an instance method on the class", ASSUMED,
          "answers 0x80041016 INVALID_OPERATION")] + licensing.FIDELITY_NOTES + usage_report.FIDELITY_NOTES
