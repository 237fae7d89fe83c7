"""Votes through a running client's meeting control socket (``vrdiplomacy meeting vote-…``).

Same socket and one-line JSON as the procedure's actions (:mod:`vrdiplomacy.app.meeting_control`);
the command's ``subject`` is the vote's label, its ``data`` the choice (``vote_cast``) or the
vote's parameters as JSON (``vote_open``). The running client acts as its own member: the chair's
client opens (signed with its key, checked by every client against the signed roster), a
delegate's client casts (a secret ballot is encrypted and proved there). The answer comes once the
relay has sent the message back and this client's core accepted it, or with the reason it did not.

    vrdiplomacy meeting vote-open item-4/1 --question "Adopt draft L.12?" --recorded
    vrdiplomacy meeting vote-cast yes          # the latest vote (or: vote-cast item-4/1 yes)
    vrdiplomacy meeting vote-close             # chair: close before everyone voted
    vrdiplomacy meeting vote-status            # every vote, with its verified result
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from vrdiplomacy.ballot.election import DEFAULT_OPTIONS
from vrdiplomacy.ballot.protocol import DEFAULT_DEADLINE_S
from vrdiplomacy.errors import ConfigError, ProtocolError
from vrdiplomacy.session.votes import VoteRequest

VOTE_ACTIONS = ("vote_open", "vote_cast", "vote_close", "vote_status")


def _names(text: str | None) -> tuple[str, ...]:
    return tuple(s.strip() for s in (text or "").split(",") if s.strip())


def vote_command_data(question: str | None, options: str | None, recorded: bool, voters: str | None,
                      trustees: str | None, threshold: int | None, closes_in: float | None, item: str,
                      deadline: float | None = None) -> str:
    """``vote_open``'s parameters as the command's JSON ``data`` (from the CLI's words)."""
    if not question:
        raise ConfigError("vote-open needs --question TEXT")
    opts = _names(options) or DEFAULT_OPTIONS
    if closes_in is not None and not 0 <= closes_in <= 24 * 3600:
        raise ConfigError("--closes-in must be 0 to 86400 seconds")
    if deadline is not None and not 0 < deadline <= 24 * 3600:
        raise ConfigError("--deadline must be 1 to 86400 seconds")
    return json.dumps({"item": item, "question": question, "options": list(opts), "recorded": recorded,
                       "voters": list(_names(voters)), "trustees": list(_names(trustees)),
                       "threshold": threshold or 0, "closes_in": closes_in or 0.0,
                       **({"deadline": deadline} if deadline else {})})


def request_from(label: str | None, data: str, current_item: str) -> VoteRequest:
    """The :class:`VoteRequest` a ``vote_open`` command carries."""
    if not label:
        raise ConfigError("vote-open needs the vote's label (e.g. item-4/1)")
    try:
        d = json.loads(data)
        return VoteRequest(label, str(d.get("item") or current_item), str(d["question"]),
                           tuple(str(o) for o in d.get("options") or DEFAULT_OPTIONS), bool(d.get("recorded")),
                           tuple(str(v) for v in d.get("voters") or ()), tuple(str(t) for t in d.get("trustees") or ()),
                           int(d.get("threshold") or 0), float(d.get("closes_in") or 0.0),
                           float(d.get("deadline") or DEFAULT_DEADLINE_S))
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise ProtocolError(f"malformed vote-open parameters: {e}") from None


async def _wait(pred: Callable[[], str | None], timeout: float) -> str | None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (why := pred()) is None:
        if loop.time() > deadline:
            return None
        await asyncio.sleep(0.01)
    return why


async def execute_vote(session: Any, action: str, label: str | None, data: str, timeout: float = 10.0) -> tuple[bool, str]:
    """Run one vote command on ``session`` (a DelegateSession); (done, one or more lines)."""
    votes = session.votes
    if action == "vote_status":
        return True, "\n".join(votes.status_lines())
    try:
        if action == "vote_open":
            v = session.meeting_view(session.now)
            vid = votes.open(request_from(label, data, str(v.agenda_index + 1) if v.agenda_index >= 0 else "-"))
        elif action == "vote_cast":
            vid = votes.cast(label, data)
        else:
            vid = votes.close(label)
    except ConfigError as e:
        return False, f"refused: {e}"
    session.flush_votes()
    core = votes.core
    b0 = core.boards.get(vid)
    seen = 0 if b0 is None else len(b0.entries)  # our message's verdict comes after these

    def board_state() -> str | None:
        b = core.boards.get(vid)
        if action == "vote_open":
            if b is not None:
                return ""
            return None
        assert b is not None
        bad = [e for e in b.entries[seen:] if e.rejected and e.sender == core.me]
        if bad:
            return bad[-1].rejected
        if action == "vote_cast":
            return "" if core.me in b.ballots or core.me in b.recorded else None
        return "" if b.stage in ("closed", "tallied") else None

    why = await _wait(board_state, timeout)
    if why is None:
        return False, f"no answer from the relay within {timeout:g} s (it may still arrive)"
    if why:
        return False, f"refused by the room: {why}"
    b = core.boards[vid]
    m = b.manifest
    label = votes.board_view(vid).label
    if action == "vote_open":
        kind = "secret ballot" if m.secret else "recorded vote"
        extra = f"; trustees {', '.join(m.trustees)} ({m.threshold} needed)" if m.secret else ""
        return True, f"ok: {kind} {label} opened on item {m.item}: {m.question} ({len(m.voters)} voters{extra})"
    if action == "vote_cast":
        what = "your secret ballot" if m.secret else f"your vote {data}"
        return True, f"ok: {what} in {label} was accepted ({len(b.ballots) + len(b.recorded)} of {len(m.voters)} voted)"
    return True, f"ok: vote {label} closed; " + "; ".join(votes.status_lines()[-1:])
