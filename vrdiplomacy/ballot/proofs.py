"""Exponential ElGamal on ristretto255 and the zero-knowledge proofs of the secret ballot.

* Encryption of a small integer ``m`` under the joint public key ``H``: ``(A, B) = (rG, rH + mG)``.
  Ciphertexts add: the sum of many encrypts the sum of their messages (the tally).
* :class:`RangeProof`: a disjunctive Chaum–Pedersen proof (Cramer–Damgård–Schoenmakers OR of two
  DLEQ statements) that ``(A, B)`` encrypts 0 or 1, without saying which.
* :class:`DleqProof`: a Chaum–Pedersen proof that ``log_P X == log_Q Y``; used to show that a
  ballot's options sum to exactly 1 (``log_G A == log_H (B − G)``), and that a trustee's partial
  decryption ``M = s·A`` uses the secret behind its public share ``S = s·G``.
* :class:`SchnorrProof`: knowledge of ``a`` in ``K = aG`` (the key ceremony's commitments).

Every proof is non-interactive by Fiat–Shamir, and its challenge hashes the **whole statement**:
the group, a label for the proof kind, the election hash (which itself hashes the manifest and the
joint public key), the voter id, every ciphertext of the ballot, the option index and all the
prover's commitments. The "weak Fiat–Shamir" form that hashes only the commitments (Bernhard,
Pereira, Warinschi 2012, the Helios attack) would let a proof move to another voter, another
election or another ciphertext; tests/ballot/test_proofs.py checks that each such move fails.

Proofs travel in the compact form ``(c, v)`` (or ``(c0, c1, v0, v1)``): the verifier recomputes the
commitments from the equations and checks the challenge, which is equivalent to sending the
commitments and checking the equations, and 96 bytes shorter per option.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from vrdiplomacy.ballot import group as g
from vrdiplomacy.ballot.group import G, L, Point, Scalar, Transcript
from vrdiplomacy.errors import CryptoError

CIPHERTEXT_BYTES = 64
RANGE_PROOF_BYTES = 128
DLEQ_BYTES = 64
SCHNORR_BYTES = 64


@dataclass(frozen=True)
class Ciphertext:
    """``(A, B) = (rG, rH + mG)``."""

    a: Point
    b: Point

    def __bytes__(self) -> bytes:
        return self.a + self.b

    @classmethod
    def parse(cls, data: bytes) -> Ciphertext:
        if len(data) != CIPHERTEXT_BYTES:
            raise CryptoError(f"a ciphertext is {CIPHERTEXT_BYTES} bytes, not {len(data)}")
        return cls(g.point_from(data[:32]), g.point_from(data[32:]))

    def __add__(self, other: Ciphertext) -> Ciphertext:
        return Ciphertext(g.add(self.a, other.a), g.add(self.b, other.b))


ZERO = Ciphertext(g.IDENTITY, g.IDENTITY)


def encrypt(m: int, r: Scalar, h: Point) -> Ciphertext:
    return Ciphertext(g.base(r), g.add(g.mul(r, h), g.base(m)))


def add_all(cts: Sequence[Ciphertext]) -> Ciphertext:
    return Ciphertext(g.total(c.a for c in cts), g.total(c.b for c in cts))


def _pair(data: bytes, what: str) -> tuple[Scalar, Scalar]:
    if len(data) != 64:
        raise CryptoError(f"{what} is 64 bytes, not {len(data)}")
    return g.scalar_from(data[:32]), g.scalar_from(data[32:])


@dataclass(frozen=True)
class DleqProof:
    """Chaum–Pedersen: ``log_P X == log_Q Y`` (compact form: challenge ``c``, response ``v``)."""

    c: Scalar
    v: Scalar

    def __bytes__(self) -> bytes:
        return g.scalar_bytes(self.c) + g.scalar_bytes(self.v)

    @classmethod
    def parse(cls, data: bytes) -> DleqProof:
        return cls(*_pair(data, "a Chaum–Pedersen proof"))


def prove_dleq(x: Scalar, p: Point, q: Point, hash_of: Callable[[Point, Point], Scalar]) -> DleqProof:
    """Prove ``X = xP`` and ``Y = xQ``; ``hash_of(a, b)`` is the statement's Fiat–Shamir hash."""
    w = g.random_scalar()
    c = hash_of(g.mul(w, p), g.mul(w, q))
    return DleqProof(c, (w + c * x) % L)


