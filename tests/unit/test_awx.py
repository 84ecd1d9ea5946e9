"""The AWX material is loadable, and cannot drift from the roles or from what AWX enforces.

playbooks/awx_setup.yml creates everything in AWX with awx.awx modules. Its tasks are rendered here
with Ansible's own templating (the play's variables, the loop items, omit) and every task's arguments
are validated against the argument spec of the awx.awx module it calls, read from the module's source
in build/collections (tools/install-awx-collection.sh takes it out of the `ansible` bundle on PyPI).
AWX is never called: what AWX itself enforces on top of the modules (survey specs, credential types,
notification configurations, launch-time variables) is written below as our own checks, after AWX's
validators (ansible/awx: awx/api/views JobTemplateSurveySpec._validate_spec_data, awx/main/models/mixins.py
SurveyJobTemplateMixin, awx/main/fields.py CredentialTypeInputField and CredentialTypeInjectorField,
awx/api/serializers.py NotificationTemplateSerializer.validate and CredentialTypeSerializer).

The surveys (playbooks/files/awx/surveys) map one to one to role variables: every role variable is
asked by the survey, carried by a credential type (playbooks/files/awx/credential_types) or listed in
EXCLUDED with the reason docs/awx.md gives. Every question is optional and has no default, so an
unanswered question sends nothing and the inventory's value stands.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import jinja2
import pytest
import yaml
from ansible.module_utils import basic
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.parsing.splitter import parse_kv

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOKS = ROOT / "playbooks"
AWX_FILES = PLAYBOOKS / "files" / "awx"
SURVEYS = AWX_FILES / "surveys"
CREDENTIAL_TYPES = AWX_FILES / "credential_types"
SETUP = PLAYBOOKS / "awx_setup.yml"
PROJECT = ROOT / "docs" / "awx" / "project"
DOCS = ROOT / "docs" / "awx.md"

# The roles each survey file asks about.
SURVEY_ROLES = {
    "license_servers.json": ["license_server"],
    "session_hosts.json": ["session_host"],
    "site.json": ["license_server", "session_host"],
    "report.json": ["report"],
    "cal_usage.json": ["report"],
}
# The roles each of the collection's playbooks runs.
PLAYBOOK_ROLES = {
    "site.yml": ["license_server", "session_host"],
    "license_servers.yml": ["license_server"],
    "session_hosts.yml": ["session_host"],
    "report.yml": ["report"],
    "info.yml": [],
    "cal_usage.yml": ["report"],
    "preflight.yml": [],
}
# Role variables that are neither survey questions nor credential inputs, and why (docs/awx.md says
# the same).
EXCLUDED = {
    "license_server_cal_packs": "a list of packs with their numbers: a vault-encrypted variable of the project or inventory",
    "license_server_no_log_cal_packs": "a debugging switch that would print the numbers in the job output",
    "session_host_license_servers": "a list: the inventory groups decide, or a host or group variable",
    "session_host_allow_per_user_in_workgroup": "an exception to Microsoft's licensing rules, decided per host in the"
                                                " inventory, not per job",
    "report_results": "the results of the play itself, never typed in",
    "report_hosts": "the hosts of the play itself; --limit (prompted at launch) narrows them",
    "report_result_var": "the variable the report playbook registers, fixed by the playbook",
    "report_parts": "the slices' published report data, carried by a workflow from the sliced job (docs/awx_slicing.md)",
    "report_parts_expected": "how many slices the merge waits for: part of the sliced workflow (docs/awx_slicing.md)",
    "license_server_remove_with_cal_packs": "removing a license server with its CAL packs is never one menu "
                                            "choice: set it deliberately in the inventory or extra vars",
    "license_server_cal_pack_previous_marker_keys": "a list of earlier marker keys, only while rotating: a "
                                                    "vault-encrypted variable of the project or inventory",
    "report_usage_results": "the cal_usage results of the play itself, never typed in",
    "report_usage_var": "the variable the cal_usage playbook registers, fixed by the playbook",
    "report_user_names": "how personal data is shown: decided once for the organisation in the inventory, not per job",
}
# Modules of the setup playbook that are not awx.awx, and why they are there.
OTHER_MODULES = {"ansible.builtin.assert": "checks the Windows account is given before AWX is touched"}

# --- AWX's rules, as our own checks ---------------------------------------------------------------------

# awx/main/constants.py SURVEY_TYPE_MAPPING: the question types and the Python type of their default.
SURVEY_TYPES = {"text": str, "textarea": str, "password": str, "multiplechoice": str, "multiselect": str,
                "integer": int, "float": (float, int)}
ANSIBLE_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")  # no dots: ansible/awx#14848


def survey_spec_errors(survey):
    """What AWX's POST survey_spec refuses (JobTemplateSurveySpec._validate_spec_data), as messages."""
    errors = []
    for field, kind in (("name", str), ("description", str), ("spec", list)):
        if not isinstance(survey.get(field), kind):
            errors.append("field %s missing or not a %s" % (field, kind.__name__))
    if errors:
        return errors
    if not survey["spec"]:
        errors.append("'spec' doesn't contain any items")
    seen = set()
    for index, item in enumerate(survey["spec"]):
        if not isinstance(item, dict):
            errors.append("question %d is not an object" % index)
            continue
        missing = [field for field in ("type", "question_name", "variable", "required")
                   if not isinstance(item.get(field), bool if field == "required" else str)]
        if missing:
            errors.append("question %d: %s missing or of the wrong type" % (index, ", ".join(missing)))
            continue
        if item["variable"] in seen:
            errors.append("question %d: variable %s duplicated" % (index, item["variable"]))
        seen.add(item["variable"])
        if item["type"] not in SURVEY_TYPES:
            errors.append("question %d: type %s is not a question type" % (index, item["type"]))
            continue
        default = item.get("default", "")
        if default != "" and not isinstance(default, SURVEY_TYPES[item["type"]]):
            errors.append("question %d: default %r is not a %s" % (index, default, item["type"]))
        for limit in ("min", "max"):
            if item.get(limit) is not None and not isinstance(item[limit], int):
                errors.append("question %d: %s is not an integer" % (index, limit))
        if item["type"] in ("multiplechoice", "multiselect"):
            if "choices" not in item:
                errors.append("question %d: %s needs choices" % (index, item["type"]))
                continue
            choices = item["choices"].splitlines() if isinstance(item["choices"], str) else item["choices"]
            defaults = [d for d in default.splitlines() if d.strip()] if isinstance(default, str) else default
            if item["type"] == "multiplechoice" and len(defaults) > 1:
                errors.append("question %d: one default only" % index)
            if any(choice not in choices for choice in defaults):
                errors.append("question %d: a default is not a choice" % index)
        if isinstance(default, str) and default.startswith("$encrypted$"):
            errors.append("question %d: $encrypted$ is reserved" % index)
    return errors


