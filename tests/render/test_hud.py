"""The head-up card: legible pixels, drawn over the scene in the world, re-uploaded only on change."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scene_builder import box_mesh

from vrdiplomacy.render.hud import rasterize_hud
from vrdiplomacy.scene.hud import place_hud
from vrdiplomacy.scene.math3d import Pose
from vrdiplomacy.scene.model import Fov, Material, Node, Scene, View

SIZE = (480, 360)  # large enough for the text to stay legible
CODE = ("Room code", "48213 90577 12093", "55810 76342 01928")


def test_card_pixels_show_the_text_and_the_alert_colour() -> None:
    card = rasterize_hud(CODE)
    h, w = card.shape[:2]
    assert w == 768 and 150 < h < 400 and card.dtype == np.uint8
    white = (card[..., :3].min(axis=2) > 200) & (card[..., 3] > 200)
    assert 0.01 < white.mean() < 0.3  # text, on a dark card
    other = rasterize_hud(("Room code", "48213 90577 12093", "55810 76342 01929"))
    assert other.shape == card.shape and np.any(other != card)  # one digit shows
    alert = rasterize_hud(("Security alert", "roster signature does not verify"), alert=True)
    bg = alert[alert.shape[0] // 2, 8, :3].astype(int)
    assert bg[0] > 2 * bg[2] and bg[0] > 80  # red, not the usual blue-grey
    assert rasterize_hud(()).shape[1] == 768  # no lines: an empty card, not an error


def test_unencrypted_card_is_amber_with_an_open_padlock_and_the_secured_card_keeps_its_look() -> None:
    """Fails on main d7a55a9: the "not end-to-end encrypted" card looked exactly like the secured one."""
    lines = ("Not end-to-end encrypted", "the relay's host can listen")
    amber = rasterize_hud(lines, insecure=True).astype(int)
    plain = rasterize_hud(lines).astype(int)
    bg = amber[amber.shape[0] // 2, 8, :3]
    assert bg[0] > 200 and 110 < bg[1] < 190 and bg[2] < 60  # amber
    assert plain[plain.shape[0] // 2, 8, :3].tolist() == [16, 22, 34]  # the usual card
    assert np.array_equal(rasterize_hud(CODE, insecure=False), rasterize_hud(CODE))  # secured: unchanged
    # the padlock: dark pixels in the title line's left margin, where the plain card has none
    margin = amber[20:80, 24:70, :3]
    assert (margin.max(axis=2) < 90).mean() > 0.1
    assert (plain[20:80, 24:70, :3].max(axis=2) > 100).mean() < 0.01
    # an alert stays red, even in an unencrypted room
    red = rasterize_hud(lines, alert=True, insecure=True)[40, 8, :3].astype(int)
    assert red[0] > 2 * red[2] and red[1] < 60


@pytest.fixture(scope="module")
def targets(renderer: Any) -> list[Any]:
    return [renderer.create_target(*SIZE), renderer.create_target(*SIZE)]


def _eye(x: float) -> View:
    return View(Pose.from_yaw((x, 1.6, 0.0), 0.0), Fov.symmetric(70, SIZE[0] / SIZE[1]))


def _near_wall() -> Scene:
    """A green wall 0.5 m in front of the eyes: nearer than the card (0.7 m)."""
    wall = box_mesh("wall", (0.0, 1.6, -0.5), (4.0, 4.0, 0.02), Material("green", (0.0, 0.0, 0.0, 1.0), emissive=(0.0, 0.6, 0.0)))
    return Scene("wall", nodes=[Node("wall", wall)], lights=[])


@pytest.mark.gl
def test_card_is_drawn_over_nearer_geometry_at_its_depth_in_both_eyes(renderer: Any, targets: list[Any]) -> None:
    scene = _near_wall()
    eyes = [_eye(-0.032), _eye(0.032)]
    renderer.render(scene, eyes, targets)
    plain = [renderer.read_pixels(t)[..., :3].astype(int) for t in targets]
    head = Pose.from_yaw((0.0, 1.6, 0.0), 0.0)
    scene.hud = place_hud(head, CODE)
    renderer.render(scene, eyes, targets)
    assert renderer.stats.draw_calls == 4  # wall + card, per eye
    shots = [renderer.read_pixels(t)[..., :3].astype(int) for t in targets]
    centres = []
    for before, after in zip(plain, shots):
        card = np.abs(after - before).max(axis=2) > 40
        ys, xs = np.nonzero(card)
        assert card.mean() > 0.015, "the card is hidden behind the nearer wall"
        assert ys.mean() > SIZE[1] / 2  # below the eye line
        bright = (after.min(axis=2) > 180) & card
        assert bright.sum() > 100  # white text on it
        centres.append(xs.mean())
    # in the world, 0.7 m away: the left eye sees it further right than the right eye does
    # (a card pinned to the screen would sit at the same x in both eyes, at infinity)
    assert centres[0] - centres[1] > 2.0, centres


@pytest.mark.gl
def test_card_texture_is_uploaded_only_when_its_text_changes(renderer: Any, targets: list[Any]) -> None:
    scene = _near_wall()
    head = Pose.from_yaw((0.0, 1.6, 0.0), 0.0)
    eye = [_eye(0.0)]
    scene.hud = place_hud(head, CODE)
    renderer.render(scene, eye, targets[:1])
    layer = renderer._hud
    n = layer.uploads
    for yaw in (5.0, 10.0, 15.0):  # the head turns: the card follows, its pixels stay
        scene.hud = place_hud(Pose.from_yaw((0.0, 1.6, 0.0), yaw), CODE)
        renderer.render(scene, eye, targets[:1])
    assert layer.uploads == n
    scene.hud = place_hud(head, ("Security alert", "a forged frame from Testland"), alert=True)
    renderer.render(scene, eye, targets[:1])
    assert layer.uploads == n + 1
    red = renderer.read_pixels(targets[0])[..., :3].astype(int)
    assert ((red[..., 0] > 90) & (red[..., 0] > 2 * red[..., 2]) & (red[..., 1] < 80)).sum() > 100
    scene.hud = None
    renderer.render(scene, eye, targets[:1])
    assert renderer.stats.draw_calls == 1  # the wall only
