"""A second, independent generator of labelled gesture recordings: the held-out set.

Written apart from the tuning generator (:mod:`.perform`, :mod:`.choreo`, :mod:`.background`)
and never used to tune the recognizer. It shares none of their code or numbers:

* **people**: body height 1.50-1.95 m with eye, shoulder and arm lengths proportional to it,
  seated or standing, hand size 0.85-1.2 of the height's norm, left- or right-handed, tempo and
  amplitude each drawn per person;
* **hands**: the procedural hand of :mod:`vrdiplomacy.xr.skeleton` (the live client's, not the
  tuning generator's :mod:`.synth` hand), scaled to the person's hand size;
* **controllers**: the grip pose built from the words of the OpenXR specification ("Semantic
  Paths", "Standard pose identifiers": +X the palm normal, into a right palm / away from a left
  one; -Z through the curled fingers from the little finger to the thumb), the aim pose along
  where the hand points, off by a per-person runtime angle of up to 10 degrees; buttons from finger curls (squeeze, trigger, thumb
  rest);
* **tracking**: 72, 90 or 120 Hz with frame-time jitter, per-joint noise plus a slowly drifting
  offset, whole-hand and partial dropouts, controller pose noise and losses;
* **gestures** in forms the tuning set has rarely or never: single nods, minimal left-right-centre
  shakes, handshakes at natural height (0.9-1.15 m for a 1.75 m person) with the fingers tipped
  0-20 degrees down towards a partner whose target is at the head or chest, high and low waves,
  thumbs with the fingers forward or across the body, palm-sideways raised hands;
* **natural motion** (negatives): talking beats (palm up, down and *palm inward* near a partner),
  reaching for a glass and drinking, adjusting the headset with both hands, looking around,
  turning to a neighbour, taking notes.

``make_recording(seed, source, kind)`` returns frames, labels and targets; ``tools/gen_heldout.py``
writes them as recordings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from vrdiplomacy.gestures.types import Gesture, Target
from vrdiplomacy.input.frame import ControllerState, HandFrame, HandJoints, InputFrame
from vrdiplomacy.scene.math3d import Pose, quat_from_yaw_pitch_roll, quat_slerp, quat_to_mat3
from vrdiplomacy.xr.skeleton import hand_joints

F = npt.NDArray[np.float64]
Curls = tuple[float, float, float, float, float]
OPEN: Curls = (0.0, 0.03, 0.03, 0.05, 0.05)
FLAT: Curls = (0.1, 0.08, 0.1, 0.12, 0.15)
LOOSE: Curls = (0.3, 0.3, 0.4, 0.45, 0.5)
FIST_THUMB: Curls = (-1.0, 1.0, 1.0, 1.0, 1.0)
POINTING: Curls = (0.8, 0.0, 1.0, 1.0, 1.0)
HOLD_CUP: Curls = (0.5, 0.6, 0.65, 0.7, 0.7)
UP = np.array([0.0, 1.0, 0.0])
PEOPLE = ("Ana", "Bo", "Chidi", "Dana", "Emre", "Fatima", "Goran", "Hana", "Ivo", "Jun", "Kofi", "Lena", "Mateo",
          "Nour", "Olga", "Pita", "Quang", "Rhea", "Sami", "Tove", "Uma", "Vik", "Wen", "Yara")


def _unit(v: F) -> F:
    return v / (np.linalg.norm(v) or 1.0)


def hand_rot(fingers: F, thumb: F, side: str) -> F:
    """Hand-frame rotation (columns X, Y = back of the hand, Z = towards the wrist) for fingers
    pointing along ``fingers`` and the thumb side of the hand along ``thumb``."""
    z = -_unit(fingers)
    t = _unit(thumb - (thumb @ z) * z)
    x = -t if side == "right" else t
    return np.stack([x, np.cross(z, x), z], axis=1)


def _mat_quat(m: F) -> F:
    w = math.sqrt(max(0.0, 1.0 + m[0, 0] + m[1, 1] + m[2, 2])) / 2
    x = math.copysign(math.sqrt(max(0.0, 1.0 + m[0, 0] - m[1, 1] - m[2, 2])) / 2, m[2, 1] - m[1, 2])
    y = math.copysign(math.sqrt(max(0.0, 1.0 - m[0, 0] + m[1, 1] - m[2, 2])) / 2, m[0, 2] - m[2, 0])
    z = math.copysign(math.sqrt(max(0.0, 1.0 - m[0, 0] - m[1, 1] + m[2, 2])) / 2, m[1, 0] - m[0, 1])
    q = np.array([x, y, z, w])
    return q / np.linalg.norm(q)


def _rot_axis(axis: F, ang: float) -> F:
    a = _unit(axis)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + math.sin(ang) * k + (1 - math.cos(ang)) * (k @ k)


@dataclass
class Person:
    """One held-out performer (see the module docstring)."""

    name: str
    source: str
    height: float
    seated: bool
    hand: float
    dominant: str
    tempo: float
    amp: float
    rate: float
    noise: float
    drops: float
    aim_tilt: float
    yaw0: float
    where: tuple[float, float]

    @property
    def eye(self) -> float:
        return 0.45 + 0.44 * self.height if self.seated else 0.936 * self.height

    @property
    def shoulder_drop(self) -> float:
        return 0.12 * self.height

    @property
    def arm(self) -> float:
        return 0.36 * self.height  # shoulder to palm

    @staticmethod
    def draw(rng: np.random.Generator, name: str, source: str) -> "Person":
        u = rng.uniform
        height = float(u(1.5, 1.95))
        return Person(name, source, height, bool(rng.random() < 0.55), float(height / 1.75 * u(0.88, 1.12)),
                      "left" if rng.random() < 0.35 else "right", float(u(0.7, 1.4)), float(u(0.7, 1.35)),
                      float(rng.choice([72.0, 90.0, 120.0])), float(u(0.0015, 0.004)), float(u(0.0, 0.1)),
                      float(u(-10.0, 10.0)), float(u(-180, 180)), (float(u(-4, 4)), float(u(-4, 4))))

    def to_dict(self) -> dict[str, Any]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


@dataclass
class HandKey:
    """A hand in the person's frame (x right, y up from the eyes, z back): palm position, rotation, curls."""

    pos: F
    rot: F
    curls: Curls


