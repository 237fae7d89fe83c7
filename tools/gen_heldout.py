#!/usr/bin/env python3
"""Write the held-out gesture set (vrdiplomacy.gestures.heldout): never used for tuning.

Per source (articulated hands, controllers): ``--people`` performers doing each gesture
``--reps`` times, and ``--neg-files`` recordings of ``--neg-minutes`` of natural motion
(default 2 x 5.5 = 11 minutes per source). Deterministic; frame rates 72/90/120 Hz.

    python tools/gen_heldout.py --out /tmp/heldout                # the full held-out set (bench)
    python tools/gen_heldout.py --out /tmp/fresh --first 2000 --people 8 --sources articulated
    python tools/gen_heldout.py --out tests/data/gestures/heldout --reps 1 --kinds gestures \\
        --seeds articulated:104,articulated:108,controller:100,controller:117   # the tests' slice
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vrdiplomacy.gestures.heldout_acts import make_recording  # noqa: E402
from vrdiplomacy.gestures.record import Recorder  # noqa: E402

VERSION = 2  # 2: the hands rest until the first act (its motion began at t=0, before its label)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="output folder")
    ap.add_argument("--people", type=int, default=12, help="performers per source")
    ap.add_argument("--reps", type=int, default=2, help="times each performer makes each gesture")
    ap.add_argument("--neg-files", type=int, default=2, help="natural-motion recordings per source")
    ap.add_argument("--neg-minutes", type=float, default=5.5, help="minutes per natural-motion recording")
    ap.add_argument("--first", type=int, default=0, help="first seed (the test slice uses 100)")
    ap.add_argument("--sources", default="articulated,controller", help="comma-separated input sources")
    ap.add_argument("--kinds", default="gestures,negative", help="comma-separated: gestures, negative")
    ap.add_argument("--seeds", default="", help="performers by seed instead of --first/--people: SOURCE:SEED,...")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    plan = []
    kinds = args.kinds.split(",")
    chosen: dict[str, list[int]] = {}
    for item in filter(None, args.seeds.split(",")):
        source, _, seed = item.partition(":")
        chosen.setdefault(source, []).append(int(seed))
    for source in args.sources.split(","):
        if "gestures" in kinds:
            seeds = chosen.get(source, []) if chosen else [args.first + i for i in range(args.people)]
            plan += [(f"ho_{source}_{seed:03d}", source, "gestures", seed) for seed in seeds]
        if "negative" in kinds:
            plan += [(f"ho_neg_{source}_{args.first + 500 + i:03d}", source, "negative", args.first + 500 + i)
                     for i in range(args.neg_files)]
    names = []
    for n, (name, source, kind, seed) in enumerate(plan, 1):
        t0 = time.perf_counter()
        frames, labels, targets, person = make_recording(seed, source, kind, args.reps, args.neg_minutes)
        meta = {"generator": f"heldout-{VERSION}", "seed": seed, "kind": kind, "performer": person.to_dict()}
        path = args.out / f"{name}.jsonl.gz"
        with Recorder(path, person.rate, targets, labels, meta, precision=3, orientations=False) as rec:
            for f in frames:
                rec.write(f)
        names.append(path.name)
        print(f"[{n}/{len(plan)}] {path.name}: {len(frames)} frames at {person.rate:.0f} Hz, {len(labels)} labels, "
              f"{path.stat().st_size / 1e6:.2f} MB in {time.perf_counter() - t0:.1f} s", flush=True)
    names = sorted(p.name for p in args.out.glob("ho_*.jsonl.gz"))  # this run's files and earlier runs' into --out
    (args.out / "manifest.json").write_text(json.dumps({"generator": f"heldout-{VERSION}", "files": names}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
