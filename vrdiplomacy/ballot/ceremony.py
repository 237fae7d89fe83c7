"""The trustees' key ceremony (joint-Feldman distributed key generation) and threshold decryption.

``n`` trustees, threshold ``k`` (any ``k`` of them decrypt; fewer learn nothing):

1. **Commit**: trustee ``i`` picks a random polynomial ``P_i`` of degree ``k − 1`` and publishes
   Feldman commitments ``K_im = a_im·G`` to its coefficients, each with a Schnorr proof of
   knowledge (so nobody can choose a commitment as a function of others' — the rogue-key attack),
   and a fresh encryption key ``E_i = e_i·G`` for receiving shares.
2. **Shares**: once all ``n`` commitments are known, trustee ``i`` sends ``P_i(j)`` to each other
   trustee ``j``, encrypted to ``E_j`` (ephemeral Diffie–Hellman on ristretto255, HKDF-SHA256,
   ChaCha20-Poly1305 from ``cryptography``) so the room, which sees every event, learns nothing.
3. **Check**: trustee ``j`` checks every share against the dealer's commitments
   (``P_i(j)·G == Σ_m j^m·K_im``); a bad share is a :class:`CeremonyError` naming the dealer (the
   ceremony fails and is restarted without that dealer — no complaint round). Its key share is
   ``s_j = Σ_i P_i(j)``; its public share ``S_j = Σ_i Σ_m j^m·K_im`` is computed by everyone.
4. The joint public key is ``H = Σ_i K_i0``; the joint secret ``Σ_i a_i0`` is never assembled.

**Decryption**: for a tally ciphertext ``(A, B)`` trustee ``j`` publishes ``M_j = s_j·A`` with a
Chaum–Pedersen proof that ``log_G S_j == log_A M_j``. With any ``k`` valid shares,
``M = Σ λ_j·M_j`` (Lagrange at 0) and ``B − M = tally·G``.

This is Pedersen's joint-Feldman DKG, as in ElectionGuard's key ceremony. Its known weakness (a
rushing dealer can bias the distribution of the public key, Gennaro et al. 1999) does not break the
semantic security of ElGamal encryption under the key; the commitments are bound to the vote's
ceremony id so a ceremony cannot be replayed into another vote.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from vrdiplomacy.ballot import group as g
from vrdiplomacy.ballot import proofs as zk
from vrdiplomacy.ballot.codec import Reader, Writer
from vrdiplomacy.ballot.group import G, L, Point, Scalar, Transcript
from vrdiplomacy.errors import CryptoError, ProtocolError

SEALED_SHARE_BYTES = 32 + 32 + 16  # ephemeral point, encrypted scalar, tag
SECRETS_MAGIC = b"VTS1"


class CeremonyError(CryptoError):
    """A trustee's commitment, share or partial decryption does not verify."""


def _coef_transcript(ceremony: bytes, i: int, m: int) -> Transcript:
    return Transcript("coefficient").bytes(ceremony).int(i).int(m)


@dataclass(frozen=True)
class Commitment:
    """Trustee ``index``'s public part of the ceremony: Feldman commitments with proofs, share key."""

    index: int
    coefficients: tuple[Point, ...]
    proofs: tuple[zk.SchnorrProof, ...]
    share_key: Point

    def write(self, w: Writer) -> None:
        w.u8(self.index).u8(len(self.coefficients))
        for k, p in zip(self.coefficients, self.proofs):
            w.raw(k).raw(bytes(p))
        w.raw(self.share_key)

    @classmethod
    def read(cls, r: Reader) -> Commitment:
        i, n = r.u8(), r.u8()
        try:
            ks, ps = [], []
            for _ in range(n):
                ks.append(g.point_from(r.take(32)))
                ps.append(zk.SchnorrProof.parse(r.take(64)))
            key = g.point_from(r.take(32))
        except CryptoError as e:
            raise ProtocolError(f"malformed commitment: {e}") from e
        return cls(i, tuple(ks), tuple(ps), key)

    def verify(self, ceremony: bytes, threshold: int) -> None:
        if len(self.coefficients) != threshold:
            raise CeremonyError(f"trustee {self.index} committed {len(self.coefficients)} coefficients, not {threshold}")
        for m, (k, p) in enumerate(zip(self.coefficients, self.proofs)):
            if not zk.check_schnorr(p, k, _coef_transcript(ceremony, self.index, m)):
                raise CeremonyError(f"trustee {self.index}: proof of coefficient {m} fails")

    def evaluate(self, j: int) -> Point:
        """``P_i(j)·G`` from the commitments alone."""
        acc, x = g.IDENTITY, 1
        for k in self.coefficients:
            acc = g.add(acc, g.mul(x, k))
            x = x * j % L
        return acc


