"""The lab's WinRM server, driven by the real clients: pywinrm and ansible's winrm connection."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import requests
import winrm
import xmltodict
from winrm.exceptions import InvalidCredentialsError, WinRMOperationTimeoutError, WinRMTransportError, WSManFaultError

from rdlab.winrm.payload import decode
from rdlab.winrm.server import CMD_RESOURCE_URI, QUOTA_MAX_OPERATIONS, CommandResult, DropConnection, WinRMServer

REPO = Path(__file__).resolve().parents[3]


def session(server: WinRMServer, password: str | None = None, **kwargs: object) -> winrm.Session:
    auth = (server.username, password or server.password)
    return winrm.Session(server.url, auth=auth, transport="basic", **kwargs)


def protocol(server: WinRMServer, **kwargs: object) -> winrm.Protocol:
    return winrm.Protocol(server.url, transport="basic", username=server.username, password=server.password, **kwargs)


def ntlm_session(server: WinRMServer, user: str | None = None, password: str | None = None, **kwargs: object):
    return winrm.Session(server.url, auth=(user or server.username, password or server.password), transport="ntlm",
                         **kwargs)


def record_wire(server: WinRMServer) -> list[tuple[str, bytes]]:
    """Every HTTP body the server receives and sends, as on the wire."""
    wire: list[tuple[str, bytes]] = []
    server.on_wire = lambda direction, body: wire.append((direction, body))
    return wire


def assert_sealed(wire: list[tuple[str, bytes]]) -> None:
    """Every body with content is a sealed WinRM message: no SOAP to read."""
    bodies = [body for direction, body in wire if body]
    assert bodies
    for body in bodies:
        assert body.startswith(b"--Encrypted Boundary\r\n\tContent-Type: application/HTTP-SPNEGO-session-encrypted")
        for plain in (b"Envelope", b"soap-envelope", b"ShellId", b"hostname", b"CommandState"):
            assert plain not in body


def echo(call) -> CommandResult:
    line = " ".join([call.command, *call.arguments])
    return CommandResult(f"{call.host}: {line}".encode(), b"some error", 3)


# --- pywinrm: commands, output, transports -------------------------------------------------


def test_run_cmd_returns_the_runner_output_and_exit_code(runner, start_server):
    runner.answer = echo
    server = start_server(runner)

    result = session(server).run_cmd("ipconfig", ["/all", "/v"])

    assert (result.std_out, result.std_err, result.status_code) == (b"win1: ipconfig /all /v", b"some error", 3)
    assert runner.calls[0].arguments == ["/all /v"]  # pywinrm joins the arguments into one rsp:Arguments
    assert runner.exchanges == ["Create", "Command", "Receive", "Signal", "Delete"]


def test_run_ps_hands_over_the_encoded_script(runner, start_server):
    runner.answer = lambda call: CommandResult(decode(call.command, call.arguments, call.stdin).script.encode(), b"", 0)
    server = start_server(runner)

    result = session(server).run_ps("Get-Service -Name 'TermServLicensing'")

    assert result.std_out == b"Get-Service -Name 'TermServLicensing'"
    assert result.status_code == 0


def test_https_without_certificate_validation(runner, start_server):
    server = start_server(runner, tls=True)

    result = session(server, server_cert_validation="ignore").run_cmd("hostname")

    assert server.url.startswith("https://")
    assert result.std_out == b"out"


def test_https_validates_against_the_generated_certificate(runner, start_server, certificate):
    server = start_server(runner, tls=True)
    cert_path = certificate[0]

    result = session(server, server_cert_validation="validate", ca_trust_path=str(cert_path)).run_cmd("hostname")

    assert result.std_out == b"out"


def test_https_validation_fails_without_trusting_the_certificate(runner, start_server):
    server = start_server(runner, tls=True)

    with pytest.raises(requests.exceptions.SSLError):
        session(server, server_cert_validation="validate", ca_trust_path=None).run_cmd("hostname")
    assert runner.calls == []


# --- authentication ---------------------------------------------------------------------------


def test_wrong_password_is_rejected(runner, start_server):
    server = start_server(runner)

    with pytest.raises(InvalidCredentialsError, match="credentials were rejected"):
        session(server, password="wrong").run_cmd("hostname")
    assert runner.exchanges == []


def test_each_refused_logon_is_counted_once_and_a_good_one_not_at_all(runner, start_server):
    server = start_server(runner)

    with pytest.raises(InvalidCredentialsError):
        session(server, password="wrong").run_cmd("hostname")
    with pytest.raises(InvalidCredentialsError):
        ntlm_session(server, password="wrong").run_cmd("hostname")
    session(server).run_cmd("hostname")
    ntlm_session(server).run_cmd("hostname")
    requests.post(server.url, data=b"<x/>", timeout=5)  # no credentials at all: not a logon attempt

    assert runner.logon_failures == ["Basic", "NTLM"]


def test_missing_credentials_get_the_offered_challenges(runner, start_server):
    both = start_server(runner)
    ntlm_only = start_server(runner, host_name="win2", auth=("ntlm",))

    responses = [requests.post(server.url, data=b"<x/>", timeout=5) for server in (both, ntlm_only)]

    assert [response.status_code for response in responses] == [401, 401]
    # Windows's order; requests joins repeated headers with ", ".
    assert responses[0].headers["WWW-Authenticate"] == 'Negotiate, Basic realm="WSMAN"'
    assert responses[1].headers["WWW-Authenticate"] == "Negotiate"


def test_a_listener_without_basic_refuses_it(runner, start_server):
    server = start_server(runner, auth=("ntlm",), tls=True)

    with pytest.raises(InvalidCredentialsError):
        session(server, server_cert_validation="ignore").run_cmd("hostname")
    assert runner.exchanges == []


def test_basic_over_http_needs_allow_unencrypted(runner, start_server):
    server = start_server(runner, allow_unencrypted=False)

    # Windows answers 401, so the client reports rejected credentials.
    with pytest.raises(InvalidCredentialsError):
        session(server).run_cmd("hostname")
    assert runner.exchanges == []


# --- NTLM and message encryption ----------------------------------------------------------------


def test_ntlm_over_http_seals_every_message(runner, start_server):
    runner.answer = echo
    server = start_server(runner, allow_unencrypted=False)
    wire = record_wire(server)

    result = ntlm_session(server, message_encryption="always").run_cmd("hostname", ["/all"])

    assert (result.std_out, result.status_code) == (b"win1: hostname /all", 3)
    assert runner.exchanges == ["Create", "Command", "Receive", "Signal", "Delete"]
    assert_sealed(wire)
    assert sum(1 for direction, body in wire if direction == "request" and body) == 5


def test_ntlm_over_http_encrypts_by_default(runner, start_server):
    server = start_server(runner, allow_unencrypted=False)
    wire = record_wire(server)

    assert ntlm_session(server).run_cmd("hostname").std_out == b"out"  # message_encryption="auto"
    assert_sealed(wire)


@pytest.mark.parametrize("encryption", ["auto", "always"])
def test_ntlm_over_https_validated_against_the_generated_certificate(runner, start_server, certificate, encryption):
    server = start_server(runner, tls=True, auth=("ntlm",), allow_unencrypted=False)

    result = ntlm_session(server, server_cert_validation="validate", ca_trust_path=str(certificate[0]),
                          message_encryption=encryption).run_cmd("hostname")

    assert result.std_out == b"out"


@pytest.mark.parametrize("user", ["administrator", ".\\Administrator", "WIN1\\Administrator"])
def test_ntlm_accepts_the_forms_of_a_local_account(runner, start_server, user):
    server = start_server(runner)

    assert ntlm_session(server, user=user).run_cmd("hostname").std_out == b"out"


def test_ntlm_wrong_password_is_rejected(runner, start_server):
    server = start_server(runner, allow_unencrypted=False)

    with pytest.raises(InvalidCredentialsError, match="credentials were rejected"):
        ntlm_session(server, password="wrong").run_cmd("hostname")
    assert runner.exchanges == []


def test_unencrypted_ntlm_over_http_is_refused(runner, start_server):
    server = start_server(runner, allow_unencrypted=False)

    with pytest.raises(WSManFaultError, match="AllowUnencrypted is false"):
        ntlm_session(server, message_encryption="never").run_cmd("hostname")
    assert runner.exchanges == []


def test_unencrypted_ntlm_over_http_with_allow_unencrypted(runner, start_server):
    server = start_server(runner, allow_unencrypted=True)
    wire = record_wire(server)

    assert ntlm_session(server, message_encryption="never").run_cmd("hostname").std_out == b"out"
    assert any(b"Envelope" in body for direction, body in wire)


def test_a_message_sealed_out_of_step_is_refused(runner, start_server):
    server = start_server(runner, allow_unencrypted=False)
    client = winrm.Protocol(server.url, transport="ntlm", username=server.username, password=server.password)
    shell = client.open_shell()
    # Seal a message the server never sees: the client's sequence number moves past the server's.
    client.transport.session.auth.session_security.wrap(b"lost")

    with pytest.raises(WinRMTransportError) as error:
        client.run_command(shell, "hostname")

    assert error.value.code == 400
    assert runner.exchanges == ["Create"]


def test_ntlm_is_per_connection_and_a_new_one_authenticates_again(runner, start_server):
    server = start_server(runner, allow_unencrypted=False)
    first = winrm.Protocol(server.url, transport="ntlm", username=server.username, password=server.password)
    shell = first.open_shell()
    server.stop()
    server.start()  # the same port; every connection was cut

    second = winrm.Protocol(server.url, transport="ntlm", username=server.username, password=server.password)
    assert second.close_shell(second.open_shell()) is None
    # The first client authenticates its new connection again, but the message it sends along was
    # sealed with the old connection's context: the server cannot read it.
    with pytest.raises(WinRMTransportError) as error:
        first.run_command(shell, "hostname")
    assert error.value.code == 400


# --- stdin and receive timing -----------------------------------------------------------------


def run_with_stdin(client: winrm.Protocol, chunks: list[bytes]) -> tuple[bytes, bytes, int]:
    shell = client.open_shell()
    command = client.run_command(shell, "PowerShell", ["-NoProfile"], console_mode_stdin=False)
    for index, chunk in enumerate(chunks):
        client.send_command_input(shell, command, chunk, end=index == len(chunks) - 1)
    output = client.get_command_output(shell, command)
    client.cleanup_command(shell, command)
    client.close_shell(shell)
    return output


def test_stdin_chunks_are_joined_before_the_command_runs(runner, start_server):
    runner.answer = lambda call: CommandResult(hashlib.sha256(call.stdin).hexdigest().encode(), b"", 0)
    server = start_server(runner)
    data = os.urandom(450_000)

    stdout, dummy, code = run_with_stdin(protocol(server), [data[:200_000], data[200_000:400_000], data[400_000:]])

    assert stdout.decode() == hashlib.sha256(data).hexdigest()
    assert code == 0
    assert len(runner.calls) == 1


def test_receive_before_stdin_ends_times_out_so_the_client_retries(runner, start_server):
    server = start_server(runner)
    client = protocol(server)
    shell = client.open_shell()
    command = client.run_command(shell, "PowerShell", [], console_mode_stdin=False)
    client.send_command_input(shell, command, b"part one", end=False)

    with pytest.raises(WinRMOperationTimeoutError):
        client.get_command_output_raw(shell, command)
    client.send_command_input(shell, command, b"part two", end=True)

    assert client.get_command_output(shell, command) == (b"out", b"", 0)
    assert runner.calls[0].stdin == b"part onepart two"


def test_a_command_longer_than_the_operation_timeout_is_retried(runner, start_server):
    def slow(call) -> CommandResult:
        time.sleep(1.2)
        return CommandResult(b"done", b"", 0)

    runner.answer = slow
    server = start_server(runner)
    client = protocol(server, operation_timeout_sec=1, read_timeout_sec=5)
    shell = client.open_shell()
    command = client.run_command(shell, "hostname")

    with pytest.raises(WinRMOperationTimeoutError):
        client.get_command_output_raw(shell, command)
    assert client.get_command_output(shell, command) == (b"done", b"", 0)
    assert len(runner.calls) == 1


# --- fault hooks --------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["Create", "Receive"])
def test_drop_connection_gives_the_client_a_connection_error(runner, start_server, action):
    def drop(host: str, exchange: str) -> None:
        if exchange == action:
            raise DropConnection()

    runner.hook = drop
    server = start_server(runner)

    with pytest.raises(requests.exceptions.ConnectionError):
        session(server).run_cmd("hostname")
    runner.hook = lambda host, exchange: None
    assert session(server).run_cmd("hostname").std_out == b"out"  # the server lives on


def test_drop_connection_while_running_the_command(runner, start_server):
    def drop(call) -> CommandResult:
        raise DropConnection()

    runner.answer = drop
    server = start_server(runner)

    with pytest.raises(requests.exceptions.ConnectionError):
        session(server).run_cmd("hostname")
    assert runner.exchanges[-1] == "Receive"


def test_a_slow_host_still_answers(runner, start_server):
    runner.hook = lambda host, action: time.sleep(0.1)
    server = start_server(runner)

    started = time.monotonic()
    result = session(server).run_cmd("hostname")

    assert result.std_out == b"out"
    assert time.monotonic() - started >= 0.5  # five exchanges, each delayed


# --- faults -------------------------------------------------------------------------------------


def send_raw(client: winrm.Protocol, action: str, resource_uri: str = CMD_RESOURCE_URI) -> bytes:
    envelope = {"env:Envelope": client.build_wsman_header(action=action, resource_uri=resource_uri)}
    envelope["env:Envelope"]["env:Body"] = {}
    return client.send_message(xmltodict.unparse(envelope))


def test_unknown_action_is_a_fault_naming_it(runner, start_server):
    server = start_server(runner)

    with pytest.raises(WSManFaultError) as fault:
        send_raw(protocol(server), "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get")

    assert fault.value.code == 500
    assert fault.value.reason == (
        "rdlab does not implement the WS-Management action http://schemas.xmlsoap.org/ws/2004/09/transfer/Get"
    )


def test_unknown_resource_is_a_fault_naming_it(runner, start_server):
    server = start_server(runner)
    psrp = "http://schemas.microsoft.com/powershell/Microsoft.PowerShell"

    with pytest.raises(WSManFaultError, match="rdlab serves only the resource"):
        send_raw(protocol(server), "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create", psrp)


def test_unknown_shell_gets_the_fault_ansible_recreates_the_shell_on(runner, start_server):
    server = start_server(runner)
    client = protocol(server)

    with pytest.raises(WSManFaultError) as fault:
        client.run_command("5D0B2C44-0000-0000-0000-000000000000", "hostname")
    client.close_shell("5D0B2C44-0000-0000-0000-000000000000")  # deleting it is fine: ansible does

    assert fault.value.wsman_fault_code == QUOTA_MAX_OPERATIONS
    assert fault.value.wmierror_code == QUOTA_MAX_OPERATIONS
    assert "shell was not found" in fault.value.reason


def test_unknown_command_is_a_fault(runner, start_server):
    server = start_server(runner)
    client = protocol(server)
    shell = client.open_shell()

    with pytest.raises(WSManFaultError, match="CommandId 'NOPE' is not a command of shell"):
        client.get_command_output(shell, "NOPE")


def test_a_failing_runner_becomes_a_readable_fault(runner, start_server):
    def broken(call) -> CommandResult:
        raise RuntimeError("model broke")

    runner.answer = broken
    server = start_server(runner)

    with pytest.raises(WSManFaultError, match="rdlab win1: RuntimeError: model broke"):
        session(server).run_cmd("hostname")


# --- servers ------------------------------------------------------------------------------------


def test_each_server_serves_its_own_host(runner, start_server):
    runner.answer = echo
    first = start_server(runner, host_name="lic1")
    second = start_server(runner, host_name="lic2", address="127.0.0.2")

    assert session(first).run_cmd("hostname").std_out == b"lic1: hostname"
    assert session(second).run_cmd("hostname").std_out == b"lic2: hostname"


@pytest.mark.parametrize("address", ["0.0.0.0", "10.1.2.3", "::1", "localhost", ""])
def test_binding_outside_loopback_is_refused(runner, address):
    with pytest.raises(ValueError, match="127.0.0.0/8 only"):
        WinRMServer("win1", runner, address=address)


def test_stop_cuts_clients_and_a_restart_forgets_the_shells(runner, start_server):
    server = start_server(runner)
    client = protocol(server)
    shell = client.open_shell()

    server.stop()
    with pytest.raises(requests.exceptions.ConnectionError):
        client.run_command(shell, "hostname")
    server.start()

    with pytest.raises(WSManFaultError, match="shell was not found"):
        client.run_command(shell, "hostname")


# --- ansible's winrm connection, end to end -----------------------------------------------------

DOUBLE_PING = '''
from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    """Two module runs in one task, as the collection's action plugins do (read, then apply)."""

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        pings = [
            self._execute_module("ansible.windows.win_ping", module_args={"data": data}, task_vars=task_vars)
            for data in ("first", "second")
        ]
        result["pings"] = [ping.get("ping") for ping in pings]
        return result
