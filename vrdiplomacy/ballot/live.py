"""A vote client in a secured room on a relay: the I/O around :class:`~vrdiplomacy.ballot.protocol.VoteCore`.

:func:`run_live` connects (TLS to the relay, the end-to-end layer of
:class:`~vrdiplomacy.net.secure.SecureRoom`), feeds every opened, verified vote event to the core
(the sender is the member whose signature verified, never the relay's client id) and sends what
the core answers on the ``vote`` stream. Depending on :class:`LiveVote`:

* the **chair** waits until every voter and trustee of its manifest is in the signed roster, opens
  the vote, closes it at ``closes_in`` seconds (or when everyone has voted) and waits for the tally;
* a **voter** waits for the vote, casts its choice and waits for its ballot to come back accepted
  (then for the tally, if it is also a trustee or asked to);
* a **trustee** runs its part of the key ceremony and the decryption by itself while it follows.

Whatever its part, a client says whom the vote waits for whenever that changes (at most every
:data:`WAIT_REPORT_S` within a stage; :func:`waiting_for`): the voters and trustees not in the
roster yet, the trustees of the key ceremony, the voters who have not voted, the trustees of the
tally. A timeout names them too.

Vote events that come without a verified sender (a room without end-to-end encryption) are
dropped: a vote needs signed events. Who may chair is read from the signed roster (room role
chair or host). It writes the board (JSON) when asked, for ``vrdiplomacy vote verify``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from vrdiplomacy.ballot.board import Board, Result
from vrdiplomacy.ballot.election import Manifest
from vrdiplomacy.ballot.protocol import VoteCore, VoteEvent, session_vote_id, vote_label
from vrdiplomacy.ballot.roles import CHAIR_ROLES, RoleBook, meeting_nonce, roster_names
from vrdiplomacy.errors import ConfigError, VrdError


@dataclass
class LiveVote:
    """What this client does. vote_id: the vote's label ("item-4/1"; the chair's client adds the
    meeting session's nonce to the id it opens, and everyone finds the vote by its label); manifest: open it (chair); choice: cast
    it (voter); closes_in: the chair closes after that many seconds (0: when all voted);
    until: "tallied" (default) or "cast" (a voter leaves once its ballot was accepted);
    board: write the board there at the end; timeout: give up after that many seconds; settle:
    the chair opens once everyone has been in the roster this long (a member just admitted needs
    a moment for the senders' keys: an event sealed before it has them does not open there)."""

    vote_id: str
    manifest: Manifest | None = None
    choice: str | None = None
    closes_in: float = 0.0
    until: str = "tallied"
    board: Path | None = None
    timeout: float = 120.0
    settle: float = 1.5


class VoteTimeout(VrdError):
    """The vote did not reach the awaited stage in time, or failed (its board says why)."""


WAIT_REPORT_S = 5.0  # within one stage, a changed wait line is said at most this often


def name_list(names: Sequence[str], most: int = 10) -> str:
    """``names`` in a sentence: "France", "France and Italy", "France, Germany and Italy"; past
    ``most`` names, the first ``most`` and "and 12 more"."""
    if len(names) > most:
        return ", ".join(names[:most]) + f" and {len(names) - most} more"
    return " and ".join(n for n in (", ".join(names[:-1]), names[-1] if names else "") if n)


def waiting_for(b: Board | None, missing: Sequence[str] = (), expected: int = 0) -> str:
    """Whom a vote waits for, in a sentence ("" when nobody): before the opening, the ``missing``
    of the ``expected`` voters and trustees who are not in the room's roster yet; then the trustees
    of the key ceremony, the voters who have not voted, the trustees of the tally."""
    if b is None:
        return (f"waiting for {name_list(missing)} to join the room ({len(missing)} of the {expected} voters and "
                "trustees not in its roster yet)") if missing else ""
    m = b.manifest

    def trustees(absent: Sequence[str]) -> str:
        return f"trustee{'s' if len(absent) > 1 else ''} {name_list(absent)}"
    if b.stage == "ceremony" and (absent := b.absent_trustees()):
        return f"key ceremony: waiting for {trustees(absent)}"
    if b.stage == "open" and (left := b.not_voted()):
        return f"waiting for {name_list(left)} to vote ({len(m.voters) - len(left)} of {len(m.voters)} voted)"
    if b.stage == "closed" and (absent := b.absent_trustees()):
        return (f"tally: waiting for {trustees(absent)} to decrypt ({len(b.partials)} of the {m.threshold} "
                "partial decryptions needed are in)")
    return ""


async def run_live(client: Any, room: Any, me: str, job: LiveVote, say: Callable[[str], None] = print,
                   clock: Callable[[], float] = time.time) -> Result | None:
    """Run ``job`` over a connected ``client`` (``vrdiplomacy.net.client_io.Client``) whose sealer
    is ``room`` (a ``SecureRoom``); returns the result (None if leaving after a cast)."""
    from vrdiplomacy.net.client_core import RoomEventReceived
    from vrdiplomacy.net.secure import RoomCodeChanged

    roles = RoleBook(room)
    core = VoteCore(me, lambda name: roles.role(name) in CHAIR_ROLES, session=lambda: meeting_nonce(room))
    label = vote_label(job.vote_id)  # the vote's id carries the meeting session's nonce: found by label

    def board() -> Board | None:
        hits = [b for vid, b in core.boards.items() if vote_label(vid) == label]
        return hits[-1] if hits else None
    start = clock()
    opened = closed = cast_sent = False
    dropped = 0
    all_present_since: float | None = None
    missing: list[str] = []
    waiting, said_wait, said_stage, said_at = "", "", "", 0.0

    def flush() -> None:
        for stream, payload in core.data_to_send():
            client.send_event(payload, stream=stream)

    def show(e: VoteEvent) -> None:
        if vote_label(e.vote_id) != label and e.kind != "rejected":
            return
        if e.kind == "rejected":
            say(f"vote {e.vote_id or '?'}: rejected from {e.who}: {e.detail}")
        elif e.kind == "tallied" and e.result is not None:
            say(f"vote {e.vote_id}: result " + ", ".join(f"{o} {c}" for o, c in zip(e.result.options, e.result.counts))
                + "".join(f"\n  {v}: {c}" for v, c in e.result.choices))
        elif e.kind == "accepted":
            say(f"vote {e.vote_id}: ballot of {e.who} accepted")
        else:
            say(f"vote {e.vote_id}: {e.kind}" + (f" ({e.detail})" if e.detail else ""))

    while True:
        now = clock()
        if now - start > job.timeout:
            b = board()
            raise VoteTimeout(f"vote {job.vote_id}: still {b.stage if b else 'not open'} after {job.timeout:g} s"
                              + (f"; {waiting}" if waiting else ""))
        ev = await client.next_event(timeout=0.05)
        if isinstance(ev, RoomCodeChanged):
            say(f"room code: {ev.code}")
        if isinstance(ev, RoomEventReceived) and ev.stream == "vote":
            if ev.member is None or not ev.verified_sender:
                dropped += 1
                if dropped == 1:
                    say("vote events without a verified sender dropped: a vote needs an end-to-end encrypted room")
            else:
                core.receive(ev.payload, ev.verified_sender, now)
        m = job.manifest
        if m is not None and not opened:
            present = roster_names(room)
            missing = [n for n in dict.fromkeys((*m.voters, *m.trustees)) if n not in present]
            all_present_since = None if missing else (all_present_since if all_present_since is not None else now)
            nonce = meeting_nonce(room)
            if all_present_since is not None and now - all_present_since >= job.settle \
                    and present.get(me, "") in CHAIR_ROLES and nonce is not None:
                m = replace(m, vote_id=session_vote_id(label, nonce))
                core.open(m if not job.closes_in else replace(m, closes_at=now + job.closes_in))
                opened = True
                say(f"vote {m.vote_id}: opening ({'secret' if m.secret else 'recorded'}, {len(m.voters)} voters)")
        b = board()
        if b is not None and job.choice is not None and b.stage == "open" and me in b.manifest.voters \
                and me not in b.ballots and me not in b.recorded and not cast_sent:
            core.cast(b.manifest.vote_id, job.choice)
            cast_sent = True
        if b is not None and m is not None and not closed and b.stage == "open" and not job.closes_in \
                and len(b.ballots) + len(b.recorded) == len(b.manifest.voters):
            core.close(b.manifest.vote_id)
            closed = True
        core.tick(now)
        flush()
        while (e := core.next_event()) is not None:
            show(e)
        b = board()
        if m is not None and not opened:
            waiting, stage = waiting_for(None, missing, len(set(m.voters) | set(m.trustees))), "joining"
        else:
            waiting, stage = (waiting_for(b), b.stage) if b is not None else ("", "")
        if waiting and waiting != said_wait and (stage != said_stage or now - said_at >= WAIT_REPORT_S):
            say(f"vote {b.manifest.vote_id if b is not None else label}: {waiting}")
            said_wait, said_stage, said_at = waiting, stage, now
        if b is not None:
            if job.until == "cast" and (me in b.ballots or me in b.recorded):
                return None
            if b.stage == "failed":
                raise VoteTimeout(f"vote {b.manifest.vote_id} failed: {b.failure}")
            if b.result is not None and b.stage == "tallied" and core.trustee_done(b.manifest.vote_id):
                if job.board is not None:
                    job.board.write_text(b.to_json())
                    say(f"board written to {job.board}")
                return b.result


def check_job(job: LiveVote) -> None:
    from vrdiplomacy.crypto.roster import MAX_MEMBERS

    if job.until not in ("tallied", "cast"):
        raise ConfigError("--until is tallied or cast")
    m = job.manifest
    if m is not None and len(members := {*m.voters, *m.trustees, m.chair}) > MAX_MEMBERS:
        raise ConfigError(f"the vote names {len(members)} voters, trustees and chair, but a room's roster holds "
                          f"at most {MAX_MEMBERS} members and the chair opens only once all of them are in it")
    if job.manifest is not None and "@" in job.vote_id:
        raise ConfigError(f"a vote's label has no '@' (the meeting session's nonce is added to it): {job.vote_id!r}")
    if job.until == "cast" and job.choice is None:
        raise ConfigError("--until cast needs a choice to cast")


async def connect_and_run(relay: str, fingerprint: str, room_name: str, seat: str, identity: Any, admission: Any,
                          authority: Any, job: LiveVote, say: Callable[[str], None] = print) -> Result | None:
    """Join ``room_name`` on ``relay`` as ``identity`` ((LocalIdentity, roots, name), see
    ``room_code_cli.load_delegate``) with ``admission`` and run ``job``."""
    from vrdiplomacy.app.addresses import parse_fingerprint, parse_host_port
    from vrdiplomacy.net.client_io import connect
    from vrdiplomacy.net.room_code_cli import admission_settings
    from vrdiplomacy.net.secure import SecureRoom

    me, roots, name = identity
    host, port = parse_host_port(relay)
    room = SecureRoom(room_name, me, roots, admission_settings(admission), authority=authority)
    async with connect(host, port, parse_fingerprint(fingerprint), name, seat, room=room_name, sealer=room,
                       admission=admission) as c:
        say(f"joined room {room_name!r} as {name}")
        return await run_live(c, room, name, job, say)
