"""Finding 2 (authority half): nothing pinned who may sign the roster. A foreign ministry's
reception desk (a ``host`` certificate from another trusted root) published the next roster with a
fake "France" as chair; it decrypted Alice's voice, all codes still agreed, and the real chair's
next roster was rejected (the room split).

Now only the room authority signs rosters: the one pinned when the room was created (``authority=``,
from the invitation), or, without a pin, the signer of the first roster the client accepted; a
successor only when the authority named it in a roster it signed.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import pytest

from vrdiplomacy.crypto.hpke_dist import KemKeyPair, KemSuite
from vrdiplomacy.crypto.identity import fingerprint
from vrdiplomacy.crypto.packet import StreamType
from vrdiplomacy.crypto.roster import RosterEntry
from vrdiplomacy.errors import CryptoError

sys.path.insert(0, str(Path(__file__).parent))
from group_helpers import NOW, ROOM, Ministry, entry, hears, pump, session, sign  # noqa: E402


def _room() -> tuple[Ministry, Ministry, list, object, object, list]:  # type: ignore[type-arg]
    fr, jp = Ministry("Ministere des Affaires etrangeres", "FR"), Ministry("Ministry of Foreign Affairs", "JP")
    roots = [fr.root, jp.root]
    chair = fr.issue("Chair", "CH", "chair")
    alice = session(fr, roots, "Alice", "FR")
    bob = session(jp, roots, "Bob", "JP")
    return fr, jp, roots, chair, alice, [alice, bob]


def test_foreign_reception_desk_cannot_publish_the_next_roster() -> None:
    """fails on main 3e2635d: the desk's roster is installed, the fake France receives Alice's key
    and opens her voice, and the real chair's next roster is then rejected."""
    fr, jp, roots, (ck, cc), alice, members = _room()
    bob = members[1]
    r0 = sign(ck, cc, [entry(s, i, "head") for i, s in enumerate(members)], NOW)
    for s in members:
        s.install_roster(r0, NOW)
    pump(members, NOW)
    code = alice.verification_code()
    assert code == bob.verification_code()

    # Japan's reception desk: a host certificate, valid under a trusted root.
    dk, dc = jp.issue("Reception desk", "JP", "host")
    fake = session(jp, roots, "France", "FR", role="chair")
    forged = sign(dk, dc, [*r0.entries, entry(fake, 7, "chair")], NOW + 1, r0)
    for s in members:
        with pytest.raises(CryptoError, match="not the room authority"):
            s.install_roster(forged, NOW + 1)
        assert s.roster is not None and s.roster.version == 0  # nothing changed
    with pytest.raises(CryptoError):  # not even the impostor's own client accepts it
        fake.install_roster(forged, NOW + 1)
    pump([alice, bob, fake], NOW + 2)
    assert not hears(fake, alice, NOW + 2, b"Alice speaks")
    assert alice.verification_code() == bob.verification_code() == code

    # the real chair's next roster is accepted everywhere: no split
    r1 = sign(ck, cc, [entry(s, i, "head") for i, s in enumerate(members)], NOW + 3, r0)
    for s in members:
        assert s.install_roster(r1, NOW + 3).version == 1
    pump(members, NOW + 3)
    assert alice.verification_code() == bob.verification_code() != code
    assert hears(bob, alice, NOW + 4)


def test_pinned_authority_refuses_another_chair_from_the_first_roster() -> None:
    """fails on main 3e2635d (no room authority: any chair certificate's roster was the room)."""
    fr, jp, roots, (ck, cc), _, _ = _room()
    ak, ac = jp.issue("Other chair", "JP", "chair")
    s = session(fr, roots, "Alice", "FR", authority=fingerprint(cc))
    with pytest.raises(CryptoError, match="not the room authority"):
        s.install_roster(sign(ak, ac, [entry(s, 0, "head")], NOW), NOW)
    assert s.roster is None
    assert s.install_roster(sign(ck, cc, [entry(s, 0, "head")], NOW), NOW).signer.name == "Chair"


