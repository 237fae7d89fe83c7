"""Admission to secured rooms in the sans-I/O relay core: invitations, proofs, refusals, notices."""

from __future__ import annotations

import dataclasses
import time

import pytest

from vrdiplomacy.crypto import identity as ident
from vrdiplomacy.crypto.admission import Admission, Invitation
from vrdiplomacy.net import wire
from vrdiplomacy.net.client_core import ClientCore, ClientSettings, Connected, MemberUpdate, RelayError, RelayNotice
from vrdiplomacy.net.relay_core import RelayCore
from vrdiplomacy.net.relay_state import RelaySettings

from netpump import SECRET, Peer, Pump, lounge_layout

RELAY_FP = "ab" * 32


class Pki:
    def __init__(self) -> None:
        self.now = time.time()
        self.root_key, self.root = ident.create_ministry_root("Secretariat", "CH", self.now - 60, scope=[ident.ANY_COUNTRY])

    def member(self, name: str, country: str, role: str) -> tuple[object, object]:
        key, csr = ident.create_delegation_request(name, country)
        return key, ident.issue_delegation(csr, self.root_key, self.root, role, self.now - 60)


@pytest.fixture()
def room() -> tuple[Pump, Pki, tuple[object, object]]:
    relay = RelayCore(SECRET, layouts={"chamber": lounge_layout()}, epoch=7, fingerprint=RELAY_FP)
    pm = Pump(relay)
    relay.wall_offset = time.time() - pm.now
    pki = Pki()
    return pm, pki, pki.member("Chair", "CH", "chair")


def _invite(pki: Pki, chair: tuple[object, object], member: tuple[object, object], role: str, seat: str = "",
            room: str = "chamber", days: float = 1.0) -> Admission:
    ck, cc = chair
    mk, mc = member
    inv = Invitation.create(room, cc, ck, mc, role, pki.now, seat, days)  # type: ignore[arg-type]
    return Admission(inv, mk)  # type: ignore[arg-type]


def _add(pm: Pump, name: str, seat: str, adm: Admission | None, room: str = "chamber", fp: str = RELAY_FP) -> Peer:
    p = Peer(ClientCore(name, seat, room, ClientSettings(admission=adm), fp), ("127.0.0.1", 41000 + len(pm.peers)))
    pm.peers.append(p)
    pm.connect(p)
    return p


def _secured(pm: Pump, pki: Pki, chair: tuple[object, object]) -> tuple[Peer, Peer]:
    ch = _add(pm, "chair-client", "B1", _invite(pki, chair, chair, "chair"))
    fr = _add(pm, "whatever-i-like", "A1", _invite(pki, chair, pki.member("France", "FR", "head"), "head", "A1"))
    pm.run(0.2)
    assert pm.of(ch, Connected) and pm.of(fr, Connected)
    return ch, fr


def test_invited_members_meet_under_their_invited_names(room) -> None:  # type: ignore[no-untyped-def]
    pm, pki, chair = room
    ch, fr = _secured(pm, pki, chair)
    names = {m.identity for m in ch.core.members.values()}
    assert names == {"Chair", "France"}  # the invitation's name, not what the client said in its Hello
    (key,) = pm.relay.rooms
    r = pm.relay.rooms[key]
    assert r.name == "chamber" and r.authority == Invitation.parse(ch.core.admission.invitation.__bytes__()).authority_fingerprint
    assert {s.role for s in pm.relay.sessions.values()} == {"chair", "head"}
    assert pm.relay.counters.admissions == 2


