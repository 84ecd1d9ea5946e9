"""A minimal ansible.windows.setup: the facts the collection's playbooks and docs use."""

from __future__ import annotations

from ..model.host import OPERATING_SYSTEMS, Host


def run(host: Host, args: dict) -> dict:
    return {"changed": False, "ansible_facts": _facts(host)}


def _facts(host: Host) -> dict:
    caption, version = OPERATING_SYSTEMS[host.state["os"]][:2]
    domain = host.state.get("domain") or ""
    return {
        "ansible_hostname": host.name.upper(), "ansible_fqdn": f"{host.name}.{domain}" if domain else host.name,
        "ansible_domain": domain, "ansible_windows_domain": domain or "WORKGROUP",
        "ansible_windows_domain_member": bool(domain), "ansible_os_family": "Windows",
        "ansible_system": "Win32NT", "ansible_os_name": caption, "ansible_distribution": caption,
        "ansible_distribution_version": version, "ansible_distribution_major_version": version.split(".")[0],
        "ansible_architecture": "64-bit", "ansible_powershell_version": 5,
        "ansible_os_installation_type": "Server Core" if host.state["installation"] == "core" else "Server",
        "module_setup": True,
    }
