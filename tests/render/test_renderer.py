"""Renderer behaviour on a real EGL context: instancing, targets, sRGB, statistics, errors."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scene_builder import box_mesh, build_test_scene

from vrdiplomacy.errors import RenderError
from vrdiplomacy.render.frames import views_for
from vrdiplomacy.render.types import TextureLayerTarget
from vrdiplomacy.scene.avatars import avatar_at, crowd_avatars, populate_avatars
from vrdiplomacy.scene.math3d import Pose
from vrdiplomacy.scene.model import Fov, Material, Node, Scene, Texture, View

pytestmark = pytest.mark.gl
SIZE = (96, 64)


@pytest.fixture(scope="module")
def targets(renderer: Any) -> list[Any]:
    return [renderer.create_target(*SIZE), renderer.create_target(*SIZE)]


def _front_view(z: float = 3.0, fov: float = 60.0) -> View:
    return View(Pose.from_yaw((0.0, 1.0, z), 0.0), Fov.symmetric(fov, SIZE[0] / SIZE[1]))


def _srgb_byte(linear: float) -> int:
    s = linear * 12.92 if linear <= 0.0031308 else 1.055 * linear ** (1 / 2.4) - 0.055
    return round(s * 255)


def test_draw_calls_do_not_grow_with_avatars(renderer: Any, targets: list[Any]) -> None:
    scene, layout = build_test_scene()
    views = views_for(layout.view("overview"), SIZE, stereo=True)
    counts = {}
    for n in (1, 50, 500):
        scene.avatars = crowd_avatars(n, center=(0.0, 0.0, 1.0), spacing=0.5)
        renderer.render(scene, views, targets)  # may grow the instance buffer and placard atlas once
        renderer.render(scene, views, targets)
        counts[n] = (renderer.stats.draw_calls, renderer.stats.gl_calls)
        assert renderer.stats.avatars == n
    assert counts[1] == counts[50] == counts[500], counts
    draws, calls = counts[1]
    # per eye: opaque + double-sided static, one instanced draw for every avatar, blended glass
    assert draws == 8
    assert draws < calls < 100


def test_stereo_views_into_texture_array_layers(renderer: Any, targets: list[Any]) -> None:
    scene, layout = build_test_scene()
    populate_avatars(scene, layout)
    views = views_for(layout.view("overview"), SIZE, stereo=True, ipd=0.3)
    tex = renderer.create_texture_array(SIZE[0], SIZE[1], 2)
    layers = [TextureLayerTarget(tex, i, *SIZE) for i in range(2)]
    renderer.render(scene, views, layers)
    from_layers = [renderer.read_pixels(t) for t in layers]
    renderer.render(scene, views, targets)
    from_fbos = [renderer.read_pixels(t) for t in targets]
    for a, b in zip(from_layers, from_fbos):
        assert a.shape == (SIZE[1], SIZE[0], 4)
        np.testing.assert_array_equal(a, b)
    assert np.abs(from_layers[0].astype(int) - from_layers[1].astype(int)).max() > 50, "eyes must differ"


def _wall_scene(material: Material, ambient: float = 0.0) -> Scene:
    wall = box_mesh("wall", (0.0, 1.0, 0.0), (20.0, 20.0, 0.1), material)
    return Scene("wall", nodes=[Node("wall", wall)], lights=[], ambient=(ambient,) * 3)


def test_srgb_output_mid_grey(renderer: Any, targets: list[Any]) -> None:
    grey = 0.2158  # linear value of sRGB byte 128
    scene = _wall_scene(Material("emit", (0.0, 0.0, 0.0, 1.0), emissive=(grey, grey, grey)))
    renderer.render(scene, [_front_view()], targets[:1])
    px = renderer.read_pixels(targets[0])
    assert _srgb_byte(grey) == 128
    assert np.all(np.abs(px[..., :3].astype(int) - 128) <= 1), np.unique(px[..., :3])


def test_clear_colour_is_srgb_encoded_and_empty_scene_draws_nothing(renderer: Any, targets: list[Any]) -> None:
    scene = Scene("empty", clear_color=(0.2158, 0.0, 1.0, 1.0))
    renderer.render(scene, [_front_view()], targets[:1])
    assert renderer.stats.draw_calls == 0
    px = renderer.read_pixels(targets[0])
    assert np.all(px[..., 0] == 128) and np.all(px[..., 1] == 0) and np.all(px[..., 2] == 255)


def test_base_colour_texture_is_decoded_as_srgb(renderer: Any, targets: list[Any]) -> None:
    lit = dict(ambient=1.0)
    plain = _wall_scene(Material("plain", (0.2158, 0.2158, 0.2158, 1.0)), **lit)
    tex = Texture(np.full((4, 4, 4), (128, 128, 128, 255), dtype=np.uint8), "grey")
    textured = _wall_scene(Material("tex", (1.0, 1.0, 1.0, 1.0), base_color_texture=tex), **lit)
    out = []
    for scene in (plain, textured):
        renderer.render(scene, [_front_view()], targets[:1])
        out.append(renderer.read_pixels(targets[0])[..., :3].astype(int))
    assert 40 < out[0].mean() < 220
    assert np.abs(out[0] - out[1]).max() <= 1


def test_speaking_indicator_and_hidden_hands_show(renderer: Any, targets: list[Any]) -> None:
    scene = Scene("one", ambient=(0.6, 0.6, 0.6))
    scene.avatars = [avatar_at(0, "Testland", (0.0, 0.0, 0.0), 180.0, seated=True)]
    view = View(Pose.from_yaw((0.0, 1.3, -1.6), 180.0, -5.0), Fov.symmetric(50, SIZE[0] / SIZE[1]))

    def shot() -> np.ndarray:
        renderer.render(scene, [view], targets[:1])
        return renderer.read_pixels(targets[0])[..., :3].astype(int)

    quiet = shot()
    scene.avatars[0].speaking = 0.8
    speaking = shot()
    changed = np.abs(speaking - quiet).max(axis=2) > 30
    assert changed.sum() > 10
    ys = np.nonzero(changed)[0]
    assert ys.mean() < SIZE[1] * 0.35, "the halo is above the head"
    greenish = speaking[changed]
    assert (greenish[:, 1] > greenish[:, 0] + 40).mean() > 0.5
    scene.avatars[0].speaking = 0.0
    scene.avatars[0].left.visible = scene.avatars[0].right.visible = False
    assert (np.abs(shot() - quiet).max(axis=2) > 30).sum() > 5


def test_unknown_delegation_after_upload_gets_a_placard(renderer: Any, targets: list[Any]) -> None:
    scene = Scene("late", ambient=(0.6, 0.6, 0.6))
    renderer.upload(scene)
    scene.avatars = [avatar_at(0, "Late Arrival", (0.0, 0.0, 0.0), 0.0)]
    renderer.render(scene, [_front_view()], targets[:1])
    assert renderer.stats.avatars == 1
    assert "Late Arrival" in renderer._rects


def test_views_and_targets_must_pair(renderer: Any, targets: list[Any]) -> None:
    scene, layout = build_test_scene()
    with pytest.raises(RenderError, match="2 views but 1 targets"):
        renderer.render(scene, views_for(layout.view(None), SIZE, stereo=True), targets[:1])


def test_target_size_checked(renderer: Any) -> None:
    with pytest.raises(RenderError, match="out of range"):
        renderer.create_target(0, 10)


def test_frame_stats_are_per_frame(renderer: Any, targets: list[Any]) -> None:
    scene, layout = build_test_scene()
    populate_avatars(scene, layout)
    views = views_for(layout.view(None), SIZE, stereo=True)
    renderer.render(scene, views, targets)
    first = (renderer.stats.gl_calls, renderer.stats.draw_calls)
    renderer.render(scene, views, targets)
    assert (renderer.stats.gl_calls, renderer.stats.draw_calls) == first
    assert renderer.stats.views == 2
    assert math.isfinite(renderer.stats.total_gl_calls) and renderer.stats.total_gl_calls >= first[0]
