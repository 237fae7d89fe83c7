"""Gestures between delegates through a real relay on loopback: events, icons, the floor queue and
handshakes; plus the wire vector of the handshake envelope and the meeting layer on its own."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import numpy as np
import pytest

from vrdiplomacy.errors import ProtocolError
from vrdiplomacy.gestures.background import perform_gestures
from vrdiplomacy.gestures.events import GestureEvent
from vrdiplomacy.gestures.handshake import HandshakeMessage, Kind
from vrdiplomacy.gestures.perform import Performer
from vrdiplomacy.gestures.types import Gesture, Hand
from vrdiplomacy.input.frame import InputFrame
from vrdiplomacy.net.client_core import MemberUpdate, RoomEventReceived
from vrdiplomacy.net.relay_server import EmbeddedRelay
from vrdiplomacy.scene.math3d import Pose
from vrdiplomacy.session.gestures import GestureSettings, HandshakeEnvelope, SessionGestures
from vrdiplomacy.session.meeting import FloorQueue
from vrdiplomacy.session.runtime import DelegateSession, HeldPose, SessionSettings
from vrdiplomacy.session.state import RoomState

# HandshakeEnvelope(to=7, HandshakeMessage(OFFER, offer_id=0x01020304, ttl_ms=8000))
ENVELOPE_VECTOR = bytes.fromhex("4801" "00000007" "01" "01" "01020304" "00001f40")
A_HEAD = Pose.from_yaw((0.0, 1.2, 0.0), 0.0)  # looking down -Z at B
B_HEAD = Pose.from_yaw((0.0, 1.2, -1.0), 180.0)
HAND_AWAY = Pose(np.array([0.25, 0.8, -0.9], np.float32))


def hand(x: float, y: float, z: float) -> Pose:
    return Pose(np.array([x, y, z], np.float32))


# ------------------------------------------------------------------ wire and sans-I/O parts


def test_handshake_envelope_vector_and_bad_input() -> None:
    env = HandshakeEnvelope(7, HandshakeMessage(Kind.OFFER, 0x01020304, 8000))
    assert bytes(env) == ENVELOPE_VECTOR
    assert HandshakeEnvelope.parse(ENVELOPE_VECTOR) == env
    with pytest.raises(ProtocolError):
        GestureEvent.parse(ENVELOPE_VECTOR)  # never mistaken for a gesture
    for bad in (ENVELOPE_VECTOR[:-1], b"\x48\x02" + ENVELOPE_VECTOR[2:], ENVELOPE_VECTOR[:7] + b"\x09" + ENVELOPE_VECTOR[8:],
                b"\x01" + ENVELOPE_VECTOR[1:], b""):
        with pytest.raises(ProtocolError):
            HandshakeEnvelope.parse(bad)
    # a malformed or misaddressed envelope arriving from the room is counted, not raised
    g = SessionGestures()
    g.me = 3
    g.receive(RoomEventReceived(1, 7, ENVELOPE_VECTOR[:-2]), 0.0)
    g.receive(RoomEventReceived(2, 7, ENVELOPE_VECTOR), 0.0)  # addressed to client 7, not us
    assert (g.counters.handshake_malformed, g.counters.handshake_not_for_us) == (1, 1)
    assert g.handshakes == {} and g.data_to_send() == []


def _gesture(g: Gesture, phase: str, t: float = 0.0) -> bytes:
    return bytes(GestureEvent(g, Hand.RIGHT, phase, t, 0.9, None, 0.0 if phase == "start" else 0.5))


def test_floor_queue_keeps_request_order_and_withdrawals() -> None:
    q = FloorQueue()
    assert q.on_gesture(5, GestureEvent.parse(_gesture(Gesture.RAISE_HAND, "start")), 1.0)
    assert q.on_gesture(3, GestureEvent.parse(_gesture(Gesture.RAISE_HAND, "start")), 1.1)
    assert q.on_gesture(8, GestureEvent.parse(_gesture(Gesture.RAISE_HAND, "start")), 1.2)
    assert not q.on_gesture(5, GestureEvent.parse(_gesture(Gesture.RAISE_HAND, "start")), 1.3)  # keeps its place
    assert not q.on_gesture(5, GestureEvent.parse(_gesture(Gesture.RAISE_HAND, "end")), 1.4)  # an end asks nothing
    assert not q.on_gesture(9, GestureEvent.parse(_gesture(Gesture.NOD, "start")), 1.4)  # means nothing here
    assert q.queue == [5, 3, 8] and q.position(8) == 3 and q.position(9) is None
    assert q.on_gesture(3, GestureEvent.parse(_gesture(Gesture.LOWER_HAND, "start")), 1.5)
    assert not q.on_gesture(3, GestureEvent.parse(_gesture(Gesture.LOWER_HAND, "start")), 1.6)
    assert q.queue == [5, 8]
    assert q.grant_next(2.0) == 5 and q.speaker == 5 and q.queue == [8]
    assert not q.request(5, 2.1)  # the speaker does not queue again while speaking
    q.member_left(8, 2.2)
    assert q.queue == [] and q.grant_next(2.3) is None
    q.member_left(5, 2.4)
    assert q.speaker is None
    kinds = []
    while (e := q.next_event()) is not None:
        kinds.append((e.kind, e.client_id))
    assert kinds == [("requested", 5), ("requested", 3), ("requested", 8), ("withdrawn", 3), ("granted", 5),
                     ("withdrawn", 8), ("released", 5)]
    assert q.ignored == 3


def test_a_short_gesture_icon_shows_at_least_one_second() -> None:
    st = RoomState()
    st.apply(MemberUpdate(9, "delegate-x", "seat-1", "present"), 0.0)
    st.members[9].posed = True
    st.apply(RoomEventReceived(1, 9, bytes(GestureEvent(Gesture.NOD, Hand.NONE, "start", 10.0, 0.8))), 5.0)
    st.apply(RoomEventReceived(2, 9, bytes(GestureEvent(Gesture.NOD, Hand.NONE, "end", 10.0, 0.8, None, 0.3))), 5.3)
    assert st.members[9].gesture is None  # the gesture itself is over
    assert st.avatars(5.3)[0].gesture_icon == "nod"
    assert st.avatars(5.99)[0].gesture_icon == "nod"
    assert st.avatars(6.01)[0].gesture_icon is None
    # a long gesture shows for as long as it lasts, and goes when it ends
    st.apply(RoomEventReceived(3, 9, _gesture(Gesture.THUMBS_UP, "start")), 7.0)
    assert st.avatars(9.5)[0].gesture_icon == "thumbs_up"
    st.apply(RoomEventReceived(4, 9, _gesture(Gesture.THUMBS_UP, "end")), 9.6)
    assert st.avatars(9.6)[0].gesture_icon is None


# ------------------------------------------------------------------ over the relay


async def until(pred: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def _session(relay: EmbeddedRelay, name: str, seat: str, pose: HeldPose, gs: GestureSettings | None = None) -> DelegateSession:
    s = SessionSettings(name, seat, hear=False, gestures=gs or GestureSettings())
    return DelegateSession(relay.host, relay.port, relay.fingerprint, s, None, pose)


def _key_frame(t: float, *keys: str) -> InputFrame:
    return InputFrame(time=t, head=A_HEAD, keys=frozenset(keys))


def test_recognized_gestures_reach_the_peer_intact_and_raise_hand_queues_for_the_floor() -> None:
    rng = np.random.default_rng(11)
    frames, labels, _ = perform_gestures(Performer("a", "articulated", dropout_rate=1e-4), rng, 1)

    async def main() -> tuple[DelegateSession, DelegateSession, list[GestureEvent], list[bytes]]:
        async with EmbeddedRelay() as relay:
            a = _session(relay, "delegate-a", "seat-1", HeldPose(A_HEAD))
            b = _session(relay, "delegate-b", "seat-2", HeldPose(B_HEAD, None, HAND_AWAY))
            async with a, b:
                await until(lambda: a.client.client_id in b.state.members and b.client.client_id in a.state.members, 5,
                            "both see each other")
                got: list[bytes] = []
                b.client.sealer = _Tap(b.client.sealer, got)  # what arrives on B's event channel, as is
                sent: list[GestureEvent] = []
                for f in frames:  # the local backend's frames, ten times real time
                    sent += a.push_frame(f)
                    await asyncio.sleep(0.0033)
                await until(lambda: sum(p[:1] == b"\x01" for p in got) >= len(sent), 5, "every gesture event at B")
                # desktop keys: A raises a hand, B raises a hand, A lowers it
                t0 = frames[-1].time + 1.0
                a.push_frame(_key_frame(t0, "raise_hand"))
                await until(lambda: a.client.client_id in b.gestures.floor.queue, 5, "A's request at B")
                assert b.state.avatars(b.now)[0].gesture_icon == "raise_hand"
                b.push_frame(InputFrame(time=0.5, head=B_HEAD, keys=frozenset({"raise_hand"})))
                await until(lambda: len(a.gestures.floor.queue) == 2 and len(b.gestures.floor.queue) == 2, 5,
                            "both requests on both sides")
                assert a.gestures.floor.queue == b.gestures.floor.queue == [a.client.client_id, b.client.client_id]
                a.push_frame(_key_frame(t0 + 0.2))
                a.push_frame(_key_frame(t0 + 0.3, "lower_hand"))
                await until(lambda: b.gestures.floor.queue == [b.client.client_id] == a.gestures.floor.queue, 5,
                            "A's withdrawal on both sides")
                return a, b, sent, got

    a, b, sent, got = asyncio.run(main())
    starts = [e for e in sent if e.phase == "start"]
    assert len(starts) >= 7 and {e.gesture for e in starts} >= {Gesture.RAISE_HAND, Gesture.WAVE, Gesture.NOD}
    # type, hand, target, time, confidence and duration arrive as they were recognized
    received = [GestureEvent.parse(p) for p in got if p[:1] == b"\x01"][: len(sent)]
    assert [(e.gesture, e.hand, e.phase, e.target, e.time, e.duration) for e in received] == \
        [(e.gesture, e.hand, e.phase, e.target, e.time, pytest.approx(e.duration)) for e in sent]
    assert all(abs(r.confidence - e.confidence) <= 1 / 65535 for r, e in zip(received, sent))
    member_a = b.state.members.get(a.client.client_id) or b.state.left_members[a.client.client_id]
    assert member_a.gestures[: len(starts)] == [e.gesture.value for e in starts]
    assert a.stats.gestures_sent == len(sent) + 3


class _Tap:
    """Wraps a client's sealer to keep a copy of every room event payload it opens."""

    def __init__(self, inner: object, into: list[bytes]) -> None:
        self.inner, self.into = inner, into

    def seal(self, kind: str, payload: bytes) -> bytes:
        return self.inner.seal(kind, payload)  # type: ignore[attr-defined]

    def open(self, kind: str, sender: int, payload: bytes) -> object:
        out = self.inner.open(kind, sender, payload)  # type: ignore[attr-defined]
        if kind == "event":
            self.into.append(bytes(out))
        return out


