"""``vrdiplomacy qa run SCRIPT --out DIR``: a scripted headless session against the simulated headset.

The client runs as it would with a headset (OpenXR through the Khronos loader, EGL, the real
renderer, the live client's gesture recognizer sending to a room: in-process, or ``--relay``)
while the simulated headset plays the script: head and controller poses, buttons,
hand joints, focus loss, profile changes, session loss. Writes the eye images at the frames the
script captures (``frame_NNNNN_left.png`` / ``_right.png``) and ``report.json`` (frames
submitted, frame times, session events, inputs seen, gestures sent, failures), with a progress
line every 2 s. Exits 1 when an expectation of the script's ``[expect]`` table fails.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from vrdiplomacy.errors import ConfigError

log = logging.getLogger("vrdiplomacy.qa")


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="qa_command", metavar="ACTION", title="actions")
    r = sub.add_parser("run", help="run a script against the simulated headset",
                       description="Run the client headless against the simulated headset, as a script says.",
                       epilog="Exit status: 0 when every expectation holds, 1 when one fails, 2 for a malformed "
                              "script; Ctrl-C (or SIGTERM) ends the run, writes report.json (with "
                              "\"interrupted_by\") and exits with 130 (143).")
    r.add_argument("script", type=Path, metavar="SCRIPT", help="timeline script (.json or .toml); see the README's QA section")
    r.add_argument("--out", type=Path, required=True, metavar="DIR", help="where eye images and report.json go")
    r.add_argument("--scene", default="chamber", metavar="NAME", help="scene to sit in (default: chamber)")
    r.add_argument("--max-frames", type=int, default=3000, metavar="N",
                   help="stop after N frames even if the script has not ended (default 3000)")
    r.add_argument("--relay", metavar="HOST:PORT", help="join this relay's room (default: an in-process relay, alone)")
    r.add_argument("--fingerprint", metavar="FP", help="the relay certificate's SHA-256 fingerprint (with --relay)")
    r.add_argument("--seat", metavar="ID", help="seat id in the layout (default: the layout's default seat)")
    r.add_argument("--name", metavar="NAME", help="identity in the room (default: from the seat's delegation)")
    r.add_argument("--no-progress", action="store_true", help="no progress line every 2 s")
    r.add_argument("--render-every", type=int, default=1, metavar="N",
                   help="draw the first frame, then every N-th (default 1: all); long scripts on a software renderer "
                        "run faster")


def run(args: argparse.Namespace) -> int:
    logging.getLogger("OpenGL").setLevel(logging.WARNING)  # PyOpenGL's start-up chatter
    if getattr(args, "qa_command", None) != "run":
        raise ConfigError("usage: vrdiplomacy qa run SCRIPT --out DIR")
    from vrdiplomacy.app.addresses import relay_address
    from vrdiplomacy.app.qa import QaOptions, run_script

    if args.render_every < 1:
        raise ConfigError("--render-every must be >= 1")
    relay = relay_address(args.relay, args.fingerprint)
    return run_script(args.script, args.out, QaOptions(args.scene, args.max_frames, relay, args.seat, args.name,
                                                       0.0 if args.no_progress else 2.0, args.render_every))
