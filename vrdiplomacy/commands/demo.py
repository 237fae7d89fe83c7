"""``vrdiplomacy demo``: the chamber with delegates, from a few viewpoints.

With a display (``DISPLAY`` set, and no ``--headless``) it opens a window and orbits the room
for ``--duration`` seconds; without one it renders the layout's named viewpoints and an orbit
into PNGs under ``--out`` (headless, EGL). Either way it stops after ``--duration`` seconds and
prints what it did.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import time
from pathlib import Path
from typing import Any

from vrdiplomacy.errors import ConfigError, PlatformError

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scene", default="chamber", help="chamber, bilateral or embassy (default: chamber)")
    p.add_argument("--avatars", type=int, metavar="N", help="delegates seated (default: every seat)")
    p.add_argument("--duration", type=float, default=10.0, metavar="S", help="stop after this many seconds (default 10)")
    p.add_argument("--size", default="960x540", metavar="WxH", help="image or window size (default 960x540)")
    p.add_argument("--orbit", type=int, default=4, metavar="K", help="headless: orbit frames to write besides the named views (default 4)")
    p.add_argument("--out", type=Path, default=Path("out/demo"), metavar="DIR", help="headless: where the PNGs go (default out/demo)")
    p.add_argument("--headless", action="store_true", help="never open a window, even with a display")


def _animate(scene: Any, t: float) -> None:
    """Speakers' levels pulse; every head turns a little (deterministic in t)."""
    from vrdiplomacy.scene.math3d import quat_from_yaw_pitch_roll, quat_mul

    for i, a in enumerate(scene.avatars):
        if a.speaking > 0.0:
            a.speaking = 0.3 + 0.7 * abs(math.sin(3.0 * t + i))
        if i % 7 == 0:
            a.head.orientation = quat_mul(a.root.orientation, quat_from_yaw_pitch_roll(0.25 * math.sin(0.8 * t + i), -0.1))


def run(args: argparse.Namespace) -> int:
    from vrdiplomacy.render.frames import parse_size

    size = parse_size(args.size)
    if not 0.0 < args.duration <= 3600.0:
        raise ConfigError(f"--duration must be between 0 and 3600 seconds, got {args.duration}")
    if args.orbit < 0 or args.orbit > 360:
        raise ConfigError(f"--orbit must be between 0 and 360, got {args.orbit}")
    from vrdiplomacy.scene.assets import load_scene
    from vrdiplomacy.scene.avatars import populate_avatars

    scene, layout = load_scene(args.scene)
    populate_avatars(scene, layout, args.avatars, speakers=5)
    if os.environ.get("DISPLAY") and not args.headless and os.environ.get("PYOPENGL_PLATFORM", "") != "egl":
        try:
            return _run_window(scene, layout, size, args.duration)
        except PlatformError as e:
            log.warning("no window (%s); rendering headless instead", e)
    return _run_headless(scene, layout, size, args)


def _run_window(scene: Any, layout: Any, size: tuple[int, int], duration: float) -> int:
    from vrdiplomacy.platform import ContextSettings, create_context
    from vrdiplomacy.render.frames import layout_center, orbit_pose, views_for
    from vrdiplomacy.render.types import FramebufferTarget

    ctx = create_context("window", ContextSettings(width=size[0], height=size[1], title=f"vrdiplomacy demo: {layout.scene}"))
    from vrdiplomacy.render.renderer import Renderer

    frames = 0
    try:
        with Renderer(context=ctx) as r:
            w, h = ctx.framebuffer_size()
            target = r.create_target(w, h)
            center = layout_center(layout)
            radius = max(6.0, _extent(layout) * 0.9)
            t0 = time.perf_counter()
            while (t := time.perf_counter() - t0) < duration and not ctx.should_close():
                _animate(scene, t)
                pose = orbit_pose(center, radius, radius * 0.45, 20.0 * t)
                r.render(scene, views_for(pose, (w, h), stereo=False, fov_deg=75.0), [target])
                r.blit(target, FramebufferTarget(0, w, h), (0, 0, w, h))
                ctx.swap_buffers()
                ctx.poll_events()
                frames += 1
            elapsed = time.perf_counter() - t0
            print(f"demo: {layout.scene}, {len(scene.avatars)} avatars, {frames} frames in a {w}x{h} window "
                  f"in {elapsed:.1f} s ({frames / max(elapsed, 1e-9):.1f} fps, {r.stats.draw_calls} draw calls per frame)")
    finally:
        ctx.close()
    return 0


def _extent(layout: Any) -> float:
    if not layout.seats:
        return 8.0
    import numpy as np

    p = np.array([s.position for s in layout.seats])
    return float(np.max(np.linalg.norm(p[:, [0, 2]] - p[:, [0, 2]].mean(axis=0), axis=1)))


def _run_headless(scene: Any, layout: Any, size: tuple[int, int], args: argparse.Namespace) -> int:
    from vrdiplomacy.render.frames import layout_center, orbit_pose, save_png, views_for
    from vrdiplomacy.render.renderer import Renderer

    shots: list[tuple[str, Any]] = [(name, vp) for name, vp in sorted(layout.views.items())]
    center = layout_center(layout)
    radius = max(6.0, _extent(layout) * 0.9)
    shots += [(f"orbit_{k:02d}", orbit_pose(center, radius, radius * 0.45, 360.0 * k / args.orbit)) for k in range(args.orbit)]
    written: list[Path] = []
    t0 = time.perf_counter()
    with Renderer() as r:
        target = r.create_target(*size)
        r.upload(scene)
        for k, (name, where) in enumerate(shots):
            if time.perf_counter() - t0 >= args.duration:
                log.warning("--duration %.1f s reached: %d of %d views written", args.duration, len(written), len(shots))
                break
            _animate(scene, 0.5 * k)
            r.render(scene, views_for(where, size, stereo=False, fov_deg=None if name in layout.views else 75.0), [target])
            out = args.out / f"{layout.scene}_{name}.png"
            save_png(r.read_pixels(target), out)
            written.append(out)
            log.info("[%d/%d] %s", len(written), len(shots), out)
        draws = r.stats.draw_calls
    elapsed = time.perf_counter() - t0
    print(f"demo (headless): {layout.scene}, {len(scene.avatars)} avatars, {len(written)} images of {size[0]}x{size[1]} "
          f"in {elapsed:.1f} s, {draws} draw calls per view:")
    for p in written:
        print(f"  {p}")
    return 0
