"""``vrdiplomacy vote``: votes in a secured room; a published bulletin board checked offline.

    vrdiplomacy vote verify BOARD.json        # replay every proof; prints the result; exit 0 / 1
    vrdiplomacy vote simulate --voters 50 --trustees 3 --threshold 2 -o BOARD.json

In a secured room on a relay (the identity options are those of ``vrdiplomacy join``):

    vrdiplomacy vote open item-4/1 --item 4 --question "Adopt L.12?" --voters France,Germany,Italy \\
        --trustees Chair,France,Germany --threshold 2 --board board.json  RELAY+IDENTITY (the chair)
    vrdiplomacy vote cast item-4/1 yes  RELAY+IDENTITY           # a voter (waits for the tally)
    vrdiplomacy vote follow item-4/1 --board board.json  RELAY+IDENTITY   # a trustee or observer

The chair opens once every voter and trustee is in the signed roster; trustees' clients take part in
the key ceremony and the decryption by themselves; everyone prints the same result, and meanwhile
whom the vote waits for (members not in the room yet, trustees, voters who have not voted). The
vote's id is its label with the meeting session's nonce added (``item-4/1@3f9c…``): a vote of an
earlier meeting in the same room opens nowhere. In a running ``vrdiplomacy join``, the same votes are
``vrdiplomacy meeting vote-open|vote-cast|vote-close|vote-status``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from vrdiplomacy.errors import ConfigError, CryptoError, ProtocolError


def _names(text: str) -> tuple[str, ...]:
    out = tuple(s.strip() for s in text.split(",") if s.strip())
    if not out:
        raise argparse.ArgumentTypeError("a comma-separated list of names")
    return out


def _live(p: argparse.ArgumentParser) -> None:
    from vrdiplomacy.commands.identity import DEFAULT_HOME, add_passphrase
    from vrdiplomacy.net.room_code_cli import add_identity_arguments

    p.add_argument("--relay", required=True, metavar="HOST:PORT", help="relay address")
    p.add_argument("--fingerprint", required=True, help="the relay certificate's SHA-256 fingerprint")
    p.add_argument("--room", default="chamber", help="room name (default chamber)")
    p.add_argument("--seat", default="observer-1", help="seat to take (default observer-1)")
    p.add_argument("--board", type=Path, metavar="FILE.json", help="write the vote's bulletin board here when tallied")
    p.add_argument("--timeout", type=float, default=300.0, help="give up after this many seconds (default 300)")
    add_identity_arguments(p, DEFAULT_HOME, add_passphrase, root_required=True)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from vrdiplomacy.ballot.election import MAX_TRUSTEES, MAX_VOTERS
    from vrdiplomacy.crypto.roster import MAX_MEMBERS

    sub = parser.add_subparsers(dest="action", metavar="ACTION", title="actions", required=True)
    v = sub.add_parser("verify", help="verify a published bulletin board offline (exit 0 if it holds, 1 if not)",
                       description="Replay a vote's bulletin board: check every commitment, ballot proof and "
                       "partial decryption, recompute the tally and compare it with the declared result.")
    v.add_argument("board", type=Path, help="the board (JSON, as a client or `vote simulate` writes it)")
    s = sub.add_parser("simulate", help="run a whole vote among simulated delegations and write its board",
                       description="Run a vote in-process with the real protocol cores (chair, trustees, "
                       "observer; voters' ballots as their clients make them) and write the observer's board.")
    s.add_argument("--voters", type=int, default=50,
                   help=f"number of voting delegations, 1 to {MAX_VOTERS} (default 50)")
    s.add_argument("--trustees", type=int, default=3,
                   help=f"trustees holding key shares, 1 to {MAX_TRUSTEES} (default 3)")
    s.add_argument("--threshold", type=int, default=2, help="trustees needed to decrypt (default 2)")
    s.add_argument("--recorded", action="store_true", help="a recorded vote (plain signed choices) instead")
    s.add_argument("--seed", type=int, default=None, help="seed of the random choices (default: a fresh one each run)")
    s.add_argument("-o", "--out", type=Path, required=True, help="board to write (JSON)")

    o = sub.add_parser("open", help="(chair) open a vote in a secured room and see it through to the result")
    o.add_argument("vote_id", help="the vote's id, unique in the room (e.g. item-4/1)")
    o.add_argument("--item", required=True, help="the agenda item it decides")
    o.add_argument("--question", required=True, help="the question put to the vote")
    o.add_argument("--options", type=_names, default=("yes", "no", "abstain"), help="the choices, comma-separated (default yes,no,abstain)")
    o.add_argument("--voters", type=_names, required=True,
                   help=f"who votes: certificate names, comma-separated; all must be in the room, whose roster holds "
                   f"at most {MAX_MEMBERS} members (chair and trustees included)")
    o.add_argument("--trustees", type=_names, help="secret vote: who holds key shares, certificate names comma-separated (required without --recorded)")
    o.add_argument("--threshold", type=int, help="secret vote: trustees needed to decrypt (default: all)")
    o.add_argument("--recorded", action="store_true", help="a recorded vote: plain signed choices, shown per delegation")
    o.add_argument("--closes-in", type=float, default=0.0, metavar="S",
                   help="close after S seconds (default: once everyone voted)")
    _live(o)
    c = sub.add_parser("cast", help="cast your vote in a secured room")
    c.add_argument("vote_id")
    c.add_argument("choice", help="one of the vote's options (e.g. yes, no, abstain)")
    c.add_argument("--until", choices=("tallied", "cast"), default="tallied",
                   help="leave once the result is known (default) or once the ballot was accepted")
    _live(c)
    f = sub.add_parser("follow", help="follow a vote (trustees take part in the tally) and print its result")
    f.add_argument("vote_id")
    _live(f)


def _run_live(args: argparse.Namespace) -> int:
    from vrdiplomacy.ballot.election import Manifest
    from vrdiplomacy.ballot.live import LiveVote, check_job, connect_and_run
    from vrdiplomacy.commands.identity import DEFAULT_HOME, read_passphrase
    from vrdiplomacy.net.room_code_cli import (
        load_admission,
        load_delegate,
        room_authority,
    )

    manifest = None
    ident = load_delegate(args, DEFAULT_HOME, read_passphrase(args.passphrase_file))
    if args.action == "open":
        secret = not args.recorded
        if secret and not args.trustees:
            raise ConfigError("a secret vote needs --trustees (or --recorded)")
        trustees: tuple[str, ...] = (args.trustees or ()) if secret else ()
        manifest = Manifest(args.vote_id, args.item, args.question, args.options, secret, args.voters, trustees,
                            (args.threshold or len(trustees)) if secret else 0, 0.0, ident[2])
        try:
            manifest.check()
        except ProtocolError as e:
            raise ConfigError(str(e)) from e
    job = LiveVote(args.vote_id, manifest, getattr(args, "choice", None), getattr(args, "closes_in", 0.0),
                   getattr(args, "until", "tallied"), args.board, args.timeout)
    check_job(job)
    adm = load_admission(args, ident[0], ident[1], args.room, args.seat)
    res = asyncio.run(connect_and_run(args.relay, args.fingerprint, args.room, args.seat, ident, adm,
                                      room_authority(args, adm), job, lambda s: print(s, flush=True)))
    return 0 if res is not None or job.until == "cast" else 1


def run(args: argparse.Namespace) -> int:
    if args.action in ("open", "cast", "follow"):
        return _run_live(args)
    from vrdiplomacy.ballot.board import verify_board
    from vrdiplomacy.ballot.local import SimulateProgress, describe, simulate

    if args.action == "simulate":
        board, _ = simulate(args.voters, args.trustees, args.threshold, secret=not args.recorded, seed=args.seed,
                            progress=SimulateProgress(args.trustees if not args.recorded else 0))
        args.out.write_text(board.to_json())
        print("\n".join(describe(board)))
        print(f"wrote {args.out}")
        return 0
    try:
        text = args.board.read_text()
    except OSError as e:
        raise ConfigError(f"cannot read {args.board}: {e.strerror}") from e
    try:
        board = verify_board(text)
    except (CryptoError, ProtocolError) as e:
        print(f"FAILED: {e}")
        return 1
    print("\n".join(describe(board)))
    print("OK: every proof verifies and the declared result is the tally" if board.result is not None
          else "OK so far: every proof verifies; the vote is not tallied yet")
    sys.stdout.flush()
    return 0

