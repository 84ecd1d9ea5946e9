"""The WS-Management (WinRM) endpoint of one lab host: protocol only, no Windows behaviour.

It answers the part of the Windows remote shell protocol (MS-WSMV) that pywinrm 0.5 and
ansible-core's ``winrm`` connection use, as observed in ``winrm-wire.md``: Create a shell, start a
Command in it, Send stdin, Receive the output, Signal terminate, Delete the shell. Every command
goes to a `CommandRunner` (the host model), which decides what it does.

Authentication (`auth`): Basic, and Negotiate (NTLM) with WinRM message encryption over HTTP, as
``rdlab/winrm/auth.py`` describes. Like a Windows listener with ``AllowUnencrypted`` false (the
default), a server refuses unencrypted messages over HTTP unless `allow_unencrypted` is set.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import logging
import re
import socket
import ssl
import struct
import threading
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol
from xml.sax.saxutils import escape, quoteattr

from .auth import (
    BASIC_CHALLENGE,
    ENCRYPTED_CONTENT_TYPE,
    NEGOTIATE_CHALLENGE,
    SCHEMES,
    SOAP_CONTENT_TYPE,
    AuthenticationFailed,
    EncryptionError,
    NegotiateSession,
    basic_matches,
    is_encrypted,
    register_ntlm_user,
)

log = logging.getLogger(__name__)

DEFAULT_USERNAME = "Administrator"
DEFAULT_PASSWORD = "rdlab-Passw0rd"

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "x": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
    "p": "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/MSFT_WmiError",
}
CMD_RESOURCE_URI = NS["rsp"] + "/cmd"
_TRANSFER = "http://schemas.xmlsoap.org/ws/2004/09/transfer/"
ACTIONS = {
    _TRANSFER + "Create": "Create",
    NS["rsp"] + "/Command": "Command",
    NS["rsp"] + "/Send": "Send",
    NS["rsp"] + "/Receive": "Receive",
    NS["rsp"] + "/Signal": "Signal",
    _TRANSFER + "Delete": "Delete",
}
SIGNAL_TERMINATE = NS["rsp"] + "/signal/terminate"
COMMAND_DONE = NS["rsp"] + "/CommandState/Done"
ANONYMOUS = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"

# WS-Man fault codes (MS-WSMV). pywinrm turns OPERATION_TIMEOUT on a Receive into a silent retry.
OPERATION_TIMEOUT = 0x80338029  # 2150858793
# ERROR_WSMAN_QUOTA_MAX_OPERATIONS: the one fault after which ansible re-creates its shell.
QUOTA_MAX_OPERATIONS = 0x803381A6
# WS-Man's default when a request names no OperationTimeout (MaxTimeoutms 60000).
_DEFAULT_OPERATION_TIMEOUT = 60.0


@dataclass
class CommandResult:
    """What a command left behind: its output streams and exit code."""

    stdout: bytes
    stderr: bytes
    exit_code: int


class DropConnection(Exception):
    """Raised by a runner hook: close the TCP connection without answering."""


class CommandRunner(Protocol):
    """The host side: what commands do, and faults to inject."""

    def run_command(self, host: str, command: str, arguments: list[str], stdin: bytes) -> CommandResult:
        """Run one command once all of its stdin has arrived. May raise DropConnection: the
        Receive waiting for the result then drops its connection."""

    def before_exchange(self, host: str, action: str) -> None:
        """Called before each SOAP exchange is answered, with the short action name
        ("Create", "Command", "Send", "Receive", "Signal", "Delete"; the full URI if unknown).
        May sleep (a slow host) or raise DropConnection."""

    # Optional: logon_failed(host, scheme) is called for every refused logon attempt (a wrong user name
    # or password, Basic or NTLM), where Windows writes Security event 4625.
    # Optional: run_session_command(host, logon, command, arguments, stdin) is called instead of run_command
    # when the runner has it; `logon` is the shell's `Logon` (how its creator authenticated).


@dataclass(frozen=True)
class Logon:
    """How the client that created a shell authenticated: a WinRM shell runs in its creator's logon session.
    `delegation` is the listener's stand-in for CredSSP or Kerberos delegation (rdlab/model/session.py)."""

    scheme: str  # "ntlm" | "basic"
    delegation: bool = False


