"""A reception on two relay nodes of a federation, sans-I/O: two real relay cores joined by the
in-memory NATS of the federation tests with the reception stream (:mod:`rcbus`), fake clock.
One door, one greeting line, one capacity and one waiting area for the whole federation.

Fails on main 94bf7c4 and on the branch's earlier reception work (877af11), where each node kept
its own: the same one-time pass entered once on each node, and each node had its own line."""

from __future__ import annotations

import time

from netpump import SECRET, Peer, Pump, lounge_layout
from rcbus import RcBus

from vrdiplomacy.net import wire, wire_spaces
from vrdiplomacy.net.client_core import (
    ClientCore,
    ClientSettings,
    Connected,
    RelayError,
)
from vrdiplomacy.net.federation import FederationSettings
from vrdiplomacy.net.relay_core import RelayCore
from vrdiplomacy.reception import fed_wire as fwr
from vrdiplomacy.reception import wire as rw
from vrdiplomacy.reception.passes import PassAdmission, ReceptionPass
from vrdiplomacy.reception.store import ReceptionStore

RELAY_FP = "cd" * 32
ROOM = "embassy"


def _node(name: str, store: ReceptionStore | None = None) -> Pump:
    core = RelayCore(SECRET, layouts={ROOM: lounge_layout()}, epoch=7, fingerprint=RELAY_FP)
    if store is not None:
        core.use_reception_store(store)
    core.enable_federation(FederationSettings(node_name=name))
    pm = Pump(core)
    core.wall_offset = time.time() - pm.now
    return pm


def _code(pki, name: str) -> PassAdmission:  # type: ignore[no-untyped-def]
    hk, hc = pki.host
    return PassAdmission(ReceptionPass.create(ROOM, hc, hk, name, pki.now))


def _host_pass(pki, name: str = "Ambassador") -> PassAdmission:  # type: ignore[no-untyped-def]
    hk, hc = pki.host
    return PassAdmission(ReceptionPass.create(ROOM, hc, hk, name, pki.now, role="host", guest_cert=hc), hk)


def _peer(pm: Pump, adm: PassAdmission | None, name: str = "whoever") -> Peer:
    p = Peer(ClientCore(name, "", ROOM, ClientSettings(admission=adm), RELAY_FP), ("127.0.0.1", 42000 + len(pm.peers)))
    pm.peers.append(p)
    pm.connect(p)
    return p


def _enter(bus: RcBus, pm: Pump, adm: PassAdmission | None, name: str = "whoever") -> Peer:
    p = _peer(pm, adm, name)
    bus.run(0.1)
    return p


def _status(p: Peer) -> rw.ReceptionStatus:
    st = [e for e in p.events if isinstance(e, rw.ReceptionStatus)]
    assert st, "no reception status"
    return st[-1]


def _line(p: Peer) -> rw.GreetingLine:
    ln = [e for e in p.events if isinstance(e, rw.GreetingLine)]
    assert ln, "no greeting line"
    return ln[-1]


def _refused(pm: Pump, p: Peer) -> str:
    errs = pm.of(p, RelayError)
    assert errs and errs[-1].fatal and errs[-1].code == wire.ERR_NOT_INVITED, errs
    return errs[-1].message


def test_one_time_pass_on_two_nodes_at_once_admits_exactly_one(pki) -> None:  # type: ignore[no-untyped-def]
    """The same one-time code shown at both nodes' doors in the same instant: one is admitted,
    the other refused as used; a node restarted on an empty state folder still refuses it."""
    n1, n2 = _node("n1"), _node("n2")
    bus = RcBus(n1, n2)
    host = _enter(bus, n1, _host_pass(pki))
    assert n1.of(host, Connected)
    code = _code(pki, "Ada")
    a, b = _peer(n1, code, "Ada"), _peer(n2, code, "Ada")  # both Hellos before either is decided
    bus.run(0.2)
    admitted = [p for p in (a, b) if n1.of(p, Connected) or n2.of(p, Connected)]
    assert len(admitted) == 1, "the same one-time pass admitted on both nodes"
    loser = b if admitted[0] is a else a
    assert "already used (by Ada" in _refused(n2 if loser is b else n1, loser)
    claims = [fwr.ReceptionRecord.parse(d) for _t, d in bus.records if d[1] == fwr.CLAIM]
    assert sum(1 for c in claims if c.token == code.invitation.token_hex) == 2  # both were claims; the order decided
    # a third node (a relay restarted with no state folder) learns the used pass from the stream
    n3 = _node("n3")
    bus.add(n3)
    late = _enter(bus, n3, code, "Ada")
    bus.run(0.1)
    assert "already used" in _refused(n3, late)
    # ... and the pass's own session coming back to that node with its resume token is let in
    w = admitted[0]
    back = Peer(ClientCore("Ada", "", ROOM, ClientSettings(admission=code), RELAY_FP), ("127.0.0.1", 43000))
    back.core.restore(w.core.token)
    n3.peers.append(back)
    n3.connect(back)
    bus.run(0.2)
    assert n3.of(back, Connected) and back.core.client_id == w.core.client_id


