"""Binaural spatializer: many mono voices, one listener, stereo out.

Every block, each source's position is taken relative to the listener's head pose and
turned into a pair of ear filters: the measured HRIRs of the three directions around it
(barycentric interpolation on the sphere of measured directions), each ear delayed by its
interpolated delay (a linear-phase factor, so the ITD varies smoothly and with sub-sample
precision), times a gain for distance (inverse distance beyond ``min_distance``) and
zones (a listener and a speaker hear each other only if neither is in an isolated zone,
or both are in the same one).

Rendering is FFT block convolution, vectorised across sources: one batched real FFT of
all source blocks, a multiply-and-sum per ear in the frequency domain, then inverse FFTs
per ear only. Each block is rendered with the previous block's filters and with the new
ones and the two are crossfaded with a raised-cosine ramp, which is the same as a filter
that changes smoothly through the block: head turns and moving voices make no clicks.
Because convolution is linear, the crossfade is applied after summing the sources, so
its cost does not grow with their number.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import fft as sfft

from vrdiplomacy.errors import ConfigError
from vrdiplomacy.scene.layout import Layout
from vrdiplomacy.scene.math3d import Pose, quat_to_mat3
from vrdiplomacy.voice.hrtf import HrtfSet, default_hrtf

F32 = npt.NDArray[np.float32]
PHASE_STEPS = 16  # delay resolution of the ear filters: 1/16 sample (1.3 us at 48 kHz)


@dataclass
class SpatialSettings:
    """Spatializer settings.

    Fields: ``block`` samples per render call (960 = 20 ms at 48 kHz); ``min_distance``
    metres within which a voice is not made louder (inverse-distance law beyond);
    ``max_distance`` beyond this a voice is silent; ``crossfade`` interpolate the filters
    across each block (off only to compare: head turns then click); ``gain`` overall.
    """

    block: int = 960
    min_distance: float = 1.0
    max_distance: float = 60.0
    crossfade: bool = True
    gain: float = 1.0


def audible(layout: Layout | None, listener: npt.ArrayLike, source: npt.ArrayLike) -> bool:
    """Zone rule: isolated zones (lounges, the bilateral room) are not heard outside
    themselves and do not hear outside; ordinary zones do not block sound."""
    if layout is None or not layout.zones:
        return True
    zl = layout.zone_at(listener)
    zs = layout.zone_at(source)
    l_iso = zl is not None and zl.isolated
    s_iso = zs is not None and zs.isolated
    if not l_iso and not s_iso:
        return True
    return l_iso and s_iso and zl is zs


class Spatializer:
    """Renders a set of mono sources around a listener into a stereo block."""

    def __init__(self, hrtf: HrtfSet | None = None, settings: SpatialSettings | None = None,
                 layout: Layout | None = None) -> None:
        self.s = s = settings or SpatialSettings()
        self.hrtf = h = hrtf or default_hrtf()
        if s.block <= 0 or s.min_distance <= 0:
            raise ConfigError("spatializer block and min_distance must be positive")
        self.layout = layout
        self.fs = h.fs
        max_delay = int(math.ceil(float(h.delay.max()))) + 2
        self.nfft = sfft.next_fast_len(s.block + h.length + max_delay, real=True)
        self.bins = self.nfft // 2 + 1
        self._spec = sfft.rfft(h.hrir, self.nfft, axis=-1).astype(np.complex64)  # (M, 2, F)
        omega = 2.0 * np.pi * np.arange(self.bins) / self.nfft
        steps = np.arange((max_delay + 1) * PHASE_STEPS) / PHASE_STEPS
        self._phase = np.exp(-1j * steps[:, None] * omega[None, :]).astype(np.complex64)
        self._tail = np.zeros((2, self.nfft), dtype=np.float32)
        ramp = np.arange(s.block, dtype=np.float32) / s.block
        self._fade = (np.sin(0.5 * np.pi * ramp) ** 2).astype(np.float32)
        self._keys: list[Hashable] = []
        self._h: npt.NDArray[np.complex64] | None = None
        self._pos = np.zeros((0, 3), dtype=np.float32)
        self._pose = np.zeros(7, dtype=np.float32)

    # ---------------------------------------------------------------- geometry

    def gain(self, listener: Pose, position: npt.ArrayLike) -> float:
        """Distance and zone gain of a source at ``position`` for this listener."""
        p = np.asarray(position, dtype=np.float64)
        lp = np.asarray(listener.position, dtype=np.float64)
        if not audible(self.layout, lp, p):
            return 0.0
        d = float(np.linalg.norm(p - lp))
        if d > self.s.max_distance:
            return 0.0
        return self.s.gain * self.s.min_distance / max(d, self.s.min_distance)

    def gains(self, listener: Pose, positions: npt.ArrayLike) -> F32:
        """:meth:`gain` for many positions (S, 3) at once."""
        p = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
        lp = np.asarray(listener.position, dtype=np.float64)
        d = np.linalg.norm(p - lp, axis=1)
        g = self.s.gain * self.s.min_distance / np.maximum(d, self.s.min_distance)
        g[d > self.s.max_distance] = 0.0
        if self.layout is not None and self.layout.zones:
            for i in range(p.shape[0]):
                if not audible(self.layout, lp, p[i]):
                    g[i] = 0.0
        return g.astype(np.float32)

    def filters(self, listener: Pose, positions: npt.ArrayLike, gains: npt.ArrayLike) -> npt.NDArray[np.complex64]:
        """Ear filter spectra (S, 2, F) for sources at ``positions`` (S, 3), world frame."""
        pos = np.asarray(positions, dtype=np.float32).reshape(-1, 3)
        rot = quat_to_mat3(listener.orientation)
        rel = (pos - np.asarray(listener.position, dtype=np.float32)) @ rot  # = R^T (p - l)
        dist = np.linalg.norm(rel, axis=1, keepdims=True)
        dirs = np.where(dist > 1e-6, rel / np.maximum(dist, 1e-6), np.array([0.0, 0.0, -1.0], dtype=np.float32))
        idx, w = self.hrtf.weights(dirs)
        n = pos.shape[0]
        wg = (w * np.asarray(gains, dtype=np.float32).reshape(-1, 1)).astype(np.complex64)
        spec = np.matmul(wg[:, None, :], self._spec[idx].reshape(n, 3, -1)).reshape(n, 2, -1)
        delay = np.einsum("sk,ske->se", w, self.hrtf.delay[idx])
        # Linear phase exp(-j w d), from a table in steps of 1/PHASE_STEPS sample.
        q = np.clip(np.rint(delay * PHASE_STEPS).astype(np.int64), 0, self._phase.shape[0] - 1)
        spec *= self._phase[q]
        return spec

    # ---------------------------------------------------------------- rendering

    def render(self, listener: Pose, sources: Mapping[Hashable, tuple[npt.ArrayLike, npt.ArrayLike]]) -> F32:
        """One stereo block (block, 2) from ``{key: (position, mono block)}``."""
        b = self.s.block
        keys = list(sources)
        if not keys:
            self._keys, self._h = [], None
            out = self._tail[:, :b].T.copy()
            self._shift(None)
            return out
        try:
            pos = np.array([sources[k][0] for k in keys], dtype=np.float32).reshape(len(keys), 3)
            x = np.array([sources[k][1] for k in keys], dtype=np.float32).reshape(len(keys), b)
        except ValueError:
            raise ConfigError(f"spatializer sources need a 3-vector position and a {b}-sample block") from None
        pose = np.concatenate([np.asarray(listener.position, np.float32), np.asarray(listener.orientation, np.float32)])
        same_keys = keys == self._keys
        if same_keys and self._h is not None and np.array_equal(pos, self._pos) and np.array_equal(pose, self._pose):
            h_new = h_old = self._h
        else:
            h_new = self.filters(listener, pos, self.gains(listener, pos))
            if same_keys and self._h is not None:
                h_old = self._h
            else:
                old = {k: self._h[i] for i, k in enumerate(self._keys)} if self._h is not None else {}
                h_old = np.stack([old.get(k, h_new[i]) for i, k in enumerate(keys)])
        self._keys, self._h, self._pos, self._pose = keys, h_new, pos, pose
        xs = sfft.rfft(x, self.nfft, axis=-1)[:, None, :]  # (S, 1, F)
        y_new = sfft.irfft(np.sum(xs * h_new, axis=0), self.nfft, axis=-1).astype(np.float32)  # (2, nfft)
        if self.s.crossfade and h_old is not h_new:
            y_old = sfft.irfft(np.sum(xs * h_old, axis=0), self.nfft, axis=-1)[:, :b].astype(np.float32)
            head = y_old + self._fade * (y_new[:, :b] - y_old)
        else:
            head = y_new[:, :b]
        out = (head + self._tail[:, :b]).T.copy()
        self._shift(y_new[:, b:])
        return out

    def _shift(self, overflow: F32 | None) -> None:
        b = self.s.block
        self._tail[:, : self.nfft - b] = self._tail[:, b:]
        self._tail[:, self.nfft - b :] = 0.0
        if overflow is not None:
            self._tail[:, : self.nfft - b] += overflow