def of_type(value, kind):
    """AWX compares types exactly (`type(x) != int`), so a bool is not an int there."""
    return isinstance(value, kind) and (kind is bool or not isinstance(value, bool))


def survey_answer_errors(question, value):
    """SurveyJobTemplateMixin._survey_element_validation for one answered question."""
    kind = question["type"]
    if kind in ("text", "textarea", "password"):
        if not isinstance(value, str):
            return ["not a string"]
        errors = []
        if question.get("min") not in ("", None) and len(value) < question["min"]:
            errors.append("too short")
        if question.get("max") not in ("", None) and len(value) > question["max"]:
            errors.append("too long")
        return errors
    if kind == "integer":
        if not of_type(value, int):
            return ["not an integer"]
        low, high = question.get("min"), question.get("max")
        return [] if (low in ("", None) or value >= low) and (high in ("", None) or value <= high) else ["out of range"]
    if kind == "multiselect":
        if not isinstance(value, list):
            return ["not a list"]
        return ["%r is not a choice" % item for item in value if item not in question["choices"]]
    if kind == "multiplechoice":
        return [] if value in question["choices"] else ["%r is not a choice" % value]
    return []


def extra_vars_of_unanswered_survey(survey):
    """What a launch without answers sends (SurveyJobTemplateMixin._update_unified_job_kwargs): each
    question's default that passes the question's own validation. AWX's UI, for its part, sends "" for
    an optional text question left empty when its minimum length is 0 (AWX user guide, Optional Survey
    Questions)."""
    sent = {}
    for question in survey["spec"]:
        if question.get("default") is not None and not survey_answer_errors(question, question["default"]):
            sent[question["variable"]] = question["default"]
        elif question["type"] in ("text", "textarea") and not question["required"] \
                and question.get("min") in (0, "", None):
            sent[question["variable"]] = ""
    return sent


