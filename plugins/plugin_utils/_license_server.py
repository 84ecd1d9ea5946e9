# -*- coding: utf-8 -*-
# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY
# The interfaces in this file serve this collection's own plugins; they may change in any release,
# even a bugfix release. Do not import them from other collections or playbooks.
"""The license_server planner: pure functions from (want, have) to a Plan.

`have` is the licensing_info report (plugin_utils/_info.py). The role phase (install or remove the
role service) and the configuration phase (service, contact, activation, scope, AD) are planned
apart, because the licensing classes exist only once the role is installed: after an install the
action plugin reads the host again and plans the configuration from what it finds.
"""

from __future__ import annotations

import copy
import re

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _wmi as wmi
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._info import CONTACT_PROPERTIES
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._plan import (
    REBOOT_OPTIONS, REVEAL_OPTIONS, Plan, PlanError, check_timeouts, compact_code)

# ReactivateServerAutomatic Reason. [W32] reactivateserverautomatic-win32-tslicenseserver.md.
REACTIVATION_REASONS = {
    "redeployed": 0, "certificate_corrupt": 1, "private_key_compromised": 2, "key_expired": 3,
    "server_upgraded": 4,
}
SCOPES = {"workgroup": 0, "domain": 1, "forest": 2}  # ServerRole / ChangeRole [W32]
# [W32] activateserverautomatic: fails unless these are set.
ACTIVATION_CONTACT = ("first_name", "last_name", "company", "country_region")
# [W32] win32-tslicenseserver.md: DeactivateServerAutomatic needs FirstName and LastName.
DEACTIVATION_CONTACT = ("first_name", "last_name")
LICENSE_SERVER_ID = re.compile(r"^[A-Z0-9]{35}$")  # [W32] activateserver: 35 alphanumerics, no hyphens

# The second hop (rd-licensing-wmi.md §11). ChangeRole 1 and 2, PublishLS, UnpublishLS, AddLStoTSLSGroup,
# RemoveLSfromTSLSGroup and IsLSinTSLSGroup make the license server talk to a domain controller as the caller.
# Over WinRM with NTLM or Basic, or Kerberos without delegation, the host holds no credentials to pass on
# (Microsoft, "Making the second hop in PowerShell Remoting"; ansible's Windows Remote Management guide,
# "Limitations"), so the domain controller refuses even a Domain Admin. Which code the licensing methods then
# return is documented nowhere: access denied in its HRESULT (E_ACCESSDENIED), WBEM or Win32 form, or
# ERROR_NO_SUCH_LOGON_SESSION (1312), which Windows gives for a logon session without credentials, are the
# likely answers (ASSUMED; docs/fidelity.md, the lab answers 0x80070005).
SECOND_HOP_CODES = {
    0x80070005: "E_ACCESSDENIED", 0x80041003: "WBEM_E_ACCESS_DENIED", 5: "ERROR_ACCESS_DENIED",
    0x80070520: "ERROR_NO_SUCH_LOGON_SESSION", 1312: "ERROR_NO_SUCH_LOGON_SESSION",
}
# IsLSinTSLSGroup needs no admin group ([W32] islsintslsgroup-win32-tslicenseserver.md names none, and any
# domain account may read a group's members): refused with access denied, the domain controller did not see the
# caller at all. The read batch asks it as "group" (plugin_utils/_info.py).
DOMAIN_READ = ("group", "IsLSinTSLSGroup")
# The plan's steps that reach a domain controller (ChangeRole 0 does not).
DOMAIN_STEPS = ("scope", "publish", "group")

# A freshly installed license server, for planning in check mode before the role exists. The
# service's start type and the initial discovery scope after an install are in no source: ASSUMED
# automatic and running, and domain on a domain member, workgroup otherwise (docs/fidelity.md).
FRESH = {
    "installed": True, "service": {"state": "Running", "start_mode": "Auto"},
    "activation_status": "not_activated", "contact": dict((option, "") for option, prop in CONTACT_PROPERTIES),
    "published_in_ad": False, "in_license_servers_group": False,
}

