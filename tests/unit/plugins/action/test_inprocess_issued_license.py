"""issued_license against the lab's host model, in-process: selection, check mode, revocation, Windows's
limit of 20 % of a version's Per Device CALs, idempotence, and no hardware ID in what the user sees."""

import json

import pytest
from inprocess_lab import InProcessLab
from rdlab.model.licensing import issue_licenses

CONTACT = {"first_name": "Ada", "last_name": "Lovelace", "company": "Example Ltd", "country_region": "United Kingdom"}
PACK = {"program": "enterprise_agreement", "agreement_number": "7654321", "product_version": "2019",
        "license_type": "per_device", "count": 25,
        "marker_key": "issued-license-test-marker-key"}


@pytest.fixture
def lab(tmp_path):
    """ls1 activated with 25 Per Device 2019 CALs (the limit: 5 revoked at a time), 8 of them issued."""
    lab = InProcessLab("ls1:license_server:domain=corp.example.com", directory=tmp_path)
    assert not lab.run("ls1", "license_server", {"contact": CONTACT, "activation": "activated"}).get("failed")
    installed = lab.run("ls1", "cal_pack", PACK)
    assert not installed.get("failed"), installed.get("msg")
    lab.pack = installed["key_pack_id"]
    with lab.fleet.host("ls1") as host:
        issue_licenses(host, lab.pack, 8, computers=["PC%d" % n for n in range(1, 9)])
    return lab


def statuses(lab):
    return {r["sIssuedToComputer"]: r["LicenseStatus"] for r in lab.state("ls1")["license_server"]["issued_licenses"]}


def issued_count(lab):
    return next(p["IssuedLicenses"] for p in lab.state("ls1")["license_server"]["key_packs"]
                if p["KeyPackId"] == lab.pack)


def test_check_mode_lists_what_would_be_revoked_and_changes_nothing(lab):
    before = lab.state("ls1")
    planned = lab.run("ls1", "issued_license", {"computers": ["pc1", "PC2"]}, check_mode=True, diff=True)
    assert lab.state("ls1") == before
    assert planned["changed"] and planned["matched"] == 2 and len(planned["revoked"]) == 2
    assert [lic["computer"] for lic in planned["licenses"]] == ["PC1", "PC2"]
    assert all(lic["status"] == "revoked" for lic in planned["diff"]["after"]["licenses"])
    assert planned["revocable"] == {"2019": 3} and planned["revocable_estimated"]


def test_revoke_changes_the_lab_and_a_second_run_is_ok(lab):
    applied = lab.run("ls1", "issued_license", {"computers": ["PC1", "PC2"]}, diff=True)
    assert applied["changed"] and not applied.get("failed"), applied.get("msg")
    assert statuses(lab)["PC1"] == 4 and statuses(lab)["PC2"] == 4 and statuses(lab)["PC3"] == 2
    assert issued_count(lab) == 6  # a revoked CAL goes back to the pack
    assert applied["revocable"]["2019"] == 3 and not applied["revocable_estimated"]
    again = lab.run("ls1", "issued_license", {"computers": ["PC1", "PC2"]})
    assert not again["changed"] and again["already_revoked"] == 2 and again["plan"] == []


def test_the_limit_stops_at_the_first_refusal_with_the_next_date(lab):
    everything = ["PC%d" % n for n in range(1, 9)]
    planned = lab.run("ls1", "issued_license", {"computers": everything}, check_mode=True)
    assert any("only about 5 can be revoked" in w for w in planned["warnings"])
    result = lab.run("ls1", "issued_license", {"computers": everything})
    assert result["failed"] and result["changed"]
    assert "limit of revoked 2019 Per Device CALs is reached" in result["msg"]
    assert result["next_revoke_allowed_on"] and result["next_revoke_allowed_on"] in result["msg"]
    assert "5 of the 8 selected licenses were revoked" in result["msg"]
    assert sorted(statuses(lab).values()) == [2, 2, 2, 4, 4, 4, 4, 4]
    assert result["revoked"] == result["revoked"][:5] and len(result["revoked"]) == 5


def test_a_selection_that_matches_nothing_says_so(lab):
    before = lab.state("ls1")
    result = lab.run("ls1", "issued_license", {"computers": ["NOSUCHPC"], "key_pack_id": lab.pack})
    assert not result["changed"] and result["matched"] == 0
    assert "No issued license matches" in result["msg"] and "NOSUCHPC" in result["msg"]
    assert lab.state("ls1") == before


def test_selection_by_date_status_and_key_pack(lab):
    result = lab.run("ls1", "issued_license", {"issued_before": "2000-01-01", "key_pack_id": lab.pack})
    assert result["matched"] == 0 and not result["changed"]
    result = lab.run("ls1", "issued_license", {"status": ["temporary"], "key_pack_id": lab.pack})
    assert result["matched"] == 0
    selection = {"status": ["active"], "issued_before": "2999-01-01", "key_pack_id": lab.pack}
    result = lab.run("ls1", "issued_license", selection, check_mode=True)
    assert result["matched"] == 8


def test_no_hardware_id_in_the_result_or_the_batches(lab):
    hardware_ids = [r["sHardwareId"] for r in lab.state("ls1")["license_server"]["issued_licenses"]]
    result = lab.run("ls1", "issued_license", {"computers": ["PC1"]}, diff=True)
    text = json.dumps(result)
    assert not any(h in text for h in hardware_ids) and "sHardwareId" not in text
    assert "sHardwareId" not in json.dumps(lab.batches[-1])


def test_bad_input_never_reaches_the_host(lab):
    lab.batches.clear()
    for args, option in (({}, "computers"), ({"issued_before": "1/2/2024"}, "issued_before"),
                         ({"key_pack_id": 0}, "key_pack_id"), ({"computers": [" "]}, "computers")):
        result = lab.run("ls1", "issued_license", args)
        assert result["failed"] and option in result["msg"], result["msg"]
    assert lab.batches == []
