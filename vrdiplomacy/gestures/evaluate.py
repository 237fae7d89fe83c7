"""Scoring detections against labels by interval matching; a precision/recall table.

A detection is a true positive when its gesture and hand match a label and its onset lies in
the labelled [onset - tol, offset + tol]; each label is matched at most once (greedily, nearest
onset first). Unmatched detections are false positives, unmatched labels false negatives.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from vrdiplomacy.gestures.types import GESTURES, Detection


@dataclass
class Score:
    """Counts for one gesture: ``tp``, ``fp``, ``fn``; ``target_ok`` of ``target_total`` matched
    detections named the labelled target."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    target_ok: int = 0
    target_total: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


@dataclass
class Table:
    """Per-gesture :class:`Score` plus the false detections on negative-only sequences."""

    scores: dict[str, Score] = field(default_factory=lambda: {g.value: Score() for g in GESTURES})
    negative_seconds: float = 0.0
    negative_hits: list[Detection] = field(default_factory=list)

    @property
    def false_per_10min(self) -> float:
        return len(self.negative_hits) / (self.negative_seconds / 600.0) if self.negative_seconds else 0.0

    def format(self) -> str:
        rows = ["| gesture | labels | TP | FP | FN | precision | recall | target ok |", "|---|---|---|---|---|---|---|---|"]
        for name, s in self.scores.items():
            tgt = f"{s.target_ok}/{s.target_total}" if s.target_total else "-"
            rows.append(f"| {name} | {s.tp + s.fn} | {s.tp} | {s.fp} | {s.fn} | {s.precision:.3f} | {s.recall:.3f} | {tgt} |")
        if self.negative_seconds:
            rows.append("")
            rows.append(f"negatives: {len(self.negative_hits)} false detections in {self.negative_seconds / 60:.1f} min "
                        f"= {self.false_per_10min:.2f} per 10 min")
        return "\n".join(rows)


def match(
    labels: Iterable[dict[str, Any]], detections: Sequence[Detection], table: Table, tol: float = 0.3
) -> list[Detection]:
    """Add one sequence's matches to ``table``; returns the unmatched (false) detections."""
    free = list(detections)
    for lab in sorted(labels, key=lambda d: float(d["onset"])):
        on, off = float(lab["onset"]) - tol, float(lab["offset"]) + tol
        cands = [d for d in free if d.gesture.value == lab["gesture"] and d.hand.value == lab["hand"] and on <= d.onset <= off]
        s = table.scores[lab["gesture"]]
        if not cands:
            s.fn += 1
            continue
        best = min(cands, key=lambda d: abs(d.onset - float(lab["onset"])))
        free.remove(best)
        s.tp += 1
        if lab.get("target"):
            s.target_total += 1
            s.target_ok += int(best.target == lab["target"])
    for d in free:
        table.scores[d.gesture.value].fp += 1
    return free


def score_file(path: str) -> tuple[str, list[dict[str, Any]], list[Detection], float]:
    """Classify one labelled recording: (kind, labels, detections, duration in seconds)."""
    from vrdiplomacy.gestures.record import read_recording
    from vrdiplomacy.gestures.recognizer import classify

    rec = read_recording(path)
    kind = str(rec.header.get("meta", {}).get("kind", "gestures"))
    return kind, rec.labels, classify(rec.frames, rec.targets), rec.duration


def score_file_by_source(path: str) -> tuple[str, str, list[dict[str, Any]], list[Detection], float]:
    """Like :func:`score_file`, with the performer's input source first ("articulated",
    "controller"; "unknown" when the header does not say)."""
    from vrdiplomacy.gestures.record import read_recording
    from vrdiplomacy.gestures.recognizer import classify

    rec = read_recording(path)
    meta = rec.header.get("meta", {})
    source = str(meta.get("performer", {}).get("source", "unknown")) if isinstance(meta, dict) else "unknown"
    kind = str(meta.get("kind", "gestures")) if isinstance(meta, dict) else "gestures"
    return source, kind, rec.labels, classify(rec.frames, rec.targets), rec.duration


def score_natural_motion(job: tuple[int, str, float]) -> tuple[str, str, list[dict[str, Any]], list[Detection], float]:
    """Generate ``(seed, source, minutes)`` of held-out natural motion (no gestures;
    :mod:`vrdiplomacy.gestures.heldout_acts`) in memory and classify it, shaped like
    :func:`score_file_by_source`."""
    from vrdiplomacy.gestures.heldout_acts import make_recording
    from vrdiplomacy.gestures.recognizer import classify

    seed, source, minutes = job
    frames, _, targets, _ = make_recording(seed, source, "negative", 1, minutes)
    duration = frames[-1].time - frames[0].time if frames else 0.0
    return source, "negative", [], classify(frames, targets), duration


def _score_job(job: str | tuple[int, str, float]) -> tuple[str, str, list[dict[str, Any]], list[Detection], float]:
    return score_file_by_source(job) if isinstance(job, str) else score_natural_motion(job)


def evaluate_by_source(
    paths: Iterable[str], tol: float = 0.3, workers: int = 1, natural: Sequence[tuple[int, str, float]] = ()
) -> dict[str, Table]:
    """One :class:`Table` per input source (articulated hands, controllers) over labelled recordings,
    plus ``natural`` motion generated from ``(seed, source, minutes)`` (see :func:`score_natural_motion`)."""
    jobs: list[str | tuple[int, str, float]] = [*natural, *(str(p) for p in paths)]
    if workers > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(workers) as ex:
            results = list(ex.map(_score_job, jobs))
    else:
        results = [_score_job(j) for j in jobs]
    tables: dict[str, Table] = {}
    for source, kind, labels, dets, duration in results:
        table = tables.setdefault(source, Table())
        if kind == "negative":
            table.negative_seconds += duration
            table.negative_hits += dets
        else:
            match(labels, dets, table, tol)
    return dict(sorted(tables.items()))


def evaluate_files(paths: Iterable[str], tol: float = 0.3, workers: int = 1) -> Table:
    """Score labelled recordings (``workers`` processes); files whose header says ``kind:
    negative`` count towards the false-trigger rate instead."""
    paths = [str(p) for p in paths]
    if workers > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(workers) as ex:
            results = list(ex.map(score_file, paths))
    else:
        results = [score_file(p) for p in paths]
    table = Table()
    for kind, labels, dets, duration in results:
        if kind == "negative":
            table.negative_seconds += duration
            table.negative_hits += dets
        else:
            match(labels, dets, table, tol)
    return table
