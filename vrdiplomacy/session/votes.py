"""Votes in a delegate's session: the :class:`~vrdiplomacy.ballot.protocol.VoteCore` of the client
people run (``vrdiplomacy join``, the recording node), fed from the room's sealed event stream.

:class:`SessionVotes` is the glue (sans-I/O apart from the trustee key files; the clock is passed
in or injected): vote events come in on the signed ``vote`` stream of a secured room exactly as
``vrdiplomacy vote`` reads them (:class:`~vrdiplomacy.net.client_types.RoomEventReceived` with
the verified sender's certificate name; events without one are dropped and counted), what the core
answers goes out on that stream (:meth:`SessionVotes.data_to_send`). On top of the core it

* binds every vote to the **meeting session** (:func:`meeting_nonce`: a hash of the room and the
  room authority's admission key, fresh each time the chair's client starts the room): the chair
  opens ``label@nonce`` and every client rejects an opening of another session;
* keeps the trustee's key shares on disk (``<state>/trustee-keys``, user-only) when the session
  has a state folder, so a restarted trustee can still decrypt;
* closes the chair's votes at their closing time, or once everyone voted when none was set (at
  the latest ``deadline`` after the opening: a recorded vote with absent voters closes then and
  its board shows who did not vote); a secret ballot whose trustees left fails at its deadline,
  its board naming them;
* asks the room for the boards it missed once it is in the verified roster (a restarted trustee's
  new process, a late joiner: :mod:`vrdiplomacy.ballot.sync`), so it shows a vote that closed
  before it joined and a restarted trustee still decrypts;
* turns what happened into meeting notes for the record (:func:`~vrdiplomacy.ballot.notes.meeting_notes`);
* describes the latest vote for the chamber's vote board (:meth:`SessionVotes.board_view`) and
  as text (:meth:`SessionVotes.status_lines`).

:class:`VoteClient` is the session side (a mixin of
:class:`~vrdiplomacy.session.runtime.DelegateSession`): it routes room events here and sends.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vrdiplomacy.ballot import wire as vw
from vrdiplomacy.ballot.election import DEFAULT_OPTIONS, Manifest
from vrdiplomacy.ballot.keystore import TrusteeStore
from vrdiplomacy.ballot.notes import meeting_notes
from vrdiplomacy.ballot.protocol import (
    DEFAULT_DEADLINE_S,
    VoteCore,
    session_vote_id,
    vote_label,
)
from vrdiplomacy.ballot.roles import CHAIR_ROLES, RoleBook, meeting_nonce
from vrdiplomacy.ballot.sync import RESTATE_DONE
from vrdiplomacy.ballot.view import VoteBoardView
from vrdiplomacy.errors import ConfigError, ProtocolError
from vrdiplomacy.meeting.roles import may
from vrdiplomacy.session.meeting_view import MeetingNote

if TYPE_CHECKING:
    from vrdiplomacy.net.client_io import Client
    from vrdiplomacy.net.client_types import RoomEventReceived
    from vrdiplomacy.session.meeting_view import MeetingView
    from vrdiplomacy.session.state import RoomState

log = logging.getLogger("vrdiplomacy.votes")

STREAM = vw.STREAM
KEYS_FOLDER = "trustee-keys"
BOARD_HOLD_S = 600.0  # the board shows a result this long after the tally
DEFAULT_TRUSTEES = 3


@dataclass
class VoteRequest:
    """What the chair asks for. label: the vote's name ("item-4/1"); item: the agenda item;
    question; options; recorded: plain signed choices shown per delegation (else a secret
    ballot); voters / trustees: certificate names (empty: every member whose role may vote / the
    chair and the first voters, :data:`DEFAULT_TRUSTEES` in all); threshold: trustees needed to
    decrypt (0: all but one, at least 1); closes_in: seconds until the chair's client closes it (0:
    once everyone voted, or at ``deadline`` after the opening); deadline: seconds a secret ballot's
    key ceremony, and its tally after the close, may take before the chair's client declares it
    failed, and the latest close of a vote without ``closes_in``."""

    label: str
    item: str
    question: str
    options: tuple[str, ...] = DEFAULT_OPTIONS
    recorded: bool = False
    voters: tuple[str, ...] = ()
    trustees: tuple[str, ...] = ()
    threshold: int = 0
    closes_in: float = 0.0
    deadline: float = DEFAULT_DEADLINE_S


class SessionVotes:
    """The votes of one client (see the module docstring). ``room`` is the session's SecureRoom
    (None in a room without end-to-end encryption: nothing is voted there); ``keys_dir`` where the
    trustee key files go (None: memory only); ``label_of(name)`` how the board names a voter (by
    default its verified certificate name: the same on every client); ``key_of(name)`` the member key of a verified name (for the record)."""

    def __init__(self, room: Any, keys_dir: Path | None = None, clock: Callable[[], float] = time.time) -> None:
        self.room = room
        self.clock = clock
        self.keystore = TrusteeStore(keys_dir) if keys_dir is not None else None
        self.roles = RoleBook(room) if room is not None else None
        self.core: VoteCore | None = None
        self.unverified_dropped = 0
        self.label_of: Callable[[str], str] = lambda name: name
        self.key_of: Callable[[str], int | None] = lambda name: None
        self.latest: str | None = None  # the vote the board shows
        self.shown: VoteBoardView | None = None  # a board handed in from outside (the demo's roll-call), under live votes
        self._tallied_at: dict[str, float] = {}
        self._auto_close: dict[str, float] = {}  # vote id -> the latest close (once everyone voted, or then)
        self._notes: list[MeetingNote] = []
        self._lines: list[str] = []  # what happened, for the log and `meeting vote-status`

    # ------------------------------------------------------------ who we are

    def me(self) -> str | None:
        """Our verified certificate name (once the roster lists us)."""
        r = None if self.room is None else self.room.roster
        idx = None if self.room is None else self.room.session.index
        if r is None or idx is None or idx not in r.members:
            return None
        return str(r.members[idx].identity.name)

    def _core(self) -> VoteCore | None:
        if self.core is None and self.room is not None:
            me = self.me()
            if me is None:
                return None
            roles = self.roles
            assert roles is not None
            if self.nonce() is None:
                return None
            self.core = VoteCore(me, lambda name: roles.role(name) in CHAIR_ROLES, session=lambda: meeting_nonce(self.room),
                                 keystore=self.keystore, present=self.present)
            self.core.request_sync(self.clock())  # the votes we missed (a restart, a late join)
        return self.core

    def present(self) -> list[str]:
        """The verified members in the room, in roster order."""
        r = None if self.room is None else self.room.roster
        return [] if r is None else [m.identity.name for _, m in sorted(r.members.items())]

    def nonce(self) -> str | None:
        return None if self.room is None else meeting_nonce(self.room)

    # ------------------------------------------------------------ input

    def receive(self, ev: RoomEventReceived) -> None:
        """One room event on the vote stream (or carrying the vote tag)."""
        core = self._core()
        if ev.member is None or not ev.verified_sender or core is None:
            self.unverified_dropped += 1
            if self.unverified_dropped == 1:
                log.info("vote events without a verified sender dropped: a vote needs an end-to-end encrypted room")
            return
        core.receive(ev.payload, ev.verified_sender, self.clock())
        self._drain()

    def tick(self) -> None:
        """The chair's closing times and deadlines, and closing once everyone voted."""
        core = self._core()
        if core is None:
            return
        now = self.clock()
        core.tick(now)
        for vid, latest in list(self._auto_close.items()):
            b = core.boards.get(vid)
            if b is None:  # not back from the relay yet
                continue
            if b.stage not in ("open", "ceremony"):
                del self._auto_close[vid]
            elif b.stage == "open" and (not b.not_voted() or now >= latest):
                del self._auto_close[vid]
                core.close(vid)
        self._drain()

    def _drain(self) -> None:
        core = self.core
        assert core is not None
        now = self.clock()
        while (e := core.next_event()) is not None:
            if e.vote_id in core.boards:
                if e.kind in ("opened", "restated"):
                    self.latest = e.vote_id
                if e.kind in ("tallied", "failed"):
                    self._tallied_at[e.vote_id] = now
            line = self._line(e)
            if line:
                self._lines = (self._lines + [line])[-50:]
                log.info("%s", line)
            self._notes.extend(meeting_notes(core, e, now, self.key_of))

    def _line(self, e: Any) -> str:
        label = vote_label(e.vote_id) if e.vote_id else "?"
        if e.kind == "rejected":
            return f"vote {label}: a message from {e.who} rejected: {e.detail}"
        if e.kind == "tallied" and e.result is not None:
            b = self.core.boards.get(e.vote_id) if self.core else None
            absent = b.not_voted() if b is not None else ()
            return (f"vote {label}: verified result " + ", ".join(f"{o} {c}" for o, c in zip(e.result.options, e.result.counts))
                    + (f"; did not vote: {', '.join(self.label_of(v) for v in absent)}" if absent else "")
                    + (" (from before this client joined)" if e.detail == "restated" else ""))
        if e.kind == "restated":
            return f"vote {label}: board restated by {e.who} (it ran before this client joined)"
        if e.kind == "confirmed":
            return f"vote {label}: the restated board confirmed by {e.who}"
        if e.kind in ("opened", "closed", "failed", "ceremony_failed"):
            return f"vote {label}: {e.kind.replace('_', ' ')}" + (f" ({e.detail})" if e.detail else "")
        return ""

    # ------------------------------------------------------------ our actions

    def find(self, label: str | None) -> str:
        """The vote id a label names (None: the latest vote)."""
        core = self.core
        if core is None or not core.boards:
            raise ConfigError("no vote in this meeting yet")
        if label is None:
            if self.latest is None:
                raise ConfigError("no vote in this meeting yet")
            return self.latest
        if label in core.boards:
            return label
        hits = [vid for vid in core.boards if vote_label(vid) == label]
        if not hits:
            raise ConfigError(f"no vote '{label}' (votes: {', '.join(vote_label(v) for v in core.boards)})")
        return hits[-1]

    def voters_by_default(self) -> tuple[str, ...]:
        """Every roster member whose role may vote, in roster order."""
        r = None if self.room is None else self.room.roster
        if r is None:
            return ()
        return tuple(m.identity.name for _, m in sorted(r.members.items()) if may(m.role, "vote"))

    def open(self, req: VoteRequest) -> str:
        """Open a vote as the chair; returns its id (it is open once it comes back from the relay)."""
        if self.room is None:
            raise ConfigError("a vote needs an end-to-end encrypted room (join with --root and an invitation)")
        core = self._core()
        nonce = self.nonce()
        if core is None or nonce is None:
            raise ConfigError("not in the room's verified roster yet; try again in a moment")
        if not self.roles or self.roles.role(core.me) not in CHAIR_ROLES:
            raise ConfigError(f"only the chair opens a vote (your role: {self.roles.role(core.me) if self.roles else '?'})")
        voters = req.voters or self.voters_by_default()
        if not voters:
            raise ConfigError("nobody in the room may vote (no delegate or head of delegation)")
        trustees: tuple[str, ...] = ()
        threshold = 0
        if not req.recorded:
            trustees = req.trustees or tuple(dict.fromkeys((core.me, *voters)))[:DEFAULT_TRUSTEES]
            threshold = req.threshold or max(1, len(trustees) - 1)
        if req.deadline <= 0:
            raise ConfigError(f"a vote's deadline is a positive number of seconds, not {req.deadline:g}")
        closes_at = self.clock() + req.closes_in if req.closes_in > 0 else 0.0
        m = Manifest(session_vote_id(req.label, nonce), req.item, req.question, tuple(req.options), not req.recorded,
                     tuple(voters), trustees, threshold, closes_at, core.me)
        try:
            m.check()
        except ProtocolError as e:
            raise ConfigError(str(e)) from e
        core.open(m)
        core.deadlines[m.vote_id] = req.deadline
        if not req.closes_in:
            self._auto_close[m.vote_id] = self.clock() + req.deadline
        return m.vote_id

    def cast(self, label: str | None, choice: str) -> str:
        core = self.core
        vid = self.find(label)
        assert core is not None
        core.cast(vid, choice)
        return vid

    def close(self, label: str | None) -> str:
        core = self.core
        vid = self.find(label)
        assert core is not None
        core.close(vid)
        return vid

    # ------------------------------------------------------------ output

    def data_to_send(self) -> list[tuple[str, bytes]]:
        return [] if self.core is None else self.core.data_to_send()

    def drain_notes(self) -> list[MeetingNote]:
        out, self._notes = self._notes, []
        return out

    def board_view(self, vote_id: str | None = None) -> VoteBoardView | None:
        """The board of ``vote_id`` (default: the latest vote, until :data:`BOARD_HOLD_S` after its
        result; else :attr:`shown`)."""
        core = self.core
        vid = vote_id or self.latest
        if core is None or vid is None or vid not in core.boards:
            return self.shown if vote_id is None else None
        if vote_id is None and vid in self._tallied_at and self.clock() - self._tallied_at[vid] > BOARD_HOLD_S:
            return self.shown
        st = core.sync_state.get(vid)
        return VoteBoardView.of(core.boards[vid], self.label_of,
                                "" if st is None else self.label_of(st.restated_by),
                                () if st is None else tuple(self.label_of(n) for n in sorted(st.confirmed_by)))

    def notices(self) -> tuple[str, ...]:
        """A line for the delegate's status panel while the latest vote waits for our vote."""
        core = self.core
        vid = self.latest
        if core is None or vid is None or vid not in core.boards:
            return ()
        b = core.boards[vid]
        if b.stage != "open" or core.me not in b.manifest.voters or core.me in b.ballots or core.me in b.recorded:
            return ()
        how = "F1 yes, F2 no, F3 abstain" if b.manifest.options == DEFAULT_OPTIONS else "meeting vote-cast CHOICE"
        return (f"Vote {vote_label(vid)} is open: {how}",)

    def status_lines(self) -> list[str]:
        core = self.core
        if core is None or not core.boards:
            return ["no vote in this meeting yet"]
        out = []
        for vid, b in core.boards.items():
            m = b.manifest
            kind = "secret ballot" if m.secret else "recorded vote"
            out.append(f"vote {vote_label(vid)} ({kind}, item {m.item}): {m.question} — {b.stage}, "
                       f"{len(b.ballots) + len(b.recorded)} of {len(m.voters)} voted")
            st = core.sync_state.get(vid)
            if st is not None:
                out.append(f"  from before this client joined: restated by {self.label_of(st.restated_by)}, "
                           + (f"confirmed by {', '.join(self.label_of(n) for n in sorted(st.confirmed_by))}"
                              if st.confirmed_by else "not confirmed by another member yet")
                           + (f"; disputed by {', '.join(sorted(st.disputed_by))}" if st.disputed_by else ""))
            if b.stage == "failed":
                out.append(f"  {b.failure}")
            elif b.stage in ("ceremony", "closed") and b.absent_trustees():
                out.append(f"  waiting for trustee(s) {', '.join(self.label_of(t) for t in b.absent_trustees())}")
            if b.result is not None:
                out.append("  verified result: " + ", ".join(f"{o} {c}" for o, c in zip(b.result.options, b.result.counts)))
                out.extend(f"    {self.label_of(v)}: {c}" for v, c in b.result.choices)
            if b.stage in ("tallied", "failed") and b.not_voted():
                out.append(f"  did not vote: {', '.join(self.label_of(v) for v in b.not_voted())}")
        if core.sync.restated_boards:
            out.append(f"votes before this client joined: the running ones and the last {RESTATE_DONE} results are "
                       "shown; any earlier ones are in the meeting's record")
        return out

    def report(self) -> dict[str, Any]:
        core = self.core
        return {"votes": 0 if core is None else len(core.boards), "unverified_dropped": self.unverified_dropped,
                **({} if core is None else core.counters.as_dict()),
                **({} if core is None else {f"sync_{k}": v for k, v in vars(core.sync).items()}),
                "results": {} if core is None else {vote_label(v): b.result.as_dict() for v, b in core.boards.items()
                                                    if b.result is not None}}


