"""license_server's planner: validation, the role and configuration plans, predictions."""

import copy

import pytest

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _license_server as ls
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._plan import PlanError

CONTACT = {"first_name": "Ada", "last_name": "Lovelace", "company": "Example", "country_region": "Denmark"}


def args(**overrides):
    base = dict((k, spec.get("default")) for k, spec in ls.ARGUMENT_SPEC.items())
    base.update(overrides)
    return base


def have(installed=True, activated=False, contact=None, domain=True, tools=True, **ls_state):
    features = {"RDS-Licensing": installed, "RDS-Licensing-UI": installed and tools,
                "RSAT-RDS-Licensing-Diagnosis-UI": installed and tools, "RDS-RD-Server": False}
    section = {"installed": installed, "service": {"state": "Running", "start_mode": "Auto"} if installed else None,
               "activation_status": ("activated" if activated else "not_activated") if installed else None,
               "contact": dict(dict.fromkeys(CONTACT, ""), **(contact or {})) if installed else None,
               "scope": "domain" if installed else None, "published_in_ad": False if installed else None,
               "in_license_servers_group": False if installed else None, "key_packs": []}
    section.update(ls_state)
    return {"host": {"name": "LS1", "part_of_domain": domain, "workgroup": None if domain else "WORKGROUP"},
            "features": features, "roles": {"license_server": installed}, "license_server": section}


def actions(plan):
    return [step.action for step in plan.steps]


def test_license_server_id_is_normalised_and_never_echoed():
    want = ls.validate(args(activation="activated", activation_method="license_server_id",
                            license_server_id="abcde-" * 7))
    assert want["license_server_id"] == "ABCDE" * 7
    with pytest.raises(ValueError) as e:
        ls.validate(args(activation="activated", activation_method="license_server_id", license_server_id="SECRET1"))
    assert "35-character" in str(e.value) and "got 7 characters" in str(e.value) and "SECRET1" not in str(e.value)


@pytest.mark.parametrize("overrides, message", [
    ({"activation": "activated", "activation_method": "license_server_id"}, "license_server_id is required"),
    ({"license_server_id": "A" * 35}, "license_server_id is used only with"),
    ({"state": "absent", "scope": "domain"}, "state: absent removes the role service; scope cannot be set"),
    ({"ready_timeout": -1}, "ready_timeout must be 0 or more seconds"),
    ({"activation": "deactivated", "reactivation_reason": "redeployed"}, "reactivation_reason cannot be used"),
])
def test_bad_combinations(overrides, message):
    with pytest.raises(ValueError, match=message):
        ls.validate(args(**overrides))


def test_bare_host_installs_role_and_tools():
    plan = ls.plan_role(ls.validate(args()), have(installed=False))
    (step,) = plan.steps
    assert step.batch.operations[0]["names"] == ["RDS-Licensing", "RDS-Licensing-UI", "RSAT-RDS-Licensing-Diagnosis-UI"]


def test_server_core_gets_the_role_alone():
    core = have(installed=False)
    del core["features"]["RDS-Licensing-UI"], core["features"]["RSAT-RDS-Licensing-Diagnosis-UI"]
    assert ls.plan_role(ls.validate(args()), core).steps[0].batch.operations[0]["names"] == ["RDS-Licensing"]


def test_configuration_in_order_and_only_what_differs():
    want = ls.validate(args(contact=dict(CONTACT, email=None), activation="activated", scope="forest",
                            publish_in_ad=True, ad_group_membership=True))
    plan = ls.plan_config(want, have(contact={"first_name": "Ada"}))
    assert actions(plan) == ["contact", "activate", "scope", "publish", "group"]
    assert plan.steps[0].batch.operations[0]["properties"] == {"LastName": "Lovelace", "Company": "Example",
                                                               "CountryRegion": "Denmark"}
    assert plan.steps[2].batch.operations[0]["arguments"] == {"ServerRole": 2}