def credential_type_errors(definition):
    """CredentialTypeSerializer (kind) and CredentialTypeInputField / CredentialTypeInjectorField."""
    errors = []
    if definition.get("kind") not in ("cloud", "net"):
        errors.append("kind must be cloud or net for a custom credential type")
    inputs, injectors = definition.get("inputs", {}), definition.get("injectors", {})
    if set(inputs) - {"fields", "required"}:
        errors.append("inputs: unknown keys %s" % sorted(set(inputs) - {"fields", "required"}))
    allowed = {"type", "format", "choices", "id", "label", "help_text", "multiline", "secret", "ask_at_runtime",
               "default"}
    ids = []
    for field in inputs.get("fields", []):
        if set(field) - allowed or "id" not in field or "label" not in field:
            errors.append("field %s: keys %s" % (field.get("id"), sorted(field)))
            continue
        if not re.match(r"^[a-zA-Z_]+[a-zA-Z0-9_]*$", field["id"]) or field["id"] == "tower":
            errors.append("field %s: not a valid id" % field["id"])
        if field["id"] in ids:
            errors.append("field %s: duplicated" % field["id"])
        ids.append(field["id"])
        if field.get("type", "string") not in ("string", "boolean"):
            errors.append("field %s: type %s" % (field["id"], field["type"]))
        if field.get("type", "string") != "string" and {"choices", "multiline", "format", "secret"} & set(field):
            errors.append("field %s: string-only keys on a %s" % (field["id"], field["type"]))
    if not set(inputs.get("required", [])) <= set(ids):
        errors.append("required names a field that does not exist")
    if set(injectors) - {"file", "env", "extra_vars"}:
        errors.append("injectors: unknown keys %s" % sorted(set(injectors) - {"file", "env", "extra_vars"}))
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined)
    namespace = dict((field_id, "EXAMPLE") for field_id in ids)
    for variable, template in injectors.get("extra_vars", {}).items():
        if not re.match(r"^[a-zA-Z_{}]+[a-zA-Z0-9_{}]*$", variable):
            errors.append("extra_vars: %s is not a variable name" % variable)
        try:
            environment.from_string(template).render(namespace)
        except jinja2.UndefinedError as error:
            errors.append("extra_vars %s: %s" % (variable, error))
    return errors


def notification_configuration_errors(notification_type, configuration):
    """NotificationTemplateSerializer.validate for email: the backend's init_parameters
    (awx/main/notifications/email_backend.py) are all needed, but timeout (default 30), with their types."""
    if notification_type != "email":
        return ["only email configurations are checked here: add the rules of %s" % notification_type]
    parameters = {"host": str, "port": int, "username": str, "password": str, "use_tls": bool, "use_ssl": bool,
                  "sender": str, "recipients": list, "timeout": int}
    errors = ["%s missing" % name for name in parameters if name not in configuration and name != "timeout"]
    for name, kind in parameters.items():
        if name in configuration and not of_type(configuration[name], kind):
            errors.append("%s is not a %s" % (name, kind.__name__))
    if not configuration.get("recipients"):
        errors.append("recipients is empty")
    return errors


# --- the roles and the files -------------------------------------------------------------------------

def role_options(role):
    spec = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
    return spec["argument_specs"]["main"]["options"]


def role_defaults(role):
    return yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text()) or {}


def load(path):
    return json.loads(path.read_text())


def credential_types():
    return {path.name: load(path) for path in sorted(CREDENTIAL_TYPES.glob("*.json"))}


def credential_injections():
    """Role variable -> (credential type file, input field id), from the extra_vars injectors."""
    result = {}
    for name, definition in credential_types().items():
        assert set(definition["injectors"]) == {"extra_vars"}, "secrets reach the roles as extra vars only"
        for variable, template in definition["injectors"]["extra_vars"].items():
            match = re.fullmatch(r"\{\{ (\w+) \}\}", template)
            assert match, (variable, template)
            assert variable not in result, "%s is injected by two credential types" % variable
            result[variable] = (name, match.group(1))
    return result


def all_options():
    options = {}
    for role in ("license_server", "session_host", "report"):
        for name, option in role_options(role).items():
            options[name] = (role, option)
    return options


def expected_question(name, option):
    """The survey type and choices that carry a role variable."""
    kind = option.get("type", "str")
    choices = [c for c in option.get("choices", []) if c != ""]  # "" (leave as it is) is no answer
    if kind == "bool":
        return {"type": "multiplechoice", "choices": ["true", "false"]}  # the roles read the strings as booleans
    if kind == "int":
        return {"type": "integer"}
    if kind == "list" and choices:
        return {"type": "multiselect", "choices": choices}
    if choices:
        return {"type": "multiplechoice", "choices": choices}
    assert kind in ("str", "path"), "%s: a %s variable has no survey type; exclude it with a reason" % (name, kind)
    return {"type": "text"}


