"""CIM machinery of the simulated hosts: schema, typed WBEM errors, WQL conditions, type checks.

Nothing here knows about licensing. Provider modules (licensing.py, terminal_services.py, ...)
declare their classes with `CimClass` and register behaviour; `CimRepository` answers
enumerate / invoke / put the way the WMI service does before and after the provider runs:
schema errors (unknown class, method, parameter, type) are raised as `WbemError` exactly as
CIMOM raises them, whatever the provider would have done.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Callable

# Fidelity status of a modelled item, shown in docs/fidelity.md.
DOCUMENTED = "documented and modelled"
OBSERVED = "observed and modelled"
ASSUMED = "modelled on an assumption"
NOT_MODELLED = "not modelled"


class WbemError(Exception):
    """A WMI error as Get-CimInstance / Invoke-CimMethod raise it: HRESULT and standard text."""

    TEXT = {
        0x80041001: "Generic failure",
        0x80041002: "Not found",
        0x80041003: "Access denied",
        0x80041005: "Type mismatch",
        0x80041008: "Invalid parameter",
        0x8004100C: "Not supported",
        0x8004100E: "Invalid namespace",
        0x80041010: "Invalid class",
        0x80041016: "Invalid operation",
        0x80041017: "Invalid query",
        0x80041023: "Read only",
        0x8004102E: "Invalid method",
        0x8004102F: "Invalid method Parameter(s)",
    }

    def __init__(self, hresult: int, detail: str = ""):
        self.hresult = hresult
        self.text = self.TEXT.get(hresult, "Unknown WBEM error")
        self.detail = detail
        super().__init__(f"{self.text} (0x{hresult:08X}){': ' + detail if detail else ''}")


class SchemaMismatch(Exception):
    """A model declares, returns or reads a name or type that is not in Microsoft's schema
    (rdlab/schema/cim_schema.json) with exactly that spelling. Never a Windows answer: the command
    fails loudly, so the lab cannot drift from Windows's words (issue 10)."""


class NotModelled(Exception):
    """A call of a documented method, or a write of a documented property, that the lab does not model
    (rdlab.model.unmodelled says why). Windows would answer it; the lab has no honest answer, so the command
    fails loudly instead of passing an error for Windows's (issue 15)."""


class LabStateError(Exception):
    """The host's state is not something the lab models (a bad seed, inconsistent counters).

    Deliberately not a WbemError: it must not pass for a Windows answer, so the bridge executor
    lets it through and the command fails loudly.
    """


WBEM_E_FAILED = 0x80041001
WBEM_E_NOT_FOUND = 0x80041002
WBEM_E_ACCESS_DENIED = 0x80041003
WBEM_E_TYPE_MISMATCH = 0x80041005
WBEM_E_INVALID_PARAMETER = 0x80041008
WBEM_E_NOT_SUPPORTED = 0x8004100C
WBEM_E_INVALID_NAMESPACE = 0x8004100E
WBEM_E_INVALID_CLASS = 0x80041010
WBEM_E_INVALID_OPERATION = 0x80041016
WBEM_E_INVALID_QUERY = 0x80041017
WBEM_E_READ_ONLY = 0x80041023
WBEM_E_INVALID_METHOD = 0x8004102E
WBEM_E_INVALID_METHOD_PARAMETERS = 0x8004102F


@dataclass
class Prop:
    name: str
    cim_type: str  # uint32, uint16, boolean, string, datetime, string[], ...: checked against the schema
    writable: bool = False
    status: str = DOCUMENTED
    source: str = ""
    schema: dict | None = None  # the schema's entry, set by bind_to_schema


@dataclass
class Param:
    name: str
    cim_type: str
    direction: str = "in"  # in | out


@dataclass
class Method:
    name: str
    params: list[Param]
    static: bool
    impl: Callable[..., tuple[int, dict]] | None = None  # (host, instance|None, args) -> (ReturnValue, out)
    status: str = DOCUMENTED
    source: str = ""
    min_os: str | None = None  # first lab OS that has the method
    schema: dict | None = None  # the schema's entry, set by bind_to_schema

    def param(self, name: str) -> Param | None:
        # CIM names are case-insensitive.
        return next((p for p in self.params if p.name.lower() == name.lower()), None)


