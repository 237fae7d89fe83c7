"""The meeting's procedure as a deterministic state machine (sans-I/O).

Every client folds the same procedure actions (:class:`~vrdiplomacy.meeting.wire.MeetingAction`)
in the relay's order with the relay's time stamps, so every client holds the same state: the
speakers' list, who holds the floor and until when, who is muted, the agenda and the phase. The
relay folds the same actions (keyed by relay client ids instead of member keys) to route: the
floor holder is heard room-wide, a muted member's voice is dropped.

Rules:

* **Order.** ``apply(sender, action, stamp_ms)`` first lets the clock run to ``stamp_ms`` (the
  relay's stamp, never decreasing), then applies the action. An action the sender's role may not
  take (:data:`~vrdiplomacy.meeting.wire.PERMISSION_OF`, :mod:`~vrdiplomacy.meeting.roles`) or
  that makes no sense (a grant with nobody waiting, a yield by someone not speaking) changes
  nothing and is counted in :attr:`Procedure.ignored` by reason.
* **Speakers' list.** A raised hand (``REQUEST``) joins the end; a point of order goes before
  everything but earlier points of order; a right of reply after the points of order and earlier
  replies, before the speakers. A member is on the list at most once per kind.
* **Timer.** A grant starts a turn of ``limit_ms`` (the grant's value, else the time the chair set
  with ``SET_TIME``; 0: unlimited). When the procedure clock reaches ``granted_ms + limit_ms`` the
  turn ends and the floor passes to the first in line, whose turn starts at that very deadline
  (not when someone noticed), so the passing is the same on every client. With nobody waiting
  the floor is open. :meth:`Procedure.at` shows the state at any later time without changing it
  (what the screens show between two actions).
* **Leaving.** A member who leaves keeps its place until the chair's ``CLEAR`` (the chair's
  client sends it when it sees the member go), so a departure, which members learn at different
  places in the event order, never makes their states differ.

Everything that happened is noted (:class:`Note`, drained with :meth:`Procedure.drain_notes`)
for the record: requests, withdrawals, grants, revocations, statements begun and ended, time
set, mutes, points of order, replies, agenda and phase changes, role claims.
"""

from __future__ import annotations

import collections
import copy
from collections.abc import Callable
from dataclasses import dataclass

from vrdiplomacy.errors import ProtocolError
from vrdiplomacy.meeting import wire
from vrdiplomacy.meeting.roles import DEFAULT_ROLE, may, role_index, role_name
from vrdiplomacy.session.meeting_view import PHASES

SPEAKER, POINT_OF_ORDER, REPLY = 0, 1, 2
KIND_NAMES = ("speaker", "point_of_order", "reply")
MAX_NOTES = 4096
MAX_AGENDA = 64


@dataclass(frozen=True)
class Note:
    """One happening: procedure time ``at_ms`` (the relay's clock), ``kind`` (a
    :class:`~vrdiplomacy.session.meeting_view.MeetingNote` kind), who did it (``actor``; None: the
    procedure itself, e.g. the timer), to whom (``subject``), a number (``value``: ms, item, ...)
    and the ``reason`` or text."""

    at_ms: int
    kind: str
    actor: int | None
    subject: int | None
    value: int = 0
    text: str = ""


