"""A relay in a crowd (a reception of hundreds): far keyframes thinned, several speakers' voice in
one bundle, interest distances reused while nobody moves. Small crowds (``crowd_size``) keep these
tests to a few members; tools/bench/loadgen.py measures the 1000-guest case."""

from __future__ import annotations

from netpump import SECRET, Peer, Pump, lounge_layout

from vrdiplomacy.net import wire
from vrdiplomacy.net.client_core import PoseReceived, VoiceReceived
from vrdiplomacy.net.interest import InterestSettings, RoomInterest
from vrdiplomacy.net.relay_core import RelayCore
from vrdiplomacy.net.relay_state import RelaySettings


def _pose(p: Peer, seq: int, x: float) -> None:
    p.core.send_pose_frame(wire.PoseFrame(seq % 10 == 1, seq, (int(x * 100), 160, 0), bytes([seq & 0xFF]) * 26))


def _room(crowd_size: int, n_far: int = 4, pose_wave: int = 64, far_key_members: int = 125) -> tuple[Pump, Peer, Peer, list[Peer]]:
    interest = InterestSettings(crowd_size=crowd_size, far_key_members=far_key_members)
    pm = Pump(RelayCore(SECRET, RelaySettings(interest=interest, pose_wave=pose_wave),
                        layouts={"plenary": lounge_layout()}, epoch=1))
    a, b = pm.add("alice", "s1"), pm.add("bob", "s2")
    far = [pm.add(f"far{i}", f"f{i}") for i in range(n_far)]
    pm.run(0.3)
    for p, x in ((a, 0.0), (b, 1.0), *((f, 15.0) for f in far)):  # a keyframe: the relay learns where they are
        _pose(p, 1, x)
    pm.run(0.3)
    for p in pm.peers:
        p.events.clear()
    return pm, a, b, far


def test_far_guests_of_a_crowd_get_every_fourth_keyframe_near_ones_every_frame() -> None:
    for crowd_size, far_keys in ((4, 2), (100, 8)):  # 6 members: a crowd of more than 4; not one of 100
        pm, a, b, far = _room(crowd_size)
        for seq in range(2, 82):  # 4 s at 20 Hz: 8 keyframes (seq 11, 21, ... 81)
            _pose(a, seq, 0.0)
            pm.run(0.05, dt=0.005)
        pm.run(0.1, dt=0.005)
        ida = a.core.client_id
        near = [e.seq for e in pm.of(b, PoseReceived) if e.source == ida]
        assert len(near) == 80  # the near tier: every frame, keyframes included
        for f in far:
            got = [e for e in pm.of(f, PoseReceived) if e.source == ida]
            assert all(e.key for e in got) and len(got) == far_keys, (crowd_size, [e.seq for e in got])


def test_in_a_larger_crowd_far_guests_get_still_fewer_keyframes_near_ones_every_frame() -> None:
    """Past ``far_key_divisor * far_key_members`` members the far tier's share of a sender's
    keyframes shrinks with the room (at 1000 guests every 8th: 0.25 Hz), so a guest's far-tier
    keyframes stay about 250 a second instead of 500, which no longer overfill the 20 ms voice
    bundle. Here 6 members with ``far_key_members=1``: every 6th keyframe. Fails on main c54bfe1
    (no ``far_key_members``: every 4th)."""
    assert InterestSettings().far_divisor(1000) == 8 and InterestSettings().far_divisor(500) == 4
    assert InterestSettings().far_divisor(150) == 1  # not a crowd
    for far_key_members, far_keys in ((125, 3), (1, 2)):
        pm, a, b, far = _room(crowd_size=4, far_key_members=far_key_members)
        for seq in range(2, 122):  # 6 s at 20 Hz: 12 keyframes (seq 11, 21, ... 121)
            _pose(a, seq, 0.0)
            pm.run(0.05, dt=0.005)
        pm.run(0.1, dt=0.005)
        ida = a.core.client_id
        assert len([e for e in pm.of(b, PoseReceived) if e.source == ida]) == 120  # near: every frame
        for f in far:
            got = [e for e in pm.of(f, PoseReceived) if e.source == ida]
            assert all(e.key for e in got) and len(got) == far_keys, (far_key_members, [e.seq for e in got])


def _voice_datagrams(crowd_size: int) -> tuple[int, float, int]:
    """Two speakers 2 ms apart: datagrams bob got, delay of the first frame, frames bob heard."""
    pm, a, b, far = _room(crowd_size)
    s2 = far[0]
    relay = pm.relay
    for speaker in (a, s2):  # both speak already (the last-N routes have them)
        speaker.core.send_voice(wire.level_byte(-12, True), b"V" * 60)
        pm.run(0.1)
    b.events.clear()
    to_bob = 0
    first_at = 0.0
    t0 = pm.now
    for speaker in (a, None, s2):  # alice, 2 ms (two 1 ms steps) later the far speaker (last-N: heard everywhere)
        if speaker is not None:
            speaker.core.send_voice(wire.level_byte(-12, True), b"V" * 60)
            for d in speaker.core.datagrams_to_send(pm.now):
                relay.receive_datagram(d, speaker.addr, pm.now)
        for _ in range(5 if speaker is s2 else 1):
            if pm.now >= relay.timer():
                relay.handle_timer(pm.now)
            for d, addr, _tv, _tp in relay.to_send(pm.now).datagrams:
                if addr == b.addr:
                    to_bob += 1
                    first_at = first_at or pm.now
                    b.core.receive_datagram(d, pm.now)
            pm.now += 0.001
    while (ev := b.core.next_event()) is not None:
        b.events.append(ev)
    return to_bob, first_at - t0, len(pm.of(b, VoiceReceived))