ARGUMENT_SPEC = {
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "include_management_tools": {"type": "bool", "default": True},
    "contact": {"type": "dict", "options": dict((option, {"type": "str"}) for option, prop in CONTACT_PROPERTIES)},
    "activation": {"type": "str", "choices": ["activated", "deactivated"]},
    "activation_method": {"type": "str", "choices": ["automatic", "license_server_id"], "default": "automatic"},
    "license_server_id": {"type": "str", "no_log": True},
    "reactivation_reason": {"type": "str", "choices": sorted(REACTIVATION_REASONS)},
    "scope": {"type": "str", "choices": sorted(SCOPES)},
    "publish_in_ad": {"type": "bool"},
    "ad_group_membership": {"type": "bool"},
    "ready_timeout": {"type": "int", "default": 300},
    "force": {"type": "bool", "default": False},
    "activation_retries": {"type": "int", "default": 2},
    "activation_retry_delay": {"type": "int", "default": 5},
}
ARGUMENT_SPEC.update(REBOOT_OPTIONS)
ARGUMENT_SPEC.update(REVEAL_OPTIONS)


def validate(args):
    """Checks that need more than the argument spec; returns `want` or raises ValueError."""
    want = dict(args)
    want["contact"] = dict((k, v) for k, v in (args.get("contact") or {}).items() if v is not None)
    if args["activation_method"] == "license_server_id" and args.get("activation") == "activated":
        code = compact_code(args.get("license_server_id"))
        if not code:
            raise ValueError("license_server_id is required with activation_method: license_server_id")
        if not LICENSE_SERVER_ID.match(code):
            raise ValueError("license_server_id must be the 35-character license server ID that web or telephone "
                             "activation gives (letters and digits; hyphens and spaces ignored); got %d characters%s"
                             % (len(code), "" if code.isalnum() else ", some of them not letters or digits"))
        want["license_server_id"] = code
    elif args.get("license_server_id"):
        raise ValueError("license_server_id is used only with activation: activated and "
                         "activation_method: license_server_id")
    if args.get("reactivation_reason") and args.get("activation") == "deactivated":
        raise ValueError("reactivation_reason cannot be used with activation: deactivated")
    check_timeouts(args, "ready_timeout", "reboot_timeout")
    if args.get("force") and args["state"] != "absent":
        raise ValueError("force is used only with state: absent (to remove a license server that holds CAL packs)")
    check_timeouts(args, "ready_timeout", "reboot_timeout", "activation_retry_delay")
    if args["activation_retries"] < 0:
        raise ValueError("activation_retries must be 0 or more, got %d" % args["activation_retries"])
    if args["state"] == "absent":
        configured = [o for o in ("contact", "scope", "publish_in_ad", "ad_group_membership", "reactivation_reason")
                      if args.get(o) not in (None, {})]
        if configured or args.get("activation") == "activated":
            raise ValueError("state: absent removes the role service; %s cannot be set with it"
                             % ", ".join(configured or ["activation: activated"]))
    return want


# --- reads and the whole plan ------------------------------------------------------------------

def read_ops(batch, want):
    """The licensing_info reads tell everything this module manages."""
    return batch


def observe(want, have, results):
    """The licensing_info report, plus whether the domain read was refused as the second hop refuses."""
    have["second_hop"] = second_hop_refusal(have, results)
    return have


def second_hop_refusal(have, results):
    """The code IsLSinTSLSGroup was refused with on a domain member, when it is one of SECOND_HOP_CODES; else None."""
    if not have["host"].get("part_of_domain"):
        return None
    try:
        result = results[DOMAIN_READ[0]]
    except KeyError:
        return None  # not asked: the licensing classes do not exist yet
    if result.ok:
        return None
    code = result.return_value if result.return_value is not None else result.error.get("hresult")
    code = int(code) & 0xFFFFFFFF if code is not None else None
    return code if code in SECOND_HOP_CODES else None


def plan(want, have):
    """Present: the role phase, then the configuration planned on the host as it will read after the
    install, so that a configuration the host cannot take is refused before anything is installed.
    Absent: deactivation (while the classes still exist), then the removal, in one round trip."""
    role = plan_role(want, have)
    if want["state"] == "absent":
        whole = plan_config(want, have) if have["roles"]["license_server"] else Plan()
        whole.extend(role)
        return whole
    whole = Plan()
    whole.extend(role)
    whole.extend(plan_config(want, after_install(want, have) if role.steps else have))
    return whole


# --- the role phase ---------------------------------------------------------------------------

