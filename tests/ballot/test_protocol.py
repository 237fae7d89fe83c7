"""The vote protocol over an in-memory relay: every client verifies every message and computes
the same result; a malicious member's bad, duplicated, copied and late ballots are rejected."""

from __future__ import annotations

import dataclasses
import json
import random

import pytest
from pump import Room, room

from vrdiplomacy.ballot import wire
from vrdiplomacy.ballot.board import Board, verify_board
from vrdiplomacy.ballot.election import EncryptedBallot, Manifest, encrypt_ballot
from vrdiplomacy.ballot.protocol import VoteCore
from vrdiplomacy.errors import ConfigError, CryptoError, ProtocolError

TRUSTEES = ("Secretariat", "Norway", "Chile")


def secret_manifest(voters: tuple[str, ...], vote_id: str = "item-4/1", closes_at: float = 0.0) -> Manifest:
    return Manifest(vote_id, "4", "Adopt draft resolution L.12?", voters=voters, trustees=TRUSTEES, threshold=2,
                    closes_at=closes_at, chair="Chair")


def opened(voters: tuple[str, ...], extra: tuple[str, ...] = ()) -> Room:
    r = room(list(dict.fromkeys(TRUSTEES + voters + extra)))
    r.cores["Chair"].open(secret_manifest(voters))
    r.pump()
    return r


def boards(r: Room, vote_id: str = "item-4/1") -> list[Board]:
    return [c.boards[vote_id] for c in r.cores.values()]


def test_a_secret_vote_end_to_end_every_client_agrees() -> None:
    voters = ("France", "Germany", "Italy", "Spain", "Norway", "Chile")
    r = opened(voters)
    assert {b.stage for b in boards(r)} == {"open"}
    assert len({b.context.public_key for b in boards(r) if b.context}) == 1
    choices = {"France": "yes", "Germany": "no", "Italy": "yes", "Spain": "abstain", "Norway": "yes", "Chile": 1}
    for v, c in choices.items():
        r.cores[v].cast("item-4/1", c)
    r.pump()
    assert {len(b.ballots) for b in boards(r)} == {6}
    r.cores["Chair"].close("item-4/1")
    r.pump()
    results = {c.result("item-4/1") for c in r.cores.values()}
    assert len(results) == 1
    res = results.pop()
    assert res is not None and dict(zip(res.options, res.counts)) == {"yes": 3, "no": 2, "abstain": 1}
    assert res.choices == ()  # secret: nobody's choice is on the result
    kinds = [e.kind for e in r.events["France"]]
    assert kinds[0] == "opened" and "ready" in kinds and kinds[-1] == "tallied"
    # the third trustee's partial came after the tally: checked and kept, nothing rejected
    assert all(not b.rejected for b in boards(r)) and all(len(b.partials) == 3 for b in boards(r))


def test_fifty_voters_correct_tally() -> None:
    """50 voters cast (their ballots made from the board's context, as their clients do); the
    chair, the three trustees and an observer each verify all 50 and find the same tally."""
    voters = tuple(f"Delegation {i:02d}" for i in range(50))
    r = room(list(TRUSTEES) + ["Observer"])
    r.cores["Chair"].open(secret_manifest(voters))
    r.pump()
    ctx = r.cores["Observer"].boards["item-4/1"].context
    assert ctx is not None
    rng = random.Random(50)
    choices = [rng.randrange(3) for _ in voters]
    for v, c in zip(voters, choices):
        r.inject(v, bytes(wire.Cast("item-4/1", encrypt_ballot(ctx, v, c))))
    r.cores["Chair"].close("item-4/1")
    r.pump()
    want = tuple(choices.count(i) for i in range(3))
    for c in r.cores.values():
        res = c.result("item-4/1")
        assert res is not None and res.counts == want and res.ballots == 50


