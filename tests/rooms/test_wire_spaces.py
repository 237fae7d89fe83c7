"""Space and interpretation control messages: stored byte vectors, round trips, malformed input,
and the relay's rule of who may enter a bilateral room or interpret (secured room)."""

from __future__ import annotations

import pytest

from vrdiplomacy.errors import ProtocolError
from vrdiplomacy.net import wire
from vrdiplomacy.net.relay_core import RelayCore
from vrdiplomacy.net.relay_state import RelaySettings, Session
from vrdiplomacy.net.wire_spaces import (
    Place,
    Placed,
    SpaceEvent,
    SpaceEventIn,
    bilateral,
    parse_space_option,
)
from vrdiplomacy.scene.layout import load_layout

VECTORS = [
    (Place("bilateral:DEU+FRA", "", ""), "01201162696c61746572616c3a4445552b4652410000"),
    (Place("", "fr", ""), "01200002667200"),
    (Place("lounge", "", "fr"), "0120066c6f756e676500026672"),
    (SpaceEvent(b"\x01\x02"), "012100020102"),
    (Placed(0x01020304, "bilateral:DEU+FRA", "", ""), "01a0010203041162696c61746572616c3a4445552b4652410000"),
    (Placed(7, "", "fr", "en"), "01a0000000070002667202656e"),
    (SpaceEventIn(9, b"hi"), "01a10000000900026869"),
]


@pytest.mark.parametrize("msg,hexstr", VECTORS, ids=[type(m).__name__ for m, _ in VECTORS])
def test_vectors(msg: wire.ControlMessage, hexstr: str) -> None:
    assert bytes(msg).hex() == hexstr
    assert wire.parse_control(bytes.fromhex(hexstr)) == msg


@pytest.mark.parametrize("raw", [
    bytes.fromhex("012003") + b"bad" + b"\x00\x00",  # unknown space
    bytes.fromhex("01201162696c61746572616c3a4652412b4445550000"),  # bilateral pair not in sorted order
    bytes.fromhex("012000") + b"\x02FR\x00",  # language not lowercase
    bytes.fromhex("01200000"),  # truncated
    bytes.fromhex("01a00000000700026672000000"),  # trailing bytes
])
def test_malformed_is_refused(raw: bytes) -> None:
    with pytest.raises(ProtocolError):
        wire.parse_control(raw)


def test_space_names() -> None:
    assert bilateral("fra", "DEU") == "bilateral:DEU+FRA" == parse_space_option("Bilateral:fra+deu")
    assert parse_space_option("plenary") == "" and parse_space_option("lounge") == "lounge"
    with pytest.raises(ProtocolError):
        parse_space_option("bilateral:FRA+FRA")
    with pytest.raises(ProtocolError):
        parse_space_option("kitchen")


def _session(core: RelayCore, seat: str, role: str = "", secured: bool = False) -> Session:
    s = Session(len(core.sessions) + 1, f"m-{seat}", seat, "chamber", b"", 0.0, RelaySettings())
    if secured:
        s.member_key, s.role = b"k" * 32, role
    core.sessions[s.client_id] = s
    room = core._room("chamber", "chamber")
    room.members[s.client_id] = s
    room.interest.add(s.client_id, seat)
    return s


def test_relay_rules_for_bilateral_rooms_and_interpreters() -> None:
    layout = load_layout("chamber")
    seats = {st.delegation: st.seat_id for st in layout.seats}
    core = RelayCore(b"s" * 32, layouts={"chamber": layout})
    fra, gab = _session(core, seats["FRA"]), _session(core, seats["GAB"])
    room = bilateral("FRA", "DEU")
    assert core.place_refusal(fra, Place(room)) is None
    why = core.place_refusal(gab, Place(room))
    assert why is not None and "\n" not in why
    assert why == f"the bilateral room DEU-FRA is closed to all but delegations DEU and FRA (m-{seats['GAB']} is GAB)"
    # plain room: no verified roles, anyone may interpret; secured room: the interpreter role only
    assert core.place_refusal(gab, Place("", "fr")) is None
    deleg = _session(core, seats["ITA"], role="delegate", secured=True)
    interp = _session(core, seats["ESP"], role="interpreter", secured=True)
    assert core.place_refusal(deleg, Place("", "fr")) == \
        f"only an interpreter may speak into the 'fr' channel (m-{seats['ITA']} is delegate)"
    assert core.place_refusal(interp, Place("", "fr")) is None
    assert core.place_refusal(interp, Place("", "fr", "fr")) is not None  # hears the floor, not itself
