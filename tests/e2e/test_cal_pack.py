"""cal_pack end to end: ansible's winrm connection, the bridge, the lab.

ls1 gets a pack of each license program from playbooks/cal_packs.yml (the numbers come from a vars
file standing in for a vault); the other hosts each play one story about matching, failures and
refusals.
"""

import os
import threading
import time
from types import SimpleNamespace

import hashlib

import pytest
import yaml
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _cal_pack as cal_pack

from rdlab.model import windows
from rdlab.model.host import Host

from .support import PLAYBOOKS, ModuleLab, is_read, leaks, plan_actions, without

DOMAIN = "corp.example.com"
PLAYBOOK = PLAYBOOKS / "cal_packs.yml"
NUMBERS = yaml.safe_load((PLAYBOOKS / "vars" / "cal_pack_numbers.yml").read_text())
DECLARED = [without(task["remote_desktop.licensing.cal_pack"], "marker_key")
            for task in yaml.safe_load(PLAYBOOK.read_text())[0]["tasks"]]
KEY_PACK_TYPE = {"retail": "retail", "open_license": "open_license"}  # the others install volume packs
MARKERS = r"software\ansible\remotedesktoplicensing"
ACTIVATED = {"license_server": {"activation_status": 0, "license_server_id": "LSID" + "0" * 31}}


def secrets() -> list[str]:
    """Every number as written and as sent (hyphens removed)."""
    return sorted({form for value in NUMBERS.values() for form in (value, value.replace("-", ""))})


@pytest.fixture(scope="module", autouse=True)
def marker_key():
    """The marker key for the ad-hoc runs, as an AWX credential injects it: in the environment."""
    os.environ["REMOTE_DESKTOP_LICENSING_MARKER_KEY"] = NUMBERS["vault_cal_pack_marker_key"]
    yield NUMBERS["vault_cal_pack_marker_key"]
    del os.environ["REMOTE_DESKTOP_LICENSING_MARKER_KEY"]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = ModuleLab.start(
        tmp_path_factory,
        f"ls1:license_server:domain={DOMAIN}",      # a pack of each program, then more declarations
        f"hand:license_server:domain={DOMAIN}",     # a pack installed by hand before the module
        f"twins:license_server:domain={DOMAIN}",    # two identical packs installed by hand
        f"drop:license_server:domain={DOMAIN}",     # the connection drops during the install
        f"flaky:license_server:domain={DOMAIN}",    # installs that fail
        f"notact:license_server:domain={DOMAIN}",   # not activated
        f"race:license_server:domain={DOMAIN}",     # three runs at once
        f"legacy:license_server:domain={DOMAIN}",   # markers of the first design
        f"rotate:license_server:domain={DOMAIN}",   # a new marker key
        f"acl:license_server:domain={DOMAIN}",      # a marker key an earlier version left readable by Users
        f"stale:license_server:domain={DOMAIN}",    # pending markers no install is behind any more
        f"relabel:license_server:domain={DOMAIN}",  # a marker written before labels existed
        "bare",                                     # not a license server
    )
    for host in ("ls1", "hand", "twins", "drop", "flaky", "race", "legacy", "rotate", "acl", "stale", "relabel"):
        lab.seed(host, ACTIVATED)
    yield lab
    lab.stop()


def packs(lab, host) -> dict[int, dict]:
    """The host's key packs by KeyPackId, as the lab holds them."""
    return {p["KeyPackId"]: p for p in lab.state(host)["license_server"]["key_packs"]}


def markers(lab, host) -> list[str]:
    """The names of the values under the marker key (a marker is a value's name)."""
    return sorted(value["name"] if isinstance(value, dict) and "name" in value else name
                  for name, value in lab.state(host)["registry"].get(MARKERS, {}).items())


def agreement(program: str, number: str, version="2022", license_type="per_device", count=5, **extra) -> dict:
    return dict(program=program, agreement_number=number, product_version=version, license_type=license_type,
                count=count, **extra)


def open_license(**numbers) -> dict:
    return dict({"program": "open_license", "license_number": "48151623", "authorization_number": "OPN4AUTH8X15CHR",
                 "product_version": "2019", "license_type": "per_user", "count": 10}, **numbers)


# --- a pack of each program: check mode, the run, the second run ---------------------------------------

@pytest.fixture(scope="module")
def nine(lab):
    before = lab.state("ls1")
    check = lab.play(PLAYBOOK, "--check", "--diff")
    after_check = lab.state("ls1")
    real = lab.play(PLAYBOOK, "--diff", "-vvvvv")  # -vvvvv: the winrm plugin prints the raw module output
    again = lab.play(PLAYBOOK, "--diff")
    return SimpleNamespace(before=before, check=check, after_check=after_check, real=real, again=again)


def test_check_mode_changes_nothing(nine):
    assert nine.check.rc == 0, nine.check.output
    assert nine.after_check == nine.before
    commands = nine.check.commands("ls1")
    assert len(commands) == len(DECLARED) and all(c["check_mode"] for c in commands)
    assert all(is_read(op) for batch in nine.check.batches("ls1") for op in batch)


def test_check_mode_predicts_each_install(nine):
    assert nine.check.statuses() == nine.real.statuses() == ["changed"] * len(DECLARED)
    for i, (check, real) in enumerate(zip(nine.check.results(), nine.real.results())):
        # The marker key's first lock is written once, by the first task (check mode cannot know that a task
        # before it would have written it).
        assert plan_actions(check) == ["prepare", "install", "mark"]
        assert plan_actions(real) == (["prepare"] if i == 0 else []) + ["install", "mark"]
        absent = {"program": real["diff"]["after"]["program"], "state": "absent"}
        assert without(check["diff"]["before"], "marker_key_access") == without(real["diff"]["before"],
                                                                                "marker_key_access") == absent
        # Who can read the marker key: no key before the first task; each later one finds it restricted.
        assert check["diff"]["before"]["marker_key_access"] is None
        assert real["diff"]["before"]["marker_key_access"] == (None if i == 0 else RESTRICTED)
        # Windows chooses the new pack's id: check mode cannot know it.
        assert check["diff"]["after"]["key_pack_id"] is None
        assert without(check["diff"]["after"], "key_pack_id") == without(real["diff"]["after"], "key_pack_id")


