"""The bridge client: batches, secrets by reference, results and their messages."""

import json

import pytest
from ansible.errors import AnsibleConnectionFailure, AnsibleError

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _bridge as bridge
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _wmi as wmi


def test_secrets_travel_by_reference_only():
    batch = bridge.Batch()
    batch.invoke("install", wmi.CIMV2, wmi.KEY_PACK_CLASS, "InstallRetailPurchaseLicenseKeyPack",
                 secret_arguments={"sLicenseCode": "SECRETCODE"})
    args = batch.module_args()
    assert json.loads(args["secrets"]) == {"install.sLicenseCode": "SECRETCODE"}
    assert "SECRETCODE" not in repr(args["operations"])
    assert args["operations"][0]["secret_arguments"] == {"sLicenseCode": "install.sLicenseCode"}


def test_operations_keep_order_and_drop_unset_fields():
    batch = bridge.Batch()
    batch.get("a", wmi.CIMV2, wmi.OS_CLASS)
    batch.invoke("b", wmi.CIMV2, wmi.LICENSE_SERVER_CLASS, "GetActivationStatus", read_only=True)
    assert batch.operations == [
        {"id": "a", "kind": "cim_get", "namespace": "root/cimv2", "class": "Win32_OperatingSystem"},
        {"id": "b", "kind": "cim_invoke", "namespace": "root/cimv2", "class": "Win32_TSLicenseServer",
         "method": "GetActivationStatus", "read_only": True},
    ]


def test_duplicate_ids_are_refused():
    batch = bridge.Batch()
    batch.get("a", wmi.CIMV2, wmi.OS_CLASS)
    with pytest.raises(ValueError, match="duplicate operation id 'a'"):
        batch.get("a", wmi.CIMV2, wmi.OS_CLASS)


def _result(raw, op):
    batch = bridge.Batch()
    batch.operations.append(dict(op, id="x"))
    return bridge.BatchResult(batch, [raw])["x"]


def test_missing_class_is_told_apart_from_a_failed_call():
    op = {"kind": "cim_get", "namespace": "root/cimv2", "class": "Win32_TSLicenseServer"}
    missing = _result({"ok": False, "error": {"kind": "invalid_class", "hresult": 0x80041010,
                                              "message": "Invalid class "}}, op)
    failed = _result({"ok": False, "error": {"kind": "cim_error", "hresult": 0x80041003,
                                             "message": "Access denied"}}, op)
    assert missing.missing and not failed.missing
    assert missing.message() == ("Win32_TSLicenseServer in root/cimv2 failed: Invalid class "
                                 "[0x80041010 WBEM_E_INVALID_CLASS (Invalid class)]")
    assert "0x80041003 WBEM_E_ACCESS_DENIED" in failed.message()


def test_return_values_are_named():
    op = {"kind": "cim_invoke", "namespace": "root/cimv2", "class": "Win32_TSLicenseServer",
          "method": "ActivateServerAutomatic"}
    result = _result({"ok": False, "error": {"kind": "return_value", "return_value": 2147749889}}, op)
    assert result.return_value == 2147749889
    assert result.message() == ("Win32_TSLicenseServer.ActivateServerAutomatic in root/cimv2 returned "
                                "0x80041001 WBEM_E_FAILED (Generic failure)")


def test_result_count_must_match_the_batch():
    batch = bridge.Batch()
    batch.get("a", wmi.CIMV2, wmi.OS_CLASS)
    with pytest.raises(bridge.BridgeError, match="returned 0 results for 1 operations"):
        bridge.BatchResult(batch, [])


class FakeAction:
    def __init__(self, result):
        self.result, self.calls = result, []

    def _execute_module(self, **kwargs):
        self.calls.append(kwargs)
        return self.result


def test_run_sends_one_module_call():
    batch = bridge.Batch()
    batch.get("a", wmi.CIMV2, wmi.OS_CLASS)
    action = FakeAction({"results": [{"ok": True, "instances": [{"Caption": "x"}]}]})
    results = bridge.run(action, {}, batch)
    assert len(action.calls) == 1
    assert action.calls[0]["module_name"] == "remote_desktop.licensing.host_bridge"
    assert results["a"].instance == {"Caption": "x"}


def test_run_reports_a_failed_module():
    action = FakeAction({"failed": True, "msg": "Unsupported parameters for (host_bridge) module: x"})
    with pytest.raises(bridge.BridgeError, match="The host bridge module failed: Unsupported parameters"):
        bridge.run(action, {}, bridge.Batch())


def test_describe_code():
    assert wmi.describe_code(0x8004102E) == "0x8004102E WBEM_E_INVALID_METHOD (Invalid method)"
    assert wmi.describe_code(21) == "21"
    assert wmi.describe_code(0x80070005) == "0x80070005"
    assert wmi.describe_code(-2147217391) == "0x80041011"


