"""site.yml and the fleet report as an AWX sliced job runs them, through ansible-runner, against a lab.

AWX slices a job template with job_slice_count 3 into 3 jobs, each with its own private data directory and
an inventory of one slice (tests/e2e/awx.py: the rule, the inventory script, the private data directory).
Here, with the hosts ls1, ls2, sh1, sh2, sh3, the slices are [ls1, sh2], [ls2, sh3], [sh1]: every session
host's license server is in another slice. The workflow is the one of docs/awx_slicing.md:

  1. the sliced site job (rds_sliced_job: true), its slices run last to first, so that every session host is
     configured before its license server exists (AWX runs slices in any order, in parallel);
  2. the sliced report job: each slice publishes its part with set_stats;
  3. the merge node: report.yml with rds_report_merge, the slices' artifacts as extra vars as a workflow carries them.

Then, for comparison, the report job and the site job unsliced. The merged report must equal the unsliced
one field by field, no slice may touch another slice's host (the lab's transcript), and the unsliced site
must find nothing to change: the slices converged the fleet as one job would have.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import ansible_runner
import pytest
from rdlab.testing import start_lab

from .awx import artifacts, awx_inventory, lay_out, meta_vars, slice_hosts, sliced_inventory, workflow_artifacts

DOMAIN = "corp.example.com"
SLICES = 3
HOSTS = ["ls1", "ls2", "sh1", "sh2", "sh3"]
# Lab-only inventions of the right shape, chosen not to occur by chance in timestamps or durations.
AGREEMENTS = ("5820417396", "5820417397")
MARKER_KEY = "sliced-site-marker-key-7q2w9e4r"  # keys the CAL pack markers (docs/cal_packs.md)
# The inventory's variables: what AWX keeps for a slice are the slice's host variables and every group's
# variables. ls1 is made a license server by the site; ls2, an older license server, is left not activated
# (it is not in license_servers); each session host names its license servers (a host variable, or the
# variable of its site's group for sh3).
HOST_VARS = {
    "ls1": {"license_server_first_name": "Ada", "license_server_last_name": "Lovelace",
            "license_server_company": "Example Ltd", "license_server_country_region": "United Kingdom",
            "license_server_scope": "domain", "license_server_ad_group_membership": True,
            "license_server_cal_pack_marker_key": MARKER_KEY,
            "license_server_cal_packs": [
                {"program": "spla", "agreement_number": AGREEMENTS[0], "product_version": "2022",
                 "license_type": "per_user", "count": 50},
                {"program": "enterprise_agreement", "agreement_number": AGREEMENTS[1], "product_version": "2019",
                 "license_type": "per_device", "count": 25}]},
    "sh1": {"session_host_mode": "per_device", "session_host_license_servers": ["LS1.CORP.EXAMPLE.COM"]},
    "sh2": {"session_host_mode": "per_user", "session_host_license_servers": ["ls2"]},
    "sh3": {"session_host_mode": "per_device"},
}
SITE_B = {"hosts": ["sh3"], "children": [], "vars": {"session_host_license_servers": ["ls1"]}}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    lab = start_lab(tmp_path_factory.mktemp("slicing-lab"),
                    f"ls1:none:domain={DOMAIN}:groups=license_servers",
                    f"ls2:license_server:os=2016:domain={DOMAIN}:groups=other_hosts",
                    f"sh1:session_host:os=2019:domain={DOMAIN}",
                    f"sh2:session_host:domain={DOMAIN}",
                    f"sh3:session_host:domain={DOMAIN}")
    try:
        inventory, user, password = awx_inventory(lab.inventory)
        for host, variables in HOST_VARS.items():
            inventory["_meta"]["hostvars"][host].update(variables)
        inventory["site_b"] = SITE_B
        inventory["windows"]["children"].append("site_b")
        yield Fleet(lab, inventory, (user, password), tmp_path_factory)
    finally:
        lab.rdlab("stop")


class Fleet:
    """The lab, its AWX inventory, and the jobs run so far, each with the lab transcript it caused."""

    def __init__(self, lab, inventory, machine, tmp_path_factory):
        self.lab, self.inventory, self.machine, self.tmp = lab, inventory, machine, tmp_path_factory
        self.next_id = 100
        self.report_dirs = {}

    def job(self, playbook, extra_vars, number=None, credential=True, template=None, inventory=None, succeed=True):
        """One AWX job: a private data directory of its own, the slice's inventory (or all of it)."""
        self.next_id += 1
        inventory = inventory or self.inventory
        inventory = sliced_inventory(inventory, number, SLICES) if number else inventory
        directory = self.tmp.mktemp("awx_%d_" % self.next_id)
        variables = dict(meta_vars(self.next_id, template or playbook), **extra_vars)
        kwargs = lay_out(directory, self.next_id, playbook, inventory, variables, self.machine if credential else None)
        before = len(self.lab.transcript())
        run = ansible_runner.run(**kwargs)
        touched = {line["host"] for line in self.lab.transcript()[before:]}
        stdout = (directory / "artifacts" / str(self.next_id) / "stdout").read_text()
        if succeed:
            assert (run.status, run.rc) == ("successful", 0), stdout[-4000:]
        return Job(run, touched, directory, number, stdout)

    def report_dir(self, name):
        return self.report_dirs.setdefault(name, self.tmp.mktemp("report") / name)


