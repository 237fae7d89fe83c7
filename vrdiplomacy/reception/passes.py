"""Reception passes: invitations to a reception, signed by its host's identity.

A reception (an embassy's evening, a national day) is a plain room on the relay (not end-to-end
encrypted: guests need no delegation certificate) that only holders of a *pass* may enter. The
host (a delegation certificate with the role ``host`` or ``chair``) signs one pass per guest with
``vrdiplomacy reception invite``:

* a **one-time code** (no guest key): whoever presents it first enters, once. The relay records
  its token id as used in its state folder, so presenting it again (another guest, or after a
  relay restart) is refused; only the guest's own session may come back with it (a reconnect
  that carries that session's resume token);
* a pass **bound to a key** (the guest's or a co-host's delegation certificate): the relay
  challenges the client to sign a fresh nonce with that key (as for room invitations,
  :mod:`vrdiplomacy.crypto.admission`), so it is useless to anyone else; its holder may use it
  again (a new admission replaces the earlier session). Hosts enter with such a pass
  (``--host``): the relay knows the hosts of a reception by it.

The first host pass admitted for a room opens that room's reception; its signer's certificate
fingerprint is the reception's *host authority*, and from then on only passes signed by that
authority enter (the relay keeps it in its state folder).

Binary form (integers big-endian)::

    magic "VRDPASS" | u8 version 1 | str8 room | blob16 host certificate (DER) | str8 guest name
    | str8 role ("guest" or "host") | 32 guest Ed25519 key (all zero: a one-time code)
    | u64 issued_at | u64 not_after | 16 token id | 64 signature

The signature (Ed25519, by the host certificate's key) covers everything before it, prefixed
with :data:`SIGN_LABEL`. Files hold it base64-armoured between ``-----BEGIN VRDIPLOMACY
RECEPTION PASS-----`` lines.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import struct
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import NameOID

from vrdiplomacy.crypto import identity as ident
from vrdiplomacy.errors import ConfigError, CryptoError, ProtocolError

MAGIC = b"VRDPASS"
VERSION = 1
SIGN_LABEL = b"vrdiplomacy reception pass v1\x00"
PROOF_LABEL = b"vrdiplomacy reception proof v1\x00"
MAX_PASS = 4096
NO_KEY = bytes(32)
ROLES = ("guest", "host")
MAX_TIME = 253402300799
PEM_BEGIN = b"-----BEGIN VRDIPLOMACY RECEPTION PASS-----"
PEM_END = b"-----END VRDIPLOMACY RECEPTION PASS-----"
_TIMES = struct.Struct("!QQ")


def _str8(s: str) -> bytes:
    raw = s.encode("utf-8")
    if len(raw) > 255:
        raise ProtocolError(f"string of {len(raw)} bytes exceeds 255")
    return bytes([len(raw)]) + raw


def looks_like_pass(data: bytes) -> bool:
    """Whether ``data`` (an invitation blob of a Hello or Join) is a reception pass."""
    return data[: len(MAGIC)] == MAGIC


@dataclass(frozen=True)
class ReceptionPass:
    """A host-signed admission of one guest (or co-host) to one reception (see the module docstring)."""

    room: str
    host_cert_der: bytes
    guest_name: str
    role: str
    guest_key: bytes
    issued_at: int
    not_after: int
    token_id: bytes
    signature: bytes = b""
    _cache: dict[str, object] = field(default_factory=dict, compare=False, repr=False)

    # ------------------------------------------------------------ encoding

    def signed_part(self) -> bytes:
        if len(self.guest_key) != 32 or len(self.token_id) != 16:
            raise ProtocolError("pass key or token id has the wrong size")
        if len(self.host_cert_der) > MAX_PASS:
            raise ProtocolError("host certificate too large")
        return (MAGIC + bytes((VERSION,)) + _str8(self.room)
                + len(self.host_cert_der).to_bytes(2, "big") + self.host_cert_der
                + _str8(self.guest_name) + _str8(self.role) + self.guest_key
                + _TIMES.pack(self.issued_at, self.not_after) + self.token_id)

    def __bytes__(self) -> bytes:
        if len(self.signature) != 64:
            raise ProtocolError("reception pass is not signed")
        return self.signed_part() + self.signature

    @classmethod
    def parse(cls, data: bytes) -> ReceptionPass:
        """Decode (not verify) a pass; :class:`ProtocolError` when malformed."""
        if len(data) > MAX_PASS:
            raise ProtocolError(f"reception pass of {len(data)} bytes exceeds {MAX_PASS}")
        d = bytes(data)
        pos = 0

        def take(n: int) -> bytes:
            nonlocal pos
            if pos + n > len(d):
                raise ProtocolError("truncated reception pass")
            out = d[pos:pos + n]
            pos += n
            return out

        def str8() -> str:
            try:
                return take(take(1)[0]).decode("utf-8")
            except UnicodeDecodeError:
                raise ProtocolError("reception pass string is not UTF-8") from None

        if take(len(MAGIC)) != MAGIC:
            raise ProtocolError("not a reception pass")
        if take(1)[0] != VERSION:
            raise ProtocolError("unsupported reception pass version")
        room = str8()
        der = take(int.from_bytes(take(2), "big"))
        name, role = str8(), str8()
        key = take(32)
        issued, not_after = _TIMES.unpack(take(_TIMES.size))
        token, sig = take(16), take(64)
        if pos != len(d):
            raise ProtocolError("trailing bytes after the reception pass")
        if role not in ROLES:
            raise ProtocolError(f"unknown reception role {role!r}")
        if not issued <= not_after <= MAX_TIME:
            raise ProtocolError("reception pass times out of range")
        return cls(room, der, name, role, key, issued, not_after, token, sig)

    def armored(self) -> bytes:
        b64 = base64.encodebytes(bytes(self)).replace(b"\n", b"")
        lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
        return b"\n".join([PEM_BEGIN, *lines, PEM_END]) + b"\n"

    @classmethod
    def from_armored(cls, data: bytes) -> ReceptionPass:
        if PEM_BEGIN in data:
            body = data.split(PEM_BEGIN, 1)[1].split(PEM_END, 1)[0]
            try:
                data = base64.b64decode(b"".join(body.split()), validate=True)
            except (binascii.Error, ValueError):
                raise ProtocolError("reception pass armour is not base64") from None
        return cls.parse(data)

    # ------------------------------------------------------------ reading

    @property
    def keyed(self) -> bool:
        """Bound to a key (proof of possession), not a one-time code."""
        return self.guest_key != NO_KEY

    @property
    def token_hex(self) -> str:
        return self.token_id.hex()

    @property
    def host_certificate(self) -> x509.Certificate:
        cert = self._cache.get("cert")
        if cert is None:
            try:
                cert = ident.load_der_certificate(self.host_cert_der)
            except (ValueError, ConfigError, CryptoError):
                raise CryptoError("the reception pass's host certificate is malformed") from None
            self._cache["cert"] = cert
        return cert  # type: ignore[return-value]

    @property
    def host_fingerprint(self) -> str:
        d = hashlib.sha256(self.host_cert_der).hexdigest().upper()
        return ":".join(d[i:i + 2] for i in range(0, len(d), 2))

    def host_name(self) -> str:
        try:
            cert = self.host_certificate
        except CryptoError:
            return "(malformed certificate)"
        return f"{ident._attr(cert.subject, NameOID.COMMON_NAME)} ({ident._attr(cert.subject, NameOID.COUNTRY_NAME)})"

    def digest(self) -> bytes:
        return hashlib.sha256(bytes(self)).digest()

    # ------------------------------------------------------------ creating and checking

    @classmethod
    def create(cls, room: str, host_cert: x509.Certificate, host_key: ed25519.Ed25519PrivateKey, guest_name: str,
               now: float, hours: float = 12.0, role: str = "guest", guest_cert: x509.Certificate | None = None) -> ReceptionPass:
        """The host invites ``guest_name`` to the reception in ``room``, valid from ``now`` for
        ``hours``: a one-time code, or bound to ``guest_cert``'s key (required for ``role`` host)."""
        if not room or len(room.encode()) > 255 or "\x00" in room:
            raise ConfigError("room name must be 1 to 255 bytes")
        name = guest_name.strip()
        if not name or len(name.encode()) > 255 or any(ord(ch) < 32 for ch in name):
            raise ConfigError("the guest's name must be 1 to 255 bytes of printable text")
        if role not in ROLES:
            raise ConfigError(f"a reception role is one of {', '.join(ROLES)}, not {role!r}")
        if role == "host" and guest_cert is None:
            raise ConfigError("a co-host's pass is bound to its certificate's key (--guest-cert FILE, or --host for yourself)")
        pub = ident._ed25519(host_cert)
        if host_key.public_key().public_bytes_raw() != pub.public_bytes_raw():
            raise CryptoError("the key does not belong to the host certificate")
        h_role = ident._attr(host_cert.subject, NameOID.TITLE)
        if h_role not in ident.ROSTER_SIGNER_ROLES:
            raise CryptoError(f"only a host or chair certificate can invite to a reception; this one's role is {h_role or 'none'}")
        if hours <= 0:
            raise ConfigError("a pass must be valid for some time (hours > 0)")
        end = min(now + hours * 3600.0, host_cert.not_valid_after_utc.timestamp())
        key = NO_KEY if guest_cert is None else ident._ed25519(guest_cert).public_bytes_raw()
        if guest_cert is not None:
            end = min(end, guest_cert.not_valid_after_utc.timestamp())
        p = cls(room, ident.cert_der(host_cert), name, role, key, int(now), int(end), secrets.token_bytes(16))
        sig = host_key.sign(SIGN_LABEL + p.signed_part())
        return cls(**{**p.__dict__, "signature": sig, "_cache": {}})

    def verify_signature(self) -> None:
        """The host's signature (with the key in the certificate the pass carries)."""
        if self._cache.get("sig_ok"):
            return
        pub = self.host_certificate.public_key()
        if not isinstance(pub, ed25519.Ed25519PublicKey):
            raise CryptoError("the reception pass's host certificate has no Ed25519 key")
        try:
            pub.verify(self.signature, SIGN_LABEL + self.signed_part())
        except (InvalidSignature, ProtocolError):
            raise CryptoError("the pass's signature does not verify (altered, or not signed by its host)") from None
        role = ident._attr(self.host_certificate.subject, NameOID.TITLE)
        if role not in ident.ROSTER_SIGNER_ROLES:
            raise CryptoError(f"the pass was signed by a certificate with the role {role or 'none'}, which cannot host")
        self._cache["sig_ok"] = True

    def check(self, now: float, room: str | None = None) -> None:
        """Room, time window, then the signature; one-line reasons (:class:`CryptoError`)."""
        if room is not None and room != self.room:
            raise CryptoError(f"this pass is for the reception in room '{self.room}', not '{room}'")
        if now > self.not_after:
            raise CryptoError(f"this pass expired on {ident.utc(self.not_after):%Y-%m-%d %H:%M} UTC")
        if now + ident.CLOCK_SKEW.total_seconds() < self.issued_at:
            raise CryptoError(f"this pass is not valid before {ident.utc(self.issued_at):%Y-%m-%d %H:%M} UTC")
        self.verify_signature()

    def verify_proof(self, proof: bytes, nonce: bytes, relay_fingerprint: str) -> None:
        """The holder of a keyed pass signed this relay's nonce (see :func:`proof_message`)."""
        try:
            ed25519.Ed25519PublicKey.from_public_bytes(self.guest_key).verify(
                proof, proof_message(self, nonce, relay_fingerprint))
        except (InvalidSignature, ValueError):
            raise CryptoError("proof of possession does not verify: the pass belongs to another key") from None

    def describe(self) -> list[tuple[str, str]]:
        return [
            ("kind", "reception pass"),
            ("room", self.room),
            ("guest", self.guest_name),
            ("role", self.role),
            ("use", "bound to a key (reusable by its holder)" if self.keyed else "one-time code (single use)"),
            ("host", self.host_name()),
            ("host sha256", self.host_fingerprint),
            ("issued", f"{ident.utc(self.issued_at):%Y-%m-%d %H:%M:%S} UTC"),
            ("expires", f"{ident.utc(self.not_after):%Y-%m-%d %H:%M:%S} UTC"),
            ("token", self.token_hex),
        ]


