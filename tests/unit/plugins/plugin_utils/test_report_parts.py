"""The fleet report in two steps (AWX job slicing): each slice's part, then the merge, equal to the report of
an unsliced run."""

import copy
import json

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible.parsing.dataloader import DataLoader

from ansible_collections.remote_desktop.licensing.plugins.filter import licensing_report_merge as filters
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _report as report
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _report_parts as parts
from test_report import BUILT_IN, NOW, pack, result  # the licensing_info results of test_report.py
from test_report_usage import cal_usage, licensing_info  # a cal_usage result and its license server

SECRETS = ("00490-12345-67890-AA123", "rds-admins@example.com")


def fleet_results():
    """Two license servers and four session hosts whose findings need other hosts: sorted by name, AWX's
    slicing puts most session hosts in another slice than their license servers."""
    return {
        "ls1": result("ls1", ls={"key_packs": [BUILT_IN, pack(3, "per_user", "2022", 50, 31),
                                               pack(4, "per_device", "2019", 25, 18)]}),
        "ls2": result("ls2", os="2016", ls={"activation_status": "not_activated", "key_packs": [BUILT_IN]}),
        "sh1": result("sh1", os="2019",
                      sh={"licensing_mode": "per_device", "license_servers": ["LS1.CORP.EXAMPLE.COM"]}),
        "sh2": result("sh2", sh={"license_servers": ["ls2"], "grace_period_days_left": 20}),
        "sh3": result("sh3", sh={"licensing_mode": "per_device", "license_servers": ["ls1"]}),
        "sh4": result("sh4", sh={"license_servers": ["ls1", "ls9.corp.example.com"]}),
        "gone": {"unreachable": True, "msg": "Connection refused"},
    }


def awx_slices(names, count):
    """AWX's Inventory.get_sliced_hosts: the hosts ordered by name, slice n (1-based) is [n-1::count]."""
    ordered = sorted(names)
    return [ordered[number - 1::count] for number in range(1, count + 1)]


def carried(part):
    """What the merge step receives: the artifact as JSON, as AWX stores it and passes it on as extra vars."""
    return json.loads(json.dumps(part))


@pytest.mark.parametrize("count", [1, 2, 3, 4, 7])
def test_the_merged_report_equals_the_unsliced_one(count):
    results = fleet_results()
    unsliced = report.build(results, now=NOW)
    slice_parts = [carried(parts.part({name: results[name] for name in names}))
                   for names in awx_slices(results, count)]
    merged = parts.merge(list(reversed(slice_parts)), now=NOW)
    assert merged == unsliced
    # The slices really are split: at 3, no session host shares a slice with its license server.
    if count == 3:
        assert awx_slices(results, 3) == [["gone", "sh1", "sh4"], ["ls1", "sh2"], ["ls2", "sh3"]]


def test_the_cross_host_findings_come_from_other_slices():
    results = fleet_results()
    merged = parts.merge([parts.part({"sh2": results["sh2"]}), parts.part({"ls2": results["ls2"]})], now=NOW)
    sh2 = next(h for h in merged["hosts"] if h["inventory_hostname"] == "sh2")
    assert [f["code"] for f in sh2["diagnostics"] if f["source"] == "fleet"] == [
        "license_server_not_activated", "license_server_older", "no_cals_for_mode"]


def test_a_part_holds_entries_without_fleet_findings_or_secrets():
    results = fleet_results()
    part = parts.part({"sh3": results["sh3"], "ls1": results["ls1"]})
    assert part["kind"] == "remote_desktop.licensing.report_part" and part["schema_version"] == 1
    assert [h["inventory_hostname"] for h in part["hosts"]] == ["ls1", "sh3"]
    assert all(f["source"] != "fleet" for h in part["hosts"] for f in h["diagnostics"])
    text = json.dumps(part)
    assert [s for s in SECRETS if s in text] == [] and "license_server_id" not in text


def test_merge_leaves_its_input_alone():
    results = fleet_results()
    slice_parts = [parts.part({"sh2": results["sh2"]}), parts.part({"ls2": results["ls2"]})]
    before = copy.deepcopy(slice_parts)
    parts.merge(slice_parts, now=NOW)
    assert slice_parts == before


def test_a_host_in_two_parts_is_refused():
    results = fleet_results()
    with pytest.raises(ValueError, match="host sh2 is in more than one part"):
        parts.merge([parts.part({"sh2": results["sh2"]}), parts.part({"sh2": results["sh2"], "ls1": results["ls1"]})])


