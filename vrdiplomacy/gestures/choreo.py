"""Choreography for simulated performers: gesture overlays, background motion, rendering.

See :mod:`vrdiplomacy.gestures.perform` for the performer model. :func:`perform_gestures`
makes a labelled positive sequence, :func:`perform_negatives` ordinary talking and listening.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from vrdiplomacy.gestures.perform import (
    F64, HANDSHAKE_ROT, PALM_FORWARD_UP, SIDES, HandState, Overlay, Performer, Pose3, _rot_x, _rot_y, _rot_z,
    aim_rotation, mirror,
)
from vrdiplomacy.gestures.synth import HandShape, local_joints
from vrdiplomacy.gestures.types import Gesture, Target
from vrdiplomacy.input.frame import Joint

DELEGATIONS = ("FRA", "DEU", "JPN", "BRA", "KEN", "IND", "CAN", "EGY", "MEX", "NOR", "IDN", "ZAF")


def _sx(side: str) -> float:
    return 1.0 if side == "right" else -1.0


def make_targets(p: Performer, rng: np.random.Generator) -> tuple[list[Target], str]:
    """Delegates and a screen around the performer (world coordinates), and the near partner."""
    names = [str(n) for n in rng.permutation(DELEGATIONS)]
    angles: list[float] = []
    while len(angles) < 4:
        a = float(rng.uniform(-70, 70))
        if all(abs(a - b) > 24 for b in angles):
            angles.append(a)
    targets = []
    for name, a in zip(names, angles):
        d = float(rng.uniform(1.3, 3.5))
        targets.append(_world_target(p, name, a, d, float(rng.uniform(-0.15, 0.05)), 0.35))
    screen_a = float(rng.uniform(-15, 15))
    targets.append(_world_target(p, "screen", screen_a, float(rng.uniform(4.5, 6.0)), 1.0, 0.9))
    partner = str(names[4])
    # the partner stands in front or to either side (a hand is offered across the body, too)
    targets.append(_world_target(p, partner, float(rng.uniform(-35, 35)), float(rng.uniform(0.75, 0.95)), -0.45, 0.25))
    return targets, partner


def _world_target(p: Performer, name: str, angle: float, dist: float, dy: float, radius: float) -> Target:
    yaw = math.radians(p.yaw0 + angle)
    x = p.position[0] - math.sin(yaw) * dist
    z = p.position[1] - math.cos(yaw) * dist
    return Target(name, (round(x, 3), round(p.eye_height + dy, 3), round(z, 3)), radius)


def body_from_world(p: Performer, w: Sequence[float]) -> F64:
    v = np.asarray(w, np.float64) - np.array([p.position[0], p.eye_height, p.position[1]])
    return _rot_y(math.radians(p.yaw0)).T @ v


def _local_dir(shape: HandShape, side: str, a: int, b: int) -> F64:
    j = local_joints(shape, side)
    d = j[b] - j[a]
    return d / np.linalg.norm(d)


def _shape(rng: np.random.Generator, p: Performer, kind: str) -> HandShape:
    u = rng.uniform
    if kind == "open":
        return HandShape((u(0.0, 0.18), u(0.0, 0.18), u(0.02, 0.2), u(0.02, 0.22)), u(0.0, 0.25), 0.0, p.hand_scale)
    if kind == "point":
        return HandShape((u(0.0, 0.1), u(0.8, 1.0), u(0.85, 1.0), u(0.85, 1.0)), u(0.55, 0.9), 0.0, p.hand_scale)
    if kind == "thumb":
        return HandShape((u(0.82, 1.0), u(0.85, 1.0), u(0.85, 1.0), u(0.85, 1.0)), u(0.0, 0.12), u(0.75, 1.0), p.hand_scale)
    c = u(0.25, 0.6)
    return HandShape((c - 0.05 + u(-0.05, 0.05), c, c + u(0, 0.08), c + u(0, 0.12)), u(0.15, 0.5), 0.0, p.hand_scale)


def _tilt(rng: np.random.Generator, deg: float) -> F64:
    r = math.radians(deg)
    return _rot_x(rng.uniform(-r, r)) @ _rot_y(rng.uniform(-r, r)) @ _rot_z(rng.uniform(-r, r))


def gesture_overlay(
    g: Gesture, side: str, p: Performer, rng: np.random.Generator, t0: float, targets: list[Target], partner: str
) -> Overlay:
    """One gesture instance starting at ``t0`` by ``side`` (ignored for head/two-hand gestures)."""
    u = rng.uniform
    S, A, sx = p.speed, p.amplitude, _sx(side)
    t_in, t_out = u(0.4, 0.75) / S, u(0.4, 0.75) / S
    hands: dict[str, HandState] = {}
    target: str | None = None
    if g in (Gesture.NOD, Gesture.HEAD_SHAKE):
        # a third of nods are one dip; a third of shakes are minimal: left, right, back to the centre
        minimal = rng.random() < 0.33
        n = 1 if minimal and g is Gesture.NOD else int(rng.integers(2, 4))
        f = (u(1.4, 2.8) if g is Gesture.NOD else u(1.5, 3.0)) * S
        amp = (u(8, 16) if g is Gesture.NOD else u(9, 18)) * min(1.2, A)
        if minimal and g is Gesture.HEAD_SHAKE:
            n, f, amp = 1, u(1.0, 1.7) * S, u(4.5, 8.0)
        dur = n / f

        def head_fn(tau: float, bg: Pose3) -> tuple[dict[str, HandState], float, float]:
            if not 0.0 <= tau <= dur:
                return {}, 0.0, 0.0
            ph = 2 * math.pi * f * tau
            if g is Gesture.NOD:
                return {}, 0.0, -amp * (0.5 - 0.5 * math.cos(ph))
            if minimal:
                return {}, amp * math.sin(ph), 0.0
            env = min(1.0, tau * f * 2.0, (dur - tau) * f * 2.0)
            return {}, amp * math.sin(ph) * max(env, 0.6 if 0 < tau < dur else 0.0), 0.0

        return Overlay(g, "none", t0, 0.0, dur, 0.0, head_fn)
    if g is Gesture.RAISE_HAND:
        if rng.random() < 0.25:  # right beside the head, palm forward (or turned a little outward)
            pos = np.array([sx * u(0.05, 0.12), u(0.08, 0.16), u(-0.06, 0.04)])
            rot = mirror(_rot_y(-sx * u(0.0, 0.6)) @ PALM_FORWARD_UP @ _tilt(rng, 10), side)
        else:
            pos = np.array([sx * u(0.08, 0.22), u(0.14, 0.3) * min(1.2, max(0.85, A)), u(-0.15, 0.0)])
            rot = mirror(PALM_FORWARD_UP @ _tilt(rng, 12), side)
        hands[side] = HandState(pos, rot, _shape(rng, p, "open"))
        t_in, t_out = u(0.5, 0.9) / S, u(0.5, 0.9) / S
        t_act = u(1.3, 3.0)
    elif g is Gesture.WAVE:
        n = int(rng.integers(2, 5))
        f = u(1.3, 2.6) * S
        mix = u(0.0, 1.0)
        lat, roll = mix * u(0.05, 0.1) * A, (1 - mix) * u(0.35, 0.6) * min(1.2, A)
        reach = lat + 0.15 * p.hand_scale * roll  # finger-tip swing; a wave one can see is >= 4 cm
        if reach < 0.04:
            lat, roll = lat * 0.04 / reach, roll * 0.04 / reach
        high = rng.random() < 0.4  # above the eyes: must not count as a raised hand as well
        # or low: a wave at shoulder height (the shoulder is ~0.25 m below the eyes)
        y = u(0.05, 0.25) if high else u(-0.3, -0.15) if rng.random() < 0.35 else u(-0.12, 0.15)
        base = HandState(np.array([sx * u(0.15, 0.3), y, u(-0.2, -0.05)]),
                         mirror(PALM_FORWARD_UP @ _tilt(rng, 10), side), _shape(rng, p, "open"))
        t_act = n / f
        wrist_off = base.rot @ np.array([0.0, 0.0, 0.05 * p.hand_scale])

        def wave_fn(tau: float, bg: Pose3) -> tuple[dict[str, HandState], float, float]:
            s = math.sin(2 * math.pi * f * max(0.0, tau - t_in)) if t_in <= tau <= t_in + t_act else 0.0
            r = _rot_z(-roll * s)
            wrist = base.pos + wrist_off
            pos = wrist + r @ (base.pos - wrist) + np.array([lat * s, 0.0, 0.0])
            return {side: HandState(pos, r @ base.rot, base.shape)}, 0.0, 0.0

        return Overlay(g, side, t0, t_in, t_act, t_out, wave_fn)
    elif g in (Gesture.THUMBS_UP, Gesture.THUMBS_DOWN):
        rot = HANDSHAKE_ROT if g is Gesture.THUMBS_UP else _rot_z(math.pi) @ HANDSHAKE_ROT
        hands[side] = HandState(np.array([sx * u(0.1, 0.25), u(-0.45, -0.2), u(-0.45, -0.25) * p.arm]),
                                mirror(_tilt(rng, 14) @ rot, side), _shape(rng, p, "thumb"))
        t_act = u(0.8, 2.0)
    elif g is Gesture.POINT:
        pick = [t for t in targets if t.name != partner]
        tg = pick[int(rng.integers(len(pick)))]
        target = str(tg.name)
        shoulder = np.array([sx * 0.18, -0.25, 0.05])
        d = body_from_world(p, tg.position) - shoulder
        d /= np.linalg.norm(d)
        shape = _shape(rng, p, "point")
        local = _local_dir(shape, side, Joint.INDEX_PROXIMAL, Joint.INDEX_TIP)
        rot = aim_rotation(local, np.array([0.0, 1.0, 0.0]), d, np.array([0.0, 1.0, 0.0]) + 0.3 * rng.normal(size=3))
        hands[side] = HandState(shoulder + d * u(0.38, 0.5) * p.arm, rot, shape)
        t_act = u(0.8, 2.0)
    elif g is Gesture.OPEN_PALMS:
        y, z, x = u(-0.4, -0.15), u(-0.35, -0.2), u(0.15, 0.3)
        for s in SIDES:
            hands[s] = HandState(np.array([_sx(s) * x, y + u(-0.03, 0.03), z]), mirror(PALM_FORWARD_UP @ _tilt(rng, 12), s),
                                 _shape(rng, p, "open"))
        t_act = u(0.8, 2.0)
    elif g is Gesture.APPLAUSE:
        n = int(rng.integers(4, 9))
        f = u(2.0, 3.5) * S
        gap, spread = u(0.025, 0.045), u(0.1, 0.2) * A
        y, z = u(-0.45, -0.25), u(-0.35, -0.2)
        tilt = u(0.5, 1.0)
        shapes = {s: _shape(rng, p, "open") for s in SIDES}
        # a third of longer applause (6+ claps) pauses once (hands apart, 0.3-1.0 s) after at least
        # three claps and claps on at least three more: still one applause
        pause_at = int(rng.integers(3, n - 2)) / f if n >= 6 and rng.random() < 0.5 else None
        pause = u(0.3, 1.0) if pause_at is not None else 0.0
        t_act = n / f + pause

        def clap_fn(tau: float, bg: Pose3) -> tuple[dict[str, HandState], float, float]:
            k = min(max(0.0, tau - t_in), t_act)
            if pause_at is not None and k > pause_at:
                k = max(pause_at, k - pause)
            ph = 2 * math.pi * f * k
            d = gap + spread * (0.5 + 0.5 * math.cos(ph))
            out = {s: HandState(np.array([_sx(s) * d / 2, y, z]), mirror(_rot_x(tilt) @ HANDSHAKE_ROT, s), shapes[s])
                   for s in SIDES}
            return out, 0.0, 0.0

        return Overlay(g, "both", t0, t_in, t_act, t_out, clap_fn)
    elif g is Gesture.HANDSHAKE:
        side = "right"
        target = str(partner)
        tg = next(t for t in targets if t.name == partner)
        d = body_from_world(p, tg.position)
        yaw = math.atan2(-d[0], -d[2])
        # offered at natural height: 0.9-1.15 m above the floor standing (for 1.75 m), lower seated;
        # fingers level or tipped down up to 20 degrees
        floor = u(0.9, 1.15) * p.eye_height / 1.63 if p.eye_height > 1.45 else u(0.72, 0.95)
        tip = math.radians(u(0.0, 20.0))
        reach, dh = u(0.36, 0.5) * p.arm, np.array([d[0], d[2]]) / math.hypot(d[0], d[2])
        hands[side] = HandState(np.array([u(0.04, 0.12) + 0.8 * reach * dh[0], min(-0.3, floor - p.eye_height), reach * dh[1]]),
                                _rot_y(yaw) @ _rot_x(-tip) @ _tilt(rng, 8) @ HANDSHAKE_ROT, _shape(rng, p, "open"))
        # an offered hand is held out until the other takes it (or it is clearly not taken): at
        # least a second (generator 5 drew 0.8-2.0 s, holds shorter than the offer takes to read)
        t_act = u(1.0, 2.5)
    else:
        raise ValueError(g)
    sway = rng.normal(0, 0.01, 3)
    fixed = dict(hands)

    def hold_fn(tau: float, bg: Pose3) -> tuple[dict[str, HandState], float, float]:
        k = math.sin(tau * 1.3)
        return {s: HandState(h.pos + sway * k, h.rot, h.shape) for s, h in fixed.items()}, 0.0, 0.0

    hand = "both" if g is Gesture.OPEN_PALMS else side
    return Overlay(g, hand, t0, t_in, t_act, t_out, hold_fn, target)
