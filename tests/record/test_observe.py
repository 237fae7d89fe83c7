"""What the secretariat's node writes down, from its room state (sans-I/O, the clock passed in)."""

from __future__ import annotations

from vrdiplomacy.gestures.events import GestureEvent
from vrdiplomacy.gestures.types import Gesture, Hand
from vrdiplomacy.net.client_core import Connected, MemberUpdate, RoomEventReceived
from vrdiplomacy.record.entry import NOBODY, Party
from vrdiplomacy.record.observe import Observer, ObserveSettings
from vrdiplomacy.scene.layout import load_layout
from vrdiplomacy.session.gestures import SessionGestures
from vrdiplomacy.session.meeting_view import MeetingNote
from vrdiplomacy.session.state import RoomState

S = 1_000_000  # microseconds per second


def _room() -> tuple[RoomState, SessionGestures]:
    st = RoomState(load_layout("chamber"))
    st.apply(Connected(1, False, 1), 0.0)
    return st, SessionGestures()


def _gesture(st: RoomState, g: SessionGestures, sender: int, gesture: Gesture, t: float) -> None:
    ev = RoomEventReceived(1, sender, bytes(GestureEvent(gesture, Hand.RIGHT, "start", t, 1.0)), "gesture")
    st.apply(ev, t)
    g.receive(ev, t, sender=sender)


def test_present_joined_floor_gesture_left_in_order_named_by_the_room_state() -> None:
    st, g = _room()
    obs = Observer(ObserveSettings(settle_s=0.5))
    st.apply(MemberUpdate(7, "Mr Dupont", "S074", "present"), 0.0)
    first = obs.observe(st, g.floor, [], 10 * S)
    assert [(n.kind, n.text) for n in first] == [("present", "Mr Dupont (HTI) was in the room when the record began")]
    st.apply(MemberUpdate(9, "Ms Tanaka", "S075", "present"), 2.0)
    _gesture(st, g, 9, Gesture.RAISE_HAND, 2.1)
    _gesture(st, g, 9, Gesture.NOD, 2.2)
    notes = obs.observe(st, g.floor, [], 12 * S + 300_000, session_t0_us=10 * S)
    assert [n.kind for n in notes] == ["joined", "floor_requested", "gesture"]
    assert notes[1].actor == Party("Ms Tanaka", notes[1].actor.delegation) and notes[1].time_us == 12 * S + 100_000
    assert ("actor.verified", "0") in notes[1].data  # a plain room: the relay's word
    st.apply(MemberUpdate(9, "Ms Tanaka", "S075", "away"), 3.0)
    assert [n.kind for n in obs.observe(st, g.floor, [], 13 * S, 10 * S)] == ["away"]
    st.apply(MemberUpdate(9, "Ms Tanaka", "S075", "left"), 4.0)
    for key in st.departed:
        g.member_left(key, 4.0)
    st.departed.clear()
    notes = obs.observe(st, g.floor, [], 14 * S, 10 * S)
    assert [(n.kind, n.text.split(") ", 1)[1]) for n in notes] == [
        ("left", "left the room"), ("floor_withdrawn", "no longer asks for the floor (left the room)")]
    assert obs.observe(st, g.floor, [], 15 * S, 10 * S) == []  # nothing new, nothing written


def test_procedure_notes_are_recorded_with_names_and_the_floor_queue_is_not_doubled() -> None:
    """After the merge with the meeting procedure, ``drain_meeting_notes()`` feeds this: its notes
    are kept (their member keys named from the room state); the node's own floor queue is then
    not written down a second time, and membership stays the room state's."""
    st, g = _room()
    obs = Observer(procedure_notes=True)
    st.apply(MemberUpdate(7, "Chair", "S001", "present"), 0.0)
    st.apply(MemberUpdate(9, "Japan", "S075", "present"), 0.0)
    obs.observe(st, g.floor, [], 0)
    _gesture(st, g, 9, Gesture.RAISE_HAND, 1.0)
    notes = [MeetingNote(1.5, "floor_granted", 7, 9, "Chair gave the floor to Japan", (("speaking_time_s", "180"),)),
             MeetingNote(1.6, "joined", 9, None, "Japan joined"),
             MeetingNote(181.5, "floor_revoked", None, 9, "Speaking time over")]
    out = obs.observe(st, g.floor, notes, 200 * S, session_t0_us=0)
    # named the record's way (name and seat delegation), the procedure's wording
    assert [(n.kind, n.actor.name, n.subject.name, n.text) for n in out] == [
        ("floor_granted", "Chair", "Japan", "Chair (AFG) gave the floor to Japan (HND)"),
        ("floor_revoked", "", "Japan", "The procedure took the floor from Japan (HND)")]
    assert out[1].actor == NOBODY and ("speaking_time_s", "180") in out[0].data
    assert out[0].time_us == 1_500_000 and obs.dropped_notes == 1


def test_nothing_about_membership_before_the_node_is_in_the_room() -> None:
    st, g = _room()
    obs = Observer(ObserveSettings(settle_s=0.0))
    st.apply(MemberUpdate(7, "Chair", "S001", "present"), 0.0)
    assert obs.observe(st, g.floor, [], 1 * S, ready=False) == []
    assert [n.kind for n in obs.observe(st, g.floor, [], 5 * S)] == ["present"]
    st.apply(MemberUpdate(8, "France", "S002", "present"), 6.0)
    assert [n.kind for n in obs.observe(st, g.floor, [], 6 * S + 1)] == ["joined"]


def test_a_reused_member_key_is_a_leave_and_a_join_of_two_people() -> None:
    """Between two looks, one member left and another came under the same key (a roster index
    can be reused): the minutes name both, each as they were."""
    st, g = _room()
    obs = Observer(ObserveSettings(settle_s=0.0))
    obs.observe(st, g.floor, [], 0)
    st.apply(MemberUpdate(9, "Ms Tanaka", "S075", "present"), 1.0)
    assert [n.text for n in obs.observe(st, g.floor, [], 1 * S)] == ["Ms Tanaka (HND) joined the room"]
    st.members[9].identity = "Mr Silva"  # what a new roster puts under the same index
    st.members[9].fingerprint = "AB:CD"
    out = obs.observe(st, g.floor, [], 2 * S)
    assert [(n.kind, n.actor.name) for n in out] == [("left", "Ms Tanaka"), ("joined", "Mr Silva")]


def test_a_member_the_verified_roster_listed_at_admission_was_present_however_late_it_shows() -> None:
    """Secured room: the node's first roster lists the chair, whose presence opens seconds later
    on a busy machine. The record says the chair was there when it began; a member the roster did
    not list is still a join."""
    st, g = _room()
    obs = Observer(ObserveSettings(settle_s=0.0), initial=lambda: ["AA:01"])
    assert obs.observe(st, g.floor, [], 1 * S) == []
    st.apply(MemberUpdate(7, "Chair", "S001", "present"), 4.0)
    st.members[7].fingerprint = "AA:01"
    st.apply(MemberUpdate(8, "France", "S002", "present"), 4.0)
    st.members[8].fingerprint = "BB:02"
    out = obs.observe(st, g.floor, [], 5 * S)
    assert [(n.kind, n.actor.name) for n in out] == [("present", "Chair"), ("joined", "France")]
