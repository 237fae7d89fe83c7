"""Sculpted avatar surfaces (numpy only): the head, its hair, the suit jacket and round limbs.

Every surface here is a deformed sphere or a loft of cross-sections, returned as positions,
smooth normals (area-weighted face normals, averaged across the seam and poles), triangles and
a per-vertex tint that the avatar shader multiplies into the avatar's skin, hair or suit colour.

The head (head space: metres, +Y up, facing -Z, the origin between the ears just under eye
level) is an ellipsoid moulded by smooth bumps and dents into a face: eye sockets under a brow
ridge, a nose from the bridge to the nostrils, cheekbones, a mouth recess between lips built
separately (:func:`lips`), a chin and a jaw that narrows. Its vertices carry a jaw weight (1 on
the chin and the lower face, 0 above the mouth) that the shader uses to open the mouth with the
voice level. The hair is the same surface grown outwards above a hairline and drawn inside the
skin below it, so the skin cuts a clean hairline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]

# keep in step with render/avatar_mesh.py and shaders/avatar.vert
EYE_CENTER = (0.032, 0.018, -0.071)
EYE_RADIUS = 0.0145
MOUTH_Y = -0.050
MOUTH_Z = -0.095  # the mouth recess's front, between the lips
LIP_TINT = (0.96, 0.66, 0.64)


@dataclass
class Surface:
    pos: F32
    nrm: F32
    tris: npt.NDArray[np.uint32]
    tint: F32  # (n, 3)
    weight: F32  # (n,) the jaw weight (heads) or 0


def _grid_tris(rings: int, seg: int) -> npt.NDArray[np.uint32]:
    i, j = np.meshgrid(np.arange(rings), np.arange(seg), indexing="ij")
    a = i * (seg + 1) + j
    b = a + seg + 1
    return np.stack([a, b, a + 1, a + 1, b, b + 1], axis=-1).reshape(-1).astype(np.uint32)


def smooth_normals(pos: F32, tris: npt.NDArray[np.uint32]) -> F32:
    t = tris.reshape(-1, 3)
    fn = np.cross(pos[t[:, 1]] - pos[t[:, 0]], pos[t[:, 2]] - pos[t[:, 0]])
    n = np.zeros_like(pos)
    for k in range(3):
        np.add.at(n, t[:, k], fn)
    return n


def _finish(pos: F32, rings: int, seg: int) -> tuple[F32, npt.NDArray[np.uint32]]:
    tris = _grid_tris(rings, seg)
    n = smooth_normals(pos, tris).reshape(rings + 1, seg + 1, 3)
    seam = n[:, 0] + n[:, seg]
    n[:, 0] = n[:, seg] = seam
    n[0] = n[0].sum(axis=0)
    n[-1] = n[-1].sum(axis=0)
    n = n.reshape(-1, 3)
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    if float(np.sum(n * (pos - pos.mean(axis=0)))) < 0:  # wound inwards: turn it outwards
        n = -n
        tris = tris.reshape(-1, 3)[:, [0, 2, 1]].reshape(-1)
    return n.astype(np.float32), tris


def _sphere_dirs(rings: int, seg: int, front: float = 0.5) -> F32:
    """Unit directions on a (rings+1) x (seg+1) grid, the seam at the back (+Z), denser towards
    the front (-Z) and the equator when ``front`` < 1."""
    v = np.linspace(-1.0, 1.0, rings + 1)
    u = np.linspace(-1.0, 1.0, seg + 1)
    th = math.pi / 2 + math.pi / 2 * v * (front + (1 - front) * v * v)
    ph = math.pi + math.pi * u * (front + (1 - front) * u * u)
    th, ph = np.meshgrid(th, ph, indexing="ij")
    d = np.stack([np.sin(th) * np.sin(ph), np.cos(th), np.sin(th) * np.cos(ph)], axis=-1)
    return d.reshape(-1, 3)


def _smooth(e0: float, e1: float, x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _bump(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], cx: float, cy: float, sx: float, sy: float
          ) -> npt.NDArray[np.float64]:
    return np.exp(-(((x - cx) / sx) ** 2) - ((y - cy) / sy) ** 2)


def head_shape(d: npt.NDArray[np.float64], grow: float = 0.0) -> npt.NDArray[np.float64]:
    """Head-space points of the head surface along unit directions ``d`` (n, 3), ``grow`` metres
    further out (the hair)."""
    dx, dy, dz = d[:, 0], d[:, 1], d[:, 2]
    # a skull wider at the top and back, a face flatter in front: superellipsoid-ish in front
    fz = np.where(dz < 0, -np.abs(dz) ** 0.72, dz)
    fy = np.where(dy < 0, -np.abs(dy) ** 0.85 * 0.90, dy)
    x = dx * 0.074
    y = fy * 0.116
    z = fz * 0.097 + 0.006
    front = _smooth(0.0, -0.6, dz)
    # jaw: narrower towards the chin; behind the jaw line the head gives way to the neck
    low = _smooth(-0.01, -0.11, y)
    x *= 1.0 - 0.15 * low**1.5
    face = _smooth(-0.15, -0.75, dz)
    behind = low * (1.0 - face)
    x *= 1.0 - 0.18 * behind
    z = np.where(face > 0, z - 0.012 * low * face, z)
    z = z + (0.02 - z) * 0.55 * behind**1.2
    y = y + 0.035 * behind * _smooth(0.0, 0.6, dz) ** 0.5
    # the face: brow ridge, eye sockets, nose, cheekbones, lips area, chin
    ax = np.abs(x)
    f = front * 1.0
    out = np.zeros_like(x)  # displacement along -Z (towards the viewer of the face)
    ex, ey, _ = EYE_CENTER
    out += 0.0065 * _bump(ax, y, 0.030, ey + 0.026, 0.028, 0.009)  # brow ridge
    out -= 0.010 * _bump(ax, y, ex, ey + 0.001, 0.014, 0.012)  # eye sockets
    # nose: a ridge from the bridge down to the tip, wider at the nostrils
    t = _smooth(ey + 0.012, -0.024, y)  # 0 at the bridge, 1 at the tip
    width = 0.0065 + 0.010 * t
    ridge = (0.004 + 0.020 * t**1.4) * _smooth(-0.040, -0.026, y) * (y < ey + 0.03)
    out += ridge * np.exp(-((x / width) ** 2))
    out += 0.004 * _bump(ax, y, 0.013, -0.026, 0.007, 0.006)  # nostril wings
    out += 0.003 * _bump(ax, y, 0.0, -0.021, 0.008, 0.007)  # a rounded tip (not a wedge)
    out += 0.0045 * _bump(ax, y, 0.046, -0.010, 0.016, 0.018)  # cheekbones
    out += 0.003 * _bump(ax, y, 0.040, -0.045, 0.018, 0.020)  # the cheeks' fullness (no hollow under the cheekbones)
    out -= 0.004 * _bump(ax, y, 0.0, MOUTH_Y - 0.001, 0.026, 0.005)  # the mouth recess (the lips sit in it)
    out += 0.004 * _bump(ax, y, 0.0, MOUTH_Y - 0.026, 0.012, 0.012)  # under the lower lip
    out += 0.006 * _bump(ax, y, 0.0, -0.094, 0.024, 0.012)  # chin (rounded, not pointed)
    out -= 0.003 * _bump(ax, y, 0.0, MOUTH_Y + 0.013, 0.005, 0.006)  # philtrum
    z = z - out * f
    p = np.stack([x, y, z], axis=-1)
    if grow:
        n = np.stack([dx / 0.074, dy / 0.116, dz / 0.097], axis=-1)
        n /= np.linalg.norm(n, axis=1, keepdims=True)
        p = p + n * grow
    return p


def head(rings: int = 24, seg: int = 32) -> Surface:
    """The skin of the head, with lip and cheek tints and the jaw weight."""
    d = _sphere_dirs(rings, seg, front=0.45).astype(np.float64)
    p = head_shape(d)
    pos = p.astype(np.float32)
    nrm, tris = _finish(pos, rings, seg)
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    front = _smooth(0.0, -0.05, z)
    jaw = _smooth(MOUTH_Y - 0.004, MOUTH_Y - 0.016, y) * front * _smooth(0.07, 0.035, np.abs(x))
    tint = np.ones((len(pos), 3))
    cheek = _bump(np.abs(x), y, 0.045, -0.02, 0.02, 0.02) * front
    tint *= (1.0 - 0.08 * cheek)[:, None] * np.array([1.0, 0.93, 0.92]) ** cheek[:, None]
    lips = _bump(np.abs(x), y, 0.0, MOUTH_Y, 0.022, 0.010) * front
    tint *= np.array(LIP_TINT) ** lips[:, None]
    socket = _bump(np.abs(x), y, EYE_CENTER[0] + 0.002, EYE_CENTER[1] + 0.006, 0.020, 0.013) * front  # round the eyes
    tint *= (1.0 - 0.10 * socket)[:, None]
    under = _bump(np.abs(x), y, EYE_CENTER[0], EYE_CENTER[1] - 0.017, 0.014, 0.005) * front  # under the eyes
    tint *= (1.0 - 0.06 * under)[:, None]
    nostrils = _bump(np.abs(x), y, 0.008, -0.031, 0.007, 0.004) * front  # the shade under the nose
    tint *= (1.0 - 0.25 * nostrils)[:, None]
    return Surface(pos, nrm, tris, tint.astype(np.float32), jaw.astype(np.float32))


def hair(style: int, rings: int = 12, seg: int = 18) -> Surface:
    """Hair grown on the head above a hairline: ``style`` 0 short (a side parting), 1 longer at
    the back and sides (drawn only for some avatars). Below the hairline it shrinks inside the
    skin, so only the hair above shows."""
    d = _sphere_dirs(rings, seg, front=0.6).astype(np.float64)
    dx, dy, dz = d[:, 0], d[:, 1], d[:, 2]
    back = _smooth(-0.3, 0.5, dz)  # 0 at the face, 1 at the back
    side = np.abs(dx)
    temple = np.exp(-(((side - 0.42) / 0.16) ** 2)) * (1 - back)  # the hairline recedes a little at the temples
    centre = np.exp(-((side / 0.22) ** 2)) * (1 - back)  # and comes lower over the middle of the brow (no straight cut)
    nape = back * np.exp(-((dx / 0.3) ** 2))  # the middle of the back of the head
    ears = _smooth(0.3, 0.7, side) * _smooth(-0.2, 0.3, dz) * _smooth(0.9, 0.5, dz)  # behind and above the ears
    if style == 0:
        # at the back the hair ends in a tapered nape, lower in the middle, cut up and round behind the ears
        line = (0.61 + 0.07 * temple - 0.05 * centre - 0.50 * _smooth(0.45, 0.95, side) * (1 - back) - 1.2 * back
                - 0.10 * nape * np.exp(-((dx / 0.18) ** 2)) + 0.22 * ears * back)
        thick = 0.006 + 0.007 * _smooth(0.2, 0.95, dy) + 0.003 * back
        # the hair thins towards the nape (no cap edge) and is fuller over the crown of the occiput
        taper = _smooth(line, line + 0.45, dy)
        thick = thick * (1.0 - back * 0.75 * (1.0 - taper)) + 0.008 * back * _bump(dx, dy, 0.0, 0.12, 0.6, 0.22)
        # a little unevenness: two tufts over the crown and one either side of the occiput
        for bx, by, amp in ((0.18, 0.82, 0.003), (-0.25, 0.62, 0.0025), (0.42, 0.3, 0.002), (-0.45, 0.22, 0.002)):
            thick = thick + amp * _bump(dx, dy, bx, by, 0.2, 0.18) * (0.4 + 0.6 * back)
    else:
        # the back ends in a soft curve, a little longer in the middle, not a straight cut
        line = (0.57 + 0.05 * temple - 0.04 * centre - 0.70 * _smooth(0.5, 0.95, side) * (1 - back) - 1.35 * back
                - 0.08 * nape + 0.10 * ears * back)
        thick = 0.008 + 0.009 * _smooth(0.2, 0.9, dy) + 0.008 * back + 0.006 * _smooth(0.5, 0.95, side)
        taper = _smooth(line, line + 0.25, dy)
        thick = thick * (1.0 - back * 0.45 * (1.0 - taper)) + 0.006 * back * _bump(dx, dy, 0.0, 0.1, 0.6, 0.25)
    # over the forehead and temples the hair thins out to the hairline (no ledge: a thick edge there reads as a cap)
    thick = thick * (1.0 - 0.7 * (1.0 - back) * (1.0 - _smooth(line, line + 0.22, dy)))
    inside = _smooth(line + 0.015, line - 0.04, dy)  # 1 below the hairline
    # combed locks down the back: every other column of the grid a shade lower and darker
    lock = (np.arange(len(d)) % (seg + 1) % 2).astype(np.float64) * back * _smooth(0.9, 0.4, dy)
    thick = thick - 0.0012 * lock
    grow = np.maximum(thick, 0.0025) * (1 - inside) - 0.012 * inside
    pos = head_shape(d, 0.0)
    n = np.stack([dx / 0.074, dy / 0.116, dz / 0.097], axis=-1)
    n /= np.linalg.norm(n, axis=1, keepdims=True)
    # a side parting: the crown a touch fuller on one side
    grow = grow + 0.003 * _smooth(-0.2, 0.6, dx) * _smooth(0.3, 0.8, dy)
    pos = (pos + n * grow[:, None]).astype(np.float32)
    nrm, tris = _finish(pos, rings, seg)
    # a sheen on the crown, the thinning nape a little lighter, a shade under the fullness of the occiput
    shade = (1.0 - 0.10 * lock) * (1.0 - 0.25 * back * _bump(dx, dy, 0.0, -0.12, 0.6, 0.15) * taper)
    tint = np.ones((len(pos), 3)) * ((0.85 + 0.3 * _smooth(0.0, 1.0, dy)) * (1.0 + 0.25 * back * (1.0 - taper)) * shade)[:, None]
    return Surface(pos, nrm, tris, tint.astype(np.float32), np.zeros(len(pos), np.float32))


def lips(upper: bool, seg: int = 10, rings: int = 4) -> Surface:
    """One lip: a flattened, pointed-ended roll across the mouth recess (tinted)."""
    d = _sphere_dirs(rings, seg, front=1.0).astype(np.float64)
    dx, dy, dz = d[:, 0], d[:, 1], d[:, 2]
    half = 0.026 if upper else 0.023
    x = dx * half
    taper = 1.0 - (np.abs(dx) ** 2.2)
    y = dy * (0.0054 if upper else 0.0066) * (0.3 + 0.7 * taper)
    z = dz * 0.0065 * (0.3 + 0.7 * taper)
    cy = MOUTH_Y + (0.0036 if upper else -0.0050)
    # the lips follow the curve of the face, the corners further back
    z = z + MOUTH_Z + 0.0025 + 0.020 * (dx**2) * half / 0.02
    if upper:  # a cupid's bow: the middle a touch higher
        y = y + 0.0012 * np.exp(-((x / 0.006) ** 2))
    p = np.stack([x, y + cy, z], axis=-1).astype(np.float32)
    nrm, tris = _finish(p, rings, seg)
    tint = np.tile(np.array(LIP_TINT, np.float32), (len(p), 1)) * 0.97
    # how far each point follows the jaw (the lower lip): fully in the middle, hardly at the
    # corners, which stay joined to the upper lip, so the parted mouth is a lens, not an oval
    weight = np.zeros(len(p), np.float32) if upper else (1.0 - 0.85 * np.abs(dx) ** 2).astype(np.float32)
    return Surface(p, nrm, tris, tint, weight)


def loft(sections: list[tuple[float, float, float, float]], seg: int = 24, power: float = 2.4,
         cap: bool = True) -> Surface:
    """A closed tube through cross-sections (y, half width, half depth, centre z): superellipses
    of exponent ``power``, the seam at the back; ``cap`` closes both ends with a centre point."""
    ang = np.linspace(0.0, 2 * math.pi, seg + 1)
    s, c = np.sin(ang), np.cos(ang)
    e = 2.0 / power
    sx = np.sign(s) * np.abs(s) ** e
    cz = np.sign(c) * np.abs(c) ** e
    rows = []
    if cap:
        y0, _w, _d, z0 = sections[0]
        rows.append(np.stack([np.zeros_like(sx), np.full_like(sx, y0), np.full_like(sx, z0)], -1))
    for y, w, dd, zc in sections:
        rows.append(np.stack([sx * w, np.full_like(sx, y), zc + cz * dd], -1))
    if cap:
        y1, _w, _d, z1 = sections[-1]
        rows.append(np.stack([np.zeros_like(sx), np.full_like(sx, y1), np.full_like(sx, z1)], -1))
    pos = np.concatenate(rows).astype(np.float32)
    nrm, tris = _finish(pos, len(rows) - 1, seg)
    return Surface(pos, nrm, tris, np.ones((len(pos), 3), np.float32), np.zeros(len(pos), np.float32))


def front_point(x: float, y: float) -> tuple[float, float, float]:
    """The point of the head's face surface nearest (x, y) seen from the front, and its depth."""
    d = _sphere_dirs(90, 120, front=0.35).astype(np.float64)
    d = d[d[:, 2] < -0.2]
    p = head_shape(d)
    k = int(np.argmin((p[:, 0] - x) ** 2 + (p[:, 1] - y) ** 2))
    return float(p[k, 0]), float(p[k, 1]), float(p[k, 2])


