"""Gesture event wire format: stored byte vectors, round trips, rejection of malformed input."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vrdiplomacy.errors import ProtocolError
from vrdiplomacy.gestures.events import GestureEvent
from vrdiplomacy.gestures.types import Detection, Gesture, Hand

# version 1, point (9), right (2), start (0), confidence 0xbfff, time 12.5, duration 0, "FRA"
POINT_START = bytes.fromhex("01090200bfff40290000000000000000000003465241")
# version 1, nod (3), no hand (0), end (1), confidence 1.0, time 3.25, duration 0.5, no target
NOD_END = bytes.fromhex("01030001ffff400a0000000000003f00000000")


def test_stored_vectors_parse_and_serialize() -> None:
    e = GestureEvent.parse(POINT_START)
    assert (e.gesture, e.hand, e.phase, e.time, e.target, e.duration) == (Gesture.POINT, Hand.RIGHT, "start", 12.5, "FRA", 0.0)
    assert e.confidence == pytest.approx(0.75, abs=1e-4)
    assert bytes(e) == POINT_START
    n = GestureEvent.parse(NOD_END)
    assert (n.gesture, n.hand, n.phase, n.time, n.duration, n.target, n.confidence) == (Gesture.NOD, Hand.NONE, "end", 3.25, 0.5, None, 1.0)
    assert bytes(n) == NOD_END
    assert bytes(GestureEvent(Gesture.POINT, Hand.RIGHT, "start", 12.5, 0.75, "FRA")) == POINT_START


def test_from_detection_carries_interval_and_target() -> None:
    d = Detection(Gesture.HANDSHAKE, Hand.RIGHT, 10.0, 11.5, 0.8, "Délégation CH")
    start, end = GestureEvent.from_detection(d, "start"), GestureEvent.from_detection(d, "end")
    assert start.duration == 0.0 and end.duration == 1.5 and end.time == 10.0
    back = GestureEvent.parse(bytes(end))
    assert back.target == "Délégation CH" and back.phase == "end" and back.confidence == pytest.approx(0.8, abs=1e-4)


@pytest.mark.parametrize(
    "data, msg",
    [
        (POINT_START[:10], "too short"),
        (b"\x02" + POINT_START[1:], "version"),
        (POINT_START[:1] + b"\x00" + POINT_START[2:], "unknown gesture"),
        (POINT_START[:1] + b"\x0c" + POINT_START[2:], "unknown gesture"),
        (POINT_START[:2] + b"\x04" + POINT_START[3:], "unknown gesture"),
        (POINT_START[:3] + b"\x02" + POINT_START[4:], "unknown gesture"),
        (POINT_START + b"X", "length"),
        (POINT_START[:-1], "length"),
        (POINT_START[:-3] + b"\xff\xfe\xfd", "UTF-8"),
        (POINT_START[:-3] + b"A\nB", "control"),
        (POINT_START[:6] + struct.pack(">d", float("nan")) + POINT_START[14:], "finite"),
        (NOD_END[:14] + struct.pack(">f", -1.0) + NOD_END[18:], "finite"),
    ],
)
def test_malformed_events_are_rejected(data: bytes, msg: str) -> None:
    with pytest.raises(ProtocolError, match=msg):
        GestureEvent.parse(data)


def test_constructor_refuses_values_the_wire_cannot_carry() -> None:
    with pytest.raises(ValueError):
        GestureEvent(Gesture.NOD, Hand.NONE, "middle", 0.0, 0.5)
    with pytest.raises(ValueError):
        GestureEvent(Gesture.NOD, Hand.NONE, "start", 0.0, 1.5)
    with pytest.raises(ValueError):
        GestureEvent(Gesture.POINT, Hand.LEFT, "start", 0.0, 0.5, "x" * 65)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=100))
def test_fuzz_parse_never_crashes(data: bytes) -> None:
    try:
        e = GestureEvent.parse(data)
    except ProtocolError:
        return
    assert bytes(e) == data


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(list(Gesture)), st.sampled_from(list(Hand)), st.sampled_from(["start", "end"]),
    st.floats(-1e6, 1e6, allow_nan=False), st.integers(0, 65535),
    st.one_of(st.none(), st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=16)),
)
def test_round_trip(g: Gesture, h: Hand, phase: str, t: float, conf: int, target: str | None) -> None:
    e = GestureEvent(g, h, phase, t, conf / 65535, target)
    assert GestureEvent.parse(bytes(e)) == e
