"""Golden-image cases shared by the tests and tools/update_goldens.py.

A case is a scene, its avatars and the views to draw, at 160x90 per eye. The ``test_*`` cases use
the procedural scene of :mod:`scene_builder` (the renderer alone); the others the shipped scenes.
``test_gestures`` poses some of the test scene's delegates (raised hands, thumbs up, applause,
a nod) with their icons above the head, seen from the rostrum. ``hud_secured`` and
``hud_unsecured`` put the head-up card in front of the rostrum view at 320x180, legible: the
room code on the usual dark card, and the amber "not end-to-end encrypted" card with its open
padlock and its reason.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from scene_builder import build_test_scene  # noqa: E402

from vrdiplomacy.render.frames import stereo_side_by_side, views_for  # noqa: E402
from vrdiplomacy.scene.avatars import assign_gestures, populate_avatars  # noqa: E402
from vrdiplomacy.scene.layout import Layout  # noqa: E402
from vrdiplomacy.scene.model import Scene, View  # noqa: E402

GOLDEN_DIR = HERE / "golden"
SIZE = (160, 90)
ASSET_SCENES = ("chamber", "bilateral", "embassy")
HUD_CASES = ("hud_secured", "hud_unsecured")
HUD_SIZE = (320, 180)
CASES = ("test_overview_stereo", "test_rostrum", "test_gestures", *HUD_CASES, *ASSET_SCENES)
GESTURE_CASE = ["raise_hand", "thumbs_up", "applause", "raise_hand", "nod", "thumbs_down", "wave"]


def build_case(name: str) -> tuple[Scene, Layout, list[View]]:
    """The scene (avatars populated) and views of golden case ``name``."""
    if name in HUD_CASES:
        from vrdiplomacy.scene.hud import place_hud

        scene, layout = build_test_scene()
        populate_avatars(scene, layout, speakers=2)
        views = views_for(layout.view("rostrum"), HUD_SIZE, stereo=False)
        if name == "hud_secured":
            lines: tuple[str, ...] = ("Room code", "48213 90577 12093", "55810 76342 01928")
        else:
            lines = ("Not end-to-end encrypted", "the relay's host can listen")
        scene.hud = place_hud(views[0].pose, lines, distance=0.6, drop=0.05, width=0.5, insecure=name == "hud_unsecured")
        return scene, layout, views
    if name.startswith("test_"):
        scene, layout = build_test_scene()
        populate_avatars(scene, layout, speakers=2)
        if name == "test_gestures":
            assign_gestures(scene.avatars, GESTURE_CASE, every=2)
        view = "overview" if name == "test_overview_stereo" else "rostrum"
        return scene, layout, views_for(layout.view(view), SIZE, stereo=name.endswith("stereo"))
    from vrdiplomacy.scene.assets import load_scene

    scene, layout = load_scene(name)
    populate_avatars(scene, layout, speakers=3)
    return scene, layout, views_for(layout.view(None), SIZE, stereo=False)


def render_views(renderer: Any, scene: Scene, views: list[View]) -> npt.NDArray[np.uint8]:
    """Render ``views`` (one, or a stereo pair side by side) into fresh targets and read them back."""
    cache = getattr(renderer, "_golden_targets", None)
    if cache is None:
        cache = renderer._golden_targets = {}
    key = HUD_SIZE if scene.hud is not None else SIZE
    targets = cache.get(key)
    if targets is None:
        targets = cache[key] = [renderer.create_target(*key), renderer.create_target(*key)]
    renderer.upload(scene)
    renderer.render(scene, views, targets[: len(views)])
    images = [renderer.read_pixels(t) for t in targets[: len(views)]]
    return stereo_side_by_side(*images) if len(images) == 2 else images[0]


def render_case(renderer: Any, name: str, mutate: Callable[[Scene], None] | None = None) -> npt.NDArray[np.uint8]:
    scene, _layout, views = build_case(name)
    if mutate is not None:
        mutate(scene)
    return render_views(renderer, scene, views)
