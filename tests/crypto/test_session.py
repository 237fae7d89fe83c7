"""GroupSession end to end, three or four clients pumping packets in memory."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vrdiplomacy.crypto.events import epoch_hash
from vrdiplomacy.crypto.keys import GEN_MASK, RekeyPolicy, split_kid
from vrdiplomacy.crypto.packet import Packet, StreamType
from vrdiplomacy.crypto.sframe import CipherSuite, SFrameHeader
from vrdiplomacy.crypto.session import GroupSession, LocalIdentity, PacketDropped, SessionConfig
from vrdiplomacy.crypto.signing import SignedEvent
from vrdiplomacy.errors import CryptoError, ProtocolError

from .conftest import NOW, ROOM, Pki, Room

ABC = ["alice", "bob", "carol"]


@pytest.fixture()
def room(pki: Pki) -> Room:
    r = Room(pki, ABC)
    r.publish(ABC, NOW)
    r.exchange(ABC, NOW)
    return r


def test_all_streams_round_trip(room: Room) -> None:
    a, b = room.sessions["alice"], room.sessions["bob"]
    for stream in (StreamType.VOICE, StreamType.POSE, StreamType.ROOM, StreamType.GESTURE, StreamType.FLOOR, StreamType.VOTE):
        wire = a.seal(stream, b"payload-" + bytes([stream]), NOW)
        assert b.open(wire, NOW) == (room.indices["alice"], stream, b"payload-" + bytes([stream]))
    assert b.stats["opened"] == 6


def test_default_suite_is_gcm_and_others_work(pki: Pki) -> None:
    assert SessionConfig().cipher_suite == CipherSuite.AES_128_GCM_SHA256_128
    for suite in CipherSuite:
        r = Room(pki, ["x", "y"], SessionConfig(cipher_suite=suite))
        r.publish(["x", "y"], NOW)
        r.exchange(["x", "y"], NOW)
        wire = r.sessions["x"].seal(StreamType.VOICE, b"hi", NOW)
        assert r.sessions["y"].open(wire, NOW).payload == b"hi", suite.name


def test_relay_sees_no_plaintext(room: Room) -> None:
    secret = b"the delegation will accept clause 4"
    wire = room.sessions["alice"].seal(StreamType.VOICE, secret, NOW)
    assert secret not in wire and b"clause" not in wire


def test_replays_rejected(room: Room) -> None:
    a, b = room.sessions["alice"], room.sessions["bob"]
    frames = [a.seal(StreamType.VOICE, bytes([i]) * 100, NOW) for i in range(50)]
    for f in frames:
        b.open(f, NOW)
    for f in frames:
        with pytest.raises(PacketDropped) as e:
            b.open(f, NOW)
        assert e.value.reason == "replay"
    assert b.stats["replay"] == 50


def test_out_of_order_inside_window_accepted_and_too_old_rejected(room: Room) -> None:
    a, b = room.sessions["alice"], room.sessions["bob"]
    frames = [a.seal(StreamType.POSE, b"p%d" % i, NOW) for i in range(300)]
    for f in reversed(frames[:10]):
        b.open(f, NOW)  # reordering inside the window is fine
    b.open(frames[299], NOW)  # a whole window ahead: held aside until Alice's signature covers it
    assert b.open(frames[10], NOW).payload == b"p10"  # so the window has not moved yet
    with pytest.raises(PacketDropped) as e:
        b.open(frames[299], NOW)
    assert e.value.reason == "replay"
    for p in a.outgoing(NOW + 0.2):
        b.open(p, NOW + 0.2)  # signed: the window now ends at CTR 299 (256 wide: oldest accepted is 44)
    rejected = 0
    for f in frames[10:44]:
        with pytest.raises(PacketDropped) as e:
            b.open(f, NOW + 0.2)
        assert e.value.reason == "too_old"
        rejected += 1
    assert rejected == 34 and b.stats["too_old"] == 34
    assert b.open(frames[44], NOW + 0.2).payload == b"p44"


def test_every_bit_flip_rejected(room: Room) -> None:
    # Bob (index 1) after ten frames: a 4-byte SFrame header with multi-byte KID and CTR.
    a, b = room.sessions["bob"], room.sessions["alice"]
    for _ in range(10):
        a.seal(StreamType.VOICE, b"warm-up", NOW)
    wire = a.seal(StreamType.VOICE, bytes(range(100)), NOW)
    assert SFrameHeader.decode(wire[2:])[0] == SFrameHeader(256, 10)
    rejected = 0
    for bit in range(len(wire) * 8):
        bad = bytearray(wire)
        bad[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(CryptoError):
            b.open(bytes(bad), NOW)
        rejected += 1
    assert rejected == len(wire) * 8 == 8 * (2 + 4 + 100 + 16)
    assert b.stats["opened"] == 0
    assert b.open(wire, NOW).payload == bytes(range(100))  # the genuine one still opens


def test_cross_room_and_cross_stream_rejected(pki: Pki) -> None:
    r = Room(pki, ["a", "b"])
    r.publish(["a", "b"], NOW)
    r.exchange(["a", "b"], NOW)
    a, b = r.sessions["a"], r.sessions["b"]
    # The same members with the same keys in another room: AAD binds the room id.
    other = GroupSession(b"chamber-2", b.me, [pki.root])
    other.roster = b.roster
    other.index = b.index
    other._keys = b._keys
    wire = a.seal(StreamType.VOICE, b"x" * 100, NOW)
    with pytest.raises(PacketDropped) as e:
        other.open(wire, NOW)
    assert e.value.reason == "auth"
    # Relabelling a voice frame as a pose frame breaks the AAD too.
    moved = bytes(Packet(StreamType.POSE, Packet.parse(wire).body))
    with pytest.raises(PacketDropped) as e:
        b.open(moved, NOW)
    assert e.value.reason == "auth"
    assert b.open(wire, NOW).payload == b"x" * 100


def test_forged_gesture_rejected(room: Room) -> None:
    """Carol holds Alice's sender key (she must, to hear her) and seals a gesture as Alice."""
    alice, bob, carol = (room.sessions[n] for n in ABC)
    ia = room.indices["alice"]
    genuine = alice.seal(StreamType.GESTURE, b"nod", NOW)
    assert Packet.parse(genuine).stream_type == StreamType.EVENT  # the kind is not on the wire
    assert bob.open(genuine, NOW) == (ia, StreamType.GESTURE, b"nod")
    alice_key = carol._keys.by_kid[_split(genuine)[0].kid]
    meta = ROOM + bytes([StreamType.EVENT])
    assert bob.roster is not None
    bind = {"epoch": bob.roster.version, "roster_hash": epoch_hash(bob.roster), "generation": alice_key.generation,
            "time_ms": int(NOW * 1000)}

    def forge(event: bytes, ctr: int) -> bytes:
        return bytes((1, StreamType.EVENT)) + alice_key.key.encrypt(ctr, meta, event)

    # 1. An event signed by Carol but claiming to be Alice's.
    fake = SignedEvent.create(ROOM, ia, StreamType.GESTURE, b"walk out", carol.me.signing_key, seq=99, **bind)
    with pytest.raises(PacketDropped) as e:
        bob.open(forge(bytes(fake), 10), NOW)
    assert e.value.reason == "bad_event"
    # 2. Carol's own signed event smuggled under Alice's key.
    own = SignedEvent.create(ROOM, room.indices["carol"], StreamType.GESTURE, b"walk out", carol.me.signing_key,
                             seq=99, **bind)
    with pytest.raises(PacketDropped) as e:
        bob.open(forge(bytes(own), 11), NOW)
    assert e.value.reason == "bad_event"
    # 3. Alice's genuine signed event re-sealed under a fresh counter (replay of a vote or gesture).
    inner = alice_key.key.decrypt(*_split(genuine), meta)
    with pytest.raises(PacketDropped) as e:
        bob.open(forge(inner, 12), NOW)
    assert e.value.reason == "event_replay"
    # 4. Alice's event with its body swapped.
    ev = SignedEvent.parse(inner)
    swapped = SignedEvent(ev.sender, ev.stream_type, ev.epoch, ev.roster_hash, ev.generation, ev.seq + 1, ev.time_ms,
                          b"walk out", ev.signature)
    with pytest.raises(PacketDropped):
        bob.open(forge(bytes(swapped), 13), NOW)
    # 5. Alice's event with its kind changed from a gesture to a vote.
    kind = SignedEvent(ev.sender, StreamType.VOTE, ev.epoch, ev.roster_hash, ev.generation, ev.seq + 1, ev.time_ms,
                       ev.body, ev.signature)
    with pytest.raises(PacketDropped) as e:
        bob.open(forge(bytes(kind), 14), NOW)
    assert e.value.reason == "bad_event"
    # 6. An event with the kind in the clear (the old wire format) is not accepted.
    with pytest.raises(PacketDropped) as e:
        bob.open(bytes((1, StreamType.GESTURE)) + alice_key.key.encrypt(15, ROOM + bytes([StreamType.GESTURE]), inner), NOW)
    assert e.value.reason == "malformed"
    assert bob.stats["opened"] == 1