@dataclass
class CimClass:
    namespace: str
    name: str
    keys: list[str]
    properties: list[Prop]
    methods: list[Method] = field(default_factory=list)
    status: str = DOCUMENTED
    source: str = ""
    # host -> bool: does the class exist on this host (e.g. only when the role is installed)
    available: Callable[[Any], bool] = lambda host: True
    # host -> list of instance dicts (property name -> Python value)
    enumerate: Callable[[Any], list[dict]] = lambda host: []
    # (host, instance, {prop: value}) -> None; writes the provider's state
    put: Callable[[Any, dict, dict], None] | None = None
    notes: str = ""
    schema: dict | None = None  # the schema's entry, set by bind_to_schema

    def prop(self, name: str) -> Prop | None:
        return next((p for p in self.properties if p.name.lower() == name.lower()), None)

    def method(self, name: str) -> Method | None:
        return next((m for m in self.methods if m.name.lower() == name.lower()), None)

    def documented_prop(self, name: str) -> Prop | None:
        """The model's property, or else one of the class's properties in Microsoft's schema that the lab does not
        model (always null: see docs/fidelity.md), so WQL may name any documented property."""
        found = self.prop(name)
        if found is not None or self.schema is None:
            return found
        entry = next((p for p in self.schema["properties"] if p["name"].lower() == name.lower()), None)
        return None if entry is None else Prop(entry["name"], entry["type"], status=NOT_MODELLED, schema=entry)


# --- Microsoft's schema --------------------------------------------------------------------------

def bind_to_schema(cls: CimClass, schema=None) -> CimClass:
    """Check a model's class against Microsoft's schema and take its words from there.

    Every name the model declares must be the schema's, in the same case; every type must be the
    schema's type. A method's parameters become the schema's full list, so every out parameter
    Windows returns is returned. Anything else raises SchemaMismatch at import time.
    """
    from ..schema import SCHEMA, find_method, find_param, find_property
    schema = schema or SCHEMA
    entry = schema.find_class(cls.namespace, cls.name)
    _exact(entry, cls.name, f"class {cls.namespace}:{cls.name}")
    cls.schema = entry
    for prop in cls.properties:
        found = find_property(entry, prop.name)
        _exact(found, prop.name, f"property {cls.name}.{prop.name}")
        _same_type(found["type"], prop.cim_type, f"property {cls.name}.{prop.name}")
        prop.schema = found
    for method in cls.methods:
        found = find_method(entry, method.name)
        where = f"method {cls.name}.{method.name}"
        _exact(found, method.name, where)
        if found["static"] is not None and found["static"] != method.static:
            raise SchemaMismatch(f"{where}: the model says static={method.static}, the schema {found['static']}")
        for param in method.params:
            documented = find_param(found, param.name)
            _exact(documented, param.name, f"parameter {cls.name}.{method.name}.{param.name}")
            _same_type(documented["type"], param.cim_type, f"parameter {cls.name}.{method.name}.{param.name}")
            if documented["direction"] != param.direction:
                raise SchemaMismatch(f"parameter {cls.name}.{method.name}.{param.name}: the model says "
                                     f"{param.direction}, the schema {documented['direction']}")
        method.params = [Param(p["name"], p["type"], p["direction"]) for p in found["params"]]
        method.schema = found
    return cls


def _exact(found: dict | None, name: str, what: str) -> None:
    if found is None:
        raise SchemaMismatch(f"{what} is not in Microsoft's schema (rdlab/schema/cim_schema.json)")
    if found["name"] != name:
        raise SchemaMismatch(f"{what} is spelt {found['name']!r} in Microsoft's schema")


def _same_type(documented: str, declared: str, what: str) -> None:
    if documented != declared:
        raise SchemaMismatch(f"{what}: the model declares {declared}, Microsoft's schema {documented}")


