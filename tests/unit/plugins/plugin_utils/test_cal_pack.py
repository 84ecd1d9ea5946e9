"""cal_pack's planner: validation, fingerprints, the matching rule, and the plans it makes."""

import json

import pytest

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _cal_pack as cal_pack
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._bridge import OpResult
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._plan import PlanError

SALT = "00112233445566778899aabbccddeeff"
KEY = "unit-test-marker-key-0123456789"
OLD_KEY = "the-previous-marker-key-987654321"
NOW = 1800000000
BUILT_IN = {"key_pack_id": 2, "built_in": True, "unlimited": True, "product_version_id": 0,
            "product_version": "built_in", "license_type": "built_in", "total": 4294967295}


def args(**overrides):
    base = dict((k, None) for k in cal_pack.ARGUMENT_SPEC)
    base.update(program="spla", agreement_number="1234567", product_version="2022", license_type="per_user",
                count=25, state="present", marker_key=KEY, previous_marker_keys=[], force=False)
    base.update(overrides)
    return base


def pack(key_pack_id, version_id=7, license_type="per_user", total=25, type_id=2, issued=0):
    return {"key_pack_id": key_pack_id, "built_in": False, "unlimited": False, "product_version_id": version_id,
            "product_version": {7: "2022", 6: "2019"}.get(version_id, "?"), "license_type": license_type,
            "total": total, "key_pack_type_id": type_id, "issued": issued}


def host(packs=(), activated=True, os_version="10.0.20348", names=("lock.aaaabbbbccccdddd",), legacy=None,
         salt=None, acl=None):
    return {"host": {"name": "LS1", "os_version": os_version}, "problems": [],
            "license_server": {"installed": True, "activation_status": "activated" if activated else "not_activated",
                               "key_packs": [BUILT_IN] + list(packs)},
            "markers": markers(names, legacy, salt, acl)}


def trustee(sid):
    return {"SID": cal_pack.sid_bytes(sid), "SidString": sid}


# GetSecurityDescriptor's answers: the key restricted by this collection, and a key that inherits HKLM\SOFTWARE's.
RESTRICTED = {"ControlFlags": 0x9004, "DACL": [
    {"AccessMask": 0xF003F, "AceFlags": 2, "AceType": 0, "Trustee": trustee("S-1-5-18")},
    {"AccessMask": 0xF003F, "AceFlags": 2, "AceType": 0, "Trustee": trustee("S-1-5-32-544")}]}
INHERITED = {"ControlFlags": 0x8404, "DACL": [
    {"AccessMask": 0xF003F, "AceFlags": 0x12, "AceType": 0, "Trustee": trustee("S-1-5-18")},
    {"AccessMask": 0xF003F, "AceFlags": 0x12, "AceType": 0, "Trustee": trustee("S-1-5-32-544")},
    {"AccessMask": 0x20019, "AceFlags": 0x12, "AceType": 0, "Trustee": trustee("S-1-5-32-545")}]}


NOT_FOUND = {"ok": False, "error": {"kind": "return_value", "return_value": 2}}


class FakeResults(dict):
    def __getitem__(self, op_id):
        return OpResult(dict.__getitem__(self, op_id), {"id": op_id})


def markers(names, legacy=None, salt=None, acl=None):
    """The markers as read_markers parses the bridge's answers; a key with markers is restricted unless `acl`
    says otherwise, and without any it does not exist."""
    acl = acl or (RESTRICTED if names or legacy or salt else None)
    results = FakeResults({
        "marker_acl": {"ok": True, "out": {"Descriptor": acl}} if acl else NOT_FOUND,
        "marker_names": {"ok": True, "out": {"sNames": list(names) or None}},
        "legacy_salt": {"ok": True, "out": {"sValue": salt}} if salt else NOT_FOUND,
        "legacy_markers": {"ok": True, "out": {"sValue": legacy}} if legacy else NOT_FOUND})
    return cal_pack.read_markers(results)


def plan(want, have, **kwargs):
    return cal_pack.plan(want, have, now=kwargs.pop("now", NOW), nonce="feedfacefeedface", **kwargs)


def mac_of(want, key=KEY):
    return cal_pack.mac(key.encode(), cal_pack._declaration(want))


def kid(key=KEY):
    return cal_pack.key_id(key.encode())


def pack_name(want, pack_id, key=KEY):
    """A pack marker as written before the number mac existed (they still prove their pack)."""
    return "pack.%d.%s.%s" % (pack_id, kid(key), mac_of(want, key))


def number_mac(want, key=KEY):
    return cal_pack.mac(key.encode(), cal_pack._purchase(cal_pack._declaration(want)))


def new_pack_name(want, pack_id, key=KEY):
    """A pack marker as this version writes it: with the keyed mac of the program and numbers."""
    return "%s.%s" % (pack_name(want, pack_id, key), number_mac(want, key))


def label(want, pack_id):
    """A pack's label value as this version writes it beside its marker: program, version, type and count."""
    return "label.%d.%s.%s.%s.%s" % (pack_id, want["program"], want["product_version"] or "-",
                                     want["license_type"] or "-", want["count"] or "-")


def operations(result):
    return [op for step in result.steps for op in step.batch.operations]


def methods(result):
    return [op.get("method") for op in operations(result)]


