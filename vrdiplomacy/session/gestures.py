"""Gestures in a session (sans-I/O glue): local recognition out, peers' gestures and handshakes in.

:class:`SessionGestures` sits between a delegate's input, the room event channel and the meeting:

* **out**: every :class:`~vrdiplomacy.input.frame.InputFrame` of the local backend passes through
  a :class:`~vrdiplomacy.gestures.recognizer.GestureRecognizer`; each onset and offset becomes a
  :class:`~vrdiplomacy.gestures.events.GestureEvent` on the "gesture" event stream. A recognized
  ``handshake`` offers (or accepts) a handshake to the delegate it is aimed at.
* **in**: gesture events from others go to the meeting layer (:class:`~vrdiplomacy.session.meeting.FloorQueue`:
  raise hand = request the floor, lower hand = withdraw); the room state
  (:class:`~vrdiplomacy.session.state.RoomState`) animates avatars and shows the icons.
* **handshakes**: one :class:`~vrdiplomacy.gestures.handshake.HandshakeSession` per peer; its
  messages travel as room events wrapped in a :class:`HandshakeEnvelope` that names the peer
  they are for (room events reach everyone).
* **who**: peers, floor requests and handshakes are keyed by the room state's member key
  (:meth:`~vrdiplomacy.session.state.RoomState.key_of`): in a secured room the roster index of the
  member whose key opened the event, never the relay's client id; otherwise the relay client id. :meth:`SessionGestures.tick` checks whether both
  right hands meet and lets unanswered offers expire.

Nothing here does I/O: :meth:`SessionGestures.data_to_send` returns ``(stream, payload)`` pairs
for :meth:`~vrdiplomacy.net.client_io.Client.send_event`, and ``now`` is always passed in.
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt

from vrdiplomacy.errors import ProtocolError
from vrdiplomacy.gestures.events import GestureEvent
from vrdiplomacy.gestures.handshake import HandshakeEvent, HandshakeMessage, HandshakeSession, State
from vrdiplomacy.gestures.recognizer import GestureRecognizer
from vrdiplomacy.gestures.types import Gesture, Target
from vrdiplomacy.input.frame import InputFrame
from vrdiplomacy.net.client_core import MemberUpdate, RoomEventReceived
from vrdiplomacy.session.meeting import FloorQueue
from vrdiplomacy.session.state import RoomState

STREAM = "gesture"  # the signed event stream gestures and handshakes travel on
ENVELOPE_TAG = 0x48  # "H": never a GestureEvent (whose first byte is its version, 1)
ENVELOPE_VERSION = 1
_ENV = struct.Struct(">BBI")


@dataclass(frozen=True)
class HandshakeEnvelope:
    """A handshake message for member ``to``. Wire (big-endian, 16 bytes)::

        u8 tag 0x48   u8 version 1   u32 to (member key: roster index in a secured room,
                                              relay client id otherwise)   10 bytes HandshakeMessage
    """

    to: int
    message: HandshakeMessage

    def __bytes__(self) -> bytes:
        return _ENV.pack(ENVELOPE_TAG, ENVELOPE_VERSION, self.to) + bytes(self.message)

    @classmethod
    def parse(cls, data: bytes) -> "HandshakeEnvelope":
        if len(data) < _ENV.size or data[0] != ENVELOPE_TAG:
            raise ProtocolError("not a handshake envelope")
        tag, ver, to = _ENV.unpack_from(data)
        if ver != ENVELOPE_VERSION:
            raise ProtocolError(f"handshake envelope version {ver} not supported")
        return cls(to, HandshakeMessage.parse(bytes(data[_ENV.size:])))


@dataclass
class GestureSettings:
    """Gestures in a session.

    min_confidence: recognized gestures less sure than this are not sent; handshake_timeout:
    seconds an offer stays open; meet_timeout: seconds both hands have to meet once both
    accepted; meet_distance: metres between the two right hands that count as meeting;
    reach: metres from the local hand within which a delegate can be offered a hand (when the
    recognizer names no target); chest_drop: metres below a delegate's eyes where a point or
    offered hand aims (the recognizer's targets); target_radius: their radius in metres.
    """

    min_confidence: float = 0.0
    handshake_timeout: float = 8.0
    meet_timeout: float = 5.0
    meet_distance: float = 0.15
    reach: float = 2.0
    chest_drop: float = 0.45
    target_radius: float = 0.3


@dataclass
class GestureCounters:
    """Gestures sent and received; handshake messages for others, from ourselves or malformed."""

    sent: int = 0
    low_confidence: int = 0
    received: int = 0
    floor_changes: int = 0
    handshake_messages: int = 0
    handshake_not_for_us: int = 0
    handshake_malformed: int = 0
    handshake_no_peer: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class PeerHandshakeEvent:
    """A handshake with member ``peer`` (member key) changed state (``event``)."""

    peer: int
    event: HandshakeEvent


class SessionGestures:
    """The gesture side of one delegate's session (see the module docstring)."""

    def __init__(self, recognizer: GestureRecognizer | None = None, settings: GestureSettings | None = None,
                 floor: FloorQueue | None = None) -> None:
        self.s = settings or GestureSettings()
        self.recognizer = recognizer or GestureRecognizer()
        self.floor = floor or FloorQueue()
        self.me = 0
        self.handshakes: dict[int, HandshakeSession] = {}
        self.counters = GestureCounters()
        self.sent: list[GestureEvent] = []
        self._out: deque[tuple[str, bytes]] = deque()
        self._events: deque[PeerHandshakeEvent] = deque(maxlen=1024)

    # ------------------------------------------------------------ local input

    def push_frame(self, frame: InputFrame, now: float, state: RoomState | None = None,
                   right_hand: npt.ArrayLike | None = None) -> list[GestureEvent]:
        """Recognize on one local frame; returns (and queues for sending) the gesture events.

        With ``state``, the other delegates become the recognizer's targets (pointing, offering a
        hand); ``right_hand`` (scene metres) helps find whom a hand was offered to.
        """
        if state is not None:
            self.recognizer.targets = tuple(self.targets(state))
        out: list[GestureEvent] = []
        for phase, det in self.recognizer.push(frame):
            if det.confidence < self.s.min_confidence:
                self.counters.low_confidence += 1
                continue
            ev = GestureEvent.from_detection(det, phase)
            out.append(ev)
            self.sent.append(ev)
            self.counters.sent += 1
            self._out.append((STREAM, bytes(ev)))
            if det.gesture is Gesture.HANDSHAKE and phase == "start" and state is not None:
                peer = self.resolve_peer(det.target, state, right_hand)
                if peer is None:
                    self.counters.handshake_no_peer += 1
                else:
                    self.offer(peer, now)
        return out

    def targets(self, state: RoomState) -> list[Target]:
        """Every present delegate as something to point at or offer a hand to (named by identity)."""
        out = []
        for m in state.members.values():
            if m.state != "present":
                continue
            p = np.asarray(m.head.position, np.float64)
            out.append(Target(m.identity, (float(p[0]), float(p[1]) - self.s.chest_drop, float(p[2])),
                              self.s.target_radius))
        return out

    def resolve_peer(self, target: str | None, state: RoomState, hand: npt.ArrayLike | None = None) -> int | None:
        """The member (key) a gesture is aimed at: by identity, seat or delegation, else the
        nearest present delegate within reach of ``hand``."""
        if target is not None:
            for cid, m in sorted(state.members.items()):
                if m.state == "present" and target in (m.identity, m.seat, m.delegation):
                    return cid
        if hand is None:
            return None
        h = np.asarray(hand, np.float64)
        best: tuple[float, int] | None = None
        for cid, m in state.members.items():
            if m.state != "present":
                continue
            chest = np.asarray(m.head.position, np.float64) - np.array([0.0, self.s.chest_drop, 0.0])
            d = float(np.linalg.norm(chest - h))
            if d <= self.s.reach and (best is None or d < best[0]):
                best = (d, cid)
        return None if best is None else best[1]

    # ------------------------------------------------------------ handshake actions

    def session(self, peer: int) -> HandshakeSession:
        hs = self.handshakes.get(peer)
        if hs is None:
            hs = HandshakeSession(self.s.handshake_timeout, self.s.meet_timeout, self.s.meet_distance)
            self.handshakes[peer] = hs
        return hs

    def offer(self, peer: int, now: float) -> None:
        """Offer ``peer`` a handshake (accepts theirs if they offered first)."""
        hs = self.session(peer)
        hs.offer(now)
        self._collect(peer, hs)

    def accept(self, peer: int, now: float) -> None:
        hs = self.session(peer)
        hs.accept(now)
        self._collect(peer, hs)

    def decline(self, peer: int, now: float) -> None:
        hs = self.session(peer)
        hs.decline(now)
        self._collect(peer, hs)

    def cancel(self, peer: int, now: float) -> None:
        hs = self.session(peer)
        hs.cancel(now)
        self._collect(peer, hs)

    def shown(self, peer: int) -> str:
        """What the UI shows for a handshake with ``peer``: "idle", "offered", "agreed", "shaken", ..."""
        hs = self.handshakes.get(peer)
        return "idle" if hs is None else hs.shown

    # ------------------------------------------------------------ network input

    def member_left(self, peer: int, now: float) -> None:
        """Member ``peer`` left the room (the roster dropped it, or the relay, in a plain room)."""
        self.floor.member_left(peer, now)
        hs = self.handshakes.get(peer)
        if hs is not None and hs.state in (State.OFFERED, State.INVITED, State.AGREED):
            hs.update(max(now, hs.deadline))  # a peer that left answers no more: the offer expires
            self._collect(peer, hs)

    def receive(self, ev: object, now: float, sender: int | None = None) -> None:
        """Fold in one client event: handshake messages for us, peers' gestures for the meeting.

        ``sender``: whose event it is (the room state's key: the verified member in a secured
        room); default the relay's ``ev.sender``, right only in a room without end-to-end encryption.
        """
        if isinstance(ev, MemberUpdate):
            if ev.state == "left":
                self.member_left(ev.client_id, now)
            return
        if not isinstance(ev, RoomEventReceived) or ev.stream not in ("room", STREAM):
            return
        who = ev.sender if sender is None else sender
        data = ev.payload
        if data[:1] == bytes([ENVELOPE_TAG]):
            self._handshake_in(who, data, now)
            return
        try:
            g = GestureEvent.parse(data)
        except ProtocolError:
            return  # not a gesture: someone else's event
        self.counters.received += 1
        if self.floor.on_gesture(who, g, now):
            self.counters.floor_changes += 1

    def _handshake_in(self, sender: int, data: bytes, now: float) -> None:
        self.counters.handshake_messages += 1
        try:
            env = HandshakeEnvelope.parse(data)
        except ProtocolError:
            self.counters.handshake_malformed += 1
            return
        if env.to != self.me or sender == self.me:
            self.counters.handshake_not_for_us += 1
            return
        hs = self.session(sender)
        hs.receive(bytes(env.message), now)
        self._collect(sender, hs)

    # ------------------------------------------------------------ clock

    def tick(self, now: float, right_hand: npt.ArrayLike | None, state: RoomState) -> None:
        """Advance every handshake: expire old offers; check whether agreed right hands meet.

        ``right_hand``: the local right hand (scene metres); peers' right hands come from ``state``.
        """
        for peer, hs in self.handshakes.items():
            if hs.state not in (State.OFFERED, State.INVITED, State.AGREED):
                continue
            m = state.members.get(peer)
            theirs = None if m is None or m.right is None else np.asarray(m.right.position, np.float64)
            hs.update(now, right_hand, theirs)
            self._collect(peer, hs)

    # ------------------------------------------------------------ output

    def data_to_send(self) -> list[tuple[str, bytes]]:
        """(event stream, payload) pairs for the room event channel, in order."""
        out = list(self._out)
        self._out.clear()
        return out

    def next_event(self) -> PeerHandshakeEvent | None:
        return self._events.popleft() if self._events else None

    def _collect(self, peer: int, hs: HandshakeSession) -> None:
        for msg in hs.data_to_send():
            self._out.append((STREAM, bytes(HandshakeEnvelope(peer, HandshakeMessage.parse(msg)))))
        while (e := hs.next_event()) is not None:
            self._events.append(PeerHandshakeEvent(peer, e))


def right_hand_position(triple: Sequence[object]) -> npt.NDArray[np.float64] | None:
    """The right hand's position from a (head, left, right) pose triple, or None."""
    right = triple[2] if len(triple) > 2 else None
    pos = getattr(right, "position", None)
    return None if pos is None else np.asarray(pos, np.float64)
