"""The federation's sans-I/O part: two real relay cores joined by an in-memory NATS (a core-NATS
bus without echo, and a per-room "stream" that numbers events in arrival order), fake clock.
Also the wire messages and the configuration writer. Fails on main ebabf24 (no federation)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "net"))

from netpump import SECRET, Peer, Pump

from vrdiplomacy.errors import ProtocolError
from vrdiplomacy.meeting import wire as mw
from vrdiplomacy.meeting.roles import role_index
from vrdiplomacy.net import federation_wire as fw
from vrdiplomacy.net import wire
from vrdiplomacy.net.client_core import FloorChanged, RelayNotice
from vrdiplomacy.net.client_types import (
    MemberUpdate,
    RelayError,
    RoomEventReceived,
    VoiceReceived,
)
from vrdiplomacy.net.federation import FederationSettings
from vrdiplomacy.net.federation_config import ClusterLayout, write_cluster_config
from vrdiplomacy.net.relay_core import RelayCore
from vrdiplomacy.net.relay_meeting import NOTICE_MEETING_REFUSED

ROOM = "plenary"


class Bus:
    """NATS in memory: core subjects (no echo) and one stream per room; ``store`` False holds
    JetStream's acknowledgements (and the stored events) until :meth:`release`."""

    def __init__(self, *pumps: Pump) -> None:
        self.pumps = list(pumps)
        self.streams: dict[str, list[bytes]] = {}
        self.opened: dict[int, set[str]] = {id(p.relay): set() for p in pumps}
        self.store = True
        self.waiting: list[tuple[RelayCore, str, fw.EventRecord]] = []
        self.ids: set[str] = set()

    def step(self, dt: float = 0.0) -> None:
        for _ in range(10):
            moved = False
            for p in self.pumps:
                p.step(dt if _ == 0 else 0.0)
                core = p.relay
                beat = core.fed_tick(p.now)
                out = core.fed_take()
                for fr in out.open:
                    self.opened[id(core)].add(fr.token)
                    for seq, data in enumerate(self.streams.get(fr.token, []), 1):
                        core.fed_event_in(fr.token, seq, data, p.now)
                    core.fed_synced(fr.key, p.now)
                    moved = True
                for token in out.close:
                    self.opened[id(core)].discard(token)
                for subject, data in out.publish + ([(fw.ALIVE_SUBJECT, beat)] if beat else []):
                    moved = True
                    for q in self.pumps:
                        if q is p:
                            continue
                        if subject == fw.ALIVE_SUBJECT:
                            q.relay.fed_alive(data, q.now)
                            continue
                        _vrd, _room, token, stream = subject.split(".")
                        if token in self.opened[id(q.relay)]:
                            q.relay.fed_message(token, stream, data, q.now)
                for token, rec in out.events:
                    moved = True
                    self.waiting.append((core, token, rec))
                if self.store and self.waiting:
                    self.release()
            if not moved:
                break

    def release(self) -> None:
        waiting, self.waiting = self.waiting, []
        for core, token, rec in waiting:
            if rec.msg_id(token) not in self.ids:  # JetStream's de-duplication
                self.ids.add(rec.msg_id(token))
                self.streams.setdefault(token, []).append(bytes(rec))
                seq = len(self.streams[token])
                for p in self.pumps:
                    if token in self.opened[id(p.relay)]:
                        p.relay.fed_event_in(token, seq, bytes(rec), p.now)
            core.fed_stored(rec.sender, rec.client_seq, self.pumps[0].now)

    def run(self, seconds: float, dt: float = 0.01) -> None:
        for _ in range(round(seconds / dt)):
            self.step(dt)


def _node(name: str) -> Pump:
    core = RelayCore(SECRET, epoch=7)
    core.enable_federation(FederationSettings(node_name=name))
    return Pump(core)


def _federation() -> tuple[Bus, Pump, Pump]:
    n1, n2 = _node("n1"), _node("n2")
    return Bus(n1, n2), n1, n2


def _join(bus: Bus, pump: Pump, who: str, seat: str) -> Peer:
    p = pump.add(who, seat, ROOM)
    bus.run(0.3)
    assert p.core.state == "connected"
    return p


