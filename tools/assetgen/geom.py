"""Deterministic mesh building for the asset generator.

All arithmetic runs on Python floats with :mod:`math` (no BLAS, no SIMD transcendental
functions), so the same inputs give the same bytes on every machine. Conventions match the
app: metres, +Y up, -Z forward, ``yaw`` in degrees about +Y (0 faces -Z, 90 faces -X).
UVs follow glTF: origin at the top-left of the image, v grows downwards.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

V3 = tuple[float, float, float]
M3 = tuple[V3, V3, V3]  # rows
UVRect = tuple[float, float, float, float]  # u0, v0 (top-left), u1, v1 (bottom-right)

FULL_UV: UVRect = (0.0, 0.0, 1.0, 1.0)


def add(a: V3, b: V3) -> V3:
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2])


def sub(a: V3, b: V3) -> V3:
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2])


def scale(a: V3, s: float) -> V3:
    return (a[0] * s, a[1] * s, a[2] * s)


def dot(a: V3, b: V3) -> float:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def cross(a: V3, b: V3) -> V3:
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def norm(a: V3) -> V3:
    n = math.sqrt(dot(a, a))
    return (a[0] / n, a[1] / n, a[2] / n) if n > 0.0 else (0.0, 0.0, 0.0)


def mat_identity() -> M3:
    return ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))


def mat_yaw(yaw_deg: float) -> M3:
    """Rotation about +Y; yaw 90 turns -Z (forward) into -X."""
    a = math.radians(yaw_deg)
    c, s = math.cos(a), math.sin(a)
    return ((c, 0.0, s), (0.0, 1.0, 0.0), (-s, 0.0, c))


def mat_pitch(pitch_deg: float) -> M3:
    """Rotation about +X; positive pitch tilts -Z (forward) upwards."""
    a = math.radians(pitch_deg)
    c, s = math.cos(a), math.sin(a)
    return ((1.0, 0.0, 0.0), (0.0, c, -s), (0.0, s, c))


def mat_mul(a: M3, b: M3) -> M3:
    return tuple(
        tuple(a[i][0] * b[0][j] + a[i][1] * b[1][j] + a[i][2] * b[2][j] for j in range(3)) for i in range(3)
    )  # type: ignore[return-value]


def mat_apply(m: M3, v: V3) -> V3:
    return (dot(m[0], v), dot(m[1], v), dot(m[2], v))


@dataclass(frozen=True)
class Frame:
    """A rigid placement: ``world = origin + rot @ local``."""

    origin: V3 = (0.0, 0.0, 0.0)
    rot: M3 = field(default_factory=mat_identity)

    @staticmethod
    def at(origin: V3, yaw_deg: float = 0.0) -> "Frame":
        return Frame(origin, mat_yaw(yaw_deg))

    def point(self, p: V3) -> V3:
        return add(self.origin, mat_apply(self.rot, p))

    def vector(self, v: V3) -> V3:
        return mat_apply(self.rot, v)

    def child(self, offset: V3, yaw_deg: float = 0.0, pitch_deg: float = 0.0) -> "Frame":
        rot = self.rot
        if yaw_deg:
            rot = mat_mul(rot, mat_yaw(yaw_deg))
        if pitch_deg:
            rot = mat_mul(rot, mat_pitch(pitch_deg))
        return Frame(self.point(offset), rot)


WORLD = Frame()

# Box faces: outward normal and the in-plane "up" of the face image.
_FACES: dict[str, tuple[V3, V3]] = {
    "+x": ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0)),
    "-x": ((-1.0, 0.0, 0.0), (0.0, 1.0, 0.0)),
    "+y": ((0.0, 1.0, 0.0), (0.0, 0.0, -1.0)),
    "-y": ((0.0, -1.0, 0.0), (0.0, 0.0, 1.0)),
    "+z": ((0.0, 0.0, 1.0), (0.0, 1.0, 0.0)),
    "-z": ((0.0, 0.0, -1.0), (0.0, 1.0, 0.0)),
}


@dataclass
class MeshBuilder:
    """Accumulates triangles for one material."""

    positions: list[V3] = field(default_factory=list)
    normals: list[V3] = field(default_factory=list)
    uvs: list[tuple[float, float]] = field(default_factory=list)
    indices: list[int] = field(default_factory=list)

    @property
    def vertex_count(self) -> int:
        return len(self.positions)

    def add_quad(self, corners: tuple[V3, V3, V3, V3], normal: V3, uv: UVRect = FULL_UV) -> None:
        """A planar quad; corners go bottom-left, bottom-right, top-right, top-left as seen
        from the side ``normal`` points to (the winding is fixed up if given the other way)."""
        p0, p1, p2, p3 = corners
        n = norm(normal)
        u0, v0, u1, v1 = uv
        tex = [(u0, v1), (u1, v1), (u1, v0), (u0, v0)]
        base = len(self.positions)
        self.positions.extend(corners)
        self.normals.extend([n] * 4)
        self.uvs.extend(tex)
        if dot(cross(sub(p1, p0), sub(p2, p0)), n) >= 0.0:
            self.indices.extend([base, base + 1, base + 2, base, base + 2, base + 3])
        else:
            self.indices.extend([base, base + 2, base + 1, base, base + 3, base + 2])

    def add_box(
        self,
        frame: Frame,
        center: V3,
        size: V3,
        uv: dict[str, UVRect] | UVRect | None = None,
        skip: tuple[str, ...] = (),
    ) -> None:
        """An axis-aligned box in ``frame`` (centre and full size in local coordinates).

        ``uv`` maps face names ("+x", "-z", ...) to UV rectangles, or gives one for all."""
        half = (size[0] / 2.0, size[1] / 2.0, size[2] / 2.0)
        for name, (n, up) in _FACES.items():
            if name in skip:
                continue
            right = cross(scale(n, -1.0), up)
            hn = abs(dot(n, half))
            hr = abs(dot(right, half))
            hu = abs(dot(up, half))
            c = add(center, scale(n, hn))
            r = scale(right, hr)
            u = scale(up, hu)
            local = (sub(sub(c, r), u), sub(add(c, r), u), add(add(c, r), u), add(sub(c, r), u))
            rect = uv.get(name, FULL_UV) if isinstance(uv, dict) else (uv or FULL_UV)
            self.add_quad(tuple(frame.point(p) for p in local), frame.vector(n), rect)  # type: ignore[arg-type]

    def add_panel(self, frame: Frame, center: V3, width: float, height: float, uv: UVRect = FULL_UV) -> None:
        """A one-sided rectangle facing the frame's forward (local -Z), e.g. a screen or picture;
        the image reads upright and unmirrored to a viewer in front of it."""
        cx, cy, cz = center
        w, h = width / 2.0, height / 2.0
        local = ((cx + w, cy - h, cz), (cx - w, cy - h, cz), (cx - w, cy + h, cz), (cx + w, cy + h, cz))
        self.add_quad(tuple(frame.point(p) for p in local), frame.vector((0.0, 0.0, -1.0)), uv)  # type: ignore[arg-type]

    def add_cylinder(self, frame: Frame, base: V3, radius: float, height: float, segments: int = 10,
                     caps: bool = True) -> None:
        """A vertical cylinder standing on ``base`` (local)."""
        bx, by, bz = base
        ring = []
        for i in range(segments + 1):
            a = 2.0 * math.pi * i / segments
            ring.append((math.sin(a), math.cos(a)))
        start = len(self.positions)
        for i, (s, c) in enumerate(ring):
            n = frame.vector((s, 0.0, c))
            u = i / segments
            self.positions.append(frame.point((bx + radius * s, by, bz + radius * c)))
            self.normals.append(n)
            self.uvs.append((u, 1.0))
            self.positions.append(frame.point((bx + radius * s, by + height, bz + radius * c)))
            self.normals.append(n)
            self.uvs.append((u, 0.0))
        for i in range(segments):
            a, b = start + 2 * i, start + 2 * i + 2
            self.indices.extend([a, b, b + 1, a, b + 1, a + 1])
        if caps:
            for y, ny in ((by + height, 1.0), (by, -1.0)):
                c0 = len(self.positions)
                n = frame.vector((0.0, ny, 0.0))
                self.positions.append(frame.point((bx, y, bz)))
                self.normals.append(n)
                self.uvs.append((0.5, 0.5))
                for s, c in ring[:-1]:
                    self.positions.append(frame.point((bx + radius * s, y, bz + radius * c)))
                    self.normals.append(n)
                    self.uvs.append((0.5 + 0.5 * s, 0.5 - 0.5 * c))
                for i in range(segments):
                    a, b = c0 + 1 + i, c0 + 1 + (i + 1) % segments
                    if ny > 0:
                        self.indices.extend([c0, a, b])
                    else:
                        self.indices.extend([c0, b, a])

    def add_disc(self, frame: Frame, center: V3, radius: float, segments: int = 24) -> None:
        """A flat disc facing the frame's forward (local -Z)."""
        cx, cy, cz = center
        c0 = len(self.positions)
        n = frame.vector((0.0, 0.0, -1.0))
        self.positions.append(frame.point(center))
        self.normals.append(n)
        self.uvs.append((0.5, 0.5))
        for i in range(segments):
            a = 2.0 * math.pi * i / segments
            s, c = math.sin(a), math.cos(a)
            self.positions.append(frame.point((cx - radius * c, cy + radius * s, cz)))
            self.normals.append(n)
            self.uvs.append((0.5 + 0.5 * c, 0.5 - 0.5 * s))
        for i in range(segments):
            self.indices.extend([c0, c0 + 1 + i, c0 + 1 + (i + 1) % segments])

    def add_sector_slab(self, center: V3, r0: float, r1: float, a0_deg: float, a1_deg: float,
                        y0: float, y1: float, segments: int, faces: tuple[str, ...] = ("top", "front", "back", "sides")
                        ) -> None:
        """An annular sector slab around vertical axis through ``center`` (world), from radius
        ``r0`` to ``r1``, angle ``a0``..``a1`` (degrees from +Z toward +X), between heights y0..y1.
        "front" is the face at r0 (facing the centre)."""
        cx, _, cz = center

        def pt(r: float, a: float, y: float) -> V3:
            return (cx + r * math.sin(a), y, cz + r * math.cos(a))

        angles = [math.radians(a0_deg + (a1_deg - a0_deg) * i / segments) for i in range(segments + 1)]
        for i in range(segments):
            a, b = angles[i], angles[i + 1]
            mid = (a + b) / 2.0
            radial = (math.sin(mid), 0.0, math.cos(mid))
            if "top" in faces:
                self.add_quad((pt(r0, a, y1), pt(r0, b, y1), pt(r1, b, y1), pt(r1, a, y1)), (0.0, 1.0, 0.0))
            if "front" in faces and y1 > y0:
                self.add_quad((pt(r0, b, y0), pt(r0, a, y0), pt(r0, a, y1), pt(r0, b, y1)), scale(radial, -1.0))
            if "back" in faces and y1 > y0:
                self.add_quad((pt(r1, a, y0), pt(r1, b, y0), pt(r1, b, y1), pt(r1, a, y1)), radial)
        if "sides" in faces and y1 > y0:
            for a, sign in ((angles[0], -1.0), (angles[-1], 1.0)):
                tangent = (math.cos(a) * sign, 0.0, -math.sin(a) * sign)
                self.add_quad((pt(r0, a, y0), pt(r1, a, y0), pt(r1, a, y1), pt(r0, a, y1)), tangent)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        pos = np.array(self.positions, dtype=np.float64).astype(np.float32).reshape(-1, 3)
        nrm = np.array(self.normals, dtype=np.float64).astype(np.float32).reshape(-1, 3)
        uv = np.array(self.uvs, dtype=np.float64).astype(np.float32).reshape(-1, 2)
        idx = np.array(self.indices, dtype=np.uint32)
        return pos, nrm, uv, idx


class Builders(dict[str, MeshBuilder]):
    """Material name -> its builder (created on first use): one merged mesh per material."""

    def __missing__(self, key: str) -> MeshBuilder:
        b = MeshBuilder()
        self[key] = b
        return b
