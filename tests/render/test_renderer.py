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
    # per eye: opaque + double-sided static, two instanced draws for every avatar (near and far
    # level of detail), the viewer's own hands (none here: zero instances), blended glass
    assert draws == 12
    assert draws < calls < 120  # (the far mesh's instance attributes are re-pointed once a frame: 14 calls)


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
    # seen from behind, the hidden arms are dark suit sleeves against a dark hall: a smaller change
    assert (np.abs(shot() - quiet).max(axis=2) > 12).sum() > 5


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


# ---------------------------------------------------------------- gestures, hands, arms, icons
def _one_avatar_view(seated: bool = True) -> View:
    """In front of an avatar at the origin facing +Z (yaw 180), looking at it."""
    return View(Pose.from_yaw((0.0, 1.45 if seated else 1.8, 2.4), 0.0, -5.0), Fov.symmetric(60, SIZE[0] / SIZE[1]))


def _shot(renderer: Any, targets: list[Any], scene: Scene, view: View, **kw: Any) -> np.ndarray:
    renderer.render(scene, [view], targets[:1], **kw)
    return renderer.read_pixels(targets[0])[..., :3].astype(int)


def _changed(a: np.ndarray, b: np.ndarray, level: int = 30) -> np.ndarray:
    return np.abs(a - b).max(axis=2) > level


def test_gesture_icon_shows_above_the_head_in_its_colour(renderer: Any, targets: list[Any]) -> None:
    scene = Scene("one", ambient=(0.6, 0.6, 0.6))
    scene.avatars = [avatar_at(0, "Testland", (0.0, 0.0, 0.0), 180.0)]
    view = _one_avatar_view()
    plain = _shot(renderer, targets, scene, view)
    draws = renderer.stats.draw_calls
    head_row = None
    for gesture, colour in (("raise_hand", 2), ("head_shake", 0), ("nod", 1)):
        scene.avatars[0].gesture_icon = gesture
        icon = _shot(renderer, targets, scene, view)
        assert renderer.stats.draw_calls == draws  # the icon rides in the avatar draw
        changed = _changed(icon, plain)
        assert changed.sum() > 40, gesture
        ys, xs = np.nonzero(changed)
        head_row = head_row or int(np.nonzero(_changed(plain, np.full_like(plain, plain[0, 0])))[0].min())
        assert ys.mean() < head_row + 8, f"{gesture} icon is not above the head"
        assert abs(xs.mean() - SIZE[0] / 2) < 8, f"{gesture} icon is not centred over the avatar"
        px = icon[changed]
        others = [c for c in range(3) if c != colour]
        # the badge's colour: blue raised hand, red no, green yes (its white ring and pictogram aside)
        dominant = (px[:, colour] > px[:, others[0]] + 40) & (px[:, colour] > px[:, others[1]] + 40)
        assert dominant.mean() > 0.3, (gesture, dominant.mean())
    scene.avatars[0].gesture_icon = "no_such_gesture"
    assert not _changed(_shot(renderer, targets, scene, view), plain).any()


def test_raised_hand_reads_as_a_raised_arm(renderer: Any, targets: list[Any]) -> None:
    """At 640x360 a raised hand puts the arm (a dark suit sleeve) and the hand above the head."""
    from vrdiplomacy.scene.avatars import pose_gesture

    scene = Scene("one", ambient=(0.6, 0.6, 0.6), clear_color=(0.5, 0.5, 0.5, 1.0))  # a light wall behind the dark suit
    scene.avatars = [avatar_at(0, "Testland", (0.0, 0.0, 0.0), 180.0)]
    view = View(Pose.from_yaw((0.0, 1.5, 3.0), 0.0, -3.0), Fov.symmetric(60, 640 / 360))  # in front of it
    target = renderer.create_target(640, 360)
    renderer.render(scene, [view], [target])
    rest = renderer.read_pixels(target)[..., :3].astype(int)
    head_top = int(np.nonzero(_changed(rest, np.full_like(rest, rest[0, 0])))[0].min())
    pose_gesture(scene.avatars[0], "raise_hand")
    scene.avatars[0].gesture_icon = None  # the arm alone
    renderer.render(scene, [view], [target])
    raised = renderer.read_pixels(target)[..., :3].astype(int)
    above = _changed(raised, rest)[:head_top]
    assert above.sum() > 400, "nothing drawn above the head"
    sleeve = raised[:head_top][above].max(axis=1) < 80  # sober attire: the sleeve is dark, not the delegation colour
    assert sleeve.sum() > 150, "no (dark suit) sleeve above the head"
    ys, xs = np.nonzero(above)
    assert xs.mean() < 320, "the avatar's right arm is on the viewer's left (it faces us)"
    assert ys.max() - ys.min() > 40, "the arm reaches well above the head"