def test_a_malicious_member_is_rejected_by_every_client() -> None:
    voters = ("France", "Germany", "Mallory")
    r = opened(voters)
    honest = [n for n in r.cores if n != "Mallory"]
    r.cores["France"].cast("item-4/1", "yes")
    r.pump()
    france_msg = next(p for s, p in r.log if s == "France" and p[2] == wire.BALLOT)
    france = wire.parse(france_msg)
    assert isinstance(france, wire.Cast)
    ctx = r.cores["Mallory"].boards["item-4/1"].context
    assert ctx is not None

    def verdict(payload: bytes) -> str:
        before = [len(r.cores[n].boards["item-4/1"].entries) for n in honest]
        r.inject("Mallory", payload)
        reasons = {r.cores[n].boards["item-4/1"].entries[-1].rejected for n in honest}
        assert [len(r.cores[n].boards["item-4/1"].entries) for n in honest] == [b + 1 for b in before]
        assert len(reasons) == 1, reasons  # every client reaches the same verdict
        return reasons.pop()

    # France's ballot re-sent by Mallory as it is: signed by Mallory, names France
    assert verdict(france_msg).startswith("impersonation")
    # France's ciphertexts and proofs re-labelled as Mallory's (a copied ballot)
    copied = dataclasses.replace(france.ballot, voter="Mallory")
    assert verdict(bytes(wire.Cast("item-4/1", copied))).startswith("copy")
    # a ballot whose proof was tampered with
    mine = encrypt_ballot(ctx, "Mallory", 0)
    raw = bytearray(bytes(wire.Cast("item-4/1", mine)))
    raw[-40] ^= 0x04
    assert "sum proof fails" in verdict(bytes(raw))
    # an overvote: "yes" and "no" both at 1 cannot carry valid proofs; a ballot for 4 options either
    three = encrypt_ballot(dataclasses.replace(ctx), "Mallory", 0)
    short = EncryptedBallot("Mallory", three.ciphertexts[:2], three.range_proofs[:2], three.sum_proof)
    assert "2 ciphertexts for 3 options" in verdict(bytes(wire.Cast("item-4/1", short)))
    # a valid ballot, then a second one (duplicate)
    assert verdict(bytes(wire.Cast("item-4/1", mine))) == ""
    assert verdict(bytes(wire.Cast("item-4/1", encrypt_ballot(ctx, "Mallory", 1)))).startswith("duplicate")
    # Mallory is no chair and no trustee
    assert verdict(bytes(wire.Close("item-4/1"))).startswith("only the chair")
    assert verdict(bytes(wire.Partial("item-4/1", 1, ()))).startswith("not trustee")
    # garbage with the vote tag is counted, never raised
    for n in honest:
        r.cores[n].receive(b"\x56\x01\x04\x00\xffjunk", "Mallory", 0.0)
        assert r.cores[n].counters.malformed == 1
    # the chair closes; Germany's ballot arrives after the close: rejected everywhere
    r.cores["Chair"].close("item-4/1")
    r.pump()
    g_ballot = encrypt_ballot(ctx, "Germany", 2)
    r.inject("Germany", bytes(wire.Cast("item-4/1", g_ballot)))
    assert {r.cores[n].boards["item-4/1"].entries[-1].rejected.split(":")[0] for n in honest} == {"closed"}
    r.pump()
    results = {r.cores[n].result("item-4/1") for n in honest}
    assert len(results) == 1
    res = results.pop()
    assert res is not None and res.counts == (2, 0, 0) and res.ballots == 2  # France yes, Mallory yes (once)


def test_forged_opening_and_decryption_are_refused() -> None:
    voters = ("France", "Germany")
    r = room(list(TRUSTEES + voters))
    forged = Manifest("fake", "4", "q", voters=voters, trustees=TRUSTEES, threshold=2, chair="France")
    r.inject("France", bytes(wire.Open(forged)))
    assert all("fake" not in c.boards for c in r.cores.values())
    claims_chair = dataclasses.replace(forged, chair="Chair")
    r.inject("France", bytes(wire.Open(claims_chair)))  # names the chair, signed by France
    assert all("fake" not in c.boards for c in r.cores.values())
    with pytest.raises(ConfigError):
        r.cores["France"].open(claims_chair)
    # a trustee's bad partial decryption is rejected; the tally still comes from the two others
    r.cores["Chair"].open(secret_manifest(voters))
    r.pump()
    r.cores["France"].cast("item-4/1", "no")
    r.pump()
    r.cores["Chair"].close("item-4/1")
    # Norway (trustee 2) publishes a shifted partial decryption before its core's honest one
    b = r.cores["Germany"].boards["item-4/1"]
    for _stream, payload in r.cores["Chair"].data_to_send():
        r.inject("Chair", payload)  # the close goes out; the trustees queue their partials
    for c in r.cores.values():
        c.data_to_send()  # drop everything queued: we replay the trustees by hand
    honest = [p for s, p in r.log if p[2] == wire.PARTIAL]
    assert not honest and b.stage == "closed"
    t = r.cores["Norway"]._trustee["item-4/1"]
    assert b.context is not None
    shares = t.partial(b.context.hash, b.sums)
    bad = wire.Partial("item-4/1", 2, ((shares[0][0], shares[1][1]), *shares[1:]))
    r.inject("Norway", bytes(bad))
    assert b.entries[-1].rejected.startswith("partial decryption proof fails")
    assert b.result is None
    r.inject("Norway", bytes(wire.Partial("item-4/1", 2, tuple(shares))))
    r.inject("Chile", bytes(wire.Partial("item-4/1", 3, tuple(r.cores["Chile"]._trustee["item-4/1"].partial(b.context.hash, b.sums)))))
    assert b.result is not None and b.result.counts == (0, 1, 0)