# --- the setup playbook, rendered ------------------------------------------------------------------------

def setup_play():
    (play,) = yaml.safe_load(SETUP.read_text())
    return play


def module_of(task):
    keys = [key for key in task if "." in key]
    assert len(keys) == 1, "task %r: one module with its FQCN" % task.get("name")
    return keys[0]


# Variable sets the playbook is rendered with (as -e would give them): its own defaults, and every
# optional part switched on.
VARIABLE_SETS = {
    "defaults": {"rds_awx_windows_username": "rds-admin@CORP.EXAMPLE.COM", "rds_awx_windows_password": "x"},
    "everything": {"rds_awx_windows_username": "rds-admin@CORP.EXAMPLE.COM", "rds_awx_windows_password": "x",
                   "rds_awx_container_group_create": True, "rds_awx_isolation_show_paths": ["/srv/rds:/srv/rds:Z"],
                   "rds_awx_project_credential": "Git read-only",
                   "rds_awx_cal_pack_inputs": {"cal_agreement_number": "1234567"}},
}


@lru_cache(maxsize=None)
def rendered(variable_set):
    """The setup playbook rendered by Ansible's templating (render_awx_setup.py, in a process of its own)."""
    collections = os.environ.get("ANSIBLE_COLLECTIONS_PATH", str(ROOT / "build" / "collections")).split(os.pathsep)[0]
    output = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("render_awx_setup.py")), str(SETUP), collections,
         json.dumps(VARIABLE_SETS[variable_set])], check=True, capture_output=True, text=True).stdout
    return json.loads(output)


def rendered_tasks(variable_set):
    """(task name, module, arguments) of every task and loop item."""
    return [tuple(task) for task in rendered(variable_set)["tasks"]]


def play_variable(name):
    return rendered("defaults")["vars"][name]


def tasks_of(module, variable_set="defaults"):
    return [args for _name, name, args in rendered_tasks(variable_set) if name == module]


class _Captured(Exception):
    pass


@lru_cache(maxsize=None)
def awx_module_spec(name):
    """The argument spec awx.awx's module NAME builds, with the constraints it passes to AnsibleModule:
    its main() runs until it constructs the module, and stops there, before any API call."""
    module = importlib.import_module("ansible_collections.awx.awx.plugins.modules." + name)
    captured = {}
    original = basic.AnsibleModule.__init__

    def capture(self, argument_spec, **kwargs):
        captured.update(kwargs, argument_spec=argument_spec)
        raise _Captured()

    basic.AnsibleModule.__init__ = capture
    try:
        module.main()
    except _Captured:
        pass
    finally:
        basic.AnsibleModule.__init__ = original
    assert "argument_spec" in captured, "awx.awx.%s built no AnsibleModule" % name
    return captured, yaml.safe_load(module.DOCUMENTATION)


def doc_to_spec(options):
    """A module's documented suboptions as an argument spec (for what its argument spec types as a bare dict)."""
    spec = {}
    for name, doc in options.items():
        option = dict((key, doc[key]) for key in ("type", "elements", "choices", "default", "required", "aliases")
                      if key in doc)
        if "suboptions" in doc:
            option["options"] = doc_to_spec(doc["suboptions"])
        spec[name] = option
    return spec


# --- tests: the setup playbook against awx.awx ------------------------------------------------------------

def test_awx_awx_is_the_one_tools_install_awx_collection_sh_installs():
    module = importlib.import_module("ansible_collections.awx.awx.plugins.modules.job_template")
    manifest = json.loads((Path(module.__file__).parents[2] / "MANIFEST.json").read_text())
    assert manifest["collection_info"]["version"] == "24.6.1"


def test_every_task_is_an_awx_module_or_explained():
    for name, module, _args in rendered_tasks("defaults"):
        assert module.startswith("awx.awx.") or module in OTHER_MODULES, "%s: %s" % (name, module)


@pytest.mark.parametrize("variable_set", sorted(VARIABLE_SETS))
def test_every_task_passes_its_awx_module_argument_spec(variable_set):
    checked = 0
    for name, module, args in rendered_tasks(variable_set):
        if not module.startswith("awx.awx."):
            continue
        captured, _doc = awx_module_spec(module.split(".")[-1])
        validator = ArgumentSpecValidator(
            captured["argument_spec"],
            **dict((key, captured.get(key)) for key in ("mutually_exclusive", "required_together", "required_one_of",
                                                        "required_if", "required_by")))
        result = validator.validate(args)
        assert result.error_messages == [], "%s (%s): %s" % (name, module, result.error_messages)
        checked += 1
    assert checked >= 15


