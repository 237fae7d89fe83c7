"""Hand pose synthesis: 26 XR_EXT_hand_tracking joints from a few shape parameters.

Used by the dataset generator (simulated performers) and to give controller users a hand:
:func:`hand_from_controller` turns controller state (trigger, grip, thumb touch, grip pose)
into joints, so the same recognizers serve articulated hands and controllers.

Conventions follow XR_EXT_hand_tracking: each joint's -Z points along the bone towards the
finger tip, +Y out of the back of the hand. The palm frame of a right hand held flat, palm
down, fingers forward is the identity; its thumb lies towards -X. Left hands mirror X.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vrdiplomacy.gestures.mapping import ControllerMapping
from vrdiplomacy.input.frame import HAND_JOINT_COUNT, ControllerState, HandJoints, Joint
from vrdiplomacy.scene.math3d import Pose, quat_to_mat3
from vrdiplomacy.xr.skeleton import hand_frame_from_pose, pose_from_hand_frame

F64 = npt.NDArray[np.float64]

# Right hand, palm frame, scale 1.0 (an average adult hand), metres.
_WRIST = np.array([0.0, 0.0, 0.045])
_FINGER_BASE = np.array([[-0.012, 0.0, 0.035], [0.0, 0.0, 0.035], [0.010, 0.0, 0.035], [0.018, 0.0, 0.035]])
_KNUCKLE = np.array([[-0.024, 0.0, -0.040], [-0.004, 0.0, -0.043], [0.015, 0.0, -0.038], [0.032, 0.0, -0.030]])
_PHALANX = np.array([[0.040, 0.024, 0.020], [0.045, 0.028, 0.021], [0.042, 0.026, 0.020], [0.033, 0.019, 0.018]])
_SPLAY = np.array([-0.10, -0.02, 0.06, 0.14])  # x component of the open finger direction
_FLEX = np.radians([85.0, 105.0, 65.0])  # MCP, PIP, DIP flexion at curl 1
_THUMB_BASE = np.array([-0.020, -0.010, 0.030])
_THUMB_LEN = np.array([0.040, 0.032, 0.026])
_THUMB_OPEN = np.array([[-0.80, -0.25, -0.55], [-0.75, -0.15, -0.65], [-0.70, -0.10, -0.70]])
_THUMB_UP = np.array([[-0.90, -0.05, -0.45], [-1.0, 0.05, -0.10], [-1.0, 0.05, -0.05]])
_THUMB_FOLD = np.array([[-0.50, -0.60, -0.60], [0.30, -0.50, -0.80], [0.90, -0.10, -0.40]])
_RADII = np.array(
    [0.020, 0.018, 0.012, 0.011, 0.010, 0.009]
    + [0.011, 0.010, 0.009, 0.008, 0.007] * 2
    + [0.010, 0.009, 0.008, 0.007, 0.006]
    + [0.009, 0.008, 0.007, 0.006, 0.005]
)


def _unit(v: F64) -> F64:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


_THUMB_OPEN = _unit(_THUMB_OPEN)
_THUMB_UP = _unit(_THUMB_UP)
_THUMB_FOLD = _unit(_THUMB_FOLD)

@dataclass
class HandShape:
    """Shape parameters of one hand.

    Fields: ``curls`` index, middle, ring, little flexion in [0, 1] (0 straight, 1 fist);
    ``thumb_fold`` 0 = thumb out, 1 = folded across the fingers; ``thumb_up`` 0 = relaxed open
    thumb, 1 = thumb stretched along the fist's axis (thumbs up); ``scale`` the hand size
    (1.0 = average adult, about 19 cm wrist to middle tip).
    """

    curls: tuple[float, float, float, float] = (0.1, 0.1, 0.1, 0.1)
    thumb_fold: float = 0.0
    thumb_up: float = 0.0
    scale: float = 1.0


SHAPES: dict[str, HandShape] = {
    "open": HandShape((0.05, 0.05, 0.05, 0.05), 0.0, 0.0),
    "relaxed": HandShape((0.35, 0.4, 0.45, 0.5), 0.3, 0.0),
    "fist": HandShape((1.0, 1.0, 1.0, 1.0), 1.0, 0.0),
    "point": HandShape((0.0, 0.95, 1.0, 1.0), 0.8, 0.0),
    "thumb": HandShape((1.0, 1.0, 1.0, 1.0), 0.0, 1.0),
}


def _finger_dirs(curl: float, splay: float) -> F64:
    """Directions of the three phalanges of a finger (palm frame) for a curl value."""
    angles = np.cumsum(_FLEX * float(np.clip(curl, 0.0, 1.0)))
    d = np.stack([np.full(3, splay * (1.0 - curl)), -np.sin(angles), -np.cos(angles)], axis=1)
    return _unit(d)


def local_joints(shape: HandShape, side: str) -> F64:
    """Joint positions (26, 3) in the palm frame of ``side`` ("left"/"right")."""
    s = float(shape.scale)
    p = np.zeros((HAND_JOINT_COUNT, 3))
    p[Joint.WRIST] = _WRIST
    for f in range(4):
        first = Joint.INDEX_METACARPAL + 5 * f
        p[first] = _FINGER_BASE[f]
        p[first + 1] = _KNUCKLE[f]
        dirs = _finger_dirs(shape.curls[f], _SPLAY[f])
        cur = _KNUCKLE[f].copy()
        for k in range(3):
            cur = cur + dirs[k] * _PHALANX[f, k]
            p[first + 2 + k] = cur
    fold = float(np.clip(shape.thumb_fold, 0.0, 1.0))
    up = float(np.clip(shape.thumb_up, 0.0, 1.0))
    ext = _unit((1.0 - up) * _THUMB_OPEN + up * _THUMB_UP)
    tdirs = _unit((1.0 - fold) * ext + fold * _THUMB_FOLD)
    cur = _THUMB_BASE.copy()
    p[Joint.THUMB_METACARPAL] = cur
    for k in range(3):
        cur = cur + tdirs[k] * _THUMB_LEN[k]
        p[Joint.THUMB_PROXIMAL + k] = cur
    p[Joint.PALM] = 0.5 * (_FINGER_BASE[1] + _KNUCKLE[1])
    p *= s
    if side == "left":
        p[:, 0] = -p[:, 0]
    return p


# Each joint's bone runs towards this joint (the tip and palm use their predecessor's bone).
_NEXT = np.array(
    [Joint.MIDDLE_PROXIMAL, Joint.MIDDLE_METACARPAL]
    + [j + 1 for j in range(Joint.THUMB_METACARPAL, Joint.THUMB_TIP)]
    + [Joint.THUMB_TIP]
    + sum(([b + 1, b + 2, b + 3, b + 4, b + 4] for b in range(Joint.INDEX_METACARPAL, 26, 5)), [])
)
_PREV = np.array(
    [Joint.MIDDLE_METACARPAL, Joint.WRIST]
    + list(range(Joint.THUMB_METACARPAL, Joint.THUMB_TIP))
    + [Joint.THUMB_DISTAL]
    + sum(([b, b, b + 1, b + 2, b + 3] for b in range(Joint.INDEX_METACARPAL, 26, 5)), [])
)


def _mat_to_quat(m: F64) -> F64:
    """Rotation matrices (n, 3, 3) -> quaternions (n, 4) xyzw."""
    out = np.empty((m.shape[0], 4))
    tr = m[:, 0, 0] + m[:, 1, 1] + m[:, 2, 2]
    w = np.sqrt(np.maximum(0.0, 1.0 + tr)) / 2
    x = np.sqrt(np.maximum(0.0, 1.0 + m[:, 0, 0] - m[:, 1, 1] - m[:, 2, 2])) / 2
    y = np.sqrt(np.maximum(0.0, 1.0 - m[:, 0, 0] + m[:, 1, 1] - m[:, 2, 2])) / 2
    z = np.sqrt(np.maximum(0.0, 1.0 - m[:, 0, 0] - m[:, 1, 1] + m[:, 2, 2])) / 2
    out[:, 0] = np.copysign(x, m[:, 2, 1] - m[:, 1, 2])
    out[:, 1] = np.copysign(y, m[:, 0, 2] - m[:, 2, 0])
    out[:, 2] = np.copysign(z, m[:, 1, 0] - m[:, 0, 1])
    out[:, 3] = w
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def joint_orientations(world: F64, palm_rot: F64) -> F64:
    """Joint orientations (26, 4): -Z along each bone, +Y towards the back of the hand."""
    bone = world[_NEXT] - world[_PREV]
    n = np.linalg.norm(bone, axis=1, keepdims=True)
    fwd = np.where(n > 1e-9, bone / np.maximum(n, 1e-9), -palm_rot[:, 2])
    z = -fwd
    x = np.cross(np.broadcast_to(palm_rot[:, 1], z.shape), z)
    xn = np.linalg.norm(x, axis=1, keepdims=True)
    x = np.where(xn > 1e-6, x / np.maximum(xn, 1e-6), palm_rot[:, 0])
    y = np.cross(z, x)
    return _mat_to_quat(np.stack([x, y, z], axis=2))


def hand_joints(
    palm: Pose, shape: HandShape, side: str, orientations: bool = True, rng: np.random.Generator | None = None,
    noise: float = 0.0,
) -> HandJoints:
    """World-space joints for a hand whose PALM joint has pose ``palm``.

    ``noise`` adds Gaussian position jitter (metres, per joint) drawn from ``rng``.
    """
    rot = quat_to_mat3(palm.orientation).astype(np.float64)
    world = local_joints(shape, side) @ rot.T + np.asarray(palm.position, np.float64)
    if noise > 0.0 and rng is not None:
        world = world + rng.normal(0.0, noise, world.shape)
    hj = HandJoints()
    hj.positions = world.astype(np.float32)
    if orientations:
        hj.orientations = joint_orientations(world, rot).astype(np.float32)
    hj.radii = (_RADII * shape.scale).astype(np.float32)
    hj.valid = np.ones(HAND_JOINT_COUNT, np.bool_)
    return hj


def palm_from_grip(grip: Pose, side: str) -> Pose:
    """The palm pose of a hand holding a controller whose OpenXR grip pose is ``grip``.

    OpenXR grip (spec chapter "Semantic Paths", "Standard pose identifiers"): -Z runs through
    the curled fingers from the little finger to the thumb, +X is the palm normal (into a right
    palm, out of a left one). The palm frame here has -Z along the fingers, so the two differ by
    a quarter turn about two axes; :func:`vrdiplomacy.xr.skeleton.hand_frame_from_pose` has it."""
    return hand_frame_from_pose(grip, side, "grip")


def grip_from_palm(palm: Pose, side: str) -> Pose:
    """Inverse of :func:`palm_from_grip` (used when simulating controller users)."""
    return pose_from_hand_frame(palm, side, "grip")


def shape_from_controller(state: ControllerState, mapping: ControllerMapping | None = None) -> HandShape:
    """The hand shape a controller's buttons express (see :class:`ControllerMapping`)."""
    m = mapping or ControllerMapping()
    index = mapping_axis(state, m.index_axis)
    if state.trigger_touch and m.index_axis == "trigger":
        index = max(index, m.touch_curl)
    fingers = mapping_axis(state, m.fingers_axis)
    thumb_down = any(bool(getattr(state, name)) for name in m.thumb_down)
    fist = fingers >= m.thumb_up_grip and index >= m.thumb_up_grip
    thumb_up = 1.0 if (not thumb_down and fist) else 0.0
    return HandShape(
        (index, fingers, fingers, fingers),
        thumb_fold=(0.8 if fingers >= m.thumb_up_grip else 0.4) if thumb_down else 0.0,
        thumb_up=thumb_up,
        scale=m.hand_scale,
    )


