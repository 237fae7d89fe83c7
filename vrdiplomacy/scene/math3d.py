"""Small 3D math on numpy arrays, OpenXR conventions.

Right-handed, metres, +Y up, -Z forward. Quaternions are ``(x, y, z, w)`` like
OpenXR's ``XrQuaternionf``. Matrices are 4x4 float32, column vectors
(``p' = M @ p``); hand them to GL with ``transpose=True`` or as ``M.T``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

Vec3 = npt.NDArray[np.float32]
Quat = npt.NDArray[np.float32]
Mat4 = npt.NDArray[np.float32]


def vec3(x: float = 0.0, y: float = 0.0, z: float = 0.0) -> Vec3:
    return np.array([x, y, z], dtype=np.float32)


def quat_identity() -> Quat:
    return np.array([0.0, 0.0, 0.0, 1.0], dtype=np.float32)


def quat_from_axis_angle(axis: npt.ArrayLike, angle_rad: float) -> Quat:
    a = np.asarray(axis, dtype=np.float64)
    n = float(np.linalg.norm(a))
    if n == 0.0:
        return quat_identity()
    a = a / n
    s = math.sin(angle_rad / 2.0)
    return np.array([a[0] * s, a[1] * s, a[2] * s, math.cos(angle_rad / 2.0)], dtype=np.float32)


def quat_from_yaw_pitch_roll(yaw_rad: float, pitch_rad: float = 0.0, roll_rad: float = 0.0) -> Quat:
    """Yaw about +Y, then pitch about the new +X, then roll about the new -Z."""
    qy = quat_from_axis_angle((0, 1, 0), yaw_rad)
    qp = quat_from_axis_angle((1, 0, 0), pitch_rad)
    qr = quat_from_axis_angle((0, 0, 1), roll_rad)
    return quat_mul(quat_mul(qy, qp), qr)


def quat_mul(a: npt.ArrayLike, b: npt.ArrayLike) -> Quat:
    ax, ay, az, aw = np.asarray(a, dtype=np.float64)
    bx, by, bz, bw = np.asarray(b, dtype=np.float64)
    return np.array(
        [
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
            aw * bw - ax * bx - ay * by - az * bz,
        ],
        dtype=np.float32,
    )


def quat_normalize(q: npt.ArrayLike) -> Quat:
    a = np.asarray(q, dtype=np.float64)
    n = float(np.linalg.norm(a))
    if n == 0.0:
        return quat_identity()
    return (a / n).astype(np.float32)


def quat_to_mat3(q: npt.ArrayLike) -> npt.NDArray[np.float32]:
    x, y, z, w = quat_normalize(q).astype(np.float64)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ],
        dtype=np.float32,
    )


def quat_rotate(q: npt.ArrayLike, v: npt.ArrayLike) -> Vec3:
    return (quat_to_mat3(q) @ np.asarray(v, dtype=np.float32)).astype(np.float32)


def quat_slerp(a: npt.ArrayLike, b: npt.ArrayLike, t: float) -> Quat:
    qa = quat_normalize(a).astype(np.float64)
    qb = quat_normalize(b).astype(np.float64)
    d = float(np.dot(qa, qb))
    if d < 0.0:
        qb, d = -qb, -d
    if d > 0.9995:
        return quat_normalize(qa + t * (qb - qa))
    th = math.acos(d)
    s = math.sin(th)
    return quat_normalize((math.sin((1 - t) * th) * qa + math.sin(t * th) * qb) / s)


def mat4_identity() -> Mat4:
    return np.eye(4, dtype=np.float32)


def mat4_translate(t: npt.ArrayLike) -> Mat4:
    m = np.eye(4, dtype=np.float32)
    m[:3, 3] = np.asarray(t, dtype=np.float32)
    return m


def mat4_scale(s: npt.ArrayLike | float) -> Mat4:
    m = np.eye(4, dtype=np.float32)
    sv = np.broadcast_to(np.asarray(s, dtype=np.float32), (3,))
    m[0, 0], m[1, 1], m[2, 2] = sv
    return m


def mat4_from_pose(position: npt.ArrayLike, orientation: npt.ArrayLike, scale: npt.ArrayLike | float = 1.0) -> Mat4:
    m = np.eye(4, dtype=np.float32)
    sv = np.broadcast_to(np.asarray(scale, dtype=np.float32), (3,))
    m[:3, :3] = quat_to_mat3(orientation) * sv[np.newaxis, :]
    m[:3, 3] = np.asarray(position, dtype=np.float32)
    return m


def mat4_inverse_rigid(m: Mat4) -> Mat4:
    """Inverse of a rotation+translation matrix (no scale)."""
    r = m[:3, :3]
    out = np.eye(4, dtype=np.float32)
    out[:3, :3] = r.T
    out[:3, 3] = -(r.T @ m[:3, 3])
    return out


def mat4_perspective_fov(
    angle_left: float, angle_right: float, angle_up: float, angle_down: float, near: float, far: float
) -> Mat4:
    """OpenXR-style asymmetric projection (angles in radians, left/down negative), GL clip space."""
    tl, tr = math.tan(angle_left), math.tan(angle_right)
    tu, td = math.tan(angle_up), math.tan(angle_down)
    w, h = tr - tl, tu - td
    m = np.zeros((4, 4), dtype=np.float32)
    m[0, 0] = 2.0 / w
    m[0, 2] = (tr + tl) / w
    m[1, 1] = 2.0 / h
    m[1, 2] = (tu + td) / h
    m[2, 2] = -(far + near) / (far - near)
    m[2, 3] = -(2.0 * far * near) / (far - near)
    m[3, 2] = -1.0
    return m


def view_projection_colmajor(
    position: npt.ArrayLike, orientation: npt.ArrayLike,
    angles: tuple[float, float, float, float], near: float, far: float,
) -> list[float]:
    """``projection @ inverse(pose)`` as 16 floats in column-major (GL uniform) order.

    The same matrix as ``mat4_perspective_fov(*angles, near, far) @ Pose(...).inverse_matrix()``,
    in plain Python floats: the renderer calls it per view per frame, where a dozen small numpy
    operations cost more than the arithmetic. ``angles`` are OpenXR's left, right, up, down."""
    px, py, pz = (float(v) for v in position)  # type: ignore[union-attr]
    x, y, z, w = (float(v) for v in orientation)  # type: ignore[union-attr]
    n = math.sqrt(x * x + y * y + z * z + w * w)
    if n == 0.0:
        x, y, z, w = 0.0, 0.0, 0.0, 1.0
    else:
        x, y, z, w = x / n, y / n, z / n, w / n
    r00, r01, r02 = 1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)
    r10, r11, r12 = 2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)
    r20, r21, r22 = 2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)
    # view = [R^T | -R^T p]
    v = ((r00, r10, r20, -(r00 * px + r10 * py + r20 * pz)),
         (r01, r11, r21, -(r01 * px + r11 * py + r21 * pz)),
         (r02, r12, r22, -(r02 * px + r12 * py + r22 * pz)))
    tl, tr, tu, td = (math.tan(a) for a in angles)
    wd, ht = tr - tl, tu - td
    a00, a02 = 2.0 / wd, (tr + tl) / wd
    a11, a12 = 2.0 / ht, (tu + td) / ht
    a22, a23 = -(far + near) / (far - near), -(2.0 * far * near) / (far - near)
    out: list[float] = []
    for c in range(4):
        v0, v1, v2 = v[0][c], v[1][c], v[2][c]
        v3 = 1.0 if c == 3 else 0.0
        out += (a00 * v0 + a02 * v2, a11 * v1 + a12 * v2, a22 * v2 + a23 * v3, -v2)
    return out