def test_plain_client_is_refused_and_members_are_told(room) -> None:  # type: ignore[no-untyped-def]
    pm, pki, chair = room
    ch, fr = _secured(pm, pki, chair)
    before = len(pm.relay.sessions)
    out = _add(pm, "curious", "A2", None)
    pm.run(0.2)
    (err,) = pm.of(out, RelayError)
    assert err.fatal and err.message == ("room 'chamber' is end-to-end encrypted: join with an invitation from its "
                                         "chair (--invite FILE)")
    assert not pm.of(out, MemberUpdate) and not pm.of(out, Connected)
    assert len(pm.relay.sessions) == before
    for m in (ch, fr):
        (n,) = pm.of(m, RelayNotice)
        assert n.code == wire.NOTICE_UNSECURED_REFUSED and "was refused" in n.message
    # a burst of refusals gives one notice per interval, the rest counted into the next one
    for i in range(5):
        _add(pm, f"c{i}", "", None)
    pm.run(0.1)
    assert len(pm.of(ch, RelayNotice)) == 1
    pm.run(1.0)
    _add(pm, "late", "", None)
    pm.run(0.1)
    assert "(5 more since the last notice)" in pm.of(ch, RelayNotice)[-1].message


def test_bad_invitations_get_one_line_refusals(room) -> None:  # type: ignore[no-untyped-def]
    pm, pki, chair = room
    _secured(pm, pki, chair)
    de = pki.member("Germany", "DE", "head")
    cases = {
        "wrong room": (_invite(pki, chair, de, "head", room="salon"), "chamber", "", "is for room 'salon'"),
        "wrong seat": (_invite(pki, chair, de, "head", seat="A3"), "chamber", "A4", "is for seat 'A3'"),
        "wrong relay": (_invite(pki, chair, de, "head"), "chamber", "", "proof of possession does not verify"),
    }
    for what, (adm, rname, seat, text) in cases.items():
        p = _add(pm, "x", seat, adm, rname, fp=("cd" * 32 if what == "wrong relay" else RELAY_FP))
        pm.run(0.2)
        errs = pm.of(p, RelayError)
        assert errs and errs[0].code == wire.ERR_NOT_INVITED and text in errs[0].message, (what, errs)
        assert not pm.of(p, MemberUpdate)
    expired = _invite(pki, chair, de, "head", days=1.0)
    pm.relay.wall_offset += 2 * 86400
    p = _add(pm, "x", "", expired)
    pm.run(0.2)
    assert "expired on" in pm.of(p, RelayError)[0].message


def test_altered_invitation_and_stolen_invitation(room) -> None:  # type: ignore[no-untyped-def]
    pm, pki, chair = room
    _secured(pm, pki, chair)
    obs = pki.member("Observer", "CH", "observer")
    adm = _invite(pki, chair, obs, "observer")
    forged = dataclasses.replace(adm.invitation, role="chair", _cache={})  # role changed after signing
    p = _add(pm, "x", "", Admission(forged, adm.key))
    pm.run(0.2)
    assert "signature does not verify" in pm.of(p, RelayError)[0].message
    # France's invitation in the hands of someone without France's key
    fr_adm = pm.peers[1].core.admission
    thief_key, _ = pki.member("Thief", "CH", "observer")
    thief = Peer(ClientCore("France", "A1", "chamber", ClientSettings(), RELAY_FP), ("127.0.0.1", 42000))
    thief.core.admission = object.__new__(Admission)
    thief.core.admission.invitation, thief.core.admission.key = fr_adm.invitation, thief_key  # type: ignore[attr-defined]
    pm.peers.append(thief)
    pm.connect(thief)
    pm.run(0.2)
    assert "belongs to another key" in pm.of(thief, RelayError)[0].message
    assert {m.identity for m in pm.peers[0].core.members.values()} == {"Chair", "France"}


def test_no_proof_times_out_and_frees_nothing(room) -> None:  # type: ignore[no-untyped-def]
    pm, pki, chair = room
    adm = _invite(pki, chair, chair, "chair")
    pm.relay.connection_made(99, pm.now)
    pm.relay.receive_stream(99, wire.Hello("x", "", "chamber", invitation=bytes(adm.invitation)).frame(), pm.now)
    out = pm.relay.to_send(pm.now)
    (frame,) = [out.streams[99]]
    assert isinstance(wire.parse_control(frame[2:]), wire.Challenge)
    pm.now += pm.relay.s.admission_timeout + 0.5
    pm.relay.handle_timer(pm.now)
    out = pm.relay.to_send(pm.now)
    err = wire.parse_control(out.streams[99][2:])
    assert isinstance(err, wire.Error) and "no proof" in err.message and 99 in out.close
    assert not pm.relay.sessions


