"""The handshake protocol, sans I/O: two delegates' right hands meet and both have accepted.

A handshake is never forced. One side *offers* (extends a hand, or presses the key); the other
sees "offered" and may *accept* or *decline*; either may *cancel*. An unanswered offer expires
after its TTL. Once both have accepted (an accept, or two crossing offers) the hands must meet
(right hands within ``meet_distance``, 0.15 m) within ``meet_timeout`` seconds, else it expires.

The state machine takes bytes and ``now`` (seconds, passed in) and produces bytes and events;
a network adapter carries :meth:`HandshakeSession.data_to_send` to the peer and feeds what
arrives to :meth:`HandshakeSession.receive`. Wire message (big-endian, 10 bytes)::

    u8 version (1)   u8 kind (1 offer, 2 accept, 3 decline, 4 cancel, 5 done)
    u32 offer_id     u32 ttl_ms (offers; 0 otherwise)
"""

from __future__ import annotations

import enum
import math
import os
import struct
from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vrdiplomacy.errors import ProtocolError

VERSION = 1
_MSG = struct.Struct(">BBII")


class Kind(enum.IntEnum):
    OFFER = 1
    ACCEPT = 2
    DECLINE = 3
    CANCEL = 4
    DONE = 5


@dataclass(frozen=True)
class HandshakeMessage:
    """One protocol message: ``kind``, ``offer_id`` (which offer it answers), ``ttl_ms``."""

    kind: Kind
    offer_id: int
    ttl_ms: int = 0

    def __bytes__(self) -> bytes:
        return _MSG.pack(VERSION, int(self.kind), self.offer_id, self.ttl_ms)

    @classmethod
    def parse(cls, data: bytes) -> "HandshakeMessage":
        if len(data) != _MSG.size:
            raise ProtocolError(f"handshake message must be {_MSG.size} bytes, not {len(data)}")
        ver, kind, offer_id, ttl = _MSG.unpack(data)
        if ver != VERSION:
            raise ProtocolError(f"handshake message version {ver} not supported")
        if kind not in Kind._value2member_map_:
            raise ProtocolError(f"unknown handshake message kind {kind}")
        if (kind == Kind.OFFER) != (ttl > 0) or ttl > 60_000:
            raise ProtocolError("handshake offers carry a TTL of 1..60000 ms, other messages none")
        return cls(Kind(kind), offer_id, ttl)


class State(str, enum.Enum):
    IDLE = "idle"
    OFFERED = "offered"  # we offered, waiting for the peer
    INVITED = "invited"  # the peer offered, waiting for us
    AGREED = "agreed"  # both accepted, hands not yet met
    SHAKEN = "shaken"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


TERMINAL = {State.IDLE, State.SHAKEN, State.DECLINED, State.CANCELLED, State.EXPIRED}


@dataclass(frozen=True)
class HandshakeEvent:
    """Something the UI shows: ``state`` entered, ``by`` "local"/"peer"/"" and the time."""

    state: State
    by: str
    time: float


