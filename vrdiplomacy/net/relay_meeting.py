"""The meeting's procedure at the relay (a mixin of :class:`~vrdiplomacy.net.relay_core.RelayCore`).

Procedure actions travel as room events whose first bytes are a small header the relay reads
(:class:`~vrdiplomacy.meeting.wire.MeetingHeader`: action, target's relay client id, value),
beside the action itself, end-to-end sealed and signed in a secured room. The relay:

* **refuses** an action the sender's role may not take (:mod:`vrdiplomacy.meeting.roles`): the
  role its authority-signed invitation gave it in a secured room, the role it claimed in a plain
  one. A refused event is acknowledged (the sender does not send it again) but neither stored nor
  forwarded; the sender gets one :class:`~vrdiplomacy.net.wire.Notice` line saying why
  (:data:`NOTICE_MEETING_REFUSED`). Malformed headers are refused the same way;
* **stamps** every accepted action with its clock (UNIX ms, never decreasing within a room), the
  time every client's procedure timers run on;
* **folds** the actions into its own :class:`~vrdiplomacy.meeting.procedure.Procedure` keyed by
  relay client ids, and **routes** by it: the floor holder (``FloorState``, heard room-wide at
  rostrum level) follows the chair's grants and the speaking timer; the voice of a muted member,
  or of a member whose role may not speak, is dropped (``voice_muted``), so no one hears it.

What the relay learns this way is the procedure's metadata (who asked for the floor, who was
granted, muted, the speaking time, which agenda item number and phase), as any delegate in the
chamber sees it; the agenda's text and anything said stay end-to-end sealed.
"""

from __future__ import annotations

import collections
from collections.abc import Callable

from vrdiplomacy.errors import ProtocolError
from vrdiplomacy.meeting import wire as mw
from vrdiplomacy.meeting.procedure import Procedure
from vrdiplomacy.meeting.roles import DEFAULT_ROLE, ROLES, may
from vrdiplomacy.net import wire
from vrdiplomacy.net.relay_state import Connection, Room, Session

QUIET_ROLES = frozenset(r for r in ROLES if not may(r, "speak"))
NOTICE_MEETING_REFUSED = 3
"""Notice code: the relay refused one of our procedure actions (the message says why)."""


class RoomMeeting:
    """The relay's view of one room's procedure (keyed by relay client id)."""

    def __init__(self, role_of: Callable[[int], str] | None) -> None:
        self.procedure = Procedure(role_of)
        self.stamp_ms = 0
        self.fold_ms = 0  # the last stamp folded from a federated room's stream


