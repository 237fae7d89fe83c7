"""Head-related transfer functions: the MIT KEMAR set, SOFA files and a parametric model.

An :class:`HrtfSet` holds, for M measured directions, onset-aligned head-related impulse
responses for both ears plus each ear's delay in samples. Keeping the delays apart lets the
spatializer interpolate between neighbouring directions without comb filtering and
reproduce interaural time differences (ITD) with sub-sample precision.

Directions are unit vectors in head coordinates with OpenXR conventions: +X right, +Y up,
-Z ahead. (SOFA files count azimuth counter-clockwise from the front, 90 deg = left; the
conversion happens once, in :func:`sofa_to_head`.) Ear index 0 is the left ear.

Where the data comes from, most preferred first (:func:`default_hrtf`):

1. ``assets/hrtf/mit_kemar_48k.npz``: MIT KEMAR (normal pinna), processed by
   ``tools/hrtf_process.py`` from Debian libmysofa1's SOFA file, shipped with its citation.
2. A SOFA file read through libmysofa (ctypes, lazily loaded): :func:`read_sofa`.
3. :func:`parametric_hrtf`: Woodworth's spherical-head ITD and Brown & Duda's one-pole
   one-zero head-shadow filter, when no measured data is available.
"""

from __future__ import annotations

import ctypes
import logging
import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from vrdiplomacy.errors import AssetError
from vrdiplomacy.resources import data_root

log = logging.getLogger(__name__)

ASSETS_HRTF = data_root("assets") / "hrtf"
KEMAR_ASSET = ASSETS_HRTF / "mit_kemar_48k.npz"
SYSTEM_SOFA = Path("/usr/share/libmysofa/MIT_KEMAR_normal_pinna.sofa")
KEMAR_CITATION = (
    "MIT KEMAR HRTF measurements, normal pinna: W. G. Gardner and K. D. Martin, "
    "'HRTF measurements of a KEMAR dummy-head microphone', MIT Media Lab Perceptual "
    "Computing Technical Report #280, 1994. Data copyright 1994 MIT Media Laboratory, "
    "free to use provided the authors are cited."
)
SPEED_OF_SOUND = 343.0
AROUND = 8  # triangles kept per measured direction for the fast interpolation search
HEAD_RADIUS = 0.0875

F32 = npt.NDArray[np.float32]


