# -*- coding: utf-8 -*-
# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY
# The interfaces in this file serve this collection's own plugins; they may change in any release,
# even a bugfix release. Do not import them from other collections or playbooks.
"""The cal_pack planner: which key pack a declaration means, and how to install or remove it.

Windows keeps no agreement number or license code on a key pack (Win32_TSLicenseKeyPack has none,
rd-licensing-wmi.md §2), so the collection keeps its own marker per pack, under
HKLM\\SOFTWARE\\Ansible\\RemoteDesktopLicensing:
  Salt            REG_SZ        random, made once per license server
  KeyPackMarkers  REG_MULTI_SZ  "<KeyPackId>=<fingerprint>" per pack installed or recognised, and
                                "pending=<fingerprint>=<highest KeyPackId before>" while an install runs
The fingerprint is PBKDF2-SHA256 of the whole declaration (program, numbers, version, type, count)
with the salt: never the number itself, and slow to guess.

The matching rule (docs/cal_packs.md):
1. a marker with the declaration's fingerprint whose pack still exists: that pack;
2. a pending marker with the fingerprint: the unmarked pack that appeared above the recorded
   KeyPackId (an install whose answer was lost), or none (the install did not happen);
3. otherwise an unmarked pack (never the built-in or an unlimited one) with the declared product
   version, license type and count: a pack installed by hand; the lowest KeyPackId first.
"""

from __future__ import annotations

import binascii
import hashlib
import os
import re

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _wmi as wmi
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._plan import Plan, PlanError, compact_code

MARKER_KEY = wmi.MARKER_KEY
SALT_VALUE = "Salt"
MARKERS_VALUE = "KeyPackMarkers"
PBKDF2_ITERATIONS = 100000

# InstallAgreementLicenseKeyPack AgreementType [W32] installagreementlicensekeypack.
AGREEMENT_TYPES = {
    "select": 0, "enterprise_agreement": 1, "campus_agreement": 2, "school_agreement": 3, "spla": 4,
    "other_agreement": 5,
}
PROGRAMS = ["retail", "open_license"] + sorted(AGREEMENT_TYPES) + ["license_key_pack_id"]
# The numbers each program needs, and their formats after hyphens and spaces are removed ([W32]
# install pages; agreement numbers: digits, 7 documented but 8 used in production, observed-outputs §5).
NUMBER_FORMATS = {
    "license_code": (re.compile(r"^[A-Z0-9]{25}$"), "25 letters and digits (the 5 x 5 code on the license pack)"),
    "license_number": (re.compile(r"^[0-9]{8}$"), "8 digits from the Open License confirmation"),
    "authorization_number": (re.compile(r"^[A-Z0-9]{15}$"),
                             "15 letters and digits from the Open License confirmation"),
    "agreement_number": (re.compile(r"^[0-9]{5,10}$"), "the enrollment or agreement number: digits only, "
                                                       "usually 7"),
    "key_pack_id": (re.compile(r"^[A-Z0-9]{35}$"), "the 35-character license key pack ID from web or "
                                                   "telephone installation"),
}
PROGRAM_NUMBERS = dict([("retail", ["license_code"]), ("open_license", ["license_number", "authorization_number"]),
                        ("license_key_pack_id", ["key_pack_id"])]
                       + [(p, ["agreement_number"]) for p in AGREEMENT_TYPES])
# Programs whose install call takes version, type and count; the others carry them in the code.
EXPLICIT_PROGRAMS = ["open_license"] + sorted(AGREEMENT_TYPES)

# The ProductVersion argument of the install methods. [W32] install pages: 2 = 2008/2008 R2, 4 = 2012,
# 5 = 2016, 6 = 2019. 7 (2022) and 8 (2025) are not documented: they follow ProductVersionID on the
# key pack class and one public script (rd-licensing-wmi.md §11); override with product_version_id.
PRODUCT_VERSION_ARGUMENT = {"2008R2": 2, "2012": 4, "2016": 5, "2019": 6, "2022": 7, "2025": 8}
PRODUCT_TYPE_ARGUMENT = {"per_device": 0, "per_user": 1}  # [W32] ProductType parameter
VERSION_ORDER = ["2008R2", "2012", "2016", "2019", "2022", "2025"]
# The license server's own version from its OS version: a server holds CALs up to its own version.
OS_VERSION_CAL = [("10.0.26100", "2025"), ("10.0.20348", "2022"), ("10.0.17763", "2019"),
                  ("10.0.14393", "2016"), ("6.3", "2012"), ("6.2", "2012"), ("6.1", "2008R2")]

