"""Role users are told about the variables they set: every role variable the base action names in a message
exists in that role's argument spec, and the renaming leaves plain words and option values alone."""

from pathlib import Path

import pytest
import yaml

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._action import (
    ROLE_VARIABLE_NAMES, ROLE_VARIABLES, role_words)

ROLES = Path(__file__).resolve().parents[3] / "roles"


def role_options(role):
    return yaml.safe_load((ROLES / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]


@pytest.mark.parametrize("module, role", sorted(ROLE_VARIABLES))
def test_every_renamed_option_is_a_variable_of_the_role(module, role):
    variables = role_options(role)
    names, anywhere = ROLE_VARIABLE_NAMES.get((module, role), ({}, ()))
    for option in ROLE_VARIABLES[(module, role)]:
        variable = names.get(option) or "%s_%s" % (role, option.split(".")[-1])
        assert variable in variables, option
        assert role_words("%s: x" % option, role, ROLE_VARIABLES[(module, role)], names, anywhere) == "%s: x" % variable


def test_messages_name_the_role_variables():
    names = ROLE_VARIABLES[("license_server", "license_server")]
    assert role_words("Automatic activation needs the contact fields contact.first_name, contact.last_name; "
                      "missing: contact.last_name", "license_server", names) == (
        "Automatic activation needs the contact fields license_server_first_name, license_server_last_name; "
        "missing: license_server_last_name")
    assert role_words(["license_server_id is required with activation_method: license_server_id"],
                      "license_server", names) == [
        "license_server_license_server_id is required with license_server_activation_method: license_server_id"]
    # A one-word option only as "option: value": "the discovery scope" stays as it is.
    assert role_words("Change the discovery scope to domain (scope: domain)", "license_server", names) == (
        "Change the discovery scope to domain (license_server_scope: domain)")
    session = ROLE_VARIABLES[("session_host", "session_host")]
    assert role_words("min_grace_days must be between 0 and 120", "session_host", session) == (
        "session_host_min_grace_days must be between 0 and 120")


def test_cal_pack_messages_name_the_survey_variables():
    """Issue 12 item 8: a role user set license_server_cal_count (or count in a license_server_cal_packs item),
    never the module option."""
    names, anywhere = ROLE_VARIABLE_NAMES[("cal_pack", "license_server")]
    options = ROLE_VARIABLES[("cal_pack", "license_server")]
    assert role_words("count must be between 1 and 4294967294, got 0", "license_server", options, names, anywhere) == (
        "license_server_cal_count must be between 1 and 4294967294, got 0")
    assert role_words("program: spla needs agreement_number", "license_server", options, names, anywhere) == (
        "license_server_cal_program: spla needs license_server_cal_agreement_number")
    assert role_words("marker_key is required", "license_server", options, names, anywhere) == (
        "license_server_cal_pack_marker_key is required")
    # the CAL pack's state is not the license server's: "the state of the server" stays a plain word
    assert role_words("the state of the server", "license_server", options, names, anywhere) == "the state of the server"