def written(result):
    """(method, value name) of each registry write, secrets resolved."""
    secrets = {}
    for step in result.steps:
        secrets.update(step.batch.secrets)
    out = []
    for op in operations(result):
        if op.get("class") == "StdRegProv" and op["method"] in ("SetStringValue", "DeleteValue"):
            name = op.get("arguments", {}).get("sValueName") or secrets[op["secret_arguments"]["sValueName"]]
            out.append((op["method"], name))
    return out


# --- validation ---------------------------------------------------------------------------------
def test_numbers_are_normalised():
    want = cal_pack.validate(args(program="retail", agreement_number=None, product_version=None, license_type=None,
                                  count=None, license_code="abcde-fghij-klmno-pqrst-uvw12"))
    assert want["numbers"] == {"license_code": "ABCDEFGHIJKLMNOPQRSTUVW12"}


@pytest.mark.parametrize("overrides, message", [
    ({"agreement_number": "12-34"}, "agreement_number must be the enrollment or agreement number: digits only, "
                                    "5 to 10, usually 7; hyphens and spaces are ignored (got 4 characters)"),
    ({"agreement_number": "12345A7"}, "agreement_number must be the enrollment or agreement number: digits only, "
                                      "5 to 10, usually 7; hyphens and spaces are ignored (it contains a letter, "
                                      "and only digits are accepted)"),
    ({"agreement_number": "12a4567"}, "(it contains a letter, and only digits are accepted)"),
    ({"agreement_number": "1234.567"}, "(it contains a character that is neither a letter nor a digit, and only "
                                       "digits are accepted)"),
    ({"agreement_number": "1234\u00b2567"}, "(it contains a character that is neither a letter nor a digit, and "
                                            "only digits are accepted)"),  # a superscript two is not a digit here
    ({"program": "retail", "agreement_number": None, "license_code": "ABCDE-FGHIJ-KLMNO-PQRST-UVW/2",
      "product_version": None, "license_type": None, "count": None},
     "license_code must be 25 letters and digits (the 5 x 5 code on the license pack); hyphens and spaces are "
     "ignored (it contains a character that is neither a letter nor a digit)"),
    ({"agreement_number": None}, "program: spla needs agreement_number"),
    ({"count": None}, "program: spla needs count"),
    ({"count": 0}, "count must be between 1 and 4294967294, got 0"),
    ({"license_code": "X" * 25}, "license_code is not used with program: spla (it takes agreement_number)"),
    ({"program": "open_license", "agreement_number": None, "license_number": "1234567",
      "authorization_number": "A" * 15}, "license_number must be 8 digits"),
    ({"program": "license_key_pack_id", "agreement_number": None, "key_pack_id": "A" * 34},
     "key_pack_id must be the 35-character license key pack ID"),
    ({"product_version": None, "product_version_id": 9}, "program: spla needs product_version"),
    ({"marker_key": None}, "marker_key is required"),
    ({"marker_key": "short-key"}, "marker_key must be at least 20 characters (got 9)"),
    ({"previous_marker_keys": ["short"]}, "previous_marker_keys must be at least 20 characters (got 5)"),
    ({"remove_key_pack_id": 5, "state": "absent"}, "remove_key_pack_id removes a key pack that no marker proves"),
])
def test_bad_input_names_the_option_and_never_the_secret(overrides, message):
    with pytest.raises(ValueError) as e:
        cal_pack.validate(args(**overrides))
    assert message in str(e.value)
    for secret in ("12-34", "12345A7", "12a4567", "12A4567", "1234.567", "1234567", "X" * 25, "A" * 34, "short-key",
                   "UVW/2", KEY):
        assert secret not in str(e.value)


def test_product_version_table_and_override():
    assert cal_pack.validate(args(product_version="2019"))["product_version_id"] == 6
    assert cal_pack.validate(args(product_version="2025"))["product_version_id"] == 8  # undocumented: table
    assert cal_pack.validate(args(product_version="2025", product_version_id=9))["product_version_id"] == 9


# --- keyed markers (finding 1 of issue 9) ---------------------------------------------------------

def test_the_mac_needs_the_key_and_identifies_the_whole_declaration():
    want = cal_pack.validate(args())
    mac = mac_of(want)
    assert mac == mac_of(cal_pack.validate(args(agreement_number="123-4567")))
    assert mac != mac_of(cal_pack.validate(args(agreement_number="7654321")))
    assert mac != mac_of(cal_pack.validate(args(count=26)))
    assert mac != mac_of(want, OLD_KEY)  # without the key, no number can be tried against it
    assert want["macs"] == {kid(): mac} and want["key_id"] == kid()
    assert KEY not in json.dumps(want) and "1234567" not in json.dumps(want["macs"])


def test_install_plan_carries_no_number_mac_or_key():
    want = cal_pack.validate(args())
    result = plan(want, host())
    report = json.dumps(result.report())
    for secret in ("1234567", KEY, mac_of(want), kid() + "." + mac_of(want)):
        assert secret not in report
    install, mark = result.steps
    assert (install.phase, mark.phase) == ("config", "record")
    # pending marker first, then the lock taken (deleted, a new one written), then the install
    assert written(result) == [("SetStringValue", "pending.%s.%s.2.%d" % (kid(), mac_of(want), NOW)),
                               ("DeleteValue", "lock.aaaabbbbccccdddd"),
                               ("SetStringValue", "lock.feedfacefeedface")]
    assert methods(result)[-1] == "InstallAgreementLicenseKeyPack"
    assert result.result({op["id"]: op["id"] for op in operations(result)}, "lock") == install.names["lock"]
    assert "1234567" in install.batch.secrets.values()  # sent as a secret, referred to by name
    assert mark.batch.operations == []  # written once Windows has given the KeyPackId


