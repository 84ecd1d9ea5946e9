"""The lab's WinRM protocol layer: the WS-Management server and the decoding of ansible's payloads."""

from rdlab.winrm.payload import Invocation, PayloadError, decode
from rdlab.winrm.server import CommandResult, CommandRunner, DropConnection, WinRMServer

__all__ = [
    "CommandResult",
    "CommandRunner",
    "DropConnection",
    "Invocation",
    "PayloadError",
    "WinRMServer",
    "decode",
]
