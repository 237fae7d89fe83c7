"""Issue 17 (presence): the key light's shadow map, procedural surfaces, name tags from the
roster, the far level of detail and the first-person articulated hands, on real EGL (llvmpipe).

Each of these fails on main 5dfeb41: there is no shadow map (a slab casts nothing on the floor),
materials are flat fills, a crowd row has no tag, every avatar is drawn with the full mesh, and
the viewer's hands are the avatar's box hands."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scene_builder import box_mesh

from vrdiplomacy.render.atlas import build_atlas
from vrdiplomacy.render.avatar_mesh import LOD_DISTANCE, build_avatar_mesh
from vrdiplomacy.render.batching import (
    SURF_CARPET,
    SURF_MARBLE,
    SURF_METAL,
    SURF_PLAIN,
    SURF_WOOD,
    surface_kind,
)
from vrdiplomacy.render.hands import hand_bones
from vrdiplomacy.render.tags import (
    PLACARD_SHARE,
    TAG_AMBER,
    delegation_name,
    flag_colours,
)
from vrdiplomacy.scene.avatars import avatar_at, crowd_avatars, roster_tag
from vrdiplomacy.scene.crowd import Crowd, Tag, split_label, tag_label
from vrdiplomacy.scene.math3d import Pose, quat_from_yaw_pitch_roll
from vrdiplomacy.scene.model import Fov, Light, Material, Node, Scene, Texture, View

SIZE = (160, 90)


@pytest.fixture(scope="module")
def targets(renderer: Any) -> list[Any]:
    return [renderer.create_target(*SIZE)]


def _shot(renderer: Any, targets: list[Any], scene: Scene, view: View, **kw: Any) -> np.ndarray:
    renderer.upload(scene)
    renderer.render(scene, [view], targets[:1], **kw)
    return renderer.read_pixels(targets[0])[..., :3].astype(int)


def _down_view(height: float = 6.0) -> View:
    """Straight down onto the origin from ``height`` metres."""
    q = np.asarray(quat_from_yaw_pitch_roll(0.0, -np.pi / 2, 0.0), np.float32)
    return View(Pose(np.array([0.0, height, 0.0], np.float32), q), Fov.symmetric(60, SIZE[0] / SIZE[1]))


def _slab_scene(slab: str) -> Scene:
    """A grey floor, and a 1 m slab of material ``slab`` 1.5 m above it at x = -1; the key light
    straight down."""
    floor = Material("floor", (0.5, 0.5, 0.5, 1.0))
    top = Material(slab, (0.5, 0.5, 0.5, 1.0))
    return Scene("slab", nodes=[Node("floor", box_mesh("floor", (0, -0.05, 0), (12, 0.1, 12), floor)),
                                Node("slab", box_mesh("slab", (-1.0, 1.5, 0.0), (1.0, 0.05, 1.0), top))],
                 lights=[Light("directional", (1.0, 1.0, 1.0), 1.5, (0.0, -1.0, 0.0))], ambient=(0.2, 0.2, 0.2))


def _floor_pixel(image: np.ndarray, x: float, height: float = 6.0) -> int:
    """Luma of the floor point (x, 0, 0) in a :func:`_down_view` image (the slab's own pixels are
    not in the sampled column at +-0.75 m from its centre... sample beside it instead)."""
    w, h = SIZE
    half = np.tan(np.radians(30.0)) * height  # half width in metres at the floor
    col = round((x / half * 0.5 + 0.5) * (w - 1))
    return int(image[h // 2, col].sum())


def test_the_key_light_casts_a_shadow_from_static_geometry(renderer: Any, targets: list[Any]) -> None:
    """Looking down past the slab's edge: the floor under it (seen beside it, as the view is
    from straight above the origin) is darker than the open floor, and not without a shadow map."""
    scene = _slab_scene("slab")
    view = View(Pose.from_yaw((0.0, 1.0, 3.0), 0.0, -20.0), Fov.symmetric(80, SIZE[0] / SIZE[1]))
    shaded = _shot(renderer, targets, scene, view)
    renderer.shadow_size = 0
    try:
        flat = _shot(renderer, targets, scene, view)
    finally:
        renderer.shadow_size = 2048
    renderer.upload(scene)
    diff = flat.sum(axis=2) - shaded.sum(axis=2)
    assert (diff > 60).sum() > 40, "a shadow on the floor under the slab"
    _ys, xs = np.nonzero(diff > 60)
    assert xs.mean() < SIZE[0] / 2, "on the slab's side (-x)"
    assert (diff < -30).sum() == 0, "nothing gets brighter"


def test_a_ceiling_does_not_shadow_the_room(renderer: Any, targets: list[Any]) -> None:
    view = View(Pose.from_yaw((0.0, 1.0, 3.0), 0.0, -20.0), Fov.symmetric(80, SIZE[0] / SIZE[1]))
    slab = _shot(renderer, targets, _slab_scene("slab"), view)
    ceiling = _shot(renderer, targets, _slab_scene("ceiling"), view)
    # the same slab named a ceiling casts nothing: the floor is lit where the slab shadowed it
    assert (ceiling.sum(axis=2) - slab.sum(axis=2) > 60).sum() > 40


def test_surface_kinds_follow_material_names() -> None:
    assert surface_kind(Material("table_wood")) == SURF_WOOD
    assert surface_kind(Material("floor_carpet")) == SURF_CARPET
    assert surface_kind(Material("floor_marble")) == SURF_MARBLE
    assert surface_kind(Material("brass", metallic=1.0)) == SURF_METAL
    assert surface_kind(Material("ceiling")) == SURF_PLAIN
    assert surface_kind(Material("whatever")) == SURF_PLAIN
    tex = Texture(np.zeros((4, 4, 4), np.uint8))
    assert surface_kind(Material("wood", base_color_texture=tex)) == SURF_PLAIN  # a texture says it all
    assert surface_kind(Material("wood", emissive=(1.0, 1.0, 1.0))) == SURF_PLAIN


def test_wood_has_grain_where_a_plain_material_is_a_flat_fill(renderer: Any, targets: list[Any]) -> None:
    def floor(name: str) -> np.ndarray:
        m = Material(name, (0.35, 0.2, 0.1, 1.0), roughness=0.6)
        scene = Scene("f", nodes=[Node("f", box_mesh("f", (0, -0.05, 0), (12, 0.1, 12), m))],
                      lights=[Light("directional", (1.0, 1.0, 1.0), 1.0, (0.0, -1.0, 0.0))])
        return _shot(renderer, targets, scene, _down_view(2.0))

    plain, wood = floor("paint"), floor("wood")
    assert plain.std(axis=(0, 1)).max() < 2.0
    assert wood.std(axis=(0, 1)).max() > 3.0
    assert abs(wood.mean() - plain.mean()) < 0.15 * plain.mean(), "grain, not a different colour"


# ------------------------------------------------------------------ name tags
def test_tag_labels_round_trip_and_keep_the_placard() -> None:
    tag = Tag("A. Mensah", "Ghana", "Ambassador", True)
    assert split_label(tag_label("Ghana", tag)) == ("Ghana", tag)
    assert split_label("Ghana") == ("Ghana", None)
    crowd = Crowd.from_avatars(crowd_avatars(3))
    placard = crowd.avatar(1).delegation
    crowd.set_tag(1, roster_tag("  B. Osei ", "Ghana", "Minister", verified=False))
    assert crowd.tag(1) == Tag("B. Osei", "Ghana", "Minister", False)
    assert crowd.tag(0) is None
    assert crowd.avatar(1).delegation == placard  # the placard text is unchanged
    assert crowd.has_tag().tolist() == [False, True, False]
    crowd.set_tag(1, None)
    assert crowd.tag(1) is None and not crowd.has_tag().any()


def test_tag_atlas_cells_hold_the_name_and_an_amber_frame_when_unverified() -> None:
    plain = build_atlas(["Ghana"], (256, 64))
    label = tag_label("Ghana", Tag("B. Osei", "Ghana", "Minister", False))
    atlas = build_atlas(["Ghana", label], (256, 64))
    u0, v0, u1, v1 = atlas.rects[label]
    h, w = atlas.pixels.shape[:2]
    assert (v1 - v0) * h == pytest.approx(64, abs=1.5), "the rect is the placard's share"
    assert plain.rects["Ghana"][3] * plain.pixels.shape[0] == pytest.approx(64, abs=1.5)
    top, bottom = int(v1 * h) + 1, int((v0 + (v1 - v0) / PLACARD_SHARE) * h)
    cell = atlas.pixels[top:bottom, int(u0 * w):int(u1 * w), :3].astype(int)
    amber = np.all(np.abs(cell - np.array(TAG_AMBER[:3])) < 30, axis=2)
    assert amber.sum() > 200, "unverified: amber frame and 'unverified'"
    assert (cell.sum(axis=2) > 600).sum() > 50, "the name in light ink"


def test_flag_colours_come_from_the_delegations_file() -> None:
    from vrdiplomacy.scene.delegations import delegation

    d = delegation("ALB")
    main, band = flag_colours("Albania")
    assert main == tuple(round(c * 255) for c in d.colour)
    assert flag_colours("ALB")[0] == main and band != main
    assert flag_colours("Delegation B")[0] == flag_colours("Delegation B")[0]  # unlisted: stable
    assert delegation_name("alb") == "Albania" and delegation_name("Delegation B") == "Delegation B"


def _tag_scene(yaw: float) -> tuple[Scene, View]:
    scene = Scene("one", ambient=(0.6, 0.6, 0.6))
    crowd = Crowd.from_avatars([avatar_at(0, "Testland", (0.0, 0.0, 0.0), yaw)])
    crowd.set_tag(0, roster_tag("A. Mensah", "Testland", "Ambassador", verified=True))
    scene.avatars = crowd
    return scene, View(Pose.from_yaw((0.0, 1.55, 2.4), 0.0, 0.0), Fov.symmetric(60, SIZE[0] / SIZE[1]))


def test_a_tag_shows_above_the_head_of_someone_facing_you_in_the_same_draws(renderer: Any, targets: list[Any]) -> None:
    scene, view = _tag_scene(180.0)  # facing the camera
    tagged = _shot(renderer, targets, scene, view)
    draws = renderer.stats.draw_calls
    scene.avatars.set_tag(0, None)
    untagged = _shot(renderer, targets, scene, view)
    assert renderer.stats.draw_calls == draws
    changed = np.abs(tagged - untagged).max(axis=2) > 40
    assert changed.sum() > 60
    ys, xs = np.nonzero(changed)
    # the row of the top of the head (its centre less 0.12 m) in this level view from 2.4 m
    top = float(scene.avatars.pose[0, 1, 1]) + 0.12
    tan_half_v = np.tan(np.radians(30.0)) / (SIZE[0] / SIZE[1])
    top_row = SIZE[1] / 2 * (1.0 + (1.55 - top) / 2.4 / tan_half_v)
    assert ys.max() < top_row, "above the head"
    assert abs(xs.mean() - SIZE[0] / 2) < 10, "centred over it"


def test_no_tag_on_someone_turned_away_close_by(renderer: Any, targets: list[Any]) -> None:
    scene, view = _tag_scene(0.0)  # back to the camera, 2.4 m away
    away = _shot(renderer, targets, scene, view)
    scene.avatars.set_tag(0, None)
    assert np.abs(away - _shot(renderer, targets, scene, view)).max() <= 2


# ------------------------------------------------------------------ level of detail
def test_far_mesh_is_a_fraction_of_the_near_one() -> None:
    near, far = build_avatar_mesh(), build_avatar_mesh(far=True)
    assert far.indices.size * 3 < near.indices.size
    assert len(far.vertices) * 2 < len(near.vertices)


def test_far_avatars_take_the_far_mesh_and_look_the_same_from_afar(renderer: Any, targets: list[Any]) -> None:
    crowd = Crowd.from_avatars(crowd_avatars(60, center=(0.0, 0.0, -12.0), spacing=0.9))
    scene = Scene("crowd", ambient=(0.5, 0.5, 0.5), lights=[Light("directional", (1, 1, 1), 1.0, (0.2, -1.0, -0.3))])
    scene.avatars = crowd
    view = View(Pose.from_yaw((0.0, 1.6, 0.0), 0.0, -5.0), Fov.symmetric(60, SIZE[0] / SIZE[1]))
    lod = _shot(renderer, targets, scene, view)
    d = np.linalg.norm(crowd.pose[:, 0, 0:3] - view.pose.position, axis=1)
    assert renderer._n_near == int((d <= LOD_DISTANCE).sum()) < len(crowd)
    renderer.lod_distance = float("inf")
    try:
        full = _shot(renderer, targets, scene, view)
        assert renderer._n_near == len(crowd)
    finally:
        renderer.lod_distance = LOD_DISTANCE
    diff = np.abs(lod - full).max(axis=2)
    assert (diff > 60).mean() < 0.02, "the same crowd, a few pixels of detail apart"


# ------------------------------------------------------------------ first-person hands
def test_hand_bones_run_between_the_tracked_joints() -> None:
    from vrdiplomacy.input.frame import Joint
    from vrdiplomacy.xr.skeleton import shape_joints

    wrist = Pose(np.array([0.1, 1.2, -0.3], np.float32))
    joints = shape_joints("right", wrist, "point")
    rows = hand_bones(joints)
    starts = {tuple(np.round(r[0:3], 5)) for r in rows}
    assert tuple(np.round(joints.positions[Joint.INDEX_DISTAL], 5)) in starts
    tips = {tuple(np.round(r[4:7], 5)) for r in rows}
    assert tuple(np.round(joints.positions[Joint.INDEX_TIP], 5)) in tips
    assert (rows[:, 3] >= 0.007).all() and (rows[:, 7] >= 0.006).all()
    joints.valid[:] = False
    assert hand_bones(joints).shape[0] == 0


def test_the_own_hand_is_articulated(renderer: Any, targets: list[Any]) -> None:
    """A pointing hand and a fist at the same wrist differ where the index finger is."""
    from vrdiplomacy.input.frame import HandFrame, InputFrame
    from vrdiplomacy.scene.avatars import local_hands
    from vrdiplomacy.xr.skeleton import shape_joints

    head = Pose.from_yaw((0.0, 1.6, 2.0), 0.0)
    view = View(head, Fov.symmetric(70, SIZE[0] / SIZE[1]))
    scene = Scene("empty", ambient=(0.5, 0.5, 0.5), lights=[Light("directional", (1, 1, 1), 1.0, (0.2, -1.0, -0.3))])
    wrist = Pose(np.array([0.05, 1.45, 1.65], np.float32), head.orientation.copy())

    def hand(shape: str) -> np.ndarray:
        frame = InputFrame(0.0, head, HandFrame(), HandFrame("mouse", shape_joints("right", wrist, shape)))
        return _shot(renderer, targets, scene, view, local_hands=local_hands(frame))

    point, fist = hand("point"), hand("fist")
    drawn = np.abs(point - point[0, 0]).max(axis=2) > 20
    assert drawn.sum() > 80
    diff = np.abs(point - fist).max(axis=2) > 40
    assert diff.sum() > 8, "the finger moved"