def test_record_writes_the_pack_marker_and_drops_the_pending_one():
    want = cal_pack.validate(args())
    install = plan(want, host())
    record = cal_pack.record(want, install, 9)
    assert written(record) == [("SetStringValue", new_pack_name(want, 9)), ("SetStringValue", "label.9.spla.2022.per_user.25"),
                               ("DeleteValue", install.pending_name)]
    assert record.steps[0].phase == "record"


def test_marked_pack_is_not_installed_again():
    want = cal_pack.validate(args())
    result = plan(want, host([pack(3)], names=["lock.aaaabbbbccccdddd", pack_name(want, 3), label(want, 3)]))
    assert (result.pack["key_pack_id"], result.how, result.steps) == (3, "marker", [])


def test_a_marker_written_before_labels_gains_its_label_without_reinstalling():
    want = cal_pack.validate(args())
    old = host([pack(3)], names=["lock.aaaabbbbccccdddd", pack_name(want, 3)])
    result = plan(want, old)
    assert (result.pack["key_pack_id"], result.how, result.installs) == (3, "marker", False)
    assert [s.action for s in result.steps] == ["lock", "label"]
    assert written(result)[-1] == ("SetStringValue", "label.3.spla.2022.per_user.25")
    label_op = operations(result)[-1]
    assert label_op["arguments"]["sValueName"] == "label.3.spla.2022.per_user.25" and not label_op.get(
        "secret_arguments")  # plain: the plan shows it, and it holds no number
    assert "1234567" not in json.dumps(result.report())
    before, after = cal_pack.view(observed(want, old)), cal_pack.predict(want, old, result)
    assert (before["label"], after["label"]) == (None, "spla, 2022, per_user, 25 CALs")
    assert dict(before, label=None) == dict(after, label=None)  # the label is the only change the diff shows
    # a label of other attributes on the pack (written by hand, or by an older declaration) is replaced
    stale = plan(want, host([pack(3)], names=["lock.aaaabbbbccccdddd", pack_name(want, 3), "label.3.select.2019.per_user.9"]))
    assert written(stale)[-2:] == [("SetStringValue", "label.3.spla.2022.per_user.25"),
                                   ("DeleteValue", "label.3.select.2019.per_user.9")]


def test_recorded_programs_need_a_pack_marker_and_one_program():
    want = cal_pack.validate(args())
    names = ["lock.aaaabbbbccccdddd", pack_name(want, 3), label(want, 3), new_pack_name(want, 4),
             "label.4.select.2022.per_device.5", "label.4.retail.-.-.-", "label.5.select.2022.per_device.5",
             pack_name(want, 6), "label.6.no_such_program.2022.per_device.5", pack_name(want, 7), "label.8"]
    assert cal_pack.recorded_programs(names) == {3: "spla"}
    assert cal_pack.recorded_programs(None) == {}
    retail = cal_pack.validate(args(program="retail", agreement_number=None, license_code="A" * 25,
                                    product_version=None, license_type=None, count=None))
    assert label(retail, 9) == "label.9.retail.-.-.-"
    assert cal_pack.recorded_programs([new_pack_name(retail, 9), label(retail, 9)]) == {9: "retail"}


def test_first_write_prepares_the_lock_alone():
    want = cal_pack.validate(args())
    have = host(names=[])
    assert [op["method"] for op in cal_pack.prepare(want, have).batch().operations] == [
        "CreateKey", "SetSecurityDescriptor", "SetStringValue"]
    assert cal_pack.prepare(want, host()).changed is False


# --- the marker key's ACL (issue 9) ---------------------------------------------------------------------

def test_a_new_marker_key_is_restricted_before_its_first_marker():
    want = cal_pack.validate(args())
    prepare = cal_pack.prepare(want, host(names=[]))
    secure = prepare.steps[0].batch.operations[1]
    descriptor = secure["arguments"]["Descriptor"]
    assert descriptor["cim_class"] == "__SecurityDescriptor"
    assert descriptor["properties"]["ControlFlags"] == 0x1004  # SE_DACL_PRESENT | SE_DACL_PROTECTED
    aces = descriptor["properties"]["DACL"]
    assert [(a["cim_class"], a["properties"]["Trustee"]["properties"]["SidString"], a["properties"]["AccessMask"],
             a["properties"]["AceType"]) for a in aces] == [("__ACE", "S-1-5-18", 0xF003F, 0),
                                                            ("__ACE", "S-1-5-32-544", 0xF003F, 0)]
    assert aces[0]["properties"]["Trustee"]["properties"]["SID"] == [1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0]
    assert aces[1]["properties"]["Trustee"]["properties"]["SID"] == [1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 32, 2, 0, 0]
    assert aces[0]["types"] == {"AccessMask": "UInt32", "AceFlags": "UInt32", "AceType": "UInt32"}


