"""Sans-I/O relay and client cores pumped in memory with a fake clock."""

from __future__ import annotations

from vrdiplomacy.net import wire
from vrdiplomacy.net.client_core import (
    Connected,
    FloorChanged,
    MemberUpdate,
    PoseReceived,
    RelayError,
    RoomEventReceived,
    VoiceReceived,
)
from vrdiplomacy.net.relay_core import RelayCore
from vrdiplomacy.net.relay_state import RelaySettings
from netpump import SECRET, Pump, lounge_layout


def pose(p, key: bool, seq: int, x: float, z: float = 0.0) -> None:
    p.core.send_pose_frame(wire.PoseFrame(key, seq, (int(x * 100), 160, int(z * 100)), b"P" * 26))


def present(p) -> dict[int, str]:
    return {cid: m.identity for cid, m in p.core.members.items() if m.state == "present"}


def test_presence_events_poses_voice_and_isolated_zone() -> None:
    pm = Pump()
    a, b, c = pm.add("alice", "s1"), pm.add("bob", "s2"), pm.add("carol", "lounge-1")
    pm.run(0.5)
    assert all(p.core.media_ready for p in (a, b, c))
    assert present(a) == present(b) == {a.core.client_id: "alice", b.core.client_id: "bob", c.core.client_id: "carol"}
    for seq in range(1, 41):  # 2 s of 20 Hz poses, keyframe every 10
        pose(a, seq % 10 == 1, seq, 0.0)
        pose(b, seq % 10 == 1, seq, 1.0)
        pose(c, seq % 10 == 1, seq, 25.0)  # inside the isolated lounge
        if seq % 2:
            a.core.send_voice(wire.level_byte(-12, True), b"A" * 90)
            b.core.send_voice(wire.level_byte(-15, True), b"B" * 90)
        pm.run(0.05)
    a.core.send_event(b"nod")
    b.core.send_event(b"raise-hand")
    pm.run(0.1)
    ida, idb, idc = a.core.client_id, b.core.client_id, c.core.client_id
    # a and b see each other's poses at full rate, hear each other, get room events in one order
    assert len([e for e in pm.of(b, PoseReceived) if e.source == ida]) >= 35
    assert len([e for e in pm.of(a, PoseReceived) if e.source == idb]) >= 35
    assert len([e for e in pm.of(b, VoiceReceived) if e.source == ida]) >= 18
    ev_a = [(e.sender, e.payload) for e in pm.of(a, RoomEventReceived)]
    ev_b = [(e.sender, e.payload) for e in pm.of(b, RoomEventReceived)]
    assert ev_a == ev_b == [(ida, b"nod"), (idb, b"raise-hand")]
    # carol (lounge) hears nothing from the plenary, sees its poses only as 2 Hz keyframes
    assert pm.of(c, VoiceReceived) == []
    carol_poses = [e for e in pm.of(c, PoseReceived) if e.source == ida]
    assert 3 <= len(carol_poses) <= 5 and all(e.key for e in carol_poses)
    assert all(e.key for e in pm.of(a, PoseReceived) if e.source == idc)
    assert [e.payload for e in pm.of(c, RoomEventReceived)] == [b"nod", b"raise-hand"]


def test_network_drop_resumes_same_identity_and_replays_missed_events() -> None:
    pm = Pump()
    a, b = pm.add("alice", "s1"), pm.add("bob", "s2")
    pm.run(0.3)
    ida = a.core.client_id
    pm.drop(a)  # both ends notice
    a.events.clear()
    b.core.send_event(b"while-away-1")
    b.core.send_event(b"while-away-2")
    a.core.send_event(b"queued-offline")
    pm.run(0.2)
    assert b.core.members[ida].state == "away"
    pm.connect(a)
    pm.run(0.3)
    assert a.core.client_id == ida
    con = pm.of(a, Connected)
    assert con and con[-1].resumed
    assert [e.payload for e in pm.of(a, RoomEventReceived)] == [b"while-away-1", b"while-away-2", b"queued-offline"]
    assert present(b) == {ida: "alice", b.core.client_id: "bob"}  # one alice, present again
    assert pm.relay.counters.events_replayed == 2
    assert len(pm.relay.sessions) == 2


def test_half_open_link_is_replaced_without_duplicate() -> None:
    pm = Pump()
    a, b = pm.add("alice", "s1"), pm.add("bob", "s2")
    pm.run(0.3)
    pm.drop(a, notify_relay=False)  # the relay still thinks the old link is up
    pm.connect(a)
    pm.run(0.3)
    assert len(pm.relay.sessions) == 2 and len(b.core.members) == 2
    assert [m.identity for m in b.core.members.values()].count("alice") == 1


