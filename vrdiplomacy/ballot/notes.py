"""Vote events as the record's input (:class:`~vrdiplomacy.session.meeting_view.MeetingNote`).

The meeting layer drains :meth:`VoteCore.next_event` and passes each event here with the room
state's ``key_of(name)`` (member key of a verified name). Kinds: ``vote_opened``, ``vote_ready``
(the key ceremony is done), ``vote_cast`` (a recorded vote's choice is in the note, a secret
ballot's is not: only that the delegation voted), ``vote_rejected``, ``vote_closed`` and
``vote_result``. A secret vote's note never carries a choice.
"""

from __future__ import annotations

from collections.abc import Callable

from vrdiplomacy.ballot.protocol import VoteCore, VoteEvent
from vrdiplomacy.session.meeting_view import MeetingNote


def meeting_notes(core: VoteCore, ev: VoteEvent, now: float, key_of: Callable[[str], int | None]) -> list[MeetingNote]:
    b = core.boards.get(ev.vote_id)
    who = key_of(ev.who) if ev.who else None
    if b is None:
        if ev.kind == "rejected":
            return [MeetingNote(now, "vote_rejected", who, None, f"a malformed vote message from {ev.who} was rejected",
                                (("reason", ev.detail),))]
        return []
    m = b.manifest
    data: tuple[tuple[str, str], ...] = (("vote_id", m.vote_id), ("item", m.item))
    if ev.kind == "opened":
        kind = "secret ballot" if m.secret else "recorded vote"
        return [MeetingNote(now, "vote_opened", who, None, f"{ev.who} opened a {kind} on item {m.item}: {m.question}",
                            data + (("options", ",".join(m.options)), ("voters", str(len(m.voters)))))]
    if ev.kind == "ready" and m.secret:
        return [MeetingNote(now, "vote_ready", None, None, f"the trustees' key for vote {m.vote_id} is ready", data)]
    if ev.kind == "accepted":
        if not m.secret and ev.who in b.recorded:
            choice = m.options[b.recorded[ev.who]]
            return [MeetingNote(now, "vote_cast", who, None, f"{ev.who} voted {choice}", data + (("choice", choice),))]
        return [MeetingNote(now, "vote_cast", who, None, f"{ev.who} cast a secret ballot", data)]
    if ev.kind == "rejected":
        return [MeetingNote(now, "vote_rejected", who, None, f"a vote message from {ev.who} was rejected: {ev.detail}",
                            data + (("reason", ev.detail),))]
    if ev.kind == "closed":
        return [MeetingNote(now, "vote_closed", who, None, f"vote {m.vote_id} closed", data)]
    if ev.kind == "tallied" and ev.result is not None:
        counts = ", ".join(f"{o} {c}" for o, c in zip(ev.result.options, ev.result.counts))
        return [MeetingNote(now, "vote_result", None, None, f"result of vote {m.vote_id}: {counts}",
                            data + tuple((o, str(c)) for o, c in zip(ev.result.options, ev.result.counts)))]
    return []
