"""Votes bound to the meeting session, and trustees' key shares that survive a restart.

* A vote's id carries the meeting session's nonce; a fresh client of a later meeting session
  rejects an old vote replayed to it (counted as stale), while a client of the same session that
  restarted takes it up. The nonce comes from the room authority's admission key: each start of
  the chair's client makes a new one.
* A trustee's secrets are on disk (user-only, 0600) from before its commitment goes out: a trustee
  whose client restarts and sees the board again decrypts with the others; the file is removed
  once the vote is tallied; a damaged or world-readable file is refused with a reason, not a crash.

Fails on main 94bf7c4: votes had no session binding and trustee shares lived in memory only."""

from __future__ import annotations

import os
import stat
import sys
import time
from pathlib import Path

import pytest
from pump import Room

from vrdiplomacy.ballot.election import Manifest
from vrdiplomacy.ballot.keystore import TrusteeStore
from vrdiplomacy.ballot.protocol import VoteCore, session_vote_id, vote_label
from vrdiplomacy.ballot.roles import meeting_nonce
from vrdiplomacy.errors import ConfigError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2ee"))

TRUSTEES = ("Chair", "France", "Germany")
VOTERS = ("France", "Germany", "Italy")


def _chair(s: str) -> bool:
    return s == "Chair"


def _room(nonce: str, keys: dict[str, TrusteeStore] | None = None) -> Room:
    keys = keys or {}
    return Room({n: VoteCore(n, _chair, session=lambda: nonce, keystore=keys.get(n))
                 for n in ("Chair", "France", "Germany", "Italy")})


def _manifest(nonce: str, secret: bool = True) -> Manifest:
    return Manifest(session_vote_id("item-3/1", nonce), "3", "Adopt L.7?", secret=secret, voters=VOTERS,
                    trustees=TRUSTEES if secret else (), threshold=2 if secret else 0, chair="Chair")


def test_an_old_vote_replayed_to_a_fresh_client_of_a_new_meeting_session_is_rejected() -> None:
    r = _room("a1b2c3d4e5f6")
    r.cores["Chair"].open(_manifest("a1b2c3d4e5f6", secret=False))
    r.pump()
    for v, c in zip(VOTERS, ("yes", "no", "yes")):
        r.cores[v].cast("item-3/1@a1b2c3d4e5f6", c)
    r.pump()
    assert r.cores["Italy"].boards["item-3/1@a1b2c3d4e5f6"].recorded == {"France": 0, "Germany": 1, "Italy": 0}
    # the relay replays the old meeting's vote to a client of a new meeting session
    fresh = VoteCore("Spain", _chair, session=lambda: "0f0f0f0f0f0f")
    for sender, payload in r.log:
        fresh.receive(payload, sender)
    assert fresh.boards == {} and fresh.counters.stale == 1
    events = []
    while (e := fresh.next_event()) is not None:
        events.append(e)
    assert events[0].kind == "rejected" and "stale" in events[0].detail
    assert fresh.counters.unknown_vote == 3  # the casts of a vote it never opened: counted, not applied
    # a client that restarted within the same meeting session takes the vote up
    same = VoteCore("Spain", _chair, session=lambda: "a1b2c3d4e5f6")
    for sender, payload in r.log:
        same.receive(payload, sender)
    assert same.boards["item-3/1@a1b2c3d4e5f6"].recorded["Germany"] == 1
    # and a client that does not know its meeting session yet opens nothing
    early = VoteCore("Spain", _chair, session=lambda: None)
    early.receive(r.log[0][1], "Chair")
    assert early.boards == {} and early.counters.stale == 1
    # the chair's own client refuses to open a vote of another session
    with pytest.raises(ConfigError, match="not of this meeting session"):
        r.cores["Chair"].open(_manifest("ffffffffffff"))
    assert vote_label("item-3/1@a1b2c3d4e5f6") == "item-3/1"
    with pytest.raises(ConfigError):
        session_vote_id("a@b", "n")


def test_the_meeting_nonce_is_new_for_each_start_of_the_room() -> None:
    from harness import Pki

    from vrdiplomacy.crypto.admission import self_admission
    from vrdiplomacy.net.secure import SecureRoom, SecureSettings

    pki = Pki()
    chair = pki.identity("Chair", "chair", "CH")
    nonces = []
    for _ in range(2):  # the chair's client started twice: two meeting sessions
        adm = self_admission(chair.certificate, chair.signing_key, "chamber", time.time())
        room = SecureRoom("chamber", chair, [pki.root], SecureSettings(role=adm.role), authority=adm.invitation)
        assert room.is_chair
        nonces.append(meeting_nonce(room))
        assert meeting_nonce(room) == nonces[-1]  # stable within the session
    assert None not in nonces and len(nonces[0]) == 12 and nonces[0] != nonces[1]