def tools_for(have):
    """The management tools exist only with the desktop experience ([WSD] server-core-removed-roles.md)."""
    return [f for f in (wmi.FEATURE_LICENSING_UI, wmi.FEATURE_LICENSING_DIAGNOSIS) if f in have["features"]]


def plan_role(want, have):
    plan = Plan()
    features = have["features"]
    if wmi.FEATURE_LICENSING not in features:
        raise PlanError("Windows on %s does not offer the %s feature (is it Windows Server?)"
                        % (have["host"]["name"], wmi.FEATURE_LICENSING))
    if want["state"] == "present":
        missing = [f for f in [wmi.FEATURE_LICENSING] + (tools_for(have) if want["include_management_tools"] else [])
                   if not features[f]]
        removed = [f for f in missing if f in have.get("removed_features", [])]
        if removed:
            # InstallState Removed (Features on Demand): Install-WindowsFeature needs -Source, which the bridge
            # does not pass. Refused before the host is touched.
            raise PlanError("%s: the files of %s are removed from this host (InstallState Removed); restore them "
                            "first (Install-WindowsFeature -Source or DISM /Online /Enable-Feature /Source), then run "
                            "again" % (have["host"]["name"], ", ".join(removed)))
        if missing:
            step = plan.add("install_role", "Install %s" % ", ".join(missing), phase="role")
            step.feature_install(missing)
    elif features[wmi.FEATURE_LICENSING]:
        _refuse_removal_with_packs(want, have, plan)
        if have["license_server"].get("activation_status") == "activated" and want.get("activation") != "deactivated":
            # Its CALs stay with it: [WSD] migrate-rds-cals moves them to another license server.
            plan.warnings.append("The license server is removed while activated: migrate its CALs to another "
                                 "license server (RD Licensing Manager, Manage RDS CALs), then deactivate it first "
                                 "(activation: deactivated).")
        installed = [f for f in [wmi.FEATURE_LICENSING] + tools_for(have) if features[f]]
        step = plan.add("remove_role", "Remove %s" % ", ".join(installed), phase="role")
        step.feature_uninstall(installed)
    return plan


def _refuse_removal_with_packs(want, have, plan):
    """Removing the role service takes its CAL packs with it: only with force (finding 5 of issue 9)."""
    packs = [p for p in have["license_server"].get("key_packs") or [] if not p.get("built_in")]
    unread = [p["message"] for p in have.get("problems", []) if p.get("part") == "key_packs"]
    if want.get("force"):
        if packs or unread:
            plan.warnings.append("force: true removes the license server with %s."
                                 % ("its CAL key packs (%s)" % _ids(packs) if packs else "key packs it could not read"))
        return
    if unread:
        raise PlanError("%s: the key packs could not be read (%s), so the module cannot tell whether removing the "
                        "license server would take CAL packs with it. Nothing was changed; give force: true to remove "
                        "it anyway." % (have["host"]["name"], unread[0]))
    if packs:
        raise PlanError("%s holds %d CAL key pack(s) (%s): removing the RD Licensing role service takes them away, "
                        "and the CALs must then be reinstalled or recovered through the Microsoft Clearinghouse. "
                        "Nothing was changed; migrate the CALs first, or give force: true to remove it anyway."
                        % (have["host"]["name"], len(packs), _ids(packs)))


def _ids(packs):
    return ", ".join("%d (%s %s, %s CALs)" % (p["key_pack_id"], p.get("product_version"), p.get("license_type"),
                                              p.get("total")) for p in packs)


def after_install(want, have):
    """The host as it will read right after the role is installed: check mode plans on it."""
    fresh = copy.deepcopy(have)
    installed = [wmi.FEATURE_LICENSING] + (tools_for(have) if want["include_management_tools"] else [])
    fresh["features"].update((f, True) for f in installed)
    if not have["features"].get(wmi.FEATURE_LICENSING):
        # Only a new role service starts as a fresh license server; adding the tools to one changes nothing else.
        fresh["license_server"].update(copy.deepcopy(FRESH))
        fresh["license_server"]["scope"] = "domain" if have["host"].get("part_of_domain") else "workgroup"
    return fresh


# --- the configuration phase ------------------------------------------------------------------

