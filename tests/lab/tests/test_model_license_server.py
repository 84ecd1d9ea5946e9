"""Win32_TSLicenseServer scope, publishing, group and phone activation methods; issued licenses;
removing and reinstalling the role. Through the bridge executor in process, like test_model.py."""

import pytest
from test_model_helpers import CONTACT, LS, PACKS, SOURCE, invoke, one

from rdlab.modules import host_bridge as bridge
from rdlab.model.cim import LabStateError
from rdlab.model.host import Host, new_host_state
from rdlab.model.licensing import issue_licenses

ISSUED = {"namespace": "root/cimv2", "class": "Win32_TSIssuedLicense"}
DENIED, FAILED, INVALID_PARAMETER = 0x80041003, 0x80041001, 0x80041008
SERVER_ID = "ABCDE12345FGHIJ67890KLMNO12345PQRST"  # 35 alphanumerics [W32]


def domain_server(**account):
    host = Host(new_host_state("ls1", roles=("license_server",), domain="corp.example.com"))
    host.state["account"].update(account)
    return host


def workgroup_server():
    return Host(new_host_state("ls2", roles=("license_server",)))


def return_value(host, method, **arguments):
    result = one(host, invoke(method, arguments=arguments or None))
    return 0 if result["ok"] else result["error"]["return_value"]


def server_role(host):
    return one(host, dict(LS, kind="cim_get", properties=["ServerRole"]))["instances"][0]["ServerRole"]


def activated(host):
    one(host, dict(LS, kind="cim_set", properties=CONTACT))
    assert return_value(host, "ActivateServerAutomatic") == 0
    return host


# --- privileges ---------------------------------------------------------------------------------


def test_account_defaults_follow_the_domain():
    assert domain_server().account() == {"domain_admin": True, "enterprise_admin": True}
    assert workgroup_server().account() == {"domain_admin": False, "enterprise_admin": False}


def test_a_misspelt_account_seed_fails_loudly():
    host = domain_server()
    host.state["account"] = {"domain_admins": True}
    with pytest.raises(LabStateError, match="domain_admin and enterprise_admin"):
        bridge.run(host, {"operations": [invoke("PublishLS")]}, SOURCE)


def test_domain_scope_needs_a_domain_admin():
    host = domain_server(domain_admin=False)
    assert return_value(host, "ChangeRole", ServerRole=0) == 0
    assert return_value(host, "ChangeRole", ServerRole=1) == DENIED
    assert server_role(host) == 0
    host.state["account"]["domain_admin"] = True
    assert return_value(host, "ChangeRole", ServerRole=1) == 0
    assert server_role(host) == 1


def test_forest_scope_needs_an_enterprise_admin():
    host = domain_server(enterprise_admin=False)
    assert return_value(host, "ChangeRole", ServerRole=2) == DENIED
    host.state["account"]["enterprise_admin"] = True
    assert return_value(host, "ChangeRole", ServerRole=2) == 0
    assert server_role(host) == 2


def test_in_a_workgroup_only_the_workgroup_scope_works():
    host = workgroup_server()
    host.state["account"] = {"domain_admin": True, "enterprise_admin": True}  # even so
    assert [return_value(host, "ChangeRole", ServerRole=r) for r in (0, 1, 2)] == [0, FAILED, FAILED]
    assert return_value(host, "ChangeRole", ServerRole=3) == INVALID_PARAMETER


def test_publishing_needs_an_enterprise_admin():
    host = domain_server(enterprise_admin=False)
    assert return_value(host, "PublishLS") == DENIED
    host.state["account"]["enterprise_admin"] = True
    assert return_value(host, "PublishLS") == 0
    assert one(host, invoke("IsLSPublished"))["out"] == {"Published": True}
    assert return_value(host, "UnpublishLS") == 0
    assert one(host, invoke("IsLSPublished"))["out"] == {"Published": False}


