"""Signatures that stop forging inside the group (any key holder can make a valid SFrame frame).

* Media (voice, pose, room state): a sender hashes every frame it seals and, every
  ``every_frames`` frames or ``every_s`` seconds, signs one :class:`FrameSignature` covering the
  consecutive counters of its current KID. Receivers remember the hashes of frames they opened and
  check them when the signature arrives; a frame whose hash differs is a forgery.
* Events (gestures, floor requests, votes): each :class:`SignedEvent` carries the sender's own
  Ed25519 signature and a sequence number; a receiver acts on it only after both check out.

Wire formats::

    FrameSignature: u8 version=1 | vec8 room_id | u16 sender | u64 kid | u64 first_ctr | u16 n
                    | n * 16 frame_hash | 64 signature
    SignedEvent:    u8 version=1 | u16 sender | u8 stream_type | u64 seq | vec16 body | 64 signature
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
HASH_LEN = 16
MAX_HASHES = 1024
_FRAME_LABEL = b"vrdiplomacy frame signature v1\x00"
_EVENT_LABEL = b"vrdiplomacy event v1\x00"


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
    """Receiver side: hashes of opened frames by (kid, ctr), checked when signatures arrive.
    Fields: ``capacity`` frames remembered (oldest forgotten first, counted as ``expired``)."""

    capacity: int = 8192
    _seen: OrderedDict[tuple[int, int], tuple[int, bytes]] = field(default_factory=OrderedDict)
    verified: int = 0
    forged: int = 0
    expired: int = 0

    def add(self, sender: int, kid: int, ctr: int, wire: bytes) -> None:
        self._seen[(kid, ctr)] = (sender, frame_hash(wire))
        while len(self._seen) > self.capacity:
            self._seen.popitem(last=False)
            self.expired += 1

    def check(self, sig: FrameSignature) -> list[int]:
        """Apply a verified signature; returns the counters of forged frames it exposed."""
        bad: list[int] = []
        for i, h in enumerate(sig.hashes):
            got = self._seen.pop((sig.kid, sig.first_ctr + i), None)
            if got is None:
                continue
            if got[0] == sig.sender and got[1] == h:
                self.verified += 1
            else:
                self.forged += 1
                bad.append(sig.first_ctr + i)
        return bad

    def unverified(self) -> int:
        return len(self._seen)


@dataclass(frozen=True)
class SignedEvent:
    """An event (gesture, floor request, vote) signed by its sender."""

    sender: int
    stream_type: int
    seq: int
    body: bytes
    signature: bytes = b""

    def _body(self) -> bytes:
        return Writer().u8(VERSION).u16(self.sender).u8(self.stream_type).u64(self.seq).vec16(self.body).bytes()

    def signed_part(self, room_id: bytes) -> bytes:
        return _EVENT_LABEL + Writer().vec8(room_id).bytes() + self._body()

    def __bytes__(self) -> bytes:
        return self._body() + self.signature

    @classmethod
    def parse(cls, data: bytes) -> SignedEvent:
        r = Reader(data, "signed event")
        if r.u8() != VERSION:
            raise ProtocolError("signed event: unsupported version")
        ev = cls(r.u16(), r.u8(), r.u64(), r.vec16(), r.take(64))
        r.done()
        return ev

    @classmethod
    def create(
        cls, room_id: bytes, sender: int, stream_type: int, seq: int, body: bytes, key: ed25519.Ed25519PrivateKey
    ) -> SignedEvent:
        unsigned = cls(sender, stream_type, seq, body)
        return cls(sender, stream_type, seq, body, key.sign(unsigned.signed_part(room_id)))

    def verify(self, room_id: bytes, key: ed25519.Ed25519PublicKey) -> None:
        try:
            key.verify(self.signature, self.signed_part(room_id))
        except InvalidSignature:
            raise CryptoError(f"event from member {self.sender}: signature does not verify") from None
