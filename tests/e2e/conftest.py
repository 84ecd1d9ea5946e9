"""End-to-end fixtures: labs started with the rdlab command line (rdlab.testing)."""

import pytest

from rdlab.testing import start_lab


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
