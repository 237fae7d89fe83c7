"""The prime-order group of the secret ballot: ristretto255 (RFC 9496), from libsodium.

Every curve operation is libsodium's (``crypto_core_ristretto255_*``,
``crypto_scalarmult_ristretto255*``, libsodium >= 1.0.18) reached through the maintained
``pysodium`` binding; nothing here does point arithmetic itself. Scalars are Python integers
modulo the group order :data:`L` (plain modular integer arithmetic, no curve code).

Ristretto255 is a prime-order group (order ``L = 2^252 + 27742317777372353535851937790883648493``)
built on edwards25519 without its cofactor: every 32-byte string that decodes is a group element,
so a decoded point needs no subgroup check. The identity (all-zero encoding) is a valid element;
libsodium's scalar multiplication refuses it (and a zero scalar) as a result, so :func:`mul`
handles those cases explicitly.

Hashes to scalars (Fiat–Shamir challenges) are SHA-512 of a length-prefixed transcript reduced
modulo ``L`` (:class:`Transcript`), so a field can never be confused with its neighbour.
"""

from __future__ import annotations

import hashlib
import secrets
import struct
from collections.abc import Iterable

from vrdiplomacy.errors import CryptoError, PlatformError

try:
    import pysodium
    if not hasattr(pysodium, "crypto_core_ristretto255_add"):
        raise ImportError("pysodium without ristretto255")
    pysodium.crypto_scalarmult_ristretto255_base(bytes([1]) + bytes(31))  # needs libsodium >= 1.0.18
except (ImportError, OSError, ValueError) as _e:  # no libsodium, or one too old
    raise PlatformError("the secret ballot needs libsodium >= 1.0.18 and pysodium "
                        f"(Debian/Ubuntu: apt install libsodium23; pip install pysodium): {_e}") from _e

GROUP_NAME = "ristretto255"
L = 2**252 + 27742317777372353535851937790883648493
POINT_BYTES = 32
SCALAR_BYTES = 32
IDENTITY = bytes(32)

Point = bytes  # a canonical 32-byte ristretto255 encoding
Scalar = int  # an integer in [0, L)

# The standard generator (RFC 9496, A.1: the first multiple); tests check libsodium agrees.
G: Point = bytes.fromhex("e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76")


def _enc(s: Scalar) -> bytes:
    return (s % L).to_bytes(32, "little")


def scalar_bytes(s: Scalar) -> bytes:
    """The 32-byte little-endian encoding of scalar ``s`` (reduced modulo L)."""
    return _enc(s)


def scalar_from(data: bytes) -> Scalar:
    """A scalar from its 32-byte encoding; non-canonical (>= L) encodings are refused."""
    if len(data) != SCALAR_BYTES:
        raise CryptoError(f"a scalar is {SCALAR_BYTES} bytes, not {len(data)}")
    v = int.from_bytes(data, "little")
    if v >= L:
        raise CryptoError("non-canonical scalar")
    return v


def point_from(data: bytes) -> Point:
    """A group element from its encoding, checked by libsodium (canonical, on ristretto255)."""
    data = bytes(data)
    if len(data) != POINT_BYTES:
        raise CryptoError(f"a group element is {POINT_BYTES} bytes, not {len(data)}")
    if data != IDENTITY and not pysodium.crypto_core_ristretto255_is_valid_point(data):
        raise CryptoError("not a ristretto255 group element")
    return data


def random_scalar() -> Scalar:
    """A uniformly random nonzero scalar (512 random bits reduced modulo L)."""
    while True:
        s = int.from_bytes(secrets.token_bytes(64), "little") % L
        if s:
            return s


def base(s: Scalar) -> Point:
    """``s·G`` for the standard generator G."""
    s %= L
    if s == 0:
        return IDENTITY
    if s == 1:
        return G
    return pysodium.crypto_scalarmult_ristretto255_base(_enc(s))


def mul(s: Scalar, p: Point) -> Point:
    """``s·P``."""
    s %= L
    if s == 0 or p == IDENTITY:
        return IDENTITY
    if p == G:
        return base(s)  # libsodium's fixed-base multiplication is about twice as fast
    return pysodium.crypto_scalarmult_ristretto255(_enc(s), p)


def add(p: Point, q: Point) -> Point:
    if p == IDENTITY:
        return q
    if q == IDENTITY:
        return p
    return pysodium.crypto_core_ristretto255_add(p, q)


def sub(p: Point, q: Point) -> Point:
    if q == IDENTITY:
        return p
    return pysodium.crypto_core_ristretto255_sub(p, q)


def total(points: Iterable[Point]) -> Point:
    acc = IDENTITY
    for p in points:
        acc = add(acc, p)
    return acc




class Transcript:
    """A Fiat–Shamir transcript: a domain label, then length-prefixed fields; ``challenge()``
    is SHA-512 of it all reduced modulo L."""

    def __init__(self, label: str) -> None:
        self._h = hashlib.sha512()
        self.bytes(b"vrdiplomacy/ballot/" + GROUP_NAME.encode())
        self.bytes(label.encode())

    def bytes(self, data: bytes) -> Transcript:
        self._h.update(struct.pack(">I", len(data)))
        self._h.update(data)
        return self

    def text(self, s: str) -> Transcript:
        return self.bytes(s.encode())

    def int(self, v: int) -> Transcript:
        return self.bytes(struct.pack(">q", v))

    def points(self, ps: Iterable[Point]) -> Transcript:
        ps = list(ps)
        self.int(len(ps))
        for p in ps:
            self.bytes(p)
        return self

    def challenge(self) -> Scalar:
        return int.from_bytes(self._h.digest(), "little") % L
