"""Quantized pose streams: head + both hands at a fixed rate, decodable after any loss.

Every frame is **self-contained** by default: it carries absolute values, so each one that
arrives is shown, whatever was lost before it. The stream still marks a **keyframe** every
``key_interval`` frames (10 at 20 Hz = 2 Hz) in its routing header: the relay thins a stream to
those for distant listeners (:mod:`vrdiplomacy.net.interest`), and the mid tier gets every
``mid_divisor``-th frame; with self-contained frames every one of them decodes.

The older **delta** coding (``PoseEncoder(deltas=True)``) sends absolute values only in keyframes
and, in between, small steps from the latest keyframe: 6 to 7 bytes less per frame (about
130 bytes/s of payload at 20 Hz, some 7 % of a pose datagram), but a delta whose keyframe was
lost cannot be decoded, so under loss a stream loses far more than the lost frames (at 20 %
loss about 65 % of frames decode instead of 80 %, and two lost keyframes in a row freeze an
avatar for a second; ``tools/bench/pose_loss.py`` measures both). Deltas against the last
*acknowledged* keyframe would need every receiver to acknowledge every sender through the
relay; self-contained frames need no feedback at all. The decoder reads both, so a client that
still sends deltas is understood.

Payload layout (big-endian)::

    absolute: u8 flags | u16 seq | head pos 3 x i16 (2 mm) | head rot u32 | per hand: pos 3 x i16
              (1 mm, relative to the head) | rot u32                      (13 + 10 per hand bytes)
    delta:    u8 flags | u16 seq | u16 key seq | head dpos 3 x i8 (2 mm) | head rot u32 | per hand:
              dpos 3 x i8 (1 mm) | rot u32                                (12 + 7 per hand bytes)

flags: bit0 absolute, bit1 left hand present, bit2 right hand present. Rotations use
"smallest three" (2-bit index of the dropped component, three 10-bit components, 0 exact).
The sequence number orders frames: :meth:`PoseDecoder.decode` refuses one older than the newest
it decoded (:class:`LatePose`), so a reordered frame never moves an avatar back in time.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

import numpy as np

from vrdiplomacy.errors import ProtocolError
from vrdiplomacy.scene.math3d import Pose

KEY, LEFT, RIGHT = 0x01, 0x02, 0x04
HEAD_UNIT = 0.002  # metres per step of the head position
HAND_UNIT = 0.001  # metres per step of a hand position (relative to the head)
_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_P3 = struct.Struct("!hhh")
_D3 = struct.Struct("!bbb")
_U32 = struct.Struct("!I")


def pack_quat(q: object) -> int:
    """Smallest-three quantization of a unit quaternion (x, y, z, w) to 32 bits."""
    v = [float(c) for c in q]  # type: ignore[attr-defined]
    n = math.sqrt(sum(c * c for c in v))
    v = [c / n for c in v] if n > 1e-9 else [0.0, 0.0, 0.0, 1.0]
    i = max(range(4), key=lambda k: abs(v[k]))
    if v[i] < 0:
        v = [-c for c in v]
    out = i
    for j in range(4):
        if j == i:
            continue
        c = min(1.0, max(-1.0, v[j] / _INV_SQRT2))
        out = (out << 10) | (int(round(c * 511)) + 511)
    return out


def unpack_quat(bits: int) -> np.ndarray:
    comps = [min(1.0, (((bits >> s) & 0x3FF) - 511) / 511) for s in (20, 10, 0)]
    i = (bits >> 30) & 0x3
    small = [c * _INV_SQRT2 for c in comps]
    big = math.sqrt(max(0.0, 1.0 - sum(c * c for c in small)))
    q = small[:i] + [big] + small[i:]
    return np.array(q, dtype=np.float32)


def _q(v: object, unit: float) -> tuple[int, int, int]:
    x, y, z = (max(-32768, min(32767, int(round(float(c) / unit)))) for c in v)  # type: ignore[attr-defined]
    return (x, y, z)


@dataclass
class PoseSample:
    """A decoded pose frame: head and (optional) hands in the room frame. ``key``: the frame
    was self-contained (absolute values), not a delta."""

    seq: int
    key: bool
    head: Pose
    left: Pose | None
    right: Pose | None


class PoseEncoder:
    """Encodes one client's pose stream.

    key_interval: frames from one keyframe to the next (the relay sends keyframes to everyone);
    deltas: send the older delta coding between keyframes (smaller, but a delta is lost with
    its keyframe; see the module docstring) instead of self-contained frames.
    """

    def __init__(self, key_interval: int = 10, deltas: bool = False) -> None:
        if key_interval < 1:
            raise ValueError(f"key_interval must be >= 1, got {key_interval}")
        self.key_interval = key_interval
        self.deltas = deltas
        self.seq = 0
        self._key: tuple[int, tuple[int, int, int], list[tuple[int, int, int] | None]] | None = None
        self._since_key = 0

    def encode(self, head: Pose, left: Pose | None = None, right: Pose | None = None) -> tuple[bytes, bool, int]:
        """Payload for the next frame; returns (payload, is_key, seq). ``is_key``: this frame is
        a keyframe (the relay's routing header says so)."""
        self.seq = (self.seq + 1) & 0xFFFF
        hp = _q(head.position, HEAD_UNIT)
        hx, hy, hz = (float(c) for c in head.position)
        hands = [
            None if h is None else _q((float(h.position[0]) - hx, float(h.position[1]) - hy, float(h.position[2]) - hz), HAND_UNIT)
            for h in (left, right)
        ]
        rots = [pack_quat(p.orientation) for p in (head, left, right) if p is not None]
        flags = (LEFT if left is not None else 0) | (RIGHT if right is not None else 0)
        key = self._key is None or self._since_key >= self.key_interval - 1
        if self.deltas and not key and self._key is not None:
            kseq, khp, khands = self._key
            if [h is None for h in khands] != [h is None for h in hands]:
                key = True
            else:
                deltas = [tuple(a - b for a, b in zip(hp, khp))]
                deltas += [tuple(a - b for a, b in zip(h, kh)) for h, kh in zip(hands, khands) if h is not None and kh is not None]
                if any(abs(d) > 127 for dd in deltas for d in dd):
                    key = True
        if key:
            self._key = (self.seq, hp, hands)
            self._since_key = 0
        else:
            self._since_key += 1
        if key or not self.deltas:
            out = bytes((flags | KEY,)) + self.seq.to_bytes(2, "big") + _P3.pack(*hp) + _U32.pack(rots[0])
            r = 1
            for h in hands:
                if h is not None:
                    out += _P3.pack(*h) + _U32.pack(rots[r])
                    r += 1
            return out, key, self.seq
        assert self._key is not None
        kseq, khp, khands = self._key
        out = bytes((flags,)) + self.seq.to_bytes(2, "big") + kseq.to_bytes(2, "big")
        out += _D3.pack(*(a - b for a, b in zip(hp, khp))) + _U32.pack(rots[0])
        r = 1
        for h, kh in zip(hands, khands):
            if h is not None and kh is not None:
                out += _D3.pack(*(a - b for a, b in zip(h, kh))) + _U32.pack(rots[r])
                r += 1
        return out, False, self.seq


class LatePose(ProtocolError):
    """A pose frame older than (or the same as) the newest one decoded from its stream."""


class PoseDecoder:
    """Decodes one sender's stream. A delta whose keyframe is missing raises ProtocolError; a
    frame at most ``reorder_window`` frames older than the newest decoded one (a reordered or
    duplicated datagram) raises :class:`LatePose`. A frame older than that is taken as a new
    start of the stream (the sender restarted)."""

    def __init__(self, reorder_window: int = 64) -> None:
        self.reorder_window = reorder_window
        self.newest: int | None = None
        self._key: tuple[int, tuple[int, ...], list[tuple[int, ...] | None]] | None = None

    def decode(self, payload: bytes) -> PoseSample:
        if len(payload) >= 3 and self.newest is not None:
            back = (self.newest - int.from_bytes(payload[1:3], "big")) & 0xFFFF
            if back <= self.reorder_window:
                raise LatePose(f"pose frame {back} frame(s) older than the newest one decoded")
        try:
            sample = self._decode(payload)
        except (struct.error, IndexError):
            raise ProtocolError("truncated pose payload") from None
        self.newest = sample.seq
        return sample

    def _decode(self, b: bytes) -> PoseSample:
        flags = b[0]
        if flags & ~(KEY | LEFT | RIGHT):
            raise ProtocolError(f"unknown pose payload flags 0x{flags:02x}")
        seq = int.from_bytes(b[1:3], "big")
        present = [bool(flags & LEFT), bool(flags & RIGHT)]
        hands_n = sum(present)
        if flags & KEY:
            if len(b) != 3 + 10 + 10 * hands_n:
                raise ProtocolError("pose keyframe has the wrong length")
            hp = _P3.unpack_from(b, 3)
            rots = [_U32.unpack_from(b, 9)[0]]
            pos, hands = 13, []
            for p in present:
                if p:
                    hands.append(_P3.unpack_from(b, pos))
                    rots.append(_U32.unpack_from(b, pos + 6)[0])
                    pos += 10
                else:
                    hands.append(None)
            self._key = (seq, hp, hands)
        else:
            if len(b) != 5 + 7 + 7 * hands_n:
                raise ProtocolError("pose delta has the wrong length")
            kseq = int.from_bytes(b[3:5], "big")
            if self._key is None or self._key[0] != kseq:
                raise ProtocolError(f"pose delta refers to keyframe {kseq} which was not received")
            _, khp, khands = self._key
            if [h is not None for h in khands] != present:
                raise ProtocolError("pose delta hands differ from its keyframe")
            d = _D3.unpack_from(b, 5)
            hp = tuple(a + c for a, c in zip(khp, d))
            rots = [_U32.unpack_from(b, 8)[0]]
            pos, hands = 12, []
            for kh in khands:
                if kh is not None:
                    dd = _D3.unpack_from(b, pos)
                    hands.append(tuple(a + c for a, c in zip(kh, dd)))
                    rots.append(_U32.unpack_from(b, pos + 3)[0])
                    pos += 7
                else:
                    hands.append(None)
        head_pos = np.array(hp, dtype=np.float32) * HEAD_UNIT
        head = Pose(head_pos, unpack_quat(rots[0]))
        out: list[Pose | None] = []
        r = 1
        for h in hands:
            if h is None:
                out.append(None)
            else:
                out.append(Pose((head_pos + np.array(h, dtype=np.float32) * HAND_UNIT).astype(np.float32), unpack_quat(rots[r])))
                r += 1
        return PoseSample(seq, bool(flags & KEY), head, out[0], out[1])
