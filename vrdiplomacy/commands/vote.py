"""``vrdiplomacy vote``: check a published bulletin board offline; run a simulated vote.

    vrdiplomacy vote verify BOARD.json        # replay every proof; prints the result; exit 0 / 1
    vrdiplomacy vote simulate --voters 50 --trustees 3 --threshold 2 -o BOARD.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vrdiplomacy.errors import ConfigError, CryptoError, ProtocolError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", title="actions", required=True)
    v = sub.add_parser("verify", help="verify a published bulletin board offline (exit 0 if it holds, 1 if not)",
                       description="Replay a vote's bulletin board: check every commitment, ballot proof and "
                       "partial decryption, recompute the tally and compare it with the declared result.")
    v.add_argument("board", type=Path, help="the board (JSON, as a client or `vote simulate` writes it)")
    s = sub.add_parser("simulate", help="run a whole vote among simulated delegations and write its board",
                       description="Run a vote in-process with the real protocol cores (chair, trustees, "
                       "voters, an observer) and write the observer's bulletin board.")
    s.add_argument("--voters", type=int, default=50, help="number of voting delegations (default 50)")
    s.add_argument("--trustees", type=int, default=3, help="trustees holding key shares (default 3)")
    s.add_argument("--threshold", type=int, default=2, help="trustees needed to decrypt (default 2)")
    s.add_argument("--recorded", action="store_true", help="a recorded vote (plain signed choices) instead")
    s.add_argument("--seed", type=int, default=None, help="seed of the random choices")
    s.add_argument("-o", "--out", type=Path, required=True, help="board to write (JSON)")


def run(args: argparse.Namespace) -> int:
    from vrdiplomacy.ballot.board import verify_board
    from vrdiplomacy.ballot.local import describe, simulate

    if args.action == "simulate":
        if args.voters > 4096 or args.trustees > 32:
            raise ConfigError("at most 4096 voters and 32 trustees")
        board, _ = simulate(args.voters, args.trustees, args.threshold, secret=not args.recorded, seed=args.seed)
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