def plan_config(want, have):
    """Service, contact, activation, scope, AD publication and group, in the order Windows needs."""
    ls = have["license_server"]
    plan = Plan()
    if want["state"] == "present":
        _plan_service(plan, ls)
        contact_after = _plan_contact(plan, want, ls)
    else:
        contact_after = dict(ls.get("contact") or {})
    _plan_activation(plan, want, ls, contact_after)
    if want["state"] == "present":
        _plan_scope(plan, want, have)
        _plan_ad(plan, want, have)
        _refuse_second_hop(plan, want, have)
    return plan


def _refuse_second_hop(plan, want, have):
    """A plan that reaches a domain controller, on a host that could not read from one as the caller: refused
    before anything changes, rather than failing half way (the contact set, the scope changed, the group not)."""
    code = have.get("second_hop")
    domain = [step for step in plan.steps if step.action in DOMAIN_STEPS
              and not (step.action == "scope" and want.get("scope") == "workgroup")]
    if code is None or not domain:
        return
    raise PlanError(second_hop_message(have["host"].get("name"), code, [s.description for s in domain],
                                       want.get("connection")))


def second_hop_message(host, code, wanted, connection=None):
    """What the user reads when the second hop refuses: what happened, what it means, what to do."""
    return ("%s could not reach a domain controller as the account Ansible connects with: %s, a read any domain "
            "account may make, was refused (0x%08X %s). Nothing was changed: the steps that need the domain "
            "controller (%s) would be refused the same way. The license server makes these calls to a domain "
            "controller as you, and %s gives it no credentials to pass on (the second hop). %s"
            % (host, DOMAIN_READ[1], code, SECOND_HOP_CODES[code], "; ".join(w[0].lower() + w[1:] for w in wanted),
               _connection_words(connection), second_hop_remedy()))


def second_hop_remedy():
    """What to do about the second hop, in the same words wherever it is named (license_server's refusal,
    licensing_info's finding, preflight's assumptions): the three connections that carry credentials on."""
    return ("Use one of: become: true with become_method: runas and become_user the same account (its password in "
            "ansible_become_password); ansible_winrm_transport: credssp; Kerberos with delegation "
            "(ansible_winrm_transport: kerberos, ansible_winrm_kerberos_delegation: true). "
            "docs/troubleshooting.md has an inventory example of each.")


def _connection_words(connection):
    """'this connection (NTLM, no become)' from the action's description of the task's connection."""
    if not connection:
        return "this connection"
    parts = ["transport %s" % connection["transport"]] if connection.get("transport") else []
    become_user = connection.get("become_user") or "the default become_user"
    parts.append("become as %s" % become_user if connection.get("become") else "no become")
    return "this connection (%s)" % ", ".join(parts)


def _plan_service(plan, ls):
    service = ls.get("service")
    if service is None:
        raise PlanError("the %s service does not exist although the role service is installed"
                        % wmi.LICENSING_SERVICE)
    flt = "Name = '%s'" % wmi.LICENSING_SERVICE
    if service.get("start_mode") != "Auto":
        step = plan.add("service_start_mode", "Set the %s service to start automatically" % wmi.LICENSING_SERVICE)
        step.invoke(wmi.CIMV2, wmi.SERVICE_CLASS, "ChangeStartMode", arguments={"StartMode": "Automatic"},
                    instances=True, filter=flt)
    if service.get("state") != "Running":
        step = plan.add("service_start", "Start the %s service" % wmi.LICENSING_SERVICE)
        step.invoke(wmi.CIMV2, wmi.SERVICE_CLASS, "StartService", instances=True, filter=flt)


def _plan_contact(plan, want, ls):
    have_contact = ls.get("contact") or {}
    changes = dict((o, v) for o, v in want["contact"].items() if (have_contact.get(o) or "") != v)
    if changes:
        names = dict(CONTACT_PROPERTIES)
        step = plan.add("contact", "Set the activation contact information (%s)" % ", ".join(sorted(changes)))
        step.set(wmi.CIMV2, wmi.LICENSE_SERVER_CLASS, dict((names[o], v) for o, v in changes.items()))
    after = dict(have_contact)
    after.update(want["contact"])
    return after


def _require_contact(contact, fields, what):
    missing = [f for f in fields if not contact.get(f)]
    if missing:
        raise PlanError("%s needs the contact fields %s; missing: %s" % (
            what, ", ".join("contact.%s" % f for f in fields), ", ".join("contact.%s" % f for f in missing)))


