"""Pitch-period time-stretching (WSOLA): lengths, smooth joins, pitch kept, and what it refuses."""

from __future__ import annotations

import numpy as np

from vrdiplomacy.voice.stretch import MAX_LAG, MIN_LAG, accelerate, best_lag, expand

FS, F = 48000, 960


def _voiced(f0: float = 140.0, n: int = F, phase: float = 0.0) -> np.ndarray:
    t = np.arange(n) / FS
    x = sum(0.3 / k * np.sin(2 * np.pi * k * f0 * t + phase * k) for k in range(1, 6))
    return np.asarray(x, dtype=np.float32)


def test_best_lag_finds_the_pitch_period() -> None:
    lag, c = best_lag(_voiced(140.0))
    assert abs(lag - FS / 140.0) <= 2 and c > 0.99
    lag, c = best_lag(_voiced(240.0))
    assert lag % round(FS / 240.0) <= 2 or abs(lag - FS / 240.0) <= 2


def test_voiced_frame_loses_or_gains_one_period_and_keeps_its_pitch() -> None:
    x = _voiced(140.0)
    period = FS / 140.0
    short, long = accelerate(x), expand(x)
    assert abs((x.size - short.size) - period) <= 2 and abs((long.size - x.size) - period) <= 2
    assert MIN_LAG <= x.size - short.size <= MAX_LAG
    for y in (short, long):
        assert abs(best_lag(np.concatenate([y, x]))[0] - period) <= 4  # the pitch is kept
        assert abs(y[0] - x[0]) < 1e-3 and y[-1] == x[-1]  # joins the neighbouring frames as before
        # no click: the largest sample step stays that of the tone itself
        assert np.max(np.abs(np.diff(y))) < 1.2 * np.max(np.abs(np.diff(x)))


def test_stretched_sequence_stays_continuous_across_frames() -> None:
    x = _voiced(180.0, 10 * F)
    frames = [x[i:i + F] for i in range(0, x.size, F)]
    out = np.concatenate([accelerate(f) if i % 2 else expand(f) for i, f in enumerate(frames)])
    assert np.max(np.abs(np.diff(out))) < 1.2 * np.max(np.abs(np.diff(x)))


def test_loud_noise_is_not_stretched_but_quiet_frames_are() -> None:
    rng = np.random.default_rng(1)
    noise = (0.3 * rng.standard_normal(F)).astype(np.float32)
    assert accelerate(noise) is noise  # no period matches: left for a later frame
    quiet = (1e-4 * rng.standard_normal(F)).astype(np.float32)
    assert accelerate(quiet).size == F - MAX_LAG and expand(quiet).size == F + MAX_LAG
