"""The outer packet every E2EE message travels in, and what a relay may read of it.

Wire format::

    u8 version=1 | u8 stream_type | body

``body`` is an SFrame ciphertext (header || ct || tag) for media and event streams, a
:class:`~vrdiplomacy.crypto.hpke_dist.KeyDistribution` for ``KEYS`` and a
:class:`~vrdiplomacy.crypto.signing.FrameSignature` for ``FRAME_SIG``. The relay sees only the
stream type and the sender (from the SFrame KID, or the signed control message) - enough to route
and prioritise, nothing of the content.

Events of every kind (room text, gestures, floor requests, votes) travel as one outer stream type,
``EVENT``: their kind is inside the AEAD (in the signed event), and their plaintext is padded to
one of a few bucket sizes (:data:`EVENT_BUCKETS`), so neither the kind nor the exact length of an
event is visible outside the room.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from vrdiplomacy.crypto.keys import split_kid
from vrdiplomacy.crypto.sframe import SFrameHeader
from vrdiplomacy.crypto.wire import Reader
from vrdiplomacy.errors import ProtocolError

VERSION = 1
MAX_PACKET = 1 << 20


class StreamType(enum.IntEnum):
    """What a packet carries. Media streams (voice, pose) are signed in batches; event streams
    (room text and meeting control, gestures, floor requests, votes) carry a per-event signature.
    ``ROOM`` .. ``VOTE`` are the kinds of events (inside the encryption); on the wire every event
    is an ``EVENT`` packet."""

    VOICE = 1
    POSE = 2
    ROOM = 3
    GESTURE = 4
    FLOOR = 5
    VOTE = 6
    EVENT = 7
    KEYS = 0x80
    FRAME_SIG = 0x81


MEDIA_STREAMS = frozenset({StreamType.VOICE, StreamType.POSE})
EVENT_STREAMS = frozenset({StreamType.ROOM, StreamType.GESTURE, StreamType.FLOOR, StreamType.VOTE})
"""Event kinds: what an application seals and what :meth:`GroupSession.open` reports."""
WIRE_SFRAME_STREAMS = MEDIA_STREAMS | {StreamType.EVENT}
"""The SFrame stream types that appear on the wire."""
SFRAME_STREAMS = MEDIA_STREAMS | EVENT_STREAMS
"""The streams an application may seal."""
CONTROL_STREAMS = frozenset({StreamType.KEYS, StreamType.FRAME_SIG})
EVENT_BUCKETS: tuple[int, ...] = (256, 1024, 4096, 7936)
"""Plaintext sizes every sealed event is padded to (the smallest that fits). 256 B holds every
vote, floor request and gesture; 7936 B keeps the sealed packet within one room event."""


def wire_stream(st: StreamType) -> StreamType:
    """The stream type a sealed packet of kind ``st`` carries on the wire."""
    return StreamType.EVENT if st in EVENT_STREAMS else st


def event_bucket(n: int, buckets: tuple[int, ...] = EVENT_BUCKETS) -> int:
    """The padded size of an event plaintext of ``n`` bytes; raises when none fits."""
    for b in buckets:
        if n <= b:
            return b
    raise ProtocolError(f"event of {n} bytes exceeds the largest padding bucket ({buckets[-1]} bytes)")


@dataclass(frozen=True)
class Packet:
    """One packet: ``stream_type`` and its opaque ``body``."""

    stream_type: StreamType
    body: bytes

    def __bytes__(self) -> bytes:
        return bytes((VERSION, self.stream_type)) + self.body

    @classmethod
    def parse(cls, data: bytes) -> Packet:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise ProtocolError("packet: expected bytes")
        data = bytes(data)
        if len(data) < 3:
            raise ProtocolError("packet: too short")
        if len(data) > MAX_PACKET:
            raise ProtocolError("packet: too large")
        if data[0] != VERSION:
            raise ProtocolError(f"packet: unsupported version {data[0]}")
        try:
            st = StreamType(data[1])
        except ValueError:
            raise ProtocolError(f"packet: unknown stream type {data[1]}") from None
        return cls(st, data[2:])


@dataclass(frozen=True)
class RelayView:
    """The plaintext a relay can read: stream type, sender index and, for SFrame packets, the
    key generation (low bits) and counter."""

    stream_type: StreamType
    sender: int
    generation: int | None = None
    ctr: int | None = None

    @classmethod
    def parse(cls, data: bytes) -> RelayView:
        p = Packet.parse(data)
        if p.stream_type in WIRE_SFRAME_STREAMS:
            hdr, _ = SFrameHeader.decode(p.body)
            sender, gen = split_kid(hdr.kid)
            return cls(p.stream_type, sender, gen, hdr.ctr)
        r = Reader(p.body, "control packet")
        r.u8()
        r.vec8()
        if p.stream_type == StreamType.KEYS:
            r.u64()
        return cls(p.stream_type, r.u16())