def _activation_hint(product_id):
    """What to do when the Clearinghouse cannot be reached; the product ID is what the web page asks for (it is
    no secret: RD Licensing Manager shows it, and the result carries it as product_id).
    [WSD] rds-activate-license-server.md: outbound TCP 443 to the Clearinghouse; no Microsoft page mentions a
    proxy. The WMI call runs on the license server, so the license server itself must reach it."""
    known = " (%s, product_id in this result)" % product_id if product_id else " (product_id in this result)"

    def hint(result):
        return ("If the license server cannot reach the Microsoft Clearinghouse over the Internet (outbound TCP "
                "443), activate it from RD Licensing Manager on a computer that has Internet access, or by web "
                "browser or telephone: get a license server ID at https://activate.microsoft.com with the server's "
                "product ID%s, then set activation_method: license_server_id and license_server_id." % known)
    return hint


def retry_activation(want, step, tries):
    """Whether to try the activation again after `tries` failed tries of the step that failed.
    Microsoft's own RDP protocol test-suite setup retries ActivateServerAutomatic three times, 5 s apart
    (microsoft/WindowsProtocolTestSuites, TestSuites/RDP/Server/Setup/Scripts/PostConfig-SUT.ps1;
    rd-licensing-wmi.md): the Clearinghouse fails now and then. Only automatic activation is retried:
    a license server ID is checked on the host, and reactivation, repeated, would reactivate twice.
    The action reads ActivationStatus before each new try and plans anew, so an activated server is
    never activated again."""
    return (step is not None and step.action == "activate" and want["activation_method"] == "automatic"
            and tries <= want["activation_retries"])


def _plan_activation(plan, want, ls, contact):
    status = ls.get("activation_status")
    wanted = want.get("activation")
    if wanted == "activated" and status != "activated":
        if want["activation_method"] == "automatic":
            _require_contact(contact, ACTIVATION_CONTACT, "Automatic activation")
            step = plan.add("activate", "Activate the license server automatically over the Internet",
                            _activation_hint(ls.get("product_id")))
            step.invoke(wmi.CIMV2, wmi.LICENSE_SERVER_CLASS, "ActivateServerAutomatic")
            step.expect_out = {"ActivationStatus": 0}  # 0 = activated [W32]
        else:
            step = plan.add("activate", "Activate the license server with a license server ID",
                            lambda r: "Check the license server ID you were given for this server's product ID.")
            step.invoke(wmi.CIMV2, wmi.LICENSE_SERVER_CLASS, "ActivateServer",
                        secret_arguments={"sLicenseServerId": want["license_server_id"]})
            step.expect_out = {"ActivationStatus": 0}
    elif wanted == "deactivated" and status == "activated":
        _require_contact(contact, DEACTIVATION_CONTACT, "Automatic deactivation")
        step = plan.add("deactivate", "Deactivate the license server automatically over the Internet",
                        _activation_hint(ls.get("product_id")))
        step.invoke(wmi.CIMV2, wmi.LICENSE_SERVER_CLASS, "DeactivateServerAutomatic")
        step.expect_out = {"ActivationStatus": 1}  # 1 = not activated [W32]
    elif want.get("reactivation_reason") and status == "activated":
        _require_contact(contact, ACTIVATION_CONTACT, "Automatic reactivation")
        step = plan.add("reactivate", "Reactivate the license server (reason: %s)" % want["reactivation_reason"],
                        _activation_hint(ls.get("product_id")))
        step.invoke(wmi.CIMV2, wmi.LICENSE_SERVER_CLASS, "ReactivateServerAutomatic",
                    arguments={"Reason": REACTIVATION_REASONS[want["reactivation_reason"]]})
        step.expect_out = {"ActivationStatus": 0}
    elif want.get("reactivation_reason") and wanted != "activated":
        raise PlanError("reactivation_reason needs an activated license server; it is %s" % (status or "unknown"))


def _domain_hint(group):
    def hint(result):
        text = ("This needs the account Ansible connects with to be a member of %s (the privilege Microsoft "
                "documents for this call); run the task as such an account, for example with become." % group)
        code = result.return_value if result is not None else None
        if code is not None and int(code) & 0xFFFFFFFF in SECOND_HOP_CODES:
            text += (" If it is one, the connection may have no credentials to pass on to the domain controller "
                     "(the second hop): use become: true with become_method: runas and become_user the same account, "
                     "CredSSP, or Kerberos with delegation (docs/troubleshooting.md).")
        return text
    return hint


