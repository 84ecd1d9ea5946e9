"""The AWX templates of docs/awx_slicing.md (docs/awx/slicing/*.json) agree with the playbooks: the sliced templates
set rds_sliced_job, the merge template merges as many parts as the report has slices and cannot be limited, and
the workflow runs site, report and merge in that order."""

import json
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SLICING = ROOT / "docs" / "awx" / "slicing"


def load(name):
    return json.loads((SLICING / name).read_text())


def templates():
    return {template["name"]: template for template in load("job_templates.json")["job_templates"]}


def test_every_template_runs_a_playbook_of_the_collection():
    for template in templates().values():
        assert (ROOT / template["playbook"]).is_file(), template["playbook"]
        if template["survey"]:
            assert (SLICING / template["survey"]).is_file(), template["survey"]
        if template["job_slice_count"] > 1:
            assert template["extra_vars"] == {"rds_sliced_job": True}, template["name"]
            assert "Machine" in template["credentials"], template["name"]


def test_the_playbooks_know_the_variables_the_templates_set():
    report = (ROOT / "playbooks" / "report.yml").read_text()
    assert "rds_sliced_job" in report and "rds_report_merge" in report
    session_hosts = yaml.safe_load((ROOT / "playbooks" / "session_hosts.yml").read_text())
    assert "rds_sliced_job" in json.dumps(session_hosts[0]["pre_tasks"])


def test_the_merge_expects_one_part_per_report_slice_and_takes_no_limit():
    by_name = templates()
    merge, report = by_name["RDS licensing: report merge"], by_name["RDS licensing: report (sliced)"]
    assert merge["extra_vars"]["rds_report_merge"] is True
    assert merge["extra_vars"]["report_parts_expected"] == report["job_slice_count"]
    assert merge["job_slice_count"] == 1 and merge["ask_limit_on_launch"] is False
    assert merge["extra_vars"]["report_dir"].startswith("/"), "the job's own directory does not outlive it"


def test_instance_groups_are_defined():
    data = load("job_templates.json")
    groups = {group["name"] for group in data["instance_groups"]}
    assert {name for template in data["job_templates"] for name in template["instance_groups"]} == groups


def test_the_workflow_runs_site_then_report_then_merge():
    workflow = load("workflow_template.json")
    nodes = {node["identifier"]: node for node in workflow["nodes"]}
    assert {node["unified_job_template"] for node in nodes.values()} == set(templates())
    assert nodes["site"]["success_nodes"] == ["report"] and nodes["site"]["failure_nodes"] == ["report"]
    assert nodes["report"]["always_nodes"] == ["merge"]
    assert not any(nodes["merge"][kind] for kind in ("success_nodes", "failure_nodes", "always_nodes"))


def test_the_page_names_every_template_and_is_linked_from_the_awx_page():
    text = (ROOT / "docs" / "awx_slicing.md").read_text()
    for name in templates():
        assert name in text, name
    assert "awx/slicing/job_templates.json" in text and "awx/slicing/workflow_template.json" in text
    assert "awx_slicing.md" in (ROOT / "docs" / "awx.md").read_text()
