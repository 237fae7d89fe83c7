"""Final mix: sum stereo sources, apply the master gain, and a look-ahead peak limiter.

The limiter guarantees that no output sample exceeds ``ceiling_dbfs``: the gain needed by
each sample is spread backwards over a ``lookahead_ms`` window (sliding minimum), released
at ``release_db_per_s``, and smoothed with a moving average as long as the look-ahead, so
the gain is already down when the peak arrives and never changes abruptly. The output is
delayed by the look-ahead. Everything is vectorised per block; state carries across blocks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from vrdiplomacy.errors import ConfigError

F32 = npt.NDArray[np.float32]


@dataclass
class MixerSettings:
    """Mixer settings: ``fs``; ``master_gain`` linear; ``ceiling_dbfs`` the limiter's
    ceiling; ``lookahead_ms`` limiter look-ahead (also its delay); ``release_db_per_s`` how
    fast the gain recovers after a peak."""

    fs: int = 48000
    master_gain: float = 1.0
    ceiling_dbfs: float = -1.0
    lookahead_ms: float = 1.5
    release_db_per_s: float = 60.0


class Limiter:
    """Look-ahead peak limiter for (n, channels) blocks."""

    def __init__(self, settings: MixerSettings | None = None, channels: int = 2) -> None:
        self.s = s = settings or MixerSettings()
        self.L = max(1, int(round(s.lookahead_ms * s.fs / 1000.0)))
        self.ceiling = float(10.0 ** (s.ceiling_dbfs / 20.0))
        self.channels = channels
        self._x = np.zeros((self.L, channels), dtype=np.float32)  # delayed input
        self._req = np.zeros(self.L, dtype=np.float64)  # required gain (dB), last L samples
        self._rel = 0.0  # released gain (dB) at the last sample
        self._g = np.zeros(self.L, dtype=np.float64)  # released gain history for smoothing
        self._rate = s.release_db_per_s / s.fs
        self.gain_db = 0.0
        self._idle = True

    def process(self, block: npt.ArrayLike) -> F32:
        x = np.asarray(block, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.channels:
            raise ConfigError(f"limiter expects (n, {self.channels}) blocks, got {x.shape}")
        n = x.shape[0]
        if n == 0:
            return x.copy()
        peak = np.max(np.abs(x), axis=1).astype(np.float64)
        if self._idle and float(peak.max()) <= self.ceiling:
            # Nothing to limit and no gain reduction in progress: a pure delay line.
            out = np.concatenate([self._x, x])
            self._x = out[n:].copy()
            return out[:n].copy()
        req = np.minimum(0.0, 20.0 * np.log10(self.ceiling / np.maximum(peak, 1e-12)))
        allreq = np.concatenate([self._req, req])
        # h[k] = min(req[k-L .. k]): backwards-looking minimum over L+1 samples.
        h = sliding_window_view(allreq, self.L + 1).min(axis=1)
        # Release: g[k] = min(h[k], g[k-1] + rate) = rate*k + cummin(h[j] - rate*j).
        k = np.arange(1, n + 1, dtype=np.float64)
        g = self._rate * k + np.minimum.accumulate(np.minimum(h - self._rate * k, self._rel))
        g = np.minimum(g, 0.0)
        self._rel = float(g[-1])
        # Output sample m (input m - L) gets the mean of g over [m - L, m]: every term is at
        # most the requirement of input m - L, so the ceiling holds exactly.
        allg = np.concatenate([self._g, g])
        lin = 10.0 ** (allg / 20.0)
        c = np.concatenate([[0.0], np.cumsum(lin)])
        gain = (c[self.L + 1 :] - c[: n]) / (self.L + 1)
        delayed = np.concatenate([self._x, x])[:n]
        out = (delayed * gain[:, None]).astype(np.float32)
        self._x = np.concatenate([self._x, x])[n:]
        self._req = allreq[-self.L :]
        self._g = allg[-self.L :]
        self.gain_db = float(20.0 * np.log10(max(gain[-1], 1e-12)))
        self._idle = not self._req.any() and not self._g.any() and self._rel == 0.0
        return np.clip(out, -self.ceiling, self.ceiling)


class Mixer:
    """Sums stereo blocks, applies ``master_gain`` and the limiter."""

    def __init__(self, settings: MixerSettings | None = None) -> None:
        self.s = settings or MixerSettings()
        self.limiter = Limiter(self.s)

    def mix(self, blocks: Sequence[npt.ArrayLike], n: int) -> F32:
        acc = np.zeros((n, 2), dtype=np.float32)
        for b in blocks:
            arr = np.asarray(b, dtype=np.float32)
            if arr.shape != (n, 2):
                raise ConfigError(f"mixer expects ({n}, 2) blocks, got {arr.shape}")
            acc += arr
        if self.s.master_gain != 1.0:
            acc *= self.s.master_gain
        return self.limiter.process(acc)
