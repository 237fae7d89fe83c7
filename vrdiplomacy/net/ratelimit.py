"""Token buckets for per-client rate limits and byte budgets (clock passed in)."""

from __future__ import annotations


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` stored; starts full."""

    __slots__ = ("rate", "burst", "tokens", "stamp")

    def __init__(self, rate: float, burst: float, now: float = 0.0) -> None:
        self.rate = float(rate)
        self.burst = float(burst)
        self.tokens = float(burst)
        self.stamp = now

    def _refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now

    def take(self, amount: float, now: float) -> bool:
        """Spend ``amount`` tokens if available; False (nothing spent) otherwise."""
        if now > self.stamp:
            t = self.tokens + (now - self.stamp) * self.rate
            self.tokens = t if t < self.burst else self.burst
            self.stamp = now
        if self.tokens >= amount:
            self.tokens -= amount
            return True
        return False

    def available(self, now: float) -> float:
        self._refill(now)
        return self.tokens

    def time_until(self, amount: float, now: float) -> float:
        """Seconds until ``amount`` tokens are available (0 when they are)."""
        self._refill(now)
        if self.tokens >= amount:
            return 0.0
        return (min(amount, self.burst) - self.tokens) / self.rate if self.rate > 0 else float("inf")


class PacketBudget:
    """A datagram-rate and a byte-rate bucket refilled together (one call per datagram).

    ``pps`` datagrams and ``bps`` bytes per second, ``burst_s`` seconds of each stored; starts
    full. :meth:`take` spends one datagram and ``nbytes`` only when both are available.
    """

    __slots__ = ("pps", "bps", "p_max", "b_max", "p", "b", "stamp")

    def __init__(self, pps: float, bps: float, burst_s: float, now: float = 0.0) -> None:
        self.pps = float(pps)
        self.bps = float(bps)
        self.p_max = self.p = self.pps * burst_s
        self.b_max = self.b = self.bps * burst_s
        self.stamp = now

    def take(self, nbytes: int, now: float) -> bool:
        dt = now - self.stamp
        if dt > 0:
            self.stamp = now
            p = self.p + dt * self.pps
            self.p = p if p < self.p_max else self.p_max
            b = self.b + dt * self.bps
            self.b = b if b < self.b_max else self.b_max
        if self.p >= 1.0 and self.b >= nbytes:
            self.p -= 1.0
            self.b -= nbytes
            return True
        return False
