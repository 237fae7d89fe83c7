"""Signatures that stop forging inside the group (any key holder can make a valid SFrame frame).

* Media (voice, pose, room state): a sender hashes every frame it seals and, every
  ``every_frames`` frames or ``every_s`` seconds, signs one :class:`FrameSignature` covering the
  consecutive counters of its current KID. Receivers remember the hashes of frames they opened and
  check them when the signature arrives; a frame whose hash differs is a forgery, and so is a frame
  the sender's signatures passed over (its counter is below a signed range that arrived later) or
  left behind for longer than a deadline (:meth:`FrameVerifier.check`).
* Events (gestures, floor requests, votes): each :class:`SignedEvent` carries the sender's own
  Ed25519 signature over the room, sender, event kind, epoch (roster version) and roster hash, the
  sender's key generation, a sequence number and the sender's clock; a receiver acts on it only
  after all of them check out.

Wire formats::

    FrameSignature: u8 version=1 | vec8 room_id | u16 sender | u64 kid | u64 first_ctr | u16 n
                    | n * 16 frame_hash | 64 signature
    SignedEvent:    u8 version=2 | u16 sender | u8 kind | u64 epoch | 32 roster_hash
                    | u32 generation | u64 seq | u64 time_ms | vec16 body | 64 signature
                    | zero padding (up to a bucket size, inside the AEAD)
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from vrdiplomacy.crypto.wire import Reader, Writer
from vrdiplomacy.errors import CryptoError, ProtocolError

VERSION = 1
EVENT_VERSION = 2
HASH_LEN = 16
MAX_HASHES = 1024
_FRAME_LABEL = b"vrdiplomacy frame signature v1\x00"
_EVENT_LABEL = b"vrdiplomacy event v2\x00"
EVENT_OVERHEAD = 1 + 2 + 1 + 8 + 32 + 4 + 8 + 8 + 2 + 64
"""Bytes of a :class:`SignedEvent` besides its body."""


def frame_hash(wire: bytes) -> bytes:
    """Truncated SHA-256 of a whole sealed packet as it travels."""
    return hashlib.sha256(wire).digest()[:HASH_LEN]


@dataclass(frozen=True)
class FrameSignature:
    """A sender's signature over the hashes of frames ``first_ctr .. first_ctr + n - 1`` of ``kid``."""

    room_id: bytes
    sender: int
    kid: int
    first_ctr: int
    hashes: tuple[bytes, ...]
    signature: bytes = b""

    def _body(self) -> bytes:
        w = Writer().u8(VERSION).vec8(self.room_id).u16(self.sender).u64(self.kid).u64(self.first_ctr)
        w.u16(len(self.hashes))
        for h in self.hashes:
            w.raw(h)
        return w.bytes()

    def signed_part(self) -> bytes:
        return _FRAME_LABEL + self._body()

    def __bytes__(self) -> bytes:
        return self._body() + self.signature

    @classmethod
    def parse(cls, data: bytes) -> FrameSignature:
        r = Reader(data, "frame signature")
        if r.u8() != VERSION:
            raise ProtocolError("frame signature: unsupported version")
        room_id, sender, kid, first = r.vec8(), r.u16(), r.u64(), r.u64()
        n = r.u16()
        if n > MAX_HASHES:
            raise ProtocolError(f"frame signature: {n} hashes exceeds {MAX_HASHES}")
        hashes = tuple(r.take(HASH_LEN) for _ in range(n))
        sig = r.take(64)
        r.done()
        return cls(room_id, sender, kid, first, hashes, sig)

    def verify(self, key: ed25519.Ed25519PublicKey) -> None:
        try:
            key.verify(self.signature, self.signed_part())
        except InvalidSignature:
            raise CryptoError(f"frame signature from member {self.sender} does not verify") from None


