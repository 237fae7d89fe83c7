"""Rosters and admission requests travel encrypted: the relay and outsiders read no names,
countries or roles.

Three messages, each starting with a type byte:

* :class:`AuthorityKey` (type 2): the room authority's admission KEM key, signed by the authority,
  with its certificate, the group's KEM suite and an issue time. Members seal their admission
  request to it. (The relay reads the authority's certificate: the chair is not anonymous.)
* :class:`SealedEntry` (type 3): a member's :class:`~vrdiplomacy.crypto.roster.RosterEntry`,
  HPKE-sealed (RFC 9180 base mode) to the authority's admission key.
* :class:`Succession` (type 4): the authority names its successor (signed, with its certificate).
  The successor lists the chain of successions in its :class:`AuthorityKey`, so a client whose
  invitation pinned an earlier authority can follow the hand-over.
* :class:`SealedRoster` (type 1): a signed :class:`~vrdiplomacy.crypto.roster.Roster`, encrypted
  with AES-256-GCM under a fresh roster key; the roster key is HPKE-sealed to every member's KEM
  key (recipients named by ``key_id = SHA-256(kem_public)[:8]``). The authority signs the whole
  envelope, so a member who was removed (no copy for it) can still check that the authority, and
  not the relay, published the epoch without it. The relay reads room, epoch, issue time, the
  authority's fingerprint and the number of recipients.

Wire formats (big-endian)::

    SealedRoster: u8 type=1 | vec8 room_id | u64 epoch | u64 issued_ms | 32 authority
                  | u16 n | n * (8 key_id | vec16 sealed_key) | vec32 ciphertext | 64 signature
    AuthorityKey: u8 type=2 | vec8 room_id | u8 group_suite | u8 kem_suite | vec16 kem_public
                  | vec16 cert_der | u64 issued_ms | u8 n | n * vec16 succession | 64 signature
    Succession:   u8 type=4 | vec8 room_id | 32 successor | vec16 cert_der | 64 signature
    SealedEntry:  u8 type=3 | vec8 room_id | 32 authority | u8 kem_suite | vec16 sealed
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vrdiplomacy.crypto.hpke_dist import KemKeyPair, KemSuite, hpke_seal, load_kem_public
from vrdiplomacy.crypto.identity import VerifiedIdentity, load_der_certificate, verify_certificate
from vrdiplomacy.crypto.roster import Roster, RosterEntry, cert_fingerprint
from vrdiplomacy.crypto.wire import Reader, Writer
from vrdiplomacy.errors import CryptoError, ProtocolError

SEALED_ROSTER = 1
AUTHORITY_KEY = 2
SEALED_ENTRY = 3
SUCCESSION = 4
MAX_LINEAGE = 16
MAX_RECIPIENTS = 1024
_NONCE = bytes(12)  # every roster key is fresh and used once
_ROSTER_INFO = b"vrdiplomacy roster key v1"
_ENTRY_INFO = b"vrdiplomacy admission v1"
_ENVELOPE_LABEL = b"vrdiplomacy sealed roster v1\x00"
_AUTHORITY_LABEL = b"vrdiplomacy authority key v1\x00"
_SUCCESSION_LABEL = b"vrdiplomacy succession v1\x00"


def key_id(kem_public: bytes) -> bytes:
    """How a sealed roster names a recipient: the first 8 bytes of SHA-256 of its KEM key."""
    return hashlib.sha256(kem_public).digest()[:8]


def message_type(data: bytes) -> int:
    if not data:
        raise ProtocolError("roster message: empty")
    return data[0]


@dataclass(frozen=True)
class SealedRoster:
    """An encrypted, authority-signed roster (see the module docstring)."""

    room_id: bytes
    epoch: int
    issued_ms: int
    authority: bytes
    keys: tuple[tuple[bytes, bytes], ...]
    ciphertext: bytes
    signature: bytes = b""

    def _header(self) -> Writer:
        return Writer().u8(SEALED_ROSTER).vec8(self.room_id).u64(self.epoch).u64(self.issued_ms).raw(self.authority)

    def _info(self, kid: bytes) -> bytes:
        return _ROSTER_INFO + self._header().bytes() + kid

    def _aad(self) -> bytes:
        return self._header().bytes()

    def signed_part(self) -> bytes:
        w = self._header().u16(len(self.keys))
        for kid, sealed in self.keys:
            w.raw(kid).vec16(sealed)
        return _ENVELOPE_LABEL + w.vec32(self.ciphertext).bytes()

    def __bytes__(self) -> bytes:
        return self.signed_part()[len(_ENVELOPE_LABEL):] + self.signature

    @classmethod
    def parse(cls, data: bytes) -> SealedRoster:
        r = Reader(data, "sealed roster")
        if r.u8() != SEALED_ROSTER:
            raise ProtocolError("sealed roster: wrong type")
        room_id, epoch, issued, authority = r.vec8(), r.u64(), r.u64(), r.take(32)
        n = r.u16()
        if n > MAX_RECIPIENTS:
            raise ProtocolError(f"sealed roster: {n} recipients exceeds {MAX_RECIPIENTS}")
        keys = tuple((r.take(8), r.vec16()) for _ in range(n))
        ct = r.vec32(1 << 24)
        sig = r.take(64)
        r.done()
        return cls(room_id, epoch, issued, authority, keys, ct, sig)

    @classmethod
    def seal(cls, roster: Roster, signer_key: ed25519.Ed25519PrivateKey) -> SealedRoster:
        """Encrypt ``roster`` to its own members (their KEM keys) and sign the envelope."""
        suite = KemSuite(roster.kem_suite)
        rkey = AESGCM.generate_key(256)
        head = cls(roster.room_id, roster.version, roster.issued_ms, roster.authority, (), b"")
        keys = tuple(
            (kid, hpke_seal(suite, load_kem_public(suite, e.kem_public), rkey, head._info(kid)))
            for e in roster.entries
            for kid in (key_id(e.kem_public),)
        )
        ct = AESGCM(rkey).encrypt(_NONCE, bytes(roster), head._aad())
        unsigned = cls(head.room_id, head.epoch, head.issued_ms, head.authority, keys, ct)
        return cls(head.room_id, head.epoch, head.issued_ms, head.authority, keys, ct,
                   signer_key.sign(unsigned.signed_part()))

    def verify(self, authority_key: ed25519.Ed25519PublicKey) -> None:
        try:
            authority_key.verify(self.signature, self.signed_part())
        except InvalidSignature:
            raise CryptoError("sealed roster: the authority's signature does not verify") from None

    def for_me(self, kems: Mapping[bytes, KemKeyPair]) -> bytes | None:
        """Our key id among the recipients (``kems`` maps our KEM public keys to their pairs)."""
        ids = {key_id(pub): pub for pub in kems}
        for kid, _ in self.keys:
            if kid in ids:
                return ids[kid]
        return None

    def open(self, kems: Mapping[bytes, KemKeyPair]) -> Roster:
        """Decrypt with whichever of our KEM keys it was sealed to; the inner roster must match
        the envelope's room, epoch, issue time and authority."""
        pub = self.for_me(kems)
        if pub is None:
            raise CryptoError(f"sealed roster for epoch {self.epoch} has no copy for us")
        kid = key_id(pub)
        sealed = next(s for k, s in self.keys if k == kid)
        rkey = kems[pub].open(sealed, self._info(kid))
        if len(rkey) != 32:
            raise CryptoError("sealed roster: the roster key has the wrong length")
        try:
            data = AESGCM(rkey).decrypt(_NONCE, self.ciphertext, self._aad())
        except InvalidTag:
            raise CryptoError("sealed roster: ciphertext does not open") from None
        try:
            roster = Roster.parse(data)
        except ProtocolError as e:
            raise CryptoError(f"sealed roster: {e}") from None
        if (roster.room_id, roster.version, roster.issued_ms, roster.authority) != (
            self.room_id, self.epoch, self.issued_ms, self.authority
        ):
            raise CryptoError("sealed roster: envelope and roster disagree")
        return roster


