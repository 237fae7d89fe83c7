"""Signed, hash-chained rosters."""

from __future__ import annotations

import dataclasses

import pytest

from vrdiplomacy.crypto.hpke_dist import KemKeyPair, KemSuite
from vrdiplomacy.crypto.roster import Roster, RosterEntry, verify_roster, verify_roster_chain
from vrdiplomacy.errors import CryptoError

from .conftest import NOW, ROOM, Pki


def _entry(pki: Pki, index: int, name: str) -> RosterEntry:
    key, cert = pki.issue(name, "FR", "delegate")
    return RosterEntry.create(ROOM, index, "delegate", cert, key, KemKeyPair.generate(KemSuite.X25519))


@pytest.fixture(scope="module")
def parts(pki: Pki) -> dict[str, object]:
    chair_key, chair_cert = pki.issue("Chair", "CH", "chair")
    return {"chair": (chair_key, chair_cert), "entries": [_entry(pki, i, n) for i, n in enumerate(["A", "B", "C"])]}


def _roster(parts: dict[str, object], entries: list[RosterEntry] | None = None, previous: Roster | None = None) -> Roster:
    k, c = parts["chair"]  # type: ignore[misc]
    return Roster.create(ROOM, entries if entries is not None else parts["entries"], k, c, int(NOW), previous)  # type: ignore[arg-type]


def test_chain_accepted(pki: Pki, parts: dict[str, object]) -> None:
    r0 = _roster(parts)
    r1 = _roster(parts, parts["entries"][:2], r0)  # type: ignore[index]
    vr = verify_roster_chain([r0, r1], [pki.root], NOW)
    assert vr.version == 1 and sorted(vr.members) == [0, 1]
    assert vr.signer.role == "chair" and vr.members[0].identity.name == "A"
    assert Roster.parse(bytes(r1)) == r1 and r1.prev_hash == r0.hash()


def test_tampering_rejected(pki: Pki, parts: dict[str, object]) -> None:
    r0 = _roster(parts)
    entries = list(parts["entries"])  # type: ignore[call-overload]
    # An entry added after signing.
    with pytest.raises(CryptoError, match="signature"):
        verify_roster(dataclasses.replace(r0, entries=r0.entries[:2]), [pki.root], NOW)
    # Role changed after signing.
    bumped = dataclasses.replace(r0, entries=(dataclasses.replace(entries[0], role="chair"), *entries[1:]))
    with pytest.raises(CryptoError, match="signature"):
        verify_roster(bumped, [pki.root], NOW)
    # The chair swaps in an HPKE key that the member never signed.
    evil = dataclasses.replace(entries[1], kem_public=KemKeyPair.generate(KemSuite.X25519).public_bytes())
    with pytest.raises(CryptoError, match="not signed by its owner"):
        verify_roster(_roster(parts, [entries[0], evil]), [pki.root], NOW)
    # Broken hash chain, forked version, other room.
    r1 = _roster(parts, entries[:2], r0)
    v0 = verify_roster(r0, [pki.root], NOW)
    fork = _roster(parts, entries[:2], _roster(parts, entries[:1]))  # signed, but on another branch
    with pytest.raises(CryptoError, match="hash chain"):
        verify_roster(fork, [pki.root], NOW, v0)
    with pytest.raises(CryptoError, match="hash chain"):  # a skipped version
        verify_roster(_roster(parts, entries[:1], r1), [pki.root], NOW, v0)
    with pytest.raises(CryptoError, match="signature"):
        verify_roster(dataclasses.replace(r1, prev_hash=bytes(32)), [pki.root], NOW, v0)
    with pytest.raises(CryptoError, match="another room"):
        verify_roster(r0, [pki.root], NOW, room_id=b"elsewhere")
    # Expired member certificate.
    with pytest.raises(CryptoError, match="expired"):
        verify_roster(r0, [pki.root], NOW + 400 * 86400)


def test_only_chair_or_host_signs(pki: Pki, parts: dict[str, object]) -> None:
    k, c = pki.issue("Delegate", "FR", "delegate")
    r = Roster.create(ROOM, parts["entries"], k, c, int(NOW))  # type: ignore[arg-type]
    with pytest.raises(CryptoError, match="may not sign rosters"):
        verify_roster(r, [pki.root], NOW)
    hk, hc = pki.issue("Reception", "FR", "host")
    assert verify_roster(Roster.create(ROOM, parts["entries"], hk, hc, int(NOW)), [pki.root], NOW).signer.role == "host"  # type: ignore[arg-type]


def test_untrusted_member_rejected(pki: Pki, parts: dict[str, object]) -> None:
    from .conftest import Pki as P
    from vrdiplomacy.crypto.identity import create_ministry_root

    rogue = P(*create_ministry_root("Rogue", "XX", NOW, scope=["*"]))
    entries = [*parts["entries"], _entry(rogue, 7, "Spy")]  # type: ignore[misc]
    with pytest.raises(CryptoError, match="not a trusted root"):
        verify_roster(_roster(parts, entries), [pki.root], NOW)
    with pytest.raises(CryptoError, match="duplicate"):
        verify_roster(_roster(parts, [parts["entries"][0]] * 2), [pki.root], NOW)  # type: ignore[index]
