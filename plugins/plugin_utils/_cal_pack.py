# -*- coding: utf-8 -*-
# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY
# The interfaces in this file serve this collection's own plugins; they may change in any release,
# even a bugfix release. Do not import them from other collections or playbooks.
"""The cal_pack planner: which key pack a declaration means, and how to install or remove it safely.

Windows keeps no agreement number or license code on a key pack (Win32_TSLicenseKeyPack has none,
rd-licensing-wmi.md §2), so the collection marks the packs it installs. A marker is the *name* of an
empty REG_SZ value under HKLM\\SOFTWARE\\Ansible\\RemoteDesktopLicensing: one EnumValues call reads
them all, and each is written or deleted on its own, never by rewriting a shared list:

  pack.<KeyPackId>.<key id>.<mac>.<number mac> a pack this declaration installed or adopted
  pending.<key id>.<mac>.<highest>.<started>   an install under way: the highest KeyPackId before it
                                               and when it started (Unix time on the controller)
  lock.<nonce>                                 the markers' version, for concurrent runs (below)
  label.<KeyPackId>.<program>.<version>.<type>.<count>
                                               the pack's safe label in plain form, beside its pack
                                               marker: what licensing_info and the report show

A label holds only what the module already shows in messages (program, CAL version, license type,
count; '-' for one a retail code or key pack ID declaration does not give), never a number or a mac:
it is not secret, so it travels in plain arguments and the plan shows it. A pack marker written
before labels existed gains its label on the next run of its declaration (the `label` step).

<mac> is HMAC-SHA256 of the whole declaration (program, numbers, version, type, count) keyed with the
no_log option marker_key, <number mac> the same keyed HMAC of the program and numbers alone (it tells that
a declaration with another count names a pack of the same purchase; markers without it, written before it
existed, still prove their pack), which never leaves the controller (ansible-vault, an AWX credential); <key
id> names the key that made it. Without the key a marker says nothing about the numbers: a 7-digit
agreement number is a small space, so only a secret the host and the logs never see protects it.
Markers and macs travel as secret arguments: never in the plan, the result or the diff.

Concurrent runs. StdRegProv cannot create a value only if it is absent, but deleting a value that is
gone answers 2, and of two deletes of one value exactly one succeeds. So every batch that changes
markers deletes each lock.* value it read, then writes a new one; with stop_on_error a run whose
read is out of date fails on that delete before it changes anything. An install first writes its
pending marker, then takes the lock, then installs: a run that reads in between sees the pending
marker and waits (a pending marker younger than PENDING_LEASE seconds is an install in progress).
The first lock of a server is written alone, by prepare(), and read back before anything relies on it.

Markers of the first design (Salt and KeyPackMarkers, PBKDF2 of the declaration) are recognised with
the declaration's numbers and rewritten as keyed markers by the next run, without reinstalling.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import os
import re
import time

from ansible.module_utils.common.parameters import env_fallback

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _wmi as wmi
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._plan import Plan, PlanError, Step, compact_code

DIGITS = "0123456789"  # ASCII only: str.isdigit() also accepts digits such as "²"

MARKER_KEY = wmi.MARKER_KEY
MARKER_KEY_ENV = "REMOTE_DESKTOP_LICENSING_MARKER_KEY"
MIN_KEY_LENGTH = 20
# A pending marker younger than this is an install in progress; older, an install whose run died.
# Longer than any install call (the Clearinghouse answers within WinRM's operation timeout).
PENDING_LEASE = 900
LEGACY_SALT_VALUE = "Salt"
LEGACY_MARKERS_VALUE = "KeyPackMarkers"
LEGACY_PBKDF2_ITERATIONS = 100000
_KEY_ID_MESSAGE = b"remote_desktop.licensing marker key id"
_NAME = {
    "pack": re.compile(r"^pack\.(\d+)\.([0-9a-f]{12})\.([0-9a-f]{32})(?:\.([0-9a-f]{32}))?$"),
    "pending": re.compile(r"^pending\.([0-9a-f]{12})\.([0-9a-f]{32})\.(\d+)\.(\d+)$"),
    "lock": re.compile(r"^lock\.[0-9a-f]{16}$"),
    "label": re.compile(r"^label\.(\d+)\.([a-z_]+)\.([0-9A-Za-z]+|-)\.(per_device|per_user|-)\.(\d+|-)$"),
}
PLAIN_PREFIXES = ("lock.", "label.")  # value names that hold no mac: sent and shown in plain
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
                                                       "5 to 10, usually 7"),
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

# The KeyPackType each program's install gives: [W32] win32-tslicensekeypack.md 1 retail purchase,
# 2 volume purchase, 5 open license. The agreement programs are Microsoft's volume licensing programs
# (the class lists no Select or Enterprise type, rd-licensing-wmi.md §13); a key pack ID from web or
# telephone can stand for any of the three.
PROGRAM_KEY_PACK_TYPES = dict([("retail", (1,)), ("open_license", (5,)), ("license_key_pack_id", (1, 2, 5))]
                              + [(p, (2,)) for p in AGREEMENT_TYPES])

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
    "marker_key": {"type": "str", "no_log": True, "fallback": (env_fallback, [MARKER_KEY_ENV])},
    "previous_marker_keys": {"type": "list", "elements": "str", "no_log": True, "default": []},
    "force": {"type": "bool", "default": False},
    "remove_key_pack_id": {"type": "int"},
}


class Busy(PlanError):
    """Another run is installing this declaration's pack: wait and read again."""


class CalPackPlan(Plan):
    """A Plan, and what the action needs to know about it besides its steps."""

    def __init__(self):
        super(CalPackPlan, self).__init__()
        self.pack = None  # the pack the declaration means, as read before the plan
        self.how = None  # matched_by: marker, pending, attributes, key_pack_id or None
        self.installs = False
        self.pending_name = None  # the pending marker the install writes (secret: it holds the mac)
        self.same_number = []  # packs marked for the same program and numbers with other attributes


# --- validation -------------------------------------------------------------------------------

def validate(args):
    """Check the numbers, the pack's attributes and the keys before anything touches the host."""
    program = args["program"]
    want = {"program": program, "state": args["state"], "force": bool(args.get("force")),
            "remove_key_pack_id": args.get("remove_key_pack_id"), "numbers": {}}
    if want["remove_key_pack_id"] is not None:
        if want["state"] != "absent" or not want["force"]:
            raise ValueError("remove_key_pack_id removes a key pack that no marker proves this collection "
                             "installed: it needs state: absent and force: true")
        want.update(product_version=None, license_type=None, count=None, product_version_id=None)
        want.update(_keys(args, required=False))
        return want
    _validate_numbers(args, want)
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
    want.update(_keys(args, required=True, declaration=_declaration(want)))
    return want


