"""Decode what ansible sends through WinRM into an `Invocation` the host model can act on.

Every command line is ``PowerShell <options> -EncodedCommand <base64 of the UTF-16LE script>``.
``raw`` stops there: the script is the command. A PowerShell module also has stdin, in one of two
formats (ansible-core's ``executor/powershell/module_manifest.py`` and ``bootstrap_wrapper.ps1``):

- ansible-core 2.19 and later: ``<bootstrap JSON>\\n\\0\\0\\0\\0\\n<manifest JSON>``, where the manifest
  holds the scripts (base64) and the exec-wrapper actions to run, the last one ``module_wrapper.ps1``
  with the module's name and arguments (winrm-wire.md).
- ansible-core 2.15 to 2.18: ``<exec_wrapper.ps1 text>\\0\\0\\0\\0<manifest JSON>``, where the manifest has
  the module's source in ``module_entry``, its arguments in ``module_args`` and the wrapper names in
  ``actions``, the last one ``module_powershell_wrapper``.

Both formats are internal to ansible, so every step is checked and fails with a `PayloadError` naming
what it expected. Fixtures of each: tests/lab/tests/fixtures/payloads.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any

# bootstrap_wrapper.ps1 reads the bootstrap JSON up to this line of four NUL characters.
STDIN_SEPARATOR = b"\n\0\0\0\0\n"
# ansible-core 2.15 to 2.18: bootstrap_wrapper.ps1 splits stdin at the first four NUL characters into
# the exec_wrapper script and the manifest JSON.
LEGACY_STDIN_SEPARATOR = b"\0\0\0\0"
# The legacy manifest names the wrapper that runs a PowerShell module 'module_powershell_wrapper';
# 2.19 calls that step 'module_wrapper'. Invocation.wrappers uses the 2.19 name for both.
_LEGACY_MODULE_WRAPPER = "module_powershell_wrapper"
# The legacy manifest does not carry the resolved module, only the name the task asked for
# (_ansible_module_name). Ansible resolves these two for a PowerShell host to ansible.windows
# (lib/ansible/config/ansible_builtin_runtime.yml redirects win_ping; the 2.19 fixtures show
# gather_facts' 'ansible.legacy.setup' running ansible.windows.setup).
_LEGACY_ROUTING = {"win_ping": "ansible.windows.win_ping", "setup": "ansible.windows.setup"}
_POWERSHELL = {"powershell", "powershell.exe", "pwsh", "pwsh.exe"}
_COLLECTION_MODULE = re.compile(r"ansible_collections\.(\w+)\.(\w+)\.plugins\.modules\.(\w+)")


class PayloadError(Exception):
    """Ansible sent something this decoder does not understand."""


@dataclass
class Invocation:
    """One thing ansible asked the host to run."""

    kind: str  # 'module' | 'raw'
    script: str  # raw: the decoded PowerShell command text; module: the module's source text
    module_name: str | None  # e.g. 'ansible.windows.win_ping'; None for raw
    module_args: dict[str, Any] = field(default_factory=dict)  # module options and _ansible_* keys
    wrappers: list[str] = field(default_factory=list)  # exec-wrapper actions, e.g. ['module_wrapper']
    become: Become | None = None  # what become_wrapper was asked to do, when it is among the wrappers


@dataclass
class Become:
    """The runas become_wrapper's parameters (ansible-core plugins/become/runas.py
    _build_powershell_wrapper_action; 2.15 to 2.18: the manifest's become_user, become_password and
    become_flags). The password travels in the payload as plain text, inside the encrypted channel."""

    user: str
    password: str | None
    logon_type: str = "Interactive"  # become_flags logon_type=..., as become_wrapper.ps1 names it


def decode(command: str, arguments: list[str], stdin: bytes) -> Invocation:
    """Decode one WinRM command (its rsp:Command, rsp:Arguments and stdin)."""
    script = encoded_script(command, arguments)
    if not stdin:
        return Invocation(kind="raw", script=script, module_name=None)
    return _module_invocation(stdin)


def encoded_script(command: str, arguments: list[str]) -> str:
    """The script of a ``PowerShell ... -EncodedCommand <base64>`` command line."""
    # pywinrm sends the arguments space-joined in one rsp:Arguments (run_ps: all in rsp:Command).
    words = " ".join([command, *arguments]).split()
    expected = "expected 'PowerShell ... -EncodedCommand <base64 UTF-16LE>'"
    if not words or words[0].lower() not in _POWERSHELL:
        raise PayloadError(f"{expected}, got the command line {_preview(' '.join(words))}")
    for flag, value in zip(words[1:], words[2:]):
        if _is_encoded_command_flag(flag):
            return _utf16_base64(value)
    raise PayloadError(f"{expected}, got no -EncodedCommand in {_preview(' '.join(words))}")


def _is_encoded_command_flag(word: str) -> bool:
    # PowerShell takes any unambiguous prefix of -EncodedCommand (-e, -enc, ...) and the alias -ec.
    word = word.lower()
    return word == "-ec" or (len(word) >= 2 and "-encodedcommand".startswith(word))


def _utf16_base64(value: str) -> str:
    try:
        return base64.b64decode(value, validate=True).decode("utf-16-le")
    except (binascii.Error, UnicodeDecodeError) as error:
        raise PayloadError(f"expected base64 of UTF-16LE text after -EncodedCommand: {error}") from None


def _module_invocation(stdin: bytes) -> Invocation:
    bootstrap, separator, rest = stdin.partition(STDIN_SEPARATOR)
    if not separator:
        if LEGACY_STDIN_SEPARATOR in stdin:
            return _legacy_invocation(stdin)
        raise PayloadError("expected stdin '<bootstrap JSON>\\n\\0\\0\\0\\0\\n<manifest JSON>' (ansible-core 2.19+) "
                           "or '<exec_wrapper>\\0\\0\\0\\0<manifest JSON>' (2.15 to 2.18), found no NUL characters")
    if _json(bootstrap, "bootstrap").get("name") != "exec_wrapper":
        raise PayloadError("expected the bootstrap JSON to run 'exec_wrapper'")
    # Scripts that read input (put_file's data) get it after a second NUL line.
    manifest = rest.partition(STDIN_SEPARATOR)[0]
    return _from_manifest(_json(manifest, "manifest"))


def _from_manifest(manifest: dict[str, Any]) -> Invocation:
    actions = _typed(manifest, "actions", list, "manifest")
    names = [_typed(action, "name", str, "manifest action") for action in actions]
    if not names or names[-1] != "module_wrapper.ps1":
        raise PayloadError(f"expected 'module_wrapper.ps1' as the last exec-wrapper action, got {names}")
    params = _typed(actions[-1], "params", dict, "module_wrapper action")
    script_name = _typed(params, "Script", str, "module_wrapper params")
    return Invocation(
        kind="module",
        script=_module_source(manifest, script_name),
        module_name=module_name(script_name),
        module_args=_complex_args(params),
        wrappers=[name.removesuffix(".ps1") for name in names],
        become=_become(actions, names),
    )


def _become(actions: list[dict], names: list[str]) -> Become | None:
    """The become_wrapper.ps1 action's BecomeUser, secure BecomePassword and LogonType (2.19 and later)."""
    if "become_wrapper.ps1" not in names:
        return None
    action = actions[names.index("become_wrapper.ps1")]
    params = _typed(action, "params", dict, "become_wrapper action")
    secure = action.get("secure_params") or {}
    return Become(user=_typed(params, "BecomeUser", str, "become_wrapper params"),
                  password=secure.get("BecomePassword"), logon_type=params.get("LogonType") or "Interactive")


