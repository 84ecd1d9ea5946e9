"""What a lab host does with a command: decode ansible's payload and run the module it names.

Simulated modules: remote_desktop.licensing.host_bridge (rdlab/modules/host_bridge.py), ansible.windows.win_ping and
a minimal ansible.windows.setup. Everything else, raw commands included, fails with a clear
"not simulated" message rather than an answer that merely looks plausible.

become (runas) is simulated: become_wrapper logs the account on with its password and runs the module in that
session (rdlab/model/session.py), so the lab checks the account and the password as LogonUser would.
"""

from __future__ import annotations

import json

from . import host_bridge as bridge
from . import setup, win_ping
from ..model.host import Host
from ..model.session import SYSTEM_NAMES, Session
from ..winrm.payload import PayloadError, decode
from ..winrm.server import CommandResult, Logon

BRIDGE = "remote_desktop.licensing.host_bridge"
# The ansible.windows modules the lab answers, each a stand-in in its own file of this package.
STAND_INS = {"ansible.windows.win_ping": win_ping.run, "ansible.windows.setup": setup.run}


def execute(host: Host, command: str, arguments: list[str], stdin: bytes, logon: Logon | None = None,
            account: tuple[str, str] | None = None) -> tuple[CommandResult, dict]:
    """Run one command in the session `logon` made (NTLM by default) for the lab's `account` (user, password);
    returns the result and the transcript record."""
    record = {"command": {"kind": "command", "stdin_bytes": len(stdin)}}
    try:
        invocation = decode(command, arguments, stdin)
    except PayloadError as e:
        record["command"].update(module=None, result="failed")
        return _fail(f"The simulated Windows lab could not read this command: {e}"), record
    record["command"].update(module=invocation.module_name, wrappers=invocation.wrappers)
    if invocation.kind != "module":
        record["command"]["result"] = "failed"
        return _fail("The simulated Windows lab does not simulate raw commands; only the modules "
                     f"{BRIDGE}, ansible.windows.win_ping and ansible.windows.setup.", raw=True), record
    unsupported = [w for w in invocation.wrappers if w not in ("module_wrapper", "become_wrapper")]
    if unsupported:
        record["command"]["result"] = "failed"
        return _fail(f"The simulated Windows lab does not simulate {', '.join(unsupported)} (async is not "
                     "modelled)."), record
    logon = logon or Logon("ntlm")
    try:
        session = _session(host, logon, invocation.become, account)
    except BecomeFailed as e:
        record["command"]["result"] = "failed"
        return _fail(str(e)), record
    record["command"]["session"] = session.summary()
    host.session = session
    args = invocation.module_args
    record["command"]["check_mode"] = bool(args.get("_ansible_check_mode"))
    try:
        result = _run_module(host, invocation, record)
    except bridge.BridgeModuleError as e:
        result = {"failed": True, "msg": str(e)}
    record["command"]["result"] = "failed" if result.get("failed") else "ok"
    entry = _event_log_entry(invocation, args)
    if entry is not None:
        host.state.setdefault("event_log", []).append(entry)
        del host.state["event_log"][:-50]  # keep the newest 50, like a small log
    output = json.dumps(result).encode()
    record["command"]["stdout_bytes"] = len(output)  # what the module returns, for the benchmark
    return CommandResult(output, b"", 1 if result.get("failed") else 0), record


class BecomeFailed(Exception):
    """become_wrapper could not log the account on."""


def _session(host: Host, logon: Logon, become, account: tuple[str, str] | None) -> Session:
    """The session the module runs in: the WinRM logon's, or the one become_wrapper logs on."""
    session = Session(authentication=logon.scheme, delegation=logon.delegation)
    if become is None:
        return session
    if become.user.lower() not in SYSTEM_NAMES:
        _check_become_account(host, become, account)
    return Session(authentication=logon.scheme, delegation=logon.delegation, become=become.user,
                   become_logon=become.logon_type)


