"""rdlab: run a simulated Windows lab of RD Licensing hosts on loopback.

    python -m rdlab start --dir lab-state --host ls1:license_server --host sh1:session_host:os=2019
    python -m rdlab show --dir lab-state sh1
    python -m rdlab fault set --dir lab-state ls1 activation_unreachable
    python -m rdlab stop --dir lab-state

See docs/lab.md for every command.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import yaml  # PyYAML: ansible-core's own dependency, so wherever ansible runs

from .fleet import FAULTS, Fleet, write_private
from .model.cim import LabStateError
from .model.host import new_host_state
from .model.licensing import OS_ORDER, issue_licenses
from .model.terminal_services import accept_connection
from .model.usage_report import use_per_user

DEFAULT_USER = "Administrator"


def parse_host_spec(spec: str) -> dict:
    """NAME[:ROLE[+ROLE]][:os=2022][:domain=corp.example.com][:installation=core][:address=127.0.0.2]
    [:groups=GROUP[+GROUP]][:delegation=true]: the inventory groups, when they are not those of the installed
    roles; delegation, a listener whose sessions hold the caller's credentials (CredSSP's or Kerberos
    delegation's stand-in)."""
    name, *parts = spec.split(":")
    if not name or not name.replace("-", "").isalnum():
        raise argparse.ArgumentTypeError(f"host name must be letters, digits and '-', got {name!r}")
    host = {"name": name, "roles": [], "os": "2022", "installation": "desktop", "domain": None,
            "address": "127.0.0.1"}
    for part in parts:
        if "=" in part:
            key, value = part.split("=", 1)
            if key not in ("os", "domain", "installation", "address", "groups", "delegation"):
                raise argparse.ArgumentTypeError(f"unknown host option {key!r} in {spec!r}")
            if key == "delegation" and value not in ("true", "false"):
                raise argparse.ArgumentTypeError(f"delegation must be true or false, got {value!r} in {spec!r}")
            host[key] = value == "true" if key == "delegation" else value
        elif part and part != "none":
            host["roles"] += part.split("+")
    try:
        new_host_state(name, host["os"], host["installation"], host["domain"], tuple(host["roles"]))
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"{spec}: {e}") from None
    return host


def create_lab(directory: Path, hosts: list[dict], scheme: str, auth: str = "ntlm", become: bool = True) -> None:
    """Write lab.json and a fresh state for each host (an existing lab is kept unless reset)."""
    make_private_dir(directory)
    (directory / "hosts").mkdir(parents=True, exist_ok=True)
    config = {"scheme": scheme, "auth": auth, "become": become, "username": DEFAULT_USER, "password": secrets.token_urlsafe(12) + "-Aa1",
              "hosts": [{**h, "port": 0} for h in hosts]}
    write_private(directory / "lab.json", json.dumps(config, indent=2))
    for h in hosts:
        reset_host(directory, h)


def make_private_dir(directory: Path) -> None:
    """The state directory is its owner's only: it holds the lab's password, license server IDs and CAL pack
    markers, and the lab may run on a machine shared with others (an existing one is tightened)."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(directory, 0o700)


def reset_host(directory: Path, spec: dict) -> None:
    state = new_host_state(spec["name"], spec["os"], spec["installation"], spec["domain"], tuple(spec["roles"]))
    write_private(directory / "hosts" / f"{spec['name']}.json", json.dumps(state, indent=2, sort_keys=True))


def _inventory_groups(spec: dict) -> list[str]:
    """The host's inventory groups: as given, else from its installed roles."""
    if spec.get("groups"):
        return spec["groups"].split("+")
    groups = [g for role, g in (("license_server", "license_servers"), ("session_host", "session_hosts"))
              if role in spec["roles"]]
    return groups or ["other_hosts"]


def _auth(config: dict) -> str:
    # Labs created before --auth existed used Basic.
    return config.get("auth", "basic")


