"""site.yml through ansible-runner exactly as AWX runs a job, against a fresh simulated lab.

AWX (awx/main/tasks/jobs.py, RunJob; awx/main/models/credential, inject_credential) lays out a private
data directory and hands it to ansible-runner:
  project/           the project: here a playbook that imports remote_desktop.licensing.site
  inventory/hosts    an executable script printing the inventory as JSON, without the password
  env/extravars      AWX's meta variables and the survey answers, written with AWX's safe_dump (every
                     string tagged !unsafe)
  env/tmpXXXXXXXX    one file per credential with extra_vars injectors (CAL pack, License Server ID),
                     rendered, mode 0400
  env/cmdline        -u USER --ask-pass -vvvvv --diff -e @env/tmpXXXXXXXX ... (the Machine credential, the
                     job template's verbosity 5 and diff mode, the injector files)
  env/envvars, env/settings
and the Machine password goes to ansible-runner as an expect answer to "SSH password:", never to a
file. The project's playbooks are those of docs/awx/project, the survey answers follow
playbooks/files/awx/surveys, the credentials playbooks/files/awx/credential_types. A launch sends only
the answered questions (no question has a default). AWX sets suppress_output_file and rebuilds the output
from the events; here the stdout file is kept so that the secret search covers it too.

The site job activates the license server with a license server ID and installs an SPLA pack; a second
job changes nothing; three license_servers jobs then install a retail, an Open License and a key pack ID
pack, so that every field of both credential types reaches a host and is searched for in the output.
"""

from __future__ import annotations

import hashlib
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

from .awx import awx_inventory, become_args, safe_dump, write_private

ROOT = Path(__file__).resolve().parents[2]
AWX_FILES = ROOT / "playbooks" / "files" / "awx"
PROJECT = ROOT / "docs" / "awx" / "project"
JOB_ID = 42
DOMAIN = "corp.example.com"
# Lab-only inventions of the right shape, chosen not to occur by chance in timestamps or durations.
AGREEMENT_NUMBER = "6029384751"
SERVER_ID = "M3QX8-R2WB5-N9TL4-D6HC1-V8YJ2-FK071-Q7KX2"
RETAIL_CODE = "RTL7Q-2XK9M-4HB6W-8PZ3N-5C7W2"
OPEN_LICENSE_NUMBER = "73920418"
OPEN_AUTHORIZATION = "AUT7K2M9Q4X8B3N"
KEY_PACK_ID = "KPX4N-7RW2Q-9ML3T-5HB8C-2VD6J-4YF1G-Z8P3S"
ANSWERS = {
    "license_server_first_name": "Ada",
    "license_server_last_name": "Lovelace",
    "license_server_company": "Example Ltd",
    "license_server_country_region": "United Kingdom",
    "license_server_scope": "domain",
    "license_server_ad_group_membership": "true",
    "license_server_activation_method": "license_server_id",
    "license_server_cal_program": "spla",
    "license_server_cal_product_version": "2022",
    "license_server_cal_license_type": "per_user",
    "license_server_cal_count": 50,
    "session_host_mode": "per_user",
}
# The credentials of the site job: (credential type file, inputs).
MARKER_KEY = "awx-credential-marker-key-5u8x2k"  # the CAL pack credential keys the markers (docs/cal_packs.md)
CREDENTIALS = [("cal_pack.json", {"cal_agreement_number": AGREEMENT_NUMBER, "cal_pack_marker_key": MARKER_KEY}),
               ("license_server_id.json", {"license_server_id": SERVER_ID})]
