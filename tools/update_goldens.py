"""Regenerate the renderer's golden images: tests/render/golden/*.png and renderer.json.

    PYOPENGL_PLATFORM=egl EGL_PLATFORM=surfaceless .venv/bin/python tools/update_goldens.py [CASE...]

Renders every case of tests/render/cases.py (or the ones named) offscreen and records the GL
renderer and version beside them; the tests refuse to compare on a different renderer.
Look at the images before committing them: ``--review DIR`` also writes each case at
``--review-size`` (default 960x540, the same views) into DIR, large enough to judge.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "render"))
os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
os.environ.setdefault("EGL_PLATFORM", "surfaceless")


def main(argv: list[str] | None = None) -> int:
    from cases import CASES, GOLDEN_DIR, render_case

    from vrdiplomacy.errors import VrdError
    from vrdiplomacy.render.frames import save_png
    from vrdiplomacy.render.golden import read_info, renderer_mismatch, write_info
    from vrdiplomacy.render.renderer import Renderer

    p = argparse.ArgumentParser(description="Regenerate the renderer golden images.")
    p.add_argument("cases", nargs="*", help=f"cases to render (default: all of {', '.join(CASES)})")
    p.add_argument("--review", type=Path, metavar="DIR", help="also write each case at --review-size into DIR")
    p.add_argument("--review-size", default="960x540", metavar="WxH", help="size of the review copies (default 960x540)")
    args = p.parse_args(argv)
    unknown = [c for c in args.cases if c not in CASES]
    if unknown:
        print(f"error: unknown case(s) {', '.join(unknown)} (known: {', '.join(CASES)})", file=sys.stderr)
        return 2
    try:
        with Renderer() as r:
            if args.cases and (GOLDEN_DIR / "renderer.json").exists():
                why = renderer_mismatch(read_info(GOLDEN_DIR), r.info)
                if why:
                    print(f"error: {why}; regenerate all cases at once", file=sys.stderr)
                    return 1
            for name in args.cases or CASES:
                image = render_case(r, name)
                out = GOLDEN_DIR / f"{name}.png"
                save_png(image, out)
                print(f"wrote {out.relative_to(ROOT)} ({image.shape[1]}x{image.shape[0]})")
                if args.review is not None:
                    review = _review(r, name, args.review_size)
                    args.review.mkdir(parents=True, exist_ok=True)
                    save_png(review, args.review / f"{name}.png")
                    print(f"wrote {args.review / (name + '.png')} ({review.shape[1]}x{review.shape[0]})")
            write_info(GOLDEN_DIR, r.info)
            print(f"renderer: {r.info['GL_RENDERER']} / {r.info['GL_VERSION']}")
    except VrdError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


def _review(renderer, name: str, size: str):  # type: ignore[no-untyped-def]
    """Case ``name`` rendered at ``size`` (WxH per eye; same views, so the same framing)."""
    from cases import build_case

    from vrdiplomacy.render.frames import stereo_side_by_side

    w, h = (int(x) for x in size.lower().split("x"))
    scene, _layout, views = build_case(name)
    targets = [renderer.create_target(w, h) for _ in views]
    renderer.upload(scene)
    renderer.render(scene, views, targets)
    images = [renderer.read_pixels(t) for t in targets]
    return stereo_side_by_side(*images) if len(images) == 2 else images[0]


if __name__ == "__main__":
    raise SystemExit(main())