def test_voice_of_several_speakers_shares_one_bundle_in_a_crowd_and_goes_at_once_otherwise() -> None:
    n, delay, heard = _voice_datagrams(crowd_size=4)
    assert heard == 2 and n == 1  # gathered: one datagram for both frames
    assert 0.002 <= delay <= RelaySettings().voice_gather + 0.0011  # waited for the second, no longer than the window
    n, delay, heard = _voice_datagrams(crowd_size=100)
    assert heard == 2 and n == 2 and delay == 0.0  # not a crowd: each frame goes out at once


def test_interest_reuses_distances_until_someone_moves_past_the_tolerance() -> None:
    ri = RoomInterest(InterestSettings(move_tolerance=0.1))
    for cid in range(1, 41):
        ri.add(cid)
        ri.pose_hdr[cid] = (0, 1, cid * 100, 160, 0)  # a row, 1 m apart
    r0 = ri.recompute(0.0)
    ri.pose_hdr[5] = (0, 2, 505, 163, 0)  # 5 cm: the same tiers, the very same lists
    r1 = ri.recompute(0.2)
    assert all(r1.near[c] is r0.near[c] and r1.mid[c] is r0.mid[c] for c in r0.near)
    ri.pose_hdr[5] = (0, 3, 3000, 160, 0)  # 25 m away: new tiers for it and its old neighbours
    r2 = ri.recompute(0.4)
    assert 5 not in r2.near[4] and 5 not in r2.near[6] and r2.near[5] == [28, 29, 30, 31, 32]
    assert 5 in r2.near[30] and r2.near[20] is r1.near[20]  # far from both places: unchanged


def test_a_large_pose_wave_goes_out_in_pieces_so_voice_does_not_wait_behind_it() -> None:
    """At 1000 guests one pose flush sealed and sent 500 bundles (about 7 ms of the relay's CPU)
    in one go, and a voice frame read meanwhile waited for all of them. Now a flush sends at
    most ``pose_wave`` pose-only bundles and asks to run again at once (after the event loop has
    read what arrived); voice read in between goes out first and takes the poses waiting for
    its receivers along. Every pose entry still arrives exactly once."""
    pm, a, b, far = _room(crowd_size=100, n_far=4, pose_wave=2)
    relay = pm.relay
    a.core.send_voice(wire.level_byte(-12, True), b"V" * 60)  # alice has spoken: she is in everyone's last-N
    pm.run(0.1)
    for p in pm.peers:
        p.events.clear()
    peers = pm.peers
    by_addr = {p.addr: p for p in peers}
    for seq, p in enumerate(peers):  # everyone moves once: pose entries pending for all six
        _pose(p, 2 + seq * 10 + 1, 0.0 if p in (a, b) else 15.0)  # (seq % 10 != 1: deltas)
        for d in p.core.datagrams_to_send(pm.now):
            relay.receive_datagram(d, p.addr, pm.now)
    pieces: list[int] = []
    voiced = False
    for _ in range(60):  # 60 ms in 1 ms steps
        while pm.now >= relay.timer():
            relay.handle_timer(pm.now)
            out = relay.to_send(pm.now).datagrams
            if not out:
                break
            pieces.append(len(out))
            for d, addr, _tv, _tp in out:
                by_addr[addr].core.receive_datagram(d, pm.now)
            if len(pieces) == 1 and not voiced:  # the first piece has gone: alice speaks now
                voiced = True
                a.core.send_voice(wire.level_byte(-12, True), b"W" * 60)
                for d in a.core.datagrams_to_send(pm.now):
                    relay.receive_datagram(d, a.addr, pm.now)
        pm.now += 0.001
    for p in peers:
        while (ev := p.core.next_event()) is not None:
            p.events.append(ev)
    assert pieces and pieces[0] <= 2, pieces  # the wave's first piece: at most pose_wave bundles
    assert len(pieces) >= 2, pieces  # the rest followed at once, not one tick later
    heard = [p for p in peers if p is not a and pm.of(p, VoiceReceived)]
    assert len(heard) == len(peers) - 1  # the voice frame read between the pieces reached everyone
    for p in peers:  # each pose entry exactly once, whichever bundle carried it
        seqs = sorted(e.seq for e in pm.of(p, PoseReceived))
        assert seqs == sorted(set(seqs)), (p.core.identity, seqs)
    total = sum(len(pm.of(p, PoseReceived)) for p in peers)
    assert total > 0
