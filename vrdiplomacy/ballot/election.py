"""A vote's manifest, its election hash, and encrypted ballots (cast and verify).

The **manifest** is what the chair opens: vote id, agenda item, question, options, recorded or
secret, the electorate (voter ids: the members' verified certificate names), the trustees and the
threshold, the closing time. Its canonical bytes, with the joint public key of the trustees, give
the **election hash** that every proof of the vote hashes: a ballot or proof made for one vote
never verifies in another.

An **encrypted ballot** has one exponential-ElGamal ciphertext per option, each with a range proof
(it encrypts 0 or 1), and one Chaum–Pedersen proof that the ciphertexts sum to an encryption of 1:
exactly one option is chosen, and nobody learns which.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from vrdiplomacy.ballot import group as g
from vrdiplomacy.ballot import proofs as zk
from vrdiplomacy.ballot.codec import Reader, Writer
from vrdiplomacy.ballot.group import G, Point, Transcript
from vrdiplomacy.errors import CryptoError, ProtocolError

DEFAULT_OPTIONS = ("yes", "no", "abstain")
MAX_OPTIONS = 16
MAX_VOTERS = 4096
MAX_TRUSTEES = 32


@dataclass(frozen=True)
class Manifest:
    """What the chair opens.

    vote_id: unique in the room (e.g. "item-4/1"); item: the agenda item it decides; question: its
    text; options: the choices (default yes/no/abstain); secret: encrypted ballots (else recorded,
    plain signed choices); voters: who may vote (verified member names); trustees: who hold key
    shares (secret votes only); threshold: how many trustees must take part in the tally;
    closes_at: when the chair's client closes it (seconds, the room's clock); chair: who opened it.
    """

    vote_id: str
    item: str
    question: str
    options: tuple[str, ...] = DEFAULT_OPTIONS
    secret: bool = True
    voters: tuple[str, ...] = ()
    trustees: tuple[str, ...] = ()
    threshold: int = 0
    closes_at: float = 0.0
    chair: str = ""

    def check(self) -> None:
        """Raise :class:`ProtocolError` if the manifest cannot be a vote."""
        if not self.vote_id:
            raise ProtocolError("a vote needs an id")
        if not 2 <= len(self.options) <= MAX_OPTIONS or len(set(self.options)) != len(self.options):
            raise ProtocolError(f"a vote needs 2 to {MAX_OPTIONS} distinct options")
        if not self.voters or len(self.voters) > MAX_VOTERS or len(set(self.voters)) != len(self.voters):
            raise ProtocolError("a vote needs a list of distinct voters")
        if not math.isfinite(self.closes_at):
            raise ProtocolError("closing time is not a number")
        if self.secret:
            n = len(self.trustees)
            if not 1 <= n <= MAX_TRUSTEES or len(set(self.trustees)) != n:
                raise ProtocolError(f"a secret vote needs 1 to {MAX_TRUSTEES} distinct trustees")
            if not 1 <= self.threshold <= n:
                raise ProtocolError(f"threshold {self.threshold} is not between 1 and {n}")
        elif self.trustees or self.threshold:
            raise ProtocolError("a recorded vote has no trustees")

    def trustee_index(self, name: str) -> int:
        """1-based index of trustee ``name`` (the x of its key share), 0 if not a trustee."""
        return self.trustees.index(name) + 1 if name in self.trustees else 0

    def write(self, w: Writer) -> None:
        (w.text(self.vote_id).text(self.item).text(self.question).texts(self.options).u8(int(self.secret))
         .texts(self.voters).texts(self.trustees).u8(self.threshold).f64(self.closes_at).text(self.chair))

    @classmethod
    def read(cls, r: Reader) -> Manifest:
        vote_id, item, question, options, secret = r.text(), r.text(), r.text(), r.texts(), r.u8()
        if secret > 1:  # one encoding per manifest: its bytes are hashed into the ceremony id
            raise ProtocolError(f"manifest: secret flag {secret}, expected 0 or 1")
        m = cls(vote_id, item, question, options, bool(secret), r.texts(), r.texts(), r.u8(), r.f64(), r.text())
        m.check()
        return m

    def __bytes__(self) -> bytes:
        w = Writer()
        self.write(w)
        return bytes(w)

    @classmethod
    def parse(cls, data: bytes) -> Manifest:
        r = Reader(data)
        m = cls.read(r)
        r.end()
        return m


@dataclass(frozen=True)
class ElectionContext:
    """A manifest with the joint public key: what every proof of the vote is bound to."""

    manifest: Manifest
    public_key: Point = g.IDENTITY
    hash: bytes = field(init=False)

    def __post_init__(self) -> None:
        h = hashlib.sha256(b"vrdiplomacy/election/v1\0" + bytes(self.manifest) + self.public_key).digest()
        object.__setattr__(self, "hash", h)


def _range_hash(ctx: ElectionContext, voter: str, cts: tuple[zk.Ciphertext, ...], i: int) -> Callable[[Sequence[Point]], int]:
    def h(commits: Sequence[Point]) -> int:
        t = Transcript("range").bytes(ctx.hash).text(voter).bytes(ctx.public_key)
        t.points([p for c in cts for p in (c.a, c.b)]).int(i)
        return t.points(commits).challenge()
    return h


def _sum_hash(ctx: ElectionContext, voter: str, cts: tuple[zk.Ciphertext, ...]) -> Callable[[Point, Point], int]:
    def h(a: Point, b: Point) -> int:
        t = Transcript("sum").bytes(ctx.hash).text(voter).bytes(ctx.public_key)
        return t.points([p for c in cts for p in (c.a, c.b)]).points([a, b]).challenge()
    return h


@dataclass(frozen=True)
class EncryptedBallot:
    """A voter's secret ballot: one ciphertext and range proof per option, one sum proof."""

    voter: str
    ciphertexts: tuple[zk.Ciphertext, ...]
    range_proofs: tuple[zk.RangeProof, ...]
    sum_proof: zk.DleqProof

    def write(self, w: Writer) -> None:
        w.text(self.voter).u8(len(self.ciphertexts))
        for c, p in zip(self.ciphertexts, self.range_proofs):
            w.raw(bytes(c)).raw(bytes(p))
        w.raw(bytes(self.sum_proof))

    @classmethod
    def read(cls, r: Reader) -> EncryptedBallot:
        voter = r.text()
        n = r.u8()
        if not 1 <= n <= MAX_OPTIONS:
            raise ProtocolError(f"a ballot with {n} options")
        cts, prs = [], []
        try:
            for _ in range(n):
                cts.append(zk.Ciphertext.parse(r.take(zk.CIPHERTEXT_BYTES)))
                prs.append(zk.RangeProof.parse(r.take(zk.RANGE_PROOF_BYTES)))
            sp = zk.DleqProof.parse(r.take(zk.DLEQ_BYTES))
        except CryptoError as e:
            raise ProtocolError(f"malformed ballot: {e}") from e
        return cls(voter, tuple(cts), tuple(prs), sp)

    def __bytes__(self) -> bytes:
        w = Writer()
        self.write(w)
        return bytes(w)

    @classmethod
    def parse(cls, data: bytes) -> EncryptedBallot:
        r = Reader(data)
        b = cls.read(r)
        r.end()
        return b


