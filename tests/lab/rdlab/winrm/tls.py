"""The lab's HTTPS certificate: a leaf for the lab's names only, made once and kept in a directory.

The certificate file holds the leaf and the CA that signed it; a client validates by pointing its
trust path (pywinrm's ``ca_trust_path``, ansible's ``ansible_winrm_ca_trust_path``) at that file.
The CA exists only to be that trust anchor: its private key is never written anywhere, so nothing can
be signed with it once the leaf is made, and its name constraints limit it to the lab's addresses and
localhost anyway. Both expire after _VALIDITY and are made again.
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
_VALIDITY = datetime.timedelta(days=90)


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
        if (not (cert_path.exists() and key_path.exists()) or not wanted <= _addresses(cert_path)
                or _expires_soon(cert_path)):
            _write_pair(cert_path, key_path, sorted(wanted))
    return cert_path, key_path


def _addresses(cert_path: Path) -> set[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(names.get_values_for_type(x509.IPAddress))


def _expires_soon(cert_path: Path) -> bool:
    certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    return certificate.not_valid_after_utc < datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)


def server_context(cert_path: str | os.PathLike[str], key_path: str | os.PathLike[str]) -> ssl.SSLContext:
    """A TLS server context presenting the given certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context


def _write_pair(cert_path: Path, key_path: Path, addresses: list) -> None:
    ca_key = ec.generate_private_key(ec.SECP256R1())  # used for two signatures below, then forgotten
    ca = _ca_certificate(ca_key, addresses)
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # Created private from the start rather than tightened after writing.
    with os.fdopen(os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
        out.write(pem)
    leaf = _leaf_certificate(key, ca, ca_key, addresses)
    cert_path.write_bytes(leaf.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM))


def _names(addresses: list) -> list:
    return [*(x509.IPAddress(a) for a in addresses), x509.DNSName("localhost")]


def _ca_certificate(ca_key: ec.EllipticCurvePrivateKey, addresses: list) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rdlab WinRM trust anchor")])
    now = datetime.datetime.now(datetime.timezone.utc)
    public_key = ca_key.public_key()
    networks = [x509.IPAddress(ipaddress.ip_network(a)) for a in addresses]
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + _VALIDITY)
        # CA:TRUE lets the certificate be the trust anchor under strict OpenSSL verification; path length 0
        # and the name constraints keep it to one leaf level and the lab's own names.
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.NameConstraints(permitted_subtrees=[*networks, x509.DNSName("localhost")],
                                            excluded_subtrees=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                key_cert_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def _leaf_certificate(key: ec.EllipticCurvePrivateKey, ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey,
                      addresses: list) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    public_key = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rdlab WinRM")]))
        .issuer_name(ca.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.SubjectAlternativeName(_names(addresses)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=False,
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
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
