"""Stylized avatar geometry (numpy only): one mesh holding every part, tagged per vertex.

Each vertex carries the part it belongs to, so one instanced draw places all avatars: the
vertex shader picks the instance pose for that part (root, head, left/right hand) and a
colour source (vertex colour, delegation colour, placard atlas, speaking indicator).

Conventions: metres, +Y up, the avatar faces -Z. Root parts are relative to the seat origin
(floor level); head parts to the head pose; hand parts to each hand pose. Standing avatars
(``seated`` false) are reshaped in the vertex shader: torso raised, legs straightened, thighs
and placard stand hidden, and the placard floats above the head as a name label.

Hands are a palm, four fingers and a thumb; each hand vertex names its digit in ``uv.x``
(:data:`DIGIT_PALM` ...) so the shader can curl fingers and turn the thumb for the hand's shape
(:data:`HAND_SHAPES`). Arms are two unit-length boxes per side along +Y (``uv.x`` 0 upper,
1 lower) that the shader stretches from the shoulder to the elbow to the wrist (two-bone IK).
The gesture icon is a unit quad the shader turns to face the camera above the head.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

# part ids (vertex attribute a_part.x); keep in step with shaders/avatar.vert
(PART_ROOT, PART_HEAD, PART_LEFT, PART_RIGHT, PART_PLACARD, PART_INDICATOR, PART_SEATED, PART_LEGS,
 PART_ARM_LEFT, PART_ARM_RIGHT, PART_ICON, PART_PUPIL_LEFT, PART_PUPIL_RIGHT, PART_LID, PART_JAW, PART_MOUTH,
 PART_HAIR_LONG, PART_SHADOW, PART_TAG) = range(19)
# colour sources (a_part.y): per-avatar skin, hair and suit colours are picked in the shader from the avatar id
SRC_VERTEX, SRC_DELEGATION, SRC_PLACARD, SRC_INDICATOR, SRC_ICON, SRC_SKIN, SRC_HAIR, SRC_SUIT, SRC_CONTACT, SRC_TAG = range(10)
TAG_SIZE = (0.38, 0.38 * 96 / 256)  # the name tag card, metres (the atlas tag area's aspect)
CONTACT_SIZE = 0.95  # the soft contact shadow under each avatar (a square the shader fades to a disc), metres
LOD_DISTANCE = 9.0  # beyond this many metres from the viewer an avatar is drawn with the far mesh
# digits of a hand (uv.x of hand vertices)
DIGIT_PALM, DIGIT_THUMB, DIGIT_INDEX, DIGIT_FINGERS = 0, 1, 2, 3
# hand shape name -> shape index (per-instance); names without their own look map to the nearest
HAND_SHAPES: dict[str, int] = {
    "open": 0, "raised": 0, "relaxed": 0, "pinch": 0, "flat": 0,
    "fist": 1, "grip": 1,
    "point": 2,
    "thumbs_up": 3,
    "thumbs_down": 4,
}
KNUCKLE_Z = -0.07  # the fingers' pivot line (hand space); keep in step with shaders/avatar.vert

EYE_WHITE = (0.85, 0.84, 0.80)
PUPIL = (0.02, 0.018, 0.016)
MOUTH = (0.08, 0.012, 0.012)
SHIRT = (0.82, 0.83, 0.85)
# head space (faces -Z): the eye centres and the mouth; keep in step with shaders/avatar.vert
EYE_CENTER = (0.033, 0.018, -0.088)  # x mirrored for the other eye
EYE_RADIUS = 0.016
PUPIL_RADIUS = 0.0075
MOUTH_CENTER = (0.0, -0.052, -0.090)
HALO_Y = 0.16  # the speaking halo's height above the head centre (the crown is at 0.12)
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
            part: int, source: int, color: tuple[float, float, float]) -> None:
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

    def ellipsoid(self, center: tuple[float, float, float], radii: tuple[float, float, float], part: int,
                  color: tuple[float, float, float], seg: int = 14, rings: int = 9,
                  y_range: tuple[float, float] = (-1.0, 1.0), source: int | None = None) -> None:
        c = np.asarray(center, dtype=np.float32)
        r = np.asarray(radii, dtype=np.float32)
        th0, th1 = math.acos(y_range[1]), math.acos(y_range[0])
        pos, nrm = [], []
        for i in range(rings + 1):
            th = th0 + (th1 - th0) * i / rings
            for j in range(seg + 1):
                ph = 2 * math.pi * j / seg
                d = np.array([math.sin(th) * math.sin(ph), math.cos(th), math.sin(th) * math.cos(ph)], dtype=np.float32)
                pos.append(c + d * r)
                n = d / r
                nrm.append(n / max(float(np.linalg.norm(n)), 1e-9))
        tris = []
        for i in range(rings):
            for j in range(seg):
                a, b = i * (seg + 1) + j, (i + 1) * (seg + 1) + j
                tris += [a, b, a + 1, a + 1, b, b + 1]
        src = source if source is not None else (SRC_VERTEX if part != PART_ROOT else SRC_DELEGATION)
        self.add(pos, nrm, np.zeros((len(pos), 2)), tris, part, src, color)

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

    def build(self) -> AvatarMesh:
        return AvatarMesh(np.concatenate(self.verts), np.concatenate(self.idx).astype(np.uint32))


def build_avatar_mesh(far: bool = False) -> AvatarMesh:
    """The seated delegate in a dark business suit (white shirt, a tie in the delegation colour),
    a head with eyes (pupils the shader turns to the speaker, lids that blink), nose, mouth and
    jaw (opened by the voice level), hair (short, or longer for some avatars), hands, a name
    placard on a stand in front, and a speaking halo just above the head. Skin, hair and suit
    colours and the build vary per avatar (shader, from the avatar id). A soft contact shadow
    lies on the floor under it.

    ``far``: the level of detail for avatars beyond :data:`LOD_DISTANCE` (about a quarter of the
    triangles): coarser ellipsoids, no pupils, lids, eyebrows or nose, fingers as one block."""
    b = _Builder()
    seg, rings = (7, 5) if far else (14, 9)
    # contact shadow first, so the body drawn after it blends over nothing of its own
    s = CONTACT_SIZE / 2.0
    b.add([(-s, 0.006, -s - 0.1), (-s, 0.006, s - 0.1), (s, 0.006, s - 0.1), (s, 0.006, -s - 0.1)], [(0, 1, 0)] * 4,
          [(0, 0), (0, 1), (1, 1), (1, 0)], [0, 1, 2, 0, 2, 3], PART_SHADOW, SRC_CONTACT, (0, 0, 0))
    # torso: a tapered suit jacket, shoulders, a white shirt front, the tie (delegation colour), the neck
    b.ellipsoid((0.0, 0.80, 0.02), (0.19, 0.30, 0.12), PART_ROOT, (1, 1, 1), source=SRC_SUIT, seg=seg, rings=rings)
    b.box((0.0, 1.02, 0.02), (0.42, 0.08, 0.16), PART_ROOT, SRC_SUIT, (1, 1, 1))
    b.box((0.0, 0.97, -0.085), (0.085, 0.16, 0.02), PART_ROOT, SRC_VERTEX, SHIRT)  # shirt in the jacket's V
    b.box((0.0, 0.93, -0.098), (0.032, 0.20, 0.012), PART_ROOT, SRC_DELEGATION, (1, 1, 1))  # tie
    b.box((0.0, 1.035, -0.094), (0.038, 0.03, 0.016), PART_ROOT, SRC_DELEGATION, (1, 1, 1))  # tie knot
    b.box((-0.11, 0.95, -0.093), (0.03, 0.02, 0.01), PART_ROOT, SRC_DELEGATION, (1, 1, 1))  # lapel pin
    b.box((0.0, 1.08, 0.02), (0.08, 0.06, 0.08), PART_ROOT, SRC_SKIN, (1, 1, 1))  # neck
    # seated legs: thighs forward (hidden when standing), shins down (straightened when standing)
    for x in (-0.1, 0.1):
        b.box((x, 0.50, -0.18), (0.14, 0.13, 0.40), PART_SEATED, SRC_SUIT, (0.8, 0.8, 0.8))
        b.box((x, 0.22, -0.36), (0.12, 0.44, 0.12), PART_LEGS, SRC_SUIT, (0.8, 0.8, 0.8))
        b.box((x, 0.02, -0.41), (0.105, 0.04, 0.26), PART_LEGS, SRC_VERTEX, SHOE)  # a shoe (taller when standing)
    # head: skin ellipsoid, hair cap (and longer hair at the back for some), nose, eyes, mouth and jaw
    b.ellipsoid((0.0, 0.0, 0.0), (0.095, 0.12, 0.105), PART_HEAD, (1, 1, 1), source=SRC_SKIN, seg=seg, rings=rings)
    b.ellipsoid((0.0, 0.012, 0.01), (0.1, 0.124, 0.108), PART_HEAD, (1, 1, 1), y_range=(0.25, 1.0), source=SRC_HAIR,
                seg=seg, rings=max(3, rings // 2))
    b.ellipsoid((0.0, -0.03, 0.035), (0.1, 0.12, 0.08), PART_HAIR_LONG, (1, 1, 1), y_range=(-0.6, 0.9), source=SRC_HAIR,
                seg=seg, rings=rings)
    ex, ey, ez = EYE_CENTER
    if far:  # eyes as dark dots, a mouth line: what is left of a face at ten metres
        for side in (-1.0, 1.0):
            b.box((side * ex, ey, ez - 0.008), (0.02, 0.012, 0.01), PART_HEAD, SRC_VERTEX, PUPIL)
        b.box(MOUTH_CENTER, (0.042, 0.006, 0.012), PART_MOUTH, SRC_VERTEX, MOUTH)
    for side, pupil in () if far else ((-1.0, PART_PUPIL_LEFT), (1.0, PART_PUPIL_RIGHT)):
        if side < 0:
            b.box((0.0, -0.012, -0.106), (0.018, 0.036, 0.02), PART_HEAD, SRC_SKIN, (0.95, 0.95, 0.95))  # nose
        c = (side * ex, ey, ez)
        b.ellipsoid(c, (EYE_RADIUS,) * 3, PART_HEAD, EYE_WHITE, seg=10, rings=6)
        b.ellipsoid((c[0], c[1], c[2] - EYE_RADIUS + PUPIL_RADIUS * 0.6), (PUPIL_RADIUS, PUPIL_RADIUS, PUPIL_RADIUS * 0.7),
                    pupil, PUPIL, seg=8, rings=5)
        b.ellipsoid(c, (EYE_RADIUS * 1.12,) * 3, PART_LID, (0.92, 0.92, 0.92), seg=10, rings=6, source=SRC_SKIN)
        b.box((side * ex, ey + 0.026, ez - 0.018), (0.03, 0.006, 0.01), PART_HEAD, SRC_HAIR, (1, 1, 1))  # eyebrow
    mx, my, mz = MOUTH_CENTER
    if not far:
        b.box((mx, my, mz), (0.042, 0.006, 0.012), PART_MOUTH, SRC_VERTEX, MOUTH)  # stretched open by the voice
        b.ellipsoid((0.0, my - 0.026, mz + 0.026), (0.042, 0.02, 0.03), PART_JAW, (1, 1, 1), source=SRC_SKIN)  # chin
    # hands: palm, four fingers towards -Z from the knuckle line, and a thumb (built pointing +Y,
    # the shader turns it); a left hand has its thumb on +X (palm down, fingers forward)
    for part in (PART_LEFT, PART_RIGHT):
        side = 1.0 if part == PART_LEFT else -1.0
        b.box((0.0, 0.0, -0.02), (0.085, 0.032, 0.10), part, SRC_SKIN, (1, 1, 1), digit=DIGIT_PALM)
        if far:  # the index finger and the other three as one block each
            z0 = KNUCKLE_Z + 0.006
            b.box((side * 0.03, 0.0, z0 - 0.0375), (0.019, 0.022, 0.075), part, SRC_SKIN, (1, 1, 1), digit=DIGIT_INDEX)
            b.box((side * -0.01, 0.0, z0 - 0.036), (0.058, 0.022, 0.072), part, SRC_SKIN, (1, 1, 1), digit=DIGIT_FINGERS)
        for k, (length, x) in enumerate(() if far else ((0.075, 0.03), (0.082, 0.01), (0.078, -0.01), (0.062, -0.03))):
            z0 = KNUCKLE_Z + 0.006
            b.box((side * x, 0.0, z0 - length / 2), (0.019, 0.022, length), part, SRC_SKIN, (1, 1, 1),
                  digit=DIGIT_INDEX if k == 0 else DIGIT_FINGERS)
        b.box((side * 0.042, 0.0, -0.005 + 0.0), (0.022, 0.062, 0.022), part, SRC_SKIN, (1, 1, 1), digit=DIGIT_THUMB,
              offset=(0.0, 0.031, 0.0))
    # arms: suit sleeves, upper and lower, unit length along +Y
    for part in (PART_ARM_LEFT, PART_ARM_RIGHT):
        b.box((0.0, 0.5, 0.0), (0.095, 1.0, 0.095), part, SRC_SUIT, (1, 1, 1), digit=0)
        b.box((0.0, 0.5, 0.0), (0.078, 1.0, 0.078), part, SRC_SUIT, (1, 1, 1), digit=1)
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
    # the name tag (near mesh only: beyond the LOD distance the desk placard says who it is)
    if not far:
        tw, th = TAG_SIZE
        b.add([(-tw / 2, -th / 2, 0.0), (tw / 2, -th / 2, 0.0), (tw / 2, th / 2, 0.0), (-tw / 2, th / 2, 0.0)],
              [(0, 0, 1)] * 4, [(0, 1), (1, 1), (1, 0), (0, 0)], [0, 1, 2, 0, 2, 3], PART_TAG, SRC_TAG, (1, 1, 1))
    # speaking halo just above the crown: drawn only while speaking > 0 (the shader collapses it otherwise)
    b.ring((0.0, HALO_Y, 0.0), 0.07, 0.105, 0.016, PART_INDICATOR, SRC_INDICATOR, (0.2, 1.0, 0.35), seg=10 if far else 20)
    return b.build()
