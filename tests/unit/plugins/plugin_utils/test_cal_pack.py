"""cal_pack's planner: validation, fingerprints, the matching rule, and the plans it makes."""

import json

import pytest

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _cal_pack as cal_pack
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._plan import PlanError

SALT = "00112233445566778899aabbccddeeff"
BUILT_IN = {"key_pack_id": 2, "built_in": True, "unlimited": True, "product_version_id": 0,
            "product_version": "built_in", "license_type": "built_in", "total": 4294967295}


def args(**overrides):
    base = dict((k, None) for k in cal_pack.ARGUMENT_SPEC)
    base.update(program="spla", agreement_number="1234567", product_version="2022", license_type="per_user",
                count=25, state="present")
    base.update(overrides)
    return base


def pack(key_pack_id, version_id=7, license_type="per_user", total=25):
    return {"key_pack_id": key_pack_id, "built_in": False, "unlimited": False, "product_version_id": version_id,
            "product_version": {7: "2022", 6: "2019"}.get(version_id, "?"), "license_type": license_type,
            "total": total}


def host(packs=(), activated=True, os_version="10.0.20348"):
    return {"host": {"name": "LS1", "os_version": os_version},
            "license_server": {"installed": True, "activation_status": "activated" if activated else "not_activated",
                               "key_packs": [BUILT_IN] + list(packs)}}


NO_MARKERS = {"packs": {}, "pending": []}


def plan(want, have, markers=None, salt=SALT):
    return cal_pack.plan(want, have, salt, markers or NO_MARKERS, make_salt=lambda: "new-salt")


# --- validation ---------------------------------------------------------------------------------

def test_numbers_are_normalised():
    want = cal_pack.validate(args(program="retail", agreement_number=None, product_version=None, license_type=None,
                                  count=None, license_code="abcde-fghij-klmno-pqrst-uvw12"))
    assert want["numbers"] == {"license_code": "ABCDEFGHIJKLMNOPQRSTUVW12"}


@pytest.mark.parametrize("overrides, message", [
    ({"agreement_number": "12-34"}, "agreement_number must be the enrollment or agreement number: digits only, "
                                    "usually 7; hyphens and spaces are ignored (got 4 characters)"),
    ({"agreement_number": "12345A7"}, "agreement_number must be"),
    ({"agreement_number": None}, "program: spla needs agreement_number"),
    ({"count": None}, "program: spla needs count"),
    ({"count": 0}, "count must be between 1 and 4294967294, got 0"),
    ({"license_code": "X" * 25}, "license_code is not used with program: spla (it takes agreement_number)"),
    ({"program": "open_license", "agreement_number": None, "license_number": "1234567",
      "authorization_number": "A" * 15}, "license_number must be 8 digits"),
    ({"program": "license_key_pack_id", "agreement_number": None, "key_pack_id": "A" * 34},
     "key_pack_id must be the 35-character license key pack ID"),
    ({"product_version": None, "product_version_id": 9}, "program: spla needs product_version"),
])
def test_bad_input_names_the_option_and_never_the_secret(overrides, message):
    with pytest.raises(ValueError) as e:
        cal_pack.validate(args(**overrides))
    assert message in str(e.value)
    for secret in ("12-34", "12345A7", "1234567", "X" * 25, "A" * 34):
        assert secret not in str(e.value)


def test_product_version_table_and_override():
    assert cal_pack.validate(args(product_version="2019"))["product_version_id"] == 6
    assert cal_pack.validate(args(product_version="2025"))["product_version_id"] == 8  # undocumented: table
    assert cal_pack.validate(args(product_version="2025", product_version_id=9))["product_version_id"] == 9


# --- fingerprints --------------------------------------------------------------------------------

def test_fingerprint_identifies_the_declaration_without_containing_it():
    want = cal_pack.validate(args())
    fp = cal_pack.fingerprint(want, SALT)
    assert fp == cal_pack.fingerprint(cal_pack.validate(args(agreement_number="123-4567")), SALT)
    assert fp != cal_pack.fingerprint(cal_pack.validate(args(agreement_number="7654321")), SALT)
    assert fp != cal_pack.fingerprint(want, "another-salt")
    assert fp != cal_pack.fingerprint(cal_pack.validate(args(count=26)), SALT)
    assert "1234567" not in fp and len(fp) == 64


def test_markers_round_trip():
    markers = {"packs": {3: "aa", 10: "bb"}, "pending": [("cc", 10)]}
    assert cal_pack.parse_markers(cal_pack.render_markers(markers)) == markers
    assert cal_pack.parse_markers(["garbage", "x=y", "pending=zz=notanumber"]) == NO_MARKERS


# --- planning ------------------------------------------------------------------------------------

def test_refuses_a_server_that_is_not_activated():
    with pytest.raises(PlanError, match="only on an activated license server, and LS1 is not_activated"):
        plan(cal_pack.validate(args()), host(activated=False))


