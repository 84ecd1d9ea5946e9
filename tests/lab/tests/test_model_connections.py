"""Client connections to a session host (`rdlab connect`): when the grace period starts and ends, and the
CALs a license server issues ([WSD] rds-client-access-license.md; hh553157). Through the command line on a
lab directory, and the bridge executor in process for what Windows answers afterwards."""

import datetime as dt
import json

import pytest
from test_model_helpers import PACKS, SOURCE, one
from test_model_license_server import ISSUED, activated, per_device_pack

from rdlab import cli
from rdlab.modules import host_bridge as bridge
from rdlab.fleet import Fleet
from rdlab.model.host import Host, new_host_state
from rdlab.model.licensing import issue_licenses

TS = {"namespace": "root/cimv2/TerminalServices", "class": "Win32_TerminalServiceSetting"}
GRACE_KEY = r"SYSTEM\CurrentControlSet\Services\TermService\Parameters"
DOMAIN = "corp.example.com"


def spec(name, role, domain=DOMAIN, os="2022"):
    return {"name": name, "roles": [role], "os": os, "installation": "desktop", "domain": domain,
            "address": "127.0.0.1"}


@pytest.fixture
def lab(tmp_path):
    cli.create_lab(tmp_path, [spec("ls1", "license_server"), spec("sh1", "session_host"),
                              spec("wg1", "session_host", domain=None)], "http")
    return Fleet(tmp_path)


def configure(fleet, host, licensing_type, servers=("ls1",)):
    with fleet.host(host) as model:
        model.state["session_host"].update(licensing_type=licensing_type, specified_servers=list(servers))


def connect(fleet, capsys, host="sh1", computer="PC1", user="ada"):
    assert cli.main(["connect", "--dir", str(fleet.dir), host, "--computer", computer, "--user", user]) == 0
    return json.loads(capsys.readouterr().out)


def days_left(fleet, host="sh1"):
    with fleet.host(host, write=False) as model:
        return one(model, dict(TS, kind="cim_invoke", method="GetGracePeriodDays", instances=True))["out"]["DaysLeft"]


def move_clock(fleet, days, *hosts):
    for host in hosts:
        with fleet.host(host) as model:
            model.state["clock_offset_days"] += days


def grace_ended_value(fleet, host="sh1"):
    with fleet.host(host, write=False) as model:
        values = one(model, {"namespace": "root/default", "class": "StdRegProv", "kind": "cim_invoke",
                             "method": "EnumValues", "arguments": {"hDefKey": 0x80000002, "sSubKeyName": GRACE_KEY}})
    return "LicensingGracePeriodEnded" in ((values.get("out") or {}).get("sNames") or [])


def packs(fleet):
    with fleet.host("ls1", write=False) as model:
        return {p["KeyPackId"]: p for p in one(model, dict(PACKS, kind="cim_get"))["instances"]}


def issued(fleet):
    with fleet.host("ls1", write=False) as model:
        return one(model, dict(ISSUED, kind="cim_get"))["instances"]


def install(fleet, product_type=0, count=10, version=7):
    with fleet.host("ls1") as model:
        activated(model)
        if product_type == 0:
            return per_device_pack(model, count=count)
        args = {"AgreementType": 0, "sAgreementNumber": "1234567", "ProductVersion": version, "ProductType": 1,
                "LicenseCount": count}
        return one(model, dict(PACKS, kind="cim_invoke", method="InstallAgreementLicenseKeyPack",
                               arguments=args))["out"]["KeyPackId"]


def test_the_grace_period_starts_at_the_first_client_connection(lab, capsys):
    move_clock(lab, 200, "sh1")
    assert days_left(lab) == 120  # installed long ago, but no client has connected
    outcome = connect(lab, capsys)
    assert outcome["accepted"] is True and outcome["grace_period_days_left"] == 120
    move_clock(lab, 30, "sh1")
    assert days_left(lab) == 90
    move_clock(lab, 100, "sh1")
    assert days_left(lab) == 0
    assert connect(lab, capsys)["accepted"] is False  # not configured, grace over: refused


def test_per_device_temporary_then_permanent_cal_ends_the_grace_period(lab, capsys):
    pack_id = install(lab, count=1)
    configure(lab, "sh1", 2)
    first = connect(lab, capsys)
    assert first["cal"]["LicenseStatus"] == 1 and first["license_server"] == "ls1"
    assert first["grace_period_ended"] is False and not grace_ended_value(lab)
    (temporary,) = issued(lab)
    assert temporary["LicenseStatus"] == 1 and temporary["KeyPackId"] == 2  # built-in pack (ASSUMED)
    assert dt.datetime.fromisoformat(temporary["ExpirationDate"].replace("Z", "+00:00")) - \
        dt.datetime.fromisoformat(temporary["IssueDate"].replace("Z", "+00:00")) == dt.timedelta(days=90)
    assert packs(lab)[pack_id]["IssuedLicenses"] == 0
    move_clock(lab, 3, "sh1", "ls1")
    second = connect(lab, capsys)
    assert second["cal"]["LicenseStatus"] == 2 and second["cal"]["KeyPackId"] == pack_id
    assert second["grace_period_ended"] is True and grace_ended_value(lab)
    assert packs(lab)[pack_id]["IssuedLicenses"] == 1
    (permanent,) = issued(lab)
    validity = dt.datetime.fromisoformat(permanent["ExpirationDate"].replace("Z", "+00:00")) - \
        dt.datetime.fromisoformat(permanent["IssueDate"].replace("Z", "+00:00"))
    assert dt.timedelta(days=52) <= validity <= dt.timedelta(days=89)
    # GetGracePeriodDays goes on counting (ASSUMED): only LicensingGracePeriodEnded says the period is over.
    assert days_left(lab) == 117


