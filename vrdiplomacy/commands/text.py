"""``vrdiplomacy text``: read and edit a joint draft in a secured room (the identity options are
those of ``vrdiplomacy join``).

    vrdiplomacy text show L.12 RELAY+IDENTITY                  # print the draft, brackets and owners
    vrdiplomacy text edit L.12 --append "The Assembly ..." RELAY+IDENTITY
    vrdiplomacy text edit L.12 --insert 42 "significantly " RELAY+IDENTITY
    vrdiplomacy text edit L.12 --bracket 60 73 RELAY+IDENTITY  # bracket as your delegation
    vrdiplomacy text edit L.12 --resolve France#3 [--drop] RELAY+IDENTITY
    vrdiplomacy text follow L.12 --state l12.ydoc RELAY+IDENTITY   # print every change; keep a copy

Through a running ``vrdiplomacy join`` (its control socket, like ``vrdiplomacy meeting``): the
edit is made by that client, as its member, and shows on its chamber screen and everyone's::

    vrdiplomacy text show --session                            # the room's draft (document "draft")
    vrdiplomacy text edit --session --append "The Assembly ..."
    vrdiplomacy text edit L.12 --session --bracket 60 73 [--control PATH]

Positions are characters. ``--state FILE`` keeps the document on disk (restored at start, saved
after every change), so a crash loses no merged edit and offline edits merge on the next start.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from vrdiplomacy.errors import ConfigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from vrdiplomacy.commands.identity import DEFAULT_HOME, add_passphrase
    from vrdiplomacy.net.room_code_cli import add_identity_arguments

    sub = parser.add_subparsers(dest="action", metavar="ACTION", title="actions", required=True)
    helps = {"show": "print a joint draft with its brackets and their owners",
             "edit": "make one edit to a joint draft and print the result once the room has it",
             "follow": "print every change to a joint draft as it happens"}
    for name, help_text in helps.items():
        p = sub.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".")
        p.add_argument("doc", nargs="?", help="the document's id (e.g. L.12; with --session: default the "
                                               "session's draft)")
        if name == "edit":
            g = p.add_mutually_exclusive_group(required=True)
            g.add_argument("--insert", nargs=2, metavar=("POS", "TEXT"), help="insert TEXT at character POS")
            g.add_argument("--append", metavar="TEXT", help="add TEXT at the end")
            g.add_argument("--delete", nargs=2, type=int, metavar=("START", "END"), help="delete characters START..END")
            g.add_argument("--bracket", nargs=2, type=int, metavar=("START", "END"),
                           help="put characters START..END in brackets owned by your delegation")
            g.add_argument("--resolve", metavar="ID", help="remove your bracket ID (keeps its text; --drop deletes it)")
            p.add_argument("--drop", action="store_true", help="with --resolve: delete the bracketed text")
        if name != "follow":
            p.add_argument("--session", action="store_true",
                           help="act through the running 'vrdiplomacy join' (its control socket) instead of connecting")
            p.add_argument("--control", type=Path, metavar="PATH",
                           help="with --session: the running client's control socket (default: meeting.sock in your "
                                "state folder)")
        p.add_argument("--relay", metavar="HOST:PORT", help="relay address (required without --session)")
        p.add_argument("--fingerprint", help="the relay certificate's SHA-256 fingerprint (required without --session)")
        p.add_argument("--room", default="chamber", help="room name (default chamber)")
        p.add_argument("--seat", default="observer-1", help="seat to take (default observer-1)")
        p.add_argument("--state", type=Path, metavar="FILE", help="keep the document in FILE (restored, saved on change)")
        p.add_argument("--settle", type=float, default=1.0, metavar="S",
                       help="seconds to collect the room's copy before editing or printing (default 1)")
        p.add_argument("--timeout", type=float, default=60.0, help="give up after this many seconds (default 60)")
        add_identity_arguments(p, DEFAULT_HOME, add_passphrase, root_required=False)


def _edit(args: argparse.Namespace) -> tuple[object, ...] | None:
    if args.action != "edit":
        return None
    if args.insert:
        try:
            return ("insert", int(args.insert[0]), args.insert[1])
        except ValueError:
            raise ConfigError("--insert POS TEXT: POS is a character position") from None
    if args.append is not None:
        return ("append", args.append)
    if args.delete:
        return ("delete", *args.delete)
    if args.bracket:
        return ("bracket", *args.bracket)
    return ("resolve", args.resolve, not args.drop)


def _through_session(args: argparse.Namespace) -> int:
    import json

    from vrdiplomacy.app.meeting_control import (
        MeetingCommand,
        control_path,
        send_command,
    )

    edit = _edit(args)
    cmd = MeetingCommand("text_edit" if edit is not None else "text_show", args.doc, 0,
                         json.dumps(list(edit)) if edit is not None else "")
    ok, line = send_command(control_path(args.control), cmd, args.timeout)
    print(line)
    return 0 if ok else 1


def run(args: argparse.Namespace) -> int:
    from vrdiplomacy.commands.identity import DEFAULT_HOME, read_passphrase
    from vrdiplomacy.net.room_code_cli import (
        load_admission,
        load_delegate,
        room_authority,
    )
    from vrdiplomacy.text.live import TextJob, connect_and_edit

    if getattr(args, "session", False):
        return _through_session(args)
    missing = [o for o, v in (("--relay", args.relay), ("--fingerprint", args.fingerprint), ("--root", args.root),
                              ("DOC", args.doc)) if not v]
    if missing:
        raise ConfigError(f"{', '.join(missing)} required (or --session to act through a running 'vrdiplomacy join')")
    job = TextJob(args.doc, _edit(args), args.action == "follow", args.state, args.settle, args.timeout)
    ident = load_delegate(args, DEFAULT_HOME, read_passphrase(args.passphrase_file))
    adm = load_admission(args, ident[0], ident[1], args.room, args.seat)
    asyncio.run(connect_and_edit(args.relay, args.fingerprint, args.room, args.seat, ident, adm,
                                 room_authority(args, adm), job, lambda s: print(s, flush=True)))
    return 0