def proof_message(p: ReceptionPass, nonce: bytes, relay_fingerprint: str) -> bytes:
    fp = bytes.fromhex(relay_fingerprint.replace(":", ""))
    return PROOF_LABEL + p.digest() + nonce + fp


@dataclass
class PassAdmission:
    """What a client presents at a reception: its pass, and for a keyed pass the key (the client
    core puts ``invitation`` in its Hello and answers the relay's challenge with :meth:`prove`)."""

    invitation: ReceptionPass
    key: ed25519.Ed25519PrivateKey | None = None

    def __post_init__(self) -> None:
        p = self.invitation
        if p.keyed and (self.key is None or self.key.public_key().public_bytes_raw() != p.guest_key):
            raise CryptoError(f"this pass is bound to another key ({p.guest_name}'s): enter with that key (--dir)")

    @property
    def room(self) -> str:
        return self.invitation.room

    @property
    def seat(self) -> str:
        return ""

    @property
    def role(self) -> str:
        return self.invitation.role

    def prove(self, nonce: bytes, relay_fingerprint: str) -> bytes:
        if self.key is None:
            raise CryptoError("a one-time code is not challenged")
        return self.key.sign(proof_message(self.invitation, nonce, relay_fingerprint))


def read_pass(path: Path) -> ReceptionPass:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"cannot read reception pass {path}: {e.strerror}") from None
    try:
        return ReceptionPass.from_armored(data)
    except ProtocolError as e:
        raise CryptoError(f"{path} is not a valid reception pass: {e}") from None


