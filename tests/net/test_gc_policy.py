"""The relay service's collector policy (vrdiplomacy/net/gc_policy.py), with the real ``gc``.

A full collection pass of a 500-guest relay held its event loop for 25-115 ms several times a
minute; freezing the settled heap keeps those passes short, but must not keep departed sessions'
reference cycles forever."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from vrdiplomacy.net.gc_policy import GcSettings, HeapFreezer


class _State:
    """Stands for one session's state: a reference cycle, as the relay's sessions hold."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture
def freezer() -> Iterator[HeapFreezer]:
    h = HeapFreezer(GcSettings(settle_s=2.0, full_after_ended=4, full_fraction=0.25))
    h.install()
    try:
        yield h
    finally:
        h.uninstall()
        gc.unfreeze()  # leave the test process's collector as it was
        gc.collect()


def test_the_heap_is_frozen_only_once_admissions_have_settled(freezer: HeapFreezer) -> None:
    for i in range(3):
        freezer.note("started", 10.0 + i * 0.5)
    assert freezer.tick(11.5) == ""  # the last guest came 0.5 s ago: still admitting
    assert gc.get_freeze_count() == 0
    keep = [_State() for _ in range(100)]
    assert freezer.tick(13.1) == "freeze"
    assert gc.get_freeze_count() >= 100  # what is alive (the sessions' state) no longer walked by full passes
    assert freezer.tick(20.0) == ""  # nothing new: nothing to do
    assert freezer.stats()["freezes"] == 1
    del keep


def test_departed_sessions_cycles_are_freed_after_a_departure_wave(freezer: HeapFreezer) -> None:
    states = [_State() for _ in range(6)]
    refs = [weakref.ref(s) for s in states]
    for i in range(6):
        freezer.note("started", 1.0)
    assert freezer.tick(5.0) == "freeze"
    del states  # the sessions end: their cycles are garbage, but frozen
    gc.collect()
    assert all(r() is not None for r in refs), "a frozen cycle is not collected (this is what the policy bounds)"
    for _ in range(3):
        freezer.note("ended", 6.0)
    assert freezer.tick(7.0) == ""  # 3 departures: below full_after_ended (4)
    freezer.note("away", 7.5)  # a lost link is not a departure
    assert freezer.tick(8.0) == ""
    freezer.note("ended", 8.0)
    assert freezer.tick(9.0) == "full"
    assert all(r() is None for r in refs), "the departed sessions' cycles were freed by the full collection"
    st = freezer.stats()
    assert st["full_collections"] == 1 and st["collected"] >= 6
    assert freezer.sessions == 2
    assert gc.get_freeze_count() > 0  # frozen again afterwards


def test_pauses_are_measured_per_generation(freezer: HeapFreezer) -> None:
    gc.collect(0)
    gc.collect(2)
    st = freezer.stats()
    assert st["passes"][0] >= 1 and st["passes"][2] >= 1
    assert st["pause_ms_max"][2] > 0.0