def test_members_on_two_nodes_see_and_hear_each_other_and_share_one_event_order() -> None:
    bus, n1, n2 = _federation()
    a, b = _join(bus, n1, "alice", "s1"), _join(bus, n2, "bob", "s2")
    bus.run(0.2)
    assert b.core.client_id in a.core.members and a.core.client_id in b.core.members
    for i in range(10):
        a.core.send_voice(0x80 | 10, b"a-voice-%d" % i)
        bus.step(0.02)
    heard = [e for e in b.events if isinstance(e, VoiceReceived) and e.source == a.core.client_id]
    assert len(heard) == 10
    for i in range(5):
        a.core.send_event(b"a%d" % i)
        b.core.send_event(b"b%d" % i)
        bus.step(0.01)
    bus.run(0.2)
    seen = [[(e.room_seq, e.payload) for e in p.events if isinstance(e, RoomEventReceived)] for p in (a, b)]
    assert seen[0] == seen[1] and [q for q, _ in seen[0]] == list(range(1, 11))
    assert sorted(x for _, x in seen[0]) == sorted([b"a%d" % i for i in range(5)] + [b"b%d" % i for i in range(5)])


def test_an_event_is_acknowledged_only_after_the_stream_stored_it() -> None:
    bus, n1, n2 = _federation()
    a, _b = _join(bus, n1, "alice", "s1"), _join(bus, n2, "bob", "s2")
    bus.store = False
    a.core.send_event(b"held")
    bus.run(0.5)
    assert [s for s, _ in a.core.reliable.unacked] == [1], "acknowledged before JetStream had it"
    assert not [e for e in a.events if isinstance(e, RoomEventReceived)]
    bus.release()
    bus.run(0.1)
    assert not a.core.reliable.unacked
    assert [e.payload for e in a.events if isinstance(e, RoomEventReceived)] == [b"held"]


def test_a_silent_node_s_members_go_away_then_leave() -> None:
    bus, n1, n2 = _federation()
    a, b = _join(bus, n1, "alice", "s1"), _join(bus, n2, "bob", "s2")
    bid = b.core.client_id
    bus.pumps.remove(n2)  # node 2 dies: no heartbeat, no presence
    for _ in range(300):
        n1.step(0.01)
        n1.relay.fed_tick(n1.now)
    ups = [e.state for e in a.events if isinstance(e, MemberUpdate) and e.client_id == bid]
    assert ups[-1] == "away"
    n1.run(n1.relay.s.resume_grace + 1.0, dt=0.25)
    n1.relay.fed_tick(n1.now)
    n1.step()
    assert bid not in n1.relay.rooms[next(iter(n1.relay.rooms))].interest.members
    assert [e.state for e in a.events if isinstance(e, MemberUpdate) and e.client_id == bid][-1] == "left"


def test_a_seat_held_on_another_node_is_refused_with_who_holds_it() -> None:
    bus, n1, n2 = _federation()
    _a = _join(bus, n1, "alice", "s1")
    _b = _join(bus, n2, "bob", "s2")
    c = n2.add("carol", "s1", ROOM)
    bus.run(0.3)
    errors = [e for e in c.events if isinstance(e, RelayError)]
    assert c.core.state != "connected" and errors and errors[0].code == wire.ERR_SEAT_TAKEN
    assert "taken by alice (on another relay node)" in errors[0].message


def test_bad_input_from_nats_is_counted_never_raised() -> None:
    bus, n1, n2 = _federation()
    _a, _b = _join(bus, n1, "alice", "s1"), _join(bus, n2, "bob", "s2")
    core = n1.relay
    token = next(iter(core._fed_rooms.values())).token
    c = core.fed.counters  # type: ignore[union-attr]
    before = c.malformed
    core.fed_message(token, "voice", b"\x01", n1.now)
    core.fed_message(token, "presence", b"\x09" * 20, n1.now)
    core.fed_message(token, "floor", b"", n1.now)
    core.fed_message(token, "bogus", b"x", n1.now)
    core.fed_event_in(token, 99, b"\x01", n1.now)
    core.fed_alive(b"", n1.now)
    truncated = bytes(fw.MediaBatch(fw.VOICE, 5, wire.ENTRY_HDR.pack(wire.DG_VOICE, 1, 50) + b"short"))
    core.fed_message(token, "voice", truncated, n1.now)
    assert c.malformed - before == 7
    stranger = bytes(fw.MediaBatch(fw.VOICE, 5, wire.ENTRY_HDR.pack(wire.DG_VOICE, 12345, 3) + b"\x8a\x00\x01"))
    core.fed_message(token, "voice", stranger, n1.now)
    assert c.dropped_unknown_member == 1
    core.fed_message("0" * 32, "voice", b"\x00", n1.now)  # a room this node does not serve: ignored