def test_license_servers_group_needs_a_domain_admin():
    host = domain_server(domain_admin=False, enterprise_admin=True)
    assert return_value(host, "AddLStoTSLSGroup") == DENIED
    host.state["account"]["domain_admin"] = True
    assert return_value(host, "AddLStoTSLSGroup") == 0
    assert one(host, invoke("IsLSinTSLSGroup", arguments={"Domain": ""}))["out"] == {"IsMember": True}
    assert return_value(host, "RemoveLSfromTSLSGroup") == 0
    assert one(host, invoke("IsLSinTSLSGroup", arguments={"Domain": ""}))["out"] == {"IsMember": False}


def test_domain_methods_fail_in_a_workgroup():
    host = workgroup_server()
    for method in ("PublishLS", "UnpublishLS", "AddLStoTSLSGroup", "RemoveLSfromTSLSGroup"):
        assert return_value(host, method) == FAILED, method


def test_a_flaky_clearinghouse_fails_the_next_activations_then_answers():
    host = domain_server()
    one(host, dict(LS, kind="cim_set", properties=CONTACT))
    host.state["faults"]["activation_flaky"] = {"count": 2}
    for attempt in range(2):
        assert return_value(host, "ActivateServerAutomatic") == FAILED, attempt
        assert one(host, invoke("GetActivationStatus"))["out"] == {"ActivationStatus": 1}
    assert return_value(host, "ActivateServerAutomatic") == 0
    assert "activation_flaky" not in host.state["faults"]
    assert one(host, invoke("GetActivationStatus"))["out"] == {"ActivationStatus": 0}


# --- activation by telephone or web ---------------------------------------------------------------


def test_reactivate_with_a_new_server_id():
    host = activated(domain_server())
    host.state["faults"]["activation_unreachable"] = True  # the ID came by phone: no Internet needed
    result = one(host, invoke("ReactivateServer", arguments={"sNewLicenseServerId": SERVER_ID.lower()}))
    assert result["out"] == {"ActivationStatus": 0}
    assert one(host, invoke("GetLicenseServerId"))["out"] == {"sLicenseServerId": SERVER_ID}


@pytest.mark.parametrize("bad", [SERVER_ID[:-1], SERVER_ID[:-1] + "-", ""])
def test_reactivate_rejects_a_malformed_id(bad):
    host = activated(domain_server())
    assert return_value(host, "ReactivateServer", sNewLicenseServerId=bad) == INVALID_PARAMETER
    assert one(host, invoke("GetActivationStatus"))["out"] == {"ActivationStatus": 0}


def test_deactivate_with_a_confirmation_code():
    host = activated(domain_server())
    assert return_value(host, "DeactivateServer", sConfirmCode="short") == INVALID_PARAMETER
    result = one(host, invoke("DeactivateServer", arguments={"sConfirmCode": SERVER_ID}))
    assert result["out"] == {"ActivationStatus": 1}
    assert one(host, invoke("GetActivationStatus"))["out"] == {"ActivationStatus": 1}
    assert not one(host, invoke("GetLicenseServerId"))["ok"]


# --- issued licenses ----------------------------------------------------------------------------


def per_device_pack(host, count=10):
    args = {"AgreementType": 0, "sAgreementNumber": "1234567", "ProductVersion": 7, "ProductType": 0,
            "LicenseCount": count}
    return one(host, invoke("InstallAgreementLicenseKeyPack", target=PACKS, arguments=args))["out"]["KeyPackId"]


def pack(host, key_pack_id):
    (read,) = one(host, dict(PACKS, kind="cim_get", filter=f"KeyPackId = {key_pack_id}"))["instances"]
    return read["TotalLicenses"], read["IssuedLicenses"], read["AvailableLicenses"]