def _validate_numbers(args, want):
    program = want["program"]
    needed = PROGRAM_NUMBERS[program]
    for option in NUMBER_FORMATS:
        given = args.get(option)
        if option not in needed:
            if given:
                raise ValueError("%s is not used with program: %s (it takes %s)"
                                 % (option, program, " and ".join(needed)))
            continue
        value = compact_code(given)
        if not value:
            raise ValueError("program: %s needs %s" % (program, " and ".join(needed)))
        pattern, expected = NUMBER_FORMATS[option]
        if not pattern.match(value):
            # Never echo the value: it is a secret. Name what is wrong with it: a character, else its length.
            raise ValueError("%s must be %s; hyphens and spaces are ignored (%s)"
                             % (option, expected, _what_is_wrong(pattern, value)))
        want["numbers"][option] = value


def _what_is_wrong(pattern, value):
    """Why `value` does not match `pattern` (a ^[class]{n}$ or {m,n} pattern), without showing the value."""
    digits_only = pattern.pattern.startswith("^[0-9]")
    for char in value:
        if (digits_only and char not in DIGITS) or not (char in DIGITS or "A" <= char <= "Z"):
            kind = "a letter" if char.isalpha() else "a character that is neither a letter nor a digit"
            return "it contains %s%s" % (kind, ", and only digits are accepted" if digits_only else "")
    return "got %d characters" % len(value)


def _keys(args, required, declaration=None):
    """{'key_id': the current key's id, 'macs': {key id: mac of the declaration}, 'number_macs': {key id: mac of
    the program and numbers}}. The keys themselves stay here: nothing returned holds one."""
    key = args.get("marker_key")
    if not key:
        if required:
            raise ValueError("marker_key is required: the secret that keys the CAL pack markers, from ansible-vault "
                             "or an AWX credential (or the %s environment variable); see docs/cal_packs.md"
                             % MARKER_KEY_ENV)
        return {"key_id": None, "macs": {}, "number_macs": {}}
    macs, number_macs = {}, {}
    for option, value in [("marker_key", key)] + [("previous_marker_keys", k) for k in args.get("previous_marker_keys")
                                                  or []]:
        if len(value) < MIN_KEY_LENGTH:
            # The length only: the key is a secret.
            raise ValueError("%s must be at least %d characters (got %d); make one with: openssl rand -base64 32"
                             % (option, MIN_KEY_LENGTH, len(value)))
        raw = value.encode("utf-8")
        macs.setdefault(key_id(raw), mac(raw, declaration) if declaration else None)
        number_macs.setdefault(key_id(raw), mac(raw, _purchase(declaration)) if declaration else None)
    return {"key_id": key_id(key.encode("utf-8")), "macs": macs, "number_macs": number_macs}


def key_id(raw_key):
    return hmac.new(raw_key, _KEY_ID_MESSAGE, hashlib.sha256).hexdigest()[:12]


def _declaration(want):
    fields = [want["program"]] + [want["numbers"][k] for k in sorted(want["numbers"])] + [
        want["product_version"] or "-", want["license_type"] or "-", str(want["count"] or "-")]
    return "|".join(fields)


def _purchase(declaration):
    """The declaration without version, type and count: the program and its numbers, what names a purchase."""
    return "number|" + "|".join(declaration.split("|")[:-3])


