# -*- coding: utf-8 -*-
# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY
# The interfaces in this file serve this collection's own plugins; they may change in any release,
# even a bugfix release. Do not import them from other collections or playbooks.
"""Client for the host bridge: build a batch, send it in one round trip, read the results.

The protocol is described in docs/architecture.md. Secrets are registered with the batch and sent
in the bridge's no_log `secrets` option; operations refer to them by name only.
"""

from __future__ import annotations

import datetime
import json
import re

from ansible.errors import AnsibleConnectionFailure, AnsibleError

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _wmi as wmi

BRIDGE_MODULE = "remote_desktop.licensing.host_bridge"
_MISSING_KINDS = ("invalid_class", "invalid_namespace")


class BridgeError(Exception):
    """The bridge module itself failed (not one operation): the batch did not run."""


class Batch:
    """An ordered list of operations for one round trip."""

    def __init__(self):
        self.operations = []
        self.secrets = {}

    def _add(self, op_id, kind, **fields):
        if any(op["id"] == op_id for op in self.operations):
            raise ValueError("duplicate operation id %r" % op_id)
        op = {"id": op_id, "kind": kind}
        op.update((k, v) for k, v in fields.items() if v is not None)
        self.operations.append(op)
        return op

    def get(self, op_id, namespace, class_name, filter=None, properties=None):
        return self._add(op_id, "cim_get", namespace=namespace, **{"class": class_name}, filter=filter,
                         properties=list(properties) if properties else None)

    def invoke(self, op_id, namespace, class_name, method, arguments=None, secret_arguments=None,
               instances=False, filter=None, read_only=False, privileges=None, omit_properties=None):
        """Call a method; `secret_arguments` maps parameter names to secret values; `privileges` are enabled
        in the caller's token for this call only (host_bridge.ps1 allows SeShutdownPrivilege);
        `omit_properties` are left out of the embedded instances the call returns, on the host: what the
        controller will not reveal never leaves the host (ansible's winrm connection prints a module's raw
        output at -vvvvv)."""
        refs = None
        if secret_arguments:
            refs = {}
            for param, value in secret_arguments.items():
                name = "%s.%s" % (op_id, param)
                self.secrets[name] = value
                refs[param] = name
        return self._add(op_id, "cim_invoke", namespace=namespace, **{"class": class_name}, method=method,
                         arguments=arguments or None, secret_arguments=refs, instances=instances or None,
                         filter=filter, read_only=read_only or None, privileges=privileges or None,
                         omit_properties=list(omit_properties) if omit_properties else None)

    def set(self, op_id, namespace, class_name, properties, filter=None):
        return self._add(op_id, "cim_set", namespace=namespace, **{"class": class_name}, properties=properties,
                         filter=filter)

    def declaration(self, op_id, namespace, class_name):
        """The class as the host declares it (Get-CimClass): its methods, their parameters and properties."""
        return self._add(op_id, "cim_class", namespace=namespace, **{"class": class_name})

    def feature_get(self, op_id, names):
        return self._add(op_id, "feature_get", names=list(names))

    def feature_install(self, op_id, names, include_management_tools=False):
        return self._add(op_id, "feature_install", names=list(names),
                         include_management_tools=include_management_tools)

    def feature_uninstall(self, op_id, names, include_management_tools=False):
        return self._add(op_id, "feature_uninstall", names=list(names),
                         include_management_tools=include_management_tools)

    def module_args(self, stop_on_error=False):
        return {"operations": self.operations, "secrets": encode_secrets(self.secrets), "stop_on_error": stop_on_error}


def encode_secrets(secrets):
    """The bridge's `secrets` option: a JSON object in one string, '' when there are none.

    Ansible.Basic (lib/ansible/module_utils/csharp/Ansible.Basic.cs) registers a no_log option's value for
    masking as its ToString() (SetNoLogValues, run by the constructor before CheckArguments). A dict's
    ToString() is only its type name, so a dict of secrets went unmasked into the invocation that FailJson
    returns when the argument check fails, before host_bridge.ps1 runs a line. A string's ToString() is the
    string: RemoveValueConditions replaces it with VALUE_SPECIFIED_IN_NO_LOG_PARAMETER wherever it
    appears. An empty string is not registered (String.IsNullOrEmpty), so '' stands for none rather than
    '{}', which would mask every '{}' in the output.
    """
    return json.dumps(secrets, sort_keys=True) if secrets else ""


