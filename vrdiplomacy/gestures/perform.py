"""Simulated performers: labelled gesture sequences and ordinary talking/listening motion.

A :class:`Performer` has a hand size, tempo, motion amplitude, eye height, handedness, facing,
tracking noise and dropout rate, and either articulated hands or controllers. A performance is a
background (resting, listening, talking, note taking, touching the face, drinking, looking
around) with gesture overlays blended in and out; it returns InputFrames and labels
(gesture, hand, onset, offset, target). Everything is drawn from a seeded generator.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from vrdiplomacy.gestures.synth import HandShape
from vrdiplomacy.gestures.types import Gesture
from vrdiplomacy.scene.math3d import quat_to_mat3

F64 = npt.NDArray[np.float64]
SIDES = ("left", "right")
_M = np.diag([-1.0, 1.0, 1.0])


def _rot_x(a: float) -> F64:
    c, s = math.cos(a), math.sin(a)
    return np.array([[1.0, 0, 0], [0, c, -s], [0, s, c]])


def _rot_y(a: float) -> F64:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0, s], [0, 1.0, 0], [-s, 0, c]])


def _rot_z(a: float) -> F64:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])


def _cols(x: Any, y: Any, z: Any) -> F64:
    return np.array([x, y, z], dtype=np.float64).T


# Right-hand palm rotations in the body frame (x right, y up, z back). Left hands mirror.
PALM_DOWN = np.eye(3)
PALM_FORWARD_UP = _cols((1, 0, 0), (0, 0, 1), (0, -1, 0))  # fingers up, palm facing forward
HANDSHAKE_ROT = _cols((0, -1, 0), (1, 0, 0), (0, 0, 1))  # fingers forward, thumb up, palm inward


def mirror(r: F64, side: str) -> F64:
    return r if side == "right" else _M @ r @ _M


def _frame_from(u: F64, v: F64) -> F64:
    """Orthonormal frame (columns) whose first axis is u and second lies in the u-v plane."""
    a = u / np.linalg.norm(u)
    b = v - (v @ a) * a
    b = b / np.linalg.norm(b)
    return np.stack([a, b, np.cross(a, b)], axis=1)


def aim_rotation(local_dir: F64, local_up: F64, world_dir: F64, world_up: F64) -> F64:
    """Rotation taking ``local_dir`` to ``world_dir`` with ``local_up`` as close to ``world_up``."""
    return _frame_from(world_dir, world_up) @ _frame_from(local_dir, local_up).T


def _smooth(u: float) -> float:
    u = min(1.0, max(0.0, u))
    return u * u * (3.0 - 2.0 * u)


def _quat(r: F64) -> F64:
    t = np.trace(r)
    if t > 0:
        s = math.sqrt(t + 1.0) * 2
        q = [(r[2, 1] - r[1, 2]) / s, (r[0, 2] - r[2, 0]) / s, (r[1, 0] - r[0, 1]) / s, 0.25 * s]
    elif r[0, 0] > r[1, 1] and r[0, 0] > r[2, 2]:
        s = math.sqrt(1.0 + r[0, 0] - r[1, 1] - r[2, 2]) * 2
        q = [0.25 * s, (r[0, 1] + r[1, 0]) / s, (r[0, 2] + r[2, 0]) / s, (r[2, 1] - r[1, 2]) / s]
    elif r[1, 1] > r[2, 2]:
        s = math.sqrt(1.0 + r[1, 1] - r[0, 0] - r[2, 2]) * 2
        q = [(r[0, 1] + r[1, 0]) / s, 0.25 * s, (r[1, 2] + r[2, 1]) / s, (r[0, 2] - r[2, 0]) / s]
    else:
        s = math.sqrt(1.0 + r[2, 2] - r[0, 0] - r[1, 1]) * 2
        q = [(r[0, 2] + r[2, 0]) / s, (r[1, 2] + r[2, 1]) / s, 0.25 * s, (r[1, 0] - r[0, 1]) / s]
    a = np.array(q)
    return a / np.linalg.norm(a)


def _blend_rot(a: F64, b: F64, w: float) -> F64:
    """Rotation between a (w=0) and b (w=1): normalised lerp of quaternions, re-orthonormalised."""
    if w <= 0.0:
        return a
    if w >= 1.0:
        return b
    qa, qb = _quat(a), _quat(b)
    if qa @ qb < 0:
        qb = -qb
    q = (1 - w) * qa + w * qb
    return quat_to_mat3(q / np.linalg.norm(q)).astype(np.float64)


@dataclass
class HandState:
    """A hand in the body frame: palm position relative to the eyes, rotation, shape."""

    pos: F64
    rot: F64
    shape: HandShape

    def blend(self, other: "HandState", w: float) -> "HandState":
        if w <= 0.0:
            return self
        if w >= 1.0:
            return other
        a, b = self.shape, other.shape
        shape = HandShape(
            tuple((1 - w) * x + w * y for x, y in zip(a.curls, b.curls)),  # type: ignore[arg-type]
            (1 - w) * a.thumb_fold + w * b.thumb_fold,
            (1 - w) * a.thumb_up + w * b.thumb_up,
            a.scale,
        )
        return HandState((1 - w) * self.pos + w * other.pos, _blend_rot(self.rot, other.rot, w), shape)


@dataclass
class Pose3:
    """Whole-body state: head yaw/pitch offsets (degrees), head offset (body frame), two hands."""

    yaw: float
    pitch: float
    head: F64
    hands: dict[str, HandState]


@dataclass
class Performer:
    """A simulated delegate. See the module docstring for what the fields vary."""

    name: str
    source: str  # "articulated" or "controller"
    hand_scale: float = 1.0
    speed: float = 1.0
    amplitude: float = 1.0
    eye_height: float = 1.2
    dominant: str = "right"
    noise: float = 0.002
    dropout_rate: float = 0.05  # tracking losses per second
    yaw0: float = 0.0
    position: tuple[float, float] = (0.0, 0.0)
    arm: float = 1.0  # arm length factor

    @staticmethod
    def random(rng: np.random.Generator, name: str, source: str) -> "Performer":
        standing = rng.random() < 0.3
        return Performer(
            name=name,
            source=source,
            hand_scale=float(rng.uniform(0.82, 1.16)),
            speed=float(rng.uniform(0.75, 1.3)),
            amplitude=float(rng.uniform(0.75, 1.3)),
            eye_height=float(rng.uniform(1.55, 1.75) if standing else rng.uniform(1.1, 1.3)),
            dominant="left" if rng.random() < 0.3 else "right",
            noise=float(rng.uniform(0.001, 0.0035)),
            dropout_rate=float(rng.uniform(0.01, 0.08)),
            yaw0=float(rng.uniform(-180, 180)),
            position=(float(rng.uniform(-5, 5)), float(rng.uniform(-5, 5))),
            arm=float(rng.uniform(0.88, 1.12)),
        )

    def to_dict(self) -> dict[str, Any]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def _rest(p: Performer, side: str, rng: np.random.Generator) -> HandState:
    sx = 1.0 if side == "right" else -1.0
    pos = np.array([sx * rng.uniform(0.12, 0.24), rng.uniform(-0.62, -0.5), rng.uniform(-0.36, -0.24)]) * p.arm
    rot = mirror(_rot_y(-sx * rng.uniform(0.0, 0.4)) @ _rot_z(-sx * rng.uniform(0.0, 0.5)), side)
    c = rng.uniform(0.3, 0.55)
    curls = (c - 0.05 + rng.uniform(-0.05, 0.05), c, c + rng.uniform(0, 0.08), c + rng.uniform(0, 0.12))
    return HandState(pos, rot, HandShape(curls, rng.uniform(0.2, 0.5), 0.0, p.hand_scale))  # type: ignore[arg-type]


@dataclass
class Track:
    """Piecewise min-jerk interpolation between keyframes of one quantity."""

    times: list[float] = field(default_factory=list)
    values: list[Any] = field(default_factory=list)

    def add(self, t: float, v: Any) -> None:
        if self.times and t <= self.times[-1] + 1e-3:
            return  # keyframes only move forward; a late one is dropped
        self.times.append(t)
        self.values.append(v)

    def at(self, t: float, blend: Callable[[Any, Any, float], Any]) -> Any:
        i = int(np.searchsorted(self.times, t, side="right"))
        if i <= 0:
            return self.values[0]
        if i >= len(self.times):
            return self.values[-1]
        t0, t1 = self.times[i - 1], self.times[i]
        return blend(self.values[i - 1], self.values[i], _smooth((t - t0) / max(1e-6, t1 - t0)))


def _lerp(a: Any, b: Any, w: float) -> Any:
    return (1 - w) * a + w * b


def _hs_blend(a: HandState, b: HandState, w: float) -> HandState:
    return a.blend(b, w)


@dataclass
class Overlay:
    """One gesture instance: motion start ``t0``, approach/act/retreat durations, pose function."""

    gesture: Gesture | None
    hand: str
    t0: float
    t_in: float
    t_act: float
    t_out: float
    fn: Callable[[float, Pose3], tuple[dict[str, HandState], float, float]]
    target: str | None = None

    @property
    def end(self) -> float:
        return self.t0 + self.t_in + self.t_act + self.t_out

    def weight(self, t: float) -> float:
        if t < self.t0 or t > self.end:
            return 0.0
        if t < self.t0 + self.t_in:
            return _smooth((t - self.t0) / self.t_in) if self.t_in > 0 else 1.0
        if t <= self.t0 + self.t_in + self.t_act:
            return 1.0
        return 1.0 - _smooth((t - self.t0 - self.t_in - self.t_act) / self.t_out) if self.t_out > 0 else 0.0

    def labels(self) -> list[dict[str, Any]]:
        if self.gesture is None:
            return []
        on, act_end = self.t0, self.t0 + self.t_in + self.t_act
        if self.gesture is Gesture.RAISE_HAND:
            return [_label(Gesture.RAISE_HAND, self.hand, on, act_end, None),
                    _label(Gesture.LOWER_HAND, self.hand, act_end, self.end, None)]
        return [_label(self.gesture, self.hand, on, act_end, self.target)]


def _label(g: Gesture, hand: str, on: float, off: float, target: str | None) -> dict[str, Any]:
    return {"gesture": g.value, "hand": hand, "onset": round(on, 3), "offset": round(off, 3), "target": target}
