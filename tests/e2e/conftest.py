"""End-to-end fixtures: labs started with the rdlab command line (rdlab.testing)."""

import subprocess

import pytest

from rdlab.testing import ROOT, start_lab

from .support import CHROMIUM, INSTALL_CHROMIUM


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """One license server, two session hosts (2019 and 2022), a host with neither role, a Server Core
    license server in a workgroup."""
    lab = start_lab(tmp_path_factory.mktemp("lab"),
                    "ls1:license_server:domain=corp.example.com",
                    "sh1:session_host:os=2019:domain=corp.example.com",
                    "sh2:session_host:domain=corp.example.com",
                    "bare",
                    "core1:license_server:installation=core")
    yield lab
    lab.rdlab("stop")


@pytest.fixture(scope="session")
def chromium():
    """Debian's chromium: installed by tools/install-chromium.sh (make e2e runs it first) when missing. A
    machine that cannot install it fails here, with apt's reason: the report is never left untested."""
    if not CHROMIUM.exists():
        run = subprocess.run(["bash", str(INSTALL_CHROMIUM)], capture_output=True, text=True, timeout=900,
                             check=False)
        if run.returncode != 0 or not CHROMIUM.exists():
            pytest.fail(f"{CHROMIUM} is missing and {INSTALL_CHROMIUM.relative_to(ROOT)} could not install it "
                        f"(exit {run.returncode}):\n{run.stdout}\n{run.stderr}", pytrace=False)
    return CHROMIUM
