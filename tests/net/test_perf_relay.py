"""The relay's fast paths keep their promises: bundle size limits, pose hold, incremental routes."""

from __future__ import annotations

import random

from vrdiplomacy.net import wire
from vrdiplomacy.net.client_core import PoseReceived, VoiceReceived
from vrdiplomacy.net.interest import InterestSettings, RoomInterest
from vrdiplomacy.net.ratelimit import PacketBudget
from vrdiplomacy.net.relay_core import RelayCore
from vrdiplomacy.net.relay_media import _cut, _fit, _split
from vrdiplomacy.net.relay_state import RelaySettings
from netpump import SECRET, Pump, lounge_layout

OVERHEAD = wire.MEDIA_HEADER_SIZE + 16


def _pose(p, seq: int, x: float, key: bool = False, size: int = 26) -> None:  # type: ignore[no-untyped-def]
    p.core.send_pose_frame(wire.PoseFrame(key, seq, (int(x * 100), 160, 0), bytes([seq & 0xFF]) * size))


def test_bundles_respect_bundle_max_and_lose_no_entry() -> None:
    pm = Pump(RelayCore(SECRET, RelaySettings(bundle_max=300), layouts={"plenary": lounge_layout()}, epoch=1))
    rx = pm.add("listener", "s0")
    senders = [pm.add(f"d{i}", f"s{i + 1}") for i in range(12)]
    pm.run(0.3)
    _pose(rx, 1, 0.0, key=True)
    for k, p in enumerate(senders):  # a keyframe first so the relay knows where everybody is
        _pose(p, 1, 0.1 * (k + 1), key=True)
    pm.run(0.5)  # routes follow the new positions
    rx.events.clear()
    sizes: list[int] = []
    for seq in range(2, 14):
        for p in senders if seq < 12 else ():  # the last rounds only let the relay flush
            _pose(p, seq, 0.1 * (senders.index(p) + 1), size=60)
        for p in senders:
            for d in p.core.datagrams_to_send(pm.now):
                pm.relay.receive_datagram(d, p.addr, pm.now)
        pm.now += 0.05
        for d, addr, _tv, _tp in pm.relay.to_send(pm.now).datagrams:
            if addr == rx.addr:
                sizes.append(len(d) - OVERHEAD)
                rx.core.receive_datagram(d, pm.now)
        while (ev := rx.core.next_event()) is not None:
            rx.events.append(ev)
    got = [(e.source, e.seq) for e in pm.of(rx, PoseReceived) if not e.key]
    want = {(p.core.client_id, seq) for p in senders for seq in range(2, 12)}
    assert set(got) == want and len(got) == len(want)  # every delta arrived once
    assert sizes and max(sizes) <= 300
    assert len(sizes) >= len(want) * (7 + 9 + 60) // 300  # split into several datagrams, not dropped


def test_pose_waits_at_most_pose_hold_without_voice() -> None:
    hold = 0.02
    pm = Pump(RelayCore(SECRET, RelaySettings(pose_hold=hold), layouts={"plenary": lounge_layout()}, epoch=1))
    a, b, c = pm.add("alice", "s1"), pm.add("bob", "s2"), pm.add("carol", "s3")
    pm.run(0.3)
    for p, x in ((a, 0.0), (b, 1.0), (c, 2.0)):
        _pose(p, 1, x, key=True)
    pm.run(0.3, dt=0.001)
    waits = []
    c_seq = 1
    for seq in range(2, 40):
        b.events.clear()
        _pose(a, seq, 0.0)
        sent = pm.now
        for _ in range(60):
            c_seq += 1
            if c_seq % 7 == 0:  # background poses from carol keep the flush tick running
                _pose(c, c_seq, 2.0)
            pm.step(0.001)
            if any(isinstance(e, PoseReceived) and e.source == a.core.client_id and e.seq == seq for e in b.events):
                break
        waits.append(pm.now - sent)
        pm.run(0.0037 * (seq % 5), dt=0.001)  # vary the phase against the flush tick
    assert max(waits) <= hold + 0.0025  # 1 ms pump steps: one for the send, one of tick lateness
    assert min(waits) < max(waits)  # timer-driven, not in lockstep


def test_voice_goes_out_at_once_and_takes_poses_along() -> None:
    pm = Pump()
    a, b = pm.add("alice", "s1"), pm.add("bob", "s2")
    pm.run(0.3)
    _pose(a, 1, 0.0, key=True)
    _pose(b, 1, 1.0, key=True)
    pm.run(0.2)
    b.events.clear()
    _pose(a, 2, 0.0)
    a.core.send_voice(wire.level_byte(-10, True), b"v" * 90)
    pm.step(0.0)  # no time passes
    kinds = {type(e) for e in b.events}
    assert VoiceReceived in kinds and PoseReceived in kinds


