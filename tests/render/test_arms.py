"""Arms by two-bone IK, measured on the geometry the renderer draws: the avatar vertex shader's own
world positions, read back by transform feedback (render/avatar_probe.py). A tracked hand (26
joints, as OpenXR gives them) drives a remote delegate's right hand; the drawn forearm must end
at the tracked wrist within 2 cm, and the bones keep their lengths while the hand is in reach."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from vrdiplomacy.input.frame import HandFrame, Joint
from vrdiplomacy.render.avatar_mesh import (
    PART_ARM_LEFT,
    PART_ARM_RIGHT,
    build_avatar_mesh,
)
from vrdiplomacy.render.avatar_probe import avatar_vertices
from vrdiplomacy.scene.avatars import avatar_at, hand_pose_from_frame
from vrdiplomacy.scene.crowd import Crowd
from vrdiplomacy.scene.math3d import Pose, quat_from_yaw_pitch_roll
from vrdiplomacy.scene.model import Fov, View
from vrdiplomacy.xr.skeleton import shape_joints

pytestmark = pytest.mark.gl
UPPER_ARM, LOWER_ARM = 0.30, 0.28  # shaders/avatar.vert
MESH = build_avatar_mesh().vertices
VIEW = View(Pose.from_yaw((0.0, 1.3, 2.0), 0.0), Fov.symmetric(60.0, 1.0))


def _ends(part: int, segment: int) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    sel = (np.rint(MESH[:, 8]) == part) & (np.rint(MESH[:, 6]) == segment)
    return sel & (MESH[:, 1] < 0.5), sel & (MESH[:, 1] > 0.5)


def _arm(world: npt.NDArray[np.float32], part: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shoulder, elbow (end of the upper arm), elbow (start of the forearm) and forearm end, drawn."""
    (us, ue), (ls, le) = _ends(part, 0), _ends(part, 1)
    return world[us].mean(0), world[ue].mean(0), world[ls].mean(0), world[le].mean(0)


def _tracked(wrist_pos: tuple[float, float, float], yaw: float, pitch: float) -> tuple[Any, np.ndarray]:
    wrist = Pose(np.array(wrist_pos, np.float32), quat_from_yaw_pitch_roll(math.radians(yaw), math.radians(pitch)))
    joints = shape_joints("right", wrist, "open")
    return hand_pose_from_frame(HandFrame("articulated", joints)), joints.positions[Joint.WRIST].astype(np.float64)


def test_the_forearm_follows_a_tracked_wrist_within_2_cm(renderer: Any) -> None:
    rng = np.random.default_rng(17)
    delegate = avatar_at(0, "Testland", (0.0, 0.0, 0.0), 0.0, seated=False)  # faces -Z, right shoulder at +X
    shoulder_guess = np.array([0.19, 1.45, 0.02])
    checked = 0
    for _ in range(60):
        d = rng.normal(size=3)
        d /= np.linalg.norm(d)
        if d[2] > 0.3:  # not behind the back
            continue
        target = shoulder_guess + d * rng.uniform(0.2, 0.5)
        hand, wrist = _tracked(tuple(target), rng.uniform(-60, 60), rng.uniform(-60, 60))
        delegate.right = hand
        world = avatar_vertices(renderer, Crowd.from_avatars([delegate]), VIEW)[0].astype(np.float64)
        shoulder, elbow_a, elbow_b, forearm_end = _arm(world, PART_ARM_RIGHT)
        assert np.linalg.norm(forearm_end - wrist) < 0.02, (target, forearm_end, wrist)
        assert np.linalg.norm(elbow_a - elbow_b) < 0.005, "upper arm and forearm meet at the elbow"
        if np.linalg.norm(wrist - shoulder) < UPPER_ARM + LOWER_ARM - 0.01:  # in reach: the bones keep their length
            assert abs(np.linalg.norm(elbow_a - shoulder) - UPPER_ARM) < 0.01
            assert abs(np.linalg.norm(forearm_end - elbow_b) - LOWER_ARM) < 0.01
        checked += 1
    assert checked > 30


def test_the_elbow_bends_down_and_out(renderer: Any) -> None:
    delegate = avatar_at(0, "Testland", (0.0, 0.0, 0.0), 0.0, seated=False)
    hand, _ = _tracked((0.12, 1.3, -0.3), 0.0, 0.0)  # right hand in front of the chest
    delegate.right = hand
    world = avatar_vertices(renderer, [delegate], VIEW)[0].astype(np.float64)
    shoulder, elbow, _, end = _arm(world, PART_ARM_RIGHT)
    mid = (shoulder + end) / 2
    assert elbow[1] < mid[1] - 0.05, "the elbow hangs below the shoulder-wrist line"
    assert elbow[0] > mid[0], "and out to the side (+X is this delegate's right)"
    # the other arm follows its own (untracked, resting) hand, not the right one
    _, _, _, left_end = _arm(world, PART_ARM_LEFT)
    assert np.linalg.norm(left_end - end) > 0.2


def test_a_hidden_hand_hides_its_arm(renderer: Any) -> None:
    delegate = avatar_at(0, "Testland", (0.0, 0.0, 0.0), 0.0, seated=False)
    delegate.right.visible = False
    world = avatar_vertices(renderer, [delegate], VIEW)[0]
    sel = np.rint(MESH[:, 8]) == PART_ARM_RIGHT
    assert np.ptp(world[sel], axis=0).max() < 1e-4, "collapsed to a point"


def test_the_halo_sits_at_the_head(renderer: Any) -> None:
    """Fails on main d7a55a9: the halo floated 11 cm above the crown."""
    from vrdiplomacy.render.avatar_mesh import PART_HEAD, PART_INDICATOR

    delegate = avatar_at(0, "Testland", (0.0, 0.0, 0.0), 0.0, seated=True)
    delegate.speaking = 0.6
    world = avatar_vertices(renderer, [delegate], VIEW)[0]
    halo = world[np.rint(MESH[:, 8]) == PART_INDICATOR]
    crown = world[np.rint(MESH[:, 8]) == PART_HEAD][:, 1].max()
    assert 0.0 < halo[:, 1].min() - crown < 0.05, (halo[:, 1].min(), crown)
    centre = halo.mean(axis=0)
    assert np.linalg.norm(centre[[0, 2]] - delegate.head.position[[0, 2]]) < 0.01, "centred over the head"