def test_hand_shapes_draw_differently(renderer: Any, targets: list[Any]) -> None:
    from vrdiplomacy.scene.math3d import quat_from_yaw_pitch_roll

    scene = Scene("hand", ambient=(0.7, 0.7, 0.7))
    a = avatar_at(0, "Testland", (0.0, 0.0, 0.0), 180.0)
    a.left.visible = False
    # the right hand in front of the face, back of the hand to the camera, fingers up
    a.right.pose = Pose(np.array([0.0, 1.35, 0.5], np.float32), quat_from_yaw_pitch_roll(math.pi, math.radians(90.0)))
    scene.avatars = [a]
    view = View(Pose.from_yaw((0.0, 1.38, 0.0), 180.0), Fov.symmetric(40, SIZE[0] / SIZE[1]))
    shots = {}
    for shape in ("open", "fist", "point", "thumbs_up", "thumbs_down"):
        a.right.shape = shape
        shots[shape] = _shot(renderer, targets, scene, view)
    names = list(shots)
    for i, x in enumerate(names):
        for y in names[i + 1:]:
            assert _changed(shots[x], shots[y]).sum() > 12, f"{x} and {y} look the same"
    a.right.shape = "raised"  # an open hand
    assert not _changed(_shot(renderer, targets, scene, view), shots["open"]).any()


def test_nod_and_head_shake_turn_the_head(renderer: Any, targets: list[Any]) -> None:
    from vrdiplomacy.scene.avatars import pose_gesture

    scene = Scene("one", ambient=(0.6, 0.6, 0.6))
    scene.avatars = [avatar_at(0, "Testland", (0.0, 0.0, 0.0), 180.0)]
    view = View(Pose.from_yaw((0.0, 1.25, 0.9), 0.0), Fov.symmetric(50, SIZE[0] / SIZE[1]))  # face to face
    base = _shot(renderer, targets, scene, view)
    for gesture in ("nod", "head_shake"):
        scene.avatars = [pose_gesture(avatar_at(0, "Testland", (0.0, 0.0, 0.0), 180.0), gesture)]
        scene.avatars[0].gesture_icon = None
        moved = _changed(_shot(renderer, targets, scene, view), base)
        assert moved.sum() > 40, gesture
        ys, xs = np.nonzero(moved)
        # only the head moved: it fills the middle of this view, the body is below it
        assert abs(xs.mean() - SIZE[0] / 2) < 12 and ys.max() < SIZE[1] * 0.85, f"{gesture}: not the head"


