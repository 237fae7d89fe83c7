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


def test_quiet_frame_loses_or_gains_the_amount_asked_for() -> None:
    """A pause has no pitch to keep: the jitter buffer asks for what puts the next frame on
    its playback callback's grid, any number of samples up to 10 ms."""
    x = (1e-4 * np.sin(2 * np.pi * 200 * np.arange(F) / FS)).astype(np.float32)  # -80 dBFS
    for amount in (24, 83, 300, MAX_LAG):
        assert x.size - accelerate(x, amount).size == amount
        assert expand(x, amount).size - x.size == amount
    assert x.size - accelerate(x).size == MAX_LAG  # none asked for: 10 ms


def test_speech_frame_never_loses_more_than_asked() -> None:
    x = _voiced(140.0)  # period 343 samples
    assert accelerate(x, MIN_LAG - 1).size == x.size  # shorter than any pitch period: left alone
    assert accelerate(x, 200).size == x.size or x.size - accelerate(x, 200).size <= 200
    assert abs((x.size - accelerate(x, 400).size) - FS / 140.0) <= 2