def test_a_wrong_argument_is_caught():
    """The check can fail: a misspelt option and a bad choice are refused by the module's own spec."""
    captured, _doc = awx_module_spec("job_template")
    validator = ArgumentSpecValidator(captured["argument_spec"])
    errors = validator.validate({"name": "x", "survey": {}, "verbosity": 9}).error_messages
    assert any("survey" in message for message in errors) and any("verbosity" in message for message in errors)


def test_workflow_nodes_follow_the_documented_suboptions():
    _captured, doc = awx_module_spec("workflow_job_template")
    node_spec = doc_to_spec(doc["options"]["workflow_nodes"]["suboptions"])
    (workflow,) = tasks_of("awx.awx.workflow_job_template")
    identifiers = [node["identifier"] for node in workflow["workflow_nodes"]]
    for node in workflow["workflow_nodes"]:
        result = ArgumentSpecValidator(node_spec).validate(node)
        assert result.error_messages == [], (node["identifier"], result.error_messages)
        for links in node.get("related", {}).values():
            assert all(link["identifier"] in identifiers for link in links), node
    templates = {template["name"]: template for template in tasks_of("awx.awx.job_template")}
    order = [node["unified_job_template"]["name"] for node in workflow["workflow_nodes"]]
    assert order == [play_variable(key) for key in ("rds_awx_job_template_license_servers",
                                                    "rds_awx_job_template_session_hosts", "rds_awx_job_template_report")]
    for node in workflow["workflow_nodes"]:
        assert_launch_data_accepted(templates[node["unified_job_template"]["name"]], node.get("extra_data", {}))


def assert_launch_data_accepted(template, extra_data):
    """AWX keeps launch-time variables (a schedule's or a workflow node's extra_data) only when the job
    template asks for variables or its survey asks for them, and then only valid answers."""
    if template.get("ask_variables_on_launch"):
        return
    questions = dict((q["variable"], q) for q in template.get("survey_spec", {}).get("spec", []))
    assert template.get("survey_enabled") or not extra_data, template["name"]
    for variable, value in extra_data.items():
        assert variable in questions, "%s: %s is neither asked nor a survey question" % (template["name"], variable)
        assert not survey_answer_errors(questions[variable], value), (variable, value)


def test_the_schedule_runs_the_report_with_variables_it_accepts():
    templates = {template["name"]: template for template in tasks_of("awx.awx.job_template")}
    (schedule,) = tasks_of("awx.awx.schedule")
    template = templates[schedule["unified_job_template"]]
    assert template["playbook"] == "report.yml"
    assert_launch_data_accepted(template, schedule["extra_data"])
    assert schedule["extra_data"]["report_dir"].startswith("/"), "a relative report_dir dies with the job"
    assert schedule["extra_data"]["report_fail_on"] != "never", "the notification needs a failing report"
    assert re.match(r"^DTSTART(;TZID=[\w/]+)?:\d{8}T\d{6}Z? RRULE:FREQ=\w+", schedule["rrule"]), schedule["rrule"]


def test_the_report_and_the_workflow_notify_on_failure():
    (notification,) = tasks_of("awx.awx.notification_template")
    assert notification_configuration_errors(notification["notification_type"],
                                             notification["notification_configuration"]) == []
    report = [t for t in tasks_of("awx.awx.job_template") if t["playbook"] == "report.yml"]
    (workflow,) = tasks_of("awx.awx.workflow_job_template")
    for owner in report + [workflow]:
        assert owner["notification_templates_error"] == [notification["name"]], owner["name"]


def test_every_name_is_a_variable():
    """No AWX object name is written into a task: each comes from a play variable."""
    play = setup_play()
    for task in play["tasks"]:
        module = module_of(task)
        if module.startswith("awx.awx."):
            name = task[module]["name"]
            assert re.fullmatch(r"\{\{ (item\.name|rds_awx_\w+) \}\}", name) or name == "AWX_ISOLATION_SHOW_PATHS", \
                task["name"]
    for template in play["vars"]["rds_awx_job_templates"]:
        assert re.fullmatch(r"\{\{ rds_awx_\w+ \}\}", template["name"]), template["name"]


