"""The lab's executor for plugins/modules/host_bridge.ps1.

Nothing here can run PowerShell, so the lab executes the bridge's operations itself, following
host_bridge.ps1 step by step (each function names the PowerShell function it mirrors). What the
module would ask of Windows goes to the host model's CIM repository, which answers as Windows
documents. The allowlist is read from the module source that ansible actually sent, so the lab
enforces the shipped list, not a copy. Known differences are listed in docs/fidelity.md.
"""

from __future__ import annotations

import datetime as dt
import re

from ..model.cim import WbemError, coerce, dmtf_to_datetime
from ..model.host import FeatureError, Host
from ..model.repository import REPOSITORY

NO_LOG_PLACEHOLDER = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"  # what Ansible.Basic puts in invocation
OPTIONS = {"operations", "secrets", "stop_on_error"}
REQUIRED_FIELDS = {
    "cim_get": ("namespace", "class"), "cim_invoke": ("namespace", "class", "method"),
    "cim_set": ("namespace", "class", "properties"), "feature_get": ("names",), "feature_install": ("names",),
    "feature_uninstall": ("names",),
}
READ_ONLY_KINDS = {"cim_get", "feature_get"}
# CimException.NativeErrorCode for the WBEM codes the model raises (MI_Result names). Mapping of
# codes without an obvious MI counterpart to 'Failed' is ASSUMED.
NATIVE_ERROR = {
    0x80041010: "InvalidClass", 0x8004100E: "InvalidNamespace", 0x8004102E: "MethodNotFound",
    0x8004102F: "InvalidParameter", 0x80041005: "TypeMismatch", 0x80041002: "NotFound",
    0x80041003: "AccessDenied", 0x80041017: "InvalidQuery", 0x8004100C: "NotSupported",
}


class ClientCimError(Exception):
    """A CimException raised by the CIM cmdlets themselves, before Windows is asked (no HRESULT)."""


class BridgeModuleError(Exception):
    """A failure of the module itself (Ansible.Basic's FailJson), not of one operation."""


def read_allowlist(source: str) -> dict[str, list[str]]:
    """Parse the `$allowed = @{ 'ns' = @('A', 'B') ... }` table out of host_bridge.ps1."""
    block = re.search(r"\$allowed\s*=\s*@\{(.*?)\n\}", source, re.S)
    if not block:
        raise BridgeModuleError("the lab could not find the $allowed table in host_bridge.ps1")
    table = {}
    for ns, classes in re.findall(r"'([^']+)'\s*=\s*@\(([^)]*)\)", block.group(1)):
        table[ns.lower()] = [c.lower() for c in re.findall(r"'([^']+)'", classes)]
    if not table:
        raise BridgeModuleError("the $allowed table in host_bridge.ps1 is empty or not understood")
    return table


def run(host: Host, module_args: dict, source: str) -> dict:
    """Run a batch as host_bridge.ps1 does; returns the module result (Ansible.Basic shape)."""
    options = {k: v for k, v in module_args.items() if not k.startswith("_ansible_")}
    unknown = sorted(set(options) - OPTIONS)
    if unknown:
        raise BridgeModuleError(
            f"Unsupported parameters for (host_bridge) module: {', '.join(unknown)}. "
            f"Supported parameters include: {', '.join(sorted(OPTIONS))}.")
    operations = options.get("operations")
    if operations is None:
        raise BridgeModuleError("missing required arguments: operations")
    if not isinstance(operations, list) or not all(isinstance(o, dict) for o in operations):
        # Ansible.Basic does not check dict elements without options; the module then fails on $Op['kind'].
        raise BridgeModuleError("Unhandled exception while executing module: Cannot index into a string: "
                                "operations must be a list of dicts")
    stop_on_error = _parse_bool(options.get("stop_on_error", False))
    batch = _Batch(host, read_allowlist(source), options.get("secrets") or {},
                   bool(module_args.get("_ansible_check_mode")))
    results, failed, changed = [], False, False
    for op in operations:
        if failed and stop_on_error and not op.get("always"):
            result = {"ok": False, "error": {"kind": "skipped", "message": "skipped after an earlier operation failed"}}
        else:
            result = batch.operation(op)
        result["id"], result["kind"] = op.get("id"), op.get("kind")
        failed = failed or not result["ok"]
        if result["ok"] and (op.get("kind") == "cim_set" or
                             (str(op.get("kind")).endswith("install") and result.get("changed_features"))):
            changed = True
        results.append(result)
    output = {"changed": changed, "results": results}
    # ansible-core 2.19 always injects the invocation; 2.21 only when _ansible_inject_invocation says so.
    if module_args.get("_ansible_inject_invocation", True):
        output["invocation"] = {"module_args": _invocation(options, stop_on_error)}
    return output


