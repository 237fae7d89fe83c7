"""Sans-I/O relay core: sessions, rooms, presence, room events and media forwarding.

The core never touches sockets or clocks. An adapter feeds it control-stream bytes
(:meth:`RelayCore.receive_stream`), datagrams (:meth:`RelayCore.receive_datagram`) and timer
ticks (:meth:`RelayCore.handle_timer`), each with ``now`` in seconds, then collects
:meth:`RelayCore.to_send`. Malformed or unknown input is counted in :attr:`RelayCore.counters`
and dropped; a control stream that cannot be re-synchronized is closed.

Media (:meth:`RelayCore.receive_datagram`, from :class:`~vrdiplomacy.net.relay_media.RelayMedia`):
the relay opens the hop-by-hop seal, reads only the routing header, and forwards the opaque rest
in per-receiver *bundles*: voice goes out at once; pose entries wait at most ``pose_hold`` for a
voice datagram to ride along with.

Room events (:class:`~vrdiplomacy.net.relay_events.RelayEvents`): each is stored in its room's
log (storage injected as ``events``; the adapter syncs it before releasing any control bytes,
so an ``Ack`` means stored durably), fanned out, and replayed to clients that resume, across
relay restarts too.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from vrdiplomacy.crypto.admission import Invitation
from vrdiplomacy.errors import CryptoError, ProtocolError
from vrdiplomacy.net import wire
from vrdiplomacy.net.federation import RelayFederation
from vrdiplomacy.net.interest import RoomInterest
from vrdiplomacy.net.relay_admission import RelayAdmission
from vrdiplomacy.net.relay_events import EventStore, RelayEvents
from vrdiplomacy.net.relay_media import Datagram, RelayMedia
from vrdiplomacy.net.relay_spaces import RelaySpaces
from vrdiplomacy.net.relay_meeting import RelayMeeting
from vrdiplomacy.net.relay_state import Connection, RelayCounters, RelaySettings, Room, Session, SessionEvent, room_key
from vrdiplomacy.net.wire_spaces import Place, SpaceEvent
from vrdiplomacy.reception import wire as reception_wire
from vrdiplomacy.reception.relay import RelayReception
from vrdiplomacy.scene.layout import Layout

__all__ = ["Datagram", "Outgoing", "RelayCore"]


@dataclass
class Outgoing:
    """What the adapter must do: write ``streams``, send ``datagrams``, then close ``close``."""

    streams: dict[int, bytes] = field(default_factory=dict)
    datagrams: list[Datagram] = field(default_factory=list)
    close: list[int] = field(default_factory=list)


class RelayCore(RelayReception, RelaySpaces, RelayAdmission, RelayMedia, RelayFederation, RelayEvents, RelayMeeting):
    """The relay's protocol state machine for any number of control connections."""

    def __init__(
        self,
        secret: bytes,
        settings: RelaySettings | None = None,
        udp_port: int = 0,
        layouts: dict[str, Layout] | None = None,
        default_layout: Layout | None = None,
        epoch: int | None = None,
        layout_for: Callable[[str], Layout | None] | None = None,
        fingerprint: str = "",
        wall_offset: float | None = None,
        events: EventStore | None = None,
    ) -> None:
        if len(secret) < 16:
            raise CryptoError("relay secret must be at least 16 bytes")
        self.secret = secret
        self.s = settings or RelaySettings()
        self.udp_port = udp_port
        self.layouts = dict(layouts or {})
        self.default_layout = default_layout
        self.layout_for = layout_for
        self.epoch = epoch if epoch is not None else (secrets.randbits(32) or 1)
        self.counters = RelayCounters()
        self.sessions: dict[int, Session] = {}
        self.rooms: dict[str, Room] = {}
        self.conns: dict[int, Connection] = {}
        self._events: deque[SessionEvent] = deque()
        self._closing: list[int] = []
        self._out_conns: dict[int, Connection] = {}  # connections with control bytes to write
        self._init_media()
        self._init_spaces()
        self._init_events(events, self.s.event_history)
        self._init_meeting()
        self._init_federation()
        self._init_reception()
        self._next_housekeeping = 0.0
        self.random_key: Callable[[], bytes] = lambda: secrets.token_bytes(32)
        self.random_nonce: Callable[[], bytes] = lambda: secrets.token_bytes(wire.NONCE_SIZE)
        # the relay's TLS certificate fingerprint (hex): admission proofs are bound to it
        self.fingerprint = fingerprint
        # UNIX time = now + wall_offset (invitation expiry); default: ``now`` is time.monotonic()
        self.wall_offset = time.time() - time.monotonic() if wall_offset is None else wall_offset

    # ------------------------------------------------------------ adapter API

    def connection_made(self, conn_id: int, now: float) -> None:
        self.conns[conn_id] = Connection(conn_id, now, self.s)
        self.counters.connections += 1

    def connection_lost(self, conn_id: int, now: float, reason: str = "connection lost") -> None:
        conn = self.conns.pop(conn_id, None)
        if conn is not None and conn.session is not None:
            self._session_away(conn.session, now, reason)

    def receive_stream(self, conn_id: int, data: bytes, now: float) -> None:
        conn = self.conns.get(conn_id)
        if conn is None or conn.closing:
            return
        if not conn.decoder.buf:
            conn.frame_started = now
        conn.decoder.feed(data)
        self._process(conn, now)

    def input_backlog(self, conn_id: int) -> int:
        """Control bytes received but not yet processed (rate limits); pause reading when high."""
        conn = self.conns.get(conn_id)
        return len(conn.decoder.buf) if conn is not None else 0

    def reading_paused(self, conn_id: int) -> bool:
        return self.input_backlog(conn_id) > self.s.max_input_backlog

    def timer(self) -> float:
        """The next time :meth:`handle_timer` should run."""
        t = self._next_housekeeping
        for room in self.rooms.values():
            ri = room.interest
            t = min(t, ri.next_recompute, ri.last_recompute + 0.05 if ri.dirty else t)
        if self._pose_since or self._poses_waiting or any(r.keys for r in self.rooms.values()):
            t = min(t, self._next_pose_flush)
        if self._voice_due:
            t = min(t, self._voice_due)
        if self._pose_rest:  # the rest of a pose wave: at the next turn of the event loop
            t = min(t, 0.0)
        if (mt := self._meeting_timer()) is not None:
            t = min(t, mt)
        return t

    def handle_timer(self, now: float) -> None:
        self._meeting_tick(now)
        for room in self.rooms.values():
            if room.interest.due(now):
                self._recompute(room, now)
        if now >= self._next_housekeeping:
            self._next_housekeeping = now + 0.25
            self._housekeeping(now)

    def to_send(self, now: float) -> Outgoing:
        self._flush_bundles(now)
        out = Outgoing()
        if self._out_conns:
            for conn in self._out_conns.values():
                if conn.out:
                    out.streams[conn.conn_id] = b"".join(conn.out)
                    conn.out.clear()
                    conn.out_size = 0
            self._out_conns.clear()
        out.datagrams, self._dgrams = self._dgrams, []
        out.close, self._closing = self._closing, []
        for cid in out.close:
            self.conns.pop(cid, None)
        return out

    def next_event(self) -> SessionEvent | None:
        return self._events.popleft() if self._events else None

    def stats(self) -> dict[str, Any]:
        return {
            "sessions": len(self.sessions),
            "present": sum(1 for s in self.sessions.values() if s.conn is not None),
            "rooms": {(r.name if not r.authority else f"{r.name} [secured, authority {r.authority[:11]}]"): len(r.members)
                      for r in self.rooms.values()},
            "counters": self.counters.as_dict(),
            "spaces": self.space_stats(),
            "meeting": dict(self.meeting_counters),
            "reception": self.reception_stats(),
        }

    # ------------------------------------------------------------ control channel

    def _process(self, conn: Connection, now: float) -> None:
        c = self.counters
        while not conn.closing:
            if conn.events.available(now) < 1:
                return
            try:
                frame = conn.decoder.next_frame()
            except ProtocolError as e:
                c.control_malformed += 1
                self._close(conn, wire.ERR_PROTOCOL, str(e), now)
                return
            if frame is None:
                return
            conn.last_rx = conn.frame_started = now  # only complete frames are signs of life
            conn.events.take(1, now)
            conn.bytes.take(min(len(frame), conn.bytes.available(now)), now)
            c.control_frames_in += 1
            try:
                msg = wire.parse_control(frame)
            except wire.UnknownMessage as e:
                c.control_unknown += 1
                if conn.session is None and frame[:1] != bytes((wire.VERSION,)):
                    self._close(conn, wire.ERR_VERSION, str(e), now)
                continue
            except ProtocolError:
                c.control_malformed += 1
                continue
            self._dispatch(conn, msg, now)

    def _dispatch(self, conn: Connection, msg: wire.ControlMessage, now: float) -> None:
        s = conn.session
        if isinstance(msg, wire.Ping):
            self._send(conn, wire.Pong(msg.stamp), now)
        elif isinstance(msg, wire.Proof):
            if conn.admission is not None:
                self._proof(conn, msg, now)
            else:
                self.counters.control_unexpected += 1
        elif conn.admission is not None:
            self._refuse(conn, wire.ERR_PROTOCOL, "expected the proof of the invited key", now)
        elif s is None:
            if isinstance(msg, wire.Hello):
                self._hello(conn, msg, now)
            else:
                self.counters.control_unexpected += 1
        elif isinstance(msg, wire.Event):
            self._event(conn, s, msg, now)
        elif isinstance(msg, wire.Floor) and self._floor_taken(s):
            room = self.rooms[s.room]
            holder = s.client_id if msg.take else (0 if room.floor == s.client_id else room.floor)
            self._set_floor(room, holder, now)
        elif isinstance(msg, Place):
            self._place(conn, s, msg, now)
        elif isinstance(msg, SpaceEvent):
            self._space_event(s, msg, now)
        elif isinstance(msg, reception_wire.TO_RELAY):
            self._reception_message(conn, s, msg, now)
        elif isinstance(msg, wire.Join):
            self._join(conn, s, msg, now)
        elif isinstance(msg, wire.Leave):
            self._end_session(s, now, "left")
            self._close(conn, 0, "", now, send_error=False)
        else:
            self.counters.control_unexpected += 1

    def _send(self, conn: Connection, msg: wire.ControlMessage, now: float) -> None:
        self._send_raw(conn, msg.frame(), now)

    def _send_raw(self, conn: Connection, frame: bytes, now: float) -> None:
        if conn.closing:
            return
        conn.out.append(frame)
        conn.out_size += len(frame)
        self._out_conns[conn.conn_id] = conn
        if conn.out_size > self.s.max_stream_backlog:
            self.counters.connections_slow += 1
            conn.out.clear()
            conn.out_size = 0
            self._close(conn, wire.ERR_SLOW, "too slow to keep up", now)

    def _close(self, conn: Connection, code: int, message: str, now: float, send_error: bool = True) -> None:
        if conn.closing:
            return
        if send_error and code:
            frame = wire.Error(code, message).frame()
            conn.out.append(frame)
            conn.out_size += len(frame)
            self._out_conns[conn.conn_id] = conn
        conn.closing = True
        self._closing.append(conn.conn_id)
        s, conn.session = conn.session, None
        if s is not None and s.conn == conn.conn_id:
            self._session_away(s, now, message or "closed")

    def _token(self, cid: int, identity: str) -> bytes:
        raw = cid.to_bytes(4, "big")
        mac = hmac.new(self.secret, b"vrd-resume-v1" + raw + identity.encode("utf-8"), hashlib.sha256).digest()[:16]
        return raw + mac

    def _member_session(self, key: str, member_key: bytes) -> Session | None:
        r = self.rooms.get(key)
        return None if r is None else next((m for m in r.members.values() if m.member_key == member_key), None)

    def _detach(self, s: Session, now: float) -> None:
        """Take session ``s`` off its old connection, if any (it resumes on a new one)."""
        old = self.conns.get(s.conn) if s.conn is not None else None
        s.conn = None
        if old is not None:
            old.session = None
            self._close(old, wire.ERR_REPLACED, "taken over: the same member joined again on another connection "
                        "(another device or program with this invitation or session)", now)

    def _room(self, key: str, name: str, authority: str = "") -> Room:
        room = self.rooms.get(key)
        if room is None:
            layout = self.layouts.get(name)
            if layout is None and self.layout_for is not None:
                layout = self.layout_for(name)
            if layout is None:
                layout = self.default_layout
            room = Room(name, RoomInterest(self.s.interest, layout), self._room_log(key), authority)
            self.rooms[key] = room
            self._meeting_restore(room)
        return room

    def _seat_holder(self, room: str, seat: str, cid: int) -> Session | None:
        r = self.rooms.get(room)
        if not seat or r is None:
            return None
        return next((m for m in r.members.values() if m.seat == seat and m.client_id != cid), None)

    def _seat_taken_message(self, holder: Session, name: str, now: float) -> str:
        """Why a seat cannot be had now, and what will free it (the client retries meanwhile)."""
        msg = f"seat '{holder.seat}' in room '{name}' is taken by {holder.identity}"
        if holder.away_since is not None:
            left = max(0.0, self.s.resume_grace - (now - holder.away_since))
            return msg + f" (away; kept for its resume for {left:.0f} s more)"
        return msg

    def _room_name(self, key: str) -> str:
        r = self.rooms.get(key)
        return r.name if r is not None else key.split("\x00", 1)[0]

    # ------------------------------------------------------------ sessions

    def _hello(self, conn: Connection, h: wire.Hello, now: float) -> None:
        if h.invitation:
            self._ask_proof(conn, h, now)
        else:
            self._start(conn, h, now, None)

    def _start(self, conn: Connection, h: wire.Hello, now: float, inv: Invitation | None) -> None:
        c = self.counters
        if not h.identity or not h.room or "\x00" in h.room:
            self._refuse(conn, wire.ERR_BAD_HELLO, "identity and room must not be empty", now)
            return
        name = inv.member_name if inv is not None else h.identity
        key = room_key(h.room, inv.authority_fingerprint if inv is not None else "")
        authority = inv.authority_fingerprint if inv is not None else ""
        if self._fed_hold(conn, h, key, inv, now):
            return  # federated: the room's subjects and stream first (or a seat held on another node)
        resumed = False
        s: Session | None = None
        cid = 0
        if not h.resume_token and inv is not None:
            # a signed re-admission of the same invited key takes over its session (and client id)
            s = self._member_session(key, inv.member_key)
            resumed = s is not None
            cid = s.client_id if s is not None else 0
        elif h.resume_token:
            tok = h.resume_token
            cid = int.from_bytes(tok[:4], "big") if len(tok) == 20 else 0
            s = self.sessions.get(cid)
            if (cid == 0 or not hmac.compare_digest(tok, self._token(cid, name))
                    or (s is not None and inv is not None and s.member_key != inv.member_key)):
                self._refuse(conn, wire.ERR_BAD_HELLO, "invalid resume token", now)
                return
            if (s is None or s.room != key) and inv is None and (why := self._plain_refusal(h.room, now)) is not None:
                self._refuse(conn, *why, now)
                return
            resumed = True
        if resumed:
            holder = self._seat_holder(key, h.seat, cid)
            if holder is not None:  # taken by someone else while we were away (or a relay restart)
                self._refuse(conn, wire.ERR_SEAT_TAKEN, self._seat_taken_message(holder, h.room, now), now)
                return
            if s is not None:
                self._detach(s, now)
                if s.room != key or s.seat != h.seat:
                    self._move(s, key, h.room, h.seat, now, authority)
            else:
                s = Session(cid, name, h.seat, key, h.resume_token, now, self.s)
                # events stored before a restart but never acknowledged are not stored twice
                logs = [r.log for r in self.rooms.values()] + list(self._dormant.values())
                s.last_client_seq = max(0, h.next_event_seq - 1, self._logged_client_seq(cid, logs))
                self.sessions[cid] = s
                room = self._room(key, h.room, authority)
                room.members[cid] = s
                room.interest.add(cid, h.seat)
        else:
            if inv is None and (why := self._plain_refusal(h.room, now)) is not None:
                self._refuse(conn, *why, now)
                return
            holder = self._seat_holder(key, h.seat, 0)
            if holder is not None and not (inv is not None and self._seat_is_own(key, h.seat, inv)):
                self._refuse(conn, wire.ERR_SEAT_TAKEN, self._seat_taken_message(holder, h.room, now), now)
                return
            if len(self.sessions) >= self.s.max_sessions or (
                    inv is None and sum(1 for x in self.sessions.values() if not x.member_key) >= self.s.max_unsecured_sessions):
                self._refuse(conn, wire.ERR_FULL, "relay is full", now)
                return
            cid = secrets.randbits(32)
            while cid == 0 or cid in self.sessions:
                cid = secrets.randbits(32)
            if inv is not None:
                self._replace_member(key, inv.member_key, cid, now)
            s = Session(cid, name, h.seat, key, self._token(cid, name), now, self.s)
            self.sessions[cid] = s
            room = self._room(key, h.room, authority)
            room.members[cid] = s
            room.interest.add(cid, h.seat)
        if inv is not None:
            self._secure(s, inv)
        s.away_since = None
        s.conn = conn.conn_id
        conn.session = s
        if resumed:
            c.sessions_resumed += 1
        else:
            c.sessions_started += 1
        self._events.append(SessionEvent("resumed" if resumed else "started", s.client_id, s.identity, s.seat, h.room,
                                         role=s.role))
        room = self.rooms[s.room]
        replay = resumed and h.log_id != 0 and h.log_id == room.log.log_id
        self._welcome(conn, s, resumed, h.last_room_seq if replay else None, now)
        self._broadcast_presence(s, wire.PRESENT, now)
        if inv is not None:
            self._tell_plain_namesake(conn, h.room, now)

    def _welcome(self, conn: Connection, s: Session, resumed: bool, replay_after: int | None, now: float) -> None:
        room = self.rooms[s.room]
        s.rekey(self.random_key())
        self._send(
            conn,
            wire.Welcome(
                s.client_id, s.token, s.key, self.udp_port, self.epoch, room.log.seq, s.last_client_seq,
                int(self.s.heartbeat_interval * 1000), resumed, room.log.log_id,
            ),
            now,
        )
        n = 0
        for m in room.members.values():
            self._send(conn, wire.Presence(m.client_id, wire.AWAY if m.away_since is not None else wire.PRESENT, m.identity, m.seat), now)
            n += 1
        n += self._fed_roster(conn, room, now)
        self._send(conn, wire.FloorState(room.floor), now)
        self._send_places(conn, room, now)
        self._send(conn, wire.RosterEnd(n), now)
        self._reception_welcome(conn, s, now)
        if replay_after is not None:
            n, missing = self._replay(conn, room.log, replay_after, now)
            self.counters.events_replayed += n
            self.counters.events_not_replayable += missing

    def _broadcast(self, room: Room, frame: bytes, now: float, skip: int = 0) -> None:
        for m in room.members.values():
            if m.conn is not None and m.client_id != skip:
                conn = self.conns.get(m.conn)
                if conn is not None:
                    self._send_raw(conn, frame, now)

    def _broadcast_presence(self, s: Session, state: int, now: float) -> None:
        room = self.rooms.get(s.room)
        if room is not None:
            self._broadcast(room, wire.Presence(s.client_id, state, s.identity, s.seat).frame(), now, skip=s.client_id)
            self._fed_presence(s, state)

    def _event(self, conn: Connection, s: Session, e: wire.Event, now: float) -> None:
        c = self.counters
        if self.fed is not None:
            self._fed_event(conn, s, e, now)  # stored by JetStream, acknowledged then
            return
        if e.client_seq <= s.last_client_seq:
            c.events_duplicate += 1
            self._send(conn, wire.Ack(s.last_client_seq), now)
            return
        c.events_in += 1
        s.last_client_seq = e.client_seq
        payload = self._meeting_event(conn, s, e.payload, now)
        if payload is None:  # a procedure action the sender may not take: acknowledged, not stored
            self._send(conn, wire.Ack(e.client_seq), now)
            return
        room = self.rooms[s.room]
        ev = self._store_event(room.log, s.client_id, e.client_seq, payload)
        self._broadcast(room, ev.message().frame(), now)
        self._send(conn, wire.Ack(e.client_seq), now)

    def _set_floor(self, room: Room, holder: int, now: float) -> None:
        if holder != room.floor:
            room.floor = holder
            room.interest.set_floor(holder)
            self._broadcast(room, wire.FloorState(holder).frame(), now)
            self._fed_floor(room)

    def _move(self, s: Session, key: str, name: str, seat: str, now: float, authority: str = "") -> None:
        old = self.rooms.get(s.room)
        if old is not None:
            self._broadcast_presence(s, wire.LEFT, now)
            old.members.pop(s.client_id, None)
            old.interest.remove(s.client_id)
            if old.floor == s.client_id:
                self._set_floor(old, 0, now)
            if not old.members and old.key != key:
                del self.rooms[old.key]
                self._drop_log(old.key)
        if s.room != key:
            self._reception_gone(s, s.room, now)
        s.room, s.seat = key, seat
        room = self._room(key, name, authority)
        room.members[s.client_id] = s
        room.interest.add(s.client_id, seat)

    def _join(self, conn: Connection, s: Session, j: wire.Join, now: float) -> None:
        if not j.room or "\x00" in j.room:
            self.counters.control_malformed += 1
            return
        if j.invitation:
            self._ask_proof(conn, j, now)
            return
        why = self._plain_refusal(j.room, now)
        if why is not None:
            self._refuse(conn, *why, now)
            return
        self._join_room(conn, s, j.room, j.seat, now, None)

    def _join_room(self, conn: Connection, s: Session, name: str, seat: str, now: float, inv: Invitation | None) -> None:
        authority = inv.authority_fingerprint if inv is not None else ""
        key = room_key(name, authority)
        holder = self._seat_holder(key, seat, s.client_id)
        if holder is not None and not (inv is not None and self._seat_is_own(key, seat, inv)):
            self._send(conn, wire.Error(wire.ERR_SEAT_TAKEN, self._seat_taken_message(holder, name, now)), now)
            return
        if inv is not None:
            self._replace_member(key, inv.member_key, s.client_id, now)
        self._move(s, key, name, seat, now, authority)
        if inv is not None:
            self._secure(s, inv)
        else:
            s.role, s.member_key = "", b""
        self._welcome(conn, s, True, None, now)
        self._broadcast_presence(s, wire.PRESENT, now)
        if inv is not None:
            self._tell_plain_namesake(conn, name, now)

    def _session_away(self, s: Session, now: float, reason: str) -> None:
        if s.away_since is not None or s.client_id not in self.sessions:
            return
        s.conn = None
        s.away_since = now
        s.opener = s.sealer = None
        s.addr = None
        s.clear_pending()
        self._events.append(SessionEvent("away", s.client_id, s.identity, s.seat, self._room_name(s.room), reason, s.role))
        self._broadcast_presence(s, wire.AWAY, now)

    def _end_session(self, s: Session, now: float, reason: str) -> None:
        if self.sessions.pop(s.client_id, None) is None:
            return
        self.counters.sessions_ended += 1
        self._broadcast_presence(s, wire.LEFT, now)
        name = self._room_name(s.room)
        room = self.rooms.get(s.room)
        if room is not None:
            room.members.pop(s.client_id, None)
            room.interest.remove(s.client_id)
            if room.floor == s.client_id:
                self._set_floor(room, 0, now)
            if not room.members:
                del self.rooms[s.room]
                self._drop_log(s.room)
        self._reception_gone(s, s.room, now)
        s.conn = None
        s.opener = s.sealer = None
        s.addr = None
        s.clear_pending()
        self._events.append(SessionEvent("ended", s.client_id, s.identity, s.seat, name, reason, s.role))

    def _housekeeping(self, now: float) -> None:
        for conn in list(self.conns.values()):
            if conn.decoder.buf and not conn.closing:
                self._process(conn, now)  # frames held back by the control budget
            if conn.closing:
                continue
            if conn.admission is not None and now > conn.admission[3]:
                self._refuse(conn, wire.ERR_NOT_INVITED, f"no proof of the invited key within {self.s.admission_timeout:g} s", now)
            elif now - conn.last_rx > self.s.heartbeat_timeout:
                self.counters.heartbeat_timeouts += 1
                self._close(conn, wire.ERR_TIMEOUT, "heartbeat timeout", now)
            elif conn.decoder.incomplete() and now - conn.frame_started > self.s.frame_timeout:
                self.counters.frame_timeouts += 1
                self._close(conn, wire.ERR_TIMEOUT, f"control frame not completed within {self.s.frame_timeout:g} s", now)
            elif conn.session is None and conn.admission is None and now - conn.opened > self.s.hello_timeout:
                self.counters.hello_timeouts += 1
                self._close(conn, wire.ERR_TIMEOUT, f"no Hello within {self.s.hello_timeout:g} s", now)
        for s in list(self.sessions.values()):
            if s.away_since is not None and now - s.away_since > self.s.resume_grace:
                self._end_session(s, now, "resume grace expired")
        self._expire_dormant(now, self.s.resume_grace)