@dataclass(frozen=True)
class AuthorityKey:
    """The authority's admission KEM key and the group's KEM suite, signed by the authority."""

    room_id: bytes
    group_suite: int
    kem_suite: int
    kem_public: bytes
    cert_der: bytes
    issued_ms: int
    lineage: tuple[bytes, ...] = ()
    signature: bytes = b""

    def signed_part(self) -> bytes:
        return _AUTHORITY_LABEL + self._body()

    def _body(self) -> bytes:
        w = (
            Writer().u8(AUTHORITY_KEY).vec8(self.room_id).u8(self.group_suite).u8(self.kem_suite)
            .vec16(self.kem_public).vec16(self.cert_der).u64(self.issued_ms).u8(len(self.lineage))
        )
        for s in self.lineage:
            w.vec16(s)
        return w.bytes()

    def __bytes__(self) -> bytes:
        return self._body() + self.signature

    @property
    def fingerprint(self) -> bytes:
        return cert_fingerprint(self.cert_der)

    @classmethod
    def parse(cls, data: bytes) -> AuthorityKey:
        r = Reader(data, "authority key")
        if r.u8() != AUTHORITY_KEY:
            raise ProtocolError("authority key: wrong type")
        head = (r.vec8(), r.u8(), r.u8(), r.vec16(), r.vec16(), r.u64())
        n = r.u8()
        if n > MAX_LINEAGE:
            raise ProtocolError(f"authority key: {n} successions exceeds {MAX_LINEAGE}")
        lineage = tuple(r.vec16() for _ in range(n))
        out = cls(*head, lineage, r.take(64))
        r.done()
        return out

    @classmethod
    def create(cls, room_id: bytes, group_suite: int, kem: KemKeyPair, cert_der: bytes,
               signing_key: ed25519.Ed25519PrivateKey, now: float, lineage: tuple[bytes, ...] = ()) -> AuthorityKey:
        u = cls(room_id, group_suite, kem.suite, kem.public_bytes(), cert_der, int(now * 1000), lineage)
        return cls(u.room_id, u.group_suite, u.kem_suite, u.kem_public, u.cert_der, u.issued_ms, lineage,
                   signing_key.sign(u.signed_part()))

    def follows(self, pinned: bytes, roots: list, now: float) -> bool:  # type: ignore[type-arg]
        """Whether the successions in :attr:`lineage` lead from ``pinned`` to this authority."""
        cur = pinned
        for raw in self.lineage:
            try:
                s = Succession.parse(raw)
                if s.room_id != self.room_id or s.fingerprint != cur:
                    return False
                s.verify(roots, now)
            except (ProtocolError, CryptoError):
                return False
            cur = s.successor
        return cur == self.fingerprint

    def verify(self, roots: list, now: float, room_id: bytes, authority: bytes | None) -> VerifiedIdentity:  # type: ignore[type-arg]
        """Check room, that the certificate is the expected authority's (when one is pinned),
        valid, and that it signed this key."""
        if self.room_id != room_id:
            raise CryptoError("authority key for another room")
        if authority is not None and self.fingerprint != authority:
            raise CryptoError("authority key published by someone who is not the room authority")
        ident = verify_certificate(load_der_certificate(self.cert_der), roots, now)
        try:
            ident.public_key.verify(self.signature, self.signed_part())
        except InvalidSignature:
            raise CryptoError("authority key: bad signature") from None
        try:
            KemSuite(self.group_suite)
        except ValueError:
            raise CryptoError(f"authority key names unknown KEM suite {self.group_suite}") from None
        load_kem_public(self.kem_suite, self.kem_public)
        return ident


