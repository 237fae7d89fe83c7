"""A secret vote over the real relay on loopback, in a secured room (real TLS, real end-to-end
sealing and signatures): every member computes the tally, and a capture of every byte the relay
application sees holds no vote message, no ballot and no choice."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "e2ee"))

from harness import Member, Pki, RelayTap, codes_agree, member, until

from vrdiplomacy.ballot import wire
from vrdiplomacy.ballot.election import Manifest
from vrdiplomacy.ballot.protocol import VoteCore
from vrdiplomacy.net.relay_server import EmbeddedRelay

QUESTION = "Adopt draft resolution L.12 on fisheries in the Eastern Atlantic?"


def windows(data: bytes, n: int = 8) -> list[bytes]:
    return [data[i:i + n] for i in range(len(data) - n + 1) if len(set(data[i:i + n])) >= 5]


class Voter:
    """A member's vote core fed from its opened, verified room events."""

    def __init__(self, m: Member) -> None:
        self.m = m
        self.core = VoteCore(m.name, lambda s: s == "Chair")
        self.seen = 0
        self.sent: list[bytes] = []

    def step(self) -> None:
        for ev in self.m.events[self.seen:]:
            if ev.stream == wire.STREAM:
                assert ev.verified_sender, "a vote event without a verified sender"
                self.core.receive(ev.payload, ev.verified_sender, 0.0)
        self.seen = len(self.m.events)
        for stream, payload in self.core.data_to_send():
            self.sent.append(payload)
            self.m.client.send_event(payload, stream=stream)


def test_relay_sees_no_ballot_and_members_agree_on_the_tally() -> None:
    async def main() -> tuple[list[Voter], RelayTap]:
        pki = Pki()
        async with EmbeddedRelay() as relay:
            tap = RelayTap(relay)
            try:
                async with member(relay, pki.root, pki.identity("Chair", "chair", "CH"), "Chair", "seat-0") as ch, \
                        member(relay, pki.root, pki.identity("France", "head"), "France", "seat-1") as fr, \
                        member(relay, pki.root, pki.identity("Germany", "head", "DE"), "Germany", "seat-2") as de, \
                        member(relay, pki.root, pki.identity("Italy", "head", "IT"), "Italy", "seat-3") as it:
                    ms = [ch, fr, de, it]
                    await until(lambda: codes_agree(ms), 20, "the same room code on 4 clients")
                    vs = [Voter(m) for m in ms]

                    async def settle(pred, what: str) -> None:  # type: ignore[no-untyped-def]
                        async def loop() -> None:
                            while not pred():
                                for v in vs:
                                    v.step()
                                await asyncio.sleep(0.01)
                        await asyncio.wait_for(loop(), 20)

                    vs[0].core.open(Manifest("item-7/1", "7", QUESTION, voters=("France", "Germany", "Italy"),
                                             trustees=("Chair", "France", "Germany"), threshold=2, chair="Chair"))
                    await settle(lambda: all(v.core.boards.get("item-7/1") and v.core.boards["item-7/1"].stage == "open"
                                             for v in vs), "the key ceremony")
                    for v, choice in zip(vs[1:], ("yes", "no", "yes")):
                        v.core.cast("item-7/1", choice)
                    await settle(lambda: all(len(v.core.boards["item-7/1"].ballots) == 3 for v in vs), "three ballots")
                    vs[0].core.close("item-7/1")
                    await settle(lambda: all(v.core.result("item-7/1") is not None for v in vs), "the tally")
                    return vs, tap
            finally:
                tap.close()

    vs, tap = asyncio.run(main())
    for v in vs:
        res = v.core.result("item-7/1")
        assert res is not None and res.counts == (2, 1, 0)
        assert not v.core.boards["item-7/1"].rejected
    sent = [p for v in vs for p in v.sent]
    assert len(sent) == 1 + 3 + 3 + 3 + 1 + 3  # open, commits, shares, ballots, close, partials
    blob = tap.blob()
    grams: set[bytes] = set()
    for c in tap.chunks:
        grams.update(c[i:i + 8] for i in range(len(c) - 7))
    # member names are no secret to the relay (it routes them: the join carries them); a vote
    # message's pieces that are only a length-prefixed name are not counted as a leak
    names = [len(n).to_bytes(2, "big") + n.encode() for n in ("Chair", "France", "Germany", "Italy")]
    for p in sent + [QUESTION.encode()]:
        assert p not in blob
        leaked = [w for w in windows(p) if w in grams and not any(w in n for n in names)]
        assert not leaked, f"{len(leaked)} 8-byte pieces of a vote message visible to the relay"
    # nor by size: a ballot's length depends on its voter's name only (France and Italy voted yes,
    # Germany no), so its sealed event says nothing of the choice
    ballots = {wire.parse(p).ballot.voter: p for p in sent if p[2] == wire.BALLOT}  # type: ignore[union-attr]
    assert len({len(p) - len(v.encode()) for v, p in ballots.items()}) == 1
    assert tap.events and not any(p in ballots.values() for _, p in tap.events)