def test_an_inherited_acl_on_an_existing_key_is_restricted_once():
    want = cal_pack.validate(args())
    names = ["lock.aaaabbbbccccdddd", pack_name(want, 5), label(want, 5)]
    inherited = host([pack(5)], names=names, acl=INHERITED)
    assert cal_pack.acl_text(inherited["markers"]["acl"]) == (
        "D:AI(A;CIID;0xf003f;;;S-1-5-18)(A;CIID;0xf003f;;;S-1-5-32-544)(A;CIID;0x20019;;;S-1-5-32-545)")
    result = plan(want, inherited)
    assert [s.action for s in result.steps] == ["lock", "secure"]
    assert "SetSecurityDescriptor" in methods(result)
    assert cal_pack.predict(want, inherited, result)["marker_key_access"] == RESTRICTED_TEXT
    assert plan(want, host([pack(5)], names=names)).steps == []  # the second run: nothing to do


@pytest.mark.parametrize("dacl", [
    RESTRICTED["DACL"][:1],  # SYSTEM only
    RESTRICTED["DACL"] + [{"AccessMask": 0x20019, "AceFlags": 2, "AceType": 0, "Trustee": trustee("S-1-5-32-545")}],
    [dict(RESTRICTED["DACL"][0], AccessMask=0x20019), RESTRICTED["DACL"][1]],  # SYSTEM read only
    [dict(RESTRICTED["DACL"][0], AceType=1), RESTRICTED["DACL"][1]],  # a deny ACE
])
def test_any_other_acl_is_not_restricted(dacl):
    acl = cal_pack.read_acl(FakeResults({"marker_acl": {"ok": True, "out": {"Descriptor": {"ControlFlags": 0x9004,
                                                                                           "DACL": dacl}}}}))
    assert not cal_pack.acl_is_restricted(acl)
    unprotected = cal_pack.read_acl(FakeResults({"marker_acl": {"ok": True, "out": {"Descriptor": dict(
        RESTRICTED, ControlFlags=0x8404)}}}))
    assert not cal_pack.acl_is_restricted(unprotected)


def test_sids_convert_both_ways():
    for sid in ("S-1-5-18", "S-1-5-32-544", "S-1-5-21-1004336348-1177238915-682003330-512"):
        assert cal_pack.sid_text(cal_pack.sid_bytes(sid)) == sid


# --- migration and lost keys (findings 1 and 4) ----------------------------------------------------

def test_first_design_markers_migrate_without_reinstalling():
    want = cal_pack.validate(args())
    legacy = ["3=%s" % cal_pack.legacy_fingerprint(want, SALT), "7=%s" % ("e" * 64)]
    result = plan(want, host([pack(3), pack(7, total=9)], legacy=legacy, salt=SALT))
    assert (result.pack["key_pack_id"], result.how) == (3, "marker")
    assert [s.action for s in result.steps] == ["lock", "migrate", "prune"]  # prune: the rewritten list
    assert "InstallAgreementLicenseKeyPack" not in methods(result)
    assert ("SetStringValue", new_pack_name(want, 3)) in written(result)
    rewrite = [op for op in operations(result) if op.get("method") == "SetMultiStringValue"]
    (op,) = rewrite
    assert result.steps[-1].batch.secrets[op["secret_arguments"]["sValue"]] == ["7=" + "e" * 64]
    assert legacy[0] not in json.dumps(result.report())


def test_the_last_first_design_marker_takes_salt_and_list_with_it():
    want = cal_pack.validate(args())
    legacy = ["3=%s" % cal_pack.legacy_fingerprint(want, SALT)]
    result = plan(want, host([pack(3)], legacy=legacy, salt=SALT))
    assert ("DeleteValue", "KeyPackMarkers") in written(result) and ("DeleteValue", "Salt") in written(result)


def test_markers_of_an_unknown_key_stop_the_module_with_a_recovery():
    want = cal_pack.validate(args())
    other = cal_pack.validate(args(marker_key=OLD_KEY))
    have = host([pack(3)], names=["lock.aaaabbbbccccdddd", pack_name(other, 3, OLD_KEY)])
    with pytest.raises(PlanError) as e:
        plan(want, have)
    assert "written with a marker_key this task was not given (key id %s)" % kid(OLD_KEY) in str(e.value)
    assert "If the key is lost: delete the values whose names contain .%s." % kid(OLD_KEY) in str(e.value)


def test_rotation_rekeys_a_marker_of_the_previous_key():
    want = cal_pack.validate(args(previous_marker_keys=[OLD_KEY]))
    old_name = pack_name(want, 3, OLD_KEY)
    result = plan(want, host([pack(3)], names=["lock.aaaabbbbccccdddd", old_name, label(want, 3)]))
    assert [s.action for s in result.steps] == ["lock", "rekey"]
    assert written(result)[-2:] == [("SetStringValue", new_pack_name(want, 3)), ("DeleteValue", old_name)]


def test_first_design_markers_without_their_salt_stop_the_module():
    want = cal_pack.validate(args())
    with pytest.raises(PlanError, match="but not its Salt value"):
        plan(want, host([pack(3)], legacy=["3=" + "a" * 64]))


def test_retail_without_count_refuses_when_unmarked_retail_packs_exist():
    """Markers deleted: a retail declaration without attributes would install again (finding 4)."""
    want = cal_pack.validate(args(program="retail", agreement_number=None, license_code="Q" * 25,
                                  product_version=None, license_type=None, count=None))
    with pytest.raises(PlanError, match="unmarked retail key packs \\(3\\) exist and this declaration gives no count"):
        plan(want, host([pack(3, type_id=1)]))
    assert plan(want, host([pack(3, type_id=2)])).installs  # a volume pack is no retail pack


