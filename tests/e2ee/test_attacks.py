"""Attacks over the real relay on loopback with 4-5 clients: a malicious relay replaying,
bit-flipping, cross-posting and delaying frames; a member forging another's gesture; an expelled
member and a late joiner trying to read what is not theirs."""

from __future__ import annotations

import asyncio
import random

from vrdiplomacy.crypto.keys import make_kid
from vrdiplomacy.crypto.packet import StreamType
from vrdiplomacy.crypto.events import epoch_hash
from vrdiplomacy.crypto.signing import SignedEvent
from vrdiplomacy.net import wire
from vrdiplomacy.net.relay_server import EmbeddedRelay
from vrdiplomacy.net.secure import RosterChanged, SecurityAlert
from vrdiplomacy.net.secure_wire import Kind, split_message

from harness import Member, Pki, RelayTap, codes_agree, inject_event, inject_voice, member, until

LEVEL = wire.level_byte(-15, True)


async def speak(m: Member, n: int, tag: bytes, gap: float = 0.003) -> list[bytes]:
    frames = [tag + b"-frame-%04d-" % i + bytes(random.randrange(256) for _ in range(40)) for i in range(n)]
    for f in frames:
        assert m.client.send_voice(LEVEL, f)
        await asyncio.sleep(gap)
    return frames


def drops(m: Member) -> int:
    return sum(m.secure.drop_counts().values())


def test_malicious_relay_replay_bitflip_crossroom_and_stale_frames_are_all_dropped() -> None:
    async def main() -> None:
        pki = Pki()
        async with EmbeddedRelay() as relay:
            tap = RelayTap(relay)
            try:
                async with member(relay, pki.root, pki.identity("Chair", "chair", "CH"), "chair", "s0") as ch, \
                        member(relay, pki.root, pki.identity("France", "head"), "fr", "s1") as fr, \
                        member(relay, pki.root, pki.identity("Germany", "head", "DE"), "de", "s2") as de, \
                        member(relay, pki.root, pki.identity("Annex chair", "chair", "CH"), "ach", "a0", room="annex") as ach, \
                        member(relay, pki.root, pki.identity("Spain", "head", "ES"), "es", "a1", room="annex") as es:
                    await until(lambda: codes_agree([ch, fr, de]) and codes_agree([ach, es]), 15, "both rooms keyed")
                    await until(lambda: all(m.client.core.media_ready for m in (ch, fr, de, ach, es)), 5, "media")
                    # frames a delaying relay withholds, sealed by France now and delivered later
                    withheld = [fr.secure.seal("voice", b"withheld-%d" % i) for i in range(10)]
                    n = 300
                    sent = await speak(fr, n, b"fr")
                    await speak(es, 20, b"es", gap=0.02)  # real voice pacing
                    await until(lambda: len(de.voice) >= 0.95 * n and len(ach.voice) >= 19, 10, "voice delivered",
                                lambda: f"{len(de.voice)}/{n}, annex {len(ach.voice)}/20")
                    await asyncio.sleep(0.2)
                    got, dropped = len(de.voice), drops(de)
                    own = tap.voice_payloads(fr.client.client_id)
                    xroom = tap.voice_payloads(es.client.client_id)
                    assert len(own) >= 0.95 * n and len(xroom) >= 19  # what reached the relay (UDP)

                    # 1. replay every frame France sent, through the relay, to Germany
                    for p in own:
                        inject_voice(relay, de.client.client_id, fr.client.client_id, p)
                    await until(lambda: drops(de) >= dropped + len(own), 5, "replays dropped",
                                lambda: f"{de.secure.drop_counts()}")
                    c = de.secure.drop_counts()
                    # the newest 256 counters are in the window; older ones are refused as too old
                    assert c["replay"] + c["too_old"] == len(own) and c["replay"] <= 256 and c["too_old"] > 0
                    # 2. flip one random bit of each
                    rng = random.Random(7)
                    for p in own:
                        b = bytearray(p)
                        i = rng.randrange(2, len(b))  # past the packet version and stream type
                        b[i] ^= 1 << rng.randrange(8)
                        inject_voice(relay, de.client.client_id, fr.client.client_id, bytes(b))
                    # 3. cross-room: the annex's frames into the chamber
                    for p in xroom:
                        inject_voice(relay, de.client.client_id, fr.client.client_id, p)
                    # 4. too old: withheld frames, now far below the replay window
                    for p in withheld:
                        inject_voice(relay, de.client.client_id, fr.client.client_id, p)
                    total = 2 * len(own) + len(xroom) + len(withheld)
                    await until(lambda: drops(de) >= dropped + total, 5, "all injected frames dropped",
                                lambda: f"{drops(de) - dropped}/{total}: {de.secure.drop_counts()}")
                    await asyncio.sleep(0.2)
                    assert len(de.voice) == got, "an injected frame was played"
                    assert drops(de) - dropped == total
                    assert de.client.payload_rejected >= total
                    c = de.secure.drop_counts()
                    assert c["too_old"] >= len(withheld) + 1
                    assert set(de.voice) <= set(sent)
            finally:
                tap.close()

    asyncio.run(main())




def _forge(forger: Member, victim: Member, claim: int, signer_key: object, body: bytes, ahead: int) -> bytes:
    """A gesture frame sealed under ``victim``'s sender key, which every member holds, ``ahead``
    counters past the victim's newest frame."""
    s = forger.secure.session
    vidx = victim.secure.session.index
    assert vidx is not None and s.roster is not None
    gen = s.newest_generation(vidx)
    assert gen is not None
    key = s._keys.lookup(make_kid(vidx, gen), forger.secure.clock())
    assert key is not None
    ev = SignedEvent.create(s.room_id, claim, StreamType.GESTURE, body, signer_key,  # type: ignore[arg-type]
                            epoch=s.roster.version, roster_hash=epoch_hash(s.roster), generation=key.generation,
                            seq=1 << 30, time_ms=int(forger.secure.clock() * 1000))
    ctr = max(0, key.window.highest) + ahead
    wire_ = bytes((1, StreamType.EVENT)) + key.key.encrypt(ctr, s.room_id + bytes([StreamType.EVENT]), ev.padded(256))
    return split_message(Kind.PACKET, 4242, wire_)[0]


