#!/usr/bin/env python3
"""Gesture recognizer benchmark (in-process part): accuracy tables, CPU per frame, event latency.

* Accuracy (``--accuracy``): per gesture and input source, precision and recall on the tuning
  set (tests/data/gestures, tools/gen_gesture_data.py) and on the independent held-out set
  (tools/gen_heldout.py, never tuned on), and false triggers per 10 minutes of natural motion::

      python tools/gen_heldout.py --out /tmp/heldout
      python tools/bench/gestures.py --accuracy --heldout /tmp/heldout

* CPU: wall time of ``GestureRecognizer.push`` per frame (one core), by input source.
* Latency, per gesture, over the labelled dataset: ``start`` = start event emission minus the
  labelled onset (the gesture's first motion); ``end`` = end event emission minus the labelled
  offset (the gesture's completion). Network transport is not included.

    python tools/bench/gestures.py [--files tests/data/gestures/perf_0*.jsonl.gz]
"""

from __future__ import annotations

import argparse
import glob
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from vrdiplomacy.gestures.evaluate import evaluate_by_source  # noqa: E402
from vrdiplomacy.gestures.record import read_recording  # noqa: E402
from vrdiplomacy.gestures.recognizer import GestureRecognizer  # noqa: E402


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * (len(s) - 1) + 0.5))] if s else float("nan")


def accuracy(tuning: Path, heldout: Path | None, workers: int) -> int:
    sets = [("tuning set", tuning)] + ([("held-out set", heldout)] if heldout else [])
    worst = []
    for title, folder in sets:
        files = sorted(glob.glob(str(folder / "*.jsonl.gz")))
        if not files:
            print(f"error: no recordings in {folder}", file=sys.stderr)
            return 2
        t0 = time.perf_counter()
        tables = evaluate_by_source(files, workers=workers)
        print(f"\n## {title}: {folder} ({len(files)} files, {time.perf_counter() - t0:.0f} s)")
        for source, table in tables.items():
            print(f"\n### {source}\n{table.format()}")
            if title == "held-out set":
                for name, s in table.scores.items():
                    if s.tp + s.fn and min(s.precision, s.recall) < 0.95:
                        worst.append(f"{source} {name}: P {s.precision:.3f} R {s.recall:.3f}")
                if table.false_per_10min > 1.0:
                    worst.append(f"{source} false triggers {table.false_per_10min:.2f} per 10 min")
    if heldout:
        print("\nheld-out target (P, R >= 0.95 each; <= 1 false trigger / 10 min): "
              + ("met" if not worst else "NOT met: " + "; ".join(worst)))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", nargs="*", default=sorted(glob.glob(str(ROOT / "tests/data/gestures/perf_*.jsonl.gz"))))
    ap.add_argument("--accuracy", action="store_true", help="print the precision/recall tables instead")
    ap.add_argument("--tuning", type=Path, default=ROOT / "tests/data/gestures", help="tuning set folder")
    ap.add_argument("--heldout", type=Path, help="held-out set folder (tools/gen_heldout.py --out ...)")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    if args.accuracy:
        return accuracy(args.tuning, args.heldout, args.workers)
    cpu: dict[str, list[float]] = defaultdict(list)
    start_lat: dict[str, list[float]] = defaultdict(list)
    end_lat: dict[str, list[float]] = defaultdict(list)
    for n, path in enumerate(args.files, 1):
        rec = read_recording(path)
        source = rec.header.get("meta", {}).get("performer", {}).get("source", "unknown")
        r = GestureRecognizer(rec.targets)
        starts: list[tuple[str, str, float]] = []
        ends: list[tuple[str, str, float, float]] = []
        for f in rec.frames:
            t0 = time.perf_counter_ns()
            out = r.push(f)
            cpu[source].append((time.perf_counter_ns() - t0) / 1000.0)
            for phase, d in out:
                if phase == "start":
                    starts.append((d.gesture.value, d.hand.value, d.emitted_at))
                else:
                    ends.append((d.gesture.value, d.hand.value, d.onset, f.time))
        for lab in rec.labels:
            g, h, on, off = lab["gesture"], lab["hand"], lab["onset"], lab["offset"]
            s = [e for e in starts if e[0] == g and e[1] == h and on - 0.3 <= e[2] <= off + 1.5]
            if s:
                start_lat[g].append(min(e[2] for e in s) - on)
            e2 = [e for e in ends if e[0] == g and e[1] == h and on - 0.3 <= e[2] <= off + 0.3]
            if e2:
                end_lat[g].append(min(e[3] for e in e2) - off)
        print(f"[{n}/{len(args.files)}] {Path(path).name}: {len(rec.frames)} frames", file=sys.stderr, flush=True)
    print("\nCPU per frame (GestureRecognizer.push, one core)")
    print("| source | frames | mean us | p50 us | p99 us | max us |")
    print("|---|---|---|---|---|---|")
    for source, v in sorted(cpu.items()):
        print(f"| {source} | {len(v)} | {statistics.fmean(v):.0f} | {pct(v, 0.5):.0f} | {pct(v, 0.99):.0f} | {max(v):.0f} |")
    print("\nEvent latency, seconds (start: after the first motion; end: after the gesture completed)")
    print("| gesture | n | start p50 | start p95 | end p50 | end p95 |")
    print("|---|---|---|---|---|---|")
    for g in sorted(start_lat):
        s, e = start_lat[g], end_lat.get(g, [])
        print(f"| {g} | {len(s)} | {pct(s, 0.5):.2f} | {pct(s, 0.95):.2f} | {pct(e, 0.5):.2f} | {pct(e, 0.95):.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
