"""The license_server role passes activation_retries and activation_retry_delay through: its variables
license_server_activation_retries and license_server_activation_retry_delay, and messages that name them."""

import pytest

from .support import ModuleLab

ROLE_VARS = {"license_server_first_name": "Ada", "license_server_last_name": "Lovelace",
             "license_server_company": "Example Ltd", "license_server_country_region": "United Kingdom"}


def role_play(host, variables):
    return [{"name": "e2e", "hosts": host, "gather_facts": False,
             "roles": [{"role": "remote_desktop.licensing.license_server", "vars": variables}]}]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = ModuleLab.start(tmp_path_factory, "flaky:license_server:domain=corp.example.com")
    lab.seed("flaky", {"features": {"RSAT-RDS-Licensing-Diagnosis-UI": True}})
    yield lab
    lab.stop()


def test_the_role_gives_up_after_its_retries_naming_its_variables(lab):
    lab.fault("flaky", "activation_flaky", "--count", "2")
    variables = dict(ROLE_VARS, license_server_activation_retries=1, license_server_activation_retry_delay=0)
    run = lab.play(role_play("flaky", variables))
    (result,) = [t["result"] for t in run.tasks if t["host"] == "flaky" and t["status"] == "failed"]
    assert run.rc != 0
    assert result["msg"].endswith("Tried 2 times, 0 seconds apart (license_server_activation_retries: 1, "
                                  "license_server_activation_retry_delay: 0).")
    assert run.methods("flaky").count("ActivateServerAutomatic") == 2
    assert lab.state("flaky")["license_server"]["activation_status"] == 1


def test_the_role_retries_as_often_as_it_is_told(lab):
    lab.fault("flaky", "activation_flaky", "--count", "2")
    variables = dict(ROLE_VARS, license_server_activation_retries=2, license_server_activation_retry_delay=0)
    run = lab.play(role_play("flaky", variables))
    assert run.rc == 0, run.output
    assert run.methods("flaky").count("ActivateServerAutomatic") == 3
    assert lab.state("flaky")["license_server"]["activation_status"] == 0
