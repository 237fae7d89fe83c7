"""Input as plain data: what every backend (xr, desktop, offscreen, scripted) produces each frame."""

from vrdiplomacy.input.frame import (
    HAND_JOINT_COUNT,
    ControllerState,
    HandFrame,
    HandJoints,
    InputFrame,
    Joint,
)

__all__ = ["HAND_JOINT_COUNT", "ControllerState", "HandFrame", "HandJoints", "InputFrame", "Joint"]
