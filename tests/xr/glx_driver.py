"""Child process for test_glx: the OpenXR backend with a GLX binding (glfw window) under Xvfb.

Prints one JSON line with what the test checks. Not collected by pytest (no test_ prefix).
"""

from __future__ import annotations

import json
import sys

import numpy as np

from vrdiplomacy.simxr.runtime import SimulatedHeadset
from vrdiplomacy.simxr.timeline import parse_script
from vrdiplomacy.xr.backend import BackendSettings
from vrdiplomacy.xr.openxr_backend import OpenXrBackend


def main() -> int:
    script = {"headset": {"resolution": [64, 48], "offer_egl": False, "capture": [3]},
              "keys": [{"frame": 0, "left": {"trigger": 0.625}}], "events": [{"frame": 6, "type": "exit"}]}
    with SimulatedHeadset(parse_script(script)) as hs:
        be = OpenXrBackend(BackendSettings(mode="xr", graphics="auto"))
        from vrdiplomacy.render.renderer import Renderer
        from vrdiplomacy.scene.model import Scene

        r = Renderer(context=be.context)
        scene = Scene("empty", clear_color=(0.0, 0.5, 1.0, 1.0))
        triggers = []
        try:
            while (f := be.begin_frame()) is not None:
                if f.should_render:
                    r.render(scene, f.views, f.targets)
                triggers.append(f.input.left.controller.trigger)
                be.end_frame()
            b = be._binding
            out = {"graphics": be.graphics, "state": be.state, "visualid": int(b.visualid), "fbconfig": bool(b.glxFBConfig),
                   "drawable": int(b.glxDrawable) != 0, "frames": hs.frames_submitted, "triggers": triggers,
                   "capture_mean": np.asarray(hs.captures[3].images[0][..., :3], np.float64).mean(axis=(0, 1)).round(1).tolist(),
                   "errors": hs.errors}
        finally:
            r.close()
            be.shutdown()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