# The three later license_servers jobs: a pack of each other program, with the fields it takes.
MORE_PACKS = [
    ({"license_server_cal_program": "retail", "license_server_cal_product_version": "2022",
      "license_server_cal_license_type": "per_device", "license_server_cal_count": 20},
     {"cal_license_code": RETAIL_CODE, "cal_pack_marker_key": MARKER_KEY}),
    ({"license_server_cal_program": "open_license", "license_server_cal_product_version": "2019",
      "license_server_cal_license_type": "per_user", "license_server_cal_count": 10},
     {"cal_license_number": OPEN_LICENSE_NUMBER, "cal_authorization_number": OPEN_AUTHORIZATION,
      "cal_pack_marker_key": MARKER_KEY}),
    ({"license_server_cal_program": "license_key_pack_id", "license_server_cal_product_version": "2022",
      "license_server_cal_license_type": "per_user", "license_server_cal_count": 100},
     {"cal_key_pack_id": KEY_PACK_ID, "cal_pack_marker_key": MARKER_KEY}),
]


def survey_extra_vars(spec, answers):
    """The extra vars a launch with these answers gives (AWX's SurveyJobTemplateMixin): the answers, each
    valid for its question; an unanswered question has no default to send."""
    questions = {question["variable"]: question for question in spec}
    for name, value in answers.items():
        assert name in questions, "an answer for a question the survey does not ask: %s" % name
        question = questions[name]
        assert "default" not in question and question["required"] is False, name
        kind = question["type"]
        if kind == "multiplechoice":
            assert value in question["choices"], (name, value)
        elif kind == "integer":
            assert isinstance(value, int) and not isinstance(value, bool), name
            assert question.get("min", value) <= value <= question.get("max", value), name
        else:
            assert isinstance(value, str) and question["min"] <= len(value) <= question["max"], name
    return dict(answers)


def credential_extra_vars(type_file, inputs):
    """A credential type's extra_vars injectors rendered as AWX renders them (an empty input is '')."""
    credential = json.loads((AWX_FILES / "credential_types" / type_file).read_text())
    fields = [field["id"] for field in credential["inputs"]["fields"]]
    assert set(inputs) <= set(fields), inputs
    rendered = {}
    for variable, template in credential["injectors"]["extra_vars"].items():
        field = re.fullmatch(r"\{\{ (\w+) \}\}", template).group(1)
        assert field in fields
        rendered[variable] = inputs.get(field, "")
    return rendered