def test_line_capacity_and_waiting_area_are_the_federations(pki, tmp_path) -> None:  # type: ignore[no-untyped-def]
    n1, n2 = _node("n1", ReceptionStore(tmp_path / "n1.json")), _node("n2")
    bus = RcBus(n1, n2)
    host = _enter(bus, n1, _host_pass(pki, "Ambassador"))
    cohost = _enter(bus, n2, _host_pass(pki, "Consul"))
    assert n1.of(host, Connected) and n2.of(cohost, Connected)
    host.core.send_control(rw.ReceptionConfig(3))
    bus.run(0.1)
    # guests arrive alternately at the two nodes: one line, one count
    guests = []
    for i in range(5):
        pm = (n1, n2)[i % 2]
        guests.append((pm, _enter(bus, pm, _code(pki, f"Guest {i}"), f"Guest {i}")))
    assert all(pm.of(g, Connected) for pm, g in guests)
    ids = [g.core.client_id for _pm, g in guests]
    s1, s2 = n1.relay.reception_state(ROOM), n2.relay.reception_state(ROOM)
    assert s1 is not None and s2 is not None
    assert s1.line == s2.line == ids[:3]  # arrival order, the same on both nodes
    assert s1.waiting == s2.waiting == ids[3:]
    assert [cid for cid, _ in _line(host).line] == [cid for cid, _ in _line(cohost).line] == ids[:3]
    assert _line(host).waiting == _line(cohost).waiting == 2 and _line(cohost).in_hall == 3
    # capacity counted across nodes: guests 3 (n2) and 4 (n1) wait, each told its place
    assert [_status(g).where for _pm, g in guests] == [rw.LINE] * 3 + [rw.WAITING] * 2
    assert "number 1 of 2 in the waiting area" in _status(guests[3][1]).text()
    assert "number 2 of 2 in the waiting area" in _status(guests[4][1]).text()
    assert guests[3][1].core.spaces.my_space == wire_spaces.WAITING
    # both nodes route the waiting guests apart from the hall
    for pm in (n1, n2):
        room = next(r for r in pm.relay.rooms.values() if r.name == ROOM)
        assert room.interest.place_of(ids[3])[0] == room.interest.place_of(ids[4])[0] == wire_spaces.WAITING
    # the host on n1 greets (a guest on n1, then one on n2): everyone hears it, in order
    host.core.send_control(rw.Greet())
    bus.run(0.1)
    cohost.core.send_control(rw.Greet())
    bus.run(0.1)
    for pm, g in guests:
        assert [e.guest for e in g.events if isinstance(e, rw.Greeted)] == ["Guest 0", "Guest 1"]
    assert _status(guests[2][1]).where == rw.LINE and _status(guests[2][1]).position == 1
    # a guest of n2 leaves: the first waiting guest (on n2) enters the hall, the other moves up
    pm1, g1 = guests[1]
    pm1.drop(g1)
    pm1.relay._end_session(pm1.relay.sessions[ids[1]], pm1.now, "left")
    bus.run(0.1)
    assert _status(guests[3][1]).where == rw.LINE and guests[3][1].core.spaces.my_space == wire_spaces.PLENARY
    assert _status(guests[4][1]).where == rw.WAITING and _status(guests[4][1]).position == 1
    assert s1.line == s2.line == [ids[2], ids[3]] and s1.waiting == s2.waiting == [ids[4]]
    assert len(s1.hall) == len(s2.hall) == 3
    # the capacity raised on n2 lets the last one in, on both nodes
    cohost.core.send_control(rw.ReceptionConfig(4))
    bus.run(0.1)
    assert s1.waiting == s2.waiting == [] and s1.capacity == s2.capacity == 4
    assert _status(guests[4][1]).where == rw.LINE
    assert ReceptionStore(tmp_path / "n1.json").receptions[ROOM][1] == 4  # kept in n1's state folder too


def test_a_federated_node_admits_a_pass_after_holding_the_hello(pki) -> None:  # type: ignore[no-untyped-def]
    """On a relay node of a NATS federation the first Hello for a room is held until the room's
    stream is read, then redone: the pass it was admitted with must still count (and only for it)."""
    n1 = _node("n1")
    bus = RcBus(n1)
    bus.defer_sync = True  # the host's claim comes back before the room's events are read
    host = _enter(bus, n1, _host_pass(pki))
    assert not n1.of(host, Connected) and n1.relay.fed is not None and n1.relay.fed.counters.hellos_held == 1
    bus.defer_sync = False
    bus.release_sync()
    bus.run(0.2)
    assert n1.of(host, Connected), [type(e).__name__ for e in host.events]
    assert n1.relay.reception_state(ROOM).hosts == {host.core.client_id}
    guest = _enter(bus, n1, _code(pki, "Guest on n1"), "Guest on n1")
    assert n1.of(guest, Connected)
    assert "Guest on n1" in {s.identity for s in n1.relay.sessions.values()}
    plain = _enter(bus, n1, None)
    assert "is a reception" in _refused(n1, plain)


