"""The read-only preflight end to end (issue 11, item 4): on a fresh lab every assumption holds and nothing in
the lab's state changes; a host seeded to break an assumption is named in the result and the playbook's summary.
"""

import json
from pathlib import Path

import pytest

from .support import ModuleLab, is_read

PLAYBOOK = Path(__file__).resolve().parents[2] / "playbooks" / "preflight.yml"

DOMAIN = "corp.example.com"
NAMES = ["windows_version", "class_declarations", "key_pack_versions", "policy_keys", "token_privileges",
         "domain_controller_reachable", "connection_delegates"]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = ModuleLab.start(tmp_path_factory, f"ls1:license_server:domain={DOMAIN}", f"sh1:session_host:domain={DOMAIN}",
                          "wg1", f"ls2:license_server:domain={DOMAIN}")
    yield lab
    lab.stop()


@pytest.mark.parametrize("host", ["ls1", "sh1", "wg1", "ls2"])
def test_on_a_fresh_lab_every_assumption_holds_and_nothing_changes(lab, host):
    before = lab.state(host)
    for check in (False, True):
        run = lab.run(host, "preflight", check=check)
        result = run.result()
        assert run.statuses() == ["ok"], run.output
        assert result["changed"] is False
        assert [a["name"] for a in result["assumptions"]] == NAMES
        assert [a for a in result["assumptions"] if not a["holds"]] == [] and result["failed_assumptions"] == []
        assert len(run.commands(host)) == 1 and all(is_read(op) or op["kind"] == "cim_class"
                                                    for op in run.batches(host)[0])
    assert lab.state(host) == before


def test_the_observation_holds_no_secret_and_anonymizes_host_names(lab):
    lab.run("ls1", "license_server", {"contact": {"first_name": "Ada", "last_name": "Lovelace", "company": "Example",
                                                  "country_region": "United Kingdom"}, "activation": "activated"})
    result = lab.run("ls1", "preflight", {"anonymize": True}).result()
    text = json.dumps(result["observation"])
    assert "Lovelace" not in text and "product_id" not in text and "license_server_id" not in text
    assert "ls1" not in text.lower() and DOMAIN not in text.lower()
    assert result["observation"]["host"]["name"] == "host-1" and result["observation"]["host"]["domain"] == "domain-1"
    assert result["observation"]["license_server"]["contact_set"] == [
        "company", "country_region", "first_name", "last_name"]
    assert result["observation"]["license_server"]["activation_status"] == "activated"


def test_an_unknown_product_version_is_named(lab):
    packs = lab.state("ls2")["license_server"]["key_packs"] + [{
        "KeyPackId": 77, "Description": "C50-10.04-S", "KeyPackType": 2, "ProductType": 1, "ProductVersionID": 9,
        "ProductVersion": "Windows Server 2028", "TotalLicenses": 10, "IssuedLicenses": 0, "AvailableLicenses": 10,
        "ExpirationDate": "20380119031407.000000-000", "TypeAndModel": "RDS Per User CAL", "AccessRights": 7}]
    lab.seed("ls2", {"license_server": {"key_packs": packs}})
    result = lab.run("ls2", "preflight").result()
    assert result["failed_assumptions"] == ["key_pack_versions"]
    (failed,) = [a for a in result["assumptions"] if not a["holds"]]
    assert 9 in failed["observed"] and failed["meaning"].startswith("Key packs with ProductVersionID [9] are reported")


def test_ntlm_without_become_names_the_second_hop(lab):
    result = lab.run("ls1", "preflight", extra=("-e", "ansible_become=false")).result()
    assert result["failed_assumptions"] == ["domain_controller_reachable", "connection_delegates"]
    hop = result["assumptions"][5]
    assert hop["meaning"].startswith("LS1 could not reach a domain controller as the account Ansible connects with: "
                                     "IsLSinTSLSGroup, a read any domain account may make, was refused (0x80070005")
    assert "this connection (transport ntlm, no become)" in hop["meaning"]
    assert result["observation"]["reads"]["group"] == {"kind": "return_value", "return_value": 0x80070005}


def test_the_playbook_writes_a_file_per_host_and_names_what_did_not_hold(lab, tmp_path):
    """After test_an_unknown_product_version_is_named: ls2 holds a pack of an unknown version."""
    before = {host: lab.state(host) for host in ("ls1", "sh1", "wg1", "ls2")}
    run = lab.play(PLAYBOOK, "-e", f"preflight_dir={tmp_path}")
    assert run.rc == 0, run.output
    shown = {t["host"]: t["result"]["msg"] for t in run.tasks if t["task"].startswith("Show every assumption")}
    assert shown["ls1"] == shown["sh1"] == shown["wg1"] == ["Every assumption holds."]
    (line,) = shown["ls2"]
    assert line.startswith("key_pack_versions: Key packs with ProductVersionID [9] are reported as product_version "
                           "unknown")
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"preflight-{h}.json" for h in ("ls1", "ls2", "sh1", "wg1")]
    written = json.loads((tmp_path / "preflight-ls2.json").read_text())
    assert [a["name"] for a in written["assumptions"] if not a["holds"]] == ["key_pack_versions"]
    assert written["observation"]["host"]["name"] == "LS2"
    assert {host: lab.state(host) for host in before} == before


def test_the_playbook_anonymizes_files_and_output(lab, tmp_path):
    run = lab.play(PLAYBOOK, "--limit", "ls1", "-e", f"preflight_dir={tmp_path}", "-e", "preflight_anonymize=true")
    assert run.rc == 0, run.output
    (path,) = tmp_path.iterdir()
    assert path.name == "preflight-1.json"
    text = path.read_text().lower()
    assert "ls1" not in text and DOMAIN not in text and '"host-1"' in text