def _split(wire: bytes) -> tuple[SFrameHeader, bytes, bytes]:
    body = Packet.parse(wire).body
    hdr, n = SFrameHeader.decode(body)
    return hdr, body[:n], body[n:]


def test_forged_media_detected_by_frame_signature(room: Room) -> None:
    alice, bob, carol = (room.sessions[n] for n in ABC)
    frames = [alice.seal(StreamType.VOICE, b"v%d" % i, NOW) for i in range(5)]
    hdr, _, _ = _split(frames[4])
    key = carol._keys.by_kid[hdr.kid]
    # Carol injects her own audio as Alice, with the counter Alice used for frame 4.
    forged = bytes((1, StreamType.VOICE)) + key.key.encrypt(4, ROOM + bytes([StreamType.VOICE]), b"forged audio")
    for f in frames[:4]:
        bob.open(f, NOW)
    assert bob.open(forged, NOW).payload == b"forged audio"  # media plays before its signature...
    with pytest.raises(PacketDropped):
        bob.open(frames[4], NOW)  # ...and Alice's real frame 4 is now a replay
    for p in alice.outgoing(NOW + 0.2):  # the signature batch is due after 100 ms
        bob.open(p, NOW + 0.2)
    assert bob.stats["forged"] == 1 and bob.frames_verified == 4
    assert [(a.sender, a.counters) for a in bob.alerts] == [(room.indices["alice"], (4,))]