def test_succession_only_by_the_authoritys_word() -> None:
    """fails on main 3e2635d (no successor is named: any chair signs)."""
    fr, jp, roots, (ck, cc), alice, members = _room()
    hk, hc = jp.issue("Vice-chair", "JP", "host")
    vice = RosterEntry.create(ROOM, 5, "delegate", hc, hk, KemKeyPair.generate(KemSuite.X25519))
    ents = [entry(s, i, "head") for i, s in enumerate(members)]
    r0 = sign(ck, cc, [*ents, vice], NOW)
    alice.install_roster(r0, NOW)
    with pytest.raises(CryptoError, match="not the room authority"):  # the vice-chair is not named yet
        alice.install_roster(sign(hk, hc, [*ents, vice], NOW + 1, r0), NOW + 1)
    from vrdiplomacy.crypto.roster import Roster, cert_fingerprint
    from vrdiplomacy.crypto.identity import cert_der

    r1 = Roster.create(ROOM, [*ents, vice], ck, cc, NOW + 2, r0, next_authority=cert_fingerprint(cert_der(hc)))
    assert alice.install_roster(r1, NOW + 2).version == 1
    with pytest.raises(CryptoError, match="not the room authority"):  # the old chair stepped down
        alice.install_roster(sign(ck, cc, ents, NOW + 3, r1), NOW + 3)
    r2 = sign(hk, hc, ents, NOW + 4, r1)
    assert alice.install_roster(r2, NOW + 4).signer.name == "Vice-chair"


def test_over_the_relay_a_members_forged_roster_raises_an_alert_and_changes_nothing() -> None:
    """fails on main 3e2635d: every member installed the desk's roster (no alert) and the codes
    still agreed, with the fake France inside."""
    from harness import Pki, codes_agree, member, until

    from vrdiplomacy.crypto.roster import Roster
    from vrdiplomacy.crypto.roster_seal import SealedRoster
    from vrdiplomacy.net.relay_server import EmbeddedRelay
    from vrdiplomacy.net.secure import SecurityAlert
    from vrdiplomacy.net.secure_wire import Kind, split_message

    async def main() -> None:
        pki = Pki()
        chair = pki.identity("Chair", "chair", "CH")
        pin = fingerprint(chair.certificate)
        async with EmbeddedRelay() as relay:
            async with member(relay, pki.root, chair, "chair", "s0", authority=pin) as ch, \
                    member(relay, pki.root, pki.identity("Alice", "head"), "fr", "s1", authority=pin) as al, \
                    member(relay, pki.root, pki.identity("Desk", "host", "JP"), "desk", "s2", authority=pin) as desk:
                three = [ch, al, desk]
                await until(lambda: codes_agree(three), 15, "keyed")
                assert not desk.secure.is_chair and desk.secure.roster.members[2].role == "delegate"  # type: ignore[union-attr]
                code = al.secure.code
                vr = desk.secure.roster
                assert vr is not None
                fake = pki.identity("France", "chair", "FR")
                fe = RosterEntry.create(b"chamber", 9, "chair", fake.certificate, fake.signing_key, fake.kem)
                forged = Roster.create(b"chamber", [*vr.roster.entries, fe], desk.secure.me.signing_key,
                                       desk.secure.me.certificate, time.time(), vr.roster, kem_suite=vr.kem_suite)
                env = SealedRoster.seal(forged, desk.secure.me.signing_key)
                for part in split_message(Kind.ROSTER, 999, bytes(env)):
                    desk.client.send_control(part)
                await until(lambda: any(isinstance(e, SecurityAlert) and "not the room authority" in e.message
                                        for e in al.other), 5, "Alice's alert")
                assert any(isinstance(e, SecurityAlert) and "not the room authority" in e.message for e in ch.other)
                assert al.secure.roster.version == vr.version and al.secure.code == code  # type: ignore[union-attr]
                # the real chair goes on: a new member is admitted, everybody follows
                async with member(relay, pki.root, pki.identity("Bob", "head", "DE"), "de", "s3", authority=pin) as bob:
                    await until(lambda: codes_agree([*three, bob]), 15, "Bob admitted by the real chair")
                    assert al.secure.code != code

    asyncio.run(main())


