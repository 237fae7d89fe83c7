"""The meeting layer in GL: live screens where the asset's screens are, textures uploaded only
when what they show changes, depth-tested in the room; panels that follow the head.
Fails on main 5dfeb41 (no live screens: the speaker screen was a baked image)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from screen_cases import screen_scene
from rectify import downsample, project, rectify
from scene_helpers import occluder
from views import plenary

from vrdiplomacy.render import meeting_art as art
from vrdiplomacy.render.frames import views_for
from vrdiplomacy.render.screens import SCREEN_LIFT, screen_corners
from vrdiplomacy.scene.hud import MeetingOverlay
from vrdiplomacy.scene.math3d import Pose
from vrdiplomacy.session.meeting_view import QueueEntry

pytestmark = pytest.mark.gl

SMALL = (480, 270)


@pytest.fixture(scope="module")
def target(renderer: Any) -> Any:
    return renderer.create_target(*SMALL)


def _front() -> list[Any]:
    return views_for(Pose.from_yaw((0.0, 2.0, -1.2), 0.0), SMALL, stereo=False, fov_deg=70.0)


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a = a.mean(axis=2).ravel() - a.mean()
    b = b.mean(axis=2).ravel() - b.mean()
    return float(a @ b / np.sqrt((a @ a) * (b @ b)))


def test_textures_are_uploaded_only_when_what_they_show_changes(renderer: Any, target: Any) -> None:
    scene = screen_scene()
    views = _front()
    v = plenary(time=100.0, remaining=134.9)
    scene.meeting = MeetingOverlay(v, views[0].pose)
    renderer.render(scene, views, [target])
    layer = renderer.meeting
    start = dict(layer.redraws)
    calls = []
    for k in range(1, 31):  # 30 frames at 90 Hz within the same second of the clock
        dt = k / 90.0
        scene.meeting = MeetingOverlay(replace(v, time=100.0 + dt, remaining_s=134.9 - dt), views[0].pose)
        renderer.render(scene, views, [target])
        calls.append(renderer.stats.gl_calls)
    assert layer.redraws == start  # not one upload in 30 frames
    assert len(set(calls)) == 1  # and every frame makes the same GL calls
    # the clock's second turns: only the clock's small texture is redrawn
    scene.meeting = MeetingOverlay(replace(v, time=101.0, remaining_s=133.9), views[0].pose)
    renderer.render(scene, views, [target])
    assert layer.redraws == {**start, "clock": start["clock"] + 1}
    # someone joins the list: the speaker screen (not the agenda screen, not the clock)
    longer = replace(v, time=101.1, remaining_s=133.8, queue=(QueueEntry(20, "Mr. New", "PER"),) + v.queue)
    scene.meeting = MeetingOverlay(longer, views[0].pose)
    renderer.render(scene, views, [target])
    assert layer.redraws["speaker"] == start["speaker"] + 1 and layer.redraws["clock"] == start["clock"] + 1
    assert layer.redraws["agenda"] == start["agenda"]


def test_live_screen_replaces_the_baked_picture_and_shows_the_view(renderer: Any, target: Any) -> None:
    scene = screen_scene()
    views = _front()
    renderer.render(scene, views, [target])
    baked = renderer.read_pixels(target)
    corners = screen_corners(scene)["speaker"]
    px = project(views[0], corners, SMALL)
    v = plenary()
    scene.meeting = MeetingOverlay(v)  # no head: screens only
    renderer.render(scene, views, [target])
    live = renderer.read_pixels(target)
    grid = (96, 54)
    seen = rectify(live, px, grid)
    assert _corr(seen, downsample(art.speaker_screen(v), grid)) > 0.9
    old = rectify(baked, px, grid)
    assert old[..., 0].mean() > 2 * old[..., 2].mean()  # the test scene's baked screen is red...
    assert seen[..., 2].mean() > seen[..., 0].mean()  # ...and the live one covers it, blue
    # another speaker: the screen follows the view
    other = replace(v, speaker=QueueEntry(3, "Ms. Keiko Tanaka", "JPN"), queue=v.queue[1:])
    scene.meeting = MeetingOverlay(other)
    renderer.render(scene, views, [target])
    seen2 = rectify(renderer.read_pixels(target), px, grid)
    mine, theirs = downsample(art.speaker_screen(other), grid), downsample(art.speaker_screen(v), grid)
    assert _corr(seen2, mine) > _corr(seen2, theirs) + 0.02


def test_chamber_screens_are_found_where_the_layout_puts_them() -> None:
    from vrdiplomacy.scene.assets import load_scene

    scene, layout = load_scene("chamber")
    found = screen_corners(scene)
    assert set(found) == {"speaker", "agenda"}
    for s in layout.screens:
        c = found[s.exhibit_id]
        centre = c.mean(axis=0)
        # the layout's screens face +Z (yaw 180): the live quad is SCREEN_LIFT in front, same size
        assert np.allclose(centre, np.asarray(s.position) + (0.0, 0.0, SCREEN_LIFT), atol=1e-3)
        assert np.isclose(np.linalg.norm(c[1] - c[0]), s.size[0], atol=1e-3)
        assert np.isclose(np.linalg.norm(c[2] - c[0]), s.size[1], atol=1e-3)
        assert c[2][1] > c[0][1] and c[1][0] > c[0][0]  # top above bottom; right is +X seen from the hall


def test_screen_is_hidden_by_nearer_geometry(renderer: Any, target: Any) -> None:
    scene = screen_scene()
    scene.nodes.append(occluder((0.0, 2.0, -2.5), (0.6, 0.6, 0.1)))  # a green block between eye and screen
    views = _front()
    scene.meeting = MeetingOverlay(plenary())
    renderer.render(scene, views, [target])
    img = renderer.read_pixels(target)[..., :3].astype(int)
    cx, cy = project(views[0], np.array([(0.0, 2.0, -2.45)], np.float32), SMALL)[0].astype(int)
    r, g, b = img[cy, cx]
    assert g > 150 and r < 60 and b < 60  # the block, not the screen


def test_panels_follow_the_head_and_screens_stay_in_the_room(renderer: Any, target: Any) -> None:
    scene = screen_scene()
    heads = [Pose.from_yaw((0.0, 2.0, -1.2), yaw) for yaw in (0.0, 8.0)]
    shots = []
    for head in heads:
        views = views_for(head, SMALL, stereo=False, fov_deg=90.0)
        scene.meeting = MeetingOverlay(plenary(), head)
        renderer.render(scene, views, [target])
        shots.append(renderer.read_pixels(target)[..., :3].astype(int))
    a, b = shots
    # the participants panel: the window's lower left, the same pixels whichever way the head turns
    w, h = SMALL
    panel = (slice(int(h * 0.75), int(h * 0.92)), slice(int(w * 0.06), int(w * 0.3)))
    assert np.abs(a[panel] - b[panel]).mean() < 1.0
    assert a[panel].mean() < 80  # a dark panel is there
    # the screen (upper middle) moves in the window
    top = (slice(int(h * 0.1), int(h * 0.4)), slice(int(w * 0.35), int(w * 0.65)))
    assert np.abs(a[top] - b[top]).mean() > 10.0


def test_a_scene_without_a_meeting_draws_as_before_and_the_meeting_costs_one_draw_per_quad(renderer: Any, target: Any) -> None:
    scene = screen_scene()
    views = _front()
    renderer.render(scene, views, [target])
    plain = renderer.stats.draw_calls
    scene.meeting = MeetingOverlay(plenary(), views[0].pose)
    renderer.render(scene, views, [target])
    assert renderer.stats.draw_calls == plain + 4  # speaker screen, its clock, two panels (no agenda screen here)
    scene.meeting = None
    renderer.render(scene, views, [target])
    assert renderer.stats.draw_calls == plain
