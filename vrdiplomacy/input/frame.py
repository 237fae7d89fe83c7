"""InputFrame: head pose, per hand the articulated joints, controller state, aim and grip poses.

Joint indices follow ``XrHandJointEXT`` (XR_EXT_hand_tracking): 26 joints per hand.
Gesture recognizers are pure functions over sequences of these frames.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from vrdiplomacy.scene.math3d import Pose

HAND_JOINT_COUNT = 26


class Joint(enum.IntEnum):
    """XrHandJointEXT values."""

    PALM = 0
    WRIST = 1
    THUMB_METACARPAL = 2
    THUMB_PROXIMAL = 3
    THUMB_DISTAL = 4
    THUMB_TIP = 5
    INDEX_METACARPAL = 6
    INDEX_PROXIMAL = 7
    INDEX_INTERMEDIATE = 8
    INDEX_DISTAL = 9
    INDEX_TIP = 10
    MIDDLE_METACARPAL = 11
    MIDDLE_PROXIMAL = 12
    MIDDLE_INTERMEDIATE = 13
    MIDDLE_DISTAL = 14
    MIDDLE_TIP = 15
    RING_METACARPAL = 16
    RING_PROXIMAL = 17
    RING_INTERMEDIATE = 18
    RING_DISTAL = 19
    RING_TIP = 20
    LITTLE_METACARPAL = 21
    LITTLE_PROXIMAL = 22
    LITTLE_INTERMEDIATE = 23
    LITTLE_DISTAL = 24
    LITTLE_TIP = 25


@dataclass
class HandJoints:
    """26 joints: positions (26, 3), orientations (26, 4) xyzw, radii (26,), valid (26,) bool."""

    positions: npt.NDArray[np.float32] = field(default_factory=lambda: np.zeros((HAND_JOINT_COUNT, 3), np.float32))
    orientations: npt.NDArray[np.float32] = field(
        default_factory=lambda: np.tile(np.array([0, 0, 0, 1], np.float32), (HAND_JOINT_COUNT, 1))
    )
    radii: npt.NDArray[np.float32] = field(default_factory=lambda: np.full(HAND_JOINT_COUNT, 0.01, np.float32))
    valid: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(HAND_JOINT_COUNT, np.bool_))

    def joint_pose(self, j: int) -> Pose:
        return Pose(self.positions[j].copy(), self.orientations[j].copy())

    @property
    def all_valid(self) -> bool:
        return bool(self.valid.all())


@dataclass
class ControllerState:
    """Controller values, normalised: analog in [0, 1], thumbstick in [-1, 1]^2."""

    active: bool = False
    trigger: float = 0.0
    squeeze: float = 0.0
    thumbstick: tuple[float, float] = (0.0, 0.0)
    thumbstick_click: bool = False
    primary: bool = False  # A / X
    secondary: bool = False  # B / Y
    menu: bool = False
    thumb_touch: bool = False  # thumb resting on stick/buttons (where the profile has touch)
    trigger_touch: bool = False
    aim: Pose | None = None
    grip: Pose | None = None


@dataclass
class HandFrame:
    """One hand: where its data came from, the joints (None when not tracked), the controller."""

    source: str = "none"  # "scripted" | "articulated" | "controller" | "mouse" | "none"
    joints: HandJoints | None = None
    controller: ControllerState = field(default_factory=ControllerState)


@dataclass
class InputFrame:
    """Everything the user did this frame. ``time`` is seconds (monotonic, backend-defined origin).

    ``keys`` holds desktop gesture keys pressed this frame by name (e.g. "raise_hand"), so every
    gesture can be made without hands.
    """

    time: float
    head: Pose = field(default_factory=Pose)
    left: HandFrame = field(default_factory=HandFrame)
    right: HandFrame = field(default_factory=HandFrame)
    keys: frozenset[str] = frozenset()

    def hand(self, side: str) -> HandFrame:
        if side == "left":
            return self.left
        if side == "right":
            return self.right
        raise ValueError(f"hand side must be 'left' or 'right', not {side!r}")