def test_nothing_to_do_is_an_empty_plan():
    want = ls.validate(args(contact=CONTACT, activation="activated", scope="domain"))
    assert ls.plan_config(want, have(activated=True, contact=CONTACT)).steps == []


def test_automatic_activation_needs_the_four_contact_fields():
    with pytest.raises(PlanError, match="missing: contact.company, contact.country_region"):
        ls.plan_config(ls.validate(args(activation="activated", contact={"first_name": "A", "last_name": "B"})),
                       have())


def test_license_server_id_activation_is_a_secret_argument():
    want = ls.validate(args(activation="activated", activation_method="license_server_id", license_server_id="B" * 35))
    (step,) = ls.plan_config(want, have()).steps
    assert step.batch.operations[0]["secret_arguments"] == {"sLicenseServerId": "activate.1.sLicenseServerId"}
    assert "B" * 35 not in repr(step.report())


def test_domain_options_need_a_domain():
    with pytest.raises(PlanError, match="scope: domain needs the host to be joined to a domain; LS1 is in the "
                                        "workgroup WORKGROUP"):
        ls.plan_config(ls.validate(args(scope="domain")), have(domain=False, scope="workgroup"))


def test_service_is_started_and_made_automatic():
    plan = ls.plan_config(ls.validate(args()), have(service={"state": "Stopped", "start_mode": "Manual"}))
    assert actions(plan) == ["service_start_mode", "service_start"]


def test_absent_deactivates_then_removes():
    want = ls.validate(args(state="absent", activation="deactivated"))
    host = have(activated=True, contact=CONTACT)
    assert actions(ls.plan_config(want, host)) == ["deactivate"]
    assert actions(ls.plan_role(want, host)) == ["remove_role"]


def test_absent_while_activated_warns():
    assert "deactivate it first" in ls.plan_role(ls.validate(args(state="absent")), have(activated=True)).warnings[0]


def test_check_mode_plans_the_configuration_on_a_fresh_role():
    want = ls.validate(args(contact=CONTACT, activation="activated"))
    bare = have(installed=False)
    fresh = ls.after_install(want, bare)
    plan = ls.plan_role(want, bare)
    plan.extend(ls.plan_config(want, fresh))
    assert actions(plan) == ["install_role", "contact", "activate"]
    after = ls.predict(want, bare, plan)
    assert after["state"] == "present" and after["activation"] == "activated" and after["contact"]["company"] == "Example"
    assert bare == have(installed=False)  # planning never changes its input


def test_predict_matches_what_the_steps_do():
    want = ls.validate(args(scope="forest", publish_in_ad=True, ad_group_membership=True))
    host = have()
    plan = ls.plan_config(want, host)
    expected = copy.deepcopy(ls.view(host))
    expected.update(scope="forest", published_in_ad=True, in_license_servers_group=True)
    assert ls.predict(want, host, plan) == expected


CAL_PACK = {"key_pack_id": 4, "built_in": False, "product_version": "2022", "license_type": "per_user", "total": 25}
BUILT_IN_PACK = {"key_pack_id": 2, "built_in": True, "product_version": "built_in", "license_type": "built_in",
                 "total": 4294967295}


def test_absent_refuses_to_remove_a_server_holding_cal_packs_unless_forced():
    """Finding 5 of issue 9: the role went with its CAL packs, after only a warning about activation."""
    host = have(key_packs=[BUILT_IN_PACK, CAL_PACK])
    with pytest.raises(PlanError) as e:
        ls.plan_role(ls.validate(args(state="absent")), host)
    assert str(e.value) == (
        "LS1 holds 1 CAL key pack(s) (4 (2022 per_user, 25 CALs)): removing the RD Licensing role service takes them "
        "away, and the CALs must then be reinstalled or recovered through the Microsoft Clearinghouse. Nothing was "
        "changed; migrate the CALs first, or give force: true to remove it anyway.")
    forced = ls.plan_role(ls.validate(args(state="absent", force=True)), host)
    assert actions(forced) == ["remove_role"]
    assert "force: true removes the license server with its CAL key packs (4 (2022 per_user, 25 CALs))." in forced.warnings
    # the built-in pack alone is no reason to refuse
    assert actions(ls.plan_role(ls.validate(args(state="absent")), have(key_packs=[BUILT_IN_PACK]))) == ["remove_role"]