class RelayMeeting:
    """Procedure checks, stamps and routing of the relay core."""

    rooms: dict[str, Room]
    sessions: dict[int, Session]
    wall_offset: float
    _send: Callable[[Connection, wire.ControlMessage, float], None]
    _set_floor: Callable[[Room, int, float], None]
    _fed_remote_member: Callable[[str, int], bool]  # (room key, client id): a member on another relay node
    _fed_role: Callable[[int], str | None]

    def _init_meeting(self) -> None:
        self._meetings: dict[str, RoomMeeting] = {}
        self._silenced: set[int] = set()  # client ids whose voice is not forwarded
        self.meeting_counters: collections.Counter[str] = collections.Counter()

    def _meeting_of(self, room: Room) -> RoomMeeting:
        rm = self._meetings.get(room.key)
        if rm is None:
            rm = RoomMeeting(self._session_role if room.authority else None)
            self._meetings[room.key] = rm
            # a relay restarted on its stored log: the actions it kept were checked when stored
            for ev in room.log.history:
                if mw.looks_like(ev.payload):
                    try:
                        h = mw.MeetingHeader.parse(ev.payload)
                        a = mw.MeetingAction(h.action, h.target or mw.NOBODY, h.value)
                    except ProtocolError:
                        continue
                    rm.procedure.apply(ev.sender, a, h.stamp_ms, check=False)
                    rm.stamp_ms = max(rm.stamp_ms, h.stamp_ms)
        return rm

    def _session_role(self, cid: int) -> str:
        s = self.sessions.get(cid)
        if s is None:
            remote = self._fed_role(cid)  # a member on another relay node (federation)
            return (remote or DEFAULT_ROLE) if remote is not None else "guest"
        return s.role or DEFAULT_ROLE

    def meeting_state(self, room_key: str) -> Procedure | None:
        """The relay's procedure of a room (None before any action), for tests and stats."""
        rm = self._meetings.get(room_key)
        return None if rm is None else rm.procedure

    def _wall_ms(self, now: float) -> int:
        return int((now + self.wall_offset) * 1000.0)

    # ------------------------------------------------------------ hooks of the core

    def _in_room(self, room: Room, cid: int) -> bool:
        return cid in room.members or self._fed_remote_member(room.key, cid)

    def _meeting_event(self, conn: Connection, s: Session, payload: bytes, now: float, fold: bool = True) -> bytes | None:
        """A room event from ``s``: a non-meeting payload as it is; a meeting frame stamped, or
        None when refused (the sender is told). ``fold`` False (a federated room): checked and
        stamped only; the procedure takes it when the room's stream delivers it (:meth:`_meeting_fold`)."""
        if not mw.looks_like(payload):
            return payload
        c = self.meeting_counters
        room = self.rooms[s.room]
        try:
            h = mw.MeetingHeader.parse(payload)
        except ProtocolError as e:
            return self._meeting_refuse(conn, f"malformed procedure action: {e}", now)
        rm = self._meeting_of(room)
        p = rm.procedure
        role = p.role(s.client_id)
        perm = mw.PERMISSION_OF.get(h.action)
        name = mw.ACTIONS[h.action]
        if h.action == mw.CLAIM_ROLE and room.authority:
            return self._meeting_refuse(conn, "roles in a secured room are the roster's; a claim is refused", now)
        if perm is not None and not may(role, perm):
            c["refused_role"] += 1
            return self._meeting_refuse(conn, f"{name} refused: a member with the role {role} may not do that "
                                              f"(needs the '{perm}' permission)", now)
        if h.action in (mw.GRANT, mw.MUTE, mw.UNMUTE, mw.CLEAR) and h.target:
            if not self._in_room(room, h.target) and h.action != mw.CLEAR:
                return self._meeting_refuse(conn, f"{name} refused: client {h.target} is not in this room", now)
            if h.action == mw.GRANT and not may(p.role(h.target), "ask_floor"):
                return self._meeting_refuse(conn, f"grant refused: a member with the role {p.role(h.target)} cannot "
                                                  "be given the floor", now)
        stamp = max(rm.stamp_ms, self._wall_ms(now))
        rm.stamp_ms = stamp
        c["accepted"] += 1
        if fold:
            subject = h.target if h.target else mw.NOBODY
            p.apply(s.client_id, mw.MeetingAction(h.action, subject, h.value), stamp)
            self._meeting_route(room, rm, now)
        return bytes(h.stamped(stamp)) + payload[mw.HEADER_SIZE:]

    def _meeting_fold(self, room: Room, sender: int, payload: bytes, now: float) -> None:
        """A stored event of a federated room, in stream order: a procedure action (checked and
        stamped by the sender's relay node) moves the procedure, the same on every node."""
        if not mw.looks_like(payload):
            return
        try:
            h = mw.MeetingHeader.parse(payload)
        except ProtocolError:
            return
        rm = self._meeting_of(room)
        rm.fold_ms = stamp = max(rm.fold_ms, h.stamp_ms)  # in stream order, never decreasing: the same on every node
        rm.stamp_ms = max(rm.stamp_ms, stamp)
        rm.procedure.apply(sender, mw.MeetingAction(h.action, h.target or mw.NOBODY, h.value), stamp, check=False)
        self.meeting_counters["folded"] += 1
        self._meeting_route(room, rm, now)

    def _meeting_restore(self, room: Room) -> None:
        """A room created on a stored log (a restarted relay): fold the actions it kept, so the
        floor holder and the mutes hold again before anyone acts."""
        if not any(mw.looks_like(ev.payload) for ev in room.log.history):
            return
        self._meetings.pop(room.key, None)
        p = self._meeting_of(room).procedure
        if p.speaker is not None:
            room.floor = p.speaker
            room.interest.set_floor(p.speaker)
        self._silenced.update(p.muted)
        self.meeting_counters["restored"] += 1

    def _meeting_refuse(self, conn: Connection, message: str, now: float) -> None:
        self.meeting_counters["refused"] += 1
        self._send(conn, wire.Notice(NOTICE_MEETING_REFUSED, message), now)

    def _meeting_route(self, room: Room, rm: RoomMeeting, now: float) -> None:
        """The floor holder and the silenced voices as the procedure says at ``now``."""
        p = rm.procedure.at(self._wall_ms(now))
        holder = p.speaker if p.speaker is not None and self._in_room(room, p.speaker) else 0
        if room.floor != holder:
            self._set_floor(room, holder, now)
        for cid in room.members:
            if cid in p.muted or not may(p.role(cid), "speak"):
                self._silenced.add(cid)
            else:
                self._silenced.discard(cid)

    def _meeting_timer(self) -> float | None:
        """When a speaking turn of some room runs out next (the core's clock)."""
        t: float | None = None
        for rm in self._meetings.values():
            d = rm.procedure.deadline_ms
            if d is not None:
                when = d / 1000.0 - self.wall_offset
                t = when if t is None else min(t, when)
        return t

    def _meeting_tick(self, now: float) -> None:
        """Turns that ran out: the floor passes (routing only; the procedure moves at the next action)."""
        ms = self._wall_ms(now)
        for key, rm in list(self._meetings.items()):
            room = self.rooms.get(key)
            if room is None:  # the room emptied: forget its procedure and whom it silenced
                self._silenced -= rm.procedure.muted
                del self._meetings[key]
                continue
            d = rm.procedure.deadline_ms
            if d is not None and d <= ms:
                rm.procedure.advance(ms)
                rm.stamp_ms = max(rm.stamp_ms, ms)
                self._meeting_route(room, rm, now)

    def _voice_blocked(self, s: Session) -> bool:
        """Whether the relay drops ``s``'s voice: muted by the chair, or a role that may not speak
        (the invitation's in a secured room; a plain room's claim is in ``_silenced``)."""
        if s.client_id in self._silenced or s.role in QUIET_ROLES:
            self.meeting_counters["voice_dropped"] += 1
            return True
        return False

    def _floor_taken(self, s: Session) -> bool:
        """Whether ``s`` may take or release the floor itself (``wire.Floor``): in a room where the
        procedure runs, only its chair (the floor otherwise follows the grants)."""
        room = self.rooms[s.room]
        rm = self._meetings.get(room.key)
        if rm is None or may(rm.procedure.role(s.client_id), "chair"):
            return True
        self.meeting_counters["floor_refused"] += 1
        return False
