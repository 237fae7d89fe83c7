"""Fuzz: 100 000 random and mutated datagrams and control frames into the sans-I/O cores."""

from __future__ import annotations

import random
import time

from vrdiplomacy.net import wire
from vrdiplomacy.net.client_core import RoomEventReceived
from mutators import mutate
from netpump import Pump

N_INPUTS = 100_000


def test_fuzz_relay_and_client_cores_keep_running_and_count_drops() -> None:
    rng = random.Random(20240601)
    pm = Pump()
    a, b = pm.add("alice", "s1"), pm.add("bob", "s2")
    pm.run(0.3)
    for p, x in ((a, 0), (b, 100)):
        p.core.send_pose_frame(wire.PoseFrame(True, 1, (x, 160, 0), b"p" * 26))
    pm.run(0.3)
    relay = pm.relay
    # valid material to mutate
    a.core.send_voice(wire.level_byte(-20, True), b"v" * 90)
    a.core.send_pose_frame(wire.PoseFrame(False, 2, (0, 160, 0), b"p" * 26))
    good_up = a.core.datagrams_to_send(pm.now)
    good_ctl = [m.frame() for m in (wire.Event(99, b"x"), wire.Ping(1), wire.Floor(True), wire.Join("plenary", "s1"),
                                    wire.Hello("eve", "s7", "plenary"))]
    b.core.send_voice(wire.level_byte(-20, True), b"w" * 90)
    for d in b.core.datagrams_to_send(pm.now):
        relay.receive_datagram(d, b.addr, pm.now)
    good_down = [d for d, addr, _, _ in relay.to_send(pm.now).datagrams if addr == a.addr]
    good_down_ctl = [m.frame() for m in (wire.RoomEvent(1, 2, b"x"), wire.Presence(5, 1, "x", "y"), wire.Ack(3))]
    assert good_up and good_down

    fuzz_conn = 9999
    relay.connection_made(fuzz_conn, pm.now)
    t0 = time.perf_counter()
    for i in range(N_INPUTS):
        kind = i % 4
        if kind == 0:
            relay.receive_datagram(mutate(rng, rng.choice(good_up)), ("127.0.0.1", 50000 + i % 7), pm.now)
        elif kind == 1:
            a.core.receive_datagram(mutate(rng, rng.choice(good_down)), pm.now)
        elif kind == 2:
            if fuzz_conn not in relay.conns or relay.input_backlog(fuzz_conn) or i % 200 == 2:
                # closed for a bad frame, or stuck on a partial frame: a new connection
                relay.connection_lost(fuzz_conn, pm.now)
                fuzz_conn += 1
                relay.connection_made(fuzz_conn, pm.now)
            relay.receive_stream(fuzz_conn, mutate(rng, rng.choice(good_ctl)), pm.now)
        else:
            frame = mutate(rng, rng.choice(good_down_ctl))
            b.core.receive(frame, pm.now)
            if b.core.want_close:  # a real adapter would drop the link; the core resumes
                pm.drop(b)
                pm.connect(b)
        pm.now += 0.0002  # 20 s of relay time over the run, so budgets refill
        if i % 1000 == 0:
            relay.to_send(pm.now)
            pm.step(0.001)
    elapsed = time.perf_counter() - t0
    assert elapsed < 30.0, f"{N_INPUTS} inputs took {elapsed:.1f} s"

    rc, ac = relay.counters, a.core.counters
    assert rc.dropped_total > 20_000
    assert rc.dropped_auth + rc.dropped_replay > 5_000 and rc.dropped_malformed > 1_000
    assert rc.control_malformed + rc.control_unknown + rc.control_unexpected > 1_000
    assert ac.dropped_auth + ac.dropped_replay + ac.dropped_malformed + ac.dropped_unknown > 15_000
    bc = b.core.counters  # bad frames are dropped, or (broken framing) reset the link, which resumes
    assert bc.control_malformed + bc.control_unknown + bc.control_unexpected + bc.reconnects > 1_000
    # still fully working afterwards: a newcomer sees alice and gets her event
    pm.run(0.5)
    c = pm.add("carol", "s3")
    pm.run(0.3)
    a.core.send_event(b"still-alive")
    pm.run(0.3)
    assert b"still-alive" in [e.payload for e in pm.of(c, RoomEventReceived)]
    assert a.core.client_id in c.core.members and a.core.state == "connected"
