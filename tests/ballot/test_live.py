"""The live vote client over the real relay in a secured room: a chair opens a secret vote once
every voter and trustee is in the signed roster, voters cast, trustees decrypt, everyone prints the
same result, and the chair's board verifies offline."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "e2ee"))

from harness import Pki, codes_agree, member, until

from vrdiplomacy.ballot.board import verify_board
from vrdiplomacy.ballot.election import Manifest
from vrdiplomacy.ballot.live import LiveVote, VoteTimeout, name_list, run_live, waiting_for
from vrdiplomacy.net.relay_server import EmbeddedRelay


def test_live_secret_vote(tmp_path: Path) -> None:
    board = tmp_path / "board.json"
    said: dict[str, list[str]] = {}

    async def main() -> dict[str, object]:
        pki = Pki()
        async with EmbeddedRelay() as relay:  # noqa: SIM117 (the members need the relay)
            async with member(relay, pki.root, pki.identity("Chair", "chair", "CH"), "Chair", "seat-0") as ch, \
                    member(relay, pki.root, pki.identity("France", "head"), "France", "seat-1") as fr, \
                    member(relay, pki.root, pki.identity("Germany", "head", "DE"), "Germany", "seat-2") as de, \
                    member(relay, pki.root, pki.identity("Italy", "head", "IT"), "Italy", "seat-3") as it:
                ms = [ch, fr, de, it]
                await until(lambda: codes_agree(ms), 20, "the same room code on 4 clients")
                for m in ms:  # run_live reads the client's events itself
                    assert m.task is not None
                    m.task.cancel()
                m = Manifest("item-7/1", "7", "Adopt L.12?", voters=("France", "Germany", "Italy"),
                             trustees=("Chair", "France", "Germany"), threshold=2, chair="Chair")
                jobs = {
                    "Chair": LiveVote("item-7/1", manifest=m, board=board, timeout=30),
                    "France": LiveVote("item-7/1", choice="yes", timeout=30),
                    "Germany": LiveVote("item-7/1", choice="no", timeout=30),
                    "Italy": LiveVote("item-7/1", choice="yes", timeout=30),
                }
                rs = await asyncio.gather(*(run_live(x.client, x.secure, x.name, jobs[x.name],
                                                     said.setdefault(x.name, []).append) for x in ms))
                return dict(zip([x.name for x in ms], rs))

    results = asyncio.run(main())
    for name, res in results.items():
        assert res is not None and res.counts == (2, 1, 0), (name, said[name])  # type: ignore[attr-defined]
        assert any("result yes 2, no 1, abstain 0" in line for line in said[name])
    b = verify_board(board.read_text())
    assert b.result is not None and b.result.counts == (2, 1, 0) and len(b.ballots) == 3


def test_live_vote_waits_for_the_electorate_and_times_out() -> None:
    async def main() -> None:
        pki = Pki()
        async with EmbeddedRelay() as relay, \
                member(relay, pki.root, pki.identity("Chair", "chair", "CH"), "Chair", "seat-0") as ch:
            await until(lambda: codes_agree([ch]), 20, "the chair's room code")
            assert ch.task is not None
            ch.task.cancel()
            m = Manifest("v", "1", "q", voters=("Absent", "Chair"), trustees=("Chair", "Away"), threshold=1,
                         chair="Chair")
            said: list[str] = []
            with pytest.raises(VoteTimeout, match="not open after 1 s; waiting for Absent and Away to join the room"):
                await run_live(ch.client, ch.secure, "Chair", LiveVote("v", manifest=m, timeout=1.0), said.append)
            # nothing opened while a voter is missing; it said whom it waits for, once (nothing changed)
            assert [s for s in said if s.startswith("vote")] == [
                "vote v: waiting for Absent and Away to join the room (2 of the 3 voters and trustees not in its roster yet)"
            ], said

    asyncio.run(main())


def test_the_wait_line_names_whom_each_stage_waits_for() -> None:
    from pump import room

    r = room(["France", "Germany", "Italy"])
    m = Manifest("v", "1", "q", voters=("France", "Germany", "Italy"), trustees=("Chair", "France", "Germany"),
                 threshold=3, chair="Chair")
    germany = r.cores.pop("Germany")  # not here for the key ceremony
    r.cores["Chair"].open(m)
    r.pump()
    b = r.cores["Chair"].boards["v"]
    assert waiting_for(b) == "key ceremony: waiting for trustee Germany"
    r.cores["Germany"] = germany
    for sender, payload in r.log:  # Germany's client catches up and takes its part
        germany.receive(payload, sender)
    r.pump()
    assert b.stage == "open" and waiting_for(b) == "waiting for France, Germany and Italy to vote (0 of 3 voted)"
    r.cores["France"].cast("v", "yes")
    r.pump()
    assert waiting_for(b) == "waiting for Germany and Italy to vote (1 of 3 voted)"
    del r.cores["Germany"], r.cores["France"]  # they leave before decrypting
    r.cores["Chair"].close("v")
    r.pump()
    assert waiting_for(b) == ("tally: waiting for trustees France and Germany to decrypt (1 of the 3 partial "
                              "decryptions needed are in)")
    assert waiting_for(None, ("Absent",), 4) == "waiting for Absent to join the room (1 of the 4 voters and trustees " \
        "not in its roster yet)"
    assert waiting_for(None) == ""
    assert name_list([f"D{i}" for i in range(1, 14)]) == "D1, D2, D3, D4, D5, D6, D7, D8, D9, D10 and 3 more"


def test_vote_cast_command_in_a_secured_room(tmp_path: Path) -> None:
    """``vrdiplomacy vote cast`` as a separate process: Germany's vote counts in the chair's tally."""
    import os

    from vrdiplomacy.crypto import identity as ident

    root_dir = Path(__file__).resolve().parents[2]

    async def main() -> tuple[object, str]:
        pki = Pki()
        de = pki.identity("Germany", "head", "DE")
        ident.write_private_key(tmp_path / "delegation.key", de.signing_key, None)
        ident.write_file(tmp_path / "delegation.crt", ident.cert_pem(de.certificate), 0o644)
        ident.write_file(tmp_path / "ministry.crt", ident.cert_pem(pki.root), 0o644)
        async with EmbeddedRelay() as relay:  # noqa: SIM117 (the members need the relay)
            async with member(relay, pki.root, pki.identity("Chair", "chair", "CH"), "Chair", "seat-0") as ch, \
                    member(relay, pki.root, pki.identity("France", "head"), "France", "seat-1") as fr:
                await until(lambda: codes_agree([ch, fr]), 20, "two members keyed")
                proc = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "vrdiplomacy", "vote", "cast", "item-1/1", "no", "--relay",
                    f"{relay.host}:{relay.port}", "--fingerprint", relay.fingerprint, "--seat", "seat-2",
                    "--dir", str(tmp_path), "--root", str(tmp_path / "ministry.crt"), "--timeout", "60",
                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
                    env={**os.environ, "PYTHONPATH": str(root_dir)})
                for x in (ch, fr):
                    assert x.task is not None
                    x.task.cancel()
                m = Manifest("item-1/1", "1", "Adopt the agenda?", voters=("France", "Germany"),
                             trustees=("Chair", "France"), threshold=2, chair="Chair")
                try:
                    chair, _ = await asyncio.gather(
                        run_live(ch.client, ch.secure, "Chair", LiveVote("item-1/1", manifest=m, timeout=60), print),
                        run_live(fr.client, fr.secure, "France", LiveVote("item-1/1", choice="yes", timeout=60), print))
                finally:
                    out, _ = await asyncio.wait_for(proc.communicate(), 60)
                    print(out.decode())
                assert proc.returncode == 0, out.decode()
                return chair, out.decode()

    chair, out = asyncio.run(main())
    assert chair is not None and chair.counts == (1, 1, 0)  # type: ignore[attr-defined]
    assert "ballot of Germany accepted" in out and "result yes 1, no 1, abstain 0" in out
