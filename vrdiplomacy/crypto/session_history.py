"""What a :class:`~vrdiplomacy.crypto.session.GroupSession` remembers across roster changes and
frame signatures, to tell late legitimate packets from replays (sans-I/O).

* :class:`RosterHistory`: the rosters a newer one superseded, each kept for the key grace period.
  A member sends its key envelope for roster v(n) as soon as it installs v(n); the authority's
  v(n+1) may reach a receiver first (the relay orders the two independently), so the receiver
  checks that envelope against the roster it was made for, the way receivers keep an earlier
  epoch's keys for a short while (RFC 9605 section 9.1, rekeying after a membership change).
* :class:`SignatureOrder`: a member's frame signatures arrive in counter order on the reliable
  channel, and those of one key before the member's next key envelope; one that covers only
  counters already signed, or names a key we no longer hold while we hold the member's newer
  keys, is a replay.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vrdiplomacy.crypto.keys import ReceiveKey
from vrdiplomacy.crypto.roster import VerifiedRoster
from vrdiplomacy.crypto.signing import FrameSignature

MAX_PREVIOUS_ROSTERS = 8
"""Superseded rosters kept at most (each for ``grace_s`` in any case)."""


@dataclass
class RosterHistory:
    """Superseded rosters by version, with the time each was superseded. Fields: ``grace_s`` how
    long one is kept; ``first_version`` the first roster version this client installed."""

    grace_s: float = 5.0
    first_version: int | None = None
    _rosters: dict[int, tuple[VerifiedRoster, float]] = field(default_factory=dict)

    def installed(self, old: VerifiedRoster | None, new: VerifiedRoster, now: float) -> None:
        """Roster ``new`` (a new version) replaced ``old``."""
        if old is not None and old.version != new.version:
            self._rosters[old.version] = (old, now)
        if self.first_version is None:
            self.first_version = new.version
        self.prune(now)

    def prune(self, now: float) -> None:
        for v in [v for v, (_, at) in self._rosters.items() if now >= at + self.grace_s]:
            del self._rosters[v]
        while len(self._rosters) > MAX_PREVIOUS_ROSTERS:
            del self._rosters[min(self._rosters)]

    def get(self, version: int, now: float) -> tuple[VerifiedRoster, float] | None:
        """The superseded roster ``version`` and when it was superseded, while in its grace."""
        self.prune(now)
        return self._rosters.get(version)

    def absent_from(self, sender: int, public_key: bytes, since: int, until: int) -> int | None:
        """The first version in ``since .. until - 1`` whose roster we do not hold or that does
        not list ``sender`` with this Ed25519 ``public_key``; ``None``: a member all along."""
        for u in range(since, until):
            got = self._rosters.get(u)
            m = got[0].members.get(sender) if got is not None else None
            if m is None or m.public_key.public_bytes_raw() != public_key:
                return u
        return None

    def before_us(self, version: int) -> bool:
        """Whether ``version`` is older than the first roster we installed."""
        return self.first_version is not None and version < self.first_version


@dataclass
class SignatureOrder:
    """The highest counter each held key's sender has signed so far."""

    _top: dict[int, tuple[ReceiveKey, int]] = field(default_factory=dict)

    def check(self, sig: FrameSignature, key: ReceiveKey | None, sender_keyed: bool) -> str | None:
        """``None`` when ``sig`` may be applied (and then remembered), else the drop reason:
        "unknown_key" (a key we do not hold while ``sender_keyed``: we hold the sender's newer
        keys) or "replay" (every counter it covers was signed already). ``key``: the key we hold
        for ``sig.kid``."""
        if key is None:
            return "unknown_key" if sender_keyed else None
        last = sig.first_ctr + len(sig.hashes) - 1
        held = self._top.get(sig.kid)
        if held is not None and held[0] is key:
            if last <= held[1]:
                return "replay"
            last = max(last, held[1])
        self._top[sig.kid] = (key, last)
        return None

    def forget_except(self, kids: set[int] | dict[int, ReceiveKey]) -> None:
        """Forget the keys no longer held."""
        for kid in [k for k in self._top if k not in kids]:
            del self._top[kid]