ARGUMENT_SPEC = {
    "program": {"type": "str", "required": True, "choices": PROGRAMS},
    "license_code": {"type": "str", "no_log": True},
    "license_number": {"type": "str", "no_log": True},
    "authorization_number": {"type": "str", "no_log": True},
    "agreement_number": {"type": "str", "no_log": True},
    "key_pack_id": {"type": "str", "no_log": True},
    "product_version": {"type": "str", "choices": VERSION_ORDER},
    "product_version_id": {"type": "int"},
    "license_type": {"type": "str", "choices": sorted(PRODUCT_TYPE_ARGUMENT)},
    "count": {"type": "int"},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
}


normalize = compact_code


def validate(args):
    """Check the numbers and the pack's attributes before anything touches the host."""
    program = args["program"]
    needed = PROGRAM_NUMBERS[program]
    want = {"program": program, "state": args["state"], "numbers": {}}
    for option in NUMBER_FORMATS:
        given = args.get(option)
        if option not in needed:
            if given:
                raise ValueError("%s is not used with program: %s (it takes %s)"
                                 % (option, program, " and ".join(needed)))
            continue
        value = normalize(given)
        if not value:
            raise ValueError("program: %s needs %s" % (program, " and ".join(needed)))
        pattern, expected = NUMBER_FORMATS[option]
        if not pattern.match(value):
            # Never echo the value: it is a secret.
            raise ValueError("%s must be %s; hyphens and spaces are ignored (got %d characters)"
                             % (option, expected, len(value)))
        want["numbers"][option] = value
    for option in ("product_version", "license_type", "count"):
        if program in EXPLICIT_PROGRAMS and args.get(option) is None:
            raise ValueError("program: %s needs %s" % (program, option))
        want[option] = args.get(option)
    if want["count"] is not None and not 1 <= want["count"] <= 4294967294:
        raise ValueError("count must be between 1 and 4294967294, got %d" % want["count"])
    if args.get("product_version_id") is not None and want["product_version"] is None:
        raise ValueError("product_version_id overrides the number sent for product_version; set product_version")
    want["product_version_id"] = args.get("product_version_id")
    if want["product_version"] and want["product_version_id"] is None:
        want["product_version_id"] = PRODUCT_VERSION_ARGUMENT[want["product_version"]]
    return want


def fingerprint(want, salt):
    """PBKDF2-SHA256 of the declaration: identical declarations match, different numbers never do."""
    fields = ["v1", want["program"]] + [want["numbers"][k] for k in sorted(want["numbers"])] + [
        want["product_version"] or "-", want["license_type"] or "-", str(want["count"] or "-")]
    digest = hashlib.pbkdf2_hmac("sha256", "|".join(fields).encode("utf-8"), salt.encode("utf-8"),
                                 PBKDF2_ITERATIONS)
    return binascii.hexlify(digest).decode("ascii")


def new_salt():
    return binascii.hexlify(os.urandom(16)).decode("ascii")


# --- markers on the host ---------------------------------------------------------------------

def parse_markers(lines):
    """{'packs': {KeyPackId: fingerprint}, 'pending': [(fingerprint, highest id before)]}."""
    markers = {"packs": {}, "pending": []}
    for line in lines or []:
        parts = line.split("=")
        if len(parts) == 3 and parts[0] == "pending" and parts[2].isdigit():
            markers["pending"].append((parts[1], int(parts[2])))
        elif len(parts) == 2 and parts[0].isdigit():
            markers["packs"][int(parts[0])] = parts[1]
    return markers


def render_markers(markers):
    lines = ["%d=%s" % (pack_id, fp) for pack_id, fp in sorted(markers["packs"].items())]
    return lines + ["pending=%s=%d" % (fp, highest) for fp, highest in markers["pending"]]


def read_ops(batch):
    """The marker reads, added to the licensing_info read batch."""
    for op_id, method, value in (("marker_salt", "GetStringValue", SALT_VALUE),
                                 ("marker_list", "GetMultiStringValue", MARKERS_VALUE)):
        batch.invoke(op_id, wmi.REGISTRY_NAMESPACE, wmi.REGISTRY_CLASS, method, read_only=True, arguments={
            "hDefKey": wmi.HKEY_LOCAL_MACHINE, "sSubKeyName": MARKER_KEY, "sValueName": value})
    return batch


def read_markers(results):
    """(salt or None, markers) from the marker reads; a missing key or value is simply empty."""
    def value(op_id, out_name):
        result = results[op_id]
        if result.ok:
            return result.out.get(out_name)
        if result.return_value == wmi.REGISTRY_NOT_FOUND:
            return None
        raise PlanError("could not read the CAL pack markers: %s" % result.message())
    return value("marker_salt", "sValue"), parse_markers(value("marker_list", "sValue"))


