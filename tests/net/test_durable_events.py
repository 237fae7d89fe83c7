"""Durable room events in the sans-I/O cores: relay restarts, a crash between store and fan-out,
and a client process that crashed and resumes with its stored token (issue 19)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from vrdiplomacy.errors import ConfigError
from vrdiplomacy.net.client_core import ClientCore, Connected, MemberUpdate, RelayError, RoomEventReceived
from vrdiplomacy.net.event_log import FileEventStore
from vrdiplomacy.net.relay_core import RelayCore
from vrdiplomacy.net.relay_events import MemoryEventStore
from vrdiplomacy.net.relay_state import RelaySettings
from vrdiplomacy.net import wire
from netpump import SECRET, Peer, Pump, lounge_layout


class DurablePump(Pump):
    """A pump whose relay output leaves only after its event store synced (as the adapter does)."""

    def __init__(self, store: MemoryEventStore, epoch: int = 7) -> None:
        self.store = store
        super().__init__(self._relay(epoch))

    def _relay(self, epoch: int) -> RelayCore:
        return RelayCore(SECRET, layouts={"plenary": lounge_layout()}, epoch=epoch, events=self.store)

    def restart(self, epoch: int) -> None:
        """kill -9 of the relay: what was not synced is gone; clients see their links drop."""
        self.store.crash()
        self.relay = self._relay(epoch)
        for p in self.peers:
            self.drop(p, notify_relay=False)

    def reconnect(self, *peers: Peer) -> None:
        """The clients' adapters dial the restarted relay and resume."""
        for p in peers:
            self.connect(p)
        self.run(0.5)

    def step(self, dt: float = 0.0) -> None:
        self.store.sync()
        super().step(dt)


def payloads(p: Peer) -> list[bytes]:
    return [e.payload for e in p.events if isinstance(e, RoomEventReceived)]


def seqs(p: Peer) -> list[int]:
    return [e.room_seq for e in p.events if isinstance(e, RoomEventReceived)]


def test_relay_restart_keeps_room_numbers_and_replays_what_a_client_missed() -> None:
    """Fails on main 688aa47: the restarted relay numbered from 1 again and never replayed."""
    pm = DurablePump(MemoryEventStore())
    a, b, c = pm.add("alice", "s1"), pm.add("bob", "s2"), pm.add("carol", "s3")
    pm.run(0.3)
    for i in range(3):
        a.core.send_event(b"a%d" % i)
    pm.run(0.2)
    c.connected = False  # carol's link dies silently; she misses the next events
    for i in range(3):
        b.core.send_event(b"b%d" % i)
    pm.run(0.2)
    pm.restart(epoch=8)
    pm.run(0.2)
    pm.reconnect(a, b, c)
    a.core.send_event(b"after")
    pm.run(0.2)
    want = [b"a0", b"a1", b"a2", b"b0", b"b1", b"b2", b"after"]
    for p in (a, b, c):
        assert payloads(p) == want, p.core.identity
        assert seqs(p) == list(range(1, 8))
        assert p.core.counters.events_missed == 0
    assert pm.relay.counters.events_replayed == 3  # carol's three
    assert all(m.state == "present" for m in a.core.members.values()) and len(a.core.members) == 3


def test_crash_between_store_and_fan_out_delivers_once_to_everyone() -> None:
    """The event is on disk, but neither its ack nor its fan-out left before the kill: after the
    restart the sender's re-send is recognized (not stored twice) and everyone gets it once."""
    store = MemoryEventStore()
    pm = DurablePump(store)
    a, b = pm.add("alice", "s1"), pm.add("bob", "s2")
    pm.run(0.3)
    a.core.send_event(b"first")
    pm.run(0.1)
    a.core.send_event(b"stored-not-acked")
    # the relay reads and stores it, syncs, and dies before its output leaves
    pm.relay.receive_stream(a.conn_id, a.core.to_send(pm.now), pm.now)
    store.sync()
    pm.relay.to_send(pm.now)  # produced, never written
    assert len(a.core.reliable.unacked) == 1
    pm.restart(epoch=9)
    pm.reconnect(a, b)
    for p in (a, b):
        assert payloads(p) == [b"first", b"stored-not-acked"]
        assert seqs(p) == [1, 2]
    assert not a.core.reliable.unacked
    assert pm.relay.counters.events_in == 0 and pm.relay.counters.events_replayed == 2  # nothing stored twice


