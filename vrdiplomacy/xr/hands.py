"""Hand tracking data: the joint buffer we own, and which source each hand comes from.

``JointBuffer`` is the ``XrHandJointLocationEXT[26]`` array handed to xrLocateHandJointsEXT
(pyopenxr 1.1.6501's ``locate_hand_joints_ext`` passes an empty buffer, so the backend calls
the entry point itself with this one). It is a numpy record array with the C layout, so the
conversion to :class:`HandJoints` is a few vectorized copies.

Hand sources, in priority order: ``scripted`` (joints the app was given, e.g. by a test or a
recording) -> ``articulated`` (XR_EXT_hand_tracking) -> ``controller`` (synthesized from the
grip pose and the trigger/squeeze/thumb values) -> ``mouse`` (the desktop hand) -> ``none``.
"""

from __future__ import annotations

import ctypes

import numpy as np

from vrdiplomacy.input.frame import HAND_JOINT_COUNT, ControllerState, HandFrame, HandJoints
from vrdiplomacy.xr.skeleton import controller_hand

JOINT_DTYPE = np.dtype(
    {"names": ["flags", "pose", "radius"], "formats": ["<u8", ("<f4", 7), "<f4"], "offsets": [0, 8, 36], "itemsize": 40}
)
ORIENTATION_VALID = 0x1
POSITION_VALID = 0x2
BOTH_VALID = ORIENTATION_VALID | POSITION_VALID
SOURCES = ("scripted", "articulated", "controller", "mouse")


class JointBuffer:
    """26 ``XrHandJointLocationEXT`` records (40 bytes each) in memory we own."""

    def __init__(self) -> None:
        self.array = np.zeros(HAND_JOINT_COUNT, JOINT_DTYPE)
        self.address = int(self.array.ctypes.data)
        self.pointer = ctypes.c_void_p(self.address)

    def read(self, out: HandJoints | None = None) -> HandJoints:
        """The joints as :class:`HandJoints` (copies; the buffer is reused next frame)."""
        hj = out if out is not None else HandJoints()
        pose = self.array["pose"]
        hj.positions[:] = pose[:, 4:7]
        hj.orientations[:] = pose[:, 0:4]
        hj.radii[:] = self.array["radius"]
        hj.valid[:] = (self.array["flags"] & BOTH_VALID) == BOTH_VALID
        return hj


def synthesize_from_controller(side: str, c: ControllerState) -> HandJoints | None:
    """A hand around the controller grip: index curled by the trigger, others by the squeeze.

    The grip pose is read by the OpenXR convention (grip -Z through the curled fingers, little
    finger to thumb; see :mod:`vrdiplomacy.xr.skeleton`): a hand giving a thumbs-up holds grip -Z
    upwards, and its fingers run along grip -Y."""
    if not c.active or c.grip is None:
        return None
    return controller_hand(side, c.grip, c.trigger, c.squeeze, c.thumb_touch)


def choose_hand(
    side: str,
    controller: ControllerState,
    scripted: HandJoints | None = None,
    articulated: HandJoints | None = None,
    mouse: HandJoints | None = None,
) -> HandFrame:
    """The :class:`HandFrame` for one hand from the best source available."""
    if scripted is not None:
        return HandFrame("scripted", scripted, controller)
    if articulated is not None and articulated.valid.any():
        return HandFrame("articulated", articulated, controller)
    synth = synthesize_from_controller(side, controller)
    if synth is not None:
        return HandFrame("controller", synth, controller)
    if mouse is not None:
        return HandFrame("mouse", mouse, controller)
    return HandFrame("none", None, controller)
