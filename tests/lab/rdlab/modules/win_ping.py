"""ansible.windows.win_ping, as the lab answers it."""

from __future__ import annotations


def run(host, args: dict) -> dict:
    data = args.get("data", "pong")
    if data == "crash":  # win_ping's documented way to test a failure
        return {"failed": True, "msg": "boom", "changed": False}
    return {"changed": False, "ping": data}