def test_markers_of_packs_that_no_longer_exist_are_pruned():
    want = cal_pack.validate(args())
    other = cal_pack.validate(args(agreement_number="7654321"))
    names = ["lock.aaaabbbbccccdddd", pack_name(want, 3), label(want, 3), pack_name(other, 4), label(other, 4)]
    result = plan(want, host([pack(3)], names=names))
    assert [s.action for s in result.steps] == ["lock", "prune"]
    assert written(result)[-2:] == [("DeleteValue", pack_name(other, 4)), ("DeleteValue", label(other, 4))]


def test_an_unreadable_key_pack_list_stops_before_pruning_everything():
    have = host(names=["lock.aaaabbbbccccdddd", pack_name(cal_pack.validate(args()), 3)])
    have["problems"] = [{"part": "key_packs", "message": "access denied"}]
    with pytest.raises(PlanError, match="could not read the key packs"):
        plan(cal_pack.validate(args()), have)


# --- matching (finding 2) --------------------------------------------------------------------------

def test_pack_installed_by_hand_is_recognised_by_type_and_attributes_and_marked():
    want = cal_pack.validate(args())
    result = plan(want, host([pack(5, total=25), pack(4, total=10), pack(3, type_id=1)]))
    assert (result.pack["key_pack_id"], result.how) == (5, "attributes")
    assert [s.action for s in result.steps] == ["lock", "mark"]
    assert written(result)[-2:] == [("SetStringValue", new_pack_name(want, 5)), ("SetStringValue", label(want, 5))]
    # a retail or open license pack with equal attributes is not an agreement pack
    assert plan(want, host([pack(6, type_id=1), pack(7, type_id=5)])).installs


def test_two_agreements_with_equal_attributes_are_both_installed():
    first = cal_pack.validate(args(agreement_number="1111111"))
    second = cal_pack.validate(args(agreement_number="2222222"))
    names = ["lock.aaaabbbbccccdddd", pack_name(first, 3)]
    assert plan(second, host([pack(3)], names=names)).installs
    assert plan(second, host([pack(3), pack(4)], names=names)).pack["key_pack_id"] == 4


def test_built_in_and_unlimited_packs_are_never_matched():
    want = cal_pack.validate(args(program="select", product_version="2022", license_type="per_device",
                                  count=4294967294))
    assert plan(want, host([dict(BUILT_IN, key_pack_id=9, built_in=False, product_version_id=7,
                                 license_type="per_device", key_pack_type_id=2)])).pack is None


def pending_name(want, highest, started):
    return "pending.%s.%s.%d.%d" % (kid(), mac_of(want), highest, started)


def test_interrupted_install_is_recovered_without_installing_twice():
    want = cal_pack.validate(args(program="retail", agreement_number=None, license_code="Q" * 25,
                                  product_version=None, license_type=None, count=None))
    stale = pending_name(want, 3, NOW - cal_pack.PENDING_LEASE - 1)
    names = ["lock.aaaabbbbccccdddd", stale]
    result = plan(want, host([pack(3, type_id=1), pack(4, version_id=6, type_id=1)], names=names))
    assert (result.pack["key_pack_id"], result.how, [s.action for s in result.steps]) == (4, "pending", ["lock", "mark"])
    assert ("DeleteValue", stale) in written(result)
    # a pack of another program that appeared is not this one
    with pytest.raises(PlanError, match="2 key packs \\(4, 5\\) have appeared"):
        plan(want, host([pack(3, type_id=1), pack(4, type_id=1), pack(5, type_id=1)], names=names))
    # the install never happened: install again, dropping the old pending marker
    again = plan(want, host([pack(4, type_id=2)], names=names))
    assert again.installs and ("DeleteValue", stale) in written(again)


def test_a_fresh_pending_marker_without_a_pack_means_another_run_is_installing():
    want = cal_pack.validate(args())
    names = ["lock.aaaabbbbccccdddd", pending_name(want, 2, NOW - 5)]
    with pytest.raises(cal_pack.Busy, match="another run has been installing this CAL pack since"):
        plan(want, host(names=names))
    # once its pack appeared, adopting it is safe: both runs write the same marker
    assert plan(want, host([pack(3)], names=names)).how == "pending"


def test_absent_removes_only_the_pack_its_marker_proves():
    want = cal_pack.validate(args(state="absent"))
    other = cal_pack.validate(args(agreement_number="7654321"))
    names = ["lock.aaaabbbbccccdddd", pack_name(other, 3), label(other, 3), pack_name(want, 4), label(want, 4)]
    result = plan(want, host([pack(3), pack(4)], names=names))
    assert [s.action for s in result.steps] == ["lock", "uninstall"]
    uninstall = result.steps[1]
    assert result.result({op["id"]: op for op in uninstall.batch.operations}, "uninstall")["arguments"] == {
        "KeyPackId": 4}
    # the pack's marker and its label go with it; the other pack's stay
    assert written(result)[-2:] == [("DeleteValue", pack_name(want, 4)), ("DeleteValue", label(want, 4))]


def test_absent_never_removes_an_unmarked_pack_and_says_how():
    want = cal_pack.validate(args(state="absent"))
    result = plan(want, host([pack(3), pack(4)]))
    assert result.steps == []
    assert result.warnings == [
        "Key pack 3, 4 looks like this declaration (2022, per_user, 25 CALs) but no marker proves that this "
        "collection installed it, so it stays. To remove it anyway: remove_key_pack_id: 3 with force: true."]


