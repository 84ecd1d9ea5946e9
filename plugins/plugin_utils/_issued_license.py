# -*- coding: utf-8 -*-
# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY
# The interfaces in this file serve this collection's own plugins; they may change in any release,
# even a bugfix release. Do not import them from other collections or playbooks.
"""The issued_license planner: which issued Per Device CALs a selection means, and revoking them.

Windows's interface ([W32] revoke-win32-tsissuedlicense.md): Win32_TSIssuedLicense.Revoke is an
instance method with out RevokableCals ("number of RDS CALs of the same type as the current object that
can be revoked") and out NextRevokeAllowedOn, which "only contains valid data when the Revoke method call
has failed because the maximum revoke count has been reached". Only Per Device CALs can be revoked.
The limit: at any time at most 20 % of the installed Per Device CALs of one version may be revoked
([WSD] rds-client-access-license.md; [BLOG] "Manual Revocation of Client Access Licenses (CALs)").
Windows answers for itself when a call is made; before one (check mode) the module estimates what remains
revocable from that rule, counting revoked CALs that have not yet expired (an estimate: the rounding and
when a revocation stops counting are not documented).

A license's hardware ID (sHardwareId) and user (sIssuedToUser) are never read.
"""

from __future__ import annotations

import datetime as dt
import re

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _bridge as bridge
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _wmi as wmi
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._plan import Plan, PlanError

# Win32_TSIssuedLicense.LicenseStatus [W32] win32-tsissuedlicense.md.
STATUS = {0: "unknown", 1: "temporary", 2: "active", 3: "upgrade", 4: "revoked", 5: "pending", 6: "concurrent"}
REVOKED = "revoked"
SELECTABLE_STATUS = sorted(s for s in STATUS.values() if s != REVOKED)
REVOKE_PERCENT = 20  # [WSD] rds-client-access-license.md, [BLOG]
READ_PROPERTIES = ["LicenseId", "KeyPackId", "sIssuedToComputer", "LicenseStatus", "IssueDate", "ExpirationDate"]
SELECTORS = ("computers", "key_pack_id", "issued_before", "status")

ARGUMENT_SPEC = {
    "computers": {"type": "list", "elements": "str"},
    "key_pack_id": {"type": "int"},
    "issued_before": {"type": "str"},
    "status": {"type": "list", "elements": "str", "choices": SELECTABLE_STATUS},
    "state": {"type": "str", "choices": ["revoked"], "default": "revoked"},
}


def validate(args):
    """The selection, normalised; at least one selector, so that a task never means "every CAL"."""
    if not any(args.get(name) for name in SELECTORS) and args.get("key_pack_id") is None:
        raise ValueError("give at least one of %s: without a selection the task would revoke every issued "
                         "Per Device CAL" % ", ".join(SELECTORS))
    computers = [c.strip() for c in args.get("computers") or []]
    if any(not c for c in computers):
        raise ValueError("computers must be computer names, got an empty name")
    if args.get("key_pack_id") is not None and args["key_pack_id"] < 1:
        raise ValueError("key_pack_id must be a KeyPackId (1 or more), got %d" % args["key_pack_id"])
    return {
        "state": args["state"],
        "computers": sorted(set(c.upper() for c in computers)) or None,
        "key_pack_id": args.get("key_pack_id"),
        "issued_before": parse_date(args.get("issued_before")),
        "status": sorted(set(args.get("status") or [])) or None,
    }