def test_crash_before_sync_loses_nothing_acknowledged() -> None:
    """Stored in memory but not synced: no ack left, so the sender sends it again to the new relay."""
    store = MemoryEventStore(auto_sync=False)
    pm = DurablePump(store)
    a, b = pm.add("alice", "s1"), pm.add("bob", "s2")
    pm.run(0.3)
    a.core.send_event(b"x")
    pm.relay.receive_stream(a.conn_id, a.core.to_send(pm.now), pm.now)
    pm.relay.to_send(pm.now)
    pm.restart(epoch=10)  # before the sync
    pm.reconnect(a, b)
    assert payloads(a) == payloads(b) == [b"x"] and seqs(b) == [1]
    assert pm.relay.counters.events_in == 1


def test_lost_state_dir_starts_a_new_log_and_the_client_follows() -> None:
    pm = DurablePump(MemoryEventStore())
    a, b = pm.add("alice", "s1"), pm.add("bob", "s2")
    pm.run(0.3)
    for i in range(4):
        a.core.send_event(b"%d" % i)
    pm.run(0.2)
    old_log = b.core.reliable.log_id
    pm.store = MemoryEventStore()  # the relay comes back without its state: room numbers start again
    pm.restart(epoch=11)
    pm.reconnect(a, b)
    a.core.send_event(b"new")
    pm.run(0.2)
    assert b.core.reliable.log_id != old_log
    assert payloads(b) == [b"0", b"1", b"2", b"3", b"new"] and seqs(b)[-1] == 1


def test_crashed_client_process_resumes_its_seat_and_id_with_the_stored_token() -> None:
    """Fails on main 688aa47: a new process had no token and the seat check counted the old
    'away' session as another occupant (fatal)."""
    pm = DurablePump(MemoryEventStore())
    a, b = pm.add("alice", "s1"), pm.add("bob", "s2")
    pm.run(0.3)
    for i in range(3):
        a.core.send_event(b"old-%d" % i)
    pm.run(0.2)
    cid, token = a.core.client_id, a.core.token
    pm.kill(a)  # the relay marks alice away
    pm.run(0.2)
    assert b.core.members[cid].state == "away"
    # a new process with the token from the state folder
    a2 = Peer(ClientCore("alice", "s1", "plenary"), ("127.0.0.1", 40100))
    a2.core.restore(token)
    a2.core.send_event(b"new-process")  # numbered 1 here; continues after the relay's 3
    pm.peers.append(a2)
    pm.connect(a2)
    pm.run(0.3)
    con = [e for e in a2.events if isinstance(e, Connected)]
    assert con and con[0].resumed and a2.core.client_id == cid
    assert b.core.members[cid].state == "present" and len(b.core.members) == 2
    assert payloads(b)[-1] == b"new-process" and not a2.core.reliable.unacked
    assert not [e for e in b.events if isinstance(e, MemberUpdate) and e.state == "left"]


def test_other_identity_waits_for_the_seat_without_giving_up() -> None:
    pm = DurablePump(MemoryEventStore())
    a = pm.add("alice", "s1")
    pm.run(0.3)
    pm.kill(a)
    pm.run(0.2)
    m = pm.add("mallory", "s1")
    pm.run(0.2)
    for _ in range(2):  # the adapter reconnects at reconnect_at; each try is refused, not fatal
        assert m.core.state == "idle" and m.core.timer() is not None
        pm.connect(m)
        pm.run(1.0)
    errs = [e for e in m.events if isinstance(e, RelayError)]
    assert len(errs) == 3 and all(e.code == wire.ERR_SEAT_TAKEN and not e.fatal for e in errs)
    assert "seat 's1' in room 'plenary' is taken by alice (away; kept for its resume for 30 s more)" == errs[0].message
    pm.relay.s.resume_grace = 1.0  # alice's seat is given up
    pm.run(1.0, dt=0.1)
    pm.connect(m)
    pm.run(0.3)
    assert m.core.state == "connected" and [x.identity for x in pm.relay.sessions.values()] == ["mallory"]