class CimNames(dict):
    """A dict of CIM names (properties, out parameters) that ignores case when read.

    CIM names are case-insensitive (DMTF DSP0004 "Names"; PowerShell's CIM cmdlets ignore case), and
    Windows's spelling is not always the documented one: GetTStoLSConnectivityStatus returns
    TStoLSConnectivityStatus, which a public script spells TsToLs... Every bridge result is read
    through this class, so no caller depends on the case the host answers in. Keys keep the host's
    spelling when iterated.
    """

    def __init__(self, items=()):
        super(CimNames, self).__init__(items)
        self._folded = dict((k.lower(), k) for k in self if isinstance(k, str))

    def _key(self, key):
        if isinstance(key, str) and not dict.__contains__(self, key):
            return self._folded.get(key.lower(), key)
        return key

    def __getitem__(self, key):
        return super(CimNames, self).__getitem__(self._key(key))

    def __contains__(self, key):
        return super(CimNames, self).__contains__(self._key(key))

    def get(self, key, default=None):
        return super(CimNames, self).get(self._key(key), default)

    def __setitem__(self, key, value):
        super(CimNames, self).__setitem__(key, value)
        if isinstance(key, str):
            self._folded[key.lower()] = key

    def copy(self):
        return CimNames(self)


def parse_time(text):
    """A datetime the bridge sent (host_bridge.ps1's ConvertTo-BridgeValue: ISO 8601 UTC, to the second) as an
    aware datetime, or None when it is missing or not one."""
    try:
        return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        return None


def cim_names(value):
    """The value with every dict in it (instances, embedded instances) reading names case-insensitively."""
    if isinstance(value, dict):
        return CimNames((k, cim_names(v)) for k, v in value.items())
    if isinstance(value, list):
        return [cim_names(v) for v in value]
    return value


def _result_names(raw):
    """An operation's result with its CIM parts (instances, out parameters, calls) case-insensitive."""
    raw = dict(raw)
    for key in ("instances", "out", "calls"):
        if key in raw:
            raw[key] = cim_names(raw[key])
    if isinstance(raw.get("error"), dict) and "out" in raw["error"]:
        raw["error"] = dict(raw["error"], out=cim_names(raw["error"]["out"]))
    if raw.get("exit_code") == "SuccessRestartRequired":
        # Install-/Uninstall-WindowsFeature's ExitCode (ServerManager FeatureOperationExitCode): the change
        # completes at the next restart, whatever RestartNeeded says.
        raw["restart_needed"] = "Yes"
    return raw


class OpResult:
    """One operation's result, with the questions callers ask of it."""

    def __init__(self, raw, operation=None):
        self.raw = _result_names(raw)
        self.operation = operation or {}
        self.ok = bool(raw.get("ok"))
        self.error = self.raw.get("error") or {}

    @property
    def missing(self):
        """The class or namespace does not exist: for a licensing class, the role is not installed."""
        return not self.ok and self.error.get("kind") in _MISSING_KINDS

    @property
    def instances(self):
        return self.raw.get("instances") or []

    @property
    def instance(self):
        return self.instances[0] if self.instances else None

    @property
    def out(self):
        return self.raw.get("out") or CimNames()

    @property
    def return_value(self):
        if "return_value" in self.raw:
            return self.raw["return_value"]
        return self.error.get("return_value")

    def message(self):
        """What went wrong, in words a Windows admin can act on."""
        if self.ok:
            return "succeeded"
        target = _describe_target(self.operation)
        kind = self.error.get("kind")
        if kind == "return_value":
            return "%s returned %s" % (target, wmi.describe_code(self.error.get("return_value")))
        if kind in ("cim_error",) + _MISSING_KINDS:
            code = self.error.get("hresult")
            detail = wmi.describe_code(code) if code is not None else self.error.get("native_error") or "no code"
            return "%s failed: %s [%s]" % (target, self.error.get("message", "").strip(), detail)
        return "%s failed (%s): %s" % (target, kind, self.error.get("message", ""))


def _describe_target(op):
    if op.get("kind") in ("cim_get", "cim_set", "cim_invoke"):
        name = op.get("class", "?")
        if op.get("method"):
            name += "." + op["method"]
        return "%s in %s" % (name, op.get("namespace", "?"))
    if op.get("names"):
        return "%s of %s" % (op.get("kind"), ", ".join(op["names"]))
    return op.get("kind", "operation")


class BatchResult:
    """Results by operation id."""

    def __init__(self, batch, raw_results):
        if len(raw_results) != len(batch.operations):
            raise BridgeError("the host bridge returned %d results for %d operations"
                              % (len(raw_results), len(batch.operations)))
        self._by_id = {}
        for op, raw in zip(batch.operations, raw_results):
            self._by_id[op["id"]] = OpResult(raw, op)

    def __getitem__(self, op_id):
        return self._by_id[op_id]

    def __iter__(self):
        return iter(self._by_id.values())