class Procedure:
    """The meeting's procedure state (see the module docstring).

    ``role_of(key)`` gives a member's role (a secured room: the roster's); without it roles are
    the claimed ones (``CLAIM_ROLE``, first claim kept; :data:`~vrdiplomacy.meeting.roles.DEFAULT_ROLE`
    before any claim).
    """

    def __init__(self, role_of: Callable[[int], str] | None = None) -> None:
        self.role_of = role_of
        self.claimed: dict[int, str] = {}
        self.queue: list[tuple[int, int]] = []  # (member, kind), first in line first
        self.speaker: int | None = None
        self.speaker_kind = SPEAKER
        self.granted_ms = 0
        self.limit_ms = 0
        self.default_ms = 0
        self.muted: set[int] = set()
        self.agenda: tuple[str, ...] = ()
        self.agenda_index = -1
        self.phase = PHASES[0]
        self.clock_ms = 0
        self.applied = 0
        self.ignored: collections.Counter[str] = collections.Counter()
        self._notes: collections.deque[Note] = collections.deque(maxlen=MAX_NOTES)
        self._noting = True

    # ------------------------------------------------------------ queries

    def role(self, key: int) -> str:
        if self.role_of is not None:
            return self.role_of(key)
        return self.claimed.get(key, DEFAULT_ROLE)

    def position(self, key: int) -> int | None:
        """1-based first place of ``key`` on the list (None: not waiting)."""
        for i, (k, _) in enumerate(self.queue, 1):
            if k == key:
                return i
        return None

    @property
    def deadline_ms(self) -> int | None:
        """When the current turn ends (None: nobody speaks, or no limit)."""
        if self.speaker is None or not self.limit_ms:
            return None
        return self.granted_ms + self.limit_ms

    def remaining_ms(self, now_ms: int) -> int:
        d = self.deadline_ms
        return 0 if d is None else d - now_ms

    def at(self, now_ms: int) -> Procedure:
        """The state as it will be at ``now_ms`` if no action comes first (timers run out); a copy."""
        d = self.deadline_ms
        if d is None or now_ms < d:
            return self
        p = copy.copy(self)
        p.queue = list(self.queue)
        p.muted = set(self.muted)
        p.ignored = collections.Counter()
        p._notes = collections.deque(maxlen=8)
        p._noting = False
        p.advance(now_ms)
        return p

    def state_key(self) -> tuple[object, ...]:
        """Everything two clients must agree on (for tests and checks)."""
        return (tuple(self.queue), self.speaker, self.speaker_kind, self.granted_ms, self.limit_ms, self.default_ms,
                tuple(sorted(self.muted)), self.agenda, self.agenda_index, self.phase)

    # ------------------------------------------------------------ input

    def advance(self, now_ms: int) -> None:
        """Let the procedure clock run to ``now_ms``: turns whose time is up end, the floor passes."""
        while (d := self.deadline_ms) is not None and d <= now_ms:
            ended = self.speaker
            self._end_statement(d, None, "time")
            if self.queue:
                k, kind = self.queue.pop(0)
                self._grant(k, kind, d, self.default_ms, None)
            else:
                self._note(d, "floor_open", None, ended, 0, "time up, nobody waiting")
        self.clock_ms = max(self.clock_ms, now_ms)

    def apply(self, sender: int, a: wire.MeetingAction, stamp_ms: int, check: bool = True) -> bool:
        """Fold in member ``sender``'s action stamped ``stamp_ms``; True when it changed something.
        ``check=False`` skips the role check (actions checked when they were stored)."""
        self.advance(stamp_ms)
        t = self.clock_ms
        perm = wire.PERMISSION_OF.get(a.action)
        if a.action == wire.CLAIM_ROLE:
            return self._claim(sender, a, t)
        if check and perm is not None and not may(self.role(sender), perm):
            return self._ignore("not_permitted")
        ok = self._dispatch(sender, a, t, check)
        if ok:
            self.applied += 1
        return ok

    def _dispatch(self, sender: int, a: wire.MeetingAction, t: int, check: bool = True) -> bool:
        act, subj = a.action, a.subject
        who = None if subj == wire.NOBODY else subj
        if act == wire.REQUEST:
            return self._enqueue(sender, SPEAKER, t, "floor_requested")
        if act == wire.POINT_OF_ORDER:
            return self._enqueue(sender, POINT_OF_ORDER, t, "point_of_order")
        if act == wire.RIGHT_OF_REPLY:
            return self._enqueue(sender, REPLY, t, "right_of_reply")
        if act == wire.WITHDRAW:
            before = len(self.queue)
            self.queue = [(k, kind) for k, kind in self.queue if k != sender]
            if len(self.queue) == before:
                return self._ignore("not_waiting")
            self._note(t, "floor_withdrawn", sender, sender)
            return True
        if act == wire.GRANT:
            return self._grant_action(sender, who, a.value, t, check)
        if act == wire.REVOKE:
            if self.speaker is None or (who is not None and who != self.speaker):
                return self._ignore("not_speaking")
            revoked = self.speaker
            self._end_statement(t, sender, "revoked")
            self._note(t, "floor_revoked", sender, revoked)
            return True
        if act == wire.YIELD:
            if self.speaker != sender:
                return self._ignore("not_speaking")
            self._end_statement(t, sender, "yielded")
            return True
        if act == wire.SET_TIME:
            self.default_ms = a.value
            if self.speaker is not None:
                self.limit_ms = a.value
            self._note(t, "time_set", sender, self.speaker, a.value)
            self.advance(t)  # a turn already longer than the new time ends now
            return True
        if act in (wire.MUTE, wire.UNMUTE):
            if who is None:
                return self._ignore("no_subject")
            if act == wire.MUTE:
                if who in self.muted:
                    return self._ignore("already")
                self.muted.add(who)
                self._note(t, "muted", sender, who)
            else:
                if who not in self.muted:
                    return self._ignore("already")
                self.muted.discard(who)
                self._note(t, "unmuted", sender, who)
            return True
        if act == wire.CLEAR:
            if who is None:
                return self._ignore("no_subject")
            had = any(k == who for k, _ in self.queue) or self.speaker == who
            self.queue = [(k, kind) for k, kind in self.queue if k != who]
            if self.speaker == who:
                self._end_statement(t, sender, "left")
            if not had:
                return self._ignore("not_waiting")
            self._note(t, "cleared", sender, who)
            return True
        if act == wire.AGENDA:
            try:
                items = tuple(x.strip() for x in a.text.split("\n") if x.strip()) if a.data else ()
            except ProtocolError:
                return self._ignore("malformed")
            if len(items) > MAX_AGENDA:
                return self._ignore("malformed")
            self.agenda = items
            self.agenda_index = a.value if a.value < len(items) else -1
            self._note(t, "agenda_set", sender, None, len(items), " | ".join(items))
            return True
        if act == wire.AGENDA_ITEM:
            if a.value >= len(self.agenda):
                return self._ignore("no_such_item")
            self.agenda_index = a.value
            self._note(t, "agenda_item", sender, None, a.value, self.agenda[a.value])
            return True
        if act == wire.PHASE:
            if a.value >= len(PHASES):
                return self._ignore("no_such_phase")
            self.phase = PHASES[a.value]
            self._note(t, "phase", sender, None, a.value, self.phase)
            return True
        return self._ignore("not_an_action")  # SNAPSHOT is the session glue's

    # ------------------------------------------------------------ helpers

    def _claim(self, sender: int, a: wire.MeetingAction, t: int) -> bool:
        if self.role_of is not None:
            return self._ignore("roles_from_roster")
        try:
            role = role_name(a.value)
        except ProtocolError:
            return self._ignore("malformed")
        if sender in self.claimed:
            return self._ignore("already" if self.claimed[sender] == role else "role_fixed")
        self.claimed[sender] = role
        self._note(t, "role_claimed", sender, sender, a.value, role)
        return True

    def _enqueue(self, key: int, kind: int, t: int, note: str) -> bool:
        if (key, kind) in self.queue:
            return self._ignore("already")
        if kind == SPEAKER and key == self.speaker:
            return self._ignore("speaking")
        if kind == SPEAKER:
            at = len(self.queue)
        elif kind == POINT_OF_ORDER:  # points of order first, then replies, each in the order asked
            at = next((i for i, (_, k) in enumerate(self.queue) if k != POINT_OF_ORDER), len(self.queue))
        else:
            at = next((i for i, (_, k) in enumerate(self.queue) if k == SPEAKER), len(self.queue))
        self.queue.insert(at, (key, kind))
        self._note(t, note, key, key, at + 1)
        return True

    def _grant_action(self, chair: int, who: int | None, value: int, t: int, check: bool = True) -> bool:
        if who is None:
            if not self.queue:
                return self._ignore("nobody_waiting")
            who, kind = self.queue.pop(0)
        else:
            if check and not may(self.role(who), "ask_floor"):
                return self._ignore("subject_not_permitted")
            first = next(((k, kind) for k, kind in self.queue if k == who), None)
            kind = first[1] if first is not None else SPEAKER
            if first is not None:
                self.queue.remove(first)
        self._end_statement(t, chair, "next speaker")
        self._grant(who, kind, t, value or self.default_ms, chair)
        return True

    def _grant(self, who: int, kind: int, t: int, limit_ms: int, chair: int | None) -> None:
        self.speaker, self.speaker_kind, self.granted_ms, self.limit_ms = who, kind, t, limit_ms
        self._note(t, "floor_granted", chair, who, limit_ms, KIND_NAMES[kind])
        self._note(t, "statement_began", who, who, limit_ms, KIND_NAMES[kind])

    def _end_statement(self, t: int, actor: int | None, reason: str) -> None:
        if self.speaker is None:
            return
        self._note(t, "statement_ended", actor, self.speaker, t - self.granted_ms, reason)
        self.speaker, self.speaker_kind, self.granted_ms, self.limit_ms = None, SPEAKER, 0, 0

    def _ignore(self, reason: str) -> bool:
        self.ignored[reason] += 1
        return False

    def _note(self, t: int, kind: str, actor: int | None, subject: int | None, value: int = 0, text: str = "") -> None:
        if self._noting:
            self._notes.append(Note(t, kind, actor, subject, value, text))

    def drain_notes(self) -> list[Note]:
        out = list(self._notes)
        self._notes.clear()
        return out

    # ------------------------------------------------------------ snapshots

    def snapshot(self, based_on: int) -> wire.Snapshot:
        return wire.Snapshot(based_on, wire.NOBODY if self.speaker is None else self.speaker, self.speaker_kind,
                             self.granted_ms, self.limit_ms, self.default_ms, self.clock_ms, PHASES.index(self.phase),
                             self.agenda_index, tuple(self.queue), tuple(sorted(self.muted)), self.agenda,
                             tuple(sorted((k, role_index(r)) for k, r in self.claimed.items())))

    def restore(self, s: wire.Snapshot) -> None:
        """Take the chair's snapshot as our state (a member who joined late; nothing is noted)."""
        if not 0 <= s.phase < len(PHASES) or any(kind not in (SPEAKER, POINT_OF_ORDER, REPLY) for _, kind in s.queue):
            raise ProtocolError("snapshot: phase or list entry out of range")
        self.queue = list(s.queue)
        self.speaker = None if s.speaker == wire.NOBODY else s.speaker
        self.speaker_kind, self.granted_ms, self.limit_ms = s.speaker_kind, s.granted_ms, s.limit_ms
        self.default_ms, self.clock_ms = s.default_ms, s.clock_ms
        self.muted = set(s.muted)
        self.agenda, self.agenda_index, self.phase = s.agenda, s.agenda_index, PHASES[s.phase]
        self.claimed = {k: role_name(r) for k, r in s.claims}
