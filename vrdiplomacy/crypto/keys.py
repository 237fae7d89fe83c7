"""Sender keys: KID layout, generations, per-KID replay windows and the rekey policy.

Every member sends under its own base key. ``KID = sender_index << GEN_BITS | generation mod
2^GEN_BITS``; each new generation is a fresh random base key (not derived from the old one), so a
member who left cannot follow, and a member who joined cannot read back. Receivers keep the keys of
the newest generation of each sender, plus the previous ones for ``grace_s`` after a newer one
arrived (frames in flight), each with its own replay window.

Restarts: a generation is newer than another when its roster version is higher, or, for the same
roster version, its generation number is. A sender numbers its generations from the clock
(:func:`initial_generation`: seconds since 2025-01-01, 32 bits), so a member whose app restarted
starts above everything it sent before (its new roster entry usually brings a new roster version
as well) and receivers accept its keys at once, while replayed old key envelopes stay older.

Counters: a receiver refuses counters above :data:`MAX_CTR` and counters that jump further ahead
than the sender could have sent since the last accepted frame (:meth:`ReceiveKey.jump_allowed`):
such a frame opened under a key every member holds was made by another member. A frame that is
plausible but a whole replay window ahead is accepted without moving the window
(:meth:`ReceiveKey.accept`) until the sender's signature confirms it, so a forged frame a little
ahead cannot push the sender's real frames out as "too old".
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from vrdiplomacy.crypto.sframe import CipherSuite, ReplayWindow, SFrameKey
from vrdiplomacy.errors import CryptoError

GEN_BITS = 8
GEN_MASK = (1 << GEN_BITS) - 1
MAX_CTR = (1 << 40) - 1
"""A sender rotates long before its counter reaches this (the KID+CTR header stays short);
receivers refuse anything above it."""
GENERATION_EPOCH = 1_735_689_600
"""2025-01-01T00:00:00Z: generation numbers count seconds from here (32 bits last until 2161)."""
MAX_GENERATION = (1 << 32) - 1


def initial_generation(now: float) -> int:
    """The first generation a freshly started sender uses: the clock in seconds since
    :data:`GENERATION_EPOCH` (at least 0), so it is above whatever an earlier run of the same
    member used (one generation per rotation; rotations are far rarer than one a second)."""
    return min(MAX_GENERATION, max(0, int(now) - GENERATION_EPOCH))


def make_kid(sender: int, generation: int) -> int:
    return (sender << GEN_BITS) | (generation & GEN_MASK)


def split_kid(kid: int) -> tuple[int, int]:
    """``(sender_index, generation mod 2^GEN_BITS)``."""
    return kid >> GEN_BITS, kid & GEN_MASK


@dataclass
class RekeyPolicy:
    """When a sender must start a new key generation: on the first send, whenever the roster
    version changed (every join and every leave), and every ``interval_s`` seconds.

    Fields: ``interval_s`` rotation period (900 s = 15 minutes); ``last_at`` / ``last_version``
    when and for which roster version the current generation was made (``None`` before the first).
    """

    interval_s: float = 900.0
    last_at: float | None = None
    last_version: int | None = None

    def due(self, now: float, roster_version: int) -> bool:
        if self.last_at is None or self.last_version != roster_version:
            return True
        return now - self.last_at >= self.interval_s

    def mark(self, now: float, roster_version: int) -> None:
        self.last_at = now
        self.last_version = roster_version


@dataclass
class SendKey:
    """Our own current generation: base key, derived SFrame key and next counter."""

    sender: int
    generation: int
    roster_version: int
    base_key: bytes
    key: SFrameKey
    next_ctr: int = 0

    @classmethod
    def new(cls, suite: CipherSuite, sender: int, generation: int, roster_version: int) -> SendKey:
        base = os.urandom(32)
        return cls(sender, generation, roster_version, base, SFrameKey(suite, make_kid(sender, generation), base))

    def take_ctr(self) -> int:
        if self.next_ctr > MAX_CTR:
            raise CryptoError("sender counter exhausted: rotate the key")
        c = self.next_ctr
        self.next_ctr += 1
        return c


@dataclass
class ReceiveKey:
    """One (sender, generation) key at a receiver, with its replay window, the time of the last
    frame it opened (``last_at``; the install time before) and the sequence number of the last
    signed event it carried (``last_event_seq``)."""

    sender: int
    generation: int
    roster_version: int
    key: SFrameKey
    commitment: bytes
    window: ReplayWindow
    retire_at: float | None = None
    last_at: float = 0.0
    last_event_seq: int = 0
    ahead: set[int] = field(default_factory=set)

    @property
    def order(self) -> tuple[int, int]:
        """What "newer" means between two generations of one sender."""
        return (self.roster_version, self.generation)

    def jump_allowed(self, ctr: int, now: float, base: int, rate: float) -> bool:
        """Whether ``ctr`` is a plausible next counter: at most ``base`` plus ``rate`` frames per
        second since the last accepted frame above the highest one accepted."""
        top = max(self.window.highest, max(self.ahead, default=-1))
        return ctr - top <= base + rate * max(0.0, now - self.last_at)

    def check(self, ctr: int) -> str | None:
        """``None`` when ``ctr`` may be opened, else why not ("replay", "too_old")."""
        return "replay" if ctr in self.ahead else self.window.check(ctr)

    def accept(self, ctr: int, now: float) -> None:
        """Record an opened frame. One a whole window ahead is held aside (at most a window's worth)
        until :meth:`confirm`; anything else moves the window as usual."""
        w = self.window
        if ctr - w.highest >= w.size and len(self.ahead) < w.size:
            self.ahead.add(ctr)
        else:
            w.update(ctr)
            self._fold(w.highest)
        self.last_at = max(self.last_at, now)

    def confirm(self, upto: int) -> None:
        """The sender's signature covered counters up to ``upto``: held frames up to there join
        the window (moving it ahead)."""
        self._fold(upto)

    def _fold(self, upto: int) -> None:
        w = self.window
        for c in sorted(c for c in self.ahead if c <= upto):
            self.ahead.discard(c)
            if w.check(c) is None:
                w.update(c)


@dataclass
class ReceiveKeyStore:
    """Receivers' keys by KID. Fields: ``window`` replay-window size; ``grace_s`` how long an older
    generation stays usable after a newer one from the same sender arrived."""

    window: int = 256
    grace_s: float = 5.0
    by_kid: dict[int, ReceiveKey] = field(default_factory=dict)
    newest: dict[int, int] = field(default_factory=dict)
    newest_order: dict[int, tuple[int, int]] = field(default_factory=dict)

    def is_newer(self, sender: int, roster_version: int, generation: int) -> bool:
        """Whether a generation of ``sender`` made for ``roster_version`` is newer than ours."""
        top = self.newest_order.get(sender)
        return top is None or (roster_version, generation) > top

    def install(self, k: ReceiveKey, now: float) -> bool:
        """Add a generation; ``False`` (ignored) when it is not newer than what we have."""
        if not self.is_newer(k.sender, k.roster_version, k.generation):
            return False
        for old in self.by_kid.values():
            if old.sender == k.sender and old.retire_at is None:
                old.retire_at = now + self.grace_s
        k.last_at = now
        self.by_kid[k.key.kid] = k
        self.newest[k.sender] = k.generation
        self.newest_order[k.sender] = k.order
        return True

    def lookup(self, kid: int, now: float) -> ReceiveKey | None:
        k = self.by_kid.get(kid)
        if k is not None and k.retire_at is not None and now >= k.retire_at:
            del self.by_kid[kid]
            return None
        return k

    def expire(self, now: float) -> None:
        for kid in [kid for kid, k in self.by_kid.items() if k.retire_at is not None and now >= k.retire_at]:
            del self.by_kid[kid]

    def forget_sender(self, sender: int) -> None:
        """Drop every key of a member who left the roster."""
        for kid in [kid for kid, k in self.by_kid.items() if k.sender == sender]:
            del self.by_kid[kid]
        self.newest.pop(sender, None)
        self.newest_order.pop(sender, None)

    def retire_older_than(self, roster_version: int, now: float) -> None:
        """After a roster change, keys made for older rosters stop after the grace period."""
        for k in self.by_kid.values():
            if k.roster_version < roster_version and k.retire_at is None:
                k.retire_at = now + self.grace_s