def mac(raw_key, declaration):
    """HMAC-SHA256 of the declaration: identical declarations match, and without the key nothing can be
    learnt from it (128 bits kept)."""
    return hmac.new(raw_key, ("v2|" + declaration).encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def legacy_fingerprint(want, salt):
    """The first design's marker, PBKDF2-SHA256 of the declaration with the host's salt: computed only to
    recognise, and then replace, markers that design left on a host."""
    digest = hashlib.pbkdf2_hmac("sha256", ("v1|" + _declaration(want)).encode("utf-8"), salt.encode("utf-8"),
                                 LEGACY_PBKDF2_ITERATIONS)
    return binascii.hexlify(digest).decode("ascii")


def new_nonce():
    return binascii.hexlify(os.urandom(8)).decode("ascii")


# --- reading the markers ------------------------------------------------------------------------

def read_ops(batch, want=None):
    """The marker reads, added to the licensing_info read batch."""
    args = {"hDefKey": wmi.HKEY_LOCAL_MACHINE, "sSubKeyName": MARKER_KEY}
    batch.invoke("marker_names", wmi.REGISTRY_NAMESPACE, wmi.REGISTRY_CLASS, "EnumValues", read_only=True,
                 arguments=dict(args))
    batch.invoke("marker_acl", wmi.REGISTRY_NAMESPACE, wmi.REGISTRY_CLASS, "GetSecurityDescriptor", read_only=True,
                 arguments=dict(args))
    for op_id, method, value in (("legacy_salt", "GetStringValue", LEGACY_SALT_VALUE),
                                 ("legacy_markers", "GetMultiStringValue", LEGACY_MARKERS_VALUE)):
        batch.invoke(op_id, wmi.REGISTRY_NAMESPACE, wmi.REGISTRY_CLASS, method, read_only=True,
                     arguments=dict(args, sValueName=value))
    return batch


def observe(want, have, results):
    """`have` with the markers parsed into have['markers'], and the pack the declaration means today in
    have['declared'] (what view() shows; None when there is none, or when the plan would refuse)."""
    have = dict(have)
    have["markers"] = read_markers(results)
    have["program"] = want["program"]
    try:
        have["declared"] = plan(want, have).pack
    except PlanError:
        have["declared"] = None
    return have


def read_markers(results):
    """The markers: locks, packs and pending (each a dict with its value name), and the first design's."""
    def out(op_id, name):
        result = results[op_id]
        if result.ok:
            return result.out.get(name)
        if result.return_value == wmi.REGISTRY_NOT_FOUND:
            return None
        raise PlanError("could not read the CAL pack markers: %s" % result.message())
    markers = {"locks": [], "packs": [], "pending": [], "labels": [], "legacy_salt": out("legacy_salt", "sValue"),
               "legacy": parse_legacy(out("legacy_markers", "sValue"))}
    markers["key_exists"] = results["marker_names"].ok
    markers["acl"] = read_acl(results)
    for name in out("marker_names", "sNames") or []:
        for kind, pattern in _NAME.items():
            found = pattern.match(name)
            if not found:
                continue
            if kind == "lock":
                markers["locks"].append(name)
            elif kind == "label":
                markers["labels"].append(parse_label(found))
            elif kind == "pack":
                markers["packs"].append({"name": name, "key_pack_id": int(found.group(1)),
                                         "key_id": found.group(2), "mac": found.group(3),
                                         "number_mac": found.group(4)})
            else:
                markers["pending"].append({"name": name, "key_id": found.group(1), "mac": found.group(2),
                                           "highest": int(found.group(3)), "started": int(found.group(4))})
    markers["locks"].sort()
    return markers


def parse_label(found):
    """A label value name's match as {'name', 'key_pack_id', 'program', 'product_version', 'license_type',
    'count'} (None for a '-')."""
    def plain(text):
        return None if text == "-" else text
    count = plain(found.group(5))
    return {"name": found.group(0), "key_pack_id": int(found.group(1)), "program": found.group(2),
            "product_version": plain(found.group(3)), "license_type": plain(found.group(4)),
            "count": int(count) if count is not None else None}


def recorded_programs(names):
    """{KeyPackId: program} from the marker key's value names (EnumValues' sNames), for licensing_info: the program
    a label records, for a pack that also has a pack marker (a label alone, its marker deleted by hand, proves
    nothing) and whose labels agree on it."""
    marked, programs = set(), {}
    for name in names or []:
        pack = _NAME["pack"].match(name)
        if pack:
            marked.add(int(pack.group(1)))
        label = _NAME["label"].match(name)
        if label and label.group(2) in PROGRAMS:
            programs.setdefault(int(label.group(1)), set()).add(label.group(2))
    return dict((i, p.pop()) for i, p in programs.items() if i in marked and len(p) == 1)


def parse_legacy(lines):
    """The first design's KeyPackMarkers: {'packs': {KeyPackId: fingerprint}, 'pending': [(fp, highest)]}."""
    legacy = {"packs": {}, "pending": [], "lines": list(lines or [])}
    for line in lines or []:
        parts = line.split("=")
        if len(parts) == 3 and parts[0] == "pending" and parts[2].isdigit():
            legacy["pending"].append((parts[1], int(parts[2])))
        elif len(parts) == 2 and parts[0].isdigit():
            legacy["packs"][int(parts[0])] = parts[1]
    return legacy


# --- planning -----------------------------------------------------------------------------------

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
    unread = [p["message"] for p in have.get("problems", []) if p.get("part") in ("key_packs", "issued")]
    if unread:
        raise PlanError("could not read the key packs, so nothing can be matched or removed safely: %s" % unread[0])


def prepare(want, have):
    """The marker key and its first lock, written alone before a plan that changes markers relies on them:
    a lock written in the same batch as a change could be written twice by two runs (module docstring)."""
    result = Plan()
    if have["markers"]["locks"]:
        return result
    step = result.add("prepare", "Create the CAL pack marker key and its lock")
    args = _reg_args()
    step.invoke(wmi.REGISTRY_NAMESPACE, wmi.REGISTRY_CLASS, "CreateKey", arguments=dict(args))
    if not acl_is_restricted(have["markers"]["acl"]):
        _secure(step)  # before the first marker: no marker is ever readable by local users
    _set_name(step, "lock." + new_nonce())
    return result


def plan(want, have, check_mode=False, now=None, nonce=None):
    """The CalPackPlan that makes the host match `want`; raises Busy while another run installs it."""
    now = int(time.time()) if now is None else now
    result = CalPackPlan()
    ls = have["license_server"]
    if want["state"] == "absent" and not ls["installed"]:
        return result  # no license server, no pack to remove
    markers = have.get("markers") or read_markers_empty()
    try:
        check_server(want, have)
    except PlanError as e:
        if not check_mode or want["state"] == "absent":
            raise
        # In check mode an earlier task of the same run may be about to install and activate the server.
        result.warnings.append("Check mode: %s. The pack is shown as it would be installed once that is done." % e)
        _plan_install(result, want, ls["key_packs"], read_markers_empty(), [], now, nonce)
        return result
    if want["macs"]:
        _check_keys(want, markers)
    work = _Work(want, have, markers, now)
    if want["remove_key_pack_id"] is not None:
        _plan_forced_removal(result, work)
    elif want["state"] == "present":
        _plan_present(result, work, nonce)
    else:
        _plan_absent(result, work)
    _plan_prune(result, work)
    if markers["locks"] and not acl_is_restricted(markers["acl"]):
        # A key prepared by an earlier version of the collection: prepare() secures a new one.
        _secure(result.add("secure", "Restrict the CAL pack marker key to SYSTEM and Administrators"))
    if result.steps and not result.installs:
        lock = Step("lock", "Check that no other run changed the CAL pack markers since this task read them")
        _take_lock(lock, markers, nonce)
        result.steps.insert(0, lock)
    return result


def read_markers_empty():
    return {"locks": [], "packs": [], "pending": [], "labels": [], "legacy_salt": None, "key_exists": False,
            "acl": None,
            "legacy": parse_legacy(None)}


class _Work(object):
    """What the planning steps share: the host's packs and markers, and the first design's lines to drop."""

    def __init__(self, want, have, markers, now):
        self.want = want
        self.markers = markers
        self.now = now
        self.packs = dict((p["key_pack_id"], p) for p in have["license_server"]["key_packs"])
        self.legacy_fp = (legacy_fingerprint(want, markers["legacy_salt"])
                          if markers["legacy_salt"] and want["numbers"] else None)
        self.drop_legacy_ids = set()
        self.drop_legacy_pending = False
        self.server_version = cal_version_of(have["host"].get("os_version"))

    def own(self, kind):
        return [m for m in self.markers[kind] if m["mac"] == self.want["macs"].get(m["key_id"])]

    def marked_ids(self):
        return set(m["key_pack_id"] for m in self.markers["packs"]) | set(self.markers["legacy"]["packs"])

    def proven(self):
        """(pack, marker or None): the existing pack a marker of this declaration proves it installed."""
        for marker in sorted(self.own("packs"), key=lambda m: m["key_pack_id"]):
            if marker["key_pack_id"] in self.packs:
                return self.packs[marker["key_pack_id"]], marker
        for pack_id, fp in sorted(self.markers["legacy"]["packs"].items()):
            if self.legacy_fp and fp == self.legacy_fp and pack_id in self.packs:
                return self.packs[pack_id], None
        return None, None

    def same_number(self):
        """Existing packs whose marker has this declaration's program and numbers but not its mac: the same purchase
        declared with another count, version or type (issue 12 item 5)."""
        number_macs = self.want.get("number_macs") or {}
        return sorted(set(m["key_pack_id"] for m in self.markers["packs"] if m["number_mac"]
                          and m["number_mac"] == number_macs.get(m["key_id"]) and m["key_pack_id"] in self.packs
                          and m["mac"] != self.want["macs"].get(m["key_id"])))

    def pending(self):
        """This declaration's pending markers, and the lowest highest-id among them (None: none)."""
        own = self.own("pending")
        legacy = [highest for fp, highest in self.markers["legacy"]["pending"] if self.legacy_fp and fp == self.legacy_fp]
        highs = [m["highest"] for m in own] + legacy
        return own, bool(legacy), (min(highs) if highs else None)

    def candidates(self, above=None, attributes=True):
        """Unmarked packs of the program's key pack types (never built-in or unlimited), lowest id first."""
        types = PROGRAM_KEY_PACK_TYPES[self.want["program"]]
        marked = self.marked_ids()
        return sorted((p for p in self.packs.values()
                       if not p["built_in"] and not p["unlimited"] and p["key_pack_id"] not in marked
                       and p.get("key_pack_type_id") in types and (above is None or p["key_pack_id"] > above)
                       and (not attributes or _attributes_match(self.want, p))),
                      key=lambda p: p["key_pack_id"])


def _attributes_match(want, pack):
    return ((want["product_version_id"] is None or pack["product_version_id"] == want["product_version_id"])
            and (want["license_type"] is None or pack["license_type"] == want["license_type"])
            and (want["count"] is None or pack["total"] == want["count"]))


def _check_keys(want, markers):
    """Markers this task cannot check: never act on them, say how to recover (finding 4 of issue 9)."""
    unknown = sorted(set(m["key_id"] for m in markers["packs"] + markers["pending"]) - set(want["macs"]))
    if unknown:
        raise PlanError(
            "the CAL pack markers on this license server were written with a marker_key this task was not given "
            "(key id %s), so the module cannot tell which packs they prove and changes nothing. Give that key as "
            "marker_key, or in previous_marker_keys while you rotate keys. If the key is lost: delete the values whose "
            "names contain .%s. under HKLM\\%s by hand, then run each declaration with product_version, license_type "
            "and count so that its pack is recognised and marked with the new key (docs/cal_packs.md)."
            % (", ".join(unknown), unknown[0], MARKER_KEY))
    legacy = markers["legacy"]
    if (legacy["packs"] or legacy["pending"]) and not markers["legacy_salt"]:
        raise PlanError(
            "HKLM\\%s holds %s from an earlier version of the collection but not its %s value, so they cannot be "
            "checked and the module changes nothing. If the salt is lost: delete the %s value by hand, then run "
            "each declaration with product_version, license_type and count so that its pack is recognised and "
            "marked again (docs/cal_packs.md)." % (MARKER_KEY, LEGACY_MARKERS_VALUE, LEGACY_SALT_VALUE,
                                                   LEGACY_MARKERS_VALUE))


def _plan_present(result, work, nonce):
    want = work.want
    pack, marker = work.proven()
    if pack is not None:
        result.pack, result.how = pack, "marker"
        step = None
        if marker is None:
            step = result.add("migrate", "Replace the first design's marker of key pack %d by a keyed marker"
                              % pack["key_pack_id"])
            _set_name(step, _pack_name(want, pack["key_pack_id"]))
            work.drop_legacy_ids.add(pack["key_pack_id"])
        elif marker["key_id"] != want["key_id"]:
            step = result.add("rekey", "Mark key pack %d with the current marker_key" % pack["key_pack_id"])
            _set_name(step, _pack_name(want, pack["key_pack_id"]))
            _delete_name(step, marker["name"])
        _plan_label(result, work, pack["key_pack_id"], step)
        return
    _warn_same_number(result, work)
    pending, legacy_pending, highest = work.pending()
    stale = []
    if highest is not None:
        appeared = work.candidates(above=highest, attributes=want["program"] in EXPLICIT_PROGRAMS)
        if want["program"] not in EXPLICIT_PROGRAMS:  # a code carries its own attributes: prefer a match
            appeared = [p for p in appeared if _attributes_match(want, p)] or appeared
        if len(appeared) > 1:
            raise PlanError("an earlier install of this CAL pack was interrupted and %d key packs (%s) have appeared "
                            "since; remove the extra one by hand, then run again"
                            % (len(appeared), ", ".join(str(p["key_pack_id"]) for p in appeared)))
        fresh = [m for m in pending if work.now - m["started"] < PENDING_LEASE]
        if fresh and not appeared:
            raise Busy("another run has been installing this CAL pack since %s UTC; this task waits for it, and "
                       "treats that install as interrupted %d minutes after it started"
                       % (time.strftime("%H:%M:%S", time.gmtime(fresh[0]["started"])), PENDING_LEASE // 60))
        stale = [m["name"] for m in pending]
        work.drop_legacy_pending = legacy_pending
        if appeared:
            _adopt(result, work, appeared[0], "pending", stale)
            return
    candidates = work.candidates()
    if want["program"] in EXPLICIT_PROGRAMS or want["count"] is not None:
        if candidates:
            _adopt(result, work, candidates[0], "attributes", stale)
            return
    elif work.candidates(attributes=False):
        same_type = work.candidates(attributes=False)
        raise PlanError("unmarked %s key packs (%s) exist and this declaration gives no count, so the module cannot "
                        "tell whether one of them is this pack (its marker may have been lost) and installs nothing. "
                        "Give product_version, license_type and count: a pack with those is recognised and marked, "
                        "otherwise the pack is installed." % (want["program"], ", ".join(
                            str(p["key_pack_id"]) for p in same_type)))
    _refuse_newer_version(want, work.server_version)
    _plan_install(result, want, list(work.packs.values()), work.markers, stale, work.now, nonce,
                  work.server_version)


def _warn_same_number(result, work):
    """A declaration that matches no marker, while a pack of the same program and numbers is recorded: most likely
    the count (or version, or type) was changed in the declaration, which installs a second pack."""
    result.same_number = work.same_number()
    if not result.same_number:
        return
    old = [work.packs[i] for i in result.same_number]
    present = work.want["state"] == "present"
    result.warnings.append(
        "Key pack %s was recorded for this program and number with other attributes (%s), and this declaration (%s) "
        "matches no pack, so %s. To change a pack, declare the old one as it was installed with state: absent, and "
        "the new one with state: present (docs/cal_packs.md, Changing a pack)." % (
            " and ".join(str(p["key_pack_id"]) for p in old),
            "; ".join("%s, %s, %s CALs" % (p["product_version"], p["license_type"], p["total"]) for p in old),
            _describe(work.want),
            "it installs a second pack beside it" if present else "nothing is removed"))


def _adopt(result, work, pack, how, stale):
    result.pack, result.how = pack, how
    step = result.add("mark", "Record that key pack %d is this %s CAL pack (found by %s)" % (
        pack["key_pack_id"], work.want["program"],
        "an interrupted install" if how == "pending" else "its key pack type, version, license type and count"))
    _set_name(step, _pack_name(work.want, pack["key_pack_id"]))
    for name in stale:
        _delete_name(step, name)
    _plan_label(result, work, pack["key_pack_id"], step)


def _plan_label(result, work, key_pack_id, step=None):
    """The pack's safe label in plain form beside its marker, unless it is there already: in `step` when the plan
    marks the pack anyway, else in a `label` step of its own (a pack marked before labels existed gains its label on
    the next run of its declaration: a registry write, so the task reports changed). Another label on the pack is
    replaced."""
    name = label_name(work.want, key_pack_id)
    labels = [m["name"] for m in work.markers["labels"] if m["key_pack_id"] == key_pack_id]
    if labels == [name]:
        return
    if step is None:
        step = result.add("label", "Record in plain form that key pack %d is a %s CAL pack (%s; never a number)"
                          % (key_pack_id, work.want["program"], _describe(work.want)))
    if name not in labels:
        _set_name(step, name)
    for other in labels:
        if other != name:
            _delete_name(step, other)


def _plan_install(result, want, packs, markers, stale, now, nonce, server_version=None):
    highest = max([p["key_pack_id"] for p in packs] or [0])
    result.installs = True
    result.pending_name = "pending.%s.%s.%d.%d" % (want["key_id"], want["macs"][want["key_id"]], highest, now)
    beside = (" beside key pack %s of the same program and number" % " and ".join(map(str, result.same_number))
              if result.same_number else "")
    step = result.add("install", "Install %s CAL pack (%s)%s" % (want["program"], _describe(want), beside),
                      _install_hint(want, server_version))
    # The pending marker before the lock: a run that reads after the lock changed hands sees it and waits.
    _set_name(step, result.pending_name)
    _take_lock(step, markers, nonce)
    for name in stale:  # after the lock: another run may have dropped them, and would then hold the lock
        _delete_name(step, name)
    _install_call(step, want)
    result.add("mark", "Record the new key pack's marker", phase="record")  # once Windows has told the KeyPackId


def _plan_absent(result, work):
    want = work.want
    pack, marker = work.proven()
    if pack is not None:
        result.pack, result.how = pack, "marker"
        _refuse_issued(want, pack)
        _uninstall(result, work, pack)
        return
    _warn_same_number(result, work)
    pending, legacy_pending, highest = work.pending()
    if highest is not None:
        if [m for m in pending if work.now - m["started"] < PENDING_LEASE]:
            raise Busy("another run is installing this CAL pack; this task waits for it before removing anything")
        step = result.add("forget", "Forget the pending marker of an interrupted install of this pack")
        for m in pending:
            _delete_name(step, m["name"])
        work.drop_legacy_pending = legacy_pending
    lookalikes = work.candidates() if (want["count"] is not None or want["program"] in EXPLICIT_PROGRAMS) else []
    if lookalikes:
        result.warnings.append(
            "Key pack %s looks like this declaration (%s) but no marker proves that this collection installed it, "
            "so it stays. To remove it anyway: remove_key_pack_id: %d with force: true."
            % (", ".join(str(p["key_pack_id"]) for p in lookalikes), _describe(want), lookalikes[0]["key_pack_id"]))


def _plan_forced_removal(result, work):
    pack = work.packs.get(work.want["remove_key_pack_id"])
    if pack is None:
        return
    if pack["built_in"] or pack["unlimited"]:
        raise PlanError("key pack %d is the built-in pack (or another unlimited one), which RD Licensing keeps; "
                        "remove_key_pack_id takes the id of a pack of CALs" % pack["key_pack_id"])
    result.pack, result.how = pack, "key_pack_id"
    if pack.get("issued"):
        result.warnings.append("Key pack %d had %d licenses issued; force: true removed it anyway."
                               % (pack["key_pack_id"], pack["issued"]))
    _uninstall(result, work, pack)


def _refuse_issued(want, pack):
    if pack.get("issued") and not want["force"]:
        raise PlanError("key pack %d has %d licenses issued to clients; removing it takes them away. Nothing was "
                        "changed: give force: true to remove it anyway" % (pack["key_pack_id"], pack["issued"]))


def _uninstall(result, work, pack):
    step = result.add("uninstall", "Remove key pack %d (%s, %s, %s CALs)" % (
        pack["key_pack_id"], pack["product_version"], pack["license_type"], pack["total"]))
    step.invoke(wmi.CIMV2, wmi.KEY_PACK_CLASS, "UninstallLicenseKeyPackWithId", name="uninstall",
                arguments={"KeyPackId": pack["key_pack_id"]})
    for marker in work.markers["packs"] + work.markers["labels"]:
        if marker["key_pack_id"] == pack["key_pack_id"]:
            _delete_name(step, marker["name"])
    if pack["key_pack_id"] in work.markers["legacy"]["packs"]:
        work.drop_legacy_ids.add(pack["key_pack_id"])


def _plan_prune(result, work):
    """Markers of packs that no longer exist (removed by hand, or by a run of another declaration), and pending
    markers that can no longer mean an install in progress (_stale_pending)."""
    gone = [m for m in work.markers["packs"] + work.markers["labels"] if m["key_pack_id"] not in work.packs]
    dropped = _deleted_names(result)
    gone += [m for m in _stale_pending(work) if m["name"] not in dropped]
    work.drop_legacy_ids.update(i for i in work.markers["legacy"]["packs"] if i not in work.packs)
    legacy_op = _legacy_rewrite(work)
    if not gone and legacy_op is None:
        return
    step = result.add("prune", "Forget the markers and labels of key packs that no longer exist, pending markers of "
                               "installs that finished or certainly failed, and the first design's markers this run "
                               "replaced")
    for marker in gone:
        _delete_name(step, marker["name"])
    if legacy_op:
        legacy_op(step)


def _stale_pending(work):
    """Pending markers of any declaration (under a key this task holds) that no install can still be behind:
    - older than the pack they name: a pack marker with the same mac names a pack that appeared after the pending
      marker was written (the install finished and was recorded; only its last delete was lost);
    - left by an install that certainly failed: past PENDING_LEASE, and no unmarked pack has appeared above the
      highest KeyPackId it recorded, so the install gave nothing a later run could adopt.
    A pending marker with an unmarked pack above it stays: its own declaration's next run adopts that pack."""
    stale = []
    for m in work.markers["pending"]:
        recorded = [p for p in work.markers["packs"] if (p["key_id"], p["mac"]) == (m["key_id"], m["mac"])
                    and p["key_pack_id"] in work.packs and p["key_pack_id"] > m["highest"]]
        expired = work.now - m["started"] >= PENDING_LEASE
        appeared = [p for p in work.packs.values() if p["key_pack_id"] > m["highest"] and not p["built_in"]
                    and not p["unlimited"] and p["key_pack_id"] not in work.marked_ids()]
        if recorded or (expired and not appeared):
            stale.append(m)
    return stale


def _deleted_names(result):
    """The value names the plan's steps already delete (a marker's name travels as a secret)."""
    names = set()
    for step in result.steps:
        for op in step.batch.operations:
            if op.get("method") == "DeleteValue":
                ref = (op.get("secret_arguments") or {}).get("sValueName")
                names.add(step.batch.secrets.get(ref) if ref else (op.get("arguments") or {}).get("sValueName"))
    return names


def _legacy_rewrite(work):
    """The first design's list without the lines this run replaced or pruned; both of its values go with the
    last line. The lines are unkeyed fingerprints: sent as secrets, never shown."""
    legacy = work.markers["legacy"]
    if not work.drop_legacy_ids and not work.drop_legacy_pending:
        return None
    keep = []
    for line in legacy["lines"]:
        parts = line.split("=")
        if len(parts) == 2 and parts[0].isdigit() and int(parts[0]) in work.drop_legacy_ids:
            continue
        if work.drop_legacy_pending and len(parts) == 3 and parts[0] == "pending" and parts[1] == work.legacy_fp:
            continue
        keep.append(line)
    if keep == legacy["lines"]:
        return None

    def write(step):
        if keep:
            step.invoke(wmi.REGISTRY_NAMESPACE, wmi.REGISTRY_CLASS, "SetMultiStringValue",
                        arguments=dict(_reg_args(), sValueName=LEGACY_MARKERS_VALUE), secret_arguments={"sValue": keep})
            return
        for value in (LEGACY_MARKERS_VALUE, LEGACY_SALT_VALUE):
            step.invoke(wmi.REGISTRY_NAMESPACE, wmi.REGISTRY_CLASS, "DeleteValue",
                        arguments=dict(_reg_args(), sValueName=value))
    return write


# --- after the install: the record phase, or the pending marker dropped ---------------------------

def record(want, install_plan, key_pack_id):
    """The record phase: the new pack's marker, and the install's pending marker gone."""
    result = Plan()
    step = result.add("mark", "Record the marker of key pack %d and its label (program, version, type, count)"
                      % key_pack_id, phase="record")
    _set_name(step, _pack_name(want, key_pack_id))
    _set_name(step, label_name(want, key_pack_id))
    _delete_name(step, install_plan.pending_name, name="pending")  # last: another run may have done it
    return result


def pending_already_gone(record_plan, results):
    """The record step's only failure is the pending marker already deleted: a run that read after the
    install adopted the pack itself (both write the same marker), which is what the record step does."""
    gone = record_plan.result(results, "pending")
    others = [results[op["id"]] for step in record_plan.steps for op in step.batch.operations
              if op["id"] != gone.operation["id"]]
    return not gone.ok and gone.return_value == wmi.REGISTRY_NOT_FOUND and all(r.ok for r in others)


def forget_pending(install_plan, description="Forget the pending marker of the install that failed"):
    """After a definite failure (Windows refused the install, or another run held the lock): nothing was
    installed, so the pending marker must not make a later run adopt a pack someone else installs."""
    result = Plan()
    step = result.add("forget", description)
    _delete_name(step, install_plan.pending_name)
    return result


def after_install(want, have):
    return have  # cal_pack has no role phase


def is_marked(want, markers, key_pack_id):
    """Whether a marker of this declaration (under the current key) names the pack."""
    name = _pack_name(want, key_pack_id)
    return any(m["name"] == name for m in markers["packs"])


def is_labelled(want, markers, key_pack_id):
    """Whether the pack carries this declaration's label (and no other)."""
    return [m["name"] for m in markers["labels"] if m["key_pack_id"] == key_pack_id] == [label_name(want, key_pack_id)]


def lock_conflict(install_or_lock_plan, results):
    """Whether the batch stopped because another run had changed the markers (its lock was gone)."""
    try:
        result = install_or_lock_plan.result(results, "lock")
    except KeyError:
        return False
    return not result.ok and result.return_value == wmi.REGISTRY_NOT_FOUND


def install_error_is_definite(install_plan, results):
    """Windows answered the install call with an error: it did not install (a dropped connection says nothing)."""
    result = install_plan.result(results, "install")
    return not result.ok and result.error.get("kind") in ("return_value", "cim_error")


# --- the diff -----------------------------------------------------------------------------------

def view(have):
    """The declared pack as the diff shows it (observe() found it), and who may read the marker key; never a
    number or a marker."""
    pack = have.get("declared")
    view_ = _view(have, pack, recorded=pack is not None and _has_marker(have, pack))
    if pack is not None:
        markers = have.get("markers") or read_markers_empty()
        labels = [m for m in markers["labels"] if m["key_pack_id"] == pack["key_pack_id"]]
        view_["label"] = label_text(labels[0]) if len(labels) == 1 else None
    view_["marker_key_access"] = acl_text((have.get("markers") or read_markers_empty())["acl"])
    return view_


def predict(want, have, plan_):
    """view() after the plan, for check mode (a new pack's id is not known before Windows assigns it). Every
    plan that changes something leaves the marker key restricted (prepare() or the secure step)."""
    if want["state"] == "absent":
        view_ = _view(want, None, False)
    elif plan_.pack is not None:
        view_ = _view(want, plan_.pack, True)
    else:
        view_ = {"program": want["program"], "state": "present", "key_pack_id": None,
                 "product_version": want["product_version"], "license_type": want["license_type"],
                 "total": want["count"], "recorded": True, "label": label_text(want)}
    current = (have.get("markers") or read_markers_empty())["acl"]
    view_["marker_key_access"] = acl_text(MARKER_KEY_ACL_VIEW if plan_.changed else current)
    return _with_same_number(view_, plan_)


def after(want, pack, acl=None, plan_=None):
    """The view once the plan is applied, from the pack and the marker key's ACL read back."""
    view_ = _view(want, pack, recorded=pack is not None)
    view_["marker_key_access"] = acl_text(acl)
    return _with_same_number(view_, plan_)


def _with_same_number(view_, plan_):
    """Packs of the same program and number with other attributes, which the declaration leaves (only when some
    exist: the diff says a changed count installs a second pack)."""
    if plan_ is not None and plan_.same_number:
        view_["same_number_packs"] = list(plan_.same_number)
    return view_


def _has_marker(have, pack):
    markers = have.get("markers") or read_markers_empty()
    return (any(m["key_pack_id"] == pack["key_pack_id"] for m in markers["packs"])
            or pack["key_pack_id"] in markers["legacy"]["packs"])


def _view(want, pack, recorded):
    """The pack; a recorded one with the label a run of this declaration leaves beside its marker (view() shows the
    label the host holds instead: an old marker has none until the next run)."""
    view_ = {"program": want["program"], "state": "present" if pack else "absent"}
    if pack:
        view_.update((k, pack[k]) for k in ("key_pack_id", "product_version", "license_type", "total"))
        view_["recorded"] = recorded
        view_["label"] = label_text(want) if recorded and "numbers" in want else None
    return view_


def label_text(label):
    """A label (a declaration, or a parsed label value) as the diff shows it: 'select, 2022, per_user, 25 CALs'."""
    count = label.get("count")
    parts = [label["program"], label.get("product_version"), label.get("license_type"),
             "%s CALs" % count if count else None]
    return ", ".join(p for p in parts if p)


# --- the marker key's ACL -----------------------------------------------------------------------
# Markers are keyed (a reader learns nothing about a number), and the key holding them is readable by SYSTEM
# and Administrators only: HKLM\SOFTWARE grants Users read, and a new key inherits its parent's ACL ([SYS]
# learn.microsoft.com/windows/win32/sysinfo/registry-key-security-and-access-rights: "The ACLs in a default
# security descriptor for a key are inherited from its direct parent key"). StdRegProv.SetSecurityDescriptor
# takes a __SecurityDescriptor ([W32 wmi] setsecuritydescriptor-method-in-class-stdregprov; classes
# [W32 wmisdk] --securitydescriptor, --ace, --trustee: "Either a name or an SID (byte array) can be used").
SID_SYSTEM = "S-1-5-18"  # well-known SIDs: NT AUTHORITY\SYSTEM
SID_ADMINISTRATORS = "S-1-5-32-544"  # BUILTIN\Administrators
KEY_ALL_ACCESS = 0xF003F  # registry-key-security-and-access-rights
ACCESS_ALLOWED_ACE_TYPE = 0  # ACE_HEADER AceType (winnt.h)
CONTAINER_INHERIT_ACE = 0x2  # ACE_HEADER AceFlags: subkeys inherit the ACE
INHERITED_ACE = 0x10
# SECURITY_DESCRIPTOR_CONTROL: SE_DACL_PRESENT tells SetSecurityDescriptor to replace the DACL (the method
# pages' Remarks), SE_DACL_PROTECTED stops inheritance from HKLM\SOFTWARE.
SE_DACL_PRESENT = 0x4
SE_DACL_PROTECTED = 0x1000
MARKER_KEY_ACL = ((SID_SYSTEM, KEY_ALL_ACCESS), (SID_ADMINISTRATORS, KEY_ALL_ACCESS))
MARKER_KEY_ACL_VIEW = {"protected": True, "aces": [
    {"sid": sid, "mask": mask, "type": ACCESS_ALLOWED_ACE_TYPE, "flags": CONTAINER_INHERIT_ACE}
    for sid, mask in MARKER_KEY_ACL]}


def read_acl(results):
    """The marker key's DACL from GetSecurityDescriptor: {'protected', 'aces': [{sid, mask, type, flags}]}, or
    None when the key does not exist (or the read is not in `results`)."""
    try:
        result = results["marker_acl"]
    except KeyError:
        return None
    if not result.ok:
        if result.return_value == wmi.REGISTRY_NOT_FOUND:
            return None
        raise PlanError("could not read the CAL pack marker key's security descriptor: %s" % result.message())
    descriptor = result.out.get("Descriptor") or {}
    aces = []
    for ace in descriptor.get("DACL") or []:
        trustee = ace.get("Trustee") or {}
        sid = trustee.get("SidString") or (sid_text(trustee["SID"]) if trustee.get("SID") else None)
        aces.append({"sid": sid, "mask": ace.get("AccessMask") or 0, "type": ace.get("AceType") or 0,
                     "flags": ace.get("AceFlags") or 0})
    return {"protected": bool((descriptor.get("ControlFlags") or 0) & SE_DACL_PROTECTED), "aces": aces}


def acl_is_restricted(acl):
    """Protected from inheritance, and exactly SYSTEM and Administrators with full control, nothing else."""
    if not acl or not acl["protected"]:
        return False
    granted = sorted((a["sid"], a["mask"]) for a in acl["aces"]
                     if a["type"] == ACCESS_ALLOWED_ACE_TYPE and not a["flags"] & INHERITED_ACE)
    return len(granted) == len(acl["aces"]) and granted == sorted(MARKER_KEY_ACL)


def acl_text(acl):
    """The DACL in SDDL's form, SIDs and masks as numbers ('D:P(A;CI;0xf003f;;;S-1-5-18)...'); None: no key."""
    if acl is None:
        return None
    flags = {CONTAINER_INHERIT_ACE: "CI", 0x1: "OI", 0x4: "NP", 0x8: "IO", INHERITED_ACE: "ID"}
    parts = []
    for ace in acl["aces"]:
        kind = {ACCESS_ALLOWED_ACE_TYPE: "A", 1: "D"}.get(ace["type"], str(ace["type"]))
        ace_flags = "".join(text for bit, text in sorted(flags.items()) if ace["flags"] & bit)
        parts.append("(%s;%s;0x%x;;;%s)" % (kind, ace_flags, ace["mask"], ace["sid"]))
    return "D:%s%s" % ("P" if acl["protected"] else "AI", "".join(parts))


def sid_bytes(sid):
    """A SID string as its binary form (revision, count, 48-bit authority big-endian, sub-authorities
    little-endian: MS-DTYP 2.4.2.2 SID)."""
    parts = [int(p) for p in sid.split("-")[1:]]
    revision, authority, subs = parts[0], parts[1], parts[2:]
    data = [revision, len(subs)] + list(authority.to_bytes(6, "big"))
    for sub in subs:
        data += list(sub.to_bytes(4, "little"))
    return data


def sid_text(data):
    data = bytes(bytearray(data))
    subs = [int.from_bytes(data[8 + 4 * i:12 + 4 * i], "little") for i in range(data[1])]
    return "S-%d-%d%s" % (data[0], int.from_bytes(data[2:8], "big"), "".join("-%d" % s for s in subs))


def embedded_instance(cim_class, properties, types=None):
    """An instance argument for the bridge (host_bridge.ps1 ConvertTo-CimInstanceArgument builds it with
    New-CimInstance -ClientOnly): `types` gives the CIM type of each scalar property, which a client-only
    instance has no schema to take from; dicts made by this function nest."""
    return {"cim_class": cim_class, "properties": properties, "types": types or {}}


def _restricted_descriptor():
    aces = []
    for sid, mask in MARKER_KEY_ACL:
        binary = sid_bytes(sid)
        trustee = embedded_instance("__Trustee", {"SID": binary, "SidLength": len(binary), "SidString": sid},
                                    {"SID": "UInt8Array", "SidLength": "UInt32", "SidString": "String"})
        aces.append(embedded_instance(
            "__ACE", {"AccessMask": mask, "AceFlags": CONTAINER_INHERIT_ACE, "AceType": ACCESS_ALLOWED_ACE_TYPE,
                      "Trustee": trustee}, {"AccessMask": "UInt32", "AceFlags": "UInt32", "AceType": "UInt32"}))
    return embedded_instance("__SecurityDescriptor", {"ControlFlags": SE_DACL_PRESENT | SE_DACL_PROTECTED,
                                                      "DACL": aces}, {"ControlFlags": "UInt32"})


def _secure(step):
    """SYSTEM and Administrators, full control, not inherited: local users can no longer list the markers."""
    step.invoke(wmi.REGISTRY_NAMESPACE, wmi.REGISTRY_CLASS, "SetSecurityDescriptor", name="secure",
                arguments=dict(_reg_args(), Descriptor=_restricted_descriptor()))


# --- registry operations ------------------------------------------------------------------------

def _reg_args():
    return {"hDefKey": wmi.HKEY_LOCAL_MACHINE, "sSubKeyName": MARKER_KEY}


def _pack_name(want, key_pack_id):
    return "pack.%d.%s.%s.%s" % (key_pack_id, want["key_id"], want["macs"][want["key_id"]],
                                 want["number_macs"][want["key_id"]])


def label_name(want, key_pack_id):
    """The label value's name: the declaration's safe label, nothing derived from a number."""
    return "label.%d.%s.%s.%s.%s" % (key_pack_id, want["program"], want["product_version"] or "-",
                                     want["license_type"] or "-", want["count"] or "-")


def _set_name(step, value_name, **kwargs):
    """An empty REG_SZ value named `name`; a marker's name holds a mac, so it is sent as a secret."""
    secret = not value_name.startswith(PLAIN_PREFIXES)
    args = dict(_reg_args(), sValue="")
    if not secret:
        args["sValueName"] = value_name
    return step.invoke(wmi.REGISTRY_NAMESPACE, wmi.REGISTRY_CLASS, "SetStringValue", arguments=args,
                       secret_arguments={"sValueName": value_name} if secret else None, **kwargs)


def _delete_name(step, value_name, **kwargs):
    secret = not value_name.startswith(PLAIN_PREFIXES)
    args = _reg_args()
    if not secret:
        args["sValueName"] = value_name
    return step.invoke(wmi.REGISTRY_NAMESPACE, wmi.REGISTRY_CLASS, "DeleteValue", arguments=args,
                       secret_arguments={"sValueName": value_name} if secret else None, **kwargs)


def _take_lock(step, markers, nonce):
    """Delete every lock read (the first delete is the operation named 'lock'), then write a new one."""
    for i, name in enumerate(markers["locks"]):
        _delete_name(step, name, **({"name": "lock"} if i == 0 else {}))
    _set_name(step, "lock." + (nonce or new_nonce()))


def _install_call(step, want):
    numbers = want["numbers"]
    program = want["program"]
    if program == "retail":
        step.invoke(wmi.CIMV2, wmi.KEY_PACK_CLASS, "InstallRetailPurchaseLicenseKeyPack", name="install",
                    secret_arguments={"sLicenseCode": numbers["license_code"]})
    elif program == "license_key_pack_id":
        step.invoke(wmi.CIMV2, wmi.KEY_PACK_CLASS, "InstallLicenseKeyPack", name="install",
                    secret_arguments={"sLicenseKeyPackId": numbers["key_pack_id"]})
    else:
        common = {"ProductVersion": want["product_version_id"],
                  "ProductType": PRODUCT_TYPE_ARGUMENT[want["license_type"]], "LicenseCount": want["count"]}
        if program == "open_license":
            step.invoke(wmi.CIMV2, wmi.KEY_PACK_CLASS, "InstallOpenLicenseKeyPack", name="install", arguments=common,
                        secret_arguments={"sLicenseNumber": numbers["license_number"],
                                          "sAuthorizationNumber": numbers["authorization_number"]})
        else:
            step.invoke(wmi.CIMV2, wmi.KEY_PACK_CLASS, "InstallAgreementLicenseKeyPack", name="install",
                        arguments=dict(common, AgreementType=AGREEMENT_TYPES[program]),
                        secret_arguments={"sAgreementNumber": numbers["agreement_number"]})


def _install_hint(want, server_version):
    """What to check when Windows refuses the install, the likeliest cause first."""
    version = want["product_version"]
    first = ""
    if version and server_version is None:
        first = ("A license server takes CALs of its own Windows Server version and earlier, and the module could not "
                 "read this server's version: check that it runs Windows Server %s or later. " % version)
    elif version and want["product_version_id"] != PRODUCT_VERSION_ARGUMENT[version]:
        first = ("product_version_id %d was sent for %s CALs instead of %d: check that it is the number Windows "
                 "expects. " % (want["product_version_id"], version, PRODUCT_VERSION_ARGUMENT[version]))

    def hint(result):
        return first + (
            "Installing CALs validates the pack with the Microsoft Clearinghouse over the Internet: check that the "
            "license server can reach it, and that the numbers, product version and license type are those of "
            "the purchase. Without Internet access, get a license key pack ID by web or telephone and use "
            "program: license_key_pack_id.")
    return hint


def _describe(want):
    parts = [want["product_version"], want["license_type"], "%s CALs" % want["count"] if want["count"] else None]
    return ", ".join(p for p in parts if p) or "version, type and count from the code"


def _refuse_newer_version(want, server):
    """Before an install: a license server takes CALs of its own Windows Server version and earlier ([WSD]
    remote/remote-desktop-services/rds-client-access-license.md, "RDS CAL version compatibility", the table of
    license server versions: a 2022 license server takes 2016, 2019 and 2022 CALs, not 2025 ones; the prose
    beside it says the reverse, the table and every other source agree with the rule here)."""
    version = want["product_version"]
    if not (server and version) or VERSION_ORDER.index(version) <= VERSION_ORDER.index(server):
        return
    table = ["2016", "2019", "2022", "2025"]  # the versions the table covers
    accepted = [v for v in table if server in table and table.index(v) <= table.index(server)]
    raise PlanError("%s CALs cannot be installed on this license server: it runs Windows Server %s, and a license "
                    "server takes CALs of its own Windows Server version and earlier (%s; Microsoft's RDS CAL version "
                    "compatibility table). Nothing was changed. Install them on a Windows Server %s license server, "
                    "or declare the product_version of CALs this server takes."
                    % (version, server, "a %s license server takes %s CALs" % (server, " and ".join(
                        [", ".join(accepted[:-1]), accepted[-1]] if len(accepted) > 1 else accepted))
                        if accepted else "the table starts at 2016", version))