def _parse_bool(value) -> bool:
    """Ansible.Basic's bool parsing."""
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text in ("yes", "on", "1", "true", "t", "y"):
        return True
    if text in ("no", "off", "0", "false", "f", "n"):
        return False
    raise BridgeModuleError(f"argument for stop_on_error is of type {type(value).__name__} and we were unable to "
                            "convert to bool")


def _invocation(options: dict, stop_on_error: bool) -> dict:
    """The invocation host_bridge.ps1 returns: it overwrites the secrets, which Ansible.Basic cannot mask."""
    shown = dict(options)
    shown["stop_on_error"] = stop_on_error
    shown["secrets"] = NO_LOG_PLACEHOLDER
    return shown


def to_bridge_value(value, cim_type: str | None):
    """ConvertTo-BridgeValue: DMTF datetimes become ISO 8601 UTC like the module's output."""
    if cim_type == "datetime" and isinstance(value, str):
        return dmtf_to_datetime(value).astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, list):
        return [to_bridge_value(v, cim_type[:-2] if cim_type else None) for v in value]
    return value


class _Batch:
    def __init__(self, host: Host, allowlist: dict, secrets: dict, check_mode: bool):
        self.host, self.allowlist, self.secrets, self.check_mode = host, allowlist, secrets, check_mode

    def operation(self, op: dict) -> dict:
        """Invoke-Operation: kind, required fields, check mode, allowlist, then the call."""
        kind = str(op.get("kind"))
        if kind not in REQUIRED_FIELDS:
            return _error("invalid_operation", f"unknown operation kind '{kind}'")
        for field in REQUIRED_FIELDS[kind]:
            if op.get(field) is None or op.get(field) in ("", [], {}):
                return _error("invalid_operation", f"a '{kind}' operation needs '{field}'")
        if self.check_mode and kind not in READ_ONLY_KINDS and not (kind == "cim_invoke" and op.get("read_only")):
            return _error("check_mode", f"a '{kind}' operation that is not read-only does not run in check mode")
        if kind.startswith("cim_") and not self._allowed(op):
            return _error("not_allowed", f"{op.get('namespace')}:{op.get('class')} is not on the bridge's allowlist")
        handler = {"cim_get": self.cim_get, "cim_invoke": self.cim_invoke, "cim_set": self.cim_set}.get(kind, self.feature)
        try:
            data = handler(op)
        except WbemError as e:
            native = NATIVE_ERROR.get(e.hresult, "Failed")
            error_kind = {"InvalidClass": "invalid_class", "InvalidNamespace": "invalid_namespace"}.get(native, "cim_error")
            return {"ok": False, "error": {"kind": error_kind, "native_error": native, "hresult": e.hresult,
                                           "message": e.text}}
        except ClientCimError as e:
            return {"ok": False, "error": {"kind": "cim_error", "native_error": "Failed", "hresult": None,
                                           "message": str(e)}}
        except ValueError as e:
            return _error("invalid_operation", str(e))
        except FeatureError as e:
            return _error("feature_error", str(e))
        if kind == "cim_invoke" and data["return_value"] != 0:
            return {"ok": False, "error": {"kind": "return_value", "return_value": data["return_value"],
                                           "out": data["out"],
                                           "message": f"{op.get('method')} returned {data['return_value']}"}}
        data["ok"] = True
        return data

    def _allowed(self, op) -> bool:
        """$allowed[ns] -contains class: hashtable keys and -contains ignore case."""
        classes = self.allowlist.get(str(op.get("namespace")).lower())
        return classes is not None and str(op.get("class")).lower() in classes

    def _target(self, op):
        """Get-Target."""
        properties = op.get("properties") if isinstance(op.get("properties"), list) and op.get("properties") else None
        return REPOSITORY.get_instances(self.host, op["namespace"], op["class"], op.get("filter") or None, properties)

    def _convert(self, cls, instances):
        types = {p.name: p.cim_type for p in cls.properties}
        return [{k: to_bridge_value(v, types.get(k)) for k, v in i.items()} for i in instances]

    def cim_get(self, op):
        cls, instances = self._target(op)
        return {"instances": self._convert(cls, instances)}

    def _arguments(self, op) -> dict:
        """Get-MethodArgument: secrets by name, then each value converted to its declared CIM type."""
        given = dict(op.get("arguments") or {})
        for param, secret_name in (op.get("secret_arguments") or {}).items():
            if secret_name not in self.secrets:
                raise ValueError(f"unknown secret '{secret_name}'")
            given[param] = self.secrets[secret_name]
        if not given:
            return given
        cls = self.host.cim_class(op["namespace"], op["class"])  # Get-CimClass
        method = cls.method(op.get("method") or "")
        converted = {}
        for name, value in given.items():
            declared = method.param(name) if method else None
            if declared is None:
                converted[name] = value  # passed through: Windows rejects it itself
                continue
            converted[name] = _convert(value, declared.cim_type, name)
        return converted

    def _method_result(self, cls, method_name, raw):
        """ConvertFrom-MethodResult."""
        method = cls.method(method_name)
        types = {p.name: p.cim_type for p in method.params} if method else {}
        out = {k: to_bridge_value(v, types.get(k)) for k, v in raw.items() if k != "ReturnValue"}
        return {"return_value": raw["ReturnValue"], "out": out}

    def cim_invoke(self, op):
        arguments = self._arguments(op)
        if op.get("instances"):
            cls, instances = self._target(op)
            method = cls.method(op["method"])
            for name in arguments:
                # Invoke-CimMethod -InputObject checks parameters against the instance's class, client side
                # (CimCmdlets CimInvokeCimMethod.CreateParametersCollection).
                if method is not None and method.param(name) is None:
                    raise ValueError(f"Can not find Parameter '{name}' in method '{op['method']}' of class "
                                     f"'{cls.name}'")
            calls = [self._method_result(cls, op["method"], REPOSITORY.invoke(
                self.host, op["namespace"], op["class"], op["method"], arguments, instance=i)) for i in instances]
            bad = [c for c in calls if c["return_value"] != 0]
            first = (bad or calls or [{"return_value": 0, "out": {}}])[0]
            return {"calls": calls, "return_value": first["return_value"], "out": first["out"]}
        cls = self.host.cim_class(op["namespace"], op["class"])
        raw = REPOSITORY.invoke(self.host, op["namespace"], op["class"], op["method"], arguments)
        return self._method_result(cls, op["method"], raw)

    def cim_set(self, op):
        """Invoke-CimSet: each declared property converted, then Set-CimInstance."""
        cls, instances = self._target(op)
        for instance in instances:
            properties = {}
            for name, value in op["properties"].items():
                declared = cls.prop(name)
                if declared is not None and not declared.writable:
                    # Set-CimInstance refuses it on the client (CimCmdlets CimSetCimInstance.SetProperty).
                    raise ClientCimError(f"Could not modify readonly property '{declared.name}' of object "
                                         f"'{cls.name}'.")
                properties[name] = _convert(value, declared.cim_type, name) if declared else value
            REPOSITORY.put(self.host, op["namespace"], op["class"], instance, properties)
        read_back = {"namespace": op["namespace"], "class": op["class"], "filter": op.get("filter")}
        cls, instances = self._target(read_back)
        return {"instances": self._convert(cls, instances)}

    def feature(self, op):
        """Invoke-Feature: Get-WindowsFeature returns nothing for names it does not know."""
        names = op.get("names")
        names = [names] if isinstance(names, str) else [str(n) for n in names]
        if op["kind"] == "feature_get":
            from ..model.host import FEATURES
            return {"features": [
                {"name": n, "display_name": FEATURES[n]["display_name"], "installed": self.host.feature_installed(n),
                 "install_state": self.host.feature_install_state(n)}
                for n in names if self.host.feature_available(n)]}
        tools = bool(op.get("include_management_tools"))
        if op["kind"] == "feature_install":
            result = self.host.install_features(names, tools)
        else:
            result = self.host.uninstall_features(names, tools)
        return {"success": result["success"], "restart_needed": "Yes" if result["restart_needed"] else "No",
                "exit_code": result["exit_code"], "changed_features": result["changed_features"]}


def _convert(value, cim_type: str, name: str):
    """ConvertTo-CimValue: strict, and never echoes the value (it may be a secret)."""
    try:
        return coerce(value, cim_type)
    except WbemError:
        raise ValueError(f"cannot convert the value of '{name}' to CIM type {cim_type}") from None


def _error(kind: str, message: str) -> dict:
    return {"ok": False, "error": {"kind": kind, "message": message}}
