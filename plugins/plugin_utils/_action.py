# -*- coding: utf-8 -*-
# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# FOR INTERNAL COLLECTION USE ONLY
# The interfaces in this file serve this collection's own plugins; they may change in any release,
# even a bugfix release. Do not import them from other collections or playbooks.
"""Base class of the collection's action plugins: the life of a task, written once.

A subclass names its planner (PLANNER, the interface is in _plan.py) and implements
run_module(want, task_vars). The base class validates the task's arguments against the planner's
ARGUMENT_SPEC and its validate() before anything touches the host, keeps the task's result across
round trips (begin, record), reads the host (read: one round trip, the first one also gives
`self.before`), and applies a phase with its verification reads in one round trip (apply).
Validation (ValueError), planning (PlanError), bridge and timeout failures become a task failure with
a clear message, never a traceback; a connection failure (bridge.HostUnreachable) makes the task
UNREACHABLE, with what failed in words.
"""

from __future__ import annotations

import re

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _bridge as bridge
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _info as info
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _lifecycle as lifecycle
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._lifecycle import HostTimeout
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils._plan import RESTART, Plan, PlanError


class TaskFailed(Exception):
    """Fail the task with this message; `result` holds what is known so far (plan, diff)."""

    def __init__(self, message, result=None, step=None):
        super(TaskFailed, self).__init__(message)
        self.result = result or {}
        self.step = step  # the plan's step whose operation failed, when a plan's step failed