class DroppingAction:
    """Drops the connection on the first `drops` calls, like the winrm plugin does (an OSError)."""

    def __init__(self, drops, result):
        self.drops, self.result, self.calls, self.resets = drops, result, 0, 0
        self._connection = self

    def reset(self):
        self.resets += 1

    def _execute_module(self, **kwargs):
        self.calls += 1
        if self.calls <= self.drops:
            raise ConnectionError("('Connection aborted.', RemoteDisconnected('Remote end closed connection'))")
        return self.result


def test_a_read_only_batch_is_retried_once_after_a_dropped_connection():
    batch = bridge.Batch()
    batch.get("a", wmi.CIMV2, wmi.OS_CLASS)
    action = DroppingAction(1, {"results": [{"ok": True, "instances": []}]})
    assert bridge.run(action, {}, batch)["a"].ok
    assert (action.calls, action.resets) == (2, 1)
    with pytest.raises(bridge.BridgeError, match="dropped twice while reading"):
        bridge.run(DroppingAction(2, {}), {}, batch)


def test_a_batch_that_changes_things_is_never_sent_twice():
    batch = bridge.Batch()
    batch.invoke("act", wmi.CIMV2, wmi.LICENSE_SERVER_CLASS, "ActivateServerAutomatic")
    action = DroppingAction(1, {"results": [{"ok": True}]})
    with pytest.raises(bridge.BridgeError, match="dropped while changes were being applied .* run the task again"):
        bridge.run(action, {}, batch)
    assert action.calls == 1


# --- secrets and Ansible.Basic's masking (issue 10, item 7) ------------------------------------------------
# What Ansible.Basic does with a no_log option before CheckArguments can fail, from its source
# (ansible/ansible lib/ansible/module_utils/csharp/Ansible.Basic.cs): SetNoLogValues registers
# noLogObject.ToString() unless empty; RemoveValueConditions recurses into lists and dicts and replaces a
# scalar equal to a registered text by VALUE_SPECIFIED_IN_NO_LOG_PARAMETER, and any registered text inside a
# longer one by ********. ToString() of a .NET dict or list is its type name.
DOTNET_TYPE_NAMES = {dict: "System.Collections.Generic.Dictionary`2[System.String,System.Object]",
                     list: "System.Collections.Generic.List`1[System.Object]"}


def ansible_basic_invocation(params, no_log_options):
    registered = set()
    for name in no_log_options:
        value = params.get(name)
        text = DOTNET_TYPE_NAMES.get(type(value), value if isinstance(value, str) else str(value))
        if value is not None and text:
            registered.add(text)

    def remove(value):
        if isinstance(value, dict):
            return dict((k, remove(v)) for k, v in value.items())
        if isinstance(value, list):
            return [remove(v) for v in value]
        text = str(value)
        if text in registered:
            return "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
        for omit in registered:
            if omit in text:
                return text.replace(omit, "********")
        return value

    return {"module_args": remove(params)}