def _write_markers(step, markers, salt=None):
    args = {"hDefKey": wmi.HKEY_LOCAL_MACHINE, "sSubKeyName": MARKER_KEY}
    if salt is not None:
        step.invoke(wmi.REGISTRY_NAMESPACE, wmi.REGISTRY_CLASS, "CreateKey", arguments=dict(args))
        step.invoke(wmi.REGISTRY_NAMESPACE, wmi.REGISTRY_CLASS, "SetStringValue",
                    arguments=dict(args, sValueName=SALT_VALUE, sValue=salt))
    step.invoke(wmi.REGISTRY_NAMESPACE, wmi.REGISTRY_CLASS, "SetMultiStringValue",
                arguments=dict(args, sValueName=MARKERS_VALUE, sValue=render_markers(markers)))


# --- matching --------------------------------------------------------------------------------

def _attributes_match(want, pack):
    return ((want["product_version_id"] is None or pack["product_version_id"] == want["product_version_id"])
            and (want["license_type"] is None or pack["license_type"] == want["license_type"])
            and (want["count"] is None or pack["total"] == want["count"]))


def _candidates(want, packs, markers, above=None):
    marked = set(markers["packs"])
    return sorted((p for p in packs if not p["built_in"] and not p["unlimited"] and p["key_pack_id"] not in marked
                   and (above is None or p["key_pack_id"] > above) and _attributes_match(want, p)),
                  key=lambda p: p["key_pack_id"])


def match(want, packs, markers, fp):
    """(pack or None, how): how is 'marker', 'pending', 'attributes' or None."""
    by_id = dict((p["key_pack_id"], p) for p in packs)
    for pack_id, marker_fp in markers["packs"].items():
        if marker_fp == fp and pack_id in by_id:
            return by_id[pack_id], "marker"
    for pending_fp, highest in markers["pending"]:
        if pending_fp == fp:
            appeared = _candidates(dict(want, product_version_id=None, license_type=None, count=None), packs,
                                   markers, above=highest)
            if len(appeared) > 1:
                raise PlanError("an earlier install of this CAL pack was interrupted and %d key packs (%s) have "
                                "appeared since; remove the extra one by hand, then run again"
                                % (len(appeared), ", ".join(str(p["key_pack_id"]) for p in appeared)))
            if appeared:
                return appeared[0], "pending"
    if want["program"] in EXPLICIT_PROGRAMS or want["count"] is not None:
        candidates = _candidates(want, packs, markers)
        if candidates:
            return candidates[0], "attributes"
    return None, None


# --- planning --------------------------------------------------------------------------------

def cal_version_of(os_version):
    for prefix, version in OS_VERSION_CAL:
        if (os_version or "").startswith(prefix):
            return version
    return None


def check_server(want, have):
    ls = have["license_server"]
    if not ls["installed"]:
        raise PlanError("%s is not a license server: install the RD Licensing role service first "
                        "(remote_desktop.licensing.license_server)" % have["host"]["name"])
    if want["state"] == "present" and ls["activation_status"] != "activated":
        raise PlanError("CAL packs can be installed only on an activated license server, and %s is %s: activate "
                        "it first (remote_desktop.licensing.license_server with activation: activated)"
                        % (have["host"]["name"], ls["activation_status"] or "not readable"))


def plan(want, have, salt, markers, make_salt=new_salt, check_mode=False):
    """Returns (plan, matched pack or None, how, fingerprint, salt to write or None)."""
    result = Plan()
    new_salt_value = None
    if salt is None:
        salt = new_salt_value = make_salt()
    fp = fingerprint(want, salt)
    if want["state"] == "absent" and not have["license_server"]["installed"]:
        return result, None, None, fp, None  # no license server, no pack to remove
    try:
        check_server(want, have)
    except PlanError as e:
        if not check_mode:
            raise
        # In check mode an earlier task of the same run may be about to install and activate the server.
        result.warnings.append("Check mode: %s. The pack is shown as it would be installed once that is done." % e)
        _plan_install(result, want, have, {"packs": {}, "pending": []}, fp, new_salt_value)
        return result, None, None, fp, new_salt_value
    pack, how = match(want, have["license_server"]["key_packs"], markers, fp)
    if want["state"] == "present":
        _warn_version(result, want, have)
        if pack is None:
            _plan_install(result, want, have, markers, fp, new_salt_value)
        elif how != "marker":
            step = result.add("mark", "Record that key pack %d is this %s CAL pack (found by %s)"
                              % (pack["key_pack_id"], want["program"], "an interrupted install" if how == "pending"
                                 else "its version, type and count"))
            _write_markers(step, _marked(markers, fp, pack["key_pack_id"]), new_salt_value)
    elif pack is not None:
        if how == "attributes":
            _refuse_ambiguous_removal(want, have, markers)
        step = result.add("uninstall", "Remove key pack %d (%s, %s, %s CALs)" % (
            pack["key_pack_id"], pack["product_version"], pack["license_type"], pack["total"]))
        step.invoke(wmi.CIMV2, wmi.KEY_PACK_CLASS, "UninstallLicenseKeyPackWithId",
                    arguments={"KeyPackId": pack["key_pack_id"]})
        remaining = _without(markers, fp, pack["key_pack_id"])
        _write_markers(step, remaining)
    return result, pack, how, fp, new_salt_value


