# -*- coding: utf-8 -*-
# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY
# The interfaces in this file serve this collection's own plugins; they may change in any release,
# even a bugfix release. Do not import them from other collections or playbooks.
"""The session_host planner: licensing mode and license servers of an RD Session Host.

Two ways to write them ([WSD] rds-license-session-hosts.md: without a Connection Broker, use WMI or
Group Policy):
  wmi           Win32_TerminalServiceSetting ChangeMode and SetSpecifiedLicenseServerList [W32]
  group_policy  the local policy values LicensingMode (REG_DWORD) and LicenseServers (REG_SZ, comma
                separated) under HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services
Group Policy wins over WMI (PolicySource* = 1, rd-licensing-wmi.md §4). The module never fights a
policy it did not write: it records the values it writes under
HKLM\\SOFTWARE\\Ansible\\RemoteDesktopLicensing (LocalPolicy), and a policy value that differs from
that record belongs to someone else (a domain GPO or an administrator) and is reported, not changed.
"""

from __future__ import annotations

import copy

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _wmi as wmi
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._plan import (
    REBOOT_OPTIONS, RESTART, Plan, PlanError, check_timeouts)

POLICY_RECORD = "LocalPolicy"
VALID_CONNECTIVITY = (9, 11)  # [JAG] counts 9 and 11 as success

ARGUMENT_SPEC = {
    "mode": {"type": "str", "choices": ["per_device", "per_user"]},
    "license_servers": {"type": "list", "elements": "str"},
    "method": {"type": "str", "choices": ["wmi", "group_policy"], "default": "wmi"},
    "install_role": {"type": "bool", "default": False},
    "check_connectivity": {"type": "bool", "default": True},
    "min_grace_days": {"type": "int"},
    "allow_per_user_in_workgroup": {"type": "bool", "default": False},
}
ARGUMENT_SPEC.update(REBOOT_OPTIONS)


def validate(args):
    want = dict(args)
    servers = args.get("license_servers")
    if servers is not None:
        cleaned = [s.strip() for s in servers]
        bad = [s for s in cleaned if not s or "," in s or " " in s]
        if bad:
            raise ValueError("license_servers must be host names or addresses without spaces or commas, got %r"
                             % bad[0])
        if len(set(s.lower() for s in cleaned)) != len(cleaned):
            raise ValueError("license_servers lists a server twice")
        want["license_servers"] = cleaned
    if args.get("min_grace_days") is not None and not 0 <= args["min_grace_days"] <= 120:
        raise ValueError("min_grace_days must be between 0 and 120 (the grace period is 120 days), got %d"
                         % args["min_grace_days"])
    check_timeouts(args, "reboot_timeout")
    return want


# --- reads -------------------------------------------------------------------------------------

def read_ops(batch, want, servers=None):
    """The policy record and the connectivity check of `servers`, by default the wanted ones when
    check_connectivity is on (all read-only)."""
    batch.invoke("policy_record", wmi.REGISTRY_NAMESPACE, wmi.REGISTRY_CLASS, "GetMultiStringValue", read_only=True,
                 arguments={"hDefKey": wmi.HKEY_LOCAL_MACHINE, "sSubKeyName": wmi.MARKER_KEY,
                            "sValueName": POLICY_RECORD})
    if servers is None and want["check_connectivity"]:
        servers = want.get("license_servers")
    return connectivity_ops(batch, servers)


def connectivity_ops(batch, servers):
    """GetTStoLSConnectivityStatus for each server (instance method [W32])."""
    for index, server in enumerate(servers or []):
        batch.invoke("connectivity.%d" % index, wmi.TS_NAMESPACE, wmi.TS_SETTING_CLASS, "GetTStoLSConnectivityStatus",
                     instances=True, read_only=True, arguments={"ServerName": server})
    return batch


def observe(want, have, results):
    """`have` with the module's Group Policy record and the connectivity of the servers checked."""
    have = dict(have)
    have["policy_record"] = read_record(results)
    have["connectivity"] = connectivity(results) if have["session_host"]["installed"] else []
    return have


def read_record(results):
    result = results["policy_record"]
    if not result.ok:
        if result.return_value == wmi.REGISTRY_NOT_FOUND:
            return {}
        raise PlanError("could not read the module's Group Policy record: %s" % result.message())
    record = {}
    for line in result.out.get("sValue") or []:
        name, sep, value = line.partition("=")
        if sep:
            record[name] = value
    return record