def test_first_run_installs_a_pack_of_each_program(lab, nine):
    assert nine.real.rc == 0, nine.real.output
    for declared, result in zip(DECLARED, nine.real.results()):
        pack = result["key_pack"]
        assert result["matched_by"] == "installed"
        assert (pack["product_version"], pack["license_type"], pack["total"]) == (
            declared["product_version"], declared["license_type"], declared["count"]), declared["program"]
        assert pack["key_pack_type"] == KEY_PACK_TYPE.get(declared["program"], "volume")
        assert result["diff"]["after"]["recorded"] is True
    ids = [r["key_pack_id"] for r in nine.real.results()]
    assert sorted(packs(lab, "ls1")) == [2] + sorted(ids)  # the built-in pack and the nine
    names = markers(lab, "ls1")
    assert sorted(int(n.split(".")[1]) for n in names if n.startswith("pack.")) == sorted(ids)
    # Beside each pack marker, its label in plain form: program, version, type, count; never a number.
    assert sorted(n for n in names if n.startswith("label.")) == sorted(
        "label.%d.%s.%s.%s.%d" % (i, d["program"], d["product_version"], d["license_type"], d["count"])
        for i, d in zip(ids, DECLARED))
    assert [n for n in names if not n.startswith(("pack.", "label."))] == [
        n for n in names if n.startswith("lock.")]  # no pending
    assert len([n for n in names if n.startswith("lock.")]) == 1
    # An install costs two round trips after the read: pending marker, lock and install, then the pack's marker;
    # the server's first marker write costs two more (the first lock alone, then a read).
    assert len(nine.real.commands("ls1")) == 3 * len(DECLARED) + 2


def test_second_run_changes_nothing_in_one_round_trip_per_task(nine):
    assert nine.again.recap()["ls1"]["changed"] == 0 and nine.again.recap()["ls1"]["failed"] == 0
    assert [r["matched_by"] for r in nine.again.results()] == ["marker"] * len(DECLARED)
    assert [r["key_pack_id"] for r in nine.again.results()] == [r["key_pack_id"] for r in nine.real.results()]
    assert len(nine.again.commands("ls1")) == len(DECLARED)
    assert all(is_read(op) for batch in nine.again.batches("ls1") for op in batch)


def test_numbers_never_appear_in_output_transcript_or_host_state(lab, nine):
    texts = {f"{name} output": run.output for name, run in vars(nine).items() if hasattr(run, "output")}
    texts.update({f"{name} results": str(run.tasks) for name, run in vars(nine).items() if hasattr(run, "tasks")})
    texts["transcript"] = (lab.lab.dir / "transcript.jsonl").read_text()
    texts["state of ls1"] = (lab.lab.dir / "hosts" / "ls1.json").read_text()
    assert leaks(texts, secrets()) == []
    install = nine.real.results()[2]["plan"][0]["operations"][-1]
    assert install["secret_arguments"] == {"sAgreementNumber": install["id"] + ".sAgreementNumber"}  # a reference


def test_licensing_info_shows_the_program_the_collection_recorded_and_no_number(lab, nine, tmp_path):
    """issue 12, the report page: the program of each pack cal_pack installed, read in licensing_info's one round
    trip; the built-in pack has none."""
    run = lab.run("ls1", "licensing_info")
    result = run.result()
    assert len(run.commands("ls1")) == 1 and result["problems"] == []
    programs = {p["key_pack_id"]: p["program"] for p in result["license_server"]["key_packs"]}
    assert programs == dict([(2, None)] + [(r["key_pack_id"], d["program"])
                                           for d, r in zip(DECLARED, nine.real.results())])
    texts = {"licensing_info output": run.output, "licensing_info result": str(run.tasks)}
    assert leaks(texts, secrets()) == []


def declaration_text(declared: dict) -> str:
    numbers = {k: NUMBERS[v.strip("{} ")].replace("-", "") for k, v in declared.items() if k in cal_pack.NUMBER_FORMATS}
    want = cal_pack.validate(dict(dict.fromkeys(cal_pack.ARGUMENT_SPEC), **dict(
        declared, **numbers, marker_key=NUMBERS["vault_cal_pack_marker_key"], previous_marker_keys=[], force=False,
        state="present")))
    return cal_pack._declaration(want)


def test_markers_are_keyed_and_nothing_unkeyed_is_derived_from_a_number(lab, nine):
    """Finding 1 of issue 9: every marker is an HMAC with the vault's key; no Salt, no unkeyed digest of a
    number anywhere, and the macs themselves never in a result, plan or diff."""
    key = NUMBERS["vault_cal_pack_marker_key"].encode()
    names = markers(lab, "ls1")
    assert not [n for n in names if not n.startswith(("pack.", "lock.", "label."))]  # no Salt, no KeyPackMarkers
    macs = {n.split(".")[3] for n in names if n.startswith("pack.")}
    declarations = [declaration_text(d) for d in DECLARED]
    assert macs == {cal_pack.mac(key, text) for text in declarations}
    assert not macs & {cal_pack.mac(b"another key of twenty characters", text) for text in declarations}
    # The second mac, of the program and numbers alone (issue 12 item 5), is keyed with the same key.
    number_macs = {n.split(".")[4] for n in names if n.startswith("pack.")}
    assert number_macs == {cal_pack.mac(key, cal_pack._purchase(text)) for text in declarations}
    macs |= number_macs
    results = {f"{name} results": str(run.tasks) for name, run in vars(nine).items() if hasattr(run, "tasks")}
    assert leaks(results, sorted(macs)) == []
    unkeyed = sorted({getattr(hashlib, algorithm)(form.encode()).hexdigest()
                      for value in NUMBERS.values() for form in (value, value.replace("-", ""))
                      for algorithm in ("md5", "sha1", "sha256")}
                     | {hashlib.sha256(("v1|" + text).encode()).hexdigest() for text in declarations}
                     | {hashlib.sha256(cal_pack._purchase(text).encode()).hexdigest() for text in declarations})
    texts = {f"{name} output": run.output for name, run in vars(nine).items() if hasattr(run, "output")}
    texts["transcript"] = (lab.lab.dir / "transcript.jsonl").read_text()
    texts["state of ls1"] = (lab.lab.dir / "hosts" / "ls1.json").read_text()
    assert leaks(texts, unkeyed) == []


