"""``vrdiplomacy demo``: a live session on this machine, with simulated delegates.

One command, no configuration: it starts a relay in this process on loopback, seats ``--bots``
simulated delegates in the chamber (each a real client: TLS control link, sealed UDP media, Opus
voice, pose stream, gesture events) and joins you at your seat. The bots take turns speaking
recorded speech, look at whoever speaks, move their hands and make gestures.

With a display it opens a desktop window (look with the right mouse button, gesture keys 1-0 and
H, Esc quits). Without one it runs headless for ``--duration`` seconds and writes, under
``--out``: a stereo image pair of your view every second (``eyes_NN.png``, left eye on the
left), the spatialized audio you heard (``heard.wav``) and ``summary.json``; it prints progress
and the same summary.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import Any

from vrdiplomacy.errors import ConfigError, PlatformError

log = logging.getLogger("vrdiplomacy.demo")

HEADLESS_DURATION = 20.0
WINDOW_DURATION = 120.0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.epilog = ("Ctrl-C (or SIGTERM) ends the demo early: it still writes summary.json and prints the summary, "
                "then exits with 130 (143); a second Ctrl-C quits at once.")
    p.add_argument("--bots", type=int, default=8, metavar="N", help="simulated delegates (default 8, at most 64)")
    p.add_argument("--duration", type=float, metavar="S",
                   help=f"stop after S seconds (default {HEADLESS_DURATION:g} headless, {WINDOW_DURATION:g} in a window)")
    p.add_argument("--out", type=Path, default=Path("out/demo"), metavar="DIR",
                   help="headless: where images, heard.wav and summary.json go (default out/demo)")
    p.add_argument("--scene", default="chamber", help="chamber or bilateral (default: chamber)")
    p.add_argument("--size", default="320x180", metavar="WxH",
                   help="headless: image size per eye (default 320x180); window: ignored")
    p.add_argument("--window-size", default="1280x720", metavar="WxH", help="window size (default 1280x720)")
    p.add_argument("--headless", action="store_true", help="never open a window, even with a display")


def _use_window(args: argparse.Namespace) -> bool:
    from vrdiplomacy.platform.detect import has_display

    if args.headless or os.environ.get("PYOPENGL_PLATFORM", "") == "egl":
        return False
    return has_display()


def run(args: argparse.Namespace) -> int:
    from vrdiplomacy.render.frames import parse_size

    logging.getLogger("OpenGL").setLevel(logging.WARNING)
    logging.getLogger("vrdiplomacy.relay").setLevel(logging.WARNING)
    if not 0 <= args.bots <= 64:
        raise ConfigError(f"--bots must be between 0 and 64, got {args.bots}")
    window = _use_window(args)
    duration = args.duration if args.duration is not None else (WINDOW_DURATION if window else HEADLESS_DURATION)
    if not 0.0 < duration <= 3600.0:
        raise ConfigError(f"--duration must be between 0 and 3600 seconds, got {duration:g}")
    eye_size = parse_size(args.size)
    try:
        win_size = parse_size(args.window_size)
    except ConfigError as e:  # parse_size speaks of --size
        raise ConfigError(str(e).replace("--size", "--window-size", 1)) from None
    from vrdiplomacy.scene.assets import load_scene
    from vrdiplomacy.session.bots import plan_bots

    scene, layout = load_scene(args.scene)
    if not layout.seats:
        raise ConfigError(f"scene '{args.scene}' has no seats for delegates; use chamber or bilateral")
    seat = layout.seat(layout.default_seat) if layout.default_seat else sorted(layout.seats, key=lambda s: s.index)[0]
    plans = plan_bots(layout, args.bots, seat.seat_id)
    from vrdiplomacy.app.demo import run_headless, run_window

    options = _client_options()  # the user's config file: read (and checked) in both modes
    if window:
        try:
            return run_window(scene, layout, seat, plans, win_size, duration, options)
        except PlatformError as e:
            log.warning("no window (%s); running headless instead", e)
    return run_headless(scene, layout, seat, plans, eye_size, duration, args.out)


def _client_options() -> tuple[Any, dict[str, str] | None]:
    """The live client's options and the desktop keys, from the user's config file."""
    from vrdiplomacy.app.client import ClientOptions
    from vrdiplomacy.config import load_user_config

    config = load_user_config()
    return ClientOptions(config.client.key_hold, mapping=config.mapping.controller), config.desktop_keys
