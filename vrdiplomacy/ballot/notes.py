"""Vote events as the record's input (:class:`~vrdiplomacy.session.meeting_view.MeetingNote`).

The meeting layer drains :meth:`VoteCore.next_event` and passes each event here with the room
state's ``key_of(name)`` (member key of a verified name). Kinds: ``vote_opened``, ``vote_ready``
(the key ceremony is done), ``vote_cast`` (a recorded vote's choice is in the note, a secret
ballot's is not: only that the delegation voted), ``vote_rejected``, ``vote_closed``,
``vote_result`` (with who did not vote), ``vote_failed`` (the board's reason: the trustees that
were absent) and ``vote_restated`` (a vote that ran before this client joined, its board restated
by another member). A secret vote's note never carries a choice.
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
        absent = b.not_voted()
        text = f"result of vote {m.vote_id}: {counts}" + (f"; did not vote: {', '.join(absent)}" if absent else "")
        if ev.detail == "restated":
            text += " (from before this client joined)"
        return [MeetingNote(now, "vote_result", None, None, text,
                            data + tuple((o, str(c)) for o, c in zip(ev.result.options, ev.result.counts))
                            + ((("not_voted", ",".join(absent)),) if absent else ()))]
    if ev.kind == "failed":
        return [MeetingNote(now, "vote_failed", who, None, f"vote {m.vote_id} failed: {ev.detail}",
                            data + (("reason", ev.detail), ("absent", ",".join(b.absent_trustees()))))]
    if ev.kind == "restated":
        return [MeetingNote(now, "vote_restated", who, None, f"vote {m.vote_id} ran before this client joined: its board "
                            f"was restated by {ev.who} ({b.stage})", data + (("stage", b.stage),))]
    if ev.kind == "confirmed":
        return [MeetingNote(now, "vote_confirmed", None, None, f"the restated board of vote {m.vote_id} was confirmed "
                            f"by {ev.who}", data + (("confirmed_by", ev.who),))]
    return []
