"""Child process for test_desktop: desktop mode in a window under Xvfb until Escape (or 20 s).

Runs the app's own frame loop (:func:`vrdiplomacy.xr.runloop.run`, which draws the user's hands),
prints READY once the window shows its first frames, then one JSON line at the end. Saves the
window's pixels (read back from its framebuffer after drawing) twice: ``<shot>`` the last frame,
``<shot stem>_low.png`` the last frame while the mouse was still low in the window; and reports
where the right wrist projects in each.
Not collected by pytest (no test_ prefix).
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from vrdiplomacy.xr.backend import BackendSettings
from vrdiplomacy.xr.desktop import DesktopBackend


def project(view: Any, point: np.ndarray, size: tuple[int, int]) -> tuple[float, float]:
    """Pixel (x right, y down) where ``point`` lands in ``view`` of ``size``."""
    m = view.fov.projection(0.05, 200.0) @ view.pose.inverse_matrix()
    clip = m @ np.array([*point, 1.0])
    ndc = clip[:3] / clip[3]
    return float((ndc[0] + 1) / 2 * size[0]), float((1 - ndc[1]) / 2 * size[1])


def main() -> int:
    shot = Path(sys.argv[1])
    be = DesktopBackend(BackendSettings(mode="desktop", width=320, height=240, start_pose=((0.0, 1.2, 6.0), 0.0)))
    from vrdiplomacy.input.frame import Joint
    from vrdiplomacy.render.renderer import Renderer
    from vrdiplomacy.scene.assets import load_scene
    from vrdiplomacy.xr import runloop

    scene, _ = load_scene("chamber")
    r = Renderer(context=be.context)
    start = be.head
    keys: list[str] = []
    wrist_y: list[float] = []
    sources = set()
    state: dict[str, Any] = {}
    deadline = time.monotonic() + 20.0

    def after_render(f: Any) -> None:
        image = r.read_pixels(f.targets[0])
        size = (f.targets[0].width, f.targets[0].height)
        wrist = f.input.right.joints.positions[Joint.WRIST]
        px = project(f.views[0], wrist, size)
        state["high"] = (image, px)
        if px[1] > size[1] * 0.6:  # the mouse (and the hand with it) still low in the window
            state["low"] = (image, px)

    def on_frame(f: Any) -> None:
        keys.extend(sorted(f.input.keys))
        wrist_y.append(float(f.input.right.joints.positions[Joint.WRIST][1]))
        sources.add(f.input.right.source)
        if f.index == 2:
            print("READY", flush=True)
        if time.monotonic() > deadline:
            be.request_exit()
        time.sleep(0.01)

    try:
        runloop.run(be, scene, r, None, on_frame=on_frame, after_render=after_render)
        end = be.head
    finally:
        r.close()
        be.shutdown()
    from PIL import Image

    Image.fromarray(state["high"][0]).save(shot)
    low_path = shot.with_name(shot.stem + "_low.png")
    if "low" in state:
        Image.fromarray(state["low"][0]).save(low_path)
    fwd0, fwd1 = start.forward(), end.forward()
    out = {"yaw_change_deg": math.degrees(math.atan2(-fwd1[0], -fwd1[2]) - math.atan2(-fwd0[0], -fwd0[2])),
           "moved_m": float(np.linalg.norm(end.position - start.position)), "keys": keys,
           "wrist_y_first": wrist_y[0], "wrist_y_max": max(wrist_y), "sources": sorted(sources),
           "wrist_px_high": state["high"][1], "wrist_px_low": state["low"][1] if "low" in state else None,
           "low_shot": str(low_path) if "low" in state else None}
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
