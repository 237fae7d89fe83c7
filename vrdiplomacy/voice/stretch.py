"""Time-stretching of decoded speech by whole pitch periods (WSOLA, as WebRTC NetEQ does).

A jitter buffer changes its delay by playing audio slightly faster or slower. Skipping or
repeating a 20 ms frame is audible and throws away speech; removing or repeating *one
pitch period* with an overlap-add crossfade is not: the waveform a pitch period later
looks the same, so the join is smooth.

:func:`accelerate` finds the lag ``T`` (2.5 to 10 ms at 48 kHz, 100 to 400 Hz) at which
the frame best matches itself (normalized cross-correlation, searched at 12 kHz and then
refined at the full rate) and, when the match is good (voiced speech) or the frame is
quiet, replaces two periods by one crossfaded period: ``T`` samples shorter.
:func:`expand` inserts a crossfaded period instead: ``T`` samples longer. A quiet frame
(below -50 dBFS) has no pitch to keep: it loses or gains any number of samples the caller
asks for (the jitter buffer asks for what puts the next frame on its playback callback's
grid), 10 ms when it asks for none. Both return the
frame unchanged when no lag matches well enough (an unvoiced, loud frame), so the caller
simply tries again on a later frame. The frame's first and last samples are kept, so the
result joins the previous and the next frame without a click.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
FS = 48000
MIN_LAG = FS // 400  # 2.5 ms
MAX_LAG = FS // 100  # 10 ms
DECIM = 4
QUIET_RMS = 10 ** (-50 / 20)  # -50 dBFS: no pitch needed, remove or add the longest lag
ACCEL_CORR = 0.85
EXPAND_CORR = 0.6


def best_lag(x: F32, min_lag: int = MIN_LAG, max_lag: int = MAX_LAG) -> tuple[int, float]:
    """(lag, normalized correlation) of the best self-match of ``x`` in min_lag..max_lag,
    comparing ``x[:W]`` with ``x[T:T+W]`` where ``W = len(x) - max_lag``."""
    n = x.size
    max_lag = min(max_lag, n // 2)
    if max_lag <= min_lag:
        return 0, 0.0
    w = n - max_lag
    d = x[: n - n % DECIM].reshape(-1, DECIM).mean(axis=1).astype(np.float64)
    wd, lo, hi = w // DECIM, max(1, min_lag // DECIM), max_lag // DECIM
    hi = min(hi, d.size - wd)
    if hi < lo:
        return 0, 0.0
    t0, _ = _search(d, wd, lo, hi)
    t0 *= DECIM
    return _search(x.astype(np.float64), w, max(min_lag, t0 - DECIM), min(max_lag, t0 + DECIM))


def _search(x: npt.NDArray[np.float64], w: int, lo: int, hi: int) -> tuple[int, float]:
    """(lag in lo..hi, normalized correlation) maximizing the match of x[:w] and x[t:t+w]."""
    hi = min(hi, x.size - w)
    segs = np.lib.stride_tricks.sliding_window_view(x, w)[lo : hi + 1]
    ref = x[:w]
    cross = segs @ ref
    c2 = np.concatenate([[0.0], np.cumsum(x * x)])
    energy = c2[lo + w : hi + w + 1] - c2[lo : hi + 1]
    corr = cross / np.sqrt((float(ref @ ref) + 1e-12) * (energy + 1e-12))
    i = int(np.argmax(corr))
    return lo + i, float(corr[i])


def _fades(t: int) -> tuple[F32, F32]:
    up = (np.arange(t, dtype=np.float32) + 0.5) / t
    return 1.0 - up, up


def _rms(x: F32) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) if x.size else 0.0


def _period(x: F32, min_corr: float, amount: int = 0) -> int:
    """The period to remove or insert: in a quiet frame ``amount`` samples, or the longest that
    fits when that is 0; else the best-matching pitch lag (up to ``amount`` when that is
    given) if it correlates at least ``min_corr``; 0 when none will do."""
    n = x.size
    if n < 4 * MIN_LAG:
        return 0
    if _rms(x) < QUIET_RMS:
        return min(amount or MAX_LAG, n // 2)
    if amount and amount < MIN_LAG:
        return 0
    t, c = best_lag(x, MIN_LAG, min(MAX_LAG, amount or MAX_LAG))
    return t if t and c >= min_corr else 0


def accelerate(x: F32, amount: int = 0) -> F32:
    """``x`` one pitch period shorter (a quiet frame: ``amount`` samples shorter, or 10 ms when
    that is 0; a pitch period is then at most ``amount``), or ``x`` itself when no period
    matches well."""
    t = _period(x, ACCEL_CORR, amount)
    if not t:
        return x
    down, up = _fades(t)
    mid = x[:t] * down + x[t : 2 * t] * up
    return np.concatenate([mid, x[2 * t :]]).astype(np.float32)


def expand(x: F32, amount: int = 0) -> F32:
    """``x`` one pitch period longer (``amount`` as for :func:`accelerate`), or ``x`` itself
    when no period matches well."""
    t = _period(x, EXPAND_CORR, amount)
    if not t:
        return x
    down, up = _fades(t)
    mid = x[t : 2 * t] * down + x[:t] * up
    return np.concatenate([x[:t], mid, x[t:]]).astype(np.float32)
