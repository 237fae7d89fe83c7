"""Sans-I/O client core: session, resume, heartbeats, reliable room events and media sealing.

The adapter opens a control stream and calls :meth:`ClientCore.connect`, feeds stream bytes to
:meth:`ClientCore.receive` and datagrams to :meth:`ClientCore.receive_datagram`, runs
:meth:`ClientCore.handle_timer` at :meth:`ClientCore.timer`, and sends what
:meth:`ClientCore.to_send` / :meth:`ClientCore.datagrams_to_send` return. When the stream
breaks it calls :meth:`ClientCore.connection_lost` and reconnects at ``reconnect_at``: the core
resumes the same identity, seat and client id with its resume token and re-sends room events the
relay has not acknowledged (:mod:`~vrdiplomacy.net.client_events`); "seat taken" is retried.
Malformed input is counted in :attr:`ClientCore.counters` and dropped.

Link state for people: a broken stream yields :class:`Disconnected` with its ``cause`` (a key of
:data:`LINK_CAUSES`: "heartbeat" when the core found the relay silent, "closed", "protocol", ...;
the core's own cause wins over what the adapter saw) and how long the relay had been silent; each
failed attempt to get back yields :class:`ReconnectFailed` ("refused" when nothing accepts
connections: the relay process is gone). :class:`~vrdiplomacy.session.link.LinkStatus` turns them
into the card's and the command line's words.

Sans-I/O parts of the client plug into the core (:meth:`ClientCore.plug`): the end-to-end room
sealer (:class:`~vrdiplomacy.net.secure.SecureRoom`) has its periodic key and signature flush run
by the core's timer, so the adapter stays the only thing that owns a clock or a task.

Attribution: relay client ids (``source``, ``sender``, ``client_id``) are transport handles. In an
end-to-end encrypted room the events carry ``member``, the roster member whose key opened the
payload; the application attributes voice, poses and events to that member only.
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from vrdiplomacy.errors import CryptoError, ProtocolError
from vrdiplomacy.net import wire
from vrdiplomacy.net.client_events import ReliableEvents
from vrdiplomacy.net.client_types import (  # re-exported: the adapter and the app import them from here
    FATAL_CODES,
    LINK_CAUSES,  # noqa: F401
    ClientEvent,
    Connected,
    Disconnected,
    FloorChanged,
    MediaReady,
    MediaSink,
    Member,
    MemberUpdate,
    PoseReceived,
    PoseUpdate,  # noqa: F401
    ReconnectFailed,
    RelayError,
    RelayNotice,
    RoomEventReceived,
    VoiceReceived,
)
from vrdiplomacy.net.hop import DOWNLINK, UPLINK, HopOpener, HopSealer, ReplayError
from vrdiplomacy.net.spaces import ClientSpaces
from vrdiplomacy.net.wire_spaces import Place, Placed, SpaceEvent, SpaceEventIn
from vrdiplomacy.reception import wire as reception_wire

if TYPE_CHECKING:
    from vrdiplomacy.crypto.admission import Admission


@dataclass
class ClientSettings:
    """Client settings.

    heartbeat_misses: heartbeat intervals without any control message before the link is dead.
    bind_retry: seconds between UDP bind attempts until the relay confirms the media path.
    keepalive: seconds between UDP keepalives once bound (keeps NAT bindings open).
    away_grace: seconds a member marked away (or unconfirmed after a relay restart) is kept.
    max_unacked_events: room events buffered while not acknowledged (older ones are refused).
    reconnect_min / reconnect_max: reconnect backoff bounds in seconds (also how often a taken seat is tried).
    seat_wait_s: how long to keep asking for a seat the relay says someone else holds (a crashed
        session of ours is released by the relay after its grace); past it the connection fails
        with cause "seat_taken". ``join`` waits only for a seat the user named.
    resume_dir: the user's state folder: the adapter keeps the resume token there for a restart.
    admission: the invitation (and the invited key) this client presents to enter a secured room;
        None joins a plain room. See :mod:`vrdiplomacy.crypto.admission`.
    relays: other nodes (host, port) of the relay's federation (same certificate, same resume
        secret): when a connection attempt fails the adapter tries the next one, resuming there.
    """

    heartbeat_misses: float = 3.0
    bind_retry: float = 0.2
    keepalive: float = 5.0
    away_grace: float = 35.0
    max_unacked_events: int = 1024
    reconnect_min: float = 0.05
    reconnect_max: float = 1.0
    seat_wait_s: float = float("inf")
    admission: Admission | None = None
    resume_dir: Path | None = None
    relays: tuple[tuple[str, int], ...] = ()


@dataclass
class ClientCounters:
    """What the client received and dropped (and why)."""

    datagrams_in: int = 0
    bundles_in: int = 0
    voice_in: int = 0
    poses_in: int = 0
    dropped_malformed: int = 0
    dropped_unknown: int = 0
    dropped_auth: int = 0
    dropped_replay: int = 0
    dropped_wrong_client: int = 0
    dropped_offline: int = 0
    media_not_sent: int = 0
    own_echo: int = 0
    control_malformed: int = 0
    control_unknown: int = 0
    control_unexpected: int = 0
    events_duplicate: int = 0
    events_missed: int = 0  # room sequence numbers skipped (the relay no longer had them to replay)
    reconnects: int = 0
    heartbeat_timeouts: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class TimedPart(Protocol):
    """A sans-I/O part plugged into :class:`ClientCore` (e.g. the end-to-end room sealer): the
    core's timer runs it. Times are in the core's clock (the ``now`` the adapter passes)."""

    def next_timer(self) -> float | None: ...

    def handle_timer(self, now: float) -> None: ...


class ClientCore:
    """One delegate's protocol state machine (``state``: idle, connecting, connected, closed)."""

    def __init__(self, identity: str, seat: str, room: str, settings: ClientSettings | None = None,
                 relay_fingerprint: str = "") -> None:
        self.identity = identity
        self.seat = seat
        self.room = room
        self.s = settings or ClientSettings()
        self.admission = self.s.admission
        # the relay's TLS certificate fingerprint (hex): admission proofs are bound to it
        self.relay_fingerprint = relay_fingerprint
        self.counters = ClientCounters()
        self.state = "idle"
        self.client_id = 0
        self.token = b""
        self.epoch = 0
        self.reliable = ReliableEvents(self.s.max_unacked_events)
        self.members: dict[int, Member] = {}
        self.floor = 0
        self.spaces = ClientSpaces()  # where we and the others are (rooms within the room, channels)
        self.udp_port = 0
        self.heartbeat = 2.0
        self.media_ready = False
        self.want_close = False
        self.reconnect_at = 0.0
        self.media_sink: MediaSink | None = None
        self._backoff = self.s.reconnect_min
        self._decoder = wire.FrameDecoder()
        self._out: list[bytes] = []
        self._dgrams: list[bytes] = []
        self._events: deque[ClientEvent] = deque()
        self._sealer: HopSealer | None = None
        self._opener: HopOpener | None = None
        self._last_rx = 0.0
        self._next_ping = 0.0
        self._next_bind = 0.0
        self._last_dgram_out = 0.0
        self._roster: set[int] | None = None
        self._epoch_changed = False
        self._voice_seq = 0
        self._ever_connected = False
        self._joining = False
        self._n_away = 0
        self._away_min: float | None = None
        self._parts: list[TimedPart] = []
        # why the core wants the stream closed (heartbeat timeout, malformed input): (cause, reason)
        self.close_cause: tuple[str, str] | None = None
        self._failed_attempts = 0

    # ------------------------------------------------------------ plugged parts

    def plug(self, part: TimedPart) -> None:
        """Run ``part`` on this core's timer while connected (its ``next_timer`` joins :meth:`timer`)."""
        if part not in self._parts:
            self._parts.append(part)

    def unplug(self, part: TimedPart) -> None:
        if part in self._parts:
            self._parts.remove(part)

    # ------------------------------------------------------------ connection lifecycle

    def connect(self, now: float) -> None:
        """A new control stream is open: say hello (resuming when we have a token)."""
        if self.state == "closed":
            return
        self.state = "connecting"
        self.want_close = False
        self.close_cause = None
        self._decoder = wire.FrameDecoder()
        self._out.clear()
        self._last_rx = now
        self._next_ping = now + self.heartbeat
        if self._ever_connected:
            self.counters.reconnects += 1
        inv = bytes(self.admission.invitation) if self.admission is not None else b""
        self._queue(
            wire.Hello(self.identity, self.seat, self.room, self.token, self.reliable.log_id,
                       self.reliable.last_room_seq, self.reliable.first_unacked, inv)
        )

    def connection_lost(self, now: float, reason: str = "connection lost", cause: str = "error") -> None:
        """The control stream broke (or a connection attempt failed, from state idle); media
        stops until the next Welcome. When the core itself asked for the close (``want_close``:
        heartbeat timeout, malformed input) its own cause and reason win over the adapter's."""
        if self.state == "closed":
            return
        if self.close_cause is not None:
            cause, reason = self.close_cause
            self.close_cause = None
        was = self.state
        self.state = "idle"
        self._sealer = self._opener = None
        self.media_ready = False
        self._dgrams.clear()
        self.reconnect_at = now + self._backoff
        self._backoff = min(self.s.reconnect_max, self._backoff * 2)
        if was != "idle":
            self._failed_attempts = 0
            self._events.append(Disconnected(reason, cause, max(0.0, now - self._last_rx)))
        else:
            self._failed_attempts += 1
            self._events.append(ReconnectFailed(reason, cause, self._failed_attempts))

    def restore(self, token: bytes) -> None:
        """Resume with a ``token`` kept by a crashed process of ours (same seat and client id)."""
        self.token, self.reliable.restored = token, True

    def close(self) -> None:
        """Stop for good (after :meth:`leave` or a fatal error)."""
        self.state = "closed"
        self._sealer = self._opener = None

    # ------------------------------------------------------------ application API

    def send_event(self, payload: bytes) -> int:
        """Queue a reliable room event; returns its sequence number."""
        seq = self.reliable.queue(payload)
        if self.state == "connected":
            self._queue(wire.Event(seq, payload))
        return seq

    def set_floor(self, take: bool) -> None:
        if self.state == "connected":
            self._queue(wire.Floor(take))

    def place(self, space: str, interpret: str = "", listen: str = "") -> None:
        """Move to ``space`` (plenary "", "lounge", "bilateral:AAA+BBB"), interpreting into
        ``interpret`` and listening to ``listen`` (the relay may refuse: a RelayError says why)."""
        self.spaces.want = Place(space, interpret, listen)
        if self.state == "connected":
            self._queue(self.spaces.want)

    def send_control(self, msg: wire.ControlMessage) -> bool:
        """Send a control message of a feature's own (reception host actions) while connected."""
        if self.state != "connected":
            return False
        self._queue(msg)
        return True

    def send_space_event(self, payload: bytes) -> bool:
        """An event for the members of our space only (not stored, not resent after a reconnect)."""
        if self.state != "connected":
            self.counters.media_not_sent += 1
            return False
        self._queue(SpaceEvent(payload))
        return True

    def join(self, room: str, seat: str, admission: Admission | None = None) -> None:
        """Move to ``room`` at ``seat``: a secured one with ``admission`` (its invitation), else a plain one."""
        self.room, self.seat, self.admission = room, seat, admission
        if self.state == "connected":
            self._joining = True
            self._queue(wire.Join(room, seat, bytes(admission.invitation) if admission is not None else b""))

    def leave(self) -> None:
        if self.state == "connected":
            self._queue(wire.Leave())
        self.close()

    def send_voice(self, level: int, payload: bytes) -> bool:
        """Seal a voice frame (``level``: RFC 6464 byte, see :func:`wire.level_byte`)."""
        if self._sealer is None:
            self.counters.media_not_sent += 1
            return False
        self._voice_seq = (self._voice_seq + 1) & 0xFFFF
        self._dgrams.append(self._sealer.seal(wire.DG_VOICE, bytes(wire.VoiceFrame(level, self._voice_seq, payload))))
        return True

    def send_pose_frame(self, frame: wire.PoseFrame) -> bool:
        if self._sealer is None:
            self.counters.media_not_sent += 1
            return False
        self._dgrams.append(self._sealer.seal(wire.DG_POSE, bytes(frame)))
        return True

    # ------------------------------------------------------------ input

    def receive(self, data: bytes, now: float) -> None:
        if self.state in ("idle", "closed"):
            return
        self._last_rx = now
        self._decoder.feed(data)
        while True:
            try:
                frame = self._decoder.next_frame()
            except ProtocolError as e:
                self.counters.control_malformed += 1
                self.want_close = True
                self.close_cause = ("protocol", f"protocol error: {e}")
                return
            if frame is None:
                return
            try:
                msg = wire.parse_control(frame)
            except wire.UnknownMessage:
                self.counters.control_unknown += 1
                continue
            except ProtocolError:
                self.counters.control_malformed += 1
                continue
            self._dispatch(msg, now)
            if self.state in ("idle", "closed"):
                return

    def _dispatch(self, msg: wire.ControlMessage, now: float) -> None:
        c = self.counters
        if isinstance(msg, wire.Welcome):
            self._welcome(msg, now)
        elif isinstance(msg, wire.Error):
            fatal = msg.code in FATAL_CODES
            if msg.code == wire.ERR_BAD_HELLO and self.reliable.restored:  # a kept token this relay no longer takes
                self.token, self.reliable.restored, fatal = b"", False, False
            self._events.append(RelayError(msg.code, msg.message, fatal))
            if fatal:
                self.close()
        elif isinstance(msg, wire.Challenge):
            if self.admission is None:
                c.control_unexpected += 1
                return
            self._queue(wire.Proof(self.admission.prove(msg.nonce, self.relay_fingerprint)))
        elif isinstance(msg, wire.Notice):
            self._events.append(RelayNotice(msg.code, msg.message))
        elif self.state != "connected":
            c.control_unexpected += 1
        elif isinstance(msg, wire.Presence):
            self._presence(msg, now)
        elif isinstance(msg, wire.RosterEnd):
            self._roster_end(now)
        elif isinstance(msg, wire.RoomEvent):
            if not self.reliable.received(msg.room_seq):
                c.events_duplicate = self.reliable.duplicates
                return
            c.events_missed = self.reliable.missed
            self._events.append(RoomEventReceived(msg.room_seq, msg.sender, msg.payload))
        elif isinstance(msg, wire.Ack):
            self.reliable.acked(msg.client_seq)
        elif isinstance(msg, wire.FloorState):
            if msg.holder != self.floor:
                self.floor = msg.holder
                self._events.append(FloorChanged(msg.holder))
        elif isinstance(msg, (Placed, SpaceEventIn)):
            self._events.extend(self.spaces.receive(msg))  # type: ignore[arg-type]
        elif isinstance(msg, reception_wire.TO_CLIENT):
            self._events.append(msg)  # type: ignore[arg-type]  # the message is the event (vrdiplomacy.reception)
        elif isinstance(msg, wire.Pong):
            pass
        else:
            c.control_unexpected += 1

    def _welcome(self, w: wire.Welcome, now: float) -> None:
        if self.state == "connected" and w.client_id != self.client_id:
            self.counters.control_unexpected += 1
            return
        if self.client_id and w.client_id != self.client_id:
            # A fresh identity (the relay lost our session): everything we knew is stale.
            for m in list(self.members.values()):
                self._drop_member(m)
        self.state = "connected"
        self._ever_connected = True
        self._failed_attempts = 0
        self._backoff = self.s.reconnect_min
        self.client_id = w.client_id
        self.token = w.resume_token
        self.udp_port = w.udp_port
        self.heartbeat = max(0.1, w.heartbeat_ms / 1000.0)
        self._epoch_changed = w.epoch != self.epoch
        resend = self.reliable.welcome(w, w.resumed and not self._joining)
        self._joining = False
        self.epoch = w.epoch
        self._sealer = HopSealer(w.media_key, UPLINK, w.client_id)
        self._opener = HopOpener(w.media_key, DOWNLINK)
        self.media_ready = False
        self._next_bind = now
        self._roster = set()
        for ev in resend:
            self._queue(ev)
        for p in self.spaces.welcome(w.client_id):
            self._queue(p)
        self._events.append(Connected(w.client_id, w.resumed, w.epoch))

    def _presence(self, p: wire.Presence, now: float) -> None:
        if self._roster is not None:
            self._roster.add(p.client_id)
        state = wire.PRESENCE_STATES[p.state]
        m = self.members.get(p.client_id)
        if state == "left":
            if m is not None:
                self._drop_member(m)
            return
        if m is None:
            m = Member(p.client_id, p.identity, p.seat, state)
            self.members[p.client_id] = m
        elif (m.state, m.identity, m.seat) == (state, p.identity, p.seat):
            return
        m.identity, m.seat = p.identity, p.seat
        self._set_state(m, state, now)
        self._events.append(MemberUpdate(m.client_id, m.identity, m.seat, state))

    def _roster_end(self, now: float) -> None:
        seen, self._roster = self._roster or set(), None
        for m in list(self.members.values()):
            if m.client_id in seen:
                continue
            if self._epoch_changed:
                # The relay restarted: the member may still resume. Keep the avatar, marked away.
                if m.state != "away":
                    self._set_state(m, "away", now)
                    self._events.append(MemberUpdate(m.client_id, m.identity, m.seat, "away"))
            else:
                self._drop_member(m)

    def _drop_member(self, m: Member) -> None:
        self.spaces.left(m.client_id)
        if self.members.pop(m.client_id, None) is not None:
            if m.away_deadline:
                self._n_away -= 1
                self._away_min = None
            self._events.append(MemberUpdate(m.client_id, m.identity, m.seat, "left"))

    def receive_datagram(self, data: bytes, now: float) -> None:
        c = self.counters
        c.datagrams_in += 1
        if len(data) < wire.MEDIA_HEADER_SIZE + 16 or len(data) > 65535:
            c.dropped_malformed += 1
            return
        if data[0] != wire.VERSION or data[1] not in (wire.DG_BUNDLE, wire.DG_BIND_ACK):
            c.dropped_unknown += 1
            return
        if self._opener is None:
            c.dropped_offline += 1
            return
        if int.from_bytes(data[2:6], "big") != self.client_id:
            c.dropped_wrong_client += 1
            return
        try:
            pt = self._opener.open(data, int.from_bytes(data[6:14], "big"))
        except ReplayError:
            c.dropped_replay += 1
            return
        except CryptoError:
            c.dropped_auth += 1
            return
        if data[1] == wire.DG_BIND_ACK:
            if not self.media_ready:
                self.media_ready = True
                self._events.append(MediaReady())
            return
        try:
            entries = wire.parse_bundle(pt)
        except ProtocolError:
            c.dropped_malformed += 1
            return
        c.bundles_in += 1
        sink = self.media_sink
        me = self.client_id
        for e in entries:
            if e.source == me:
                c.own_echo += 1  # our own keyframes come back in the room-wide batch
                continue
            if sink is not None:
                sink(e.kind, e.source, e.inner)
                continue
            try:
                if e.kind == wire.DG_VOICE:
                    v = wire.VoiceFrame.parse(e.inner)
                    c.voice_in += 1
                    self._events.append(VoiceReceived(e.source, v.level, v.seq, v.payload))
                else:
                    p = wire.PoseFrame.parse(e.inner)
                    c.poses_in += 1
                    self._events.append(PoseReceived(e.source, p.seq, p.key, p.head_cm, p.payload))
            except ProtocolError:
                c.dropped_malformed += 1

    # ------------------------------------------------------------ output and timers

    def _queue(self, msg: wire.ControlMessage) -> None:
        self._out.append(msg.frame())

    def to_send(self, now: float) -> bytes:
        out = b"".join(self._out)
        self._out.clear()
        return out

    def datagrams_to_send(self, now: float) -> list[bytes]:
        out, self._dgrams = self._dgrams, []
        if out:
            self._last_dgram_out = now
        return out

    def timer(self) -> float | None:
        if self.state == "closed":
            return None
        if self.state == "idle":
            return self.reconnect_at
        t = min(self._next_ping, self._last_rx + self.heartbeat * self.s.heartbeat_misses)
        if self._sealer is not None:
            t = min(t, self._next_bind if not self.media_ready else self._last_dgram_out + self.s.keepalive)
        if self._n_away:
            if self._away_min is None:
                self._away_min = min(m.away_deadline for m in self.members.values() if m.away_deadline)
            t = min(t, self._away_min)
        if self.state == "connected":
            for part in self._parts:
                pt = part.next_timer()
                if pt is not None:
                    t = min(t, pt)
        return t

    def _set_state(self, m: Member, state: str, now: float) -> None:
        was_away = m.away_deadline != 0.0
        m.state = state
        m.away_deadline = now + self.s.away_grace if state == "away" else 0.0
        self._n_away += int(m.away_deadline != 0.0) - int(was_away)
        self._away_min = None

    def handle_timer(self, now: float) -> None:
        if self._n_away:
            for m in list(self.members.values()):
                if m.away_deadline and now >= m.away_deadline:
                    self._drop_member(m)
        if self.state not in ("connecting", "connected"):
            return
        if now - self._last_rx >= self.heartbeat * self.s.heartbeat_misses:  # >=: the timer fires at that very time
            self.counters.heartbeat_timeouts += 1
            self.want_close = True
            self.close_cause = ("heartbeat", f"heartbeat timeout: no word from the relay for {now - self._last_rx:.1f} s")
            return
        if now >= self._next_ping:
            self._next_ping = now + self.heartbeat
            self._queue(wire.Ping(int(now * 1000) & 0xFFFFFFFFFFFFFFFF))
        if self._sealer is not None:
            if not self.media_ready and now >= self._next_bind:
                self._next_bind = now + self.s.bind_retry
                self._dgrams.append(self._sealer.seal(wire.DG_BIND, b""))
            elif self.media_ready and now - self._last_dgram_out >= self.s.keepalive:
                self._dgrams.append(self._sealer.seal(wire.DG_BIND, b""))
                self._last_dgram_out = now
        if self.state == "connected":
            for part in list(self._parts):
                pt = part.next_timer()
                if pt is not None and now >= pt:
                    part.handle_timer(now)

    def next_event(self) -> ClientEvent | None:
        return self._events.popleft() if self._events else None
