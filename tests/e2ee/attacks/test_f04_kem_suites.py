"""Finding 4: one member stopped every rekey by publishing an X25519-only key among hybrid
ML-KEM members; the session's state changed before the error (the roster was installed, the
generation advanced), so every later rekey failed too.

Now the roster names the group's KEM suite; a roster whose members disagree with it does not
verify and changes nothing, and the room authority refuses such a member at admission without
touching the group's state.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from vrdiplomacy.crypto.hpke_dist import KemSuite, hybrid_available
from vrdiplomacy.errors import CryptoError

sys.path.insert(0, str(Path(__file__).parent))
from group_helpers import NOW, Ministry, entry, hears, pump, session, sign  # noqa: E402

pytestmark = pytest.mark.skipif(not hybrid_available(), reason="the installed OpenSSL has no ML-KEM-768")
H = KemSuite.MLKEM768_X25519


def _state(s: object) -> tuple[object, ...]:
    return (s.roster.version, s.roster.hash(), s.generation, s.index, s._send)  # type: ignore[attr-defined]


def test_a_x25519_member_among_hybrid_members_changes_nothing_and_rekeys_go_on() -> None:
    """fails on main 3e2635d: the mixed roster is installed, then the rekey raises; the session
    is left with the new roster and no send key, and every later seal raises."""
    fr = Ministry("Ministere des Affaires etrangeres", "FR")
    roots = [fr.root]
    ck, cc = fr.issue("Chair", "CH", "chair")
    a, b = session(fr, roots, "Alice", "FR", suite=H), session(fr, roots, "Bob", "DE", suite=H)
    mallory = session(fr, roots, "Mallory", "XX", suite=KemSuite.X25519)
    r0 = sign(ck, cc, [entry(a, 0, "head"), entry(b, 1, "head")], NOW)
    for s in (a, b):
        s.install_roster(r0, NOW)
    pump([a, b], NOW)
    assert hears(b, a, NOW)
    before = _state(a)

    mixed = sign(ck, cc, [entry(a, 0, "head"), entry(b, 1, "head"), entry(mallory, 2, "head")], NOW + 1, r0)
    with pytest.raises(CryptoError, match="KEM suite"):
        a.install_roster(mixed, NOW + 1)
    assert _state(a) == before, "the failed roster changed the session"
    # rekeys keep working: a periodic rotation, then the chair's next (honest) roster
    assert hears(b, a, NOW + 901, b"after the 15-minute rotation")
    assert a.generation == before[2] + 1
    r1 = sign(ck, cc, [entry(a, 0, "head"), entry(b, 1, "head")], NOW + 902, r0)
    for s in (a, b):
        s.install_roster(r1, NOW + 902)
    pump([a, b], NOW + 902)
    assert hears(b, a, NOW + 903, b"new epoch") and hears(a, b, NOW + 903, b"both ways")
    assert a.verification_code() == b.verification_code()


def test_the_authority_refuses_the_member_at_admission_over_the_relay() -> None:
    """fails on main 3e2635d: the chair admitted the X25519 member; its own rekey then raised, so
    the roster never went out and no one could be keyed again."""
    from harness import Pki, codes_agree, member, until

    from vrdiplomacy.crypto.hpke_dist import KemKeyPair
    from vrdiplomacy.crypto.roster import RosterEntry
    from vrdiplomacy.crypto.roster_seal import SealedEntry
    from vrdiplomacy.net import wire
    from vrdiplomacy.net.relay_server import EmbeddedRelay
    from vrdiplomacy.net.secure import SecurityAlert
    from vrdiplomacy.net.secure_wire import Kind, split_message

    async def main() -> None:
        pki = Pki()
        async with EmbeddedRelay() as relay:
            async with member(relay, pki.root, pki.identity("Chair", "chair", "CH"), "chair", "s0") as ch, \
                    member(relay, pki.root, pki.identity("France", "head"), "fr", "s1") as fr, \
                    member(relay, pki.root, pki.identity("Mallory", "head", "XX"), "mal", "s2") as mal:
                await until(lambda: codes_agree([ch, fr, mal]), 15, "keyed")
                chair = ch.secure.chair
                assert chair is not None and chair.group_suite == H
                vr = ch.secure.roster
                assert vr is not None
                state = (vr.hash(), dict(chair.admitted), ch.secure.session.generation, ch.secure.code)
                # Mallory asks to be listed with an X25519-only key
                me = mal.secure.me
                x = RosterEntry.create(b"chamber", 0, "head", me.certificate, me.signing_key, KemKeyPair.generate(KemSuite.X25519))
                ak = mal.secure._authority_key
                assert ak is not None
                for part in split_message(Kind.ENTRY, 777, bytes(SealedEntry.seal(x, ak))):
                    mal.client.send_control(part)
                await until(lambda: any(isinstance(e, SecurityAlert) and "KEM suite X25519" in e.message for e in ch.other),
                            5, "the chair's refusal")
                await asyncio.sleep(0.2)
                assert ch.secure.roster is not None and ch.secure.roster.hash() == state[0]
                assert dict(chair.admitted) == state[1] and ch.secure.session.generation == state[2]
                assert ch.secure.code == state[3] == fr.secure.code
                # rekeys go on: a new member is admitted, everybody gets new keys, speech flows
                async with member(relay, pki.root, pki.identity("Germany", "head", "DE"), "de", "s3") as de:
                    await until(lambda: codes_agree([ch, fr, mal, de]), 15, "Germany admitted")
                    await until(lambda: de.client.core.media_ready and fr.client.core.media_ready, 5, "media")
                    for i in range(20):
                        fr.client.send_voice(wire.level_byte(-20, True), b"fr-%d" % i)
                        await asyncio.sleep(0.01)
                    await until(lambda: len(de.voice) >= 18, 5, "Germany hears France")

    asyncio.run(main())


def test_the_room_suite_is_negotiated_through_the_authority() -> None:
    """A client whose default is X25519 adopts the room's hybrid suite before asking to join."""
    from harness import Pki, codes_agree, member, until

    from vrdiplomacy.crypto.hpke_dist import KemKeyPair
    from vrdiplomacy.net.relay_server import EmbeddedRelay

    async def main() -> None:
        pki = Pki()
        old = pki.identity("Portugal", "head", "PT")
        old.kem = KemKeyPair.generate(KemSuite.X25519)
        async with EmbeddedRelay() as relay:
            async with member(relay, pki.root, pki.identity("Chair", "chair", "CH"), "chair", "s0") as ch, \
                    member(relay, pki.root, old, "pt", "s1") as pt:
                await until(lambda: codes_agree([ch, pt]), 15, "keyed")
                assert pt.secure.roster is not None and pt.secure.roster.kem_suite == H
                assert pt.secure.me.kem.suite == H
                assert len(pt.secure.me.kem.public_bytes()) == 1184 + 32

    asyncio.run(main())


