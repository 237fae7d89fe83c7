"""The joint text on the chamber's wall screen, as the renderer draws it (GL, Mesa llvmpipe): a
wall screen built like the chamber's agenda screen (material ``screen_agenda``, the asset's UVs),
seen face on at 1280x720, shows the draft of :func:`test_panel.draft` while the meeting view has
one (golden image), and the agenda again once it has none. Regenerate the golden with
``PYOPENGL_PLATFORM=egl EGL_PLATFORM=surfaceless python tests/text/test_panel_gl.py`` (look at it).
Fails on main 94bf7c4: there was no text panel."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from test_panel import draft  # noqa: E402

from vrdiplomacy.render.golden import compare, load_png, read_info, renderer_mismatch  # noqa: E402
from vrdiplomacy.render.text_panel import draft_screen  # noqa: E402

pytestmark = pytest.mark.gl
GOLDEN = HERE / "golden" / "screen_draft.png"
SIZE = (1280, 720)


def _case() -> tuple[Any, Any]:
    from vrdiplomacy.render.frames import views_for
    from vrdiplomacy.scene.hud import MeetingOverlay
    from vrdiplomacy.scene.math3d import Pose
    from vrdiplomacy.scene.model import Material, Mesh, Node, Scene
    from vrdiplomacy.session.meeting_view import MeetingView

    w, h = 1.6, 0.9
    pos = np.array([(-w, 2 - h, -4), (w, 2 - h, -4), (w, 2 + h, -4), (-w, 2 + h, -4)], np.float32)
    nrm = np.tile(np.array([0.0, 0.0, 1.0], np.float32), (4, 1))
    uvs = np.array([(0, 1), (1, 1), (1, 0), (0, 0)], np.float32)
    baked = Material("screen_agenda", (0.2, 0.2, 0.2, 1.0), emissive=(0.9, 0.1, 0.1))  # red: must not show
    screen = Mesh("screen_agenda", pos, nrm, np.array([0, 1, 2, 0, 2, 3], np.uint32), baked, uvs)
    scene = Scene("screen", nodes=[Node("screen", screen)], lights=[], clear_color=(0.08, 0.07, 0.06, 1.0))
    scene.meeting = MeetingOverlay(MeetingView(agenda=("Fisheries",), agenda_index=0, phase="drafting", draft=draft()))
    return scene, views_for(Pose.from_yaw((0.0, 2.0, -1.2), 0.0), SIZE, stereo=False, fov_deg=70.0)


@pytest.fixture(scope="module")
def renderer() -> Iterator[Any]:
    if os.environ.get("PYOPENGL_PLATFORM", "egl") != "egl":
        pytest.skip("offscreen GL tests need PYOPENGL_PLATFORM=egl")
    from vrdiplomacy.errors import PlatformError
    from vrdiplomacy.render.renderer import Renderer

    try:
        r = Renderer()
    except PlatformError as e:
        pytest.skip(f"no EGL/GL context: {e}")
    why = renderer_mismatch(read_info(GOLDEN.parent), r.info)
    if why:
        r.close()
        pytest.skip(why)
    yield r
    r.close()


def _render(r: Any, scene: Any, views: Any) -> Any:
    target = r.create_target(*SIZE)
    r.upload(scene)
    r.render(scene, views, [target])
    return r.read_pixels(target)


def test_the_agenda_screen_shows_the_draft_while_there_is_one(renderer: Any) -> None:
    from dataclasses import replace

    scene, views = _case()
    img = _render(renderer, scene, views)
    compare(img, load_png(GOLDEN), "screen_draft")
    layer = renderer.meeting
    assert layer.redraws["draft"] == 1 and np.array_equal(layer.pictures["draft"].pixels, draft_screen(draft()))
    scene.meeting = replace(scene.meeting, view=replace(scene.meeting.view, draft=None))
    again = _render(renderer, scene, views)
    assert layer.redraws["agenda"] >= 1 and float(np.abs(again.astype(int) - img.astype(int)).mean()) > 5


if __name__ == "__main__":
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
    os.environ.setdefault("EGL_PLATFORM", "surfaceless")
    from vrdiplomacy.render.frames import save_png
    from vrdiplomacy.render.golden import write_info
    from vrdiplomacy.render.renderer import Renderer

    with Renderer() as r:
        scene, views = _case()
        save_png(_render(r, scene, views), GOLDEN)
        write_info(GOLDEN.parent, r.info)
