"""A reception on two ``vrdiplomacy relay --nats`` processes of a real 3-node NATS cluster with
JetStream on loopback (the federation tests' :mod:`fedcluster`): clients on both nodes over TLS.

Fails on main 94bf7c4 (no receptions) and on the branch's earlier reception work (877af11): there
each node kept its own door and line, so the same one-time pass entered once on each node."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "federation"))

from fedcluster import NatsCluster, RelayNode

from vrdiplomacy.errors import VrdError
from vrdiplomacy.net.client_core import ClientSettings
from vrdiplomacy.net.client_io import Client
from vrdiplomacy.reception import wire as rw
from vrdiplomacy.reception.passes import PassAdmission, ReceptionPass

ROOM = "embassy"


@pytest.fixture
def two_nodes(tmp_path: Path) -> Iterator[list[RelayNode]]:
    cluster = NatsCluster(tmp_path)
    nodes = [RelayNode(tmp_path, cluster, n) for n in (1, 2)]
    try:
        cluster.start()
        nodes[0].start(cluster.urls)
        nodes[1].start(cluster.urls[1:] + cluster.urls[:1])
        yield nodes
    finally:
        for r in nodes:
            with contextlib.suppress(Exception):
                r.stop()
        cluster.stop()


class Guest:
    """A client on a node, and what it was told of the reception."""

    def __init__(self, node: RelayNode, name: str, adm: PassAdmission) -> None:
        self.name = name
        self.c = Client("127.0.0.1", node.port, node.fingerprint, name, "", ROOM, ClientSettings(admission=adm))
        self.status: rw.ReceptionStatus | None = None
        self.line: rw.GreetingLine | None = None
        self.greeted: list[str] = []
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> Guest:
        await self.c.start()
        self.task = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        async for e in self.c:
            if isinstance(e, rw.ReceptionStatus):
                self.status = e
            elif isinstance(e, rw.GreetingLine):
                self.line = e
            elif isinstance(e, rw.Greeted):
                self.greeted.append(e.guest)

    async def close(self) -> None:
        await self.c.close()


async def _until(pred, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def test_one_door_one_line_one_capacity_across_relay_nodes(pki, two_nodes: list[RelayNode]) -> None:  # type: ignore[no-untyped-def]
    r1, r2 = two_nodes
    hk, hc = pki.host

    def code(name: str) -> PassAdmission:
        return PassAdmission(ReceptionPass.create(ROOM, hc, hk, name, pki.now))

    def host_pass(name: str) -> PassAdmission:
        return PassAdmission(ReceptionPass.create(ROOM, hc, hk, name, pki.now, role="host", guest_cert=hc), hk)

    ada = code("Ada")

    async def run() -> dict[str, object]:
        out: dict[str, object] = {}
        people: list[Guest] = []
        try:
            host = await Guest(r1, "Ambassador", host_pass("Ambassador")).start()
            cohost = await Guest(r2, "Consul", host_pass("Consul")).start()
            people += [host, cohost]
            host.c.core.send_control(rw.ReceptionConfig(2))
            await _until(lambda: cohost.line is not None and cohost.line.capacity == 2, 10.0, "the capacity on node 2")
            # the same one-time pass at both nodes' doors at the same moment
            a1, a2 = Guest(r1, "Ada", ada), Guest(r2, "Ada", ada)
            t0 = time.monotonic()
            res = await asyncio.gather(a1.start(), a2.start(), return_exceptions=True)
            out["claim_s"] = time.monotonic() - t0
            out["ada"] = res
            winner = next(g for g, r in zip((a1, a2), res, strict=True) if not isinstance(r, BaseException))
            people.append(winner)
            # guests alternate between the nodes: one line, one count, one waiting area
            for name, node in (("Bea", r2), ("Cem", r1), ("Dan", r2)):
                people.append(await Guest(node, name, code(name)).start())
            guests = {g.name: g for g in people[2:]}
            await _until(lambda: all(g.status is not None for g in guests.values()), 10.0, "every guest's place")
            await _until(lambda: host.line is not None and cohost.line is not None and host.line.waiting == 2
                         and cohost.line.waiting == 2, 10.0, "the hosts' lines")
            out["where"] = {n: (g.status.where, g.status.position, g.status.waiting) for n, g in guests.items()}  # type: ignore[union-attr]
            out["lines"] = ([n for _c, n in host.line.line], [n for _c, n in cohost.line.line])  # type: ignore[union-attr]
            # the host on node 1 greets the first in line (on node 1); a guest on node 2 hears it
            host.c.core.send_control(rw.Greet())
            await _until(lambda: guests["Bea"].greeted == ["Ada"] and cohost.line is not None
                         and [n for _c, n in cohost.line.line] == ["Bea"], 10.0, "the greeting on node 2")
            # Ada (node 1) leaves: Cem (node 1) enters the hall, Dan (node 2) moves up
            await guests["Ada"].close()
            await _until(lambda: guests["Cem"].status.where == rw.LINE and guests["Dan"].status.position == 1,  # type: ignore[union-attr]
                         10.0, "the waiting area moving up across nodes")
            out["after"] = [n for _c, n in cohost.line.line]  # type: ignore[union-attr]
        finally:
            for g in people:
                with contextlib.suppress(Exception):
                    await g.close()
        return out

    out = asyncio.run(run())
    errors = [r for r in out["ada"] if isinstance(r, BaseException)]  # type: ignore[attr-defined]
    assert len(errors) == 1, f"the same one-time pass on two nodes at once: {out['ada']}"
    assert isinstance(errors[0], VrdError) and "already used (by Ada" in str(errors[0])
    assert out["where"] == {"Ada": (rw.LINE, 1, 0), "Bea": (rw.LINE, 2, 0), "Cem": (rw.WAITING, 1, 2),
                            "Dan": (rw.WAITING, 2, 2)}
    assert out["lines"] == (["Ada", "Bea"], ["Ada", "Bea"])
    assert out["after"] == ["Bea", "Cem"]
    # node 2 restarted with its reception state folder gone: the used pass is still refused
    r2.stop()
    (r2.state / "reception.json").unlink()
    r2.start(r2.cluster.urls[1:] + r2.cluster.urls[:1])

    async def again() -> str:
        host = Guest(r1, "Ambassador", host_pass("Ambassador"))
        await host.start()
        try:
            g = Guest(r2, "Ada", ada)
            with pytest.raises(VrdError) as e:
                await g.start()
            return str(e.value)
        finally:
            await host.close()

    assert "already used (by Ada" in asyncio.run(again())
    print(f"\nsame pass on two nodes at once: decided in {out['claim_s']:.3f} s (one admitted, one refused)")