def test_local_hands_are_drawn_alone_in_the_same_draw(renderer: Any, targets: list[Any]) -> None:
    from vrdiplomacy.input.frame import HandFrame, InputFrame
    from vrdiplomacy.scene.avatars import local_hands
    from vrdiplomacy.xr.skeleton import shape_joints

    scene, layout = build_test_scene()
    populate_avatars(scene, layout)
    head = Pose.from_yaw((0.0, 1.6, 2.0), 0.0)
    view = View(head, Fov.symmetric(90, SIZE[0] / SIZE[1]))
    empty = InputFrame(0.0, head)
    base = _shot(renderer, targets, scene, view)
    draws = renderer.stats.draw_calls
    none = _shot(renderer, targets, scene, view, local_hands=local_hands(empty))
    assert not _changed(none, base).any(), "no hands tracked: nothing of the viewer is drawn"
    wrist = Pose(np.array([0.15, 1.45, 1.6], np.float32), head.orientation.copy())
    frame = InputFrame(0.0, head, HandFrame(), HandFrame("mouse", shape_joints("right", wrist, "open")))
    with_hand = _shot(renderer, targets, scene, view, local_hands=local_hands(frame))
    assert renderer.stats.draw_calls == draws and renderer.stats.avatars == len(scene.avatars)
    changed = _changed(with_hand, base)
    assert changed.sum() > 60
    ys, xs = np.nonzero(changed)
    # the right hand, low right of the centre, and no head or torso of the viewer anywhere else
    assert xs.min() > SIZE[0] * 0.45 and ys.min() > SIZE[1] * 0.45, (xs.min(), ys.min())
    px = with_hand[changed]
    assert ((px[:, 0] > px[:, 2]) & (px[:, 0] > 120)).mean() > 0.3, "skin-coloured"


def test_large_atlases_keep_their_resolution() -> None:
    from vrdiplomacy.render.batching import LARGE_LAYER, build_static_batch

    big = Texture(np.zeros((2048, 2048, 4), dtype=np.uint8), "placards")
    wide = Texture(np.zeros((832, 1536, 4), dtype=np.uint8), "flags")
    small = Texture(np.zeros((432, 768, 4), dtype=np.uint8), "screen")
    mats = [Material(t.source, base_color_texture=t) for t in (big, wide, small)]
    scene = Scene("t", nodes=[Node(m.name, box_mesh(m.name, (i, 0, 0), (1, 1, 1), m)) for i, m in enumerate(mats)])
    batch = build_static_batch(scene, 512, 2048, 2)
    assert batch.layers.shape == (1, 512, 512, 4)
    assert batch.large_layers is not None and batch.large_layers.shape == (2, 2048, 2048, 4)
    assert list(batch.materials[:3, 7]) == [LARGE_LAYER + 0, LARGE_LAYER + 1, 0]
    only_one = build_static_batch(scene, 512, 2048, 1)
    assert only_one.large_layers is not None and only_one.large_layers.shape[0] == 1
    assert list(only_one.materials[:3, 7]) == [LARGE_LAYER + 0, 0, 1]  # the biggest keeps its pixels
    assert build_static_batch(scene, 512, 2048, 0).large_layers is None


def test_desk_placard_names_are_sharp(renderer: Any) -> None:
    """The chamber's 2048 px placard atlas keeps its pixels: the viewer's own desk placard (looking
    down at it from the seat) has far more edge contrast than when the atlas is squeezed into a
    512 px layer of the shared texture array."""
    pytest.importorskip("vrdiplomacy.scene.assets")
    from vrdiplomacy.scene.assets import load_scene

    scene, layout = load_scene("chamber")
    vp = layout.view(None)
    view = View(Pose.from_yaw(vp.position, vp.yaw_deg, -30.0), Fov.symmetric(vp.fov_deg, 640 / 360))
    target = renderer.create_target(640, 360)
    sharpness = []
    saved = renderer.settings.max_large_textures
    try:
        for large in (0, saved):
            renderer.settings.max_large_textures = large
            renderer.upload(scene)
            renderer.render(scene, [view], [target])
            img = renderer.read_pixels(target)[..., :3].astype(float).mean(axis=2)
            board = img[130:210, 180:460]  # the placard "Haiti" in front of the seat
            assert (board > 180).mean() > 0.4, "the placard is not where this test looks"
            sharpness.append(float((np.abs(np.diff(board, axis=1)) > 40).sum()))  # steep edges (blur keeps total variation)
    finally:
        renderer.settings.max_large_textures = saved
        renderer.upload(scene)
    assert sharpness[1] > 2 * sharpness[0] + 50, sharpness  # measured: 228 vs 630 steep edges
