"""The room roster: one epoch of the group, signed by the room authority.

A roster names the room, its **epoch** (``version``), the transcript hash of the epoch before it,
when it was issued and when it expires, the group's KEM suite, the **authority** that signed it
(SHA-256 fingerprint of its certificate), the authority for the next epoch (itself, or a successor
it names), and its members: certificate, room role and HPKE key signed by the member.

Rules a client applies (:func:`verify_roster`):

* **Authority.** The first roster a client accepts must be signed by the authority pinned when the
  room was created (invitation / room descriptor); each next epoch by the authority the previous
  epoch named; a re-issue of an epoch by that epoch's own authority. Nobody else, whatever role
  their certificate carries.
* **Chain.** Epoch ``n + 1`` names the transcript hash of epoch ``n``. The transcript hash covers
  everything but times and signature (room, epoch, previous transcript, suite, authorities, members
  and their KEM keys), so it commits to the whole history.
* **Freshness.** ``issued_at`` is not in the future, ``expires_at`` is not past, a roster lives at
  most :data:`MAX_LIFETIME_S`; a re-issue (the authority's heartbeat) keeps the epoch's transcript
  and only moves the times forward.
* **Roles** never exceed the member's certificate (see :data:`ROLE_RANK`); ``chair`` / ``host``
  only for the authority and its named successor.
* **KEM suite**: every member's HPKE key is of the group's suite; each is signed by its owner.

Wire format of :class:`RosterEntry`::

    u16 index | vec8 role | vec16 cert_der | u8 kem_suite | vec16 kem_public | 64 kem_signature

Wire format of :class:`Roster`::

    u8 version=2 | vec8 room_id | u64 epoch | 32 prev_transcript | u64 issued_ms | u64 expires_ms
    | u8 kem_suite | 32 authority | 32 next_authority | u16 n | n * vec32 entry
    | vec16 signer_cert_der | 64 signature
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from vrdiplomacy.crypto.hpke_dist import KemKeyPair, KemSuite, default_kem_suite, load_kem_public
from vrdiplomacy.crypto.identity import (
    ROSTER_SIGNER_ROLES,
    VerifiedIdentity,
    cert_der,
    load_der_certificate,
    verify_certificate,
)
from vrdiplomacy.crypto.wire import Reader, Writer
from vrdiplomacy.errors import CryptoError, ProtocolError

VERSION = 2
MAX_MEMBERS = 1024
MAX_SENDER_INDEX = 0xFFFF
GENESIS = bytes(32)
MAX_LIFETIME_S = 3600.0
"""No roster is valid for longer than this after it was issued (a fresh client's max age)."""
DEFAULT_LIFETIME_S = 3600.0
MAX_SKEW_S = 60.0
"""How far in the future a roster's issue time may be (clock differences)."""
_KEM_LABEL = b"vrdiplomacy kem key v1"
_ROSTER_LABEL = b"vrdiplomacy roster v2\x00"
_TRANSCRIPT_LABEL = b"vrdiplomacy transcript v2\x00"

ROLE_RANK = {"guest": 0, "observer": 1, "interpreter": 2, "advisor": 3, "delegate": 4, "head": 5, "secretariat": 6,
             "host": 7, "chair": 8}
"""Room roles from least to most (:data:`vrdiplomacy.meeting.roles.ROLES`, whose permission table
says what each may do). A member's room role is at most its certificate's."""
CAPPED_ROLE = "delegate"
"""The room role of a chair/host certificate that is not the room's authority."""


def cert_fingerprint(der: bytes) -> bytes:
    """SHA-256 of a DER certificate (the raw form of :func:`~vrdiplomacy.crypto.identity.fingerprint`)."""
    return hashlib.sha256(der).digest()


def parse_fingerprint(fp: str | bytes) -> bytes:
    """32 raw bytes from ``"AB:CD:..."`` / hex text, or raw bytes."""
    if isinstance(fp, bytes) and len(fp) == 32:
        return fp
    try:
        text = fp.decode("ascii") if isinstance(fp, bytes) else fp
        raw = bytes.fromhex(text.replace(":", "").strip())
    except ValueError:  # UnicodeDecodeError included
        text = repr(fp) if isinstance(fp, bytes) else fp
        raise CryptoError(f"authority fingerprint {text!r} is not hex") from None
    if len(raw) != 32:
        raise CryptoError("authority fingerprint must be a SHA-256 (32 bytes)")
    return raw


def show_fingerprint(raw: bytes) -> str:
    return ":".join(f"{b:02X}" for b in raw)


def lower_role(a: str, b: str | None) -> str:
    """The lower of two roles (``b`` may be None: then ``a``)."""
    if b is None:
        return a
    if a not in ROLE_RANK or b not in ROLE_RANK:
        raise CryptoError(f"unknown role {a if a not in ROLE_RANK else b!r}")
    return a if ROLE_RANK[a] <= ROLE_RANK[b] else b


def room_role(cert_role: str, invited: str | None = None, authority: bool = False) -> str:
    """The room role the authority gives a member: the lower of the certificate's and the
    invitation's; ``chair``/``host`` only for the authority itself."""
    r = lower_role(cert_role, invited)
    if r in ROSTER_SIGNER_ROLES and not authority:
        r = lower_role(r, CAPPED_ROLE)
    return r


def kem_binding(room_id: bytes, kem_suite: int, kem_public: bytes) -> bytes:
    """What a member signs to publish its HPKE key for one room."""
    return Writer().raw(_KEM_LABEL).vec8(room_id).u8(kem_suite).vec16(kem_public).bytes()


@dataclass(frozen=True)
class RosterEntry:
    """One member: sender ``index``, room ``role``, DER certificate and signed HPKE public key.
    The member signs only its KEM key; index and role are the authority's."""

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

    @property
    def fingerprint(self) -> bytes:
        return cert_fingerprint(self.cert_der)


@dataclass(frozen=True)
class Roster:
    """A signed roster: epoch ``version`` of the room. ``signature`` is the authority's Ed25519
    signature of everything else; times are milliseconds on the wire."""

    room_id: bytes
    version: int
    prev_hash: bytes
    issued_ms: int
    expires_ms: int
    kem_suite: int
    authority: bytes
    next_authority: bytes
    entries: tuple[RosterEntry, ...]
    signer_cert_der: bytes
    signature: bytes = b""

    @property
    def epoch(self) -> int:
        return self.version

    @property
    def issued_at(self) -> float:
        return self.issued_ms / 1000

    @property
    def expires_at(self) -> float:
        return self.expires_ms / 1000

    def _group(self) -> Writer:
        w = Writer().u8(VERSION).vec8(self.room_id).u64(self.version).raw(self.prev_hash)
        return w

    def _tail(self, w: Writer) -> Writer:
        w.u8(self.kem_suite).raw(self.authority).raw(self.next_authority).u16(len(self.entries))
        for e in self.entries:
            w.vec32(bytes(e))
        return w

    def _body(self) -> bytes:
        w = self._group().u64(self.issued_ms).u64(self.expires_ms)
        return self._tail(w).vec16(self.signer_cert_der).bytes()

    def signed_part(self) -> bytes:
        return _ROSTER_LABEL + self._body()

    def __bytes__(self) -> bytes:
        return self._body() + self.signature

    def hash(self) -> bytes:
        """SHA-256 of the full signed roster (this issue of the epoch)."""
        return hashlib.sha256(bytes(self)).digest()

    def transcript_hash(self) -> bytes:
        """The epoch's transcript hash: everything but times, signer certificate and signature.
        The next epoch's ``prev_hash``; every member commits to it through the room code."""
        return hashlib.sha256(_TRANSCRIPT_LABEL + self._tail(self._group()).bytes()).digest()

    @classmethod
    def parse(cls, data: bytes) -> Roster:
        r = Reader(data, "roster")
        if r.u8() != VERSION:
            raise ProtocolError("roster: unsupported version")
        room_id = r.vec8()
        version = r.u64()
        prev_hash = r.take(32)
        issued, expires = r.u64(), r.u64()
        kem_suite = r.u8()
        authority, next_authority = r.take(32), r.take(32)
        n = r.u16()
        if n > MAX_MEMBERS:
            raise ProtocolError(f"roster: {n} members exceeds {MAX_MEMBERS}")
        entries = tuple(RosterEntry.parse(r.vec32(1 << 16)) for _ in range(n))
        signer = r.vec16()
        signature = r.take(64)
        r.done()
        return cls(room_id, version, prev_hash, issued, expires, kem_suite, authority, next_authority, entries,
                   signer, signature)

    @classmethod
    def create(
        cls,
        room_id: bytes,
        entries: Iterable[RosterEntry],
        signer_key: ed25519.Ed25519PrivateKey,
        signer_cert: x509.Certificate,
        issued_at: float,
        previous: Roster | None = None,
        *,
        lifetime_s: float = DEFAULT_LIFETIME_S,
        kem_suite: int | None = None,
        next_authority: bytes | None = None,
    ) -> Roster:
        """Sign the epoch following ``previous`` (or the first one, epoch 0). The KEM suite
        defaults to the entries' (the default suite when there are none)."""
        ents = tuple(sorted(entries, key=lambda e: e.index))
        if kem_suite is None:
            suites = {e.kem_suite for e in ents}
            kem_suite = suites.pop() if len(suites) == 1 else int(default_kem_suite())
        der = cert_der(signer_cert)
        me = cert_fingerprint(der)
        unsigned = cls(
            room_id, previous.version + 1 if previous else 0, previous.transcript_hash() if previous else GENESIS,
            int(round(issued_at * 1000)), int(round((issued_at + lifetime_s) * 1000)), int(kem_suite), me,
            next_authority or me, ents, der,
        )
        return unsigned.signed(signer_key)

    def reissue(self, signer_key: ed25519.Ed25519PrivateKey, issued_at: float, lifetime_s: float) -> Roster:
        """The same epoch with fresh times (the authority's heartbeat)."""
        return _replace_times(self, int(round(issued_at * 1000)), int(round((issued_at + lifetime_s) * 1000))).signed(signer_key)

    def signed(self, signer_key: ed25519.Ed25519PrivateKey) -> Roster:
        u = _with_signature(self, b"")
        return _with_signature(u, signer_key.sign(u.signed_part()))


def _with_signature(r: Roster, sig: bytes) -> Roster:
    return Roster(r.room_id, r.version, r.prev_hash, r.issued_ms, r.expires_ms, r.kem_suite, r.authority,
                  r.next_authority, r.entries, r.signer_cert_der, sig)


def _replace_times(r: Roster, issued: int, expires: int) -> Roster:
    return Roster(r.room_id, r.version, r.prev_hash, issued, expires, r.kem_suite, r.authority,
                  r.next_authority, r.entries, r.signer_cert_der, b"")


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
    def epoch(self) -> int:
        return self.roster.version

    @property
    def room_id(self) -> bytes:
        return self.roster.room_id

    @property
    def authority(self) -> bytes:
        return self.roster.authority

    @property
    def next_authority(self) -> bytes:
        return self.roster.next_authority

    @property
    def issued_at(self) -> float:
        return self.roster.issued_at

    @property
    def expires_at(self) -> float:
        return self.roster.expires_at

    @property
    def kem_suite(self) -> int:
        return self.roster.kem_suite

    def hash(self) -> bytes:
        return self.roster.hash()

    def transcript_hash(self) -> bytes:
        return self.roster.transcript_hash()

    def index_of(self, public_key: ed25519.Ed25519PublicKey) -> int | None:
        raw = public_key.public_bytes_raw()
        for m in self.members.values():
            if m.public_key.public_bytes_raw() == raw:
                return m.index
        return None

    def member_by_fingerprint(self, fp: bytes) -> Member | None:
        for m in self.members.values():
            if cert_fingerprint(cert_der(m.identity.certificate)) == fp:
                return m
        return None


def check_freshness(roster: Roster, now: float) -> None:
    """Issue time not in the future, not expired, lifetime bounded."""
    if roster.expires_ms <= roster.issued_ms or roster.expires_at - roster.issued_at > MAX_LIFETIME_S:
        raise CryptoError(f"roster lifetime must be between 0 and {MAX_LIFETIME_S:g} s")
    if roster.issued_at > now + MAX_SKEW_S:
        raise CryptoError(f"roster issued {roster.issued_at - now:.0f} s in the future")
    if now > roster.expires_at:
        raise CryptoError(f"stale roster: epoch {roster.version} expired {now - roster.expires_at:.0f} s ago")


def _expected_authority(roster: Roster, previous: VerifiedRoster | None, authority: bytes | None) -> bytes | None:
    if previous is None:
        return authority
    if roster.version == previous.version:
        return previous.authority  # a re-issue of the same epoch
    return previous.next_authority


def verify_roster(
    roster: Roster,
    roots: Sequence[x509.Certificate],
    now: float,
    previous: VerifiedRoster | None = None,
    room_id: bytes | None = None,
    authority: bytes | None = None,
) -> VerifiedRoster:
    """Verify ``roster`` (see the module docstring); raises :class:`CryptoError` saying why not.
    ``authority`` is the pinned room authority (raw fingerprint) for a client without a
    ``previous`` epoch."""
    if room_id is not None and roster.room_id != room_id:
        raise CryptoError("roster is for another room")
    check_freshness(roster, now)
    signer = verify_certificate(load_der_certificate(roster.signer_cert_der), roots, now)
    if roster.authority != cert_fingerprint(roster.signer_cert_der):
        raise CryptoError("roster names another authority than its signer")
    expected = _expected_authority(roster, previous, authority)
    if expected is not None and roster.authority != expected:
        raise CryptoError(
            f"roster signed by {signer.name} ({signer.country}), who is not the room authority"
        )
    if signer.role not in ROSTER_SIGNER_ROLES:
        raise CryptoError(f"roster signed by {signer.name!r}, whose role {signer.role!r} may not sign rosters")
    try:
        signer.public_key.verify(roster.signature, roster.signed_part())
    except InvalidSignature:
        raise CryptoError("roster signature does not verify") from None
    if previous is not None:
        if roster.room_id != previous.room_id:
            raise CryptoError("roster is for another room")
        if roster.version == previous.version:
            if roster.transcript_hash() != previous.transcript_hash():
                raise CryptoError(f"two different rosters for epoch {roster.version} (the room is split)")
            if roster.issued_ms <= previous.roster.issued_ms:
                raise CryptoError(f"re-issue of epoch {roster.version} is not newer than the one we have")
        elif roster.version != previous.version + 1 or roster.prev_hash != previous.transcript_hash():
            raise CryptoError(
                f"roster version {roster.version} does not follow version {previous.version} (broken hash chain)"
            )
        elif roster.issued_ms < previous.roster.issued_ms:
            raise CryptoError("roster issued before the epoch it follows")
    elif roster.version == 0 and roster.prev_hash != GENESIS:
        raise CryptoError("first roster must start the chain")
    try:
        suite = KemSuite(roster.kem_suite)
    except ValueError:
        raise CryptoError(f"roster names unknown KEM suite {roster.kem_suite}") from None
    members: dict[int, Member] = {}
    seen_keys: set[bytes] = set()
    signers: set[bytes] = set()
    for e in roster.entries:
        if e.index in members or e.index > MAX_SENDER_INDEX:
            raise CryptoError(f"roster: duplicate or invalid member index {e.index}")
        ident = verify_certificate(load_der_certificate(e.cert_der), roots, now)
        raw = ident.public_key.public_bytes_raw()
        if raw in seen_keys:
            raise CryptoError(f"roster: {ident.name!r} appears twice")
        seen_keys.add(raw)
        _check_role(e, ident, roster)
        if ident.role in ROSTER_SIGNER_ROLES:
            signers.add(e.fingerprint)
        if e.kem_suite != suite:
            raise CryptoError(
                f"roster: {ident.name!r} uses KEM suite {e.kem_suite}, the room uses {suite.name}"
            )
        try:
            ident.public_key.verify(e.kem_signature, kem_binding(roster.room_id, e.kem_suite, e.kem_public))
        except InvalidSignature:
            raise CryptoError(f"roster: HPKE key of {ident.name!r} is not signed by its owner") from None
        load_kem_public(e.kem_suite, e.kem_public)
        members[e.index] = Member(e.index, e.role, ident, e.kem_suite, e.kem_public)
    if roster.next_authority != roster.authority and roster.next_authority not in signers:
        raise CryptoError("roster names a successor who is not a chair or host member")
    return VerifiedRoster(roster, signer, members)


def _check_role(e: RosterEntry, ident: VerifiedIdentity, roster: Roster) -> None:
    if e.role not in ROLE_RANK:
        raise CryptoError(f"roster: {ident.name!r} has unknown role {e.role!r}")
    if ROLE_RANK[e.role] > ROLE_RANK[ident.role]:
        raise CryptoError(f"roster: {ident.name!r} is listed as {e.role} but its certificate says {ident.role}")
    if e.role in ROSTER_SIGNER_ROLES and e.fingerprint not in (roster.authority, roster.next_authority):
        raise CryptoError(f"roster: {ident.name!r} is listed as {e.role} but is not the room authority")