def test_a_ballot_before_the_ceremony_ends_is_refused() -> None:
    r = room(list(TRUSTEES + ("France",)))
    r.cores["Chair"].open(secret_manifest(("France",)))
    r.pump(rounds=1)  # opened, trustees' commitments queued but not yet delivered
    b = r.cores["Chair"].boards["item-4/1"]
    assert b.stage == "ceremony"
    with pytest.raises(ConfigError):
        r.cores["France"].cast("item-4/1", "yes")


def test_a_recorded_vote_shows_each_delegation() -> None:
    voters = ("France", "Germany", "Italy")
    r = room(list(voters))
    r.cores["Chair"].open(Manifest("item-2/1", "2", "Adopt the agenda?", secret=False, voters=voters,
                                   closes_at=100.0, chair="Chair"))
    r.pump()
    for v, c in zip(voters, ("yes", "yes", "no")):
        r.cores[v].cast("item-2/1", c)
    r.pump()
    r.cores["Chair"].tick(99.0)
    assert not r.cores["Chair"].data_to_send()
    r.cores["Chair"].tick(100.0)  # the closing time: the chair's client closes the vote
    r.pump()
    for c in r.cores.values():
        res = c.result("item-2/1")
        assert res is not None and res.counts == (2, 1, 0)
        assert dict(res.choices) == {"France": "yes", "Germany": "yes", "Italy": "no"}


def test_the_published_board_verifies_offline_and_tampering_is_caught() -> None:
    voters = ("France", "Germany", "Italy")
    r = opened(voters, extra=("Mallory",))
    for v, c in zip(voters, (0, 0, 2)):
        r.cores[v].cast("item-4/1", c)
    r.pump()
    r.inject("Mallory", bytes(wire.Cast("item-4/1", encrypt_ballot(r.cores["Mallory"].boards["item-4/1"].context, "Mallory", 1))))
    r.cores["Chair"].close("item-4/1")
    r.pump()
    text = r.cores["Italy"].boards["item-4/1"].to_json()
    b = verify_board(text)
    assert b.result is not None and b.result.counts == (2, 0, 1)
    doc = json.loads(text)
    assert sum(1 for e in doc["entries"] if e["rejected"]) == 1  # Mallory is not a voter

    ballot_i = next(i for i, e in enumerate(doc["entries"]) if e["kind"] == "ballot" and not e["rejected"])
    tampered = json.loads(text)
    m = bytearray.fromhex(tampered["entries"][ballot_i]["message"])
    m[-70] ^= 0x01
    tampered["entries"][ballot_i]["message"] = m.hex()
    with pytest.raises((CryptoError, ProtocolError)):
        verify_board(json.dumps(tampered))
    lied = json.loads(text)
    lied["result"]["counts"]["yes"] = 3
    with pytest.raises(CryptoError, match="declared result"):
        verify_board(json.dumps(lied))
    dropped = json.loads(text)
    del dropped["entries"][ballot_i]  # the trustees decrypted sums that included it
    with pytest.raises(CryptoError, match="partial decryption proof fails"):
        verify_board(json.dumps(dropped))
    for bad in ("", "{}", '{"format": "vrdiplomacy-board/1", "group": "ristretto255", "entries": [{"sender": 1}]}'):
        with pytest.raises((CryptoError, ProtocolError)):
            verify_board(bad)


def test_other_room_events_are_ignored() -> None:
    c = VoteCore("France", lambda s: s == "Chair")
    for payload in (b"", b"\x01\x02gesture", b"\x48handshake", bytes(300)):
        c.receive(payload, "Germany", 0.0)
    assert c.counters.received == 0 and c.next_event() is None


def test_an_opening_too_large_for_one_sealed_event_goes_in_parts() -> None:
    voters = tuple(f"Delegation of the Republic number {i:04d}" for i in range(400))
    r = opened(voters[:1], voters[1:2])
    r.cores["Chair"].open(secret_manifest(voters, "item-4/2"))
    r.pump()
    sent = [p for s, p in r.log if s == "Chair" and wire.parse(p).vote_id == "item-4/2"]
    assert len(sent) == 3 and all(wire.parse(p).kind == wire.OPEN_PART and len(p) <= 7600 for p in sent)
    assert {b.stage for b in boards(r, "item-4/2")} == {"open"}
    r.cores[voters[1]].cast("item-4/2", "no")
    r.pump()
    assert all(voters[1] in b.ballots for b in boards(r, "item-4/2"))
