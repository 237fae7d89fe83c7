"""Receptions in the sans-I/O relay core, pumped in memory: passes at the door (one-time, forged,
another host's, none), capacity and the waiting area, the greeting line, the hosts' floor, and the
used passes kept across a relay restart."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from netpump import SECRET, Peer, Pump, lounge_layout

from vrdiplomacy.errors import CryptoError
from vrdiplomacy.net import wire, wire_spaces
from vrdiplomacy.net.client_core import (
    ClientCore,
    ClientSettings,
    Connected,
    RelayError,
    RelayNotice,
)
from vrdiplomacy.net.relay_core import RelayCore
from vrdiplomacy.reception import wire as rw
from vrdiplomacy.reception.passes import PassAdmission, ReceptionPass
from vrdiplomacy.reception.store import ReceptionStore

RELAY_FP = "cd" * 32
ROOM = "embassy"


def _relay(store: ReceptionStore | None = None) -> Pump:
    relay = RelayCore(SECRET, layouts={ROOM: lounge_layout()}, epoch=7, fingerprint=RELAY_FP)
    if store is not None:
        relay.use_reception_store(store)
    pm = Pump(relay)
    relay.wall_offset = time.time() - pm.now
    return pm


def _code(pki, name: str, host=None, room: str = ROOM) -> PassAdmission:  # type: ignore[no-untyped-def]
    hk, hc = host or pki.host
    return PassAdmission(ReceptionPass.create(room, hc, hk, name, pki.now))


def _host_pass(pki, host=None) -> PassAdmission:  # type: ignore[no-untyped-def]
    hk, hc = host or pki.host
    return PassAdmission(ReceptionPass.create(ROOM, hc, hk, "Host " + hc.subject.rfc4514_string()[:12], pki.now,
                                              role="host", guest_cert=hc), hk)


def _add(pm: Pump, adm: PassAdmission | None, name: str = "whoever", seat: str = "") -> Peer:
    p = Peer(ClientCore(name, seat, ROOM, ClientSettings(admission=adm), RELAY_FP), ("127.0.0.1", 42000 + len(pm.peers)))
    pm.peers.append(p)
    pm.connect(p)
    pm.run(0.05)
    return p


def _refusal(pm: Pump, p: Peer) -> str:
    errs = pm.of(p, RelayError)
    assert errs and errs[-1].fatal, "expected a refusal"
    assert errs[-1].code == wire.ERR_NOT_INVITED
    return errs[-1].message


def _open(pm: Pump, pki, capacity: int = 0) -> Peer:  # type: ignore[no-untyped-def]
    host = _add(pm, _host_pass(pki))
    assert pm.of(host, Connected)
    if capacity:
        host.core.send_control(rw.ReceptionConfig(capacity))
        pm.run(0.05)
    return host


def _status(p: Peer) -> rw.ReceptionStatus:
    st = [e for e in p.events if isinstance(e, rw.ReceptionStatus)]
    assert st, "no reception status"
    return st[-1]


def test_passes_at_the_door(pki) -> None:  # type: ignore[no-untyped-def]
    pm = _relay()
    early = _add(pm, _code(pki, "Early Bird"))
    assert "has not opened yet" in _refusal(pm, early)
    _open(pm, pki)
    # a one-time code enters once, under the pass's name (not the one the client claims)
    code = _code(pki, "Ms. Ada Lovelace")
    ada = _add(pm, code, name="Somebody Else")
    assert pm.of(ada, Connected)
    names = {m.identity for m in pm.relay.sessions.values()}
    assert "Ms. Ada Lovelace" in names and "Somebody Else" not in names
    # reused by another client: refused with who used it
    again = _add(pm, code)
    msg = _refusal(pm, again)
    assert "already used (by Ms. Ada Lovelace" in msg
    # forged: the guest's name altered in a genuine pass
    raw = bytearray(bytes(_code(pki, "Bob").invitation))
    i = raw.find(b"Bob")
    raw[i:i + 3] = b"Rob"
    forged = _add(pm, PassAdmission(ReceptionPass.parse(bytes(raw))))
    assert "signature does not verify" in _refusal(pm, forged)
    # signed by another host (a genuine host certificate, not this reception's)
    other = _add(pm, _code(pki, "Eve", host=pki.other_host))
    assert "not by the host of the reception" in _refusal(pm, other)
    # no pass at all
    plain = _add(pm, None)
    assert "is a reception: enter with the pass" in _refusal(pm, plain)
    # a delegate certificate cannot issue passes
    dk, dc = pki.delegate
    with pytest.raises(CryptoError, match="only a host or chair"):
        ReceptionPass.create(ROOM, dc, dk, "X", pki.now)
    c = pm.relay.reception_counters
    assert c["refused_used"] == 1 and c["refused_invalid"] == 1 and c["refused_other_host"] == 1
    assert c["refused_no_pass"] == 1 and c["refused_not_open"] == 1


def test_a_keyed_pass_needs_its_key(pki) -> None:  # type: ignore[no-untyped-def]
    hk, hc = pki.host
    p = ReceptionPass.create(ROOM, hc, hk, "Co-host", pki.now, role="host", guest_cert=pki.other_host[1])
    with pytest.raises(CryptoError, match="bound to another key"):
        PassAdmission(p, hk)  # type: ignore[arg-type]
    pm = _relay()
    host = _open(pm, pki)
    co = _add(pm, PassAdmission(p, pki.other_host[0]))  # type: ignore[arg-type]
    assert pm.of(co, Connected)
    rec = pm.relay.reception_state(ROOM)
    assert rec is not None and len(rec.hosts) == 2
    # the same keyed pass again (the co-host's client restarted): replaces the earlier session
    co2 = _add(pm, PassAdmission(p, pki.other_host[0]))  # type: ignore[arg-type]
    assert pm.of(co2, Connected) and len(rec.hosts) == 2
    assert any(e.code == wire.ERR_REPLACED for e in pm.of(co, RelayError))
    assert pm.of(host, Connected)


def test_capacity_waiting_area_and_greeting_line(pki) -> None:  # type: ignore[no-untyped-def]
    pm = _relay()
    host = _open(pm, pki, capacity=2)
    guests = [_add(pm, _code(pki, f"Guest {i}")) for i in range(4)]
    assert all(pm.of(g, Connected) for g in guests)
    ids = [g.core.client_id for g in guests]
    # the first two are in the hall, in the line; the others in the waiting area, told their place
    assert [_status(g).where for g in guests] == [rw.LINE, rw.LINE, rw.WAITING, rw.WAITING]
    assert (_status(guests[2]).position, _status(guests[3]).position) == (1, 2)
    assert "number 2 of 2 in the waiting area" in _status(guests[3]).text()
    assert guests[2].core.spaces.my_space == wire_spaces.WAITING
    # a waiting guest cannot walk into the hall
    guests[2].core.place(wire_spaces.PLENARY)
    guests[2].core.place("lounge")
    pm.run(0.05)
    assert any("waiting area" in e.message for e in pm.of(guests[2], RelayError))
    line = [e for e in host.events if isinstance(e, rw.GreetingLine)][-1]
    assert [cid for cid, _ in line.line] == ids[:2] and line.waiting == 2 and line.in_hall == 2
    # the host greets the next in line, in arrival order; every member hears the names
    host.core.send_control(rw.Greet())
    pm.run(0.05)
    greeted = [e for e in guests[1].events if isinstance(e, rw.Greeted)]
    assert [(g.client_id, g.guest) for g in greeted] == [(ids[0], "Guest 0")]
    assert _status(guests[1]).where == rw.LINE and _status(guests[1]).position == 1
    assert _status(guests[0]).where == rw.HALL
    # a guest leaves the hall: the first of the waiting area enters (and joins the line); the other moves up
    pm.drop(guests[0])
    pm.relay._end_session(pm.relay.sessions[ids[0]], pm.now, "left")
    pm.run(0.05)
    assert _status(guests[2]).where == rw.LINE and _status(guests[2]).position == 2
    assert _status(guests[3]).where == rw.WAITING and _status(guests[3]).position == 1
    assert guests[2].core.spaces.my_space == wire_spaces.PLENARY
    assert guests[1].core.spaces.place_of(ids[3])[0] == wire_spaces.WAITING
    host.core.send_control(rw.Greet())
    host.core.send_control(rw.Greet())
    host.core.send_control(rw.Greet())
    pm.run(0.05)
    order = [e.guest for e in host.events if isinstance(e, rw.Greeted)]
    assert order == ["Guest 0", "Guest 1", "Guest 2"]
    assert any("nobody is waiting" in e.message for e in pm.of(host, RelayNotice))
    # guests may not greet, and may not take the floor; the host may (its voice reaches the whole hall)
    guests[1].core.send_control(rw.Greet())
    guests[1].core.set_floor(True)
    pm.run(0.05)
    assert any("only a host" in e.message for e in pm.of(guests[1], RelayNotice))
    room = next(r for r in pm.relay.rooms.values() if r.name == ROOM)
    assert room.floor == 0
    host.core.set_floor(True)
    pm.run(0.05)
    assert room.floor == host.core.client_id and room.interest.floor_holder == host.core.client_id


def test_used_passes_survive_a_relay_restart(pki, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "reception.json"
    pm = _relay(ReceptionStore(path))
    _open(pm, pki)
    code = _code(pki, "Grace Hopper")
    grace = _add(pm, code)
    assert pm.of(grace, Connected)
    token = grace.core.token
    # a new relay process on the same state: the reception is known, the code used
    pm2 = _relay(ReceptionStore(path))
    thief = _add(pm2, code)
    assert "already used (by Grace Hopper" in _refusal(pm2, thief)
    # Grace's own client comes back with its resume token: admitted (the same session goes on)
    back = Peer(ClientCore("Grace Hopper", "", ROOM, ClientSettings(admission=code), RELAY_FP), ("127.0.0.1", 43000))
    back.core.restore(token)
    pm2.peers.append(back)
    pm2.connect(back)
    pm2.run(0.05)
    assert pm2.of(back, Connected) and back.core.client_id == grace.core.client_id
    plain = _add(pm2, None)
    assert "is a reception" in _refusal(pm2, plain)
    assert ReceptionStore(path).receptions[ROOM][0] == code.invitation.host_fingerprint


def test_wire_round_trip_and_malformed() -> None:
    for m in (rw.ReceptionConfig(150), rw.Greet(7), rw.ReceptionStatus(rw.WAITING, 3, 100, 100, 9),
              rw.GreetingLine(2, 10, 100, [(5, "Ada"), (9, "Grace")]), rw.Greeted(5, "Ada", "Sweden")):
        assert wire.parse_control(bytes(m)) == m
    from vrdiplomacy.errors import ProtocolError

    with pytest.raises(ProtocolError):
        wire.parse_control(bytes(rw.ReceptionStatus(rw.HALL))[:-1])
    with pytest.raises(ProtocolError):
        wire.parse_control(bytes((wire.VERSION, rw.ReceptionStatus.TYPE, 9)) + bytes(8))
    with pytest.raises(ProtocolError):
        ReceptionPass.parse(b"VRDPASS\x01\x05")