def connectivity(results):
    """Each checked server's GetTStoLSConnectivityStatus, with its documented meaning, in the order
    the checks were sent (the server is the call's ServerName argument)."""
    report = []
    for result in results:
        if not result.operation["id"].startswith("connectivity."):
            continue
        server = result.operation["arguments"]["ServerName"]
        if not result.ok:
            report.append({"server": server, "status": None, "name": None, "valid": False,
                           "meaning": "could not be checked: %s" % result.message()})
            continue
        code = result.out.get("TStoLSConnectivityStatus")
        name, meaning = wmi.CONNECTIVITY_STATUS.get(code, ("unknown_%s" % code, "A status Microsoft does not document."))
        report.append({"server": server, "status": code, "name": name, "meaning": meaning,
                       "valid": code in VALID_CONNECTIVITY})
    return report


# --- planning ------------------------------------------------------------------------------------

def plan(want, have):
    """The role phase, then the configuration planned on the host as it will read after the install."""
    role = plan_role(want, have)
    config = plan_config(want, after_install(want, have) if role.steps else have, have["policy_record"])
    whole = Plan()
    whole.extend(role)
    whole.extend(config)
    return whole


def plan_role(want, have):
    plan = Plan()
    if want["install_role"] and want["reboot"] and wmi.FEATURE_SESSION_HOST in have.get("restart_pending", []):
        # Installed by an earlier run without reboot: Windows finishes the install at the next restart.
        # The step has no operations: the action restarts the host (_plan.py, RESTART).
        plan.add(RESTART, "Restart the host to finish installing %s" % wmi.FEATURE_SESSION_HOST, phase="role")
    elif want["install_role"] and not have["roles"]["session_host"]:
        if wmi.FEATURE_SESSION_HOST not in have["features"]:
            raise PlanError("%s does not offer %s (Server Core has no RD Session Host)"
                            % (have["host"]["name"], wmi.FEATURE_SESSION_HOST))
        step = plan.add("install_role", "Install %s" % wmi.FEATURE_SESSION_HOST, phase="role")
        step.feature_install([wmi.FEATURE_SESSION_HOST])
    return plan


def _same_servers(a, b):
    return [s.lower() for s in a or []] == [s.lower() for s in b or []]


def plan_config(want, have, record):
    """The configuration phase (WMI or local Group Policy). What Group Policy outside the module
    decides is not changed: the plan's warnings say so."""
    sh = have["session_host"]
    plan, notes = Plan(), []
    if not sh["installed"] and (want.get("mode") or want.get("license_servers") is not None):
        raise PlanError("%s is not an RD Session Host: set install_role: true, or install %s first"
                        % (have["host"]["name"], wmi.FEATURE_SESSION_HOST))
    if sh["installed"] and wmi.FEATURE_SESSION_HOST in have.get("restart_pending", []):  # InstallPending
        raise PlanError("%s has RD Session Host installed, but Windows finishes the install only at the next "
                        "restart: reboot the host (install_role: true with reboot: true does), then run again"
                        % have["host"]["name"])
    if want.get("mode") == "per_user" and not have["host"].get("part_of_domain"):
        plan.warnings.append(_per_user_in_workgroup(want, have))
    if want["method"] == "wmi":
        _plan_wmi(plan, notes, want, sh, record)
    else:
        _plan_policy(plan, notes, want, sh, record)
    plan.warnings.extend(notes)
    return plan


def _per_user_in_workgroup(want, have):
    """Workgroup servers "have to use Per Device CALs ... Per User CALs are not permitted" ([WSD]
    rds-license-session-hosts.md, and the support article cannot-connect-rds-no-license-server, step 3);
    Per User CALs cannot be tracked in a workgroup ([WSD] rds-client-access-license.md). Refused unless the
    user insists, then a warning."""
    if not want.get("allow_per_user_in_workgroup"):
        raise PlanError("mode: per_user is not permitted on %s, which is in a workgroup: Microsoft permits only Per "
                        "Device licensing for session hosts in a workgroup, and Per User CALs cannot be tracked there. "
                        "Use mode: per_device, or set allow_per_user_in_workgroup: true to set Per User anyway"
                        % have["host"]["name"])
    return ("Per User licensing is not permitted in a workgroup (allow_per_user_in_workgroup is set): Per User CALs "
            "cannot be tracked here; Microsoft permits only Per Device licensing for session hosts in a workgroup.")