def test_a_trustee_whose_client_restarts_still_decrypts(tmp_path: Path) -> None:
    nonce = "00112233aabb"
    keys = {n: TrusteeStore(tmp_path / n) for n in TRUSTEES}
    r = _room(nonce, keys)
    vid = session_vote_id("item-3/1", nonce)
    r.cores["Chair"].open(_manifest(nonce))
    r.pump()
    assert {c.boards[vid].stage for c in r.cores.values()} == {"open"}
    f_file = keys["France"].path(r.cores["France"].boards[vid].ceremony_id, 2)
    assert f_file.is_file() and stat.S_IMODE(f_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(f_file.parent.stat().st_mode) == 0o700
    for v, c in zip(VOTERS, ("yes", "yes", "no")):
        r.cores[v].cast(vid, c)
    r.pump()
    # France's client crashes and restarts: a new core, the same key folder; it sees the board again
    r.cores["France"] = VoteCore("France", _chair, session=lambda: nonce, keystore=keys["France"])
    for sender, payload in r.log:
        r.cores["France"].receive(payload, sender)
    assert r.cores["France"].counters.trustee_restored == 1
    assert r.cores["France"].data_to_send() == []  # no second commitment, no second shares
    # Germany, the third trustee, is gone: the tally needs the restarted France
    del r.cores["Germany"]
    r.cores["Chair"].close(vid)
    r.pump()
    results = {n: c.result(vid) for n, c in r.cores.items()}
    assert all(res is not None and res.counts == (2, 1, 0) for res in results.values()), results
    b = r.cores["Italy"].boards[vid]
    assert set(b.partials) == {1, 2} and not b.rejected  # Chair's and the restarted France's partials
    assert not f_file.exists()  # the secret share is removed once the vote is tallied
    # without the key file, a restarted trustee cannot help: the same restart fails to decrypt
    r2 = _room(nonce, {n: TrusteeStore(tmp_path / "second" / n) for n in TRUSTEES})
    r2.cores["Chair"].open(_manifest(nonce))
    r2.pump()
    for v in VOTERS:
        r2.cores[v].cast(vid, "yes")
    r2.pump()
    for f in (tmp_path / "second" / "France").iterdir():
        f.unlink()
    r2.cores["France"] = VoteCore("France", _chair, session=lambda: nonce, keystore=TrusteeStore(tmp_path / "second" / "France"))
    for sender, payload in r2.log:
        r2.cores["France"].receive(payload, sender)
    del r2.cores["Germany"]
    r2.cores["Chair"].close(vid)
    r2.pump()
    assert r2.cores["Italy"].result(vid) is None  # one valid partial of two needed


def test_a_damaged_or_exposed_key_file_is_refused_with_a_reason(tmp_path: Path) -> None:
    nonce = "00112233aabb"
    keys = {n: TrusteeStore(tmp_path / n) for n in TRUSTEES}
    r = _room(nonce, keys)
    vid = session_vote_id("item-3/1", nonce)
    r.cores["Chair"].open(_manifest(nonce))
    r.pump()
    path = keys["France"].path(r.cores["France"].boards[vid].ceremony_id, 2)
    data = path.read_bytes()
    for damage, mode, why in ((data[:40], 0o600, "damaged"), (data, 0o644, "readable by others")):
        path.write_bytes(damage)
        os.chmod(path, mode)
        core = VoteCore("France", _chair, session=lambda: nonce, keystore=keys["France"])
        core.receive(r.log[0][1], "Chair")  # the opening, replayed
        events = []
        while (e := core.next_event()) is not None:
            events.append(e)
        failed = [e for e in events if e.kind == "ceremony_failed"]
        assert failed and why in failed[0].detail, events
        assert core.data_to_send() == []  # nothing sent with a key it cannot trust


def test_a_room_without_end_to_end_encryption_has_no_votes() -> None:
    """Votes need signed events: a plain room's client refuses to open one and drops vote events."""
    from vrdiplomacy.net.client_types import RoomEventReceived
    from vrdiplomacy.session.votes import SessionVotes, VoteRequest

    v = SessionVotes(None)
    with pytest.raises(ConfigError, match="end-to-end encrypted room"):
        v.open(VoteRequest("item-1/1", "1", "Adopt?"))
    v.receive(RoomEventReceived(1, 2, bytes([0x56, 1, 6, 0, 1, 0x41]), "room"))
    assert v.unverified_dropped == 1 and v.board_view() is None and v.status_lines() == ["no vote in this meeting yet"]