@dataclass
class HrtfSet:
    """A set of measured (or modelled) HRIRs.

    Fields: ``fs`` sample rate; ``directions`` (M, 3) unit vectors in head coordinates;
    ``hrir`` (M, 2, L) onset-aligned impulse responses, ear 0 = left; ``delay`` (M, 2) each
    ear's delay in samples, added back when rendering; ``name``; ``citation`` (to show
    wherever the data is used).
    """

    fs: int
    directions: F32
    hrir: F32
    delay: F32
    name: str = ""
    citation: str = ""
    _tri_inv: F32 | None = field(default=None, repr=False)
    _tri_idx: npt.NDArray[np.int64] | None = field(default=None, repr=False)
    _rows: F32 | None = field(default=None, repr=False)
    _vert_tris: npt.NDArray[np.int64] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        m = self.directions.shape[0]
        if self.directions.shape != (m, 3) or self.hrir.ndim != 3 or self.hrir.shape[:2] != (m, 2):
            raise AssetError(f"HRTF set '{self.name}': inconsistent shapes {self.directions.shape} {self.hrir.shape}")
        if self.delay.shape != (m, 2):
            raise AssetError(f"HRTF set '{self.name}': delay shape {self.delay.shape} != ({m}, 2)")
        if m < 4 or not np.all(np.isfinite(self.hrir)) or not np.all(np.isfinite(self.delay)):
            raise AssetError(f"HRTF set '{self.name}': too few directions or non-finite data")
        n = np.linalg.norm(self.directions, axis=1, keepdims=True)
        self.directions = (self.directions / np.maximum(n, 1e-9)).astype(np.float32)

    @property
    def length(self) -> int:
        return int(self.hrir.shape[2])

    def _triangulate(self) -> None:
        from scipy.spatial import ConvexHull

        hull = ConvexHull(self.directions.astype(np.float64))
        idx = hull.simplices.astype(np.int64)  # (T, 3)
        verts = self.directions[idx].astype(np.float64)  # (T, 3 vertices, 3 coords)
        # Columns are the vertices: weights = inv(V) @ d gives d = V @ weights.
        mats = np.transpose(verts, (0, 2, 1))
        good = np.abs(np.linalg.det(mats)) > 1e-12
        self._tri_idx = idx[good]
        self._tri_inv = np.linalg.inv(mats[good]).astype(np.float32)
        self._rows = np.ascontiguousarray(self._tri_inv.transpose(1, 0, 2))  # (3, T, 3)
        # Up to AROUND triangles around each measured direction, padded by repeating the
        # first: the candidates tried first for a direction whose nearest neighbour it is.
        m = self.directions.shape[0]
        around: list[list[int]] = [[] for _ in range(m)]
        for t, tri in enumerate(self._tri_idx.tolist()):
            for v in tri:
                around[v].append(t)
        self._vert_tris = np.array([(a + [a[0]] * AROUND)[:AROUND] if a else [0] * AROUND for a in around],
                                   dtype=np.int64)

    def _search_all(self, d: F32) -> tuple[npt.NDArray[np.int64], F32]:
        """Containing triangle and raw barycentric weights of directions (S, 3), all triangles."""
        assert self._rows is not None
        lam = np.stack([self._rows[i] @ d.T for i in range(3)])  # (3, T, S) barycentric weights
        score = np.minimum(np.minimum(lam[0], lam[1]), lam[2])  # >= 0 inside the triangle's cone
        tri = np.argmax(score, axis=0)
        return tri, lam[:, tri, np.arange(d.shape[0])].T

    def weights(self, dirs: npt.ArrayLike) -> tuple[npt.NDArray[np.int64], F32]:
        """Interpolation: for each direction (S, 3), three measured neighbours and weights.

        Uses the spherical triangle (convex hull of the measured directions) containing
        the direction; the weights are barycentric, non-negative and sum to 1, and they
        vary continuously as the direction moves. The triangles around the nearest measured
        direction are tried first (they contain it almost always); a direction that none of
        them contains (in KEMAR: under the unmeasured cap below -40 degrees) is searched
        among all triangles, so the result is the same as a full search.
        """
        if self._tri_inv is None:
            self._triangulate()
        assert self._tri_inv is not None and self._tri_idx is not None and self._vert_tris is not None
        d = np.asarray(dirs, dtype=np.float32).reshape(-1, 3)
        rows = np.arange(d.shape[0])
        cand = self._vert_tris[np.argmax(d @ self.directions.T, axis=1)]  # (S, AROUND)
        lam = np.einsum("skij,sj->ski", self._tri_inv[cand], d)  # (S, AROUND, 3)
        score = lam.min(axis=2)
        best = np.argmax(score, axis=1)
        tri = cand[rows, best]
        w = lam[rows, best]
        miss = score[rows, best] < -1e-5
        if miss.any():
            tri[miss], w[miss] = self._search_all(d[miss])
        w = np.maximum(w, 0.0)
        w = w / np.maximum(w.sum(axis=1, keepdims=True), 1e-12)
        return self._tri_idx[tri], w.astype(np.float32)

    def nearest(self, direction: npt.ArrayLike) -> int:
        d = np.asarray(direction, dtype=np.float32)
        return int(np.argmax(self.directions @ d))


def sofa_to_head(azimuth_deg: npt.ArrayLike, elevation_deg: npt.ArrayLike) -> F32:
    """SOFA spherical (azimuth counter-clockwise from ahead, 90 = left) to head unit vectors."""
    az = np.radians(np.asarray(azimuth_deg, dtype=np.float64))
    el = np.radians(np.asarray(elevation_deg, dtype=np.float64))
    x = -np.cos(el) * np.sin(az)
    y = np.sin(el)
    z = -np.cos(el) * np.cos(az)
    return np.stack([x, y, z], axis=-1).astype(np.float32)