# A connection problem reaches the action plugin as AnsibleConnectionFailure from the winrm plugin
# (it wraps what pywinrm and requests raise while connecting, and a read timeout while running), as
# requests' ConnectionError (an OSError), or as a plain AnsibleError when the connection attempt
# timed out (ansible-core plugins/connection/winrm.py _winrm_connect).
CONNECTION_ERRORS = (AnsibleConnectionFailure, OSError)
_CONNECT_TIMEOUT = "the connection attempt timed out"


class HostUnreachable(BridgeError):
    """The host could not be reached, or refused the connection: the task is UNREACHABLE, as ansible
    reports any connection failure. `reason` is authentication, refused, timeout, tls, unencrypted,
    dropped or other; `detail` is the first line of the error the connection gave."""

    def __init__(self, message, reason, detail):
        super(HostUnreachable, self).__init__(message)
        self.reason = reason
        self.detail = detail


def read_only(batch):
    """Whether the batch changes nothing, so that sending it again is safe."""
    return all(op["kind"] in ("cim_get", "feature_get", "cim_class") or op.get("read_only") for op in batch.operations)


def run(action, task_vars, batch, stop_on_error=False):
    """Send the batch through the bridge module in one round trip.

    A connection that dropped is tried once more for a read-only batch. Nothing else is retried: a
    refused password tried again is a second failed logon, which an account lockout policy counts; a
    refused or timed-out connection fails the same way again. A batch that changes things is never sent
    twice: the error says so, and the next run reads the host and finishes what is missing.
    """
    try:
        result = _execute(action, task_vars, batch, stop_on_error)
    except Exception as e:  # narrowed by unreachable(): anything else is raised as it was
        problem = unreachable(action, task_vars, e)
        if problem is None:
            raise
        if problem.reason != "dropped":
            raise problem from None
        if not read_only(batch):
            raise HostUnreachable(
                "The connection to %s dropped while changes were being applied (%s). Some may have been made: run "
                "the task again; it reads the host first and completes only what is missing."
                % (_where(action, task_vars)[0], problem.detail), "dropped", problem.detail) from None
        reset_connection(action)
        try:
            result = _execute(action, task_vars, batch, stop_on_error)
        except Exception as again:
            problem = unreachable(action, task_vars, again)
            if problem is None:
                raise
            if problem.reason == "dropped":
                raise HostUnreachable(_dropped_twice(_where(action, task_vars), problem.detail), "dropped",
                                      problem.detail) from None
            raise problem from None
    return _results(batch, result)


# What the winrm plugin's message says -> (reason, the problem in words). The first match wins.
_REASONS = (
    ("authentication", ("credentials were rejected", "code 401")),
    ("unencrypted", ("unencrypted",)),
    ("tls", ("ssl", "certificate")),
    ("refused", ("connection refused", "failed to establish a new connection")),
    ("timeout", ("timed out", "timeout")),
    ("dropped", ("connection aborted", "remotedisconnected", "connection reset", "reset by peer",
                 "connection broken", "broken pipe", "badstatusline")),
)


def _dropped_twice(where, detail):
    message = "The connection to %s dropped twice while reading it: %s" % (where[0], detail)
    if where[2] == "http":
        # An HTTPS listener drops plain HTTP this way, on every run.
        message += (". If this happens on every run, check ansible_winrm_scheme: http spoken to an HTTPS listener "
                    "(port %s) drops the connection like this." % where[1])
    return message


def unreachable(action, task_vars, error):
    """The connection problem `error` stands for, as a HostUnreachable; None when it is not one."""
    text = str(error).strip()
    if not isinstance(error, CONNECTION_ERRORS) and not (isinstance(error, AnsibleError) and _CONNECT_TIMEOUT in text):
        return None
    detail = text.splitlines()[0] if text else type(error).__name__
    reason = _reason(text)
    return HostUnreachable(_describe(_where(action, task_vars), reason, detail), reason, detail)


def _reason(text):
    lowered = text.lower()
    return next((name for name, needles in _REASONS if any(n in lowered for n in needles)), "other")


def describe_text(text, host):
    """The words of the UNREACHABLE messages for a connection failure known only by its text (the fleet report
    reads results that ansible itself made UNREACHABLE: their msg is what pywinrm or requests raised). The port
    and scheme come from the text when it names them (requests: HTTPSConnectionPool(host=..., port=5986))."""
    text = (text or "").strip()
    detail = text.splitlines()[0] if text else "no reason given"
    port = re.search(r"port=(\d+)", text)
    scheme = re.search(r"(https?)connectionpool", text.lower())
    # "?" where the text does not say, as _where() does for a connection option it cannot read.
    where = (host, port.group(1) if port else "?", scheme.group(1) if scheme else "?", None)
    return _describe(where, _reason(text), detail)


