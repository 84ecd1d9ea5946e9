"""issued_license end to end: ansible's winrm connection, the bridge, the lab's Revoke with its limit.

ls1 is activated with 25 Per Device 2019 CALs (Windows lets 20 % of them, 5, be revoked at a time) and 8
of them issued to PC1..PC8; `rdlab issue` records them as session hosts would have asked for them.
"""

import json

import pytest

from .support import ModuleLab, is_read, without

DOMAIN = "corp.example.com"
CONTACT = {"first_name": "Ada", "last_name": "Lovelace", "company": "Example Ltd", "country_region": "United Kingdom"}
PACK = {"program": "enterprise_agreement", "agreement_number": "{{ agreement }}", "product_version": "2019",
        "license_type": "per_device", "count": 25,
        "marker_key": "issued-license-test-marker-key"}
COMPUTERS = ["PC%d" % n for n in range(1, 9)]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = ModuleLab.start(tmp_path_factory, f"ls1:license_server:domain={DOMAIN}", "bare")
    setup = lab.tasks("ls1", ("license_server", {"contact": CONTACT, "activation": "activated"}), ("cal_pack", PACK),
                      vars={"agreement": "7654321"})
    assert setup.rc == 0, setup.output
    lab.pack = setup.results("ls1")[-1]["key_pack_id"]
    lab.rdlab("issue", "ls1", "--key-pack", str(lab.pack), "--count", "8",
              *[arg for name in COMPUTERS for arg in ("--computer", name)])
    yield lab
    lab.stop()


def rows(lab):
    return {r["sIssuedToComputer"]: r for r in lab.state("ls1")["license_server"]["issued_licenses"]}


def pack(lab):
    return next(p for p in lab.state("ls1")["license_server"]["key_packs"] if p["KeyPackId"] == lab.pack)


def test_1_check_mode_lists_and_changes_nothing(lab):
    before = without(lab.state("ls1"), "commands_received", "event_log")
    run = lab.run("ls1", "issued_license", {"computers": ["pc1", "PC2"]}, check=True)
    result = run.result()
    assert run.rc == 0 and result["changed"] and result["matched"] == 2
    assert [lic["computer"] for lic in result["licenses"]] == ["PC1", "PC2"]
    assert result["revocable"] == {"2019": 3} and result["revocable_estimated"]
    assert all(is_read(op) for batch in run.batches("ls1") for op in batch)
    assert without(lab.state("ls1"), "commands_received", "event_log") == before


def test_2_revoke_changes_the_issued_licenses_and_the_counters(lab):
    issued_before = pack(lab)["IssuedLicenses"]
    hardware_ids = [r["sHardwareId"] for r in rows(lab).values()]
    run = lab.run("ls1", "issued_license", {"computers": ["PC1", "PC2"]})
    result = run.result()
    assert run.rc == 0 and result["changed"], run.output
    assert rows(lab)["PC1"]["LicenseStatus"] == 4 and rows(lab)["PC2"]["LicenseStatus"] == 4
    assert rows(lab)["PC3"]["LicenseStatus"] == 2
    assert pack(lab)["IssuedLicenses"] == issued_before - 2
    shown = next(p for p in lab.run("ls1", "licensing_info").result()["license_server"]["key_packs"]
                 if p["key_pack_id"] == lab.pack)
    assert (shown["issued"], shown["available"]) == (issued_before - 2, 25 - issued_before + 2)
    assert result["revocable"] == {"2019": 3} and not result["revocable_estimated"]
    assert len(run.commands("ls1")) == 2
    assert not any(h in run.output for h in hardware_ids) and "sHardwareId" not in run.output
    assert result["diff"]["before"]["licenses"][0]["status"] == "active"
    assert result["diff"]["after"]["licenses"][0]["status"] == "revoked"


def test_3_again_is_ok(lab):
    run = lab.run("ls1", "issued_license", {"computers": ["PC1", "PC2"]})
    result = run.result()
    assert run.rc == 0 and not result["changed"] and result["already_revoked"] == 2 and result["plan"] == []


def test_4_the_limit_gives_the_next_allowed_date_and_no_retry(lab):
    run = lab.run("ls1", "issued_license", {"computers": COMPUTERS})
    result = run.result()
    assert run.rc != 0 and run.statuses("ls1") == ["failed"] and result["changed"]
    assert result["next_revoke_allowed_on"] and result["next_revoke_allowed_on"] in result["msg"]
    assert "3 of the 6 selected licenses were revoked" in result["msg"], result["msg"]
    statuses = sorted(r["LicenseStatus"] for r in rows(lab).values())
    assert statuses == [2, 2, 2, 4, 4, 4, 4, 4]
    revokes = [op for batch in run.batches("ls1") for op in batch if op.get("method") == "Revoke"]
    assert len(revokes) == 6  # sent once each; the ones after the refusal were skipped, not retried
    assert json.dumps(result).count("Revoke") >= 1


def test_5_nothing_matches(lab):
    run = lab.run("ls1", "issued_license", {"computers": ["NOSUCHPC"]})
    result = run.result()
    assert run.rc == 0 and not result["changed"] and "No issued license matches" in result["msg"]


def test_6_not_a_license_server(lab):
    run = lab.run("bare", "issued_license", {"computers": ["PC1"]})
    assert run.rc != 0 and "is not a license server" in run.result()["msg"]