def head_direction(azimuth_right_deg: float, elevation_deg: float = 0.0) -> F32:
    """Unit vector for an azimuth measured clockwise from ahead (90 = right), elevation up."""
    return sofa_to_head(-azimuth_right_deg, elevation_deg)


# ---------------------------------------------------------------- raw SOFA through libmysofa


@dataclass
class SofaData:
    """Raw SimpleFreeFieldHRIR data: ``ir`` (M, 2, N) left/right, ``positions`` (M, 3) as
    (azimuth deg, elevation deg, distance m) in SOFA's convention, ``fs``, file ``attributes``."""

    ir: F32
    positions: F32
    fs: float
    attributes: dict[str, str]


class _Attr(ctypes.Structure):
    pass


_Attr._fields_ = [("next", ctypes.POINTER(_Attr)), ("name", ctypes.c_char_p), ("value", ctypes.c_char_p)]


class _Array(ctypes.Structure):
    _fields_ = [
        ("values", ctypes.POINTER(ctypes.c_float)),
        ("elements", ctypes.c_uint),
        ("attributes", ctypes.POINTER(_Attr)),
    ]


_ARRAYS = (
    "ListenerPosition", "ReceiverPosition", "SourcePosition", "EmitterPosition",
    "ListenerUp", "ListenerView", "DataIR", "DataSamplingRate", "DataDelay",
)


class _Hrtf(ctypes.Structure):
    _fields_ = [(n, ctypes.c_uint) for n in "ICRENM"] + [(n, _Array) for n in _ARRAYS] + [
        ("attributes", ctypes.POINTER(_Attr))
    ]


def _attrs(p: "ctypes._Pointer[_Attr]") -> dict[str, str]:
    out: dict[str, str] = {}
    while p:
        a = p.contents
        out[(a.name or b"").decode("utf-8", "replace")] = (a.value or b"").decode("utf-8", "replace")
        p = a.next
    return out


def read_sofa(path: str | Path) -> SofaData:
    """Read a SimpleFreeFieldHRIR SOFA file with libmysofa (Debian: libmysofa1)."""
    p = Path(path)
    if not p.is_file():
        raise AssetError(f"{p}: SOFA file not found")
    from vrdiplomacy.errors import PlatformError
    from vrdiplomacy.platform.native import load_library

    try:
        lib = load_library("mysofa", f"reading the SOFA file {p}")  # per-OS names, folders and install hint
    except PlatformError as e:
        raise AssetError(str(e)) from None
    lib.mysofa_load.restype = ctypes.POINTER(_Hrtf)
    lib.mysofa_load.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)]
    lib.mysofa_tospherical.argtypes = [ctypes.POINTER(_Hrtf)]
    lib.mysofa_free.argtypes = [ctypes.POINTER(_Hrtf)]
    err = ctypes.c_int(0)
    h = lib.mysofa_load(str(p).encode(), ctypes.byref(err))
    if not h or err.value != 0:
        raise AssetError(f"{p}: libmysofa could not read it (error {err.value})")
    try:
        lib.mysofa_tospherical(h)
        s = h.contents
        m, r, n = int(s.M), int(s.R), int(s.N)
        if r != 2 or s.DataIR.elements != m * r * n or s.SourcePosition.elements != m * 3:
            raise AssetError(f"{p}: not a two-ear SimpleFreeFieldHRIR file (M={m} R={r} N={n})")
        ir = np.ctypeslib.as_array(s.DataIR.values, (m, r, n)).astype(np.float32).copy()
        pos = np.ctypeslib.as_array(s.SourcePosition.values, (m, 3)).astype(np.float32).copy()
        fs = float(s.DataSamplingRate.values[0])
        attrs = _attrs(s.attributes)
        rec = np.ctypeslib.as_array(s.ReceiverPosition.values, (int(s.ReceiverPosition.elements),)).copy()
    finally:
        lib.mysofa_free(h)
    if rec.size >= 6 and rec[1] < rec[4]:
        ir = ir[:, ::-1, :].copy()  # make ear 0 the left ear (+Y in SOFA coordinates)
    return SofaData(ir=ir, positions=pos, fs=fs, attributes=attrs)


