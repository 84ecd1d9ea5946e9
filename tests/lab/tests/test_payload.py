"""Decoding what ansible sends, from payloads captured with each supported ansible-core."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from rdlab.winrm.payload import LEGACY_STDIN_SEPARATOR, STDIN_SEPARATOR, PayloadError, decode, module_name

FIXTURES = Path(__file__).parent / "fixtures" / "payloads"
CORES = sorted((path.name for path in FIXTURES.iterdir() if path.is_dir()), key=lambda c: int(c.split(".")[1]))
# ansible-core 2.15 to 2.18 send the legacy exec-wrapper payload (rdlab.winrm.payload).
LEGACY_CORES = ["core-2.15", "core-2.16", "core-2.17", "core-2.18"]


def captured(core: str, case: str) -> tuple[str, list[str], bytes]:
    """(command, arguments, stdin) of a captured payload, stdin rebuilt from its JSON parts."""
    fixture = json.loads((FIXTURES / core / f"{case}.json").read_text())
    return fixture["command"], fixture["arguments"], stdin_of(fixture["stdin"])


def stdin_of(parts: dict | None) -> bytes:
    if not parts:
        return b""
    if "lines" in parts:  # put_file of 2.15 to 2.18: base64 chunks, one per line
        return parts["lines"].encode()
    manifest = json.dumps(parts["manifest"]).encode()
    if "exec_wrapper" in parts:
        return parts["exec_wrapper"].encode() + LEGACY_STDIN_SEPARATOR + manifest
    return json.dumps(parts["bootstrap"]).encode() + STDIN_SEPARATOR + manifest + parts.get("trailer", "").encode()


def encoded(script: str) -> str:
    return base64.b64encode(script.encode("utf-16-le")).decode()


def test_fixtures_cover_every_supported_core():
    assert CORES == ["core-2.15", "core-2.16", "core-2.17", "core-2.18", "core-2.19", "core-2.20", "core-2.21"]


@pytest.mark.parametrize("core", CORES)
def test_fixture_was_captured_with_its_core(core):
    for path in (FIXTURES / core).glob("*.json"):
        assert json.loads(path.read_text())["ansible_core"].startswith(core.removeprefix("core-") + "."), path


@pytest.mark.parametrize("core", CORES)
def test_the_payload_format_of_each_core(core):
    stdin = captured(core, "win_ping")[2]

    # 2.15 to 2.18: '<exec_wrapper>\0\0\0\0<manifest>'; 2.19 on: '<bootstrap>\n\0\0\0\0\n<manifest>'.
    assert (STDIN_SEPARATOR not in stdin) is (core in LEGACY_CORES)
    assert LEGACY_STDIN_SEPARATOR in stdin


@pytest.mark.parametrize("core", CORES)
def test_win_ping(core):
    invocation = decode(*captured(core, "win_ping"))

    assert invocation.kind == "module"
    assert invocation.module_name == "ansible.windows.win_ping"
    assert invocation.module_args["data"] == "hello"
    assert invocation.module_args["_ansible_check_mode"] is False
    assert invocation.module_args["_ansible_version"].startswith(core.removeprefix("core-") + ".")
    assert invocation.wrappers == ["module_wrapper"]
    assert invocation.script.startswith("#!powershell")


@pytest.mark.parametrize(
    ("core", "arguments"),
    [("core-2.15", 1), ("core-2.16", 1), ("core-2.17", 1), ("core-2.18", 1), ("core-2.19", 1), ("core-2.20", 1),
     ("core-2.21", 0)],
)
def test_where_the_module_command_line_goes(core, arguments):
    command, args = captured(core, "win_ping")[:2]

    # Up to 2.20: rsp:Command 'PowerShell' plus one rsp:Arguments; 2.21: all of it in rsp:Command.
    assert len(args) == arguments
    assert " ".join([command, *args]).startswith("PowerShell -NoProfile" if arguments else "powershell -NoProfile")


@pytest.mark.parametrize("core", CORES)
def test_gather_facts_runs_the_windows_setup_module(core):
    invocation = decode(*captured(core, "setup"))

    assert invocation.module_name == "ansible.windows.setup"
    # _ansible_module_name keeps the name gather_facts asked for, before its redirect.
    assert invocation.module_args["_ansible_module_name"] == "ansible.legacy.setup"


@pytest.mark.parametrize("core", CORES)
def test_raw_is_the_decoded_command(core):
    invocation = decode(*captured(core, "raw"))

    assert (invocation.kind, invocation.script) == ("raw", "Get-Date")
    assert (invocation.module_name, invocation.module_args, invocation.wrappers) == (None, {}, [])


@pytest.mark.parametrize("core", CORES)
def test_raw_keeps_every_line(core):
    invocation = decode(*captured(core, "raw_multiline"))

    assert invocation.script.splitlines() == ["$a = 1", 'Write-Output "two lines $a"']


@pytest.mark.parametrize(
    ("case", "wrappers"),
    [
        ("become", ["become_wrapper", "module_wrapper"]),
        ("async", ["async_wrapper", "async_watchdog", "module_wrapper"]),
    ],
)
@pytest.mark.parametrize("core", CORES)
def test_wrappers_are_listed_in_order(core, case, wrappers):
    invocation = decode(*captured(core, case))

    assert invocation.module_name == "ansible.windows.win_ping"
    assert invocation.wrappers == wrappers


@pytest.mark.parametrize("core", sorted(set(CORES) - set(LEGACY_CORES)))
def test_put_file_is_not_a_module_run(core):
    with pytest.raises(
        PayloadError, match=r"expected 'module_wrapper.ps1' as the last .* got \['winrm_put_file.ps1'\]"
    ):
        decode(*captured(core, "put_file"))


@pytest.mark.parametrize("core", LEGACY_CORES)
def test_legacy_put_file_is_not_a_module_run(core):
    # 2.15 to 2.18 send the file as base64 lines on stdin to a put_file script: no manifest at all.
    with pytest.raises(PayloadError, match="found no NUL characters"):
        decode(*captured(core, "put_file"))


@pytest.mark.parametrize(
    ("asked", "runs"),
    [
        ("ansible.windows.win_ping", "ansible.windows.win_ping"),
        ("win_ping", "ansible.windows.win_ping"),
        ("ansible.legacy.setup", "ansible.windows.setup"),
        ("ansible.builtin.setup", "ansible.windows.setup"),
        ("remote_desktop.licensing.host_bridge", "remote_desktop.licensing.host_bridge"),
        ("ansible.legacy.win_custom", "ansible.legacy.win_custom"),
    ],
)
def test_legacy_module_name_is_what_the_task_asked_for_as_ansible_resolves_it(asked, runs):
    manifest = {"module_entry": base64.b64encode(b"#!powershell").decode(), "actions": ["module_powershell_wrapper"],
                "module_args": {"_ansible_module_name": asked}}

    invocation = decode("PowerShell", [f"-EncodedCommand {encoded('x')}"], legacy_stdin(manifest))

    assert invocation.module_name == runs


def test_pywinrm_run_ps_puts_everything_in_the_command():
    invocation = decode(f"powershell -encodedcommand {encoded('hostname')}", [], b"")

    assert invocation.script == "hostname"


@pytest.mark.parametrize("flag", ["-EncodedCommand", "-enc", "-e", "-EC"])
def test_encoded_command_prefixes(flag):
    assert decode("PowerShell.exe", [f"-NoProfile {flag} {encoded('Get-Date')}"], b"").script == "Get-Date"


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        (
            "ansible_collections.remote_desktop.licensing.plugins.modules.host_bridge.ps1",
            "remote_desktop.licensing.host_bridge",
        ),
        ("ansible.legacy.win_custom.ps1", "ansible.legacy.win_custom"),
    ],
)
def test_module_name(script, expected):
    assert module_name(script) == expected


# --- what is not understood fails with what was expected ---------------------------------------


@pytest.mark.parametrize(
    ("command", "arguments", "message"),
    [
        (
            "ipconfig",
            ["/all"],
            "expected 'PowerShell ... -EncodedCommand <base64 UTF-16LE>', got the command line ipconfig /all",
        ),
        (
            "PowerShell",
            ["-NoProfile -Command Get-Date"],
            "got no -EncodedCommand in PowerShell -NoProfile -Command Get-Date",
        ),
        ("PowerShell", ["-EncodedCommand not-base64!"], "expected base64 of UTF-16LE text after -EncodedCommand"),
    ],
)
def test_command_line_errors(command, arguments, message):
    with pytest.raises(PayloadError, match=re.escape(message)):
        decode(command, arguments, b"")


def module_stdin(manifest: object, bootstrap: object = None) -> bytes:
    bootstrap = {"name": "exec_wrapper", "script": "", "params": {}} if bootstrap is None else bootstrap
    return json.dumps(bootstrap).encode() + STDIN_SEPARATOR + json.dumps(manifest).encode()


def module_wrapper(params: dict) -> dict:
    return {"scripts": {}, "actions": [{"name": "module_wrapper.ps1", "params": params}]}


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        (b'{"name": "exec_wrapper"}', "found no NUL characters"),
        (module_stdin({}, bootstrap=[]), "expected the bootstrap as a JSON object, got list"),
        (module_stdin({}, bootstrap={"name": "other"}), "expected the bootstrap JSON to run 'exec_wrapper'"),
        (b'{"name": "exec_wrapper"}' + STDIN_SEPARATOR + b"{not json", "expected the manifest as JSON"),
        (module_stdin({"scripts": {}}), r"expected 'actions' \(list\) in the manifest, got None"),
        (module_stdin(module_wrapper({})), r"expected 'Script' \(str\) in the module_wrapper params"),
        (
            module_stdin(module_wrapper({"Script": "m.ps1", "Variables": []})),
            r"expected 'm.ps1' \(dict\) in the manifest scripts",
        ),
    ],
)
def test_stdin_errors(stdin, message):
    with pytest.raises(PayloadError, match=message):
        decode("PowerShell", [f"-EncodedCommand {encoded('x')}"], stdin)


def test_module_without_complex_args():
    manifest = module_wrapper({"Script": "m.ps1", "Variables": []})
    manifest["scripts"]["m.ps1"] = {"path": "m.ps1", "script": base64.b64encode(b"#!powershell").decode()}

    with pytest.raises(PayloadError, match="expected a 'complex_args' entry in the module_wrapper Variables"):
        decode("PowerShell", [f"-EncodedCommand {encoded('x')}"], module_stdin(manifest))


def legacy_stdin(manifest: object) -> bytes:
    return b"# exec_wrapper\n\n" + LEGACY_STDIN_SEPARATOR + json.dumps(manifest).encode()


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ([], "expected the manifest as a JSON object, got list"),
        ({"module_args": {}}, r"expected 'actions' \(list\) in the manifest, got None"),
        ({"actions": [1]}, r"expected the manifest actions as names, got \[1\]"),
        ({"actions": ["module_csharp_wrapper"]},
         r"expected 'module_powershell_wrapper' as the last exec-wrapper action, got \['module_csharp_wrapper'\]"),
        ({"actions": ["module_powershell_wrapper"], "module_args": {}, "module_entry": "IyE="},
         r"expected '_ansible_module_name' \(str\) in the module_args"),
        ({"actions": ["module_powershell_wrapper"], "module_args": {"_ansible_module_name": "m"}, "module_entry": "!"},
         "expected module_entry as base64 of UTF-8 text"),
    ],
)
def test_legacy_stdin_errors(manifest, message):
    with pytest.raises(PayloadError, match=message):
        decode("PowerShell", [f"-EncodedCommand {encoded('x')}"], legacy_stdin(manifest))
