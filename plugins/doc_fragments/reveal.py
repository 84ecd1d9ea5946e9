# -*- coding: utf-8 -*-
# Copyright: (c) 2026, remote_desktop.licensing contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reveal_license_server_id option (plugin_utils/_plan.py REVEAL_OPTIONS)."""

from __future__ import annotations


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  reveal_license_server_id:
    description:
      - Return the license server ID of an activated license server.
      - The ID identifies the server to the Microsoft Clearinghouse, so it is not returned, nor read from the
        host, unless asked for.
    type: bool
    default: false
"""
