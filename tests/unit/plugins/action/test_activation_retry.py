"""license_server retries automatic activation (issue 11): the planner and the action against the lab's
model in-process, with the lab's activation_flaky fault and a sleep that records instead of waiting."""

from unittest import mock

import pytest
from inprocess_lab import InProcessLab

from ansible_collections.remote_desktop.licensing.plugins.action.license_server import ActionModule

CONTACT = {"first_name": "Ada", "last_name": "Lovelace", "company": "Example Ltd", "country_region": "United Kingdom"}
ACTIVATED = {"contact": CONTACT, "activation": "activated"}


@pytest.fixture
def lab(tmp_path):
    lab = InProcessLab("ls1:license_server:domain=corp.example.com", directory=tmp_path)
    with lab.fleet.host("ls1") as model:  # the management tools the module adds: this story is about activation
        model.state["features"]["RSAT-RDS-Licensing-Diagnosis-UI"] = True
    return lab


@pytest.fixture
def sleeps():
    waited = []
    with mock.patch.object(ActionModule, "sleep", staticmethod(waited.append)):
        yield waited


def flaky(lab, count):
    with lab.fleet.host("ls1") as model:
        model.state.setdefault("faults", {})["activation_flaky"] = {"count": count}


def activation_calls(lab, method="ActivateServerAutomatic"):
    return [op for batch in lab.batches for op in batch["operations"] if op.get("method") == method]


def activation_status(lab):
    return lab.state("ls1")["license_server"]["activation_status"]


def test_activation_is_tried_again_until_it_succeeds(lab, sleeps):
    flaky(lab, 2)
    result = lab.run("ls1", "license_server", ACTIVATED)
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] and result["activation_status"] == "activated"
    assert [s["action"] for s in result["plan"]] == ["contact", "activate"]
    assert sleeps == [5, 5] and len(activation_calls(lab)) == 3
    assert activation_status(lab) == 0
    assert not lab.run("ls1", "license_server", ACTIVATED)["changed"]


def test_activation_gives_up_after_the_retries_and_says_so(lab, sleeps):
    flaky(lab, 3)
    result = lab.run("ls1", "license_server", dict(ACTIVATED, activation_retry_delay=1))
    assert result["failed"] and result["changed"]  # the contact was set before the first try
    assert result["msg"].startswith("Could not activate the license server automatically over the Internet: "
                                    "Win32_TSLicenseServer.ActivateServerAutomatic in root/cimv2 returned 0x80041001")
    assert result["msg"].endswith("Tried 3 times, 1 seconds apart (activation_retries: 2, activation_retry_delay: 1).")
    assert sleeps == [1, 1] and len(activation_calls(lab)) == 3
    assert activation_status(lab) == 1


def test_no_retries_tries_once(lab, sleeps):
    flaky(lab, 1)
    result = lab.run("ls1", "license_server", dict(ACTIVATED, activation_retries=0))
    assert result["failed"] and "Tried" not in result["msg"]
    assert sleeps == [] and len(activation_calls(lab)) == 1


def test_a_server_activated_between_tries_is_not_activated_again(lab):
    """The failed call's answer was lost, or an administrator activated the server meanwhile: the read
    before the next try shows ActivationStatus 0, and nothing more is sent."""
    def activate_meanwhile(seconds):
        with lab.fleet.host("ls1") as model:
            model.state["license_server"]["activation_status"] = 0

    flaky(lab, 5)
    with mock.patch.object(ActionModule, "sleep", staticmethod(activate_meanwhile)):
        result = lab.run("ls1", "license_server", ACTIVATED)
    assert not result.get("failed"), result.get("msg")
    assert result["activation_status"] == "activated" and len(activation_calls(lab)) == 1


def test_activation_with_a_license_server_id_is_tried_once(lab, sleeps):
    with lab.fleet.host("ls1") as model:
        model.state.setdefault("faults", {})["cim_fail"] = {
            "class": "Win32_TSLicenseServer", "method": "ActivateServer", "count": 1, "code": 0x80041001}
    server_id = "ABCDE12345FGHIJ67890KLMNO12345PQRST"
    result = lab.run("ls1", "license_server", {"activation": "activated", "activation_method": "license_server_id",
                                               "license_server_id": server_id})
    assert result["failed"] and "Tried" not in result["msg"] and sleeps == []
    assert len(activation_calls(lab, "ActivateServer")) == 1


@pytest.mark.parametrize("option, value, message", [
    ("activation_retries", -1, "activation_retries must be 0 or more, got -1"),
    ("activation_retry_delay", -2, "activation_retry_delay must be 0 or more seconds, got -2"),
])
def test_negative_retry_options_are_refused_before_the_host_is_touched(lab, option, value, message):
    result = lab.run("ls1", "license_server", dict(ACTIVATED, **{option: value}))
    prefix = "Invalid options for remote_desktop.licensing.license_server: "
    assert result["failed"] and result["msg"] == prefix + message
    assert lab.batches == []