@dataclass
class Keys:
    """Keyframes with smooth (quintic) transitions; later keys before earlier ones are dropped."""

    t: list[float] = field(default_factory=list)
    v: list[Any] = field(default_factory=list)

    def add(self, t: float, v: Any) -> None:
        if not self.t or t > self.t[-1] + 1e-3:
            self.t.append(t)
            self.v.append(v)

    def at(self, t: float) -> tuple[Any, Any, float]:
        i = int(np.searchsorted(self.t, t, side="right"))
        if i <= 0:
            return self.v[0], self.v[0], 0.0
        if i >= len(self.t):
            return self.v[-1], self.v[-1], 0.0
        s = (t - self.t[i - 1]) / max(1e-6, self.t[i] - self.t[i - 1])
        s = s * s * s * (10 - 15 * s + 6 * s * s)
        return self.v[i - 1], self.v[i], s


def _hand_at(k: Keys, t: float) -> HandKey:
    a, b, s = k.at(t)
    if s <= 0.0:
        return a
    q = quat_slerp(_mat_quat(a.rot), _mat_quat(b.rot), s)
    curls = tuple((1 - s) * x + s * y for x, y in zip(a.curls, b.curls))
    return HandKey((1 - s) * a.pos + s * b.pos, quat_to_mat3(q).astype(np.float64), curls)  # type: ignore[arg-type]


def _num_at(k: Keys, t: float) -> float:
    a, b, s = k.at(t)
    return float((1 - s) * a + s * b)