def _check_become_account(host: Host, become, account: tuple[str, str] | None) -> None:
    """LogonUser with the account and password become_wrapper got (ansible-core Ansible.Become.cs splits
    DOMAIN\\USER, takes '.' for a bare name). The lab has one account: its name as USER, .\\USER, HOST\\USER,
    or DOMAIN\\USER on a domain host. The failure is what ansible-core 2.19's exec_wrapper.ps1 (Write-AnsibleErrorJson)
    makes of the Win32Exception Ansible.AccessToken.cs throws from LogonUser, with Windows's 1326."""
    user, password = account or ("", "")
    domain, dummy, name = become.user.rpartition("\\")
    joined = (host.state.get("domain") or "").lower()  # a workgroup host: '' only, already known
    known = {"", ".", host.name.lower(), joined.split(".")[0], joined}
    if name.lower() == user.lower() and domain.lower() in known and become.password == password:
        return
    shown = become.user if "\\" in become.user else ".\\" + become.user
    raise BecomeFailed(f'failure during exec_wrapper: Exception calling "CreateProcessAsUser" with "9" argument(s): '
                       f'"Failed to logon {shown} (The user name or password is incorrect, Win32ErrorCode 1326)"')


def _run_module(host: Host, invocation, record: dict) -> dict:
    name, args = invocation.module_name, invocation.module_args
    if name == BRIDGE:
        result = bridge.run(host, args, invocation.script)
        record["operations"] = [_transcribe(op, res) for op, res in zip(args.get("operations") or [], result["results"])]
        return result
    if name in STAND_INS:
        return STAND_INS[name](host, args)
    return {"failed": True, "msg": f"The simulated Windows lab does not simulate the module {name}. Simulated: "
                                   f"{BRIDGE}, ansible.windows.win_ping, ansible.windows.setup."}


def _transcribe(op: dict, result: dict) -> dict:
    """One transcript line per operation: names and JSON types of arguments, never their values."""
    line = {k: op.get(k) for k in ("kind", "id", "namespace", "class", "method", "filter") if op.get(k) is not None}
    if op.get("arguments"):
        line["arguments"] = {k: _json_type(v) for k, v in op["arguments"].items()}
    if op.get("secret_arguments"):
        line["secret_arguments"] = {k: "string (secret, masked)" for k in op["secret_arguments"]}
    if op.get("names"):
        line["names"] = op["names"]
    if op.get("privileges"):
        line["privileges"] = op["privileges"]
    if op.get("omit_properties"):
        line["omit_properties"] = op["omit_properties"]  # property names, not values
    line["ok"] = result["ok"]
    line.update(_returned_names(result))
    if not result["ok"]:
        error = result["error"]
        line["error"] = {k: error[k] for k in ("kind", "hresult", "return_value") if k in error}
    return line


def _returned_names(result: dict) -> dict:
    """The names (never the values) of what came back: out parameters of a call, properties of instances,
    so a test can hold them against Microsoft's schema (rdlab/schema)."""
    names = {}
    outs = [result.get("out")] + [c.get("out") for c in result.get("calls") or []] + \
        [(result.get("error") or {}).get("out")]
    if any(isinstance(o, dict) for o in outs):
        names["out"] = sorted({k for o in outs if isinstance(o, dict) for k in o})
    if isinstance(result.get("instances"), list):
        names["properties"] = sorted({k for i in result["instances"] if isinstance(i, dict) for k in i})
    return names


def _json_type(value) -> str:
    for kind, name in ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"),
                       (list, "array"), (dict, "object")):
        if isinstance(value, kind):
            return name
    return "null"


def _event_log_entry(invocation, args: dict) -> dict | None:
    """Ansible.Basic writes "Invoked with:" to the Application log unless the module or task is no_log
    (host_bridge.ps1 is: its secrets could not be masked there)."""
    if invocation.module_name == BRIDGE or args.get("_ansible_no_log"):
        return None
    shown = {k: v for k, v in args.items() if not k.startswith("_ansible_")}
    return {"source": "Ansible", "module": invocation.module_name, "message": "Invoked with:\n" + json.dumps(shown)}


def _fail(message: str, raw: bool = False) -> CommandResult:
    if raw:
        return CommandResult(b"", message.encode(), 1)
    return CommandResult(json.dumps({"failed": True, "msg": message}).encode(), b"", 1)