def test_secrets_reach_the_module_in_a_form_ansible_basic_masks_by_value():
    batch = bridge.Batch()
    batch.invoke("install", wmi.CIMV2, wmi.KEY_PACK_CLASS, "InstallRetailPurchaseLicenseKeyPack",
                 secret_arguments={"sLicenseCode": "SECRETCODE12345"})
    args = batch.module_args()
    assert isinstance(args["secrets"], str)
    # An argument check that fails inside the module (FailJson in CheckArguments) returns this invocation.
    shown = ansible_basic_invocation(dict(args, bogus_option=1), ["secrets"])
    assert "SECRETCODE12345" not in json.dumps(shown)
    assert shown["module_args"]["secrets"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


def test_the_old_dict_form_would_have_leaked():
    """Pins the reasoning: Ansible.Basic masks a no_log dict only by its type name."""
    leaked = ansible_basic_invocation({"secrets": {"install.sLicenseCode": "SECRETCODE12345"}}, ["secrets"])
    assert "SECRETCODE12345" in json.dumps(leaked)


def test_no_secrets_is_an_empty_string_not_an_empty_object():
    assert bridge.Batch().module_args()["secrets"] == ""


def test_cim_names_are_read_in_any_case():
    batch = bridge.Batch()
    batch.invoke("c", wmi.TS_NAMESPACE, wmi.TS_SETTING_CLASS, "GetTStoLSConnectivityStatus", instances=True)
    batch.get("g", wmi.CIMV2, wmi.SERVICE_CLASS)
    results = bridge.BatchResult(batch, [{"ok": True, "out": {"TStoLSConnectivityStatus": 11}},
                                         {"ok": True, "instances": [{"STATE": "Running"}]}])
    assert results["c"].out.get("TsToLsConnectivityStatus") == 11
    assert results["c"].out["tstolsconnectivitystatus"] == 11 and "TSTOLSCONNECTIVITYSTATUS" in results["c"].out
    assert results["g"].instance.get("State") == "Running"
    assert list(results["c"].out) == ["TStoLSConnectivityStatus"]  # the host's spelling is kept


def test_exit_code_success_restart_required_means_a_restart():
    batch = bridge.Batch()
    batch.feature_install("f", ["RDS-RD-Server"])
    results = bridge.BatchResult(batch, [{"ok": True, "success": True, "restart_needed": "No",
                                          "exit_code": "SuccessRestartRequired", "changed_features": ["RDS-RD-Server"]}])
    assert results["f"].raw["restart_needed"] == "Yes"


class FailingConnection:
    """A winrm connection whose every attempt fails with `error` (the texts are the winrm plugin's and
    pywinrm's, as seen against the lab); counts the attempts."""

    _winrm_host, _winrm_port, _winrm_scheme, _winrm_user = "192.0.2.7", 5985, "http", "Administrator"

    def __init__(self, error):
        self.error, self.calls, self.resets = error, 0, 0
        self._connection = self

    def reset(self):
        self.resets += 1

    def _execute_module(self, **kwargs):
        self.calls += 1
        raise self.error


def read_batch():
    batch = bridge.Batch()
    batch.get("a", wmi.CIMV2, wmi.OS_CLASS)
    return batch


REFUSED = ("ntlm: HTTPConnectionPool(host='192.0.2.7', port=5985): Max retries exceeded with url: /wsman (Caused by "
           "NewConnectionError(\"HTTPConnection(host='192.0.2.7', port=5985): Failed to establish a new connection: "
           "[Errno 111] Connection refused\"))")


@pytest.mark.parametrize("error, reason, words", [
    (AnsibleConnectionFailure("ntlm: the specified credentials were rejected by the server"), "authentication",
     "Authentication as Administrator (ansible_user) was rejected by sh1 (192.0.2.7): check ansible_user and "
     "ansible_password"),
    (AnsibleConnectionFailure(REFUSED), "refused", "Nothing listens on port 5985 of sh1 (192.0.2.7) (connection refused)"),
    (AnsibleConnectionFailure("ntlm: HTTPConnectionPool(host='192.0.2.7', port=5985): Read timed out. (read timeout=30)"),
     "timeout", "sh1 (192.0.2.7) did not answer on port 5985 in time (30 seconds)"),
    (AnsibleError("the connection attempt timed out"), "timeout", "sh1 (192.0.2.7) did not answer on port 5985 in time:"),
    (AnsibleConnectionFailure("ntlm: HTTPSConnectionPool(host='192.0.2.7', port=5985): Max retries exceeded with url: "
                              "/wsman (Caused by SSLError(SSLError(1, '[SSL: WRONG_VERSION_NUMBER] wrong version "
                              "number (_ssl.c:1006)')))"), "tls", "the listener on that port may speak HTTP"),
    (AnsibleConnectionFailure("ntlm: rdlab sh1: the WinRM service refuses unencrypted messages over HTTP"),
     "unencrypted", "refused an unencrypted message over HTTP"),
])
def test_a_connection_failure_is_unreachable_in_words_and_not_retried(error, reason, words):
    action = FailingConnection(error)
    with pytest.raises(bridge.HostUnreachable) as raised:
        bridge.run(action, {"inventory_hostname": "sh1"}, read_batch())
    assert raised.value.reason == reason
    assert words in str(raised.value)
    assert raised.value.detail == str(error).splitlines()[0]
    assert (action.calls, action.resets) == (1, 0)  # one attempt: a wrong password is one failed logon


def test_other_errors_are_not_connection_problems():
    action = FailingConnection(AnsibleError("module remote_desktop.licensing.host_bridge not found"))
    with pytest.raises(AnsibleError, match="not found"):
        bridge.run(action, {}, read_batch())


def test_an_untrusted_certificate_is_named_in_short():
    error = AnsibleConnectionFailure(
        "ntlm: HTTPSConnectionPool(host='192.0.2.7', port=5986): Max retries exceeded with url: /wsman (Caused by "
        "SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
        "self-signed certificate (_ssl.c:1006)')))")
    with pytest.raises(bridge.HostUnreachable) as raised:
        bridge.run(FailingConnection(error), {"inventory_hostname": "sh1"}, read_batch())
    assert str(raised.value) == (
        "The certificate of sh1 (192.0.2.7) on port 5985 is not trusted ([SSL: CERTIFICATE_VERIFY_FAILED] certificate "
        "verify failed: self-signed certificate): set ansible_winrm_ca_trust_path to the CA that issued it.")


def test_a_connection_dropped_twice_over_http_mentions_an_https_listener():
    action = FailingConnection(ConnectionError("('Connection aborted.', RemoteDisconnected('Remote end closed "
                                               "connection without response'))"))
    with pytest.raises(bridge.HostUnreachable, match="dropped twice while reading it: .* check ansible_winrm_scheme: "
                                                     "http spoken to an HTTPS listener"):
        bridge.run(action, {}, read_batch())
    assert (action.calls, action.resets) == (2, 1)
