"""The avatar instance gathers (no GL): every avatar's poses and flags land in its own row, and
poses that are lists or float64 give the same rows as float32 arrays."""

from __future__ import annotations

import numpy as np
import pytest

from vrdiplomacy.render.avatar_mesh import HAND_SHAPES
from vrdiplomacy.render.icons import ICON_INDEX
from vrdiplomacy.render.instances import gather_flags, gather_poses
from vrdiplomacy.scene.avatars import crowd_avatars
from vrdiplomacy.scene.math3d import Pose


def _expected_poses(avatars) -> np.ndarray:  # type: ignore[no-untyped-def]
    return np.array([[np.r_[p.position, p.orientation] for p in (a.root, a.head, a.left.pose, a.right.pose)] for a in avatars],
                    dtype=np.float32)


def test_poses_row_per_avatar_in_order() -> None:
    avatars = crowd_avatars(7, center=(1.0, 0.0, -3.0), spacing=0.9)
    for i, a in enumerate(avatars):
        a.head.position = np.array([i, 1.6 + i, -i], dtype=np.float32)
        a.right.pose.orientation = np.array([0.0, 0.0, np.sin(i / 4), np.cos(i / 4)], dtype=np.float32)
    got = gather_poses(avatars)
    assert got.shape == (7, 4, 7) and got.dtype == np.float32
    np.testing.assert_array_equal(got, _expected_poses(avatars))
    assert got[3, 1, 1] == pytest.approx(4.6)


def test_poses_that_are_not_float32_arrays_are_converted() -> None:
    avatars = crowd_avatars(3, center=(0.0, 0.0, 0.0), spacing=1.0)
    want = _expected_poses(avatars)
    avatars[0].head = Pose(np.asarray(avatars[0].head.position, dtype=np.float64), avatars[0].head.orientation)
    avatars[2].left.pose.position = [float(v) for v in avatars[2].left.pose.position]  # type: ignore[assignment]
    np.testing.assert_array_equal(gather_poses(avatars), want)


def test_flags_carry_state_colour_placard_and_icons() -> None:
    avatars = crowd_avatars(2, center=(0.0, 0.0, 0.0), spacing=1.0)
    a = avatars[1]
    a.speaking, a.seated, a.color = 0.75, True, (0.1, 0.2, 0.3)
    a.left.visible = False
    shape = next(iter(HAND_SHAPES))
    icon = next(iter(ICON_INDEX))
    a.right.shape, a.gesture_icon = shape, icon
    rects = {x.delegation: (0.5, 0.25, 0.125, 0.0625) for x in avatars}
    f = gather_flags(avatars, rects)
    assert f.shape == (2, 16)
    np.testing.assert_allclose(f[1], [0.75, 0.0, 1.0, 1.0, 0.1, 0.2, 0.3, 1.0, 0.5, 0.25, 0.125, 0.0625,
                                      HAND_SHAPES.get(a.left.shape, 0), HAND_SHAPES[shape], ICON_INDEX[icon], 0.0], rtol=1e-6)
    with pytest.raises(KeyError):
        gather_flags(avatars, {})
