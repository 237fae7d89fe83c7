"""The room roster: members' certificates, roles and HPKE keys, signed by the chair (or host).

Every roster names the hash of the one before it (a hash chain), so a client that knows version
``n`` accepts only a version ``n + 1`` that links to it. A client accepts a member's keys only from
a roster that :func:`verify_roster` accepted: chair signature, chain link, every certificate valid
against the trusted ministry roots, every member's HPKE key signed by that member.

Wire format of :class:`RosterEntry`::

    u16 index | vec8 role | vec16 cert_der | u8 kem_suite | vec16 kem_public | 64 kem_signature

Wire format of :class:`Roster`::

    u8 version=1 | vec8 room_id | u64 roster_version | 32 prev_hash | u64 issued_at
    | u16 n | n * vec32 entry | vec16 signer_cert_der | 64 signature
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from vrdiplomacy.crypto.hpke_dist import KemKeyPair, load_kem_public
from vrdiplomacy.crypto.identity import (
    ROSTER_SIGNER_ROLES,
    VerifiedIdentity,
    cert_der,
    load_der_certificate,
    verify_certificate,
)
from vrdiplomacy.crypto.wire import Reader, Writer
from vrdiplomacy.errors import CryptoError, ProtocolError

VERSION = 1
MAX_MEMBERS = 1024
MAX_SENDER_INDEX = 0xFFFF
GENESIS = bytes(32)
_KEM_LABEL = b"vrdiplomacy kem key v1"
_ROSTER_LABEL = b"vrdiplomacy roster v1\x00"


def kem_binding(room_id: bytes, kem_suite: int, kem_public: bytes) -> bytes:
    """What a member signs to publish its HPKE key for one room."""
    return Writer().raw(_KEM_LABEL).vec8(room_id).u8(kem_suite).vec16(kem_public).bytes()


@dataclass(frozen=True)
class RosterEntry:
    """One member: sender ``index``, room ``role``, DER certificate and signed HPKE public key."""

    index: int
    role: str
    cert_der: bytes
    kem_suite: int
    kem_public: bytes
    kem_signature: bytes

    @classmethod
    def create(
        cls,
        room_id: bytes,
        index: int,
        role: str,
        cert: x509.Certificate,
        signing_key: ed25519.Ed25519PrivateKey,
        kem: KemKeyPair,
    ) -> RosterEntry:
        pub = kem.public_bytes()
        return cls(index, role, cert_der(cert), kem.suite, pub, signing_key.sign(kem_binding(room_id, kem.suite, pub)))

    def __bytes__(self) -> bytes:
        return (
            Writer()
            .u16(self.index)
            .vec8(self.role.encode())
            .vec16(self.cert_der)
            .u8(self.kem_suite)
            .vec16(self.kem_public)
            .raw(self.kem_signature)
            .bytes()
        )

    @classmethod
    def parse(cls, data: bytes) -> RosterEntry:
        r = Reader(data, "roster entry")
        index = r.u16()
        try:
            role = r.vec8().decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("roster entry: role is not UTF-8") from None
        entry = cls(index, role, r.vec16(), r.u8(), r.vec16(), r.take(64))
        r.done()
        return entry


@dataclass(frozen=True)
class Roster:
    """A signed roster version. ``signature`` is the signer's Ed25519 signature of everything else."""

    room_id: bytes
    version: int
    prev_hash: bytes
    issued_at: int
    entries: tuple[RosterEntry, ...]
    signer_cert_der: bytes
    signature: bytes = b""

    def _body(self) -> bytes:
        w = Writer().u8(VERSION).vec8(self.room_id).u64(self.version).raw(self.prev_hash).u64(self.issued_at)
        w.u16(len(self.entries))
        for e in self.entries:
            w.vec32(bytes(e))
        return w.vec16(self.signer_cert_der).bytes()

    def signed_part(self) -> bytes:
        return _ROSTER_LABEL + self._body()

    def __bytes__(self) -> bytes:
        return self._body() + self.signature

    def hash(self) -> bytes:
        """SHA-256 of the full signed roster; the next version's ``prev_hash``."""
        return hashlib.sha256(bytes(self)).digest()

    @classmethod
    def parse(cls, data: bytes) -> Roster:
        r = Reader(data, "roster")
        if r.u8() != VERSION:
            raise ProtocolError("roster: unsupported version")
        room_id = r.vec8()
        version = r.u64()
        prev_hash = r.take(32)
        issued_at = r.u64()
        n = r.u16()
        if n > MAX_MEMBERS:
            raise ProtocolError(f"roster: {n} members exceeds {MAX_MEMBERS}")
        entries = tuple(RosterEntry.parse(r.vec32(1 << 16)) for _ in range(n))
        signer = r.vec16()
        signature = r.take(64)
        r.done()
        return cls(room_id, version, prev_hash, issued_at, entries, signer, signature)

    @classmethod
    def create(
        cls,
        room_id: bytes,
        entries: Iterable[RosterEntry],
        signer_key: ed25519.Ed25519PrivateKey,
        signer_cert: x509.Certificate,
        issued_at: int,
        previous: Roster | None = None,
    ) -> Roster:
        """Sign a roster following ``previous`` (or the first one, version 0)."""
        version = previous.version + 1 if previous else 0
        prev_hash = previous.hash() if previous else GENESIS
        unsigned = cls(room_id, version, prev_hash, issued_at, tuple(sorted(entries, key=lambda e: e.index)), cert_der(signer_cert))
        return cls(
            unsigned.room_id, version, prev_hash, issued_at, unsigned.entries, unsigned.signer_cert_der,
            signer_key.sign(unsigned.signed_part()),
        )


