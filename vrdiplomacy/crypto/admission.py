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
lines.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import NameOID

from vrdiplomacy.crypto import identity as ident
from vrdiplomacy.errors import ConfigError, CryptoError, ProtocolError

MAGIC = b"VRDINV"
VERSION = 1
SIGN_LABEL = b"vrdiplomacy invitation v1\x00"
PROOF_LABEL = b"vrdiplomacy admission proof v1\x00"
MAX_INVITATION = 4096
NONCE_SIZE = 32
MAX_TIME = 253402300799  # 9999-12-31 23:59:59 UTC: the latest time an invitation may name
PEM_BEGIN = b"-----BEGIN VRDIPLOMACY INVITATION-----"
PEM_END = b"-----END VRDIPLOMACY INVITATION-----"
_TIMES = struct.Struct("!QQ")


def _str8(s: str) -> bytes:
    raw = s.encode("utf-8")
    if len(raw) > 255:
        raise ProtocolError(f"string of {len(raw)} bytes exceeds 255")
    return bytes([len(raw)]) + raw


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ProtocolError("truncated invitation")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def str8(self) -> str:
        try:
            return self.take(self.take(1)[0]).decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("invitation string is not UTF-8") from None


def _hex_fp(raw: bytes) -> str:
    h = raw.hex().upper()
    return ":".join(h[i : i + 2] for i in range(0, len(h), 2))


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
class Invitation:
    """An authority-signed admission to one room (see the module docstring for the fields)."""

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
        if len(self.authority_cert_der) > MAX_INVITATION:
            raise ProtocolError("authority certificate too large")
        return (
            MAGIC + bytes((VERSION,)) + _str8(self.room)
            + len(self.authority_cert_der).to_bytes(2, "big") + self.authority_cert_der
            + self.member_key + self.member_cert_sha256
            + _str8(self.member_name) + _str8(self.member_country) + _str8(self.role) + _str8(self.seat)
            + _TIMES.pack(self.issued_at, self.not_after) + self.token_id
        )

    def __bytes__(self) -> bytes:
        if len(self.signature) != 64:
            raise ProtocolError("invitation is not signed")
        return self.signed_part() + self.signature

    @classmethod
    def parse(cls, data: bytes) -> Invitation:
        """Decode (not verify) an invitation; :class:`ProtocolError` when malformed."""
        if len(data) > MAX_INVITATION:
            raise ProtocolError(f"invitation of {len(data)} bytes exceeds {MAX_INVITATION}")
        c = _Cursor(bytes(data))
        if c.take(len(MAGIC)) != MAGIC:
            raise ProtocolError("not an invitation")
        if c.take(1)[0] != VERSION:
            raise ProtocolError("unsupported invitation version")
        room = c.str8()
        der = c.take(int.from_bytes(c.take(2), "big"))
        key, fp = c.take(32), c.take(32)
        name, country, role, seat = c.str8(), c.str8(), c.str8(), c.str8()
        issued, not_after = _TIMES.unpack(c.take(_TIMES.size))
        token, sig = c.take(16), c.take(64)
        if c.pos != len(c.data):
            raise ProtocolError("trailing bytes after the invitation")
        if not issued <= not_after <= MAX_TIME:
            raise ProtocolError("invitation times out of range")
        return cls(room, der, key, fp, name, country, role, seat, issued, not_after, token, sig)

    def armored(self) -> bytes:
        b64 = base64.encodebytes(bytes(self)).replace(b"\n", b"")
        lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
        return b"\n".join([PEM_BEGIN, *lines, PEM_END]) + b"\n"

    @classmethod
    def from_armored(cls, data: bytes) -> Invitation:
        if PEM_BEGIN in data:
            body = data.split(PEM_BEGIN, 1)[1].split(PEM_END, 1)[0]
            try:
                data = base64.b64decode(b"".join(body.split()), validate=True)
            except (binascii.Error, ValueError):
                raise ProtocolError("invitation armour is not base64") from None
        return cls.parse(data)

    # ------------------------------------------------------------ reading

    @property
    def authority_certificate(self) -> x509.Certificate:
        cert = self._cache.get("cert")
        if cert is None:
            try:
                cert = x509.load_der_x509_certificate(self.authority_cert_der)
                cert.public_key()  # parsed lazily: an unknown or broken key must fail here, not later
            except (ValueError, UnsupportedAlgorithm):
                raise CryptoError("the invitation's authority certificate is malformed") from None
            self._cache["cert"] = cert
        return cert  # type: ignore[return-value]

    @property
    def authority_fingerprint(self) -> str:
        """``identity.fingerprint`` of the authority certificate (what ``identity show`` prints)."""
        fp = self._cache.get("fp")
        if fp is None:
            fp = _hex_fp(hashlib.sha256(self.authority_cert_der).digest())
            self._cache["fp"] = fp
        return fp  # type: ignore[return-value]

    @property
    def member_fingerprint(self) -> str:
        return _hex_fp(self.member_cert_sha256)

    @property
    def token_hex(self) -> str:
        return self.token_id.hex()

    def authority_name(self) -> str:
        try:
            cert = self.authority_certificate
        except CryptoError:
            return "(malformed certificate)"
        return f"{ident._attr(cert.subject, NameOID.COMMON_NAME)} ({ident._attr(cert.subject, NameOID.COUNTRY_NAME)})"

    def digest(self) -> bytes:
        return hashlib.sha256(bytes(self)).digest()

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
        a_pub = ident._ed25519(authority_cert)
        if authority_key.public_key().public_bytes_raw() != a_pub.public_bytes_raw():
            raise CryptoError("the key does not belong to the authority certificate")
        a_role = ident._attr(authority_cert.subject, NameOID.TITLE)
        if a_role not in ident.ROSTER_SIGNER_ROLES:
            raise CryptoError(f"only a chair or host certificate can invite to a room; this one's role is {a_role or 'none'}")
        cert_role = ident._attr(member_cert.subject, NameOID.TITLE)
        allowed = ident.grantable_roles(cert_role)
        if role not in allowed:
            raise CryptoError(f"{_article(cert_role or 'role-less')} certificate cannot be invited as {role}: "
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
        sig = authority_key.sign(SIGN_LABEL + inv.signed_part())
        return cls(**{**inv.__dict__, "signature": sig, "_cache": {}})

    def verify_signature(self) -> None:
        """The authority's signature over the invitation (with the key in its certificate)."""
        ok = self._cache.get("sig_ok")
        if ok:
            return
        pub = self.authority_certificate.public_key()
        if not isinstance(pub, ed25519.Ed25519PublicKey):
            raise CryptoError("the invitation's authority certificate has no Ed25519 key")
        try:
            pub.verify(self.signature, SIGN_LABEL + self.signed_part())
        except (InvalidSignature, ProtocolError):
            raise CryptoError("the invitation's signature does not verify (altered or not signed by its authority)") from None
        self._cache["sig_ok"] = True

    def check(self, now: float, room: str | None = None, seat: str | None = None) -> None:
        """Signature, time window, and (when given) the room and seat asked for; one-line reasons."""
        if room is not None and room != self.room:
            raise CryptoError(f"this invitation is for room '{self.room}', not '{room}'")
        if now > self.not_after:
            raise CryptoError(f"this invitation expired on {ident.utc(self.not_after):%Y-%m-%d %H:%M} UTC")
        if now + ident.CLOCK_SKEW.total_seconds() < self.issued_at:
            raise CryptoError(f"this invitation is not valid before {ident.utc(self.issued_at):%Y-%m-%d %H:%M} UTC")
        if seat is not None and self.seat and seat != self.seat:
            raise CryptoError(f"this invitation is for seat '{self.seat}', not '{seat}'")
        self.verify_signature()

    def verify_proof(self, proof: bytes, nonce: bytes, relay_fingerprint: str) -> None:
        """The invitee signed this relay's nonce (see :func:`proof_message`)."""
        try:
            ed25519.Ed25519PublicKey.from_public_bytes(self.member_key).verify(
                proof, proof_message(self, nonce, relay_fingerprint))
        except (InvalidSignature, ValueError):
            raise CryptoError("proof of possession does not verify: the invitation belongs to another key") from None

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
    fp = bytes.fromhex(relay_fingerprint.replace(":", ""))
    return PROOF_LABEL + inv.digest() + nonce + fp


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
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"cannot read invitation {path}: {e.strerror}") from None
    try:
        return Invitation.from_armored(data)
    except ProtocolError as e:
        raise CryptoError(f"{path} is not a valid invitation: {e}") from None


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


def _article(word: str) -> str:
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"
