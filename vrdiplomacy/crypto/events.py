"""Signed events bound to their epoch, roster, key generation and time (sans-I/O).

An event (room text, gesture, floor request, vote) is a :class:`~vrdiplomacy.crypto.signing.SignedEvent`
sealed in an ``EVENT`` SFrame packet. :class:`EventBinder` makes them for a sender and checks them
for a receiver:

* the event names the epoch (roster version) and the epoch's hash it was sent under, and the
  sender key generation that seals it: an event sealed again under a later key (a member who kept
  it replays it to a delegation that joined later) or naming a roster the receiver never saw is
  refused ("stale_event");
* an event of the previous epoch is accepted for ``grace_s`` after the roster changed (events in
  flight), never later;
* the sender's clock: an event older than ``max_age_s`` ("stale_event": a relay held it back) or
  more than ``max_skew_s`` ahead of ours ("future_event") is refused;
* sequence numbers rise within each sender key generation ("event_replay" otherwise), so a sender
  whose app restarted (new generation) is heard again at once;
* the plaintext is padded to the smallest of ``buckets`` that fits, so neither the kind nor the
  exact length shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import ed25519

from vrdiplomacy.crypto.keys import ReceiveKey
from vrdiplomacy.crypto.packet import EVENT_BUCKETS, EVENT_STREAMS, StreamType, event_bucket
from vrdiplomacy.crypto.roster import VerifiedRoster
from vrdiplomacy.crypto.signing import EVENT_OVERHEAD, SignedEvent
from vrdiplomacy.errors import CryptoError, ProtocolError

MAX_HASHES_PER_EPOCH = 8
"""Re-issues of one roster version whose hash an event may name (where hashes differ per issue)."""


def epoch_hash(vr: VerifiedRoster) -> bytes:
    """The hash that names an epoch in signed events: the roster's transcript hash where rosters
    have one (the same for every re-issue of an epoch), else the hash of the roster itself."""
    transcript = getattr(vr, "transcript_hash", None)
    return transcript() if callable(transcript) else vr.hash()


class EventRejected(CryptoError):
    """A sealed event that opened but must not be acted on; ``reason`` is the drop counter's key."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


@dataclass
class EventSettings:
    """How signed events are bound and padded.

    Fields: ``max_age_s`` oldest event accepted by the sender's clock (60 s); ``max_skew_s`` how
    far the sender's clock may be ahead of ours (60 s); ``grace_s`` how long after a roster change
    events of the previous epoch are still accepted (5 s, the key grace period); ``buckets``
    plaintext sizes events are padded to.
    """

    max_age_s: float = 60.0
    max_skew_s: float = 60.0
    grace_s: float = 5.0
    buckets: tuple[int, ...] = EVENT_BUCKETS


@dataclass
class EventBinder:
    """Event binding state of one client in one room: the epochs it saw and when they began."""

    room_id: bytes
    settings: EventSettings = field(default_factory=EventSettings)
    _noted: VerifiedRoster | None = None
    _hashes: dict[int, list[bytes]] = field(default_factory=dict)
    _since: float = 0.0
    _seq: int = 0

    def note_roster(self, vr: VerifiedRoster | None, now: float) -> None:
        """Remember each roster we see (its epoch hash) and when its version began."""
        if vr is None or vr is self._noted:
            return
        if self._noted is None or vr.version != self._noted.version:
            self._since = now
        self._noted = vr
        known = self._hashes.setdefault(vr.version, [])
        h = epoch_hash(vr)
        if h not in known:
            known.append(h)
            del known[:-MAX_HASHES_PER_EPOCH]
        for v in [v for v in self._hashes if v < vr.version - 1]:
            del self._hashes[v]

    def padded_size(self, body_len: int) -> int:
        """The padded plaintext size of an event with a ``body_len``-byte body (ProtocolError
        when it is too large for any bucket)."""
        return event_bucket(EVENT_OVERHEAD + body_len, self.settings.buckets)

    def make(
        self, vr: VerifiedRoster, sender: int, kind: StreamType, body: bytes, generation: int,
        key: ed25519.Ed25519PrivateKey, now: float,
    ) -> bytes:
        """The padded plaintext of our event ``body`` of ``kind``, sealed next under ``generation``."""
        size = self.padded_size(len(body))
        self.note_roster(vr, now)
        self._seq += 1
        ev = SignedEvent.create(
            self.room_id, sender, kind, body, key, epoch=vr.version, roster_hash=self._hashes[vr.version][-1],
            generation=generation, seq=self._seq, time_ms=max(0, int(now * 1000)),
        )
        return ev.padded(size)

    def check(self, vr: VerifiedRoster, sender: int, key: ReceiveKey, pt: bytes, now: float) -> tuple[StreamType, bytes]:
        """The kind and body of an event ``sender`` sealed under ``key``; raises :class:`EventRejected`."""
        try:
            ev = SignedEvent.parse(pt)
        except ProtocolError as e:
            raise EventRejected("bad_event", str(e)) from None
        if ev.sender != sender:
            raise EventRejected("bad_event", f"event claims member {ev.sender} inside a frame of member {sender}")
        if ev.stream_type not in EVENT_STREAMS:
            raise EventRejected("bad_event", f"event of unknown kind {ev.stream_type}")
        member = vr.members.get(sender)
        if member is None:
            raise EventRejected("bad_event", f"event from member {sender}, who is not in the roster")
        try:
            ev.verify(self.room_id, member.public_key)
        except CryptoError as e:
            raise EventRejected("bad_event", str(e)) from None
        s = self.settings
        if ev.generation != key.generation or ev.epoch != key.roster_version:
            raise EventRejected("stale_event", f"event of member {sender} from epoch {ev.epoch} sealed under a later key")
        if ev.roster_hash not in self._hashes.get(ev.epoch, ()):
            raise EventRejected("stale_event", f"event of member {sender} names a roster we do not know")
        if ev.epoch != vr.version and now - self._since > s.grace_s:
            raise EventRejected("stale_event", f"event of member {sender} from epoch {ev.epoch}, now {vr.version}")
        age = now - ev.time_ms / 1000
        if age > s.max_age_s:
            raise EventRejected("stale_event", f"event of member {sender} is {age:.0f} s old")
        if -age > s.max_skew_s:
            raise EventRejected("future_event", f"event of member {sender} is {-age:.0f} s ahead of our clock")
        if ev.seq <= key.last_event_seq:
            raise EventRejected("event_replay", f"event {ev.seq} of member {sender} already seen")
        key.last_event_seq = ev.seq
        return StreamType(ev.stream_type), ev.body
