"""The shape that room invitations and reception passes share: a record signed by a certificate.

Both :class:`~vrdiplomacy.crypto.admission.Invitation` and
:class:`~vrdiplomacy.reception.passes.ReceptionPass` are a magic, a version byte, a room, the
signer's certificate (DER, u16 length), fields of their own, an issue and an expiry time (u64
each, big-endian), a 16-byte token id and a 64-byte Ed25519 signature by the certificate's key
over everything before it, prefixed with a label. Files hold them base64-armoured between
``-----BEGIN VRDIPLOMACY <NAME>-----`` lines. At a relay the holder of a keyed token signs a
label, the token's SHA-256, the relay's nonce and the relay's TLS certificate fingerprint.

A :class:`TokenFormat` holds one kind's constants and the nouns of its errors; its methods do the
steps both kinds take (header, length, armour, times, signature, proof), so each kind writes only
its own fields. Every malformed input is a :class:`~vrdiplomacy.errors.ProtocolError`, every check
that fails a :class:`~vrdiplomacy.errors.CryptoError`, with one line naming the kind.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol, Self

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import NameOID

from vrdiplomacy.crypto import identity as ident
from vrdiplomacy.errors import ConfigError, CryptoError, ProtocolError

MAX_TIME = 253402300799  # 9999-12-31 23:59:59 UTC: the latest time a token may name
TIMES = struct.Struct("!QQ")  # issued_at, not_after
TOKEN_ID_SIZE = 16
SIGNATURE_SIZE = 64


def str8(s: str) -> bytes:
    """``s`` as UTF-8 after one length byte; :class:`ProtocolError` past 255 bytes."""
    raw = s.encode("utf-8")
    if len(raw) > 255:
        raise ProtocolError(f"string of {len(raw)} bytes exceeds 255")
    return bytes([len(raw)]) + raw


def hex_fingerprint(raw: bytes) -> str:
    """A digest as colon-separated upper-case hex pairs (what ``identity show`` prints)."""
    h = raw.hex().upper()
    return ":".join(h[i : i + 2] for i in range(0, len(h), 2))


def article(noun: str) -> str:
    """``noun`` after "a" or "an"."""
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"


class Digestible(Protocol):
    def digest(self) -> bytes: ...


class Reader:
    """Reads a token's fields in order; a short read or bad UTF-8 is a :class:`ProtocolError`."""

    def __init__(self, data: bytes, noun: str) -> None:
        self.data, self.pos, self.noun = data, 0, noun

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ProtocolError(f"truncated {self.noun}")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def str8(self) -> str:
        try:
            return self.take(self.take(1)[0]).decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError(f"{self.noun} string is not UTF-8") from None

    def blob16(self) -> bytes:
        return self.take(int.from_bytes(self.take(2), "big"))

    def times(self) -> tuple[int, int]:
        issued, not_after = TIMES.unpack(self.take(TIMES.size))
        return issued, not_after

    def tail(self) -> tuple[bytes, bytes]:
        """The token id and the signature, which end every token."""
        return self.take(TOKEN_ID_SIZE), self.take(SIGNATURE_SIZE)

    def end(self) -> None:
        if self.pos != len(self.data):
            raise ProtocolError(f"trailing bytes after the {self.noun}")


