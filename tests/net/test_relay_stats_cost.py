"""What the relay's once-a-second statistics cost its event loop, and the window figures a bench
takes from two snapshots of them."""

from __future__ import annotations

import gc
import json

import pytest

from vrdiplomacy.net.gc_policy import GcSettings, HeapFreezer
from vrdiplomacy.net.stats import LatencyHistogram


def test_statistics_do_not_walk_the_frozen_heap(monkeypatch: pytest.MonkeyPatch) -> None:
    """``gc.get_freeze_count()`` walks the whole frozen list: at 1000 guests about 10 ms, and the
    relay read it for its stats file every second, a 9-11 ms hold of its event loop each time
    (the 1000-guest load run's largest regular hold besides voice fan-out). Now it is counted once
    per freeze. Fails on main c54bfe1 (one walk per statistics read)."""
    walks = []
    real = gc.get_freeze_count
    monkeypatch.setattr(gc, "get_freeze_count", lambda: walks.append(1) or real())
    h = HeapFreezer(GcSettings(settle_s=1.0))
    try:
        h.note("started", 0.0)
        assert h.tick(2.0) == "freeze"
        n = len(walks)
        assert n <= 1
        for _ in range(5):
            st = h.stats()
        assert len(walks) == n  # reading the statistics walks nothing
        assert st["frozen_objects"] > 0 and st["freezes"] == 1
    finally:
        gc.unfreeze()


def test_a_window_of_a_histogram_from_two_snapshots() -> None:
    """A bench reads a relay's histograms (kept since the relay started, joins included) before and
    after its window; the difference is the window's alone, also through JSON (string keys)."""
    h = LatencyHistogram()
    for _ in range(100):
        h.add(0.040)  # during the joins: 40 ms
    before = json.loads(json.dumps(h.sparse()))
    for _ in range(99):
        h.add(0.002)
    h.add(0.010)
    w = LatencyHistogram.between(before, json.loads(json.dumps(h.sparse())))
    assert w.n == 100
    assert w.percentile(50) == pytest.approx(0.00205) and w.percentile(99) == pytest.approx(0.00205)
    assert w.percentile(100) == pytest.approx(0.01005)
    assert h.percentile(99) == pytest.approx(0.04005)  # since the start: the joins' figure