def test_relay_restart_resumes_with_same_ids() -> None:
    pm = Pump()
    a, b = pm.add("alice", "s1"), pm.add("bob", "s2")
    pm.run(0.3)
    ids = {a.core.client_id, b.core.client_id}
    a.core.send_event(b"before")
    pm.run(0.1)
    # the relay process dies; a new one starts with the same secret (state dir)
    pm.relay = RelayCore(SECRET, layouts={"plenary": lounge_layout()}, epoch=8)
    for p in (a, b):
        pm.drop(p, notify_relay=False)
    pm.run(0.1)
    for p in (a, b):
        pm.connect(p)
    pm.run(0.5)
    assert {a.core.client_id, b.core.client_id} == ids
    assert pm.relay.counters.sessions_resumed == 2 and pm.relay.counters.sessions_started == 0
    assert set(present(a)) == set(present(b)) == ids
    assert all(p.core.media_ready for p in (a, b))
    a.core.send_event(b"after")
    pm.run(0.1)
    assert [e.payload for e in pm.of(b, RoomEventReceived)] == [b"before", b"after"]


def test_heartbeat_timeout_and_grace_expiry() -> None:
    pm = Pump(RelayCore(SECRET, RelaySettings(resume_grace=5.0), epoch=1))
    a, b = pm.add("alice", "s1"), pm.add("bob", "s2")
    pm.run(0.3)
    ida = a.core.client_id
    a.connected = False  # silently dead: no bytes either way, nobody is told
    pm.run(7.0, dt=0.1)
    assert pm.relay.counters.heartbeat_timeouts == 1
    assert b.core.members[ida].state == "away"
    pm.run(6.0, dt=0.1)
    assert ida not in b.core.members and ida not in pm.relay.sessions
    assert [e.state for e in pm.of(b, MemberUpdate) if e.client_id == ida][-2:] == ["away", "left"]


def test_client_detects_dead_relay() -> None:
    pm = Pump()
    a = pm.add("alice", "s1")
    pm.run(0.3)
    pm.relay = RelayCore(SECRET, epoch=2)  # a relay that never answers this link
    pm.run(7.0, dt=0.1)
    assert a.core.counters.heartbeat_timeouts >= 1 and a.core.state in ("connecting", "connected", "idle")


def test_seat_taken_bad_token_and_floor() -> None:
    pm = Pump()
    a = pm.add("alice", "s1")
    pm.run(0.2)
    dup = pm.add("mallory", "s1")
    pm.run(0.2)
    errs = pm.of(dup, RelayError)
    # not fatal: the client keeps retrying (the seat frees when its holder leaves)
    assert errs and errs[0].code == wire.ERR_SEAT_TAKEN and not errs[0].fatal and dup.core.state != "closed"
    assert errs[0].message == "seat 's1' in room 'plenary' is taken by alice"
    pm.peers.remove(dup)
    forged = pm.add("mallory", "s9")
    forged.core.token = a.core.token  # alice's token does not work for another identity
    forged.core.state = "idle"
    pm.connect(forged)
    pm.run(0.2)
    assert any(e.code == wire.ERR_BAD_HELLO for e in pm.of(forged, RelayError))
    a.core.set_floor(True)
    pm.run(0.1)
    assert pm.of(a, FloorChanged)[-1].holder == a.core.client_id


def test_join_moves_rooms() -> None:
    pm = Pump()
    a, b = pm.add("alice", "s1"), pm.add("bob", "s2")
    pm.run(0.2)
    a.core.join("bilateral", "A")
    pm.run(0.3)
    assert set(a.core.members) == {a.core.client_id}
    assert a.core.client_id not in b.core.members
    assert a.core.media_ready


def test_uplink_rate_limit_and_control_backpressure() -> None:
    pm = Pump(RelayCore(SECRET, RelaySettings(uplink_pps=50, control_events_per_s=20), epoch=1))
    a, b = pm.add("alice", "s1"), pm.add("bob", "s2")
    pm.run(0.3)
    for seq in range(200):  # a burst far beyond 50 datagrams/s
        pose(a, True, seq, 0.0)
    pm.step()
    assert pm.relay.counters.dropped_rate >= 150
    for i in range(100):  # 100 events at once: processed at 20/s, none lost, order kept
        a.core.send_event(f"e{i}".encode())
    pm.step()
    assert pm.relay.input_backlog(a.conn_id) > 0
    pm.run(6.0, dt=0.05)
    got = [e.payload for e in pm.of(b, RoomEventReceived)]
    assert got == [f"e{i}".encode() for i in range(100)]
    assert not a.core.reliable.unacked