def test_over_the_relay_the_authority_hands_over_to_a_named_successor() -> None:
    """fails on main 3e2635d (no hand-over: a second chair's rosters split the room)."""
    from harness import Pki, codes_agree, member, until

    from vrdiplomacy.net.relay_server import EmbeddedRelay

    async def main() -> None:
        pki = Pki()
        chair = pki.identity("Chair", "chair", "CH")
        pin = fingerprint(chair.certificate)
        async with EmbeddedRelay() as relay:
            async with member(relay, pki.root, chair, "chair", "s0", authority=pin) as ch, \
                    member(relay, pki.root, pki.identity("Vice", "host", "CH"), "vice", "s1", authority=pin) as vice, \
                    member(relay, pki.root, pki.identity("Alice", "head"), "fr", "s2", authority=pin) as al:
                three = [ch, vice, al]
                await until(lambda: codes_agree(three), 15, "keyed")
                v = al.secure.roster.version  # type: ignore[union-attr]
                with pytest.raises(CryptoError, match="only the room authority"):
                    al.secure.expel("Chair")
                assert ch.secure.hand_over("Vice")
                await until(lambda: vice.secure.is_chair and codes_agree(three) and al.secure.roster.version >= v + 2, 10,  # type: ignore[union-attr]
                            "the vice-chair's first epoch")
                r = al.secure.roster
                assert r is not None and r.signer.name == "Vice" and not ch.secure.is_chair
                assert {m.identity.name: m.role for m in r.members.values()} == {"Chair": "delegate", "Vice": "host", "Alice": "head"}
                with pytest.raises(CryptoError, match="only the room authority"):
                    ch.secure.expel("Alice")
                async with member(relay, pki.root, pki.identity("Bob", "head", "DE"), "de", "s3", authority=pin) as bob:
                    await until(lambda: codes_agree([*three, bob]), 15, "Bob admitted by the successor")
                    assert bob.secure.roster.signer.name == "Vice"  # type: ignore[union-attr]

    asyncio.run(main())


def test_garbage_and_tampered_roster_messages_only_raise_alerts() -> None:
    """A relay injecting roster-channel garbage, or a flipped bit in a genuine sealed roster:
    a counted rejection with an alert, never an exception out of the client."""
    import random

    from harness import Pki

    from vrdiplomacy.crypto.roster_seal import SealedRoster
    from vrdiplomacy.net.secure import SecureRoom, SecurityAlert

    pki = Pki()
    chair_id = pki.identity("Chair", "chair", "CH")
    alice = SecureRoom("chamber", pki.identity("Alice", "head"), [pki.root], authority=fingerprint(chair_id.certificate))
    r = _roster_for(alice, chair_id)
    good = bytes(SealedRoster.seal(r, chair_id.signing_key))
    rng = random.Random(12)
    for i in range(300):
        if i % 2:
            msg = bytes([rng.randrange(6)]) + bytes(rng.randrange(256) for _ in range(rng.randrange(200)))
        else:
            b = bytearray(good)
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
            msg = bytes(b)
        alice._on_roster(msg)  # must not raise
    assert alice.stats["roster_rejected"] > 100
    assert any(isinstance(e, SecurityAlert) for e in alice.events)
    alice._on_roster(good)
    assert alice.member and alice.roster is not None and alice.roster.version == 0


def _roster_for(room: object, chair: object) -> object:
    from vrdiplomacy.crypto.roster import Roster

    s = room.session  # type: ignore[attr-defined]
    return Roster.create(s.room_id, [s.roster_entry(0, "head")], chair.signing_key, chair.certificate, time.time())  # type: ignore[attr-defined]
