"""A procedural 26-joint hand (XR_EXT_hand_tracking layout) for shapes and controller poses.

Used where no articulated hand tracking is available: a hand synthesized from the controller
(trigger curls the index finger, squeeze the other three, a touched thumb rest folds the thumb),
the desktop mouse hand, and the simulated headset's named hand shapes.

Wrist-local frame (the "hand frame"): +Y the back of the hand, -Z along the fingers (wrist to
knuckles); a right hand has its thumb on -X, a left hand on +X. Joint orientations follow
XR_EXT_hand_tracking: -Z points along the bone to the next joint, +Y is the back of the finger.

Controller poses (OpenXR 1.0/1.1 specification, chapter "Semantic Paths", section "Standard
pose identifiers", anchor ``#semantic-paths-standard-pose-identifiers``; §6.3 in 1.0):

* **grip** (``.../input/grip/pose``): position at the palm centroid of the closed hand, on the
  palm's surface. +X is the palm normal -- *into* the palm of a right hand (so out of its back),
  *away from* the palm of a left hand (out of its palm); in both cases +X points to the right
  when the hand holds a controller in front of the body. **-Z runs through the tube formed by
  the curled non-thumb fingers, from the little finger towards the thumb** -- not along the
  fingers: a thumbs-up points grip -Z upwards. +Y completes a right-handed frame.
* **aim** (``.../input/aim/pose``): a ray for pointing, +Y up, +X right, -Z forward, "according
  to the platform's conventions" -- runtime-defined relative to grip, so it is used as given and
  never derived from grip.
* **grip_surface** (OpenXR 1.1, ``.../input/grip_surface/pose``; XR_EXT_palm_pose's
  ``.../input/palm_ext/pose`` in 1.0): palm centroid on the palm's surface, -Z along the
  straightened index finger, +X the palm normal with the same handedness rule as grip.

Every standard interaction profile (khr/simple_controller, oculus/touch_controller,
valve/index_controller, htc/vive_controller, microsoft/motion_controller; spec section
"Interaction Profiles") offers grip and aim with these same definitions: the definitions are
per hand, not per profile, so :data:`PROFILE_POSES` maps every profile to one convention.

So in the hand frame, a right hand's grip axes are X = +Y(back of hand), Y = +Z (towards the
wrist), Z = +X (little-finger side); a left hand's are X = -Y, Y = +Z, Z = -X.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import numpy.typing as npt

from vrdiplomacy.input.frame import HAND_JOINT_COUNT, HandJoints
from vrdiplomacy.scene.math3d import Pose, quat_from_axis_angle, quat_mul, quat_to_mat3

# Which pose identifiers each standard interaction profile offers (OpenXR 1.1 spec, "Interaction
# Profiles"; grip_surface was added to all of them in 1.1, palm_ext is XR_EXT_palm_pose in 1.0).
PROFILE_POSES: dict[str, tuple[str, ...]] = {
    f"/interaction_profiles/{name}": ("grip", "aim", "grip_surface")
    for name in ("khr/simple_controller", "oculus/touch_controller", "valve/index_controller", "htc/vive_controller",
                 "microsoft/motion_controller")
}

# Hand-frame axes (columns) expressed in the controller pose's axes: hand = pose * rotation.
_POSE_TO_HAND_MAT: dict[tuple[str, str], tuple[tuple[float, float, float], ...]] = {
    # grip: hand X = grip Z, hand Y = grip X, hand Z = grip Y (right); X = -Z, Y = -X, Z = Y (left)
    ("grip", "right"): ((0, 1, 0), (0, 0, 1), (1, 0, 0)),
    ("grip", "left"): ((0, -1, 0), (0, 0, 1), (-1, 0, 0)),
    # grip_surface: hand Z = surface Z (fingers along -Z), hand Y = surface X (right) / -X (left)
    ("grip_surface", "right"): ((0, 1, 0), (-1, 0, 0), (0, 0, 1)),
    ("grip_surface", "left"): ((0, -1, 0), (1, 0, 0), (0, 0, 1)),
}
PALM_BELOW_GRIP = 0.02  # metres from the grip point (palm surface) to the palm joint, towards the back of the hand


def _mat_quat(m: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
    """Quaternion (x, y, z, w) of a rotation matrix."""
    w = math.sqrt(max(0.0, 1.0 + m[0, 0] + m[1, 1] + m[2, 2])) / 2
    x = math.copysign(math.sqrt(max(0.0, 1.0 + m[0, 0] - m[1, 1] - m[2, 2])) / 2, m[2, 1] - m[1, 2])
    y = math.copysign(math.sqrt(max(0.0, 1.0 - m[0, 0] + m[1, 1] - m[2, 2])) / 2, m[0, 2] - m[2, 0])
    z = math.copysign(math.sqrt(max(0.0, 1.0 - m[0, 0] - m[1, 1] + m[2, 2])) / 2, m[1, 0] - m[0, 1])
    q = np.array([x, y, z, w])
    return (q / np.linalg.norm(q)).astype(np.float32)


POSE_TO_HAND: dict[tuple[str, str], npt.NDArray[np.float32]] = {
    k: _mat_quat(np.array(v, np.float64)) for k, v in _POSE_TO_HAND_MAT.items()
}


def hand_frame_from_pose(pose: Pose, side: str, kind: str = "grip") -> Pose:
    """The hand frame (see the module docstring) of a ``side`` hand holding a controller whose
    OpenXR ``kind`` pose ("grip" or "grip_surface") is ``pose``; its origin is the palm joint."""
    try:
        rot = POSE_TO_HAND[(kind, side)]
    except KeyError:
        raise ValueError(f"no hand frame for a {kind!r} pose of a {side!r} hand") from None
    q = quat_mul(pose.orientation, rot)
    m = quat_to_mat3(q).astype(np.float64)
    pos = np.asarray(pose.position, np.float64) + m @ np.array([0.0, PALM_BELOW_GRIP, 0.0])
    return Pose(pos.astype(np.float32), np.asarray(q, np.float32))


def pose_from_hand_frame(hand: Pose, side: str, kind: str = "grip") -> Pose:
    """Inverse of :func:`hand_frame_from_pose`: the controller pose for a hand frame."""
    rot = POSE_TO_HAND[(kind, side)]
    inv = np.array([-rot[0], -rot[1], -rot[2], rot[3]], np.float64)
    m = quat_to_mat3(hand.orientation).astype(np.float64)
    pos = np.asarray(hand.position, np.float64) - m @ np.array([0.0, PALM_BELOW_GRIP, 0.0])
    return Pose(pos.astype(np.float32), np.asarray(quat_mul(hand.orientation, inv), np.float32))


# the palm joint in the wrist-local frame (see _local_hand)
_PALM_IN_WRIST = np.array([0.0, -0.005, -0.045])


def wrist_from_grip(grip: Pose, side: str) -> Pose:
    """Where the wrist of :func:`hand_joints` goes for a hand holding a controller at ``grip``."""
    hand = hand_frame_from_pose(grip, side)
    m = quat_to_mat3(hand.orientation).astype(np.float64)
    return Pose((np.asarray(hand.position, np.float64) - m @ _PALM_IN_WRIST).astype(np.float32), hand.orientation)


# curls per finger in [0, 1]: thumb, index, middle, ring, little; a thumb "curl" below 0 stretches
# the thumb out along the fist's tube (-1: a thumbs-up thumb, along grip -Z)
SHAPES: dict[str, tuple[float, float, float, float, float]] = {
    "open": (0.0, 0.0, 0.0, 0.0, 0.0),
    "relaxed": (0.2, 0.15, 0.2, 0.25, 0.3),
    "fist": (0.8, 1.0, 1.0, 1.0, 1.0),
    "point": (0.8, 0.0, 1.0, 1.0, 1.0),
    "pinch": (0.55, 0.55, 0.25, 0.3, 0.35),
    "grip": (0.6, 0.8, 0.9, 0.9, 0.9),
    "thumbs_up": (-1.0, 1.0, 1.0, 1.0, 1.0),
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
    t = max(curls[0], 0.0)
    stretch = max(-curls[0], 0.0)
    thumb_dir = quat_mul(quat_from_axis_angle((0, 1, 0), mirror * math.radians(35 + 50 * stretch)),
                         quat_from_axis_angle((0, 0, 1), mirror * math.radians(-40 * (1.0 - stretch))))
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
    """Finger curls a controller's values imply: the index follows the trigger, the rest the squeeze;
    a thumb off the buttons of a closed hand stretches out (thumbs up/down), else it rests."""
    s = min(max(squeeze, 0.0), 1.0)
    i = min(max(trigger, 0.0), 1.0)
    thumb = 0.7 if thumb_touch else -1.0 if min(s, i) >= 0.5 else 0.2
    return (thumb, i, s, s, s)


def controller_hand(side: str, grip: Pose, trigger: float, squeeze: float, thumb_touch: bool,
                    out: HandJoints | None = None) -> HandJoints:
    """The hand around a controller held at the OpenXR ``grip`` pose (see the module docstring)."""
    return hand_joints(side, wrist_from_grip(grip, side), controller_curls(trigger, squeeze, thumb_touch), out)
