"""Who is who in a secured room, without sockets: roster members keyed by index, relay labels as
handles, signed presence statements, re-labelling alerts and unverified participants."""

from __future__ import annotations

import numpy as np
import pytest

from vrdiplomacy.errors import ProtocolError
from vrdiplomacy.gestures.events import GestureEvent
from vrdiplomacy.gestures.types import Gesture, Hand
from vrdiplomacy.net import wire
from vrdiplomacy.net.client_core import Connected, MemberUpdate, RoomEventReceived, VoiceReceived
from vrdiplomacy.net.client_io import PoseUpdate
from vrdiplomacy.net.pose import PoseSample
from vrdiplomacy.net.secure import MemberInfo, RosterChanged
from vrdiplomacy.scene.layout import load_layout
from vrdiplomacy.scene.math3d import Pose
from vrdiplomacy.net.presence import MemberPresence, MemberStated
from vrdiplomacy.session.audio import ListenerMix
from vrdiplomacy.session.gestures import SessionGestures
from vrdiplomacy.session.state import RoomState
from vrdiplomacy.voice.packet import VoicePacket

HAND = bytes(GestureEvent(Gesture.RAISE_HAND, Hand.RIGHT, "start", 1.0, 1.0))
CHAIR, FRANCE, GERMANY = 0, 1, 2  # roster indices
C_CHAIR, C_FRANCE, C_ME = 501, 502, 503  # relay client ids


def _info(i: int, name: str, cc: str, role: str) -> MemberInfo:
    return MemberInfo(i, name, cc, role, f"{i:02x}" * 32)


def _roster(version: int, *members: MemberInfo, me: int | None = GERMANY) -> RosterChanged:
    return RosterChanged(version, {m.index: f"{m.name} ({m.country}), {m.role}" for m in members}, [], [], me is not None,
                         me, {m.index: m for m in members})


def _room() -> RoomState:
    st = RoomState(load_layout("chamber"), secured=True)
    st.apply(Connected(C_ME, False, 1), 0.0)
    st.apply(_roster(1, _info(CHAIR, "Chair", "CH", "chair"), _info(FRANCE, "France", "FR", "delegate"),
                     _info(GERMANY, "Germany", "DE", "delegate")), 0.0)
    for cid, name, seat in ((C_CHAIR, "chair", "S001"), (C_FRANCE, "fr", "S002"), (C_ME, "de", "S003")):
        st.apply(MemberUpdate(cid, name, seat, "present"), 0.0)
    return st


NAMES = {CHAIR: "Chair", FRANCE: "France", GERMANY: "Germany"}


def _state(st: RoomState, member: int, client: int, seat: str, label: int | None = None) -> None:
    st.apply(MemberStated(member, NAMES[member], MemberPresence(client, seat), client if label is None else label), 0.0)


def test_presence_statement_wire_format() -> None:
    p = MemberPresence(0x01020304, "A1")
    assert bytes(p) == bytes.fromhex("5001010203040241") + b"1"
    assert MemberPresence.parse(bytes(p)) == p
    assert MemberPresence.looks_like(bytes(p)) and not MemberPresence.looks_like(b"\x01\x01")
    for bad in (b"", b"\x50\x02" + bytes(5), bytes(p)[:-1], bytes(p) + b"x", b"\x50\x01\0\0\0\x01\x02\xff\xfe"):
        with pytest.raises(ProtocolError):
            MemberPresence.parse(bad)


def test_secured_room_shows_the_roster_members_named_by_their_certificates() -> None:
    st = _room()
    assert sorted((k, m.identity, m.verified, m.role) for k, m in st.members.items()) == [
        (CHAIR, "Chair", True, "chair"), (FRANCE, "France", True, "delegate")]
    assert st.me == GERMANY
    # until a member states its relay client id, the relay's participants are unverified
    assert [p.client_id for p in st.unverified()] == [C_CHAIR, C_FRANCE]
    _state(st, CHAIR, C_CHAIR, "S001")
    _state(st, FRANCE, C_FRANCE, "S002")
    assert st.unverified() == []
    a = {x.delegation: x for x in st.avatars(0.0)}  # seated where they said, named by certificate
    assert set(a) == {"Chair", "France"}
    assert st.members[FRANCE].seat == "S002" and st.members[FRANCE].client_id == C_FRANCE
    # the relay's names never reach an avatar: its presence list only counts participants
    st.apply(MemberUpdate(999, "France", "S009", "present"), 0.0)
    assert [(p.client_id, p.identity) for p in st.unverified()] == [(999, "France")]
    assert {x.delegation for x in st.avatars(0.0)} == {"Chair", "France"}