def _moved(rng: random.Random, pos: list[tuple[float, float, float]]) -> list[tuple[float, float, float]]:
    out = list(pos)
    for i in rng.sample(range(len(pos)), 5):
        out[i] = (rng.uniform(-20, 30), 1.6, rng.uniform(-10, 10))
    return out


def test_incremental_routes_equal_a_full_recompute_and_reuse_unchanged_lists() -> None:
    rng = random.Random(7)
    n = 60
    pos = [(rng.uniform(-20, 30), 1.6, rng.uniform(-10, 10)) for _ in range(n)]
    inc = RoomInterest(InterestSettings(last_n=3), lounge_layout())
    for cid in range(1, n + 1):
        inc.add(cid)
    for step in range(8):
        for cid in range(1, n + 1):
            x, y, z = pos[cid - 1]
            inc.pose_hdr[cid] = (0, step, round(x * 100), round(y * 100), round(z * 100))
        for cid in rng.sample(range(1, n + 1), 4):
            inc.note_voice(cid, wire.level_byte(-rng.uniform(5, 40), True), float(step))
        before = inc.routes
        r = inc.recompute(float(step))
        full = RoomInterest(InterestSettings(last_n=3), lounge_layout())
        for cid in range(1, n + 1):
            full.add(cid)
            full.set_position(cid, inc.position_of(cid))  # type: ignore[arg-type]
            full.level[cid], full.last_active[cid] = inc.level.get(cid, 0.0), inc.last_active.get(cid, -1e9)
        want = full.recompute(float(step))
        assert r.voice == want.voice and r.near == want.near and r.mid == want.mid
        assert r.selected == want.selected
        if step:
            unchanged = [c for c in r.near if r.near[c] == before.near.get(c)]
            assert unchanged and all(r.near[c] is before.near[c] for c in unchanged)
        pos = _moved(rng, pos)


def test_member_change_rebuilds_routes() -> None:
    ri = RoomInterest(InterestSettings(), lounge_layout())
    for cid, x in ((1, 0.0), (2, 1.0), (3, 2.0)):
        ri.add(cid)
        ri.set_position(cid, (x, 1.6, 0.0))
    r1 = ri.recompute(0.0)
    ri.remove(3)
    ri.add(3)  # same id again (a new session): its routes must be new lists, not the cached ones
    ri.set_position(3, (2.0, 1.6, 0.0))
    r2 = ri.recompute(0.1)
    assert r2.near[1] == r1.near[1] and r2.near[1] is not r1.near[1]


def test_split_and_cut_keep_entries_in_order_within_the_limit() -> None:
    rng = random.Random(3)
    entries = [bytes(wire.BundleEntry(wire.DG_POSE, i, rng.randbytes(rng.randint(10, 120)))) for i in range(80)]
    items = entries[:20] + [b"".join(entries[20:60])] + entries[60:]  # a joined keyframe chunk in between
    parts = _split(items, 400)
    assert all(len(p) <= 400 for p in parts)
    assert b"".join(parts) == b"".join(entries)
    assert [e.source for p in parts for e in wire.parse_bundle(p)] == list(range(80))
    pieces = _cut(b"".join(entries), 250)
    assert all(len(p) <= 250 for p in pieces) and b"".join(pieces) == b"".join(entries)


def test_fit_sends_all_voice_and_the_poses_that_fit_and_carries_the_rest_in_order() -> None:
    rng = random.Random(5)
    pose = [bytes(wire.BundleEntry(wire.DG_POSE, i, rng.randbytes(rng.randint(20, 90)))) for i in range(30)]
    voice = [bytes(wire.BundleEntry(wire.DG_VOICE, 100 + i, bytes(90))) for i in range(3)]
    items = pose[:8] + [voice[0]] + [b"".join(pose[8:20])] + voice[1:] + pose[20:]
    head, carry = _fit(items, 1000)
    assert carry and len(head) <= 1000
    got = wire.parse_bundle(head)
    assert [e.source for e in got[:3]] == [100, 101, 102]  # every voice entry, first
    sent = [e.source for e in got[3:]]
    later = [e.source for c in carry for e in wire.parse_bundle(c)]
    assert sent + later == list(range(30))  # poses in order, none lost, none twice
    assert len(head) + sum(map(len, carry)) == sum(map(len, items))
    assert _fit(voice * 5, 1000)[1] is None  # voice alone over the limit: the caller splits