@dataclass
class Script:
    """What a person does: head yaw/pitch keys (degrees) plus additive oscillations, hand keys, labels."""

    yaw: Keys = field(default_factory=Keys)
    pitch: Keys = field(default_factory=Keys)
    hands: dict[str, Keys] = field(default_factory=lambda: {"left": Keys(), "right": Keys()})
    wobble: list[tuple[float, float, str, Any]] = field(default_factory=list)  # (t0, t1, what, fn)
    labels: list[dict[str, Any]] = field(default_factory=list)

    def label(self, g: Gesture, hand: str, on: float, off: float, target: str | None = None) -> None:
        self.labels.append({"gesture": g.value, "hand": hand, "onset": round(on, 3), "offset": round(off, 3),
                            "target": target})


def rest_key(p: Person, side: str, rng: np.random.Generator) -> HandKey:
    s = 1.0 if side == "right" else -1.0
    k = p.height / 1.75
    y = -(0.55 if p.seated else 0.75) * k + rng.uniform(-0.05, 0.05)
    pos = np.array([s * rng.uniform(0.12, 0.22) * k, y, rng.uniform(-0.35, -0.2) * k])
    fingers = _unit(np.array([-s * rng.uniform(0.0, 0.6), rng.uniform(-0.4, 0.0), -1.0]))
    thumb = _unit(np.array([-s * rng.uniform(0.2, 1.0), rng.uniform(0.0, 0.8), 0.0]))
    return HandKey(pos, hand_rot(fingers, thumb, side), LOOSE)


def shoulder(p: Person, side: str) -> F:
    return np.array([(0.11 if side == "right" else -0.11) * p.height, -p.shoulder_drop, 0.02])


# -- rendering --------------------------------------------------------------------------------

def _grip_pose(palm: F, rot: F, side: str) -> tuple[F, F]:
    """The OpenXR grip pose of a hand holding a controller, from the spec's words: +X normal to
    the palm, into a right palm (out of its back) and away from a left palm (out of its palm);
    -Z along the tube of the curled fingers from the little finger to the thumb; +Y = Z x X.
    The grip point sits on the palm's surface."""
    dorsal = rot[:, 1]
    towards_thumb = -rot[:, 0] if side == "right" else rot[:, 0]
    x = dorsal if side == "right" else -dorsal
    z = -towards_thumb
    y = np.cross(z, x)
    return palm - 0.018 * dorsal, np.stack([x, y, z], axis=1)


def _controller(p: Person, hk: HandKey, palm: F, rot: F, side: str, rng: np.random.Generator, lost: bool) -> ControllerState:
    th, ix, mid, ring, lit = hk.curls
    squeeze = float(np.clip((mid + ring + lit) / 3 * 1.25 - 0.2 + rng.normal(0, 0.015), 0, 1))
    trigger = float(np.clip(ix * 1.25 - 0.2 + rng.normal(0, 0.015), 0, 1))
    c = ControllerState(active=True, trigger=round(trigger, 3), squeeze=round(squeeze, 3),
                        thumb_touch=th > 0.3, trigger_touch=0.2 < ix < 0.7)
    if lost:
        return c
    gp, gr = _grip_pose(palm, rot, side)
    gr = _rot_axis(rng.normal(size=3), math.radians(rng.normal(0, 0.5))) @ gr
    c.grip = Pose((gp + rng.normal(0, 0.001, 3)).astype(np.float32), _mat_quat(gr).astype(np.float32))
    # aim: the runtime's pointing ray (+Y up, -Z forward) "by platform conventions": it follows
    # where the hand points (grip -Y here, the fingers' direction of this hand model), off by a
    # per-person runtime angle about grip +X
    ar = gr @ _rot_axis(np.array([1.0, 0, 0]), -math.radians(90.0 + p.aim_tilt))
    c.aim = Pose((gp + gr @ np.array([0.0, 0.0, -0.05])).astype(np.float32), _mat_quat(ar).astype(np.float32))
    return c