def test_forged_gesture_expelled_member_and_late_joiner() -> None:
    async def main() -> None:
        pki = Pki()
        async with EmbeddedRelay() as relay:
            tap = RelayTap(relay)
            try:
                async with member(relay, pki.root, pki.identity("Chair", "chair", "CH"), "chair", "s0") as ch, \
                        member(relay, pki.root, pki.identity("France", "head"), "fr", "s1") as fr, \
                        member(relay, pki.root, pki.identity("Germany", "head", "DE"), "de", "s2") as de, \
                        member(relay, pki.root, pki.identity("Italy", "head", "IT"), "it", "s3") as it:
                    four = [ch, fr, de, it]
                    await until(lambda: codes_agree(four), 15, "4 members keyed")
                    await until(lambda: all(m.client.core.media_ready for m in four), 5, "media")

                    # --- Italy forges France's gesture, two ways
                    fidx, iidx = fr.secure.session.index, it.secure.session.index
                    assert fidx is not None and iidx is not None
                    bad0 = de.secure.drop_counts().get("bad_event", 0)
                    it.client.send_control(_forge(it, fr, fidx, it.secure.me.signing_key, b"walk_out:France", 1000))
                    it.client.send_control(_forge(it, fr, iidx, it.secure.me.signing_key, b"walk_out:signed-by-italy", 1001))
                    it.client.send_event(b"raise_hand:italy", stream="gesture")
                    await until(lambda: any(e.payload == b"raise_hand:italy" for e in de.events), 5, "Italy's own gesture")
                    assert de.secure.drop_counts()["bad_event"] == bad0 + 2
                    assert ch.secure.drop_counts()["bad_event"] >= 2
                    assert not [e for e in de.events + ch.events + fr.events if e.payload.startswith(b"walk_out")]
                    hand = [e for e in de.events if e.payload == b"raise_hand:italy"][0]
                    assert (hand.stream, hand.verified_sender) == ("gesture", "Italy")

                    # --- the chair expels Italy; Italy stays connected to the relay
                    v = fr.secure.roster.version  # type: ignore[union-attr]
                    old_code = fr.secure.code
                    assert ch.secure.expel("Italy")
                    await until(lambda: codes_agree([ch, fr, de]) and fr.secure.roster.version == v + 1, 10,  # type: ignore[union-attr]
                                "the code of the room without Italy")
                    assert fr.secure.code != old_code
                    await until(lambda: not it.secure.member, 5, "Italy told it is out")
                    assert any(isinstance(e, RosterChanged) and not e.member for e in it.other)
                    assert any(isinstance(e, RosterChanged) and "Italy (IT), head" in e.removed for e in de.other)
                    assert not it.client.send_voice(LEVEL, b"italy is not a member any more")
                    it_voice, it_events, it_in = len(it.voice), len(it.events), it.client.core.counters.voice_in
                    sent = await speak(fr, 60, b"after-expel")
                    fr.client.send_event(b"raise_hand:france-after-expel", stream="gesture")
                    fr.client.send_event(b"The chair closes the item on fisheries.", stream="room")
                    await until(lambda: len([f for f in de.voice if f in sent]) >= 58 and len(de.events) >= 3, 10, "France heard")
                    await asyncio.sleep(0.3)
                    assert it.client.core.counters.voice_in - it_in >= 55, "the relay kept forwarding to Italy"
                    assert len(it.voice) == it_voice and len(it.events) == it_events, "Italy decrypted after being expelled"
                    # Italy asked to be let back in; the chair refused and said so
                    await until(lambda: any(isinstance(e, SecurityAlert) and "Italy" in e.message for e in ch.other), 5,
                                "the chair's refusal alert")
                    assert ch.secure.stats["entry_refused"] >= 1

                    # --- Portugal joins late: what was said before is not readable by it
                    pre_voice = tap.voice_payloads(fr.client.client_id)
                    pre_events = [p for c, p in tap.events if c == fr.client.client_id]
                    assert len(pre_voice) >= 60 and len(pre_events) >= 3
                    async with member(relay, pki.root, pki.identity("Portugal", "head", "PT"), "pt", "s4") as pt:
                        await until(lambda: codes_agree([ch, fr, de, pt]), 15, "Portugal keyed")
                        await until(lambda: pt.client.core.media_ready, 5, "Portugal's media")
                        for p in pre_voice:
                            inject_voice(relay, pt.client.client_id, fr.client.client_id, p)
                        for p in pre_events:
                            inject_event(relay, pt.client.client_id, fr.client.client_id, p)
                        await until(lambda: pt.client.core.counters.voice_in >= len(pre_voice), 5, "old frames at Portugal")
                        await asyncio.sleep(0.3)
                        assert pt.voice == [] and pt.events == [], "Portugal read frames from before it joined"
                        assert pt.client.payload_rejected >= len(pre_voice)
                        # and what is said now, it hears
                        now_sent = await speak(fr, 20, b"welcome-portugal")
                        fr.client.send_event(b"welcome:portugal", stream="room")
                        await until(lambda: len(pt.voice) >= 19 and len(pt.events) >= 1, 10, "Portugal hears France now")
                        assert set(pt.voice) <= set(now_sent)
                        assert pt.events[-1].verified_sender == "France"
            finally:
                tap.close()

    asyncio.run(main())