def _connection_vars(directory: Path, config: dict) -> dict:
    """How ansible reaches the lab: NTLM with message encryption over HTTP (or Basic, unencrypted,
    where a test needs it); over HTTPS, the lab's certificate is validated."""
    lab_vars = {"ansible_connection": "winrm", "ansible_winrm_scheme": config["scheme"],
                "ansible_user": config["username"], "ansible_password": config["password"]}
    if _auth(config) == "ntlm":
        # auto: encrypted over HTTP, left to TLS over HTTPS.
        lab_vars.update(ansible_winrm_transport="ntlm", ansible_winrm_message_encryption="auto")
    else:
        lab_vars.update(ansible_winrm_transport="basic",
                        ansible_winrm_message_encryption="never" if config["scheme"] == "http" else "auto")
    if config["scheme"] == "https":
        from .winrm.tls import CERT_NAME
        lab_vars.update(ansible_winrm_server_cert_validation="validate",
                        ansible_winrm_ca_trust_path=str(directory / "tls" / CERT_NAME))
    return lab_vars


def _become_vars(config: dict) -> dict:
    """As docs/troubleshooting.md tells users to reach a domain controller from the license server (the second
    hop): become with runas as the same account, its password the connection's. On the windows group, not on
    all: tasks delegated to the controller (the report's files) must not become with runas."""
    if not config.get("become", True):
        return {}
    return {"ansible_become": True, "ansible_become_method": "runas", "ansible_become_user": "{{ ansible_user }}",
            "ansible_become_password": "{{ ansible_password }}"}


def write_inventory(directory: Path) -> Path:
    config = json.loads((directory / "lab.json").read_text())
    groups = {"license_servers": {}, "session_hosts": {}, "other_hosts": {}}
    for h in config["hosts"]:
        for group in _inventory_groups(h):
            groups.setdefault(group, {})[h["name"]] = {}
        groups[_inventory_groups(h)[0]][h["name"]] = {"ansible_host": h["address"], "ansible_port": h["port"]}
    lab_vars = _connection_vars(directory, config)
    windows = {"children": {g: {"hosts": hs} for g, hs in groups.items() if hs}}
    if _become_vars(config):
        windows = {"vars": _become_vars(config), **windows}
    inventory = {"all": {"vars": lab_vars, "children": {"windows": windows}}}
    path = directory / "inventory" / "hosts.yml"
    path.parent.mkdir(exist_ok=True)
    path.write_text("# Written by rdlab: the simulated Windows lab's hosts.\n"
                    + yaml.safe_dump(inventory, default_flow_style=False, sort_keys=False))
    os.chmod(path, 0o600)
    return path


# --- serving -----------------------------------------------------------------------------------

def serve(directory: Path) -> None:
    """Run every host's WinRM server in this process until SIGTERM."""
    from .winrm.server import WinRMServer
    from .winrm.tls import ensure_certificate, server_context

    os.umask(0o077)  # whatever the lab writes from here on (logs, transcript, states) is its owner's only
    fleet = Fleet(directory)
    config = fleet.config
    context = None
    if config["scheme"] == "https":
        # The certificate names every host's address, so validating it works for each ansible_host.
        context = server_context(*ensure_certificate(directory / "tls", [h["address"] for h in config["hosts"]]))
    servers = []
    for h in config["hosts"]:
        server = _bind(h, fleet, config, context, WinRMServer)
        h["port"] = server.port
        servers.append(server)
    write_private(directory / "lab.json", json.dumps(config, indent=2))
    write_inventory(directory)
    (directory / "ready").write_text(str(os.getpid()))
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    try:
        while not stop:
            time.sleep(0.2)
    finally:
        for server in servers:
            server.stop()
        (directory / "ready").unlink(missing_ok=True)


