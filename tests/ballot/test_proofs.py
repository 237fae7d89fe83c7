"""Ballots and their proofs: honest ones verify; tampered, invalid, moved or copied ones do not.

The Fiat–Shamir binding tests are the Helios lesson (Bernhard, Pereira, Warinschi 2012): a proof
whose challenge does not hash the whole statement can be moved to another voter or election."""

from __future__ import annotations

import dataclasses

import pytest
from pump import keyed_context

from vrdiplomacy.ballot import group as g
from vrdiplomacy.ballot import proofs as zk
from vrdiplomacy.ballot.election import (
    ElectionContext,
    EncryptedBallot,
    Manifest,
    _range_hash,
    _sum_hash,
    encrypt_ballot,
    verify_ballot,
)
from vrdiplomacy.errors import CryptoError

VOTERS = ("France", "Germany", "Italy", "Spain")
MANIFEST = Manifest("item-4/1", "4", "Adopt draft resolution L.12?", voters=VOTERS,
                    trustees=("T1", "T2", "T3"), threshold=2, closes_at=1000.0, chair="Chair")


@pytest.fixture(scope="module")
def ctx() -> ElectionContext:
    return keyed_context(MANIFEST)[0]


def test_honest_ballots_verify_for_every_choice(ctx: ElectionContext) -> None:
    for choice in range(3):
        b = encrypt_ballot(ctx, "France", choice)
        verify_ballot(ctx, b)
        assert EncryptedBallot.parse(bytes(b)) == b
        assert len(bytes(b)) == 2 + 6 + 1 + 3 * (64 + 128) + 64


def test_ballots_for_different_choices_look_alike(ctx: ElectionContext) -> None:
    """Same size, and no ciphertext or proof byte string repeats between them."""
    yes, no = encrypt_ballot(ctx, "France", 0), encrypt_ballot(ctx, "France", 1)
    assert len(bytes(yes)) == len(bytes(no))
    assert not {bytes(c) for c in yes.ciphertexts} & {bytes(c) for c in no.ciphertexts}


def test_a_tampered_ballot_fails(ctx: ElectionContext) -> None:
    b = encrypt_ballot(ctx, "France", 0)
    raw = bytearray(bytes(b))
    # flip one bit in every scalar of the first range proof and of the sum proof: each must fail
    start = 2 + len("France") + 1 + 64
    for off in [start + i * 32 for i in range(4)] + [len(raw) - 64, len(raw) - 32]:
        bad = bytearray(raw)
        bad[off] ^= 0x01
        tampered = EncryptedBallot.parse(bytes(bad))  # the low byte of a scalar: still canonical
        with pytest.raises(CryptoError):
            verify_ballot(ctx, tampered)
    # swapping two options' ciphertexts (keeping the proofs) fails
    swapped = dataclasses.replace(b, ciphertexts=(b.ciphertexts[1], b.ciphertexts[0], b.ciphertexts[2]))
    with pytest.raises(CryptoError):
        verify_ballot(ctx, swapped)


def test_fiat_shamir_binds_the_voter_id(ctx: ElectionContext) -> None:
    """A ballot re-labelled for another voter (a copy) fails: the challenges hash the voter id."""
    b = encrypt_ballot(ctx, "France", 0)
    with pytest.raises(CryptoError, match="range proof"):
        verify_ballot(ctx, dataclasses.replace(b, voter="Germany"))


def test_fiat_shamir_binds_the_election_id(ctx: ElectionContext) -> None:
    """The same ballot presented in another vote (another id, same trustees' key) fails."""
    b = encrypt_ballot(ctx, "France", 0)
    other = ElectionContext(dataclasses.replace(MANIFEST, vote_id="item-4/2"), ctx.public_key)
    with pytest.raises(CryptoError):
        verify_ballot(other, b)
    reworded = ElectionContext(dataclasses.replace(MANIFEST, question="Reject draft resolution L.12?"), ctx.public_key)
    with pytest.raises(CryptoError):
        verify_ballot(reworded, b)


def test_fiat_shamir_binds_the_other_ciphertexts(ctx: ElectionContext) -> None:
    """A valid range proof lifted into another ballot (with its own ciphertext) fails there."""
    a, b = encrypt_ballot(ctx, "France", 0), encrypt_ballot(ctx, "France", 1)
    mixed = dataclasses.replace(a, ciphertexts=(a.ciphertexts[0], b.ciphertexts[1], a.ciphertexts[2]),
                                range_proofs=(a.range_proofs[0], b.range_proofs[1], a.range_proofs[2]))
    with pytest.raises(CryptoError):
        verify_ballot(ctx, mixed)


def test_weak_fiat_shamir_would_have_let_the_copy_through(ctx: ElectionContext) -> None:
    """Control: with a challenge that hashes only the commitments (the weak form), a France
    proof verifies for Germany. Ours hashes the statement, so the same move fails (test above)."""
    r = g.random_scalar()
    ct = zk.encrypt(1, r, ctx.public_key)

    def weak(commits: list[bytes]) -> int:
        return g.Transcript("weak").points(commits).challenge()

    pr = zk.prove_range(1, r, ct, ctx.public_key, weak)
    assert zk.check_range(pr, ct, ctx.public_key, weak)  # "moves" anywhere: nothing else is hashed
    strong_fr = _range_hash(ctx, "France", (ct,), 0)
    pr2 = zk.prove_range(1, r, ct, ctx.public_key, strong_fr)
    assert zk.check_range(pr2, ct, ctx.public_key, strong_fr)
    assert not zk.check_range(pr2, ct, ctx.public_key, _range_hash(ctx, "Germany", (ct,), 0))


def test_an_overvote_cannot_be_proved(ctx: ElectionContext) -> None:
    """Two options at 1: every range proof is honest, but the sum is 2 and no sum proof verifies."""
    rs = [g.random_scalar() for _ in range(3)]
    ms = [1, 1, 0]
    cts = tuple(zk.encrypt(m, r, ctx.public_key) for m, r in zip(ms, rs))
    prs = tuple(zk.prove_range(m, r, c, ctx.public_key, _range_hash(ctx, "France", cts, i))
                for i, (m, r, c) in enumerate(zip(ms, rs, cts)))
    sp = zk.prove_dleq(sum(rs), g.G, ctx.public_key, _sum_hash(ctx, "France", cts))
    with pytest.raises(CryptoError, match="sum proof"):
        verify_ballot(ctx, EncryptedBallot("France", cts, prs, sp))


def test_a_value_of_two_cannot_be_proved_in_range(ctx: ElectionContext) -> None:
    """A ciphertext of 2 with a proof made as if it were 1 fails (so does proving it as 0)."""
    r = g.random_scalar()
    two = zk.encrypt(2, r, ctx.public_key)
    h = _range_hash(ctx, "France", (two,), 0)
    for claimed in (0, 1):
        assert not zk.check_range(zk.prove_range(claimed, r, two, ctx.public_key, h), two, ctx.public_key, h)


def test_casting_before_a_key_or_for_a_missing_option_is_an_error(ctx: ElectionContext) -> None:
    with pytest.raises(CryptoError):
        encrypt_ballot(ElectionContext(MANIFEST), "France", 0)
    with pytest.raises(CryptoError):
        encrypt_ballot(ctx, "France", 3)