def _legacy_become(manifest: dict[str, Any]) -> Become:
    """2.15 to 2.18: become_flags is the task's text ('logon_type=new_credentials ...'), parsed as
    ansible-core's become_wrapper.ps1 of those versions does."""
    flags = dict(word.split("=", 1) for word in str(manifest.get("become_flags") or "").split() if "=" in word)
    logon_type = "".join(part.capitalize() for part in flags.get("logon_type", "interactive").split("_"))
    return Become(user=_typed(manifest, "become_user", str, "manifest"), password=manifest.get("become_password"),
                  logon_type=logon_type)


def _legacy_invocation(stdin: bytes) -> Invocation:
    manifest = _json(stdin.partition(LEGACY_STDIN_SEPARATOR)[2], "manifest")
    names = _typed(manifest, "actions", list, "manifest")
    if not all(isinstance(name, str) for name in names):
        raise PayloadError(f"expected the manifest actions as names, got {_preview(repr(names))}")
    if not names or names[-1] != _LEGACY_MODULE_WRAPPER:
        raise PayloadError(f"expected {_LEGACY_MODULE_WRAPPER!r} as the last exec-wrapper action, got {names}")
    args = _typed(manifest, "module_args", dict, "manifest")
    return Invocation(
        kind="module",
        script=_base64_text(_typed(manifest, "module_entry", str, "manifest"), "module_entry"),
        module_name=legacy_module_name(_typed(args, "_ansible_module_name", str, "module_args")),
        module_args=args,
        wrappers=[*names[:-1], "module_wrapper"],
        become=_legacy_become(manifest) if "become_wrapper" in names else None,
    )


