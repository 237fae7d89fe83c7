"""Where the interface panels hang, and how big their text is: legible at 1 m in a headset
(text heights in dmm, millimetres at one metre) and inside a 1280x720 desktop window."""

from __future__ import annotations

import math

import numpy as np
from views import plenary

from vrdiplomacy.render import meeting_art as art
from vrdiplomacy.scene.hud import MeetingOverlay, panel_poses
from vrdiplomacy.scene.math3d import Pose, quat_rotate


def _heads() -> list[Pose]:
    return [Pose.from_yaw((1.0, 1.2, 3.0), yaw, pitch) for yaw, pitch in ((0.0, 0.0), (37.0, -8.0), (-120.0, 10.0))]


def test_headset_panels_hang_a_metre_away_either_side_facing_the_eyes() -> None:
    for head in _heads():
        overlay = MeetingOverlay(plenary(), head, stereo=True)
        poses = panel_poses(overlay)
        assert poses is not None
        for sign, pose in zip((-1.0, 1.0), poses):
            local = quat_rotate(np.array([-head.orientation[0], -head.orientation[1], -head.orientation[2],
                                          head.orientation[3]]), np.asarray(pose.position) - head.position)
            assert math.isclose(local[2], -1.0, abs_tol=1e-5) and local[0] * sign > 0.3  # 1 m ahead, aside
            assert -0.4 < local[1] < 0.0  # bottom edge below the eyes
            facing = quat_rotate(pose.orientation, (0.0, 0.0, 1.0))  # the panel's front
            mid = np.asarray(pose.position) + quat_rotate(pose.orientation, (0.0, 0.17, 0.0))  # about mid-height
            to_eye = head.position - mid
            cos = float(np.dot(facing, to_eye) / np.linalg.norm(to_eye))
            assert cos > 0.995  # faces the eyes (within 6 degrees)
    assert panel_poses(MeetingOverlay(plenary())) is None  # no head: screens only


def test_text_is_at_least_14_dmm_at_one_metre_in_a_headset() -> None:
    """Font sizes (em height) on a 0.6 m panel drawn from a 768 px picture, 1 m away: the body text
    (names, notices, the chair's keys: 26 px) 20 mm, the role chips (18 px) 14 mm."""
    metres_per_px = MeetingOverlay(plenary()).width / art.PANEL_WIDTH
    body = 26 * metres_per_px * 1000.0  # participant names, notices, chair keys
    assert body >= 20.0  # mm at 1 m
    small = 18 * metres_per_px * 1000.0  # role chips
    assert small >= 14.0


def test_desktop_panels_fit_a_1280x720_window_beside_its_middle() -> None:
    """At 90 degrees across 1280 px, 1 m ahead spans 2 m: 640 px a metre. The panels' outer edges
    are inside the window, their inner edges leave the middle 400 px free, top and bottom show."""
    head = Pose.from_yaw((0.0, 1.2, 0.0), 0.0)
    overlay = MeetingOverlay(plenary(chair=True), head, stereo=False)
    poses = panel_poses(overlay)
    assert poses is not None
    px_per_m = 640.0
    for sign, pose, picture in zip((-1.0, 1.0), poses, (art.participants_panel, art.status_panel)):
        x, y = float(pose.position[0]), float(pose.position[1]) - 1.2
        half = overlay.width / 2
        outer, inner = 640 + sign * (abs(x) + half) * px_per_m, 640 + sign * (abs(x) - half) * px_per_m
        assert 0 < outer < 1280
        assert (inner <= 440) if sign < 0 else (inner >= 840)  # the middle 400 px stay free
        height_m = overlay.width * picture(overlay.view).shape[0] / art.PANEL_WIDTH
        bottom_px, top_px = 360 - y * px_per_m, 360 - (y + height_m) * px_per_m
        assert bottom_px < 720 - 20 and top_px > 20, (bottom_px, top_px)
        # text: 26 px of the texture is 13 window pixels or more
        assert 26 * overlay.width / art.PANEL_WIDTH * px_per_m >= 12.9


def test_the_renderers_plain_float_axes_agree_with_the_poses() -> None:
    from vrdiplomacy.scene.hud import panel_axes

    for stereo in (False, True):
        for head in _heads():
            overlay = MeetingOverlay(plenary(), head, stereo=stereo)
            poses, axes = panel_poses(overlay), panel_axes(overlay)
            assert poses is not None and axes is not None
            for pose, (bottom, right, up) in zip(poses, axes):
                assert np.allclose(bottom, pose.position, atol=1e-5)
                assert np.allclose(right, quat_rotate(pose.orientation, (1.0, 0.0, 0.0)), atol=1e-5)
                assert np.allclose(up, quat_rotate(pose.orientation, (0.0, 1.0, 0.0)), atol=1e-5)
    assert panel_axes(MeetingOverlay(plenary())) is None
