"""A relay replays a member's old admission request (its sealed roster entry) after the member
replaced its HPKE key: the room authority must not roll the member back to the key it gave up.

Fails on main 94bf7c4: the old entry was taken as one more key update, so the next roster listed
the old key again. Epoch keys were then sealed to a key the member had deleted (it could no longer
read the room), and every member saw its roster entry change: the malicious-relay test's
"not verified: Italy" after replayed events came from this.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from group_helpers import NOW, ROOM, Ministry, session  # noqa: E402

from vrdiplomacy.crypto.hpke_dist import KemKeyPair, KemSuite
from vrdiplomacy.crypto.identity import cert_der, verify_certificate
from vrdiplomacy.crypto.roster import RosterEntry
from vrdiplomacy.crypto.roster_seal import AuthorityKey, SealedEntry
from vrdiplomacy.crypto.session import GroupSession, LocalIdentity
from vrdiplomacy.net.secure_chair import RoomAuthority


def _room() -> tuple[RoomAuthority, GroupSession, AuthorityKey, GroupSession]:
    fr = Ministry("Ministere des Affaires etrangeres", "FR")
    roots = [fr.root]
    ck, cc = fr.issue("Chair", "CH", "chair")
    chair = GroupSession(ROOM, LocalIdentity(cc, ck, KemKeyPair.generate(KemSuite.X25519)), roots)
    sent: list[bytes] = []

    def install(r: object) -> None:
        if chair.roster is None or chair.roster.hash() != r.hash():  # type: ignore[attr-defined]
            chair.install_roster(r, r.issued_at)  # type: ignore[arg-type,attr-defined]

    auth = RoomAuthority(ROOM, chair.me, verify_certificate(cc, roots, NOW), roots, chair, sent.append, install,
                         lambda _m: None)
    auth.start(1, NOW)
    alice = session(fr, roots, "Alice", "FR", suite=KemSuite.X25519)
    return auth, chair, AuthorityKey.parse(sent[0]), alice


def _key_of(chair: GroupSession, member: GroupSession) -> bytes:
    """The HPKE key the chair's installed roster lists for ``member``."""
    assert chair.roster is not None
    (e,) = [e for e in chair.roster.roster.entries if e.cert_der == cert_der(member.me.certificate)]
    return e.kem_public


def test_an_old_admission_request_replayed_after_a_key_update_changes_nothing() -> None:
    auth, chair, ak, alice = _room()
    me = alice.me
    old = bytes(SealedEntry.seal(alice.roster_entry(0, "head"), ak))
    auth.on_entry(2, old, NOW)
    assert chair.roster is not None and chair.roster.version == 1
    k1 = me.kem.public_bytes()
    k2_pair = KemKeyPair.generate(KemSuite.X25519)
    update = RosterEntry.create(ROOM, 0, "head", me.certificate, me.signing_key, k2_pair)
    auth.on_entry(2, bytes(SealedEntry.seal(update, ak)), NOW + 60)  # Alice's periodic key update
    auth.publish(NOW + 61, force=True)
    assert _key_of(chair, alice) == k2_pair.public_bytes() != k1
    version = chair.roster.version

    auth.on_entry(7, old, NOW + 120)  # the relay replays the first request, under another client id
    auth.publish(NOW + 121)
    assert _key_of(chair, alice) == k2_pair.public_bytes(), "the roster went back to the key Alice gave up"
    assert auth.stats["entry_replayed"] == 1
    assert chair.roster.version == version  # nothing changed, so nothing was published
    key = me.signing_key.public_key().public_bytes_raw()
    assert auth.admitted[key].client_id == 2  # Alice's own connection, not the relay's pick

    # Alice's next genuine update is still taken
    k3 = RosterEntry.create(ROOM, 0, "head", me.certificate, me.signing_key, KemKeyPair.generate(KemSuite.X25519))
    auth.on_entry(2, bytes(SealedEntry.seal(k3, ak)), NOW + 180)
    auth.publish(NOW + 181, force=True)
    assert _key_of(chair, alice) == k3.kem_public


def test_a_repeated_current_request_from_a_reconnected_member_is_still_served() -> None:
    """The guard must not refuse a member that asks again with its current key (it reconnected and
    missed the roster): the authority re-sends the roster to it."""
    auth, chair, ak, alice = _room()
    req = bytes(SealedEntry.seal(alice.roster_entry(0, "head"), ak))
    auth.on_entry(2, req, NOW)
    assert chair.roster is not None
    v = chair.roster.version
    auth.on_entry(5, req, NOW + 30)  # back under a new relay handle, same key
    assert auth.stats["entry_replayed"] == 0
    key = alice.me.signing_key.public_key().public_bytes_raw()
    assert auth.admitted[key].client_id == 5
    assert chair.roster.version >= v