class Job:
    def __init__(self, run, touched, directory, number, stdout):
        self.run, self.touched, self.dir, self.number, self.stdout = run, touched, directory, number, stdout
        self.hosts = set(slice_hosts(HOSTS, number, SLICES)) if number else set(HOSTS)


@pytest.fixture(scope="module")
def workflow(fleet):
    """The sliced workflow, then the unsliced jobs to compare with."""
    sliced = {"rds_sliced_job": True}
    site = [fleet.job("site", sliced, number) for number in range(SLICES, 0, -1)]
    report = [fleet.job("report", sliced, number) for number in range(1, SLICES + 1)]
    merge_vars = dict(workflow_artifacts(job.run for job in report), rds_report_merge=True,
                      report_dir=str(fleet.report_dir("merged")), report_parts_expected=SLICES)
    merge = fleet.job("report", merge_vars, credential=False, template="report merge")
    unsliced_report = fleet.job("report", {"report_dir": str(fleet.report_dir("unsliced"))})
    unsliced_site = fleet.job("site", {})
    return {"site": site, "report": report, "merge": merge, "unsliced_report": unsliced_report,
            "unsliced_site": unsliced_site}


def read_report(fleet, name):
    return json.loads((fleet.report_dirs[name] / "report.json").read_text())


def test_awx_slices_put_every_session_host_apart_from_its_license_server():
    assert [slice_hosts(HOSTS, number, SLICES) for number in range(1, SLICES + 1)] == [
        ["ls1", "sh2"], ["ls2", "sh3"], ["sh1"]]


def test_each_slice_sees_only_its_own_hosts(fleet):
    second = sliced_inventory(fleet.inventory, 2, SLICES)
    assert sorted(second["_meta"]["hostvars"]) == ["ls2", "sh3"]
    assert "license_servers" not in second  # no host, child or variable left: AWX leaves the group out
    assert second["site_b"]["hosts"] == ["sh3"]
    assert second["site_b"]["vars"] == {"session_host_license_servers": ["ls1"]}  # group variables stay


def test_no_slice_touches_another_slices_hosts(workflow):
    for job in workflow["site"] + workflow["report"]:
        assert job.touched and job.touched <= job.hosts, (job.number, job.touched)
    assert workflow["merge"].touched == set()  # the merge reads no host


def test_the_sliced_site_licenses_every_host(fleet, workflow):
    ls1 = fleet.lab.state("ls1")["license_server"]
    assert ls1["activation_status"] == 0
    packs = [(p["ProductType"], p["ProductVersion"], p["TotalLicenses"]) for p in ls1["key_packs"]
             if p["KeyPackType"] != 6]
    assert sorted(packs) == [(0, "Windows Server 2019", 25), (1, "Windows Server 2022", 50)]
    expected = {"sh1": (2, ["LS1.CORP.EXAMPLE.COM"]), "sh2": (4, ["ls2"]), "sh3": (2, ["ls1"])}
    for host, (licensing_type, servers) in expected.items():
        session_host = fleet.lab.state(host)["session_host"]
        assert (session_host["licensing_type"], session_host["specified_servers"]) == (licensing_type, servers), host
    assert fleet.lab.state("ls2")["license_server"]["activation_status"] != 0  # not in license_servers


