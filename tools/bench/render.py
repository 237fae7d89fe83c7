"""Renderer benchmark: Python CPU per stereo frame and GL calls per frame vs. number of avatars.

    PYOPENGL_PLATFORM=egl EGL_PLATFORM=surfaceless .venv/bin/python tools/bench/render.py [--frames 300]

Method. Each stereo frame is ``renderer.render(scene, [left, right], [fbo_l, fbo_r])`` on the
chamber (or ``--scene``), 64x64 per eye, with N avatars standing on a grid in view; ``glFinish``
runs after each frame, outside the timed region. Times are thread CPU (``time.thread_time``),
medians over ``--frames`` frames:

* "Python" = CPU of ``render()`` minus the CPU spent inside the GL entry points. The renderer's
  counting GL layer times every GL call (``Renderer.time_gl_calls``). This is the Python-side
  submit cost: gathering avatar state into the instance array, view matrices, the frame's
  bookkeeping and the counting layer itself.
* "in GL calls" = PyOpenGL's wrappers plus the driver. On Mesa llvmpipe the driver does vertex
  shading and tile binning synchronously inside ``glDraw*``/``glBindFramebuffer`` on the calling
  thread (a GPU would not), so this column grows with avatars there; the per-call PyOpenGL
  overhead is the "GL calls" count times a few microseconds (with error checking off).

GL calls and draw calls per frame come from the renderer's counting layer (FRAME_STATS).
"GL wall ms" is the wall time of ``render()`` plus ``glFinish`` (the whole frame on llvmpipe,
its fragment threads included). ``--lod-distance`` sets the far level of detail's distance
(``inf``: every avatar with the near mesh, as before the far mesh existed); "near" is how many
avatars got the near mesh.

Each avatar count is measured twice in the same run: "objects" hands the renderer a list of
``Avatar`` objects (the per-avatar gathers of ``render/instances.py``, the path before the
struct-of-arrays crowd), "crowd" the same avatars as a :class:`~vrdiplomacy.scene.crowd.Crowd`
(vectorized copies into the instance buffer; what ``RoomState.avatars`` gives the client).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
os.environ.setdefault("EGL_PLATFORM", "surfaceless")


def run(scene_name: str, counts: list[int], frames: int, size: int, lod: float | None = None
        ) -> tuple[list[dict[str, float]], dict[str, str]]:
    from vrdiplomacy.render.renderer import Renderer
    from vrdiplomacy.scene.assets import load_scene
    from vrdiplomacy.scene.avatars import crowd_avatars
    from vrdiplomacy.scene.crowd import Crowd
    from vrdiplomacy.scene.model import Fov, stereo_views

    scene, layout = load_scene(scene_name)
    vp = layout.view(None)
    views = stereo_views(vp.pose(), Fov.symmetric(vp.fov_deg, 1.0))
    center = tuple(float(x) for x in vp.position)
    rows = []
    with Renderer() as r:
        r.time_gl_calls(True)
        if lod is not None and hasattr(r, "lod_distance"):
            r.lod_distance = lod
        targets = [r.create_target(size, size), r.create_target(size, size)]
        r.upload(scene)
        for n, path in [(n, path) for n in counts for path in ("objects", "crowd")]:
            avatars = crowd_avatars(n, center=(center[0], 0.0, center[2] - 12.0), spacing=0.8)
            scene.avatars = avatars if path == "objects" else Crowd.from_avatars(avatars)
            for _ in range(5):  # warm-up: instance buffer growth, placard atlas
                r.render(scene, views, targets)
                r.finish()
            total, python, wall = [], [], []
            for _ in range(frames):
                w0 = time.perf_counter()
                t0 = time.thread_time()
                r.render(scene, views, targets)
                dt = time.thread_time() - t0
                total.append(dt)
                python.append(dt - r.stats.gl_cpu_s)
                r.finish()
                wall.append(time.perf_counter() - w0)
            python.sort()
            rows.append({
                "avatars": n,
                "path": path,
                "python_ms": statistics.median(python) * 1e3,
                "python_p95_ms": python[int(0.95 * (len(python) - 1))] * 1e3,
                "gl_ms": (statistics.median(total) - statistics.median(python)) * 1e3,
                "gl_calls": r.stats.gl_calls,
                "draw_calls": r.stats.draw_calls,
                "wall_ms": statistics.median(wall) * 1e3,
                "near": getattr(r, "_n_near", n),
            })
        return rows, dict(r.info)


def main() -> int:
    p = argparse.ArgumentParser(description="Renderer benchmark: Python CPU and GL calls per stereo frame.")
    p.add_argument("--scene", default="chamber", help="chamber, bilateral or embassy (default chamber)")
    p.add_argument("--frames", type=int, default=300, help="stereo frames per row (default 300)")
    p.add_argument("--size", type=int, default=64, help="pixels per eye, square (default 64)")
    p.add_argument("--avatars", default="0,50,200,1000", help="comma-separated avatar counts")
    p.add_argument("--lod-distance", type=float, default=None, metavar="M",
                   help="far level-of-detail distance in metres (default: the renderer's; inf: near mesh only)")
    args = p.parse_args()
    counts = [int(x) for x in args.avatars.split(",")]
    rows, info = run(args.scene, counts, args.frames, args.size, args.lod_distance)
    print(f"{info['GL_RENDERER']} / {info['GL_VERSION']}; scene {args.scene}; {args.size}x{args.size} per eye; "
          f"{args.frames} stereo frames per row; thread CPU medians; LOD distance "
          f"{'default' if args.lod_distance is None else args.lod_distance}")
    print("| avatars | path    | Python ms / stereo frame (p95) | in GL calls ms | GL wall ms | GL calls / frame "
          "| draw calls / frame | near |")
    print("|--------:|:--------|-------------------------------:|---------------:|-----------:|-----------------:"
          "|-------------------:|-----:|")
    for row in rows:
        print(f"| {row['avatars']:7d} | {row['path']:7s} | {row['python_ms']:6.3f} ({row['python_p95_ms']:.3f}) | {row['gl_ms']:14.3f} "
              f"| {row['wall_ms']:10.1f} | {row['gl_calls']:16d} | {row['draw_calls']:18d} | {row['near']:4d} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