def test_cals_newer_than_the_server_are_refused_before_touching_it(lab, nine):
    """Issue 12 item 9: 2025 CALs on a 2022 license server. The read gives the server's version, so the task
    names the real cause and sends nothing that changes the host."""
    before = lab.state("ls1")
    for check in (True, False):
        run = lab.run("ls1", "cal_pack", agreement("select", "1212121", version="2025"), check=check)
        assert run.statuses() == ["failed"]
        assert run.result()["msg"].startswith(
            "2025 CALs cannot be installed on this license server: it runs Windows Server 2022, and a license server "
            "takes CALs of its own Windows Server version and earlier (a 2022 license server takes 2016, 2019 and "
            "2022 CALs; Microsoft's RDS CAL version compatibility table). Nothing was changed.")
        assert len(run.commands("ls1")) == 1 and all(is_read(op) for batch in run.batches("ls1") for op in batch)
    assert lab.state("ls1") == before


def test_an_install_windows_refuses_for_its_version_leaves_no_pending_marker(lab):
    """The version number Windows is sent is overridden (product_version_id 8, 2025's, for a 2022 declaration):
    the server refuses it, the message says what to check first, and the same run drops its pending marker."""
    declaration = agreement("select", "2468024", count=3, product_version_id=8)
    run = lab.run("flaky", "cal_pack", declaration)
    assert run.statuses() == ["failed"]
    assert run.result()["msg"].startswith(
        "Could not install select CAL pack (2022, per_device, 3 CALs): Win32_TSLicenseKeyPack."
        "InstallAgreementLicenseKeyPack in root/cimv2 returned 0x8004100C WBEM_E_NOT_SUPPORTED (Not supported). "
        "product_version_id 8 was sent for 2022 CALs instead of 7: check that it is the number Windows expects.")
    assert plan_actions(run.result())[-1] == "forget"
    assert not any(name.startswith("pending.") for name in markers(lab, "flaky"))


def test_equal_agreements_are_both_installed_and_neither_twice(lab, nine):
    first = agreement("select", "{{ first }}")
    second = agreement("enterprise_agreement", "{{ second }}")
    numbers = {"first": "9988777", "second": "9988778", "first_spelt_otherwise": "998-8777"}
    run = lab.tasks("ls1", ("cal_pack", first), ("cal_pack", second), ("cal_pack", first), ("cal_pack", second),
                    vars=numbers)
    assert run.statuses() == ["changed", "changed", "ok", "ok"]
    a, b, a_again, b_again = [r["key_pack_id"] for r in run.results()]
    assert a != b and (a_again, b_again) == (a, b)
    reverse = lab.tasks("ls1", ("cal_pack", second), ("cal_pack", dict(first, agreement_number="{{ first_spelt_otherwise }}")),
                        vars=numbers)
    assert reverse.statuses() == ["ok", "ok"]
    assert [r["key_pack_id"] for r in reverse.results()] == [b, a]
    assert len([p for p in packs(lab, "ls1").values() if (p["ProductVersionID"], p["ProductType"], p["TotalLicenses"])
                == (7, 0, 5)]) == 2


def test_absent_removes_only_the_matched_pack(lab, nine):
    select = dict(DECLARED[2], agreement_number=NUMBERS["vault_select_agreement"], state="absent")
    pack_id = nine.real.results()[2]["key_pack_id"]
    before = packs(lab, "ls1")
    check = lab.run("ls1", "cal_pack", select, check=True).result()
    assert packs(lab, "ls1") == before
    run = lab.run("ls1", "cal_pack", select)
    real = run.result()
    assert plan_actions(check) == plan_actions(real) == ["lock", "uninstall"]
    assert check["diff"] == real["diff"]
    assert real["diff"]["after"] == {"program": "select", "state": "absent", "marker_key_access": RESTRICTED}
    assert real["key_pack_id"] == pack_id and real["changed"] is True
    assert packs(lab, "ls1") == without(before, pack_id)
    assert not any(name.startswith(f"pack.{pack_id}.") for name in markers(lab, "ls1"))
    again = lab.run("ls1", "cal_pack", select)
    assert again.result()["changed"] is False and again.result()["matched_by"] is None
    assert len(again.commands("ls1")) == 1


# --- matching: by hand, ambiguous, interrupted --------------------------------------------------------

def install_by_hand(lab, host, agreement_type, number, version, product_type, count) -> int:
    """What RD Licensing Manager's Install Licenses wizard does for an agreement; returns the KeyPackId."""
    (result,) = lab.by_hand(host, {
        "kind": "cim_invoke", "namespace": "root/cimv2", "class": "Win32_TSLicenseKeyPack",
        "method": "InstallAgreementLicenseKeyPack", "secret_arguments": {"sAgreementNumber": "number"},
        "arguments": {"AgreementType": agreement_type, "ProductVersion": version, "ProductType": product_type,
                      "LicenseCount": count}}, secrets={"number": number})
    assert result["ok"], result
    return result["out"]["KeyPackId"]


