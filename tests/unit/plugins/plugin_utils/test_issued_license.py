"""issued_license's planner: validation, the selection, the revocable estimate, the plan and the outcome."""

import datetime as dt

import pytest

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _issued_license as planner
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._bridge import Batch, BatchResult
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._plan import PlanError

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)
PACKS = [
    {"key_pack_id": 2, "license_type": "built_in", "product_version": "built_in", "total": 4294967295,
     "unlimited": True},
    {"key_pack_id": 3, "license_type": "per_device", "product_version": "2019", "total": 25, "unlimited": False},
    {"key_pack_id": 4, "license_type": "per_device", "product_version": "2022", "total": 3, "unlimited": False},
]


def args(**given):
    base = dict((k, None) for k in planner.ARGUMENT_SPEC)
    base["state"] = "revoked"
    base.update(given)
    return base


def row(license_id, computer, status=2, pack=3, issued="2026-01-10T08:00:00Z", expires="2027-03-01T00:00:00Z"):
    return {"LicenseId": license_id, "KeyPackId": pack, "sIssuedToComputer": computer, "LicenseStatus": status,
            "IssueDate": issued, "ExpirationDate": expires}


def observed(want, rows, installed=True):
    have = {"host": {"name": "LS1"}, "license_server": {"installed": installed, "key_packs": PACKS}}
    batch = planner.read_ops(Batch(), want)
    results = BatchResult(batch, [{"id": "issued_detail", "ok": True, "instances": rows}])
    return planner.observe(want, have, results)


def test_validate_needs_a_selection_and_names_the_option():
    with pytest.raises(ValueError, match="computers"):
        planner.validate(args())
    with pytest.raises(ValueError, match="issued_before must be a date YYYY-MM-DD"):
        planner.validate(args(issued_before="1/2/2024"))
    with pytest.raises(ValueError, match="issued_before"):
        planner.validate(args(issued_before="2024-02-30"))
    with pytest.raises(ValueError, match="key_pack_id"):
        planner.validate(args(key_pack_id=0))
    want = planner.validate(args(computers=["pc1", " PC1 ", "Pc2"], issued_before="2026-02-01"))
    assert want["computers"] == ["PC1", "PC2"]
    assert want["issued_before"] == dt.datetime(2026, 2, 1, tzinfo=dt.timezone.utc)


def test_selection_by_each_selector():
    rows = [row(1, "PC1"), row(2, "pc2", issued="2026-03-01T00:00:00Z"), row(3, "PC3", status=1),
            row(4, "PC4", pack=4), row(5, "PC5", status=4)]

    def ids(**given):
        return [lic["license_id"] for lic in observed(planner.validate(args(**given)), rows)["selected"]]

    assert ids(computers=["PC2", "PC5"]) == [2, 5]
    assert ids(key_pack_id=4) == [4]
    assert ids(issued_before="2026-02-01") == [1, 3, 5, 4]  # by key pack, then LicenseId
    # status applies to licenses not yet revoked: a revoked one is selected and already done
    assert ids(status=["temporary"]) == [3, 5]


def test_plan_revokes_each_license_not_yet_revoked_and_no_hardware_id_is_read():
    want = planner.validate(args(computers=["PC1", "PC2"]))
    have = observed(want, [row(1, "PC1"), row(2, "PC2", status=4)])
    plan = planner.plan(want, have, now=NOW)
    assert [s.action for s in plan.steps] == ["revoke"]
    op = plan.steps[0].batch.operations[0]
    assert op["method"] == "Revoke" and op["instances"] and op["filter"] == "LicenseId = 1 AND KeyPackId = 3"
    assert "sHardwareId" not in planner.READ_PROPERTIES and "sIssuedToUser" not in planner.READ_PROPERTIES
    assert planner.predict(want, have, plan)["licenses"] == [
        {"license_id": 1, "key_pack_id": 3, "computer": "PC1", "status": "revoked"},
        {"license_id": 2, "key_pack_id": 3, "computer": "PC2", "status": "revoked"}]


def test_already_revoked_plans_nothing():
    want = planner.validate(args(computers=["PC2"]))
    assert not planner.plan(want, observed(want, [row(2, "PC2", status=4)]), now=NOW).steps


def test_estimate_is_20_percent_per_version_less_the_revoked_that_still_count():
    rows = [row(1, "PC1", status=4), row(2, "PC2", status=4, expires="2026-11-01T00:00:00Z"), row(3, "PC3", pack=4)]
    have = observed(planner.validate(args(key_pack_id=3)), rows)
    # 2019: 25 installed -> 5, one revoked still counting (the other expired); 2022: 3 installed -> at least 1
    assert planner.revocable(have, NOW) == {"2019": 4, "2022": 1}


def test_a_selection_above_the_estimate_warns():
    rows = [row(n, "PC%d" % n, pack=4) for n in (1, 2)]
    want = planner.validate(args(key_pack_id=4))
    plan = planner.plan(want, observed(want, rows), now=NOW)
    assert len(plan.steps[0].batch.operations) == 2 and "only about 1 can be revoked" in plan.warnings[0]
    assert planner.estimate_after(want, observed(want, rows), now=NOW)["2022"] == 0


def test_only_per_device_cals_are_revoked():
    want = planner.validate(args(computers=["KIOSK"]))
    with pytest.raises(PlanError, match="only Per Device CALs"):
        planner.plan(want, observed(want, [row(9, "KIOSK", status=1, pack=2)]), now=NOW)


def test_not_a_license_server():
    want = planner.validate(args(computers=["PC1"]))
    with pytest.raises(PlanError, match="is not a license server"):
        planner.plan(want, observed(want, [], installed=False), now=NOW)


def test_outcome_stops_at_the_refusal_and_the_message_gives_the_date():
    want = planner.validate(args(computers=["PC1", "PC2", "PC3"]))
    have = observed(want, [row(1, "PC1"), row(2, "PC2"), row(3, "PC3")])
    plan = planner.plan(want, have, now=NOW)
    ops = [op["id"] for op in plan.steps[0].batch.operations]
    assert len(set(ops)) == 3
    raw = [{"id": ops[0], "ok": True, "return_value": 0, "out": {"RevokableCals": 0}},
           {"id": ops[1], "ok": False, "error": {"kind": "return_value", "return_value": 2147749889,
                                                 "out": {"RevokableCals": 0,
                                                         "NextRevokeAllowedOn": "2027-01-15T09:30:00Z"}}},
           {"id": ops[2], "ok": False, "error": {"kind": "skipped", "message": "skipped"}}]
    results = BatchResult(plan.batch(), raw)
    revoked, refused, refusal, says = planner.outcome(plan, have, results)
    assert [lic["license_id"] for lic in revoked] == [1] and refused["license_id"] == 2 and says == {"2019": 0}
    message = planner.refusal_message(refused, refusal, 1, 3)
    assert "2027-01-15T09:30:00Z" in message and "1 of the 3 selected licenses were revoked" in message
    assert "does not retry" in message