def lay_out_job(private_data_dir, lab, job_id, playbook="site.yml", answers=None, credentials=None):
    """Write the private data directory of a job as AWX does; return ansible_runner.run's arguments."""
    answers = ANSWERS if answers is None else answers
    credentials = CREDENTIALS if credentials is None else credentials
    for folder in ("project", "inventory", "env", "cp"):
        (private_data_dir / folder).mkdir(exist_ok=True)
    (private_data_dir / "project" / playbook).write_text((PROJECT / playbook).read_text())

    inventory, user, password = awx_inventory(lab.inventory)
    hosts = private_data_dir / "inventory" / "hosts"
    hosts.write_text("#! /usr/bin/env python3\n# -*- coding: utf-8 -*-\nprint(%r)\n" % json.dumps(inventory))
    os.chmod(hosts, stat.S_IRUSR | stat.S_IXUSR | stat.S_IWUSR)

    survey = json.loads((AWX_FILES / "surveys" / playbook.replace(".yml", ".json")).read_text())["spec"]
    extra_vars = {"awx_job_id": job_id, "tower_job_id": job_id, "awx_job_launch_type": "manual",
                  "awx_job_template_id": 7, "awx_job_template_name": "RDS licensing: " + playbook[:-4],
                  "awx_user_id": 1, "awx_user_name": "admin", "awx_inventory_id": 3,
                  "awx_inventory_name": "Windows servers", "awx_project_revision": "0" * 40,
                  "awx_execution_node": "localhost"}
    extra_vars.update(survey_extra_vars(survey, answers))
    write_private(private_data_dir / "env" / "extravars", safe_dump(extra_vars))

    # inject_credential: for each credential, the rendered extra_vars injectors in a temporary file of
    # env/, mode 0400, given to ansible-playbook with -e @file after the Machine credential's arguments.
    injected_args = []
    for type_file, inputs in credentials:
        handle, injected = tempfile.mkstemp(dir=private_data_dir / "env")
        os.close(handle)
        write_private(Path(injected), safe_dump(credential_extra_vars(type_file, inputs)))
        injected_args += ["-e", "@" + injected]
    # The job template runs at verbosity 5 (WinRM Debug) with diff mode on, the most a job can show: AWX adds
    # -vvvvv and --diff to the command line, and ansible's winrm plugin then prints each module's raw output.
    write_private(private_data_dir / "env" / "cmdline",
                  args2cmdline("-u", user, "--ask-pass", *become_args(user), "-vvvvv", "--diff", *injected_args))

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
    prompts = {r"Enter passphrase for .*:\s*?$": "", r"BECOME password.*:\s*?$": password,
               r"SSH password:\s*?$": password, r"Password:\s*?$": password, r"Vault password:\s*?$": ""}
    return {"private_data_dir": str(private_data_dir), "ident": str(job_id), "playbook": playbook,
            "inventory": str(hosts), "passwords": prompts, "suppress_env_files": True,
            "fact_cache_type": "", "quiet": True}, password


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    """One AWX job of site.yml against a fresh lab, a second one (a re-run), then one license_servers job
    per other CAL pack program."""
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
        after_site = {host: lab.state(host) for host in ("ls1", "sh1", "sh2")}
        packs = []
        for offset, (answers, inputs) in enumerate(MORE_PACKS, start=2):
            pack_dir = tmp_path_factory.mktemp("awx_%d_" % (JOB_ID + offset))
            pack_kwargs = lay_out_job(pack_dir, lab, JOB_ID + offset, "license_servers.yml", answers,
                                      [("cal_pack.json", inputs)])[0]
            packs.append((ansible_runner.run(**pack_kwargs), pack_dir))
        yield {"run": first, "rerun": rerun, "lab": lab, "dir": private_data_dir, "rerun_dir": rerun_dir,
               "packs": packs, "after_site": after_site, "password": password,
               "artifacts": private_data_dir / "artifacts" / str(JOB_ID)}
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
    assert "license_server_first_name" in extravars and "license_server_email" not in extravars, \
        "only the answered questions are sent"
    assert AGREEMENT_NUMBER not in extravars and SERVER_ID not in extravars, \
        "the survey answers must not hold the credentials' values"
    injected = [path for path in env.iterdir() if path.name.startswith("tmp")]
    assert len(injected) == 2, "one file per credential with extra_vars injectors"
    for path in injected:
        assert stat.S_IMODE(path.stat().st_mode) == stat.S_IRUSR
        assert "@" + str(path) in (env / "cmdline").read_text()
    assert not (env / "passwords").exists(), "the Machine password must not be written to disk"
    hosts = (job["dir"] / "inventory" / "hosts").read_text()
    assert job["password"] not in hosts and "ansible_password" not in hosts


def test_the_lab_is_licensed(job):
    lab = job["lab"]
    ls1 = job["after_site"]["ls1"]["license_server"]
    assert ls1["activation_status"] == 0
    # Activated with the License Server ID credential's ID (ActivateServer), not over the Internet.
    calls = json.dumps(lab.transcript("ls1"))
    assert '"ActivateServer"' in calls and "ActivateServerAutomatic" not in calls
    assert ls1["server_role"] == 1 and ls1["in_tsls_group"] is True
    packs = [pack for pack in ls1["key_packs"] if pack["KeyPackType"] != 6]
    assert [(pack["ProductType"], pack["ProductVersion"], pack["TotalLicenses"]) for pack in packs] == \
        [(1, "Windows Server 2022", 50)]
    for host in ("sh1", "sh2"):
        session_host = job["after_site"][host]["session_host"]
        assert session_host["licensing_type"] == 4 and session_host["specified_servers"] == ["ls1"]


def test_the_rerun_changes_nothing(job):
    rerun = job["rerun"]
    assert (rerun.status, rerun.rc) == ("successful", 0)
    assert rerun.stats["changed"] == {} and rerun.stats["failures"] == {}