@dataclass
class FrameSigner:
    """Collects hashes of our sealed frames and says when to sign. Fields: ``every_frames`` and
    ``every_s`` - sign after that many frames or that much time since the first unsigned one."""

    room_id: bytes
    sender: int
    every_frames: int = 32
    every_s: float = 0.1
    _kid: int | None = None
    _first_ctr: int = 0
    _first_at: float = 0.0
    _hashes: list[bytes] = field(default_factory=list)

    def add(self, kid: int, ctr: int, wire: bytes, now: float) -> None:
        if not self._hashes:
            self._kid, self._first_ctr, self._first_at = kid, ctr, now
        self._hashes.append(frame_hash(wire))

    def pending_kid(self) -> int | None:
        return self._kid if self._hashes else None

    def due(self, now: float) -> bool:
        return bool(self._hashes) and (len(self._hashes) >= self.every_frames or now - self._first_at >= self.every_s)

    def sign(self, key: ed25519.Ed25519PrivateKey) -> FrameSignature | None:
        """Sign what was collected (``None`` when nothing is pending)."""
        if not self._hashes or self._kid is None:
            return None
        unsigned = FrameSignature(self.room_id, self.sender, self._kid, self._first_ctr, tuple(self._hashes))
        self._hashes = []
        return FrameSignature(
            unsigned.room_id, unsigned.sender, unsigned.kid, unsigned.first_ctr, unsigned.hashes,
            key.sign(unsigned.signed_part()),
        )


@dataclass
class FrameVerifier:
    """Receiver side: hashes of opened frames, checked when the sender's signatures arrive.

    Fields: ``capacity`` frames remembered (oldest forgotten first, counted as ``expired``);
    ``deadline_s`` how long a frame may stay unsigned while its sender's signatures for the same
    key keep arriving. Signatures of one sender arrive in counter order (they travel on the
    reliable, ordered event channel), so when one arrives for ``kid``:

    * a remembered frame of ``kid`` below its first counter was passed over: forged;
    * a remembered frame of ``kid`` opened more than ``deadline_s`` before it and still not
      covered was never signed by the key's owner (an honest frame is signed within
      ``every_s``): forged, even when its counter is ahead of everything the owner signed;
    * hashes it carries for counters not opened yet are kept (media may arrive after its
      signature) and checked when the frame arrives.
    """

    capacity: int = 8192
    deadline_s: float = 2.0
    _seen: dict[int, OrderedDict[int, tuple[int, bytes, float]]] = field(default_factory=dict)
    _signed: OrderedDict[tuple[int, int], tuple[int, bytes]] = field(default_factory=OrderedDict)
    _count: int = 0
    verified: int = 0
    forged: int = 0
    expired: int = 0

    def add(self, sender: int, kid: int, ctr: int, wire: bytes, now: float) -> bool:
        """Remember an opened frame; ``False`` when a signature that already arrived says it is forged."""
        h = frame_hash(wire)
        early = self._signed.pop((kid, ctr), None)
        if early is not None:
            if early == (sender, h):
                self.verified += 1
                return True
            self.forged += 1
            return False
        self._seen.setdefault(kid, OrderedDict())[ctr] = (sender, h, now)
        self._count += 1
        while self._count > self.capacity:
            oldest_kid = min(self._seen, key=lambda k: next(iter(self._seen[k].values()))[2])
            frames = self._seen[oldest_kid]
            frames.popitem(last=False)
            if not frames:
                del self._seen[oldest_kid]
            self._count -= 1
            self.expired += 1
        return True

    def _pop(self, kid: int, ctr: int) -> tuple[int, bytes, float] | None:
        frames = self._seen.get(kid)
        if frames is None:
            return None
        got = frames.pop(ctr, None)
        if got is not None:
            self._count -= 1
            if not frames:
                del self._seen[kid]
        return got

    def check(self, sig: FrameSignature, now: float = 0.0) -> dict[str, list[int]]:
        """Apply a verified signature (arriving at ``now``); returns the counters of the forged
        frames it exposed by reason: "mismatch" (another hash) and "unsigned" (passed over, or
        left unsigned past the deadline), and under "verified" those it confirmed (keys only
        where there were some)."""
        bad: list[int] = []
        good: list[int] = []
        for i, h in enumerate(sig.hashes):
            ctr = sig.first_ctr + i
            got = self._pop(sig.kid, ctr)
            if got is None:
                self._signed[(sig.kid, ctr)] = (sig.sender, h)
                continue
            if got[0] == sig.sender and got[1] == h:
                self.verified += 1
                good.append(ctr)
            else:
                self.forged += 1
                bad.append(ctr)
        while len(self._signed) > self.capacity:
            self._signed.popitem(last=False)
        frames = self._seen.get(sig.kid)
        stale: list[int] = []
        if frames:
            stale = [c for c, (_, _, t) in frames.items() if c < sig.first_ctr or now - t >= self.deadline_s]
            for c in stale:
                self._pop(sig.kid, c)
            self.forged += len(stale)
        out: dict[str, list[int]] = {}
        if good:
            out["verified"] = good
        if bad:
            out["mismatch"] = bad
        if stale:
            out["unsigned"] = sorted(stale)
        return out

    def unverified(self) -> int:
        return self._count


