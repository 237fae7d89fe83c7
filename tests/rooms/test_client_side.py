"""Each client enforces the rooms too: whatever a relay forwards, voice, poses and side-room events
from a member of another space are dropped and counted; a relay's claim that a member interprets
is ignored when the signed roster does not make it an interpreter (secured room); and
``join --room-space/--listen/--interpret`` parse to the session's settings."""

from __future__ import annotations

import argparse

import pytest

from vrdiplomacy.commands import join as join_cmd
from vrdiplomacy.errors import ConfigError
from vrdiplomacy.net.client_types import RelayError, RoomEventReceived, VoiceReceived
from vrdiplomacy.net.spaces import PlaceChanged
from vrdiplomacy.net.wire_spaces import ERR_PLACE_REFUSED, Placed
from vrdiplomacy.session.rooms import RoomsSettings, SessionRooms


def _rooms(secured: bool = False) -> SessionRooms:
    r = SessionRooms(RoomsSettings(), secured=secured)
    r.spaces.welcome(1)  # we are relay client 1, in the plenary
    return r


def test_media_and_side_room_events_of_another_space_are_dropped() -> None:
    r = _rooms()
    for ev in r.spaces.receive(Placed(2, "bilateral:DEU+FRA")):
        assert isinstance(ev, PlaceChanged) and r.drops(ev)
    # a (misbehaving) relay forwards the bilateral room's voice and a space event to us anyway
    assert r.drops(VoiceReceived(2, 0x80, 1, b"x"))
    assert r.drops(RoomEventReceived(0, 2, b"gesture"))
    assert not r.drops(RoomEventReceived(17, 2, b"room-wide"))  # the room's own log: everyone's
    assert not r.drops(VoiceReceived(3, 0x80, 1, b"x"))  # a plenary member
    assert r.counters.other_space == 2
    # once we are in that room too, its media is ours
    r.spaces.receive(Placed(1, "bilateral:DEU+FRA"))
    assert not r.drops(VoiceReceived(2, 0x80, 1, b"x")) and r.drops(VoiceReceived(3, 0x80, 1, b"x"))


def test_secured_room_ignores_a_relay_labelled_interpreter_without_the_role() -> None:
    class M:
        def __init__(self, cid: int, role: str) -> None:
            self.client_id, self.role, self.state = cid, role, "present"

    class State:
        def __init__(self) -> None:
            self.members = {10: M(2, "delegate"), 11: M(3, "interpreter")}
            self.floor = 0

    r = _rooms(secured=True)
    r.spaces.receive(Placed(2, "", "fr"))
    r.spaces.receive(Placed(3, "", "fr"))
    r.tick(None, State())
    assert r.drops(VoiceReceived(2, 0x80, 1, b"x"))  # a delegate the relay calls an interpreter
    assert not r.drops(VoiceReceived(3, 0x80, 1, b"x"))
    assert r.counters.channel_refused == 1
    assert r.drops(RelayError(ERR_PLACE_REFUSED, "only an interpreter may speak into the 'fr' channel", False))
    assert r.refusal.startswith("only an interpreter")


def _parse(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    join_cmd.add_arguments(p)
    return p.parse_args(list(argv))


def test_join_options() -> None:
    s = join_cmd._rooms(_parse("--room-space", "Bilateral:fra+deu", "--listen", "fr"))
    assert s == RoomsSettings("bilateral:DEU+FRA", "", "fr")
    assert join_cmd._rooms(_parse("--interpret", "es")) == RoomsSettings("", "es", "")
    with pytest.raises(ConfigError, match="--room-space"):
        join_cmd._rooms(_parse("--room-space", "kitchen"))
    with pytest.raises(ConfigError, match="lowercase"):
        join_cmd._rooms(_parse("--listen", "French"))


def test_desktop_keys_cycle_rooms_and_channels() -> None:
    asked: list[tuple[str, str, str]] = []

    class Core:
        spaces = SessionRooms().spaces

    class FakeClient:  # records what the session asks the relay for
        core = Core()

        def place(self, space: str, interpret: str = "", listen: str = "") -> None:
            asked.append((space, interpret, listen))

    r = SessionRooms(RoomsSettings(space="bilateral:DEU+FRA"))
    r.attach(FakeClient())
    assert asked == [("bilateral:DEU+FRA", "", "")]
    for keys in ({"room"}, {"room"}, set(), {"room", "nod"}, set(), {"room"}, {"listen"}, set(), {"listen"}):
        r.on_keys(keys)  # a key held over frames acts once
    assert asked[1:] == [("", "", ""), ("lounge", "", ""), ("bilateral:DEU+FRA", "", ""),
                         ("bilateral:DEU+FRA", "", "en"), ("bilateral:DEU+FRA", "", "fr")]


def test_room_labels_for_panels() -> None:
    class M:
        client_id = 2

    class State:
        def __init__(self) -> None:
            self.me, self.members = 1, {2: M()}

    r = _rooms()
    r.spaces.receive(Placed(2, "bilateral:DEU+FRA"))
    assert r.room_of(2, State()) == "bilateral room DEU-FRA" and r.room_of(1, State()) == "plenary"
    r.s.listen = "fr"
    assert r.status_line() == "Plenary - listening: fr"
