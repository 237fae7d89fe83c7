"""The trustees' key ceremony and threshold decryption (2 of 3)."""

from __future__ import annotations

import itertools

import pytest
from pump import keyed_context

from vrdiplomacy.ballot import ceremony as ce
from vrdiplomacy.ballot import group as g
from vrdiplomacy.ballot import proofs as zk
from vrdiplomacy.ballot.election import ElectionContext, Manifest, encrypt_ballot
from vrdiplomacy.errors import CryptoError

VOTERS = tuple(f"D{i:02d}" for i in range(7))
MANIFEST = Manifest("v", "1", "q", voters=VOTERS, trustees=("T1", "T2", "T3"), threshold=2, chair="Chair")


def tally_sums(ctx: ElectionContext, choices: list[int]) -> list[zk.Ciphertext]:
    bs = [encrypt_ballot(ctx, v, c) for v, c in zip(VOTERS, choices)]
    return [zk.add_all([b.ciphertexts[i] for b in bs]) for i in range(3)]


def test_any_two_of_three_trustees_decrypt_the_same_tally() -> None:
    ctx, ts = keyed_context(MANIFEST)
    choices = [0, 0, 1, 2, 0, 1, 0]
    sums = tally_sums(ctx, choices)
    for pair in itertools.combinations(ts, 2):
        parts = {t.index: t.partial(ctx.hash, sums) for t in pair}
        counts = [ce.combine(sums[i], {j: p[i][0] for j, p in parts.items()}, len(VOTERS)) for i in range(3)]
        assert counts == [4, 2, 1]


def test_the_joint_secret_is_the_sum_of_the_dealers_constants() -> None:
    """Lagrange-combining any two key shares gives the same secret, whose public key is the joint key."""
    ctx, ts = keyed_context(MANIFEST)
    for pair in itertools.combinations(ts, 2):
        idx = [t.index for t in pair]
        s = sum(zk.lagrange_at_zero(t.index, idx) * (t.key_share or 0) for t in pair) % g.L
        assert g.base(s) == ctx.public_key


def test_one_trustee_alone_cannot_decrypt() -> None:
    ctx, ts = keyed_context(MANIFEST)
    sums = tally_sums(ctx, [0, 0, 1, 2, 0, 1, 0])
    alone = {1: ts[0].partial(ctx.hash, sums)[0][0]}
    with pytest.raises(CryptoError):
        ce.combine(sums[0], alone, len(VOTERS))


def test_partial_decryption_proofs_bind_trustee_and_share() -> None:
    ctx, ts = keyed_context(MANIFEST)
    sums = tally_sums(ctx, [1, 1, 1, 0, 0, 2, 2])
    pubs = {t.index: g.base(t.key_share or 0) for t in ts}
    (m, pr), = ts[1].partial(ctx.hash, sums[:1])
    assert ce.check_partial(ctx.hash, 2, 0, pubs[2], sums[0], m, pr)
    assert not ce.check_partial(ctx.hash, 3, 0, pubs[3], sums[0], m, pr)  # claimed by another trustee
    assert not ce.check_partial(ctx.hash, 2, 1, pubs[2], sums[1], m, pr)  # moved to another option
    assert not ce.check_partial(ctx.hash, 2, 0, pubs[2], sums[0], g.add(m, g.G), pr)  # shifted result


def test_a_bad_share_names_its_dealer() -> None:
    cid = ce.ceremony_id(bytes(MANIFEST))
    ts = [ce.Trustee(cid, i + 1, 3, 2) for i in range(3)]
    comms = [t.commitment() for t in ts]
    for c in comms:
        c.verify(cid, 2)
    dealt = {t.index: t.shares_for(comms) for t in ts}
    # trustee 2 deals trustee 1 a share off its polynomial (sealed correctly, but wrong)
    dealt[2][1] = ce.seal_share(cid, 2, 1, comms[0].share_key, 12345)
    with pytest.raises(ce.CeremonyError, match="trustee 2"):
        ts[0].receive_shares(comms, {d: s[1] for d, s in dealt.items() if d != 1})
    # a share sealed for someone else does not open
    with pytest.raises(ce.CeremonyError, match="does not open"):
        ts[2].receive_shares(comms, {1: dealt[1][2], 2: dealt[2][3]})


def test_commitments_prove_knowledge_and_bind_the_ceremony() -> None:
    cid = ce.ceremony_id(bytes(MANIFEST))
    c = ce.Trustee(cid, 1, 3, 2).commitment()
    c.verify(cid, 2)
    with pytest.raises(ce.CeremonyError):
        c.verify(ce.ceremony_id(b"another vote"), 2)  # replayed into another vote
    with pytest.raises(ce.CeremonyError):
        c.verify(cid, 3)
    rogue = ce.Commitment(1, (g.sub(g.base(7), c.coefficients[0]), c.coefficients[1]), c.proofs, c.share_key)
    with pytest.raises(ce.CeremonyError):
        rogue.verify(cid, 2)  # a key chosen to cancel another's has no proof of knowledge