def test_issued_licenses_keep_the_pack_counters():
    host = activated(domain_server())
    pack_id = per_device_pack(host)
    issue_licenses(host, pack_id, 3)
    issue_licenses(host, pack_id, 1, status=1, computers=["KIOSK1"])
    issue_licenses(host, pack_id, 2, status=4)  # revoked: not counted (ASSUMED)
    assert pack(host, pack_id) == (10, 4, 6)
    rows = one(host, dict(ISSUED, kind="cim_get", filter=f"KeyPackId = {pack_id}"))["instances"]
    assert [r["LicenseStatus"] for r in rows] == [2, 2, 2, 1, 4, 4]
    assert [r["LicenseId"] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert rows[3]["sIssuedToComputer"] == "KIOSK1"
    assert rows[0]["IssueDate"].endswith("Z") and rows[0]["ExpirationDate"] > rows[0]["IssueDate"]


def test_a_pack_cannot_issue_more_than_it_holds():
    host = activated(domain_server())
    pack_id = per_device_pack(host, count=2)
    issue_licenses(host, pack_id, 2)
    with pytest.raises(LabStateError, match="only 0 licenses left"):
        issue_licenses(host, pack_id, 1)
    issue_licenses(host, pack_id, 1, status=4)  # a revoked row takes nothing
    assert pack(host, pack_id) == (2, 2, 0)


def test_only_per_device_licenses_are_listed_as_issued():
    host = activated(domain_server())
    with pytest.raises(LabStateError, match="not a Per Device pack"):
        issue_licenses(host, 2, 1)  # the built-in pack


def test_a_seed_whose_counter_disagrees_with_its_rows_fails_loudly():
    host = activated(domain_server())
    pack_id = per_device_pack(host)
    host.state["license_server"]["key_packs"][-1]["IssuedLicenses"] = 5  # but no issued rows
    with pytest.raises(LabStateError, match="rdlab issue"):
        bridge.run(host, {"operations": [dict(PACKS, kind="cim_get")]}, SOURCE)
    with pytest.raises(LabStateError):
        issue_licenses(host, pack_id, 1)


# --- removing and reinstalling the role ----------------------------------------------------------


def test_uninstall_removes_the_classes_and_service_and_a_reinstall_finds_the_database():
    host = activated(domain_server())
    pack_id = per_device_pack(host)
    removed = one(host, {"kind": "feature_uninstall", "names": ["RDS-Licensing"], "include_management_tools": True})
    assert removed["changed_features"] == ["RDS-Licensing", "RDS-Licensing-UI"]
    for op in (dict(LS, kind="cim_get"), dict(PACKS, kind="cim_get"), dict(ISSUED, kind="cim_get"),
               invoke("GetActivationStatus")):
        assert one(host, op)["error"]["hresult"] == 0x80041010  # invalid class
    services = {"namespace": "root/cimv2", "class": "Win32_Service", "kind": "cim_get",
                "filter": "Name = 'TermServLicensing'"}
    assert one(host, services)["instances"] == []
    one(host, {"kind": "feature_install", "names": ["RDS-Licensing"]})
    assert one(host, invoke("GetActivationStatus"))["out"] == {"ActivationStatus": 0}
    assert pack(host, pack_id) == (10, 0, 10)
    assert one(host, services)["instances"][0]["State"] == "Running"


# --- the command line: `rdlab issue` and `rdlab seed` ------------------------------------------


def test_rdlab_issue_and_seed(tmp_path, capsys):
    import json

    from rdlab import cli
    from rdlab.fleet import Fleet

    spec = {"name": "ls1", "roles": ["license_server"], "os": "2022", "installation": "desktop",
            "domain": "corp.example.com", "address": "127.0.0.1"}
    cli.create_lab(tmp_path, [spec], "http")
    with Fleet(tmp_path).host("ls1") as model:
        pack_id = per_device_pack(activated(model), count=5)
    base = ["--dir", str(tmp_path)]
    assert cli.main(["issue", *base, "ls1", "--key-pack", str(pack_id), "--count", "2", "--computer", "PC1",
                     "--computer", "PC2"]) == 0
    assert [r["sIssuedToComputer"] for r in json.loads(capsys.readouterr().out)] == ["PC1", "PC2"]
    assert cli.main(["issue", *base, "ls1", "--key-pack", str(pack_id), "--count", "9"]) == 2
    assert "only 3 licenses left" in capsys.readouterr().err
    seed = tmp_path / "account.json"
    seed.write_text(json.dumps({"account": {"enterprise_admin": False}}))
    assert cli.main(["seed", *base, "ls1", str(seed)]) == 0
    with Fleet(tmp_path).host("ls1") as model:
        assert pack(model, pack_id) == (5, 2, 3)
        assert model.account() == {"domain_admin": True, "enterprise_admin": False}
        assert return_value(model, "PublishLS") == DENIED