class LicensingAction(ActionBase):
    _supports_check_mode = True
    _supports_async = False
    TRANSFERS_FILES = False
    PLANNER = None  # the module's planner (plugin_utils/_<module>.py)
    reveal = False  # return the license server ID in reports (it is never in diffs)
    applied = False  # whether this task has changed the host so far

    def run(self, tmp=None, task_vars=None):
        result = super(LicensingAction, self).run(tmp, task_vars)
        del tmp  # unused: nothing is copied to the host
        validation, errors = _validate(self.PLANNER.ARGUMENT_SPEC, self._task.args)
        if errors:
            result.update(failed=True, msg="Invalid options for %s: %s" % (self._task.action, "; ".join(errors)))
            return result
        self.result = {}
        try:
            want = self.PLANNER.validate(validation.validated_parameters)
            self.reveal = bool(want.get("reveal_license_server_id"))
            self.begin()
            result.update(self.run_module(want, task_vars or {}))
        except ValueError as e:
            result.update(failed=True, msg="Invalid options for %s: %s" % (self._task.action, e))
        except TaskFailed as e:
            result.update(e.result)
            result.update(failed=True, msg=str(e))
        except bridge.HostUnreachable as e:
            # UNREACHABLE, not FAILED, as ansible reports any connection failure: the recap counts it,
            # ignore_unreachable applies, and the report shows host_unreachable.
            result.update(self.result, unreachable=True, msg=str(e), connection_error=e.detail, changed=self.applied)
        except (PlanError, HostTimeout, bridge.BridgeError) as e:
            result.update(self.result, failed=True, msg=str(e), changed=self.applied)
        self.speak_role_variables(result)
        if not self._task.diff:
            result.pop("diff", None)  # before and after only in diff mode, as ansible's modules do
        if result.get("warnings") == []:
            del result["warnings"]
        elif result.get("warnings"):
            result["warnings"] = name_host(result["warnings"], (task_vars or {}).get("inventory_hostname"))
        return result

    def run_module(self, want, task_vars):
        raise NotImplementedError

    def speak_role_variables(self, result):
        """Run by one of the collection's roles, the messages name the role variable the user set
        (license_server_first_name), not the module option the role passes it to (contact.first_name)."""
        role = getattr(self._task, "_role", None)
        key = (self._task.action.split(".")[-1], role and role.get_name(False))
        names = ROLE_VARIABLES.get(key)
        # Only the collection's own roles: a role of the same name elsewhere (an ansible-test target is one)
        # passes its own variables.
        if role is None or names is None or role._role_collection != COLLECTION:
            return
        variables, anywhere = ROLE_VARIABLE_NAMES.get(key, (None, ()))
        for field in ("msg", "warnings"):
            if result.get(field):
                result[field] = role_words(result[field], role.get_name(False), names, variables, anywhere)

    def connection_facts(self):
        """How the task reaches the host, for the second hop: the WinRM transport (winrm's `transport`, psrp's
        `auth`), Kerberos delegation, become and its method. No credentials, no user names."""
        transport = self._connection_option("transport", "auth")
        if isinstance(transport, list):
            transport = ", ".join(str(t) for t in transport)
        play = self._play_context
        # winrm's kerberos_delegation, psrp's negotiate_delegate
        delegation = self._connection_option("kerberos_delegation", "negotiate_delegate")
        return {"transport": transport, "kerberos_delegation": bool(delegation),
                "become": bool(play.become), "become_method": play.become_method if play.become else None,
                "become_user": play.become_user}

    def _connection_option(self, *names):
        """The first of these options the connection plugin has, else None."""
        for option in names:
            try:
                return self._connection.get_option(option)
            except Exception:  # an option this connection plugin does not have
                continue
        return None

    # --- the task's result, built up across round trips --------------------------------------
    def begin(self, **fields):
        """self.plan holds every phase's steps, self.result what is reported; self.before is the
        view of the host as the task found it (set by the first read)."""
        self.plan = Plan()
        self.result = dict({"changed": False, "plan": [], "warnings": []}, **fields)
        self.before = None

    def record(self, plan):
        """Add a phase's plan to the task's plan and result."""
        self.plan.extend(plan)
        self.result["plan"] += plan.report()
        self.result["warnings"].extend(plan.warnings)
        self.result["changed"] = self.result["changed"] or plan.changed
        return plan

    def verify(self, expected, actual):
        """Fail when what the host reads back after a change differs from what the plan predicted."""
        wrong = sorted(k for k in expected if expected[k] != actual.get(k))
        if wrong:
            raise TaskFailed("The changes were applied but the host reads back differently: %s" % "; ".join(
                "%s is %r, expected %r" % (k, actual.get(k), expected[k]) for k in wrong),
                dict(self.result, changed=True))

    def handle_restart(self, results, want, task_vars):
        """After a feature install or removal: reboot when Windows asks and the task allows it, else say so."""
        if not restart_needed(results):
            return
        if want["reboot"]:
            self.result["elapsed"] = int(lifecycle.reboot(self, task_vars, want["reboot_timeout"]))
            self.result["rebooted"] = True
        else:
            self.result["reboot_required"] = True

    def apply_role(self, task_vars, role, want, verify=None):
        """The role phase: its feature steps in one round trip (with `verify`), then the restart Windows asks
        for (when reboot is allowed) or the plan's RESTART step asks for. Returns the round trip's results,
        None when the phase is only a restart."""
        features = Plan()
        features.steps = [step for step in role.steps if step.action != RESTART]
        results = None
        if features.steps:
            results = self.apply(task_vars, features, verify)
            self.handle_restart(results, want, task_vars)
        if len(features.steps) < len(role.steps) and not self.result.get("rebooted"):
            lifecycle.reboot(self, task_vars, want["reboot_timeout"])
            self.result["rebooted"] = True
        return results

    # --- round trips -------------------------------------------------------------------------
    def read_batch(self, want, **read_args):
        """The licensing_info reads plus the planner's own."""
        return self.PLANNER.read_ops(info.read_batch(self.reveal), want, **read_args)

    def observe(self, want, results):
        have = info.parse(results, reveal_license_server_id=self.reveal)
        return self.PLANNER.observe(want, have, results)

    def read(self, task_vars, want, **read_args):
        """One round trip: the host as the planner sees it. The first read of a task gives self.before."""
        results = bridge.run(self, task_vars, self.read_batch(want, **read_args))
        have = self.observe(want, results)
        if self.before is None:
            self.before = self.PLANNER.view(have)
        return have, results

    def apply(self, task_vars, plan, verify=None, observe=None):
        """Send the plan's operations, then the verification reads, in one round trip. A failed
        operation fails the task with everything reported so far; `observe`, given, is called with the
        results first, so that the result can say what was done before the failure."""
        results = bridge.run(self, task_vars, plan.batch(verify), stop_on_error=True)
        self.applied = self.applied or plan.applied_any(results)
        if observe is not None:
            observe(results)
        failure = plan.failure(results)
        if failure:
            raise TaskFailed(failure, dict(self.result, changed=self.applied), plan.failed_step(results)[0])
        return results

    def apply_and_read(self, task_vars, plan, want, **read_args):
        """Apply a phase and read the host back in the same round trip; returns (have, results)."""
        results = self.apply(task_vars, plan, self.read_batch(want, **read_args))
        return self.observe(want, results), results


COLLECTION = "remote_desktop.licensing"
# The options each role passes from a variable named <role>_<option's last part>, by (module, role).
# tests/unit/roles holds every one of them to the role's meta/argument_specs.yml.
_CONTACT = tuple("contact." + f for f in ("first_name", "last_name", "company", "country_region", "email", "org_unit",
                                          "address", "city", "state_or_province", "postal_code"))
