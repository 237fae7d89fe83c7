"""A member's key envelope and events cross the authority's next roster (sans-I/O, fixed times).

Over the relay, a member sends its key envelope for roster v(n) as soon as it installs v(n), then
its events sealed under that key; the chair may already have published v(n+1), which the relay
orders before them. The receivers that moved to v(n+1) must still open those events (keys of the
previous roster are honoured for the grace period), while keys of a member the new roster removed,
replayed old envelopes, replayed frame signatures and envelopes past the grace stay refused and
counted. Seen as ``stale_keys`` drops that failed tests/e2ee/test_relay_blind.py under load.
"""

from __future__ import annotations

import pytest

from vrdiplomacy.crypto.packet import Packet, StreamType
from vrdiplomacy.crypto.roster import Roster
from vrdiplomacy.crypto.session import GroupSession, PacketDropped

from attacks.frames_helpers import NOW, ROOM, Room


def _roster(room: Room, names: list[str], now: float) -> Roster:
    entries = [room.sessions[n].roster_entry(room.indices[n], "delegate") for n in names]
    room.roster = Roster.create(ROOM, entries, room.chair_key, room.chair_cert, int(now), room.roster)
    return room.roster


def _deliver(packets: list[bytes], to: GroupSession, now: float) -> None:
    for p in packets:
        to.open(p, now)


def _kinds(packets: list[bytes]) -> list[StreamType]:
    return [Packet.parse(p).stream_type for p in packets]


def _crossing() -> tuple[Room, list[bytes], bytes, list[bytes]]:
    """France, Germany and Malta in roster v1; France installs v1 last: its v1 key envelope and
    its vote sealed under it (and Malta's envelope) are still on the way to Germany when Germany
    installs the chair's v2 (Italy joins, Malta is expelled). Returns the room, France's v1
    envelopes, her vote and Malta's v1 envelopes, none delivered to Germany yet."""
    room = Room(["france", "germany", "malta", "italy"])
    fr, de, mt = (room.sessions[n] for n in ("france", "germany", "malta"))
    t = NOW
    v1 = _roster(room, ["france", "germany", "malta"], t)
    de.install_roster(v1, t)
    mt.install_roster(v1, t)
    mt_keys = mt.outgoing(t)  # Malta's envelope: on the way to Germany when the chair expels Malta
    de_keys = de.outgoing(t)
    _deliver(de_keys, mt, t)
    fr.install_roster(v1, t + 0.1)
    _deliver(de_keys + mt_keys, fr, t + 0.1)
    fr_keys = fr.outgoing(t + 0.1)
    vote = fr.seal(StreamType.VOTE, b"vote: YES on resolution 7", t + 0.15)
    fr_keys += fr.outgoing(t + 0.15)  # the envelope and the vote's frame signature
    return room, fr_keys, vote, mt_keys


def test_an_event_sealed_under_the_previous_rosters_keys_is_opened_after_the_roster_change() -> None:
    """Fails on main 452f8cc: Germany drops France's envelope as ``stale_keys`` ("keys for old
    roster 0") and then her vote as ``unknown_key``: a legitimate member's vote is lost."""
    room, fr_keys, vote, _ = _crossing()
    fr, de, it = (room.sessions[n] for n in ("france", "germany", "italy"))
    t = NOW + 0.2
    v2 = _roster(room, ["france", "germany", "italy"], t)
    de.install_roster(v2, t)
    it.install_roster(v2, t)
    assert StreamType.KEYS in _kinds(fr_keys)

    _deliver(fr_keys, de, t + 0.05)
    got = de.open(vote, t + 0.05)
    assert (got.sender, got.stream_type, got.payload) == (room.indices["france"], StreamType.VOTE, b"vote: YES on resolution 7")
    assert de.stats["stale_keys"] == 0 and de.stats["unknown_key"] == 0 and de.stats["late_keys"] == 1

    # Italy was not in roster 1: France's envelope for it is not addressed to Italy; it is
    # counted and passed over, not an error (the vote itself Italy cannot open)
    _deliver(fr_keys, it, t + 0.05)
    assert it.stats["keys_before_us"] == 1
    with pytest.raises(PacketDropped) as e:
        it.open(vote, t + 0.05)
    assert e.value.reason == "unknown_key"

    # France catches up: her v2 keys reach both, and both agree on the room code
    fr.install_roster(v2, t + 0.3)
    for p in fr.outgoing(t + 0.3):
        _deliver([p], de, t + 0.3)
        _deliver([p], it, t + 0.3)
    for s in (de, it):
        for p in s.outgoing(t + 0.3):
            for o in (fr, de, it):
                if o is not s:
                    o.open(p, t + 0.3)
    assert fr.verification_code() == de.verification_code() == it.verification_code()
    again = fr.seal(StreamType.VOTE, b"vote: NO on resolution 8", t + 0.4)
    assert de.open(again, t + 0.4).payload == it.open(again, t + 0.4).payload == b"vote: NO on resolution 8"

    # what a relay recorded is still refused, and counted
    for p in fr_keys:
        with pytest.raises(PacketDropped) as e:
            de.open(p, t + 0.5)
        assert e.value.reason in ("stale_keys", "replay")
    with pytest.raises(PacketDropped) as e:
        de.open(vote, t + 0.5)
    assert e.value.reason in ("replay", "event_replay")
    for p in fr_keys:  # Italy holds France's keys now: her old envelope and signature are replays
        with pytest.raises(PacketDropped) as e:
            it.open(p, t + 0.5)
        assert e.value.reason in ("stale_keys", "unknown_key")