def test_signatures_are_amortised(room: Room) -> None:
    alice, bob = room.sessions["alice"], room.sessions["bob"]
    burst = [alice.seal(StreamType.VOICE, b"voice", NOW) for i in range(96)]
    sigs = alice.outgoing(NOW)
    assert len(sigs) == 3  # a burst: one signature per 32 frames
    paced = [alice.seal(StreamType.POSE, b"pose", NOW + i / 90) for i in range(1, 91)]
    sigs += alice.outgoing(NOW + 1.2)  # the last batch is due 100 ms after its first frame
    assert 3 + 8 <= len(sigs) <= 3 + 11  # 90 Hz pose: about one signature per 100 ms
    for w in burst + paced + sigs:
        bob.open(w, NOW + 2)
    assert bob.frames_verified == 186 and bob.stats["forged"] == 0


def test_verification_code_same_on_three_clients_and_changes(pki: Pki) -> None:
    room = Room(pki, ABC + ["dan"])
    room.publish(ABC, NOW)
    with pytest.raises(CryptoError, match="waiting for the keys"):
        room.sessions["alice"].verification_code()
    room.exchange(ABC, NOW)
    codes = {n: room.sessions[n].verification_code() for n in ABC}
    assert len(set(codes.values())) == 1
    code = codes["alice"]
    assert len(code) == 35 and [len(g) for g in code.split()] == [5] * 6 and code.replace(" ", "").isdigit()
    # A periodic rotation keeps the code (same roster version).
    for n in ABC:
        room.sessions[n].seal(StreamType.VOICE, b"x", NOW + 901)
    room.exchange(ABC, NOW + 901)
    assert {room.sessions[n].verification_code() for n in ABC} == {code}
    # Dan joins: everybody's code changes, and is the same on all four.
    room.publish(ABC + ["dan"], NOW + 902)
    room.exchange(ABC + ["dan"], NOW + 902)
    new = {room.sessions[n].verification_code() for n in ABC + ["dan"]}
    assert len(new) == 1 and code not in new


def test_removed_member_decrypts_nothing_after_rekey(room: Room) -> None:
    carol = room.sessions["carol"]
    before = room.sessions["alice"].seal(StreamType.VOICE, b"before", NOW)
    assert carol.open(before, NOW).payload == b"before"
    roster = room.publish(["alice", "bob"], NOW + 1)
    # Carol keeps her old keys, sees the new roster and takes every packet off the wire.
    carol.install_roster(roster, NOW + 1)
    assert carol.index is None
    for n in ("alice", "bob"):
        for p in room.sessions[n].outgoing(NOW + 1):
            for who in ("alice", "bob"):
                if who != n:
                    room.sessions[who].open(p, NOW + 1)
            if Packet.parse(p).stream_type == StreamType.KEYS:
                with pytest.raises(PacketDropped):
                    carol.open(p, NOW + 1)
    opened = 0
    for i in range(200):
        for n in ("alice", "bob"):
            wire = room.sessions[n].seal(StreamType.VOICE if i % 2 else StreamType.VOTE, b"after %d" % i, NOW + 1 + i / 50)
            other = room.sessions["bob" if n == "alice" else "alice"]
            assert other.open(wire, NOW + 1 + i / 50).payload == b"after %d" % i
            try:
                carol.open(wire, NOW + 1 + i / 50)
                opened += 1
            except CryptoError:
                pass
    assert opened == 0


