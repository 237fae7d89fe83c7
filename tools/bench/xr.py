"""Benchmark: Python CPU per frame spent in the OpenXR backend, rendering excluded.

Runs the client's backend against the simulated headset (hand tracking on, both hands
articulated, controllers active) without drawing, and splits each frame's time in
begin_frame + end_frame into the simulated runtime's share (its callbacks, which a real
runtime would run natively in its own process) and the backend's own share. Target: backend
<= 0.5 ms per frame.

    PYOPENGL_PLATFORM=egl EGL_PLATFORM=surfaceless .venv/bin/python tools/bench/xr.py [--frames N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

# this file is named xr.py: keep its folder off sys.path so `import xr` finds pyopenxr
_here = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _here]
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
os.environ.setdefault("EGL_PLATFORM", "surfaceless")

TARGET_MS = 0.5


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=100)
    a = ap.parse_args()
    from vrdiplomacy.simxr.runtime import SimulatedHeadset
    from vrdiplomacy.simxr.timeline import parse_script
    from vrdiplomacy.xr.backend import BackendSettings
    from vrdiplomacy.xr.openxr_backend import OpenXrBackend

    script = {"headset": {"resolution": [64, 64]}, "keys": [{"frame": 0,
              "left": {"trigger": 0.3, "squeeze": 0.6, "thumbstick": [0.1, 0.2], "hand": {"shape": "open"}},
              "right": {"trigger": 0.9, "primary": True, "hand": {"shape": "point"}}}]}
    rows = []
    with SimulatedHeadset(parse_script(script)) as hs:
        be = OpenXrBackend(BackendSettings(mode="xr", graphics="egl", frames=a.frames + a.warmup))
        try:
            perf, cpu = time.perf_counter, time.thread_time
            total = rt = cpu_total = 0.0
            n = 0
            sources = set()
            while True:
                rt0, t0, c0 = hs.callback_seconds, perf(), cpu()
                f = be.begin_frame()
                if f is None:
                    break
                be.end_frame()
                t1, c1 = perf(), cpu()
                if f.index >= a.warmup and f.should_render:
                    total += t1 - t0
                    cpu_total += c1 - c0
                    rt += hs.callback_seconds - rt0
                    n += 1
                    sources.add((f.input.left.source, f.input.right.source))
        finally:
            be.shutdown()
    if n == 0:
        print("no frames measured")
        return 1
    backend_ms = (cpu_total - rt) / n * 1e3
    rows = [
        ("frames measured", f"{n}"),
        ("hand sources", ", ".join(f"{l}/{r}" for l, r in sorted(sources))),
        ("begin+end frame, wall (ms/frame)", f"{total / n * 1e3:.3f}"),
        ("begin+end frame, thread CPU (ms/frame)", f"{cpu_total / n * 1e3:.3f}"),
        ("  simulated runtime callbacks, CPU (ms/frame)", f"{rt / n * 1e3:.3f}"),
        ("  backend, runtime excluded, CPU (ms/frame)", f"{backend_ms:.3f}"),
        ("target (ms/frame)", f"<= {TARGET_MS}"),
        ("result", "PASS" if backend_ms <= TARGET_MS else "FAIL"),
    ]
    width = max(len(k) for k, _ in rows)
    print("XR backend CPU per frame (rendering excluded, hand tracking on)")
    for k, v in rows:
        print(f"  {k:<{width}}  {v}")
    return 0 if backend_ms <= TARGET_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
