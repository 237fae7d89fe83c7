"""The end-to-end room sealer is a sans-I/O part of the client core: the core's timer runs its
periodic key/signature flush (no task of its own), in the core's clock."""

from __future__ import annotations

import asyncio
import time

from vrdiplomacy.crypto.identity import ANY_COUNTRY, create_delegation_request, create_ministry_root, issue_delegation
from vrdiplomacy.crypto.session import LocalIdentity
from vrdiplomacy.net import wire
from vrdiplomacy.net.client_core import ClientCore
from vrdiplomacy.net.client_io import connect
from vrdiplomacy.net.relay_server import EmbeddedRelay
from vrdiplomacy.net.secure import SecureRoom


class Part:
    def __init__(self, first: float) -> None:
        self.at: float | None = first
        self.ran: list[float] = []

    def next_timer(self) -> float | None:
        return self.at

    def handle_timer(self, now: float) -> None:
        self.ran.append(now)
        self.at = now + 0.05


def _connected_core() -> ClientCore:
    core = ClientCore("France", "s1", "chamber")
    core.connect(0.0)
    core.receive(wire.Welcome(7, bytes(20), bytes(32), 9000, 1, 0, 0, 2000, False).frame(), 0.0)
    assert core.state == "connected"
    return core


def test_a_plugged_part_runs_on_the_core_timer_in_the_core_clock() -> None:
    core = _connected_core()
    part = Part(0.3)
    core.plug(part)
    core.plug(part)  # once only
    assert core.timer() == 0.0  # the media bind is due at once
    core.handle_timer(0.0)
    assert core.timer() == 0.2 and part.ran == []  # bind retry before the part
    core.handle_timer(0.2)
    assert core.timer() == 0.3 and part.ran == []
    core.handle_timer(0.3)
    assert part.ran == [0.3] and part.at == 0.35
    core.unplug(part)
    core.handle_timer(1.0)
    assert part.ran == [0.3]
    # idle (link lost): parts wait for the next session; the timer is the reconnect time
    core.plug(part)
    core.connection_lost(1.5)
    core.handle_timer(1.6)
    assert part.ran == [0.3] and core.timer() == core.reconnect_at


def test_secure_room_has_no_task_and_its_flush_follows_the_client_timer() -> None:
    async def main() -> None:
        rk, root = create_ministry_root("Ministry", "FR", time.time(), scope=[ANY_COUNTRY])
        key, csr = create_delegation_request("Chair", "CH")
        me = LocalIdentity(issue_delegation(csr, rk, root, "chair", time.time() - 60), key)
        clock = {"t": time.time()}
        room = SecureRoom("chamber", me, [root], clock=lambda: clock["t"])
        tasks_before = len(asyncio.all_tasks())
        async with EmbeddedRelay() as relay:
            async with connect(relay.host, relay.port, relay.fingerprint, "Chair", "s0", sealer=room) as c:
                assert room in c.core._parts
                # the client's own I/O task only: the sealer added none (the relay runs its own)
                assert not any("tick" in repr(t.get_coro()) for t in asyncio.all_tasks())
                loop = asyncio.get_running_loop()
                t0 = loop.time()
                nt = room.next_timer()
                assert nt is not None and nt <= t0 + room.s.tick_s + 0.01  # in the loop's clock
                await asyncio.sleep(0.3)
                assert room.next_timer() > t0  # type: ignore[operator]  # it ran, and rescheduled itself
                assert room.member and room.code is not None
            assert room not in c.core._parts and room.next_timer() is None  # detached on close
        assert len(asyncio.all_tasks()) <= tasks_before

    asyncio.run(main())