def test_reception_record_round_trip_and_malformed() -> None:
    r = fwr.ReceptionRecord(fwr.CLAIM, 7, 3, 9, "ab" * 16, "Ada Lovelace", "ef" * 32, "host", fwr.ONE_TIME, 5, 1.5e9)
    assert fwr.ReceptionRecord.parse(bytes(r)) == r and r.one_time
    import pytest

    from vrdiplomacy.errors import ProtocolError

    for bad in (bytes(r)[:10], bytes(r)[:-1], bytes((2,)) + bytes(r)[1:], bytes((1, 9)) + bytes(r)[2:]):
        with pytest.raises(ProtocolError):
            fwr.ReceptionRecord.parse(bad)


def test_a_claim_whose_holder_went_away_leaves_the_pass_unused(pki) -> None:  # type: ignore[no-untyped-def]
    """A one-time pass claimed at n1 by a client that disconnects before the claim comes back (a
    timeout while NATS fails over): the pass is released, and the guest can enter with it later."""
    n1, n2 = _node("n1"), _node("n2")
    bus = RcBus(n1, n2)
    _enter(bus, n1, _host_pass(pki))
    code = _code(pki, "Ada")
    first = _peer(n1, code, "Ada")
    for _ in range(5):
        if n1.relay.rc_fed.pending:
            break
        n1.step(0.01)  # the relay reads the Hello; the claim waits in its outbox
    assert n1.relay.rc_fed.pending, "no claim pending"
    n1.drop(first)
    bus.run(0.1)
    assert code.invitation.token_hex not in n1.relay.reception_store.used
    assert "release" in bus.kinds()
    again = _enter(bus, n2, code, "Ada")
    assert n2.of(again, Connected)


def test_a_lost_nodes_guests_leave_the_hall_and_the_waiting_area_moves_up(pki) -> None:  # type: ignore[no-untyped-def]
    """Node n2 dies with a guest in the hall: once its guests' resume grace is over, n1 writes
    their departure and the first guest of the waiting area (on n1) enters."""
    n1, n2 = _node("n1"), _node("n2")
    n1.relay.s.resume_grace = n2.relay.s.resume_grace = 3.0
    bus = RcBus(n1, n2)
    host = _enter(bus, n1, _host_pass(pki))
    host.core.send_control(rw.ReceptionConfig(1))
    bus.run(0.1)
    inside = _enter(bus, n2, _code(pki, "Ada"), "Ada")
    waiting = _enter(bus, n1, _code(pki, "Bea"), "Bea")
    assert _status(inside).where == rw.LINE and _status(waiting).where == rw.WAITING
    bus.pumps.remove(n2)  # n2 is gone: no heartbeat, no LEAVE of its own
    bus.run(2.0 + 3.0 + 1.0, dt=0.05)  # node timeout, then the resume grace
    assert _status(waiting).where == rw.LINE and _status(waiting).position == 1
    assert n1.relay.reception_state(ROOM).hall == {waiting.core.client_id}
    assert "leave" in bus.kinds()


def test_guests_of_a_node_never_heard_leave_after_the_grace(pki) -> None:  # type: ignore[no-untyped-def]
    """The only node serving a reception dies; a new relay process opens the room, reads the
    records (its predecessor's guests still in the hall) and, a node timeout and a resume grace
    later, lets them go: the capacity they held is free again."""
    n1 = _node("n1")
    n1.relay.s.resume_grace = 3.0
    bus = RcBus(n1)
    host = _enter(bus, n1, _host_pass(pki))
    host.core.send_control(rw.ReceptionConfig(1))
    bus.run(0.1)
    assert n1.of(_enter(bus, n1, _code(pki, "Ada"), "Ada"), Connected)
    bus.pumps.remove(n1)  # the process dies
    n3 = _node("n3")
    n3.relay.s.resume_grace = 3.0
    bus.add(n3)
    bea = _enter(bus, n3, _code(pki, "Bea"), "Bea")
    assert _status(bea).where == rw.WAITING  # Ada (of the dead process) still counts, for now
    bus.run(2.0 + 3.0 + 1.5, dt=0.05)
    assert _status(bea).where == rw.LINE
    st = n3.relay.reception_state(ROOM)
    assert st.hall == {bea.core.client_id} and not st.hosts


def test_a_host_acts_before_its_own_arrival_record_is_back(pki) -> None:  # type: ignore[no-untyped-def]
    """A host's client sets the capacity as soon as it is welcomed (``join --capacity``), while
    its ARRIVE record is still on its way through JetStream: it is a host already."""
    n1 = _node("n1")
    bus = RcBus(n1)
    bus.hold_kinds = {fwr.ARRIVE}
    host = _enter(bus, n1, _host_pass(pki))
    assert n1.of(host, Connected) and bus.held
    host.core.send_control(rw.ReceptionConfig(5))
    bus.run(0.1)
    assert n1.relay.reception_state(ROOM).capacity == 5
    assert n1.relay.reception_counters["host_only_refused"] == 0
    bus.hold_kinds = set()
    bus.run(0.1)
    assert n1.relay.reception_state(ROOM).hosts == {host.core.client_id}
    assert _line(host).capacity == 5