def test_a_pack_installed_by_hand_is_recognised_then_marked(lab):
    number = "5550123"
    hand_id = install_by_hand(lab, "hand", agreement_type=2, number=number, version=5, product_type=1, count=7)
    declaration = agreement("campus_agreement", number, version="2016", license_type="per_user", count=7)
    before = lab.state("hand")
    check = lab.run("hand", "cal_pack", declaration, check=True).result()
    assert lab.state("hand") == before
    run = lab.run("hand", "cal_pack", declaration)
    real = run.result()
    for result in (check, real):
        assert result["matched_by"] == "attributes" and result["changed"] is True
        assert plan_actions(result) == ["prepare", "lock", "mark"] and result["key_pack_id"] == hand_id
    assert check["diff"] == real["diff"]
    assert (real["diff"]["before"]["recorded"], real["diff"]["after"]["recorded"]) == (False, True)
    assert not any(m.startswith("Install") for m in run.methods("hand"))  # recognised, not installed again
    again = lab.run("hand", "cal_pack", declaration)
    assert again.result()["matched_by"] == "marker" and again.result()["changed"] is False
    assert sorted(packs(lab, "hand")) == [2, hand_id]


def test_absent_removes_no_pack_that_a_marker_does_not_prove(lab):
    """Finding 2 of issue 9: equal attributes are no proof. Two packs installed by hand and a retail pack stay
    through every absent declaration; only remove_key_pack_id with force removes one."""
    twins = [install_by_hand(lab, "twins", agreement_type=4, number=number, version=6, product_type=0, count=3)
             for number in ("7770001", "7770002")]
    retail = retail_by_hand(lab, "twins", NUMBERS["vault_retail_code"].replace("-", ""))
    before = packs(lab, "twins")
    declarations = [agreement("spla", "7770001", version="2019", count=3, state="absent"),
                    agreement("select", "7770009", version="2022", license_type="per_device", count=20, state="absent"),
                    {"program": "retail", "license_code": "RTL7Q-2XK9M-4HB6W-8PZ3N-0C702", "state": "absent"}]
    run = lab.tasks("twins", *[("cal_pack", d) for d in declarations])
    assert run.statuses() == ["ok", "ok", "ok"], run.output
    assert packs(lab, "twins") == before
    assert run.results()[0]["warnings"] == [
        "twins: Key pack %d, %d looks like this declaration (2019, per_device, 3 CALs) but no marker proves that this "
        "collection installed it, so it stays. To remove it anyway: remove_key_pack_id: %d with force: true."
        % (twins[0], twins[1], twins[0])]
    assert "warnings" not in run.results()[1]  # a retail pack is not a Select pack, whatever its attributes
    unforced = lab.run("twins", "cal_pack", {"program": "spla", "remove_key_pack_id": retail, "state": "absent"})
    assert unforced.result()["msg"] == (
        "Invalid options for remote_desktop.licensing.cal_pack: remove_key_pack_id removes a key pack that no "
        "marker proves this collection installed: it needs state: absent and force: true")
    forced = lab.run("twins", "cal_pack", {"program": "retail", "remove_key_pack_id": retail, "state": "absent",
                                           "force": True})
    assert forced.result()["changed"] is True and forced.result()["matched_by"] == "key_pack_id"
    assert packs(lab, "twins") == without(before, retail)


def write_first_lock(lab, host):
    registry = {"namespace": "root/default", "class": "StdRegProv", "kind": "cim_invoke"}
    key = {"hDefKey": 2147483650, "sSubKeyName": MARKERS}
    lab.by_hand(host, dict(registry, method="CreateKey", arguments=key),
                dict(registry, method="SetStringValue", arguments=dict(key, sValueName="lock.00000000000000e2", sValue="")))


def retail_by_hand(lab, host, code) -> int:
    (result,) = lab.by_hand(host, {
        "kind": "cim_invoke", "namespace": "root/cimv2", "class": "Win32_TSLicenseKeyPack",
        "method": "InstallRetailPurchaseLicenseKeyPack", "secret_arguments": {"sLicenseCode": "code"}},
        secrets={"code": code})
    assert result["ok"], result
    return result["out"]["KeyPackId"]


def test_an_install_whose_answer_was_lost_is_finished_not_repeated(lab):
    declaration = agreement("spla", "24681357", count=33)
    write_first_lock(lab, "drop")  # as an earlier run did: the install is then the task's second command
    lab.fault("drop", "slow", "--seconds", "0.5")

    def drop_the_install():  # runs after the read, before the install arrives
        lab.fault("drop", "drop_connection", "--count", "1")
        lab.clear_faults("drop", "slow")
    watcher = lab.after_next_command("drop", drop_the_install)
    lost = lab.run("drop", "cal_pack", declaration)
    watcher.join()
    assert lost.rc != 0 and "InstallAgreementLicenseKeyPack" in lost.methods("drop")
    assert len([p for p in packs(lab, "drop").values() if p["TotalLicenses"] == 33]) == 1  # it did install
    assert any(name.startswith("pending.") for name in markers(lab, "drop"))
    rerun = lab.run("drop", "cal_pack", declaration)
    result = rerun.result()
    assert result["matched_by"] == "pending" and plan_actions(result) == ["lock", "mark"]
    assert not any(name.startswith("pending.") for name in markers(lab, "drop"))
    assert not any(m.startswith("Install") for m in rerun.methods("drop"))
    assert sorted(packs(lab, "drop")) == [2, result["key_pack_id"]]  # exactly one pack, and the built-in one
    assert lab.run("drop", "cal_pack", declaration).result()["matched_by"] == "marker"


