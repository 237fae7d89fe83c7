"""Avatars as struct-of-arrays (scene/crowd.py): a Crowd draws exactly what the same avatars as
objects draw, in the same constant number of draw calls, and its per-frame packing is vectorized."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest
from scene_builder import build_test_scene

from vrdiplomacy.render.frames import views_for
from vrdiplomacy.scene.avatars import assign_gestures, crowd_avatars, populate_avatars
from vrdiplomacy.scene.crowd import GESTURES, Crowd
from vrdiplomacy.scene.math3d import Pose

pytestmark = pytest.mark.gl
SIZE = (96, 64)


@pytest.fixture(scope="module")
def targets(renderer: Any) -> list[Any]:
    return [renderer.create_target(*SIZE), renderer.create_target(*SIZE)]


def test_crowd_round_trips_avatars() -> None:
    avatars = crowd_avatars(9, center=(1.0, 0.0, -2.0))
    assign_gestures(avatars, list(GESTURES), every=2)
    avatars[3].speaking = 0.7
    avatars[4].left.visible = False
    crowd = Crowd.from_avatars(avatars)
    assert len(crowd) == 9 and crowd == avatars
    back = crowd[4]
    assert back.left.visible is False and back.delegation == "Delegation 5"
    back.speaking = 1.0  # a copy: the crowd keeps its row
    assert crowd.speaking[4] == 0.0
    assert crowd[3].gesture_icon == avatars[3].gesture_icon and crowd[3].right.shape == avatars[3].right.shape


def test_eyes_of_listeners_go_to_the_loudest_speaker() -> None:
    crowd = Crowd.from_avatars(crowd_avatars(5))
    assert crowd.look_at_speaker() == -1 and np.isnan(crowd.look).all()
    crowd.speaking[2] = 0.4
    crowd.speaking[4] = 0.9
    assert crowd.look_at_speaker() == 4
    np.testing.assert_array_equal(crowd.look[0], crowd.pose[4, 1, 0:3])
    assert np.isnan(crowd.look[4]).all()


def test_crowd_renders_like_the_avatar_objects(renderer: Any, targets: list[Any]) -> None:
    scene, layout = build_test_scene()
    avatars = populate_avatars(scene, layout, speakers=2)
    assign_gestures(avatars, ["raise_hand", "thumbs_up", "point"], every=2)
    views = views_for(layout.view("overview"), SIZE, stereo=True)
    shots = []
    for avs in (avatars, Crowd.from_avatars(avatars)):
        scene.avatars = avs
        renderer.render(scene, views, targets)
        shots.append([renderer.read_pixels(t)[..., :3].astype(int) for t in targets])
        assert renderer.stats.avatars == len(avatars)
    for a, b in zip(*shots, strict=True):
        assert np.abs(a - b).max() <= 1
        assert a.std() > 5  # a real picture, not an empty frame


def test_crowd_draw_calls_constant_and_packing_fast(renderer: Any, targets: list[Any]) -> None:
    scene, layout = build_test_scene()
    views = views_for(layout.view("overview"), SIZE, stereo=True)
    draws = {}
    pack_s = {}
    for n in (1, 200, 1000):
        crowd = Crowd.from_avatars(crowd_avatars(n, center=(0.0, 0.0, 1.0), spacing=0.5))
        scene.avatars = crowd
        renderer.render(scene, views, targets)
        renderer.render(scene, views, targets)
        draws[n] = renderer.stats.draw_calls
        t0 = time.thread_time()
        for _ in range(20):
            renderer._pack_avatars(crowd, None)
        pack_s[n] = (time.thread_time() - t0) / 20
    assert draws[1] == draws[200] == draws[1000] == 12, draws  # per eye: 3 static, near + far avatar mesh, own hands
    # vectorized: 1000 avatars cost at most a few times 1 (the old per-avatar gathers: ~5 us each)
    assert pack_s[1000] < max(5 * pack_s[1], 1.5e-3), pack_s


def test_local_hands_with_a_crowd(renderer: Any, targets: list[Any]) -> None:
    from vrdiplomacy.scene.avatars import avatar_at

    scene, layout = build_test_scene()
    me = avatar_at(-1, "", (0.0, 0.0, 2.0), 0.0, seated=False)
    me.head = Pose(np.array([0.0, 1.65, 2.0], np.float32))
    views = views_for(layout.view("overview"), SIZE, stereo=False)
    scene.avatars = Crowd.from_avatars(crowd_avatars(3, center=(0.0, 0.0, 0.0)))
    renderer.render(scene, views, targets[:1], local_hands=me)
    assert renderer.stats.avatars == 3
    with_crowd = renderer.read_pixels(targets[0])[..., :3].astype(int)
    scene.avatars = list(scene.avatars)
    renderer.render(scene, views, targets[:1], local_hands=me)
    assert np.abs(renderer.read_pixels(targets[0])[..., :3].astype(int) - with_crowd).max() <= 1