def test_a_device_without_a_cal_left_keeps_its_temporary_cal(lab, capsys):
    install(lab, count=1)
    configure(lab, "sh1", 2)
    for computer in ("PC1", "PC1", "PC2", "PC2"):
        outcome = connect(lab, capsys, computer=computer)
    assert outcome["cal"]["LicenseStatus"] == 1 and outcome["cal"]["sIssuedToComputer"] == "PC2"
    assert sorted((r["sIssuedToComputer"], r["LicenseStatus"]) for r in issued(lab)) == [("PC1", 2), ("PC2", 1)]


def test_an_unactivated_license_server_issues_temporary_per_device_cals_only(lab, capsys):
    configure(lab, "sh1", 2)
    connect(lab, capsys)
    outcome = connect(lab, capsys)
    assert outcome["cal"]["LicenseStatus"] == 1 and outcome["grace_period_ended"] is False
    assert not grace_ended_value(lab)


def test_per_user_cal_ends_the_grace_period_and_can_be_over_allocated(lab, capsys):
    pack_id = install(lab, product_type=1, count=1)
    configure(lab, "sh1", 4)
    ada = connect(lab, capsys, user="ada")
    assert ada["cal"]["KeyPackId"] == pack_id and ada["grace_period_ended"] is True and grace_ended_value(lab)
    connect(lab, capsys, user="ada", computer="PC2")  # the same user on another device: no new CAL
    assert packs(lab)[pack_id]["IssuedLicenses"] == 1
    bob = connect(lab, capsys, user="bob")
    assert bob["accepted"] is True  # not enforced
    assert (packs(lab)[pack_id]["IssuedLicenses"], packs(lab)[pack_id]["AvailableLicenses"]) == (2, 0)
    assert issued(lab) == []  # Per User CALs are not Win32_TSIssuedLicense rows


def test_per_user_cals_are_not_issued_in_a_workgroup(lab, capsys):
    pack_id = install(lab, product_type=1)
    configure(lab, "wg1", 4)
    outcome = connect(lab, capsys, host="wg1")
    assert outcome["cal"] is None and outcome["grace_period_ended"] is False
    assert packs(lab)[pack_id]["IssuedLicenses"] == 0 and not grace_ended_value(lab, "wg1")


def test_per_user_cals_of_an_older_version_are_not_issued_and_the_request_is_recorded(lab, capsys):
    install(lab, product_type=1, version=6)  # 2019 CALs for a 2022 session host
    configure(lab, "sh1", 4)
    assert connect(lab, capsys)["cal"] is None and not grace_ended_value(lab)
    with lab.host("ls1", write=False) as model:
        failed = list(model.state["license_server"]["failed_per_user"].values())
    assert [(f["User"], f["ProductVersionID"]) for f in failed] == [("ada", 7)]  # it asked for a 2022 CAL


def test_after_the_grace_period_a_per_device_client_needs_a_cal(lab, capsys):
    configure(lab, "sh1", 2, servers=("nosuch",))
    connect(lab, capsys)
    move_clock(lab, 121, "sh1")
    outcome = connect(lab, capsys)
    assert outcome["accepted"] is False and outcome["license_server"] is None


def test_connecting_to_a_host_that_is_not_a_session_host_fails(lab, capsys):
    assert cli.main(["connect", "--dir", str(lab.dir), "ls1"]) == 2
    assert "not an RD Session Host" in capsys.readouterr().err


def test_seeded_cals_have_the_documented_validity():
    host = activated(Host(new_host_state("ls1", roles=("license_server",), domain=DOMAIN)))
    pack_id = per_device_pack(host, count=30)
    rows = issue_licenses(host, pack_id, 20) + issue_licenses(host, pack_id, 2, status=1)

    def days(row):
        return (dt.datetime.strptime(row["ExpirationDate"][:14], "%Y%m%d%H%M%S")
                - dt.datetime.strptime(row["IssueDate"][:14], "%Y%m%d%H%M%S")).days
    permanent = [days(r) for r in rows[:20]]
    assert all(52 <= d <= 89 for d in permanent) and len(set(permanent)) > 1  # random, in the documented range
    assert [days(r) for r in rows[20:]] == [90, 90]
    assert bridge.run(host, {"operations": [dict(ISSUED, kind="cim_get", id="0")]}, SOURCE)["results"][0]["ok"]
