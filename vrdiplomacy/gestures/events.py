"""The gesture event wire format: what a client tells its peers when a gesture starts or ends.

Layout (big-endian, 19 bytes + target)::

    u8  version      1
    u8  gesture      GESTURE_CODES (raise_hand=1 ... handshake=11)
    u8  hand         0 none, 1 left, 2 right, 3 both
    u8  phase        0 start, 1 end
    u16 confidence   round(confidence * 65535)
    f64 time         onset, seconds on the sender's clock
    f32 duration     offset - onset (0 for a start)
    u8  target_len   0 = no target; at most 64
    ..  target       UTF-8 name of the delegate or screen pointed at

:meth:`GestureEvent.parse` rejects anything else with :class:`ProtocolError`.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

from vrdiplomacy.errors import ProtocolError
from vrdiplomacy.gestures.types import Detection, Gesture, Hand

VERSION = 1
MAX_TARGET = 64
_HEAD = struct.Struct(">BBBBHdfB")
GESTURE_CODES: dict[Gesture, int] = {g: i + 1 for i, g in enumerate(Gesture)}
_GESTURE_BY_CODE = {v: k for k, v in GESTURE_CODES.items()}
HAND_CODES: dict[Hand, int] = {Hand.NONE: 0, Hand.LEFT: 1, Hand.RIGHT: 2, Hand.BOTH: 3}
_HAND_BY_CODE = {v: k for k, v in HAND_CODES.items()}
PHASES = ("start", "end")


@dataclass(frozen=True)
class GestureEvent:
    """A gesture starting or ending: ``gesture``, ``hand``, ``phase`` ("start"/"end"), ``time``
    (the onset), ``duration`` (0 for a start), ``confidence`` in [0, 1], ``target`` or None."""

    gesture: Gesture
    hand: Hand
    phase: str
    time: float
    confidence: float
    target: str | None = None
    duration: float = 0.0

    def __post_init__(self) -> None:
        if self.phase not in PHASES:
            raise ValueError(f"phase must be 'start' or 'end', not {self.phase!r}")
        if not (0.0 <= self.confidence <= 1.0) or not math.isfinite(self.time) or not self.duration >= 0.0:
            raise ValueError("confidence must lie in [0, 1], time be finite and duration >= 0")
        if self.target is not None and (not self.target or len(self.target.encode("utf-8")) > MAX_TARGET):
            raise ValueError(f"target must be 1..{MAX_TARGET} UTF-8 bytes")

    @classmethod
    def from_detection(cls, det: Detection, phase: str) -> "GestureEvent":
        duration = max(0.0, det.offset - det.onset) if phase == "end" else 0.0
        return cls(det.gesture, det.hand, phase, det.onset, min(1.0, max(0.0, det.confidence)), det.target, duration)

    def __bytes__(self) -> bytes:
        tgt = self.target.encode("utf-8") if self.target else b""
        return _HEAD.pack(
            VERSION, GESTURE_CODES[self.gesture], HAND_CODES[self.hand], PHASES.index(self.phase),
            round(self.confidence * 65535), self.time, self.duration, len(tgt),
        ) + tgt

    @classmethod
    def parse(cls, data: bytes) -> "GestureEvent":
        if len(data) < _HEAD.size:
            raise ProtocolError(f"gesture event too short ({len(data)} bytes, need {_HEAD.size})")
        ver, g, h, ph, conf, t, dur, n = _HEAD.unpack_from(data)
        if ver != VERSION:
            raise ProtocolError(f"gesture event version {ver} not supported")
        if g not in _GESTURE_BY_CODE or h not in _HAND_BY_CODE or ph >= len(PHASES):
            raise ProtocolError(f"gesture event with unknown gesture/hand/phase ({g}/{h}/{ph})")
        if not math.isfinite(t) or not math.isfinite(dur) or dur < 0.0:
            raise ProtocolError("gesture event time or duration is not a finite, non-negative number")
        if n > MAX_TARGET or len(data) != _HEAD.size + n:
            raise ProtocolError(f"gesture event length {len(data)} does not match its target length {n}")
        target: str | None = None
        if n:
            try:
                target = bytes(data[_HEAD.size:]).decode("utf-8")
            except UnicodeDecodeError:
                raise ProtocolError("gesture event target is not UTF-8") from None
            if not target.isprintable():
                raise ProtocolError("gesture event target holds control characters")
        return cls(_GESTURE_BY_CODE[g], _HAND_BY_CODE[h], PHASES[ph], t, conf / 65535, target, dur)
