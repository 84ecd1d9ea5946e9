"""The logon session a command runs in: how the WinRM server hands it over, how become is read from ansible's
payload, and what the licensing provider's domain operations do with it (the second hop)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import winrm

from rdlab import modules
from rdlab.model import licensing
from rdlab.model.host import Host, new_host_state
from rdlab.model.repository import REPOSITORY
from rdlab.model.session import E_ACCESSDENIED, Session
from rdlab.winrm.payload import LEGACY_STDIN_SEPARATOR, STDIN_SEPARATOR, decode
from rdlab.winrm.server import CommandResult, Logon

FIXTURES = Path(__file__).parent / "fixtures" / "payloads"
ACCOUNT = ("Administrator", "Lab-Test-1")


class SessionRunner:
    """A runner that takes the shell's logon, as rdlab.fleet.Fleet does."""

    def __init__(self):
        self.logons = []

    def run_command(self, host, command, arguments, stdin):  # pragma: no cover - the server prefers the other
        raise AssertionError("run_session_command should have been called")

    def run_session_command(self, host, logon, command, arguments, stdin):
        self.logons.append(logon)
        return CommandResult(b"ok", b"", 0)

    def before_exchange(self, host, action):
        pass


@pytest.mark.parametrize(("transport", "delegation"), [("basic", False), ("ntlm", False), ("ntlm", True)])
def test_the_shell_runs_in_its_creators_logon(start_server, transport, delegation):
    runner = SessionRunner()
    server = start_server(runner, delegation=delegation)
    session = winrm.Session(server.url, auth=(server.username, server.password), transport=transport)
    assert session.run_cmd("hostname").std_out == b"ok"
    assert runner.logons == [Logon(transport, delegation)]


def captured(core: str) -> tuple[str, list[str], bytes]:
    fixture = json.loads((FIXTURES / core / "become.json").read_text())
    parts = fixture["stdin"]
    manifest = json.dumps(parts["manifest"]).encode()
    if "exec_wrapper" in parts:
        stdin = parts["exec_wrapper"].encode() + LEGACY_STDIN_SEPARATOR + manifest
    else:
        stdin = json.dumps(parts["bootstrap"]).encode() + STDIN_SEPARATOR + manifest
    return fixture["command"], fixture["arguments"], stdin


@pytest.mark.parametrize("core", sorted(p.name for p in FIXTURES.iterdir() if p.is_dir()))
def test_become_is_read_from_every_cores_payload(core):
    """The fixtures were captured with become_user SYSTEM and no password."""
    become = decode(*captured(core)).become
    assert (become.user, become.password, become.logon_type) == ("SYSTEM", None, "Interactive")


def with_become(core: str, user: str, password: str | None, logon_type: str | None = None):
    """A captured become payload with another account, as ansible writes it for become_user/become_password."""
    command, arguments, stdin = captured(core)
    legacy = LEGACY_STDIN_SEPARATOR in stdin and STDIN_SEPARATOR not in stdin
    head, separator, manifest = stdin.partition(LEGACY_STDIN_SEPARATOR if legacy else STDIN_SEPARATOR)
    data = json.loads(manifest)
    if legacy:
        data.update(become_user=user, become_password=password,
                    become_flags=f"logon_type={logon_type}" if logon_type else "")
    else:
        action = data["actions"][0]
        action["params"]["BecomeUser"] = user
        action["secure_params"] = {"BecomePassword": password} if password else {}
        if logon_type:
            action["params"]["LogonType"] = "".join(w.capitalize() for w in logon_type.split("_"))
    return command, arguments, head + separator + json.dumps(data).encode()


@pytest.mark.parametrize("core", ["core-2.15", "core-2.19"])
@pytest.mark.parametrize(("user", "logon_type", "expected"), [
    ("Administrator", None, "Administrator"),
    ("LS1\\administrator", None, "LS1\\administrator"),
    ("Administrator", "new_credentials", "Administrator"),
])
def test_become_as_the_lab_account_runs_the_module(core, user, logon_type, expected):
    host = Host(new_host_state("ls1", domain="corp.example.com", roles=("license_server",)))
    result, record = modules.execute(host, *with_become(core, user, ACCOUNT[1], logon_type), Logon("ntlm"), ACCOUNT)
    assert json.loads(result.stdout) == {"changed": False, "ping": "pong"}
    assert record["command"]["session"]["become"] == expected
    assert host.second_hop_refusal() == 0


@pytest.mark.parametrize("user", ["Administrator", "someone"])
def test_become_with_a_wrong_account_or_password_fails_as_logon_user(user):
    host = Host(new_host_state("ls1"))
    result, record = modules.execute(host, *with_become("core-2.19", user, "wrong"), Logon("ntlm"), ACCOUNT)
    assert json.loads(result.stdout)["msg"] == (
        f'failure during exec_wrapper: Exception calling "CreateProcessAsUser" with "9" argument(s): "Failed to logon '
        f'.\\{user} (The user name or password is incorrect, Win32ErrorCode 1326)"')
    assert record["command"]["result"] == "failed"


@pytest.mark.parametrize(("session", "identity"), [
    (Session("ntlm"), "none"),
    (Session("basic"), "none"),
    (Session("basic", delegation=True), "none"),  # Basic takes local accounts only and does not delegate
    (Session("ntlm", delegation=True), "caller"),
    (Session("ntlm", become="Administrator"), "caller"),
    (Session("ntlm", become="Administrator", become_logon="Network"), "none"),
    (Session("ntlm", become="SYSTEM"), "computer"),
])
def test_who_the_domain_controller_sees(session, identity):
    assert session.domain_identity() == identity


DOMAIN_CALLS = [("ChangeRole", {"ServerRole": 1}), ("ChangeRole", {"ServerRole": 2}), ("PublishLS", {}),
                ("UnpublishLS", {}), ("AddLStoTSLSGroup", {}), ("RemoveLSfromTSLSGroup", {}),
                ("IsLSinTSLSGroup", {"Domain": ""})]


def invoke(host, method, arguments):
    """(ReturnValue, out parameters) of a Win32_TSLicenseServer call, as the bridge asks the model."""
    raw = REPOSITORY.invoke(host, licensing.NS, "Win32_TSLicenseServer", method, arguments)
    return raw["ReturnValue"], raw


@pytest.mark.parametrize(("method", "arguments"), DOMAIN_CALLS)
def test_every_domain_operation_meets_the_second_hop(method, arguments):
    host = Host(new_host_state("ls1", domain="corp.example.com", roles=("license_server",)))
    before = host.snapshot()
    host.session = Session("ntlm")
    assert invoke(host, method, arguments)[0] == E_ACCESSDENIED
    assert host.snapshot() == before
    host.session = Session("ntlm", become="Administrator")
    assert invoke(host, method, arguments)[0] == 0


def test_local_operations_do_not_meet_it():
    host = Host(new_host_state("ls1", domain="corp.example.com", roles=("license_server",)))
    host.session = Session("ntlm")
    for method in ("ChangeRole", "IsLSPublished", "GetActivationStatus"):
        assert invoke(host, method, {"ServerRole": 0} if method == "ChangeRole" else {})[0] == 0


def test_system_is_refused_for_want_of_the_domain_group():
    host = Host(new_host_state("ls1", domain="corp.example.com", roles=("license_server",)))
    host.session = Session("ntlm", become="SYSTEM")
    assert invoke(host, "IsLSinTSLSGroup", {"Domain": ""})[0] == 0
    assert invoke(host, "AddLStoTSLSGroup", {})[0] == 0x80041003
