"""Two detector primitives with hysteresis and debounce, driven by (time, value) samples.

* :class:`HoldDetector` -- a posture held: a score in [0, 1] must stay >= ``on`` for
  ``debounce_on`` seconds (brief dips under ``dip`` seconds forgiven) to start, and < ``off`` for
  ``debounce_off`` seconds to end. Onset is when the score first rose, offset when it first fell.
* :class:`OscillationDetector` -- a repeated motion: turning points of a 1-D signal found with
  hysteresis ``swing``; ``swings`` consecutive half-swings each lasting ``min_half..max_half``
  seconds start the gesture; it ends when no turning point comes for ``max_half * 1.5``. The
  onset is where the signal left its rest on the way to the first extreme of the oscillation
  (found by walking back through the recent signal), not the first turning point.

* :class:`DipDetector` -- one excursion down and back up (a single nod), or several in a row.

All tolerate tracking dropouts (``None`` samples) for ``grace`` seconds.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Span:
    """A detector's output: ``onset``, ``offset`` (None while open), ``confidence``, emit time."""

    onset: float
    offset: float | None
    confidence: float
    emitted_at: float
    extra: str | None = None


@dataclass
class HoldDetector:
    """Held-posture detector (see module docstring). Fields are its thresholds in score/seconds."""

    on: float = 0.6
    off: float = 0.4
    debounce_on: float = 0.3
    debounce_off: float = 0.2
    dip: float = 0.12
    grace: float = 0.4
    _cand: float | None = None
    _cand_last_ok: float = 0.0
    _below: float | None = None
    _last_seen: float | None = None
    _sum: float = 0.0
    _n: int = 0
    active: Span | None = None

    def step(self, t: float, score: float | None) -> tuple[Span | None, Span | None]:
        """Feed one sample; returns (started, ended) spans (either may be None)."""
        started: Span | None = None
        ended: Span | None = None
        if score is None:
            if self._last_seen is not None and t - self._last_seen > self.grace:
                if self.active is not None:
                    ended = self._end(self._last_seen)
                self._cand = None
                self._below = None
            return started, ended
        self._last_seen = t
        if self.active is None:
            if score >= self.on:
                if self._cand is None:
                    self._cand, self._sum, self._n = t, 0.0, 0
                self._cand_last_ok = t
                self._sum += score
                self._n += 1
                if t - self._cand >= self.debounce_on:
                    self.active = Span(self._cand, None, self._conf(), t)
                    started = self.active
            elif self._cand is not None and (score < self.off or t - self._cand_last_ok > self.dip):
                self._cand = None
        else:
            self._sum += score
            self._n += 1
            if score < self.off:
                if self._below is None:
                    self._below = t
                if t - self._below >= self.debounce_off:
                    ended = self._end(self._below)
            else:
                self._below = None
        return started, ended

    def confirm(self, score: float) -> None:
        """Count one sample of ``score`` towards the confidence (for externally started spans)."""
        self._sum += score
        self._n += 1

    def _conf(self) -> float:
        return min(1.0, self._sum / max(1, self._n))

    def _end(self, offset: float) -> Span:
        assert self.active is not None
        span = Span(self.active.onset, offset, self._conf(), self.active.emitted_at, self.active.extra)
        self.active = None
        self._cand = None
        self._below = None
        return span

    def finish(self, t: float) -> Span | None:
        """Close an open span at the end of a sequence."""
        return self._end(t) if self.active is not None else None


