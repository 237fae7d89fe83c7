"""Votes for clients that missed their messages, and votes whose members left (sans-I/O cores).

* A trustee whose client crashed comes back as a new process with new keys: nothing sealed before
  reaches it. It asks; the chair restates the board, the others send digests; the restarted trustee
  rebuilds the board (checking every proof itself), takes its secrets up from its key file and
  publishes its partial decryption: the tally completes on every client.
* A restatement that does not match the others' digests is disputed: the trustee does not decrypt
  on it (a forged board could single out one voter's ballot).
* A trustee that crashed during the key ceremony, before its shares went out, deals them from
  the same secrets after its restart, and the vote goes on.
* A restater that is in the roster but crashed leaves the repeated ask to the next member.
* A member who joins after a vote's result sees that verified result.
* Dead peers: a secret ballot whose trustees left fails at its deadline, every board naming the
  absent trustees; one closed before its key was made fails the same way.

Fails on main 94bf7c4: a restarted trustee never saw the vote again (the tally hung), a late
joiner saw nothing, and a vote without its trustees waited forever."""

from __future__ import annotations

from pathlib import Path

import pytest
from pump import Room

from vrdiplomacy.ballot import wire
from vrdiplomacy.ballot.election import Manifest
from vrdiplomacy.ballot.keystore import TrusteeStore
from vrdiplomacy.ballot.protocol import VoteCore, session_vote_id
from vrdiplomacy.errors import ConfigError

NONCE = "0a1b2c3d4e5f"
VID = session_vote_id("item-5/1", NONCE)
TRUSTEES = ("Chair", "France", "Germany")
VOTERS = ("France", "Germany", "Italy")


def _chair(s: str) -> bool:
    return s == "Chair"


def _core(room: Room, name: str, keys: Path | None = None) -> VoteCore:
    return VoteCore(name, _chair, session=lambda: NONCE, keystore=None if keys is None else TrusteeStore(keys / name),
                    present=lambda: list(room.cores))


def _room(tmp: Path, names: tuple[str, ...] = ("Chair", "France", "Germany", "Italy")) -> Room:
    r = Room({})
    for n in names:
        r.cores[n] = _core(r, n, tmp)
    return r


def _secret(threshold: int = 3) -> Manifest:
    return Manifest(VID, "5", "Adopt L.9?", secret=True, voters=VOTERS, trustees=TRUSTEES, threshold=threshold,
                    chair="Chair")


def _voted(r: Room) -> None:
    r.cores["Chair"].open(_secret())
    r.pump()
    for v, c in zip(VOTERS, ("yes", "no", "yes")):
        r.cores[v].cast(VID, c)
    r.pump()


def test_a_restarted_trustee_gets_the_board_restated_and_the_tally_completes(tmp_path: Path) -> None:
    r = _room(tmp_path)
    _voted(r)
    key_file = TrusteeStore(tmp_path / "France").path(r.cores["Chair"].boards[VID].ceremony_id, 2)
    assert key_file.is_file()
    del r.cores["France"]  # kill -9: France's client is gone
    r.cores["Chair"].close(VID)
    r.pump()
    assert r.cores["Italy"].boards[VID].stage == "closed"  # 2 of the 3 partial decryptions: waiting for France
    # France's new process: no board, new keys; it asks
    r.cores["France"] = _core(r, "France", tmp_path)
    before = len(r.events["France"])
    r.cores["France"].request_sync(0.0)
    r.pump()
    f = r.cores["France"]
    assert f.sync.restated_boards == 1 and f.counters.trustee_restored == 1
    assert f.sync_state[VID].restated_by == "Chair" and f.sync_state[VID].confirmed_by == {"Germany", "Italy"}
    assert r.cores["Chair"].sync.restated_sent == 1 and r.cores["Germany"].sync.restated_sent == 0
    for n, c in r.cores.items():
        assert c.boards[VID].stage == "tallied" and c.result(VID).counts == (2, 1, 0), n  # type: ignore[union-attr]
        assert c.counters.rejected == 0, (n, c.boards[VID].rejected)
    assert len({c.boards[VID].digest() for c in r.cores.values()}) == 1  # the same board everywhere
    assert not key_file.exists()
    kinds = [e.kind for e in r.events["France"][before:]]
    assert kinds[:3] == ["restated", "confirmed", "tallied"], kinds