def test_absent_with_a_stale_pending_marker_forgets_it_and_removes_nothing():
    want = cal_pack.validate(args(state="absent"))
    stale = pending_name(want, 2, NOW - cal_pack.PENDING_LEASE - 1)
    result = plan(want, host([pack(3)], names=["lock.aaaabbbbccccdddd", stale]))
    assert [s.action for s in result.steps] == ["lock", "forget"]
    assert "UninstallLicenseKeyPackWithId" not in methods(result)


def test_absent_refuses_a_pack_with_issued_licenses_unless_forced():
    want = cal_pack.validate(args(state="absent"))
    names = ["lock.aaaabbbbccccdddd", pack_name(want, 4)]
    with pytest.raises(PlanError, match="key pack 4 has 6 licenses issued to clients"):
        plan(want, host([pack(4, issued=6)], names=names))
    forced = cal_pack.validate(args(state="absent", force=True))
    assert "UninstallLicenseKeyPackWithId" in methods(plan(forced, host([pack(4, issued=6)], names=names)))


def test_forced_removal_by_id_needs_no_numbers_and_never_takes_the_built_in_pack():
    want = cal_pack.validate(args(program="retail", agreement_number=None, state="absent", force=True,
                                  remove_key_pack_id=3, marker_key=None, product_version=None, license_type=None,
                                  count=None))
    result = plan(want, host([pack(3)]))
    assert (result.pack["key_pack_id"], result.how) == (3, "key_pack_id")
    assert "UninstallLicenseKeyPackWithId" in methods(result)
    with pytest.raises(PlanError, match="key pack 2 is the built-in pack"):
        plan(dict(want, remove_key_pack_id=2), host())


def test_absent_on_a_host_without_the_role_changes_nothing():
    bare = host()
    bare["license_server"]["installed"] = False
    assert plan(cal_pack.validate(args(state="absent")), bare).steps == []


# --- warnings, check mode, the diff ------------------------------------------------------------------

def test_refuses_a_server_that_is_not_activated():
    with pytest.raises(PlanError, match="only on an activated license server, and LS1 is not_activated"):
        plan(cal_pack.validate(args()), host(activated=False))


def test_cal_newer_than_the_server_is_refused_before_touching_the_host():
    """Issue 12 item 9: the real cause first, from the version the read gave."""
    with pytest.raises(PlanError) as refused:
        plan(cal_pack.validate(args(product_version="2025")), host(os_version="10.0.20348"))
    assert str(refused.value) == (
        "2025 CALs cannot be installed on this license server: it runs Windows Server 2022, and a license server "
        "takes CALs of its own Windows Server version and earlier (a 2022 license server takes 2016, 2019 and 2022 "
        "CALs; Microsoft's RDS CAL version compatibility table). Nothing was changed. Install them on a Windows "
        "Server 2025 license server, or declare the product_version of CALs this server takes.")
    with pytest.raises(PlanError, match="a 2016 license server takes 2016 CALs"):
        plan(cal_pack.validate(args(product_version="2019")), host(os_version="10.0.14393"))
    assert plan(cal_pack.validate(args(product_version="2019")), host(os_version="10.0.20348")).installs


def test_an_installed_newer_pack_is_still_recognised():
    """The refusal is about installing: a pack already there (installed by hand, or by an older server) is marked."""
    want = cal_pack.validate(args(product_version="2025"))
    result = plan(want, host([pack(5, version_id=8)], os_version="10.0.20348"))
    assert (result.pack["key_pack_id"], result.how) == (5, "attributes")


def test_an_unknown_server_version_puts_the_version_first_in_the_install_hint():
    want = cal_pack.validate(args(product_version="2025"))
    step = plan(want, host(os_version=None)).steps[0]
    assert step.failure_hint(None).startswith(
        "A license server takes CALs of its own Windows Server version and earlier, and the module could not read "
        "this server's version: check that it runs Windows Server 2025 or later. Installing CALs validates")
    overridden = cal_pack.validate(args(product_version_id=9))
    assert plan(overridden, host()).steps[0].failure_hint(None).startswith(
        "product_version_id 9 was sent for 2022 CALs instead of 7")
    assert plan(cal_pack.validate(args()), host()).steps[0].failure_hint(None).startswith("Installing CALs validates")


def test_check_mode_on_a_server_still_to_be_set_up_predicts_the_install():
    result = plan(cal_pack.validate(args()), host(activated=False), check_mode=True)
    assert [s.action for s in result.steps] == ["install", "mark"]
    assert result.warnings[0].startswith("Check mode: CAL packs can be installed only on an activated license server")


def observed(want, have):
    """observe() as the action calls it, on the bridge's answers for the markers `have` holds."""
    names = have["markers"]["locks"] + [m["name"] for m in have["markers"]["packs"] + have["markers"]["pending"]
                                        + have["markers"]["labels"]]
    results = FakeResults({"marker_names": {"ok": True, "out": {"sNames": names or None}},
                           "marker_acl": {"ok": True, "out": {"Descriptor": RESTRICTED}} if names else NOT_FOUND,
                           "legacy_salt": NOT_FOUND, "legacy_markers": NOT_FOUND})
    return cal_pack.observe(want, have, results)


RESTRICTED_TEXT = "D:P(A;CI;0xf003f;;;S-1-5-18)(A;CI;0xf003f;;;S-1-5-32-544)"