def _drop_spans(p: Person, rng: np.random.Generator, duration: float) -> list[tuple[float, float, bool]]:
    out: list[tuple[float, float, bool]] = []
    if p.drops <= 0.005:
        return out
    t = float(rng.exponential(1 / p.drops))
    while t < duration:
        d = float(rng.uniform(0.03, 0.3))
        out.append((t, t + d, bool(rng.random() < 0.4)))
        t += d + float(rng.exponential(1 / p.drops))
    return out


def render(p: Person, sc: Script, duration: float, rng: np.random.Generator) -> list[InputFrame]:
    drops = {s: _drop_spans(p, rng, duration) for s in ("left", "right")}
    base = np.array([p.where[0], p.eye, p.where[1]])
    c, s_ = math.cos(math.radians(p.yaw0)), math.sin(math.radians(p.yaw0))
    body = np.array([[c, 0, s_], [0, 1, 0], [-s_, 0, c]])
    bias = {s: np.zeros(3) for s in ("left", "right")}
    frames: list[InputFrame] = []
    n = int(duration * p.rate)
    sway_f = rng.uniform(0.1, 0.3)
    for i in range(n):
        t = round(i / p.rate + float(np.clip(rng.normal(0, 0.0015), -0.3 / p.rate, 0.3 / p.rate)), 3)
        yaw, pitch = _num_at(sc.yaw, t), _num_at(sc.pitch, t)
        hands = {s: _hand_at(sc.hands[s], t) for s in ("left", "right")}
        for t0, t1, what, fn in sc.wobble:
            if t0 <= t <= t1:
                if what == "head":
                    dy, dp = fn(t - t0)
                    yaw, pitch = yaw + dy, pitch + dp
                else:
                    side, hk = what, hands[what]
                    hands[side] = fn(t - t0, hk)
        head = base + body @ np.array([0.01 * math.sin(2 * math.pi * sway_f * t), 0.0, 0.008 * math.sin(1.3 * t)])
        q = quat_from_yaw_pitch_roll(math.radians(p.yaw0 + yaw + rng.normal(0, 0.15)),
                                     math.radians(pitch + rng.normal(0, 0.15)), math.radians(rng.normal(0, 0.3)))
        frame = InputFrame(t, Pose(head.astype(np.float32), q))
        for side in ("left", "right"):
            hk = hands[side]
            palm = base + body @ hk.pos
            rot = body @ hk.rot
            lost, partial = next(((True, pa) for a, b, pa in drops[side] if a <= t < b), (False, False))
            if p.source == "controller":
                setattr(frame, side, HandFrame("controller", None, _controller(p, hk, palm, rot, side, rng, lost)))
                continue
            if lost and not partial:
                setattr(frame, side, HandFrame("articulated", None))
                continue
            bias[side] = 0.995 * bias[side] + rng.normal(0, 0.0004, 3)
            hj = _articulated(p, hk, palm, rot, side)
            hj.positions += (rng.normal(0, p.noise, hj.positions.shape) + bias[side]).astype(np.float32)
            if lost:
                bad = rng.choice(26, size=int(rng.integers(2, 10)), replace=False)
                hj.valid[bad] = False
            setattr(frame, side, HandFrame("articulated", hj))
        frames.append(frame)
    return frames


_PALM_IN_WRIST = np.array([0.0, -0.005, -0.045])


def _articulated(p: Person, hk: HandKey, palm: F, rot: F, side: str) -> HandJoints:
    wrist = palm - rot @ (_PALM_IN_WRIST * p.hand)
    hj = hand_joints(side, Pose(wrist.astype(np.float32), _mat_quat(rot).astype(np.float32)),
                     tuple(round(c, 2) for c in hk.curls))  # type: ignore[arg-type]
    out = HandJoints()
    out.positions[:] = wrist + (hj.positions - wrist) * p.hand
    out.orientations[:] = hj.orientations
    out.radii[:] = hj.radii * p.hand
    out.valid[:] = True
    return out
