"""Media (UDP) messages of the relay protocol: the header, voice and pose routing headers, bundles.

``u8 version | u8 type | u32 client_id | u64 counter`` (14 bytes, the AEAD associated data) then
the hop-by-hop AEAD ciphertext (see :mod:`vrdiplomacy.net.hop`). Re-exported by
:mod:`vrdiplomacy.net.wire`, which documents the protocol as a whole.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from vrdiplomacy.errors import ProtocolError

VERSION = 1
MAX_DATAGRAM = 1400  # bytes on the wire
MAX_MEDIA_PAYLOAD = 1024  # opaque voice / pose payload
MEDIA_HEADER = struct.Struct("!BBIQ")  # version, type, client id, counter
MEDIA_HEADER_SIZE = MEDIA_HEADER.size  # 14

class UnknownMessage(ProtocolError):
    """A well-framed message of a type (or version) this side does not know."""


DG_VOICE, DG_POSE, DG_BIND = 0x01, 0x02, 0x03
DG_BUNDLE, DG_BIND_ACK = 0x81, 0x82
DATAGRAM_TYPES = (DG_VOICE, DG_POSE, DG_BIND, DG_BUNDLE, DG_BIND_ACK)

VOICE_HDR = struct.Struct("!BH")  # level (RFC 6464 style), sequence
POSE_HDR = struct.Struct("!BHhhh")  # flags, sequence, head x/y/z in cm
ENTRY_HDR = struct.Struct("!BIH")  # kind, source client id, length of the inner part
VAD_FLAG = 0x80
POSE_KEY = 0x01


@dataclass
class MediaHeader:
    """The plaintext 14-byte datagram header (authenticated as AEAD associated data)."""

    type: int
    client_id: int
    counter: int
    version: int = VERSION

    def __bytes__(self) -> bytes:
        return MEDIA_HEADER.pack(self.version, self.type, self.client_id, self.counter)

    @classmethod
    def parse(cls, data: bytes) -> MediaHeader:
        if len(data) < MEDIA_HEADER_SIZE:
            raise ProtocolError("datagram shorter than its header")
        v, t, cid, ctr = MEDIA_HEADER.unpack_from(data)
        if v != VERSION:
            raise UnknownMessage(f"unsupported datagram version {v}")
        if t not in DATAGRAM_TYPES:
            raise UnknownMessage(f"unknown datagram type 0x{t:02x}")
        return cls(t, cid, ctr, v)


@dataclass
class VoiceFrame:
    """Inner (sealed hop-by-hop) part of an uplink voice datagram.

    ``level`` follows RFC 6464: bits 0-6 are the level in -dBov (0 loudest, 127 silence), bit 7
    is voice activity. ``payload`` is opaque (an Opus frame, end-to-end sealed).
    """

    level: int
    seq: int
    payload: bytes

    @property
    def active(self) -> bool:
        return bool(self.level & VAD_FLAG)

    @property
    def dbov(self) -> int:
        return -(self.level & 0x7F)

    def __bytes__(self) -> bytes:
        if len(self.payload) > MAX_MEDIA_PAYLOAD:
            raise ProtocolError("voice payload too large")
        return VOICE_HDR.pack(self.level & 0xFF, self.seq & 0xFFFF) + self.payload

    @classmethod
    def parse(cls, data: bytes) -> VoiceFrame:
        if len(data) < VOICE_HDR.size:
            raise ProtocolError("voice frame shorter than its header")
        if len(data) - VOICE_HDR.size > MAX_MEDIA_PAYLOAD:
            raise ProtocolError("voice payload too large")
        level, seq = VOICE_HDR.unpack_from(data)
        return cls(level, seq, data[VOICE_HDR.size :])


def level_byte(dbov: float, active: bool) -> int:
    """RFC 6464-style level byte from a level in dBov (<= 0) and a voice-activity flag."""
    att = int(min(127, max(0, round(-dbov))))
    return att | (VAD_FLAG if active else 0)


@dataclass
class PoseFrame:
    """Inner part of an uplink pose datagram: routing header + opaque pose payload.

    ``key`` marks a keyframe (deltas refer to the latest keyframe, so the relay may thin a stream
    to keyframes only); ``head_cm`` is the coarse head position in centimetres the relay uses
    for interest management.
    """

    key: bool
    seq: int
    head_cm: tuple[int, int, int]
    payload: bytes

    def __bytes__(self) -> bytes:
        if len(self.payload) > MAX_MEDIA_PAYLOAD:
            raise ProtocolError("pose payload too large")
        x, y, z = (max(-32768, min(32767, int(v))) for v in self.head_cm)
        return POSE_HDR.pack(POSE_KEY if self.key else 0, self.seq & 0xFFFF, x, y, z) + self.payload

    @classmethod
    def parse(cls, data: bytes) -> PoseFrame:
        if len(data) < POSE_HDR.size:
            raise ProtocolError("pose frame shorter than its header")
        if len(data) - POSE_HDR.size > MAX_MEDIA_PAYLOAD:
            raise ProtocolError("pose payload too large")
        flags, seq, x, y, z = POSE_HDR.unpack_from(data)
        if flags & ~POSE_KEY:
            raise ProtocolError(f"unknown pose flags 0x{flags:02x}")
        return cls(bool(flags & POSE_KEY), seq, (x, y, z), data[POSE_HDR.size :])


@dataclass
class BundleEntry:
    """One forwarded frame inside a downlink bundle: ``kind`` is DG_VOICE or DG_POSE."""

    kind: int
    source: int
    inner: bytes

    def __bytes__(self) -> bytes:
        return ENTRY_HDR.pack(self.kind, self.source, len(self.inner)) + self.inner


def parse_bundle(data: bytes) -> list[BundleEntry]:
    """Split the (opened) plaintext of a downlink bundle into entries."""
    out: list[BundleEntry] = []
    pos, n = 0, len(data)
    while pos < n:
        if n - pos < ENTRY_HDR.size:
            raise ProtocolError("truncated bundle entry header")
        kind, src, ln = ENTRY_HDR.unpack_from(data, pos)
        pos += ENTRY_HDR.size
        if kind not in (DG_VOICE, DG_POSE):
            raise ProtocolError(f"unknown bundle entry kind {kind}")
        if pos + ln > n:
            raise ProtocolError("truncated bundle entry")
        out.append(BundleEntry(kind, src, data[pos : pos + ln]))
        pos += ln
    return out
