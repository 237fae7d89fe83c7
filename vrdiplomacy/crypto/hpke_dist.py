"""Sender-key distribution: each sender's base key, sealed with HPKE (RFC 9180, base mode) to every
roster member, in one envelope signed with the sender's Ed25519 identity.

KEM suites (``cryptography.hazmat.primitives.hpke``):

* :attr:`KemSuite.MLKEM768_X25519` - hybrid ML-KEM-768 + X25519 (post-quantum), HKDF-SHA256,
  AES-128-GCM; the default where the OpenSSL backend has ML-KEM.
* :attr:`KemSuite.X25519` - DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM.

Wire format of :class:`KeyDistribution` (big-endian)::

    u8 version=1 | vec8 room_id | u64 roster_version | u16 sender | u32 generation
    | u16 cipher_suite | u8 kem_suite | 32 commitment | u16 n | n * (u16 recipient | vec16 sealed)
    | 64 signature

``sealed = enc || AEAD(base_key)``; HPKE ``info`` binds every field but the other recipients.
The signature covers everything before it. ``commitment`` is
``SHA-256("vrdiplomacy sender key v1" || room_id || sender || generation || base_key)`` and lets
each recipient check that it got the same key as everybody else.
"""

from __future__ import annotations

import enum
import functools
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ed25519, mlkem, x25519
from cryptography.hazmat.primitives.hpke import (
    AEAD,
    KDF,
    KEM,
    MLKEM768X25519PrivateKey,
    MLKEM768X25519PublicKey,
    Suite,
)

from vrdiplomacy.crypto.wire import Reader, Writer
from vrdiplomacy.errors import CryptoError, ProtocolError

VERSION = 1
BASE_KEY_LEN = 32
MAX_RECIPIENTS = 1024
_MLKEM768_PUB = 1184
_MLKEM_SEED = 64


class KemSuite(enum.IntEnum):
    """HPKE suites for sealing sender keys (KEM, then HKDF-SHA256 and AES-128-GCM)."""

    X25519 = 1
    MLKEM768_X25519 = 2


@functools.cache
def hybrid_available() -> bool:
    """Whether the installed cryptography/OpenSSL can do ML-KEM-768 (hence the hybrid KEM)."""
    try:
        mlkem.MLKEM768PrivateKey.generate()
    except (UnsupportedAlgorithm, AttributeError):
        return False
    return True


def default_kem_suite() -> KemSuite:
    return KemSuite.MLKEM768_X25519 if hybrid_available() else KemSuite.X25519


def _suite(kem: KemSuite) -> Suite:
    k = KEM.MLKEM768_X25519 if kem == KemSuite.MLKEM768_X25519 else KEM.X25519
    return Suite(k, KDF.HKDF_SHA256, AEAD.AES_128_GCM)


def _kem_suite(value: int) -> KemSuite:
    try:
        return KemSuite(value)
    except ValueError:
        raise CryptoError(f"unknown KEM suite {value}") from None