def test_a_malformed_or_foreign_suite_key_is_refused_without_touching_the_group() -> None:
    """The authority's admission, sans-I/O: a correctly self-signed but truncated hybrid key, or
    an X25519 key, is refused with an alert; the roster, the members and the epoch stay as they
    were, and the next honest admission is a normal next epoch. fails on main 3e2635d (no
    admission check of the suite: the chair's next roster could not be keyed)."""
    from vrdiplomacy.crypto.identity import cert_der, verify_certificate
    from vrdiplomacy.crypto.roster import RosterEntry, kem_binding
    from vrdiplomacy.crypto.roster_seal import AuthorityKey, SealedEntry
    from vrdiplomacy.crypto.session import GroupSession, LocalIdentity
    from vrdiplomacy.crypto.hpke_dist import KemKeyPair
    from vrdiplomacy.net.secure_chair import RoomAuthority

    from group_helpers import ROOM

    fr = Ministry("Ministere des Affaires etrangeres", "FR")
    roots = [fr.root]
    ck, cc = fr.issue("Chair", "CH", "chair")
    chair = GroupSession(ROOM, LocalIdentity(cc, ck, KemKeyPair.generate(H)), roots)
    sent: list[bytes] = []
    alerts: list[str] = []

    def install(r: object) -> None:
        if chair.roster is None or chair.roster.hash() != r.hash():  # type: ignore[attr-defined]
            chair.install_roster(r, NOW)  # type: ignore[arg-type]

    auth = RoomAuthority(ROOM, chair.me, verify_certificate(cc, roots, NOW), roots, chair, sent.append, install, alerts.append)
    auth.start(1, NOW)
    ak = AuthorityKey.parse(sent[0])
    alice = session(fr, roots, "Alice", "FR", suite=H)
    auth.on_entry(2, bytes(SealedEntry.seal(alice.roster_entry(0, "head"), ak)), NOW)
    assert chair.roster is not None and chair.roster.version == 1
    state = (chair.roster.hash(), dict(auth.admitted), chair.generation)

    mk, mc = fr.issue("Mallory", "XX", "head")
    bad_pub = KemKeyPair.generate(H).public_bytes()[:-1]
    truncated = RosterEntry(0, "head", cert_der(mc), H, bad_pub, mk.sign(kem_binding(ROOM, H, bad_pub)))
    x = RosterEntry.create(ROOM, 0, "head", mc, mk, KemKeyPair.generate(KemSuite.X25519))
    for i, e in enumerate((truncated, x)):
        auth.on_entry(3 + i, bytes(SealedEntry.seal(e, ak)), NOW + 1)
        assert (chair.roster.hash(), dict(auth.admitted), chair.generation) == state
    assert "refused" in alerts[-2] and "KEM suite X25519" in alerts[-1]
    bob = session(fr, roots, "Bob", "DE", suite=H)
    auth.on_entry(5, bytes(SealedEntry.seal(bob.roster_entry(0, "head"), ak)), NOW + 2)
    assert chair.roster.version == 2 and sorted(m.identity.name for m in chair.roster.members.values()) == ["Alice", "Bob", "Chair"]
