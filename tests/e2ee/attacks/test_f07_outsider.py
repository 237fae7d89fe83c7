"""Finding 7: outsiders got a lot. Without any certificate one could join the relay room, read the
roster (names, countries, roles), head positions to 1 cm and per-frame voice levels, appear as a
second "France", take France's seat and fill the session cap.

A secured room now admits only holders of an invitation signed by its authority (the chair). An
outsider without one gets a refusal and nothing else. Fails on main 3e2635d: there the outsider's
Hello got a Welcome, every member's Presence (names, seats) and then the media key for poses and
voice levels (and main has no invitations at all)."""

from __future__ import annotations

import asyncio
import time

from vrdiplomacy.net import wire
from vrdiplomacy.net.relay_server import EmbeddedRelay
from vrdiplomacy.scene.math3d import Pose

from attacks.secured import admitted, invite, outsider, udp_probe
from harness import Pki, until

import numpy as np


def _no_room_data(cap, names: list[str]) -> None:  # type: ignore[no-untyped-def]
    """The capture holds one refusal (and maybe the challenge), nothing about the room."""
    kinds = {type(f) for f in cap.frames}
    assert kinds <= {wire.Error, wire.Challenge}, kinds
    assert sum(isinstance(f, wire.Error) for f in cap.frames) == 1
    for n in names:
        assert n.encode() not in cap.data, n
    for f in cap.frames:
        assert not isinstance(f, (wire.Welcome, wire.Presence, wire.RoomEvent, wire.FloorState, wire.RosterEnd))
    assert cap.closed_by_relay


def test_an_outsider_gets_a_refusal_and_nothing_else() -> None:
    async def main() -> None:
        pki = Pki()
        chair = pki.identity("Chair", "chair", "CH")
        fr = pki.identity("France", "head", "FR")
        async with EmbeddedRelay() as relay:
            async with admitted(relay, pki, chair, invite(chair, chair, "chair"), "Chair", "B1") as ch, \
                    admitted(relay, pki, fr, invite(chair, fr, "head", seat="A1"), "France", "A1") as fm:
                await until(lambda: ch.secure.code is not None and ch.secure.code == fm.secure.code, 15, "room keyed")
                core = relay.server.core
                stop = asyncio.Event()

                async def talk() -> None:  # France speaks and moves all along
                    i = 0
                    while not stop.is_set():
                        fm.client.send_voice(wire.level_byte(-12.0, True), b"\x01" * 60)
                        fm.client.send_pose(Pose(np.array([1.234, 1.6, -2.5], np.float32)))
                        i += 1
                        await asyncio.sleep(0.02)

                talker = asyncio.create_task(talk())
                names = ["France", "Chair", "A1", "B1"]
                # 1. a plain Hello for the room, as the delegate "France" at France's seat
                cap = await outsider(relay, wire.Hello("France", "A1", "chamber"))
                _no_room_data(cap, names)
                assert "end-to-end encrypted" in cap.frames[0].message  # type: ignore[attr-defined]
                # 2. France's own invitation, captured, without France's key: challenged, proof fails
                stolen = bytes(fm.client.core.admission.invitation)  # type: ignore[union-attr]
                cap = await outsider(relay, wire.Hello("x", "A1", "chamber", invitation=stolen), answer=lambda n: bytes(64))
                _no_room_data(cap, ["Chair", "B1"])
                assert "belongs to another key" in cap.frames[-1].message  # type: ignore[attr-defined]
                # 3. a self-made authority: it gets its own empty room, never this one
                mallory = pki.identity("Mallory", "chair", "CH")
                own = invite(mallory, mallory, "chair")
                cap = await outsider(relay, wire.Hello("x", "", "chamber", invitation=bytes(own.invitation)),
                                     answer=lambda n: own.prove(n, relay.fingerprint), linger=1.0)
                presence = [f for f in cap.frames if isinstance(f, wire.Presence)]
                assert {p.identity for p in presence} == {"Mallory"}  # alone in a room of its own
                assert b"France" not in cap.data and b"Chair" not in cap.data
                # 4. refusals are cheap and leave no session: the cap cannot be filled
                before = len(core.sessions)
                t0 = time.monotonic()
                caps = await asyncio.gather(*(outsider(relay, wire.Hello(f"o{i}", f"S{i:03d}", "chamber"), linger=2.0)
                                              for i in range(40)))
                elapsed = time.monotonic() - t0
                assert all(c.closed_by_relay for c in caps) and len(core.sessions) == before
                assert elapsed < 10, elapsed
                # 5. media: without a Welcome there is no media key; datagrams claiming France's id get nothing
                fr_id = fm.client.client_id
                junk = [bytes(wire.MediaHeader(wire.DG_BIND, fr_id, 1)) + bytes(32),
                        bytes(wire.MediaHeader(wire.DG_VOICE, fr_id, 99)) + bytes(40)]
                assert udp_probe(relay, core.udp_port, junk) == b""
                stop.set()
                await talker
                # the members never saw anyone else
                assert {m.identity for m in ch.client.core.members.values()} == {"Chair", "France"}
                assert core.counters.admissions_refused >= 42

    asyncio.run(main())
