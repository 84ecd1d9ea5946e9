"""cal_pack's documentation says what the planner does (issue 12, items 10 and 11): the accepted length of an
agreement number is the same in ansible-doc, docs/cal_packs.md and the planner's check, and the description
opens with what a user needs, the marker design later."""

import re
from pathlib import Path

import yaml

from ansible_collections.remote_desktop.licensing.plugins.modules import cal_pack as module_doc
from ansible_collections.remote_desktop.licensing.plugins.plugin_utils import _cal_pack as cal_pack

ROOT = Path(__file__).resolve().parents[4]
DOC = yaml.safe_load(module_doc.DOCUMENTATION)
GUIDE = (ROOT / "docs" / "cal_packs.md").read_text()
LENGTH = re.compile(r"(\d+) to (\d+) digits")


def accepted_lengths(text):
    return {tuple(int(n) for n in found) for found in LENGTH.findall(" ".join(text.split()))}


def test_agreement_number_length_is_the_same_in_the_module_doc_the_guide_and_the_check():
    pattern = cal_pack.NUMBER_FORMATS["agreement_number"][0].pattern
    checked = tuple(int(n) for n in re.search(r"\{(\d+),(\d+)\}", pattern).groups())
    documented = " ".join(DOC["options"]["agreement_number"]["description"])
    assert accepted_lengths(documented) == {checked}
    assert accepted_lengths(GUIDE) == {checked}
    message = cal_pack.NUMBER_FORMATS["agreement_number"][1]
    assert "%d to %d" % checked in message


def test_the_description_opens_with_what_a_user_needs():
    first = DOC["description"][0]
    assert first.startswith("Installs a pack of Remote Desktop client access licenses (CALs)")
    opening = " ".join(DOC["description"][:3])
    for design_word in ("HMAC", "PBKDF2", "registry", "HKLM"):
        assert design_word not in opening
    assert any("HMAC" in note for note in DOC["notes"])  # the design is in the notes