def test_an_expelled_member_cannot_send_under_the_previous_rosters_keys() -> None:
    """Malta's envelope for roster 1 (a rotation just before the chair expelled it) arrives after
    roster 2 without Malta: refused, and nothing Malta seals opens."""
    room, _, _, mt_keys = _crossing()
    de, mt = room.sessions["germany"], room.sessions["malta"]
    t = NOW + 0.2
    de.install_roster(_roster(room, ["france", "germany", "italy"], t), t)
    refused = []
    for p in mt_keys:
        with pytest.raises(PacketDropped) as e:
            de.open(p, t + 0.05)
        refused.append(e.value.reason)
    assert refused and set(refused) == {"not_member"}
    with pytest.raises(PacketDropped) as e:
        de.open(mt.seal(StreamType.VOTE, b"vote: NO", t + 0.06), t + 0.06)
    assert e.value.reason == "not_member"
    # the chair admits Malta again at once: its envelope from before the expulsion stays refused
    de.install_roster(_roster(room, ["france", "germany", "italy", "malta"], t + 0.5), t + 0.5)
    for p in mt_keys:
        with pytest.raises(PacketDropped) as e:
            de.open(p, t + 0.6)
        assert e.value.reason == "not_member"


def test_keys_of_the_previous_roster_after_the_grace_period_are_refused() -> None:
    room, fr_keys, vote, _ = _crossing()
    de = room.sessions["germany"]
    t = NOW + 0.2
    de.install_roster(_roster(room, ["france", "germany", "italy"], t), t)
    late = t + de.config.grace_s + 0.1
    with pytest.raises(PacketDropped) as e:
        _deliver([p for p in fr_keys if Packet.parse(p).stream_type == StreamType.KEYS], de, late)
    assert e.value.reason == "stale_keys"
    with pytest.raises(PacketDropped) as e:
        de.open(vote, late)
    assert e.value.reason == "unknown_key"


def test_a_replayed_frame_signature_is_a_counted_drop() -> None:
    """A relay delivering a member's frame signature again: refused and counted (fails on main
    452f8cc, where it was accepted silently and the replay tests over the malicious relay timed out
    waiting for its drop)."""
    room = Room(["france", "germany"])
    fr, de = room.sessions["france"], room.sessions["germany"]
    room.publish(["france", "germany"], NOW)
    room.exchange(["france", "germany"], NOW)
    w = fr.seal(StreamType.GESTURE, b"raise_hand", NOW + 1)
    sigs = [p for p in fr.outgoing(NOW + 1.2) if Packet.parse(p).stream_type == StreamType.FRAME_SIG]
    assert de.open(w, NOW + 1.2).payload == b"raise_hand"
    assert len(sigs) == 1
    de.open(sigs[0], NOW + 1.2)
    with pytest.raises(PacketDropped) as e:
        de.open(sigs[0], NOW + 2)
    assert e.value.reason == "replay" and de.stats["replay"] == 1
    # France's next signature is accepted as usual
    w2 = fr.seal(StreamType.GESTURE, b"lower_hand", NOW + 3)
    assert de.open(w2, NOW + 3).payload == b"lower_hand"
    for p in fr.outgoing(NOW + 3.2):
        de.open(p, NOW + 3.2)
    assert de.frames_verified == 2 and not de.alerts
