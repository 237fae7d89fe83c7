"""``vrdiplomacy gestures classify FILE``: the gestures in a recorded input file;
``vrdiplomacy gestures evaluate FILE...``: precision and recall on labelled recordings.

Recordings are JSON Lines (see :mod:`vrdiplomacy.gestures.record`), plain or ``.gz``; ``vrdiplomacy
join --record FILE`` writes them, ``tools/gen_gesture_data.py`` and ``tools/gen_heldout.py``
generate labelled ones.
"""

from __future__ import annotations

import argparse
import json
import sys

from vrdiplomacy.errors import ConfigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", title="actions")
    sub.required = True
    c = sub.add_parser(
        "classify",
        help="print the gestures recognized in a recording",
        description="Print every gesture recognized in a JSON Lines input recording: onset and "
        "offset (seconds), hand, confidence and the target pointed at.",
    )
    c.add_argument("file", metavar="FILE", help="recording (.jsonl or .jsonl.gz)")
    c.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    c.add_argument(
        "--targets",
        metavar="JSON",
        help="targets to ray-cast pointing at: a JSON list of {name, position: [x, y, z], radius} "
        "(default: the recording header's targets)",
    )
    c.add_argument("--mapping", metavar="TOML", help="controller/desktop mapping file (default: built-in)")
    e = sub.add_parser(
        "evaluate",
        help="precision and recall per gesture and input source on labelled recordings",
        description="Classify labelled recordings and print, per input source (articulated hands, "
        "controllers), each gesture's precision and recall and the false triggers per 10 minutes on "
        "natural-motion recordings (header meta kind = negative).",
    )
    e.add_argument("files", nargs="+", metavar="FILE", help="labelled recordings (.jsonl or .jsonl.gz)")
    e.add_argument("--tol", type=float, default=0.3, help="onset tolerance in seconds (default 0.3)")
    e.add_argument("--workers", type=int, default=1, help="processes (default 1)")


def _load_targets(path: str) -> list:
    from vrdiplomacy.gestures.types import Target

    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as e:
        raise ConfigError(f"cannot read targets {path}: {e.strerror}") from None
    except json.JSONDecodeError as e:
        raise ConfigError(f"targets {path} are not JSON: {e.msg} (line {e.lineno})") from None
    if not isinstance(data, list):
        raise ConfigError(f"targets {path} must hold a JSON list")
    return [Target.from_dict(d) for d in data]


def run(args: argparse.Namespace) -> int:
    if args.action == "evaluate":
        return _evaluate(args)
    return _classify(args)


def _evaluate(args: argparse.Namespace) -> int:
    from vrdiplomacy.gestures.evaluate import evaluate_by_source

    if args.workers < 1 or not args.tol >= 0:
        raise ConfigError("--workers must be >= 1 and --tol >= 0")
    for source, table in evaluate_by_source(args.files, args.tol, args.workers).items():
        print(f"\n{source}\n{table.format()}")
    return 0


def _classify(args: argparse.Namespace) -> int:
    from vrdiplomacy.gestures.mapping import load_mapping
    from vrdiplomacy.gestures.record import read_recording
    from vrdiplomacy.gestures.recognizer import classify

    rec = read_recording(args.file)
    targets = _load_targets(args.targets) if args.targets else rec.targets
    mapping = load_mapping(args.mapping).controller if args.mapping else None
    dets = classify(rec.frames, targets, mapping=mapping)
    if args.json:
        out = {
            "file": args.file,
            "frames": len(rec.frames),
            "duration": round(rec.duration, 3),
            "dropped_lines": rec.dropped,
            "detections": [d.to_dict() for d in dets],
        }
        print(json.dumps(out, indent=1))
        return 0
    note = f", {rec.dropped} truncated line dropped" if rec.dropped else ""
    print(f"{args.file}: {len(rec.frames)} frames, {rec.duration:.1f} s, {len(targets)} targets{note}")
    if not dets:
        print("no gestures recognized")
        return 0
    print(f"{'onset':>8} {'offset':>8}  {'gesture':<12} {'hand':<6} {'conf':>5}  target")
    for d in dets:
        print(f"{d.onset:8.2f} {d.offset:8.2f}  {d.gesture.value:<12} {d.hand.value:<6} {d.confidence:5.2f}  {d.target or '-'}")
    sys.stdout.flush()
    return 0