@dataclass(frozen=True)
class SignedEvent:
    """An event (room text, gesture, floor request, vote) signed by its sender.

    ``stream_type`` is the event's kind, ``epoch`` and ``roster_hash`` the version and hash of the
    roster it was sent under, ``generation`` the sender key generation that seals it, ``seq`` the
    sender's event number within that generation and ``time_ms`` the sender's clock (Unix ms).
    """

    sender: int
    stream_type: int
    epoch: int
    roster_hash: bytes
    generation: int
    seq: int
    time_ms: int
    body: bytes
    signature: bytes = b""

    def _body(self) -> bytes:
        if len(self.roster_hash) != 32:
            raise ProtocolError("signed event: roster hash must be 32 bytes")
        return (
            Writer().u8(EVENT_VERSION).u16(self.sender).u8(self.stream_type).u64(self.epoch).raw(self.roster_hash)
            .u32(self.generation).u64(self.seq).u64(self.time_ms).vec16(self.body).bytes()
        )

    def signed_part(self, room_id: bytes) -> bytes:
        return _EVENT_LABEL + Writer().vec8(room_id).bytes() + self._body()

    def __bytes__(self) -> bytes:
        return self._body() + self.signature

    def padded(self, size: int) -> bytes:
        """The event followed by zero bytes up to ``size`` (hides its length inside the AEAD)."""
        raw = bytes(self)
        if len(raw) > size:
            raise ProtocolError(f"signed event of {len(raw)} bytes does not fit {size}")
        return raw + bytes(size - len(raw))

    @classmethod
    def parse(cls, data: bytes) -> SignedEvent:
        """Parse an event, with or without its zero padding."""
        r = Reader(data, "signed event")
        if r.u8() != EVENT_VERSION:
            raise ProtocolError("signed event: unsupported version")
        ev = cls(r.u16(), r.u8(), r.u64(), r.take(32), r.u32(), r.u64(), r.u64(), r.vec16(), r.take(64))
        if r.rest().strip(b"\x00"):
            raise ProtocolError("signed event: padding is not zero")
        return ev

    @classmethod
    def create(
        cls,
        room_id: bytes,
        sender: int,
        stream_type: int,
        body: bytes,
        key: ed25519.Ed25519PrivateKey,
        *,
        epoch: int,
        roster_hash: bytes,
        generation: int,
        seq: int,
        time_ms: int,
    ) -> SignedEvent:
        unsigned = cls(sender, stream_type, epoch, roster_hash, generation, seq, time_ms, body)
        return cls(
            sender, stream_type, epoch, roster_hash, generation, seq, time_ms, body, key.sign(unsigned.signed_part(room_id))
        )

    def verify(self, room_id: bytes, key: ed25519.Ed25519PublicKey) -> None:
        try:
            key.verify(self.signature, self.signed_part(room_id))
        except InvalidSignature:
            raise CryptoError(f"event from member {self.sender}: signature does not verify") from None
