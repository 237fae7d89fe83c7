"""The voice wire message :class:`VoicePacket` (one Opus frame, optionally with redundant
copies of earlier frames).

Plain bytes with ``parse()`` and ``__bytes__``; the network layer carries (and encrypts)
it opaquely. All integers are big-endian. Listeners' loss reports are
:class:`vrdiplomacy.voice.feedback.LossReport`.

VoicePacket (13-byte header, then the Opus payload of 1..1275 bytes)::

    0   u8   kind 0x56 ('V')
    1   u8   flags: 0x01 VOICE (voice activity), 0x02 START (first packet of a talkspurt),
             0x04 CBR (constant bitrate stream), 0x08 FEC (the payload carries in-band FEC
             data for the previous frame: FEC on and an expected loss above zero),
             0x10 RED (redundant copies of earlier frames precede the payload)
    2   u16  sequence number (counts sent packets, wraps)
    4   u32  timestamp of the first sample, in 48 kHz samples (wraps)
    8   u32  speaker id
    12  u8   audio level, -dBov 0..127 as in RFC 6464 (0 loudest, 127 silence)

With the RED flag, the idea of RFC 2198 (redundant audio data): after the header come
``u8 count`` (1..3), then per copy ``u8 distance`` (frames back, 1..15, strictly
increasing) and ``u16 length`` (1..1275), then the copies' Opus payloads in that order,
then the primary payload (the rest). A copy at distance ``d`` is the Opus packet of the
frame whose timestamp is ``timestamp - d * frame`` (``frame`` the primary's duration),
byte for byte as it was sent then, so a receiver that lost that packet decodes exactly
what it missed.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from vrdiplomacy.errors import ProtocolError

VOICE_KIND = 0x56
FLAG_VOICE = 0x01
FLAG_START = 0x02
FLAG_CBR = 0x04
FLAG_FEC = 0x08
FLAG_RED = 0x10
KNOWN_FLAGS = FLAG_VOICE | FLAG_START | FLAG_CBR | FLAG_FEC | FLAG_RED
MAX_PAYLOAD = 1275
MAX_COPIES = 3
MAX_DISTANCE = 15

_HDR = struct.Struct(">BBHIIB")
_RED = struct.Struct(">BH")
HEADER_SIZE = _HDR.size


@dataclass(frozen=True)
class VoicePacket:
    """One Opus frame of one speaker's stream (see the module docstring for the layout)."""

    sequence: int
    timestamp: int
    speaker: int
    level: int
    payload: bytes
    flags: int = FLAG_VOICE
    redundancy: tuple[tuple[int, bytes], ...] = ()
    """Redundant copies of earlier frames as (distance in frames, Opus payload); non-empty
    exactly when the RED flag is set."""

    def __post_init__(self) -> None:
        if not 0 <= self.sequence <= 0xFFFF:
            raise ProtocolError(f"sequence {self.sequence} out of range")
        if not 0 <= self.timestamp <= 0xFFFFFFFF or not 0 <= self.speaker <= 0xFFFFFFFF:
            raise ProtocolError("timestamp or speaker id out of range")
        if not 0 <= self.level <= 127:
            raise ProtocolError(f"level {self.level} out of range 0..127")
        if self.flags & ~KNOWN_FLAGS or not 0 <= self.flags <= 0xFF:
            raise ProtocolError(f"unknown flags 0x{self.flags:02x}")
        if not 1 <= len(self.payload) <= MAX_PAYLOAD:
            raise ProtocolError(f"payload length {len(self.payload)} out of range 1..{MAX_PAYLOAD}")
        if bool(self.flags & FLAG_RED) != bool(self.redundancy):
            raise ProtocolError("the RED flag and the redundant copies disagree")
        if len(self.redundancy) > MAX_COPIES:
            raise ProtocolError(f"{len(self.redundancy)} redundant copies (at most {MAX_COPIES})")
        last = 0
        for d, copy in self.redundancy:
            if not last < d <= MAX_DISTANCE:
                raise ProtocolError(f"redundancy distances must increase within 1..{MAX_DISTANCE}")
            if not 1 <= len(copy) <= MAX_PAYLOAD:
                raise ProtocolError(f"redundant copy length {len(copy)} out of range 1..{MAX_PAYLOAD}")
            last = d

    @property
    def voice(self) -> bool:
        return bool(self.flags & FLAG_VOICE)

    @property
    def start(self) -> bool:
        return bool(self.flags & FLAG_START)

    @classmethod
    def parse(cls, data: bytes) -> "VoicePacket":
        if len(data) < HEADER_SIZE + 1:
            raise ProtocolError(f"voice packet too short ({len(data)} bytes)")
        kind, flags, seq, ts, speaker, level = _HDR.unpack_from(data)
        if kind != VOICE_KIND:
            raise ProtocolError(f"not a voice packet (kind 0x{kind:02x})")
        if not flags & FLAG_RED:
            return cls(seq, ts, speaker, level, bytes(data[HEADER_SIZE:]), flags)
        count = data[HEADER_SIZE]
        if not 1 <= count <= MAX_COPIES:
            raise ProtocolError(f"bad redundant copy count {count}")
        pos = HEADER_SIZE + 1
        heads = []
        for _ in range(count):
            if pos + _RED.size > len(data):
                raise ProtocolError("voice packet truncated in its redundancy headers")
            heads.append(_RED.unpack_from(data, pos))
            pos += _RED.size
        copies = []
        for d, n in heads:
            if pos + n > len(data):
                raise ProtocolError("voice packet truncated in a redundant copy")
            copies.append((d, bytes(data[pos : pos + n])))
            pos += n
        return cls(seq, ts, speaker, level, bytes(data[pos:]), flags, tuple(copies))

    def __bytes__(self) -> bytes:
        head = _HDR.pack(VOICE_KIND, self.flags, self.sequence, self.timestamp, self.speaker, self.level)
        if not self.redundancy:
            return head + self.payload
        red = bytes([len(self.redundancy)]) + b"".join(_RED.pack(d, len(c)) for d, c in self.redundancy)
        return head + red + b"".join(c for _, c in self.redundancy) + self.payload


def level_dbov(rms: float) -> int:
    """RFC 6464 audio level: -dBov of an RMS value (full scale 1.0), clamped to 0..127."""
    import math

    if rms <= 1e-7:
        return 127
    return int(min(127, max(0, round(-20.0 * math.log10(rms)))))
