"""Admission to a secured room: invitations signed by the room authority, proven at the relay.

The room's **authority** is the chair's (or host's) delegation certificate: the chair runs
``vrdiplomacy identity invite`` for each member, which signs an :class:`Invitation` with the
chair's Ed25519 key. An invitation names the room, carries the authority's certificate (DER), the
invitee's Ed25519 public key, certificate fingerprint, name and country, the role the authority
gives it (never above what its certificate allows, :func:`~vrdiplomacy.crypto.identity.grantable_roles`),
an optional seat, its issue and expiry times and a random token id.

The relay needs no trust roots: it keys a secured room by (room name, authority fingerprint),
checks the invitation's signature against the certificate it carries and its expiry, and asks the
client to sign a fresh relay nonce together with the relay's TLS certificate fingerprint
(:func:`proof_message`), so a captured proof is useless on another connection or relay. Members
check the authority certificate against their trusted ministry roots (:func:`load_admission`).

Binary form (all integers big-endian)::

    magic "VRDINV" | u8 version 1 | str8 room | blob16 authority certificate (DER)
    | 32 invitee Ed25519 key | 32 invitee certificate SHA-256 | str8 name | str8 country
    | str8 role | str8 seat | u64 issued_at | u64 not_after | 16 token id | 64 signature

The signature (Ed25519, by the authority) covers everything before it, prefixed with
:data:`SIGN_LABEL`. Files hold it base64-armoured between ``-----BEGIN VRDIPLOMACY INVITATION-----``
lines. The steps a reception pass shares (header, armour, signature, proof) are
:mod:`vrdiplomacy.crypto.signed_token`'s.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import NameOID

from vrdiplomacy.crypto import identity as ident
from vrdiplomacy.crypto.signed_token import (
    TIMES,
    SignedToken,
    TokenFormat,
    article,
    hex_fingerprint,
    str8,
)
from vrdiplomacy.errors import ConfigError, CryptoError, ProtocolError

MAGIC = b"VRDINV"
SIGN_LABEL = b"vrdiplomacy invitation v1\x00"
FORMAT = TokenFormat(
    noun="invitation", short="invitation", signer="authority", magic=MAGIC, version=1, sign_label=SIGN_LABEL,
    proof_label=b"vrdiplomacy admission proof v1\x00", max_size=4096, pem_name=b"INVITATION",
    bad_signature="the invitation's signature does not verify (altered or not signed by its authority)",
)
PEM_BEGIN = FORMAT.pem_begin  # (``identity show`` tells an invitation file by it)


def fingerprint_bytes(fp: str) -> bytes:
    """The 32 bytes of a fingerprint written as hex (colons allowed)."""
    try:
        raw = bytes.fromhex(fp.replace(":", ""))
    except ValueError:
        raise ConfigError(f"not a SHA-256 fingerprint: {fp!r}") from None
    if len(raw) != 32:
        raise ConfigError(f"not a SHA-256 fingerprint: {fp!r}")
    return raw


@dataclass(frozen=True)
class Invitation(SignedToken):
    """An authority-signed admission to one room (see the module docstring for the fields)."""

    FORMAT: ClassVar[TokenFormat] = FORMAT

    room: str
    authority_cert_der: bytes
    member_key: bytes
    member_cert_sha256: bytes
    member_name: str
    member_country: str
    role: str
    seat: str
    issued_at: int
    not_after: int
    token_id: bytes
    signature: bytes = b""
    _cache: dict[str, object] = field(default_factory=dict, compare=False, repr=False)

    # ------------------------------------------------------------ encoding

    def signed_part(self) -> bytes:
        if len(self.member_key) != 32 or len(self.member_cert_sha256) != 32 or len(self.token_id) != 16:
            raise ProtocolError("invitation key, fingerprint or token id has the wrong size")
        return (
            FORMAT.head(self.room, self.authority_cert_der)
            + self.member_key + self.member_cert_sha256
            + str8(self.member_name) + str8(self.member_country) + str8(self.role) + str8(self.seat)
            + TIMES.pack(self.issued_at, self.not_after) + self.token_id
        )

    @classmethod
    def parse(cls, data: bytes) -> Invitation:
        """Decode (not verify) an invitation; :class:`ProtocolError` when malformed."""
        c = FORMAT.reader(data)
        room = c.str8()
        der = c.blob16()
        key, fp = c.take(32), c.take(32)
        name, country, role, seat = c.str8(), c.str8(), c.str8(), c.str8()
        issued, not_after = c.times()
        token, sig = c.tail()
        c.end()
        FORMAT.check_times(issued, not_after)
        return cls(room, der, key, fp, name, country, role, seat, issued, not_after, token, sig)

    def signer_der(self) -> bytes:
        return self.authority_cert_der

    def holder_key(self) -> bytes:
        return self.member_key

    # ------------------------------------------------------------ reading

    @property
    def authority_certificate(self) -> x509.Certificate:
        return self.signer_certificate

    @property
    def authority_fingerprint(self) -> str:
        """``identity.fingerprint`` of the authority certificate (what ``identity show`` prints)."""
        return self.signer_fingerprint

    @property
    def member_fingerprint(self) -> str:
        return hex_fingerprint(self.member_cert_sha256)

    def authority_name(self) -> str:
        return self.signer_name()

    # ------------------------------------------------------------ creating and checking

    @classmethod
    def create(
        cls,
        room: str,
        authority_cert: x509.Certificate,
        authority_key: ed25519.Ed25519PrivateKey,
        member_cert: x509.Certificate,
        role: str,
        now: float,
        seat: str = "",
        days: float = 7.0,
    ) -> Invitation:
        """The authority invites ``member_cert`` to ``room`` as ``role`` (at ``seat`` if given),
        valid from ``now`` for ``days`` (never past either certificate's expiry). Refuses a role
        the member's certificate does not allow, and a key that is not the authority's."""
        if not room or len(room.encode()) > 255 or "\x00" in room:
            raise ConfigError("room name must be 1 to 255 bytes")
        FORMAT.check_signer(authority_cert, authority_key, "only a chair or host certificate can invite to a room")
        cert_role = ident._attr(member_cert.subject, NameOID.TITLE)
        allowed = ident.grantable_roles(cert_role)
        if role not in allowed:
            raise CryptoError(f"{article(cert_role or 'role-less')} certificate cannot be invited as {role}: "
                              f"its certificate allows {', '.join(allowed) or 'no role'}")
        if days <= 0:
            raise ConfigError("an invitation must be valid for some time (days > 0)")
        end = min(now + days * 86400.0, member_cert.not_valid_after_utc.timestamp(),
                  authority_cert.not_valid_after_utc.timestamp())
        inv = cls(
            room=room,
            authority_cert_der=ident.cert_der(authority_cert),
            member_key=ident._ed25519(member_cert).public_bytes_raw(),
            member_cert_sha256=hashlib.sha256(ident.cert_der(member_cert)).digest(),
            member_name=ident._attr(member_cert.subject, NameOID.COMMON_NAME),
            member_country=ident._attr(member_cert.subject, NameOID.COUNTRY_NAME),
            role=role,
            seat=seat,
            issued_at=int(now),
            not_after=int(end),
            token_id=secrets.token_bytes(16),
        )
        return inv.signed_by(authority_key)

    def check(self, now: float, room: str | None = None, seat: str | None = None) -> None:
        """Signature, time window, and (when given) the room and seat asked for; one-line reasons."""
        if room is not None and room != self.room:
            raise CryptoError(f"this invitation is for room '{self.room}', not '{room}'")
        self.check_window(now)
        if seat is not None and self.seat and seat != self.seat:
            raise CryptoError(f"this invitation is for seat '{self.seat}', not '{seat}'")
        self.verify_signature()

    def describe(self) -> list[tuple[str, str]]:
        """What the invitation grants (for ``identity show FILE.invite``)."""
        return [
            ("kind", "room invitation"),
            ("room", self.room),
            ("member", f"{self.member_name} ({self.member_country})"),
            ("role", self.role),
            ("seat", self.seat or "any free seat"),
            ("authority", self.authority_name()),
            ("authority sha256", self.authority_fingerprint),
            ("member sha256", self.member_fingerprint),
            ("issued", f"{ident.utc(self.issued_at):%Y-%m-%d %H:%M:%S} UTC"),
            ("expires", f"{ident.utc(self.not_after):%Y-%m-%d %H:%M:%S} UTC"),
            ("token", self.token_hex),
        ]


def proof_message(inv: Invitation, nonce: bytes, relay_fingerprint: str) -> bytes:
    """What the invitee signs at the relay: a label, the invitation's hash, the relay's nonce and
    the relay's TLS certificate fingerprint (bytes)."""
    return inv.proof_message(nonce, relay_fingerprint)


@dataclass
class Admission:
    """What a client presents to a secured room: its invitation and the key it was issued to."""

    invitation: Invitation
    key: ed25519.Ed25519PrivateKey

    def __post_init__(self) -> None:
        if self.key.public_key().public_bytes_raw() != self.invitation.member_key:
            raise CryptoError(f"this invitation is for another key ({self.invitation.member_name}, "
                              f"certificate {self.invitation.member_fingerprint[:23]}...), not yours")

    @property
    def room(self) -> str:
        return self.invitation.room

    @property
    def seat(self) -> str:
        return self.invitation.seat

    @property
    def role(self) -> str:
        return self.invitation.role

    def prove(self, nonce: bytes, relay_fingerprint: str) -> bytes:
        return self.key.sign(proof_message(self.invitation, nonce, relay_fingerprint))


def read_invitation(path: Path) -> Invitation:
    data = FORMAT.read(path)
    try:
        return Invitation.from_armored(data)
    except ProtocolError as e:
        raise FORMAT.invalid_file(path, e) from None


def check_for_member(
    inv: Invitation,
    cert: x509.Certificate,
    key: ed25519.Ed25519PrivateKey,
    trust: Sequence[x509.Certificate],
    now: float,
    room: str | None = None,
) -> Admission:
    """A member's own check of its invitation before joining: for its key and certificate, for
    ``room``, in date, signed by an authority whose certificate chains to ``trust`` and whose role
    may chair. Raises :class:`CryptoError` with a one-line reason."""
    adm = Admission(inv, key)
    if hashlib.sha256(ident.cert_der(cert)).digest() != inv.member_cert_sha256:
        raise CryptoError("this invitation names another certificate of your key: ask the chair for a new one")
    inv.check(now, room)
    try:
        auth = ident.verify_certificate(inv.authority_certificate, trust, now)
    except CryptoError as e:
        raise CryptoError(f"the invitation's authority is not trusted: {e}") from None
    if auth.role not in ident.ROSTER_SIGNER_ROLES:
        raise CryptoError(f"the invitation was signed by {auth.name}, whose role {auth.role} cannot chair a room")
    return adm


def self_admission(cert: x509.Certificate, key: ed25519.Ed25519PrivateKey, room: str, now: float,
                   seat: str = "", days: float = 7.0) -> Admission:
    """A chair or host opening its own room: it is the authority and invites itself."""
    role = ident._attr(cert.subject, NameOID.TITLE)
    return Admission(Invitation.create(room, cert, key, cert, role, now, seat, days), key)

