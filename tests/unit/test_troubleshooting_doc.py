"""docs/troubleshooting.md's table of connection and authentication failures says what the code says (issue 12,
"Done when"): every message the collection gives for an UNREACHABLE host has a row, and every row is a message."""

import re
from pathlib import Path

from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _bridge as bridge

ROOT = Path(__file__).resolve().parents[2]
SECTION = "## The host is UNREACHABLE: connection and authentication failures"
# The doc's placeholders, and the values the messages below are made with.
PLACEHOLDERS = {"HOST": "win1 (10.0.0.9)", "USER": "Administrator", "N": "5986", "S": "30"}
WHERE = ("win1 (10.0.0.9)", "5986", "https", "Administrator")


def rows():
    text = (ROOT / "docs" / "troubleshooting.md").read_text()
    assert SECTION in text
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    starts = re.findall(r"^\| `([^`]+)` \|", section, re.M)
    assert starts
    return [_filled(start) for start in starts]


def _filled(start):
    for name, value in PLACEHOLDERS.items():
        start = re.sub(r"\b%s\b" % name, value, start)
    return start.rstrip(".").rsplit(": ...", 1)[0]


def messages():
    """Every message the bridge gives for an UNREACHABLE host, made with WHERE."""
    made = {reason: bridge._describe(WHERE, reason, "(read timeout=30)")
            for reason in ("authentication", "refused", "timeout", "tls", "unencrypted", "dropped", "other")}
    made["certificate"] = bridge._describe(WHERE, "tls", "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    made["dropped twice"] = bridge._dropped_twice(WHERE[:3], "('Connection aborted.', ...)")
    # The message of a batch that changes things, when the connection drops (written out in bridge.run).
    source = (ROOT / "plugins" / "plugin_utils" / "_bridge.py").read_text()
    found = re.search(r'"(The connection to %s dropped while changes were being applied)', source)
    made["dropped applying"] = found.group(1) % WHERE[0]
    return made


def test_every_unreachable_message_has_a_row_in_troubleshooting():
    starts = rows()
    missing = {reason: message for reason, message in messages().items()
               if not any(message.startswith(start) for start in starts)}
    assert missing == {}


def test_every_row_is_a_message_the_collection_gives():
    made = list(messages().values())
    assert [start for start in rows() if not any(m.startswith(start) for m in made)] == []