@pytest.mark.parametrize("msg", [
    fw.MediaBatch(fw.POSE, 7, b"\x02abc"), fw.PresenceMsg(3, fw.AWAY, 9, "délégué", "s-1"), fw.FloorMsg(1, 42),
    fw.EventRecord(5, 6, b"payload"), fw.Alive(8, "relay-1"),
])
def test_wire_round_trip_and_truncation(msg: object) -> None:
    data = bytes(msg)  # type: ignore[call-overload]
    assert type(msg).parse(data) == msg  # type: ignore[attr-defined]
    with pytest.raises(ProtocolError):
        type(msg).parse(data[:2])  # type: ignore[attr-defined]
    with pytest.raises(ProtocolError):
        type(msg).parse(b"\x63" + data[1:])  # type: ignore[attr-defined]


def test_room_names_never_appear_on_nats_and_log_ids_agree() -> None:
    t = fw.room_token("secret room\x00AB:CD")
    assert len(t) == 32 and "secret" not in fw.room_subject(t, "voice")
    assert fw.log_id_of("x") == fw.log_id_of("x") != fw.log_id_of("y")


def test_config_writer_makes_a_cluster_nats_server_accepts(tmp_path: Path) -> None:
    files = write_cluster_config(tmp_path / "fed", ClusterLayout.consecutive(3, "127.0.0.1", 14222, 16222))
    assert [f.name for f in files] == ["nats-1.conf", "nats-2.conf", "nats-3.conf"]
    d = tmp_path / "fed"
    for f in [*files, *(d / f"relay-{i}.password" for i in (1, 2, 3))]:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
    conf = files[0].read_text()
    assert "nats-route://route:" in conf and ":16223" in conf and ":16224" in conf and ":16222\"" in conf
    assert '"vrd.>"' in conf and '"$JS.API.>"' in conf and ">\"]" in conf
    assert (d / "shared" / "cert.pem").exists() or any((d / "shared").iterdir())
    assert "--nats-user relay-2" in (d / "commands.txt").read_text()
    exe = shutil.which("nats-server") or ("/usr/sbin/nats-server" if os.path.exists("/usr/sbin/nats-server") else None)
    if exe is None:
        pytest.skip("nats-server not installed: the syntax check needs it")
    for f in files:
        r = subprocess.run([exe, "-t", "-c", str(f)], capture_output=True, text=True, timeout=30, check=False)
        assert r.returncode == 0, r.stderr + r.stdout


