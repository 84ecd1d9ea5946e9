"""The lab on a shared machine (finding 9 of issue 9): a private state directory, `rdlab stop` signalling only
its own server, and a certificate that cannot vouch for anything but the lab."""

from __future__ import annotations

import datetime
import stat
import subprocess
import sys

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from rdlab import cli
from rdlab.winrm.tls import CERT_NAME, KEY_NAME, ensure_certificate


def test_the_state_directory_and_its_files_are_the_owners_only(tmp_path):
    directory = tmp_path / "lab"
    directory.mkdir(mode=0o755)
    hosts = [cli.parse_host_spec("ls1:license_server")]
    cli.create_lab(directory, hosts, "http")
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    for path in (directory / "lab.json", directory / "hosts" / "ls1.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_stop_signals_nothing_but_the_labs_own_server(tmp_path, capsys):
    """lab.pid naming another process (a reused PID, or a file someone wrote) must not get it killed."""
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / "lab.pid").write_text(str(bystander.pid))
        assert cli.main(["stop", "--dir", str(tmp_path)]) == 0
        assert bystander.poll() is None, "rdlab stop killed a process that is not the lab"
        assert "does not name this lab's server: nothing signalled" in capsys.readouterr().out
        assert cli._running_pid(tmp_path) is None  # and start would not think a lab is running
    finally:
        bystander.kill()
        bystander.wait()


def test_the_certificate_is_a_leaf_for_the_labs_names_and_its_ca_key_is_gone(tmp_path):
    cert_path, key_path = ensure_certificate(tmp_path, ["127.0.0.2"])
    leaf, ca = x509.load_pem_x509_certificates(cert_path.read_bytes())
    assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert leaf.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign is False
    constraints = ca.extensions.get_extension_for_class(x509.NameConstraints)
    assert constraints.critical and {str(n.value) for n in constraints.value.permitted_subtrees} == {
        "127.0.0.1/32", "127.0.0.2/32", "localhost"}
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc <= datetime.timedelta(days=91)
    # The only private key kept is the leaf's: nothing here can sign another certificate.
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == sorted([CERT_NAME, KEY_NAME])
    kept = serialization.load_pem_private_key(key_path.read_bytes(), password=None).public_key()
    assert kept.public_numbers() == leaf.public_key().public_numbers() != ca.public_key().public_numbers()