def _share_aead(ceremony: bytes, dealer: int, to: int, eph: Point, shared: Point) -> tuple[ChaCha20Poly1305, bytes]:
    info = b"vrdiplomacy/ballot/share" + ceremony + bytes([dealer, to])
    key = HKDF(hashes.SHA256(), 32, eph, info).derive(shared)
    return ChaCha20Poly1305(key), info


def seal_share(ceremony: bytes, dealer: int, to: int, to_key: Point, value: Scalar) -> bytes:
    k = g.random_scalar()
    eph = g.base(k)
    aead, ad = _share_aead(ceremony, dealer, to, eph, g.mul(k, to_key))
    return eph + aead.encrypt(bytes(12), g.scalar_bytes(value), ad)


def open_share(ceremony: bytes, dealer: int, to: int, secret: Scalar, sealed: bytes) -> Scalar:
    if len(sealed) != SEALED_SHARE_BYTES:
        raise CeremonyError(f"share from trustee {dealer} is {len(sealed)} bytes")
    eph = g.point_from(sealed[:32])
    aead, ad = _share_aead(ceremony, dealer, to, eph, g.mul(secret, eph))
    try:
        return g.scalar_from(aead.decrypt(bytes(12), sealed[32:], ad))
    except InvalidTag as e:
        raise CeremonyError(f"share from trustee {dealer} does not open") from e