def test_references_name_objects_the_playbook_creates():
    created = dict((module, {args["name"] for args in tasks_of(module, "everything")})
                   for module in ("awx.awx.credential", "awx.awx.credential_type", "awx.awx.project",
                                  "awx.awx.inventory", "awx.awx.execution_environment",
                                  "awx.awx.notification_template", "awx.awx.instance_group"))
    for credential in tasks_of("awx.awx.credential", "everything"):
        assert credential["credential_type"] in created["awx.awx.credential_type"] | {"Machine"}, credential["name"]
    for template in tasks_of("awx.awx.job_template", "everything"):
        assert set(template["credentials"]) <= created["awx.awx.credential"], template["name"]
        assert template["project"] in created["awx.awx.project"]
        assert template["inventory"] in created["awx.awx.inventory"]
        assert template["execution_environment"] in created["awx.awx.execution_environment"]
        assert set(template.get("instance_groups", [])) <= created["awx.awx.instance_group"]
    (source,) = tasks_of("awx.awx.inventory_source")
    assert source["source_project"] in created["awx.awx.project"] and source["inventory"] in created["awx.awx.inventory"]


def test_credential_types_are_created_from_the_files():
    created = {args["name"]: args for args in tasks_of("awx.awx.credential_type")}
    for definition in credential_types().values():
        (args,) = [a for a in created.values() if a["inputs"] == definition["inputs"]]
        assert args["injectors"] == definition["injectors"] and args["kind"] == definition["kind"]
        assert args["name"] == definition["name"], "the playbook's default name and the file's name differ"


def test_secrets_are_no_log_and_never_overwritten():
    play = setup_play()
    for task in play["tasks"]:
        module = module_of(task)
        if module in ("awx.awx.credential", "awx.awx.notification_template"):
            assert task.get("no_log") is True, task["name"]
        if module == "awx.awx.credential":
            assert task[module]["update_secrets"] is False, task["name"]


# --- tests: the job templates ---------------------------------------------------------------------------

def test_one_job_template_per_playbook_and_each_playbook_exists():
    templates = tasks_of("awx.awx.job_template")
    collection_playbooks = {path.name for path in PLAYBOOKS.glob("*.yml")} - {"awx_setup.yml"}
    assert {template["playbook"] for template in templates} == collection_playbooks == set(PLAYBOOK_ROLES)
    for template in templates:
        # The project (docs/awx/project, a repository of the administrator's) imports the collection's playbook.
        project_playbook = yaml.safe_load((PROJECT / template["playbook"]).read_text())
        assert project_playbook == [{"name": project_playbook[0]["name"], "ansible.builtin.import_playbook":
                                     "remote_desktop.licensing." + Path(template["playbook"]).stem}]
        assert (PLAYBOOKS / template["playbook"]).is_file()


def test_survey_variables_are_variables_of_the_roles_the_playbook_runs():
    for template in tasks_of("awx.awx.job_template"):
        roles = PLAYBOOK_ROLES[template["playbook"]]
        options = {}
        for role in roles:
            options.update(role_options(role))
        assert template["survey_enabled"] == bool(roles), template["name"]
        for question in template.get("survey_spec", {}).get("spec", []):
            assert question["variable"] in options, "%s: %s" % (template["name"], question["variable"])


def test_no_job_template_slices():
    """Slicing runs the hosts in separate jobs that do not see each other: unsafe for these plays."""
    for template in tasks_of("awx.awx.job_template"):
        assert template["job_slice_count"] == 1 and template["ask_job_slice_count_on_launch"] is False


# The words of docs/awx.md's "asks at launch" column, and the job template flag each one needs.
LAUNCH_PROMPTS = {"limit": "ask_limit_on_launch", "job type": "ask_job_type_on_launch",
                  "credentials": "ask_credential_on_launch", "verbosity": "ask_verbosity_on_launch",
                  "variables": "ask_variables_on_launch", "survey": "survey_enabled"}


def documented_launch_prompts():
    """Job template name -> what docs/awx.md's job template table says it asks at launch."""
    rows = {}
    names = dict((value, key) for key, value in rendered("defaults")["vars"].items()
                 if key.startswith("rds_awx_job_template_"))
    for line in DOCS.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and cells[0] in names:
            rows[cells[0]] = {item.strip() for item in cells[3].split(",") if item.strip()}
    return rows


