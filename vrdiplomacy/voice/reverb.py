"""A light shared room reverb: one feedback delay network for all voices of a listener.

Every voice sends the same level into the reverb whatever its distance, while its direct
sound falls with distance (:class:`~vrdiplomacy.voice.spatial.Spatializer`): the
direct-to-reverberant ratio then falls by 6 dB per doubling of distance, the cue that puts a
voice at a distance and outside the head rather than between the ears.

The network has eight delay lines (23 to 57 ms at 48 kHz, mutually prime lengths) fed back
through a Householder matrix (orthogonal: no colouration from the mixing) with a per-line
gain that gives a reverberation time of ``t60_s``; left and right ears take the lines with
different signs, so the two ears' reverberation is decorrelated. Every line is longer than
a block, so a whole block is computed at once from what was written at least one block
earlier: no per-sample loop.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from vrdiplomacy.errors import ConfigError

F32 = npt.NDArray[np.float32]
LENGTHS_48K = (1117, 1327, 1523, 1777, 1993, 2237, 2459, 2719)


class RoomReverb:
    """Block reverb: :meth:`process` takes the mono send block and returns (block, 2)."""

    def __init__(self, block: int, t60_s: float = 0.4, fs: int = 48000) -> None:
        if block <= 0 or t60_s <= 0:
            raise ConfigError("reverb block and reverberation time must be positive")
        scale = max(fs / 48000.0, (block + 1) / LENGTHS_48K[0])
        self.lengths = np.array([int(round(n * scale)) | 1 for n in LENGTHS_48K], dtype=np.int64)
        n = self.lengths.size
        self.block = block
        self._g = (10.0 ** (-3.0 * self.lengths / (fs * t60_s))).astype(np.float32)
        self._a = (np.eye(n) - 2.0 / n * np.ones((n, n))).astype(np.float32) * self._g[:, None]
        self._b = np.full(n, 1.0 / math.sqrt(n), dtype=np.float32)
        sign = np.array([1, -1, 1, -1, 1, -1, 1, -1], dtype=np.float32)
        self._c = np.stack([np.ones(n, np.float32), sign]) / math.sqrt(n)  # (2, n)
        self._size = int(self.lengths.max()) + block
        self._buf = np.zeros((n, self._size), dtype=np.float32)
        self._w = 0
        base = np.arange(block)
        self._read = (base[None, :] - self.lengths[:, None])  # offsets from the write position
        self._rows = np.arange(n)[:, None]
        self._base = base

    def process(self, send: npt.ArrayLike) -> F32:
        x = np.asarray(send, dtype=np.float32).reshape(-1)
        if x.size != self.block:
            raise ConfigError(f"reverb block must be {self.block} samples, not {x.size}")
        y = self._buf[self._rows, (self._w + self._read) % self._size]  # (n, block), written >= 1 block ago
        u = self._a @ y + self._b[:, None] * x[None, :]
        self._buf[:, (self._w + self._base) % self._size] = u
        self._w = (self._w + self.block) % self._size
        return np.ascontiguousarray((self._c @ y).T)