class Trustee:
    """One trustee's secrets in one ceremony: its polynomial, its share key, its key share."""

    def __init__(self, ceremony: bytes, index: int, n: int, threshold: int) -> None:
        if not 1 <= threshold <= n or not 1 <= index <= n:
            raise CeremonyError(f"trustee {index} of {n} with threshold {threshold}")
        self.ceremony, self.index, self.n, self.k = ceremony, index, n, threshold
        self._coef = [g.random_scalar() for _ in range(threshold)]
        self._e = g.random_scalar()
        self.key_share: Scalar | None = None

    def commitment(self) -> Commitment:
        ks = tuple(g.base(a) for a in self._coef)
        prs = tuple(zk.prove_schnorr(a, k, _coef_transcript(self.ceremony, self.index, m))
                    for m, (a, k) in enumerate(zip(self._coef, ks)))
        return Commitment(self.index, ks, prs, g.base(self._e))

    def _poly(self, x: int) -> Scalar:
        acc = 0
        for a in reversed(self._coef):
            acc = (acc * x + a) % L
        return acc

    def shares_for(self, commitments: Sequence[Commitment]) -> dict[int, bytes]:
        """Sealed ``P_i(j)`` for every other trustee ``j``."""
        return {c.index: seal_share(self.ceremony, self.index, c.index, c.share_key, self._poly(c.index))
                for c in commitments if c.index != self.index}

    def receive_shares(self, commitments: Sequence[Commitment], sealed: dict[int, bytes]) -> Scalar:
        """Open and check the shares dealt to us (``sealed``: dealer -> sealed share); sets the key share."""
        total = self._poly(self.index)
        for c in commitments:
            if c.index == self.index:
                continue
            if c.index not in sealed:
                raise CeremonyError(f"no share from trustee {c.index}")
            v = open_share(self.ceremony, c.index, self.index, self._e, sealed[c.index])
            if g.base(v) != c.evaluate(self.index):
                raise CeremonyError(f"share from trustee {c.index} does not match its commitments")
            total = (total + v) % L
        self.key_share = total
        return total

    def secrets_bytes(self) -> bytes:
        """Everything this trustee must keep to finish its ceremony and decrypt after a restart
        (secret: :class:`~vrdiplomacy.ballot.keystore.TrusteeStore` writes it user-only)::

            "VTS1" | 32 ceremony | u8 index | u8 n | u8 k | k x 32 coefficient | 32 share-key secret
            | u8 has key share | [32 key share]
        """
        w = Writer().raw(SECRETS_MAGIC).raw(self.ceremony).u8(self.index).u8(self.n).u8(self.k)
        for a in self._coef:
            w.raw(g.scalar_bytes(a))
        w.raw(g.scalar_bytes(self._e)).u8(self.key_share is not None)
        if self.key_share is not None:
            w.raw(g.scalar_bytes(self.key_share))
        return bytes(w)

    @classmethod
    def from_secrets(cls, data: bytes) -> Trustee:
        """The trustee :meth:`secrets_bytes` wrote; :class:`CeremonyError` if it is not one."""
        try:
            r = Reader(bytes(data))
            if r.take(4) != SECRETS_MAGIC:
                raise CeremonyError("not a trustee's key file")
            ceremony, index, n, k = r.take(32), r.u8(), r.u8(), r.u8()
            t = cls(ceremony, index, n, k)
            t._coef = [g.scalar_from(r.take(32)) for _ in range(k)]
            t._e = g.scalar_from(r.take(32))
            t.key_share = g.scalar_from(r.take(32)) if r.u8() else None
            r.end()
        except (ProtocolError, CryptoError) as e:
            raise CeremonyError(f"a damaged trustee's key file: {e}") from e
        return t

    def partial(self, ctx_hash: bytes, cts: Sequence[zk.Ciphertext]) -> list[tuple[Point, zk.DleqProof]]:
        """``M_j = s_j·A`` with its proof for each tally ciphertext."""
        if self.key_share is None:
            raise CeremonyError("this trustee has no key share yet")
        s = self.key_share
        pub = g.base(s)
        out = []
        for i, ct in enumerate(cts):
            m = g.mul(s, ct.a)
            out.append((m, zk.prove_dleq(s, G, ct.a, partial_hash(ctx_hash, self.index, i, pub, ct, m))))
        return out


def joint_key(commitments: Sequence[Commitment]) -> Point:
    return g.total(c.coefficients[0] for c in commitments)


def public_share(commitments: Sequence[Commitment], j: int) -> Point:
    """``S_j = s_j·G`` from everyone's commitments."""
    return g.total(c.evaluate(j) for c in commitments)


def ceremony_id(ctx_manifest_bytes: bytes) -> bytes:
    return hashlib.sha256(b"vrdiplomacy/ceremony/v1\0" + ctx_manifest_bytes).digest()


def partial_hash(ctx_hash: bytes, j: int, i: int, pub: Point, ct: zk.Ciphertext, m: Point) -> Callable[[Point, Point], Scalar]:
    def h(a: Point, b: Point) -> Scalar:
        return Transcript("partial").bytes(ctx_hash).int(j).int(i).points([pub, ct.a, ct.b, m, a, b]).challenge()
    return h


def check_partial(ctx_hash: bytes, j: int, i: int, pub: Point, ct: zk.Ciphertext, m: Point, pr: zk.DleqProof) -> bool:
    return zk.check_dleq(pr, G, pub, ct.a, m, partial_hash(ctx_hash, j, i, pub, ct, m))


def combine(ct: zk.Ciphertext, partials: dict[int, Point], max_value: int) -> int:
    """The tally from ``ct`` and ``k`` checked partial decryptions (trustee index -> ``M_j``)."""
    idx = sorted(partials)
    m = g.total(g.mul(zk.lagrange_at_zero(j, idx), partials[j]) for j in idx)
    return zk.discrete_log(g.sub(ct.b, m), max_value)
