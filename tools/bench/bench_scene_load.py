#!/usr/bin/env python3
"""Benchmark: how long loading each scene takes (``vrdiplomacy.scene.assets.load_scene``).

    python tools/bench/bench_scene_load.py [--repeat N]

Columns: ``first`` is the first load in a fresh process (includes importing trimesh and Pillow),
``uncached`` the best of N loads after clearing the in-process cache (header checks, PNG
decoding, trimesh parsing), ``cached`` the best of N cache hits. Target: chamber uncached < 1.5 s.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

FIRST = "import time; t=time.perf_counter(); from vrdiplomacy.scene.assets import load_scene; load_scene('{name}'); print(time.perf_counter()-t)"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="loads per measurement (best is shown)")
    args = ap.parse_args()
    from vrdiplomacy.scene.assets import clear_cache, load_scene

    print(f"{'scene':<10} {'first s':>8} {'uncached s':>11} {'cached ms':>10} {'meshes':>7} {'triangles':>10} "
          f"{'texels':>10} {'seats':>6}")
    for name in ("chamber", "bilateral", "embassy"):
        first = float(subprocess.run([sys.executable, "-c", FIRST.format(name=name)], cwd=REPO, check=True,
                                     capture_output=True, text=True).stdout.strip())
        uncached, cached = [], []
        for _ in range(args.repeat):
            clear_cache()
            t = time.perf_counter()
            scene, layout = load_scene(name)
            uncached.append(time.perf_counter() - t)
            t = time.perf_counter()
            load_scene(name)
            cached.append(time.perf_counter() - t)
        meshes = scene.meshes()
        tris = sum(m.triangle_count for m, _ in meshes)
        texels = {id(t): t.pixels.shape[0] * t.pixels.shape[1] for m, _ in meshes
                  for t in (m.material.base_color_texture, m.material.emissive_texture) if t is not None}
        print(f"{name:<10} {first:>8.2f} {min(uncached):>11.3f} {min(cached) * 1000:>10.1f} {len(meshes):>7} "
              f"{tris:>10,d} {sum(texels.values()):>10,d} {len(layout.seats):>6}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
