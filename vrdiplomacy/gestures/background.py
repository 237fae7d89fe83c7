"""Ordinary motion between and instead of gestures, and rendering performances to InputFrames.

Background modes: ``listen`` (hands resting, looking at speakers), ``talk`` (beat gestures at
chest height, small head bobs, turning to people), ``notes`` (writing, looking down), ``face``
(touching chin, cheek or the side of the head), ``drink`` (a cup to the mouth).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vrdiplomacy.gestures.choreo import _shape, _sx, _tilt, gesture_overlay, make_targets
from vrdiplomacy.gestures.perform import (
    F64, HANDSHAKE_ROT, PALM_FORWARD_UP, SIDES, HandState, Overlay, Performer, Pose3, Track, _hs_blend, _lerp,
    _quat, _rest, _rot_x, _rot_y, _rot_z, aim_rotation, mirror,
)
from vrdiplomacy.gestures.synth import HandShape, grip_from_palm, hand_joints, local_joints
from vrdiplomacy.gestures.types import Gesture, Target
from vrdiplomacy.input.frame import ControllerState, HandFrame, InputFrame, Joint
from vrdiplomacy.scene.math3d import Pose, quat_from_yaw_pitch_roll


@dataclass
class Background:
    """Keyframe tracks for the head and both hands, plus continuous small motions."""

    yaw: Track = field(default_factory=Track)
    pitch: Track = field(default_factory=Track)
    head: Track = field(default_factory=Track)
    talk: Track = field(default_factory=Track)
    scribble: Track = field(default_factory=Track)
    hands: dict[str, Track] = field(default_factory=lambda: {"left": Track(), "right": Track()})
    bob: tuple[float, float, float, float] = (2.0, 3.1, 0.8, 0.5)

    def at(self, t: float) -> Pose3:
        talk = float(self.talk.at(t, _lerp))
        f1, f2, a1, a2 = self.bob
        pitch = self.pitch.at(t, _lerp) + talk * (a1 * math.sin(2 * math.pi * f1 * t) + a2 * math.sin(2 * math.pi * f2 * t + 1))
        hands = {s: self.hands[s].at(t, _hs_blend) for s in SIDES}
        sc = float(self.scribble.at(t, _lerp))
        if sc > 0:
            for s in SIDES:
                h = hands[s]
                wob = np.array([0.008 * math.sin(2 * math.pi * 4.1 * t), 0.0, 0.006 * math.sin(2 * math.pi * 2.7 * t)])
                hands[s] = HandState(h.pos + sc * wob * (1.0 if s == "right" else 0.0), h.rot, h.shape)
        return Pose3(float(self.yaw.at(t, _lerp)), float(pitch), self.head.at(t, _lerp), hands)


MODES_NEG = (("listen", 0.3), ("talk", 0.36), ("notes", 0.1), ("face", 0.07), ("drink", 0.07), ("look", 0.06),
             ("headset", 0.04))


def make_background(p: Performer, rng: np.random.Generator, duration: float, negative: bool) -> Background:
    u = rng.uniform
    bg = Background(bob=(u(1.5, 2.5), u(2.8, 4.2), u(0.4, 1.0), u(0.2, 0.6)))
    rest = {s: _rest(p, s, rng) for s in SIDES}
    t = 0.0
    for s in SIDES:
        bg.hands[s].add(0.0, rest[s])
    bg.yaw.add(0.0, 0.0)
    bg.pitch.add(0.0, u(-12, 0))
    bg.head.add(0.0, np.zeros(3))
    bg.talk.add(0.0, 0.0)
    bg.scribble.add(0.0, 0.0)
    names, probs = zip(*MODES_NEG) if negative else (("listen", "talk"), (0.85, 0.15))
    while t < duration:
        mode = str(rng.choice(names, p=np.array(probs) / sum(probs)))
        seg = u(4.0, 14.0)
        end = min(duration + 1.0, t + seg)
        talk_level = 1.0 if mode == "talk" else 0.0
        bg.talk.add(t + 0.3, talk_level)
        bg.talk.add(end - 0.3, talk_level)
        bg.scribble.add(t + 0.5, 1.0 if mode == "notes" else 0.0)
        bg.scribble.add(end - 0.5, 1.0 if mode == "notes" else 0.0)
        # head: look at people now and then, lean a little
        tt = t
        if mode == "look":  # scanning the room: quick glances left and right with short dwells
            _look_around(p, rng, bg, t, end)
            tt = end
        while tt < end:
            tt += u(0.4, 1.2) / p.speed
            look = u(-45, 45) if mode in ("listen", "talk") else u(-12, 12)
            bg.yaw.add(tt, look)
            bg.pitch.add(tt, u(-30, -18) if mode == "notes" else u(-10, 6))
            bg.head.add(tt, rng.normal(0, 0.025, 3))
            tt += u(1.0, 5.0)
            bg.yaw.add(tt, look + u(-4, 4))
        if mode == "talk":
            _talk(p, rng, bg, t, end)
        elif mode in ("face", "drink"):
            _to_face(p, rng, bg, t, end, mode)
        elif mode == "headset":
            _adjust_headset(p, rng, bg, t, end)
        else:
            for s in SIDES:
                r = _rest(p, s, rng) if mode == "listen" else _notes(p, rng, s)
                bg.hands[s].add(t + u(0.4, 1.0), r)
                bg.hands[s].add(end - 0.2, HandState(r.pos + rng.normal(0, 0.01, 3), r.rot, r.shape))
        t = end
    return bg


def _look_around(p: Performer, rng: np.random.Generator, bg: Background, t0: float, end: float) -> None:
    """Glances from one person to another: 15-50 degree turns in 0.25-0.5 s, dwells of 0.15-0.8 s,
    alternating sides now and then and coming back to the front (not a head shake: the head ends
    up somewhere else, or dwells before it comes back)."""
    u = rng.uniform
    tt, yaw = t0, 0.0
    while tt < end - 1.0:
        side = 1.0 if rng.random() < 0.5 else -1.0
        new = 0.0 if (yaw != 0.0 and rng.random() < 0.3) else side * u(15, 50)
        bg.yaw.add(tt, yaw)
        tt += u(0.25, 0.5) / p.speed
        yaw = new
        bg.yaw.add(tt, yaw)
        bg.pitch.add(tt, u(-8, 4))
        tt += u(0.15, 0.8)
    bg.yaw.add(tt, yaw)
    for s in SIDES:
        r = _rest(p, s, rng)
        bg.hands[s].add(t0 + u(0.4, 1.0), r)
        bg.hands[s].add(end - 0.2, r)


def _adjust_headset(p: Performer, rng: np.random.Generator, bg: Background, t0: float, end: float) -> None:
    """Hands up at the headset: both hands at its sides (above the eyes), one at the front of
    the visor, or one on the head (its side or top, palm on it: scratching, touching), held a
    moment, then back down. Not a raised hand."""
    u = rng.uniform
    tt = t0
    while tt < end - 3.0:
        tt += u(0.5, 2.0)
        kind = rng.random()
        both = kind < 0.55
        on_head = kind >= 0.8  # one hand on the head (scratching it, touching the side): palm on it
        for s in SIDES:
            bg.hands[s].add(tt, _rest(p, s, rng))
        tt += u(0.5, 0.9) / p.speed
        for s in SIDES:
            if not both and s != "right":
                continue
            sx = _sx(s)
            if both:  # fingers on the housing, palms facing the head
                pos = np.array([sx * u(0.09, 0.14), u(0.0, 0.1), u(-0.06, 0.04)])
                rot = mirror(_rot_y(sx * u(1.2, 1.6)) @ PALM_FORWARD_UP @ _tilt(rng, 15), s)
            elif on_head and rng.random() < 0.5:  # on the side of the head, palm towards it
                pos = np.array([sx * u(0.08, 0.13), u(0.03, 0.14), u(-0.03, 0.07)])
                rot = mirror(_rot_y(sx * u(1.35, 1.75)) @ PALM_FORWARD_UP @ _tilt(rng, 12), s)
            elif on_head:  # on top of the head, palm down onto it, fingers forward
                pos = np.array([sx * u(0.0, 0.07), u(0.12, 0.18), u(-0.02, 0.1)])
                rot = mirror(_rot_x(-math.pi / 2) @ PALM_FORWARD_UP @ _tilt(rng, 15), s)
            else:  # the visor pushed up at the front
                pos = np.array([sx * u(0.0, 0.05), u(-0.04, 0.04), u(-0.14, -0.09)])
                rot = mirror(_rot_x(math.pi) @ PALM_FORWARD_UP @ _tilt(rng, 15), s)
            pose = HandState(pos, rot, _shape(rng, p, "relaxed"))
            bg.hands[s].add(tt, pose)
            bg.hands[s].add(tt + u(0.5, 2.0), HandState(pos + rng.normal(0, 0.006, 3), rot, pose.shape))
        tt += 2.2 + u(0.5, 0.9) / p.speed
        for s in SIDES:
            bg.hands[s].add(tt, _rest(p, s, rng))
    for s in SIDES:
        bg.hands[s].add(end - 0.2, _rest(p, s, rng))


def _notes(p: Performer, rng: np.random.Generator, side: str) -> HandState:
    r = _rest(p, side, rng)
    if side == "right":
        return HandState(r.pos * np.array([0.6, 1.0, 1.0]), r.rot,
                         HandShape((0.6, 0.75, 0.8, 0.85), 0.6, 0.0, p.hand_scale))
    return r


def _talk(p: Performer, rng: np.random.Generator, bg: Background, t0: float, end: float) -> None:
    u = rng.uniform
    active = [s for s in SIDES if rng.random() < 0.75] or ["right"]
    for s in SIDES:
        tt = t0
        if s not in active:
            r = _rest(p, s, rng)
            bg.hands[s].add(t0 + 0.5, r)
            bg.hands[s].add(end - 0.2, r)
            continue
        sx = _sx(s)
        while tt < end - 0.3:
            tt += u(0.25, 0.8) / p.speed
            pos = np.array([sx * u(0.07, 0.35), u(-0.58, -0.28), u(-0.45, -0.2)]) * p.arm
            inward = rng.random() < 0.3  # palm inward, flat, fingers forward: an offered hand's posture, briefly
            if inward:
                rot = mirror(_rot_y(sx * u(-0.5, 0.3)) @ _rot_x(-u(0.0, 0.35)) @ HANDSHAKE_ROT, s)
                shape = _shape(rng, p, "open")
            else:
                rot = mirror(_rot_z(-sx * u(0.0, 1.9)) @ _rot_y(sx * u(-0.4, 0.4)) @ _rot_x(u(-0.3, 0.6)), s)
                shape = _shape(rng, p, "relaxed")
            bg.hands[s].add(min(tt, end - 0.2), HandState(pos, rot, shape))
            if rng.random() < 0.3:  # a pause in the beat (a post-stroke hold: short after an emphatic beat)
                tt += u(0.1, 0.4) if inward else u(0.2, 0.8)
                bg.hands[s].add(min(tt, end - 0.2), HandState(pos + rng.normal(0, 0.01, 3), rot, _shape(rng, p, "relaxed")))


def _to_face(p: Performer, rng: np.random.Generator, bg: Background, t0: float, end: float, mode: str) -> None:
    u = rng.uniform
    s = str(rng.choice(SIDES))
    sx = _sx(s)
    other = "left" if s == "right" else "right"
    r = _rest(p, other, rng)
    bg.hands[other].add(t0 + 0.5, r)
    bg.hands[other].add(end - 0.2, r)
    tt = t0
    while tt < end - 3.0:
        tt += u(0.5, 2.0)
        rest = _rest(p, s, rng)
        bg.hands[s].add(tt, rest)
        tt += u(0.5, 0.9) / p.speed
        if mode == "drink":
            pose = HandState(np.array([sx * u(0.02, 0.07), u(-0.16, -0.1), u(-0.14, -0.08)]),
                             mirror(_rot_x(u(-0.5, -0.1)) @ _rot_y(-u(0.3, 0.8)) @ HANDSHAKE_ROT, s),
                             HandShape((u(0.5, 0.7),) * 4, u(0.4, 0.6), 0.0, p.hand_scale))  # type: ignore[arg-type]
        else:
            spot = rng.integers(3)
            pos = [np.array([sx * 0.04, -0.13, -0.09]), np.array([sx * 0.09, -0.07, -0.04]),
                   np.array([sx * 0.12, u(-0.05, 0.04), 0.01])][int(spot)]
            pose = HandState(pos + rng.normal(0, 0.01, 3), mirror(_rot_y(sx * 1.3) @ PALM_FORWARD_UP @ _tilt(rng, 15), s),
                             _shape(rng, p, "relaxed"))
        bg.hands[s].add(tt, pose)
        tt += u(0.8, 3.0)
        bg.hands[s].add(tt, HandState(pose.pos + rng.normal(0, 0.008, 3), pose.rot, pose.shape))
        tt += u(0.5, 0.9) / p.speed
        bg.hands[s].add(tt, _rest(p, s, rng))
    bg.hands[s].add(end - 0.2, _rest(p, s, rng))


PERFORMED = tuple(g for g in Gesture if g is not Gesture.LOWER_HAND)  # lower_hand ends every raise
_ONE_HAND = {Gesture.RAISE_HAND, Gesture.WAVE, Gesture.THUMBS_UP, Gesture.THUMBS_DOWN, Gesture.POINT}


def _dropouts(p: Performer, rng: np.random.Generator, duration: float) -> list[tuple[float, float, bool]]:
    out: list[tuple[float, float, bool]] = []
    if p.dropout_rate <= 0.0:  # perfect tracking
        return out
    t = float(rng.exponential(1.0 / p.dropout_rate))
    while t < duration:
        d = float(rng.uniform(0.04, 0.35))
        out.append((t, t + d, bool(rng.random() < 0.35)))  # (start, end, partial)
        t += d + float(rng.exponential(1.0 / p.dropout_rate))
    return out


def _in(drops: list[tuple[float, float, bool]], t: float) -> tuple[bool, bool]:
    for a, b, partial in drops:
        if a <= t < b:
            return True, partial
        if a > t:
            break
    return False, False


def _controller(h: HandState, side: str, pos: F64, rot: F64, rng: np.random.Generator) -> ControllerState:
    c = h.shape.curls
    fingers = float(np.mean(c[1:]))
    squeeze = float(np.clip((fingers - 0.3) / 0.4 + rng.normal(0, 0.02), 0, 1))
    trigger = float(np.clip((c[0] - 0.3) / 0.4 + rng.normal(0, 0.02), 0, 1))
    palm = Pose(pos.astype(np.float32), _quat(rot).astype(np.float32))
    grip = grip_from_palm(palm, side)
    grip.position = grip.position + rng.normal(0, 0.001, 3).astype(np.float32)
    index = local_joints(h.shape, side)
    d = rot @ (index[Joint.INDEX_TIP] - index[Joint.INDEX_PROXIMAL])
    d /= np.linalg.norm(d)
    aim_r = aim_rotation(np.array([0.0, 0.0, -1.0]), np.array([0.0, 1.0, 0.0]), d, rot @ np.array([0.0, 1.0, 0.0]))
    aim = Pose((pos + rot @ index[Joint.INDEX_PROXIMAL]).astype(np.float32), _quat(aim_r).astype(np.float32))
    return ControllerState(
        active=True, trigger=round(trigger, 3), squeeze=round(squeeze, 3), thumb_touch=h.shape.thumb_up < 0.5 and (h.shape.thumb_fold > 0.45 or float(np.mean(c)) > 0.22),
        trigger_touch=0.15 < c[0] < 0.6, aim=aim, grip=grip,
    )


SETTLE_S = 0.8  # the head is still this long before a nod or head shake (and stays still until after it)
SETTLE_BLEND_S = 0.5  # ... coming to rest from whatever it was doing over this long


def _settle(t: float, ov: Overlay) -> float:
    """How still the head is held around head gesture ``ov`` at ``t`` (0 free, 1 held)."""
    a, b = ov.t0 - SETTLE_S, ov.end + 0.3
    if t < a - SETTLE_BLEND_S or t > b + SETTLE_BLEND_S:
        return 0.0
    if t < a:
        return _smooth_step((t - a + SETTLE_BLEND_S) / SETTLE_BLEND_S)
    if t > b:
        return 1.0 - _smooth_step((t - b) / SETTLE_BLEND_S)
    return 1.0


def _smooth_step(u: float) -> float:
    u = min(1.0, max(0.0, u))
    return u * u * (3.0 - 2.0 * u)


def performer_at(bg: Background, overlays: list[Overlay], t: float) -> tuple[Pose3, dict[str, HandState], float, float]:
    """The performer at ``t`` without noise: (background pose, both hands with the gesture
    overlays blended in, extra head yaw and pitch in degrees from the overlays).

    Nobody looks around while nodding or shaking the head: the head comes to rest (smoothly, over
    ``SETTLE_BLEND_S``) ``SETTLE_S`` seconds before a head gesture and is held until 0.3 s after it.
    (Generator 5 froze it only 0.3 s before, abruptly, mid-glance: the glance ran into the gesture,
    and the recognizer rightly dated the motion's onset to the glance, outside the label.)"""
    pose = bg.at(t)
    for ov in overlays:
        if ov.hand == "none" and (w := _settle(t, ov)) > 0.0:
            still = bg.at(ov.t0 - SETTLE_S)
            pose = Pose3((1 - w) * pose.yaw + w * still.yaw, (1 - w) * pose.pitch + w * still.pitch, pose.head, pose.hands)
    hands = dict(pose.hands)
    dyaw = dpitch = 0.0
    for ov in overlays:
        if ov.t0 <= t <= ov.end:
            w = ov.weight(t)
            gh, dy, dp = ov.fn(t - ov.t0, pose)
            for s, h in gh.items():
                hands[s] = hands[s].blend(h, w)
            dyaw, dpitch = dyaw + dy, dpitch + dp
    return pose, hands, dyaw, dpitch


def render(
    p: Performer, rng: np.random.Generator, duration: float, rate: float, bg: Background, overlays: list[Overlay]
) -> list[InputFrame]:
    """Sample the performance at ``rate`` Hz into InputFrames with noise and dropouts."""
    drops = {s: _dropouts(p, rng, duration) for s in SIDES}
    base = np.array([p.position[0], p.eye_height, p.position[1]])
    r0 = _rot_y(math.radians(p.yaw0))
    frames: list[InputFrame] = []
    for i in range(int(duration * rate)):
        t = i / rate + float(rng.uniform(-0.002, 0.002))
        pose, hands, dyaw, dpitch = performer_at(bg, overlays, t)
        head_pos = base + r0 @ pose.head + rng.normal(0, 0.0005, 3)
        q = quat_from_yaw_pitch_roll(math.radians(p.yaw0 + pose.yaw + dyaw + rng.normal(0, 0.1)),
                                     math.radians(pose.pitch + dpitch + rng.normal(0, 0.1)))
        frame = InputFrame(round(t, 4), Pose(head_pos.astype(np.float32), q))
        for s in SIDES:
            h = hands[s]
            pos = base + r0 @ h.pos
            rot = r0 @ h.rot
            lost, partial = _in(drops[s], t)
            if p.source == "controller":
                ctl = _controller(h, s, pos, rot, rng)
                if lost:
                    ctl.grip = ctl.aim = None
                setattr(frame, s, HandFrame("controller", None, ctl))
                continue
            if lost and not partial:
                setattr(frame, s, HandFrame("articulated", None))
                continue
            palm = Pose(pos.astype(np.float32), _quat(rot).astype(np.float32))
            hj = hand_joints(palm, h.shape, s, orientations=False, rng=rng, noise=p.noise)
            if lost:
                bad = rng.choice(26, size=int(rng.integers(3, 12)), replace=False)
                hj.valid[bad] = False
                hj.positions[bad] = 0.0
            setattr(frame, s, HandFrame("articulated", hj))
        frames.append(frame)
    return frames


def perform_gestures(
    p: Performer, rng: np.random.Generator, reps: int, rate: float = 30.0
) -> tuple[list[InputFrame], list[dict[str, Any]], list[Target]]:
    """Every gesture ``reps`` times in random order with ordinary motion between; frames, labels, targets."""
    targets, partner = make_targets(p, rng)
    todo = [g for g in PERFORMED for _ in range(reps)]
    order = rng.permutation(len(todo))
    t = float(rng.uniform(1.5, 3.0))
    overlays = []
    other = "left" if p.dominant == "right" else "right"
    for k in order:
        g = todo[int(k)]
        side = (other if rng.random() < 0.25 else p.dominant) if g in _ONE_HAND else "right"
        ov = gesture_overlay(g, side, p, rng, t, targets, partner)
        overlays.append(ov)
        t = ov.end + float(rng.uniform(1.4, 3.2))
    duration = t + 1.0
    bg = make_background(p, rng, duration, negative=False)
    frames = render(p, rng, duration, rate, bg, overlays)
    labels = sorted((lab for ov in overlays for lab in ov.labels()), key=lambda d: d["onset"])
    return frames, labels, targets


def perform_negatives(
    p: Performer, rng: np.random.Generator, duration: float, rate: float = 30.0
) -> tuple[list[InputFrame], list[Target]]:
    """Ordinary talking and listening motion, no gestures."""
    targets, _ = make_targets(p, rng)
    bg = make_background(p, rng, duration, negative=True)
    return render(p, rng, duration, rate, bg, []), targets