def encrypt_ballot(ctx: ElectionContext, voter: str, choice: int) -> EncryptedBallot:
    """Encrypt ``voter``'s choice (an option index) with all proofs."""
    n = len(ctx.manifest.options)
    if not 0 <= choice < n:
        raise CryptoError(f"choice {choice} is not one of {n} options")
    if ctx.public_key == g.IDENTITY:
        raise CryptoError("the vote has no public key yet")
    h = ctx.public_key
    rs = [g.random_scalar() for _ in range(n)]
    ms = [int(i == choice) for i in range(n)]
    cts = tuple(zk.encrypt(m, r, h) for m, r in zip(ms, rs))
    prs = tuple(zk.prove_range(m, r, ct, h, _range_hash(ctx, voter, cts, i))
                for i, (m, r, ct) in enumerate(zip(ms, rs, cts)))
    sp = zk.prove_dleq(sum(rs), G, h, _sum_hash(ctx, voter, cts))
    return EncryptedBallot(voter, cts, prs, sp)


def verify_ballot(ctx: ElectionContext, b: EncryptedBallot) -> None:
    """Raise :class:`CryptoError` naming the first proof that fails."""
    n = len(ctx.manifest.options)
    if len(b.ciphertexts) != n or len(b.range_proofs) != n:
        raise CryptoError(f"ballot has {len(b.ciphertexts)} ciphertexts for {n} options")
    h = ctx.public_key
    for i, (ct, pr) in enumerate(zip(b.ciphertexts, b.range_proofs)):
        if not zk.check_range(pr, ct, h, _range_hash(ctx, b.voter, b.ciphertexts, i)):
            raise CryptoError(f"range proof of option {ctx.manifest.options[i]!r} fails")
    tot = zk.add_all(b.ciphertexts)
    if not zk.check_dleq(b.sum_proof, G, tot.a, h, g.sub(tot.b, G), _sum_hash(ctx, b.voter, b.ciphertexts)):
        raise CryptoError("sum proof fails: the ballot does not choose exactly one option")