class StrictArguments(dict):
    """A method's typed in-arguments for a model: reading a name that is not one of the method's
    in parameters, spelt exactly as the schema spells it, raises SchemaMismatch."""

    def __init__(self, values: dict, allowed: set[str], where: str):
        super().__init__(values)
        self.allowed, self.where = allowed, where

    def _check(self, key):
        if key not in self.allowed:
            raise SchemaMismatch(f"{self.where} read the argument {key!r}, which is not one of its in parameters "
                                 f"in Microsoft's schema ({', '.join(sorted(self.allowed)) or 'none'})")

    def __getitem__(self, key):
        self._check(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self._check(key)
        return super().get(key, default)


# --- values ------------------------------------------------------------------------------------

class EmbeddedInstance(dict):
    """An instance given as a method argument (what New-CimInstance -ClientOnly makes): its class name and
    properties. A parameter typed object:<class> takes only an instance of that class."""

    def __init__(self, class_name: str, properties: dict):
        super().__init__(properties)
        self.class_name = class_name


UINT_RANGES = {"uint8": 0xFF, "uint16": 0xFFFF, "uint32": 0xFFFFFFFF, "uint64": 0xFFFFFFFFFFFFFFFF}
SINT_RANGES = {"sint8": 7, "sint16": 15, "sint32": 31, "sint64": 63}


def coerce(value: Any, cim_type: str) -> Any:
    """Convert a value to a CIM type the way PowerShell's CIM cmdlets do, or raise TYPE_MISMATCH.

    Strings of digits convert to integers and numbers to strings ("[uint32]'4'" works in
    PowerShell); anything else that does not fit the declared type is a type mismatch.
    """
    if value is None:
        return None
    if cim_type.endswith("[]"):
        items = value if isinstance(value, list) else [value]
        return [coerce(v, cim_type[:-2]) for v in items]
    if cim_type in UINT_RANGES or cim_type in SINT_RANGES:
        return _coerce_int(value, cim_type)
    if cim_type == "boolean":
        if isinstance(value, bool):
            return value
        raise WbemError(WBEM_E_TYPE_MISMATCH, f"{value!r} is not a boolean")
    if cim_type == "string":
        if isinstance(value, (dict, list)):
            raise WbemError(WBEM_E_TYPE_MISMATCH, f"{value!r} is not a string")
        return value if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)
    if cim_type == "datetime":
        return value
    if cim_type.startswith("object:"):
        if isinstance(value, EmbeddedInstance) and value.class_name.lower() == cim_type[len("object:"):].lower():
            return value
        raise WbemError(WBEM_E_TYPE_MISMATCH, f"the value is not an instance of {cim_type[len('object:'):]}")
    raise WbemError(WBEM_E_TYPE_MISMATCH, f"type {cim_type} is not modelled")


def _coerce_int(value: Any, cim_type: str) -> int:
    if isinstance(value, bool) or isinstance(value, (dict, list, float)):
        raise WbemError(WBEM_E_TYPE_MISMATCH, f"{value!r} is not a {cim_type}")
    if isinstance(value, str):
        if not re.fullmatch(r"\s*-?\d+\s*", value):
            raise WbemError(WBEM_E_TYPE_MISMATCH, f"{value!r} is not a {cim_type}")
        value = int(value)
    if cim_type in UINT_RANGES and not 0 <= value <= UINT_RANGES[cim_type]:
        raise WbemError(WBEM_E_TYPE_MISMATCH, f"{value} is out of range for {cim_type}")
    if cim_type in SINT_RANGES and not -(2 ** SINT_RANGES[cim_type]) <= value < 2 ** SINT_RANGES[cim_type]:
        raise WbemError(WBEM_E_TYPE_MISMATCH, f"{value} is out of range for {cim_type}")
    return value


def dmtf_to_datetime(text: str) -> dt.datetime:
    """Parse a DMTF datetime 'yyyymmddHHMMSS.mmmmmmsUUU' (UUU = UTC offset in minutes)."""
    m = re.fullmatch(r"(\d{14})\.(\d{6})([+-])(\d{3})", text)
    if not m:
        raise ValueError(f"not a DMTF datetime: {text!r}")
    base = dt.datetime.strptime(m.group(1), "%Y%m%d%H%M%S").replace(microsecond=int(m.group(2)))
    offset = dt.timedelta(minutes=int(m.group(4))) * (1 if m.group(3) == "+" else -1)
    return (base - offset).replace(tzinfo=dt.timezone.utc)


# --- WQL ---------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")|(?P<num>-?\d+)|(?P<op><>|!=|<=|>=|=|<|>)"
    r"|(?P<paren>[()])|(?P<word>[A-Za-z_][A-Za-z0-9_]*))"
)


