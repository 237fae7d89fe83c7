"""The meeting layer (sans-I/O): raised hands, and the procedure as one client folds it.

:class:`MeetingSession` is a client's side of the meeting's procedure
(:mod:`vrdiplomacy.meeting`): the speakers' list, floor, timer, mutes, agenda and phase, folded
from signed procedure actions in the relay's order and with the relay's time stamps. It is what
``DelegateSession.meeting_view`` shows.

:class:`FloorQueue` (below) is the older local list of raised hands, kept as the avatars' "hand
raised" indicator:

Gestures that mean something in a meeting end up here: a raised hand (``raise_hand`` start)
requests the floor, a lowered hand (``lower_hand`` start) withdraws the request. Requests are
kept in the order they were made. Room events reach every client, the sender too, in the
relay's order, so every client that feeds the gestures it receives into its own
:class:`FloorQueue` holds the same queue. The chair grants the floor to the first in line
(:meth:`FloorQueue.grant_next`); the speaker's request leaves the queue when granted.

Requests are keyed by member: in a secured room the roster index of the member whose key opened
and whose signature verified the raised hand (a relay cannot queue France's hand under the
Chair's name); in a room without end-to-end encryption, the relay's client id. The field keeps
its historical name ``client_id``.
"""

from __future__ import annotations

import collections
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from vrdiplomacy.errors import ProtocolError
from vrdiplomacy.gestures.events import GestureEvent
from vrdiplomacy.gestures.types import Gesture
from vrdiplomacy.meeting import wire
from vrdiplomacy.meeting.procedure import Note, Procedure
from vrdiplomacy.meeting.roles import may

KINDS = ("requested", "withdrawn", "granted", "released")


@dataclass(frozen=True)
class FloorRequest:
    """A delegate (member key ``client_id``, see the module docstring) waiting for the floor since ``since`` (seconds)."""

    client_id: int
    since: float


@dataclass(frozen=True)
class FloorEvent:
    """A change of the floor for the UI: ``kind`` (one of :data:`KINDS`), who, when."""

    kind: str
    client_id: int
    time: float


class FloorQueue:
    """Floor requests in the order they were made, and the current speaker (None: nobody).

    Asking twice keeps the first place; withdrawing without a request changes nothing (both are
    counted in :attr:`ignored`). Every change is queued as a :class:`FloorEvent`
    (:meth:`next_event`).
    """

    def __init__(self) -> None:
        self._queue: dict[int, FloorRequest] = {}
        self.speaker: int | None = None
        self.ignored = 0
        self._events: deque[FloorEvent] = deque(maxlen=1024)

    @property
    def queue(self) -> list[int]:
        """Member keys waiting for the floor, first in line first."""
        return list(self._queue)

    def position(self, client_id: int) -> int | None:
        """1-based place in the queue, or None when not waiting."""
        for i, cid in enumerate(self._queue, 1):
            if cid == client_id:
                return i
        return None

    def request(self, client_id: int, now: float) -> bool:
        """``client_id`` asks for the floor; False when already waiting or speaking."""
        if client_id in self._queue or client_id == self.speaker:
            self.ignored += 1
            return False
        self._queue[client_id] = FloorRequest(client_id, now)
        self._events.append(FloorEvent("requested", client_id, now))
        return True

    def withdraw(self, client_id: int, now: float) -> bool:
        """``client_id`` withdraws its request; False when it had none."""
        if self._queue.pop(client_id, None) is None:
            self.ignored += 1
            return False
        self._events.append(FloorEvent("withdrawn", client_id, now))
        return True

    def grant_next(self, now: float) -> int | None:
        """Give the floor to the first in line (the previous speaker's turn ends); its id or None."""
        if not self._queue:
            return None
        self.release(now)
        cid = next(iter(self._queue))
        del self._queue[cid]
        self.speaker = cid
        self._events.append(FloorEvent("granted", cid, now))
        return cid

    def release(self, now: float) -> None:
        """The speaker's turn ends."""
        if self.speaker is not None:
            self._events.append(FloorEvent("released", self.speaker, now))
            self.speaker = None

    def member_left(self, client_id: int, now: float) -> None:
        """A delegate left the room: its request and its turn end."""
        if client_id in self._queue:
            self.withdraw(client_id, now)
        if client_id == self.speaker:
            self.release(now)

    def on_gesture(self, sender: int, ev: GestureEvent, now: float) -> bool:
        """Fold in a gesture of member ``sender`` (its verified key in a secured room); True when it
        meant something here."""
        if ev.phase != "start":
            return False
        if ev.gesture is Gesture.RAISE_HAND:
            return self.request(sender, now)
        if ev.gesture is Gesture.LOWER_HAND:
            return self.withdraw(sender, now)
        return False

    def next_event(self) -> FloorEvent | None:
        return self._events.popleft() if self._events else None


# ---------------------------------------------------------------- the procedure in a session