class VoteClient:
    """The vote methods of a delegate's session (mixed into ``DelegateSession``)."""

    votes: SessionVotes
    client: Client | None
    state: RoomState
    now: float

    if TYPE_CHECKING:
        def meeting_view(self, now: float) -> MeetingView: ...  # MeetingClient's


    def _vote_setup(self, sealer: Any, state_dir: Path | None) -> None:
        from vrdiplomacy.net.secure import SecureRoom

        room = sealer if isinstance(sealer, SecureRoom) else None
        self.votes = SessionVotes(room, None if state_dir is None else state_dir / KEYS_FOLDER)
        self.votes.key_of = self._vote_key

    def vote_key(self, key: str) -> str:
        """A desktop vote key; returns the line the card shows. ``chair_vote`` (V): the chair opens
        a recorded vote on the current agenda item (every delegate and head votes yes / no /
        abstain; it closes once all voted), or closes the one it has open; ``vote_yes`` /
        ``vote_no`` / ``vote_abstain`` (F1, F2, F3): our vote in the latest open vote."""
        v = self.votes
        try:
            if key == "chair_vote":
                core = v.core
                mine = [vid for vid, b in (core.boards.items() if core else ()) if b.manifest.chair == core.me  # type: ignore[union-attr]
                        and b.stage in ("ceremony", "open")]
                if mine:
                    v.close(mine[-1])
                    self.flush_votes()
                    return f"You closed vote {vote_label(mine[-1])}"
                view = self.meeting_view(self.now)
                item = str(view.agenda_index + 1) if view.agenda_index >= 0 else "1"
                n = 1 + sum(1 for b in (core.boards.values() if core else ()) if b.manifest.item == item)
                question = f"Adopt: {view.agenda_item}" if view.agenda_item else "Adopt the proposal before the meeting?"
                vid = v.open(VoteRequest(f"item-{item}/{n}", item, question, recorded=True))
                self.flush_votes()
                return f"You opened a recorded vote on item {item} ({vote_label(vid)})"
            if key in ("vote_yes", "vote_no", "vote_abstain"):
                choice = key[len("vote_"):]
                vid = v.cast(None, choice)
                self.flush_votes()
                return f"You voted {choice} in {vote_label(vid)}"
        except ConfigError as e:
            return str(e)
        return f"unknown vote key {key!r}"

    def _vote_key(self, name: str) -> int | None:
        """The member key of a verified name (ours included; one who left is still found)."""
        st = self.state
        if name == self.votes.me():
            return int(st.me)
        for members in (st.members, st.left_members):
            for k, m in members.items():
                if m.identity == name:
                    return int(k)
        return None

    def _vote_event(self, ev: RoomEventReceived) -> bool:
        """Route one room event to the votes if it is theirs; True if it was."""
        if ev.stream != STREAM and not vw.is_vote(ev.payload):
            return False
        self.votes.receive(ev)
        self.flush_votes()
        return True

    def _vote_tick(self) -> None:
        self.votes.tick()
        self.flush_votes()

    def flush_votes(self) -> None:
        if self.client is None:
            return
        for stream, payload in self.votes.data_to_send():
            self.client.send_event(payload, stream=stream)