def test_job_templates_ask_at_launch_what_the_docs_tell_users_to_give():
    documented = documented_launch_prompts()
    templates = tasks_of("awx.awx.job_template")
    assert set(documented) == {template["name"] for template in templates}, "docs/awx.md's job template table"
    for template in templates:
        assert documented[template["name"]] <= set(LAUNCH_PROMPTS), documented[template["name"]]
        asked = {word for word, flag in LAUNCH_PROMPTS.items() if template.get(flag)}
        assert asked == documented[template["name"]], template["name"]


def test_templates_with_license_server_secrets_take_a_credential_at_launch():
    """docs/awx.md: one CAL pack per job, chosen at launch; the license server ID only at launch."""
    cal_pack_type = load(CREDENTIAL_TYPES / "cal_pack.json")["name"]
    cal_pack_credentials = {c["name"] for c in tasks_of("awx.awx.credential") if c["credential_type"] == cal_pack_type}
    for template in tasks_of("awx.awx.job_template"):
        uses_license_server = "license_server" in PLAYBOOK_ROLES[template["playbook"]]
        assert bool(set(template["credentials"]) & cal_pack_credentials) == uses_license_server, template["name"]
        assert template["ask_credential_on_launch"] == uses_license_server, template["name"]


# --- tests: the surveys ------------------------------------------------------------------------------------

@pytest.mark.parametrize("survey_file", sorted(SURVEY_ROLES))
def test_survey_passes_awx_rules(survey_file):
    assert survey_spec_errors(load(SURVEYS / survey_file)) == []


def test_the_survey_rules_can_fail():
    bad = {"name": "x", "description": "", "spec": [
        {"question_name": "a", "variable": "a", "type": "multiplechoice", "required": False, "choices": ["x"],
         "default": "y"},
        {"question_name": "b", "variable": "a", "type": "integer", "required": False, "default": "1"},
        {"question_name": "c", "variable": "c", "type": "boolean", "required": False}]}
    errors = survey_spec_errors(bad)
    assert len(errors) == 4, errors


@pytest.mark.parametrize("survey_file", sorted(SURVEY_ROLES))
def test_an_unanswered_survey_sends_nothing(survey_file):
    """Every question is optional, without a default, and no text question is sent empty: the
    inventory's values stand unless the user answers."""
    survey = load(SURVEYS / survey_file)
    for question in survey["spec"]:
        assert question["required"] is False and "default" not in question, question["variable"]
        assert ANSIBLE_VARIABLE.match(question["variable"]), question["variable"]
        assert question["type"] != "password", "secrets come from credentials, never from a survey"
    assert extra_vars_of_unanswered_survey(survey) == {}


def test_the_unanswered_survey_check_can_fail():
    old_style = {"spec": [{"variable": "a", "type": "text", "required": False, "min": 0, "max": 1024, "default": ""},
                          {"variable": "b", "type": "integer", "required": True, "default": 600}]}
    assert extra_vars_of_unanswered_survey(old_style) == {"a": "", "b": 600}


@pytest.mark.parametrize("survey_file", sorted(SURVEY_ROLES))
def test_survey_maps_one_to_one_to_role_variables(survey_file):
    options = {}
    for role in SURVEY_ROLES[survey_file]:
        options.update(role_options(role))
    for question in load(SURVEYS / survey_file)["spec"]:
        name = question["variable"]
        assert name in options, "%s: %s is not a variable of %s" % (survey_file, name, SURVEY_ROLES[survey_file])
        want = expected_question(name, options[name])
        got = dict((key, question.get(key)) for key in want)
        assert got == want, "%s: %s" % (survey_file, name)
        # Every answer the survey accepts passes the role's argument spec (AWX sends integers as int,
        # choices as strings, multiselect as a list).
        for answer in survey_answers(question):
            result = ArgumentSpecValidator({name: options[name]}).validate({name: answer})
            assert result.error_messages == [], (name, answer, result.error_messages)


def survey_answers(question):
    if question["type"] == "multiplechoice":
        return question["choices"]
    if question["type"] == "multiselect":
        return [question["choices"], question["choices"][:1]]
    if question["type"] == "integer":
        return [question.get("min", 0), question.get("max", 0)]
    return ["x" * question.get("min", 1)]


@pytest.mark.parametrize("survey_file", sorted(SURVEY_ROLES))
def test_every_role_variable_is_asked_injected_or_excluded(survey_file):
    asked = {question["variable"] for question in load(SURVEYS / survey_file)["spec"]}
    injected = set(credential_injections())
    for role in SURVEY_ROLES[survey_file]:
        for name in role_options(role):
            places = [asked, injected, EXCLUDED]
            assert sum(name in place for place in places) == 1, \
                "%s: %s must be exactly one of: a survey question, a credential input, EXCLUDED" % (survey_file, name)