class WinRMServer:
    """Serves one lab host on one loopback (address, port); many may run in one process.

    `auth` names the schemes the listener offers ("basic", "ntlm"; Windows's default is NTLM through
    Negotiate only). `allow_unencrypted` is the listener's AllowUnencrypted: when false (Windows's
    default), HTTP requests must be encrypted, which only NTLM does; HTTPS carries anything.
    `on_wire`, when set, is called with ("request" or "response", body) for every HTTP message body
    as it is on the wire (after TLS), so tests can see what an eavesdropper would.
    """

    def __init__(
        self,
        host_name: str,
        runner: CommandRunner,
        address: str = "127.0.0.1",
        port: int = 0,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        tls_context: ssl.SSLContext | None = None,
        auth: Iterable[str] = ("ntlm",),
        allow_unencrypted: bool = False,
        delegation: bool = False,
    ) -> None:
        _require_loopback(address)
        self.auth = frozenset(auth)
        if not self.auth or not self.auth <= set(SCHEMES):
            raise ValueError(f"auth must name one or more of {', '.join(SCHEMES)}, not {sorted(self.auth)}")
        self.host_name = host_name
        self.address = address
        self.username = username
        self.password = password
        self.tls_context = tls_context
        self.allow_unencrypted = allow_unencrypted
        # A stand-in for CredSSP or Kerberos delegation: sessions on this listener hold the caller's credentials.
        self.delegation = delegation
        self.on_wire: Callable[[str, bytes], None] | None = None
        if "ntlm" in self.auth:
            register_ntlm_user(username, password, host_name)
        self._port = port
        self._runner = runner
        self._shells = _ShellService(host_name, runner)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port: as requested, or as bound by the first start when 0 was requested."""
        return self._port

    @property
    def url(self) -> str:
        scheme = "https" if self.tls_context else "http"
        return f"{scheme}://{self.address}:{self.port}/wsman"

    def start(self) -> None:
        if self._httpd:
            raise RuntimeError(f"WinRM endpoint of {self.host_name} is already running")
        self._httpd = _HTTPServer((self.address, self._port), self)
        # A restart keeps the port, as a host's WinRM service does.
        self._port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"winrm-{self.host_name}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop listening, cut open connections and forget the shells, as a stopped service does."""
        if not self._httpd:
            return
        self._httpd.shutdown()
        self._httpd.close_connections()
        self._httpd.server_close()
        self._thread.join()
        self._httpd = self._thread = None
        self.forget_shells()

    def forget_shells(self) -> None:
        """Drop every shell, so clients get the shell fault on their next request."""
        self._shells.forget()

    def __enter__(self) -> WinRMServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def authorized(self, authorization: str | None) -> bool:
        """Whether a Basic Authorization header carries this host's credentials and Basic is offered.

        NTLM authenticates a connection rather than a request: the HTTP handler keeps its state.
        """
        return "basic" in self.auth and basic_matches(authorization, self.username, self.password)

    def challenges(self) -> list[str]:
        """The WWW-Authenticate values of a 401, in Windows's order."""
        offered = [(NEGOTIATE_CHALLENGE, "ntlm"), (BASIC_CHALLENGE, "basic")]
        return [challenge for challenge, scheme in offered if scheme in self.auth]

    def logon_failed(self, scheme: str) -> None:
        """Tell the runner of a refused logon attempt, when it wants to know."""
        log.debug("%s: %s logon refused", self.host_name, scheme)
        hook = getattr(self._runner, "logon_failed", None)
        if hook is not None:
            hook(self.host_name, scheme)

    def exchange(self, body: bytes, scheme: str | None = None) -> tuple[int, str]:
        """Answer one SOAP request authenticated with `scheme`: (HTTP status, envelope). May raise DropConnection."""
        return self._shells.handle(body, Logon(scheme or "ntlm", self.delegation))


def _require_loopback(address: str) -> None:
    try:
        loopback = ipaddress.ip_address(address) in ipaddress.ip_network("127.0.0.0/8")
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"lab WinRM endpoints bind to 127.0.0.0/8 only, not {address!r}")


