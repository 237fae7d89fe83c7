"""Meeting layer benchmark: the Python CPU a stereo frame costs with and without the live chamber
screens and the interface panels, and what a redraw of each picture costs.

    PYOPENGL_PLATFORM=egl EGL_PLATFORM=surfaceless .venv/bin/python tools/bench/screens.py [--frames 300]

Method as tools/bench/render.py (its numbers are comparable): the chamber, 64x64 per eye, N
avatars as a Crowd, thread CPU of ``render()`` minus the CPU inside GL calls = "Python", medians
over ``--frames`` stereo frames, ``glFinish`` outside the timed region. "meeting" rows set
``scene.meeting`` each frame to a fresh MeetingOverlay (40 participants, 7 on the list, a timed
speaker, the panels following the head), its time advancing 1/90 s a frame: the clock's
texture is redrawn once every 90 frames, the rest never, as in a meeting where nobody moves on
the list. p95 and max show the frame that redraws the clock. "redraw" rows time one picture's
rasterization (Pillow) and upload (glTexImage2D + mipmaps), thread CPU, median of 20.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "screens"))
os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
os.environ.setdefault("EGL_PLATFORM", "surfaceless")


def meeting(t: float) -> object:
    from views import participants, plenary

    from vrdiplomacy.session.meeting_view import Participant

    v = plenary(time=100.0, remaining=180.0)
    more = tuple(Participant(100 + i, f"Delegate {i}", "BRA", "delegate") for i in range(32))
    return replace(v, participants=participants() + more, time=100.0 + t, remaining_s=180.0 - t)


def run(counts: list[int], frames: int, size: int) -> tuple[list[dict[str, float]], list[tuple[str, float]], dict[str, str]]:
    from vrdiplomacy.render.renderer import Renderer
    from vrdiplomacy.scene.assets import load_scene
    from vrdiplomacy.scene.avatars import crowd_avatars
    from vrdiplomacy.scene.crowd import Crowd
    from vrdiplomacy.scene.hud import MeetingOverlay
    from vrdiplomacy.scene.model import Fov, stereo_views

    scene, layout = load_scene("chamber")
    vp = layout.view(None)
    views = stereo_views(vp.pose(), Fov.symmetric(vp.fov_deg, 1.0))
    head = vp.pose()
    center = tuple(float(x) for x in vp.position)
    rows = []
    with Renderer() as r:
        r.time_gl_calls(True)
        targets = [r.create_target(size, size), r.create_target(size, size)]
        r.upload(scene)
        for n in counts:
            scene.avatars = Crowd.from_avatars(crowd_avatars(n, center=(center[0], 0.0, center[2] - 12.0), spacing=0.8))
            for with_meeting in (False, True):
                k = 0

                def frame() -> None:
                    nonlocal k
                    k += 1
                    if with_meeting:
                        scene.meeting = MeetingOverlay(meeting(k / 90.0), head, stereo=True)  # type: ignore[arg-type]
                    r.render(scene, views, targets)

                scene.meeting = None
                for _ in range(5):
                    frame()
                    r.finish()
                redraws0 = dict(r.meeting.redraws) if r.meeting is not None else {}
                python = []
                for _ in range(frames):
                    t0 = time.thread_time()
                    frame()
                    python.append(time.thread_time() - t0 - r.stats.gl_cpu_s)
                    r.finish()
                python.sort()
                redraws = {key: v - redraws0.get(key, 0) for key, v in r.meeting.redraws.items()} if with_meeting and r.meeting else {}
                rows.append({"avatars": n, "meeting": with_meeting, "python_ms": statistics.median(python) * 1e3,
                             "p95_ms": python[int(0.95 * (len(python) - 1))] * 1e3, "max_ms": python[-1] * 1e3,
                             "gl_calls": r.stats.gl_calls, "draw_calls": r.stats.draw_calls,
                             "redraws": sum(redraws.values())})
        layer = r.meeting
        costs = []
        assert layer is not None
        for name in layer.pictures:
            ts = []
            for i in range(20):
                pic = layer.pictures[name]
                pic.drawn = False
                t0 = time.thread_time()
                layer._refresh(name, meeting(float(i)))  # type: ignore[arg-type]
                r.finish()
                ts.append(time.thread_time() - t0)
            costs.append((name, statistics.median(ts) * 1e3))
        return rows, costs, dict(r.info)


def main() -> int:
    p = argparse.ArgumentParser(description="Meeting layer benchmark: Python CPU per stereo frame with screens and panels.")
    p.add_argument("--frames", type=int, default=300, help="stereo frames per row (default 300)")
    p.add_argument("--size", type=int, default=64, help="pixels per eye, square (default 64)")
    p.add_argument("--avatars", default="0,1000", help="comma-separated avatar counts")
    args = p.parse_args()
    rows, costs, info = run([int(x) for x in args.avatars.split(",")], args.frames, args.size)
    print(f"{info['GL_RENDERER']} / {info['GL_VERSION']}; chamber; {args.size}x{args.size} per eye; "
          f"{args.frames} stereo frames per row; thread CPU")
    print("| avatars | meeting | Python ms / stereo frame: median | p95 | max | GL calls | draw calls | redraws |")
    print("|--------:|:--------|---------------------------------:|----:|----:|---------:|-----------:|--------:|")
    for row in rows:
        print(f"| {row['avatars']:7d} | {'yes' if row['meeting'] else 'no':7s} | {row['python_ms']:32.3f} | "
              f"{row['p95_ms']:.3f} | {row['max_ms']:.2f} | {row['gl_calls']:8d} | {row['draw_calls']:10d} | {row['redraws']:7d} |")
    print()
    print("| picture | one redraw: rasterize + upload, ms CPU |")
    print("|:--------|--------------------------------------:|")
    for name, ms in costs:
        print(f"| {name} | {ms:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
