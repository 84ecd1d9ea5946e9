# -*- coding: utf-8 -*-
# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reboot options of the modules that install Windows features (plugin_utils/_plan.py REBOOT_OPTIONS)."""

from __future__ import annotations


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  reboot:
    description:
      - Reboot the host when Windows says the role install or removal needs a restart, wait for it to come
        back, then go on with the task.
      - Without it, RV(reboot_required) tells whether a restart is pending, and the task stops where the
        restart is needed.
      - The reboot is C(Win32_OperatingSystem.Win32ShutdownTracker), called with the C(SeShutdownPrivilege)
        privilege enabled for the call, as C(Restart-Computer) does. When Windows answers that a restart is
        already in progress or scheduled (1115, 1190), the task waits for that one and warns. While the host is
        down the connection timeout is lowered to 5 seconds (where the connection has C(connection_timeout),
        as ansible's winrm and psrp connections do); after the new boot time the task also waits until the
        host answers a licensing read. C(-vv) shows each phase.
    type: bool
    default: false
  reboot_timeout:
    description:
      - Seconds to wait for the host to come back from a reboot and answer again, both phases together.
    type: int
    default: 600
"""