# ---------------------------------------------------------------------------------------------
# HTTP transport


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], endpoint: WinRMServer) -> None:
        self.endpoint = endpoint
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def get_request(self) -> tuple[socket.socket, tuple[str, int]]:
        sock, client = self.socket.accept()
        # Without TCP_NODELAY, Nagle plus delayed ACK cost ~40 ms per exchange (winrm-wire.md).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.endpoint.tls_context:
            # The handshake happens in the connection's own thread, so a stuck client cannot
            # hold up accept().
            sock = self.endpoint.tls_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        with self._open_lock:
            self._open.add(sock)
        return sock, client

    def shutdown_request(self, request: socket.socket) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._open_lock:
            for sock in self._open:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass  # already closed by the client

    def handle_error(self, request: object, client_address: tuple[str, int]) -> None:
        # Clients that reject the certificate or vanish are routine in tests: no tracebacks on stderr.
        log.debug("connection from %s failed", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()
        # NTLM authenticates the TCP connection: its context lives as long as this handler.
        self.negotiate = NegotiateSession()
        self.scheme: str | None = None  # how the request being answered authenticated

    @property
    def secure(self) -> bool:
        return isinstance(self.connection, ssl.SSLSocket)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        endpoint = self.server.endpoint
        self._tap("request", body)
        if self.path.rstrip("/").lower() != "/wsman":
            self._reply(404, b"", {})
            return
        headers = self._authenticate(endpoint)
        if headers is None:
            return  # answered with a challenge or a refusal
        if is_encrypted(self.headers.get("Content-Type")):
            try:
                body = self.negotiate.unwrap(body)
            except EncryptionError as error:
                log.debug("%s: %s", endpoint.host_name, error)
                self._reply(400, b"", headers)
                return
            self._answer(endpoint, body, headers, encrypt=True)
        elif self.negotiate.established and not body:
            # pywinrm's first request after the handshake has no body: it only sets up the context.
            self._reply(200, b"", headers)
        elif self.negotiate.established and not self.secure and not endpoint.allow_unencrypted:
            fault = _Fault(
                f"rdlab {endpoint.host_name}: the WinRM service refuses unencrypted messages over HTTP "
                "(AllowUnencrypted is false): use message encryption or HTTPS",
                "w:AccessDenied",
            )
            self._reply(500, _fault_envelope(fault, None).encode("utf-8"), {**headers, "Content-Type": SOAP_CONTENT_TYPE})
        else:
            self._answer(endpoint, body, headers, encrypt=False)

    def _authenticate(self, endpoint: WinRMServer) -> dict[str, str] | None:
        """The headers of the answer when the request is authenticated; None once it is answered (401)."""
        authorization = self.headers.get("Authorization")
        scheme, dummy, token = (authorization or "").partition(" ")
        if scheme.lower() == "negotiate" and "ntlm" in endpoint.auth:
            try:
                out = self.negotiate.step(token)
            except AuthenticationFailed as error:
                log.debug("%s: %s", endpoint.host_name, error)
                if error.logon:
                    endpoint.logon_failed("NTLM")
                self._unauthorized(endpoint)
                return None
            headers = {"WWW-Authenticate": f"{NEGOTIATE_CHALLENGE} {base64.b64encode(out).decode()}"} if out else {}
            if not self.negotiate.established:
                self._reply(401, b"", headers)  # the NTLM CHALLENGE
                return None
            self.scheme = "ntlm"
            return headers
        if endpoint.authorized(authorization):
            if self.secure or endpoint.allow_unencrypted:
                self.scheme = "basic"
                return {}
            # Basic cannot encrypt: with AllowUnencrypted false, Windows refuses it over HTTP.
            log.debug("%s: Basic over HTTP refused (allow_unencrypted is false)", endpoint.host_name)
        elif not authorization and self.negotiate.established:
            self.scheme = "ntlm"
            return {}
        elif scheme.lower() == "basic" and "basic" in endpoint.auth:
            endpoint.logon_failed("Basic")
        self._unauthorized(endpoint)
        return None

    def _unauthorized(self, endpoint: WinRMServer) -> None:
        self.negotiate.forget()
        self._reply(401, b"", {}, challenges=endpoint.challenges())

    def _answer(self, endpoint: WinRMServer, body: bytes, headers: dict[str, str], encrypt: bool) -> None:
        try:
            status, envelope = endpoint.exchange(body, self.scheme)
        except DropConnection:
            self._drop()
            return
        payload, content_type = envelope.encode("utf-8"), SOAP_CONTENT_TYPE
        if encrypt:
            payload, content_type = self.negotiate.wrap(payload), ENCRYPTED_CONTENT_TYPE
        self._reply(status, payload, {**headers, "Content-Type": content_type})

    def _reply(self, status: int, payload: bytes, headers: dict[str, str], challenges: Iterable[str] = ()) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        for challenge in challenges:
            self.send_header("WWW-Authenticate", challenge)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self._tap("response", payload)
        self.wfile.write(payload)

    def _tap(self, direction: str, data: bytes) -> None:
        on_wire = self.server.endpoint.on_wire
        if on_wire is not None:
            on_wire(direction, data)

    def _drop(self) -> None:
        # Linger 0 makes close() send a reset: the client sees the connection die mid-exchange.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s %s", self.address_string(), format % args)


# ---------------------------------------------------------------------------------------------
# SOAP: shells and commands


class _Fault(Exception):
    """A SOAP fault to answer with HTTP 500."""

    def __init__(
        self, reason: str, subcode: str, *, code: int | None = None, wmi_error: bool = False, sender: bool = True
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.subcode = subcode
        self.code = code  # the WSManFault Code, which pywinrm reads
        self.wmi_error = wmi_error  # repeat the code as MSFT_WmiError error_Code, which ansible reads
        self.sender = sender


@dataclass
class _Request:
    action: str
    message_id: str
    to: str
    shell_id: str | None
    options: dict[str, str]
    timeout: float
    body: ET.Element

    @property
    def action_name(self) -> str:
        return ACTIONS.get(self.action, self.action)


@dataclass
class _Command:
    command: str
    arguments: list[str]
    expects_stdin: bool
    stdin: bytearray = field(default_factory=bytearray)
    stdin_ended: bool = False
    outcome: Future[CommandResult] | None = None
    logon: Logon | None = None

    @property
    def stdin_open(self) -> bool:
        # Ansible asks for stdin with WINRS_CONSOLEMODE_STDIN=FALSE; a client that sends without
        # saying so has opened it too.
        return not self.stdin_ended and (self.expects_stdin or bool(self.stdin))


class _ShellService:
    """The shells of one host and the SOAP operations on them."""

    def __init__(self, host_name: str, runner: CommandRunner) -> None:
        self._host = host_name
        self._runner = runner
        self._shells: dict[str, dict[str, _Command]] = {}
        self._logons: dict[str, Logon] = {}  # each shell's creator's logon: its commands run in that session
        self._lock = threading.Lock()
        self._operations = {
            "Create": self._create,
            "Command": self._command,
            "Send": self._send,
            "Receive": self._receive,
            "Signal": self._signal,
            "Delete": self._delete,
        }

    def forget(self) -> None:
        with self._lock:
            self._shells.clear()
            self._logons.clear()

    def handle(self, body: bytes, logon: Logon | None = None) -> tuple[int, str]:
        try:
            request = _parse(body)
        except _Fault as fault:
            return 500, _fault_envelope(fault, relates_to=None)
        try:
            self._runner.before_exchange(self._host, request.action_name)
            answer = self._dispatch(request, logon or Logon("ntlm"))
        except _Fault as fault:
            return 500, _fault_envelope(fault, request.message_id)
        except DropConnection:
            raise
        except Exception as error:  # a lab bug must still reach the client as a readable fault
            log.exception("%s: %s failed", self._host, request.action_name)
            fault = _Fault(f"rdlab {self._host}: {type(error).__name__}: {error}", "w:InternalError", sender=False)
            return 500, _fault_envelope(fault, request.message_id)
        return 200, _envelope(request.action + "Response", request.message_id, answer)

    def _dispatch(self, request: _Request, logon: Logon) -> str:
        operation = self._operations.get(request.action_name)
        if operation is None:
            raise _Fault(f"rdlab does not implement the WS-Management action {request.action}", "a:ActionNotSupported")
        if request.action_name == "Create":
            return self._create(request, logon)
        return operation(request)

    def _create(self, request: _Request, logon: Logon | None = None) -> str:
        shell_id = str(uuid.uuid4()).upper()
        with self._lock:
            self._shells[shell_id] = {}
            self._logons[shell_id] = logon or Logon("ntlm")
        return (
            f"<x:ResourceCreated><a:Address>{escape(request.to)}</a:Address><a:ReferenceParameters>"
            f"<w:ResourceURI>{CMD_RESOURCE_URI}</w:ResourceURI>"
            f'<w:SelectorSet><w:Selector Name="ShellId">{shell_id}</w:Selector></w:SelectorSet>'
            "</a:ReferenceParameters></x:ResourceCreated>"
        )

    def _command(self, request: _Request) -> str:
        commands = self._shell(request)
        line = _required(request.body, "rsp:CommandLine")
        command = _Command(
            command=_required(line, "rsp:Command").text or "",
            arguments=[arg.text or "" for arg in line.findall("rsp:Arguments", NS)],
            expects_stdin=request.options.get("WINRS_CONSOLEMODE_STDIN", "TRUE").upper() == "FALSE",
            logon=self._logons.get(request.shell_id or "", Logon("ntlm")),
        )
        command_id = str(uuid.uuid4()).upper()
        with self._lock:
            commands[command_id] = command
        return f"<rsp:CommandResponse><rsp:CommandId>{command_id}</rsp:CommandId></rsp:CommandResponse>"

    def _send(self, request: _Request) -> str:
        stream = _required(request.body, "rsp:Send/rsp:Stream")
        command = self._command_of(request, stream)
        if stream.get("Name") != "stdin" or command.stdin_ended:
            raise _Fault('rdlab accepts input only on stdin, and only until End="true"', "w:InvalidParameter")
        try:
            command.stdin += base64.b64decode(stream.text or "", validate=True)
        except binascii.Error as error:
            raise _Fault(f"stdin chunk is not base64: {error}", "w:InvalidParameter") from None
        command.stdin_ended = (stream.get("End") or "").lower() == "true"
        return "<rsp:SendResponse/>"

    def _receive(self, request: _Request) -> str:
        stream = _required(request.body, "rsp:Receive/rsp:DesiredStream")
        command_id = stream.get("CommandId") or ""
        command = self._command_of(request, stream)
        if command.stdin_open:
            raise _operation_timeout()
        try:
            result = self._outcome(command).result(timeout=request.timeout)
        except FutureTimeout:
            raise _operation_timeout() from None
        return f"<rsp:ReceiveResponse>{_streams(command_id, result)}</rsp:ReceiveResponse>"

    def _signal(self, request: _Request) -> str:
        signal = _required(request.body, "rsp:Signal")
        self._command_of(request, signal)
        code = signal.findtext("rsp:Code", "", NS).strip()
        if code != SIGNAL_TERMINATE:
            raise _Fault(f"rdlab supports only the terminate signal, not {code!r}", "w:InvalidParameter")
        commands = self._shell(request)
        with self._lock:
            commands.pop(signal.get("CommandId"), None)
        return "<rsp:SignalResponse/>"

    def _delete(self, request: _Request) -> str:
        # An unknown shell is not a fault here: ansible's recovery from the shell fault deletes
        # the shell it lost before creating a new one.
        with self._lock:
            self._shells.pop(request.shell_id or "", None)
            self._logons.pop(request.shell_id or "", None)
        return ""

    def _shell(self, request: _Request) -> dict[str, _Command]:
        with self._lock:
            commands = self._shells.get(request.shell_id or "")
        if commands is None:
            raise _Fault(
                f"The request for the Windows Remote Shell with ShellId {request.shell_id} failed because the "
                "shell was not found on the server.",
                "w:InvalidSelectors",
                code=QUOTA_MAX_OPERATIONS,
                wmi_error=True,
            )
        return commands

    def _command_of(self, request: _Request, element: ET.Element) -> _Command:
        commands = self._shell(request)
        command_id = element.get("CommandId") or ""
        with self._lock:
            command = commands.get(command_id)
        if command is None:
            raise _Fault(f"CommandId {command_id!r} is not a command of shell {request.shell_id}", "w:InvalidSelectors")
        return command

    def _outcome(self, command: _Command) -> Future[CommandResult]:
        with self._lock:
            if command.outcome is None:
                command.outcome = Future()
                # A thread of its own, so a Receive can time out per OperationTimeout and be retried.
                threading.Thread(target=self._run, args=(command,), daemon=True).start()
            return command.outcome

    def _run(self, command: _Command) -> None:
        in_session = getattr(self._runner, "run_session_command", None)
        try:
            if in_session is not None:
                result = in_session(self._host, command.logon, command.command, command.arguments, bytes(command.stdin))
            else:
                result = self._runner.run_command(self._host, command.command, command.arguments, bytes(command.stdin))
        except Exception as error:  # handed over to the Receive waiting for it
            command.outcome.set_exception(error)
        else:
            command.outcome.set_result(result)


def _parse(body: bytes) -> _Request:
    try:
        envelope = ET.fromstring(body)
    except ET.ParseError as error:
        raise _Fault(f"the request is not XML: {error}", "w:InvalidMessageInformationHeader") from None
    header = _required(envelope, "s:Header")
    resource = header.findtext("w:ResourceURI", "", NS).strip()
    if resource != CMD_RESOURCE_URI:
        raise _Fault(f"rdlab serves only the resource {CMD_RESOURCE_URI}, not {resource!r}", "w:DestinationUnreachable")
    return _Request(
        action=_required_text(header, "a:Action"),
        message_id=_required_text(header, "a:MessageID"),
        to=header.findtext("a:To", "", NS),
        shell_id=header.findtext("w:SelectorSet/w:Selector[@Name='ShellId']", None, NS),
        options={o.get("Name"): (o.text or "") for o in header.findall("w:OptionSet/w:Option", NS)},
        timeout=_duration(header.findtext("w:OperationTimeout", None, NS)),
        body=_required(envelope, "s:Body"),
    )


def _required(parent: ET.Element, path: str) -> ET.Element:
    element = parent.find(path, NS)
    if element is None:
        raise _Fault(f"the request has no {path}", "w:SchemaValidationError")
    return element


def _required_text(parent: ET.Element, path: str) -> str:
    text = (_required(parent, path).text or "").strip()
    if not text:
        raise _Fault(f"the request's {path} is empty", "w:SchemaValidationError")
    return text


def _duration(text: str | None) -> float:
    """Seconds of an xs:duration such as PT20S, PT20.000S or PT1M30S."""
    if text is None:
        return _DEFAULT_OPERATION_TIMEOUT
    match = re.fullmatch(r"PT(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?", text.strip())
    if not match or not any(match.groups()):
        raise _Fault(f"OperationTimeout {text!r} is not a duration like PT20S", "w:InvalidParameter")
    minutes, seconds = match.groups()
    return int(minutes or 0) * 60 + float(seconds or 0)


def _operation_timeout() -> _Fault:
    return _Fault(
        "The WS-Management service cannot complete the operation within the time specified in OperationTimeout.",
        "w:TimedOut",
        code=OPERATION_TIMEOUT,
        sender=False,
    )


def _streams(command_id: str, result: CommandResult) -> str:
    command = quoteattr(command_id)
    streams = "".join(
        f'<rsp:Stream Name="{name}" CommandId={command} End="true">{base64.b64encode(data).decode()}</rsp:Stream>'
        for name, data in (("stdout", result.stdout), ("stderr", result.stderr))
    )
    state = f'<rsp:CommandState CommandId={command} State="{COMMAND_DONE}">'
    return f"{streams}{state}<rsp:ExitCode>{int(result.exit_code)}</rsp:ExitCode></rsp:CommandState>"


_NAMESPACES = " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in NS.items())


def _envelope(action: str, relates_to: str | None, body: str) -> str:
    relates = f"<a:RelatesTo>{escape(relates_to)}</a:RelatesTo>" if relates_to else ""
    return (
        f'<s:Envelope xml:lang="en-US" {_NAMESPACES}><s:Header>'
        f"<a:Action>{escape(action)}</a:Action><a:MessageID>uuid:{str(uuid.uuid4()).upper()}</a:MessageID>"
        f"<a:To>{ANONYMOUS}</a:To>{relates}</s:Header><s:Body>{body}</s:Body></s:Envelope>"
    )


def _fault_envelope(fault: _Fault, relates_to: str | None) -> str:
    reason = escape(fault.reason)
    detail = ""
    if fault.code is not None:
        detail = f'<f:WSManFault Code="{fault.code}" Machine="rdlab"><f:Message>{reason}</f:Message></f:WSManFault>'
    if fault.wmi_error:
        detail += f"<p:MSFT_WmiError><p:error_Code>{fault.code}</p:error_Code></p:MSFT_WmiError>"
    if detail:
        detail = f"<s:Detail>{detail}</s:Detail>"
    body = (
        f"<s:Fault><s:Code><s:Value>{'s:Sender' if fault.sender else 's:Receiver'}</s:Value>"
        f"<s:Subcode><s:Value>{fault.subcode}</s:Value></s:Subcode></s:Code>"
        f'<s:Reason><s:Text xml:lang="en-US">{reason}</s:Text></s:Reason>{detail}</s:Fault>'
    )
    return _envelope("http://schemas.dmtf.org/wbem/wsman/1/wsman/fault", relates_to, body)