def test_new_member_decrypts_nothing_from_before_it_joined(room: Room) -> None:
    recorded = [room.sessions[n].seal(s, b"secret %d" % i, NOW + i / 50)
                for i in range(100) for n in ABC for s in (StreamType.VOICE, StreamType.FLOOR)]
    dan = room.add_session("dan")
    room.publish(ABC + ["dan"], NOW + 3)
    room.exchange(ABC + ["dan"], NOW + 3)
    opened = 0
    for w in recorded:
        try:
            dan.open(w, NOW + 3)
            opened += 1
        except CryptoError:
            pass
    assert opened == 0 and dan.stats["unknown_key"] == len(recorded)
    # ...but from now on Dan hears everybody.
    for n in ABC:
        assert dan.open(room.sessions[n].seal(StreamType.VOICE, b"welcome", NOW + 4), NOW + 4).payload == b"welcome"


def test_generation_rotates_on_join_leave_and_every_15_minutes(room: Room) -> None:
    a = room.sessions["alice"]
    g0 = a.generation
    a.seal(StreamType.VOICE, b"x", NOW + 899)
    assert a.generation == g0
    a.outgoing(NOW + 900)
    assert a.generation == g0 + 1
    room.publish(["alice", "bob"], NOW + 901)
    assert a.generation == g0 + 2
    wire = a.seal(StreamType.VOICE, b"x", NOW + 902)
    assert split_kid(SFrameHeader.decode(Packet.parse(wire).body)[0].kid) == (room.indices["alice"], (g0 + 2) & GEN_MASK)


def test_rekey_policy() -> None:
    p = RekeyPolicy(interval_s=900)
    assert p.due(0, 0)
    p.mark(0, 0)
    assert not p.due(899.9, 0)
    assert p.due(900, 0)
    assert p.due(1, 1)  # join or leave
    p.mark(1, 1)
    assert not p.due(2, 1)


def test_old_generation_works_for_grace_period_only(room: Room) -> None:
    a, b = room.sessions["alice"], room.sessions["bob"]
    late = [a.seal(StreamType.VOICE, b"in flight", NOW) for _ in range(2)]
    room.exchange(ABC, NOW + 900)  # Alice rotates; Bob gets generation 1
    assert b.open(late[0], NOW + 901).payload == b"in flight"  # generation 0, within 5 s
    new = a.seal(StreamType.VOICE, b"new gen", NOW + 901)
    assert b.open(new, NOW + 901).payload == b"new gen"
    with pytest.raises(PacketDropped) as e:
        b.open(late[1], NOW + 906)  # generation 0 is gone after the grace period
    assert e.value.reason == "unknown_key"


def test_roster_rejections_counted(room: Room, pki: Pki) -> None:
    b = room.sessions["bob"]
    with pytest.raises(PacketDropped) as e:
        b.open(b"\x01\x80" + b"\x00" * 10, NOW)
    assert e.value.reason == "malformed"
    with pytest.raises(PacketDropped) as e:
        b.open(b"garbage", NOW)
    assert e.value.reason == "malformed"
    # A key distribution packet replayed is stale.
    r2 = Room(pki, ["p", "q"])
    r2.publish(["p", "q"], NOW)
    assert r2.sessions["p"].outgoing(NOW)
    with pytest.raises(CryptoError):
        r2.sessions["p"].seal(StreamType.KEYS, b"", NOW)


def test_keys_arriving_before_the_roster_are_kept(pki: Pki) -> None:
    r = Room(pki, ["a", "b"])
    r.publish(["a", "b"], NOW)
    r.exchange(["a", "b"], NOW)
    c = r.add_session("c")
    entries = [r.sessions[n].roster_entry(r.indices[n], "delegate") for n in ("a", "b", "c")]
    from vrdiplomacy.crypto.roster import Roster

    new = Roster.create(ROOM, entries, r.chair_key, r.chair_cert, int(NOW + 1), r.roster)
    r.sessions["a"].install_roster(new, NOW + 1)
    r.sessions["c"].install_roster(new, NOW + 1)
    kd = r.sessions["a"].outgoing(NOW + 1)
    with pytest.raises(PacketDropped) as e:
        r.sessions["b"].open(kd[0], NOW + 1)  # b has not seen the new roster yet
    assert e.value.reason == "early_keys"
    c.open(kd[0], NOW + 1)
    r.sessions["b"].install_roster(new, NOW + 1)
    assert r.sessions["b"].open(r.sessions["a"].seal(StreamType.VOICE, b"ok", NOW + 1), NOW + 1).payload == b"ok"
    assert c.open(r.sessions["a"].seal(StreamType.VOICE, b"ok", NOW + 1), NOW + 1).payload == b"ok"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=200), stream=st.sampled_from(list(StreamType)))