def without_detail(message, detail):
    """A message of _describe or _dropped_twice without the connection's own words (`detail`, the first line of
    what pywinrm or requests raised, a Python exception's text): what a person reads in the fleet report, which
    keeps the detail apart."""
    if not detail:
        return message
    for quoted in (": %s" % detail, " (%s)" % detail):
        if quoted in message:
            return message.replace(quoted, "", 1)
    return message


def _port(port):
    return "its WinRM port" if port in (None, "?") else "port %s" % port


def _describe(where, reason, detail):
    host, port, scheme, user = where
    if reason == "authentication":
        return ("Authentication %s(ansible_user) was rejected by %s: check ansible_user and ansible_password, and "
                "that the account may log on over WinRM. Not retried: each attempt with a wrong password counts "
                "towards an account lockout policy." % ("" if user is None else "as %s " % user, host))
    if reason == "refused":
        return ("Nothing listens on %s of %s (connection refused): check ansible_port (WinRM listens on 5985 "
                "for HTTP, 5986 for HTTPS) and that the WinRM service runs there." % (_port(port), host))
    if reason == "timeout":
        seconds = re.search(r"(?:read timeout|timeout)=(\d+(?:\.\d+)?)", detail)
        return ("%s did not answer on %s in time%s: the host may be down, overloaded or behind a firewall that "
                "drops WinRM; for a slow host raise ansible_winrm_read_timeout_sec (and ansible_winrm_operation_timeout_sec,"
                " which must stay below it)." % (host, _port(port), " (%s seconds)" % seconds.group(1) if seconds else ""))
    if reason == "tls":
        if "certificate" in detail.lower():
            ssl_words = re.search(r"\[SSL: [^\]]+\][^(')\]]*", detail)
            return ("The certificate of %s on %s is not trusted (%s): set ansible_winrm_ca_trust_path to the CA "
                    "that issued it." % (host, _port(port), ssl_words.group(0).strip() if ssl_words else detail))
        return ("The TLS handshake with %s on %s failed (ansible_winrm_scheme: %s): the listener on that port may speak "
                "HTTP, not HTTPS (WinRM's defaults: 5985 HTTP, 5986 HTTPS). Set ansible_winrm_scheme and ansible_port "
                "to match the listener." % (host, _port(port), scheme))
    if reason == "unencrypted":
        return ("The WinRM service on %s refused an unencrypted message over HTTP (its AllowUnencrypted setting is "
                "false): set ansible_winrm_message_encryption: auto with the ntlm, kerberos or credssp transport, or "
                "connect over HTTPS." % host)
    if reason == "dropped":
        return "The connection to %s dropped: %s" % (host, detail)
    return "Could not connect to %s on %s: %s" % (host, _port(port), detail)


def _where(action, task_vars):
    """(host, port, scheme, user) of the task's connection, as far as it says; the host is named as in the
    inventory, with the address it was reached at."""
    connection = action._connection
    values = []
    for name, attribute in (("remote_addr", "_winrm_host"), ("port", "_winrm_port"), ("scheme", "_winrm_scheme"),
                            ("remote_user", "_winrm_user")):
        value = getattr(connection, attribute, None)
        if value is None:
            try:
                value = connection.get_option(name)
            except Exception:  # an option this connection plugin does not have
                value = None
        values.append(value if value is not None else "?")
    name = (task_vars or {}).get("inventory_hostname")
    if name and name != values[0]:
        values[0] = "%s (%s)" % (name, values[0])
    return tuple(values)


def _execute(action, task_vars, batch, stop_on_error):
    return action._execute_module(module_name=BRIDGE_MODULE, module_args=batch.module_args(stop_on_error),
                                  task_vars=task_vars, wrap_async=False)


def reset_connection(action):
    """Start a new WinRM connection (after a dropped one, or a reboot that made the host forget its shell).
    A connection that cannot even reset is closed: the next command opens a new one."""
    try:
        action._connection.reset()
    except CONNECTION_ERRORS + (AnsibleError,):
        action._connection.close()


def _results(batch, result):
    if result.get("failed") or "results" not in result:
        msg = result.get("msg") or "the host bridge returned no results"
        raise BridgeError("The host bridge module failed: %s" % msg)
    return BatchResult(batch, result["results"])