class HandshakeSession:
    """One handshake relation between the local delegate and one peer (see module docstring).

    ``timeout`` offer lifetime in seconds; ``meet_timeout`` time allowed for the hands to meet
    once both accepted; ``meet_distance`` metres between the two right hands; ``rng`` makes
    offer ids reproducible in tests.
    """

    def __init__(
        self,
        timeout: float = 8.0,
        meet_timeout: float = 5.0,
        meet_distance: float = 0.15,
        rng: np.random.Generator | None = None,
    ) -> None:
        if not 0.0 < timeout <= 60.0 or meet_timeout <= 0.0 or meet_distance <= 0.0:
            raise ValueError("timeout must lie in (0, 60] s; meet_timeout and meet_distance be > 0")
        self.timeout = timeout
        self.meet_timeout = meet_timeout
        self.meet_distance = meet_distance
        self._rng = rng
        self.state = State.IDLE
        self.offer_id = 0
        self.deadline = math.inf
        self.dropped = 0  # malformed or stale messages
        self._out: deque[bytes] = deque()
        self._events: deque[HandshakeEvent] = deque()

    # -- local actions -----------------------------------------------------------------------
    def offer(self, now: float) -> None:
        """Offer a handshake (or accept one the peer offered, if there is one)."""
        if self.state is State.INVITED:
            self.accept(now)
            return
        if self.state in (State.OFFERED, State.AGREED):
            return  # already offered: offering again changes nothing
        self.offer_id = self._new_id()
        self._send(Kind.OFFER, round(self.timeout * 1000))
        self._enter(State.OFFERED, "local", now, now + self.timeout)

    def accept(self, now: float) -> None:
        if self.state is not State.INVITED:
            raise ValueError(f"nothing to accept (state {self.state.value})")
        self._send(Kind.ACCEPT)
        self._enter(State.AGREED, "local", now, now + self.meet_timeout)

    def decline(self, now: float) -> None:
        if self.state is not State.INVITED:
            raise ValueError(f"nothing to decline (state {self.state.value})")
        self._send(Kind.DECLINE)
        self._enter(State.DECLINED, "local", now)

    def cancel(self, now: float) -> None:
        if self.state not in (State.OFFERED, State.AGREED):
            raise ValueError(f"nothing to cancel (state {self.state.value})")
        self._send(Kind.CANCEL)
        self._enter(State.CANCELLED, "local", now)

    def on_gesture(self, now: float) -> None:
        """The local user extended a hand (a recognized ``handshake`` gesture): offer or accept."""
        self.offer(now)

    # -- input -------------------------------------------------------------------------------
    def receive(self, data: bytes, now: float) -> None:
        """Feed one message from the peer; malformed or stale ones are counted and dropped."""
        try:
            msg = HandshakeMessage.parse(data)
        except ProtocolError:
            self.dropped += 1
            return
        st = self.state
        if msg.kind is Kind.OFFER:
            if st is State.OFFERED:  # crossing offers: both have accepted; agree on the larger id
                self.offer_id = max(self.offer_id, msg.offer_id)
                self._enter(State.AGREED, "peer", now, now + self.meet_timeout)
            elif st in TERMINAL or st is State.INVITED:
                self.offer_id = msg.offer_id
                self._enter(State.INVITED, "peer", now, now + min(self.timeout, msg.ttl_ms / 1000.0))
            else:
                self.dropped += 1
            return
        if msg.offer_id != self.offer_id:
            self.dropped += 1
            return
        if msg.kind is Kind.ACCEPT and st is State.OFFERED:
            self._enter(State.AGREED, "peer", now, now + self.meet_timeout)
        elif msg.kind is Kind.DECLINE and st is State.OFFERED:
            self._enter(State.DECLINED, "peer", now)
        elif msg.kind is Kind.CANCEL and st in (State.INVITED, State.AGREED):
            self._enter(State.CANCELLED, "peer", now)
        elif msg.kind is Kind.DONE and st is State.AGREED:
            self._enter(State.SHAKEN, "peer", now)
        else:
            self.dropped += 1

    def update(
        self, now: float, local_hand: npt.ArrayLike | None = None, peer_hand: npt.ArrayLike | None = None
    ) -> None:
        """Advance the clock; with both right-hand positions (metres), check whether they meet."""
        if self.state in (State.OFFERED, State.INVITED, State.AGREED) and now >= self.deadline:
            self._enter(State.EXPIRED, "", now)
            return
        if self.state is State.AGREED and local_hand is not None and peer_hand is not None:
            d = np.asarray(local_hand, np.float64) - np.asarray(peer_hand, np.float64)
            if float(np.sqrt(d @ d)) <= self.meet_distance:
                self._send(Kind.DONE)
                self._enter(State.SHAKEN, "local", now)

    # -- output ------------------------------------------------------------------------------
    def data_to_send(self) -> list[bytes]:
        out = list(self._out)
        self._out.clear()
        return out

    def next_event(self) -> HandshakeEvent | None:
        return self._events.popleft() if self._events else None

    @property
    def shown(self) -> str:
        """What the avatar shows: "offered" while an offer is open, else the state name."""
        return "offered" if self.state in (State.OFFERED, State.INVITED) else self.state.value

    def _send(self, kind: Kind, ttl_ms: int = 0) -> None:
        self._out.append(bytes(HandshakeMessage(kind, self.offer_id, ttl_ms)))

    def _enter(self, state: State, by: str, now: float, deadline: float = math.inf) -> None:
        self.state = state
        self.deadline = deadline
        self._events.append(HandshakeEvent(state, by, now))

    def _new_id(self) -> int:
        if self._rng is not None:
            return int(self._rng.integers(1, 2**32))
        return int.from_bytes(os.urandom(4), "big") or 1
