"""Places in a secured room (relay and client cores, real invitations and proofs, in-memory pump):
the bilateral room admits the two delegations its authority's invitations name, the interpreter
channel the interpreter role only; refusals are one line; a place survives a reconnect."""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "net"))

from netpump import SECRET, Peer, Pump

from vrdiplomacy.crypto import identity as ident
from vrdiplomacy.crypto.admission import Admission, Invitation
from vrdiplomacy.net.client_core import (
    ClientCore,
    ClientSettings,
    Connected,
    RelayError,
)
from vrdiplomacy.net.relay_core import RelayCore
from vrdiplomacy.net.spaces import PlaceChanged
from vrdiplomacy.net.wire_spaces import ERR_PLACE_REFUSED, bilateral
from vrdiplomacy.scene.layout import load_layout

RELAY_FP = "cd" * 32


def _room() -> tuple[Pump, dict[str, Peer]]:
    relay = RelayCore(SECRET, layouts={"chamber": load_layout("chamber")}, epoch=7, fingerprint=RELAY_FP)
    pm = Pump(relay)
    relay.wall_offset = time.time() - pm.now
    now = time.time()
    root_key, root = ident.create_ministry_root("Secretariat", "CH", now - 60, scope=[ident.ANY_COUNTRY])

    def member(name: str, country: str, role: str) -> tuple[object, object]:
        key, csr = ident.create_delegation_request(name, country)
        return key, ident.issue_delegation(csr, root_key, root, role, now - 60)

    chair = member("Chair", "CH", "chair")
    peers: dict[str, Peer] = {}
    # seats of other delegations in the layout: the invitation's country is what counts here
    for name, country, role, seat in (("Chair", "CH", "chair", "S001"), ("France", "FR", "head", "S010"),
                                      ("Germany", "DE", "head", "S011"), ("Italy", "IT", "head", "S012"),
                                      ("Interpreter", "FR", "interpreter", "S013")):
        who = chair if name == "Chair" else member(name, country, role)
        inv = Invitation.create("chamber", chair[1], chair[0], who[1], role, now, seat, 1.0)  # type: ignore[arg-type]
        p = Peer(ClientCore(name, seat, "chamber", ClientSettings(admission=Admission(inv, who[0])), RELAY_FP),  # type: ignore[arg-type]
                 ("127.0.0.1", 42000 + len(pm.peers)))
        pm.peers.append(p)
        pm.connect(p)
        peers[name] = p
    pm.run(0.3)
    assert all(pm.of(p, Connected) for p in peers.values())
    return pm, peers


def _refusals(pm: Pump, p: Peer) -> list[str]:
    return [e.message for e in pm.of(p, RelayError) if e.code == ERR_PLACE_REFUSED]  # type: ignore[attr-defined]


def test_secured_room_places_follow_the_invitations() -> None:
    pm, p = _room()
    room = bilateral("FR", "DE")
    for name in ("France", "Germany", "Italy"):
        p[name].core.place(room)
    p["Interpreter"].core.place("", "fr")
    p["Italy"].core.place(room, "fr")  # and then asks to interpret too (a head of delegation)
    pm.run(0.2)
    assert p["France"].core.spaces.my_space == room and p["Germany"].core.spaces.my_space == room
    assert p["Italy"].core.spaces.my_space == ""
    assert _refusals(pm, p["Italy"]) == [
        "the bilateral room DE-FR is closed to all but delegations DE and FR (Italy is IT)",
        "the bilateral room DE-FR is closed to all but delegations DE and FR (Italy is IT)",
    ]
    p["Italy"].core.place("", "fr")
    pm.run(0.1)
    assert _refusals(pm, p["Italy"])[-1] == "only an interpreter may speak into the 'fr' channel (Italy is head)"
    assert not _refusals(pm, p["France"]) and not _refusals(pm, p["Interpreter"])
    # every member knows where everyone is (metadata the relay routes by), the chair included
    places = p["Chair"].core.spaces.places
    cid = {n: peer.core.client_id for n, peer in p.items()}
    assert places == {cid["France"]: (room, "", ""), cid["Germany"]: (room, "", ""), cid["Interpreter"]: ("", "fr", "")}
    assert pm.relay.space_counters.places == 3 and pm.relay.space_counters.places_refused == 3

    # France's link drops and comes back: it is still in the bilateral room, and says so again
    pm.drop(p["France"])
    pm.run(1.2)  # the client reconnects after its backoff
    pm.connect(p["France"])
    pm.run(0.5)
    assert len(pm.of(p["France"], Connected)) == 2
    assert p["France"].core.spaces.my_space == room
    assert p["Chair"].core.spaces.place_of(cid["France"])[0] == room
    changes = [e for e in pm.of(p["Germany"], PlaceChanged) if e.client_id == cid["France"]]  # type: ignore[attr-defined]
    assert changes and changes[-1].space == room  # type: ignore[attr-defined]