def transformed(s: Surface, m: npt.ArrayLike, t: npt.ArrayLike = (0.0, 0.0, 0.0)) -> Surface:
    """``s`` turned by the 3x3 matrix ``m`` (rows applied as m @ p) and moved by ``t``."""
    r = np.asarray(m, np.float32)
    tris = s.tris if np.linalg.det(r) > 0 else s.tris.reshape(-1, 3)[:, [0, 2, 1]].reshape(-1)
    return Surface((s.pos @ r.T + np.asarray(t, np.float32)).astype(np.float32), (s.nrm @ r.T).astype(np.float32),
                   tris, s.tint, s.weight)


def ellipsoid(center: tuple[float, float, float], radii: tuple[float, float, float], rings: int = 8, seg: int = 12,
              y_range: tuple[float, float] = (-1.0, 1.0)) -> Surface:
    """An ellipsoid (optionally only the band of unit-sphere heights ``y_range``), outward normals."""
    th0, th1 = math.acos(y_range[1]), math.acos(y_range[0])
    th = np.linspace(th0, th1, rings + 1)
    ph = np.linspace(0.0, 2 * math.pi, seg + 1)
    th, ph = np.meshgrid(th, ph, indexing="ij")
    d = np.stack([np.sin(th) * np.sin(ph), np.cos(th), np.sin(th) * np.cos(ph)], -1).reshape(-1, 3)
    r = np.asarray(radii, np.float64)
    pos = (d * r + np.asarray(center)).astype(np.float32)
    n = d / r
    n /= np.linalg.norm(n, axis=1, keepdims=True)
    tris = _grid_tris(rings, seg)
    t = tris.reshape(-1, 3)
    fn = np.cross(pos[t[:, 1]] - pos[t[:, 0]], pos[t[:, 2]] - pos[t[:, 0]])
    if float(np.sum(fn * n[t[:, 0]])) < 0:
        tris = t[:, [0, 2, 1]].reshape(-1)
    return Surface(pos, n.astype(np.float32), tris, np.ones((len(pos), 3), np.float32), np.zeros(len(pos), np.float32))