def test_handshake_completes_only_when_both_accepted_and_right_hands_meet() -> None:
    async def main() -> None:
        async with EmbeddedRelay() as relay:
            a_pose = HeldPose(A_HEAD, None, hand(0.2, 0.9, -0.3))
            b_pose = HeldPose(B_HEAD, None, HAND_AWAY)
            a = _session(relay, "delegate-a", "seat-1", a_pose)
            b = _session(relay, "delegate-b", "seat-2", b_pose)
            async with a, b:
                ida, idb = a.client.client_id, b.client.client_id
                await until(lambda: ida in b.state.members and idb in a.state.members, 5, "both see each other")
                # A extends a hand (the desktop key): an offer to B, the delegate within reach
                a.push_frame(_key_frame(0.0, "handshake"))
                assert a.gestures.shown(idb) == "offered"
                await until(lambda: b.gestures.shown(ida) == "offered", 5, "the offer at B")
                # hands together before B accepted: nothing happens
                a_pose.set(A_HEAD, None, hand(0.0, 1.0, -0.5))
                b_pose.set(B_HEAD, None, hand(0.03, 1.0, -0.55))
                await asyncio.sleep(0.4)
                assert (a.gestures.shown(idb), b.gestures.shown(ida)) == ("offered", "offered")
                # B accepts with the same gesture, hands apart: agreed, not yet shaken
                b_pose.set(B_HEAD, None, HAND_AWAY)
                await asyncio.sleep(0.2)
                b.push_frame(InputFrame(time=1.0, head=B_HEAD, keys=frozenset({"handshake"})))
                await until(lambda: a.gestures.shown(idb) == "agreed" == b.gestures.shown(ida), 5, "agreement")
                await asyncio.sleep(0.3)
                assert a.gestures.shown(idb) == "agreed"
                # the right hands meet: shaken on both sides
                b_pose.set(B_HEAD, None, hand(0.03, 1.0, -0.55))
                await until(lambda: a.gestures.shown(idb) == "shaken" == b.gestures.shown(ida), 5, "the handshake")
                # both icons: each sees the other's handshake gesture
                assert "handshake" in b.state.members[ida].gestures and "handshake" in a.state.members[idb].gestures
                assert a.gestures.counters.handshake_malformed == b.gestures.counters.handshake_malformed == 0

    asyncio.run(main())