def parse_date(value):
    """A date (YYYY-MM-DD, midnight UTC) or a UTC time (YYYY-MM-DDTHH:MM:SSZ), or None."""
    if value is None or str(value).strip() == "":
        return None
    text = str(value).strip()
    forms = ((r"^\d{4}-\d{2}-\d{2}$", "%Y-%m-%d"), (r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$", "%Y-%m-%dT%H:%M:%SZ"))
    for pattern, form in forms:
        if re.match(pattern, text):
            try:
                return dt.datetime.strptime(text, form).replace(tzinfo=dt.timezone.utc)
            except ValueError:
                break
    raise ValueError("issued_before must be a date YYYY-MM-DD or a UTC time YYYY-MM-DDTHH:MM:SSZ, got %r" % text)


def read_ops(batch, want):
    # Only the columns the selection needs: never the hardware ID or the user.
    batch.get("issued_detail", wmi.CIMV2, wmi.ISSUED_LICENSE_CLASS, properties=READ_PROPERTIES)
    return batch


def license_view(row, packs):
    pack = packs.get(row.get("KeyPackId")) or {}
    return {
        "license_id": row.get("LicenseId"),
        "key_pack_id": row.get("KeyPackId"),
        "computer": row.get("sIssuedToComputer"),
        "status": STATUS.get(row.get("LicenseStatus"), "unknown"),
        "issue_date": row.get("IssueDate"),
        "expiration_date": row.get("ExpirationDate"),
        "product_version": pack.get("product_version"),
        "license_type": pack.get("license_type"),
    }


def observe(want, have, results):
    """`have` with the issued licenses and the selection: `selected` (every license the selection
    matches, revoked ones included), sorted by LicenseId."""
    ls = have["license_server"]
    result = results["issued_detail"]
    if not ls["installed"] or result.missing:
        have["issued_licenses"] = None
        have["selected"] = []
        return have
    if not result.ok:
        raise PlanError("could not read the issued licenses: %s" % result.message())
    packs = dict((p["key_pack_id"], p) for p in ls["key_packs"])
    have["issued_licenses"] = sorted((license_view(row, packs) for row in result.instances),
                                     key=lambda lic: (lic["key_pack_id"], lic["license_id"]))
    have["selected"] = [lic for lic in have["issued_licenses"] if matches(want, lic)]
    return have


def matches(want, lic):
    """The selection; status applies to licenses not yet revoked (a revoked one is already done)."""
    if want["computers"] and (lic["computer"] or "").upper() not in want["computers"]:
        return False
    if want["key_pack_id"] is not None and lic["key_pack_id"] != want["key_pack_id"]:
        return False
    if want["issued_before"] is not None:
        issued = bridge.parse_time(lic["issue_date"])
        if issued is None or issued >= want["issued_before"]:
            return False
    if want["status"] and lic["status"] != REVOKED and lic["status"] not in want["status"]:
        return False
    return True


def describe_selection(want):
    parts = []
    if want["computers"]:
        parts.append("computers %s" % ", ".join(want["computers"]))
    if want["key_pack_id"] is not None:
        parts.append("key pack %d" % want["key_pack_id"])
    if want["issued_before"] is not None:
        parts.append("issued before %s" % want["issued_before"].strftime("%Y-%m-%dT%H:%M:%SZ"))
    if want["status"]:
        parts.append("status %s" % ", ".join(want["status"]))
    return "; ".join(parts)


def revocable(have, now):
    """Estimated CALs still revocable per CAL version: 20 % of the installed Per Device CALs of the version
    (at least one), less the revoked CALs of that version that have not expired yet."""
    installed, counted = {}, {}
    for pack in have["license_server"]["key_packs"]:
        if pack["license_type"] == "per_device" and not pack["unlimited"]:
            installed[pack["product_version"]] = installed.get(pack["product_version"], 0) + (pack["total"] or 0)
    for lic in have["issued_licenses"] or []:
        expires = bridge.parse_time(lic["expiration_date"])
        if lic["status"] == REVOKED and (expires is None or expires > now):
            counted[lic["product_version"]] = counted.get(lic["product_version"], 0) + 1
    return dict((version, max(0, max(1, total * REVOKE_PERCENT // 100) - counted.get(version, 0)))
                for version, total in installed.items())


def to_revoke(have):
    return [lic for lic in have["selected"] if lic["status"] != REVOKED]


def plan(want, have, now=None):
    """One step per license to revoke, in LicenseId order per key pack. Windows stops at its limit: the
    action sends them in one round trip with stop_on_error, so nothing is retried."""
    result = Plan()
    if not have["license_server"]["installed"]:
        raise PlanError("%s is not a license server: issued CALs are on the license server that issued them"
                        % have["host"]["name"])
    pending = to_revoke(have)
    not_per_device = [lic for lic in pending if lic["license_type"] != "per_device"]
    if not_per_device:
        raise PlanError("only Per Device CALs of purchased key packs can be revoked ([W32] Revoke); licenses %s "
                        "are from key packs of type %s: narrow the selection (key_pack_id or status)"
                        % (_ids(not_per_device), ", ".join(sorted(set(str(lic["license_type"]) for lic in not_per_device)))))
    if pending:
        # One step (its operations get distinct ids), one call per license.
        described = ["license %d of key pack %d issued to %s (%s)" % (
            lic["license_id"], lic["key_pack_id"], lic["computer"], lic["product_version"]) for lic in pending]
        step = result.add("revoke", "Revoke %d Per Device CALs: %s" % (len(pending), "; ".join(described)))
    for lic in pending:
        step.invoke(wmi.CIMV2, wmi.ISSUED_LICENSE_CLASS, "Revoke", instances=True,
                    filter="LicenseId = %d AND KeyPackId = %d" % (lic["license_id"], lic["key_pack_id"]),
                    name="revoke%d.%d" % (lic["key_pack_id"], lic["license_id"]))
    estimate = revocable(have, now or dt.datetime.now(dt.timezone.utc))
    for version, count in sorted(_per_version(pending).items()):
        if count > estimate.get(version, 0):
            result.warnings.append(
                "%d %s Per Device CALs are selected but only about %d can be revoked now: Windows allows at most "
                "%d %% of a version's installed Per Device CALs to be revoked at a time, and refuses the rest "
                "with the date of the next allowed revocation"
                % (count, version, estimate.get(version, 0), REVOKE_PERCENT))
    return result


def _per_version(licenses):
    counts = {}
    for lic in licenses:
        counts[lic["product_version"]] = counts.get(lic["product_version"], 0) + 1
    return counts


def _ids(licenses):
    return ", ".join("%d (key pack %d)" % (lic["license_id"], lic["key_pack_id"]) for lic in licenses)


def after_install(want, have):
    return have


def view(have):
    """The selected licenses as the diff shows them: no hardware ID, no user."""
    return {"licenses": [dict((k, lic[k]) for k in ("license_id", "key_pack_id", "computer", "status"))
                         for lic in have["selected"]]}


def predict(want, have, plan_):
    after = view(have)
    for lic in after["licenses"]:
        lic["status"] = REVOKED
    return after


def estimate_after(want, have, now=None):
    """Check mode's answer to "how many remain revocable": the estimate less what the plan revokes."""
    estimate = revocable(have, now or dt.datetime.now(dt.timezone.utc))
    for version, count in _per_version(to_revoke(have)).items():
        estimate[version] = max(0, estimate.get(version, 0) - count)
    return estimate


def outcome(plan_, have, results):
    """What the calls did: (revoked licenses, refused license or None, its result or None, revocable per
    version as Windows last said)."""
    revoked, windows_says = [], {}
    for lic in to_revoke(have):
        result = plan_.result(results, "revoke%d.%d" % (lic["key_pack_id"], lic["license_id"]))
        out = result.out if result.ok else result.error.get("out") or {}
        if out.get("RevokableCals") is not None:
            windows_says[lic["product_version"]] = out.get("RevokableCals")
        if not result.ok:
            return revoked, lic, result, windows_says
        revoked.append(lic)
    return revoked, None, None, windows_says


def refusal_message(lic, result, revoked_count, total):
    """The message for the first revocation Windows refused: the limit and its date, or the call's error."""
    out = result.error.get("out") or {}
    next_allowed = out.get("NextRevokeAllowedOn")
    done = "%d of the %d selected licenses were revoked before it" % (revoked_count, total)
    if next_allowed:
        return ("Windows refused to revoke license %d (%s, issued to %s): the limit of revoked %s Per Device CALs is "
                "reached (at most %d %% of a version's installed CALs at a time). The next revocation is allowed on "
                "%s; %s. Run the task again on or after that date; it does not retry."
                % (lic["license_id"], lic["product_version"], lic["computer"], lic["product_version"], REVOKE_PERCENT,
                   next_allowed, done))
    return "Could not revoke license %d (issued to %s): %s; %s." % (
        lic["license_id"], lic["computer"], result.message(), done)