def _plan_install(result, want, have, markers, fp, salt):
    highest = max([p["key_pack_id"] for p in have["license_server"]["key_packs"]] or [0])
    pending = {"packs": dict(markers["packs"]),
               "pending": [m for m in markers["pending"] if m[0] != fp] + [(fp, highest)]}
    step = result.add("install", "Install %s CAL pack (%s)" % (want["program"], _describe(want)),
                      _install_hint)
    _write_markers(step, pending, salt)  # before the install: an interrupted run can never install twice
    _install_call(step, want)
    result.add("mark", "Record the new key pack's marker")  # written once Windows has told the KeyPackId


def _install_call(step, want):
    numbers = want["numbers"]
    program = want["program"]
    if program == "retail":
        step.invoke(wmi.CIMV2, wmi.KEY_PACK_CLASS, "InstallRetailPurchaseLicenseKeyPack",
                    secret_arguments={"sLicenseCode": numbers["license_code"]})
    elif program == "license_key_pack_id":
        step.invoke(wmi.CIMV2, wmi.KEY_PACK_CLASS, "InstallLicenseKeyPack",
                    secret_arguments={"sLicenseKeyPackId": numbers["key_pack_id"]})
    else:
        common = {"ProductVersion": want["product_version_id"],
                  "ProductType": PRODUCT_TYPE_ARGUMENT[want["license_type"]], "LicenseCount": want["count"]}
        if program == "open_license":
            step.invoke(wmi.CIMV2, wmi.KEY_PACK_CLASS, "InstallOpenLicenseKeyPack", arguments=common,
                        secret_arguments={"sLicenseNumber": numbers["license_number"],
                                          "sAuthorizationNumber": numbers["authorization_number"]})
        else:
            step.invoke(wmi.CIMV2, wmi.KEY_PACK_CLASS, "InstallAgreementLicenseKeyPack",
                        arguments=dict(common, AgreementType=AGREEMENT_TYPES[program]),
                        secret_arguments={"sAgreementNumber": numbers["agreement_number"]})


def _install_hint(result):
    return ("Installing CALs validates the pack with the Microsoft Clearinghouse over the Internet: check that the "
            "license server can reach it, and that the numbers, product version and license type are those of "
            "the purchase. Without Internet access, get a license key pack ID by web or telephone and use "
            "program: license_key_pack_id.")


def mark_after_install(want, markers, fp, key_pack_id):
    """The step that replaces the pending marker by the new pack's marker."""
    step = Plan().add("mark", "Record the marker of key pack %d" % key_pack_id)
    _write_markers(step, _marked(markers, fp, key_pack_id))
    return step


def _marked(markers, fp, pack_id):
    """The markers with this pack recorded and this declaration's pending entry gone."""
    packs = dict(markers["packs"])
    packs[pack_id] = fp
    return {"packs": packs, "pending": [m for m in markers["pending"] if m[0] != fp]}


def _without(markers, fp, pack_id):
    packs = dict((k, v) for k, v in markers["packs"].items() if k != pack_id)
    return {"packs": packs, "pending": [m for m in markers["pending"] if m[0] != fp]}


def _refuse_ambiguous_removal(want, have, markers):
    candidates = _candidates(want, have["license_server"]["key_packs"], markers)
    if len(candidates) > 1:
        raise PlanError("%d unmarked key packs (%s) match %s; state: absent will not guess which one this "
                        "declaration installed. Remove the right one in RD Licensing Manager."
                        % (len(candidates), ", ".join(str(p["key_pack_id"]) for p in candidates), _describe(want)))


def _describe(want):
    parts = [want["product_version"], want["license_type"], "%s CALs" % want["count"] if want["count"] else None]
    return ", ".join(p for p in parts if p) or "version, type and count from the code"


def _warn_version(result, want, have):
    server = cal_version_of(have["host"].get("os_version"))
    version = want["product_version"]
    if server and version and VERSION_ORDER.index(version) > VERSION_ORDER.index(server):
        result.warnings.append("%s CALs are newer than this license server (Windows Server %s): a license server "
                               "holds CALs of its own version and earlier, so Windows may refuse them."
                               % (version, server))