def test_file_journal_round_trip_torn_tail_and_compaction(tmp_path: Path) -> None:
    path = tmp_path / "events.journal"
    st = FileEventStore(path, compact_bytes=4000)
    relay = RelayCore(SECRET, RelaySettings(event_history=10), events=st, epoch=1)
    assert relay._dormant == {} and path.read_bytes() == b"VRDEVLG1"
    pm = Pump(relay)
    a, b = pm.add("alice", "s1"), pm.add("bob", "s2")
    pm.run(0.2)
    for i in range(60):
        a.core.send_event(b"event %02d " % i + b"x" * 100)
        st.sync()
        pm.run(0.01)
    st.sync()
    assert st.compactions >= 1 and st.size < 4000 + 200  # 60 events written, 10 kept
    log_id = relay.rooms["plenary"].log.log_id
    st.close()
    # a torn record after the last sync (the process died mid-write)
    with open(path, "ab") as f:
        f.write(struct.pack("!II", 500, 0) + b"half")
    st2 = FileEventStore(path)
    logs = st2.load(512)
    assert st2.torn_bytes == 12 and path.stat().st_size == st2.size
    rl = logs["plenary"]
    assert rl.log_id == log_id and rl.seq == 60
    assert [e.payload[:8] for e in rl.history][-10:] == [b"event %02d" % i for i in range(50, 60)]
    assert rl.client_seqs[a.core.client_id] == 60
    st2.close()
    (tmp_path / "other").write_bytes(b"not a journal")
    with pytest.raises(ConfigError, match="not a relay event journal"):
        FileEventStore(tmp_path / "other").load(10)
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_damage_inside_the_journal_keeps_the_acknowledged_events_after_it(tmp_path: Path) -> None:
    """A bad record with good ones after it is damage, not a torn tail: the events after it stay,
    the damaged file is kept beside the journal, and the rewritten journal loads clean. (Fails on
    main 68e45bd: loading truncated the file at the damage, deleting every later event.)"""
    path = tmp_path / "events.journal"
    st = FileEventStore(path)
    relay = RelayCore(SECRET, RelaySettings(event_history=100), events=st, epoch=1)
    pm = Pump(relay)
    a, _ = pm.add("alice", "s1"), pm.add("bob", "s2")
    pm.run(0.2)
    for i in range(20):
        a.core.send_event(b"event %02d " % i + b"x" * 40)
        st.sync()
        pm.run(0.01)
    st.sync()
    st.close()
    data = bytearray(path.read_bytes())
    hit = data.index(b"event 07 ")
    data[hit + 3] ^= 0x20  # one flipped bit inside an acknowledged event's record (its CRC fails)
    path.write_bytes(bytes(data))
    st2 = FileEventStore(path)
    logs = st2.load(512)
    kept = [e.payload[:8] for e in logs["plenary"].history]
    assert kept == [b"event %02d" % i for i in range(20) if i != 7]  # only the damaged record is gone
    assert st2.damaged_bytes > 0 and st2.torn_bytes == 0
    assert st2.damaged_copy == tmp_path / "events.journal.damaged" and st2.damaged_copy.read_bytes() == bytes(data)
    st2.close()
    st3 = FileEventStore(path)  # the rewritten journal: clean, the same events
    assert [e.payload[:8] for e in st3.load(512)["plenary"].history] == kept
    assert st3.damaged_bytes == 0 and st3.torn_bytes == 0
    st3.close()
    path.write_bytes(bytes(data))  # damaged again: the first copy is not overwritten
    st4 = FileEventStore(path)
    st4.load(512)
    assert st4.damaged_copy == tmp_path / "events.journal.damaged-2"
    st4.close()


