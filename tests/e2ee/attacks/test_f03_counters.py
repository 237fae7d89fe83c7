"""Finding 3: a member forges another member's media with a counter near 2^40.

Every member holds every sender's key (it must, to hear them), so Carol can seal frames as Alice.
On main 3e2635d receivers accepted any higher counter: Carol's frame at 2^40 - 5 played, moved
Alice's replay window to the top, Alice's real frames were then dropped as too old (she was
muted), and no alert was raised because her signature batches never covered that counter.
These tests fail on main 3e2635d (except the false-positive guard at the end, which passes there too).
"""

from __future__ import annotations

import asyncio
import random

import pytest

from vrdiplomacy.crypto.keys import MAX_CTR
from vrdiplomacy.crypto.packet import StreamType
from vrdiplomacy.crypto.session import PacketDropped
from vrdiplomacy.net import wire
from vrdiplomacy.net.relay_server import EmbeddedRelay
from vrdiplomacy.net.secure import SecurityAlert

from attacks.frames_helpers import NOW, Room, forge, header
from harness import Pki, codes_agree, inject_voice, member, until

ABC = ["alice", "bob", "carol"]


@pytest.fixture()
def room() -> Room:
    r = Room(ABC)
    r.publish(ABC, NOW)
    r.exchange(ABC, NOW)
    return r


def _speak(room: Room, who: str, to: str, n: int, t0: float, hz: float = 50.0) -> float:
    """``who`` sends ``n`` voice frames to ``to`` at ``hz`` (with its signatures); returns the end time."""
    s, r = room.sessions[who], room.sessions[to]
    t = t0
    for i in range(n):
        t = t0 + i / hz
        assert r.open(s.seal(StreamType.VOICE, b"%s says %d" % (who.encode(), i), t), t).payload.startswith(who.encode())
        for p in s.outgoing(t):
            r.open(p, t)
    return t


@pytest.mark.parametrize("ctr", [MAX_CTR - 4, MAX_CTR + 5, 1 << 63])
def test_counter_near_or_above_2_40_is_refused_with_an_alert(room: Room, ctr: int) -> None:
    alice, bob, carol = (room.sessions[n] for n in ABC)
    ia = room.indices["alice"]
    t = _speak(room, "alice", "bob", 10, NOW)
    fake = forge(carol, ia, ctr, b"forged: France withdraws")
    with pytest.raises(PacketDropped) as e:
        bob.open(fake, t)  # main 3e2635d: accepted and played
    assert e.value.reason in ("counter_jump", "counter_cap")
    # the alert names Alice's key and the impossible counter, at once
    assert [(a.sender, a.counters) for a in bob.alerts] == [(ia, (ctr,))]
    assert bob.alerts[0].reason == ("counter_cap" if ctr > MAX_CTR else "counter_jump")
    # Alice's real frames still open: the forged counter did not move her replay window
    real = alice.seal(StreamType.VOICE, b"alice, after the forgery", t + 0.02)
    assert bob.open(real, t + 0.02).payload == b"alice, after the forgery"
    assert header(real)[0].ctr < 20


def test_forged_frame_ahead_of_the_sender_is_alerted_within_the_deadline(room: Room) -> None:
    """A smaller jump is accepted (a relay may hold frames back), but Alice's signatures never
    cover it: the alert comes within the 2 s deadline, while Alice keeps talking."""
    alice, bob, carol = (room.sessions[n] for n in ABC)
    ia = room.indices["alice"]
    t = _speak(room, "alice", "bob", 10, NOW)
    ahead = header(alice.seal(StreamType.VOICE, b"x", t))[0].ctr + 500
    assert bob.open(forge(carol, ia, ahead, b"forged, plausible counter"), t).payload == b"forged, plausible counter"
    end = _speak(room, "alice", "bob", 150, t + 0.02)  # 3 s of Alice at 50 Hz: never reaches +500
    assert end - t > 2.5
    assert [(a.sender, a.counters, a.reason) for a in bob.alerts] == [(ia, (ahead,), "unsigned")]
    assert bob.frames_verified >= 150  # no honest frame was taken for a forgery


def test_gap_of_a_held_back_sender_is_no_forgery(room: Room) -> None:
    """Alice's frames do not reach Bob for a minute (a relay routes by interest); her next one is
    accepted and signed, without an alert. (Passes on main 3e2635d too: a guard against false alerts.)"""
    alice, bob = room.sessions["alice"], room.sessions["bob"]
    t = _speak(room, "alice", "bob", 5, NOW)
    for i in range(3000):  # 60 s at 50 Hz, none delivered
        alice.seal(StreamType.VOICE, b"unheard", t + i / 50)
    t2 = t + 60
    assert bob.open(alice.seal(StreamType.VOICE, b"back", t2), t2).payload == b"back"
    for p in alice.outgoing(t2 + 0.2):
        bob.open(p, t2 + 0.2)
    assert bob.alerts == [] and bob.stats["forged"] == 0


LEVEL = wire.level_byte(-15, True)


def test_forged_voice_over_the_relay_raises_a_visible_alert_and_france_stays_audible() -> None:
    """Italy seals voice under France's key at 2^40 - 5 and has the relay deliver it to Germany:
    Germany never plays it, shows a security alert naming France's key, and keeps hearing France."""

    async def main() -> None:
        pki = Pki()
        async with EmbeddedRelay() as relay, \
                member(relay, pki.root, pki.identity("Chair", "chair", "CH"), "chair", "s0") as ch, \
                member(relay, pki.root, pki.identity("France", "head"), "fr", "s1") as fr, \
                member(relay, pki.root, pki.identity("Germany", "head", "DE"), "de", "s2") as de, \
                member(relay, pki.root, pki.identity("Italy", "head", "IT"), "it", "s3") as it:
            await until(lambda: codes_agree([ch, fr, de, it]), 15, "4 members keyed")
            await until(lambda: all(m.client.core.media_ready for m in (ch, fr, de, it)), 5, "media")
            for i in range(500):  # until Germany hears France (the media paths settle first)
                assert fr.client.send_voice(LEVEL, b"fr-before-%d" % i)
                await asyncio.sleep(0.01)
                if len(de.voice) >= 5:
                    break
            assert len(de.voice) >= 5, "France was never heard"
            fidx = fr.secure.session.index
            assert fidx is not None
            fake = forge_on(it, fidx, MAX_CTR - 4, b"forged: France withdraws its delegation")
            inject_voice(relay, de.client.client_id, fr.client.client_id, fake)
            await until(lambda: any(isinstance(e, SecurityAlert) for e in de.other), 5, "Germany's alert")
            alert = [e for e in de.other if isinstance(e, SecurityAlert)][0]
            assert "France" in alert.message and "forged" in alert.message
            after = [b"fr-after-%d-%d" % (i, random.randrange(1 << 30)) for i in range(20)]
            for f in after:
                assert fr.client.send_voice(LEVEL, f)
                await asyncio.sleep(0.01)
            await until(lambda: len([v for v in de.voice if v in after]) >= 18, 5, "France heard after the forgery",
                        lambda: f"{de.secure.drop_counts()}")
            assert b"forged: France withdraws its delegation" not in de.voice

    asyncio.run(main())


def forge_on(m: object, victim: int, ctr: int, payload: bytes) -> bytes:
    return forge(m.secure.session, victim, ctr, payload)  # type: ignore[attr-defined]