def test_same_member_again_replaces_its_old_session_and_resume_keeps_it(room) -> None:  # type: ignore[no-untyped-def]
    pm, pki, chair = room
    ch, fr = _secured(pm, pki, chair)
    old_id = fr.core.client_id
    pm.drop(fr)
    pm.run(0.1)
    pm.connect(fr)
    pm.run(0.3)
    assert fr.core.client_id == old_id and fr.core.state == "connected"  # resumed with its token and proof again
    again = _add(pm, "France-2", "A1", fr.core.admission)  # the same invitation on a new device
    pm.run(0.2)
    assert pm.of(again, Connected)
    assert len([s for s in pm.relay.sessions.values() if s.identity == "France"]) == 1
    assert any(e.code == wire.ERR_REPLACED for e in pm.of(fr, RelayError))


def test_secured_only_relay_and_authority_allowlist(room) -> None:  # type: ignore[no-untyped-def]
    pm, pki, chair = room
    allowed = _invite(pki, chair, chair, "chair").invitation.authority_fingerprint
    s = RelaySettings(unsecured_rooms=False, authorities=frozenset({allowed}))
    pm.relay = RelayCore(SECRET, s, epoch=3, fingerprint=RELAY_FP, wall_offset=time.time() - pm.now)
    plain = _add(pm, "p", "", None, room="lobby")
    other_chair = pki.member("Other chair", "CH", "chair")
    rogue = _add(pm, "o", "", _invite(pki, other_chair, other_chair, "chair"))
    ok = _add(pm, "c", "", _invite(pki, chair, chair, "chair"))
    pm.run(0.2)
    assert "hosts only end-to-end encrypted rooms" in pm.of(plain, RelayError)[0].message
    assert "does not host rooms of authority" in pm.of(rogue, RelayError)[0].message
    assert pm.of(ok, Connected) and len(pm.relay.sessions) == 1


def test_plain_namesake_room_is_separate_and_announced(room) -> None:  # type: ignore[no-untyped-def]
    pm, pki, chair = room
    early = pm.add("early-bird", "A9", "chamber")  # a plain room 'chamber' before the chair opens the secured one
    pm.run(0.2)
    ch, fr = _secured(pm, pki, chair)
    assert {m.identity for m in ch.core.members.values()} == {"Chair", "France"}
    assert not early.core.members or all(m.identity == "early-bird" for m in early.core.members.values())
    assert any(n.code == wire.NOTICE_PLAIN_NAMESAKE and "1 unencrypted participants" in n.message for n in pm.of(ch, RelayNotice))
    # secured members move rooms only with an invitation; a plain Join to a secured name is refused
    early.core.join("chamber", "A8")
    pm.run(0.2)
    assert any(e.code == wire.ERR_SECURED_ROOM for e in pm.of(early, RelayError))


