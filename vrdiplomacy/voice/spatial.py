"""Binaural spatializer: many mono voices, one listener, stereo out.

Every block, each source's position is taken relative to the listener's head pose and
turned into a pair of ear filters: the measured HRIRs of the three directions around it
(barycentric interpolation on the sphere of measured directions), each ear delayed by its
interpolated delay (a linear-phase factor, so the ITD varies smoothly and with sub-sample
precision), times a gain for distance (inverse distance beyond ``min_distance``) and
zones (a listener and a speaker hear each other only if neither is in an isolated zone,
or both are in the same one).

Rendering is FFT block convolution (overlap-add), vectorised across sources: the HRIR
spectra of every measured direction are computed once, at construction; each block has
one batched real FFT of all source blocks, a multiply-and-sum over sources in the
frequency domain, and one inverse FFT of both ears. Each block is rendered with the
previous block's filters and with the new ones and the two are crossfaded with a
raised-cosine ramp, which is the same as a filter that changes smoothly through the
block: head turns and moving voices make no clicks. Because convolution is linear, the
crossfade is applied after summing the sources, so its cost does not grow with their
number; and it is skipped (with the filter update) while nothing moves. The filters of
the previous and the current block live side by side in one preallocated buffer, so both
renderings come from one multiply, one sum and one inverse FFT.

A light room reverb shared by all voices (:class:`~vrdiplomacy.voice.reverb.RoomReverb`)
gets every audible voice at the same send level, so its direct-to-reverberant ratio falls
with distance and voices sit at a distance outside the head.
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
from vrdiplomacy.scene.math3d import Pose
from vrdiplomacy.voice.hrtf import HrtfSet, default_hrtf
from vrdiplomacy.voice.reverb import RoomReverb

F32 = npt.NDArray[np.float32]
PHASE_STEPS = 16  # delay resolution of the ear filters: 1/16 sample (1.3 us at 48 kHz)


@dataclass
class SpatialSettings:
    """Spatializer settings.

    Fields: ``block`` samples per render call (960 = 20 ms at 48 kHz); ``min_distance``
    metres within which a voice is not made louder (inverse-distance law beyond);
    ``max_distance`` beyond this a voice is silent; ``crossfade`` interpolate the filters
    across each block (off only to compare: head turns then click); ``gain`` overall;
    ``reverb`` send level of every audible voice into the shared room reverb (0: none; the
    default 0.2 puts the reverberant level 12 dB under the direct sound at ``min_distance``,
    so they are equal at about 4 m); ``reverb_t60_s`` its reverberation time.
    """

    block: int = 960
    min_distance: float = 1.0
    max_distance: float = 60.0
    crossfade: bool = True
    gain: float = 1.0
    reverb: float = 0.2
    reverb_t60_s: float = 0.4


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


def _head_rotation(q: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """Rotation matrix of a listener orientation quaternion (x, y, z, w), normalised."""
    x, y, z, w = (float(v) for v in np.asarray(q, dtype=np.float64).reshape(4))
    n = math.sqrt(x * x + y * y + z * z + w * w)
    if n == 0.0:
        return np.eye(3, dtype=np.float32)
    x, y, z, w = x / n, y / n, z / n, w / n
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ],
        dtype=np.float32,
    )


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
        spec = sfft.rfft(h.hrir, self.nfft, axis=-1).astype(np.complex64)  # (M, 2, F)
        self._spec = spec
        # The same spectra as rows of floats (re, im interleaved), for interpolating all
        # sources' filters in one batched matrix product.
        self._spec_rows = np.ascontiguousarray(spec).view(np.float32).reshape(spec.shape[0], -1)
        omega = 2.0 * np.pi * np.arange(self.bins) / self.nfft
        steps = np.arange((max_delay + 1) * PHASE_STEPS) / PHASE_STEPS
        self._phase = np.exp(-1j * steps[:, None] * omega[None, :]).astype(np.complex64)
        self._tail = np.zeros((2, self.nfft), dtype=np.float32)
        ramp = np.arange(s.block, dtype=np.float32) / s.block
        self._fade = (np.sin(0.5 * np.pi * ramp) ** 2).astype(np.float32)
        self._keys: list[Hashable] = []
        self._pos = np.zeros((0, 3), dtype=np.float32)
        self._pose = np.zeros(7, dtype=np.float32)
        # Filters of two consecutive blocks: slot self._cur holds the latest (S, 2, F).
        self._hbuf = np.zeros((2, 0, 2, self.bins), dtype=np.complex64)
        self._cur = 0
        self._have = False
        self._xpad = np.zeros((0, self.nfft), dtype=np.float32)
        self._prod = np.zeros((2, 0, 2, self.bins), dtype=np.complex64)
        self._reverb = RoomReverb(s.block, s.reverb_t60_s, self.fs) if s.reverb > 0 else None
        self._send = np.zeros(0, dtype=np.float32)  # reverb send gain per source

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
        return self._gains(lp, p, np.linalg.norm(p - lp, axis=1))

    def _gains(self, lp: npt.NDArray[np.float64], p: npt.ArrayLike, dist: npt.ArrayLike) -> F32:
        s = self.s
        d = np.asarray(dist, dtype=np.float64)
        g = s.gain * s.min_distance / np.maximum(d, s.min_distance)
        g[d > s.max_distance] = 0.0
        if self.layout is not None and self.layout.zones:
            pts = np.asarray(p, dtype=np.float64)
            for i in range(pts.shape[0]):
                if not audible(self.layout, lp, pts[i]):
                    g[i] = 0.0
        return g.astype(np.float32)

    def filters(self, listener: Pose, positions: npt.ArrayLike, gains: npt.ArrayLike) -> npt.NDArray[np.complex64]:
        """Ear filter spectra (S, 2, F) for sources at ``positions`` (S, 3), world frame."""
        pos = np.asarray(positions, dtype=np.float32).reshape(-1, 3)
        out = np.empty((pos.shape[0], 2, self.bins), dtype=np.complex64)
        rel = (pos - np.asarray(listener.position, dtype=np.float32)) @ _head_rotation(listener.orientation)
        self._filters_into(out, rel, np.asarray(gains, dtype=np.float32).reshape(-1))
        return out

    def _filters_into(self, out: npt.NDArray[np.complex64], rel: F32, gains: F32) -> None:
        """Ear filter spectra into ``out`` (S, 2, F) for head-relative positions ``rel``."""
        n = rel.shape[0]
        dist = np.sqrt(np.einsum("sc,sc->s", rel, rel))[:, None]
        dirs = np.where(dist > 1e-6, rel / np.maximum(dist, 1e-6), np.array([0.0, 0.0, -1.0], dtype=np.float32))
        idx, w = self.hrtf.weights(dirs)
        # Weighted sum of the three neighbours' spectra (as float rows), times the gain.
        np.matmul((w * gains[:, None])[:, None, :], self._spec_rows[idx], out=out.view(np.float32).reshape(n, 1, -1))
        # Each ear's interpolated delay as a linear phase exp(-j w d), from a table in steps
        # of 1/PHASE_STEPS sample.
        delay = np.einsum("sk,ske->se", w, self.hrtf.delay[idx])
        # (Interpolated delays lie between measured ones: 0 <= q, and the table has room.)
        q = np.minimum(np.rint(delay * PHASE_STEPS).astype(np.int64), self._phase.shape[0] - 1)
        out *= self._phase[q]

    # ---------------------------------------------------------------- rendering

    def _reserve(self, n: int) -> None:
        """Buffers for ``n`` sources (grown, never shrunk; the latest filters are kept)."""
        if self._hbuf.shape[1] >= n:
            return
        hb = np.zeros((2, n, 2, self.bins), dtype=np.complex64)
        k = len(self._keys)
        hb[:, :k] = self._hbuf[:, :k]
        self._hbuf = hb
        self._prod = np.zeros((2, n, 2, self.bins), dtype=np.complex64)
        self._xpad = np.zeros((n, self.nfft), dtype=np.float32)

    def render(self, listener: Pose, sources: Mapping[Hashable, tuple[npt.ArrayLike, npt.ArrayLike]]) -> F32:
        """One stereo block (block, 2) from ``{key: (position, mono block)}``."""
        b = self.s.block
        keys = list(sources)
        n = len(keys)
        if not n:
            self._keys, self._have = [], False
            out = self._tail[:, :b].T.copy()
            self._shift(None)
            if self._reverb is not None:
                out += self._reverb.process(np.zeros(b, dtype=np.float32))
            return out
        self._reserve(n)
        xpad = self._xpad[:n]
        try:
            pos = np.array([sources[k][0] for k in keys], dtype=np.float32).reshape(n, 3)
            for i, k in enumerate(keys):
                blk = np.asarray(sources[k][1], dtype=np.float32)
                if blk.size != b:
                    raise ValueError(blk.shape)
                xpad[i, :b] = blk.reshape(b)
        except ValueError:
            raise ConfigError(f"spatializer sources need a 3-vector position and a {b}-sample block") from None
        lp = np.asarray(listener.position, np.float32).reshape(3)
        pose = np.concatenate([lp, np.asarray(listener.orientation, np.float32).reshape(4)])
        same_keys = self._have and keys == self._keys
        moved = not (same_keys and np.array_equal(pos, self._pos) and np.array_equal(pose, self._pose))
        if moved:
            old, new = self._cur, 1 - self._cur
            hb = self._hbuf
            if self._have and not same_keys:
                # Sources came or went: line the previous filters up with the new keys;
                # a new source starts with its new filter (no fade in from elsewhere).
                where = {k: i for i, k in enumerate(self._keys)}
                prev = hb[old, : len(self._keys)].copy()
                fresh = [i for i, k in enumerate(keys) if k not in where]
                for i, k in enumerate(keys):
                    if k in where:
                        hb[old, i] = prev[where[k]]
            else:
                fresh = [] if self._have else list(range(n))
            rel = (pos - lp) @ _head_rotation(listener.orientation)  # = R^T (p - l)
            g = self._gains(lp.astype(np.float64), pos, np.sqrt(np.einsum("sc,sc->s", rel, rel)))
            self._filters_into(hb[new, :n], rel, g)
            self._send = np.where(g > 0, self.s.gain * self.s.reverb, 0.0).astype(np.float32)
            for i in fresh:
                hb[old, i] = hb[new, i]
            self._cur = new
        self._keys, self._pos, self._pose, self._have = keys, pos, pose, True
        xs = sfft.rfft(xpad, axis=-1, workers=1)  # (S, F)
        fade = moved and self.s.crossfade
        if fade:
            # Both blocks' filters at once: (2, S, 2, F) products, summed over sources.
            prod = self._prod[:, :n]
            np.multiply(xs[None, :, None, :], self._hbuf[:, :n], out=prod)
            y = sfft.irfft(prod.sum(axis=1).reshape(4, -1), self.nfft, axis=-1, workers=1)
            y_new, y_old = (y[:2], y[2:]) if self._cur == 0 else (y[2:], y[:2])
            head = y_old[:, :b] + self._fade * (y_new[:, :b] - y_old[:, :b])
        else:
            prod = self._prod[0, :n]
            np.multiply(xs[:, None, :], self._hbuf[self._cur, :n], out=prod)
            y_new = sfft.irfft(prod.sum(axis=0), self.nfft, axis=-1, workers=1)
            head = y_new[:, :b]
        out = np.empty((b, 2), dtype=np.float32)
        np.add(head, self._tail[:, :b], out=out.T)
        self._shift(y_new[:, b:])
        if self._reverb is not None:
            out += self._reverb.process(self._send[:n] @ xpad[:, :b])
        return out

    def _shift(self, overflow: F32 | None) -> None:
        b = self.s.block
        self._tail[:, : self.nfft - b] = self._tail[:, b:]
        self._tail[:, self.nfft - b :] = 0.0
        if overflow is not None:
            self._tail[:, : self.nfft - b] += overflow
