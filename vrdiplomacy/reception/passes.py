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
RECEPTION PASS-----`` lines. The steps a room invitation shares (header, armour, signature,
proof) are :mod:`vrdiplomacy.crypto.signed_token`'s.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import NameOID

from vrdiplomacy.crypto import identity as ident
from vrdiplomacy.crypto.signed_token import TIMES, SignedToken, TokenFormat, str8
from vrdiplomacy.errors import ConfigError, CryptoError, ProtocolError

MAGIC = b"VRDPASS"
SIGN_LABEL = b"vrdiplomacy reception pass v1\x00"
NO_KEY = bytes(32)
ROLES = ("guest", "host")
FORMAT = TokenFormat(
    noun="reception pass", short="pass", signer="host", magic=MAGIC, version=1, sign_label=SIGN_LABEL,
    proof_label=b"vrdiplomacy reception proof v1\x00", max_size=4096, pem_name=b"RECEPTION PASS",
    bad_signature="the pass's signature does not verify (altered, or not signed by its host)",
)


def looks_like_pass(data: bytes) -> bool:
    """Whether ``data`` (an invitation blob of a Hello or Join) is a reception pass."""
    return data[: len(MAGIC)] == MAGIC


@dataclass(frozen=True)
class ReceptionPass(SignedToken):
    """A host-signed admission of one guest (or co-host) to one reception (see the module docstring)."""

    FORMAT: ClassVar[TokenFormat] = FORMAT

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
        return (FORMAT.head(self.room, self.host_cert_der)
                + str8(self.guest_name) + str8(self.role) + self.guest_key
                + TIMES.pack(self.issued_at, self.not_after) + self.token_id)

    @classmethod
    def parse(cls, data: bytes) -> ReceptionPass:
        """Decode (not verify) a pass; :class:`ProtocolError` when malformed."""
        c = FORMAT.reader(data)
        room = c.str8()
        der = c.blob16()
        name, role = c.str8(), c.str8()
        key = c.take(32)
        issued, not_after = c.times()
        token, sig = c.tail()
        c.end()
        if role not in ROLES:
            raise ProtocolError(f"unknown reception role {role!r}")
        FORMAT.check_times(issued, not_after)
        return cls(room, der, name, role, key, issued, not_after, token, sig)

    def signer_der(self) -> bytes:
        return self.host_cert_der

    def holder_key(self) -> bytes:
        return self.guest_key

    # ------------------------------------------------------------ reading

    @property
    def keyed(self) -> bool:
        """Bound to a key (proof of possession), not a one-time code."""
        return self.guest_key != NO_KEY

    @property
    def host_certificate(self) -> x509.Certificate:
        return self.signer_certificate

    @property
    def host_fingerprint(self) -> str:
        return self.signer_fingerprint

    def host_name(self) -> str:
        return self.signer_name()

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
        FORMAT.check_signer(host_cert, host_key, "only a host or chair certificate can invite to a reception")
        if hours <= 0:
            raise ConfigError("a pass must be valid for some time (hours > 0)")
        end = min(now + hours * 3600.0, host_cert.not_valid_after_utc.timestamp())
        key = NO_KEY if guest_cert is None else ident._ed25519(guest_cert).public_bytes_raw()
        if guest_cert is not None:
            end = min(end, guest_cert.not_valid_after_utc.timestamp())
        p = cls(room, ident.cert_der(host_cert), name, role, key, int(now), int(end), secrets.token_bytes(16))
        return p.signed_by(host_key)

    def _check_signer(self) -> None:
        """A pass signed by a certificate whose role cannot host does not admit."""
        role = ident._attr(self.host_certificate.subject, NameOID.TITLE)
        if role not in ident.ROSTER_SIGNER_ROLES:
            raise CryptoError(f"the pass was signed by a certificate with the role {role or 'none'}, which cannot host")

    def check(self, now: float, room: str | None = None) -> None:
        """Room, time window, then the signature; one-line reasons (:class:`CryptoError`)."""
        if room is not None and room != self.room:
            raise CryptoError(f"this pass is for the reception in room '{self.room}', not '{room}'")
        self.check_window(now)
        self.verify_signature()

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
    return p.proof_message(nonce, relay_fingerprint)


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
    data = FORMAT.read(path)
    try:
        return ReceptionPass.from_armored(data)
    except ProtocolError as e:
        raise FORMAT.invalid_file(path, e) from None


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
