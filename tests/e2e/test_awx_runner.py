"""site.yml through ansible-runner exactly as AWX runs a job, against a fresh simulated lab.

AWX (awx/main/tasks/jobs.py, RunJob; awx/main/models/credential, inject_credential) lays out a private
data directory and hands it to ansible-runner:
  project/           the project: here a playbook that imports remote_desktop.licensing.site
  inventory/hosts    an executable script printing the inventory as JSON, without the password
  env/extravars      AWX's meta variables and the survey answers, written with AWX's safe_dump (every
                     string tagged !unsafe)
  env/tmpXXXXXXXX    the Remote Desktop Licensing credential's extra_vars injectors, rendered, mode 0400
  env/cmdline        -u USER --ask-pass -vvvv --diff -e @env/tmpXXXXXXXX (the Machine credential, the job
                     template's verbosity 4 and diff mode, the injector file)
  env/envvars, env/settings
and the Machine password goes to ansible-runner as an expect answer to "SSH password:", never to a
file. The survey answers follow docs/awx/surveys/site.json, the credential docs/awx/credential_type.json.
AWX sets suppress_output_file and rebuilds the output from the events; here the stdout file is kept so
that the secret search covers it too.
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
import tempfile
from pathlib import Path

import ansible_runner
import pytest
import yaml
from ansible_runner.utils import args2cmdline
from rdlab.testing import COLLECTIONS, start_lab

from .awx import awx_inventory, safe_dump, write_private

ROOT = Path(__file__).resolve().parents[2]
AWX = ROOT / "docs" / "awx"
JOB_ID = 42
DOMAIN = "corp.example.com"
# Lab-only inventions of the right shape, chosen not to occur by chance in timestamps or durations.
AGREEMENT_NUMBER = "6029384751"
ANSWERS = {
    "license_server_first_name": "Ada",
    "license_server_last_name": "Lovelace",
    "license_server_company": "Example Ltd",
    "license_server_country_region": "United Kingdom",
    "license_server_scope": "domain",
    "license_server_ad_group_membership": "true",
    "license_server_cal_program": "spla",
    "license_server_cal_product_version": "2022",
    "license_server_cal_license_type": "per_user",
    "license_server_cal_count": 50,
    "session_host_mode": "per_user",
}
CREDENTIAL_INPUTS = {"cal_agreement_number": AGREEMENT_NUMBER}


def survey_extra_vars(spec, answers):
    """The extra vars a launch with these answers gives (AWX's SurveyJobTemplateMixin): an answer, or
    else the question's default when it passes the question's own validation."""
    variables = {}
    for question in spec:
        name = question["variable"]
        value = answers.get(name, question.get("default", ""))
        kind = question["type"]
        if kind in ("multiplechoice", "multiselect") and value not in question["choices"]:
            assert name not in answers, "%s: %r is not a choice" % (name, value)
            continue
        if kind == "integer" and not isinstance(value, int):
            assert name not in answers, name
            continue
        if kind in ("text", "password") and not question.get("min", 0) <= len(value) <= question.get("max", 1024):
            assert name not in answers, name
            continue
        variables[name] = value
    assert set(answers) <= set(variables), "an answer for a question the survey does not ask"
    return variables


def credential_extra_vars(inputs):
    """The credential type's extra_vars injectors rendered as AWX renders them (an empty input is '')."""
    credential = json.loads((AWX / "credential_type.json").read_text())
    fields = [field["id"] for field in credential["inputs"]["fields"]]
    rendered = {}
    for variable, template in credential["injectors"]["extra_vars"].items():
        field = re.fullmatch(r"\{\{ (\w+) \}\}", template).group(1)
        assert field in fields
        rendered[variable] = inputs.get(field, "")
    return rendered


def lay_out_job(private_data_dir, lab, job_id):
    """Write the private data directory of a job as AWX does; return ansible_runner.run's arguments."""
    for folder in ("project", "inventory", "env", "cp"):
        (private_data_dir / folder).mkdir(exist_ok=True)
    (private_data_dir / "project" / "site.yml").write_text(
        "---\n- name: Remote Desktop Licensing\n  ansible.builtin.import_playbook: remote_desktop.licensing.site\n")

    inventory, user, password = awx_inventory(lab.inventory)
    hosts = private_data_dir / "inventory" / "hosts"
    hosts.write_text("#! /usr/bin/env python3\n# -*- coding: utf-8 -*-\nprint(%r)\n" % json.dumps(inventory))
    os.chmod(hosts, stat.S_IRUSR | stat.S_IXUSR | stat.S_IWUSR)

    survey = json.loads((AWX / "surveys" / "site.json").read_text())["spec"]
    extra_vars = {"awx_job_id": job_id, "tower_job_id": job_id, "awx_job_launch_type": "manual",
                  "awx_job_template_id": 7, "awx_job_template_name": "RDS licensing: site",
                  "awx_user_id": 1, "awx_user_name": "admin", "awx_inventory_id": 3,
                  "awx_inventory_name": "Windows servers", "awx_project_revision": "0" * 40,
                  "awx_execution_node": "localhost"}
    extra_vars.update(survey_extra_vars(survey, ANSWERS))
    write_private(private_data_dir / "env" / "extravars", safe_dump(extra_vars))

    # inject_credential: the rendered extra_vars injectors in a temporary file of env/, mode 0400, given
    # to ansible-playbook with -e @file after the Machine credential's arguments.
    handle, injected = tempfile.mkstemp(dir=private_data_dir / "env")
    os.close(handle)
    write_private(Path(injected), safe_dump(credential_extra_vars(CREDENTIAL_INPUTS)))
    # The job template runs at verbosity 4 (Debug) with diff mode on, the most a job can show: AWX adds
    # -vvvv and --diff to the command line.
    write_private(private_data_dir / "env" / "cmdline",
                  args2cmdline("-u", user, "--ask-pass", "-vvvv", "--diff", "-e", "@" + injected))

    envvars = {
        "JOB_ID": str(job_id), "INVENTORY_ID": "3", "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "MAX_EVENT_RES": "700000", "AWX_HOST": "https://awx.example.com",
        "AWX_PRIVATE_DATA_DIR": str(private_data_dir),
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(private_data_dir / "cp"),
        "ANSIBLE_FORCE_COLOR": "True",
        # AWX: requirements_collections of the private data directory first, then the execution
        # environment's collections (here build/collections: this checkout and ansible.windows).
        "ANSIBLE_COLLECTIONS_PATH": os.pathsep.join([str(private_data_dir / "requirements_collections"),
                                                     str(COLLECTIONS)]),
        # The execution environment's PATH: this venv's ansible-playbook.
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }
    (private_data_dir / "env" / "envvars").write_text(yaml.safe_dump(envvars))
    (private_data_dir / "env" / "settings").write_text(yaml.safe_dump(
        {"job_timeout": 0, "suppress_ansible_output": True, "suppress_output_file": False}))

    # RunJob.get_password_prompts: the Machine password answers the connection password prompt.
    prompts = {r"Enter passphrase for .*:\s*?$": "", r"BECOME password.*:\s*?$": "",
               r"SSH password:\s*?$": password, r"Password:\s*?$": password, r"Vault password:\s*?$": ""}
    return {"private_data_dir": str(private_data_dir), "ident": str(job_id), "playbook": "site.yml",
            "inventory": str(hosts), "passwords": prompts, "suppress_env_files": True,
            "fact_cache_type": "", "quiet": True}, password


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    """One AWX job of site.yml against a fresh lab, then a second one (a re-run)."""
    lab = start_lab(tmp_path_factory.mktemp("awx-lab"),
                    f"ls1:none:domain={DOMAIN}:groups=license_servers",
                    f"sh1:session_host:domain={DOMAIN}",
                    f"sh2:session_host:os=2019:domain={DOMAIN}")
    try:
        private_data_dir = tmp_path_factory.mktemp("awx_%d_" % JOB_ID)
        kwargs, password = lay_out_job(private_data_dir, lab, JOB_ID)
        first = ansible_runner.run(**kwargs)
        rerun_dir = tmp_path_factory.mktemp("awx_%d_" % (JOB_ID + 1))
        rerun_kwargs = lay_out_job(rerun_dir, lab, JOB_ID + 1)[0]
        rerun = ansible_runner.run(**rerun_kwargs)
        yield {"run": first, "rerun": rerun, "lab": lab, "dir": private_data_dir, "rerun_dir": rerun_dir,
               "password": password, "artifacts": private_data_dir / "artifacts" / str(JOB_ID)}
    finally:
        lab.rdlab("stop")


def events(run):
    return list(run.events)


def test_the_job_succeeds(job):
    run = job["run"]
    stdout = (job["artifacts"] / "stdout").read_text()
    assert (run.status, run.rc) == ("successful", 0), stdout[-3000:]


def test_every_host_reports_ok_and_nothing_fails(job):
    all_events = events(job["run"])
    ok_hosts = {event["event_data"]["host"] for event in all_events if event["event"] == "runner_on_ok"}
    assert ok_hosts == {"ls1", "sh1", "sh2"}
    assert not [event for event in all_events if event["event"] in ("runner_on_failed", "runner_on_unreachable")]
    stats = [event["event_data"] for event in all_events if event["event"] == "playbook_on_stats"]
    assert len(stats) == 1
    assert stats[0]["failures"] == {} and stats[0]["dark"] == {}
    assert set(stats[0]["ok"]) == {"ls1", "sh1", "sh2"}
    assert set(stats[0]["changed"]) == {"ls1", "sh1", "sh2"}  # a fresh lab: every host changes


def test_the_cal_pack_task_is_censored_in_the_events(job):
    cal_pack = [event for event in events(job["run"])
                if event["event"] == "runner_on_ok" and event["event_data"].get("task") == "Install the CAL packs"]
    assert cal_pack, "no event of the CAL pack task"
    for event in cal_pack:
        assert "censored" in event["event_data"]["res"], event["event_data"]["res"]


def test_the_artifacts_are_there(job):
    artifacts = job["artifacts"]
    assert sorted(path.name for path in (artifacts / "job_events").iterdir())
    assert (artifacts / "stdout").stat().st_size > 0
    assert (artifacts / "rc").read_text().strip() == "0"
    assert (artifacts / "status").read_text().strip() == "successful"
    command = json.loads((artifacts / "command").read_text())
    assert "--ask-pass" in command["command"] and "-u" in command["command"]
    assert job["run"].stats["failures"] == {}


def test_awx_files_are_laid_out_as_awx_does(job):
    env = job["dir"] / "env"
    extravars = (env / "extravars").read_text()
    assert extravars.startswith("!unsafe 'awx_job_id': 42\n")
    assert "!unsafe 'license_server_cal_program': !unsafe 'spla'\n" in extravars
    assert AGREEMENT_NUMBER not in extravars, "the survey answers must not hold the credential's values"
    injected = [path for path in env.iterdir() if path.name.startswith("tmp")]
    assert len(injected) == 1 and stat.S_IMODE(injected[0].stat().st_mode) == stat.S_IRUSR
    assert "@" + str(injected[0]) in (env / "cmdline").read_text()
    assert not (env / "passwords").exists(), "the Machine password must not be written to disk"
    hosts = (job["dir"] / "inventory" / "hosts").read_text()
    assert job["password"] not in hosts and "ansible_password" not in hosts


def test_the_lab_is_licensed(job):
    lab = job["lab"]
    ls1 = lab.state("ls1")["license_server"]
    assert ls1["activation_status"] == 0
    assert ls1["server_role"] == 1 and ls1["in_tsls_group"] is True
    packs = [pack for pack in ls1["key_packs"] if pack["KeyPackType"] != 6]
    assert [(pack["ProductType"], pack["ProductVersion"], pack["TotalLicenses"]) for pack in packs] == \
        [(1, "Windows Server 2022", 50)]
    for host in ("sh1", "sh2"):
        session_host = lab.state(host)["session_host"]
        assert session_host["licensing_type"] == 4 and session_host["specified_servers"] == ["ls1"]


def test_the_rerun_changes_nothing(job):
    rerun = job["rerun"]
    assert (rerun.status, rerun.rc) == ("successful", 0)
    assert rerun.stats["changed"] == {} and rerun.stats["failures"] == {}


def test_no_secret_in_the_artifacts_or_the_output(job):
    """The agreement number reached the host (the pack is installed) but no artifact of either job, and
    not the job output AWX shows; neither did the Machine password."""
    secrets = {"agreement number": AGREEMENT_NUMBER, "WinRM password": job["password"]}
    files = [path for directory in (job["dir"], job["rerun_dir"])
             for path in (directory / "artifacts").rglob("*") if path.is_file()]
    assert len(files) > 10
    for path in files:
        text = path.read_bytes().decode("utf-8", "replace")
        for what, value in secrets.items():
            assert value not in text, "the %s is in %s" % (what, path)
    for run in (job["run"], job["rerun"]):
        output = "".join(event.get("stdout", "") for event in run.events)
        for what, value in secrets.items():
            assert value not in output, "the %s is in the job output" % what