def test_a_restatement_the_others_dispute_is_not_decrypted(tmp_path: Path) -> None:
    r = _room(tmp_path)
    _voted(r)
    del r.cores["France"]
    r.cores["Chair"].close(VID)
    r.pump()
    honest = r.cores["Chair"].boards[VID]
    f = _core(r, "France", tmp_path)
    f.request_sync(0.0)
    assert f.data_to_send() == [("vote", bytes(wire.Sync(f"{f._ask_id}/1")))]
    # a restater that drops Italy's ballot (so the sums it shows hold France's and Germany's only)
    forged = [(e.sender, e.message) for e in honest.entries if e.sender != "Italy"]
    for i, (s, m) in enumerate(forged):
        f.receive(bytes(wire.Restated(VID, i, len(forged), s, m)), "Germany")
    f.receive(bytes(wire.Digest(VID, len(forged), honest.digest(len(forged)))), "Italy")
    assert f.sync_state[VID].disputed_by == {"Italy"} and not f.sync_state[VID].confirmed_by
    assert f.data_to_send() == []  # no partial decryption on a disputed board
    assert not f.confirmed(VID)


def test_a_late_voter_casts_only_on_a_confirmed_board(tmp_path: Path) -> None:
    r = _room(tmp_path)
    r.cores["Chair"].open(_secret(threshold=2))
    r.pump()
    italy = r.cores.pop("Italy")  # Italy, a voter, joins after the ballot opened
    r.cores["Italy"] = late = _core(r, "Italy", tmp_path)
    late.request_sync(0.0)
    honest = r.cores["Chair"].boards[VID]
    for i, e in enumerate(honest.entries):  # the chair's restatement arrives before anyone's digest
        late.receive(bytes(wire.Restated(VID, i, len(honest.entries), e.sender, e.message)), "Chair")
    with pytest.raises(ConfigError, match="no other member has confirmed"):
        late.cast(VID, "yes")
    late.receive(bytes(wire.Digest(VID, len(honest.entries), honest.digest())), "Germany")
    late.cast(VID, "yes")
    r.pump()
    assert italy.boards[VID].stage == "open" and len(r.cores["France"].boards[VID].ballots) == 1


def test_a_member_who_joins_after_the_result_sees_it(tmp_path: Path) -> None:
    r = _room(tmp_path)
    _voted(r)
    r.cores["Chair"].close(VID)
    r.pump()
    r.cores["Spain"] = late = _core(r, "Spain")
    late.request_sync(0.0)
    r.pump()
    assert late.result(VID) is not None and late.result(VID).counts == (2, 1, 0)  # type: ignore[union-attr]
    assert late.confirmed(VID) and late.sync_state[VID].confirmed_by == {"France", "Germany", "Italy"}
    kinds = [e.kind for e in r.events["Spain"]]
    assert kinds == ["restated", "tallied", "confirmed"], kinds
    # the same ask is answered once; another within the answer period not at all (no amplification)
    sent = r.cores["Chair"].counters.sent
    r.inject("Spain", bytes(wire.Sync(f"{late._ask_id}/1")), 30.0)  # the same ask replayed
    r.pump(30.0)
    late._ask_id = "a restarted process"
    late.request_sync(31.0)
    r.pump(31.0)
    assert r.cores["Chair"].counters.sent == sent
    late.request_sync(40.0)  # later: a new process of Spain is answered
    r.pump(40.0)
    assert r.cores["Chair"].counters.sent > sent


def test_a_restater_that_is_gone_leaves_the_repeated_ask_to_the_next_member(tmp_path: Path) -> None:
    r = _room(tmp_path)
    _voted(r)
    r.cores["Chair"].close(VID)
    r.pump()
    chair = r.cores.pop("Chair")  # crashed: still in the roster (present() below), answers nothing
    names = ["Chair", "France", "Germany", "Italy", "Spain"]
    r.cores["Spain"] = late = VoteCore("Spain", _chair, session=lambda: NONCE, present=lambda: names)
    for c in r.cores.values():
        c.present = lambda: names
    late.request_sync(0.0)
    r.pump(0.0)
    assert late.boards == {} and late.sync.sync_sent == 1  # only digests came: nobody restated
    late.sync_tick(5.0)
    assert late.data_to_send() == []  # not yet: the retry waits SYNC_RETRY_S
    late.sync_tick(10.0)
    r.pump(10.0)
    assert late.result(VID) is not None and late.sync_state[VID].restated_by == "France"
    assert late.sync_state[VID].confirmed_by == {"Germany", "Italy"}
    assert VID in chair.boards  # the crashed chair had the board; its client just could not answer


