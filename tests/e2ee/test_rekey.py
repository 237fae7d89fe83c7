"""Periodic rekeying over the relay (the 15-minute interval shortened): new generations reach
every member and speech keeps flowing across them."""

from __future__ import annotations

import asyncio

from vrdiplomacy.crypto.session import SessionConfig
from vrdiplomacy.net import wire
from vrdiplomacy.net.relay_server import EmbeddedRelay
from vrdiplomacy.net.secure import KeysChanged, SecureSettings

from harness import Pki, codes_agree, member, until


def test_periodic_rekey_keeps_speech_flowing_and_code_stable() -> None:
    async def main() -> None:
        pki = Pki()
        fast = SecureSettings(session=SessionConfig(rekey_interval_s=0.4), kem_update_s=0)  # sender keys only
        async with EmbeddedRelay() as relay:
            async with member(relay, pki.root, pki.identity("Chair", "chair", "CH"), "chair", "s0", settings=fast) as ch, \
                    member(relay, pki.root, pki.identity("France", "head"), "fr", "s1", settings=fast) as fr:
                await until(lambda: codes_agree([ch, fr]), 10, "keyed")
                await until(lambda: fr.client.core.media_ready, 5, "media")
                code = fr.secure.code
                gen0 = fr.secure.session.generation
                frames = [b"rekey-frame-%04d" % i for i in range(100)]
                for f in frames:  # 2 s at 50 Hz: about 5 rotations
                    fr.client.send_voice(wire.level_byte(-20, True), f)
                    await asyncio.sleep(0.02)
                await asyncio.sleep(0.3)
                assert fr.secure.session.generation - gen0 >= 3
                gens = [e.generation for e in ch.other if isinstance(e, KeysChanged) and e.name == "France"]
                assert len(gens) >= 4 and gens == sorted(gens)
                assert fr.secure.code == ch.secure.code == code  # the code follows the roster, not the rotation
                assert len(set(ch.voice) & set(frames)) >= 90, ch.secure.drop_counts()

    asyncio.run(main())


def test_key_updates_heal_a_compromised_device_and_old_keys_are_deleted() -> None:
    """Post-compromise security and forward secrecy, sans-I/O: an attacker who copied Alice's HPKE
    private key reads the sender keys sealed to her until her next key update is in a roster; after
    it, not any more; and Alice's client no longer holds the old private key or old epoch keys."""
    from vrdiplomacy.crypto.hpke_dist import KemKeyPair, KemSuite, KeyDistribution
    from vrdiplomacy.crypto.identity import create_delegation_request, create_ministry_root, issue_delegation
    from vrdiplomacy.crypto.packet import Packet, StreamType
    from vrdiplomacy.crypto.roster import Roster
    from vrdiplomacy.crypto.session import GroupSession, LocalIdentity
    from vrdiplomacy.errors import CryptoError

    now = 1_750_000_000.0
    rk, root = create_ministry_root("Ministry", "FR", now - 10)

    def ident(name: str, role: str) -> LocalIdentity:
        k, csr = create_delegation_request(name, "FR")
        return LocalIdentity(issue_delegation(csr, rk, root, role, now - 5), k, KemKeyPair.generate(KemSuite.X25519))

    chair = ident("Chair", "chair")
    alice, bob = GroupSession(b"r", ident("Alice", "head"), [root]), GroupSession(b"r", ident("Bob", "head"), [root])
    stolen = KemKeyPair.from_private_bytes(KemSuite.X25519, alice.me.kem.private_bytes())  # the compromise

    def publish(entries: list, t: float, prev: Roster | None) -> Roster:  # type: ignore[type-arg]
        r = Roster.create(b"r", entries, chair.signing_key, chair.certificate, t, prev)
        for s in (alice, bob):
            s.install_roster(r, t)
        return r

    def bobs_key(t: float) -> KeyDistribution:
        return [KeyDistribution.parse(Packet.parse(p).body) for p in bob.outgoing(t) if p[1] == StreamType.KEYS][-1]

    def opens(kd: KeyDistribution, kem: KemKeyPair) -> bool:
        try:
            kd.open_for(0, kem)
            return True
        except CryptoError:
            return False

    r0 = publish([alice.roster_entry(0, "head"), bob.roster_entry(1, "head")], now, None)
    assert opens(bobs_key(now), stolen)  # compromised: the attacker reads Bob's sender key
    update = alice.update_kem()
    assert update.kem_public != stolen.public_bytes()
    r1 = publish([update, bob.roster_entry(1, "head")], now + 1, r0)
    kd1 = bobs_key(now + 1)
    assert r1.version == 1 and kd1.roster_version == 1 and opens(kd1, alice.me.kem)
    assert not opens(kd1, stolen)  # healed: Bob's new epoch key is sealed to Alice's new key
    assert list(alice.kem_keys) == [update.kem_public]  # the old private key is gone
    assert all(k.roster_version == 1 or k.retire_at is not None for k in alice._keys.by_kid.values())
    alice.outgoing(now + 10)  # past the grace period: epoch-0 receive keys are deleted
    assert all(k.roster_version == 1 for k in alice._keys.by_kid.values())


def test_periodic_key_updates_over_the_relay_are_committed_in_one_epoch() -> None:
    """Members replace their HPKE keys every ``kem_update_s``; the authority commits the updates
    together; codes agree and speech flows across the update."""
    from vrdiplomacy.net.secure_chair import AuthoritySettings

    async def main() -> None:
        pki = Pki()
        s = SecureSettings(kem_update_s=1.5, authority=AuthoritySettings(commit_delay_s=0.5))
        async with EmbeddedRelay() as relay:
            async with member(relay, pki.root, pki.identity("Chair", "chair", "CH"), "chair", "s0", settings=s) as ch, \
                    member(relay, pki.root, pki.identity("France", "head"), "fr", "s1", settings=s) as fr, \
                    member(relay, pki.root, pki.identity("Japan", "head", "JP"), "jp", "s2", settings=s) as jp:
                three = [ch, fr, jp]
                await until(lambda: codes_agree(three), 10, "keyed")
                await until(lambda: fr.client.core.media_ready and jp.client.core.media_ready, 5, "media")
                keys = {m.name: m.secure.me.kem.public_bytes() for m in three}
                v = fr.secure.roster.version  # type: ignore[union-attr]
                await until(lambda: all(m.secure.me.kem.public_bytes() != keys[m.name] for m in three)
                            and codes_agree(three), 6, "everybody's new HPKE key in a roster")
                v2 = fr.secure.roster.version  # type: ignore[union-attr]
                assert v < v2 <= v + 3, (v, v2)  # committed in few epochs, not one per member
                assert all(len(m.secure.session.kem_keys) <= 2 for m in three)
                frames = [b"after-update-%02d" % i for i in range(30)]
                for f in frames:
                    fr.client.send_voice(wire.level_byte(-20, True), f)
                    await asyncio.sleep(0.01)
                await until(lambda: len(set(jp.voice) & set(frames)) >= 27, 5, "Japan hears France")

    asyncio.run(main())
