"""cal_pack end to end: ansible's winrm connection, the bridge, the lab.

ls1 gets a pack of each license program from playbooks/cal_packs.yml (the numbers come from a vars
file standing in for a vault); the other hosts each play one story about matching, failures and
refusals.
"""

from types import SimpleNamespace

import pytest
import yaml

from .support import PLAYBOOKS, ModuleLab, is_read, leaks, plan_actions, without

DOMAIN = "corp.example.com"
PLAYBOOK = PLAYBOOKS / "cal_packs.yml"
NUMBERS = yaml.safe_load((PLAYBOOKS / "vars" / "cal_pack_numbers.yml").read_text())
DECLARED = [task["remote_desktop.licensing.cal_pack"] for task in yaml.safe_load(PLAYBOOK.read_text())[0]["tasks"]]
KEY_PACK_TYPE = {"retail": "retail", "open_license": "open_license"}  # the others install volume packs
MARKERS = r"software\ansible\remotedesktoplicensing"
ACTIVATED = {"license_server": {"activation_status": 0, "license_server_id": "LSID" + "0" * 31}}


def secrets() -> list[str]:
    """Every number as written and as sent (hyphens removed)."""
    return sorted({form for value in NUMBERS.values() for form in (value, value.replace("-", ""))})


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
        "bare",                                     # not a license server
    )
    for host in ("ls1", "hand", "twins", "drop", "flaky"):
        lab.seed(host, ACTIVATED)
    yield lab
    lab.stop()


def packs(lab, host) -> dict[int, dict]:
    """The host's key packs by KeyPackId, as the lab holds them."""
    return {p["KeyPackId"]: p for p in lab.state(host)["license_server"]["key_packs"]}


def markers(lab, host) -> list[str]:
    value = lab.state(host)["registry"].get(MARKERS, {}).get("keypackmarkers")
    return value["data"] if value else []


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
    real = lab.play(PLAYBOOK, "--diff", "-vvvv")
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
    for check, real in zip(nine.check.results(), nine.real.results()):
        assert plan_actions(check) == plan_actions(real) == ["install", "mark"]
        absent = {"program": real["diff"]["after"]["program"], "state": "absent"}
        assert check["diff"]["before"] == real["diff"]["before"] == absent
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
    assert sorted(int(line.split("=")[0]) for line in markers(lab, "ls1")) == sorted(ids)  # no pending= left
    # An install costs two round trips after the read: pending marker and install, then the pack's marker.
    assert len(nine.real.commands("ls1")) == 3 * len(DECLARED)


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


def test_a_newer_version_than_the_server_warns(lab, nine):
    result = lab.run("ls1", "cal_pack", agreement("select", "1212121", version="2025"), check=True).result()
    assert result["warnings"] == [
        "ls1: 2025 CALs are newer than this license server (Windows Server 2022): a license server holds CALs of its "
        "own version and earlier, so Windows may refuse them."]


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
    assert plan_actions(check) == plan_actions(real) == ["uninstall"]
    assert check["diff"] == real["diff"] and real["diff"]["after"] == {"program": "select", "state": "absent"}
    assert real["key_pack_id"] == pack_id and real["changed"] is True
    assert packs(lab, "ls1") == without(before, pack_id)
    assert not any(line.startswith(f"{pack_id}=") for line in markers(lab, "ls1"))
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
        assert plan_actions(result) == ["mark"] and result["key_pack_id"] == hand_id
    assert check["diff"] == real["diff"]
    assert (real["diff"]["before"]["recorded"], real["diff"]["after"]["recorded"]) == (False, True)
    assert not any(m.startswith("Install") for m in run.methods("hand"))  # recognised, not installed again
    again = lab.run("hand", "cal_pack", declaration)
    assert again.result()["matched_by"] == "marker" and again.result()["changed"] is False
    assert sorted(packs(lab, "hand")) == [2, hand_id]


def test_absent_does_not_guess_between_identical_unmarked_packs(lab):
    for number in ("7770001", "7770002"):
        install_by_hand(lab, "twins", agreement_type=4, number=number, version=6, product_type=0, count=3)
    before = packs(lab, "twins")
    run = lab.run("twins", "cal_pack", agreement("spla", "7770003", version="2019", count=3, state="absent"))
    assert run.statuses() == ["failed"]
    assert run.result()["msg"] == (
        "2 unmarked key packs (3, 4) match 2019, per_device, 3 CALs; state: absent will not guess which one this "
        "declaration installed. Remove the right one in RD Licensing Manager.")
    assert packs(lab, "twins") == before and len(run.commands("twins")) == 1


def test_an_install_whose_answer_was_lost_is_finished_not_repeated(lab):
    declaration = agreement("spla", "24681357", count=33)
    lab.fault("drop", "slow", "--seconds", "0.5")

    def drop_the_install():  # runs after the read, before the install arrives
        lab.fault("drop", "drop_connection", "--count", "1")
        lab.clear_faults("drop", "slow")
    watcher = lab.after_next_command("drop", drop_the_install)
    lost = lab.run("drop", "cal_pack", declaration)
    watcher.join()
    assert lost.rc != 0 and "InstallAgreementLicenseKeyPack" in lost.methods("drop")
    assert len([p for p in packs(lab, "drop").values() if p["TotalLicenses"] == 33]) == 1  # it did install
    assert any(line.startswith("pending=") for line in markers(lab, "drop"))
    rerun = lab.run("drop", "cal_pack", declaration)
    result = rerun.result()
    assert result["matched_by"] == "pending" and plan_actions(result) == ["mark"]
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
    lab.fault("flaky", *fail, "--code", "0")
    silent = lab.run("flaky", "cal_pack", declaration)
    assert silent.statuses() == ["failed"]
    assert silent.result()["msg"].startswith("InstallAgreementLicenseKeyPack returned success but no KeyPackId")
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
     "agreement_number must be the enrollment or agreement number: digits only, usually 7; hyphens and spaces "
     "are ignored (got 7 characters)"),
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
