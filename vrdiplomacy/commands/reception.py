"""``vrdiplomacy reception …``: the host's tools for a reception.

Examples::

    # as the host (a delegation certificate with the role host or chair, in --dir):
    vrdiplomacy reception invite --room embassy --guest "Ms. Ada Lovelace" -o ada.pass     # one-time code
    vrdiplomacy reception invite --room embassy --host -o host.pass                         # your own pass
    vrdiplomacy reception invite --room embassy --guest "Mr. Deputy" --guest-cert deputy.crt --role host -o deputy.pass
    vrdiplomacy join --scene embassy --relay HOST:PORT --fingerprint FP --pass host.pass --capacity 150
    vrdiplomacy join --scene embassy --relay HOST:PORT --fingerprint FP --pass ada.pass     # a guest
    # while the host's client runs (its control socket):
    vrdiplomacy reception line
    vrdiplomacy reception greet-next
    vrdiplomacy reception announce --wav welcome.wav
    vrdiplomacy reception capacity 200
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

ACTIONS_HELP = textwrap.dedent("""\
    actions:
      invite                 write a pass (host: sign it with your delegation key)
      show FILE              what a pass grants
      status                 (guest or host) where you are at the reception
      line                   (host) the greeting line and how many are in the hall and waiting
      greet-next             (host) greet the first in line; its name is announced to the room
      greet NAME             (host) greet a guest of the line by name
      announce --wav FILE    (host) play FILE to every guest in the hall (you hold the floor meanwhile)
      announce --start/--stop (host) hold the floor while you speak to every guest / give it back
      capacity N             (host) guests in the hall (0: no limit); the rest wait, admitted in order
    """)
CLIENT_OPS = {"status": "status", "line": "line", "greet-next": "greet", "greet": "greet", "announce": "announce",
              "capacity": "capacity"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    from vrdiplomacy.commands.identity import add_passphrase

    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = ACTIONS_HELP
    p.add_argument("action", choices=("invite", "show", *CLIENT_OPS), metavar="ACTION", help="see the list below")
    p.add_argument("args", nargs="*", metavar="ARG", help="show: the pass file; greet: the guest's name; capacity: N")
    inv = p.add_argument_group("invite")
    inv.add_argument("--room", default="embassy", help="the reception's room (the scene name; default embassy)")
    inv.add_argument("--guest", metavar="NAME", help="the guest's name, as the room will show it")
    inv.add_argument("--guest-cert", type=Path, metavar="FILE.crt",
                     help="bind the pass to this delegation certificate's key (else: a one-time code)")
    inv.add_argument("--host", action="store_true", help="your own host pass (bound to your key)")
    inv.add_argument("--role", choices=("guest", "host"), default="guest", help="guest (default) or host (a co-host)")
    inv.add_argument("--hours", type=float, default=12.0, help="validity in hours (default 12)")
    inv.add_argument("--dir", type=Path, metavar="HOST_DIR",
                     help="your delegation folder (delegation.crt, delegation.key; default ~/.vrdiplomacy/delegation)")
    inv.add_argument("-o", "--out", type=Path, metavar="FILE", help="the pass file to write (.pass)")
    inv.add_argument("--force", action="store_true", help="replace an existing file")
    add_passphrase(inv, "of your key")
    run_ = p.add_argument_group("actions through the running client")
    run_.add_argument("--wav", type=Path, metavar="FILE", help="announce: the WAV file to play to every guest")
    run_.add_argument("--start", action="store_true", help="announce: take the floor (speak to every guest)")
    run_.add_argument("--stop", action="store_true", help="announce: give the floor back")
    run_.add_argument("--control", type=Path, metavar="PATH",
                      help="the running client's control socket (default: meeting.sock in your state folder)")
    run_.add_argument("--timeout", type=float, default=10.0, metavar="S", help="seconds to wait for the answer (default 10)")


def _invite(args: argparse.Namespace) -> int:
    from vrdiplomacy.commands.identity import DEFAULT_HOME, read_passphrase
    from vrdiplomacy.crypto import identity as ident
    from vrdiplomacy.errors import ConfigError
    from vrdiplomacy.reception.passes import write_pass

    if args.out is None:
        raise ConfigError("invite needs -o FILE (the pass to hand to the guest)")
    p = write_pass(args.dir or DEFAULT_HOME / "delegation", read_passphrase(args.passphrase_file), args.room, args.guest,
                   args.out, host=args.host, role=args.role, guest_cert=args.guest_cert, hours=args.hours,
                   force=args.force)
    kind = "bound to its certificate's key" if p.keyed else "one-time code: it admits once"
    print(f"reception pass {args.out}: {p.guest_name} as {p.role} at the reception in room '{p.room}' ({kind}), "
          f"until {ident.utc(p.not_after):%Y-%m-%d %H:%M} UTC")
    print(f"  host {p.host_fingerprint}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from vrdiplomacy.app.pass_show import show_pass
    from vrdiplomacy.errors import ConfigError

    if len(args.args) != 1:
        raise ConfigError("show takes one pass file")
    return show_pass(Path(args.args[0]))


def run(args: argparse.Namespace) -> int:
    from vrdiplomacy.app.meeting_control import control_path, send_command
    from vrdiplomacy.errors import ConfigError
    from vrdiplomacy.reception.control import command_from_args

    if args.action == "invite":
        return _invite(args)
    if args.action == "show":
        return _show(args)
    op = CLIENT_OPS[args.action]
    subject, value, wav = None, 0, None
    if args.action == "greet":
        if len(args.args) != 1:
            raise ConfigError("greet takes the guest's name (greet-next: the first in line)")
        subject = args.args[0]
    elif args.action == "capacity":
        try:
            value = int(args.args[0]) if len(args.args) == 1 else -1
        except ValueError:
            value = -1
        if value < 0:
            raise ConfigError("capacity takes one number of guests (0: no limit)")
    elif args.action == "announce":
        if sum((args.wav is not None, args.start, args.stop)) != 1:
            raise ConfigError("announce needs one of --wav FILE, --start, --stop")
        wav, value = args.wav, int(args.start)
    elif args.args:
        raise ConfigError(f"{args.action} takes no arguments")
    cmd = command_from_args(op, subject, value, wav)
    ok, line = send_command(control_path(args.control), cmd, args.timeout)  # type: ignore[arg-type]
    print(line, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1
