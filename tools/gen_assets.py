#!/usr/bin/env python3
"""Generate the 3D scenes, layouts and textures under assets/ (deterministic).

    python tools/gen_assets.py                 # (re)write assets/
    python tools/gen_assets.py --out DIR       # write somewhere else
    python tools/gen_assets.py --check         # regenerate in a temp dir, compare with assets/

Outputs: chamber.glb, bilateral.glb, embassy.glb (glTF 2.0 binary, one mesh per material,
textures embedded), layouts/<scene>.json, data/delegations.json (the 193 UN member states),
textures/exhibits/*.png and MANIFEST.json (sizes, SHA-256 and the generating environment).
The chamber's flags are read from the committed atlas textures/flags.png (tools/fetch_flags.py
writes it, once, from the flag-icons SVGs); this generator needs neither npm nor a rasterizer.
Reruns with the same Pillow/numpy/font produce identical bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import numpy  # noqa: E402
import PIL  # noqa: E402

from assetgen import bilateral, chamber, embassy  # noqa: E402
from assetgen.glb import build_glb  # noqa: E402
from assetgen.textures import font_name, png_bytes  # noqa: E402
from assetgen.un_members import MEMBERS  # noqa: E402

REPO = HERE.parent
MANIFEST = "MANIFEST.json"


def environment() -> dict[str, str]:
    """What the output bytes depend on besides this code."""
    return {
        "python": ".".join(platform.python_version_tuple()[:2]),
        "pillow": PIL.__version__,
        "numpy": numpy.__version__,
        "font": font_name(),
    }


def _inputs() -> dict[str, str]:
    """The committed files the scenes are built from besides this code: the real-flag atlas
    (tools/fetch_flags.py writes it), by SHA-256."""
    p = REPO / "assets" / "textures" / "flags.png"
    return {"textures/flags.png": hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "missing"}


def _json(data: Any) -> bytes:
    return (json.dumps(data, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def generate(out: Path, log: bool = True) -> dict[str, bytes]:
    """Build every asset; write them under ``out``; return {relative path: bytes}."""
    files: dict[str, bytes] = {}

    def step(msg: str) -> None:
        if log:
            print(f"[gen_assets] {msg}", file=sys.stderr, flush=True)

    step("chamber: 193 seats, placards, flags, screens")
    b, mats, imgs, layout, extras = chamber.build(MEMBERS)
    files["chamber.glb"] = build_glb("chamber", b, mats, imgs)
    files["layouts/chamber.json"] = _json(layout)
    seat_of = {s["delegation"]: s["id"] for s in layout["seats"]}
    colours = extras["colours"]
    files["data/delegations.json"] = _json(
        {
            "description": "The 193 member states of the United Nations in General Assembly (English "
            "alphabetical) order. code: ISO 3166-1 alpha-3; placard: the label on the desk; colour: the "
            "colour the real flag (textures/flags.png) is known by, its most common colour other than white "
            "when that covers 12 % of it, used to tint avatars; seat: the chamber seat id.",
            "delegations": [
                {
                    "code": code,
                    "name": name,
                    "placard": placard or name,
                    "order": i,
                    "colour": "#%02x%02x%02x" % colours[code],
                    "seat": seat_of[code],
                }
                for i, (code, name, placard) in enumerate(MEMBERS)
            ],
        }
    )
    step("bilateral: table for 2 x 6, flags, closed doors")
    b, mats, imgs, layout = bilateral.build()
    files["bilateral.glb"] = build_glb("bilateral", b, mats, imgs)
    files["layouts/bilateral.json"] = _json(layout)
    step("embassy: entrance hall, reception with exhibits, consular desk, lounge")
    b, mats, imgs, layout, pictures = embassy.build()
    files["embassy.glb"] = build_glb("embassy", b, mats, imgs)
    files["layouts/embassy.json"] = _json(layout)
    for ex_id, img in sorted(pictures.items()):
        files[f"textures/exhibits/{ex_id}.png"] = png_bytes(img)

    manifest = {
        "generator": "tools/gen_assets.py",
        "environment": environment(),
        "inputs": _inputs(),
        "total_bytes": sum(len(v) for v in files.values()),
        "files": {k: {"bytes": len(v), "sha256": hashlib.sha256(v).hexdigest()} for k, v in sorted(files.items())},
    }
    files[MANIFEST] = _json(manifest)
    for rel, data in files.items():
        p = out / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return files


def check(committed: Path) -> int:
    """Regenerate in a temporary directory and compare with ``committed``; 0 when identical."""
    with tempfile.TemporaryDirectory() as tmp:
        files = generate(Path(tmp), log=False)
    bad = []
    for rel, data in sorted(files.items()):
        p = committed / rel
        if not p.is_file():
            bad.append(f"{rel}: missing")
        elif p.read_bytes() != data:
            bad.append(f"{rel}: differs")
    for line in bad:
        print(line)
    if not bad:
        print(f"{len(files)} files identical to {committed}")
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Generate the vrdiplomacy scenes (glTF), layouts and textures.")
    ap.add_argument("--out", type=Path, default=REPO / "assets", help="output directory (default: assets/)")
    ap.add_argument("--check", action="store_true", help="regenerate in a temp dir and compare with --out")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    args = ap.parse_args(argv)
    if args.check:
        return check(args.out)
    t0 = time.perf_counter()
    files = generate(args.out, log=not args.quiet)
    total = sum(len(v) for v in files.values())
    if not args.quiet:
        for rel in sorted(files):
            print(f"{len(files[rel]):>10,d}  {rel}")
        print(f"{total:>10,d}  total ({len(files)} files) in {time.perf_counter() - t0:.2f} s -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