def mapping_axis(state: ControllerState, axis: str) -> float:
    return float(np.clip(state.trigger if axis == "trigger" else state.squeeze, 0.0, 1.0))


def hand_from_controller(
    state: ControllerState, side: str, mapping: ControllerMapping | None = None, orientations: bool = False
) -> HandJoints | None:
    """Joints for a controller-held hand, or None when the controller or its grip pose is lost."""
    if not state.active or state.grip is None:
        return None
    shape = shape_from_controller(state, mapping)
    if orientations:
        return hand_joints(palm_from_grip(state.grip, side), shape, side, True)
    q = tuple(round(v * 50) for v in (*shape.curls, shape.thumb_fold, shape.thumb_up, shape.scale))
    local = _cached_local(q, side)  # analog inputs quantised to 1/50: the same few shapes recur
    palm = palm_from_grip(state.grip, side)
    rot = quat_to_mat3(palm.orientation).astype(np.float64)
    hj = HandJoints()
    hj.positions = (local @ rot.T + np.asarray(palm.position, np.float64)).astype(np.float32)
    hj.radii = (_RADII * shape.scale).astype(np.float32)
    hj.valid = np.ones(HAND_JOINT_COUNT, np.bool_)
    return hj


@functools.lru_cache(maxsize=4096)
def _cached_local(q: tuple[int, ...], side: str) -> F64:
    a = [v / 50 for v in q]
    out = local_joints(HandShape((a[0], a[1], a[2], a[3]), a[4], a[5], a[6]), side)
    out.setflags(write=False)
    return out