def _require_domain(have, option):
    if not have["host"].get("part_of_domain"):
        raise PlanError("%s needs the host to be joined to a domain; %s is in the workgroup %s"
                        % (option, have["host"].get("name"), have["host"].get("workgroup")))


def _plan_scope(plan, want, have):
    scope = want.get("scope")
    if scope is None or scope == have["license_server"].get("scope"):
        return
    if scope != "workgroup":
        _require_domain(have, "scope: %s" % scope)
    # [W32] changerole: 1 needs Domain Admins, 2 Enterprise Admins.
    group = {"forest": "Enterprise Admins", "domain": "Domain Admins"}.get(scope, "the local Administrators group")
    step = plan.add("scope", "Change the discovery scope to %s" % scope, _domain_hint(group))
    step.invoke(wmi.CIMV2, wmi.LICENSE_SERVER_CLASS, "ChangeRole", arguments={"ServerRole": SCOPES[scope]})


def _plan_ad(plan, want, have):
    ls = have["license_server"]
    publish = want.get("publish_in_ad")
    if publish is not None and publish != ls.get("published_in_ad"):
        _require_domain(have, "publish_in_ad")
        # [W32] publishls / unpublishls: Enterprise Admin of the forest.
        step = plan.add("publish", "%s the license server in Active Directory" % ("Publish" if publish else "Unpublish"),
                        _domain_hint("Enterprise Admins"))
        step.invoke(wmi.CIMV2, wmi.LICENSE_SERVER_CLASS, "PublishLS" if publish else "UnpublishLS")
    member = want.get("ad_group_membership")
    if member is not None and member != ls.get("in_license_servers_group"):
        _require_domain(have, "ad_group_membership")
        # [W32] addlstotslsgroup / removelsfromtslsgroup: Domain Admin, on a DC of the server's domain.
        step = plan.add("group", "%s the Terminal Server License Servers group (S-1-5-32-561)"
                        % ("Add the license server to" if member else "Remove the license server from"),
                        _domain_hint("Domain Admins"))
        step.invoke(wmi.CIMV2, wmi.LICENSE_SERVER_CLASS, "AddLStoTSLSGroup" if member else "RemoveLSfromTSLSGroup")


# --- what the user sees --------------------------------------------------------------------------

def view(have):
    """The part of the host's state this module manages, for the diff (no secrets in it)."""
    ls = have["license_server"]
    features = have["features"]
    return {
        "state": "present" if features.get(wmi.FEATURE_LICENSING) else "absent",
        "management_tools": [f for f in tools_for(have) if features.get(f)],
        "service": ls.get("service"),
        "contact": ls.get("contact"),
        "activation": ls.get("activation_status"),
        "scope": ls.get("scope"),
        "published_in_ad": ls.get("published_in_ad"),
        "in_license_servers_group": ls.get("in_license_servers_group"),
    }


def predict(want, have, plan):
    """The view after the plan: what a real run must then read back."""
    after = view(have)
    for step in plan.steps:
        _PREDICT[step.action](after, want, have)
    return after


def _installed(after, want, have):
    after.update(view(after_install(want, have)))


def _removed(after, want, have):
    after.update(state="absent", management_tools=[], service=None, contact=None, activation=None, scope=None,
                 published_in_ad=None, in_license_servers_group=None)


_PREDICT = {
    "install_role": _installed,
    "remove_role": _removed,
    "service_start_mode": lambda a, w, h: a["service"].update(start_mode="Auto"),
    "service_start": lambda a, w, h: a["service"].update(state="Running"),
    "contact": lambda a, w, h: a["contact"].update(w["contact"]),
    "activate": lambda a, w, h: a.update(activation="activated"),
    "reactivate": lambda a, w, h: a.update(activation="activated"),
    "deactivate": lambda a, w, h: a.update(activation="not_activated"),
    "scope": lambda a, w, h: a.update(scope=w["scope"]),
    "publish": lambda a, w, h: a.update(published_in_ad=w["publish_in_ad"]),
    "group": lambda a, w, h: a.update(in_license_servers_group=w["ad_group_membership"]),
}
