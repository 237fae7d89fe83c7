"""Avatar geometry (numpy only): one mesh holding every part, tagged per vertex.

The surfaces are sculpted in :mod:`vrdiplomacy.render.avatar_head` (the head, hair, a lofted
jacket, round limbs and fingers); this module assembles them with the suit's lapels, shirt,
collar and tie, the eyes, the placard, the name tag and the halo, for a near mesh and a far one.

Each vertex carries the part it belongs to, so one instanced draw places all avatars: the
vertex shader picks the instance pose for that part (root, head, left/right hand) and a
colour source (vertex colour, delegation colour, placard atlas, speaking indicator).

Conventions: metres, +Y up, the avatar faces -Z. Root parts are relative to the seat origin
(floor level); head parts to the head pose; hand parts to each hand pose. Standing avatars
(``seated`` false) are reshaped in the vertex shader: torso raised, legs straightened (shoes,
``uv.x`` 1, kept flat), the weight on one leg, thighs and placard stand hidden, and the placard
floats above the head as a name label. Head skin vertices carry a jaw weight in ``uv.y``: the
shader lowers them with the voice level; the lower lip and lower teeth (:data:`PART_JAW`) carry
their own weight there (the lip's corners stay with the upper lip, so the parted mouth is a lens
over the upper teeth, :data:`PART_TEETH`, shown only while the mouth is open).

Hands are a palm, four fingers and a thumb; each hand vertex names its digit in ``uv.x``
(:data:`DIGIT_PALM` ...) so the shader can curl fingers and turn the thumb for the hand's shape
(:data:`HAND_SHAPES`). Arms are two unit-length sleeves per side along +Y (``uv.x`` 0 upper,
1 lower, with a shirt cuff at the wrist) that the shader stretches from the shoulder to the elbow to the wrist (two-bone IK).
The gesture icon is a unit quad the shader turns to face the camera above the head.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vrdiplomacy.render import avatar_head as H

# part ids (vertex attribute a_part.x); keep in step with shaders/avatar.vert
(PART_ROOT, PART_HEAD, PART_LEFT, PART_RIGHT, PART_PLACARD, PART_INDICATOR, PART_SEATED, PART_LEGS,
 PART_ARM_LEFT, PART_ARM_RIGHT, PART_ICON, PART_PUPIL_LEFT, PART_PUPIL_RIGHT, PART_LID, PART_JAW, PART_MOUTH,
 PART_HAIR_LONG, PART_SHADOW, PART_TAG, PART_TEETH) = range(20)
# colour sources (a_part.y): per-avatar skin, hair and suit colours are picked in the shader from the avatar id
SRC_VERTEX, SRC_DELEGATION, SRC_PLACARD, SRC_INDICATOR, SRC_ICON, SRC_SKIN, SRC_HAIR, SRC_SUIT, SRC_CONTACT, SRC_TAG = range(10)
TAG_SIZE = (0.32, 0.32 * 96 / 256)  # the name tag card, metres (the atlas tag area's aspect)
CONTACT_SIZE = 0.95  # the soft contact shadow under each avatar (a square the shader fades to a disc), metres
LOD_DISTANCE = 6.0  # beyond this many metres from the viewer an avatar is drawn with the far mesh
# digits of a hand (uv.x of hand vertices)
DIGIT_PALM, DIGIT_THUMB, DIGIT_INDEX, DIGIT_FINGERS = 0, 1, 2, 3
# hand shape name -> shape index (per-instance); names without their own look map to the nearest
HAND_SHAPES: dict[str, int] = {
    "open": 0, "raised": 0, "pinch": 0, "flat": 0,
    "relaxed": 5,
    "fist": 1, "grip": 1,
    "point": 2,
    "thumbs_up": 3,
    "thumbs_down": 4,
}
KNUCKLE_Z = -0.07  # the fingers' pivot line (hand space); keep in step with shaders/avatar.vert

EYE_WHITE = (0.60, 0.58, 0.54)
PUPIL = (0.012, 0.010, 0.009)
IRIS = (0.042, 0.025, 0.015)
IRIS_RADIUS = 0.0066
MOUTH = (0.08, 0.012, 0.012)
TEETH = (0.56, 0.53, 0.46)
SHIRT = (0.50, 0.51, 0.53)
# head space (faces -Z): the eye centres and the mouth; keep in step with shaders/avatar.vert
EYE_CENTER = H.EYE_CENTER  # x mirrored for the other eye
EYE_RADIUS = H.EYE_RADIUS
PUPIL_RADIUS = 0.0036
MOUTH_CENTER = (0.0, H.MOUTH_Y, H.MOUTH_Z + 0.0055)
MOUTH_HALF = 0.003  # the closed mouth inside's half height (the shader stretches it with the jaw)
HALO_Y = 0.140  # the speaking halo's height above the head centre, head space (the hair's crown is at about 0.132)
DARK = (0.05, 0.05, 0.06)
SHOE = (0.025, 0.018, 0.014)
PLACARD_BOARD = (0.9, 0.9, 0.86)
STRIDE = 13  # floats per vertex: pos3 normal3 uv2 part1 source1 color3

PLACARD_SIZE = (0.40, 0.11)  # width, height of the name face
PLACARD_OFFSET = (0.0, 0.80, -0.52)  # its centre, root space


@dataclass
class AvatarMesh:
    """Interleaved float32 vertices (N, STRIDE) and uint32 triangle indices."""

    vertices: npt.NDArray[np.float32]
    indices: npt.NDArray[np.uint32]


class _Builder:
    def __init__(self) -> None:
        self.verts: list[npt.NDArray[np.float32]] = []
        self.idx: list[npt.NDArray[np.uint32]] = []
        self.count = 0

    def add(self, pos: npt.ArrayLike, nrm: npt.ArrayLike, uv: npt.ArrayLike, tris: npt.ArrayLike,
            part: int, source: int, color: npt.ArrayLike) -> None:
        p = np.asarray(pos, dtype=np.float32).reshape(-1, 3)
        n = len(p)
        v = np.zeros((n, STRIDE), dtype=np.float32)
        v[:, 0:3] = p
        v[:, 3:6] = np.asarray(nrm, dtype=np.float32).reshape(-1, 3)
        v[:, 6:8] = np.asarray(uv, dtype=np.float32).reshape(-1, 2)
        v[:, 8] = part
        v[:, 9] = source
        v[:, 10:13] = color
        self.verts.append(v)
        self.idx.append(np.asarray(tris, dtype=np.uint32).reshape(-1) + self.count)
        self.count += n

    def box(self, center: tuple[float, float, float], size: tuple[float, float, float], part: int, source: int,
            color: tuple[float, float, float], uv_faces: dict[int, tuple[float, float, float, float]] | None = None,
            digit: int | None = None, offset: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> None:
        """An axis-aligned box. ``uv_faces`` maps a face (0..5: +X -X +Y -Y +Z -Z) to a UV rect;
        ``digit`` (hands, arms) is stored in uv.x of every vertex instead; ``offset`` moves the box
        after it is built (the thumb is built with its base at ``center``)."""
        c = np.asarray(center, dtype=np.float32) + np.asarray(offset, dtype=np.float32)
        h = np.asarray(size, dtype=np.float32) / 2.0
        for face, (axis, sign) in enumerate(((0, 1), (0, -1), (1, 1), (1, -1), (2, 1), (2, -1))):
            n = np.zeros(3, dtype=np.float32)
            n[axis] = sign
            u_axis, v_axis = [a for a in range(3) if a != axis]
            if axis == 1:
                u_axis, v_axis = 0, 2
            # u and v chosen so (u x v) points along n
            u = np.zeros(3, dtype=np.float32)
            v = np.zeros(3, dtype=np.float32)
            u[u_axis] = 1.0
            v[v_axis] = 1.0
            if np.dot(np.cross(u, v), n) < 0:
                u = -u
            corners = [c + n * h + (su * u + sv * v) * h for su, sv in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
            rect = (uv_faces or {}).get(face, (0.0, 0.0, 1.0, 1.0))
            uvs = [(rect[0], rect[3]), (rect[2], rect[3]), (rect[2], rect[1]), (rect[0], rect[1])]
            if digit is not None:
                uvs = [(float(digit), 0.0)] * 4
            src = source if (uv_faces is None or face in uv_faces) else SRC_VERTEX
            self.add(corners, [n] * 4, uvs, [0, 1, 2, 0, 2, 3], part, src, color)

    def ring(self, center: tuple[float, float, float], r_in: float, r_out: float, height: float, part: int,
             source: int, color: tuple[float, float, float], seg: int = 20) -> None:
        """A flat annulus with thickness (a halo), axis +Y."""
        c = np.asarray(center, dtype=np.float32)
        for y, ny in ((height / 2, 1.0), (-height / 2, -1.0)):
            pos, tris = [], []
            for j in range(seg + 1):
                a = 2 * math.pi * j / seg
                for r in (r_in, r_out):
                    pos.append(c + np.array([r * math.sin(a), y, r * math.cos(a)], dtype=np.float32))
            for j in range(seg):
                i0 = 2 * j
                t = [i0, i0 + 1, i0 + 3, i0, i0 + 3, i0 + 2]
                tris += t if ny > 0 else [t[0], t[2], t[1], t[3], t[5], t[4]]
            self.add(pos, [(0, ny, 0)] * len(pos), np.zeros((len(pos), 2)), tris, part, source, color)
        for r, sign in ((r_out, 1.0), (r_in, -1.0)):
            pos, nrm, tris = [], [], []
            for j in range(seg + 1):
                a = 2 * math.pi * j / seg
                d = np.array([math.sin(a), 0, math.cos(a)], dtype=np.float32)
                pos += [c + d * r + [0, -height / 2, 0], c + d * r + [0, height / 2, 0]]
                nrm += [d * sign, d * sign]
            for j in range(seg):
                i0 = 2 * j
                t = [i0, i0 + 2, i0 + 3, i0, i0 + 3, i0 + 1]
                tris += t if sign > 0 else [t[0], t[2], t[1], t[3], t[5], t[4]]
            self.add(pos, nrm, np.zeros((len(pos), 2)), tris, part, source, color)

    def surface(self, surf: H.Surface, part: int, source: int, color: npt.ArrayLike = (1.0, 1.0, 1.0),
                uv: tuple[float, float] = (0.0, 0.0), jaw: bool = False) -> None:
        """Add a sculpted surface; its tint multiplies ``color``; ``jaw``: its jaw weight goes to uv.y."""
        col = surf.tint * np.asarray(color, np.float32)
        uvs = np.tile(np.asarray(uv, np.float32), (len(surf.pos), 1))
        if jaw:
            uvs[:, 1] = surf.weight
        self.add(surf.pos, surf.nrm, uvs, surf.tris, part, source, col)

    def build(self) -> AvatarMesh:
        return AvatarMesh(np.concatenate(self.verts), np.concatenate(self.idx).astype(np.uint32))


def build_avatar_mesh(far: bool = False) -> AvatarMesh:
    """The seated delegate in a dark, tailored business suit (lapels, white shirt and collar, a
    tie in the delegation colour, shirt cuffs), a sculpted head (brow, eye sockets, nose,
    cheekbones, lips, chin; eyes with whites, irises, pupils the shader turns to the speaker,
    almond-shaped lids (the upper one resting on the iris, a lash line), lids that blink; ears;
    eyebrows; a mouth that parts as a lens over the teeth), hair (short, or longer for some avatars),
    round limbs and hands with fingers, a name placard on a stand in front, and a speaking halo
    just above the head. Skin, hair and suit colours and the build vary per avatar (shader, from
    the avatar id). The chin and lower lip drop with the voice level (jaw weight in uv.y of the
    head's vertices). A soft contact shadow lies on the floor under it.

    ``far``: the level of detail for avatars beyond :data:`LOD_DISTANCE` (a fraction of the
    triangles): a coarse head with dark eyes and a mouth line, hair over the crown and back, no
    lids, brows or ears, a shirt collar, round trouser legs, blocky hands."""
    b = _Builder()
    # contact shadow first, so the body drawn after it blends over nothing of its own
    s = CONTACT_SIZE / 2.0
    b.add([(-s, 0.006, -s - 0.1), (-s, 0.006, s - 0.1), (s, 0.006, s - 0.1), (s, 0.006, -s - 0.1)], [(0, 1, 0)] * 4,
          [(0, 0), (0, 1), (1, 1), (1, 0)], [0, 1, 2, 0, 2, 3], PART_SHADOW, SRC_CONTACT, (0, 0, 0))
    _suit(b, far)
    _legs(b, far)
    _head(b, far)
    _hands(b, far)
    # arms: suit sleeves, upper and lower, unit length along +Y (uv.x: the segment), a shirt cuff at the wrist
    n_arm = 6 if far else 8
    for part in (PART_ARM_LEFT, PART_ARM_RIGHT):
        # a tailored sleeve: about 12 cm across at the shoulder, 8.5 cm at the cuff
        upper = H.loft([(-0.02, 0.034, 0.034, 0.0), (0.0, 0.058, 0.055, 0.0), (1.0, 0.050, 0.048, 0.0)], seg=n_arm, power=2.0)
        lower = H.loft([(0.0, 0.050, 0.048, 0.0), (1.0, 0.043, 0.041, 0.0)], seg=n_arm, power=2.0)
        if far:  # two sections each
            upper = H.loft([(0.0, 0.058, 0.055, 0.0), (1.0, 0.050, 0.048, 0.0)], seg=n_arm, power=2.0)
            lower = H.loft([(0.0, 0.050, 0.048, 0.0), (1.0, 0.043, 0.041, 0.0)], seg=n_arm, power=2.0)
        b.surface(upper, part, SRC_SUIT, uv=(0.0, 0.0))
        b.surface(lower, part, SRC_SUIT, uv=(1.0, 0.0))
        if not far:
            cuff = H.loft([(0.955, 0.0415, 0.0395, 0.0), (1.0, 0.041, 0.039, 0.0)], seg=n_arm, power=2.0, cap=False)
            b.surface(cuff, part, SRC_VERTEX, uv=(1.0, 0.0), color=SHIRT)
    # gesture icon: a unit quad facing +Z (the shader scales it, turns it to the camera, picks the cell)
    b.add([(-0.5, -0.5, 0.0), (0.5, -0.5, 0.0), (0.5, 0.5, 0.0), (-0.5, 0.5, 0.0)], [(0, 0, 1)] * 4,
          [(0, 1), (1, 1), (1, 0), (0, 0)], [0, 1, 2, 0, 2, 3], PART_ICON, SRC_ICON, (1, 1, 1))
    # placard: a white board with the delegation name on both faces, on a thin stand
    w, h = PLACARD_SIZE
    px, py, pz = PLACARD_OFFSET
    cell = (0.0, 0.0, 1.0, 1.0)
    # face 5 faces -Z (those the delegate faces), face 4 faces +Z (the delegate): both read left to right
    b.box((px, py, pz), (w, h, 0.025), PART_PLACARD, SRC_PLACARD, PLACARD_BOARD, uv_faces={5: cell, 4: cell})
    b.box((px, py - h / 2 - 0.015, pz), (w * 0.6, 0.03, 0.08), PART_SEATED, SRC_VERTEX, DARK)
    # the name tag (both meshes; the shader hides it beyond TAG_FARTHEST, where the desk placard says who it is)
    tw, th = TAG_SIZE
    b.add([(-tw / 2, -th / 2, 0.0), (tw / 2, -th / 2, 0.0), (tw / 2, th / 2, 0.0), (-tw / 2, th / 2, 0.0)],
          [(0, 0, 1)] * 4, [(0, 1), (1, 1), (1, 0), (0, 0)], [0, 1, 2, 0, 2, 3], PART_TAG, SRC_TAG, (1, 1, 1))
    # speaking halo: a slim level ring resting just over the crown; drawn only
    # while speaking > 0 (the shader collapses it otherwise)
    b.ring((0.0, HALO_Y, 0.0), 0.068, 0.098, 0.009, PART_INDICATOR, SRC_INDICATOR, (0.2, 1.0, 0.35), seg=12 if far else 28)
    return b.build()


# the jacket's cross-sections, root space (seated): height, half width, half depth, centre z
JACKET = [(0.46, 0.160, 0.110, 0.030), (0.56, 0.156, 0.106, 0.026), (0.66, 0.150, 0.100, 0.022),
          (0.78, 0.165, 0.106, 0.022), (0.88, 0.184, 0.106, 0.026), (0.945, 0.200, 0.099, 0.028),
          (0.975, 0.198, 0.092, 0.028), (0.998, 0.180, 0.084, 0.028), (1.018, 0.140, 0.074, 0.029),
          (1.038, 0.098, 0.064, 0.029), (1.060, 0.066, 0.056, 0.030)]
BUTTON_Y = 0.74  # the jacket's V closes here


def _jacket_front(x: float, y: float) -> float:
    """The jacket's front surface depth at (x, y), root space (as :data:`JACKET`, superellipse 2.6)."""
    ys = [r[0] for r in JACKET]
    w, dd, zc = (float(np.interp(y, ys, [r[k] for r in JACKET])) for k in (1, 2, 3))
    t = min(abs(x) / w, 0.999)
    return zc - dd * (1.0 - t**2.6) ** (1.0 / 2.6)


def _panel(b: _Builder, outline: list[tuple[float, float]], lift: float, part: int, source: int,
           color: tuple[float, float, float], rows: int = 6) -> None:
    """A flat-ish panel on the jacket front: ``outline`` is (x_left, x_right) at ``rows``+1 heights
    between its first and last entry's y (given as pairs (y, x_left, x_right) in the list)."""
    ys = np.linspace(outline[0][0], outline[-1][0], rows + 1)
    pos, nrm, tris = [], [], []
    for i, y in enumerate(ys):
        xl = float(np.interp(y, [o[0] for o in outline], [o[1] for o in outline]))
        xr = float(np.interp(y, [o[0] for o in outline], [o[2] for o in outline]))
        for x in (xl, (xl + xr) / 2, xr):
            z = _jacket_front(x, float(y)) - lift
            pos.append((x, float(y), z))
            dz = _jacket_front(x + 0.01, float(y)) - _jacket_front(x - 0.01, float(y))
            n = np.array([dz / 0.02, 0.0, -1.0])
            nrm.append(n / np.linalg.norm(n))
        if i:
            a = (i - 1) * 3
            for k in range(2):
                tris += [a + k, a + k + 1, a + 3 + k + 1, a + k, a + 3 + k + 1, a + 3 + k]
    p = np.array(pos, np.float32)
    t = np.array(tris, np.uint32).reshape(-1, 3)
    fn = np.cross(p[t[:, 1]] - p[t[:, 0]], p[t[:, 2]] - p[t[:, 0]])
    if float(fn[:, 2].sum()) > 0:  # face -Z (outwards)
        t = t[:, [0, 2, 1]]
    b.add(p, nrm, np.zeros((len(p), 2)), t.reshape(-1), part, source, color)


def _suit(b: _Builder, far: bool) -> None:
    """Jacket (shaped torso, lapels, a button), shirt front, collar, tie and a lapel pin."""
    b.surface(H.loft(JACKET[::2] + JACKET[-1:] if far else JACKET, seg=6 if far else 16, power=2.6), PART_ROOT, SRC_SUIT)
    top = JACKET[-1][0]
    # the shirt in the jacket's V, then the tie over it, then the lapels over both
    for side in () if far else (-1.0, 1.0):  # the jacket's rounded shoulders, over the sleeves' tops
        shoulder = H.ellipsoid((side * 0.182, 0.926, 0.025), (0.062, 0.046, 0.062), rings=4, seg=10, y_range=(-0.2, 1.0))
        b.surface(shoulder, PART_ROOT, SRC_SUIT)
    _panel(b, [(BUTTON_Y, -0.004, 0.004), (0.88, -0.036, 0.036), (top, -0.044, 0.044)], 0.003, PART_ROOT,
           SRC_VERTEX, SHIRT, rows=2 if far else 5)
    _panel(b, [(BUTTON_Y + 0.02, -0.006, 0.006), (0.80, -0.019, 0.019), (1.0, -0.013, 0.013), (1.02, -0.017, 0.017),
               (1.04, -0.019, 0.019)], 0.0055, PART_ROOT, SRC_DELEGATION, (0.85, 0.85, 0.85), rows=2 if far else 6)
    if far:  # the shirt collar round the neck (a dark neck over a dark jacket reads as a stalk)
        band = H.loft([(top - 0.03, 0.068, 0.064, 0.030), (top + 0.022, 0.064, 0.061, 0.026)], seg=6, power=2.0, cap=False)
        b.surface(band, PART_ROOT, SRC_VERTEX, color=SHIRT)
        return
    for side in (-1.0, 1.0):  # lapels: from the collar down the V's edge to the button, a notch at the top
        inner = [(BUTTON_Y, 0.0, 0.014), (0.88, 0.035, 0.080), (0.955, 0.040, 0.104), (0.968, 0.048, 0.090),
                 (0.99, 0.047, 0.084), (top, 0.050, 0.064)]
        out = [(y, side * a, side * c) if side > 0 else (y, side * c, side * a) for y, a, c in inner]
        _panel(b, out, 0.0075, PART_ROOT, SRC_SUIT, (1.18, 1.18, 1.22), rows=8)
    # the shirt collar: a band standing round the neck above the jacket, two points either side of the knot
    band = H.loft([(top - 0.03, 0.068, 0.064, 0.030), (top + 0.026, 0.062, 0.059, 0.026)], seg=16, power=2.0, cap=False)
    rise = np.clip((band.pos[:, 2] - 0.02) / 0.06, 0.0, 1.0) * np.clip((band.pos[:, 1] - top + 0.03) / 0.056, 0.0, 1.0)
    band.pos[:, 1] += 0.012 * rise  # a collar stands higher at the back of the neck than at the knot
    b.surface(band, PART_ROOT, SRC_VERTEX, color=SHIRT)
    knot = H.loft([(-0.011, 0.0065, 0.004, 0.0), (0.0, 0.010, 0.0055, 0.0), (0.011, 0.0115, 0.005, 0.0)], seg=8, power=2.4)
    b.surface(H.transformed(knot, np.eye(3), (0.0, top - 0.012, _jacket_front(0.0, top - 0.012) - 0.011)), PART_ROOT,
              SRC_DELEGATION, color=(0.8, 0.8, 0.8))  # the tie's knot, narrowing downwards
    for side in (-1.0, 1.0):
        _panel(b, [(1.005, side * 0.018, side * 0.022) if side > 0 else (1.005, -0.022, -0.018),
                   (top + 0.008, side * 0.012, side * 0.05) if side > 0 else (top + 0.008, -0.05, -0.012)],
               0.0085, PART_ROOT, SRC_VERTEX, SHIRT, rows=2)
    b.box((0.0, BUTTON_Y - 0.015, _jacket_front(0.0, BUTTON_Y - 0.015) - 0.004), (0.014, 0.014, 0.006), PART_ROOT,
          SRC_VERTEX, (0.015, 0.013, 0.012))  # the button
    pin = H.ellipsoid((-0.125, 0.935, _jacket_front(-0.125, 0.935) - 0.0095), (0.0055, 0.0055, 0.0025), rings=3, seg=10)
    b.surface(pin, PART_ROOT, SRC_DELEGATION, color=(0.95, 0.95, 0.95))  # a round lapel pin in the delegation colour


def _legs(b: _Builder, far: bool) -> None:
    """Trousers (thighs forward, hidden when standing; shins, straightened and widened at the top
    when standing) and shoes (uv.x 1: not stretched when standing)."""
    n = 6
    down = ((1, 0, 0), (0, 0, 1), (0, -1, 0))  # +Y built -> -Z
    for x in (-0.095, 0.095):
        if far:
            b.box((x, 0.50, -0.20), (0.14, 0.13, 0.44), PART_SEATED, SRC_SUIT, (0.8, 0.8, 0.8))
            # round trouser legs, slim enough that standing legs keep a gap between them
            shin = H.loft([(0.035, 0.050, 0.052, 0.0), (0.52, 0.056, 0.058, 0.0)], seg=5, power=2.0)
            b.surface(H.transformed(shin, np.eye(3), (x, 0.0, -0.39)), PART_LEGS, SRC_SUIT, color=(0.8, 0.8, 0.8))
            b.box((x, 0.034, -0.43), (0.09, 0.06, 0.26), PART_LEGS, SRC_VERTEX, SHOE, digit=1)
            continue
        thigh = H.loft([(0.0, 0.078, 0.072, 0.0), (0.25, 0.072, 0.066, 0.0), (0.44, 0.060, 0.058, 0.0)], seg=n, power=2.2)
        b.surface(H.transformed(thigh, down, (x, 0.50, 0.02)), PART_SEATED, SRC_SUIT, color=(0.8, 0.8, 0.8))
        shin = H.loft([(0.035, 0.052, 0.054, 0.0), (0.30, 0.056, 0.057, 0.0), (0.52, 0.062, 0.062, 0.0)], seg=n, power=2.0)
        b.surface(H.transformed(shin, np.eye(3), (x, 0.0, -0.39)), PART_LEGS, SRC_SUIT, color=(0.8, 0.8, 0.8))
        shoe = H.loft([(0.0, 0.038, 0.030, 0.0), (0.09, 0.048, 0.036, 0.0), (0.20, 0.045, 0.034, 0.0),
                       (0.27, 0.030, 0.026, 0.0)], seg=n, power=3.0)
        b.surface(H.transformed(shoe, down, (x, 0.034, -0.30)), PART_LEGS, SRC_VERTEX, uv=(1.0, 0.0), color=SHOE)


def _head(b: _Builder, far: bool) -> None:
    """Skin (jaw weight in uv.y), hair, ears, neck, eyes, lids, brows, lips and the mouth's inside."""
    skin = H.head(rings=6, seg=8) if far else H.head()
    b.surface(skin, PART_HEAD, SRC_SKIN, jaw=True)
    if far:  # caps over the crown (and the back, for longer hair): the hairline is below a pixel there
        # (down the back and sides to the ears: from behind a head is hair, not a bald dome)
        b.surface(H.ellipsoid((0.0, 0.014, 0.022), (0.079, 0.118, 0.104), rings=3, seg=8, y_range=(-0.3, 1.0)), PART_HEAD,
                  SRC_HAIR)
        b.surface(H.ellipsoid((0.0, -0.01, 0.03), (0.08, 0.12, 0.085), rings=4, seg=8, y_range=(-0.6, 0.9)), PART_HAIR_LONG,
                  SRC_HAIR)
    else:
        b.surface(H.hair(0, rings=16, seg=28), PART_HEAD, SRC_HAIR)  # rings enough for a hairline, not a stepped cut
        b.surface(H.hair(1, rings=16, seg=28), PART_HAIR_LONG, SRC_HAIR)
    # the neck: slimmer than the jaw, in the jaw's shadow under the chin (a bright column the
    # width of the face reads as a long neck)
    neck = H.loft([(-0.165, 0.058, 0.058, 0.0), (-0.10, 0.051, 0.053, 0.0), (-0.02, 0.050, 0.054, 0.0)],
                  seg=5 if far else 12, power=2.0, cap=False)
    neck = H.transformed(neck, np.eye(3), (0.0, 0.0, 0.018))
    front = np.clip(-neck.pos[:, 2] / 0.05 + 0.4, 0.0, 1.0)
    shade = 1.0 - 0.30 * front * np.clip((neck.pos[:, 1] + 0.125) / 0.05, 0.0, 1.0)
    neck.tint = (neck.tint * shade[:, None]).astype(np.float32)
    b.surface(neck, PART_HEAD, SRC_SKIN, color=(0.9, 0.9, 0.9))
    ex, ey, ez = H.EYE_CENTER
    if far:  # eyes as dark dots, a mouth line: what is left of a face at ten metres
        for side in (-1.0, 1.0):
            b.box((side * ex, ey, ez - H.EYE_RADIUS + 0.001), (0.02, 0.01, 0.006), PART_HEAD, SRC_VERTEX, PUPIL)
        b.box((0.0, H.MOUTH_Y, H.MOUTH_Z - 0.004), (0.04, 0.005, 0.008), PART_MOUTH, SRC_VERTEX, MOUTH)
        return
    for side in (-1.0, 1.0):  # ears
        ear = H.ellipsoid((side * 0.073, 0.0, 0.014), (0.012, 0.031, 0.018), rings=4, seg=8)
        b.surface(ear, PART_HEAD, SRC_SKIN, color=(0.93, 0.88, 0.86))
    for side, pupil in ((-1.0, PART_PUPIL_LEFT), (1.0, PART_PUPIL_RIGHT)):
        c = (side * ex, ey, ez)
        b.surface(H.ellipsoid(c, (H.EYE_RADIUS,) * 3, rings=5, seg=8), PART_HEAD, SRC_VERTEX, color=EYE_WHITE)
        # iris and pupil: a shallow cap on the front of the eyeball, dark in the middle
        cap = H.ellipsoid((0.0, 0.0, 0.0), (IRIS_RADIUS, 0.0022, IRIS_RADIUS), rings=2, seg=8, y_range=(0.0, 1.0))
        cap = H.transformed(cap, ((1, 0, 0), (0, 0, 1), (0, -1, 0)), (c[0], c[1], c[2] - H.EYE_RADIUS + 0.0016))
        r = np.linalg.norm(cap.pos[:, 0:2] - np.array(c[0:2], np.float32), axis=1)
        tone = np.clip((r - PUPIL_RADIUS * 0.8) / (PUPIL_RADIUS * 0.5), 0.0, 1.0)[:, None]
        colors = np.array(PUPIL, np.float32) * (1 - tone) + np.array(IRIS, np.float32) * tone
        b.surface(cap, pupil, SRC_VERTEX, color=colors)
        # the upper lid over the top of the eye (always), the lower lid; the blinking lid (shader)
        # the lids: an almond-shaped opening, the upper lid resting just over the top of the iris
        # (a calm look, not a stare), a dark lash line along its edge
        upper = H.eyelid(c, H.EYE_RADIUS * 1.12, 0.30, -0.04, upper=True, rings=4, seg=10, lash=0.25)
        b.surface(upper, PART_HEAD, SRC_SKIN, color=(0.9, 0.86, 0.85))
        lower = H.eyelid(c, H.EYE_RADIUS * 1.08, -0.46, -0.10, upper=False, rings=2, seg=10)
        b.surface(lower, PART_HEAD, SRC_SKIN, color=(0.90, 0.85, 0.84))
        b.surface(H.ellipsoid(c, (H.EYE_RADIUS * 1.16,) * 3, rings=3, seg=8), PART_LID, SRC_SKIN, color=(0.92, 0.9, 0.9))
        # eyebrow: a soft arc following the brow ridge, fuller at the inner end, the outer end a
        # little lower (a calm look; inner ends lower read as a frown)
        bx, by, bz = H.front_point(side * 0.032, ey + 0.026)
        brow = H.ellipsoid((0.0, 0.0, 0.0), (0.0195, 0.0042, 0.004), rings=3, seg=8)
        u = brow.pos[:, 0] / 0.0195  # -1 .. 1 across; side * u > 0 towards the outer end
        brow.pos[:, 1] *= 1.0 - 0.4 * np.clip(side * u, 0.0, 1.0)  # tapering towards the outer end
        brow.pos[:, 1] += 0.0035 * (1.0 - u * u) - 0.0012 * side * u  # the arch, the outer end lower
        b.surface(H.transformed(brow, np.eye(3), (bx, by, bz - 0.0015)), PART_HEAD, SRC_HAIR, color=(0.8, 0.8, 0.8))
    # the mouth's inside (stretched open by the voice), the upper lip (fixed) and the lower (with the jaw)
    b.surface(H.mouth_inside(), PART_MOUTH, SRC_VERTEX, color=MOUTH)
    b.surface(H.teeth(True), PART_TEETH, SRC_VERTEX, color=TEETH)  # the upper row stays with the skull (shown while speaking)
    lower_teeth = H.teeth(False)
    lower_teeth.weight[:] = 1.0
    b.surface(lower_teeth, PART_JAW, SRC_VERTEX, color=TEETH, jaw=True)  # the lower row drops with the jaw
    b.surface(H.lips(True), PART_HEAD, SRC_SKIN)
    b.surface(H.lips(False), PART_JAW, SRC_SKIN, jaw=True)


def _hands(b: _Builder, far: bool) -> None:
    """Palm, four fingers towards -Z from the knuckle line (uv.x: the digit), a thumb built
    pointing +Y that the shader turns; a left hand has its thumb on +X (palm down, fingers forward)."""
    down = ((1, 0, 0), (0, 0, 1), (0, -1, 0))  # +Y built -> -Z
    n = 5 if not far else 4
    for part in (PART_LEFT, PART_RIGHT):
        side = 1.0 if part == PART_LEFT else -1.0
        if far:
            b.box((0.0, 0.0, -0.02), (0.085, 0.032, 0.10), part, SRC_SKIN, (1, 1, 1), digit=DIGIT_PALM)
            z0 = KNUCKLE_Z + 0.006
            b.box((side * 0.03, 0.0, z0 - 0.0375), (0.019, 0.022, 0.075), part, SRC_SKIN, (1, 1, 1), digit=DIGIT_INDEX)
            b.box((side * -0.01, 0.0, z0 - 0.036), (0.058, 0.022, 0.072), part, SRC_SKIN, (1, 1, 1), digit=DIGIT_FINGERS)
            b.box((side * 0.042, 0.0, -0.005), (0.022, 0.062, 0.022), part, SRC_SKIN, (1, 1, 1), digit=DIGIT_THUMB,
                  offset=(0.0, 0.031, 0.0))
            continue
        palm = H.loft([(0.0, 0.028, 0.014, 0.0), (0.035, 0.040, 0.016, 0.0), (0.085, 0.043, 0.014, 0.0),
                       (0.10, 0.041, 0.012, 0.0)], seg=8, power=2.8)
        b.surface(H.transformed(palm, down, (0.0, 0.0, 0.03)), part, SRC_SKIN, uv=(DIGIT_PALM, 0.0))
        for k, (length, x) in enumerate(((0.075, 0.03), (0.082, 0.01), (0.078, -0.01), (0.062, -0.03))):
            finger = H.loft([(0.0, 0.0095, 0.0105, 0.0), (length * 0.6, 0.0088, 0.0092, 0.0), (length, 0.0078, 0.0080, 0.0)],
                            seg=n, power=2.0)
            b.surface(H.transformed(finger, down, (side * x, 0.0, KNUCKLE_Z + 0.008)), part, SRC_SKIN,
                      uv=(DIGIT_INDEX if k == 0 else DIGIT_FINGERS, 0.0))
        thumb = H.loft([(0.0, 0.0125, 0.0115, 0.0), (0.035, 0.0110, 0.0105, 0.0), (0.062, 0.0090, 0.0090, 0.0)],
                       seg=n, power=2.0)
        b.surface(H.transformed(thumb, np.eye(3), (side * 0.042, 0.0, -0.005)), part, SRC_SKIN, uv=(DIGIT_THUMB, 0.0))