def test_view_and_predict():
    want = cal_pack.validate(args())
    have = observed(want, host([pack(5)]))
    result = plan(want, have)
    assert cal_pack.view(have) == {"program": "spla", "state": "present", "key_pack_id": 5,
                                   "product_version": "2022", "license_type": "per_user", "total": 25,
                                   "recorded": False, "label": None, "marker_key_access": RESTRICTED_TEXT}
    marked = observed(want, host([pack(5)], names=["lock.aaaabbbbccccdddd", pack_name(want, 5), label(want, 5)]))
    assert (cal_pack.view(marked)["recorded"], cal_pack.view(marked)["label"]) == (True, "spla, 2022, per_user, 25 CALs")
    assert cal_pack.view(observed(want, host())) == {"program": "spla", "state": "absent",
                                                     "marker_key_access": RESTRICTED_TEXT}
    assert cal_pack.view(observed(want, host(names=[]))) == {"program": "spla", "state": "absent",
                                                             "marker_key_access": None}
    assert cal_pack.predict(want, have, result)["recorded"] is True
    assert cal_pack.after_install(want, have) is have


def test_an_install_beside_a_prune_keeps_the_lock_first():
    want = cal_pack.validate(args())
    other = cal_pack.validate(args(agreement_number="7654321"))
    result = plan(want, host(names=["lock.aaaabbbbccccdddd", pack_name(other, 9)]))
    assert [(s.action, s.phase) for s in result.steps] == [("install", "config"), ("mark", "record"),
                                                           ("prune", "config")]
    config = result.phase("config")
    first_delete = [op for op in config.batch().operations if op["method"] == "DeleteValue"][0]
    assert first_delete["id"] == result.steps[0].names["lock"]  # the lock is taken before anything is deleted


def test_the_first_designs_fingerprint_is_reproduced_exactly():
    """Computed with the first design's fingerprint() (commit d564882) for args() and SALT: migration must
    recognise the markers that design wrote."""
    assert cal_pack.legacy_fingerprint(cal_pack.validate(args()), SALT) == (
        "b1719131afbff9b8428b374d3db0b309101c66c4a836ce9e01d3796e1dacf81c")


# --- stale pending markers, and the lock before every marker change (issue 9 remainder) -------------------------

LOCK = "lock.aaaabbbbccccdddd"


def test_a_pending_marker_of_an_install_that_certainly_failed_is_pruned_by_any_declaration():
    """Another declaration's install died (its run was killed after writing the pending marker) and nothing
    appeared above the KeyPackId it recorded: after the lease, nothing can be behind it."""
    want = cal_pack.validate(args())
    other = cal_pack.validate(args(agreement_number="7654321"))
    names = [LOCK, pack_name(want, 3), label(want, 3), pending_name(other, 3, NOW - cal_pack.PENDING_LEASE)]
    result = plan(want, host([pack(3)], names=names))
    assert [s.action for s in result.steps] == ["lock", "prune"]
    assert written(result)[-1] == ("DeleteValue", pending_name(other, 3, NOW - cal_pack.PENDING_LEASE))
    assert cal_pack.predict(want, host([pack(3)], names=names), result)["key_pack_id"] == 3


def test_a_pending_marker_that_may_still_be_adopted_or_running_stays():
    want = cal_pack.validate(args())
    other = cal_pack.validate(args(agreement_number="7654321"))
    expired = pending_name(other, 3, NOW - cal_pack.PENDING_LEASE - 60)
    # an unmarked pack appeared above it: the other declaration's next run adopts it
    names = [LOCK, pack_name(want, 3), label(want, 3), expired]
    assert plan(want, host([pack(3), pack(4, total=9)], names=names)).steps == []
    # a pending marker within its lease is an install in progress
    fresh = pending_name(other, 3, NOW - 10)
    assert plan(want, host([pack(3)], names=[LOCK, pack_name(want, 3), label(want, 3), fresh])).steps == []


def test_a_pending_marker_older_than_the_pack_it_names_is_pruned():
    """The install was recorded (its pack marker exists) but the record step's last delete was lost."""
    want = cal_pack.validate(args())
    leftover = pending_name(want, 2, NOW - 5)
    result = plan(want, host([pack(3)], names=[LOCK, pack_name(want, 3), label(want, 3), leftover]))
    assert (result.pack["key_pack_id"], result.how) == (3, "marker")
    assert [s.action for s in result.steps] == ["lock", "prune"]
    assert written(result)[-1] == ("DeleteValue", leftover)
    # a pending marker recorded after that pack (a second install under way) is not this one
    names = [LOCK, pack_name(want, 3), label(want, 3), pending_name(want, 3, NOW - 5)]
    assert plan(want, host([pack(3)], names=names)).steps == []


def test_own_stale_pending_marker_is_deleted_once():
    want = cal_pack.validate(args())
    stale = pending_name(want, 2, NOW - cal_pack.PENDING_LEASE)
    result = plan(want, host(names=[LOCK, stale]))
    assert result.installs
    assert [name for method, name in written(result) if method == "DeleteValue"].count(stale) == 1