def check_dleq(pr: DleqProof, p: Point, x: Point, q: Point, y: Point,
               hash_of: Callable[[Point, Point], Scalar]) -> bool:
    a = g.sub(g.mul(pr.v, p), g.mul(pr.c, x))
    b = g.sub(g.mul(pr.v, q), g.mul(pr.c, y))
    return hash_of(a, b) == pr.c


@dataclass(frozen=True)
class RangeProof:
    """Disjunctive Chaum–Pedersen: the ciphertext encrypts 0 or 1. ``c0 + c1`` is the challenge."""

    c0: Scalar
    c1: Scalar
    v0: Scalar
    v1: Scalar

    def __bytes__(self) -> bytes:
        return b"".join(g.scalar_bytes(s) for s in (self.c0, self.c1, self.v0, self.v1))

    @classmethod
    def parse(cls, data: bytes) -> RangeProof:
        if len(data) != RANGE_PROOF_BYTES:
            raise CryptoError(f"a range proof is {RANGE_PROOF_BYTES} bytes, not {len(data)}")
        return cls(*(g.scalar_from(data[i:i + 32]) for i in range(0, 128, 32)))


def _branch(j: int, ct: Ciphertext) -> Point:
    """``B − jG``: the point whose log base H must equal log_G A if the ciphertext encrypts j."""
    return ct.b if j == 0 else g.sub(ct.b, G)


def prove_range(m: int, r: Scalar, ct: Ciphertext, h: Point,
                hash_of: Callable[[Sequence[Point]], Scalar]) -> RangeProof:
    """Prove that ``ct = encrypt(m, r, h)`` with ``m`` in {0, 1}."""
    if m not in (0, 1):
        raise CryptoError("a range proof is for 0 or 1")
    s = 1 - m  # the simulated branch
    cs, vs = g.random_scalar(), g.random_scalar()
    a_s = g.sub(g.base(vs), g.mul(cs, ct.a))
    b_s = g.sub(g.mul(vs, h), g.mul(cs, _branch(s, ct)))
    w = g.random_scalar()
    a_m, b_m = g.base(w), g.mul(w, h)
    commits = [a_m, b_m, a_s, b_s] if m == 0 else [a_s, b_s, a_m, b_m]
    c = hash_of(commits)
    cm = (c - cs) % L
    vm = (w + cm * r) % L
    return RangeProof(cm, cs, vm, vs) if m == 0 else RangeProof(cs, cm, vs, vm)


def check_range(pr: RangeProof, ct: Ciphertext, h: Point,
                hash_of: Callable[[Sequence[Point]], Scalar]) -> bool:
    commits: list[Point] = []
    for j, (c, v) in enumerate(((pr.c0, pr.v0), (pr.c1, pr.v1))):
        commits.append(g.sub(g.base(v), g.mul(c, ct.a)))
        commits.append(g.sub(g.mul(v, h), g.mul(c, _branch(j, ct))))
    return hash_of(commits) == (pr.c0 + pr.c1) % L


@dataclass(frozen=True)
class SchnorrProof:
    """Knowledge of ``a`` with ``K = aG``."""

    c: Scalar
    v: Scalar

    def __bytes__(self) -> bytes:
        return g.scalar_bytes(self.c) + g.scalar_bytes(self.v)

    @classmethod
    def parse(cls, data: bytes) -> SchnorrProof:
        return cls(*_pair(data, "a Schnorr proof"))


def prove_schnorr(a: Scalar, k: Point, t: Transcript) -> SchnorrProof:
    w = g.random_scalar()
    c = t.points([k, g.base(w)]).challenge()
    return SchnorrProof(c, (w + c * a) % L)


def check_schnorr(pr: SchnorrProof, k: Point, t: Transcript) -> bool:
    r = g.sub(g.base(pr.v), g.mul(pr.c, k))
    return t.points([k, r]).challenge() == pr.c


def lagrange_at_zero(j: int, indices: Sequence[int]) -> Scalar:
    """The Lagrange coefficient of share ``j`` for interpolating at 0 from shares at ``indices``."""
    num, den = 1, 1
    for m in indices:
        if m != j:
            num = num * m % L
            den = den * (m - j) % L
    return num * pow(den, -1, L) % L


def discrete_log(p: Point, max_value: int) -> int:
    """The ``m`` in ``[0, max_value]`` with ``p = mG`` (a walk: tallies are small)."""
    acc = g.IDENTITY
    for m in range(max_value + 1):
        if acc == p:
            return m
        acc = g.add(acc, G)
    raise CryptoError(f"the decrypted tally is not between 0 and {max_value}")
