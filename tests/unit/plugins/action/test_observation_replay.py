"""Every observation file in tests/lab/tests/fixtures/observations/ replayed against the lab's model: a lab host
is started and seeded as the observation says, the preflight makes the same reads (in process), and what it
observes must equal the file, key by key, wherever the file says something. A key the file does not hold is not
known (the first fixture comes from public evidence, not from a host) and is not compared.

Each real host's observation (playbooks/preflight.yml writes one per host) becomes a regression test of the
model: drop the file into the folder with a "source" saying where it came from. Beside the unit tests, not in
the lab, because it joins the collection's preflight with the lab's model (as inprocess_lab does).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ansible_collections.remote_desktop.licensing.tests.unit.plugins.action.inprocess_lab import InProcessLab
from rdlab import cli

FIXTURES = Path(__file__).resolve().parents[3] / "lab" / "tests" / "fixtures" / "observations"
# Win32_OperatingSystem.Version of each Windows Server release the lab models (its `os=` host option).
LAB_OS = {"6.3": "2012R2", "10.0.14393": "2016", "10.0.17763": "2019", "10.0.20348": "2022", "10.0.26100": "2025"}
LICENSE_TYPES = {"per_device": 0, "per_user": 1, "not_valid": 2, "built_in": 3}  # ProductType [W32]
ACTIVATION = {"activated": 0, "not_activated": 1, "unknown": 2}  # GetActivationStatus [W32]
# Compared nowhere: how the preflight connected is the controller's, not the host's.
NOT_REPLAYED = ("connection",)


def fixtures():
    return sorted(FIXTURES.glob("*.json"))


def host_spec(observation):
    """The `rdlab start` host of the observation: its roles, Windows release, installation type and domain."""
    host, roles = observation.get("host", {}), observation.get("roles", {})
    spec = ["replay"] + ["+".join(r for r in ("license_server", "session_host") if roles.get(r)) or "none"]
    version = host.get("os_version") or ""
    lab_os = LAB_OS.get(version) or LAB_OS.get(".".join(version.split(".")[:2]))
    if version:
        assert lab_os, "the lab models no Windows release with version %s" % version
        spec.append("os=" + lab_os)
    if host.get("installation_type") == "Server Core":
        spec.append("installation=core")
    if host.get("part_of_domain"):
        spec.append("domain=" + (host.get("domain") if "." in (host.get("domain") or "") else "corp.example.com"))
    return ":".join(spec)


def dmtf(iso):
    """2035-12-31T23:00:00Z as the CIM datetime the model stores (20351231230000.000000-000)."""
    return re.sub(r"\D", "", iso)[:14] + ".000000-000"


def seed(observation):
    """The model's state for what the observation says of the license server: of each key pack only what Windows
    does not derive (its ID, types, version ID, counters and expiry). Its Description, ProductVersion text,
    TypeAndModel and AvailableLicenses are the model's to give and are compared with the file."""
    ls = observation.get("license_server") or {}
    state = {}
    if "key_packs" in ls:
        state["key_packs"] = [{
            "KeyPackId": p["key_pack_id"], "KeyPackType": p["key_pack_type_id"],
            "ProductType": LICENSE_TYPES[p["license_type"]], "ProductVersionID": p["product_version_id"],
            "TotalLicenses": p["total"], "IssuedLicenses": p["issued"], "ExpirationDate": dmtf(p["expiration_date"])}
            for p in ls["key_packs"]]
    if ls.get("activation_status") in ACTIVATION:
        state["activation_status"] = ACTIVATION[ls["activation_status"]]
    return {"license_server": state} if state else {}


def differences(expected, actual, path="observation"):
    """Where `actual` differs from `expected`, for every key `expected` holds."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        found = []
        for key, value in expected.items():
            if key in actual:
                found += differences(value, actual[key], "%s.%s" % (path, key))
            else:
                found.append("%s.%s: missing" % (path, key))
        return found
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        return [d for i, (e, a) in enumerate(zip(expected, actual)) for d in differences(e, a, "%s[%d]" % (path, i))]
    return [] if expected == actual else ["%s: file %r, lab %r" % (path, expected, actual)]


def replay(document, directory):
    observation = dict((k, v) for k, v in document["observation"].items() if k not in NOT_REPLAYED)
    lab = InProcessLab(host_spec(observation), directory=directory)
    path = directory / "seed.json"
    path.write_text(json.dumps(seed(observation)))
    assert cli.main(["seed", "replay", str(path), "--dir", str(directory)]) == 0
    result = lab.run("replay", "preflight", {"anonymize": observation.get("host", {}).get("name") == "host-1"})
    assert not result.get("failed"), result.get("msg")
    return observation, result


def test_there_is_an_observation_and_each_cites_its_source():
    assert fixtures()
    for path in fixtures():
        assert json.loads(path.read_text()).get("source"), path.name


@pytest.mark.parametrize("path", fixtures(), ids=lambda p: p.stem)
def test_the_model_answers_as_the_host_did(path, tmp_path):
    observation, result = replay(json.loads(path.read_text()), tmp_path)
    assert differences(observation, result["observation"]) == []


def test_a_difference_fails_the_replay(tmp_path):
    """The replay can fail: a counter the model would not give."""
    document = json.loads(fixtures()[0].read_text())
    document["observation"]["license_server"]["totals"]["per_user"]["2012"]["issued"] = 12
    observation, result = replay(document, tmp_path)
    assert differences(observation, result["observation"]) == [
        "observation.license_server.totals.per_user.2012.issued: file 12, lab 11"]


@pytest.mark.parametrize("key, wrong", [("description", "C50-6.01-S"), ("type_and_model", "RDS Per User CAL"),
                                        ("product_version_text", "Windows Server 2008"), ("available", 11)])
def test_a_derived_property_the_model_gets_wrong_fails_the_replay(tmp_path, key, wrong):
    """The derived properties are not seeded from the file, so a wrong one in the file (or the model) shows."""
    document = json.loads(fixtures()[0].read_text())
    pack = document["observation"]["license_server"]["key_packs"][1]  # the 2008 Per User pack: 20 of 20 left
    right, pack[key] = pack[key], wrong
    observation, result = replay(document, tmp_path)
    assert differences(observation, result["observation"]) == [
        "observation.license_server.key_packs[1].%s: file %r, lab %r" % (key, wrong, right)]
