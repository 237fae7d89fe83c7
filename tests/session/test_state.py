"""RoomState, ListenerMix and the bots' scripts without sockets (sans-I/O)."""

from __future__ import annotations

import numpy as np
import pytest

from vrdiplomacy.gestures.events import GestureEvent
from vrdiplomacy.gestures.types import Gesture, Hand
from vrdiplomacy.net import wire
from vrdiplomacy.net.client_core import Connected, MemberUpdate, RoomEventReceived, VoiceReceived
from vrdiplomacy.net.client_io import PoseUpdate
from vrdiplomacy.net.pose import PoseSample
from vrdiplomacy.scene.layout import load_layout
from vrdiplomacy.scene.math3d import Pose
from vrdiplomacy.session.audio import ListenerMix
from vrdiplomacy.session.bots import ScheduledSpeech, bot_seats, plan_bots
from vrdiplomacy.session.state import RoomState
from vrdiplomacy.voice.packet import VoicePacket

# a stored GestureEvent: raise_hand, right hand, start, confidence 1.0, t = 2.5 s, no target
RAISE_HAND_START = bytes.fromhex("01010200ffff400400000000000000000000" + "00")


def _room() -> tuple[RoomState, str]:
    layout = load_layout("chamber")
    st = RoomState(layout)
    st.apply(Connected(7, False, 1), 0.0)
    seat = layout.seats[3]
    st.apply(MemberUpdate(7, "me", layout.seats[0].seat_id, "present"), 0.0)  # own presence: ignored
    st.apply(MemberUpdate(9, "delegate-x", seat.seat_id, "present"), 0.0)
    return st, seat.delegation


def test_stored_gesture_vector_matches_the_wire_format() -> None:
    ev = GestureEvent(Gesture.RAISE_HAND, Hand.RIGHT, "start", 2.5, 1.0)
    assert bytes(ev) == RAISE_HAND_START
    assert GestureEvent.parse(RAISE_HAND_START) == ev


def test_members_poses_speaking_and_gestures_make_avatars() -> None:
    st, delegation = _room()
    assert list(st.members) == [9]
    a = st.avatars(0.0)[0]  # before any pose: seated at its seat
    # a room without end-to-end encryption: the name is the relay's word, and the placard says so
    assert a.delegation == delegation + " (unverified)" and a.speaking == 0.0 and a.gesture_icon is None
    head = Pose(np.array([1.0, 1.5, 2.0], np.float32))
    right = Pose(np.array([1.2, 1.9, 1.9], np.float32))
    st.apply(PoseUpdate(9, PoseSample(1, True, head, None, right)), 0.1)
    st.apply(VoiceReceived(9, wire.level_byte(-20.0, True), 1, b"x"), 0.2)
    st.apply(RoomEventReceived(1, 9, RAISE_HAND_START), 0.2)
    a = st.avatars(0.2)[0]
    assert np.allclose(a.head.position, head.position) and np.allclose(a.right.pose.position, right.position)
    assert a.speaking == pytest.approx(1.0)
    assert a.gesture_icon == "raise_hand" and a.right.shape == "raised"
    assert st.avatars(1.5)[0].speaking < 0.01  # the halo fades without voice
    end = GestureEvent(Gesture.RAISE_HAND, Hand.RIGHT, "end", 2.5, 1.0, None, 1.0)
    st.apply(RoomEventReceived(2, 9, bytes(end)), 1.0)
    a = st.avatars(1.0)[0]  # ended 0.8 s after its start: the icon stays 1 s, the hand opens
    assert a.gesture_icon == "raise_hand" and a.right.shape == "open"
    assert st.avatars(1.2)[0].gesture_icon is None
    st.apply(VoiceReceived(9, wire.level_byte(-20.0, False), 2, b"x"), 1.1)  # not voice-active: no halo
    assert st.speaking(1.1) == {}


def test_bad_input_is_counted_not_raised() -> None:
    st, _ = _room()
    st.apply(RoomEventReceived(3, 9, b'{"not": "a gesture"}'), 0.0)
    st.apply(RoomEventReceived(4, 9, RAISE_HAND_START[:-3]), 0.0)  # truncated
    st.apply(PoseUpdate(55, PoseSample(1, True, Pose(), None, None)), 0.0)  # unknown member
    st.apply(VoiceReceived(56, 0x80, 1, b"x"), 0.0)
    c = st.counters
    assert (c.other_events, c.gesture_events, c.unknown_source) == (2, 0, 2)
    st.apply(MemberUpdate(9, "delegate-x", "", "left"), 0.5)
    assert st.members == {} and st.avatars(0.5) == []
    assert st.summary(0.5)[0]["state"] == "left"


def test_listener_mix_drops_a_voice_claiming_another_speaker() -> None:
    mix = ListenerMix(load_layout("chamber"))
    pkt = VoicePacket(0, 0, 42, 20, b"\xfc\xff\xfe")  # an Opus DTX-like payload of speaker 42
    assert mix.receive(43, bytes(pkt), 0.0) == "spoofed"
    assert mix.receive(42, b"\x00garbage", 0.0) == "malformed"
    assert mix.receive(42, bytes(pkt), 0.0) == "ok"
    assert (mix.counters.spoofed, mix.counters.malformed, mix.counters.packets) == (1, 1, 1)
    block = mix.render(0.1, Pose(np.array([0.0, 1.2, 0.0], np.float32)), {})
    assert block.shape == (mix.s.block, 2) and np.isfinite(block).all()


def test_scheduled_speech_lands_on_exact_samples() -> None:
    clip = np.arange(1, 101, dtype=np.float32)
    mic = ScheduledSpeech(clip, [0.001], fs=48000)  # sample 48
    got = np.concatenate([mic.read(30) for _ in range(6)])
    assert np.all(got[:48] == 0) and np.array_equal(got[48:148], clip) and np.all(got[148:] == 0)
    assert mic.speaking(0.0015) and not mic.speaking(0.01)


def test_bots_sit_in_front_of_the_viewer_and_take_turns() -> None:
    layout = load_layout("chamber")
    me = layout.seat(layout.default_seat)
    seats = bot_seats(layout, 6, me.seat_id)
    assert me not in seats and len({s.seat_id for s in seats}) == 6
    fwd = me.pose().forward()
    for s in seats:  # all ahead of the viewer (the viewer sees them)
        assert float(np.dot(np.subtract(s.position, me.position), fwd)) > 0
    clips = [("a", np.ones(4800, np.float32)), ("b", np.ones(9600, np.float32))]
    plans = plan_bots(layout, 3, me.seat_id, clips)
    starts = sorted(t for p in plans for t in p.speak_at[:1])
    assert all(b - a >= 9600 / 48000 for a, b in zip(starts, starts[1:]))  # turns do not overlap
    assert {p.clip[0] for p in plans} == {"a", "b"}
