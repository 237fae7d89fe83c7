"""A recorded vote run step by step in-process, for ``vrdiplomacy demo``.

The demo's room is not end-to-end encrypted and its bots run no vote clients, so its roll-call is
played by the real vote cores in an in-process room (:class:`~vrdiplomacy.ballot.local.LocalRoom`,
the relay's ordering without the network): the chair opens, one delegation votes per step, the
chair closes with the last vote, and every core (an observer's included) checks every message
and computes the result. :meth:`RollCall.view` is what the chamber's vote board shows.
"""

from __future__ import annotations

from vrdiplomacy.ballot.board import Board, Result
from vrdiplomacy.ballot.election import Manifest
from vrdiplomacy.ballot.local import LocalRoom
from vrdiplomacy.ballot.view import VoteBoardView
from vrdiplomacy.errors import ConfigError

OBSERVER = "Observer"


class RollCall:
    """``choices``: delegation -> option, in the order they vote; ``chair`` opens and closes."""

    def __init__(self, choices: dict[str, str], question: str, item: str = "1", label: str = "item-1/1",
                 chair: str = "Chair") -> None:
        if not choices or chair in choices or OBSERVER in choices:
            raise ConfigError("a roll-call needs voters other than its chair and observer")
        self.choices = dict(choices)
        self.room = LocalRoom.of([*choices, OBSERVER], chair)
        self.chair = chair
        self.manifest = Manifest(label, item, question, secret=False, voters=tuple(choices), chair=chair)
        self._next = 0  # 0: not open yet; k: k-1 delegations voted

    @property
    def steps(self) -> int:
        """Steps taken so far (the opening, then one per delegation)."""
        return self._next

    @property
    def total_steps(self) -> int:
        return len(self.choices) + 1

    @property
    def board(self) -> Board | None:
        return self.room.cores[OBSERVER].boards.get(self.manifest.vote_id)

    @property
    def result(self) -> Result | None:
        b = self.board
        return None if b is None else b.result

    def step(self) -> bool:
        """One step: the opening, then one delegation's vote (the chair closes with the last one);
        False once the result is in."""
        vid = self.manifest.vote_id
        if self._next == 0:
            self.room.cores[self.chair].open(self.manifest)
        elif self._next <= len(self.choices):
            who = list(self.choices)[self._next - 1]
            self.room.cores[who].cast(vid, self.choices[who])
            if self._next == len(self.choices):
                self.room.pump()
                self.room.cores[self.chair].close(vid)  # everyone voted
        self._next += 1
        self.room.pump()
        return self.result is None

    def view(self) -> VoteBoardView | None:
        b = self.board
        return None if b is None else VoteBoardView.of(b)
