#!/usr/bin/env python3
"""Generate the labelled gesture dataset (tests/data/gestures/) from simulated performers.

Deterministic: every file comes from a seed derived from ``--seed-base`` and its index, and
gzip output carries no timestamp, so the same command writes byte-identical files.

The committed test set uses seed base 1000 and was written by generator version 3 (it is not
rewritten with every generator change, to keep the repository small). Tuning happened on seed
bases 0-9 (never on the test set): ``python tools/gen_gesture_data.py --seed-base 0 --out /tmp/tune``.

    python tools/gen_gesture_data.py                       # the committed test set
    python tools/gen_gesture_data.py --only perf_03_controller
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vrdiplomacy.gestures.background import perform_gestures, perform_negatives  # noqa: E402
from vrdiplomacy.gestures.perform import Performer  # noqa: E402
from vrdiplomacy.gestures.record import Recorder  # noqa: E402

GENERATOR_VERSION = 6  # 3: OpenXR grip convention; single nods, minimal shakes, high waves, natural-height handshakes, palm-inward beats; 4: looking round, adjusting the headset, applause with a pause, shoulder-height waves; 5: a hand raised right beside the head (palm forward), one on the head (palm on it); 6: the head settles before a nod or shake (no glance running into it), offered hands held 1.0-2.5 s
RATE = 30.0


def plan(articulated: int, controller: int, negatives: int, neg_minutes: float) -> list[dict]:
    """The files to write: positive performances, then negative (talking/listening) sequences."""
    out = []
    for i in range(articulated + controller):
        src = "articulated" if i < articulated else "controller"
        out.append({"name": f"perf_{i:02d}_{src}", "kind": "gestures", "source": src, "index": i})
    for k in range(negatives):
        src = "controller" if k % 3 == 2 else "articulated"
        out.append({"name": f"neg_{k:02d}_{src}", "kind": "negative", "source": src, "index": 100 + k,
                    "seconds": neg_minutes * 60.0})
    return out


def generate(item: dict, seed_base: int, reps: int, out_dir: Path) -> Path:
    seed = [seed_base, int(item["index"])]
    rng = np.random.default_rng(seed)
    performer = Performer.random(rng, item["name"], item["source"])
    if item["kind"] == "gestures":
        frames, labels, targets = perform_gestures(performer, rng, reps, RATE)
    else:
        frames, targets = perform_negatives(performer, rng, float(item["seconds"]), RATE)
        labels = []
    meta = {"generator": GENERATOR_VERSION, "seed": seed, "kind": item["kind"], "performer": performer.to_dict()}
    path = out_dir / f"{item['name']}.jsonl.gz"
    with Recorder(path, RATE, targets, labels, meta, precision=3, orientations=False) as rec:
        for f in frames:
            rec.write(f)
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "tests" / "data" / "gestures", help="output folder")
    ap.add_argument("--seed-base", type=int, default=1000, help="1000 = the committed test set")
    ap.add_argument("--articulated", type=int, default=8, help="performers with articulated hands")
    ap.add_argument("--controller", type=int, default=6, help="performers with controllers")
    ap.add_argument("--reps", type=int, default=3, help="times each performer makes each gesture")
    ap.add_argument("--negatives", type=int, default=3, help="negative sequences")
    ap.add_argument("--neg-minutes", type=float, default=3.6, help="length of each negative sequence")
    ap.add_argument("--only", action="append", help="write only this file (by name, repeatable)")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    items = plan(args.articulated, args.controller, args.negatives, args.neg_minutes)
    if args.only:
        items = [i for i in items if i["name"] in args.only]
        if not items:
            print("error: no such file in the plan", file=sys.stderr)
            return 2
    total = 0
    for n, item in enumerate(items, 1):
        t0 = time.perf_counter()
        path = generate(item, args.seed_base, args.reps, args.out)
        size = path.stat().st_size
        total += size
        print(f"[{n}/{len(items)}] {path.name}: {size / 1e6:.2f} MB in {time.perf_counter() - t0:.1f} s", flush=True)
    manifest = {"generator": GENERATOR_VERSION, "seed_base": args.seed_base, "reps": args.reps, "rate_hz": RATE,
                "files": [i["name"] + ".jsonl.gz" for i in plan(args.articulated, args.controller, args.negatives,
                                                                   args.neg_minutes)]}
    if not args.only:
        (args.out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"total {total / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