def _marker_scenarios():
    want = cal_pack.validate(args())
    other = cal_pack.validate(args(agreement_number="7654321"))
    absent = cal_pack.validate(args(state="absent"))
    rotated = cal_pack.validate(args(marker_key="the-newest-marker-key-0000000", previous_marker_keys=[KEY]))
    return [
        ("adopt by attributes", want, host([pack(5)])),
        ("adopt an interrupted install", want, host([pack(3)], names=[LOCK, pending_name(want, 2, NOW - 5)])),
        ("rekey", rotated, host([pack(3)], names=[LOCK, pack_name(want, 3)])),
        ("prune a gone pack", want, host([pack(3)], names=[LOCK, pack_name(want, 3), pack_name(other, 4)])),
        ("prune a failed install", want,
         host([pack(3)], names=[LOCK, pack_name(want, 3), pending_name(other, 3, NOW - 10 ** 4)])),
        ("remove", absent, host([pack(3)], names=[LOCK, pack_name(absent, 3)])),
        ("forget a pending marker", absent, host(names=[LOCK, pending_name(absent, 2, NOW - 10 ** 4)])),
        ("secure", want, host([pack(3)], names=[LOCK, pack_name(want, 3)], acl=INHERITED)),
        ("install", want, host()),
    ]


@pytest.mark.parametrize("label, want, have", _marker_scenarios(), ids=lambda v: v if isinstance(v, str) else "")
def test_no_marker_changes_without_first_taking_the_lock(label, want, have):
    """The lock is the markers' version: every batch that writes or deletes a marker first deletes the lock it
    read (stop_on_error: a run whose read is out of date stops there, before changing anything), and an adoption
    of an interrupted install needs this declaration's own pending marker, the install's intent."""
    result = plan(want, have)
    config = result.phase("config").batch().operations
    changes = [op for op in config if op.get("method") not in ("GetSecurityDescriptor",)]
    assert changes, label
    first = changes[1] if label == "install" else changes[0]  # an install writes its pending marker first
    assert (first["method"], first["arguments"].get("sValueName")) == ("DeleteValue", LOCK), label
    if label == "install":
        assert changes[0]["method"] == "SetStringValue"  # the pending marker: the install's intent


def test_a_pack_above_another_declarations_pending_marker_is_never_adopted_as_an_interrupted_install():
    want = cal_pack.validate(args(program="retail", agreement_number=None, license_code="Q" * 25,
                                  product_version=None, license_type=None, count=None))
    other = cal_pack.validate(args(agreement_number="7654321"))
    names = [LOCK, pending_name(other, 2, NOW - 10)]
    with pytest.raises(PlanError, match="unmarked retail key packs"):
        plan(want, host([pack(3, type_id=1)], names=names))


# --- a changed count (issue 12 item 5) ----------------------------------------------------------------------

def test_the_number_mac_is_keyed_and_ignores_only_version_type_and_count():
    want = cal_pack.validate(args())
    other_attributes = cal_pack.validate(args(count=30, product_version="2019", license_type="per_device"))
    assert number_mac(want) == number_mac(other_attributes)
    assert number_mac(want) != number_mac(cal_pack.validate(args(agreement_number="7654321")))
    assert number_mac(want) != number_mac(cal_pack.validate(args(program="select")))
    assert number_mac(want) != number_mac(want, key=OLD_KEY)
    assert number_mac(want) != mac_of(want)
    purchase = cal_pack._purchase(cal_pack._declaration(want))
    assert purchase == "number|spla|1234567" and "1234567" not in number_mac(want)


def test_a_changed_count_warns_in_the_plan_and_the_diff():
    old = cal_pack.validate(args(count=25))
    new = cal_pack.validate(args(count=30))
    have = host([pack(5, total=25)], names=[LOCK, new_pack_name(old, 5), label(old, 5)])
    result = plan(new, have)
    assert result.installs and result.same_number == [5]
    assert result.steps[0].description == ("Install spla CAL pack (2022, per_user, 30 CALs) beside key pack 5 of the "
                                           "same program and number")
    assert result.warnings == [
        "Key pack 5 was recorded for this program and number with other attributes (2022, per_user, 25 CALs), and "
        "this declaration (2022, per_user, 30 CALs) matches no pack, so it installs a second pack beside it. To "
        "change a pack, declare the old one as it was installed with state: absent, and the new one with state: "
        "present (docs/cal_packs.md, Changing a pack)."]
    assert cal_pack.predict(new, have, result)["same_number_packs"] == [5]
    assert "1234567" not in json.dumps(result.report()) + json.dumps(result.warnings)
    # the old declaration still finds its pack, without a warning
    same = plan(old, have)
    assert (same.pack["key_pack_id"], same.steps, same.warnings) == (5, [], [])
    assert "same_number_packs" not in cal_pack.predict(old, have, same)


def test_an_absent_declaration_with_another_count_removes_nothing_and_says_why():
    old = cal_pack.validate(args(count=25))
    gone = cal_pack.validate(args(count=30, state="absent"))
    result = plan(gone, host([pack(5, total=25)], names=[LOCK, new_pack_name(old, 5)]))
    assert result.steps == [] and "so nothing is removed" in result.warnings[0]


def test_markers_without_the_number_mac_still_prove_their_pack_but_cannot_warn():
    old = cal_pack.validate(args(count=25))
    have = host([pack(5, total=25)], names=[LOCK, pack_name(old, 5)])
    assert plan(old, have).pack["key_pack_id"] == 5
    result = plan(cal_pack.validate(args(count=30)), have)
    assert result.installs and result.warnings == [] and result.same_number == []


def test_another_purchase_with_equal_attributes_is_no_changed_count():
    first = cal_pack.validate(args(agreement_number="1111111"))
    second = cal_pack.validate(args(agreement_number="2222222"))
    result = plan(second, host([pack(3)], names=[LOCK, new_pack_name(first, 3)]))
    assert result.installs and result.warnings == []
