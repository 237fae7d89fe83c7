"""``vrdiplomacy record``: the meeting's verifiable record.

    vrdiplomacy record keep --relay HOST:PORT --fingerprint FP --room chamber --dir secretariat/ \
        [--root ministry.crt --invite secretariat.invite] --out meeting.db
    vrdiplomacy record verify meeting.db [--root ministry.crt]
    vrdiplomacy record export meeting.db --format md [--out minutes.md]

``keep`` runs the secretariat's node: a silent member of the room that writes every
decision-relevant event (joins and leaves, floor requests and grants, gestures, the chair's
actions) into an append-only, hash-chained record signed with its delegation key, durable
(SQLite, fsync) before it prints ``acknowledged N``. ``verify`` checks the chain, every
signature and (with ``--root``) the signer's certificate, and names the first bad entry;
``export`` writes the minutes of a record that verifies.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

from vrdiplomacy.errors import ConfigError


def _roots(args: argparse.Namespace) -> object:
    if not args.root:
        if args.crl:
            raise ConfigError("--crl needs --root: the ministry root(s) that signed the revocation lists")
        return None
    from vrdiplomacy.crypto import revocation

    return revocation.load_trust(args.root, args.crl)


def _add_trust(p: argparse.ArgumentParser) -> None:
    p.add_argument("--root", type=Path, action="append",
                   help="trusted ministry root certificate, or a trust folder of .crt roots and .crl lists (repeat "
                        "for several): the record's signer must chain to one of them")
    p.add_argument("--crl", type=Path, action="append", default=[], help="revocation list signed by a trusted root")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", title="actions", required=True)
    from vrdiplomacy.commands.identity import DEFAULT_HOME, add_passphrase
    from vrdiplomacy.net.room_code_cli import add_identity_arguments

    keep = sub.add_parser(
        "keep", help="run the secretariat's recording node in a room",
        description=textwrap.fill(
            "Join the room as the secretariat (a silent member: no voice, no hearing) and record every "
            "decision-relevant event into FILE: an append-only SQLite record of hash-chained entries signed with "
            "your delegation key. Each entry is printed as 'acknowledged N ...' only after it is on disk. With "
            "--root the room is end-to-end encrypted and members are named by their verified certificates; "
            "a secured room admits the secretariat by its --invite. Restarting on the same FILE continues the record.",
            76))
    keep.add_argument("--relay", required=True, metavar="HOST:PORT", help="the relay of the room")
    keep.add_argument("--fingerprint", required=True, metavar="FP",
                      help="the relay certificate's SHA-256 fingerprint, as 'vrdiplomacy relay' prints it")
    keep.add_argument("--room", default="chamber", help="the room to record (default chamber)")
    keep.add_argument("--seat", default="secretariat", help="the seat the node takes (default 'secretariat')")
    keep.add_argument("--out", type=Path, required=True, metavar="FILE", help="the record file (created, or continued)")
    keep.add_argument("--duration", type=float, default=0.0, metavar="S",
                      help="stop after S seconds (default: until Ctrl+C or SIGTERM)")
    keep.add_argument("--no-gestures", action="store_true", help="do not record nods, applause and other gestures")
    add_identity_arguments(keep, DEFAULT_HOME, add_passphrase, root_required=False)

    verify = sub.add_parser("verify", help="check a record's hash chain, signatures and signer",
                            description="Check every entry of a record: sequence, hash chain and Ed25519 signature; "
                            "with --root, that the signer's certificate chains to a trusted ministry root. Exit 0 "
                            "with a one-line summary, or 1 naming the first bad entry.")
    verify.add_argument("file", type=Path, metavar="FILE")
    _add_trust(verify)

    export = sub.add_parser("export", help="write the minutes of a record that verifies",
                            description="Verify a record and write its minutes: title, room, date, then one line per "
                            "event in order (time UTC, who, what).")
    export.add_argument("file", type=Path, metavar="FILE")
    export.add_argument("--format", choices=("md", "json"), default="md", help="md (Markdown, default) or json")
    export.add_argument("--out", type=Path, metavar="F", help="write here (default: standard output)")
    _add_trust(export)


def _keep(args: argparse.Namespace) -> int:
    from vrdiplomacy.app.addresses import relay_address
    from vrdiplomacy.app.record import KeepOptions, keep, keeper_identity
    from vrdiplomacy.commands.identity import DEFAULT_HOME, read_passphrase
    from vrdiplomacy.record.observe import ObserveSettings

    if args.duration < 0:
        raise ConfigError("--duration must be >= 0")
    relay = relay_address(args.relay, args.fingerprint)
    folder = args.dir or DEFAULT_HOME / "delegation"
    roots = _roots(args)
    me, name = keeper_identity(args.cert or folder / "delegation.crt", args.key or folder / "delegation.key",
                               read_passphrase(args.passphrase_file), roots)  # type: ignore[arg-type]
    secured = None
    if roots is not None:
        from vrdiplomacy.app.join import SecuredJoin
        from vrdiplomacy.net.room_code_cli import load_admission, room_authority

        adm = load_admission(args, me, roots, args.room, args.seat)  # type: ignore[arg-type]
        if adm is None:
            raise ConfigError("a secured room admits the secretariat by invitation: add --invite FILE from the chair")
        secured = SecuredJoin(me, roots, name, adm, room_authority(args, adm))
    elif args.invite or args.authority:
        raise ConfigError("--invite/--authority need --root: the ministry root(s) you trust")
    return keep(KeepOptions(relay, args.room, args.out, me, name, args.seat, secured, args.duration,
                            observe=ObserveSettings(gestures=not args.no_gestures)))


def run(args: argparse.Namespace) -> int:
    if args.action == "keep":
        return _keep(args)
    from vrdiplomacy.app.record import export_file, verify_file

    roots = _roots(args)
    if args.action == "verify":
        v = verify_file(args.file, roots)  # type: ignore[arg-type]
        print(v.summary())
        print(f"last entry hash {v.head.hex()} (compare with the keeper's: a record cut short ends earlier)")
        return 0
    text = export_file(args.file, args.format, roots)  # type: ignore[arg-type]
    if args.out is None:
        sys.stdout.write(text)
    else:
        try:
            args.out.write_text(text, encoding="utf-8")
        except OSError as e:
            raise ConfigError(f"cannot write {args.out}: {e.strerror}") from None
        print(f"wrote the minutes of {args.file} to {args.out} ({args.format}, {len(text.encode())} bytes)")
    return 0
