"""Finding 8: a delegate whose app restarts is silently muted.

On main 3e2635d a restarted client numbered its key generations and event sequence numbers from
zero again; the others still held a newer generation of the same member and refused its keys as
stale, and refused its events as replays, without telling anyone. Generations are now ordered by
(roster version, generation) and start from the clock, and event sequence numbers are checked per
key generation, so a restarted member is heard at once while replays of its old frames, old
events and old key envelopes are still refused. Both restart tests fail on main 3e2635d.
"""

from __future__ import annotations

import asyncio

import pytest

from vrdiplomacy.crypto.packet import Packet, StreamType
from vrdiplomacy.crypto.session import LocalIdentity, PacketDropped
from vrdiplomacy.net import wire
from vrdiplomacy.net.relay_server import EmbeddedRelay

from attacks.frames_helpers import NOW, Room, forge, header, plaintext
from harness import Pki, RelayTap, codes_agree, inject_voice, member, until

ABC = ["alice", "bob", "carol"]


def _session_before_restart(room: Room) -> tuple[list[bytes], list[bytes], bytes]:
    """Alice talks and votes for a while (with a periodic rekey); returns her voice frames, her
    key envelopes and her vote, as a relay recorded them."""
    alice, bob, carol = (room.sessions[n] for n in ABC)
    voice, keys = [], []
    for i in range(100):
        t = NOW + i * 12  # 20 minutes: one periodic rekey on the way
        w = alice.seal(StreamType.VOICE, b"alice %d" % i, t)
        voice.append(w)
        for p in alice.outgoing(t):
            if Packet.parse(p).stream_type == StreamType.KEYS:
                keys.append(p)
            for who in (bob, carol):
                who.open(p, t)
        for who in (bob, carol):
            assert who.open(w, t).payload == b"alice %d" % i
    vote = alice.seal(StreamType.VOTE, b"vote: YES on resolution 12", NOW + 1200)
    assert bob.open(vote, NOW + 1200).payload == b"vote: YES on resolution 12"
    assert alice.stats["rekeys"] >= 2
    return voice, keys, vote


@pytest.mark.parametrize("keep_kem", [False, True], ids=["new-hpke-key-new-roster", "same-roster"])
def test_restarted_member_is_heard_at_once_and_its_old_frames_stay_refused(keep_kem: bool) -> None:
    room = Room(ABC)
    room.publish(ABC, NOW)
    room.exchange(ABC, NOW)
    voice, keys, vote = _session_before_restart(room)
    bob, carol = room.sessions["bob"], room.sessions["carol"]
    kept_vote = plaintext(carol, vote)  # Carol keeps Alice's signed vote

    t = NOW + 1230  # Alice's app crashed and came back 30 s later
    alice = room.restart("alice", keep_kem=keep_kem)
    if keep_kem:  # its roster entry is the same: the chair sends the same roster again
        assert room.roster is not None
        alice.install_roster(room.roster, t)
    else:  # a fresh HPKE key: the chair publishes a new roster version
        room.publish(ABC, t)
    room.exchange(ABC, t)
    hello = alice.seal(StreamType.VOICE, b"alice is back", t)
    assert bob.open(hello, t).payload == b"alice is back"  # main 3e2635d: unknown_key (muted)
    assert carol.open(alice.seal(StreamType.VOICE, b"alice is back", t), t).payload == b"alice is back"
    back = alice.seal(StreamType.VOTE, b"vote: NO on resolution 13", t + 1)
    assert bob.open(back, t + 1).payload == b"vote: NO on resolution 13"  # main 3e2635d: event_replay
    if not keep_kem:  # the app's case (a fresh HPKE key each start): one room code everywhere
        assert alice.verification_code() == bob.verification_code() == carol.verification_code()

    # what a relay recorded before the restart is still refused
    for w in voice + [vote]:
        with pytest.raises(PacketDropped):
            bob.open(w, t + 2)
    for k in keys:
        with pytest.raises(PacketDropped) as e:
            bob.open(k, t + 2)
        assert e.value.reason in ("stale_keys", "own")
    # and Carol cannot pass Alice's old vote off under her new key
    ia = room.indices["alice"]
    replay = forge(carol, ia, header(back)[0].ctr + 1, kept_vote, Packet.parse(back).stream_type)
    with pytest.raises(PacketDropped) as e:
        bob.open(replay, t + 2)
    assert e.value.reason in ("stale_event", "event_replay")
    assert bob.open(alice.seal(StreamType.VOICE, b"still heard", t + 3), t + 3).payload == b"still heard"


def test_delegate_whose_app_crashed_is_heard_again_over_the_relay() -> None:
    """France's app dies without leaving (the relay keeps its session as away) and starts again
    from scratch with the same certificate: Germany hears the new France at once; the voice the
    relay recorded before the crash, replayed to Germany, is not played again."""
    level = wire.level_byte(-15, True)

    async def main() -> None:
        pki = Pki()
        france = pki.identity("France", "head")
        async with EmbeddedRelay() as relay:
            tap = RelayTap(relay)
            try:
                async with member(relay, pki.root, pki.identity("Chair", "chair", "CH"), "chair", "s0") as ch, \
                        member(relay, pki.root, pki.identity("Germany", "head", "DE"), "de", "s2") as de:
                    async with member(relay, pki.root, france, "fr", "s1") as fr:
                        await until(lambda: codes_agree([ch, fr, de]), 15, "3 members keyed")
                        await until(lambda: fr.client.core.media_ready and de.client.core.media_ready, 5, "media")
                        for i in range(30):
                            assert fr.client.send_voice(level, b"before the crash %d" % i)
                            await asyncio.sleep(0.01)
                        await until(lambda: len(de.voice) >= 20, 5, "France heard")
                        old_voice = tap.voice_payloads(fr.client.client_id)
                        await fr.client.close(leave=False)  # the app dies: no goodbye
                    restarted = LocalIdentity(france.certificate, france.signing_key)  # a fresh HPKE key
                    async with member(relay, pki.root, restarted, "fr-again", "s3") as fr2:
                        await until(lambda: codes_agree([ch, fr2, de]), 15, "the restarted France keyed")
                        await until(lambda: fr2.client.core.media_ready, 5, "media")
                        heard = len(de.voice)
                        after = [b"after the restart %d" % i for i in range(30)]
                        for f in after:
                            assert fr2.client.send_voice(level, f)
                            await asyncio.sleep(0.01)
                        await until(lambda: len([v for v in de.voice if v in after]) >= 20, 5,  # main 3e2635d: none
                                    "Germany hears the restarted France", lambda: f"{de.secure.drop_counts()}")
                        assert de.secure.session.index is not None
                        for p in old_voice:
                            inject_voice(relay, de.client.client_id, fr2.client.client_id, p)
                        await asyncio.sleep(0.3)
                        # no frame is played twice (one the relay held back could still arrive late,
                        # within the old key's 5 s grace: never a second time)
                        old = [v for v in de.voice if v.startswith(b"before the crash")]
                        assert len(old) == len(set(old)) and len(de.voice) - heard >= 20
            finally:
                tap.close()

    asyncio.run(main())
