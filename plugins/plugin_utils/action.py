# -*- coding: utf-8 -*-
# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Base class of the collection's action plugins.

FOR INTERNAL COLLECTION USE ONLY.

Subclasses declare ARGUMENT_SPEC and implement run_module(args, task_vars). Arguments are validated
on the controller before anything touches the host; a bridge failure becomes a clear task failure.
"""

from __future__ import annotations

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils.bridge import BridgeError


class LicensingAction(ActionBase):
    _supports_check_mode = True
    _supports_async = False
    TRANSFERS_FILES = False
    ARGUMENT_SPEC = {}

    def run(self, tmp=None, task_vars=None):
        result = super(LicensingAction, self).run(tmp, task_vars)
        del tmp  # unused: nothing is copied to the host
        # Every invalid option is reported before anything touches the host.
        validation = ArgumentSpecValidator(self.ARGUMENT_SPEC).validate(self._task.args)
        if validation.error_messages:
            result.update(failed=True, msg="Invalid options for %s: %s" % (
                self._task.action, "; ".join(validation.error_messages)))
            return result
        args = validation.validated_parameters
        try:
            result.update(self.run_module(args, task_vars or {}))
        except BridgeError as e:
            result.update(failed=True, msg=str(e))
        return result

    def run_module(self, args, task_vars):
        raise NotImplementedError