def test_fuzz_open(room: Room, data: bytes, stream: StreamType) -> None:
    b = room.sessions["bob"]
    for wire in (data, bytes((1, stream)) + data):
        try:
            b.open(wire, NOW)
        except (CryptoError, ProtocolError):
            pass


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pos=st.integers(0, 10_000), value=st.integers(0, 255), cut=st.integers(0, 10_000), kind=st.integers(0, 2))
def test_fuzz_open_mutated_packets(room: Room, pos: int, value: int, cut: int, kind: int) -> None:
    a, b = room.sessions["alice"], room.sessions["bob"]
    samples = [
        a.seal(StreamType.VOICE, b"v" * 80, NOW),
        a.seal(StreamType.VOTE, b"yes", NOW),
        *room.sessions["carol"].outgoing(NOW + 5),
    ]
    a._rotate(NOW)
    samples += a.outgoing(NOW)
    for s in samples:
        m = bytearray(s)
        if kind == 0:
            m[pos % len(m)] = value
        elif kind == 1:
            del m[cut % len(m):]
        else:
            m.insert(pos % len(m), value)
        try:
            b.open(bytes(m), NOW)
        except (CryptoError, ProtocolError):
            pass


def test_identity_needed(pki: Pki) -> None:
    key, cert = pki.issue("Stranger", "DE", "delegate")
    s = GroupSession(ROOM, LocalIdentity(cert, key), [pki.root])
    with pytest.raises(CryptoError, match="not a member"):
        s.seal(StreamType.VOICE, b"x", NOW)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pos=st.integers(0, 100_000), value=st.integers(0, 255), cut=st.integers(0, 100_000), kind=st.integers(0, 2))
def test_fuzz_install_roster(room: Room, pos: int, value: int, cut: int, kind: int) -> None:
    """Mutated rosters (including their embedded DER certificates) are rejected with CryptoError."""
    assert room.roster is not None
    m = bytearray(bytes(room.roster))
    if kind == 0:
        m[pos % len(m)] ^= value or 1
    elif kind == 1:
        del m[cut % len(m):]
    else:
        m.insert(pos % len(m), value)
    fresh = GroupSession(ROOM, room.sessions["bob"].me, [room.pki.root])
    with pytest.raises(CryptoError):
        fresh.install_roster(bytes(m), NOW)


def test_event_binding_checks(room: Room) -> None:
    """Events Alice really signed, but bound to the wrong epoch, roster, key generation or time."""
    alice, bob = room.sessions["alice"], room.sessions["bob"]
    ia = room.indices["alice"]
    assert bob.open(alice.seal(StreamType.VOICE, b"hi", NOW), NOW).payload == b"hi"
    key = bob._keys.by_kid[alice._send.key.kid]  # type: ignore[union-attr]
    assert bob.roster is not None
    good = {"epoch": bob.roster.version, "roster_hash": epoch_hash(bob.roster), "generation": key.generation,
            "time_ms": int(NOW * 1000)}
    ctr = [100]

    def send(seq: int, now: float = NOW, kind: StreamType = StreamType.VOTE, **change: object) -> str | bytes:
        ev = SignedEvent.create(ROOM, ia, kind, b"yes", alice.me.signing_key, seq=seq, **{**good, **change})  # type: ignore[arg-type]
        ctr[0] += 1
        wire = bytes((1, StreamType.EVENT)) + key.key.encrypt(ctr[0], ROOM + bytes([StreamType.EVENT]), ev.padded(256))
        try:
            return bob.open(wire, now).payload
        except PacketDropped as e:
            return e.reason

    assert send(1, epoch=good["epoch"] + 1) == "stale_event"
    assert send(2, roster_hash=bytes(32)) == "stale_event"
    assert send(3, generation=key.generation + 1) == "stale_event"
    assert send(4, time_ms=int((NOW - 61) * 1000)) == "stale_event"
    assert send(5, time_ms=int((NOW + 61) * 1000)) == "future_event"
    assert send(6, kind=StreamType.VOICE) == "bad_event"  # not an event kind
    assert send(7) == b"yes"
    assert send(7) == "event_replay"  # the same event under a fresh counter
    assert send(8, NOW + 59) == b"yes"  # 59 s old is still fine
