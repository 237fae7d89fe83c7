"""Keeps CPython's full garbage-collection passes off a busy relay's forwarding path.

A relay serving 500 guests holds hundreds of thousands of long-lived containers (sessions, keys,
routes, buffers). CPython's cyclic collector walks all of them in every full (generation 2) pass,
which on the 2-core test machine took 25 to 115 ms; during it no datagram is read or sent, so
every voice frame of those 100 ms arrives late (the 1000-guest load run saw several such passes a
minute, each collecting nothing, enough to set its 99th-percentile voice latency). What a relay
keeps is long-lived by design, and it makes almost no reference cycles in steady state, so:

* once admissions have settled (``settle_s`` without a new session), the young generations are
  collected and everything alive is frozen (:func:`gc.freeze`): later full passes walk only what
  was created since;
* a frozen object is still freed by reference counting; only cyclic garbage among frozen objects
  waits. Departed sessions leave such cycles, so after ``full_after_ended`` departures (or a
  ``full_fraction`` of the sessions, whichever is more) the heap is unfrozen, fully collected once
  and frozen again: memory stays bounded by that many sessions' cycles, and the one long pause
  falls after a departure wave rather than every few seconds.

This is a process-wide policy: only the relay service process (``vrdiplomacy relay``) installs
it, never a relay embedded in a client or a test process. The clock is passed in.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass
from typing import Any


@dataclass
class GcSettings:
    """Settings of :class:`HeapFreezer`."""

    settle_s: float = 2.0
    """Seconds without a new session before the heap is frozen."""
    full_after_ended: int = 64
    """Departed sessions after which one full collection runs (at least; see ``full_fraction``)."""
    full_fraction: float = 0.25
    """... or this share of the sessions alive, whichever is more."""


class HeapFreezer:
    """The relay's collection policy; ``note`` each session event, ``tick`` about once a second."""

    def __init__(self, settings: GcSettings | None = None) -> None:
        self.s = settings or GcSettings()
        self.sessions = 0
        self._admitted = 0  # sessions started since the last freeze
        self._last_admission = float("-inf")
        self._ended = 0  # sessions ended since the last full collection
        self.freezes = 0
        self.full_collections = 0
        self.collected = 0  # objects the full collections found unreachable
        self.passes = [0, 0, 0]  # collections per generation, automatic ones included
        self.pause_ms_max = [0.0, 0.0, 0.0]
        self._t0 = 0.0
        self._installed = False
        # objects frozen, counted once per freeze: gc.get_freeze_count() walks the whole frozen list
        # (about 10 ms for a million objects), too slow for a statistics read every second
        self.frozen_objects = 0

    # ------------------------------------------------------------ pause statistics

    def install(self) -> None:
        """Measure every collection's pause (``gc.callbacks``) from now on."""
        if not self._installed:
            gc.callbacks.append(self._on_gc)
            self._installed = True

    def uninstall(self) -> None:
        if self._installed:
            gc.callbacks.remove(self._on_gc)
            self._installed = False

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._t0 = time.perf_counter()
            return
        g = min(2, int(info.get("generation", 2)))
        self.passes[g] += 1
        self.pause_ms_max[g] = max(self.pause_ms_max[g], (time.perf_counter() - self._t0) * 1000)

    # ------------------------------------------------------------ policy

    def note(self, kind: str, now: float) -> None:
        """A session event of the relay core: ``started``, ``resumed``, ``away`` or ``ended``."""
        if kind in ("started", "resumed"):  # a resumed session is new state too (its old link's is gone)
            self.sessions += kind == "started"
            self._admitted += 1
            self._last_admission = now
        elif kind == "ended":
            self.sessions = max(0, self.sessions - 1)
            self._ended += 1

    def tick(self, now: float) -> str:
        """Freeze or fully collect when due; returns what it did (``""``, ``"freeze"`` or ``"full"``)."""
        if self._ended >= max(self.s.full_after_ended, self.s.full_fraction * self.sessions):
            gc.unfreeze()
            self.collected += gc.collect()
            gc.freeze()
            self.frozen_objects = gc.get_freeze_count()
            self.full_collections += 1
            self.freezes += 1
            self._ended = self._admitted = 0
            return "full"
        if self._admitted and now - self._last_admission >= self.s.settle_s:
            gc.collect(1)  # the young generations' cycles are not frozen with the rest
            gc.freeze()
            self.frozen_objects = gc.get_freeze_count()
            self.freezes += 1
            self._admitted = 0
            return "freeze"
        return ""

    def stats(self) -> dict[str, Any]:
        return {"frozen_objects": self.frozen_objects, "freezes": self.freezes,
                "full_collections": self.full_collections, "collected": self.collected,
                "passes": list(self.passes), "pause_ms_max": [round(x, 2) for x in self.pause_ms_max]}