@dataclass
class OscillationDetector:
    """Repeated-motion detector (see module docstring).

    Fields: ``swing`` turning-point hysteresis (signal units); ``swings`` half-swings needed;
    ``min_half``/``max_half`` allowed half-period in seconds; ``low_max`` when set, every low
    turning point must lie below it (claps: the hands must meet); ``cross_ratio`` when set, the
    ``cross`` signal's range over the motion must stay under this fraction of the main range;
    ``centre_ratio`` when set, after the last turning point the signal must come back to within
    this fraction of the last swing of that swing's middle (within ``max_half``) before it counts:
    a head shake swings about the direction one faces, while looking round from one person to
    another goes on or stays somewhere else; ``max_still`` when set, the largest fraction of the motion's time
    (first to last turning point) the signal may spend nearly still (under a fifth of its peak
    speed): a shake keeps moving and turns at once, glancing from one person to another and back
    dwells on each.
    """

    swing: float
    swings: int = 3
    min_half: float = 0.07
    max_half: float = 0.6
    low_max: float | None = None
    cross_ratio: float | None = None
    centre_ratio: float | None = None
    max_still: float | None = None
    grace: float = 0.4
    _armed: tuple[float, float, float, float, float] | None = None  # (onset, conf, centre, swing, armed at)
    _dir: int = 0
    _hi: tuple[float, float] | None = None
    _lo: tuple[float, float] | None = None
    _ext: list[tuple[float, float, int]] = field(default_factory=list)
    _hist: deque[tuple[float, float, float]] = field(default_factory=deque)  # (t, x, cross)
    _approach: bool = False  # _ext[0] is a stand-in for a slow approach, not a turning point
    _last_seen: float | None = None
    active: Span | None = None

    def reset(self) -> None:
        self._dir = 0
        self._hi = self._lo = None
        self._ext.clear()
        self._hist.clear()
        self._approach = False
        self._armed = None

    def step(self, t: float, x: float | None, cross: float = 0.0) -> tuple[Span | None, Span | None]:
        started: Span | None = None
        ended: Span | None = None
        if x is None:
            if self._last_seen is not None and t - self._last_seen > self.grace:
                if self.active is not None:
                    ended = self._end()
                self.reset()
            return started, ended
        self._last_seen = t
        self._hist.append((t, x, cross))
        horizon = (self._ext[0][0] if self._ext else t) - self.max_half * 2.0
        while self._hist and self._hist[0][0] < horizon:
            self._hist.popleft()
        turn: tuple[float, float, int] | None = None
        if self._hi is None or self._lo is None:
            self._hi = self._lo = (t, x)
        elif self.active is None:  # forget extremes too old to start a valid swing
            stale = t - 2.0 * self.max_half
            if self._hi[0] < stale:
                self._hi = (t, x)
            if self._lo[0] < stale:
                self._lo = (t, x)
        eps = 0.25 * self.swing  # noise: a turning point's time is when the signal last sat near it
        if x >= self._hi[1] - eps:
            self._hi = (t, max(x, self._hi[1]))
        if x <= self._lo[1] + eps:
            self._lo = (t, min(x, self._lo[1]))
        if self._dir >= 0 and self._hi[1] - x >= self.swing:
            turn = (self._hi[0], self._hi[1], +1)
            self._dir = -1
            self._lo = (t, x)
            self._hi = (t, x)
        elif self._dir <= 0 and x - self._lo[1] >= self.swing:
            turn = (self._lo[0], self._lo[1], -1)
            self._dir = +1
            self._hi = (t, x)
            self._lo = (t, x)
        if turn is not None:
            ended = self._turn(turn)
            self._armed = None
            if self.active is None and ended is None:
                started = self._maybe_start(t)
        if self._armed is not None and started is None:
            onset, conf, rest, rng, since = self._armed
            if abs(x - rest) <= self.centre_ratio * rng:  # type: ignore[operator]
                self.active = started = Span(onset, None, conf, t)
                self._armed = None
            elif t - since > self.max_half:
                self._armed = None
        if self.active is not None and self._ext and t - self._ext[-1][0] > self.max_half * 1.5:
            ended = self._end()
        elif self.active is None and self._ext and t - self._ext[-1][0] > self.max_half * 1.5:
            self._ext = self._ext[-1:]
            self._approach = False
        return started, ended

    def _turn(self, turn: tuple[float, float, int]) -> Span | None:
        ended: Span | None = None
        if self._ext:
            prev = self._ext[-1]
            half = turn[0] - prev[0]
            if not self.min_half <= half <= self.max_half:
                if self.active is not None:
                    ended = self._end()
                # a slow approach: the motion began at most about one half-swing before this turn
                t_start = max(prev[0], turn[0] - self.max_half)
                x_start = next((xh for th, xh, _ in self._hist if th >= t_start), prev[1])
                start = (t_start, x_start, prev[2])  # where the signal was then, not the old extreme
                self._ext = [start] if half > self.max_half else []
                self._approach = half > self.max_half
        if self.low_max is not None and turn[2] < 0 and turn[1] > self.low_max:
            if self.active is not None:
                ended = self._end()
            self._ext = []
            self._approach = False
        self._ext.append(turn)
        return ended

    def _maybe_start(self, t: float) -> Span | None:
        if len(self._ext) - 1 < self.swings:
            return None
        self._trim()
        if len(self._ext) - 1 < self.swings:
            return None
        halves = sorted(b[0] - a[0] for a, b in zip(self._ext[1:], self._ext[2:]))
        med_h = halves[(len(halves) - 1) // 2]
        # the oscillation's first extreme: skip a stand-in for an approach and leading slow swings
        k = 1 if self._approach else 0
        while k + 1 < len(self._ext) and self._ext[k + 1][0] - self._ext[k][0] > 1.6 * med_h:
            k += 1
        t0 = self._departure(self._ext[k], med_h)
        values = [e[1] for e in self._ext]
        rng = max(values) - min(values)
        if self.cross_ratio is not None:
            pts = [(tc, c) for (tc, _, c) in self._hist if tc >= self._ext[1][0]]
            if len(pts) >= 3:
                ts, cs = np.array(pts).T
                resid = cs - np.polyval(np.polyfit(ts - ts[0], cs, 1), ts - ts[0])  # slow turns are not shakes
                if float(resid.max() - resid.min()) > self.cross_ratio * rng:
                    return None
        if self.max_still is not None and self._still_fraction(self._ext[k][0], self._ext[-1][0]) > self.max_still:
            return None
        n = len(self._ext) - 1
        conf = min(1.0, 0.55 + 0.08 * n + 0.15 * min(1.0, rng / (3.0 * self.swing)))
        if self.centre_ratio is not None:
            # centred: the head comes back towards the middle of its last swing (where it faced),
            # not on to somewhere else (a glance that goes on, or stays)
            (_, a, _), (_, b, _) = self._ext[-2], self._ext[-1]
            self._armed = (t0, conf, 0.5 * (a + b), abs(a - b), self._ext[-1][0])
            return None
        self.active = Span(t0, None, conf, t)
        return self.active

    def _still_fraction(self, t0: float, t1: float, lag: float = 0.05) -> float:
        """Fraction of [t0, t1] during which the signal's speed (over ``lag`` s) is under a fifth of its peak."""
        pts = [(tc, xc) for tc, xc, _ in self._hist if t0 <= tc <= t1]
        speeds: list[tuple[float, float]] = []
        j = 0
        for i, (ti, xi) in enumerate(pts):
            j = max(j, i + 1)
            while j < len(pts) and pts[j][0] - ti < lag:
                j += 1
            if j >= len(pts):
                break
            speeds.append((pts[j][0] - ti, abs(pts[j][1] - xi) / (pts[j][0] - ti)))
        if not speeds:
            return 0.0
        peak = max(v for _, v in speeds)
        total = sum(dt for dt, _ in speeds)
        return sum(dt for dt, v in speeds if v < 0.2 * peak) / total if total > 0 else 0.0

    def _departure(self, first: tuple[float, float, int], med_h: float, rest: float = 0.15) -> float:
        """When the motion towards ``first`` (a turning point) began: walking back at most one
        half-swing, the signal moves away from ``first`` until it rests (grows less than the noise
        band for ``rest`` seconds once it has left ``first``) or turns back; the departure is the latest time it sat within
        the noise band of that furthest value. A turning point at rest is its own departure."""
        t_first, v_first = first[0], first[1]
        eps = 0.1 * self.swing  # a rest is quieter than a turning point's band
        lo = t_first - min(self.max_half, 1.6 * med_h)
        far, grown, t_grow = 0.0, 0.0, t_first
        seen: list[tuple[float, float]] = []
        for tc, xc, _ in reversed(self._hist):
            if tc > t_first:
                continue
            if tc < lo:
                break
            d = abs(xc - v_first)
            if d < far - eps:
                break  # it turned back
            if d > grown + eps:
                grown, t_grow = d, tc
            elif grown > 0.0 and t_grow - tc > rest:
                break  # it was at rest
            far = max(far, d)
            seen.append((tc, d))
        for tc, d in seen:
            if d >= far - eps:
                return tc
        return t_first

    def _trim(self) -> None:
        """Drop a leading swing much smaller or larger than the rest (a glance just before a shake)."""
        while len(self._ext) - 1 >= self.swings:
            e = self._ext
            amps = sorted(abs(b[1] - a[1]) for a, b in zip(e[1:], e[2:]))
            med_a = amps[len(amps) // 2]
            first_a = abs(e[1][1] - e[0][1])
            if first_a > 2.5 * med_a or first_a < 0.4 * med_a:
                self._ext.pop(0)
            else:
                break

    def _end(self) -> Span:
        assert self.active is not None
        last = self._ext[-1][0] if self._ext else self.active.onset
        halves = [b[0] - a[0] for a, b in zip(self._ext, self._ext[1:])]
        tail = min(0.3, sum(halves) / len(halves)) if halves else 0.2
        span = Span(self.active.onset, max(last + tail, self.active.onset), self.active.confidence,
                    self.active.emitted_at, self.active.extra)
        self.active = None
        self._ext = self._ext[-1:]
        return span

    def finish(self, t: float) -> Span | None:
        return self._end() if self.active is not None else None


@dataclass
class DipDetector:
    """A single down-and-back-up excursion of a 1-D signal (a nod: the head's pitch), or several
    in a row.

    A dip is: the signal falls by at least ``depth`` (from its value before the fall) within
    ``max_down`` seconds, does not linger at the bottom (within a quarter of the fall for more
    than ``max_bottom`` seconds; looking down at one's notes lingers) and comes back up by
    ``back`` of the fall within ``max_up`` seconds; the ``cross`` signal (the head's yaw) moves
    less than ``cross_ratio`` of the fall plus ``cross_slack`` meanwhile, and the fall is no deeper than
    ``max_depth``. The first dip starts the span (onset: when the fall began); dips following
    within ``gap`` seconds of the last return extend it; it ends ``gap`` seconds after the last.
    """

    depth: float
    max_depth: float = 40.0
    max_down: float = 0.6
    max_up: float = 0.6
    max_bottom: float = 0.45
    back: float = 0.6
    cross_ratio: float = 0.6
    cross_slack: float = 2.0
    gap: float = 1.25  # >= max_down + max_up: the next dip of a slow nod may take that long
    grace: float = 0.4
    _hist: deque[tuple[float, float, float]] = field(default_factory=deque)
    _used: float = -1e9  # time of the last bottom that made a dip (each bottom counts once)
    _last_back: float = -1e9
    _n: int = 0
    _last_seen: float | None = None
    active: Span | None = None

    def reset(self) -> None:
        self._hist.clear()

    def step(self, t: float, x: float | None, cross: float = 0.0) -> tuple[Span | None, Span | None]:
        started: Span | None = None
        ended: Span | None = None
        if x is None:
            if self._last_seen is not None and t - self._last_seen > self.grace:
                if self.active is not None:
                    ended = self._end()
                self._hist.clear()
            return started, ended
        self._last_seen = t
        h = self._hist
        h.append((t, x, cross))
        keep = self.max_down + self.max_up + 0.3
        while t - h[0][0] > keep:
            h.popleft()
        dip = self._dip(t, x)
        if dip is not None:
            onset, bottom = dip
            self._used = bottom
            self._last_back = t
            self._n += 1
            if self.active is None:
                conf = 0.75
                self.active = Span(onset, None, conf, t)
                started = self.active
            else:
                self.active = Span(self.active.onset, None, min(1.0, self.active.confidence + 0.1),
                                   self.active.emitted_at, self.active.extra)
        elif self.active is not None and t - self._last_back > self.gap:
            ended = self._end()
        return started, ended

    def _dip(self, t: float, x: float) -> tuple[float, float] | None:
        h = self._hist
        # the bottom: the lowest sample of the last max_up seconds not already used by a dip
        tb, xb, kb = -1.0, float("inf"), -1
        for k in range(len(h) - 1, -1, -1):
            tk, xk, _ = h[k]
            if t - tk > self.max_up or tk <= self._used:
                break
            if xk < xb:
                tb, xb, kb = tk, xk, k
        if kb < 0 or tb >= t:
            return None
        # the top before it: the highest sample within max_down seconds before the bottom
        ta, xa, ka = tb, xb, kb
        for k in range(kb - 1, -1, -1):
            tk, xk, _ = h[k]
            if tb - tk > self.max_down or tk <= self._used:
                break
            if xk > xa:
                ta, xa, ka = tk, xk, k
        fall = xa - xb
        if fall < self.depth or fall > self.max_depth or x - xb < self.back * fall:
            return None
        # the bottom is a turning point, not a place the head rests at
        low = xb + 0.25 * fall
        k0 = kb
        while k0 > 0 and h[k0 - 1][1] <= low:
            k0 -= 1
        k1 = kb
        while k1 + 1 < len(h) and h[k1 + 1][1] <= low:
            k1 += 1
        if h[k1][0] - h[k0][0] > self.max_bottom:
            return None
        cs = [c for _, _, c in list(h)[ka:]]
        if max(cs) - min(cs) > self.cross_ratio * fall + self.cross_slack:
            return None
        # onset: the last moment the signal sat near the top before falling
        onset = ta
        for k in range(kb, ka - 1, -1):
            if h[k][1] >= xa - 0.1 * fall:
                onset = h[k][0]
                break
        return onset, tb

    def _end(self) -> Span:
        assert self.active is not None
        span = Span(self.active.onset, self._last_back, self.active.confidence, self.active.emitted_at,
                    self.active.extra)
        self.active = None
        self._n = 0
        return span

    def finish(self, t: float) -> Span | None:
        return self._end() if self.active is not None else None
