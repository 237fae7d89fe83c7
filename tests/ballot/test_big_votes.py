"""Votes with the largest electorate the CLI states (4096 voters, 32 trustees).

An opening that lists thousands of voters is far larger than one sealed room event (the relay
carries 8 KB a room event): it travels as opening parts, each of which, restated too, fits one
event. Every client, a late joiner included, builds the same board of them; a board of them
verifies offline; an opening beyond what the parts carry is refused with the limit in the message.

Fails on main c15fca3: ``vote simulate --voters 443`` (and anything up to the stated 4096) stopped
with "the vote's opening is 7317 bytes, more than one sealed room event carries"."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import pytest
from pump import room

from vrdiplomacy.ballot import wire
from vrdiplomacy.ballot.board import replay
from vrdiplomacy.ballot.election import MAX_TRUSTEES, MAX_VOTERS, Manifest
from vrdiplomacy.ballot.live import LiveVote, check_job
from vrdiplomacy.ballot.local import simulate
from vrdiplomacy.ballot.protocol import MAX_EVENT, VoteCore
from vrdiplomacy.cli import main
from vrdiplomacy.crypto.packet import EVENT_BUCKETS
from vrdiplomacy.crypto.signing import EVENT_OVERHEAD
from vrdiplomacy.errors import ConfigError, ProtocolError

DELEGATIONS = tuple(f"Delegation {i + 1:03d}" for i in range(MAX_VOTERS))


def _fits_a_sealed_event(payload: bytes, sender: str = "Chair") -> bool:
    """A vote message that fits one sealed room event, and so does its restatement."""
    msg = wire.parse(payload)
    if not isinstance(msg, wire.Restated):
        payload = bytes(wire.Restated(msg.vote_id, 0, 1, sender, payload))
    return len(payload) <= MAX_EVENT and EVENT_OVERHEAD + MAX_EVENT <= EVENT_BUCKETS[-1]


def test_simulate_runs_the_largest_electorate_it_states(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "board.json"
    t0 = time.perf_counter()
    assert main(["vote", "simulate", "--recorded", "--voters", str(MAX_VOTERS), "--seed", "4", "-o", str(out)]) == 0
    assert main(["vote", "verify", str(out)]) == 0
    assert time.perf_counter() - t0 < 30
    text = capsys.readouterr().out
    assert f"{MAX_VOTERS} voters" in text and f"ballots accepted: {MAX_VOTERS}; rejected: 0" in text
    assert "OK: every proof verifies" in text and f"Delegation {MAX_VOTERS}:" in text
    doc = json.loads(out.read_text())
    kinds = [e["kind"] for e in doc["entries"]]
    parts = kinds.count("open-part")
    assert kinds[:parts] == ["open-part"] * parts and 8 <= parts <= 12, kinds[:14]
    assert all(_fits_a_sealed_event(bytes.fromhex(e["message"]), e["sender"]) for e in doc["entries"])
    assert sum(doc["result"]["counts"].values()) == MAX_VOTERS


def test_simulate_refuses_more_than_it_states_in_a_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["vote", "simulate", "--help"])
    assert f"1 to {MAX_VOTERS}" in capsys.readouterr().out
    for args in (["--voters", str(MAX_VOTERS + 1)], ["--voters", "0"], ["--trustees", str(MAX_TRUSTEES + 1)]):
        assert main(["vote", "simulate", *args, "-o", "unused.json"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: a vote has 1 to 4096 voters and 1 to 32 trustees") and "Traceback" not in err
    assert main(["vote", "simulate", "--trustees", "3", "--threshold", "4", "-o", "unused.json"]) == 2
    assert "threshold" in capsys.readouterr().err


def test_a_secret_vote_of_4096_voters_and_32_trustees_opens_on_every_client() -> None:
    trustees = tuple(f"Trustee {i + 1}" for i in range(MAX_TRUSTEES))
    r = room([*trustees, "Observer", DELEGATIONS[-1]])
    m = Manifest("item-9/1", "9", "Adopt L.30?", voters=DELEGATIONS, trustees=trustees, threshold=17, chair="Chair")
    r.cores["Chair"].open(m)
    r.pump()
    assert all(_fits_a_sealed_event(p, s) for s, p in r.log)
    assert sum(wire.parse(p).kind == wire.OPEN_PART for _, p in r.log) >= 9
    boards = [c.boards["item-9/1"] for c in r.cores.values()]
    assert {b.stage for b in boards} == {"open"} and all(b.manifest == m for b in boards)
    assert len({b.digest() for b in boards}) == 1
    r.cores[DELEGATIONS[-1]].cast("item-9/1", "yes")
    r.pump()
    assert all(DELEGATIONS[-1] in b.ballots for b in boards)
    assert replay([(e.sender, e.message) for e in boards[0].entries]).manifest == m


def test_a_late_joiner_gets_a_board_of_4096_ballots_restated() -> None:
    board, choices = simulate(MAX_VOTERS, 0, 0, secret=False, seed=5)
    late = VoteCore("Spain", lambda s: s == "Chair", present=lambda: ["Chair", "Observer", "Spain"])
    chair = VoteCore("Chair", lambda s: s == "Chair", present=lambda: ["Chair", "Observer", "Spain"])
    for e in board.entries:  # the chair followed the vote
        chair.receive(e.message, e.sender)
    late.request_sync(0.0)
    for _, ask in late.data_to_send():
        chair.receive(ask, "Spain", 0.0)
    restated = chair.data_to_send()
    assert len(restated) == len(board.entries) > 4096 and all(_fits_a_sealed_event(p) for _, p in restated)
    for _, p in restated:
        late.receive(p, "Chair", 0.0)
    res = late.result("vote-1")
    assert res is not None and res.counts == tuple(choices.count(i) for i in range(3))


def test_an_opening_beyond_what_its_parts_carry_is_refused_with_the_limit() -> None:
    c = VoteCore("Chair", lambda s: s == "Chair")
    long_names = tuple(f"{'Delegation of a Republic with a very long name ' * 5}{i:04d}" for i in range(MAX_VOTERS))
    with pytest.raises(ConfigError, match=f"more than {wire.MAX_OPEN_PARTS} room events carry .*: fewer voters"):
        c.open(Manifest("v", "1", "q", voters=long_names, trustees=("Chair",), threshold=1, chair="Chair"))
    assert c.data_to_send() == []


def test_opening_parts_out_of_order_or_not_from_the_chair_are_rejected_not_raised() -> None:
    parts = wire.open_messages(Manifest("v", "1", "q", voters=DELEGATIONS[:1000], trustees=("Chair",), threshold=1,
                                        chair="Chair"), 7000)
    assert len(parts) == 3 and all(isinstance(p, wire.OpenPart) for p in parts)
    c = VoteCore("France", lambda s: s == "Chair")
    for p in parts:
        c.receive(bytes(p), "Germany")  # not the chair
    c.receive(bytes(parts[1]), "Chair")  # a part without its first
    c.receive(bytes(parts[0]), "Chair")
    c.receive(bytes(parts[2]), "Chair")  # the second is missing
    assert not c.boards and c.counters.rejected == 3 and c.counters.malformed == 2
    for p in parts:
        c.receive(bytes(p), "Chair")
    assert c.boards["v"].manifest.voters == DELEGATIONS[:1000] and len(c.boards["v"].entries) == 3
    with pytest.raises(ProtocolError, match="interrupted"):
        replay([("Chair", bytes(parts[0])), ("Germany", bytes(parts[1])), ("Chair", bytes(parts[2]))])
    with pytest.raises(ProtocolError, match="opening part 0 of 1"):
        wire.parse(bytes(wire.OpenPart("v", 0, 1, b"x")))


def test_a_live_vote_names_no_more_members_than_a_room_holds() -> None:
    from vrdiplomacy.crypto.roster import MAX_MEMBERS

    m = Manifest("v", "1", "q", voters=DELEGATIONS[:MAX_MEMBERS], trustees=("Chair",), threshold=1, chair="Chair")
    with pytest.raises(ConfigError, match=f"{MAX_MEMBERS + 1} voters, trustees and chair.* at most {MAX_MEMBERS}"):
        check_job(LiveVote("v", manifest=m))
    check_job(LiveVote("v", manifest=Manifest("v", "1", "q", voters=DELEGATIONS[:MAX_MEMBERS - 1], trustees=("Chair",),
                                              threshold=1, chair="Chair")))


def test_an_opening_in_parts_crosses_the_relay_in_a_secured_room(tmp_path: Path) -> None:
    """The parts go through the real relay and end-to-end layer. The few members a test room holds
    make a short electorate, so the longest question, agenda item and 16 options make the opening
    about as large as one of 4096 voters (60 KB in 8 parts)."""
    sys.path.insert(0, str(Path(__file__).parents[1] / "e2ee"))
    from harness import Pki, codes_agree, member, until

    from vrdiplomacy.ballot.live import run_live
    from vrdiplomacy.net.relay_server import EmbeddedRelay

    amendments = tuple(f"amendment {i}: " + "text " * 797 for i in range(13))
    m = Manifest("item-8/1", "8 " + "(a long agenda item) " * 190, "Adopt L.14? " + "(a long question) " * 220,
                 options=("yes", "no", "abstain", *amendments), secret=False, voters=("France", "Germany"),
                 chair="Chair")
    assert len(bytes(wire.Open(m))) > 60_000
    said: dict[str, list[str]] = {}

    async def run() -> list[object]:
        pki = Pki()
        async with EmbeddedRelay() as relay:  # noqa: SIM117 (the members need the relay)
            async with member(relay, pki.root, pki.identity("Chair", "chair", "CH"), "Chair", "seat-0") as ch, \
                    member(relay, pki.root, pki.identity("France", "head"), "France", "seat-1") as fr, \
                    member(relay, pki.root, pki.identity("Germany", "head", "DE"), "Germany", "seat-2") as de:
                ms = [ch, fr, de]
                await until(lambda: codes_agree(ms), 20, "the same room code on 3 clients")
                for x in ms:
                    assert x.task is not None
                    x.task.cancel()
                jobs = {"Chair": LiveVote("item-8/1", manifest=m, board=tmp_path / "board.json", timeout=30),
                        "France": LiveVote("item-8/1", choice="yes", timeout=30),
                        "Germany": LiveVote("item-8/1", choice="no", timeout=30)}
                return list(await asyncio.gather(*(run_live(x.client, x.secure, x.name, jobs[x.name],
                                                            said.setdefault(x.name, []).append) for x in ms)))

    results = asyncio.run(run())
    assert all(getattr(r, "counts", None) == (1, 1) + (0,) * 14 for r in results), said
    doc = json.loads((tmp_path / "board.json").read_text())
    assert [e["kind"] for e in doc["entries"]] == ["open-part"] * 8 + ["recorded", "recorded", "close"]
