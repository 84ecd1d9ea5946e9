"""Shared fixtures for the lab's own tests: `import rdlab`, fake runners and running servers."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

LAB_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(LAB_ROOT))

from rdlab.winrm.server import CommandResult, WinRMServer  # noqa: E402 - needs the path above
from rdlab.winrm.tls import ensure_certificate, server_context  # noqa: E402

USER, PASSWORD = "Administrator", "Lab-Test-1"


@dataclass
class Call:
    host: str
    command: str
    arguments: list[str]
    stdin: bytes


@dataclass
class FakeRunner:
    """Records every command and answers with `answer(call)`; `hook` runs before each exchange."""

    answer: Callable[[Call], CommandResult] = lambda call: CommandResult(b"out", b"", 0)
    hook: Callable[[str, str], None] = lambda host, action: None
    calls: list[Call] = field(default_factory=list)
    exchanges: list[str] = field(default_factory=list)
    logon_failures: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run_command(self, host: str, command: str, arguments: list[str], stdin: bytes) -> CommandResult:
        call = Call(host, command, arguments, stdin)
        with self._lock:
            self.calls.append(call)
        return self.answer(call)

    def logon_failed(self, host: str, scheme: str) -> None:
        with self._lock:
            self.logon_failures.append(scheme)

    def before_exchange(self, host: str, action: str) -> None:
        with self._lock:
            self.exchanges.append(action)
        self.hook(host, action)


@pytest.fixture
def runner() -> FakeRunner:
    return FakeRunner()


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return ensure_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def start_server(certificate: tuple[Path, Path]) -> Iterator[Callable[..., WinRMServer]]:
    """Start servers (stopped at teardown): start_server(runner, tls=False, host_name='win1', **kwargs).

    Unless told otherwise, a server offers Basic and NTLM and allows unencrypted HTTP, as a Windows
    host set up for Basic over HTTP does: most tests here talk Basic over HTTP.
    """
    servers: list[WinRMServer] = []

    def start(runner: FakeRunner, tls: bool = False, host_name: str = "win1", **kwargs: object) -> WinRMServer:
        context = server_context(*certificate) if tls else None
        kwargs.setdefault("auth", ("basic", "ntlm"))
        kwargs.setdefault("allow_unencrypted", True)
        server = WinRMServer(host_name, runner, username=USER, password=PASSWORD, tls_context=context, **kwargs)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