def test_frames_go_to_the_member_whose_key_opened_them_and_relabelling_is_reported() -> None:
    st = _room()
    _state(st, CHAIR, C_CHAIR, "S001")
    _state(st, FRANCE, C_FRANCE, "S002")
    head = Pose(np.array([1.0, 1.5, 2.0], np.float32))
    # the relay stamps France's pose, voice and raised hand with the Chair's client id
    st.apply(PoseUpdate(C_CHAIR, PoseSample(1, True, head, None, None), FRANCE), 0.1)
    st.apply(VoiceReceived(C_CHAIR, wire.level_byte(-20.0, True), 1, b"x", FRANCE), 0.1)
    st.apply(RoomEventReceived(5, C_CHAIR, HAND, "gesture", "France", FRANCE), 0.1)
    a = {x.delegation: x for x in st.avatars(0.1)}
    assert a["France"].gesture_icon == "raise_hand" and a["France"].speaking > 0.9
    assert np.allclose(a["France"].head.position, head.position)
    assert a["Chair"].gesture_icon is None and a["Chair"].speaking == 0.0
    assert st.attribution.counters.relabelled == 3
    alerts = list(st.attribution.alerts)
    assert alerts == [f"the relay labelled France's {w} as Chair's; shown as France's" for w in ("pose", "voice", "event")]
    # nothing verified (a plaintext frame in a secured room): not attributed to anyone
    st.apply(VoiceReceived(C_FRANCE, wire.level_byte(-20.0, True), 2, b"x"), 0.2)
    st.apply(RoomEventReceived(6, C_FRANCE, HAND), 0.2)
    assert st.counters.unattributed == 2


def test_a_member_claiming_another_members_client_id_is_refused() -> None:
    st = _room()
    _state(st, CHAIR, C_CHAIR, "S001")
    _state(st, FRANCE, C_CHAIR, "S001")  # France says she is the Chair's relay client
    assert st.attribution.counters.presence_conflict == 1
    assert st.members[FRANCE].client_id == 0 and st.members[FRANCE].seat == ""
    assert "France and Chair both claim relay client 501" in st.attribution.alerts


def test_roster_changes_add_and_remove_members() -> None:
    st = _room()
    _state(st, FRANCE, C_FRANCE, "S002")
    st.apply(_roster(2, _info(CHAIR, "Chair", "CH", "chair"), _info(GERMANY, "Germany", "DE", "delegate")), 1.0)
    assert list(st.members) == [CHAIR] and st.departed == [FRANCE] and st.left_members[FRANCE].state == "left"
    # France is still connected to the relay, but no verified member any more
    assert [p.client_id for p in st.unverified()] == [C_CHAIR, C_FRANCE]
    # index 1 given to someone else (another certificate): a new member, not France
    st.apply(_roster(3, _info(CHAIR, "Chair", "CH", "chair"), _info(FRANCE, "Spain", "ES", "delegate"),
                     _info(GERMANY, "Germany", "DE", "delegate")), 2.0)
    assert st.members[FRANCE].identity == "Spain" and st.members[FRANCE].seat == ""


def test_meeting_and_voice_are_keyed_by_member() -> None:
    g = SessionGestures()
    g.me = GERMANY
    ev = RoomEventReceived(5, C_CHAIR, HAND, "gesture", "France", FRANCE)
    g.receive(ev, 1.0, sender=FRANCE)
    assert g.floor.queue == [FRANCE]
    g.member_left(FRANCE, 2.0)
    assert g.floor.queue == []
    mix = ListenerMix(load_layout("chamber"))
    pkt = VoicePacket(0, 0, C_CHAIR, 20, b"\xfc\xff\xfe")  # France's frame, any speaker id inside
    assert mix.receive(FRANCE, bytes(pkt), 0.0, verified=True) == "ok"
    assert mix.receiver.speakers() == [FRANCE]


def test_unsecured_room_keeps_the_relay_view_labelled_unverified() -> None:
    st = RoomState(None)
    st.apply(Connected(7, False, 1), 0.0)
    st.apply(MemberUpdate(9, "France", "", "present"), 0.0)
    st.apply(PoseUpdate(9, PoseSample(1, True, Pose(np.array([0.0, 1.6, 0.0], np.float32)), None, None)), 0.0)
    (a,) = st.avatars(0.0)
    assert a.delegation == "France (unverified)" and not st.members[9].verified
    assert st.unverified() == []  # nothing to verify against: the card says the room is not secured


def test_a_member_whose_relay_link_is_down_shows_away_in_a_secured_room() -> None:
    """The relay's "away" reaches the avatar of the member who stated that relay client id (and
    only its display: names still come from the certificate)."""
    st = _room()
    _state(st, CHAIR, C_CHAIR, "S001")
    _state(st, FRANCE, C_FRANCE, "S002")
    st.apply(MemberUpdate(C_FRANCE, "fr", "S002", "away"), 1.0)
    assert {x.delegation for x in st.avatars(1.0)} == {"Chair", "France (away)"}
    st.apply(MemberUpdate(C_FRANCE, "fr", "S002", "present"), 2.0)
    assert {x.delegation for x in st.avatars(2.0)} == {"Chair", "France"}