def write_pass(host_dir: Path, passphrase: bytes | None, room: str, guest: str | None, out: Path, host: bool = False,
               role: str = "guest", guest_cert: Path | None = None, hours: float = 12.0, force: bool = False,
               now: float | None = None) -> ReceptionPass:
    """``vrdiplomacy reception invite``: sign a pass with the host's delegation certificate and
    key in ``host_dir`` and write it armoured to ``out``. ``host``: the host's own pass (bound to
    its key, named after its certificate unless ``guest`` is given); ``guest_cert``: bind the pass
    to that certificate's key (a co-host's, or a guest with an identity); else a one-time code."""
    import time

    cert = ident.load_certificate(host_dir / "delegation.crt")
    key = ident.load_private_key(host_dir / "delegation.key", passphrase)
    bound = None
    if host:
        role, bound = "host", cert
        guest = guest or ident._attr(cert.subject, NameOID.COMMON_NAME) or "Host"
    elif guest_cert is not None:
        bound = ident.load_certificate(guest_cert)
    if not guest:
        raise ConfigError("invite needs --guest NAME (or --host for your own pass)")
    p = ReceptionPass.create(room, cert, key, guest, time.time() if now is None else now, hours, role, bound)
    ident.write_file(out, p.armored(), 0o644, force)
    return p