@dataclass(frozen=True)
class Member:
    """A verified member: sender index, room role, identity and HPKE key (suite, public bytes)."""

    index: int
    role: str
    identity: VerifiedIdentity
    kem_suite: int
    kem_public: bytes

    @property
    def public_key(self) -> ed25519.Ed25519PublicKey:
        return self.identity.public_key


@dataclass(frozen=True)
class VerifiedRoster:
    """A roster that passed :func:`verify_roster`, with its members by sender index."""

    roster: Roster
    signer: VerifiedIdentity
    members: dict[int, Member] = field(default_factory=dict)

    @property
    def version(self) -> int:
        return self.roster.version

    @property
    def room_id(self) -> bytes:
        return self.roster.room_id

    def hash(self) -> bytes:
        return self.roster.hash()

    def index_of(self, public_key: ed25519.Ed25519PublicKey) -> int | None:
        raw = public_key.public_bytes_raw()
        for m in self.members.values():
            if m.public_key.public_bytes_raw() == raw:
                return m.index
        return None


def verify_roster(
    roster: Roster,
    roots: Sequence[x509.Certificate],
    now: float,
    previous: VerifiedRoster | None = None,
    room_id: bytes | None = None,
) -> VerifiedRoster:
    """Verify ``roster`` (see the module docstring); raises :class:`CryptoError` saying why not."""
    if room_id is not None and roster.room_id != room_id:
        raise CryptoError("roster is for another room")
    signer = verify_certificate(load_der_certificate(roster.signer_cert_der), roots, now)
    if signer.role not in ROSTER_SIGNER_ROLES:
        raise CryptoError(f"roster signed by {signer.name!r}, whose role {signer.role!r} may not sign rosters")
    try:
        signer.public_key.verify(roster.signature, roster.signed_part())
    except InvalidSignature:
        raise CryptoError("roster signature does not verify") from None
    if previous is not None:
        if roster.room_id != previous.room_id:
            raise CryptoError("roster is for another room")
        if roster.version != previous.version + 1 or roster.prev_hash != previous.hash():
            raise CryptoError(
                f"roster version {roster.version} does not follow version {previous.version} (broken hash chain)"
            )
    elif roster.version == 0 and roster.prev_hash != GENESIS:
        raise CryptoError("first roster must start the chain")
    members: dict[int, Member] = {}
    seen_keys: set[bytes] = set()
    for e in roster.entries:
        if e.index in members or e.index > MAX_SENDER_INDEX:
            raise CryptoError(f"roster: duplicate or invalid member index {e.index}")
        ident = verify_certificate(load_der_certificate(e.cert_der), roots, now)
        raw = ident.public_key.public_bytes_raw()
        if raw in seen_keys:
            raise CryptoError(f"roster: {ident.name!r} appears twice")
        seen_keys.add(raw)
        try:
            ident.public_key.verify(e.kem_signature, kem_binding(roster.room_id, e.kem_suite, e.kem_public))
        except InvalidSignature:
            raise CryptoError(f"roster: HPKE key of {ident.name!r} is not signed by its owner") from None
        load_kem_public(e.kem_suite, e.kem_public)
        members[e.index] = Member(e.index, e.role, ident, e.kem_suite, e.kem_public)
    return VerifiedRoster(roster, signer, members)


def verify_roster_chain(
    rosters: Sequence[Roster], roots: Sequence[x509.Certificate], now: float
) -> VerifiedRoster:
    """Verify a whole chain, oldest first; returns the newest verified roster."""
    if not rosters:
        raise CryptoError("empty roster chain")
    current: VerifiedRoster | None = None
    for r in rosters:
        current = verify_roster(r, roots, now, current)
    assert current is not None
    return current