def test_absent_refuses_when_the_key_packs_cannot_be_read():
    host = dict(have(), problems=[{"part": "key_packs", "message": "access denied"}])
    with pytest.raises(PlanError, match="the key packs could not be read \\(access denied\\)"):
        ls.plan_role(ls.validate(args(state="absent")), host)


def test_force_only_with_absent():
    with pytest.raises(ValueError, match="force is used only with state: absent"):
        ls.validate(args(force=True))


# --- the second hop -----------------------------------------------------------------------------------

class _Result:
    """The questions second_hop_refusal asks of a bridge result."""

    def __init__(self, ok, return_value=None, hresult=None):
        self.ok, self.return_value, self.error = ok, return_value, {"hresult": hresult} if hresult else {}


@pytest.mark.parametrize("result, domain, expected", [
    (_Result(False, return_value=0x80070005), True, 0x80070005),
    (_Result(False, return_value=0x80041003), True, 0x80041003),
    (_Result(False, hresult=0x80070520), True, 0x80070520),
    (_Result(False, return_value=-2147024891), True, 0x80070005),  # a signed HRESULT reads the same
    (_Result(False, return_value=0x80041001), True, None),  # WBEM_E_FAILED: not the second hop
    (_Result(True), True, None),
    (_Result(False, return_value=0x80070005), False, None),  # a workgroup host has no domain controller
])
def test_the_domain_read_tells_a_second_hop_refusal(result, domain, expected):
    assert ls.second_hop_refusal(have(domain=domain), {"group": result}) == expected


def test_no_domain_read_no_refusal():
    assert ls.second_hop_refusal(have(), {}) is None


@pytest.mark.parametrize("overrides", [{"scope": "domain"}, {"scope": "forest"}, {"publish_in_ad": True},
                                       {"ad_group_membership": True}])
def test_a_domain_step_after_a_refused_read_is_refused_before_any_change(overrides):
    host = dict(have(scope="workgroup"), second_hop=0x80070005)
    want = ls.validate(args(contact=CONTACT, **overrides))
    want["connection"] = {"transport": "ntlm", "become": False, "become_user": None}
    with pytest.raises(PlanError) as e:
        ls.plan(want, host)
    message = str(e.value)
    assert message.startswith("LS1 could not reach a domain controller as the account Ansible connects with: "
                              "IsLSinTSLSGroup, a read any domain account may make, was refused (0x80070005 "
                              "E_ACCESSDENIED). Nothing was changed")
    assert "this connection (transport ntlm, no become)" in message
    assert "become: true with become_method: runas and become_user the same account" in message


def test_without_domain_steps_a_refused_read_does_not_matter():
    host = dict(have(scope="domain"), second_hop=0x80070005)
    plan = ls.plan(ls.validate(args(contact=CONTACT, scope="workgroup")), host)
    assert actions(plan) == ["contact", "scope"]  # ChangeRole(0) reaches no domain controller


def test_the_message_names_become_when_it_was_used():
    connection = {"transport": "kerberos", "become": True, "become_user": "SYSTEM"}
    message = ls.second_hop_message("LS1", 0x80041003, ["Publish it"], connection)
    assert "this connection (transport kerberos, become as SYSTEM)" in message and "(publish it)" in message


def test_an_access_denied_call_mentions_the_second_hop():
    hint = ls._domain_hint("Domain Admins")
    assert "the second hop" in hint(_Result(False, return_value=0x80041003))
    assert "the second hop" not in hint(_Result(False, return_value=0x80041001))