class KemKeyPair:
    """A member's HPKE key pair (made per session, published in the roster, signed by its owner)."""

    def __init__(self, suite: KemSuite, x: x25519.X25519PrivateKey, m: mlkem.MLKEM768PrivateKey | None) -> None:
        self.suite = suite
        self._x = x
        self._m = m
        self._sk: x25519.X25519PrivateKey | MLKEM768X25519PrivateKey = (
            MLKEM768X25519PrivateKey(m, x) if m is not None else x
        )

    @classmethod
    def generate(cls, suite: KemSuite | None = None) -> KemKeyPair:
        suite = suite or default_kem_suite()
        if suite == KemSuite.MLKEM768_X25519:
            if not hybrid_available():
                raise CryptoError("this cryptography/OpenSSL build has no ML-KEM-768")
            return cls(suite, x25519.X25519PrivateKey.generate(), mlkem.MLKEM768PrivateKey.generate())
        return cls(suite, x25519.X25519PrivateKey.generate(), None)

    def public_bytes(self) -> bytes:
        """X25519: 32 bytes; hybrid: ML-KEM-768 public key (1184) || X25519 public key (32)."""
        xb = self._x.public_key().public_bytes_raw()
        if self._m is None:
            return xb
        return self._m.public_key().public_bytes_raw() + xb

    def private_bytes(self) -> bytes:
        xb = self._x.private_bytes_raw()
        return xb if self._m is None else self._m.private_bytes_raw() + xb

    @classmethod
    def from_private_bytes(cls, suite: KemSuite, data: bytes) -> KemKeyPair:
        try:
            if suite == KemSuite.MLKEM768_X25519:
                if len(data) != _MLKEM_SEED + 32:
                    raise ValueError
                m = mlkem.MLKEM768PrivateKey.from_seed_bytes(data[:_MLKEM_SEED])
                return cls(suite, x25519.X25519PrivateKey.from_private_bytes(data[_MLKEM_SEED:]), m)
            return cls(suite, x25519.X25519PrivateKey.from_private_bytes(data), None)
        except (ValueError, UnsupportedAlgorithm):
            raise CryptoError("malformed KEM private key") from None

    def open(self, sealed: bytes, info: bytes) -> bytes:
        try:
            return _suite(self.suite).decrypt(sealed, self._sk, info=info)
        except Exception:  # noqa: BLE001 - the Rust binding raises several types; all mean "cannot open"
            raise CryptoError("HPKE: cannot open the sealed key (wrong recipient or tampered)") from None


def load_kem_public(suite: int, data: bytes) -> x25519.X25519PublicKey | MLKEM768X25519PublicKey:
    """Parse a public key as published by :meth:`KemKeyPair.public_bytes`."""
    s = _kem_suite(suite)
    try:
        if s == KemSuite.MLKEM768_X25519:
            if len(data) != _MLKEM768_PUB + 32:
                raise ValueError
            m = mlkem.MLKEM768PublicKey.from_public_bytes(data[:_MLKEM768_PUB])
            return MLKEM768X25519PublicKey(m, x25519.X25519PublicKey.from_public_bytes(data[_MLKEM768_PUB:]))
        return x25519.X25519PublicKey.from_public_bytes(data)
    except (ValueError, UnsupportedAlgorithm):
        raise CryptoError(f"malformed {s.name} public key ({len(data)} bytes)") from None


def hpke_seal(suite: KemSuite, public: x25519.X25519PublicKey | MLKEM768X25519PublicKey, pt: bytes, info: bytes) -> bytes:
    return _suite(suite).encrypt(pt, public, info=info)  # type: ignore[arg-type]


def key_commitment(room_id: bytes, sender: int, generation: int, base_key: bytes) -> bytes:
    return hashlib.sha256(
        b"vrdiplomacy sender key v1"
        + len(room_id).to_bytes(1, "big")
        + room_id
        + sender.to_bytes(2, "big")
        + generation.to_bytes(4, "big")
        + base_key
    ).digest()


@dataclass(frozen=True)
class SealedKey:
    """One recipient's copy: HPKE ``enc || ciphertext`` of the base key."""

    recipient: int
    sealed: bytes


