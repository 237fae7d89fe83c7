"""The handshake state machine, pumped between two endpoints in memory with a passed-in clock."""

from __future__ import annotations

import numpy as np
import pytest

from vrdiplomacy.errors import ProtocolError
from vrdiplomacy.gestures.handshake import HandshakeMessage, HandshakeSession, Kind, State

OFFER = bytes.fromhex("01010102030400001f40")  # offer id 0x01020304, TTL 8000 ms
ACCEPT = bytes.fromhex("01020102030400000000")
APART = np.array([0.0, 1.0, -0.4]), np.array([0.0, 1.0, -0.1])  # 0.30 m
CLOSE = np.array([0.0, 1.0, -0.4]), np.array([0.05, 1.02, -0.31])  # 0.105 m


def pair(seed: int = 1) -> tuple[HandshakeSession, HandshakeSession]:
    return HandshakeSession(rng=np.random.default_rng(seed)), HandshakeSession(rng=np.random.default_rng(seed + 1))


def pump(a: HandshakeSession, b: HandshakeSession, now: float) -> None:
    for _ in range(4):
        for src, dst in ((a, b), (b, a)):
            for data in src.data_to_send():
                dst.receive(data, now)


def events(s: HandshakeSession) -> list[tuple[str, str]]:
    out = []
    while (e := s.next_event()) is not None:
        out.append((e.state.value, e.by))
    return out


def test_message_vectors() -> None:
    assert bytes(HandshakeMessage(Kind.OFFER, 0x01020304, 8000)) == OFFER
    assert HandshakeMessage.parse(ACCEPT) == HandshakeMessage(Kind.ACCEPT, 0x01020304, 0)
    for bad, msg in [(OFFER[:9], "10 bytes"), (b"\x02" + OFFER[1:], "version"), (OFFER[:1] + b"\x09" + OFFER[2:], "kind"),
                     (ACCEPT[:-1] + b"\x01", "TTL"), (OFFER[:6] + b"\x00\x00\x00\x00", "TTL")]:
        with pytest.raises(ProtocolError, match=msg):
            HandshakeMessage.parse(bad)


def test_both_accept_then_hands_meet() -> None:
    a, b = pair()
    a.offer(0.0)
    pump(a, b, 0.05)
    assert a.state is State.OFFERED and b.state is State.INVITED and b.shown == "offered" == a.shown
    b.accept(1.0)
    pump(a, b, 1.05)
    assert a.state is State.AGREED and b.state is State.AGREED
    a.update(1.5, *APART)
    b.update(1.5, *APART[::-1])
    assert a.state is State.AGREED  # 0.30 m apart: not yet
    a.update(2.0, *CLOSE)
    pump(a, b, 2.05)
    assert a.state is State.SHAKEN and b.state is State.SHAKEN
    assert events(a) == [("offered", "local"), ("agreed", "peer"), ("shaken", "local")]
    assert events(b) == [("invited", "peer"), ("agreed", "local"), ("shaken", "peer")]


def test_hands_meeting_without_acceptance_is_not_a_handshake() -> None:
    a, b = pair()
    a.offer(0.0)
    pump(a, b, 0.0)
    a.update(0.5, *CLOSE)
    b.update(0.5, *CLOSE)
    assert a.state is State.OFFERED and b.state is State.INVITED  # never forced


def test_one_sided_offer_shows_offered_then_expires() -> None:
    a, b = pair()
    a.offer(10.0)
    pump(a, b, 10.0)
    a.update(17.9)
    b.update(17.9)
    assert a.shown == "offered" and b.shown == "offered"
    a.update(18.0)
    b.update(18.0)
    assert a.state is State.EXPIRED and b.state is State.EXPIRED
    with pytest.raises(ValueError):
        b.accept(18.1)


def test_agreed_but_hands_never_meet_expires() -> None:
    a, b = pair()
    a.offer(0.0)
    pump(a, b, 0.0)
    b.accept(0.5)
    pump(a, b, 0.5)
    a.update(5.4, *APART)
    assert a.state is State.AGREED
    a.update(5.6, *APART)
    assert a.state is State.EXPIRED


def test_decline_and_cancel() -> None:
    a, b = pair()
    a.offer(0.0)
    pump(a, b, 0.0)
    b.decline(1.0)
    pump(a, b, 1.0)
    assert a.state is State.DECLINED and b.state is State.DECLINED
    assert events(a)[-1] == ("declined", "peer")
    a.offer(2.0)  # a new offer after a decline is allowed
    pump(a, b, 2.0)
    assert b.state is State.INVITED
    a.cancel(2.5)
    pump(a, b, 2.5)
    assert a.state is State.CANCELLED and b.state is State.CANCELLED
    with pytest.raises(ValueError):
        a.cancel(3.0)


def test_crossing_offers_count_as_both_accepting() -> None:
    a, b = pair()
    a.offer(0.0)
    b.offer(0.0)
    pump(a, b, 0.1)
    assert a.state is State.AGREED and b.state is State.AGREED and a.offer_id == b.offer_id
    b.update(1.0, *CLOSE)
    pump(a, b, 1.0)
    assert a.state is State.SHAKEN


def test_the_gesture_offers_or_accepts() -> None:
    a, b = pair()
    a.on_gesture(0.0)
    pump(a, b, 0.0)
    b.on_gesture(0.4)  # the peer extends a hand too: that is the acceptance
    pump(a, b, 0.4)
    assert a.state is State.AGREED and b.state is State.AGREED


def test_malformed_and_stale_messages_are_counted_and_dropped() -> None:
    a, b = pair()
    a.offer(0.0)
    pump(a, b, 0.0)
    a.receive(b"\x00garbage", 0.1)
    a.receive(bytes(HandshakeMessage(Kind.ACCEPT, a.offer_id ^ 1)), 0.1)  # answers another offer
    a.receive(bytes(HandshakeMessage(Kind.DONE, a.offer_id)), 0.1)  # not agreed yet
    assert a.dropped == 3 and a.state is State.OFFERED
