"""Child process for test_desktop: desktop mode in a window under Xvfb until Escape (or 20 s).

Prints READY once the window shows its first frame, then one JSON line at the end.
Not collected by pytest (no test_ prefix).
"""

from __future__ import annotations

import json
import math
import sys
import time

import numpy as np

from vrdiplomacy.xr.backend import BackendSettings
from vrdiplomacy.xr.desktop import DesktopBackend


def main() -> int:
    shot = sys.argv[1]
    be = DesktopBackend(BackendSettings(mode="desktop", width=320, height=240, start_pose=((0.0, 1.2, 6.0), 0.0)))
    from vrdiplomacy.render.renderer import Renderer
    from vrdiplomacy.scene.assets import load_scene

    scene, _ = load_scene("chamber")
    r = Renderer(context=be.context)
    start = be.head
    keys: list[str] = []
    wrist_y: list[float] = []
    sources = set()
    image = None
    deadline = time.monotonic() + 20.0
    try:
        while time.monotonic() < deadline and (f := be.begin_frame()) is not None:
            r.render(scene, f.views, f.targets)
            image = r.read_pixels(f.targets[0])
            keys += sorted(f.input.keys)
            wrist_y.append(float(f.input.right.joints.positions[1][1]))
            sources.add(f.input.right.source)
            be.end_frame()
            if f.index == 2:
                print("READY", flush=True)
            time.sleep(0.01)
        end = be.head
    finally:
        r.close()
        be.shutdown()
    from PIL import Image

    Image.fromarray(image).save(shot)
    fwd0, fwd1 = start.forward(), end.forward()
    out = {"yaw_change_deg": math.degrees(math.atan2(-fwd1[0], -fwd1[2]) - math.atan2(-fwd0[0], -fwd0[2])),
           "moved_m": float(np.linalg.norm(end.position - start.position)), "keys": keys,
           "wrist_y_first": wrist_y[0], "wrist_y_max": max(wrist_y), "sources": sorted(sources)}
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
