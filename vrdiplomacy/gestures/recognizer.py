"""The gesture recognizers, streaming (:class:`GestureRecognizer`) and batch (:func:`classify`).

Each recognizer is a deterministic function of the frame sequence and its times: a per-frame
score or signal (from :mod:`vrdiplomacy.gestures.features`) fed to a hold or oscillation
detector (:mod:`vrdiplomacy.gestures.detectors`) with hysteresis, debounce, grace for tracking
dropouts, a confidence, an onset and an offset. Desktop keys and controller button shortcuts
(``FrameFeatures.keys``) produce the same gestures directly.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from vrdiplomacy.gestures.detectors import DipDetector, HoldDetector, OscillationDetector, Span
from vrdiplomacy.gestures.features import FeatureExtractor, FrameFeatures, HandFeatures
from vrdiplomacy.gestures.mapping import ControllerMapping
from vrdiplomacy.gestures.types import Detection, Gesture, Hand, Target, ray_target
from vrdiplomacy.input.frame import InputFrame

SIDES = ("left", "right")
REACH = 2.0  # metres: a hand is offered to a delegate no further than this (horizontally)
OFFER_BEARING = 30.0  # degrees: the offered hand's fingers point at the partner within this
OFFER_ALONG = 0.22  # metres: the offered palm is at least this far from the head towards the partner
OFFER_ASIDE = 0.22  # metres: and at most this far to the side of the line to them
_HEAD_GESTURES = {Gesture.NOD, Gesture.HEAD_SHAKE}
_TWO_HAND_GESTURES = {Gesture.APPLAUSE, Gesture.OPEN_PALMS}


def ramp(x: float, lo: float, hi: float) -> float:
    """0 below ``lo``, 1 above ``hi``, linear between (``lo > hi`` gives a falling ramp)."""
    if lo < hi:
        return 0.0 if x <= lo else 1.0 if x >= hi else (x - lo) / (hi - lo)
    return 1.0 if x <= hi else 0.0 if x >= lo else (lo - x) / (lo - hi)


@dataclass
class RecognizerConfig:
    """Recognizer thresholds (metres, degrees, seconds).

    Fields: ``raise_height`` palm height above the eyes for a raised hand; ``nod_depth`` how far
    (degrees) the head must dip and come back for a nod -- one dip is enough; ``shake_swing``
    head-shake turning-point hysteresis in degrees, ``shake_swings`` half-swings needed (2: left,
    right, and back to the centre) and ``shake_centre`` how close (a fraction of the last swing)
    the head must come back to that swing's middle before a shake counts; ``wave_swing`` finger-tip swing in
    metres; ``clap_swing`` change of palm distance per clap and ``clap_gap`` the largest distance
    that still counts as hands meeting; ``hold`` seconds a posture must be held before it counts;
    ``point_slack_deg`` angular slack when ray-casting to targets; ``lower_duration`` how long a
    lower-hand event lasts after a raised hand comes down; ``clap_pause`` the longest pause
    (seconds, from the last clap to the next one's onset) inside one applause: people stop for a
    breath, look round or cheer and clap on, and that is one applause, not two.
    """

    raise_height: float = 0.06
    nod_depth: float = 5.0
    shake_swing: float = 3.5
    shake_swings: int = 2
    wave_swing: float = 0.045
    clap_swing: float = 0.045
    clap_gap: float = 0.085
    hold: float = 0.35
    point_slack_deg: float = 5.0
    lower_duration: float = 0.5
    clap_pause: float = 1.2
    shake_centre: float = 0.2


def _open(h: HandFeatures) -> float:
    return ramp(h.curl_mean, 0.42, 0.28)


def _fingers_curled(h: HandFeatures) -> float:
    return ramp(h.fingers_curl, 0.5, 0.65)


def _off_face(h: HandFeatures) -> float:
    """0 for a hand at the face (drinking, touching the chin), 1 for one held away from it."""
    x, y, z = h.palm.tolist()
    return ramp(math.sqrt(x * x + (y + 0.05) ** 2 + (z - 0.03) ** 2), 0.17, 0.22)


def _palm_off_head(h: HandFeatures) -> float:
    """1 for a hand held up beside the head to ask for the floor, 0 for one on the head.

    Both can sit a few centimetres from the head. The raised hand is open, its fingers point
    up and its palm faces forward or outward, away from the head; a hand that touches or
    scratches the head or holds the headset has its palm on it (towards the head, or down onto
    its top). The head centre is ~8 cm behind and 3 cm above the eyes."""
    opened = _open(h)
    if opened == 0.0:
        return 0.0
    d = h.palm - np.array([0.0, 0.03, 0.08])
    n = float(np.linalg.norm(d)) or 1.0
    pal = h.palmar
    out = float(pal @ d) / n  # +1 palm facing straight away from the head, -1 straight at it
    off = max(float(-pal[2]), out)  # palm forward, or facing away from the head
    return min(opened, ramp(off, 0.3, 0.55), ramp(out, -0.45, -0.2), ramp(float(h.fingers[1]), 0.4, 0.65))


def _still(h: HandFeatures, fast: float = 0.45) -> float:
    return ramp(max(h.speed, 0.6 * h.tip_speed), fast, fast * 0.5)


@dataclass
class _Track:
    """One (gesture, hand) recognizer: a detector plus the target votes of its current span."""

    gesture: Gesture
    hand: Hand
    det: HoldDetector | OscillationDetector | DipDetector
    votes: Counter[str] = field(default_factory=Counter)
    merge_gap: float = 0.0  # a new span starting within this many seconds of the last one's end continues it
    merge_wait: float = 0.0  # how long an ended span is held back waiting for such a continuation
    held: Span | None = None  # an ended span held back (its end event not sent yet)


class GestureRecognizer:
    """Streaming recognizer: :meth:`push` one InputFrame, get the (phase, Detection) changes.

    ``phase`` is "start" when a gesture is confirmed (its onset lies in the past; ``offset`` equals
    the emit time until it ends) and "end" with the final interval. ``targets`` are what ``point``
    and ``handshake`` can aim at.
    """

    def __init__(
        self,
        targets: Sequence[Target] = (),
        config: RecognizerConfig | None = None,
        mapping: ControllerMapping | None = None,
    ) -> None:
        self.targets = tuple(targets)
        self.cfg = config or RecognizerConfig()
        self.features = FeatureExtractor(mapping)
        c = self.cfg
        self._last_t: float | None = None
        tracks: list[_Track] = []
        for side in SIDES:
            hand = Hand(side)
            tracks += [
                _Track(Gesture.RAISE_HAND, hand, HoldDetector(debounce_on=0.45, debounce_off=0.15)),
                _Track(Gesture.THUMBS_UP, hand, HoldDetector(debounce_on=c.hold, debounce_off=0.15)),
                _Track(Gesture.THUMBS_DOWN, hand, HoldDetector(debounce_on=c.hold, debounce_off=0.15)),
                _Track(Gesture.POINT, hand, HoldDetector(debounce_on=c.hold, debounce_off=0.15)),
                _Track(Gesture.WAVE, hand, OscillationDetector(c.wave_swing, swings=3, min_half=0.08, max_half=0.6)),
            ]
        tracks += [
            _Track(Gesture.HANDSHAKE, Hand.RIGHT, HoldDetector(debounce_on=0.7, debounce_off=0.15)),
            _Track(Gesture.OPEN_PALMS, Hand.BOTH, HoldDetector(debounce_on=0.4, debounce_off=0.15)),
            _Track(Gesture.APPLAUSE, Hand.BOTH, OscillationDetector(c.clap_swing, swings=5, min_half=0.06,
                                                                     max_half=0.5, low_max=c.clap_gap),
                   merge_gap=c.clap_pause, merge_wait=c.clap_pause + 1.0),
            _Track(Gesture.NOD, Hand.NONE, DipDetector(c.nod_depth)),
            _Track(Gesture.HEAD_SHAKE, Hand.NONE, OscillationDetector(c.shake_swing, swings=c.shake_swings, min_half=0.1,
                                                                       max_half=0.65, cross_ratio=0.6,
                                                                       centre_ratio=c.shake_centre, max_still=0.35)),
        ]
        self._tracks = tracks
        self._wave = {tr.hand: tr for tr in tracks if tr.gesture is Gesture.WAVE}
        self._keys: dict[tuple[Gesture, Hand], _Track] = {}
        self._pending_lower: list[tuple[float, Detection]] = []

    # -- per-gesture inputs ------------------------------------------------------------------
    def _hold_score(self, tr: _Track, f: FrameFeatures) -> float | None:
        """Posture score in [0, 1] (None: hand not tracked). Cheap tests first, zero exits early."""
        g, c = tr.gesture, self.cfg
        if g is Gesture.OPEN_PALMS:
            if f.left is None or f.right is None:
                return None
            return min(self._palm_forward(f.left), self._palm_forward(f.right))
        h = f.hand(tr.hand.value)
        if h is None:
            return None
        px, py, pz = h.palm.tolist()
        if g is Gesture.RAISE_HAND:
            above = ramp(py, c.raise_height - 0.04, c.raise_height)
            if above == 0.0:
                return 0.0
            away = max(ramp(math.sqrt(px * px + (py - 0.03) ** 2 + (pz - 0.08) ** 2), 0.13, 0.19),
                       _palm_off_head(h))
            if self._wave[tr.hand].det.active is not None:
                return 0.0  # a high wave is not a raised hand
            other = f.hand("left" if tr.hand is Hand.RIGHT else "right")
            if other is not None:  # both hands up at the head: adjusting the headset, not asking for the floor
                above = min(above, ramp(float(other.palm[1]), -0.02, -0.1))
            # raised and *still*: the finger tips stay within a few cm for 0.45 s (a wave never does)
            return min(above, away, _still(h), ramp(h.tip_range, 0.07, 0.045))
        if g in (Gesture.THUMBS_UP, Gesture.THUMBS_DOWN):
            curled = _fingers_curled(h)
            if curled == 0.0:
                return 0.0
            up = float(h.thumb_dir_world[1]) * (1.0 if g is Gesture.THUMBS_UP else -1.0)
            fist = ramp(h.fingers_curl, 0.68, 0.78)  # a loose hand with the thumb up is not a thumbs up
            return min(fist, ramp(h.thumb_out, 0.3, 0.5), ramp(up, 0.55, 0.75), _still(h, 0.6), _off_face(h))
        if g is Gesture.POINT:
            index_straight = ramp(float(h.curls[0]), 0.38, 0.22)
            if index_straight == 0.0:
                return 0.0
            return min(index_straight, _fingers_curled(h), ramp(py, -0.75, -0.6), _still(h, 0.6), _off_face(h))
        if g is Gesture.HANDSHAKE:
            return self._offer_score(f, h)
        raise AssertionError(g)

    def _offer_score(self, f: FrameFeatures, h: HandFeatures) -> float:
        """A right hand offered for a handshake: open, palm facing sideways (inwards, so the thumb is up),
        fingers level or tipped down up to ~40 degrees and pointing at a partner within reach,
        arm extended, held still. The height is free within waist..chin (people offer a hand at
        their partner's, not their own chest)."""
        opened = _open(h)
        if opened == 0.0:
            return 0.0
        px, py, pz = h.palm.tolist()
        fx, fy, fz = h.fingers.tolist()
        flat = math.hypot(fx, fz) or 1.0
        # a right palm faces left of where the fingers point (palm normal x fingers has +y): with
        # the palm upright this puts the thumb side up; the thumb's own joints are too noisy to
        # ask more of it than not being folded into the palm
        inward = float(h.palmar[0] * fz - h.palmar[2] * fx) / flat
        score = min(
            opened, ramp(inward, 0.5, 0.72), ramp(abs(float(h.palmar[1])), 0.5, 0.35),
            ramp(fy, -0.72, -0.55), ramp(fy, 0.45, 0.3),
            ramp(math.hypot(px, pz), 0.24, 0.3), ramp(h.thumb_out, 0.1, 0.25),
            ramp(py, -0.95, -0.85), ramp(py, -0.05, -0.15), _still(h, 0.4), ramp(h.tip_range, 0.07, 0.045),
        )
        if score == 0.0:
            return 0.0
        other = f.left
        if other is not None:
            d = h.palm - other.palm
            n = math.sqrt(float(d @ d))
            if n < 0.14 and float(other.palmar @ d) > 0.4 * n:
                # both hands together, palms facing: clapping or clasping, not an offered hand (a hand
                # resting palm-down on the desk may lie that close when the other is offered across it)
                return 0.0
        if self.targets and self._partner(f, h) is None:
            return 0.0  # in a scene, a hand is offered to someone within reach, where the fingers point
        return score

    def _partner(self, f: FrameFeatures, h: HandFeatures) -> str | None:
        """The nearest target within ``REACH`` of the head (horizontally, any height) whose bearing
        from the head is within ``OFFER_BEARING`` degrees of the fingers' horizontal direction and
        towards whom the hand has been brought: the palm lies on the way to them (at least
        ``OFFER_ALONG`` m along the line from the head, at most ``OFFER_ASIDE`` m beside it), not
        out at the side of the body."""
        ph = h.palm_world - f.head_world
        d = _world_dir(f, h.fingers)
        dh = math.hypot(float(d[0]), float(d[2]))
        if dh < 1e-6:
            return None
        best: tuple[float, str] | None = None
        for t in self.targets:
            v = np.asarray(t.position, np.float64) - f.head_world
            vh = math.hypot(float(v[0]), float(v[2]))
            if vh > REACH or vh < 0.3 or abs(float(v[1])) > 1.2:
                continue
            cosb = (float(v[0]) * float(d[0]) + float(v[2]) * float(d[2])) / (vh * dh)
            along = (float(ph[0]) * float(v[0]) + float(ph[2]) * float(v[2])) / vh
            aside = abs(float(ph[0]) * float(v[2]) - float(ph[2]) * float(v[0])) / vh
            if along < OFFER_ALONG or aside > OFFER_ASIDE:
                continue
            if cosb >= math.cos(math.radians(OFFER_BEARING)) and (best is None or vh < best[0]):
                best = (vh, t.name)
        return None if best is None else best[1]

    def _palm_forward(self, h: HandFeatures) -> float:
        opened = _open(h)
        if opened == 0.0:
            return 0.0
        py = float(h.palm[1])
        return min(opened, ramp(float(-h.palmar[2]), 0.45, 0.7), ramp(py, -0.65, -0.55), ramp(py, 0.04, -0.02),
                   _still(h, 0.4))

    def _signal(self, tr: _Track, f: FrameFeatures) -> tuple[float | None, float]:
        g = tr.gesture
        if g is Gesture.NOD:
            return f.pitch, f.yaw
        if g is Gesture.HEAD_SHAKE:
            return f.yaw, f.pitch
        if g is Gesture.WAVE:
            h = f.hand(tr.hand.value)
            if h is None:
                return None, 0.0
            # from shoulder height (palm ~0.25 m below the eyes) up; talking beats stay lower
            gate = min(ramp(float(h.palm[1]), -0.38, -0.3), ramp(h.curl_mean, 0.5, 0.35), ramp(float(-h.palmar[2]), 0.2, 0.4))
            other = f.right if tr.hand is Hand.LEFT else f.left
            if other is not None:  # hands near each other swing together when clapping, not waving
                d = other.palm - h.palm
                gate = min(gate, ramp(math.sqrt(float(d @ d)), 0.28, 0.34))
            if gate < 0.5:
                return float("nan"), 0.0
            return float(h.tip[0]), 0.0
        if g is Gesture.APPLAUSE:
            if f.left is None or f.right is None:
                return None, 0.0
            lo, ro = f.left, f.right
            gate = min(ramp(float(lo.palm[1]), -0.8, -0.7), ramp(float(ro.palm[1]), -0.8, -0.7),
                       ramp(float(lo.palm[1]), 0.1, 0.0), ramp(float(-lo.palm[2]), 0.05, 0.12))
            if gate < 0.5:
                return float("nan"), 0.0
            d = lo.palm - ro.palm
            return math.sqrt(float(d @ d)), 0.0
        raise AssertionError(g)

    def _target(self, tr: _Track, f: FrameFeatures) -> str | None:
        if not self.targets:
            return None
        h = f.hand(tr.hand.value)
        if h is None:
            return None
        if tr.gesture is Gesture.HANDSHAKE:
            return self._partner(f, h)
        return ray_target(h.ray_origin_world, h.ray_dir_world, self.targets, self.cfg.point_slack_deg)

    # -- driving -----------------------------------------------------------------------------
    def push(self, frame: InputFrame) -> list[tuple[str, Detection]]:
        """Feed one frame (times must not go backwards); returns this frame's starts and ends."""
        if self._last_t is not None and frame.time < self._last_t:
            raise ValueError(f"frame time went backwards ({frame.time} < {self._last_t})")
        self._last_t = frame.time
        f = self.features(frame)
        out: list[tuple[str, Detection]] = []
        for tr in self._tracks:
            if isinstance(tr.det, HoldDetector):
                started, ended = tr.det.step(f.t, self._hold_score(tr, f))
            else:
                x, cross = self._signal(tr, f)
                if x is not None and math.isnan(x):  # the gate is shut: no such motion here
                    started, ended = None, tr.det.finish(f.t)
                    tr.det.reset()
                else:
                    started, ended = tr.det.step(f.t, x, cross)
            if tr.merge_gap > 0.0:
                started, ended = self._merge(tr, started, ended, f.t)
            if tr.gesture in (Gesture.POINT, Gesture.HANDSHAKE) and (tr.det.active is not None or started):
                name = self._target(tr, f)
                if name is not None:
                    tr.votes[name] += 1
            if ended is not None:
                det = self._detection(tr, ended, f.t)
                out.append(("end", det))
                tr.votes.clear()
                if tr.gesture is Gesture.RAISE_HAND and ended.offset is not None and f.hand(tr.hand.value):
                    low = Detection(Gesture.LOWER_HAND, tr.hand, ended.offset, ended.offset + self.cfg.lower_duration,
                                    det.confidence, None, f.t)
                    out.append(("start", low))
                    self._pending_lower.append((low.offset, low))
            if started is not None:
                out.append(("start", self._detection(tr, started, f.t)))
        out += self._key_step(f)
        still: list[tuple[float, Detection]] = []
        for due, low in self._pending_lower:
            if f.t >= due:
                out.append(("end", low))
            else:
                still.append((due, low))
        self._pending_lower = still
        return out

    @staticmethod
    def _merge(tr: _Track, started: Span | None, ended: Span | None, now: float) -> tuple[Span | None, Span | None]:
        """Hysteresis over whole spans: an ended span is held back ``merge_wait`` seconds; a new one
        whose onset lies within ``merge_gap`` of its offset continues it (no second start event)."""
        if ended is not None:
            tr.held, ended = ended, None
        if started is not None and tr.held is not None:
            held, tr.held = tr.held, None
            if held.offset is not None and started.onset - held.offset <= tr.merge_gap:
                tr.det.active = Span(held.onset, None, max(held.confidence, started.confidence), held.emitted_at,
                                     held.extra)
                return None, None
            ended = held
        elif tr.held is not None and tr.held.offset is not None and now - tr.held.offset > tr.merge_wait:
            ended, tr.held = tr.held, None
        return started, ended

    def _detection(self, tr: _Track, span: Span, now: float) -> Detection:
        target = tr.votes.most_common(1)[0][0] if tr.votes else None
        offset = span.offset if span.offset is not None else now
        return Detection(tr.gesture, tr.hand, span.onset, offset, span.confidence, target, span.emitted_at)

    def _key_step(self, f: FrameFeatures) -> list[tuple[str, Detection]]:
        out: list[tuple[str, Detection]] = []
        held: set[tuple[Gesture, Hand]] = set()
        for name, side in f.keys.items():
            try:
                g = Gesture(name)
            except ValueError:
                continue  # keys that are not gestures belong to someone else
            hand = Hand.NONE if g in _HEAD_GESTURES else Hand.BOTH if g in _TWO_HAND_GESTURES else Hand(side or "right")
            held.add((g, hand))
        for key in held - set(self._keys):
            g, hand = key
            tr = _Track(g, hand, HoldDetector(debounce_on=0.0, debounce_off=0.0))
            if g in (Gesture.POINT, Gesture.HANDSHAKE) and self.targets:
                if g is Gesture.POINT:  # desktop: point where one looks; shake the hand of whoever is near
                    name = ray_target(f.head_world, f.gaze_world, self.targets, self.cfg.point_slack_deg)
                else:
                    name = ray_target(f.head_world, f.gaze_world, self.targets, 35.0, REACH)
                if name is not None:
                    tr.votes[name] += 1
            tr.det.active = Span(f.t, None, 1.0, f.t)
            tr.det.confirm(1.0)
            self._keys[key] = tr
            out.append(("start", self._detection(tr, tr.det.active, f.t)))
        for key in set(self._keys) - held:
            tr = self._keys.pop(key)
            span = tr.det.finish(f.t)
            if span is not None:
                out.append(("end", self._detection(tr, span, f.t)))
        return out

    def finish(self) -> list[Detection]:
        """Close whatever is still open at the end of a sequence (offset = last frame time)."""
        t = self._last_t if self._last_t is not None else 0.0
        out: list[Detection] = []
        for tr in self._tracks + list(self._keys.values()):
            if tr.held is not None:
                out.append(self._detection(tr, tr.held, t))
                tr.held = None
            span = tr.det.finish(t)
            if span is not None:
                out.append(self._detection(tr, span, t))
        self._keys.clear()
        out += [low for _, low in self._pending_lower]
        self._pending_lower = []
        return out


def _world_dir(f: FrameFeatures, v: np.ndarray) -> np.ndarray:
    by = math.radians(f.body_yaw)
    c, s = math.cos(by), math.sin(by)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]]) @ v


def classify(
    frames: Iterable[InputFrame],
    targets: Sequence[Target] = (),
    config: RecognizerConfig | None = None,
    mapping: ControllerMapping | None = None,
) -> list[Detection]:
    """Every gesture in a frame sequence, sorted by onset (a pure function of its inputs)."""
    rec = GestureRecognizer(targets, config, mapping)
    done: list[Detection] = []
    for frame in frames:
        for phase, det in rec.push(frame):
            if phase == "end":
                done.append(det)
    done += rec.finish()
    return sorted(done, key=lambda d: (d.onset, d.gesture.value, d.hand.value))
