"""What the chamber's vote board shows (plain data: the renderer reads it, never the protocol).

:class:`VoteBoardView` is built by :meth:`vrdiplomacy.session.votes.SessionVotes.board_view`
from the client's own :class:`~vrdiplomacy.ballot.board.Board` (every proof checked by this
client) and drawn by :func:`vrdiplomacy.render.vote_board.vote_board`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from vrdiplomacy.ballot.board import Board
from vrdiplomacy.ballot.protocol import vote_label


@dataclass(frozen=True)
class VoteBoardView:
    """One vote as the board shows it.

    label: the vote's name ("item-4/1", without the meeting-session nonce); item: the agenda item;
    question; options; secret: a secret ballot (only totals are ever shown) or a recorded vote
    (one light per delegation); stage: "ceremony" (trustees' key being made), "open", "closed",
    "tallied"; voters: the delegations entitled to vote (their labels, in the manifest's order);
    cast: how many ballots were accepted; lights: a recorded vote's choice per delegation so far
    (delegation, option; the delegations that have not voted are absent); counts: the verified
    result per option (None until tallied); verified: this client checked every proof of it;
    failure: why the vote failed (stage "failed": "tally failed: …; trustees France, Germany
    absent"); not_voted: the voters with no ballot, once the vote is over (a recorded vote closed at
    its deadline shows who did not vote); restated_by / confirmed_by: a vote that ran before this
    client joined, its board restated by that member and confirmed by these (their digests matched).
    """

    label: str
    item: str
    question: str
    options: tuple[str, ...]
    secret: bool
    stage: str
    voters: tuple[str, ...]
    cast: int
    lights: tuple[tuple[str, str], ...] = ()
    counts: tuple[int, ...] | None = None
    verified: bool = False
    failure: str = ""
    not_voted: tuple[str, ...] = ()
    restated_by: str = ""
    confirmed_by: tuple[str, ...] = ()

    @property
    def eligible(self) -> int:
        return len(self.voters)

    @classmethod
    def of(cls, b: Board, label_of: Callable[[str], str] = str, restated_by: str = "",
           confirmed_by: tuple[str, ...] = ()) -> VoteBoardView:
        """The board view of this client's board ``b`` (``label_of`` names a voter on the board;
        ``restated_by`` / ``confirmed_by``: see the class)."""
        m = b.manifest
        lights: tuple[tuple[str, str], ...] = ()
        if not m.secret:
            lights = tuple((label_of(v), m.options[b.recorded[v]]) for v in m.voters if v in b.recorded)
        res = b.result
        return cls(vote_label(m.vote_id), m.item, m.question, m.options, m.secret, b.stage,
                   tuple(label_of(v) for v in m.voters), len(b.ballots) + len(b.recorded), lights,
                   None if res is None else res.counts, res is not None, b.failure,
                   tuple(label_of(v) for v in b.not_voted()) if b.stage in ("tallied", "failed") else (),
                   restated_by, confirmed_by)

    def key(self) -> tuple[object, ...]:
        """What the picture depends on (redraw only when it changes)."""
        return (self.label, self.item, self.question, self.options, self.secret, self.stage, self.voters, self.cast,
                self.lights, self.counts, self.verified, self.failure, self.not_voted, self.restated_by, self.confirmed_by)
