"""A procedural 26-joint hand (XR_EXT_hand_tracking layout) for shapes and controller poses.

Used where no articulated hand tracking is available: a hand synthesized from the controller
(trigger curls the index finger, squeeze the other three, a touched thumb rest folds the thumb),
the desktop mouse hand, and the simulated headset's named hand shapes.

Wrist-local frame: +X to the right, +Y the back of the hand, -Z along the fingers; a right
hand has its thumb on -X. Joint orientations follow OpenXR: -Z points along the bone to the
next joint, +Y is the back of the finger.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import numpy.typing as npt

from vrdiplomacy.input.frame import HAND_JOINT_COUNT, HandJoints
from vrdiplomacy.scene.math3d import Pose, quat_from_axis_angle, quat_mul, quat_to_mat3

# curls per finger in [0, 1]: thumb, index, middle, ring, little
SHAPES: dict[str, tuple[float, float, float, float, float]] = {
    "open": (0.0, 0.0, 0.0, 0.0, 0.0),
    "relaxed": (0.2, 0.15, 0.2, 0.25, 0.3),
    "fist": (0.8, 1.0, 1.0, 1.0, 1.0),
    "point": (0.8, 0.0, 1.0, 1.0, 1.0),
    "pinch": (0.55, 0.55, 0.25, 0.3, 0.35),
    "grip": (0.6, 0.8, 0.9, 0.9, 0.9),
    "thumbs_up": (0.0, 1.0, 1.0, 1.0, 1.0),
}

# finger base (proximal joint = knuckle) in wrist-local metres, for a right hand
_KNUCKLES = {1: (-0.024, 0.0, -0.088), 2: (-0.004, 0.0, -0.092), 3: (0.014, 0.0, -0.087), 4: (0.030, -0.003, -0.078)}
_LENGTHS = {1: (0.040, 0.024, 0.021), 2: (0.044, 0.028, 0.022), 3: (0.041, 0.027, 0.021), 4: (0.032, 0.020, 0.019)}
_BEND = (math.radians(80), math.radians(100), math.radians(70))
_RADII = np.array(
    [0.025, 0.022] + [0.017, 0.013, 0.011, 0.009] + [0.015, 0.011, 0.009, 0.008, 0.007] * 4, np.float32
)


def _chain(origin: npt.NDArray[np.float64], base_q: npt.NDArray[np.float32], lengths: tuple[float, ...],
           bends: list[float]) -> tuple[list[npt.NDArray[np.float64]], list[npt.NDArray[np.float32]]]:
    pos, q = origin.copy(), base_q
    ps, qs = [], []
    for length, bend in zip(lengths, bends):
        q = quat_mul(q, quat_from_axis_angle((1, 0, 0), -bend))
        ps.append(pos.copy())
        qs.append(q)
        pos = pos + quat_to_mat3(q).astype(np.float64) @ np.array([0.0, 0.0, -length])
    ps.append(pos)
    qs.append(q)
    return ps, qs


@functools.lru_cache(maxsize=512)
def _local_hand(side: str, curls: tuple[float, float, float, float, float]) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Joint positions (26, 3) and orientations (26, 4) in the wrist frame."""
    mirror = -1.0 if side == "left" else 1.0
    pos = np.zeros((HAND_JOINT_COUNT, 3), np.float64)
    ori = np.tile(np.array([0, 0, 0, 1], np.float32), (HAND_JOINT_COUNT, 1))
    ident = np.array([0, 0, 0, 1], np.float32)
    pos[0] = (0.0, -0.005, -0.045)  # palm
    pos[1] = (0.0, 0.0, 0.0)  # wrist
    # thumb: metacarpal leaves the wrist towards the thumb side and forward, then curls across the palm
    t = curls[0]
    thumb_dir = quat_mul(quat_from_axis_angle((0, 1, 0), mirror * math.radians(35)), quat_from_axis_angle((0, 0, 1), mirror * math.radians(-40)))
    thumb_curl = quat_from_axis_angle((0, 1, 0), -mirror * math.radians(55) * t)
    base = quat_mul(thumb_curl, thumb_dir)
    ps, qs = _chain(np.array([mirror * -0.020, -0.012, -0.025]), base, (0.040, 0.032, 0.028), [0.0, 0.6 * t, 0.9 * t])
    for k, j in enumerate(range(2, 6)):
        pos[j], ori[j] = ps[k], qs[k]
    for f in range(1, 5):
        c = curls[f]
        kx, ky, kz = _KNUCKLES[f]
        knuckle = np.array([mirror * kx, ky, kz])
        meta = np.array([mirror * kx * 0.45, 0.0, -0.02])
        j0 = 6 + (f - 1) * 5
        pos[j0] = meta
        ori[j0] = ident
        ps, qs = _chain(knuckle, ident, _LENGTHS[f], [b * c for b in _BEND])
        for k in range(4):
            pos[j0 + 1 + k], ori[j0 + 1 + k] = ps[k], qs[k]
    return pos.astype(np.float32), ori


def _quat_mul_many(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    ax, ay, az, aw = a
    bx, by, bz, bw = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    return np.stack(
        [aw * bx + ax * bw + ay * bz - az * by, aw * by - ax * bz + ay * bw + az * bx,
         aw * bz + ax * by - ay * bx + az * bw, aw * bw - ax * bx - ay * by - az * bz], axis=1
    ).astype(np.float32)


def curls_for(shape: str) -> tuple[float, float, float, float, float]:
    try:
        return SHAPES[shape]
    except KeyError:
        raise ValueError(f"unknown hand shape '{shape}' (known: {', '.join(SHAPES)})") from None


def hand_joints(side: str, wrist: Pose, curls: tuple[float, float, float, float, float], out: HandJoints | None = None) -> HandJoints:
    """All 26 joints of a ``side`` hand with its wrist at ``wrist`` (scene space), all valid."""
    q = tuple(round(float(c), 2) for c in curls)
    lp, lo = _local_hand(side, q)  # type: ignore[arg-type]
    r = quat_to_mat3(wrist.orientation)
    hj = out or HandJoints()
    hj.positions[:] = lp @ r.T + np.asarray(wrist.position, np.float32)
    hj.orientations[:] = _quat_mul_many(np.asarray(wrist.orientation, np.float32), lo)
    hj.radii[:] = _RADII
    hj.valid[:] = True
    return hj


def shape_joints(side: str, wrist: Pose, shape: str) -> HandJoints:
    return hand_joints(side, wrist, curls_for(shape))


def controller_curls(trigger: float, squeeze: float, thumb_touch: bool) -> tuple[float, float, float, float, float]:
    """Finger curls a controller's values imply: the index follows the trigger, the rest the squeeze."""
    s = min(max(squeeze, 0.0), 1.0)
    return (0.7 if thumb_touch else 0.2, min(max(trigger, 0.0), 1.0), s, s, s)
