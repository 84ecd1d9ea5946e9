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

from .model.cim import WbemError, coerce, dmtf_to_datetime
from .model.host import FeatureError, Host
from .model.repository import REPOSITORY

NO_LOG_PLACEHOLDER = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"  # what Ansible.Basic puts in invocation
OPTIONS = {"operations", "secrets", "stop_on_error"}
READ_ONLY_KINDS = {"cim_get", "feature_get"}
# CimException.NativeErrorCode for the WBEM codes the model raises (MI_Result names). Mapping of
# codes without an obvious MI counterpart to 'Failed' is ASSUMED.
NATIVE_ERROR = {
    0x80041010: "InvalidClass", 0x8004100E: "InvalidNamespace", 0x8004102E: "MethodNotFound",
    0x8004102F: "InvalidParameter", 0x80041005: "TypeMismatch", 0x80041002: "NotFound",
    0x80041003: "AccessDenied", 0x80041017: "InvalidQuery", 0x8004100C: "NotSupported",
}


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
    if not isinstance(operations, list) or not all(isinstance(o, dict) for o in operations):
        raise BridgeModuleError("missing required arguments: operations" if operations is None
                                else "argument for operations is of type {} and we were unable to convert to list"
                                .format(type(operations).__name__))
    batch = _Batch(host, read_allowlist(source), options.get("secrets") or {},
                   bool(module_args.get("_ansible_check_mode")))
    results, failed, changed = [], False, False
    for op in operations:
        if failed and options.get("stop_on_error"):
            result = {"ok": False, "error": {"kind": "skipped", "message": "skipped after an earlier operation failed"}}
        else:
            result = batch.operation(op)
        result["id"], result["kind"] = op.get("id"), op.get("kind")
        failed = failed or not result["ok"]
        if result["ok"] and (op.get("kind") == "cim_set" or
                             (op.get("kind", "").endswith("install") and result.get("changed_features"))):
            changed = True
        results.append(result)
    output = {"changed": changed, "results": results,
              "invocation": {"module_args": _invocation(options)}}
    return mask(output, [str(v) for v in (options.get("secrets") or {}).values() if v not in (None, "")])


def run_invocation_view(options: dict) -> dict:
    """The module's arguments as Ansible.Basic logs them: no_log options replaced."""
    return _invocation(options)


def _invocation(options: dict) -> dict:
    shown = dict(options)
    shown.setdefault("stop_on_error", False)
    shown["secrets"] = NO_LOG_PLACEHOLDER
    return shown


def mask(value, secrets: list[str]):
    """Ansible.Basic replaces every no_log value found in the output with '********'."""
    if isinstance(value, dict):
        return {k: mask(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v, secrets) for v in value]
    if isinstance(value, str) and value != NO_LOG_PLACEHOLDER:
        for secret in secrets:
            value = value.replace(secret, "********")
    return value


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
        """Invoke-Operation."""
        kind = op.get("kind")
        if self.check_mode and kind not in READ_ONLY_KINDS and not (kind == "cim_invoke" and op.get("read_only")):
            return _error("check_mode", f"a '{kind}' operation that is not read-only does not run in check mode")
        try:
            if str(kind).startswith("cim_"):
                self._assert_allowed(op)
            handler = {"cim_get": self.cim_get, "cim_invoke": self.cim_invoke, "cim_set": self.cim_set,
                       "feature_get": self.feature, "feature_install": self.feature,
                       "feature_uninstall": self.feature}.get(kind)
            if handler is None:
                return _error("invalid_operation", f"unknown operation kind '{kind}'")
            data = handler(op)
        except WbemError as e:
            native = NATIVE_ERROR.get(e.hresult, "Failed")
            error_kind = {"InvalidClass": "invalid_class", "InvalidNamespace": "invalid_namespace"}.get(native, "cim_error")
            return {"ok": False, "error": {"kind": error_kind, "native_error": native, "hresult": e.hresult,
                                           "message": e.text}}
        except PermissionError as e:
            return _error("not_allowed", str(e))
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

    def _assert_allowed(self, op):
        """Assert-Allowed: PowerShell's -contains and hashtable keys ignore case."""
        classes = self.allowlist.get(str(op.get("namespace")).lower())
        if classes is None or str(op.get("class")).lower() not in classes:
            raise PermissionError(f"{op.get('namespace')}:{op.get('class')} is not on the bridge's allowlist")

    def _target(self, op):
        """Get-Target."""
        properties = op.get("properties") if isinstance(op.get("properties"), list) else None
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
            try:
                converted[name] = coerce(value, declared.cim_type)
            except WbemError:
                raise ValueError(f"cannot convert '{value}' to CIM type {declared.cim_type}") from None
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
            calls = [self._method_result(cls, op["method"], REPOSITORY.invoke(
                self.host, op["namespace"], op["class"], op["method"], arguments, instance=i)) for i in instances]
            bad = [c for c in calls if c["return_value"] != 0]
            first = (bad or calls or [{"return_value": 0, "out": {}}])[0]
            return {"calls": calls, "return_value": first["return_value"], "out": first["out"]}
        cls = self.host.cim_class(op["namespace"], op["class"])
        raw = REPOSITORY.invoke(self.host, op["namespace"], op["class"], op["method"], arguments)
        return self._method_result(cls, op["method"], raw)

    def cim_set(self, op):
        cls, instances = self._target(op)
        for instance in instances:
            REPOSITORY.put(self.host, op["namespace"], op["class"], instance, op.get("properties") or {})
        read_back = {"namespace": op["namespace"], "class": op["class"], "filter": op.get("filter")}
        cls, instances = self._target(read_back)
        return {"instances": self._convert(cls, instances)}

    def feature(self, op):
        """Invoke-Feature: Get-WindowsFeature returns nothing for names it does not know."""
        names = [str(n) for n in op.get("names") or []]
        if op["kind"] == "feature_get":
            from .model.host import FEATURES
            return {"features": [
                {"name": n, "display_name": FEATURES[n]["display_name"], "installed": self.host.feature_installed(n),
                 "install_state": "Installed" if self.host.feature_installed(n) else "Available"}
                for n in names if self.host.feature_available(n)]}
        tools = bool(op.get("include_management_tools"))
        if op["kind"] == "feature_install":
            result = self.host.install_features(names, tools)
        else:
            result = self.host.uninstall_features(names, tools)
        return {"success": result["success"], "restart_needed": "Yes" if result["restart_needed"] else "No",
                "exit_code": result["exit_code"], "changed_features": result["changed_features"]}


def _error(kind: str, message: str) -> dict:
    return {"ok": False, "error": {"kind": kind, "message": message}}
