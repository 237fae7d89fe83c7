"""A federated reception's door under load: N guests with one-time passes arrive at once on two
relay nodes joined by a 3-node NATS cluster (loopback), then every pass is shown again at the
other node.

    python tools/bench/reception_door.py --guests 200 --capacity 100

Starts the cluster and two ``vrdiplomacy relay --nats`` processes (the federation tests'
:mod:`fedcluster`), a host on node 1 and a co-host on node 2 (``vrdiplomacy.net.client_io``
clients over TLS). Guest ``i`` enters at node ``i % 2``; all start together. Reported: admission
time (Hello to Welcome, the claim's round trip through JetStream included) and time to the guest's
place, p50/p99/max; the places given (each hall/line number and each waiting number exactly once);
whether both hosts see the same line; and the second showing of every pass (all must be refused).
Bounded: at most 400 guests.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "federation"))

from fedcluster import NatsCluster, RelayNode

from vrdiplomacy.crypto import identity as ident
from vrdiplomacy.errors import VrdError
from vrdiplomacy.net.client_core import ClientSettings
from vrdiplomacy.net.client_io import Client
from vrdiplomacy.reception import wire as rw
from vrdiplomacy.reception.passes import PassAdmission, ReceptionPass

ROOM = "embassy"


class Person:
    def __init__(self, node: RelayNode, name: str, adm: PassAdmission) -> None:
        self.c = Client("127.0.0.1", node.port, node.fingerprint, name, "", ROOM, ClientSettings(admission=adm),
                        connect_timeout=30.0)
        self.status: rw.ReceptionStatus | None = None
        self.line: rw.GreetingLine | None = None
        self.t_welcome = self.t_place = 0.0
        self.task: asyncio.Task[None] | None = None

    async def start(self, t0: float) -> None:
        await self.c.start()
        self.t_welcome = time.monotonic() - t0
        self.task = asyncio.create_task(self._read(t0))

    async def _read(self, t0: float) -> None:
        async for e in self.c:
            if isinstance(e, rw.ReceptionStatus):
                if self.status is None:
                    self.t_place = time.monotonic() - t0
                self.status = e
            elif isinstance(e, rw.GreetingLine):
                self.line = e


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000 if xs else float("nan")


async def scenario(nodes: list[RelayNode], n: int, capacity: int) -> None:
    now = time.time()
    root_key, root = ident.create_ministry_root("Protocol", "SE", now - 60, scope=[ident.ANY_COUNTRY])
    key, csr = ident.create_delegation_request("Sweden", "SE")
    hc = ident.issue_delegation(csr, root_key, root, "host", now - 60)

    def host_pass(name: str) -> PassAdmission:
        return PassAdmission(ReceptionPass.create(ROOM, hc, key, name, now, role="host", guest_cert=hc), key)

    codes = [PassAdmission(ReceptionPass.create(ROOM, hc, key, f"Guest {i:03d}", now)) for i in range(n)]
    people: list[Person] = []
    try:
        host, cohost = Person(nodes[0], "Ambassador", host_pass("Ambassador")), Person(nodes[1], "Consul", host_pass("Consul"))
        for p in (host, cohost):
            await p.start(time.monotonic())
            people.append(p)
        host.c.core.send_control(rw.ReceptionConfig(capacity))
        while cohost.line is None or cohost.line.capacity != capacity:
            await asyncio.sleep(0.02)
        guests = [Person(nodes[i % 2], f"Guest {i:03d}", codes[i]) for i in range(n)]
        t0 = time.monotonic()
        res = await asyncio.gather(*(g.start(t0) for g in guests), return_exceptions=True)
        failed = [r for r in res if isinstance(r, BaseException)]
        people += [g for g, r in zip(guests, res, strict=True) if not isinstance(r, BaseException)]
        end = time.monotonic() + 30
        while time.monotonic() < end and not all(g.status is not None for g in people[2:]):
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # the last counts
        admitted = people[2:]
        w = [g.t_welcome for g in admitted]
        pl = [g.t_place for g in admitted if g.status is not None]
        print(f"{n} guests at once on 2 nodes (capacity {capacity}): {len(admitted)} admitted, {len(failed)} failed"
              + (f" ({failed[0]})" if failed else ""))
        print(f"  admission (Hello to Welcome): p50 {pct(w, .5):.0f} ms, p99 {pct(w, .99):.0f} ms, max {max(w) * 1000:.0f} ms")
        print(f"  place told: p50 {pct(pl, .5):.0f} ms, p99 {pct(pl, .99):.0f} ms, max {max(pl) * 1000:.0f} ms")
        lines = sorted(g.status.position for g in admitted if g.status and g.status.where == rw.LINE)
        waits = sorted(g.status.position for g in admitted if g.status and g.status.where == rw.WAITING)
        print(f"  places: line 1..{len(lines)} each once: {lines == list(range(1, len(lines) + 1))}; "
              f"waiting 1..{len(waits)} each once: {waits == list(range(1, len(waits) + 1))}; "
              f"in the hall {len(lines)} (capacity {capacity})")
        same = host.line is not None and cohost.line is not None and host.line.line == cohost.line.line
        print(f"  the hosts on node 1 and node 2 see the same line: {same} ({len(host.line.line) if host.line else 0} shown)")
        # every pass again, at the other node, all at once
        again = [Person(nodes[(i + 1) % 2], f"Guest {i:03d}", codes[i]) for i in range(n)]
        t1 = time.monotonic()
        res2 = await asyncio.gather(*(g.start(t1) for g in again), return_exceptions=True)
        refused = sum(1 for r in res2 if isinstance(r, VrdError) and "already used" in str(r))
        people += [g for g, r in zip(again, res2, strict=True) if not isinstance(r, BaseException)]
        print(f"  every pass shown again at the other node: {refused} of {n} refused as used, "
              f"{sum(1 for r in res2 if not isinstance(r, BaseException))} admitted, in {time.monotonic() - t1:.2f} s")
    finally:
        for p in people:
            with contextlib.suppress(Exception):
                await p.c.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--guests", type=int, default=200)
    ap.add_argument("--capacity", type=int, default=100)
    a = ap.parse_args()
    n = max(2, min(400, a.guests))
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        cluster = NatsCluster(root)
        nodes = [RelayNode(root, cluster, i) for i in (1, 2)]
        try:
            cluster.start()
            nodes[0].start(cluster.urls)
            nodes[1].start(cluster.urls[1:] + cluster.urls[:1])
            asyncio.run(scenario(nodes, n, a.capacity))
            for r in nodes:
                st = r.stats()
                print(f"  relay-{r.n}: cpu {st.get('cpu_s', 0):.2f} s, reception {st.get('reception', {}).get('federation')}")
        finally:
            for r in nodes:
                with contextlib.suppress(Exception):
                    r.stop()
            cluster.stop()


if __name__ == "__main__":
    main()