def legacy_module_name(asked: str) -> str:
    """The module ansible runs for the name a task asked for: 'ansible.legacy.setup' -> 'ansible.windows.setup'."""
    short = asked.removeprefix("ansible.legacy.").removeprefix("ansible.builtin.")
    return _LEGACY_ROUTING.get(short, asked)


def module_name(script_name: str) -> str:
    """'ansible_collections.ns.coll.plugins.modules.mod.ps1' -> 'ns.coll.mod'; others lose only '.ps1'."""
    name = script_name.removesuffix(".ps1")
    match = _COLLECTION_MODULE.fullmatch(name)
    return ".".join(match.groups()) if match else name


def _module_source(manifest: dict[str, Any], script_name: str) -> str:
    scripts = _typed(manifest, "scripts", dict, "manifest")
    entry = _typed(scripts, script_name, dict, "manifest scripts")
    return _base64_text(_typed(entry, "script", str, script_name), f"the script of {script_name}")


def _base64_text(value: str, what: str) -> str:
    try:
        # utf-8-sig: modules written on Windows often start with a byte order mark.
        return base64.b64decode(value, validate=True).decode("utf-8-sig")
    except (binascii.Error, UnicodeDecodeError) as error:
        raise PayloadError(f"expected {what} as base64 of UTF-8 text: {error}") from None


def _complex_args(params: dict[str, Any]) -> dict[str, Any]:
    variables = _typed(params, "Variables", list, "module_wrapper params")
    for variable in variables:
        if isinstance(variable, dict) and variable.get("Name") == "complex_args":
            return _typed(variable, "Value", dict, "complex_args variable")
    raise PayloadError("expected a 'complex_args' entry in the module_wrapper Variables")


def _json(data: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PayloadError(f"expected the {what} as JSON: {error}") from None
    if not isinstance(value, dict):
        raise PayloadError(f"expected the {what} as a JSON object, got {type(value).__name__}")
    return value


def _typed(mapping: Any, key: str, kind: type, where: str) -> Any:
    value = mapping.get(key) if isinstance(mapping, dict) else None
    if not isinstance(value, kind):
        raise PayloadError(f"expected {key!r} ({kind.__name__}) in the {where}, got {_preview(repr(value))}")
    return value


def _preview(text: str) -> str:
    return text if len(text) <= 80 else text[:77] + "..."
