"""``vrdiplomacy render``: draw a scene headless (EGL, no display needed) into a PNG.

``--size`` is the size of ONE eye's image; with ``--stereo`` the PNG holds the left and right
eye side by side and is twice as wide (a 640x360 stereo render is 1280x360).
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from vrdiplomacy.errors import ConfigError

log = logging.getLogger(__name__)
MAX_GUESTS = 2000  # a crowded reception is a few hundred


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scene", default=None, metavar="NAME|LAYOUT.json",
                   help="chamber, bilateral or embassy, or the path of a layout .json (default: chamber, or the "
                        "scene whose geometry --glb is)")
    p.add_argument("--glb", type=Path, metavar="FILE",
                   help="load the geometry from this .glb instead of the layout's (a built-in scene's .glb goes "
                        "with that scene's layout: bilateral.glb with --scene bilateral)")
    p.add_argument("--view", metavar="NAME", help="a named viewpoint of the layout (default: its default view, a delegate's seat)")
    p.add_argument("--stereo", action="store_true", help="render both eyes, side by side (the PNG is 2*WIDTH wide)")
    p.add_argument("--avatars", type=int, metavar="N", help="number of delegates seated, in seating order (default: every seat)")
    p.add_argument("--guests", type=int, default=0, metavar="N", help=f"standing delegates around the points of interest (default 0, at most {MAX_GUESTS})")
    p.add_argument("--speakers", type=int, default=3, metavar="K", help="how many of them are speaking (halo shown; default 3)")
    p.add_argument("--gestures", default="", metavar="G1,G2,...|all",
                   help="pose every third delegate (the 2nd, 5th, 8th, ...) with these gestures in turn and show "
                        "each one's icon above the head: raise_hand, lower_hand, nod, head_shake, thumbs_up, "
                        "thumbs_down, wave, applause, point, open_palms, handshake, or 'all' (default: none)")
    p.add_argument("--size", default="640x360", metavar="WxH", help="pixels per eye (default 640x360)")
    p.add_argument("--ipd", type=float, default=0.064, metavar="M", help="eye distance in metres for --stereo (default 0.064)")
    p.add_argument("--out", type=Path, default=Path("out/render.png"), metavar="FILE.png", help="output PNG (default out/render.png)")


def scene_for_glb(scene: str | None, glb: Path | None) -> str:
    """The layout to seat delegates by: ``--scene``, else the built-in scene whose geometry
    ``--glb`` is, else chamber. A built-in scene's .glb with another scene's layout would seat
    the delegates where that room has no floor (floating in a void): refused."""
    from vrdiplomacy.scene.layout import SCENES

    of_glb = glb.stem.lower() if glb is not None and glb.stem.lower() in SCENES else None
    if scene is None:
        return of_glb or "chamber"
    if of_glb is not None and scene in SCENES and scene != of_glb:
        raise ConfigError(f"--glb {glb} is the {of_glb} scene's geometry, but --scene {scene} seats the delegates "
                          f"for the {scene}: they would float where that room has no floor; use --scene {of_glb} "
                          "(or leave --scene out)")
    return scene


def load_scene_arg(scene: str | None, glb: Path | None):  # type: ignore[no-untyped-def]
    """(Scene, Layout) for a scene name or a layout path, with an optional .glb override."""
    from vrdiplomacy.scene.assets import load_glb, load_scene

    loaded, layout = load_scene(scene_for_glb(scene, glb))
    if glb is not None:
        loaded.nodes = load_glb(glb)
        loaded.source = glb
    return loaded, layout


def parse_gestures(text: str) -> list[str]:
    """``--gestures``: a comma-separated list of gesture names, or "all"; unknown names are an error."""
    from vrdiplomacy.scene.avatars import GESTURES

    names = [g.strip() for g in (text or "").split(",") if g.strip()]
    if names == ["all"]:
        return list(GESTURES)
    unknown = [g for g in names if g not in GESTURES]
    if unknown:
        raise ConfigError(f"--gestures: unknown gesture '{unknown[0]}' (known: {', '.join(GESTURES)}, or all)")
    return names


def run(args: argparse.Namespace) -> int:
    from vrdiplomacy.render.frames import parse_size, save_png, stereo_side_by_side, views_for

    size = parse_size(args.size)
    if args.avatars is not None and args.avatars < 0:
        raise ConfigError(f"--avatars must be >= 0, got {args.avatars}")
    if args.speakers < 0:
        raise ConfigError(f"--speakers must be >= 0, got {args.speakers}")
    if not 0 <= args.guests <= MAX_GUESTS:  # 99999 guests drew 100191 avatars in 33 s, a mistake not a picture
        raise ConfigError(f"--guests must be between 0 and {MAX_GUESTS}, got {args.guests}")
    if not 0.0 <= args.ipd <= 0.2:
        raise ConfigError(f"--ipd must be between 0 and 0.2 metres, got {args.ipd}")
    if args.out.suffix.lower() != ".png":
        raise ConfigError(f"--out {args.out}: the output must be a .png file")
    t0 = time.perf_counter()
    scene, layout = load_scene_arg(args.scene, args.glb)
    from vrdiplomacy.scene.avatars import assign_gestures, populate_avatars, without_viewer

    populate_avatars(scene, layout, args.avatars, speakers=max(0, args.speakers), guests=args.guests)
    gestures = parse_gestures(args.gestures)
    if gestures:
        assign_gestures(scene.avatars, gestures)
    viewpoint = layout.view(args.view)
    scene.avatars = without_viewer(scene.avatars, viewpoint.position)
    views = views_for(viewpoint, size, args.stereo, ipd=args.ipd)

    from vrdiplomacy.render.renderer import Renderer

    with Renderer() as renderer:
        targets = [renderer.create_target(*size) for _ in views]
        renderer.upload(scene)
        renderer.render(scene, views, targets)
        images = [renderer.read_pixels(t) for t in targets]
        stats = renderer.stats
        draws = stats.draw_calls
    image = stereo_side_by_side(*images) if args.stereo else images[0]
    save_png(image, args.out)
    print(f"wrote {args.out} ({image.shape[1]}x{image.shape[0]}, scene {layout.scene}, view {viewpoint.name}, "
          f"{len(scene.avatars)} avatars, {len(views)} view(s), {draws} draw calls, {time.perf_counter() - t0:.1f} s)")
    return 0
