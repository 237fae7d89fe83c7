"""Speech-like test signals for the echo-canceller tests (no recorded material needed)."""

from __future__ import annotations

import numpy as np

FS = 48000


def talk(seconds: float, seed: int, rms: float) -> np.ndarray:
    """Speech-like noise at ``rms`` over its syllables: 4 Hz syllables, low-pass tilted."""
    rng = np.random.default_rng(seed)
    n = int(seconds * FS)
    x = np.cumsum(rng.standard_normal(n)) * 0.02
    x -= np.convolve(x, np.ones(64) / 64, mode="same")
    env = np.clip(np.sin(2 * np.pi * 4.0 * np.arange(n) / FS + seed), 0.0, None)
    y = x * env
    return y * rms / np.sqrt(np.mean(y[env > 0] ** 2))


def long_room(seed: int, t60_s: float, gain_db: float, fs: int = 48000) -> np.ndarray:
    """A direct path (15 % of the energy), then exponentially decaying noise from 5 ms on,
    as long as its reverberation time."""
    rng = np.random.default_rng(seed)
    n = int(t60_s * fs)
    h = rng.standard_normal(n) * np.exp(-6.91 * np.arange(n) / (t60_s * fs))
    h[: int(0.005 * fs)] = 0.0
    h *= np.sqrt(0.85 / np.sum(h**2))
    h[0] = np.sqrt(0.15)
    return h * 10 ** (gain_db / 20)