MAX_BUFFER = 4096
SKEW_SAMPLES = 64
_NOTE_TEXT = {
    "floor_requested": "{a} asked for the floor",
    "floor_withdrawn": "{a} withdrew the request for the floor",
    "point_of_order": "{a} raised a point of order",
    "right_of_reply": "{a} asked for the right of reply",
    "floor_granted": "{a} gave the floor to {s}",
    "floor_revoked": "{a} took the floor from {s}",
    "floor_open": "Time is up for {s}; the floor is open",
    "statement_began": "{s} began a statement",
    "statement_ended": "{s} ended the statement ({t})",
    "time_set": "{a} set the speaking time to {v}",
    "muted": "{a} muted {s}",
    "unmuted": "{a} unmuted {s}",
    "agenda_set": "{a} set the agenda: {t}",
    "agenda_item": "{a} moved to agenda item {n}: {t}",
    "joint_text": "Joint text at the close of agenda item {n}: {t}",  # session/drafting.py
    "phase": "{a} opened the {t} phase",
    "role_claimed": "{a} claimed the role {t}",
    "cleared": "{a} cleared {s} from the list",
    "joined": "{s} joined",
    "left": "{s} left",
}


@dataclass(frozen=True)
class Pending:
    """A procedure action to send: the signed ``body`` and the relay-visible ``header``."""

    body: bytes
    header: bytes