@dataclass(frozen=True)
class TokenFormat:
    """One kind of signed token: its constants, and the words its errors use."""

    noun: str  # what parse and file errors call it ("invitation", "reception pass")
    short: str  # what its holder is told when a check fails ("invitation", "pass")
    signer: str  # whose certificate signs it ("authority", "host")
    magic: bytes
    version: int
    sign_label: bytes
    proof_label: bytes
    max_size: int
    pem_name: bytes  # between "-----BEGIN VRDIPLOMACY " and "-----"
    bad_signature: str  # the one line when the signature does not verify

    @property
    def pem_begin(self) -> bytes:
        return b"-----BEGIN VRDIPLOMACY " + self.pem_name + b"-----"

    @property
    def pem_end(self) -> bytes:
        return b"-----END VRDIPLOMACY " + self.pem_name + b"-----"

    # ------------------------------------------------------------ encoding

    def head(self, room: str, signer_der: bytes) -> bytes:
        """Magic, version, room and the signer's certificate: how every token starts."""
        if len(signer_der) > self.max_size:
            raise ProtocolError(f"{self.signer} certificate too large")
        return self.magic + bytes((self.version,)) + str8(room) + len(signer_der).to_bytes(2, "big") + signer_der

    def signed(self, signed_part: bytes, signature: bytes) -> bytes:
        if len(signature) != SIGNATURE_SIZE:
            raise ProtocolError(f"{self.noun} is not signed")
        return signed_part + signature

    def reader(self, data: bytes) -> Reader:
        """A reader past the magic and version of ``data`` (not longer than the kind allows)."""
        if len(data) > self.max_size:
            raise ProtocolError(f"{self.noun} of {len(data)} bytes exceeds {self.max_size}")
        r = Reader(bytes(data), self.noun)
        if r.take(len(self.magic)) != self.magic:
            raise ProtocolError(f"not {article(self.noun)}")
        if r.take(1)[0] != self.version:
            raise ProtocolError(f"unsupported {self.noun} version")
        return r

    def check_times(self, issued_at: int, not_after: int) -> None:
        if not issued_at <= not_after <= MAX_TIME:
            raise ProtocolError(f"{self.noun} times out of range")

    def armor(self, blob: bytes) -> bytes:
        b64 = base64.encodebytes(blob).replace(b"\n", b"")
        lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
        return b"\n".join([self.pem_begin, *lines, self.pem_end]) + b"\n"

    def dearmor(self, data: bytes) -> bytes:
        """The binary token in ``data``: armoured (base64 between the kind's lines) or already binary."""
        if self.pem_begin not in data:
            return data
        body = data.split(self.pem_begin, 1)[1].split(self.pem_end, 1)[0]
        try:
            return base64.b64decode(b"".join(body.split()), validate=True)
        except (binascii.Error, ValueError):
            raise ProtocolError(f"{self.noun} armour is not base64") from None

    def read(self, path: Path) -> bytes:
        """The bytes of a token file; :class:`ConfigError` when it cannot be read."""
        try:
            return path.read_bytes()
        except OSError as e:
            raise ConfigError(f"cannot read {self.noun} {path}: {e.strerror}") from None

    def invalid_file(self, path: Path, e: ProtocolError) -> CryptoError:
        return CryptoError(f"{path} is not a valid {self.noun}: {e}")

    # ------------------------------------------------------------ signing and checking

    def check_signer(self, cert: x509.Certificate, key: ed25519.Ed25519PrivateKey, refusal: str) -> None:
        """``key`` is ``cert``'s, and ``cert``'s role may sign tokens (else ``refusal``, then its role)."""
        pub = ident._ed25519(cert)
        if key.public_key().public_bytes_raw() != pub.public_bytes_raw():
            raise CryptoError(f"the key does not belong to the {self.signer} certificate")
        role = ident._attr(cert.subject, NameOID.TITLE)
        if role not in ident.ROSTER_SIGNER_ROLES:
            raise CryptoError(f"{refusal}; this one's role is {role or 'none'}")

    def sign(self, key: ed25519.Ed25519PrivateKey, signed_part: bytes) -> bytes:
        return key.sign(self.sign_label + signed_part)

    def signer_certificate(self, der: bytes) -> x509.Certificate:
        """The signer's certificate the token carries, its key parsed (a broken key fails here)."""
        try:
            cert = x509.load_der_x509_certificate(der)
            cert.public_key()  # parsed lazily: an unknown or broken key must fail here, not later
        except (ValueError, UnsupportedAlgorithm, x509.InvalidVersion):
            raise CryptoError(f"the {self.noun}'s {self.signer} certificate is malformed") from None
        return cert

    def verify(self, cert: x509.Certificate, signature: bytes, signed_part: Callable[[], bytes]) -> None:
        """The signature by the key of ``cert`` (the certificate the token carries) over what
        ``signed_part`` encodes (a token that cannot be encoded does not verify either)."""
        pub = cert.public_key()
        if not isinstance(pub, ed25519.Ed25519PublicKey):
            raise CryptoError(f"the {self.noun}'s {self.signer} certificate has no Ed25519 key")
        try:
            pub.verify(signature, self.sign_label + signed_part())
        except (InvalidSignature, ProtocolError):
            raise CryptoError(self.bad_signature) from None

    def check_window(self, now: float, issued_at: int, not_after: int) -> None:
        if now > not_after:
            raise CryptoError(f"this {self.short} expired on {ident.utc(not_after):%Y-%m-%d %H:%M} UTC")
        if now + ident.CLOCK_SKEW.total_seconds() < issued_at:
            raise CryptoError(f"this {self.short} is not valid before {ident.utc(issued_at):%Y-%m-%d %H:%M} UTC")

    def proof_message(self, token: Digestible, nonce: bytes, relay_fingerprint: str) -> bytes:
        """What a holder signs at a relay: the label, the token's hash, the relay's nonce and the
        relay's TLS certificate fingerprint (bytes)."""
        fp = bytes.fromhex(relay_fingerprint.replace(":", ""))
        return self.proof_label + token.digest() + nonce + fp

    def verify_proof(self, holder_key: bytes, proof: bytes, token: Digestible, nonce: bytes,
                     relay_fingerprint: str) -> None:
        """``proof`` is the signature by ``holder_key`` of :meth:`proof_message`."""
        try:
            ed25519.Ed25519PublicKey.from_public_bytes(holder_key).verify(
                proof, self.proof_message(token, nonce, relay_fingerprint))
        except (InvalidSignature, ValueError):
            raise CryptoError(f"proof of possession does not verify: the {self.short} belongs to another key") from None