def _bind(h, fleet, config, context, server_class):
    """Keep the host's port across restarts when it is free; otherwise take a new one."""
    for port in ([h["port"], 0] if h["port"] else [0]):
        try:
            # A Basic lab is a host set up for Basic over HTTP: Basic on, AllowUnencrypted true. An NTLM
            # lab has Windows's defaults: Negotiate only, unencrypted HTTP refused.
            server = server_class(h["name"], fleet, address=h["address"], port=port, username=config["username"],
                                  password=config["password"], tls_context=context, auth=(_auth(config),),
                                  allow_unencrypted=_auth(config) == "basic", delegation=bool(h.get("delegation")))
            server.start()
            return server
        except OSError:
            continue
    raise SystemExit(f"could not bind a port for {h['name']} on {h['address']}")


def start(directory: Path, hosts: list[dict], scheme: str, auth: str, reset: bool, become: bool = True) -> int:
    if _running_pid(directory):
        print(f"a lab is already running from {directory} (pid {_running_pid(directory)})", file=sys.stderr)
        return 1
    if directory.exists():
        make_private_dir(directory)
    if hosts and (reset or not (directory / "lab.json").exists()):
        create_lab(directory, hosts, scheme, auth, become)
    elif not (directory / "lab.json").exists():
        print("no lab here yet: give at least one --host", file=sys.stderr)
        return 2
    (directory / "ready").unlink(missing_ok=True)
    log = os.fdopen(os.open(directory / "lab.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "ab")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    process = subprocess.Popen([sys.executable, "-m", "rdlab", "serve", "--dir", str(directory)],
                               stdout=log, stderr=log, stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    (directory / "lab.pid").write_text(str(process.pid))
    for attempt in range(150):  # noqa: B007 - 15 s
        if (directory / "ready").exists():
            print(f"lab running (pid {process.pid}); inventory: {directory / 'inventory' / 'hosts.yml'}")
            return 0
        if process.poll() is not None:
            break
        time.sleep(0.1)
    print(f"the lab did not start; see {directory / 'lab.log'}", file=sys.stderr)
    return 1


def _running_pid(directory: Path) -> int | None:
    """The PID in lab.pid if that process is this lab's server; None otherwise. lab.pid may be stale (the
    PID reused by another process) or written by someone else: never trust it without looking."""
    try:
        pid = int((directory / "lab.pid").read_text())
    except (OSError, ValueError):
        return None
    return pid if _is_lab_server(pid, directory) else None


def _is_lab_server(pid: int, directory: Path) -> bool:
    """Whether `pid` runs `python -m rdlab serve --dir <directory>` as this user (Linux /proc)."""
    try:
        arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        owner = os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return False
    words = [a.decode("utf-8", "replace") for a in arguments if a]
    if owner != os.getuid() or words[1:4] != ["-m", "rdlab", "serve"] or "--dir" not in words:
        return False
    given = words[words.index("--dir") + 1] if words.index("--dir") + 1 < len(words) else ""
    return Path(given).resolve() == directory.resolve()


def stop(directory: Path) -> int:
    pid = _running_pid(directory)
    if pid is None:
        if (directory / "lab.pid").exists():
            print(f"{directory / 'lab.pid'} does not name this lab's server: nothing signalled")
            (directory / "lab.pid").unlink(missing_ok=True)
        else:
            print("no lab running")
        return 0
    os.kill(pid, signal.SIGTERM)
    for attempt in range(100):  # noqa: B007 - 5 s
        if _running_pid(directory) is None or not (directory / "ready").exists():
            break
        time.sleep(0.05)
    (directory / "lab.pid").unlink(missing_ok=True)
    print(f"lab stopped (pid {pid})")
    return 0


# --- state and faults --------------------------------------------------------------------------

def deep_merge(base: dict, update: dict) -> dict:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            deep_merge(base[key], value)
        else:
            base[key] = value
    return base


def set_fault(fleet: Fleet, host: str, name: str, args) -> None:
    value = {"activation_unreachable": True, "activation_flaky": {"count": args.count}, "slow": args.seconds,
             "cim_fail": {"class": args.cim_class or "*", "method": args.method or "*", "count": args.count,
                          "code": int(args.code, 0) if args.code else 0x80041001},
             "drop_connection": {"count": args.count}}[name]
    with fleet.host(host) as model:
        model.state.setdefault("faults", {})[name] = value


def _issue(fleet: Fleet, args) -> int:
    try:
        with fleet.host(args.host) as model:
            rows = issue_licenses(model, args.key_pack, args.count, args.status, args.computer, args.days)
    except LabStateError as e:
        print(e, file=sys.stderr)
        return 2
    print(json.dumps(rows, indent=2, sort_keys=True))
    return 0


def _connect(fleet: Fleet, args) -> int:
    """A client connects to a session host; its license servers are opened for writing as it asks them."""
    try:
        with ExitStack() as stack:
            session_host = stack.enter_context(fleet.host(args.host))
            opened = {args.host.lower(): session_host}

            def resolve(server_name):
                short = server_name.split(".")[0].lower()
                if short not in opened:
                    name = next((n for n in fleet.host_names() if n.lower() == short), None)
                    if name is None:
                        return None
                    opened[short] = stack.enter_context(fleet.host(name))
                return opened[short]

            outcome = accept_connection(session_host, args.computer, args.user, resolve)
    except LabStateError as e:
        print(e, file=sys.stderr)
        return 2
    print(json.dumps(outcome, indent=2, sort_keys=True))
    return 0


def _use(fleet: Fleet, args) -> int:
    """Users sign in to Per User session hosts served by HOST: Per User CALs issued, or failed requests."""
    names = [args.user] if args.count == 1 else [f"{args.user}{n:05d}" for n in range(1, args.count + 1)]
    try:
        with fleet.host(args.host) as model:
            outcomes = [use_per_user(model, name, args.version) for name in names]
    except LabStateError as e:
        print(e, file=sys.stderr)
        return 2
    counts = {}
    for outcome in outcomes:
        counts[outcome["outcome"]] = counts.get(outcome["outcome"], 0) + 1
    print(json.dumps(outcomes if len(outcomes) <= 10 else counts, indent=2, sort_keys=True))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rdlab", description=__doc__.split("\n\n", maxsplit=1)[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name, help_text):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--dir", type=Path, default=Path(os.environ.get("RDLAB_DIR", "lab-state")),
                       help="state directory (default: $RDLAB_DIR or ./lab-state)")
        return p

    p = command("start", "start the lab in the background and write inventory/hosts.yml")
    p.add_argument("--host", type=parse_host_spec, action="append", default=[],
                   help="NAME[:ROLE[+ROLE]][:os=2022][:domain=FQDN][:installation=core][:address=127.0.0.N]; "
                        "roles: license_server, session_host, none")
    p.add_argument("--scheme", choices=["http", "https"], default="http")
    p.add_argument("--auth", choices=["ntlm", "basic"], default="ntlm",
                   help="ntlm (default): NTLM with message encryption over HTTP, unencrypted HTTP refused; "
                        "basic: Basic, accepted unencrypted over HTTP")
    p.add_argument("--reset", action="store_true", help="start from fresh hosts even if state exists")
    p.add_argument("--no-become", dest="become", action="store_false",
                   help="an inventory without become (runas): domain operations then meet the second hop")
    command("stop", "stop the lab")
    command("serve", "run the lab in the foreground (what start runs)")
    p = command("show", "print a host's state as JSON")
    p.add_argument("host")
    p = command("seed", "deep-merge a JSON document (file or -) into a host's state")
    p.add_argument("host")
    p.add_argument("file")
    p = command("issue", "record Per Device licenses issued from a key pack (Win32_TSIssuedLicense rows), "
                         "keeping the pack's IssuedLicenses and AvailableLicenses in step")
    p.add_argument("host")
    p.add_argument("--key-pack", type=int, required=True, help="KeyPackId of a Per Device pack")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--status", type=int, choices=[1, 2, 4], default=2, help="1 temporary, 2 active, 4 revoked")
    p.add_argument("--days", type=int, help="validity from today (default 90 temporary, a random 52 to 89 otherwise)")
    p.add_argument("--computer", action="append", help="sIssuedToComputer, once per license (default CLIENTnnn)")
    p = command("connect", "a client connects to a session host: starts its grace period, asks its license "
                           "servers for a CAL (temporary, then permanent Per Device; Per User), prints the outcome")
    p.add_argument("host")
    p.add_argument("--computer", default="CLIENT1", help="the client device's name (default CLIENT1)")
    p.add_argument("--user", default="user1", help="the user who signs in (default user1)")
    p = command("use", "users sign in to Per User session hosts running Windows Server VERSION: the license "
                       "server HOST issues each a Per User CAL of that version or newer, as `connect` does (over "
                       "the installed count when none is left) or, with no Per User pack serving it, records a "
                       "failed request")
    p.add_argument("host")
    p.add_argument("--user", required=True, help="the user's name (DOMAIN\\name or name); with --count N, "
                                                 "the names NAME00001 .. NAME<N>")
    p.add_argument("--version", required=True, choices=OS_ORDER, help="the session host's Windows Server version")
    p.add_argument("--count", type=int, default=1)
    p = command("reset", "reset hosts to their initial state")
    p.add_argument("hosts", nargs="*")
    p = command("transcript", "print the transcript as JSON lines")
    p.add_argument("--host")
    p = command("fault", "set or clear a fault: " + "; ".join(f"{k}: {v}" for k, v in FAULTS.items()))
    p.add_argument("action", choices=["set", "clear"])
    p.add_argument("host")
    p.add_argument("name", nargs="?", choices=list(FAULTS))
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--class", dest="cim_class")
    p.add_argument("--method")
    p.add_argument("--code", help="WBEM code or return value, e.g. 0x80041001")
    args = parser.parse_args(argv)
    try:
        return _dispatch(args, parser)
    except KeyError as e:
        print(e.args[0], file=sys.stderr)
        return 2


def _dispatch(args, parser) -> int:
    directory = args.dir.resolve()
    if args.command == "start":
        return start(directory, args.host, args.scheme, args.auth, args.reset, args.become)
    if args.command == "stop":
        return stop(directory)
    if args.command == "serve":
        serve(directory)
        return 0
    fleet = Fleet(directory)
    if args.command == "show":
        print(json.dumps(fleet.read_state(args.host), indent=2, sort_keys=True))
    elif args.command == "seed":
        document = json.load(sys.stdin if args.file == "-" else open(args.file))
        with fleet.host(args.host) as model:
            deep_merge(model.state, document)
    elif args.command == "issue":
        return _issue(fleet, args)
    elif args.command == "connect":
        return _connect(fleet, args)
    elif args.command == "use":
        return _use(fleet, args)
    elif args.command == "reset":
        for spec in fleet.config["hosts"]:
            if not args.hosts or spec["name"] in args.hosts:
                with fleet.host(spec["name"]) as model:
                    model.state.clear()
                    model.state.update(new_host_state(spec["name"], spec["os"], spec["installation"],
                                                      spec["domain"], tuple(spec["roles"])))
    elif args.command == "transcript":
        for line in fleet.transcript(args.host):
            print(json.dumps(line, sort_keys=True))
    elif args.command == "fault":
        if args.action == "set" and not args.name:
            parser.error("fault set needs a fault name")
        if args.action == "set":
            set_fault(fleet, args.host, args.name, args)
        else:
            with fleet.host(args.host) as model:
                faults = model.state.setdefault("faults", {})
                faults.pop(args.name, None) if args.name else faults.clear()
    return 0