def test_a_secret_ballot_whose_trustees_left_fails_at_its_deadline(tmp_path: Path) -> None:
    r = _room(tmp_path)
    _voted(r)
    del r.cores["France"], r.cores["Germany"]
    chair = r.cores["Chair"]
    chair.deadlines[VID] = 30.0
    chair.close(VID)
    r.pump(100.0)
    chair.tick(120.0)
    r.pump(120.0)
    assert chair.boards[VID].stage == "closed"  # 20 s after the close: still waiting
    chair.tick(131.0)
    r.pump(131.0)
    for c in r.cores.values():
        b = c.boards[VID]
        assert b.stage == "failed" and b.result is None
        assert b.failure == "tally failed: 1 of 3 partial decryptions needed; trustees France, Germany absent"
    failed = [e for e in r.events["Italy"] if e.kind == "failed"]
    assert len(failed) == 1 and "France, Germany absent" in failed[0].detail
    # a vote closed before its trustees' key was made fails the same way, naming who was missing
    r2 = _room(tmp_path / "2", ("Chair", "France", "Italy"))
    r2.cores["Chair"].open(_secret())
    r2.pump()
    r2.cores["Chair"].close(VID)
    r2.pump()
    b = r2.cores["Italy"].boards[VID]
    assert b.stage == "failed" and b.failure == "the trustees' key was never made; trustee Germany absent"


def test_a_trustee_that_crashed_during_the_key_ceremony_finishes_it_after_its_restart(tmp_path: Path) -> None:
    r = _room(tmp_path)
    r.cores["Chair"].open(_secret())
    moved = True
    while moved:  # the room runs, but France crashes just before its shares go out
        moved = False
        for name, c in list(r.cores.items()):
            for _stream, payload in c.data_to_send():
                if name == "France" and payload[2] == wire.SHARES:
                    continue
                moved = True
                r.inject(name, payload)
    del r.cores["France"]
    assert r.cores["Italy"].boards[VID].stage == "ceremony" and r.cores["Italy"].boards[VID].absent_trustees() == ("France",)
    r.cores["France"] = _core(r, "France", tmp_path)
    r.cores["France"].request_sync(0.0)
    r.pump()
    assert r.cores["France"].counters.trustee_restored == 1
    assert {c.boards[VID].stage for c in r.cores.values()} == {"open"}  # its shares dealt from the same secrets
    for v, c in zip(VOTERS, ("no", "no", "abstain")):
        r.cores[v].cast(VID, c)
    r.pump()
    r.cores["Chair"].close(VID)
    r.pump()
    assert {c.result(VID).counts for c in r.cores.values()} == {(0, 2, 1)}  # type: ignore[union-attr]
    assert all(c.counters.rejected == 0 for c in r.cores.values())


def test_sync_messages_round_trip_and_bad_ones_are_refused_not_raised() -> None:
    msgs = [wire.Sync("9f8e7d6c5b4a3921/2"), wire.Restated(VID, 3, 7, "France", b"V\x01\x06\x00\x01x"),
            wire.Digest(VID, 12, bytes(range(32))), wire.Fail(VID, "deadline passed; waiting for France")]
    for m in msgs:
        assert wire.parse(bytes(m)) == m
    assert bytes(wire.Digest(VID, 12, bytes(range(32))))[:3] == b"V\x01\x0a"
    bad = [bytes(wire.Restated(VID, 7, 7, "France", b"")),  # position past the total
           bytes(wire.Digest(VID, 12, bytes(range(32))))[:-1],  # truncated
           bytes(wire.Sync("x")) + b"\x00"]  # trailing bytes
    core = VoteCore("Spain", _chair, session=lambda: NONCE)
    for data in bad:
        core.receive(data, "France")
    assert core.counters.malformed == 3 and core.boards == {}
    # a restatement that does not start with the chair's opening builds no board
    core.request_sync(0.0)
    core.receive(bytes(wire.Restated(VID, 0, 1, "France", bytes(wire.Close(VID)))), "Germany")
    assert core.boards == {} and core.sync.restated_refused == 1
    # nor does one announcing more entries than any board holds
    core.receive(bytes(wire.Restated(VID, 0, 60000, "Chair", b"V")), "Germany")
    assert core.sync.restated_refused == 2 and core._building == {}
