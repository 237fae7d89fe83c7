"""Relays on NATS (issue 18, item 3): a real 3-node NATS cluster with JetStream and real
``vrdiplomacy relay --nats`` processes on loopback; clients (``net.client_io.connect``) on
different nodes of one room.

Everything here is new on main ebabf24 (no ``--nats`` there): each test fails on it."""

from __future__ import annotations

import asyncio
import os
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from fedcluster import ROOT, NatsCluster, RelayNode

from vrdiplomacy.net.client_core import ClientSettings
from vrdiplomacy.net.client_io import Client
from vrdiplomacy.net.client_types import Connected, RoomEventReceived, VoiceReceived
from vrdiplomacy.net.federation_io import stream_config
from vrdiplomacy.net.federation_wire import room_token
from vrdiplomacy.net.relay_state import room_key

ROOM = "federation"
LOUD = 0x80 | 10  # RFC 6464 level byte: voice activity, -10 dBov


def _voice(i: int) -> bytes:
    return struct.pack("!dI", time.monotonic(), i) + bytes(60)


async def _until(pred, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def _client(node: RelayNode, who: str, seat: str, settings: ClientSettings) -> Client:
    c = Client("127.0.0.1", node.port, node.fingerprint, who, seat, ROOM, settings)
    await c.start()
    return c


class Seen:
    """What one client received (read as it arrives, by a task): voice latency per source, room
    events in arrival order, (re)connections."""

    def __init__(self, c: Client) -> None:
        self.c = c
        self.voice: dict[int, list[float]] = {}
        self.events: list[tuple[int, bytes]] = []
        self.connected: list[tuple[float, bool]] = []
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for e in self.c:
            now = time.monotonic()
            if isinstance(e, VoiceReceived):
                sent = struct.unpack_from("!d", e.payload)[0]
                self.voice.setdefault(e.source, []).append(now - sent)
            elif isinstance(e, RoomEventReceived):
                self.events.append((e.room_seq, e.payload))
            elif isinstance(e, Connected):
                self.connected.append((now, e.resumed))


def _check_one_order(seen: list[Seen], sent: dict[str, list[bytes]]) -> list[bytes]:
    """Every client saw the same events, numbered 1..N without a gap, each sent event exactly
    once, each sender's events in the order it sent them; returns that order."""
    orders = [s.events for s in seen]
    for o in orders:
        assert [q for q, _ in o] == list(range(1, len(o) + 1)), "room sequence numbers not 1..N in order"
    first = [p for _, p in orders[0]]
    for o in orders[1:]:
        assert [p for _, p in o] == first, "two clients saw different room orders"
    everything = sorted(p for ps in sent.values() for p in ps)
    assert sorted(first) == everything, f"{len(first)} events in the room, {len(everything)} sent (lost or doubled)"
    for who, ps in sent.items():
        assert [p for p in first if p.startswith(who.encode() + b":")] == ps, f"{who}'s events out of order"
    return first


def test_cross_node_voice_presence_and_one_room_event_order(relays: list[RelayNode]) -> None:
    """Two clients on each of two relay nodes: each hears the other node's speakers (counted, latency
    reported), sees their presence, and all four see every room event once in one order; a space
    move on one node is seen on the other (fails on main 94bf7c4: places never crossed nodes)."""
    r1, r2 = relays
    assert r1.fingerprint == r2.fingerprint  # one certificate for the federation

    async def run() -> str:
        settings = ClientSettings()
        names = {"A": r1, "B": r1, "C": r2, "D": r2}
        clients = {}
        for i, (who, node) in enumerate(names.items()):
            clients[who] = await _client(node, who, f"s{i}", settings)
        seen = {w: Seen(c) for w, c in clients.items()}
        try:
            ids = {c.client_id for c in clients.values()}
            await _until(lambda: all(set(c.members) >= ids for c in clients.values()), 5.0, "everyone's roster on both nodes")
            sent: dict[str, list[bytes]] = {w: [] for w in clients}
            frames = 100  # 2 s of 20 ms frames from A (node 1) and C (node 2)
            for i in range(frames):
                clients["A"].send_voice(LOUD, _voice(i))
                clients["C"].send_voice(LOUD, _voice(i))
                if i % 5 == 0:
                    for w, c in clients.items():
                        p = f"{w}:{i // 5}".encode()
                        c.send_event(p)
                        sent[w].append(p)
                await asyncio.sleep(0.02)
            await _until(lambda: all(not c.core.reliable.unacked for c in clients.values()), 10.0, "every event acknowledged")
            total = sum(map(len, sent.values()))
            for _ in range(200):
                if all(len(s.events) >= total for s in seen.values()):
                    break
                await asyncio.sleep(0.02)
            _check_one_order(list(seen.values()), sent)
            # a space move on node 1 is seen on node 2 (its relay places B there, its clients are told)
            bid = clients["B"].client_id
            clients["B"].place("lounge")
            await _until(lambda: all(c.core.spaces.place_of(bid)[0] == "lounge" for c in clients.values()), 5.0,
                         "B's move to the lounge seen on both nodes")
            a, c = clients["A"].client_id, clients["C"].client_id
            cross = seen["C"].voice.get(a, []) + seen["D"].voice.get(a, []) + seen["A"].voice.get(c, []) + seen["B"].voice.get(c, [])
            local = seen["B"].voice.get(a, []) + seen["D"].voice.get(c, [])
            assert len(cross) >= 0.95 * 4 * frames, f"cross-node voice: {len(cross)} of {4 * frames} frames delivered"
            assert len(local) >= 0.95 * 2 * frames
            xs, ls = np.array(cross) * 1000, np.array(local) * 1000
            p50, p99 = np.percentile(xs, 50), np.percentile(xs, 99)
            assert p99 < 100, f"cross-node voice p99 {p99:.1f} ms"
            st1 = r1.stats().get("federation", {})
            # batching: one NATS message per room and wake-up, never one per receiver
            assert 0 < st1.get("batches_out", 0) <= st1.get("entries_out", 0) <= frames + 5
            assert st1.get("room_link", {}).get("up") and st1["room_link"]["published"] > 0  # room traffic on the node's own link
            return (f"cross-node voice: {len(cross)}/{4 * frames} frames, p50 {p50:.2f} ms, p99 {p99:.2f} ms; "
                    f"same node: {len(local)}/{2 * frames}, p50 {np.percentile(ls, 50):.2f} ms, p99 {np.percentile(ls, 99):.2f} ms; "
                    f"{total} room events in one order on 4 clients; node 1: {st1.get('batches_out')} media batches "
                    f"for {st1.get('entries_out')} entries")
        finally:
            for cl in clients.values():
                await cl.close()

    print("\n" + asyncio.run(run()))


def test_nats_refuses_whoever_has_no_node_credentials(nats_cluster: NatsCluster, tmp_path: Path) -> None:
    """No user (or a wrong password) at NATS: refused; a relay user may use only vrd.> (and JetStream);
    a relay started without credentials stops with a one-line error."""
    import nats
    from nats.errors import Error as NatsError

    async def run() -> list[str]:
        for kw in ({}, {"user": "relay-1", "password": "wrong"}):
            with pytest.raises((NatsError, OSError, asyncio.TimeoutError)) as ei:
                nc = await nats.connect(nats_cluster.urls[0], connect_timeout=2, max_reconnect_attempts=0,
                                        allow_reconnect=False, **kw)
                await nc.close()
            assert "authorization" in str(ei.value).lower() or "authorization" in repr(ei.value).lower()
        errors: list[str] = []

        async def on_error(e: Exception) -> None:
            errors.append(str(e))

        nc = await nats.connect(nats_cluster.urls[0], user="relay-1", password=nats_cluster.password(1), error_cb=on_error,
                                max_reconnect_attempts=0)
        try:
            await nc.publish("vrd.room.x.voice", b"ok")
            await nc.publish("elsewhere.secrets", b"no")
            await nc.subscribe("elsewhere.>")
            await nc.flush()
            await _until(lambda: len(errors) >= 2, 3.0, "two permission violations")
        finally:
            await nc.close()
        return errors

    errors = asyncio.run(run())
    assert all("permissions violation" in e.lower() for e in errors), errors
    assert any("elsewhere.secrets" in e for e in errors) and any("elsewhere.>" in e for e in errors)
    r = subprocess.run(["nice", sys.executable, "-m", "vrdiplomacy", "relay", "--listen", "127.0.0.1:0", "--state-dir",
                        str(tmp_path / "nocreds"), "--nats", nats_cluster.urls[0]], capture_output=True, text=True,
                       timeout=60, cwd=str(ROOT), env=dict(os.environ, PYTHONPATH=str(ROOT)), check=False)
    assert r.returncode != 0
    # NATS answers -ERR 'Authorization Violation' and closes; the client may see the close first
    assert "error: cannot join the federation" in r.stderr and ("Authorization" in r.stderr
                                                                or "reset by peer" in r.stderr), r.stderr
    assert "Traceback" not in r.stderr


def test_kill_nats_node_and_relay_node_clients_fail_over_within_2s_no_acked_event_lost(
        tmp_path: Path, nats_cluster: NatsCluster) -> None:
    """Mid-session, kill -9 the NATS server relay 1 is connected to (the leader of the room's event
    stream) and the whole relay node 2:
    relay 1 moves to another NATS server, the clients of relay 2 reconnect to relay 1 within 2 s
    and resume (same client id), every acknowledged room event is in the room once, and every
    client sees one order."""
    r1, r2 = RelayNode(tmp_path, nats_cluster, 1), RelayNode(tmp_path, nats_cluster, 2)
    leader = asyncio.run(_room_stream_leader(nats_cluster))
    urls = nats_cluster.urls
    first = urls[leader:] + urls[:leader]  # relay 1 talks to the NATS server leading the room's stream
    try:
        r1.start(first)
        r2.start(first[1:] + first[:1])
        report = asyncio.run(_failover(r1, r2, nats_cluster, leader))
    finally:
        r1.stop()
        r2.stop()
    print("\n" + report)


async def _room_stream_leader(cluster: NatsCluster) -> int:
    """Make the room's stream (as a relay would) and return which NATS server (0-based) leads it."""
    import nats

    nc = await nats.connect(cluster.urls, user="relay-1", password=cluster.password(1))
    try:
        js = nc.jetstream(timeout=5.0)
        info = await js.add_stream(stream_config(room_token(room_key(ROOM, "")), 3))
        for _ in range(50):
            if info.cluster is not None and info.cluster.leader:
                return int(info.cluster.leader.rsplit("-", 1)[1]) - 1
            await asyncio.sleep(0.1)
            info = await js.stream_info(info.config.name)
        raise AssertionError("the room's stream has no leader")
    finally:
        await nc.close()


async def _failover(r1: RelayNode, r2: RelayNode, cluster: NatsCluster, leader: int) -> str:
    nodes = (("127.0.0.1", r1.port), ("127.0.0.1", r2.port))
    settings = ClientSettings(relays=nodes, reconnect_max=0.5)
    where = {"A": r1, "B": r1, "C": r2, "D": r2}
    clients = {}
    for i, (who, node) in enumerate(where.items()):
        clients[who] = await _client(node, who, f"s{i}", settings)
    seen = {w: Seen(c) for w, c in clients.items()}
    sent: dict[str, list[bytes]] = {w: [] for w in clients}
    try:
        ids = {w: c.client_id for w, c in clients.items()}
        await _until(lambda: all(set(c.members) >= set(ids.values()) for c in clients.values()), 5.0, "rosters")
        stop = asyncio.Event()

        async def talk(who: str, c: Client) -> None:
            n = 0
            while not stop.is_set():
                p = f"{who}:{n}".encode()
                c.send_event(p)  # queued while disconnected, re-sent on the resume
                sent[who].append(p)
                n += 1
                c.send_voice(LOUD, _voice(n))
                await asyncio.sleep(0.05)

        tasks = [asyncio.create_task(talk(w, c)) for w, c in clients.items()]
        await asyncio.sleep(1.5)
        t_kill = time.monotonic()
        cluster.kill(leader)  # relay 1's NATS server, the leader of the room's stream
        r2.kill()  # relay node 2 and its clients' connections
        await _until(lambda: all(clients[w].connected and any(t > t_kill for t, _r in seen[w].connected) for w in "CD"),
                     5.0, "C and D to resume on relay 1")
        failover = {w: min(t for t, _r in seen[w].connected if t > t_kill) - t_kill for w in "CD"}
        assert all(r for w in "CD" for t, r in seen[w].connected if t > t_kill), "C and D must resume, not start anew"
        assert {clients[w].client_id for w in clients} == set(ids.values()), "client ids kept across the failover"
        assert max(failover.values()) <= 2.0, f"failover took {failover}"
        await asyncio.sleep(2.0)  # traffic goes on through relay 1 and the surviving NATS servers
        stop.set()
        await asyncio.gather(*tasks)
        await _until(lambda: all(not c.core.reliable.unacked for c in clients.values()), 15.0, "every event acknowledged")
        total = sum(map(len, sent.values()))
        for _ in range(500):
            if all(len(s.events) >= total for s in seen.values()):
                break
            await asyncio.sleep(0.02)
        order = _check_one_order(list(seen.values()), sent)
        fed = r1.stats().get("federation", {})
        assert fed.get("reconnects", 0) >= 1, "relay 1 should have moved to another NATS server"
        after = sum(1 for s in seen["A"].voice.get(ids["C"], []))
        assert after > 0
        return (f"failover: C {failover['C'] * 1000:.0f} ms, D {failover['D'] * 1000:.0f} ms after kill -9 of relay 2 "
                f"(and of the stream's leader, NATS server {leader + 1}); {len(order)} room events, all acknowledged, one order on 4 clients; "
                f"relay 1: {fed.get('reconnects')} NATS reconnection(s), {fed.get('event_retries')} event publish retries")
    finally:
        for cl in clients.values():
            await cl.close(leave=False)