def _arc_z(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """How far the mouth's parts curve back with the face at ``x`` (as :func:`lips`)."""
    return (x**2) / 0.023


def mouth_inside(half_w: float = 0.022, half_h: float = 0.003, seg: int = 12, rings: int = 4) -> Surface:
    """The mouth's dark inside: a lens (pointed at the corners, wider than tall) that follows the
    curve of the face; the shader stretches it downwards with the jaw."""
    d = _sphere_dirs(rings, seg, front=1.0).astype(np.float64)
    dx, dy, dz = d[:, 0], d[:, 1], d[:, 2]
    x = dx * half_w
    lens = np.sqrt(np.clip(1.0 - dx**2, 0.0, 1.0))  # with the ellipse's own taper: a parabola, pointed ends
    y = MOUTH_Y + dy * half_h * (0.15 + 0.85 * lens)
    z = MOUTH_Z + 0.0055 + dz * 0.003 + _arc_z(x)
    p = np.stack([x, y, z], axis=-1).astype(np.float32)
    nrm, tris = _finish(p, rings, seg)
    return Surface(p, nrm, tris, np.ones((len(p), 3), np.float32), np.zeros(len(p), np.float32))


def teeth(upper: bool, seg: int = 10, rings: int = 3) -> Surface:
    """A row of front teeth just behind a lip: a slim band following the curve of the face, its
    biting edge a little scalloped in tint (the gaps between the teeth)."""
    d = _sphere_dirs(rings, seg, front=1.0).astype(np.float64)
    dx, dy, dz = d[:, 0], d[:, 1], d[:, 2]
    half = 0.0150 if upper else 0.0125
    x = dx * half
    h = 0.0032 if upper else 0.0026
    y = dy * h * (1.0 - 0.5 * dx**4)
    edge = -0.0005 if upper else -0.0040  # the band's centre: the upper row just under the upper lip's edge
    y = y + MOUTH_Y + edge
    z = MOUTH_Z + 0.0032 + dz * 0.0016 + _arc_z(x) + (0.0006 if not upper else 0.0)
    p = np.stack([x, y, z], axis=-1).astype(np.float32)
    nrm, tris = _finish(p, rings, seg)
    shade = 1.0 - 0.35 * np.abs(dx) ** 1.5  # darker towards the corners, into the mouth
    tint = np.stack([shade, shade * 0.97, shade * 0.90], axis=-1).astype(np.float32)
    return Surface(p, nrm, tris, tint, np.zeros(len(p), np.float32))


def eyelid(center: tuple[float, float, float], radius: float, mid: float, corner: float, upper: bool,
           rings: int = 3, seg: int = 10, lash: float = 1.0) -> Surface:
    """An eyelid: the part of a sphere round the eye above (``upper``) or below a curved edge whose
    height (unit-sphere y) is ``mid`` in front of the eye and ``corner`` at its sides, so the
    opening between the two lids is almond-shaped, not a slot. The rings crowd towards the edge;
    ``lash`` < 1 darkens the edge ring by that factor (a lash line)."""
    t = 1.0 - (1.0 - np.linspace(0.0, 1.0, rings + 1)) ** 2
    ph = np.linspace(0.0, 2 * math.pi, seg + 1)
    t, ph = np.meshgrid(t, ph, indexing="ij")
    front = np.clip(-np.cos(ph), 0.0, 1.0) ** 2  # 1 straight ahead (-Z), 0 at the sides and behind
    y_edge = corner + (mid - corner) * front
    th_edge = np.arccos(np.clip(y_edge, -1.0, 1.0))
    th = th_edge * t if upper else math.pi - (math.pi - th_edge) * t
    d = np.stack([np.sin(th) * np.sin(ph), np.cos(th), np.sin(th) * np.cos(ph)], -1).reshape(-1, 3)
    pos = (d * radius + np.asarray(center)).astype(np.float32)
    tris = _grid_tris(rings, seg)
    tt = tris.reshape(-1, 3)
    fn = np.cross(pos[tt[:, 1]] - pos[tt[:, 0]], pos[tt[:, 2]] - pos[tt[:, 0]])
    if float(np.sum(fn * d[tt[:, 0]])) < 0:
        tris = tt[:, [0, 2, 1]].reshape(-1)
    k = np.where(t.reshape(-1) > 0.999, lash, 1.0)
    tint = np.stack([k, k * 0.95, k * 0.94], -1).astype(np.float32)
    return Surface(pos, d.astype(np.float32), tris, tint, np.zeros(len(pos), np.float32))
