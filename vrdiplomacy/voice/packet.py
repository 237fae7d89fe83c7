"""Voice wire messages: :class:`VoicePacket` (one Opus frame) and :class:`ReceiverReport`.

Both are plain bytes with ``parse()`` and ``__bytes__``; the network layer carries
(and encrypts) them opaquely. All integers are big-endian.

VoicePacket (13-byte header, then the Opus payload of 1..1275 bytes)::

    0   u8   kind 0x56 ('V')
    1   u8   flags: 0x01 VOICE (voice activity), 0x02 START (first packet of a talkspurt),
             0x04 CBR (constant bitrate stream), 0x08 FEC (encoder has in-band FEC on)
    2   u16  sequence number (counts sent packets, wraps)
    4   u32  timestamp of the first sample, in 48 kHz samples (wraps)
    8   u32  speaker id
    12  u8   audio level, -dBov 0..127 as in RFC 6464 (0 loudest, 127 silence)

ReceiverReport (12 bytes), what one listener measured about one speaker's stream; the
speaker's encoder uses the loss to set its expected-loss (FEC) setting::

    0   u8   kind 0x52 ('R')
    1   u8   fraction lost, 0..255 (/256), over the receiver's window
    2   u16  jitter-buffer delay in milliseconds
    4   u32  speaker id (the stream reported on)
    8   u32  reporter id
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from vrdiplomacy.errors import ProtocolError

VOICE_KIND = 0x56
REPORT_KIND = 0x52
FLAG_VOICE = 0x01
FLAG_START = 0x02
FLAG_CBR = 0x04
FLAG_FEC = 0x08
KNOWN_FLAGS = FLAG_VOICE | FLAG_START | FLAG_CBR | FLAG_FEC
MAX_PAYLOAD = 1275

_HDR = struct.Struct(">BBHIIB")
_REPORT = struct.Struct(">BBHII")
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
        return cls(seq, ts, speaker, level, bytes(data[HEADER_SIZE:]), flags)

    def __bytes__(self) -> bytes:
        return _HDR.pack(VOICE_KIND, self.flags, self.sequence, self.timestamp, self.speaker, self.level) + self.payload


@dataclass(frozen=True)
class ReceiverReport:
    """A listener's measurement of one speaker's stream: loss (/256) and buffer delay."""

    speaker: int
    reporter: int
    fraction_lost: int
    delay_ms: int

    def __post_init__(self) -> None:
        if not 0 <= self.fraction_lost <= 255 or not 0 <= self.delay_ms <= 0xFFFF:
            raise ProtocolError("receiver report field out of range")
        if not 0 <= self.speaker <= 0xFFFFFFFF or not 0 <= self.reporter <= 0xFFFFFFFF:
            raise ProtocolError("receiver report id out of range")

    @property
    def loss(self) -> float:
        return self.fraction_lost / 256.0

    @classmethod
    def from_loss(cls, speaker: int, reporter: int, loss: float, delay_ms: float) -> "ReceiverReport":
        return cls(speaker, reporter, min(255, max(0, int(round(loss * 256)))), min(0xFFFF, max(0, int(delay_ms))))

    @classmethod
    def parse(cls, data: bytes) -> "ReceiverReport":
        if len(data) != _REPORT.size:
            raise ProtocolError(f"receiver report must be {_REPORT.size} bytes, got {len(data)}")
        kind, lost, delay, speaker, reporter = _REPORT.unpack(data)
        if kind != REPORT_KIND:
            raise ProtocolError(f"not a receiver report (kind 0x{kind:02x})")
        return cls(speaker, reporter, lost, delay)

    def __bytes__(self) -> bytes:
        return _REPORT.pack(REPORT_KIND, self.fraction_lost, self.delay_ms, self.speaker, self.reporter)


def level_dbov(rms: float) -> int:
    """RFC 6464 audio level: -dBov of an RMS value (full scale 1.0), clamped to 0..127."""
    import math

    if rms <= 1e-7:
        return 127
    return int(min(127, max(0, round(-20.0 * math.log10(rms)))))
