"""Rigid pose arithmetic for the runtime's space locations (numpy, float32 out)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from vrdiplomacy.scene.math3d import Pose, quat_mul, quat_to_mat3


def compose(a: Pose, b: Pose) -> Pose:
    """``a`` then ``b`` in ``a``'s frame: the pose of b's frame expressed where a is expressed."""
    return Pose((a.position + quat_to_mat3(a.orientation) @ b.position).astype(np.float32), quat_mul(a.orientation, b.orientation))


def inverse(a: Pose) -> Pose:
    q = np.array([-a.orientation[0], -a.orientation[1], -a.orientation[2], a.orientation[3]], np.float32)
    return Pose((-(quat_to_mat3(q) @ a.position)).astype(np.float32), q)


def relative(base: Pose, x: Pose) -> Pose:
    """``x`` expressed in ``base``'s frame."""
    return compose(inverse(base), x)


def is_identity(p: Pose) -> bool:
    return bool(not p.position.any() and p.orientation[3] == 1.0)


def relative_many(base: Pose, positions: npt.NDArray[np.float32], orientations: npt.NDArray[np.float32]) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Many poses (N,3)/(N,4) expressed in ``base``'s frame."""
    inv = inverse(base)
    r = quat_to_mat3(inv.orientation)
    pos = positions @ r.T + inv.position
    ax, ay, az, aw = inv.orientation
    b = orientations
    bx, by, bz, bw = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    ori = np.stack(
        [aw * bx + ax * bw + ay * bz - az * by, aw * by - ax * bz + ay * bw + az * bx,
         aw * bz + ax * by - ay * bx + az * bw, aw * bw - ax * bx - ay * by - az * bz], axis=1
    )
    return pos.astype(np.float32), ori.astype(np.float32)
