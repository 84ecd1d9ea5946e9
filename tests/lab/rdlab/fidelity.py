"""Generate docs/fidelity.md from the lab's code: every modelled class, property and method with its
fidelity status and source, whether the collection uses it, and every known difference from Windows.

    python -m rdlab.fidelity > docs/fidelity.md
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from .model import host, repository, session, unmodelled, windows
from .model.cim import ASSUMED, DOCUMENTED, NOT_MODELLED, OBSERVED
from .schema import SCHEMA, source_text

ROOT = Path(__file__).resolve().parents[3]

# Differences that live outside the CIM model: how the lab as a whole departs from Windows.
KNOWN_DIFFERENCES = [
    ("Host bridge", "The lab executes host_bridge.ps1's operations in Python (rdlab/modules/host_bridge.py mirrors it "
     "function by function); the PowerShell itself never runs here. Its tables (allowlist, read-only methods, "
     "registry keys, services, features, required fields, read-only kinds) are read from the module source that "
     "ansible sends; a tree-sitter test holds the rest of it to the script (tests/lab/tests/test_bridge_agreement.py), "
     "and the differences that remain are listed at the end of rdlab/modules/host_bridge.py."),
    ("WinRM", "HTTP and HTTPS with Basic, and NTLM through Negotiate with message encryption (pyspnego is the "
     "accepting side); Kerberos, CredSSP and certificate authentication are not modelled. A lab started with "
     "--auth ntlm (the default) has Windows's default listener settings, Negotiate only and AllowUnencrypted "
     "false; --auth basic stands for a host set up with Basic on and AllowUnencrypted true."),
    ("WinRM", "With AllowUnencrypted false, Basic over HTTP is answered 401 (what ansible's troubleshooting guide "
     "ties to unencrypted HTTP) and an unencrypted message on an NTLM connection HTTP 500 with a SOAP fault that "
     "names AllowUnencrypted: Windows's exact answer (reports show 500, some 401) and its text are assumed. A "
     "sealed message the lab cannot unseal (another connection's context, a wrong sequence number) is answered "
     "400, also assumed."),
    ("WinRM", "NTLM channel binding tokens (sent over HTTPS) are not checked; Windows's default CbtHardeningLevel, "
     "Relaxed, checks them when the client sends them. The lab's local account is accepted as USER, .\\USER "
     "and HOST\\USER; the NTLM challenge names the machine the lab runs on, not the lab host."),
    ("WinRM", "An unknown shell is answered with fault 0x803381A6 (what makes ansible re-create the shell); "
     "Windows answers 2150858843."),
    ("Security", "The licensing classes answer only to Administrators and root/cimv2/TerminalServices needs "
     "PacketPrivacy on Windows; the lab's single user is an administrator and the namespace has no "
     "authentication level."),
    ("Modules", "Only remote_desktop.licensing.host_bridge, ansible.windows.win_ping and a minimal "
     "ansible.windows.setup are simulated; raw commands, async and file transfer fail with a 'not simulated' "
     "message. become (runas) is simulated: the lab checks the account and password become_wrapper was given "
     "and runs the module in a session that holds them (rdlab/model/session.py); become_flags other than "
     "logon_type are ignored."),
    ("Host bridge", "cim_class (Get-CimClass) is answered from Microsoft's published schema: the class's documented "
     "members, property qualifiers read, write and key only, parameter qualifiers In or Out only; Windows declares "
     "more qualifiers, and possibly members no page documents."),
    ("Privileges", "The lab's account holds every privilege host_bridge.ps1 may enable (SeShutdownPrivilege), so "
     "the preflight's token_privileges check always holds here; on Windows a token without it fails the enabler."),
    ("Time", "Feature installs, activation and CAL installs complete at once; the lab's clock can be moved "
     "(clock_offset_days) to age the grace period and issued CALs."),
    ("Clients", "No RDP client ever connects. `rdlab connect` stands for one: it starts the grace period, asks "
     "the session host's license servers for a CAL as Microsoft describes it (temporary, then permanent Per "
     "Device CALs; Per User CALs from the available or the overused pool), records LicensingGracePeriodEnded "
     "at the first permanent CAL, and says whether the connection would be accepted."),
    ("Reboots", "A restart (Win32ShutdownTracker) drops every connection until the host is back; nothing runs in "
     "the background, so the first WinRM exchange after the restart's time completes it. WinRM shells survive a "
     "restart in the lab; on Windows they do not."),
    ("Clearinghouse", "Activation and CAL installs never reach Microsoft; a retail code or key pack ID stands "
     "for the pack its last three characters name (rdlab.model.licensing.decode_code)."),
    ("Failure codes", "Which WBEM code a licensing method returns for each failure is not documented; the "
     "codes the lab returns are marked ASSUMED below."),
    ("Domain", "There are no domain controllers: IsLSonDC is always false and group membership is a flag in "
     "the host's state."),
]


def _used_names() -> set[str]:
    """Every identifier that appears in the collection's controller code and host module."""
    text = ""
    for path in list((ROOT / "plugins").rglob("*.py")) + list((ROOT / "plugins").rglob("*.ps1")):
        text += path.read_text()
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))


def _with_schema(entry: dict, note: str) -> str:
    """The schema's page and commit, then what the model adds (values, choices, assumptions)."""
    return f"schema: {source_text(entry)}" + (f"; {note}" if note else "")