def _plan_wmi(plan, notes, want, sh, record):
    """ChangeMode and SetSpecifiedLicenseServerList. A policy value the module itself wrote (method:
    group_policy before) is removed first: it would override the WMI setting, and it is the module's own."""
    new_record = dict(record)
    mode = want.get("mode")
    own_mode = mode and _own_policy(sh["policy"]["licensing_mode"], record, "LicensingMode")
    if own_mode:
        _remove_policy(plan, "policy_mode_remove", "licensing mode", wmi.POLICY_LICENSING_MODE)
        new_record.pop("LicensingMode")
    if mode and (own_mode or mode != sh["licensing_mode"]):  # once the policy is gone, the local value shows
        if sh["licensing_mode_source"] == "group_policy" and not own_mode:
            notes.append(_policy_note("the licensing mode", sh["licensing_mode"]))
        else:
            step = plan.add("mode", "Set the licensing mode to %s" % mode)
            step.invoke(wmi.TS_NAMESPACE, wmi.TS_SETTING_CLASS, "ChangeMode", instances=True,
                        arguments={"LicensingType": wmi.CHANGE_MODE_VALUE[mode]})
    servers = want.get("license_servers")
    own_servers = servers is not None and _own_policy(sh["policy"]["license_servers"], record, "LicenseServers")
    if own_servers:
        _remove_policy(plan, "policy_servers_remove", "license servers", wmi.POLICY_LICENSE_SERVERS)
        new_record.pop("LicenseServers")
    if servers is not None and (own_servers or not _same_servers(servers, sh["license_servers"])):
        if sh["license_servers_source"] == "group_policy" and not own_servers:
            notes.append(_policy_note("the license servers", ", ".join(sh["license_servers"] or []) or "none"))
        else:
            step = plan.add("license_servers", "Set the license servers to %s" % (", ".join(servers) or "none"))
            step.invoke(wmi.TS_NAMESPACE, wmi.TS_SETTING_CLASS, "SetSpecifiedLicenseServerList", instances=True,
                        arguments={"SpecifiedLSList": servers})
    _write_record(plan, record, new_record)


def _own_policy(value, record, name):
    """Whether a policy value is the one the module recorded writing (method: group_policy)."""
    if value is None or name not in record:
        return False
    text = ",".join(value) if isinstance(value, list) else str(value)
    return text == record[name]


def _remove_policy(plan, action, what, value_name):
    step = plan.add(action, "Remove the local policy %s the module set before (method is now wmi)" % what)
    step.invoke(wmi.REGISTRY_NAMESPACE, wmi.REGISTRY_CLASS, "DeleteValue", arguments=_policy_value(value_name))


def _policy_note(what, value):
    return ("Group Policy sets %s (%s) on this host; the module leaves it alone. Change it in the Group Policy "
            "object that sets it." % (what, value))


def _plan_policy(plan, notes, want, sh, record):
    policy = sh["policy"]
    new_record = dict(record)
    mode = want.get("mode")
    if mode:
        current = policy["licensing_mode"]
        ours = record.get("LicensingMode")
        if current is not None and str(current) != ours:
            if current != wmi.CHANGE_MODE_VALUE[mode]:
                notes.append(_policy_note("the licensing mode", wmi.LICENSING_TYPE.get(current, current)))
        elif current != wmi.CHANGE_MODE_VALUE[mode]:
            step = plan.add("policy_mode", "Set the local policy licensing mode to %s" % mode)
            _policy_key(step)
            step.invoke(wmi.REGISTRY_NAMESPACE, wmi.REGISTRY_CLASS, "SetDWORDValue", arguments=_policy_value(
                wmi.POLICY_LICENSING_MODE, uValue=wmi.CHANGE_MODE_VALUE[mode]))
            new_record["LicensingMode"] = str(wmi.CHANGE_MODE_VALUE[mode])
    servers = want.get("license_servers")
    if servers is not None:
        current = policy["license_servers"]
        text = ",".join(current) if current is not None else None
        ours = record.get("LicenseServers")
        if text is not None and text != ours:
            if not _same_servers(current, servers):
                notes.append(_policy_note("the license servers", text))
        elif not _same_servers(current, servers) or (current is not None and not servers):
            step = plan.add("policy_servers", "Set the local policy license servers to %s"
                            % (", ".join(servers) or "none"))
            _policy_key(step)
            if servers:
                step.invoke(wmi.REGISTRY_NAMESPACE, wmi.REGISTRY_CLASS, "SetStringValue", arguments=_policy_value(
                    wmi.POLICY_LICENSE_SERVERS, sValue=",".join(servers)))
                new_record["LicenseServers"] = ",".join(servers)
            else:
                step.invoke(wmi.REGISTRY_NAMESPACE, wmi.REGISTRY_CLASS, "DeleteValue",
                            arguments=_policy_value(wmi.POLICY_LICENSE_SERVERS))
                new_record.pop("LicenseServers", None)
    _write_record(plan, record, new_record)


def _write_record(plan, record, new_record):
    """The record of the policy values the module wrote, updated in the plan's last step."""
    if new_record == record or not plan.steps:
        return
    step = plan.steps[-1]
    step.invoke(wmi.REGISTRY_NAMESPACE, wmi.REGISTRY_CLASS, "CreateKey",
                arguments={"hDefKey": wmi.HKEY_LOCAL_MACHINE, "sSubKeyName": wmi.MARKER_KEY})
    step.invoke(wmi.REGISTRY_NAMESPACE, wmi.REGISTRY_CLASS, "SetMultiStringValue", arguments={
        "hDefKey": wmi.HKEY_LOCAL_MACHINE, "sSubKeyName": wmi.MARKER_KEY, "sValueName": POLICY_RECORD,
        "sValue": ["%s=%s" % kv for kv in sorted(new_record.items())]})