@dataclass(frozen=True)
class SealedEntry:
    """A member's admission request, readable only by the authority."""

    room_id: bytes
    authority: bytes
    kem_suite: int
    sealed: bytes

    def _info(self) -> bytes:
        return Writer().raw(_ENTRY_INFO).vec8(self.room_id).raw(self.authority).u8(self.kem_suite).bytes()

    def __bytes__(self) -> bytes:
        return Writer().u8(SEALED_ENTRY).vec8(self.room_id).raw(self.authority).u8(self.kem_suite).vec16(self.sealed).bytes()

    @classmethod
    def parse(cls, data: bytes) -> SealedEntry:
        r = Reader(data, "sealed entry")
        if r.u8() != SEALED_ENTRY:
            raise ProtocolError("sealed entry: wrong type")
        out = cls(r.vec8(), r.take(32), r.u8(), r.vec16())
        r.done()
        return out

    @classmethod
    def seal(cls, entry: RosterEntry, to: AuthorityKey) -> SealedEntry:
        suite = KemSuite(to.kem_suite)
        head = cls(to.room_id, to.fingerprint, suite, b"")
        return cls(head.room_id, head.authority, suite,
                   hpke_seal(suite, load_kem_public(suite, to.kem_public), bytes(entry), head._info()))

    def open(self, kem: KemKeyPair, room_id: bytes, authority: bytes) -> RosterEntry:
        if self.room_id != room_id or self.authority != authority:
            raise CryptoError("admission request for another room or authority")
        if self.kem_suite != kem.suite:
            raise CryptoError("admission request sealed with another KEM suite")
        data = kem.open(self.sealed, self._info())
        try:
            return RosterEntry.parse(data)
        except ProtocolError as e:
            raise CryptoError(f"admission request: {e}") from None



@dataclass(frozen=True)
class Succession:
    """The authority (``cert_der``) names ``successor`` (certificate fingerprint) for the room."""

    room_id: bytes
    successor: bytes
    cert_der: bytes
    signature: bytes = b""

    def _body(self) -> bytes:
        return Writer().u8(SUCCESSION).vec8(self.room_id).raw(self.successor).vec16(self.cert_der).bytes()

    def __bytes__(self) -> bytes:
        return self._body() + self.signature

    @property
    def fingerprint(self) -> bytes:
        return cert_fingerprint(self.cert_der)

    @classmethod
    def parse(cls, data: bytes) -> Succession:
        r = Reader(data, "succession")
        if r.u8() != SUCCESSION:
            raise ProtocolError("succession: wrong type")
        out = cls(r.vec8(), r.take(32), r.vec16(), r.take(64))
        r.done()
        return out

    @classmethod
    def create(cls, room_id: bytes, successor: bytes, cert_der: bytes, key: ed25519.Ed25519PrivateKey) -> Succession:
        u = cls(room_id, successor, cert_der)
        return cls(room_id, successor, cert_der, key.sign(_SUCCESSION_LABEL + u._body()))

    def verify(self, roots: list, now: float) -> VerifiedIdentity:  # type: ignore[type-arg]
        ident = verify_certificate(load_der_certificate(self.cert_der), roots, now)
        try:
            ident.public_key.verify(self.signature, _SUCCESSION_LABEL + self._body())
        except InvalidSignature:
            raise CryptoError("succession: bad signature") from None
        return ident