def _static_note(method) -> str:
    if method.schema["static"] is None:
        return f"static={method.static} ASSUMED (the page does not say)"
    return ""


def _community_note(prop) -> str:
    edits = [v["value"] for v in prop.schema.get("values", []) if v.get("community_edit")]
    if not edits:
        return ""
    commit = next(v["community_edit"]["commit"] for v in prop.schema["values"] if v.get("community_edit"))
    return f"value {', '.join(edits)} only from a community edit of the page, not by Microsoft ({commit[:10]})"


def rows():
    used = _used_names()
    for cls in sorted(repository.REPOSITORY.classes.values(), key=lambda c: (c.namespace, c.name)):
        where = f"`{cls.namespace}` `{cls.name}`"
        yield (where, "class", cls.status, _with_schema(cls.schema, cls.source + (f". {cls.notes}" if cls.notes else "")),
               cls.name in used)
        for prop in cls.properties:
            note = "; ".join(n for n in (prop.source, _community_note(prop)) if n)
            yield (where, f"property `{prop.name}` ({prop.cim_type})", prop.status, _with_schema(prop.schema, note),
                   prop.name in used)
        for method in cls.methods:
            params = ", ".join(f"{p.direction} {p.cim_type} {p.name}" for p in method.params)
            kind = "static method" if method.static else "method"
            note = "; ".join(n for n in (method.source, _static_note(method)) if n)
            status = ASSUMED if method.schema["static"] is None and method.status == DOCUMENTED else method.status
            yield (where, f"{kind} `{method.name}({params})`", status, _with_schema(method.schema, note),
                   method.name in used)
    for cls, names, why in unmodelled.NOT_MODELLED:
        yield (f"`{cls}`", ", ".join(names), NOT_MODELLED, why + unmodelled.answer(cls, names), False)
    for area, what, status, source in host.FIDELITY + windows.FIDELITY_NOTES + repository.NOTES + session.FIDELITY:
        yield (area, what, status, source, True)


def render() -> str:
    lines = [
        "# Fidelity of the simulated Windows lab",
        "",
        "Generated from the lab's code by `python -m rdlab.fidelity` (tests/lab); a test fails when this file is",
        "out of date. Statuses: **" + "**, **".join([DOCUMENTED, OBSERVED, ASSUMED, NOT_MODELLED]) + "**.",
        "Sources: [W32] Microsoft's Win32 Terminal Services WMI reference; [W32 wmi] the Win32 provider "
        "reference; [WSD] Windows Server docs; [OBS] output seen on real servers; [JAG] a Microsoft support "
        "engineer's scripts. Details in [sources.md](sources.md).",
        "",
        "## Known differences from Windows",
        "",
    ]
    lines += [f"- **{area}.** {text}" for area, text in KNOWN_DIFFERENCES]
    lines += _real_hosts()
    lines += ["", "## Microsoft's schema", "",
              "Every class, property, method and parameter name and type below is Microsoft's, from "
              "`tests/lab/rdlab/schema/cim_schema.json`, which `make schema` (tools/extract-cim-schema.py) extracts "
              "from:", ""]
    lines += [f"- {s['repository']} at commit `{s['commit']}`" for s in SCHEMA.sources]
    lines += ["", "The lab refuses to load a model that declares a name or type the schema does not have in exactly "
              "that spelling, and fails a command whose model returns or reads one. Where the sources disagree:", "",
              "| class | member | sources | choice |", "|---|---|---|---|"]
    for d in SCHEMA.disagreements:
        says = "; ".join(f"{x['path']}: {_said(x['says'])}" for x in d["sources"])
        lines.append(f"| {d['class']} | {d['member']} | {says.replace('|', '/')} | {d['choice'].replace('|', '/')} |")
    lines += ["", "## Classes, properties and methods", "",
              "'Used' means the name appears in the collection's code (plugins/).", "",
              "| where | what | status | source and notes | used |",
              "|---|---|---|---|---|"]
    for where, what, status, source, used in rows():
        lines.append(f"| {where} | {what} | {status} | {source.replace('|', '/')} | {'yes' if used else 'no'} |")
    return "\n".join(lines) + "\n"


OBSERVATIONS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "observations"


def _real_hosts() -> list[str]:
    """How a real host's answers come back to the lab: the preflight's observation files, replayed."""
    lines = ["", "## Real hosts against the lab", "",
             "On a real host, run the read-only preflight: `ansible-playbook -i inventory "
             "remote_desktop.licensing.preflight -e preflight_dir=DIR -e preflight_anonymize=true`. It changes "
             "nothing, writes one JSON observation file per host (no secrets, no license server ID, host names "
             "replaced) and prints every assumption that did not hold ([troubleshooting.md](troubleshooting.md)). "
             "Attach the files to an issue. Each file, with a `source` saying where it came from, goes to "
             "tests/lab/tests/fixtures/observations/; tests/unit/plugins/action/test_observation_replay.py seeds a "
             "lab host as the file says, runs the same reads and fails on any difference, so a real host's answer "
             "becomes a regression test of this model. The observations replayed now:", ""]
    for path in sorted(OBSERVATIONS.glob("*.json")):
        lines.append(f"- `{path.name}`: {json.loads(path.read_text())['source']}")
    return lines


def _said(value) -> str:
    if isinstance(value, list):
        return ", ".join(f"{v['value']} {v.get('label') or v.get('description', '')}".strip() for v in value)
    return str(value)


if __name__ == "__main__":
    print(render(), end="")
