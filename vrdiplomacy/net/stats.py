"""Latency histogram with fixed 50 µs bins (cheap to update on the forwarding path)."""

from __future__ import annotations

from bisect import bisect_left
from itertools import accumulate
from typing import Any

BIN_S = 50e-6
BINS = 4000  # 0 .. 200 ms, plus an overflow bin
PER_BIN = 1.0 / BIN_S  # seconds -> bin index factor (for callers that inline :meth:`LatencyHistogram.add`)


class LatencyHistogram:
    """Counts samples in seconds; :meth:`percentile` returns the upper edge of the bin."""

    __slots__ = ("counts", "n", "total")

    def __init__(self) -> None:
        self.counts = [0] * (BINS + 1)
        self.n = 0
        self.total = 0.0

    def add(self, seconds: float) -> None:
        i = int(seconds / BIN_S)
        self.counts[i if 0 <= i < BINS else (0 if i < 0 else BINS)] += 1
        self.n += 1
        self.total += seconds

    def merge(self, other: "LatencyHistogram") -> None:
        for i, c in enumerate(other.counts):
            self.counts[i] += c
        self.n += other.n
        self.total += other.total

    def percentile(self, p: float) -> float:
        """The ``p``-th percentile (0-100) in seconds; 0.0 without samples."""
        return self._percentiles((p,))[0]

    def _percentiles(self, ps: tuple[float, ...]) -> list[float]:
        # cumulative counts and a binary search, both in C: a relay reads several histograms for its
        # stats file every second, and a Python loop over 4000 bins each time held its event loop
        if self.n == 0:
            return [0.0] * len(ps)
        acc = list(accumulate(self.counts))
        out = []
        for p in ps:
            i = bisect_left(acc, max(1, round(self.n * p / 100.0)))
            out.append(min(i, BINS) * BIN_S + BIN_S)
        return out

    def sparse(self) -> dict[int, int]:
        """The non-empty bins (index: count): two snapshots subtracted give a window's histogram."""
        return {i: c for i, c in enumerate(self.counts) if c}

    @classmethod
    def between(cls, before: dict[Any, int], after: dict[Any, int]) -> LatencyHistogram:
        """The samples added between two :meth:`sparse` snapshots (both as read back from JSON, or both not)."""
        h = cls()
        for i, c in after.items():
            d = c - before.get(i, 0)
            if d > 0:
                h.counts[min(int(i), BINS)] += d
                h.n += d
        return h

    def as_dict(self) -> dict[str, float]:
        p50, p99, pmax = self._percentiles((50, 99, 100))
        return {
            "n": self.n,
            "mean_ms": (self.total / self.n * 1e3) if self.n else 0.0,
            "p50_ms": p50 * 1e3,
            "p99_ms": p99 * 1e3,
            "max_ms": pmax * 1e3,
        }