@dataclass
class Pose:
    """A rigid pose: position in metres, orientation as a unit quaternion (x, y, z, w)."""

    position: Vec3 = field(default_factory=vec3)
    orientation: Quat = field(default_factory=quat_identity)

    def matrix(self) -> Mat4:
        return mat4_from_pose(self.position, self.orientation)

    def inverse_matrix(self) -> Mat4:
        return mat4_inverse_rigid(self.matrix())

    def forward(self) -> Vec3:
        return quat_rotate(self.orientation, (0.0, 0.0, -1.0))

    def transform_point(self, p: npt.ArrayLike) -> Vec3:
        return (quat_rotate(self.orientation, p) + self.position).astype(np.float32)

    @staticmethod
    def from_yaw(position: npt.ArrayLike, yaw_deg: float, pitch_deg: float = 0.0) -> "Pose":
        return Pose(
            np.asarray(position, dtype=np.float32),
            quat_from_yaw_pitch_roll(math.radians(yaw_deg), math.radians(pitch_deg)),
        )


def yaw_towards(frm: npt.ArrayLike, to: npt.ArrayLike) -> float:
    """Yaw in degrees (about +Y, 0 = facing -Z) that turns ``frm`` to face ``to``."""
    d = np.asarray(to, dtype=np.float64) - np.asarray(frm, dtype=np.float64)
    return math.degrees(math.atan2(-d[0], -d[2]))