def test_failed_installs_leave_nothing_to_confuse_the_next_run(lab):
    """A Clearinghouse failure, then a 'success' without a KeyPackId: each fails clearly, and the next run
    installs the pack exactly once, never taking the built-in pack for it."""
    declaration = agreement("select", "1357913", license_type="per_user", count=10)
    fail = ("cim_fail", "--class", "Win32_TSLicenseKeyPack", "--method", "InstallAgreementLicenseKeyPack")
    lab.fault("flaky", *fail)
    refused = lab.run("flaky", "cal_pack", declaration)
    assert refused.statuses() == ["failed"]
    assert refused.result()["msg"].startswith(
        "Could not install select CAL pack (2022, per_user, 10 CALs): Win32_TSLicenseKeyPack."
        "InstallAgreementLicenseKeyPack in root/cimv2 returned 0x80041001 WBEM_E_FAILED (Generic failure). "
        "Installing CALs validates the pack with the Microsoft Clearinghouse over the Internet")
    assert "program: license_key_pack_id" in refused.result()["msg"]
    # Windows refused: nothing was installed, so no pending marker may make a later run adopt a pack someone
    # installs by hand (finding 2 of issue 9).
    assert not any(name.startswith("pending.") for name in markers(lab, "flaky"))
    lab.fault("flaky", *fail, "--code", "0")
    silent = lab.run("flaky", "cal_pack", declaration)
    assert silent.statuses() == ["failed"]
    assert silent.result()["msg"] == (
        "InstallAgreementLicenseKeyPack returned success but no KeyPackId, and no key pack appeared, so the module "
        "cannot tell which key pack it installed. Nothing was installed: run the task again.")
    assert not any(name.startswith("pending.") for name in markers(lab, "flaky"))
    assert sorted(packs(lab, "flaky")) == [2]
    installed = lab.run("flaky", "cal_pack", declaration).result()
    assert installed["matched_by"] == "installed" and installed["key_pack_id"] != 2
    assert sorted(packs(lab, "flaky")) == [2, installed["key_pack_id"]]
    assert lab.run("flaky", "cal_pack", declaration).result()["changed"] is False


# --- refusals -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("host, message", [
    ("notact", "CAL packs can be installed only on an activated license server, and NOTACT is not_activated: "
               "activate it first (remote_desktop.licensing.license_server with activation: activated)"),
    ("bare", "BARE is not a license server: install the RD Licensing role service first "
             "(remote_desktop.licensing.license_server)"),
])
def test_refuses_on_a_server_that_cannot_hold_packs(lab, host, message):
    before = lab.state(host)
    run = lab.run(host, "cal_pack", agreement("select", "1234567"))
    assert run.statuses() == ["failed"] and run.result()["msg"] == message
    assert len(run.commands(host)) == 1 and lab.state(host) == before


BAD = [  # (declaration, message after "Invalid options for remote_desktop.licensing.cal_pack: ")
    ({"program": "retail", "license_code": "{{ short_code }}"},
     "license_code must be 25 letters and digits (the 5 x 5 code on the license pack); hyphens and spaces are "
     "ignored (got 24 characters)"),
    (open_license(license_number="{{ short_number }}"),
     "license_number must be 8 digits from the Open License confirmation; hyphens and spaces are ignored "
     "(got 7 characters)"),
    (open_license(authorization_number="{{ short_authorization }}"),
     "authorization_number must be 15 letters and digits from the Open License confirmation; hyphens and spaces "
     "are ignored (got 14 characters)"),
    (agreement("select", "{{ lettered_agreement }}"),
     "agreement_number must be the enrollment or agreement number: digits only, 5 to 10, usually 7; hyphens and "
     "spaces are ignored (it contains a letter, and only digits are accepted)"),
    ({"program": "license_key_pack_id", "key_pack_id": "{{ short_key_pack_id }}"},
     "key_pack_id must be the 35-character license key pack ID from web or telephone installation; hyphens and "
     "spaces are ignored (got 34 characters)"),
    ({"program": "retail"}, "program: retail needs license_code"),
    (dict(agreement("select", "1234567"), license_code="{{ short_code }}"),
     "license_code is not used with program: select (it takes agreement_number)"),
    (without(agreement("select", "1234567"), "count"), "program: select needs count"),
    (agreement("select", "1234567", count=0), "count must be between 1 and 4294967294, got 0"),
]
BAD_VALUES = {"short_code": "BADC0-DE123-45678-90123-4567", "short_number": "4815162", "short_authorization":
              "OPN4AUTH8X15CH", "lettered_agreement": "31A1592", "short_key_pack_id": "KPI7M3QX8R2WB5N9TL4D6HC1V8YJ2FK071"}


def test_bad_formats_fail_before_any_winrm_command(lab):
    run = lab.tasks("notact", *[("cal_pack", declaration) for declaration, message in BAD],
                    vars=BAD_VALUES, ignore_errors=True, extra=("-vvvv",))
    assert run.statuses() == ["failed"] * len(BAD)
    assert [r["msg"] for r in run.results()] == [
        "Invalid options for remote_desktop.licensing.cal_pack: " + message for declaration, message in BAD]
    assert run.commands("notact") == []
    assert leaks({"output": run.output}, [form for value in BAD_VALUES.values()
                                          for form in (value, value.replace("-", ""))]) == []


# --- concurrent runs, lost keys, the first design, rotation, issued licenses ---------------------------------