'''

PLAYBOOK = """
- hosts: win1
  gather_facts: false
  tasks:
    - ansible.windows.win_ping:
      register: ping
    - ansible.builtin.raw: Get-Date
      register: raw
    - ansible.windows.win_ping:
        data: fail
      register: failed
      ignore_errors: true
    - double_ping:
      register: double
    - ansible.builtin.assert:
        that:
          - ping.ping == "pong"
          - 'raw.stdout == "lab raw: Get-Date"'
          - failed is failed and failed.msg == "lab says no"
          - double.pings == ["first", "second"]
"""


def lab_host(call) -> CommandResult:
    """A tiny stand-in for the host model: win_ping and raw."""
    invocation = decode(call.command, call.arguments, call.stdin)
    if invocation.kind == "raw":
        return CommandResult(f"lab raw: {invocation.script}".encode(), b"", 0)
    assert invocation.module_name == "ansible.windows.win_ping"
    data = invocation.module_args.get("data", "pong")
    if data == "fail":
        return CommandResult(b'{"failed": true, "msg": "lab says no"}', b"", 1)
    return CommandResult(json.dumps({"changed": False, "ping": data}).encode(), b"", 0)


@pytest.fixture(scope="session")
def collections_root() -> Path:
    """The collections root with ansible.windows for the running ansible-core.

    That is the first ANSIBLE_COLLECTIONS_PATH entry (set by the Makefile) or build/collections;
    the install script puts the matching ansible.windows there unless it is already.
    """
    configured = os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep)[0]
    root = Path(configured).expanduser() if configured else REPO / "build" / "collections"
    subprocess.run(
        [REPO / "tools" / "install-ansible-windows.sh", root],
        env={**os.environ, "PYTHON": sys.executable},
        check=True,
        capture_output=True,
    )
    return root


@pytest.mark.parametrize("transport", ["ntlm", "basic"])
def test_ansible_winrm_connection_end_to_end(runner, start_server, collections_root, tmp_path, transport):
    runner.answer = lab_host
    # NTLM against Windows's defaults (unencrypted HTTP refused); Basic against a host that allows it.
    server = start_server(runner, auth=(transport,), allow_unencrypted=transport == "basic")
    wire = record_wire(server)

    def lose_shell_before_the_last_command(host: str, action: str) -> None:
        if action == "Command" and runner.exchanges.count("Command") == 5:
            server.forget_shells()

    runner.hook = lose_shell_before_the_last_command
    result = run_playbook(tmp_path, server, collections_root, transport)

    assert result.returncode == 0, result.stdout + result.stderr
    if transport == "ntlm":
        assert_sealed(wire)
    assert "ok=5" in result.stdout and "failed=0" in result.stdout and "ignored=1" in result.stdout
    kinds = [decode(call.command, call.arguments, call.stdin).kind for call in runner.calls]
    assert kinds == ["module", "raw", "module", "module", "module"]
    # The lost shell: ansible deleted it, opened a new one and ran the command again.
    assert runner.exchanges[-8:] == ["Command", "Delete", "Create", "Command", "Send", "Receive", "Signal", "Delete"]


def run_playbook(
    tmp_path: Path, server: WinRMServer, collections_root: Path, transport: str
) -> subprocess.CompletedProcess[str]:
    (tmp_path / "action_plugins").mkdir()
    (tmp_path / "action_plugins" / "double_ping.py").write_text(DOUBLE_PING)
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    (tmp_path / "inventory.ini").write_text(textwrap.dedent(f"""\
            win1 ansible_host={server.address} ansible_port={server.port}

            [all:vars]
            ansible_connection=winrm
            ansible_winrm_transport={transport}
            ansible_winrm_message_encryption={"auto" if transport == "ntlm" else "never"}
            ansible_winrm_scheme=http
            ansible_user={server.username}
            ansible_password={server.password}
            """))
    env = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(collections_root),
        "ANSIBLE_ACTION_PLUGINS": str(tmp_path / "action_plugins"),
        "ANSIBLE_HOME": str(tmp_path / "ansible-home"),
        "ANSIBLE_NOCOLOR": "1",
    }
    playbook = Path(sys.executable).parent / "ansible-playbook"
    return subprocess.run(
        [playbook, "-i", "inventory.ini", "play.yml"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