def test_install_writes_a_pending_marker_before_the_install_and_never_the_number():
    result, matched, how, fp, new_salt = plan(cal_pack.validate(args()), host(), salt=None)
    assert (matched, how, new_salt) == (None, None, "new-salt")
    install, mark = result.steps
    methods = [op.get("method") for op in install.batch.operations]
    assert methods == ["CreateKey", "SetStringValue", "SetMultiStringValue", "InstallAgreementLicenseKeyPack"]
    assert install.batch.operations[2]["arguments"]["sValue"] == ["pending=%s=2" % fp]
    assert install.batch.operations[3]["arguments"] == {"ProductVersion": 7, "ProductType": 1, "LicenseCount": 25,
                                                        "AgreementType": 4}
    assert "1234567" not in json.dumps(result.report())
    assert install.batch.secrets == {"install.4.sAgreementNumber": "1234567"}
    assert mark.batch.operations == []  # the marker is written once Windows has given the KeyPackId


def test_marked_pack_is_not_installed_again():
    want = cal_pack.validate(args())
    fp = cal_pack.fingerprint(want, SALT)
    result, matched, how = plan(want, host([pack(3)]), {"packs": {3: fp}, "pending": []})[:3]
    assert (matched["key_pack_id"], how, result.steps) == (3, "marker", [])


def test_pack_installed_by_hand_is_recognised_and_marked():
    want = cal_pack.validate(args())
    result, matched, how, fp = plan(want, host([pack(5, total=25), pack(4, total=10)]))[:4]
    assert (matched["key_pack_id"], how) == (5, "attributes")
    (step,) = result.steps
    assert step.action == "mark" and step.batch.operations[-1]["arguments"]["sValue"] == ["5=%s" % fp]


def test_two_agreements_with_equal_attributes_are_both_installed():
    first = cal_pack.validate(args(agreement_number="1111111"))
    second = cal_pack.validate(args(agreement_number="2222222"))
    markers = {"packs": {3: cal_pack.fingerprint(first, SALT)}, "pending": []}
    result, matched, how = plan(second, host([pack(3)]), markers)[:3]
    assert matched is None and result.steps[0].action == "install"
    # and in the other order: each declaration adopts its own hand-installed pack
    assert plan(second, host([pack(3), pack(4)]), markers)[1]["key_pack_id"] == 4


def test_built_in_and_unlimited_packs_are_never_matched():
    want = cal_pack.validate(args(program="select", product_version="2022", license_type="per_device",
                                  count=4294967294))
    assert plan(want, host([dict(BUILT_IN, key_pack_id=9, built_in=False, product_version_id=7,
                                 license_type="per_device")]))[1] is None


def test_interrupted_install_is_recovered_without_installing_twice():
    want = cal_pack.validate(args(program="retail", agreement_number=None, license_code="Q" * 25,
                                  product_version=None, license_type=None, count=None))
    fp = cal_pack.fingerprint(want, SALT)
    pending = {"packs": {}, "pending": [(fp, 3)]}
    result, matched, how = plan(want, host([pack(3), pack(4, version_id=6)]), pending)[:3]
    assert (matched["key_pack_id"], how, result.steps[0].action) == (4, "pending", "mark")
    # the install never happened: install again
    assert plan(want, host([pack(3)]), pending)[0].steps[0].action == "install"
    with pytest.raises(PlanError, match="2 key packs \\(4, 5\\) have appeared"):
        plan(want, host([pack(3), pack(4), pack(5)]), pending)


def test_retail_without_attributes_has_no_fallback_match():
    want = cal_pack.validate(args(program="retail", agreement_number=None, license_code="Q" * 25,
                                  product_version=None, license_type=None, count=None))
    assert plan(want, host([pack(3)]))[0].steps[0].action == "install"


def test_absent_removes_only_the_matched_pack():
    want = cal_pack.validate(args(state="absent"))
    fp = cal_pack.fingerprint(want, SALT)
    other = "f" * 64
    result, matched, how = plan(want, host([pack(3), pack(4)]), {"packs": {3: other, 4: fp}, "pending": []})[:3]
    (step,) = result.steps
    assert step.batch.operations[0]["arguments"] == {"KeyPackId": 4}
    assert step.batch.operations[-1]["arguments"]["sValue"] == ["3=%s" % other]


def test_absent_refuses_to_guess_between_identical_unmarked_packs():
    with pytest.raises(PlanError, match="2 unmarked key packs \\(3, 4\\) match"):
        plan(cal_pack.validate(args(state="absent")), host([pack(3), pack(4)]))


def test_absent_with_nothing_matching_changes_nothing():
    assert plan(cal_pack.validate(args(state="absent")), host([pack(3, total=5)]))[0].steps == []


def test_cal_newer_than_the_server_warns():
    result = plan(cal_pack.validate(args(product_version="2025")), host(os_version="10.0.20348"))[0]
    assert result.warnings == ["2025 CALs are newer than this license server (Windows Server 2022): a license "
                               "server holds CALs of its own version and earlier, so Windows may refuse them."]


def test_check_mode_on_a_server_still_to_be_set_up_predicts_the_install():
    bare = host(activated=False)
    result = cal_pack.plan(cal_pack.validate(args()), bare, None, NO_MARKERS, make_salt=lambda: "s",
                           check_mode=True)[0]
    assert [s.action for s in result.steps] == ["install", "mark"]
    assert result.warnings[0].startswith("Check mode: CAL packs can be installed only on an activated license server")


def test_absent_on_a_host_without_the_role_changes_nothing():
    bare = host()
    bare["license_server"]["installed"] = False
    assert plan(cal_pack.validate(args(state="absent")), bare)[0].steps == []
