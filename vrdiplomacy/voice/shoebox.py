"""Image-source impulse responses of a shoebox room (Allen & Berkley, 1979), for the echo
measurements of :mod:`vrdiplomacy.voice.echosim`.

A second room model beside echosim's statistical one (a direct path, then exponentially
decaying noise): here every reflection is a mirror image of the loudspeaker, delayed by its
distance to the microphone, scaled by ``1 / distance`` and by the walls' reflection
coefficient once per wall it bounced off. Early reflections are sparse and discrete, the
direct path's share follows from the geometry (a laptop's loudspeaker a few centimetres from
its microphone dominates; a desktop's a metre away does not), and the decay is not the
smooth noise a canceller tuned on the other model may have come to expect. The wall
coefficient comes from Sabine's formula for the room's reverberation time; each image lands
on the nearest sample but one (linear interpolation between two taps).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from vrdiplomacy.errors import ConfigError

F64 = npt.NDArray[np.float64]
SPEED_OF_SOUND = 343.0


def shoebox_rir(dims: tuple[float, float, float], source: tuple[float, float, float],
                mic: tuple[float, float, float], t60_s: float, length_s: float, fs: int = 48000) -> F64:
    """Unit-energy impulse response from ``source`` to ``mic`` (metres, inside the room of
    ``dims``) with reverberation time ``t60_s``, ``length_s`` long, starting at the direct path
    (the delay before it is the caller's)."""
    L = np.asarray(dims, dtype=np.float64)
    s = np.asarray(source, dtype=np.float64)
    r = np.asarray(mic, dtype=np.float64)
    if L.shape != (3,) or np.any(L <= 0) or np.any(s <= 0) or np.any(s >= L) or np.any(r <= 0) or np.any(r >= L):
        raise ConfigError("shoebox room: positive dimensions, loudspeaker and microphone inside the room")
    volume = float(np.prod(L))
    surface = 2.0 * float(L[0] * L[1] + L[0] * L[2] + L[1] * L[2])
    absorption = min(0.99, 0.161 * volume / (surface * t60_s))
    beta = math.sqrt(1.0 - absorption)
    n = int(length_s * fs)
    reach = SPEED_OF_SOUND * length_s
    order = int(math.ceil(reach / float(np.min(L)))) + 1
    m = np.arange(-order, order + 1)
    # per axis: image coordinates relative to the microphone and reflection counts, for
    # both parities (q = 0: 2mL + s, q = 1: 2mL - s)
    rel = []
    bounces = []
    for a in range(3):
        coords = np.concatenate([2.0 * m * L[a] + s[a], 2.0 * m * L[a] - s[a]]) - r[a]
        refl = np.concatenate([np.abs(2 * m), np.abs(2 * m - 1)]).astype(np.float64)
        rel.append(coords)
        bounces.append(refl)
    h = np.zeros(n + 2)
    direct = float(np.linalg.norm(s - r))
    yz2 = rel[1][:, None] ** 2 + rel[2][None, :] ** 2
    kyz = bounces[1][:, None] + bounces[2][None, :]
    for xi in range(rel[0].size):
        dist = np.sqrt(rel[0][xi] ** 2 + yz2)
        t = (dist - direct) / SPEED_OF_SOUND * fs
        ok = t < n
        if not ok.any():
            continue
        t = t[ok]
        amp = beta ** (bounces[0][xi] + kyz[ok]) / dist[ok]
        i0 = np.floor(t).astype(np.int64)
        frac = t - i0
        np.add.at(h, i0, amp * (1.0 - frac))
        np.add.at(h, i0 + 1, amp * frac)
    h = h[:n]
    return h / math.sqrt(float(np.sum(h**2)))
