"""Planner and action together against the lab's host model, in-process (inprocess_lab.py): the
paths of each module in milliseconds. The WinRM end-to-end tests (tests/e2e) cover the wire."""

import pytest
from inprocess_lab import InProcessLab

CONTACT = {"first_name": "Ada", "last_name": "Lovelace", "company": "Example Ltd", "country_region": "United Kingdom"}


@pytest.fixture
def lab(tmp_path):
    return InProcessLab("ls1:domain=corp.example.com", "sh1:session_host:domain=corp.example.com",
                        directory=tmp_path)


def test_license_server_check_mode_predicts_and_the_run_matches(lab):
    before = lab.state("ls1")
    planned = lab.run("ls1", "license_server", {"contact": CONTACT, "activation": "activated"}, check_mode=True,
                      diff=True)
    assert lab.state("ls1") == before
    assert planned["changed"] and [s["phase"] for s in planned["plan"]][0] == "role"
    applied = lab.run("ls1", "license_server", {"contact": CONTACT, "activation": "activated"}, diff=True)
    assert applied["changed"] and not applied.get("failed"), applied.get("msg")
    assert applied["diff"] == planned["diff"]
    again = lab.run("ls1", "license_server", {"contact": CONTACT, "activation": "activated"})
    assert not again["changed"] and again["plan"] == []


def test_session_host_mode_and_servers(lab):
    args = {"mode": "per_user", "license_servers": ["ls1.corp.example.com"], "check_connectivity": False}
    applied = lab.run("sh1", "session_host", args, diff=True)
    assert applied["changed"] and applied["mode"] == "per_user", applied.get("msg")
    assert applied["diff"]["before"]["mode"] != "per_user"
    assert not lab.run("sh1", "session_host", args)["changed"]


def test_licensing_info_is_one_batch_and_changes_nothing(lab):
    before = lab.state("sh1")
    report = lab.run("sh1", "licensing_info")
    assert report["roles"]["session_host"] and not report["changed"]
    assert len(lab.batches) == 1 and lab.state("sh1") == before


def test_bad_input_never_reaches_the_host(lab):
    result = lab.run("ls1", "session_host", {"mode": "per_seat"})
    assert result["failed"] and "mode" in result["msg"]
    assert lab.batches == []
