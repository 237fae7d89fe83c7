"""Seeded network simulator for voice packets (sans-I/O): loss, loss bursts, jitter and
reordering. Time is passed in; the same seed gives the same run.

Loss follows a two-state Gilbert model: ``loss`` is the long-run loss rate and ``burst``
the mean length of a run of lost packets (1 means independent losses). Each delivered
packet's delay is ``base_delay_ms + N(0, jitter_ms)``, clipped at zero, so packets overtake
each other when the jitter exceeds the packet spacing; in addition, a ``reorder`` fraction
of packets is held back by ``reorder_ms``.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

from vrdiplomacy.errors import ConfigError


@dataclass
class NetSimSettings:
    """Network conditions: ``loss`` rate 0..1; ``burst`` mean loss-burst length in packets
    (>= 1; 1 = independent losses); ``jitter_ms`` standard deviation of the delay;
    ``base_delay_ms`` mean one-way delay (None: three jitter deviations, so that the
    delay is rarely clipped at zero); ``reorder`` fraction of packets held back by
    ``reorder_ms``."""

    loss: float = 0.0
    burst: float = 1.0
    jitter_ms: float = 0.0
    base_delay_ms: float | None = None
    reorder: float = 0.0
    reorder_ms: float = 30.0

    def validate(self) -> None:
        if not 0.0 <= self.loss < 1.0:
            raise ConfigError(f"loss must be a fraction in [0, 1), not {self.loss}")
        if self.burst < 1.0:
            raise ConfigError(f"mean burst length must be at least 1 packet, not {self.burst}")
        if self.jitter_ms < 0 or self.reorder_ms < 0 or not 0.0 <= self.reorder <= 1.0:
            raise ConfigError("jitter and reorder settings must be non-negative (reorder a fraction)")

    @property
    def base_s(self) -> float:
        base = 3.0 * self.jitter_ms if self.base_delay_ms is None else self.base_delay_ms
        return base / 1000.0


@dataclass
class NetSimStats:
    sent: int = 0
    lost: int = 0
    delivered: int = 0
    reordered: int = 0


class NetSim:
    """A one-way lossy, jittery link."""

    def __init__(self, settings: NetSimSettings | None = None, seed: int = 0) -> None:
        self.s = s = settings or NetSimSettings()
        s.validate()
        self.rng = np.random.default_rng(seed)
        self.stats = NetSimStats()
        self._bad = False
        self._q: list[tuple[float, int, bytes]] = []
        self._n = 0
        self._last_delivery = -1.0
        if s.burst <= 1.0:
            self._p_gb, self._p_bg = s.loss, 1.0
        else:
            self._p_bg = 1.0 / s.burst
            self._p_gb = s.loss * self._p_bg / (1.0 - s.loss)

    def _lose(self) -> bool:
        if self.s.burst <= 1.0:
            return bool(self.rng.random() < self.s.loss)
        if self._bad:
            self._bad = bool(self.rng.random() >= self._p_bg)
        else:
            self._bad = bool(self.rng.random() < self._p_gb)
        return self._bad

    def delay_for_next(self) -> float | None:
        """Draw the fate of the next packet: its one-way delay in seconds, or None if lost."""
        self.stats.sent += 1
        if self._lose():
            self.stats.lost += 1
            return None
        d = self.s.base_s + (self.rng.normal(0.0, self.s.jitter_ms / 1000.0) if self.s.jitter_ms > 0 else 0.0)
        if self.s.reorder > 0 and self.rng.random() < self.s.reorder:
            d += self.s.reorder_ms / 1000.0
            self.stats.reordered += 1
        return max(d, 0.0)

    def send(self, data: bytes, now: float) -> None:
        d = self.delay_for_next()
        if d is None:
            return
        heapq.heappush(self._q, (now + d, self._n, data))
        self._n += 1

    def next_time(self) -> float | None:
        return self._q[0][0] if self._q else None

    def receive(self, now: float) -> list[tuple[float, bytes]]:
        """Packets that have arrived by ``now``, as (arrival time, bytes), in arrival order."""
        out: list[tuple[float, bytes]] = []
        while self._q and self._q[0][0] <= now:
            t, _, data = heapq.heappop(self._q)
            out.append((t, data))
            self.stats.delivered += 1
        return out
