"""A self-signed certificate for the lab's HTTPS listeners, made once and kept in a directory.

The certificate is its own CA, so a client can validate against it by pointing its trust path
(pywinrm's ``ca_trust_path``, ansible's ``ansible_winrm_ca_trust_path``) at the certificate file.
"""

from __future__ import annotations

import datetime
import fcntl
import ipaddress
import os
import ssl
from collections.abc import Iterable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CERT_NAME = "winrm-lab.crt"
KEY_NAME = "winrm-lab.key"
_VALIDITY = datetime.timedelta(days=3650)


def ensure_certificate(directory: str | os.PathLike[str], addresses: Iterable[str] = ()) -> tuple[Path, Path]:
    """Return (certificate path, key path) in `directory`, creating them on first use.

    The certificate is valid for localhost, 127.0.0.1 and the other `addresses` (IP addresses); one
    that lacks an address is made again.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / CERT_NAME, directory / KEY_NAME
    wanted = {ipaddress.ip_address("127.0.0.1"), *(ipaddress.ip_address(a) for a in addresses)}
    # Several lab processes may start at once: the lock keeps the key and the certificate a pair.
    with open(directory / ".winrm-lab.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (cert_path.exists() and key_path.exists()) or not wanted <= _addresses(cert_path):
            _write_pair(cert_path, key_path, sorted(wanted))
    return cert_path, key_path


def _addresses(cert_path: Path) -> set[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(names.get_values_for_type(x509.IPAddress))


def server_context(cert_path: str | os.PathLike[str], key_path: str | os.PathLike[str]) -> ssl.SSLContext:
    """A TLS server context presenting the given certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context


def _write_pair(cert_path: Path, key_path: Path, addresses: list) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # Created private from the start rather than tightened after writing.
    with os.fdopen(os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
        out.write(pem)
    cert_path.write_bytes(_certificate(key, addresses).public_bytes(serialization.Encoding.PEM))


def _certificate(key: ec.EllipticCurvePrivateKey, addresses: list) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rdlab WinRM")])
    now = datetime.datetime.now(datetime.timezone.utc)
    public_key = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + _VALIDITY)
        .add_extension(
            x509.SubjectAlternativeName([*(x509.IPAddress(a) for a in addresses), x509.DNSName("localhost")]),
            critical=False,
        )
        # CA:TRUE lets the certificate be its own trust anchor under strict OpenSSL verification.
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public_key), critical=False)
        .sign(key, hashes.SHA256())
    )