def test_a_secured_room_spans_two_nodes_with_one_certificate() -> None:
    """Invited members of one secured room on two nodes (which share one certificate, so the
    admission proofs bound to it hold on either): both admitted, each sees the other under the
    invited name, and the sealed events (opaque to the relays) reach both in one order."""
    import time as _time

    from vrdiplomacy.crypto import identity as ident
    from vrdiplomacy.crypto.admission import Admission, Invitation
    from vrdiplomacy.net.client_core import ClientCore, ClientSettings, Connected

    fp = "ab" * 32
    t = _time.time()
    root_key, root = ident.create_ministry_root("Secretariat", "CH", t - 60, scope=[ident.ANY_COUNTRY])

    def member(name: str, country: str, role: str) -> tuple[object, object]:
        key, csr = ident.create_delegation_request(name, country)
        return key, ident.issue_delegation(csr, root_key, root, role, t - 60)

    chair = member("Chair", "CH", "chair")

    def admission(who: tuple[object, object], role: str, seat: str) -> Admission:
        inv = Invitation.create("chamber", chair[1], chair[0], who[1], role, t, seat, 1.0)  # type: ignore[arg-type]
        return Admission(inv, who[0])  # type: ignore[arg-type]

    nodes = []
    for name in ("n1", "n2"):
        core = RelayCore(SECRET, epoch=7, fingerprint=fp)
        core.enable_federation(FederationSettings(node_name=name))
        pm = Pump(core)
        core.wall_offset = t - pm.now
        nodes.append(pm)
    bus = Bus(*nodes)
    peers = []
    for pm, who, role, seat in ((nodes[0], chair, "chair", "B1"), (nodes[1], member("France", "FR", "head"), "head", "A1")):
        p = Peer(ClientCore(f"{role}-client", seat, "chamber", ClientSettings(admission=admission(who, role, seat)), fp),
                 ("127.0.0.1", 42000 + len(pm.peers)))
        pm.peers.append(p)
        pm.connect(p)
        bus.run(0.3)
        assert pm.of(p, Connected), [type(e).__name__ for e in p.events]
        peers.append(p)
    bus.run(0.3)
    ch, fr = peers
    assert {m.identity for m in ch.core.members.values()} == {"Chair", "France"}
    assert {m.identity for m in fr.core.members.values()} == {"Chair", "France"}
    fr.core.send_event(b"\x00sealed-by-france")
    ch.core.send_event(b"\x00sealed-by-chair")
    bus.run(0.3)
    got = [[(e.room_seq, e.payload) for e in p.events if isinstance(e, RoomEventReceived)] for p in peers]
    assert got[0] == got[1] and len(got[0]) == 2


def _act(p: Peer, action: int, target: int = 0, value: int = 0) -> None:
    a = mw.MeetingAction(action, target or mw.NOBODY, value)
    p.core.send_event(bytes(a.header(target)) + bytes(a))


def _notices(p: Peer) -> list[str]:
    return [e.message for e in p.events if isinstance(e, RelayNotice) and e.code == NOTICE_MEETING_REFUSED]


def test_floor_queue_grant_mute_and_a_space_move_are_the_same_on_both_nodes() -> None:
    """Procedure actions and places of members spread over two relay nodes. Fails on main 94bf7c4:
    a federated relay stored procedure actions unchecked and folded none (no queue, no floor, no
    mute on any node), and no node heard of a place taken on another."""
    bus, n1, n2 = _federation()
    chair, fr = _join(bus, n1, "chair", "s1"), _join(bus, n2, "france", "s2")
    de, uk = _join(bus, n1, "germany", "s3"), _join(bus, n2, "uk", "s4")
    key = next(iter(n1.relay.rooms))
    cid, fid, did, uid = (p.core.client_id for p in (chair, fr, de, uk))
    _act(chair, mw.CLAIM_ROLE, value=role_index("chair"))
    bus.run(0.1)
    for p in (fr, de, uk):  # floor requests from both nodes, interleaved
        _act(p, mw.REQUEST)
        bus.step(0.005)
    _act(fr, mw.GRANT)  # refused at france's node: a delegate is no chair
    bus.run(0.2)
    order = [e.sender for e in chair.events if isinstance(e, RoomEventReceived) and mw.looks_like(e.payload)
             and mw.MeetingHeader.parse(e.payload).action == mw.REQUEST]
    q1, q2 = (pm.relay.meeting_state(key) for pm in (n1, n2))
    assert q1 is not None and q2 is not None
    assert [k for k, _ in q1.queue] == [k for k, _ in q2.queue] == order and sorted(order) == sorted([fid, did, uid])
    assert _notices(fr) == [("grant refused: a member with the role delegate may not do that (needs the 'chair' "
                             "permission)")]
    assert not fr.core.reliable.unacked  # refused, yet acknowledged
    # the chair (node 1) grants the first in line, whichever node it is on: both nodes route to it
    _act(chair, mw.GRANT, value=5000)
    bus.run(0.2)
    assert n1.relay.rooms[key].floor == n2.relay.rooms[key].floor == order[0] != 0
    assert all(pm.of(p, FloorChanged)[-1].holder == order[0] for pm, p in ((n1, de), (n2, uk)))  # type: ignore[attr-defined]
    # the chair mutes uk (node 2): uk's own node drops its voice, so no one on node 1 hears it
    _act(chair, mw.MUTE, uid)
    bus.run(0.2)
    assert uid in n2.relay._silenced
    for i in range(5):
        uk.core.send_voice(0x80 | 10, b"uk-%d" % i)
        bus.step(0.02)
    assert not [e for e in chair.events if isinstance(e, VoiceReceived) and e.source == uid]
    # germany (node 1) moves to the lounge: node 2 places it there too and tells its members
    de.core.place("lounge")
    bus.run(0.2)
    assert n1.relay.rooms[key].interest.place_of(did) == n2.relay.rooms[key].interest.place_of(did) == ("lounge", "", "")
    assert fr.core.spaces.place_of(did)[0] == uk.core.spaces.place_of(did)[0] == "lounge"
    # ... so france's voice (node 2, plenary) no longer reaches germany, and still reaches the chair
    for i in range(5):
        fr.core.send_voice(0x80 | 10, b"fr-%d" % i)
        bus.step(0.02)
    assert not [e for e in de.events if isinstance(e, VoiceReceived) and e.source == fid]
    assert len([e for e in chair.events if isinstance(e, VoiceReceived) and e.source == fid]) == 5
    # a space event in the lounge reaches a lounge member on the other node, not the plenary
    uk.core.place("lounge")
    bus.run(0.2)
    de.core.send_space_event(b"wave")
    bus.run(0.1)
    assert [e.sender for e in uk.events if isinstance(e, RoomEventReceived) and e.payload == b"wave"] == [did]
    assert not [e for e in fr.events if isinstance(e, RoomEventReceived) and e.payload == b"wave"]
    # a newcomer on node 2 is told where node 1's members are (Welcome roster)
    late = _join(bus, n2, "italy", "s5")
    assert late.core.spaces.place_of(did)[0] == "lounge"
    assert n1.relay.meeting_counters["folded"] == n2.relay.meeting_counters["folded"] > 0
    assert cid not in n2.relay.sessions  # (the chair really is on the other node)