def test_three_runs_at_once_install_exactly_one_pack(lab):
    """Finding 3 of issue 9: runs 0.3 s apart both installed. Three runs of one declaration start together on
    a slowed host, so that every read happens before any install: one installs, the others lose the lock or
    wait, and all succeed."""
    declaration = agreement("select", "4242424", count=42)
    lab.fault("race", "slow", "--seconds", "0.3")
    runs = [None] * 3

    def job(i):
        runs[i] = lab.run("race", "cal_pack", declaration)
    threads = [threading.Thread(target=job, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lab.clear_faults("race")
    assert [run.rc for run in runs] == [0, 0, 0], [run.output[-2000:] for run in runs]
    assert len([p for p in packs(lab, "race").values() if p["TotalLicenses"] == 42]) == 1
    results = [run.result() for run in runs]
    assert [r["matched_by"] for r in results].count("installed") == 1
    assert len({r["key_pack_id"] for r in results}) == 1
    names = markers(lab, "race")
    assert len([n for n in names if n.startswith("pack.")]) == 1 and not [n for n in names if n.startswith("pending.")]


def test_a_lost_marker_key_stops_the_module_with_a_recovery(lab, nine):
    """Finding 4 of issue 9: with another key the markers prove nothing; the module must not install again."""
    before = lab.state("ls1")
    declaration = dict(DECLARED[2], agreement_number=NUMBERS["vault_select_agreement"],
                       marker_key="a-new-key-nobody-told-the-servers")
    run = lab.run("ls1", "cal_pack", declaration)
    assert run.statuses() == ["failed"]
    message = run.result()["msg"]
    assert "were written with a marker_key this task was not given" in message
    assert "If the key is lost: delete the values whose names contain" in message
    assert lab.state("ls1") == before and len(run.commands("ls1")) == 1


def test_first_design_markers_migrate_on_the_next_run_without_reinstalling(lab):
    number = "8080808"
    declared = agreement("school_agreement", number, version="2019", license_type="per_user", count=8)
    pack_id = install_by_hand(lab, "legacy", agreement_type=3, number=number, version=6, product_type=1, count=8)
    salt = "5a17" * 8
    want = cal_pack.validate(dict(dict.fromkeys(cal_pack.ARGUMENT_SPEC), **dict(
        declared, marker_key=NUMBERS["vault_cal_pack_marker_key"], previous_marker_keys=[], force=False)))
    lines = ["%d=%s" % (pack_id, cal_pack.legacy_fingerprint(want, salt)), "99=%s" % ("0" * 64)]
    lab.seed("legacy", {"registry": {MARKERS: {
        "salt": {"name": "Salt", "type": "REG_SZ", "data": salt},
        "keypackmarkers": {"name": "KeyPackMarkers", "type": "REG_MULTI_SZ", "data": lines}}}})
    run = lab.run("legacy", "cal_pack", declared)
    result = run.result()
    assert result["matched_by"] == "marker" and plan_actions(result) == ["prepare", "lock", "migrate", "prune"]
    assert not any(m.startswith("Install") for m in run.methods("legacy"))
    names = markers(lab, "legacy")
    assert [n.split(".")[1] for n in names if n.startswith("pack.")] == [str(pack_id)]
    assert "Salt" not in names and "KeyPackMarkers" not in names  # the last line gone, the salt with it
    assert lab.run("legacy", "cal_pack", declared).result()["changed"] is False

    # A pack with licenses issued is not removed unless forced (finding 2).
    state = lab.state("legacy")["license_server"]["key_packs"]
    for p in state:
        if p["KeyPackId"] == pack_id:
            p.update(IssuedLicenses=3, AvailableLicenses=5)
    lab.seed("legacy", {"license_server": {"key_packs": state}})
    refused = lab.run("legacy", "cal_pack", dict(declared, state="absent"))
    assert refused.result()["msg"] == (f"key pack {pack_id} has 3 licenses issued to clients; removing it takes them "
                                       "away. Nothing was changed: give force: true to remove it anyway")
    assert pack_id in packs(lab, "legacy")
    forced = lab.run("legacy", "cal_pack", dict(declared, state="absent", force=True))
    assert forced.result()["changed"] is True and pack_id not in packs(lab, "legacy")


def test_a_marker_written_before_labels_gains_its_label_on_the_next_run(lab):
    """A pack marked by a version of the collection that kept no label: licensing_info shows no program; the next
    run of its declaration adds the label (changed, predicted by check mode, the only change in the diff), without
    reinstalling; then the program is shown and a further run changes nothing."""
    declared = agreement("campus_agreement", "5151515", version="2019", license_type="per_user", count=15)
    pack_id = lab.run("relabel", "cal_pack", declared).result()["key_pack_id"]
    label = f"label.{pack_id}.campus_agreement.2019.per_user.15"
    assert label in markers(lab, "relabel")
    lab.by_hand("relabel", {"kind": "cim_invoke", "namespace": "root/default", "class": "StdRegProv",
                            "method": "DeleteValue", "arguments": {"hDefKey": 2147483650,
                                                                   "sSubKeyName": cal_pack.MARKER_KEY,
                                                                   "sValueName": label}})
    old = markers(lab, "relabel")
    assert label not in old and any(n.startswith(f"pack.{pack_id}.") for n in old)

    def program():
        found = lab.run("relabel", "licensing_info").result()["license_server"]["key_packs"]
        return [p["program"] for p in found if p["key_pack_id"] == pack_id]
    assert program() == [None]

    before = lab.state("relabel")
    check = lab.run("relabel", "cal_pack", declared, check=True).result()
    assert lab.state("relabel") == before
    real_run = lab.run("relabel", "cal_pack", declared)
    real = real_run.result()
    for result in (check, real):
        assert (result["changed"], result["matched_by"], plan_actions(result)) == (True, "marker", ["lock", "label"])
        diff = result["diff"]
        assert (diff["before"]["label"], diff["after"]["label"]) == (None, "campus_agreement, 2019, per_user, 15 CALs")
        assert without(diff["before"], "label") == without(diff["after"], "label")
        assert result["plan"][1]["description"] == (f"Record in plain form that key pack {pack_id} is a campus_agreement "
                                                    "CAL pack (2019, per_user, 15 CALs; never a number)")
    assert not any(m.startswith("Install") for m in real_run.methods("relabel"))
    assert label in markers(lab, "relabel") and sorted(packs(lab, "relabel")) == sorted(before_ids(before))
    assert program() == ["campus_agreement"]
    assert lab.run("relabel", "cal_pack", declared).result()["changed"] is False
    assert "5151515" not in str(check) + str(real) + real_run.output
    removed = lab.run("relabel", "cal_pack", dict(declared, state="absent")).result()
    assert removed["changed"] is True and not [n for n in markers(lab, "relabel") if n.startswith(f"label.{pack_id}.")]


def before_ids(state: dict) -> list[int]:
    return [p["KeyPackId"] for p in state["license_server"]["key_packs"]]


def test_a_new_marker_key_is_rotated_in_and_markers_of_removed_packs_are_pruned(lab):
    old, new = NUMBERS["vault_cal_pack_marker_key"], "the-new-marker-key-from-the-vault-2027"
    first = agreement("spla", "12121212", count=12)
    second = agreement("spla", "34343434", count=34)
    ids = [lab.run("rotate", "cal_pack", d).result()["key_pack_id"] for d in (first, second)]
    rotated = lab.run("rotate", "cal_pack", dict(first, marker_key=new, previous_marker_keys=[old])).result()
    assert rotated["changed"] is True and plan_actions(rotated) == ["lock", "rekey"]
    # second still has the old key's marker: without previous_marker_keys the module stops
    assert lab.run("rotate", "cal_pack", dict(first, marker_key=new)).statuses() == ["failed"]
    lab.by_hand("rotate", {"kind": "cim_invoke", "namespace": "root/cimv2", "class": "Win32_TSLicenseKeyPack",
                           "method": "UninstallLicenseKeyPackWithId", "arguments": {"KeyPackId": ids[1]}})
    pruned = lab.run("rotate", "cal_pack", dict(first, marker_key=new, previous_marker_keys=[old])).result()
    assert plan_actions(pruned) == ["lock", "prune"]
    assert lab.run("rotate", "cal_pack", dict(first, marker_key=new)).result()["changed"] is False
    assert [n.split(".")[1] for n in markers(lab, "rotate") if n.startswith("pack.")] == [str(ids[0])]


# --- the marker key's ACL: SYSTEM and Administrators only (issue 9) ----------------------------------------

USERS, ADMINISTRATORS = "S-1-5-32-545", "S-1-5-32-544"
RESTRICTED = "D:P(A;CI;0xf003f;;;S-1-5-18)(A;CI;0xf003f;;;S-1-5-32-544)"
INHERITED = "D:AI(A;CIID;0xf003f;;;S-1-5-18)(A;CIID;0xf003f;;;S-1-5-32-544)(A;CIID;0x20019;;;S-1-5-32-545)"


def readable_by(lab, host, sid) -> bool:
    """Whether the lab's model of the key's DACL lets `sid` read the marker names."""
    return windows.can_read_values(Host(lab.state(host)), MARKERS, sid)


def test_the_first_install_leaves_the_marker_key_to_system_and_administrators(lab, nine):
    assert not readable_by(lab, "ls1", USERS) and readable_by(lab, "ls1", ADMINISTRATORS)
    first = nine.real.results()[0]
    methods = [op["method"] for op in first["plan"][0]["operations"]]
    assert methods == ["CreateKey", "SetSecurityDescriptor", "SetStringValue"]
    assert all(r["diff"]["after"]["marker_key_access"] == RESTRICTED for r in nine.real.results())
    assert nine.real.results()[0]["diff"]["before"]["marker_key_access"] is None  # no key yet


def test_a_marker_key_readable_by_users_is_restricted_once(lab):
    declared = agreement("spla", "56565656", count=7)
    assert lab.run("acl", "cal_pack", declared).result()["changed"] is True
    # The key as the previous version of the collection left it: inheriting HKLM\SOFTWARE's DACL.
    lab.seed("acl", {"registry_security": {MARKERS: {"protected": False, "aces": []}}})
    before = lab.state("acl")
    assert readable_by(lab, "acl", USERS)

    check = lab.run("acl", "cal_pack", declared, check=True).result()
    assert lab.state("acl") == before
    assert check["changed"] is True and plan_actions(check) == ["lock", "secure"]
    assert (check["diff"]["before"]["marker_key_access"], check["diff"]["after"]["marker_key_access"]) == (
        INHERITED, RESTRICTED)

    real = lab.run("acl", "cal_pack", declared).result()
    assert real["changed"] is True and plan_actions(real) == ["lock", "secure"]
    assert without(real["diff"]["after"], "key_pack_id") == without(check["diff"]["after"], "key_pack_id")
    assert not readable_by(lab, "acl", USERS) and readable_by(lab, "acl", ADMINISTRATORS)
    unchanged = ("registry", "registry_security")
    assert without(lab.state("acl"), *unchanged) == without(before, *unchanged)

    again = lab.run("acl", "cal_pack", declared).result()
    assert again["changed"] is False and again["plan"] == []
    assert again["diff"]["before"]["marker_key_access"] == again["diff"]["after"]["marker_key_access"] == RESTRICTED


# --- pending markers no install is behind (issue 9 remainder) ------------------------------------------------

def pending_marker(declaration: dict, highest: int, started: int) -> str:
    want = cal_pack.validate(dict(dict.fromkeys(cal_pack.ARGUMENT_SPEC), **dict(
        declaration, marker_key=NUMBERS["vault_cal_pack_marker_key"], previous_marker_keys=[], force=False)))
    return "pending.%s.%s.%d.%d" % (want["key_id"], want["macs"][want["key_id"]], highest, started)


def seed_names(lab, host, *names):
    lab.seed(host, {"registry": {MARKERS: {n.lower(): {"name": n, "type": "REG_SZ", "data": ""} for n in names}}})


def test_pending_markers_no_install_is_behind_are_pruned_by_the_next_run(lab):
    """A job killed after writing its pending marker (declaration `died`), and an install recorded whose last
    delete was lost (declaration `kept`): the next run of any declaration forgets both; a pending marker with an
    unmarked pack above it stays for its own declaration to adopt."""
    kept, died, adopt = (agreement("spla", n, count=c) for n, c in (("1010101", 4), ("2020202", 6), ("3030303", 8)))
    kept_id = lab.run("stale", "cal_pack", kept).result()["key_pack_id"]
    now = int(time.time())
    leftover = pending_marker(kept, kept_id - 1, now - 30)
    dead = pending_marker(died, kept_id, now - cal_pack.PENDING_LEASE - 60)
    seed_names(lab, "stale", leftover, dead)
    run = lab.run("stale", "cal_pack", kept).result()
    assert run["changed"] is True and run["matched_by"] == "marker" and plan_actions(run) == ["lock", "prune"]
    assert not any(n.startswith("pending.") for n in markers(lab, "stale"))

    interrupted = pending_marker(adopt, kept_id, now - cal_pack.PENDING_LEASE - 60)
    seed_names(lab, "stale", interrupted)
    by_hand = install_by_hand(lab, "stale", agreement_type=4, number="3030303", version=7, product_type=0, count=8)
    assert lab.run("stale", "cal_pack", kept).result()["changed"] is False  # a pack above it: it stays
    assert interrupted in markers(lab, "stale")
    adopted = lab.run("stale", "cal_pack", adopt).result()
    assert (adopted["matched_by"], adopted["key_pack_id"]) == ("pending", by_hand)
    assert not any(n.startswith("pending.") for n in markers(lab, "stale"))
    assert lab.run("stale", "cal_pack", kept).result()["changed"] is False


# --- a changed count (issue 12 item 5) --------------------------------------------------------------------------

def test_a_changed_count_warns_and_the_documented_way_changes_the_pack(lab):
    """The user raises count from 5 to 9 in the declaration: the plan, the diff and a warning say a second pack
    will be installed beside the first; declaring the old one absent (docs/cal_packs.md) leaves only the new."""
    old = agreement("enterprise_agreement", "4242424", count=5)
    new = dict(old, count=9)
    first = lab.run("stale", "cal_pack", old).result()["key_pack_id"]
    check = lab.run("stale", "cal_pack", new, check=True).result()
    assert check["changed"] is True and check["diff"]["after"]["same_number_packs"] == [first]
    assert check["plan"][0]["description"] == (f"Install enterprise_agreement CAL pack (2022, per_device, 9 CALs) "
                                               f"beside key pack {first} of the same program and number")
    assert check["warnings"] == [
        f"stale: Key pack {first} was recorded for this program and number with other attributes (2022, per_device, "
        "5 CALs), and this declaration (2022, per_device, 9 CALs) matches no pack, so it installs a second pack "
        "beside it. To change a pack, declare the old one as it was installed with state: absent, and the new one "
        "with state: present (docs/cal_packs.md, Changing a pack)."]
    assert "4242424" not in str(check)
    changed = lab.tasks("stale", ("cal_pack", dict(old, state="absent")), ("cal_pack", new))
    assert changed.statuses() == ["changed", "changed"]
    assert [r.get("warnings", []) for r in changed.results()] == [[], []]
    assert first not in packs(lab, "stale")
    assert packs(lab, "stale")[changed.results()[1]["key_pack_id"]]["TotalLicenses"] == 9


# --- the license_server role: a failed pack named although the loop is no_log (issue 12 item 8) ----------------

def test_the_role_names_a_failed_pack_by_its_safe_label_and_role_variables(lab):
    packs_declared = [
        agreement("spla", "{{ good }}", count=2),
        agreement("select", "{{ lettered }}", count=3),
        agreement("select", "{{ too_new }}", version="2025", count=4),
    ]
    numbers = {"good": "7070707", "lettered": "12a4567", "too_new": "8080809"}
    play = [{"name": "role", "hosts": "stale", "gather_facts": False, "vars": dict(numbers, **{
        "license_server_activation": "unmanaged", "license_server_cal_packs": packs_declared,
        "license_server_cal_pack_marker_key": NUMBERS["vault_cal_pack_marker_key"]}),
        "roles": ["remote_desktop.licensing.license_server"]}]
    run = lab.play(play)
    assert run.rc != 0, run.output
    named = [t for t in run.tasks if t["task"].endswith("Name the CAL packs that failed")]
    assert [t["status"] for t in named] == ["failed"]
    assert named[0]["result"]["msg"] == (
        "CAL pack 'select 2022 per_device 3 present' (item 2 of license_server_cal_packs) failed: Invalid options for "
        "remote_desktop.licensing.cal_pack: license_server_cal_agreement_number must be the enrollment or agreement "
        "number: digits only, 5 to 10, usually 7; hyphens and spaces are ignored (it contains a letter, and only "
        "digits are accepted) "
        "CAL pack 'select 2025 per_device 4 present' (item 3 of license_server_cal_packs) failed: 2025 CALs cannot be "
        "installed on this license server: it runs Windows Server 2022, and a license server takes CALs of its own "
        "Windows Server version and earlier (a 2022 license server takes 2016, 2019 and 2022 CALs; Microsoft's RDS "
        "CAL version compatibility table). Nothing was changed. Install them on a Windows Server 2025 license "
        "server, or declare the license_server_cal_product_version of CALs this server takes.")
    assert run.statuses()[-2:] == ["failed", "failed"]  # the loop (its failures ignored, to be named) and the report
    assert any(p["TotalLicenses"] == 2 for p in packs(lab, "stale").values())  # the good pack is installed
    assert leaks({"output": run.output, "results": str(run.tasks)}, sorted(numbers.values())) == []