@dataclass(frozen=True)
class KeyDistribution:
    """A sender's new key generation, sealed to each roster member and signed by the sender."""

    room_id: bytes
    roster_version: int
    sender: int
    generation: int
    cipher_suite: int
    kem_suite: int
    commitment: bytes
    keys: tuple[SealedKey, ...]
    signature: bytes = b""

    def signed_part(self) -> bytes:
        w = (
            Writer()
            .u8(VERSION)
            .vec8(self.room_id)
            .u64(self.roster_version)
            .u16(self.sender)
            .u32(self.generation)
            .u16(self.cipher_suite)
            .u8(self.kem_suite)
            .raw(self.commitment)
            .u16(len(self.keys))
        )
        for k in self.keys:
            w.u16(k.recipient).vec16(k.sealed)
        return b"vrdiplomacy key distribution\x00" + w.bytes()

    def __bytes__(self) -> bytes:
        return self.signed_part()[len(b"vrdiplomacy key distribution\x00") :] + self.signature

    @classmethod
    def parse(cls, data: bytes) -> KeyDistribution:
        r = Reader(data, "key distribution")
        if r.u8() != VERSION:
            raise ProtocolError("key distribution: unsupported version")
        room_id = r.vec8()
        roster_version, sender, generation = r.u64(), r.u16(), r.u32()
        cipher_suite, kem_suite = r.u16(), r.u8()
        commitment = r.take(32)
        n = r.u16()
        if n > MAX_RECIPIENTS:
            raise ProtocolError(f"key distribution: {n} recipients exceeds {MAX_RECIPIENTS}")
        keys = tuple(SealedKey(r.u16(), r.vec16()) for _ in range(n))
        signature = r.take(64)
        r.done()
        return cls(room_id, roster_version, sender, generation, cipher_suite, kem_suite, commitment, keys, signature)

    def info(self, recipient: int) -> bytes:
        """HPKE ``info`` for one recipient: binds room, roster version, sender, generation, suites
        and the commitment."""
        return (
            Writer()
            .raw(b"vrdiplomacy sender key v1")
            .vec8(self.room_id)
            .u64(self.roster_version)
            .u16(self.sender)
            .u32(self.generation)
            .u16(self.cipher_suite)
            .u8(self.kem_suite)
            .raw(self.commitment)
            .u16(recipient)
            .bytes()
        )

    @classmethod
    def create(
        cls,
        room_id: bytes,
        roster_version: int,
        sender: int,
        generation: int,
        cipher_suite: int,
        base_key: bytes,
        recipients: dict[int, tuple[int, bytes]],
        signing_key: ed25519.Ed25519PrivateKey,
    ) -> KeyDistribution:
        """Seal ``base_key`` to ``recipients`` (index -> (kem suite, public key bytes)) and sign.
        All recipients must use the same KEM suite."""
        suites = {s for s, _ in recipients.values()}
        if len(suites) > 1:
            raise CryptoError("roster members use different KEM suites")
        kem = _kem_suite(suites.pop() if suites else KemSuite.X25519)
        unsigned = cls(
            room_id, roster_version, sender, generation, cipher_suite, kem,
            key_commitment(room_id, sender, generation, base_key), (),
        )
        keys = tuple(
            SealedKey(idx, hpke_seal(kem, load_kem_public(kem, pub), base_key, unsigned.info(idx)))
            for idx, (_, pub) in sorted(recipients.items())
        )
        body = cls(unsigned.room_id, roster_version, sender, generation, cipher_suite, kem, unsigned.commitment, keys)
        return cls(
            room_id, roster_version, sender, generation, cipher_suite, kem, body.commitment, keys,
            signing_key.sign(body.signed_part()),
        )

    def verify(self, sender_key: ed25519.Ed25519PublicKey) -> None:
        try:
            sender_key.verify(self.signature, self.signed_part())
        except InvalidSignature:
            raise CryptoError(f"key distribution from member {self.sender}: bad signature") from None

    def open_for(self, recipient: int, kem: KemKeyPair) -> bytes:
        """The base key sealed to ``recipient``, checked against the commitment."""
        if self.kem_suite != kem.suite:
            raise CryptoError("key distribution uses another KEM suite than ours")
        for k in self.keys:
            if k.recipient == recipient:
                base = kem.open(k.sealed, self.info(recipient))
                if key_commitment(self.room_id, self.sender, self.generation, base) != self.commitment:
                    raise CryptoError(f"member {self.sender} sent a key that does not match its commitment")
                return base
        raise CryptoError(f"key distribution from member {self.sender} has no key for member {recipient}")