def test_the_unsliced_site_finds_nothing_to_change(workflow):
    stats = workflow["unsliced_site"].run.stats
    assert stats["changed"] == {} and stats["failures"] == {}


def test_each_slice_publishes_its_hosts_under_a_key_of_its_own(workflow):
    keys = []
    for job in workflow["report"]:
        published = artifacts(job.run)
        assert len(published) == 1
        key, text = next(iter(published.items()))
        part = json.loads(text)  # JSON text, so that AWX's !unsafe extra vars cannot change its types
        assert part["kind"] == "remote_desktop.licensing.report_part"
        assert key == "rds_licensing_report_part_%s" % job.dir.name.split("_")[1]
        assert {h["inventory_hostname"] for h in part["hosts"]} == job.hosts
        keys.append(key)
    assert len(set(keys)) == SLICES
    assert not list(workflow["report"][0].dir.glob("**/report.json")), "a slice wrote a report of its own"


def test_the_merged_report_equals_the_unsliced_report(fleet, workflow):
    merged, unsliced = read_report(fleet, "merged"), read_report(fleet, "unsliced")
    assert [h["inventory_hostname"] for h in merged["hosts"]] == HOSTS
    for mine, theirs in zip(merged["hosts"], unsliced["hosts"]):
        assert mine == theirs, mine["inventory_hostname"]
    assert [(h["license_server"] or {}).get("key_packs") for h in merged["hosts"]] == \
        [(h["license_server"] or {}).get("key_packs") for h in unsliced["hosts"]]
    assert merged["diagnostics"] == unsliced["diagnostics"]
    for field in ("summary", "cal_usage", "totals", "title", "schema_version"):
        assert merged[field] == unsliced[field], field
    assert set(merged) == set(unsliced)
    for name in ("report.csv", "report-key-packs.csv"):
        assert (fleet.report_dirs["merged"] / name).read_text() == (fleet.report_dirs["unsliced"] / name).read_text()


def test_the_merged_report_has_the_cross_slice_findings(fleet, workflow):
    hosts = {h["inventory_hostname"]: h for h in read_report(fleet, "merged")["hosts"]}
    fleet_codes = {name: [f["code"] for f in host["diagnostics"] if f["source"] == "fleet"]
                   for name, host in hosts.items()}
    # sh2 (slice 1) on ls2 (slice 2): not activated, older, no Per User CALs. sh3 (slice 2) Per Device on ls1
    # (slice 1), which has 2019 Per Device CALs only. sh1 (slice 3, 2019) on ls1: nothing wrong.
    assert fleet_codes == {"ls1": [], "ls2": [], "sh1": [],
                           "sh2": ["license_server_not_activated", "license_server_older", "no_cals_for_mode"],
                           "sh3": ["cal_version_too_old"]}
    rows = {r["host"]: r for r in csv.DictReader((fleet.report_dirs["merged"] / "report.csv").open(newline=""))}
    assert rows["ls1"]["cals_per_user_total"] == "50" and rows["sh2"]["license_servers"] == "ls2"


def test_no_secret_in_any_artifact_or_report(fleet, workflow):
    jobs = workflow["site"] + workflow["report"] + [workflow["merge"], workflow["unsliced_report"]]
    files = [path for job in jobs for path in (job.dir / "artifacts").rglob("*") if path.is_file()]
    files += [path for directory in fleet.report_dirs.values() for path in Path(directory).iterdir()]
    secrets = AGREEMENTS + (MARKER_KEY, fleet.machine[1], fleet.lab.state("ls1")["license_server"]["license_server_id"])
    for path in files:
        text = path.read_bytes().decode("utf-8", "replace")
        assert [s for s in secrets if s in text] == [], path


def test_a_sliced_site_without_license_server_names_stops_before_touching_a_host(fleet, workflow):
    """Without the site group's list, sh3 would take its license servers from the slice's license_servers
    group, which holds none of them: the play stops first, naming the host."""
    inventory = json.loads(json.dumps(fleet.inventory))
    inventory["site_b"]["vars"] = {}
    job = fleet.job("site", {"rds_sliced_job": True}, 2, inventory=inventory, succeed=False)
    assert (job.run.status, job.run.rc) == ("failed", 2)
    assert "the license servers of sh3 cannot be taken from the inventory groups" in job.stdout
    assert job.touched == set()