class SignedToken(ABC):
    """What a signed token does through its :class:`TokenFormat`: a base of the frozen dataclasses
    :class:`~vrdiplomacy.crypto.admission.Invitation` and :class:`~vrdiplomacy.reception.passes.ReceptionPass`,
    which give the fields (``signature``, ``token_id``, ``_cache``), :meth:`signed_part`,
    :meth:`parse`, the signer's certificate (:meth:`signer_der`) and the holder's key (:meth:`holder_key`)."""

    FORMAT: ClassVar[TokenFormat]
    signature: bytes
    token_id: bytes
    issued_at: int
    not_after: int
    _cache: dict[str, object]

    @abstractmethod
    def signed_part(self) -> bytes:
        """The bytes the signature covers (everything before it)."""

    @classmethod
    @abstractmethod
    def parse(cls, data: bytes) -> Self:
        """The token in ``data``, or a :class:`~vrdiplomacy.errors.CryptoError` naming what is wrong."""

    @abstractmethod
    def signer_der(self) -> bytes:
        """The DER certificate of whoever signed the token."""

    @abstractmethod
    def holder_key(self) -> bytes:
        """The raw Ed25519 key the holder proves possession of (empty when the token is not bound)."""

    # ------------------------------------------------------------ encoding

    def __bytes__(self) -> bytes:
        return self.FORMAT.signed(self.signed_part(), self.signature)

    def armored(self) -> bytes:
        return self.FORMAT.armor(bytes(self))

    @classmethod
    def from_armored(cls, data: bytes) -> Self:
        return cls.parse(cls.FORMAT.dearmor(data))

    def signed_by(self, key: ed25519.Ed25519PrivateKey) -> Self:
        """This token signed with ``key`` (a new object: the dataclasses are frozen)."""
        return type(self)(**{**self.__dict__, "signature": self.FORMAT.sign(key, self.signed_part()), "_cache": {}})

    # ------------------------------------------------------------ reading

    @property
    def token_hex(self) -> str:
        return self.token_id.hex()

    def digest(self) -> bytes:
        return hashlib.sha256(bytes(self)).digest()

    @property
    def signer_certificate(self) -> x509.Certificate:
        cert = self._cache.get("cert")
        if cert is None:
            cert = self._cache["cert"] = self.FORMAT.signer_certificate(self.signer_der())
        return cert  # type: ignore[return-value]

    @property
    def signer_fingerprint(self) -> str:
        """``identity.fingerprint`` of the signer's certificate (what ``identity show`` prints)."""
        fp = self._cache.get("fp")
        if fp is None:
            fp = self._cache["fp"] = hex_fingerprint(hashlib.sha256(self.signer_der()).digest())
        return fp  # type: ignore[return-value]

    def signer_name(self) -> str:
        try:
            cert = self.signer_certificate
        except CryptoError:
            return "(malformed certificate)"
        return f"{ident._attr(cert.subject, NameOID.COMMON_NAME)} ({ident._attr(cert.subject, NameOID.COUNTRY_NAME)})"

    # ------------------------------------------------------------ checking

    def verify_signature(self) -> None:
        """The signer's signature, with the key in the certificate the token carries."""
        if self._cache.get("sig_ok"):
            return
        self.FORMAT.verify(self.signer_certificate, self.signature, self.signed_part)
        self._check_signer()
        self._cache["sig_ok"] = True

    def _check_signer(self) -> None:
        """What a kind checks of a signer whose signature verified (nothing, unless it says)."""

    def check_window(self, now: float) -> None:
        self.FORMAT.check_window(now, self.issued_at, self.not_after)

    def proof_message(self, nonce: bytes, relay_fingerprint: str) -> bytes:
        return self.FORMAT.proof_message(self, nonce, relay_fingerprint)

    def verify_proof(self, proof: bytes, nonce: bytes, relay_fingerprint: str) -> None:
        """The holder of the token's key signed this relay's nonce (see :meth:`TokenFormat.proof_message`)."""
        self.FORMAT.verify_proof(self.holder_key(), proof, self, nonce, relay_fingerprint)