_REBOOT = ("reboot", "reboot_timeout")
ROLE_VARIABLES = {
    ("license_server", "license_server"): ("state", "include_management_tools", "activation", "activation_method",
                                           "license_server_id", "reactivation_reason", "scope", "publish_in_ad",
                                           "ad_group_membership", "ready_timeout", "activation_retries",
                                           "activation_retry_delay") + _CONTACT + _REBOOT,
    ("session_host", "session_host"): ("mode", "license_servers", "method", "install_role", "check_connectivity",
                                       "min_grace_days") + _REBOOT,
    # A pack's options are the keys of a license_server_cal_packs item, or the survey's license_server_cal_*
    # variables: messages name the survey variable (ROLE_VARIABLE_NAMES), the role's failure report names the item.
    ("cal_pack", "license_server"): ("program", "license_code", "license_number", "authorization_number",
                                     "agreement_number", "key_pack_id", "product_version", "license_type", "count",
                                     "state", "marker_key", "previous_marker_keys"),
}
# Where a role variable is not <role>_<option>: (option -> variable, one-word options renamed anywhere).
ROLE_VARIABLE_NAMES = {
    ("cal_pack", "license_server"): (dict(
        [(o, "license_server_cal_" + o) for o in ROLE_VARIABLES[("cal_pack", "license_server")][:10]]
        + [("marker_key", "license_server_cal_pack_marker_key"),
           ("previous_marker_keys", "license_server_cal_pack_previous_marker_keys")]), ("count",)),
}


def role_words(text, role, options, variables=None, anywhere=()):
    """`text` (a message or a list of them) with each option named as the role variable that sets it
    (<role>_<option's last part>, or `variables[option]`). A one-word option is renamed only as "option: value"
    ("scope: domain"), never as a plain word, unless it is in `anywhere`; the value after "option: " is never
    renamed (activation_method: license_server_id)."""
    if isinstance(text, list):
        return [role_words(t, role, options, variables, anywhere) for t in text]
    named = sorted((o for o in options if "_" in o or "." in o or o in anywhere), key=len, reverse=True)
    words = [o for o in options if o not in named]
    anywhere = "|".join(re.escape(o) for o in named) or "(?!)"
    before_a_value = "|".join(re.escape(o) for o in words) or "(?!)"
    pattern = r"(?<![\w.])(?:(%s)(?!\w)|(%s)(?=: ))" % (anywhere, before_a_value)
    value_of = re.compile(r"(?:%s): $" % "|".join(re.escape(o) for o in options))

    def rename(match):
        if value_of.search(text, 0, match.start()):
            return match.group(0)  # a value, as in activation_method: license_server_id
        option = match.group(1) or match.group(2)
        return (variables or {}).get(option) or "%s_%s" % (role, option.split(".")[-1])
    return re.sub(pattern, rename, text)


def name_host(warnings, host):
    """Each warning begins with the host's inventory name: ansible shows a warning once for all the hosts that
    give the same text, and without a name nobody could tell which host it is about."""
    if not host:
        return list(warnings)
    prefix = "%s: " % host
    return [w if w.startswith(prefix) else prefix + w for w in warnings]


def restart_needed(results):
    """Install- and Uninstall-WindowsFeature say Yes, No or Maybe; Maybe is treated as Yes."""
    return any(r.raw.get("restart_needed") in ("Yes", "Maybe") for r in results
               if r.operation.get("kind") in ("feature_install", "feature_uninstall"))


def _validate(spec, args):
    """(validation, error messages). ansible-core's validator itself raises on some values, for example
    OverflowError for an int option given 'inf' (module_utils/common/validation.py check_type_int):
    find the option that makes it raise, and name it."""
    errors = _suboption_errors(spec, args)
    if errors:
        return None, errors
    try:
        validation = ArgumentSpecValidator(spec).validate(args)
    except (TypeError, ValueError, OverflowError):
        for name in spec:
            try:
                ArgumentSpecValidator({name: spec[name]}).validate({name: args.get(name)} if name in args else {})
            except (TypeError, ValueError, OverflowError) as e:
                return None, ["argument '%s' could not be converted to %s: %s" % (name, spec[name].get("type"), e)]
        raise
    return validation, validation.error_messages


def _suboption_errors(spec, args):
    """ansible-core's validator raises TypeError for a dict option with suboptions given, say, a bool
    (module_utils/common/parameters.py set_fallbacks): name the option instead."""
    errors = []
    for name, option in spec.items():
        value = args.get(name)
        if option.get("options") and value is not None and not isinstance(value, (dict, str)):
            errors.append("argument '%s' is of type %s and we were unable to convert to dict"
                          % (name, type(value).__name__))
    return errors