def test_room_link_parses_split_messages_answers_pings_and_drops_a_broken_server() -> None:
    """The relay node's own core-NATS link (federation_media): a MSG split over reads arrives once
    and whole, a server PING is answered, and garbage from the server is counted and the
    connection dropped (to be re-made), never raised."""
    import asyncio

    from vrdiplomacy.net.federation_media import MediaLink, _Proto, plain_urls

    class FakeTransport(asyncio.Transport):
        def __init__(self) -> None:
            super().__init__()
            self.out: list[bytes] = []
            self.aborted = False

        def write(self, data: bytes) -> None:
            self.out.append(bytes(data))

        def is_closing(self) -> bool:
            return self.aborted

        def abort(self) -> None:
            self.aborted = True

    async def run() -> None:
        got: list[tuple[str, bytes]] = []
        flushes = []
        link = MediaLink(["nats://127.0.0.1:4222"], "relay-1", "pw", "n1", lambda s, d: got.append((s, d)),
                         lambda: flushes.append(1), lambda: None)
        proto = _Proto(link)
        t = FakeTransport()
        proto.connection_made(t)
        proto.data_received(b'INFO {"server_id":"x","max_payload":1048576}\r\n')
        assert t.out and t.out[0].startswith(b"CONNECT ") and b'"user": "relay-1"' in t.out[0] and t.out[0].endswith(b"PING\r\n")
        proto.data_received(b"PONG\r\nMSG vrd.room.ab.voice 1 5\r\nhel")
        assert proto.ready.done() and not got
        proto.data_received(b"lo\r\nPING\r\nMSG vrd.room.ab.pose 1 0\r\n\r\n")
        assert got == [("vrd.room.ab.voice", b"hello"), ("vrd.room.ab.pose", b"")] and len(flushes) == 1  # one relay flush per read
        assert t.out[-1] == b"PONG\r\n"
        proto.data_received(b"MSG vrd.room.ab.voice 1 notanumber\r\n")
        assert link.malformed == 1 and t.aborted and len(got) == 2

    asyncio.run(run())
    assert plain_urls(["nats://a:1", "b:2"]) == [("a", 1), ("b", 2)]
    assert plain_urls(["tls://a:1"]) is None