def parse_condition(text: str, cim_class: CimClass) -> Callable[[dict], bool]:
    """Compile a WQL WHERE condition (comparisons, AND, OR, NOT, parentheses, LIKE, IS NULL).

    Anything outside this subset, or a property the class does not have, raises
    WBEM_E_INVALID_QUERY as the WMI service does for a bad query.
    """
    tokens = _tokenize(text)
    parser = _ConditionParser(tokens, cim_class, text)
    predicate = parser.parse_or()
    if parser.pos != len(tokens):
        raise WbemError(WBEM_E_INVALID_QUERY, f"unexpected {tokens[parser.pos][1]!r} in {text!r}")
    return predicate


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise WbemError(WBEM_E_INVALID_QUERY, f"cannot parse {text[pos:]!r}")
        kind = m.lastgroup
        tokens.append((kind, m.group(kind)))
        pos = m.end()
    return tokens


class _ConditionParser:
    def __init__(self, tokens, cim_class, text):
        self.tokens, self.cim_class, self.text, self.pos = tokens, cim_class, text, 0

    def _peek_word(self, *words):
        if self.pos < len(self.tokens):
            kind, value = self.tokens[self.pos]
            return kind == "word" and value.upper() in words
        return False

    def _take(self):
        if self.pos >= len(self.tokens):
            raise WbemError(WBEM_E_INVALID_QUERY, f"incomplete condition {self.text!r}")
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def parse_or(self):
        left = self.parse_and()
        while self._peek_word("OR"):
            self.pos += 1
            right = self.parse_and()
            left = _either(left, right)
        return left

    def parse_and(self):
        left = self.parse_not()
        while self._peek_word("AND"):
            self.pos += 1
            right = self.parse_not()
            left = _both(left, right)
        return left

    def parse_not(self):
        if self._peek_word("NOT"):
            self.pos += 1
            inner = self.parse_not()
            return lambda i: not inner(i)
        if self.pos < len(self.tokens) and self.tokens[self.pos] == ("paren", "("):
            self.pos += 1
            inner = self.parse_or()
            if self._take() != ("paren", ")"):
                raise WbemError(WBEM_E_INVALID_QUERY, f"missing ) in {self.text!r}")
            return inner
        return self.parse_comparison()

    def parse_comparison(self):
        kind, name = self._take()
        prop = self.cim_class.documented_prop(name) if kind == "word" else None
        if prop is None:
            raise WbemError(WBEM_E_INVALID_QUERY, f"{name!r} is not a property of {self.cim_class.name}")
        if self._peek_word("IS"):
            self.pos += 1
            negate = self._peek_word("NOT")
            self.pos += 1 if negate else 0
            if self._take() != ("word", "NULL") and not self.tokens[self.pos - 1][1].upper() == "NULL":
                raise WbemError(WBEM_E_INVALID_QUERY, f"expected NULL in {self.text!r}")
            return lambda i: (i.get(prop.name) is None) != negate
        if self._peek_word("LIKE"):
            self.pos += 1
            pattern = self._literal(self._take())
            regex = re.compile("^" + re.escape(str(pattern)).replace("%", ".*").replace("_", ".") + "$", re.I)
            return lambda i: i.get(prop.name) is not None and bool(regex.match(str(i.get(prop.name))))
        op_kind, op = self._take()
        if op_kind != "op":
            raise WbemError(WBEM_E_INVALID_QUERY, f"expected an operator after {name!r} in {self.text!r}")
        literal = self._literal(self._take())
        return _compare(prop, op, literal)

    def _literal(self, token):
        kind, value = token
        if kind == "str":
            return value[1:-1].replace("\\\\", "\\").replace("\\'", "'").replace('\\"', '"')
        if kind == "num":
            return int(value)
        if kind == "word" and value.upper() in ("TRUE", "FALSE"):
            return value.upper() == "TRUE"
        raise WbemError(WBEM_E_INVALID_QUERY, f"expected a literal, got {value!r} in {self.text!r}")


def _either(a, b):
    return lambda instance: a(instance) or b(instance)


def _both(a, b):
    return lambda instance: a(instance) and b(instance)


def _compare(prop: Prop, op: str, literal: Any) -> Callable[[dict], bool]:
    def key(value):
        return value.lower() if isinstance(value, str) else value  # WQL string compares ignore case

    def predicate(instance: dict) -> bool:
        value = instance.get(prop.name)
        if value is None:
            return False
        try:
            a, b = key(value), key(coerce(literal, prop.cim_type) if prop.cim_type != "datetime" else literal)
        except WbemError:
            return False
        return {
            "=": a == b, "<>": a != b, "!=": a != b,
            "<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b,
        }[op]

    return predicate
