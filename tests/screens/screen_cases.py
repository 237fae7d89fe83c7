"""Golden cases of the meeting's screens and panels, at 1280x720 like the desktop window.

``screen_speaker``: a wall screen built like the chamber's (a quad with the ``screen_speaker``
material, the asset's UVs), seen face on, showing a speaker (France), 02:14 left, the next five
with a point of order and a right of reply, the agenda item and the phase. ``panels_delegate``:
the desktop's two interface panels of a delegate (participants: present, speaking, muted, role,
hands; their own mic, push-to-talk, place on the list, "✓ Raise hand sent", a notice).
``panels_chair``: the same meeting seen by the chair: the chair's keys listed. The panels are
drawn over a plain room (no lighting involved), so the goldens test the meeting layer alone.

Regenerate (look at the images before committing):

    PYOPENGL_PLATFORM=egl EGL_PLATFORM=surfaceless .venv/bin/python tests/screens/screen_cases.py
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from views import plenary  # noqa: E402

from vrdiplomacy.render.frames import views_for  # noqa: E402
from vrdiplomacy.scene.hud import MeetingOverlay  # noqa: E402
from vrdiplomacy.scene.math3d import Pose  # noqa: E402
from vrdiplomacy.scene.model import Material, Mesh, Node, Scene, View  # noqa: E402

GOLDEN_DIR = HERE / "golden"
SIZE = (1280, 720)
CASES = ("screen_speaker", "panels_delegate", "panels_chair")
SCREEN_CENTER = (0.0, 2.0, -4.0)
SCREEN_SIZE_M = (3.2, 1.8)


def screen_scene() -> Scene:
    """A dark room with one wall screen (material ``screen_speaker``, UVs as the chamber asset's:
    glTF v down) and a darker frame behind it."""
    cx, cy, cz = SCREEN_CENTER
    w, h = SCREEN_SIZE_M[0] / 2, SCREEN_SIZE_M[1] / 2
    pos = np.array([(cx - w, cy - h, cz), (cx + w, cy - h, cz), (cx + w, cy + h, cz), (cx - w, cy + h, cz)], np.float32)
    nrm = np.tile(np.array([0.0, 0.0, 1.0], np.float32), (4, 1))
    uvs = np.array([(0, 1), (1, 1), (1, 0), (0, 0)], np.float32)
    baked = Material("screen_speaker", (0.2, 0.2, 0.2, 1.0), emissive=(0.9, 0.1, 0.1))  # red: must not show
    screen = Mesh("screen_speaker", pos, nrm, np.array([0, 1, 2, 0, 2, 3], np.uint32), baked, uvs)
    frame_pos = pos * np.array([1.06, 1.0, 1.0], np.float32) + np.array([0, 0, -0.02], np.float32)
    frame_pos[:, 1] = np.array([cy - h * 1.08, cy - h * 1.08, cy + h * 1.08, cy + h * 1.08], np.float32)
    frame = Mesh("frame", frame_pos, nrm, np.array([0, 1, 2, 0, 2, 3], np.uint32),
                 Material("frame", (0.0, 0.0, 0.0, 1.0), emissive=(0.03, 0.03, 0.035)))
    return Scene("screen", nodes=[Node("screen", screen), Node("frame", frame)], lights=[],
                 clear_color=(0.08, 0.07, 0.06, 1.0))


def build_case(name: str) -> tuple[Scene, list[View]]:
    if name == "screen_speaker":
        scene = screen_scene()
        views = views_for(Pose.from_yaw((0.0, 2.0, -1.2), 0.0), SIZE, stereo=False, fov_deg=70.0)
        scene.meeting = MeetingOverlay(plenary())
        return scene, views
    scene = Scene("plain", lights=[], clear_color=(0.55, 0.52, 0.47, 1.0))
    views = views_for(Pose.from_yaw((0.0, 1.2, 0.0), 0.0), SIZE, stereo=False, fov_deg=90.0)
    scene.meeting = MeetingOverlay(plenary(chair=name == "panels_chair"), views[0].pose)
    return scene, views


def render_case(renderer: Any, name: str) -> npt.NDArray[np.uint8]:
    scene, views = build_case(name)
    cache = getattr(renderer, "_screens_target", None)
    if cache is None:
        cache = renderer._screens_target = renderer.create_target(*SIZE)
    renderer.upload(scene)
    renderer.render(scene, views, [cache])
    return renderer.read_pixels(cache)


def main() -> int:
    import os

    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
    os.environ.setdefault("EGL_PLATFORM", "surfaceless")
    from vrdiplomacy.render.frames import save_png
    from vrdiplomacy.render.golden import write_info
    from vrdiplomacy.render.renderer import Renderer

    with Renderer() as r:
        for name in CASES:
            out = GOLDEN_DIR / f"{name}.png"
            GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
            save_png(render_case(r, name), out)
            print(f"wrote {out}")
        write_info(GOLDEN_DIR, r.info)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