def test_moving_into_another_secured_room_needs_its_invitation_and_survives_a_relay_restart(room) -> None:  # type: ignore[no-untyped-def]
    pm, pki, chair = room
    ch, fr = _secured(pm, pki, chair)
    salon_chair = pki.member("Salon chair", "CH", "chair")
    sc = _add(pm, "sc", "", _invite(pki, salon_chair, salon_chair, "chair", room="salon"), room="salon")
    pm.run(0.2)
    # a plain Join into the salon is refused; with the salon chair's invitation the member moves,
    # and is there an advisor under its invited name
    de_key, de_cert = pki.member("Germany", "DE", "head")
    de = _add(pm, "de", "", _invite(pki, chair, (de_key, de_cert), "head"))
    pm.run(0.2)
    de.core.join("salon", "")
    pm.run(0.2)
    assert any(e.code == wire.ERR_SECURED_ROOM for e in pm.of(de, RelayError))
    de = _add(pm, "de", "", _invite(pki, chair, (de_key, de_cert), "head"))
    pm.run(0.2)
    de.core.join("salon", "", _invite(pki, salon_chair, (de_key, de_cert), "advisor", room="salon"))
    pm.run(0.2)
    assert {m.identity for m in sc.core.members.values()} == {"Salon chair", "Germany"}
    assert {m.identity for m in ch.core.members.values()} == {"Chair", "France"}
    assert {s.role for s in pm.relay.sessions.values() if s.identity == "Germany"} == {"advisor"}
    # the relay restarts (same resume secret): invited members come back into their secured rooms
    pm.relay = RelayCore(SECRET, layouts={"chamber": lounge_layout()}, epoch=8, fingerprint=RELAY_FP,
                         wall_offset=pm.relay.wall_offset)
    for p in (ch, de, sc):
        pm.drop(p, notify_relay=False)
    pm.run(0.1)
    for p in (ch, de, sc):
        pm.connect(p)
    pm.run(0.5)
    rooms = {r.name: {m.identity for m in r.members.values()} for r in pm.relay.rooms.values()}
    assert rooms == {"chamber": {"Chair"}, "salon": {"Salon chair", "Germany"}}
    assert pm.relay.counters.admissions == 3 and pm.relay.counters.sessions_resumed == 3


def test_mutated_invitations_never_crash_the_relay(room) -> None:  # type: ignore[no-untyped-def]
    """Every byte of a valid invitation flipped in turn (and random garbage): a refusal each time."""
    import random

    pm, pki, chair = room
    raw = bytes(_invite(pki, chair, chair, "chair").invitation)
    rng = random.Random(7)
    blobs = []
    for i in range(len(raw)):
        b = bytearray(raw)
        b[i] ^= 1 << rng.randrange(8)
        blobs.append(bytes(b))
    blobs += [rng.randbytes(rng.randrange(1, 600)) for _ in range(100)] + [raw[:n] for n in range(1, len(raw), 13)]
    relay = pm.relay
    for k, blob in enumerate(blobs):
        cid = 1000 + k
        relay.connection_made(cid, pm.now)
        relay.receive_stream(cid, wire.Hello("x", "", "chamber", invitation=blob).frame(), pm.now)
        out = relay.to_send(pm.now)
        msgs = [wire.parse_control(f) for f in _frames(out.streams.get(cid, b""))]
        if cid in out.close:
            assert [type(m) for m in msgs] == [wire.Error] and msgs[0].code == wire.ERR_NOT_INVITED
        else:  # a flip the signature covers nothing of (none expected) would be challenged, never welcomed
            assert [type(m) for m in msgs] == [wire.Challenge], (k, msgs)
            relay.connection_lost(cid, pm.now)
    assert not relay.sessions


def _frames(data: bytes) -> list[bytes]:
    dec = wire.FrameDecoder()
    dec.feed(data)
    out = []
    while (f := dec.next_frame()) is not None:
        out.append(f)
    return out


def test_replaced_session_stops_instead_of_taking_the_seat_back(room) -> None:  # type: ignore[no-untyped-def]
    """Two devices with one invitation: the newer one keeps the session; the older one is told
    why and stops, rather than reconnecting and replacing the newer one in turn."""
    pm, pki, chair = room
    ch, fr = _secured(pm, pki, chair)
    again = _add(pm, "France-2", "A1", fr.core.admission)
    pm.run(20.0)  # many reconnect periods
    replaced = [e for e in pm.of(fr, RelayError) if e.code == wire.ERR_REPLACED]
    assert len(replaced) == 1 and replaced[0].fatal and "joined again" in replaced[0].message
    assert fr.core.state == "closed"
    assert again.core.state == "connected" and not [e for e in pm.of(again, RelayError) if e.code == wire.ERR_REPLACED]
    assert len([s for s in pm.relay.sessions.values() if s.identity == "France"]) == 1