def test_site_survey_is_the_two_role_surveys():
    site = load(SURVEYS / "site.json")["spec"]
    parts = load(SURVEYS / "license_servers.json")["spec"] + load(SURVEYS / "session_hosts.json")["spec"]
    assert site == parts


def test_every_survey_is_used_by_a_job_template():
    used = {template["survey_spec"]["name"] for template in tasks_of("awx.awx.job_template")
            if "survey_spec" in template}
    assert used == {load(SURVEYS / name)["name"] for name in SURVEY_ROLES}


# --- tests: the credential types --------------------------------------------------------------------------

@pytest.mark.parametrize("file_name", ["cal_pack.json", "license_server_id.json"])
def test_credential_type_passes_awx_rules(file_name):
    assert credential_type_errors(load(CREDENTIAL_TYPES / file_name)) == []


def test_the_credential_type_rules_can_fail():
    bad = {"kind": "ssh", "inputs": {"fields": [{"id": "tower", "label": "x", "type": "integer"}], "required": ["y"]},
           "injectors": {"extra_vars": {"v": "{{ nope }}"}}}
    assert len(credential_type_errors(bad)) == 5, credential_type_errors(bad)


def test_credential_types_carry_every_flat_secret():
    options = all_options()
    injections = credential_injections()
    for variable, (file_name, field_id) in injections.items():
        assert variable in options, "%s is not a role variable" % variable
        _role, option = options[variable]
        assert option.get("no_log"), "%s is not a secret: it belongs in the survey" % variable
        assert option.get("type", "str") == "str" and option.get("default") == "", variable
        fields = dict((field["id"], field) for field in credential_types()[file_name]["inputs"]["fields"])
        assert fields[field_id]["secret"] is True and fields[field_id]["type"] == "string", field_id
    for file_name, definition in credential_types().items():
        used = {field_id for name, field_id in injections.values() if name == file_name}
        assert used == {field["id"] for field in definition["inputs"]["fields"]}, "%s: a field is never injected" % file_name
    flat_secrets = {name for name, (_role, option) in options.items()
                    if option.get("no_log") and option.get("type", "str") == "str"}
    assert set(injections) == flat_secrets


def test_the_license_server_id_has_a_credential_type_of_its_own():
    """One ID belongs to one server, and automatic activation refuses an ID: a CAL pack credential attached
    to every launch must not carry it."""
    cal_pack = credential_types()["cal_pack.json"]
    assert "license_server_license_server_id" not in cal_pack["injectors"]["extra_vars"]
    server_id = credential_types()["license_server_id.json"]
    assert list(server_id["injectors"]["extra_vars"]) == ["license_server_license_server_id"]
    for template in tasks_of("awx.awx.job_template", "everything"):
        assert server_id["name"] not in template["credentials"]


def test_exclusions_are_documented():
    text = DOCS.read_text()
    options = all_options()
    for name in EXCLUDED:
        assert name in options, "%s is no longer a role variable" % name
        assert "`%s`" % name in text, "docs/awx.md does not say why %s is not in a survey" % name


def test_the_docs_awx_commands_pass_the_module_argument_specs():
    """docs/awx.md's `ansible localhost -m awx.awx.X -a '...'` commands call modules that exist, with
    arguments they take, and launch job templates the setup playbook creates."""
    commands = re.findall(r"^ansible localhost -m awx\.awx\.(\w+) -a '([^']*)'$", DOCS.read_text(), re.M)
    assert commands
    templates = {template["name"] for template in tasks_of("awx.awx.job_template")}
    for module, arguments in commands:
        captured, _doc = awx_module_spec(module)
        args = parse_kv(arguments)
        result = ArgumentSpecValidator(captured["argument_spec"]).validate(args)
        assert result.error_messages == [], (module, arguments, result.error_messages)
        if module == "job_launch":
            assert args["name"] in templates, args["name"]


def test_docs_name_the_commands_and_files_that_exist():
    text = DOCS.read_text()
    for path in re.findall(r"\]\((awx/[^)#]+)\)", text):
        assert (ROOT / "docs" / path).exists(), path
    for path in re.findall(r"\]\(\.\./([^)#]+)\)", text):
        assert (ROOT / path).exists(), path
    assert "remote_desktop.licensing.awx_setup" in text
    assert "job_templates.json" not in text
