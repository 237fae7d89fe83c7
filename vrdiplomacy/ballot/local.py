"""Votes without a network: an in-process room that orders and delivers vote messages the way the
relay does (to everyone, the sender included), a whole simulated election, and a board's summary.

Used by ``vrdiplomacy vote simulate`` (which writes a board that ``vote verify`` checks), by the
benchmark and by the tests. The cores are the real ones; only the transport is a list.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from vrdiplomacy.ballot.board import Board
from vrdiplomacy.ballot.election import MAX_TRUSTEES, MAX_VOTERS, Manifest
from vrdiplomacy.ballot.protocol import VoteCore, VoteEvent
from vrdiplomacy.errors import ConfigError


@dataclass
class LocalRoom:
    """Vote cores by member name; ``log`` is every ``(sender, payload)`` in delivery order."""

    cores: dict[str, VoteCore]
    log: list[tuple[str, bytes]] = field(default_factory=list)
    events: dict[str, list[VoteEvent]] = field(default_factory=dict)

    @classmethod
    def of(cls, names: list[str], chair: str = "Chair") -> LocalRoom:
        return cls({n: VoteCore(n, lambda s, c=chair: s == c) for n in dict.fromkeys([chair, *names])})

    def inject(self, sender: str, payload: bytes, now: float = 0.0) -> None:
        """Deliver one message signed by ``sender`` to every core."""
        self.log.append((sender, payload))
        for c in self.cores.values():
            c.receive(payload, sender, now)

    def pump(self, now: float = 0.0, rounds: int = 50) -> None:
        """Deliver what the cores send until they are quiet."""
        for _ in range(rounds):
            moved = False
            for name, c in self.cores.items():
                for _stream, payload in c.data_to_send():
                    moved = True
                    self.inject(name, payload, now)
            for name, c in self.cores.items():
                while (e := c.next_event()) is not None:
                    self.events.setdefault(name, []).append(e)
            if not moved:
                return


def simulate(voters: int, trustees: int, threshold: int, secret: bool = True, seed: int | None = None,
             question: str = "Adopt the draft resolution?",
             progress: Callable[[str, int, int], None] | None = None) -> tuple[Board, list[int]]:
    """Run a whole vote among ``voters`` simulated delegations; returns an observer's board and the
    choices that were cast (option indices, in voter order). ``progress(stage, done, total)`` is
    called as the vote goes: "cast" after each ballot (every core has checked it), "tally" once.

    The chair, the trustees and an observer run full cores (each verifies every ballot); the voters'
    ballots are made from the observer's election context, byte for byte what a voter's core sends.
    """
    if not 1 <= voters <= MAX_VOTERS or (secret and not 1 <= trustees <= MAX_TRUSTEES):
        raise ConfigError(f"a vote has 1 to {MAX_VOTERS} voters and 1 to {MAX_TRUSTEES} trustees")
    if secret and not 1 <= threshold <= trustees:
        raise ConfigError(f"the threshold is 1 to the number of trustees ({trustees}), not {threshold}")
    names = [f"Delegation {i + 1:03d}" for i in range(voters)]
    tnames = [f"Trustee {i + 1}" for i in range(trustees)] if secret else []
    room = LocalRoom.of([*tnames, "Observer"])
    m = Manifest("vote-1", "1", question, secret=secret, voters=tuple(names), trustees=tuple(tnames),
                 threshold=threshold if secret else 0, chair="Chair")
    room.cores["Chair"].open(m)
    room.pump()
    rng = random.Random(seed)
    choices = [rng.randrange(len(m.options)) for _ in names]
    voter = VoteCore("", lambda s: s == "Chair")
    for sender, payload in room.log:
        voter.receive(payload, sender)
    for i, (n, c) in enumerate(zip(names, choices)):
        voter.me = n
        voter.cast("vote-1", c)
        for _stream, payload in voter.data_to_send():
            room.inject(n, payload)
        if progress is not None:
            progress("cast", i + 1, voters)
    room.pump()
    if progress is not None:
        progress("tally", voters, voters)
    room.cores["Chair"].close("vote-1")
    room.pump()
    return room.cores["Observer"].boards["vote-1"], choices


def describe(b: Board) -> list[str]:
    """A board in a few lines for people."""
    m = b.manifest
    kind = f"secret, {m.threshold} of {len(m.trustees)} trustees" if m.secret else "recorded"
    lines = [f"vote {m.vote_id} on agenda item {m.item}: {m.question}",
             f"  {kind}; {len(m.voters)} voters; opened by {m.chair}; stage {b.stage}",
             f"  ballots accepted: {len(b.ballots) + len(b.recorded)}; rejected: {sum(b.rejected.values())}"
             + ("".join(f"\n    {n} {why}" for why, n in sorted(b.rejected.items())) if b.rejected else "")]
    if b.result is not None:
        lines.append("  result: " + ", ".join(f"{o} {c}" for o, c in zip(b.result.options, b.result.counts)))
        lines.extend(f"    {v}: {c}" for v, c in b.result.choices)
    return lines


class SimulateProgress:
    """:func:`simulate`'s ``progress`` for people (``vote simulate``): on stderr, a line every 2 s
    while ballots are cast (each one checked by every simulated core), and one when the tally
    starts, if the run took that long."""

    def __init__(self, trustees: int, every_s: float = 2.0) -> None:
        self.trustees, self.every_s = trustees, every_s
        self.t0 = self.last = time.monotonic()

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - (self.t0 if stage == "tally" else self.last) < self.every_s:
            return
        self.last = now
        checkers = f"the chair, {self.trustees} trustees and an observer" if self.trustees else "the chair and an observer"
        what = (f"ballots cast: {done} of {total} (each checked by {checkers})" if stage == "cast"
                else f"all {total} ballots cast; closing and tallying")
        print(f"{what}, {now - self.t0:.0f} s", file=sys.stderr, flush=True)
