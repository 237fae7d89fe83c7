"""Sender keys: KID layout, generations, per-KID replay windows and the rekey policy.

Every member sends under its own base key. ``KID = sender_index << GEN_BITS | generation mod
2^GEN_BITS``; each new generation is a fresh random base key (not derived from the old one), so a
member who left cannot follow, and a member who joined cannot read back. Receivers keep the keys of
the newest generation of each sender, plus the previous ones for ``grace_s`` after a newer one
arrived (frames in flight), each with its own replay window.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from vrdiplomacy.crypto.sframe import CipherSuite, ReplayWindow, SFrameKey
from vrdiplomacy.errors import CryptoError

GEN_BITS = 8
GEN_MASK = (1 << GEN_BITS) - 1
MAX_CTR = (1 << 40) - 1
"""A sender rotates long before its counter reaches this (the KID+CTR header stays short)."""


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
    """One (sender, generation) key at a receiver, with its replay window."""

    sender: int
    generation: int
    roster_version: int
    key: SFrameKey
    commitment: bytes
    window: ReplayWindow
    retire_at: float | None = None


@dataclass
class ReceiveKeyStore:
    """Receivers' keys by KID. Fields: ``window`` replay-window size; ``grace_s`` how long an older
    generation stays usable after a newer one from the same sender arrived."""

    window: int = 256
    grace_s: float = 5.0
    by_kid: dict[int, ReceiveKey] = field(default_factory=dict)
    newest: dict[int, int] = field(default_factory=dict)

    def install(self, k: ReceiveKey, now: float) -> bool:
        """Add a generation; ``False`` (ignored) when it is not newer than what we have."""
        top = self.newest.get(k.sender)
        if top is not None and k.generation <= top:
            return False
        for old in self.by_kid.values():
            if old.sender == k.sender and old.retire_at is None:
                old.retire_at = now + self.grace_s
        self.by_kid[k.key.kid] = k
        self.newest[k.sender] = k.generation
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

    def retire_older_than(self, roster_version: int, now: float) -> None:
        """After a roster change, keys made for older rosters stop after the grace period."""
        for k in self.by_kid.values():
            if k.roster_version < roster_version and k.retire_at is None:
                k.retire_at = now + self.grace_s
