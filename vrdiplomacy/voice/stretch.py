"""Time-stretching of decoded speech by whole pitch periods (WSOLA, as WebRTC NetEQ does).

A jitter buffer changes its delay by playing audio slightly faster or slower. Skipping or
repeating a 20 ms frame is audible and throws away speech; removing or repeating *one
pitch period* with an overlap-add crossfade is not: the waveform a pitch period later
looks the same, so the join is smooth.

:func:`accelerate` finds the lag ``T`` (2.5 to 10 ms at 48 kHz, 100 to 400 Hz) at which
the frame best matches itself (normalized cross-correlation, searched at 12 kHz and then
refined at the full rate) and, when the match is good (voiced speech) or the frame is
quiet, replaces two periods by one crossfaded period: ``T`` samples shorter.
:func:`expand` inserts a crossfaded period instead: ``T`` samples longer. Both return the
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
    ref = d[:wd]
    best_t, best_c = 0, -1.0
    e0 = float(ref @ ref) + 1e-12
    for t in range(lo, hi + 1):
        seg = d[t : t + wd]
        if seg.size < wd:
            break
        c = float(ref @ seg) / np.sqrt(e0 * (float(seg @ seg) + 1e-12))
        if c > best_c:
            best_t, best_c = t, c
    xf = x.astype(np.float64)
    ref = xf[:w]
    e0 = float(ref @ ref) + 1e-12
    t0 = best_t * DECIM
    best_t, best_c = 0, -1.0
    for t in range(max(min_lag, t0 - DECIM), min(max_lag, t0 + DECIM) + 1):
        seg = xf[t : t + w]
        c = float(ref @ seg) / np.sqrt(e0 * (float(seg @ seg) + 1e-12))
        if c > best_c:
            best_t, best_c = t, c
    return best_t, best_c


def _fades(t: int) -> tuple[F32, F32]:
    up = (np.arange(t, dtype=np.float32) + 0.5) / t
    return 1.0 - up, up


def _rms(x: F32) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) if x.size else 0.0


def accelerate(x: F32) -> F32:
    """``x`` one pitch period shorter, or ``x`` itself when no period matches well."""
    n = x.size
    if n < 4 * MIN_LAG:
        return x
    if _rms(x) < QUIET_RMS:
        t = min(MAX_LAG, n // 2)
    else:
        t, c = best_lag(x)
        if t == 0 or c < ACCEL_CORR:
            return x
    down, up = _fades(t)
    mid = x[:t] * down + x[t : 2 * t] * up
    return np.concatenate([mid, x[2 * t :]]).astype(np.float32)


def expand(x: F32) -> F32:
    """``x`` one pitch period longer, or ``x`` itself when no period matches well."""
    n = x.size
    if n < 4 * MIN_LAG:
        return x
    if _rms(x) < QUIET_RMS:
        t = min(MAX_LAG, n // 2)
    else:
        t, c = best_lag(x)
        if t == 0 or c < EXPAND_CORR:
            return x
    down, up = _fades(t)
    mid = x[t : 2 * t] * down + x[:t] * up
    return np.concatenate([x[:t], mid, x[t:]]).astype(np.float32)