# ---------------------------------------------------------------- processing


def _onset(ir: F32, threshold_db: float = -15.0, up: int = 8) -> F32:
    """Onset time in samples (fractional): first crossing of ``threshold_db`` below the peak,
    found on an ``up``-times oversampled impulse response."""
    from scipy.signal import resample_poly

    x = resample_poly(ir, up, 1, axis=-1)
    mag = np.abs(x)
    thr = mag.max(axis=-1, keepdims=True) * (10.0 ** (threshold_db / 20.0))
    first = np.argmax(mag >= thr, axis=-1)
    return (first / up).astype(np.float32)


def process_hrir(
    ir: F32, fs_in: float, fs: int = 48000, length: int = 256, pre: int = 4
) -> tuple[F32, F32]:
    """Resample (M, 2, N) HRIRs to ``fs``, split into onset-aligned filters of ``length`` taps
    (with ``pre`` samples before the onset and a faded tail) and per-ear delays in samples.
    Delays are relative to the earliest onset in the set. Energy is diffuse-field normalised
    (mean energy over all directions and ears = 1)."""
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(int(round(fs_in)), fs)
    x = resample_poly(ir.astype(np.float64), fs // g, int(round(fs_in)) // g, axis=-1)
    onset = _onset(x)
    start = np.floor(onset).astype(np.int64) - pre
    base = int(start.min())
    m = x.shape[0]
    out = np.zeros((m, 2, length), dtype=np.float64)
    for i in range(m):
        for e in range(2):
            s = max(int(start[i, e]), 0)
            seg = x[i, e, s : s + length]
            out[i, e, : seg.size] = seg
    fade = max(length // 8, 1)
    out[:, :, -fade:] *= 0.5 * (1.0 + np.cos(np.linspace(0.0, np.pi, fade)))
    out /= math.sqrt(float(np.mean(np.sum(out**2, axis=-1))))
    delay = (np.maximum(start, 0) - base).astype(np.float32)
    return out.astype(np.float32), delay


def hrtf_from_sofa(path: str | Path, fs: int = 48000, length: int = 256) -> HrtfSet:
    data = read_sofa(path)
    hrir, delay = process_hrir(data.ir, data.fs, fs, length)
    dirs = sofa_to_head(data.positions[:, 0], data.positions[:, 1])
    name = data.attributes.get("ListenerShortName") or Path(path).stem
    return HrtfSet(fs, dirs, hrir, delay, name=f"{data.attributes.get('DatabaseName', 'SOFA')} {name}", citation="")


def save_hrtf(h: HrtfSet, path: str | Path) -> None:
    np.savez_compressed(
        path,
        fs=np.int32(h.fs),
        directions=h.directions.astype(np.float32),
        hrir=h.hrir.astype(np.float32),
        delay=h.delay.astype(np.float32),
        name=np.array(h.name),
        citation=np.array(h.citation),
    )


def load_hrtf(path: str | Path) -> HrtfSet:
    """Load an HRTF set saved by :func:`save_hrtf` (``.npz``)."""
    p = Path(path)
    try:
        with np.load(p, allow_pickle=False) as z:
            return HrtfSet(
                int(z["fs"]),
                z["directions"].astype(np.float32),
                z["hrir"].astype(np.float32),
                z["delay"].astype(np.float32),
                name=str(z["name"]),
                citation=str(z["citation"]),
            )
    except FileNotFoundError:
        raise AssetError(f"{p}: HRTF file not found") from None
    except AssetError:
        raise
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise AssetError(f"{p}: cannot read HRTF data ({type(e).__name__}: {e})") from None


def load_kemar(path: str | Path | None = None) -> HrtfSet:
    return load_hrtf(path or KEMAR_ASSET)


# ---------------------------------------------------------------- parametric model


def woodworth_itd(direction: npt.ArrayLike, radius: float = HEAD_RADIUS, c: float = SPEED_OF_SOUND) -> float:
    """Woodworth's spherical-head ITD in seconds, positive when the source is to the right
    (the left ear hears it later)."""
    d = np.asarray(direction, dtype=np.float64)
    lateral = math.asin(float(np.clip(d[0] / max(np.linalg.norm(d), 1e-12), -1.0, 1.0)))
    return radius / c * (lateral + math.sin(lateral))


def head_shadow_response(
    freqs: npt.ArrayLike, incidence_rad: float, radius: float = HEAD_RADIUS, c: float = SPEED_OF_SOUND
) -> npt.NDArray[np.complex128]:
    """Brown & Duda's one-pole one-zero head-shadow filter for one ear, where
    ``incidence_rad`` is the angle between the ear's axis and the source direction."""
    w0 = c / radius
    alpha_min, theta_min = 0.1, math.radians(150.0)
    alpha = (1.0 + alpha_min / 2.0) + (1.0 - alpha_min / 2.0) * math.cos(incidence_rad / theta_min * math.pi)
    jw = 1j * 2.0 * np.pi * np.asarray(freqs, dtype=np.float64)
    return (1.0 + alpha * jw / (2.0 * w0)) / (1.0 + jw / (2.0 * w0))


def parametric_hrtf(fs: int = 48000, length: int = 128, step_deg: float = 5.0) -> HrtfSet:
    """A spherical-head model on a grid of directions: Woodworth ITD plus head shadow."""
    dirs: list[F32] = []
    for el in np.arange(-90.0, 90.0 + 1e-6, 15.0):
        n = max(1, int(round(360.0 / step_deg * math.cos(math.radians(el)))))
        for az in np.arange(n) * 360.0 / n:
            dirs.append(sofa_to_head(az, el))
    d = np.unique(np.round(np.stack(dirs), 5), axis=0).astype(np.float32)
    nfft = 1024
    freqs = np.fft.rfftfreq(nfft, 1.0 / fs)
    ears = np.array([[-1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    pre = 8
    hrir = np.zeros((len(d), 2, length), dtype=np.float64)
    delay = np.zeros((len(d), 2), dtype=np.float32)
    win = np.hanning(2 * length)[length:]
    for i, v in enumerate(d):
        itd = woodworth_itd(v) * fs
        for e in range(2):
            theta = math.acos(float(np.clip(ears[e] @ v, -1.0, 1.0)))
            h = head_shadow_response(freqs, theta) * np.exp(-2j * np.pi * freqs * pre / fs)
            hrir[i, e] = np.fft.irfft(h, nfft)[:length] * win
            # The shadow filter delays low frequencies by itself; take its phase delay at
            # 1 kHz (in the band where ITD cues dominate) out of the ear's delay so that
            # the total ITD stays close to Woodworth's.
            tau = -float(np.angle(head_shadow_response([1000.0], theta)[0])) / (2.0 * np.pi * 1000.0) * fs
            far = itd if e == 0 else -itd  # the left ear is late for sources on the right
            delay[i, e] = max(far, 0.0) - tau
    delay -= delay.min()
    hrir /= math.sqrt(float(np.mean(np.sum(hrir**2, axis=-1))))
    return HrtfSet(fs, d, hrir.astype(np.float32), delay, name="spherical-head model",
                   citation="Woodworth ITD; Brown & Duda (1998) head-shadow model")


def default_hrtf(fs: int = 48000) -> HrtfSet:
    """The shipped KEMAR set, else the system SOFA file, else the parametric model."""
    if fs == 48000 and KEMAR_ASSET.is_file():
        try:
            return load_kemar()
        except AssetError as e:
            log.warning("%s; trying the system SOFA file", e)
    if SYSTEM_SOFA.is_file():
        try:
            h = hrtf_from_sofa(SYSTEM_SOFA, fs)
            h.citation = KEMAR_CITATION
            return h
        except AssetError as e:
            log.warning("%s", e)
    log.warning("no measured HRTF available: using the parametric spherical-head model")
    return parametric_hrtf(fs)
