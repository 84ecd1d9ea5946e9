"""Win32_Service start and stop codes and the StdRegProv methods, through the bridge executor."""

import pytest
from rdlab.model.repository import REPOSITORY
from test_model_helpers import invoke, one

from rdlab.model.host import HKLM, Host, new_host_state

SERVICE = {"namespace": "root/cimv2", "class": "Win32_Service", "filter": "Name = 'TermServLicensing'"}
REG = {"namespace": "root/default", "class": "StdRegProv"}
KEY = r"SOFTWARE\Lab\Test"


@pytest.fixture
def host():
    return Host(new_host_state("ls1", roles=("license_server",)))


def service_call(host, method, **arguments):
    result = one(host, invoke(method, SERVICE, instances=True, arguments=arguments or None))
    return result["calls"][0]["return_value"] if "calls" in result else result["error"]["return_value"]


def service_state(host):
    return one(host, dict(SERVICE, kind="cim_get"))["instances"][0]["State"]


def test_start_and_stop_service_return_codes(host):
    assert service_call(host, "StartService") == 10  # already running
    assert service_call(host, "StopService") == 0
    assert service_state(host) == "Stopped"
    assert service_call(host, "StopService") == 5  # cannot accept the control: already stopped
    assert service_call(host, "ChangeStartMode", StartMode="Disabled") == 0
    assert service_call(host, "StartService") == 14  # disabled
    assert service_call(host, "ChangeStartMode", StartMode="Manual") == 0
    assert service_call(host, "StartService") == 0
    assert service_state(host) == "Running"


def reg(host, method, **arguments):
    result = one(host, invoke(method, REG, arguments=dict(hDefKey=HKLM, **arguments)))
    if result["ok"]:
        return 0, result["out"]
    return result["error"]["return_value"], result["error"]["out"]


def test_multi_string_values_round_trip(host):
    assert reg(host, "SetMultiStringValue", sSubKeyName=KEY, sValueName="Servers", sValue=["a"])[0] == 2  # no key
    assert reg(host, "CreateKey", sSubKeyName=KEY)[0] == 0
    assert reg(host, "SetMultiStringValue", sSubKeyName=KEY, sValueName="Servers", sValue=["ls1", "ls2"])[0] == 0
    assert reg(host, "GetMultiStringValue", sSubKeyName=KEY, sValueName="Servers") == (0, {"sValue": ["ls1", "ls2"]})
    assert reg(host, "GetStringValue", sSubKeyName=KEY, sValueName="Servers")[0] == 2  # wrong type


def test_a_multi_string_argument_must_be_strings(host):
    reg(host, "CreateKey", sSubKeyName=KEY)
    result = one(host, invoke("SetMultiStringValue", REG, arguments={
        "hDefKey": HKLM, "sSubKeyName": KEY, "sValueName": "Servers", "sValue": [{"a": 1}]}))
    assert result["error"]["kind"] == "invalid_operation"


def test_enum_values(host):
    reg(host, "CreateKey", sSubKeyName=KEY)
    assert reg(host, "EnumValues", sSubKeyName=KEY) == (0, {"sNames": None, "Types": None})  # only the default
    reg(host, "SetStringValue", sSubKeyName=KEY, sValueName="Name", sValue="x")
    reg(host, "SetDWORDValue", sSubKeyName=KEY, sValueName="Count", uValue=3)
    reg(host, "SetMultiStringValue", sSubKeyName=KEY, sValueName="List", sValue=[])
    code, out = reg(host, "EnumValues", sSubKeyName=KEY)
    assert code == 0 and dict(zip(out["sNames"], out["Types"])) == {"Name": 1, "Count": 4, "List": 7}
    assert reg(host, "EnumValues", sSubKeyName=KEY + r"\Missing")[0] == 2


def test_enum_key(host):
    reg(host, "CreateKey", sSubKeyName=KEY)
    assert reg(host, "EnumKey", sSubKeyName=KEY) == (0, {"sNames": None})  # no subkeys
    reg(host, "CreateKey", sSubKeyName=KEY + r"\Beta\Deeper")
    reg(host, "CreateKey", sSubKeyName=KEY + r"\Alpha")
    assert reg(host, "EnumKey", sSubKeyName=KEY) == (0, {"sNames": ["Alpha", "Beta"]})  # the case they were created in
    reg(host, "CreateKey", sSubKeyName=KEY + r"\ALPHA")  # the same key: its first spelling stays (Windows keeps it)
    assert reg(host, "EnumKey", sSubKeyName=KEY)[1] == {"sNames": ["Alpha", "Beta"]}
    assert reg(host, "EnumKey", sSubKeyName=KEY + r"\Missing")[0] == 2


def test_delete_key(host):
    reg(host, "CreateKey", sSubKeyName=KEY + r"\Child")
    assert reg(host, "DeleteKey", sSubKeyName=KEY)[0] == 5  # has a subkey
    assert reg(host, "DeleteKey", sSubKeyName=KEY + r"\Child")[0] == 0
    assert reg(host, "DeleteKey", sSubKeyName=KEY + r"\Child")[0] == 2
    assert reg(host, "DeleteKey", sSubKeyName=KEY)[0] == 0
    assert reg(host, "EnumValues", sSubKeyName=KEY)[0] == 2


def test_other_hives_are_refused(host):
    for method in ("EnumValues", "EnumKey", "DeleteKey"):
        # The bridge refuses other hives itself; the model, asked directly, answers access denied.
        result = one(host, invoke(method, REG, arguments={"hDefKey": 2147483649, "sSubKeyName": "Software"}))
        assert result["error"] == {"kind": "not_allowed", "message": "only HKEY_LOCAL_MACHINE is on the bridge's allowlist"}
        answer = REPOSITORY.invoke(host, "root/default", "StdRegProv", method,
                                   {"hDefKey": 2147483649, "sSubKeyName": "Software"})
        assert answer["ReturnValue"] == 5