def test_a_one_sided_offer_shows_as_offered_on_the_peer_and_expires() -> None:
    async def main() -> None:
        gs = GestureSettings(handshake_timeout=1.0)
        async with EmbeddedRelay() as relay:
            a_pose = HeldPose(A_HEAD, None, hand(0.0, 1.0, -0.5))
            b_pose = HeldPose(B_HEAD, None, hand(0.03, 1.0, -0.55))  # hands together all along
            a = _session(relay, "delegate-a", "seat-1", a_pose, gs)
            b = _session(relay, "delegate-b", "seat-2", b_pose, gs)
            async with a, b:
                ida, idb = a.client.client_id, b.client.client_id
                await until(lambda: ida in b.state.members and idb in a.state.members, 5, "both see each other")
                a.gestures.offer(idb, a.now)
                a.flush_gestures()
                await until(lambda: b.gestures.shown(ida) == "offered", 5, "the offer at B")
                t_offer = time.monotonic()
                await until(lambda: b.gestures.shown(ida) == "expired" and a.gestures.shown(idb) == "expired", 5,
                            "both sides to expire")
                assert time.monotonic() - t_offer < 2.0
                events = []
                while (e := b.gestures.next_event()) is not None:
                    events.append(e.event.state.value)
                assert events == ["invited", "expired"]
                # a third client sees the room events but keeps out of the handshake
                c = _session(relay, "delegate-c", "seat-3", HeldPose(B_HEAD), gs)
                async with c:
                    await until(lambda: ida in c.state.members, 5, "C sees A")
                    a.gestures.offer(idb, a.now)
                    a.flush_gestures()
                    await until(lambda: c.gestures.counters.handshake_not_for_us >= 1, 5, "C to see the offer")
                    assert c.gestures.handshakes == {}

    asyncio.run(main())
