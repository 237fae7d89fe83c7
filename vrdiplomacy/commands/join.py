"""``vrdiplomacy join``: take a seat in a session, in a headset or at the desktop.

Without a relay this runs a local session in the chamber. ``--mode auto`` tries OpenXR and
falls back to a desktop window with one log line saying why (``--no-fallback`` makes that an
error); with neither a runtime nor a display it says so and points to ``--mode offscreen``
and ``vrdiplomacy qa run``.
"""

from __future__ import annotations

import argparse
import logging
import textwrap
from pathlib import Path

from vrdiplomacy.errors import ConfigError

log = logging.getLogger("vrdiplomacy.join")

DESKTOP_HELP = textwrap.dedent("""\
    desktop mode controls:
      right mouse button + drag   look around
      W A S D                     walk
      mouse                       moves your right hand (45 cm in front of you)
      left / middle button, Alt   pinch / grip / point with that hand
      Esc                         quit
    gesture keys:
      1 raise_hand   2 lower_hand   3 nod          4 head_shake   5 thumbs_up   6 thumbs_down
      7 wave         8 applause     9 point        0 open_palms   H handshake
    """)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = DESKTOP_HELP
    p.add_argument("--mode", choices=("auto", "xr", "desktop", "offscreen"), default="auto",
                   help="auto: OpenXR, else a desktop window (default); xr: OpenXR only; desktop: a window; "
                        "offscreen: headless EGL")
    p.add_argument("--no-fallback", action="store_true", help="with --mode auto: fail instead of falling back to desktop")
    p.add_argument("--scene", default="chamber", metavar="NAME", help="chamber, bilateral or embassy (default: chamber)")
    p.add_argument("--view", metavar="NAME", help="start at this named viewpoint of the layout (default: its default view)")
    p.add_argument("--frames", type=int, default=0, metavar="N", help="leave after N frames (default: run until closed)")
    p.add_argument("--size", default="1280x720", metavar="WxH", help="desktop window / offscreen image size (default 1280x720)")
    p.add_argument("--graphics", choices=("auto", "egl", "glx"), default="auto",
                   help="OpenXR graphics binding (default auto: EGL headless when the runtime offers it, else GLX)")
    p.add_argument("--space", choices=("stage", "local"), default="stage", help="OpenXR reference space (default stage)")
    p.add_argument("--no-hand-tracking", action="store_true", help="do not use XR_EXT_hand_tracking")
    p.add_argument("--screenshot", type=Path, metavar="FILE.png", help="save the last frame (desktop/offscreen: the view; xr: the left eye)")


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(x) for x in text.lower().split("x"))
    except ValueError:
        raise ConfigError(f"--size must look like 1280x720, not '{text}'") from None
    if not (16 <= w <= 8192 and 16 <= h <= 8192):
        raise ConfigError("--size: each side must be 16..8192 pixels")
    return w, h


def run(args: argparse.Namespace) -> int:
    logging.getLogger("OpenGL").setLevel(logging.WARNING)  # PyOpenGL's start-up chatter
    from vrdiplomacy.xr.backend import BackendSettings, create_backend

    if args.frames < 0:
        raise ConfigError("--frames must be >= 0")
    w, h = _size(args.size)
    from vrdiplomacy.scene.assets import load_scene

    scene, layout = load_scene(args.scene)
    vp = layout.view(args.view)
    settings = BackendSettings(mode=args.mode, fallback=not args.no_fallback, graphics=args.graphics, space=args.space,
                               hand_tracking=not args.no_hand_tracking, width=w, height=h, fov_deg=vp.fov_deg,
                               start_pose=(vp.position, vp.yaw_deg), frames=args.frames)
    backend = create_backend(settings)
    try:
        return _session(backend, scene, layout, vp, args)
    finally:
        backend.shutdown()


def _session(backend, scene, layout, vp, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    import numpy as np

    from vrdiplomacy.render.renderer import Renderer
    from vrdiplomacy.scene.math3d import Pose
    from vrdiplomacy.xr import runloop

    renderer = Renderer(context=backend.context)
    last: dict[str, object] = {}
    try:
        origin = None
        if backend.mode == "xr":
            # the play space's floor origin sits on the viewpoint, facing its way
            origin = Pose.from_yaw(np.array([vp.position[0], vp.position[1] - 1.6, vp.position[2]], np.float32), vp.yaw_deg)
        if backend.mode == "offscreen":
            backend.attach_targets([renderer.create_target(backend.settings.width, backend.settings.height)])
        log.info("joined a local session in the %s (%s mode)%s", layout.scene, backend.mode,
                 "" if backend.mode != "desktop" else "; see 'vrdiplomacy join --help' for the controls")

        def keep(frame) -> None:  # type: ignore[no-untyped-def]
            if args.screenshot is not None and frame.targets:
                last["image"] = renderer.read_pixels(frame.targets[0])

        stats = runloop.run(backend, scene, renderer, origin, after_render=keep if args.screenshot else None)
    finally:
        renderer.close()
    if args.screenshot is not None and "image" in last:
        from PIL import Image

        args.screenshot.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(last["image"]).save(args.screenshot)  # type: ignore[arg-type]
        log.info("saved %s", args.screenshot)
    reason = backend.finish_reason
    log.info("left after %d frames%s", stats.frames, f" ({reason})" if reason else "")
    return 0
