"""What happened to a vote, as a client's :class:`~vrdiplomacy.ballot.protocol.VoteCore` reports it."""

from __future__ import annotations

from dataclasses import dataclass

from vrdiplomacy.ballot.board import Result


@dataclass(frozen=True)
class VoteEvent:
    """Something that happened to vote ``vote_id``.

    kind: "opened", "ready" (ballots accepted), "accepted", "rejected", "closed", "tallied",
    "failed" (the board's failure in detail), "ceremony_failed" (our own part as a trustee),
    "restated" (a board rebuilt from ``who``'s restatement), "confirmed" (``who``: the members
    whose digests matched it); who: the member concerned; detail: a rejection's reason; result:
    when tallied.
    """

    kind: str
    vote_id: str
    who: str = ""
    detail: str = ""
    result: Result | None = None