def test_a_kept_token_the_relay_no_longer_takes_gets_a_fresh_session() -> None:
    """The relay lost its secret (a new state directory): the stored token is refused, and the
    client asks for a new session instead of stopping."""
    pm = DurablePump(MemoryEventStore())
    a = Peer(ClientCore("alice", "s1", "plenary"), ("127.0.0.1", 40200))
    a.core.restore(bytes(20))
    pm.peers.append(a)
    pm.connect(a)
    pm.run(0.2)
    errs = [e for e in a.events if isinstance(e, RelayError)]
    assert errs and errs[0].code == wire.ERR_BAD_HELLO and not errs[0].fatal and a.core.token == b""
    pm.connect(a)
    pm.run(0.2)
    con = [e for e in a.events if isinstance(e, Connected)]
    assert con and not con[0].resumed and a.core.state == "connected"


def test_resume_file_is_private_locked_and_only_for_its_relay_room_and_identity(tmp_path: Path) -> None:
    from vrdiplomacy.net.resume_file import ResumeFile, resume_path

    path = resume_path(tmp_path, "AB" * 32, "chamber", "alice")
    assert path.parent == tmp_path / "sessions"
    rf = ResumeFile(path, "AB" * 32, "chamber", "alice")
    assert rf.acquire() and rf.load() == b""
    rf.save(b"T" * 20, 42, "s1")
    assert path.stat().st_mode & 0o777 == 0o600 and rf.load() == b"T" * 20
    second = ResumeFile(path, "AB" * 32, "chamber", "alice")
    assert not second.acquire()  # another running process of the same identity: no shared session
    other = ResumeFile(path, "AB" * 32, "chamber", "bob")  # the file says alice: not bob's token
    assert other.load() == b""
    rf.release()
    assert second.acquire() and second.load() == b"T" * 20
    path.write_text("{not json")
    assert second.load() == b""  # unreadable: ignored with a warning, a fresh session follows
    second.remove()
    assert not path.exists()
    second.release()


def test_invited_member_without_a_token_takes_its_own_seat_back_with_the_same_id() -> None:
    """A secured room: a new process of the same invited member that lost its token (or another
    device) proves the invitation again and takes over its session, client id included."""
    import time

    from test_admission import RELAY_FP, Pki, _add, _invite

    relay = RelayCore(SECRET, layouts={"chamber": lounge_layout()}, epoch=7, fingerprint=RELAY_FP)
    pm = Pump(relay)
    relay.wall_offset = time.time() - pm.now
    pki = Pki()
    chair = pki.member("Chair", "CH", "chair")
    ch = _add(pm, "chair", "B1", _invite(pki, chair, chair, "chair"))
    adm = _invite(pki, chair, pki.member("France", "FR", "head"), "head", "A1")
    fr = _add(pm, "france", "A1", adm)
    pm.run(0.3)
    cid = fr.core.client_id
    pm.kill(fr)
    pm.run(0.2)
    again = _add(pm, "france", "A1", adm)  # no token
    pm.run(0.3)
    con = [e for e in again.events if isinstance(e, Connected)]
    assert con and con[0].resumed and again.core.client_id == cid
    assert [m.state for m in ch.core.members.values() if m.client_id == cid] == ["present"]
    assert not [e for e in ch.events if isinstance(e, MemberUpdate) and e.state == "left"]


def test_a_restored_log_nobody_resumes_into_is_dropped_after_the_grace() -> None:
    store = MemoryEventStore()
    pm = DurablePump(store)
    a = pm.add("alice", "s1")
    pm.run(0.3)
    a.core.send_event(b"x")
    pm.run(0.2)
    assert list(store.durable) == ["plenary"]
    pm.restart(epoch=12)  # nobody comes back
    pm.peers.clear()
    assert [x.key for x in pm.relay.waiting_logs()] == ["plenary"]
    pm.run(29.0, dt=0.5)
    assert list(store.durable) == ["plenary"]  # members may still resume within the grace
    pm.run(2.0, dt=0.5)
    assert store.durable == {} and pm.relay.waiting_logs() == []