class MeetingSession:
    """One client's side of the meeting's procedure (sans-I/O glue; see :mod:`vrdiplomacy.meeting`).

    * **out**: :meth:`act` builds a :class:`~vrdiplomacy.meeting.wire.MeetingAction` and its
      header (the subject's relay client id from ``client_id_of``) and queues it
      (:meth:`data_to_send`: body and header for ``Client.send_event(body, "floor", header)``);
    * **in**: :meth:`receive` folds a room event that is a meeting frame, from member ``sender``
      (the verified roster member in a secured room), into :attr:`procedure`: a frame whose header
      does not match its signed action, a malformed one, or one the sender's role may not take is
      ignored and counted (:attr:`counters`, :attr:`Procedure.ignored`) and changes nothing;
    * **late joiners**: room events from before a join are not replayed, so the chair's client
      sends a :class:`~vrdiplomacy.meeting.wire.Snapshot` when it sees a member arrive
      (:meth:`member_joined`); a client adopts the first snapshot of a member who may chair and
      folds again the actions it received after the snapshot's ``based_on`` room event;
    * **time**: the procedure runs on the relay's stamps (UNIX ms); :meth:`relay_ms` estimates the
      relay's clock from the local one (the largest of the recent ``stamp - arrival`` samples).

    ``roles`` (a secured room) is the roster's role of each member key, kept up to date by the
    session; None: a plain room, roles are claimed.
    """

    def __init__(self, roles: dict[int, str] | None = None) -> None:
        self.roles = roles
        role_of = (lambda k: roles.get(k, "guest")) if roles is not None else None
        self.procedure = Procedure(role_of)
        self.me = 0
        self.counters: collections.Counter[str] = collections.Counter()
        self.synced = False
        self.last_seq = 0
        self.refusals: deque[str] = deque(maxlen=16)
        self.sent_at: dict[int, float] = {}  # client event seq -> local ms (for acknowledgements)
        self.acked: deque[tuple[int, int]] = deque(maxlen=256)  # (action, stamp_ms) of our own actions seen back
        self._out: deque[Pending] = deque()
        self._snapshot_due = False
        self._buffer: deque[tuple[int, int, wire.MeetingAction, int]] = deque(maxlen=MAX_BUFFER)
        self._skew: deque[int] = deque(maxlen=SKEW_SAMPLES)
        self._skew_ms = 0
        self._notes: deque[Note] = deque(maxlen=4096)

    # ------------------------------------------------------------ queries

    def role(self, key: int) -> str:
        return self.procedure.role(key)

    def may(self, key: int, permission: str) -> bool:
        return may(self.role(key), permission)

    def relay_ms(self, local_ms: int) -> int:
        """The relay's clock now, from ours."""
        return local_ms + self._skew_ms

    def at(self, local_ms: int) -> Procedure:
        """The procedure as it stands at local time ``local_ms`` (timers run out between actions)."""
        return self.procedure.at(self.relay_ms(local_ms))

    # ------------------------------------------------------------ out

    def act(self, action: int | str, subject: int | None = None, value: int = 0, data: bytes | str = b"",
            target: int = 0) -> wire.MeetingAction:
        """Queue our procedure action; ``subject`` a member key (None: nobody), ``target`` its relay
        client id (what the relay routes by). Refuses (ProtocolError) malformed actions; the role
        check is the relay's and every client's."""
        num = wire.ACTION_NUMBERS[action] if isinstance(action, str) else action
        raw = data.encode("utf-8") if isinstance(data, str) else data
        a = wire.MeetingAction(num, wire.NOBODY if subject is None else subject, value, raw)
        self._out.append(Pending(bytes(a), bytes(a.header(target))))
        return a

    def data_to_send(self) -> list[Pending]:
        if self._snapshot_due:
            self._snapshot_due = False
            snap = self.procedure.snapshot(self.last_seq)
            a = wire.MeetingAction(wire.SNAPSHOT, wire.NOBODY, 0, bytes(snap))
            self._out.append(Pending(bytes(a), bytes(a.header())))
        out = list(self._out)
        self._out.clear()
        return out

    def member_joined(self, key: int) -> None:
        """A member arrived: when we may chair, send it our state (it missed what came before)."""
        self.counters["joined"] += 1
        p = self.procedure
        started = p.applied or p.claimed or p.clock_ms
        if key != self.me and started and self.synced_enough() and self.may(self.me, "chair"):
            self._snapshot_due = True  # one snapshot for all who arrived together (none before anything happened)

    def member_left(self, key: int) -> None:
        """A member left: when we may chair and it was waiting or speaking, clear it (an action,
        so every client drops it at the same place in the order)."""
        p = self.procedure
        if self.may(self.me, "chair") and (p.speaker == key or p.position(key) is not None):
            self.act(wire.CLEAR, key)

    def synced_enough(self) -> bool:
        """Whether our state can be given to others: synced from a snapshot, or the chair's own."""
        return self.synced or self.may(self.me, "chair")

    # ------------------------------------------------------------ in

    def receive(self, sender: int, room_seq: int, payload: bytes, local_ms: int) -> bool:
        """A room event that is a meeting frame, from member ``sender``; True when the state changed."""
        c = self.counters
        try:
            frame = wire.MeetingFrame.parse(payload)
            a = frame.action()
        except ProtocolError:
            c["malformed"] += 1
            return False
        if self.roles is None and frame.header.target and frame.header.target != a.subject:
            # a plain room's member keys are relay client ids: the relay must route whom the action names
            c["target_mismatch"] += 1
            return False
        stamp = frame.header.stamp_ms
        if stamp <= 0:
            c["unstamped"] += 1  # never through a relay: someone forged it past the relay
            return False
        self._skew.append(stamp - local_ms)
        self._skew_ms = max(self._skew)
        if a.action == wire.SNAPSHOT:
            return self._snapshot(sender, a, stamp)
        if sender == self.me:
            self.acked.append((a.action, stamp))
            c["own"] += 1
        self.last_seq = max(self.last_seq, room_seq)
        self._buffer.append((room_seq, sender, a, stamp))
        ok = self.procedure.apply(sender, a, stamp)
        c["applied" if ok else "ignored"] += 1
        self._notes.extend(self.procedure.drain_notes())
        return ok

    def _snapshot(self, sender: int, a: wire.MeetingAction, stamp: int) -> bool:
        c = self.counters
        if sender == self.me or self.synced:
            return False
        try:
            snap = wire.Snapshot.parse(a.data)
            fresh = Procedure(self.procedure.role_of)
            fresh.restore(snap)
        except ProtocolError:
            c["malformed"] += 1
            return False
        # the sender must chair: by the roster (a secured room), else by the claims it reports
        # (a plain room's roles are claimed: a newcomer has nothing better to go by)
        if not (self.may(sender, "chair") or (self.roles is None and may(fresh.role(sender), "chair"))):
            c["snapshot_not_chair"] += 1
            return False
        for seq, who, act, st in self._buffer:
            if seq > snap.based_on:
                fresh.apply(who, act, st)
        fresh.drain_notes()
        fresh.advance(stamp)
        self.procedure = fresh
        self.synced = True
        c["snapshots"] += 1
        return True

    def refused(self, message: str) -> None:
        """The relay refused one of our actions (its notice)."""
        self.counters["refused"] += 1
        self.refusals.append(message)

    def drain_notes(self) -> list[Note]:
        out = list(self._notes)
        self._notes.clear()
        return out

    def note(self, n: Note) -> None:
        self._notes.append(n)


def note_text(n: Note, name: Callable[[int | None], str]) -> str:
    """The minutes' line of a procedure note (``name`` turns a member key into its name)."""
    return minutes_line(n.kind, name(n.actor) if n.actor is not None else "The procedure", name(n.subject), n.value,
                        n.text)


def minutes_line(kind: str, actor: str, subject: str, value: int, detail: str) -> str:
    """The minutes' line of a procedure note of ``kind`` by ``actor`` about ``subject`` (names as
    the reader shows them), with the note's ``value`` and ``detail`` text."""
    vt = ("unlimited" if not value else f"{value / 1000:g} s") if kind == "time_set" else str(value)
    tmpl = _NOTE_TEXT.get(kind, kind.replace("_", " ") + " ({t})")
    return tmpl.format(a=actor, s=subject, v=vt, n=value + 1, t=detail)
