"""Authentication and message encryption of the lab's WinRM endpoints.

Two schemes, as a Windows listener offers them:

- ``basic``: ``Authorization: Basic`` on every request (``Service/Auth/Basic``, off by default on
  Windows). It cannot encrypt, so over HTTP it needs ``AllowUnencrypted``.
- ``ntlm``: ``Authorization: Negotiate`` carrying NTLM, raw (requests_ntlm, which pywinrm uses) or
  inside SPNEGO. NTLM authenticates the TCP connection, not a request: the handshake is
  NEGOTIATE -> 401 with the CHALLENGE -> AUTHENTICATE, after which requests on that connection carry
  no Authorization header. The established context seals the SOAP messages (MS-WSMV 2.2.9.1.1,
  "Negotiate Encrypted Message"): `unwrap_message` and `wrap_message` speak the framing pywinrm's
  ``winrm/encryption.py`` writes and reads.

pyspnego is the accepting side. Its NTLM acceptor reads the users it accepts from the file named by
the ``NTLM_USER_FILE`` environment variable, a process-wide setting: `register_ntlm_user` keeps one
such file for every endpoint of the process.
"""

from __future__ import annotations

import atexit
import base64
import binascii
import hmac
import os
import shutil
import struct
import tempfile
import threading
from pathlib import Path

import spnego

SCHEMES = ("basic", "ntlm")
BASIC_CHALLENGE = 'Basic realm="WSMAN"'
NEGOTIATE_CHALLENGE = "Negotiate"

ENCRYPTED_PROTOCOL = "application/HTTP-SPNEGO-session-encrypted"
ENCRYPTED_CONTENT_TYPE = f'multipart/encrypted;protocol="{ENCRYPTED_PROTOCOL}";boundary="Encrypted Boundary"'
SOAP_CONTENT_TYPE = "application/soap+xml;charset=UTF-8"
_BOUNDARY = b"--Encrypted Boundary"
_PART_HEADER = b"\tContent-Type: " + ENCRYPTED_PROTOCOL.encode() + b"\r\n\tOriginalContent: type="
_OCTET_STREAM = b"\tContent-Type: application/octet-stream\r\n"
_END = _BOUNDARY + b"--\r\n"


class AuthenticationFailed(Exception):
    """The client's credentials or token were refused: answer 401. `logon` is true when the client's
    credentials were checked and refused (a failed logon, which Windows counts), false for a token
    that is merely malformed or out of place."""

    def __init__(self, message: str, logon: bool = False) -> None:
        super().__init__(message)
        self.logon = logon


class EncryptionError(Exception):
    """An encrypted message that cannot be read: answer 400."""