def test_full_voice_bundles_carry_poses_over_instead_of_sending_extra_datagrams() -> None:
    """A speaker (voice every 20 ms) and four movers whose poses (20 Hz) come in together: every
    50 ms one voice bundle would exceed ``bundle_max`` and need a second datagram; carrying the
    later pose entries to the next voice bundle keeps one datagram per frame and loses nothing."""
    pm = Pump(RelayCore(SECRET, RelaySettings(bundle_max=350, pose_hold=0.03), layouts={"plenary": lounge_layout()}, epoch=1))
    rx, spk = pm.add("listener", "s0"), pm.add("speaker", "s1")
    movers = [pm.add(f"m{i}", f"s{i + 2}") for i in range(4)]
    pm.run(0.3)
    for k, p in enumerate((rx, spk, *movers)):
        _pose(p, 1, 0.3 * k, key=True)
    pm.run(0.3, dt=0.001)
    rx.events.clear()
    sizes: list[int] = []
    inner = pm.relay.to_send

    def counting(now: float):  # type: ignore[no-untyped-def]
        out = inner(now)
        sizes.extend(len(d) - OVERHEAD for d, addr, _tv, _tp in out.datagrams if addr == rx.addr)
        return out

    pm.relay.to_send = counting  # type: ignore[method-assign]
    voice = 0
    sent: set[tuple[int, int]] = set()
    for ms in range(1000):
        if ms % 50 == 5 and ms < 950:  # 4 x (7 + 9 + 60) bytes of poses, then voice of 7 + 90
            for k, p in enumerate(movers):
                seq = 2 + ms // 50
                _pose(p, seq, 0.3 * (k + 2), size=60)
                sent.add((p.core.client_id, seq))
        if ms % 20 == 10:
            spk.core.send_voice(wire.level_byte(-10, True), b"v" * 90)
            voice += 1
        pm.step(0.001)
    pm.run(0.1, dt=0.001)
    got = [(e.source, e.seq) for e in pm.of(rx, PoseReceived) if not e.key]
    assert sorted(got) == sorted(sent)  # every pose arrived, once
    assert sizes and max(sizes) <= 350
    assert len(sizes) <= voice + 2  # one datagram per voice frame (splitting would add 19 more)


def test_packet_budget_limits_datagrams_and_bytes() -> None:
    b = PacketBudget(pps=100, bps=10_000, burst_s=0.1, now=0.0)  # bursts of 10 datagrams / 1000 bytes
    assert sum(b.take(10, 0.0) for _ in range(50)) == 10
    assert not b.take(10, 0.005)  # half a datagram refilled
    assert b.take(10, 0.011)
    b = PacketBudget(pps=100, bps=10_000, burst_s=0.1, now=0.0)
    assert b.take(900, 0.0) and not b.take(200, 0.0)  # the byte budget is the limit here
    assert b.take(100, 0.0) and not b.take(1, 0.0)


def _voice_and_poses(pose_tick: float) -> tuple[int, int, int, int]:
    """One speaker (voice every 20 ms) and two delegates moving (poses at 20 Hz) for 1 s:
    (bundles reaching the listener, voice frames sent, poses sent, poses the listener got)."""
    settings = RelaySettings(pose_hold=0.03, pose_tick=pose_tick)
    pm = Pump(RelayCore(SECRET, settings, layouts={"plenary": lounge_layout()}, epoch=1))
    rx, spk = pm.add("listener", "s0"), pm.add("speaker", "s1")
    movers = [pm.add("m1", "s2"), pm.add("m2", "s3")]
    pm.run(0.3)
    for k, p in enumerate((rx, spk, *movers)):
        _pose(p, 1, 0.5 * k, key=True)
    pm.run(0.3, dt=0.001)
    rx.events.clear()
    bundles = 0
    inner = pm.relay.to_send

    def counting(now: float):  # type: ignore[no-untyped-def]
        nonlocal bundles
        out = inner(now)
        bundles += sum(1 for _d, addr, _tv, _tp in out.datagrams if addr == rx.addr)
        return out

    pm.relay.to_send = counting  # type: ignore[method-assign]
    voice = poses = 0
    for ms in range(1000):
        if ms % 20 == 0:
            spk.core.send_voice(wire.level_byte(-10, True), b"v" * 90)
            voice += 1
        for k, p in enumerate(movers):
            if ms % 50 == 1 + 20 * k:  # just after a voice frame: 19 ms until the next one
                _pose(p, 2 + ms // 50, 0.5 * (k + 2))
                poses += 1
        pm.step(0.001)
    pm.run(0.05, dt=0.001)
    got = sum(1 for e in pm.of(rx, PoseReceived) if not e.key)
    return bundles, voice, poses, got


def test_poses_ride_along_with_voice_when_the_pose_tick_is_short() -> None:
    bundles, voice, poses, got = _voice_and_poses(0.005)
    assert got == poses  # nothing lost
    assert bundles <= voice + 1  # every pose went out with a voice frame (one bundle per frame)
    coarse, _, _, got_coarse = _voice_and_poses(0.015)  # tick of pose_hold / 2: poses often go alone
    assert got_coarse == poses and coarse > bundles
