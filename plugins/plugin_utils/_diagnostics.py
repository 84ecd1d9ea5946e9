# -*- coding: utf-8 -*-
# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY
# The interfaces in this file serve this collection's own plugins; they may change in any release,
# even a bugfix release. Do not import them from other collections or playbooks.
"""Findings about one host's licensing, like the RD Licensing Diagnoser: pure, unit tested.

The causes of "no Remote Desktop license servers available" that Microsoft lists
(support/windows-server/remote/cannot-connect-rds-no-license-server.md; ecosystem.md §2.4): the
server is not activated, the mode does not match the CAL type, a Group Policy overrides the setting,
the license server cannot be reached or is older than the session host. Per User CALs are tracked
only when the license server is in the Terminal Server License Servers group (TechNet cc771021).

Severities follow what Windows does ([WSD] rds-client-access-license.md): Per Device CALs are enforced (a
device without one gets a 90-day temporary CAL, then is refused), so a Per Device host without Per Device
CALs is an error; Per User CALs are not enforced, so a Per User host without Per User CALs is out of
compliance, a warning. Per User in a workgroup is not permitted ([WSD] rds-license-session-hosts.md): an error.
"""

from __future__ import annotations

import datetime

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _bridge as bridge
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _license_server as license_server
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _usage as usage
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _wmi as wmi

GRACE_WARNING_DAYS = 30
EXPIRY_WARNING_DAYS = 60


SEVERITIES = ("error", "warning", "info")  # most severe first


def most_severe_first(findings):
    """Findings sorted by severity, stable within one; an unknown severity last."""
    return sorted(findings, key=lambda f: SEVERITIES.index(f["severity"]) if f["severity"] in SEVERITIES else 9)


def _finding(severity, code, message):
    return {"severity": severity, "code": code, "message": message}