def basic_matches(authorization: str | None, username: str, password: str) -> bool:
    """Whether a Basic Authorization header carries these credentials."""
    scheme, dummy, token = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, dummy, given = base64.b64decode(token, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    # Windows user names are case-insensitive; passwords are not.
    return user.casefold() == username.casefold() and hmac.compare_digest(given.encode(), password.encode())


def is_encrypted(content_type: str | None) -> bool:
    return (content_type or "").lower().startswith("multipart/encrypted") and ENCRYPTED_PROTOCOL.lower() in (
        content_type or ""
    ).lower()


# ---------------------------------------------------------------------------------------------
# NTLM: the accepted users and one context per connection


class _NTLMUsers:
    """The file pyspnego's NTLM acceptor reads (``DOMAIN:USER:PASSWORD`` lines), one per process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users: dict[tuple[str, str], tuple[str, str, str]] = {}
        self._directory: Path | None = None

    def register(self, username: str, password: str, domains: tuple[str, ...]) -> None:
        with self._lock:
            for domain in domains:
                key = (domain.casefold(), username.casefold())
                known = self._users.get(key)
                if known and known[2] != password:
                    raise ValueError(
                        f"NTLM: the user {username!r} (domain {domain!r}) is already accepted in this process with "
                        "another password: pyspnego's acceptor reads one user file per process"
                    )
                self._users[key] = (domain, username, password)
            self._write()

    def _write(self) -> None:
        if self._directory is None:
            self._directory = Path(tempfile.mkdtemp(prefix="rdlab-ntlm-"))
            atexit.register(shutil.rmtree, self._directory, True)
        lines = "".join(f"{domain}:{user}:{password}\n" for domain, user, password in self._users.values())
        path = self._directory / "users"
        staging = self._directory / "users.new"
        with os.fdopen(os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
            out.write(lines)
        os.replace(staging, path)
        os.environ["NTLM_USER_FILE"] = str(path)


_NTLM_USERS = _NTLMUsers()


def register_ntlm_user(username: str, password: str, host_name: str) -> None:
    """Accept this local account over NTLM, as USER, .\\USER and HOST\\USER (a local account's forms)."""
    _NTLM_USERS.register(username, password, ("", ".", host_name.upper()))


class NegotiateSession:
    """The Negotiate (NTLM) state of one TCP connection."""

    def __init__(self) -> None:
        self._context: spnego.ContextProxy | None = None

    @property
    def established(self) -> bool:
        return self._context is not None and self._context.complete

    @property
    def user(self) -> str | None:
        return self._context.client_principal if self.established else None

    def forget(self) -> None:
        self._context = None

    def step(self, token_b64: str) -> bytes | None:
        """Take the client's token; returns the token to answer with (None when there is none).

        A first token (NTLM NEGOTIATE, or a SPNEGO NegTokenInit) starts over, on a new or an already
        authenticated connection alike. Raises AuthenticationFailed, and forgets the connection's
        context, when the token or the credentials are refused.
        """
        try:
            token = base64.b64decode(token_b64.strip(), validate=True)
        except binascii.Error:
            self._context = None
            raise AuthenticationFailed("the Negotiate token is not base64") from None
        starts = _starts_handshake(token)
        if starts or self.established:
            # The acceptor handles raw NTLM and NTLM inside SPNEGO; Kerberos would need GSSAPI.
            self._context = spnego.server(protocol="negotiate")
        elif self._context is None:
            raise AuthenticationFailed("a Negotiate token that continues no handshake on this connection")
        try:
            return self._context.step(token)
        except Exception as error:  # spnego raises several types for bad tokens and wrong passwords
            self._context = None
            # A token that continues a handshake carries the credentials (NTLM AUTHENTICATE): a logon attempt.
            raise AuthenticationFailed(f"NTLM: {error}", logon=not starts) from None

    def unwrap(self, body: bytes) -> bytes:
        """The SOAP envelope inside an encrypted request body (MS-WSMV 2.2.9.1.1)."""
        if not self.established:
            raise EncryptionError("an encrypted message on a connection without an NTLM context")
        return unwrap_message(self._context, body)

    def wrap(self, payload: bytes) -> bytes:
        return wrap_message(self._context, payload)


def _starts_handshake(token: bytes) -> bool:
    if token.startswith(b"NTLMSSP\x00"):
        return token[8:12] == b"\x01\x00\x00\x00"  # message type 1, NEGOTIATE
    return token[:1] == b"\x60"  # an ASN.1 [APPLICATION 0], the SPNEGO NegTokenInit


# ---------------------------------------------------------------------------------------------
# Message encryption framing, as pywinrm's winrm/encryption.py writes it:
#
#   --Encrypted Boundary\r\n
#   \tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n
#   \tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=<plain length>\r\n
#   --Encrypted Boundary\r\n
#   \tContent-Type: application/octet-stream\r\n
#   <signature length, 4 bytes little-endian><signature><sealed message>--Encrypted Boundary--\r\n


def unwrap_message(context: spnego.ContextProxy, body: bytes) -> bytes:
    part = _BOUNDARY + b"\r\n" + _PART_HEADER
    if not body.startswith(part):
        raise EncryptionError("the encrypted body does not start with the session-encrypted part header")
    header, separator, rest = body[len(part):].partition(b"\r\n" + _BOUNDARY + b"\r\n" + _OCTET_STREAM)
    if not separator:
        raise EncryptionError("the encrypted body has no application/octet-stream part")
    length = _original_length(header)
    if len(rest) < 4:
        raise EncryptionError("the encrypted part is too short")
    signature_length = struct.unpack("<i", rest[:4])[0]
    end = 4 + signature_length + length
    if signature_length <= 0 or rest[end:] != _END:
        raise EncryptionError("the encrypted part does not match its OriginalContent Length")
    signature, sealed = rest[4:4 + signature_length], rest[4 + signature_length:end]
    try:
        message = context.unwrap(signature + sealed).data
    except Exception as error:  # a wrong signature or sequence number: the message was not sealed for us
        raise EncryptionError(f"the message cannot be unsealed: {error}") from None
    if len(message) != length:
        raise EncryptionError("the unsealed message does not have its OriginalContent Length")
    return message


def _original_length(header: bytes) -> int:
    content, dummy, length = header.rpartition(b";Length=")
    if not content.lower().startswith(b"application/soap+xml") or not length.isdigit():
        raise EncryptionError(f"unexpected OriginalContent {header[:100]!r}")
    return int(length)


def wrap_message(context: spnego.ContextProxy, payload: bytes) -> bytes:
    sealed = context.wrap(payload, encrypt=True).data
    # NTLM's signature is the first 16 bytes of the wrapped message.
    signature, message = sealed[:16], sealed[16:]
    return (
        _BOUNDARY + b"\r\n" + _PART_HEADER + SOAP_CONTENT_TYPE.encode() + b";Length=" + str(len(payload)).encode()
        + b"\r\n" + _BOUNDARY + b"\r\n" + _OCTET_STREAM
        + struct.pack("<i", len(signature)) + signature + message + _END
    )
