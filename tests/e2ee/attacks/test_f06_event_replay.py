"""Finding 6: signed events replay to late joiners and after a delay.

On main 3e2635d an event's signature bound the room, sender, stream and sequence number, but not
the epoch (roster version), the roster or the time: a member who kept Alice's signed vote could
seal it again under Alice's current key and a delegation that joined ten minutes later accepted
"YES on resolution 12" as Alice's (it had never seen that sequence number); and a relay that held
a vote back could deliver it ten minutes later. Events are now bound to the epoch and roster hash,
the sender's key generation and the sender's clock. The first two tests fail on main 3e2635d; the
last one (grace for events in flight across a roster change) passes there too.
"""

from __future__ import annotations

import pytest

from vrdiplomacy.crypto.packet import Packet, StreamType
from vrdiplomacy.crypto.session import PacketDropped

from attacks.frames_helpers import NOW, Room, forge, header, plaintext

ABC = ["alice", "bob", "carol"]
VOTE = b"vote: YES on resolution 12"


@pytest.fixture()
def room() -> Room:
    r = Room(ABC + ["dan"])
    r.publish(ABC, NOW)
    r.exchange(ABC, NOW)
    return r


def test_vote_replayed_to_a_late_joiner_is_rejected(room: Room) -> None:
    alice, bob, carol, dan = (room.sessions[n] for n in ABC + ["dan"])
    ia = room.indices["alice"]
    vote = alice.seal(StreamType.VOTE, VOTE, NOW)
    assert bob.open(vote, NOW) == (ia, StreamType.VOTE, VOTE)
    kept = plaintext(carol, vote)  # Carol keeps Alice's signed vote
    stream = Packet.parse(vote).stream_type
    # ten minutes later Dan joins; everybody starts new keys for the new roster
    t = NOW + 600
    room.publish(ABC + ["dan"], t)
    room.exchange(ABC + ["dan"], t)
    hello = alice.seal(StreamType.VOICE, b"welcome, Dan", t)
    assert dan.open(hello, t).payload == b"welcome, Dan"
    # Carol seals the old vote again under Alice's new key and sends it to Dan
    replay = forge(carol, ia, header(hello)[0].ctr + 1, kept, stream)
    with pytest.raises(PacketDropped) as e:
        dan.open(replay, t)  # main 3e2635d: accepted as Alice's vote
    assert e.value.reason == "stale_event"
    assert dan.stats["opened"] == 1
    # Alice's own vote, cast now, is accepted
    assert dan.open(alice.seal(StreamType.VOTE, b"vote: NO on resolution 13", t + 1), t + 1).payload == b"vote: NO on resolution 13"


def test_vote_withheld_and_delivered_ten_minutes_later_is_rejected(room: Room) -> None:
    alice, bob, carol = (room.sessions[n] for n in ABC)
    vote = alice.seal(StreamType.VOTE, VOTE, NOW)
    assert carol.open(vote, NOW).payload == VOTE
    # the relay keeps it from Bob and hands it over ten minutes later (same roster, same keys)
    with pytest.raises(PacketDropped) as e:
        bob.open(vote, NOW + 600)  # main 3e2635d: accepted
    assert e.value.reason == "stale_event"
    # a minute's delay is still fine (the window is 60 s), and so is a sender clock 30 s ahead
    late = alice.seal(StreamType.FLOOR, b"floor: request", NOW + 1)
    assert bob.open(late, NOW + 1 + 55).payload == b"floor: request"
    early = alice.seal(StreamType.GESTURE, b"gesture: nod", NOW + 130)
    assert bob.open(early, NOW + 100).payload == b"gesture: nod"


def test_event_in_flight_across_a_roster_change_gets_a_short_grace(room: Room) -> None:
    alice, bob = room.sessions["alice"], room.sessions["bob"]
    in_flight = [alice.seal(StreamType.FLOOR, b"floor: request %d" % i, NOW) for i in range(2)]
    room.publish(ABC + ["dan"], NOW + 1)  # Dan joins while Alice's requests travel
    room.exchange(ABC + ["dan"], NOW + 1)
    assert bob.open(in_flight[0], NOW + 2).payload == b"floor: request 0"  # within the grace
    with pytest.raises(PacketDropped):
        bob.open(in_flight[1], NOW + 1 + 6)  # an epoch behind, after the grace