def test_a_missing_slice_is_refused_when_the_count_is_known():
    results = fleet_results()
    two = [parts.part({"sh2": results["sh2"]}), parts.part({"ls2": results["ls2"]})]
    with pytest.raises(ValueError, match="expected the parts of 3 slices, got 2"):
        parts.merge(two, expected_parts=3)
    assert parts.merge(two, expected_parts=2)["summary"]["hosts"] == 2


@pytest.mark.parametrize("bad, message", [
    ({"hosts": []}, "part 1 is not a report part"),
    ({"kind": "remote_desktop.licensing.report_part", "schema_version": 2, "hosts": []}, "part 1 has schema_version 2"),
    ({"kind": "remote_desktop.licensing.report_part", "schema_version": 1, "hosts": [{}]}, "part 1: hosts must be"),
    ("text", "part 1 is text but not JSON"),
    ("[]", "part 1 is not a report part"),
])
def test_what_is_not_a_part_is_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        parts.merge([bad])


def test_the_filters_say_what_is_wrong():
    with pytest.raises(AnsibleFilterError, match="licensing_report_part expects a dict"):
        filters.licensing_report_part(["sh1"])
    with pytest.raises(AnsibleFilterError, match="licensing_report_merge expects a list of report parts"):
        filters.licensing_report_merge({"kind": "x"})
    with pytest.raises(AnsibleFilterError, match="expected_parts must be a number of slices"):
        filters.licensing_report_merge([], expected_parts="three")
    with pytest.raises(AnsibleFilterError, match="expected the parts of 3 slices, got 0"):
        filters.licensing_report_merge([], expected_parts="3")
    merged = filters.licensing_report_merge([filters.licensing_report_part({"sh1": fleet_results()["sh1"]})],
                                            title="Site A")
    assert merged["title"] == "Site A" and merged["summary"]["hosts"] == 1


def through_awx(published):
    """A slice's artifact as the next workflow node's extra vars: written by AWX's safe_dump (every string
    !unsafe, awx/main/utils/safe_yaml.py) and read by ansible-core's loader."""
    class UnsafeStringDumper(yaml.SafeDumper):
        def represent_data(self, data):
            if isinstance(data, str):
                return self.represent_scalar("!unsafe", data)
            return super().represent_data(data)

    return DataLoader().load(yaml.dump(published, Dumper=UnsafeStringDumper, default_flow_style=False))


def test_a_part_as_text_crosses_awx_unchanged_and_a_mapping_does_not():
    results = fleet_results()
    text = parts.part_text({"ls1": results["ls1"]})
    assert through_awx({"p": text})["p"] == text
    # The same part as a mapping: ansible reads the !unsafe CAL version '2019' as the number 2019.
    mapping = through_awx({"p": parts.part({"ls1": results["ls1"]})})["p"]
    assert {p["product_version"] for p in mapping["hosts"][0]["license_server"]["key_packs"]} >= {2019}


def test_parts_as_text_merge_into_the_unsliced_report():
    results = fleet_results()
    texts = [through_awx({"p": parts.part_text({name: results[name] for name in names})})["p"]
             for names in awx_slices(results, 3)]
    assert parts.merge(texts, now=NOW) == report.build(results, now=NOW)
    with pytest.raises(ValueError, match="part 1 is text but not JSON"):
        parts.merge(["{not json"])


def test_the_merge_takes_the_usage_options_of_an_unsliced_report():
    results = dict(fleet_results(), ls1=licensing_info()["ls1"])
    options = {"usage_results": {"ls1": cal_usage()}, "user_names": "omitted", "low_cals_threshold": 30}
    slice_parts = [carried(parts.part({name: results[name] for name in names})) for names in awx_slices(results, 3)]
    merged = filters.licensing_report_merge(slice_parts, **options)
    merged["generated_at"] = None
    unsliced = report.build(results, **options)
    unsliced["generated_at"] = None
    assert merged == unsliced
    server = next(u for u in merged["usage"] if u["host"] == "ls1")
    assert server["source"] == "cal_usage" and server["user_names"] == "omitted"
    states = [(r["product_version"], r["state"]) for r in server["rows"]]
    assert states == [("2022", "over_allocated"), ("2019", "running_out")]  # 7 of 25 left: at most 30 %
    assert all(row["user"] is None for row in server["per_user"])
    default = filters.licensing_report_merge(slice_parts)
    assert next(u for u in default["usage"] if u["host"] == "ls1")["source"] == "licensing_info"
    with pytest.raises(AnsibleFilterError, match="licensing_report_merge: user_names must be one of"):
        filters.licensing_report_merge(slice_parts, user_names="clear")
    with pytest.raises(AnsibleFilterError, match="licensing_report_merge: low_cals_threshold must be a whole"):
        filters.licensing_report_merge(slice_parts, low_cals_threshold=101)
