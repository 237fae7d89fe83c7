"""What held-out performers do: the 11 gestures and natural non-gesture motion (see :mod:`.heldout`).

Each ``act_*`` function writes keys into a :class:`Script` from time ``t`` and returns the
time the person is back at rest.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from vrdiplomacy.gestures.heldout import (
    FIST_THUMB, FLAT, HOLD_CUP, LOOSE, OPEN, PEOPLE, POINTING, UP, F, HandKey, Person, Script, _rot_axis, _unit,
    hand_rot, render, rest_key, shoulder,
)
from vrdiplomacy.gestures.types import Gesture, Target
from vrdiplomacy.input.frame import InputFrame

SIDES = ("left", "right")


def _sx(side: str) -> float:
    return 1.0 if side == "right" else -1.0


def _move(sc: Script, p: Person, rng: np.random.Generator, side: str, t: float, key: HandKey, hold: float) -> float:
    """Go to ``key`` (arrive after a reach time), stay ``hold`` s; returns when the hold ends."""
    reach = rng.uniform(0.35, 0.7) / p.tempo
    sc.hands[side].add(t + reach, key)
    jitter = HandKey(key.pos + rng.normal(0, 0.006, 3), key.rot, key.curls)
    sc.hands[side].add(t + reach + hold, jitter)
    return t + reach + hold


def _back(sc: Script, p: Person, rng: np.random.Generator, side: str, t: float) -> float:
    back = t + rng.uniform(0.4, 0.8) / p.tempo
    sc.hands[side].add(back, rest_key(p, side, rng))
    return back


def targets_for(p: Person, rng: np.random.Generator) -> tuple[list[Target], str]:
    """Delegates 1.4-4 m away, a screen, and a partner 0.6-1.0 m away (target at head or chest)."""
    out: list[Target] = []
    names = [str(n) for n in rng.permutation(["ARG", "AUS", "CHL", "ETH", "FIN", "GHA", "ISL", "KOR", "PER", "SEN"])]
    bearings: list[float] = []
    while len(bearings) < 4:
        b = float(rng.uniform(-75, 75))
        if all(abs(b - o) > 22 for o in bearings):
            bearings.append(b)
    for name, b in zip(names, bearings):
        out.append(_target(p, name, b, float(rng.uniform(1.4, 4.0)), float(rng.uniform(-0.1, 0.1)), 0.3))
    out.append(_target(p, "screen", float(rng.uniform(-20, 20)), float(rng.uniform(4.0, 7.0)), 0.8, 1.0))
    partner = names[5]
    chest = rng.random() < 0.5
    out.append(_target(p, partner, float(rng.uniform(-25, 25)), float(rng.uniform(0.6, 1.0)),
                       -0.4 if chest else 0.0, 0.25))
    return out, partner


def _target(p: Person, name: str, bearing: float, dist: float, dy: float, r: float) -> Target:
    yaw = math.radians(p.yaw0 + bearing)
    return Target(name, (round(p.where[0] - math.sin(yaw) * dist, 3), round(p.eye + dy, 3),
                         round(p.where[1] - math.cos(yaw) * dist, 3)), r)


def _local(p: Person, w: tuple[float, float, float]) -> F:
    v = np.asarray(w) - np.array([p.where[0], p.eye, p.where[1]])
    c, s = math.cos(math.radians(p.yaw0)), math.sin(math.radians(p.yaw0))
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]).T @ v


# -- gestures ---------------------------------------------------------------------------------

def act_gesture(g: Gesture, sc: Script, p: Person, rng: np.random.Generator, t: float, side: str,
                targets: list[Target], partner: str) -> float:
    u = rng.uniform
    sx, k = _sx(side), p.height / 1.75
    if g in (Gesture.NOD, Gesture.HEAD_SHAKE):
        single = rng.random() < 0.4
        if g is Gesture.NOD:
            n = 1 if single else int(rng.integers(2, 4))
            f, amp = u(1.2, 2.5) * p.tempo, u(6, 18) * min(1.2, p.amp)
            dur = n / f
            sc.wobble.append((t, t + dur, "head", lambda tau: (0.0, -amp * (0.5 - 0.5 * math.cos(2 * math.pi * f * tau)))))
        else:
            amp = u(4, 7) if single else u(6, 16) * min(1.2, p.amp)
            halves = 2 if single else int(rng.integers(3, 6))
            f = u(1.3, 2.4) * p.tempo
            dur = (halves + 1) / (2 * f)  # out, across (halves-1 times), back to the centre
            first = float(rng.choice([-1.0, 1.0]))

            def shake(tau: float, amp: float = amp, f: float = f, dur: float = dur, first: float = first) -> tuple[float, float]:
                ph = 2 * math.pi * f * tau
                env = 1.0 if tau < dur - 0.5 / f else max(0.0, (dur - tau) * 2 * f)
                return first * amp * math.sin(ph) * env, 0.0
            sc.wobble.append((t, t + dur, "head", shake))
        sc.label(g, "none", t, t + dur)
        return t + dur
    if g is Gesture.RAISE_HAND:
        pos = np.array([sx * u(0.05, 0.25), u(0.08, 0.3) * k, u(-0.2, 0.05)])
        sideways = rng.random() < 0.35
        fingers = _unit(UP + np.array([sx * u(-0.1, 0.2), 0, u(-0.3, 0.1)]))
        thumb = np.array([-sx, 0, 0]) if not sideways else np.array([0, 0, -1.0])
        key = HandKey(pos, hand_rot(fingers, thumb, side), FLAT)
        hold_end = _move(sc, p, rng, side, t, key, u(1.2, 3.0))
        back = _back(sc, p, rng, side, hold_end)
        sc.label(Gesture.RAISE_HAND, side, t, hold_end)
        sc.label(Gesture.LOWER_HAND, side, hold_end, back)
        return back
    if g is Gesture.WAVE:
        high = rng.random() < 0.5
        pos = np.array([sx * u(0.15, 0.35), (u(0.05, 0.25) if high else u(-0.3, -0.02)) * k, u(-0.3, -0.1)])
        key = HandKey(pos, hand_rot(_unit(UP + np.array([0, 0, -0.2])), np.array([-sx, 0, 0]), side), OPEN)
        start = _move(sc, p, rng, side, t, key, 0.0)
        cycles, f = int(rng.integers(2, 5)), u(1.5, 3.0) * p.tempo
        dur = cycles / f
        roll = rng.random() < 0.5
        a_rot, a_lat = math.radians(u(18, 40)) * p.amp, u(0.04, 0.1) * p.amp

        def wave(tau: float, hk: HandKey, f: float = f, roll: bool = roll, a_rot: float = a_rot, a_lat: float = a_lat) -> HandKey:
            s = math.sin(2 * math.pi * f * tau)
            if roll:  # about the forearm, through the wrist 6 cm below the palm
                r = _rot_axis(np.array([0, 0, 1.0]), a_rot * s)
                wrist = hk.pos - hk.rot @ np.array([0, 0, -0.06])
                return HandKey(wrist + r @ (hk.pos - wrist), r @ hk.rot, hk.curls)
            return HandKey(hk.pos + np.array([a_lat * s, 0, 0]), hk.rot, hk.curls)
        sc.wobble.append((start, start + dur, side, wave))
        sc.hands[side].add(start + dur, key)
        _back(sc, p, rng, side, start + dur + 0.1)
        sc.label(g, side, t, start + dur)
        return start + dur + 0.9 / p.tempo
    if g in (Gesture.THUMBS_UP, Gesture.THUMBS_DOWN):
        across = rng.random() < 0.4
        fingers = np.array([-sx, 0, -0.3]) if across else np.array([sx * u(-0.2, 0.2), u(-0.2, 0.1), -1.0])
        thumb = UP if g is Gesture.THUMBS_UP else -UP
        pos = np.array([sx * u(0.08, 0.28), u(-0.5, -0.15) * k, u(-0.5, -0.25) * k])
        key = HandKey(pos, _rot_axis(rng.normal(size=3), math.radians(u(0, 12))) @ hand_rot(_unit(fingers), thumb, side),
                      FIST_THUMB)
        hold_end = _move(sc, p, rng, side, t, key, u(0.9, 2.0))
        _back(sc, p, rng, side, hold_end)
        sc.label(g, side, t, hold_end)
        return hold_end + 0.7 / p.tempo
    if g is Gesture.POINT:
        tg = [x for x in targets if x.name != partner][int(rng.integers(len(targets) - 1))]
        sh = shoulder(p, side)
        d = _unit(_local(p, tg.position) - sh)
        key = HandKey(sh + d * p.arm * u(0.7, 0.95), hand_rot(d, _unit(UP - sx * 0.3 * np.array([1.0, 0, 0])), side),
                      POINTING)
        hold_end = _move(sc, p, rng, side, t, key, u(0.9, 2.0))
        _back(sc, p, rng, side, hold_end)
        sc.label(g, side, t, hold_end, tg.name)
        return hold_end + 0.7 / p.tempo
    if g is Gesture.OPEN_PALMS:
        y, z, x = u(-0.45, -0.2) * k, u(-0.42, -0.25) * k, u(0.12, 0.3)
        hold = u(0.9, 2.0)
        for s in SIDES:
            fingers = _unit(np.array([_sx(s) * u(0.0, 0.3), 1.0, u(-0.5, 0.0)]))
            key = HandKey(np.array([_sx(s) * x, y, z]), hand_rot(fingers, np.array([-_sx(s), 0, 0]), s), OPEN)
            end = _move(sc, p, rng, s, t, key, hold)
            _back(sc, p, rng, s, end)
        sc.label(g, "both", t, end)
        return end + 0.7 / p.tempo
    if g is Gesture.APPLAUSE:
        y, z = u(-0.5, -0.25) * k, u(-0.4, -0.22) * k
        n, f = int(rng.integers(4, 10)), u(2.0, 4.0) * p.tempo
        gap, spread = u(0.02, 0.04), u(0.1, 0.22) * p.amp
        start = t + u(0.4, 0.7) / p.tempo
        for s in SIDES:
            fingers = _unit(np.array([-_sx(s) * 0.2, u(0.3, 1.0), -1.0]))
            key = HandKey(np.array([_sx(s) * (gap + spread) / 2, y, z]), hand_rot(fingers, UP, s), FLAT)
            sc.hands[s].add(start, key)

            def clap(tau: float, hk: HandKey, s: str = s, f: float = f) -> HandKey:
                d = gap + spread * (0.5 + 0.5 * math.cos(2 * math.pi * f * tau))
                return HandKey(np.array([_sx(s) * d / 2, hk.pos[1], hk.pos[2]]), hk.rot, hk.curls)
            sc.wobble.append((start, start + n / f, s, clap))
            sc.hands[s].add(start + n / f, key)
            _back(sc, p, rng, s, start + n / f + 0.05)
        sc.label(g, "both", t, start + n / f)
        return start + n / f + 0.8 / p.tempo
    if g is Gesture.HANDSHAKE:
        tg = next(x for x in targets if x.name == partner)
        d = _local(p, tg.position)
        bearing = _unit(np.array([d[0], 0.0, d[2]]))
        tip = math.radians(u(0.0, 20.0))
        fingers = _unit(bearing * math.cos(tip) - UP * math.sin(tip))
        floor = u(0.9, 1.15) * k if not p.seated else u(0.72, 0.95) * k
        pos = np.array([0.08, floor - p.eye, 0.0]) + bearing * u(0.33, 0.48) * k
        key = HandKey(pos, hand_rot(fingers, UP, "right"), FLAT)
        hold_end = _move(sc, p, rng, "right", t, key, u(1.0, 2.5))
        _back(sc, p, rng, "right", hold_end)
        sc.label(g, "right", t, hold_end, partner)
        return hold_end + 0.7 / p.tempo
    raise ValueError(g)


# -- natural motion ---------------------------------------------------------------------------

def act_natural(kind: str, sc: Script, p: Person, rng: np.random.Generator, t: float, end: float,
                targets: list[Target], partner: str) -> None:
    u = rng.uniform
    dom = p.dominant
    if kind == "beats":  # talking: beats with palms up, down, and inward towards a partner
        side_set = [dom] if rng.random() < 0.5 else list(SIDES)
        tg = next(x for x in targets if x.name == partner)
        toward = _unit(_local(p, tg.position) * np.array([1, 0, 1]))
        for s in side_set:
            tt = t
            while tt < end - 1.0:
                kind_b = rng.choice(["up", "down", "inward", "inward"])
                pos = np.array([_sx(s) * u(0.05, 0.32), u(-0.6, -0.25), u(-0.5, -0.2)]) * p.height / 1.75
                if kind_b == "inward":
                    fingers = _unit(toward + rng.normal(0, 0.25, 3) * np.array([1, 0.5, 1]))
                    rot = hand_rot(fingers, UP + rng.normal(0, 0.2, 3), s)
                elif kind_b == "up":
                    rot = hand_rot(np.array([_sx(s) * u(-0.3, 0.3), u(-0.2, 0.2), -1.0]), np.array([_sx(s) * -1.0, 0, 0]), s)
                    rot = rot @ _rot_axis(np.array([0, 0, 1.0]), math.pi * _sx(s) * 0.9)
                else:
                    rot = hand_rot(np.array([_sx(s) * u(-0.3, 0.3), u(-0.3, 0.1), -1.0]), np.array([-_sx(s), 0, 0]), s)
                curls = FLAT if rng.random() < 0.6 else LOOSE
                tt = _move(sc, p, rng, s, tt, HandKey(pos, rot, curls), u(0.1, 0.55))
        _head_looks(sc, p, rng, t, end, 25)
    elif kind == "glass":
        s = dom
        table = HandKey(np.array([_sx(s) * 0.15, -0.55 * p.height / 1.75 - 0.05, -0.45]),
                        hand_rot(np.array([0, -0.3, -1.0]), UP, s), OPEN)
        tt = _move(sc, p, rng, s, t, table, 0.4)
        sc.hands[s].add(tt + 0.25, HandKey(table.pos, table.rot, HOLD_CUP))
        mouth = HandKey(np.array([_sx(s) * 0.04, -0.12, -0.1]), hand_rot(np.array([-_sx(s), 0.3, -0.5]), UP, s), HOLD_CUP)
        tt = _move(sc, p, rng, s, tt + 0.3, mouth, u(1.0, 2.5))
        sc.pitch.add(tt - 0.8, u(5, 15))
        sc.pitch.add(tt, 0.0)
        tt = _move(sc, p, rng, s, tt, HandKey(table.pos, table.rot, HOLD_CUP), 0.3)
        _back(sc, p, rng, s, tt + 0.2)
    elif kind == "headset":  # both hands to the sides of the head, above the eyes
        tt = t
        for s in SIDES:
            key = HandKey(np.array([_sx(s) * 0.11, u(-0.02, 0.06), u(-0.02, 0.04)]),
                          hand_rot(np.array([0, 0.3, -1.0]), UP, s),
                          HOLD_CUP)
            tt = max(tt, _move(sc, p, rng, s, t, key, u(0.6, 1.8)))
        for s in SIDES:
            _back(sc, p, rng, s, tt)
    elif kind == "look":
        _head_looks(sc, p, rng, t, end, 70)
    elif kind == "neighbour":
        turn = float(rng.choice([-1, 1])) * u(40, 85)
        sc.yaw.add(t + u(0.5, 1.0), turn)
        sc.yaw.add(end - 0.8, turn + u(-5, 5))
        sc.yaw.add(end, 0.0)
    elif kind == "notes":
        s = dom
        sc.pitch.add(t + 0.6, -u(20, 35))
        tt = t
        while tt < end - 1.0:
            key = HandKey(np.array([_sx(s) * u(0.0, 0.15), -0.6 * p.height / 1.75, u(-0.4, -0.3)]),
                          hand_rot(np.array([-_sx(s) * 0.3, -0.4, -1.0]), UP, s), HOLD_CUP)
            tt = _move(sc, p, rng, s, tt, key, u(0.3, 1.5))
        sc.pitch.add(end, 0.0)
        _back(sc, p, rng, s, end)


def _head_looks(sc: Script, p: Person, rng: np.random.Generator, t: float, end: float, span: float) -> None:
    tt = t
    while tt < end - 0.5:
        tt += rng.uniform(0.3, 0.9) / p.tempo
        sc.yaw.add(tt, rng.uniform(-span, span))
        sc.pitch.add(tt, rng.uniform(-12, 8))
        tt += rng.uniform(0.5, 3.0)
    sc.yaw.add(end, 0.0)
    sc.pitch.add(end, 0.0)


NATURAL = ("beats", "beats", "glass", "headset", "look", "neighbour", "notes")
PERFORMED = tuple(g for g in Gesture if g is not Gesture.LOWER_HAND)


def _start(sc: Script, p: Person, rng: np.random.Generator) -> None:
    sc.yaw.add(0.0, 0.0)
    sc.pitch.add(0.0, 0.0)
    for s in SIDES:
        sc.hands[s].add(0.0, rest_key(p, s, rng))


def make_recording(seed: int, source: str, kind: str, reps: int = 2, minutes: float = 5.0
                   ) -> tuple[list[InputFrame], list[dict[str, Any]], list[Target], Person]:
    """One held-out recording: ``kind`` "gestures" (each gesture ``reps`` times, with natural motion
    between) or "negative" (``minutes`` of natural motion only)."""
    rng = np.random.default_rng([7919, seed, 0 if source == "articulated" else 1])
    p = Person.draw(rng, PEOPLE[seed % len(PEOPLE)], source)
    targets, partner = targets_for(p, rng)
    sc = Script()
    _start(sc, p, rng)
    t = float(rng.uniform(1.0, 2.0))
    for s in SIDES:  # the hands rest until just before the first act, as between acts (its label starts then)
        sc.hands[s].add(t - 0.3, sc.hands[s].v[0])
    if kind == "gestures":
        todo = [g for g in PERFORMED for _ in range(reps)]
        for i in rng.permutation(len(todo)):
            g = todo[int(i)]
            side = p.dominant if rng.random() < 0.75 else ("left" if p.dominant == "right" else "right")
            t = act_gesture(g, sc, p, rng, t, side, targets, partner) + rng.uniform(1.2, 2.5)
            for s in SIDES:
                sc.hands[s].add(t - 0.3, rest_key(p, s, rng))
        duration = t + 1.0
    else:
        duration = minutes * 60.0
        while t < duration - 4.0:
            end = min(duration - 1.0, t + rng.uniform(4.0, 12.0))
            act_natural(str(rng.choice(NATURAL)), sc, p, rng, t, end, targets, partner)
            t = end + rng.uniform(0.3, 1.0)
            for s in SIDES:
                sc.hands[s].add(t, rest_key(p, s, rng))
    frames = render(p, sc, duration, rng)
    return frames, sorted(sc.labels, key=lambda d: d["onset"]), targets, p