def _policy_key(step):
    step.invoke(wmi.REGISTRY_NAMESPACE, wmi.REGISTRY_CLASS, "CreateKey",
                arguments={"hDefKey": wmi.HKEY_LOCAL_MACHINE, "sSubKeyName": wmi.POLICY_KEY})


def _policy_value(name, **value):
    return dict({"hDefKey": wmi.HKEY_LOCAL_MACHINE, "sSubKeyName": wmi.POLICY_KEY, "sValueName": name}, **value)


# --- results -------------------------------------------------------------------------------------

def view(have):
    sh = have["session_host"]
    return {
        "role_installed": sh["installed"],
        "mode": sh["licensing_mode"],
        "mode_source": sh["licensing_mode_source"],
        "license_servers": sh["license_servers"],
        "license_servers_source": sh["license_servers_source"],
    }


def after_install(want, have):
    """The host as it reads once RD Session Host is installed: not configured, no license servers
    (ASSUMED for a fresh role; check mode plans on it). Group Policy values still apply."""
    fresh = copy.deepcopy(have)
    sh = fresh["session_host"]
    policy = sh["policy"]
    sh.update(installed=True, licensing_mode="not_configured", licensing_type=5, licensing_mode_source="local",
              license_servers=[], license_servers_source="local")
    if policy["licensing_mode"] in wmi.LICENSING_TYPE:
        sh.update(licensing_mode=wmi.LICENSING_TYPE[policy["licensing_mode"]], licensing_mode_source="group_policy")
    if policy["license_servers"] is not None:
        sh.update(license_servers=policy["license_servers"], license_servers_source="group_policy")
    fresh["roles"]["session_host"] = True
    fresh["restart_pending"] = [f for f in have.get("restart_pending", []) if f != wmi.FEATURE_SESSION_HOST]
    return fresh


def predict(want, have, plan):
    if plan.phase("role").steps:
        have = after_install(want, have)
    after = view(have)
    for step in plan.steps:
        if step.action == "policy_mode_remove":
            after["mode_source"] = "local"  # the "mode" step that follows sets the value
        elif step.action == "policy_servers_remove":
            after["license_servers_source"] = "local"
        elif step.action in ("mode", "policy_mode"):
            after["mode"] = want["mode"]
            after["mode_source"] = "group_policy" if step.action == "policy_mode" else "local"
        elif step.action in ("license_servers", "policy_servers"):
            after["license_servers"] = list(want["license_servers"])
            after["license_servers_source"] = ("group_policy" if step.action == "policy_servers" and
                                               want["license_servers"] else "local")
    return after


def advice(want, after, report):
    """Warnings about the host as the task leaves it (`after` is view() of it): a licensing mode with no license
    server to get CALs from, and each checked license server that does not answer as a valid one. Neither is
    an error: the host runs on its grace period meanwhile, and the server may come up later."""
    notes = []
    configures = want.get("mode") or want.get("license_servers") is not None
    if configures and after["mode"] in wmi.CHANGE_MODE_VALUE and not after["license_servers"]:
        notes.append("The licensing mode is %s but no license server is configured: the host gets no CALs, and "
                     "refuses connections once its grace period ends. Set license_servers." % after["mode"])
    for check in report:
        if not check["valid"]:
            status = "" if check["status"] is None else " (connectivity status %s, %s)" % (
                check["status"], check["name"])
            notes.append("The license server %s does not answer as a valid license server%s: %s"
                         % (check["server"], status, check["meaning"]))
    return notes


def grace_check(want, sh, report):
    """The min_grace_days guard: a host whose license servers are not valid lives on its grace period.
    Once a permanent CAL was issued (LicensingGracePeriodEnded, hh553157) the grace period is over,
    whatever GetGracePeriodDays still counts."""
    licensed = any(c["valid"] for c in report)
    days = sh.get("grace_period_days_left")
    if want.get("min_grace_days") is None or licensed or days is None:
        return None
    if sh.get("grace_period_ended"):
        return ("The session host's licensing grace period is over: a license server issued it a permanent CAL "
                "(Windows recorded LicensingGracePeriodEnded), so it needs a valid license server from now on, and "
                "none of its license servers (%s) answers as one" % (
                    ", ".join(c["server"] for c in report) or "none configured"))
    if days < want["min_grace_days"]:
        return ("%s has %d days left in its licensing grace period (min_grace_days: %d) and none of its license "
                "servers (%s) answers as a valid license server" % (
                    "The session host", days, want["min_grace_days"],
                    ", ".join(c["server"] for c in report) or "none configured"))
    return None