def test_every_pack_program_job_installs_its_pack(job):
    for run, _directory in job["packs"]:
        assert (run.status, run.rc) == ("successful", 0), (run.status, run.rc)
        assert set(run.stats["changed"]) == {"ls1"}, run.stats
    packs = [pack for pack in job["lab"].state("ls1")["license_server"]["key_packs"] if pack["KeyPackType"] != 6]
    assert len(packs) == 1 + len(MORE_PACKS)


def credential_values():
    """Every value the jobs' credentials carry, as typed and as the modules normalize it (no hyphens)."""
    values = {}
    for type_file, inputs in CREDENTIALS + [("cal_pack.json", inputs) for _answers, inputs in MORE_PACKS]:
        for field, value in inputs.items():
            values["%s %s" % (type_file, field)] = value
            values["%s %s, normalized" % (type_file, field)] = value.replace("-", "").upper()
    return values


def test_the_jobs_carry_every_field_of_both_credential_types():
    """The secret search below covers every credential field, the license server ID included."""
    jobs = CREDENTIALS + [("cal_pack.json", inputs) for _answers, inputs in MORE_PACKS]
    given = {(type_file, field) for type_file, inputs in jobs for field in inputs}
    for type_file in ("cal_pack.json", "license_server_id.json"):
        definition = json.loads((AWX_FILES / "credential_types" / type_file).read_text())
        for field in definition["inputs"]["fields"]:
            assert (type_file, field["id"]) in given, "%s %s is never given to a job" % (type_file, field["id"])


def test_no_secret_in_the_artifacts_or_the_output(job):
    """Every credential value reached the hosts (the server is activated, the packs installed) but no
    artifact of any job, and not the job output AWX shows; neither did the Machine password."""
    secrets = dict(credential_values(), **{"WinRM password": job["password"]})
    directories = [job["dir"], job["rerun_dir"]] + [directory for _run, directory in job["packs"]]
    files = [path for directory in directories for path in (directory / "artifacts").rglob("*") if path.is_file()]
    assert len(files) > 10 * len(directories)
    for path in files:
        text = path.read_bytes().decode("utf-8", "replace")
        for what, value in secrets.items():
            assert value not in text, "the %s is in %s" % (what, path)
    for run in [job["run"], job["rerun"]] + [run for run, _directory in job["packs"]]:
        output = "".join(event.get("stdout", "") for event in run.events)
        for what, value in secrets.items():
            assert value not in output, "the %s is in the job output" % what


def test_no_unkeyed_derivative_of_a_number_on_the_host_or_in_the_artifacts(job):
    """Finding 1 of issue 9: the CAL pack markers are keyed with the credential's marker key; nothing a reader
    of the host or of the jobs' artifacts sees can be tested against guesses of the numbers."""
    registry = job["lab"].state("ls1")["registry"]
    names = [v["name"] for v in registry.get(r"software\ansible\remotedesktoplicensing", {}).values()]
    # No Salt, no fingerprint list: pack markers (keyed macs), the lock, and the plain labels of issue 12
    # (program, version, type, count: what messages already show, never a number).
    assert names and all(n.startswith(("pack.", "lock.", "label.")) for n in names), names
    numbers = [v for k, v in credential_values().items() if "marker_key" not in k]
    labels = [n for n in names if n.startswith("label.")]
    assert labels and not [n for n in labels for number in numbers if number in n], labels
    digests = {getattr(hashlib, a)(n.encode()).hexdigest() for n in numbers for a in ("md5", "sha1", "sha256")}
    directories = [job["dir"], job["rerun_dir"]] + [directory for _run, directory in job["packs"]]
    for directory in directories:
        for path in (directory / "artifacts").rglob("*"):
            if path.is_file():
                text = path.read_bytes().decode("utf-8", "replace")
                assert not [d for d in digests if d in text], path
