"""SFrame (RFC 9605): header encoding, cipher suites, key derivation, encryption and replay windows.

Wire format of one SFrame ciphertext (§4.3)::

    config byte |X|  K  |Y|  C  | , KID (0..8 bytes), CTR (0..8 bytes), ciphertext || tag

The AAD is ``header || metadata``; vrdiplomacy sets ``metadata = room_id || stream_type`` so a
frame cannot be replayed into another room or another stream. Keys are derived per KID from a
sender's base key (§4.4.2); nonces are ``salt XOR CTR``.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand

from vrdiplomacy.errors import CryptoError, ProtocolError

MAX_U64 = (1 << 64) - 1


class CipherSuite(enum.IntEnum):
    """SFrame cipher suites registered by RFC 9605 §8.1 (IANA "SFrame Cipher Suites")."""

    AES_128_CTR_HMAC_SHA256_80 = 0x0001
    AES_128_CTR_HMAC_SHA256_64 = 0x0002
    AES_128_CTR_HMAC_SHA256_32 = 0x0003
    AES_128_GCM_SHA256_128 = 0x0004
    AES_256_GCM_SHA512_128 = 0x0005


DEFAULT_SUITE = CipherSuite.AES_128_GCM_SHA256_128


@dataclass(frozen=True)
class SuiteParams:
    """Sizes of one suite (RFC 9605 §4.5): hash name, Nk key, Nn nonce, Nt tag and, for the
    CTR+HMAC suites, Nka (the AES key part of the combined key; the rest is the HMAC key)."""

    hash_name: str
    nk: int
    nn: int
    nt: int
    nka: int = 0

    @property
    def nh(self) -> int:
        return hashlib.new(self.hash_name).digest_size


SUITES: dict[CipherSuite, SuiteParams] = {
    CipherSuite.AES_128_CTR_HMAC_SHA256_80: SuiteParams("sha256", 48, 12, 10, 16),
    CipherSuite.AES_128_CTR_HMAC_SHA256_64: SuiteParams("sha256", 48, 12, 8, 16),
    CipherSuite.AES_128_CTR_HMAC_SHA256_32: SuiteParams("sha256", 48, 12, 4, 16),
    CipherSuite.AES_128_GCM_SHA256_128: SuiteParams("sha256", 16, 12, 16),
    CipherSuite.AES_256_GCM_SHA512_128: SuiteParams("sha512", 32, 12, 16),
}


def suite_params(suite: int) -> SuiteParams:
    try:
        return SUITES[CipherSuite(suite)]
    except ValueError:
        raise CryptoError(f"unknown SFrame cipher suite 0x{suite:04x}") from None


# --------------------------------------------------------------------------- header (§4.3)


def _min_len(v: int) -> int:
    return max(1, (v.bit_length() + 7) // 8)


@dataclass(frozen=True)
class SFrameHeader:
    """An SFrame header: key id ``kid`` and counter ``ctr``, both 0..2^64-1."""

    kid: int
    ctr: int

    def __post_init__(self) -> None:
        if not (0 <= self.kid <= MAX_U64 and 0 <= self.ctr <= MAX_U64):
            raise ProtocolError("SFrame header: KID and CTR must be 0..2^64-1")

    def __bytes__(self) -> bytes:
        cfg = 0
        tail = b""
        if self.kid < 8:
            cfg |= self.kid << 4
        else:
            n = _min_len(self.kid)
            cfg |= 0x80 | ((n - 1) << 4)
            tail += self.kid.to_bytes(n, "big")
        if self.ctr < 8:
            cfg |= self.ctr
        else:
            n = _min_len(self.ctr)
            cfg |= 0x08 | (n - 1)
            tail += self.ctr.to_bytes(n, "big")
        return bytes([cfg]) + tail

    @classmethod
    def decode(cls, data: bytes) -> tuple[SFrameHeader, int]:
        """Parse a header at the start of ``data``; returns it and its length in bytes."""
        if not data:
            raise ProtocolError("SFrame header: empty")
        cfg = data[0]
        pos = 1
        if cfg & 0x80:
            n = ((cfg >> 4) & 0x07) + 1
            if len(data) < pos + n:
                raise ProtocolError("SFrame header: truncated KID")
            kid = int.from_bytes(data[pos : pos + n], "big")
            pos += n
        else:
            kid = (cfg >> 4) & 0x07
        if cfg & 0x08:
            n = (cfg & 0x07) + 1
            if len(data) < pos + n:
                raise ProtocolError("SFrame header: truncated CTR")
            ctr = int.from_bytes(data[pos : pos + n], "big")
            pos += n
        else:
            ctr = cfg & 0x07
        return cls(kid, ctr), pos

    @classmethod
    def parse(cls, data: bytes) -> SFrameHeader:
        """Parse exactly one header (no trailing bytes)."""
        hdr, n = cls.decode(bytes(data))
        if n != len(data):
            raise ProtocolError(f"SFrame header: {len(data) - n} trailing bytes")
        return hdr


# --------------------------------------------------------------------------- AEADs (§4.5)


class Aead(Protocol):
    def encrypt(self, nonce: bytes, aad: bytes, pt: bytes) -> bytes: ...
    def decrypt(self, nonce: bytes, aad: bytes, ct: bytes) -> bytes: ...


class AesCtrHmac:
    """AES-CTR with a truncated HMAC tag (RFC 9605 §4.5.1).

    ``key`` is ``enc_key || auth_key`` with ``nka`` bytes of AES key; the tag is
    ``HMAC(auth_key, len(aad) || len(ct) || Nt || nonce || aad || ct)[:nt]`` (lengths as u64).
    """

    def __init__(self, key: bytes, nka: int, hash_name: str, nt: int) -> None:
        if len(key) <= nka:
            raise CryptoError("AES-CTR-HMAC key too short")
        self.enc_key = key[:nka]
        self.auth_key = key[nka:]
        self._hash = hash_name
        self._nt = nt
        self._aes = algorithms.AES(self.enc_key)

    def _tag(self, nonce: bytes, aad: bytes, ct: bytes) -> bytes:
        head = len(aad).to_bytes(8, "big") + len(ct).to_bytes(8, "big") + self._nt.to_bytes(8, "big")
        return hmac.new(self.auth_key, head + nonce + aad + ct, self._hash).digest()[: self._nt]

    def _ctr(self, nonce: bytes, data: bytes) -> bytes:
        if len(nonce) != 12:
            raise CryptoError("AES-CTR-HMAC nonce must be 12 bytes")
        c = Cipher(self._aes, modes.CTR(nonce + b"\x00\x00\x00\x00")).encryptor()
        return c.update(data) + c.finalize()

    def encrypt(self, nonce: bytes, aad: bytes, pt: bytes) -> bytes:
        ct = self._ctr(nonce, pt)
        return ct + self._tag(nonce, aad, ct)

    def decrypt(self, nonce: bytes, aad: bytes, ct: bytes) -> bytes:
        if len(ct) < self._nt:
            raise CryptoError("ciphertext shorter than its tag")
        body, tag = ct[: -self._nt], ct[-self._nt :]
        if not hmac.compare_digest(tag, self._tag(nonce, aad, body)):
            raise CryptoError("authentication tag mismatch")
        return self._ctr(nonce, body)


class AesGcm:
    """AES-GCM with a 16-byte tag."""

    def __init__(self, key: bytes) -> None:
        self._g = AESGCM(key)

    def encrypt(self, nonce: bytes, aad: bytes, pt: bytes) -> bytes:
        return self._g.encrypt(nonce, pt, aad)

    def decrypt(self, nonce: bytes, aad: bytes, ct: bytes) -> bytes:
        try:
            return self._g.decrypt(nonce, ct, aad)
        except InvalidTag:
            raise CryptoError("authentication tag mismatch") from None


def make_aead(suite: CipherSuite, key: bytes) -> Aead:
    p = suite_params(suite)
    if len(key) != p.nk:
        raise CryptoError(f"{CipherSuite(suite).name} needs a {p.nk}-byte key, got {len(key)}")
    if p.nka:
        return AesCtrHmac(key, p.nka, p.hash_name, p.nt)
    return AesGcm(key)


# --------------------------------------------------------------------------- key schedule (§4.4.2)


def _hash_algorithm(hash_name: str) -> hashes.HashAlgorithm:
    return hashes.SHA256() if hash_name == "sha256" else hashes.SHA512()


def hkdf_extract(hash_name: str, salt: bytes, ikm: bytes) -> bytes:
    """HKDF-Extract (RFC 5869) from the ``cryptography`` package (an empty salt is HashLen zeros)."""
    return HKDF.extract(_hash_algorithm(hash_name), salt or None, ikm)


def hkdf_expand(hash_name: str, prk: bytes, info: bytes, length: int) -> bytes:
    return HKDFExpand(_hash_algorithm(hash_name), length, info).derive(prk)


def key_label(kid: int, suite: int) -> bytes:
    return b"SFrame 1.0 Secret key " + kid.to_bytes(8, "big") + suite.to_bytes(2, "big")


def salt_label(kid: int, suite: int) -> bytes:
    return b"SFrame 1.0 Secret salt " + kid.to_bytes(8, "big") + suite.to_bytes(2, "big")


def derive_key_salt(suite: CipherSuite, kid: int, base_key: bytes) -> tuple[bytes, bytes]:
    """``(sframe_key, sframe_salt)`` for ``kid`` from ``base_key`` (RFC 9605 §4.4.2)."""
    p = suite_params(suite)
    secret = hkdf_extract(p.hash_name, b"", base_key)
    key = hkdf_expand(p.hash_name, secret, key_label(kid, suite), p.nk)
    salt = hkdf_expand(p.hash_name, secret, salt_label(kid, suite), p.nn)
    return key, salt


class SFrameKey:
    """The derived key material of one KID, with a cached AEAD. Encrypts and decrypts frames."""

    __slots__ = ("suite", "kid", "key", "salt", "_salt_int", "_aead", "_nn")

    def __init__(self, suite: CipherSuite, kid: int, base_key: bytes) -> None:
        self.suite = CipherSuite(suite)
        self.kid = kid
        self.key, self.salt = derive_key_salt(self.suite, kid, base_key)
        self._salt_int = int.from_bytes(self.salt, "big")
        self._nn = len(self.salt)
        self._aead = make_aead(self.suite, self.key)

    def nonce(self, ctr: int) -> bytes:
        return (self._salt_int ^ ctr).to_bytes(self._nn, "big")

    def encrypt(self, ctr: int, metadata: bytes, pt: bytes) -> bytes:
        """The full SFrame ciphertext ``header || ct || tag`` for counter ``ctr``."""
        header = bytes(SFrameHeader(self.kid, ctr))
        return header + self._aead.encrypt(self.nonce(ctr), header + metadata, pt)

    def decrypt(self, header: SFrameHeader, header_bytes: bytes, body: bytes, metadata: bytes) -> bytes:
        """Authenticate and decrypt ``body``; raises :class:`CryptoError` on any mismatch."""
        if header.kid != self.kid:
            raise CryptoError("frame KID does not match the key")
        return self._aead.decrypt(self.nonce(header.ctr), header_bytes + metadata, body)


# --------------------------------------------------------------------------- replay (§7.5 advice)


@dataclass
class ReplayWindow:
    """Sliding window over CTR values of one KID: accepts each CTR once, rejects CTRs more than
    ``size - 1`` below the highest accepted one. ``check`` before decryption, ``update`` after."""

    size: int = 256
    highest: int = -1
    _bits: int = field(default=0, repr=False)

    def check(self, ctr: int) -> str | None:
        """``None`` when ``ctr`` is acceptable, else the reason: ``"replay"`` or ``"too_old"``."""
        if ctr > self.highest:
            return None
        delta = self.highest - ctr
        if delta >= self.size:
            return "too_old"
        return "replay" if (self._bits >> delta) & 1 else None

    def update(self, ctr: int) -> None:
        if ctr > self.highest:
            shift = ctr - self.highest
            self._bits = ((self._bits << shift) | 1) & ((1 << self.size) - 1) if shift < self.size else 1
            self.highest = ctr
        else:
            self._bits |= 1 << (self.highest - ctr)
