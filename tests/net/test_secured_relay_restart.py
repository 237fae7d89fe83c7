"""A secured room (invitations, end-to-end encryption) across ``kill -9`` of a real relay: the
relay stores the sealed events opaquely, members resume with their invitations proven again, and
every signed event sent before, during and after the outage is opened once, in order, by every
other member (issue 19)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from pathlib import Path

import pytest

from vrdiplomacy.crypto.admission import Admission, Invitation, self_admission
from vrdiplomacy.net.client_core import ClientSettings, RoomEventReceived
from vrdiplomacy.net.client_io import Client, connect
from vrdiplomacy.net.secure import SecureRoom, SecureSettings

from test_relay_restart_events import Relay, _free_port, _until

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2ee"))
from harness import Pki  # noqa: E402

NAMES = (("Chair", "chair", "CH", "B1"), ("France", "head", "FR", "A1"), ("Germany", "head", "DE", "A2"))
PER_MEMBER = 12


@pytest.mark.slow
def test_secured_room_events_survive_relay_kill_9(tmp_path: Path) -> None:
    relay = Relay(tmp_path / "state", _free_port())
    relay.start()
    try:
        asyncio.run(_run(relay))
    finally:
        if relay.proc is not None and relay.proc.poll() is None:
            relay.proc.kill()
            relay.proc.wait()


async def _run(relay: Relay) -> None:
    pki = Pki()
    ids = {name: pki.identity(name, role, cc) for name, role, cc, _ in NAMES}
    chair = ids["Chair"]
    got: dict[str, list[tuple[str, bytes]]] = {name: [] for name, *_ in NAMES}
    secs: dict[str, SecureRoom] = {}
    async with contextlib.AsyncExitStack() as stack:
        clients: dict[str, Client] = {}
        for name, role, _cc, seat in NAMES:
            me = ids[name]
            adm = (self_admission(chair.certificate, chair.signing_key, "chamber", time.time()) if role == "chair" else
                   Admission(Invitation.create("chamber", chair.certificate, chair.signing_key, me.certificate, role,
                                               time.time(), seat, 1.0), me.signing_key))
            sec = secs[name] = SecureRoom("chamber", me, [pki.root], SecureSettings(role=adm.role), authority=adm.invitation)
            clients[name] = await stack.enter_async_context(connect(
                "127.0.0.1", relay.port, relay.fp, name.lower(), seat, room="chamber", sealer=sec, admission=adm,
                settings=ClientSettings(reconnect_max=0.5)))

        async def pump(name: str, c: Client) -> None:
            async for ev in c:
                if isinstance(ev, RoomEventReceived) and ev.stream == "gesture":
                    got[name].append((ev.verified_sender, ev.payload))

        tasks = [asyncio.create_task(pump(n, c)) for n, c in clients.items()]

        def keyed() -> bool:
            codes = {s.code for s in secs.values()}
            return len(codes) == 1 and None not in codes and all(len(s.members()) == 3 for s in secs.values())

        await _until(keyed, 20, "the room keyed")
        code_before = secs["Chair"].code
        ids_before = {n: c.client_id for n, c in clients.items()}

        async def send(name: str) -> None:
            for k in range(PER_MEMBER):
                clients[name].send_event(b"%s gesture %d" % (name.encode(), k), stream="gesture")
                await asyncio.sleep(0.05)

        senders = [asyncio.create_task(send(n)) for n, *_ in NAMES]
        await asyncio.sleep(0.05 * PER_MEMBER / 3)
        relay.kill()
        await asyncio.sleep(0.3)
        relay.start()
        await asyncio.gather(*senders)
        want = {n: [(n, b"%s gesture %d" % (n.encode(), k)) for k in range(PER_MEMBER)] for n, *_ in NAMES}
        await _until(lambda: all(len(g) >= 3 * PER_MEMBER for g in got.values()) and keyed(), 30,
                     "every gesture opened by every member")
        await asyncio.sleep(0.5)
        for name, g in got.items():
            for sender, w in want.items():
                # each member opened each sender's events exactly once, in the order they were sent
                assert [x for x in g if x[0] == sender] == w, (name, sender)
        assert all(c.payload_rejected == 0 for c in clients.values())
        assert secs["Chair"].code is not None and code_before is not None
        ids_after = {n: c.client_id for n, c in clients.items()}
        assert all(c.connected for c in clients.values()) and ids_after == ids_before  # resumed, not re-admitted
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        relay.kill()