def diagnose(report, now=None, low_cals_threshold=usage.LOW_CALS_PERCENT):
    """The findings for a licensing_info report, most severe first."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    findings = []
    if report["roles"]["license_server"]:
        findings += _license_server(report, now)
        findings += _usage(report["license_server"], now, low_cals_threshold)
    if report["roles"]["session_host"]:
        findings += _session_host(report)
    return most_severe_first(findings)


def _license_server(report, now):
    ls = report["license_server"]
    findings = []
    service = ls.get("service") or {}
    if service.get("state") != "Running":
        findings.append(_finding("error", "service_not_running", "The Remote Desktop Licensing service "
                                 "(TermServLicensing) is %s: session hosts cannot get CALs from this server."
                                 % (service.get("state") or "missing").lower()))
    elif service.get("start_mode") != "Auto":
        findings.append(_finding("warning", "service_not_automatic", "The Remote Desktop Licensing service starts "
                                 "%s, not automatically: it will be down after a restart." % service.get("start_mode")))
    if ls.get("activation_status") != "activated":
        # RD Licensing Manager's help, "Activate a Remote Desktop License Server": not activated, a license
        # server "can only issue temporary RDS Per Device CALs, which are valid for 90 days, or RDS Per User CALs".
        findings.append(_finding("error", "not_activated", "The license server is not activated: it issues Per "
                                 "Device CALs only as temporary CALs, which expire after 90 days (Per User CALs it "
                                 "can issue), and no CAL pack can be installed until it is activated."))
    packs = [p for p in ls.get("key_packs") or [] if not p["built_in"]]
    if ls.get("activation_status") == "activated" and not packs:
        findings.append(_finding("warning", "no_cals", "No CAL packs are installed besides the built-in one."))
    for pack in packs:
        findings += _pack(pack, now)
    per_user = any(p["license_type"] == "per_user" for p in packs)
    if per_user and report["host"].get("part_of_domain") and ls.get("in_license_servers_group") is False:
        findings.append(_finding("warning", "not_in_license_servers_group", "Per User CALs are installed but the "
                                 "server is not in the domain's Terminal Server License Servers group, so Per User "
                                 "usage cannot be tracked or reported."))
    findings += _second_hop(report)
    findings += _license_server_policy(report)
    return findings


def _usage(ls, now, low_cals_threshold):
    """CAL versions running low and temporary CALs about to expire (_usage.py), from what licensing_info reads."""
    return (usage.findings(ls.get("usage") or [], low_cals_threshold, from_report=False)
            + usage.temporary_findings(ls.get("temporary_licenses"), now))


def _second_hop(report):
    """IsLSinTSLSGroup refused on a domain member: the license server could not ask a domain controller as the
    caller. Over NTLM or Basic, or Kerberos without delegation, the host has no credentials to pass on (the second
    hop; Microsoft, "Making the second hop in PowerShell Remoting"): the likeliest cause, so the finding says so."""
    refused = [p for p in report.get("problems") or [] if p.get("part") == "group"]
    if not (refused and report["host"].get("part_of_domain")):
        return []
    return [_finding("warning", "domain_controller_unreachable", "The license server could not ask a domain "
                     "controller whether it is in the Terminal Server License Servers group (IsLSinTSLSGroup: %s), so "
                     "in_license_servers_group is unknown. Most likely the connection gives the host no credentials "
                     "to pass on to the domain controller (the second hop): license_server's scope: domain or "
                     "forest, publish_in_ad and ad_group_membership would be refused the same way. %s"
                     % (refused[0]["message"], license_server.second_hop_remedy()))]


def _license_server_policy(report):
    """The "License server security group" policy and the service connection point, as the Diagnoser shows them."""
    ls = report["license_server"]
    findings = []
    if ls.get("security_group_policy"):
        # [W32] islssecgrpgpenabled-win32-tslicenseserver.md: enabled, the license server "will only respond to
        # RDS CAL requests from RD Session Host servers whose computer accounts are members of the Terminal
        # Server Computers local group on the license server". The current ADMX text of the policy names that group
        # "RDS Endpoint Servers" (docs/troubleshooting.md): findings give both names.
        findings.append(_finding("info", "security_group_policy", "The License server security group policy is "
                                 "enabled: this server issues CALs only to session hosts whose computer accounts are "
                                 "in its %s; others get no licenses." % wmi.TSC_GROUP))
    if report["host"].get("part_of_domain") and ls.get("registered_scp") is False:
        # [W32] win32-tslicenseserver-islsregisteredtoscp.md: the service connection point in AD DS.
        findings.append(_finding("info", "not_registered_scp", "The license server is not registered as a service "
                                 "connection point in Active Directory Domain Services (IsLSRegisteredToSCP)."))
    return findings


def _pack(pack, now):
    findings = []
    label = "Key pack %s (%s %s)" % (pack["key_pack_id"], pack["product_version"], pack["license_type"])
    if pack["unlimited"]:
        return findings
    if pack["license_type"] == "per_user" and (pack["issued"] or 0) > (pack["total"] or 0):
        findings.append(_finding("warning", "per_user_over_allocated", "%s: %s Per User CALs issued of %s. Windows "
                                 "does not enforce Per User CALs; more are needed to be licensed."
                                 % (label, pack["issued"], pack["total"])))
    elif pack["available"] == 0:
        findings.append(_finding("warning", "cals_exhausted", "%s has no CALs left (%s issued of %s)."
                                 % (label, pack["issued"], pack["total"])))
    expiry = bridge.parse_time(pack.get("expiration_date"))
    if expiry is not None and expiry - now < datetime.timedelta(days=EXPIRY_WARNING_DAYS):
        findings.append(_finding("warning" if expiry > now else "error", "cals_expiring",
                                 "%s expires on %s." % (label, expiry.date().isoformat())))
    return findings


def _session_host(report):
    sh = report["session_host"]
    findings = []
    mode = sh.get("licensing_mode")
    if mode in wmi.ENTRA_ID_MODES:
        findings.append(_finding("info", "entra_id_per_user", "The licensing mode is Entra ID Per User (Group Policy "
                                 "value 6); its CALs are not checked against an RD license server here."))
    elif mode not in ("per_device", "per_user"):
        findings.append(_finding("error", "mode_not_configured", "The licensing mode is %s: set Per Device or Per "
                                 "User before the grace period ends." % (mode or "unknown").replace("_", " ")))
    if not sh.get("license_servers"):
        findings.append(_finding("error", "no_license_servers", "No license server is configured for this session "
                                 "host."))
    for what, source in (("licensing mode", sh.get("licensing_mode_source")),
                         ("license servers", sh.get("license_servers_source"))):
        if source == "group_policy":
            findings.append(_finding("info", "group_policy", "Group Policy sets the %s." % what))
    if mode == "per_user" and report["host"].get("part_of_domain") is False:
        findings.append(_finding("error", "per_user_in_workgroup", "Per User licensing is not permitted in a "
                                 "workgroup: session hosts in a workgroup have to use Per Device CALs, and Per User "
                                 "CALs cannot be tracked there."))
    findings += _connectivity(sh)
    findings += _refusing(sh)
    findings += _mode_mismatch(report)
    findings += _grace(sh)
    return findings


def _connectivity(sh):
    findings = []
    for check in sh.get("connectivity") or []:
        if not check["valid"]:
            findings.append(_finding("error", "license_server_not_valid", "License server %s: %s (status %s)."
                                     % (check["server"], check["meaning"], check["status"])))
    return findings


def _short_name(name):
    return (name or "").strip().split(".")[0].lower()


def _refusing(sh):
    """Discovered license servers that may not issue CALs to this host (FindLicenseServers, IssuingCALs 0 [W32]
    win32-tsdiscoveredlicenseserver.md): the configured ones, or any when none is configured."""
    configured = {_short_name(s) for s in sh.get("license_servers") or []}
    findings = []
    for server in sh.get("discovered_license_servers") or []:
        if server["issuing_cals"] is False and (not configured or _short_name(server["name"]) in configured):
            findings.append(_finding("error", "license_server_refuses", "License server %s is not allowed to issue "
                                     "RDS CALs to this session host (FindLicenseServers). The usual cause is the "
                                     "License server security group policy on that server: add this host's "
                                     "computer account to its %s." % (server["name"], wmi.TSC_GROUP)))
    return findings


def _mode_mismatch(report):
    """On a host that is both, with itself as license server: the mode needs CALs of its type."""
    sh, ls = report["session_host"], report["license_server"]
    name = (report["host"].get("name") or "").lower()
    servers = [s.split(".")[0].lower() for s in sh.get("license_servers") or []]
    mode = sh.get("licensing_mode")
    if not ls.get("installed") or name not in servers or mode not in ("per_device", "per_user"):
        return []
    if any(p["license_type"] == mode for p in ls.get("key_packs") or [] if not p["built_in"]):
        return []
    if mode == "per_user":
        return [_finding("warning", "mode_cal_mismatch", "The session host is in Per User mode, but its license "
                         "server (this host) has no Per User CALs. Windows does not enforce Per User CALs, so users "
                         "are not refused, but they are not licensed.")]
    return [_finding("error", "mode_cal_mismatch", "The session host is in Per Device mode, but its license server "
                     "(this host) has no Per Device CALs: devices get temporary CALs, which expire after 90 days, and "
                     "are then refused.")]


def _grace(sh):
    days = sh.get("grace_period_days_left")
    checks = sh.get("connectivity")
    if days is None or (checks and any(c["valid"] for c in checks)):
        return []
    if sh.get("grace_period_ended"):
        # hh553157: the first permanent CAL ends the grace period; GetGracePeriodDays may still count.
        return [_finding("error", "grace_period_over", "The licensing grace period is over (a permanent CAL was "
                         "issued: LicensingGracePeriodEnded) and no valid license server is known: new connections "
                         "will be refused without a CAL.")]
    if days == 0:
        return [_finding("error", "grace_period_over", "The licensing grace period is over and no valid license "
                         "server is known: new connections will be refused without a CAL.")]
    if days <= GRACE_WARNING_DAYS:
        return [_finding("warning", "grace_period_ending", "The licensing grace period ends in %d days." % days)]
    return []
