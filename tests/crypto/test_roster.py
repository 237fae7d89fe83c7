"""Signed, hash-chained rosters."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vrdiplomacy.crypto.hpke_dist import KemKeyPair, KemSuite
from vrdiplomacy.crypto.roster import Roster, RosterEntry, verify_roster
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
    vr = verify_roster(r1, [pki.root], NOW, verify_roster(r0, [pki.root], NOW))  # as the client does, one by one
    assert vr.version == 1 and sorted(vr.members) == [0, 1]
    assert vr.signer.role == "chair" and vr.members[0].identity.name == "A"
    assert Roster.parse(bytes(r1)) == r1 and r1.prev_hash == r0.transcript_hash()
    assert (r1.epoch, r1.authority, r1.next_authority) == (1, r0.authority, r0.authority)


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


# ---------------------------------------------------------------- authority, epochs, freshness


def _fp(cert: object) -> bytes:
    from vrdiplomacy.crypto.identity import cert_der
    from vrdiplomacy.crypto.roster import cert_fingerprint

    return cert_fingerprint(cert_der(cert))  # type: ignore[arg-type]


def test_pinned_authority_and_named_successor(pki: Pki, parts: dict[str, object]) -> None:
    k, c = parts["chair"]  # type: ignore[misc]
    entries = list(parts["entries"])  # type: ignore[call-overload]
    hk, hc = pki.issue("Reception", "FR", "host")
    r0 = _roster(parts)
    with pytest.raises(CryptoError, match="not the room authority"):
        verify_roster(r0, [pki.root], NOW, authority=_fp(hc))
    v0 = verify_roster(r0, [pki.root], NOW, authority=_fp(c))
    # another chair/host certificate from the same trusted root may not sign the next epoch
    with pytest.raises(CryptoError, match="not the room authority"):
        verify_roster(Roster.create(ROOM, entries, hk, hc, NOW, r0), [pki.root], NOW, v0)
    # the authority names the host its successor; then only the host signs
    host_entry = RosterEntry.create(ROOM, 9, "delegate", hc, hk, KemKeyPair.generate(KemSuite.X25519))
    r1 = Roster.create(ROOM, [*entries, host_entry], k, c, NOW, r0, next_authority=_fp(hc))
    v1 = verify_roster(r1, [pki.root], NOW, v0)
    assert v1.next_authority == _fp(hc)
    with pytest.raises(CryptoError, match="not the room authority"):
        verify_roster(Roster.create(ROOM, entries, k, c, NOW, r1), [pki.root], NOW, v1)
    host_chair = dataclasses.replace(host_entry, role="host")
    r2 = Roster.create(ROOM, [*entries, host_chair], hk, hc, NOW, r1)
    assert verify_roster(r2, [pki.root], NOW, v1).signer.name == "Reception"
    # a successor must be a chair/host member
    with pytest.raises(CryptoError, match="successor"):
        verify_roster(Roster.create(ROOM, entries, k, c, NOW, r0, next_authority=_fp(c)[::-1]), [pki.root], NOW, v0)


def test_roles_never_exceed_the_certificate(pki: Pki, parts: dict[str, object]) -> None:
    k, c = parts["chair"]  # type: ignore[misc]
    entries = list(parts["entries"])  # type: ignore[call-overload]
    for role in ("head", "chair"):
        bumped = dataclasses.replace(entries[0], role=role)
        with pytest.raises(CryptoError, match="certificate says delegate|not the room authority"):
            verify_roster(_roster(parts, [bumped, *entries[1:]]), [pki.root], NOW)
    ok = dataclasses.replace(entries[0], role="observer")  # lower is fine
    assert verify_roster(_roster(parts, [ok, *entries[1:]]), [pki.root], NOW).members[0].role == "observer"
    from vrdiplomacy.crypto.roster import room_role

    assert room_role("head", "observer") == "observer" and room_role("observer", "chair") == "observer"
    assert room_role("chair") == "delegate" and room_role("chair", authority=True) == "chair"


def test_freshness_reissue_and_split(pki: Pki, parts: dict[str, object]) -> None:
    k, c = parts["chair"]  # type: ignore[misc]
    r0 = Roster.create(ROOM, parts["entries"], k, c, NOW, lifetime_s=60)  # type: ignore[arg-type]
    v0 = verify_roster(r0, [pki.root], NOW + 30)
    with pytest.raises(CryptoError, match="stale roster"):
        verify_roster(r0, [pki.root], NOW + 61)
    with pytest.raises(CryptoError, match="future"):
        verify_roster(r0, [pki.root], NOW - 600)
    with pytest.raises(CryptoError, match="lifetime"):
        verify_roster(Roster.create(ROOM, parts["entries"], k, c, NOW, lifetime_s=7200), [pki.root], NOW)  # type: ignore[arg-type]
    beat = r0.reissue(k, NOW + 40, 60)
    v = verify_roster(beat, [pki.root], NOW + 90, v0)
    assert v.epoch == 0 and v.transcript_hash() == v0.transcript_hash() and v.expires_at == NOW + 100
    with pytest.raises(CryptoError, match="not newer"):
        verify_roster(r0, [pki.root], NOW + 30, v)
    # the same epoch with other members: two rosters for one epoch
    other = Roster.create(ROOM, parts["entries"][:1], k, c, NOW + 41, lifetime_s=60)  # type: ignore[index]
    with pytest.raises(CryptoError, match="split"):
        verify_roster(other, [pki.root], NOW + 42, v)


def test_kem_suite_is_the_groups(pki: Pki, parts: dict[str, object]) -> None:
    entries = list(parts["entries"])  # type: ignore[call-overload]
    k, c = parts["chair"]  # type: ignore[misc]
    with pytest.raises(CryptoError, match="the room uses MLKEM768_X25519"):
        verify_roster(Roster.create(ROOM, entries, k, c, NOW, kem_suite=KemSuite.MLKEM768_X25519), [pki.root], NOW)


def test_sealed_roster_and_entry(pki: Pki, parts: dict[str, object]) -> None:
    from vrdiplomacy.crypto.roster_seal import AuthorityKey, SealedEntry, SealedRoster

    k, c = parts["chair"]  # type: ignore[misc]
    kems = [KemKeyPair.generate(KemSuite.X25519) for _ in range(2)]
    people = [pki.issue(n, "FR", "delegate") for n in ("Alice", "Bob")]
    entries = [RosterEntry.create(ROOM, i, "delegate", cert, key, kem) for i, ((key, cert), kem) in enumerate(zip(people, kems))]
    r = Roster.create(ROOM, entries, k, c, NOW)
    env = SealedRoster.parse(bytes(SealedRoster.seal(r, k)))
    env.verify(c.public_key())
    wire = bytes(env)
    assert b"Alice" not in wire and b"delegate" not in wire and c.public_bytes(__import__("cryptography.hazmat.primitives.serialization", fromlist=["Encoding"]).Encoding.DER) not in wire
    for kem in kems:
        assert env.open({kem.public_bytes(): kem}) == r
    outsider = KemKeyPair.generate(KemSuite.X25519)
    with pytest.raises(CryptoError, match="no copy"):
        env.open({outsider.public_bytes(): outsider})
    bad = bytearray(wire)
    bad[-70] ^= 1
    with pytest.raises(CryptoError):
        SealedRoster.parse(bytes(bad)).verify(c.public_key())
    # admission: only the authority's admission key opens the entry
    adm = KemKeyPair.generate(KemSuite.X25519)
    from vrdiplomacy.crypto.identity import cert_der

    ak = AuthorityKey.parse(bytes(AuthorityKey.create(ROOM, KemSuite.X25519, adm, cert_der(c), k, NOW)))
    assert ak.verify([pki.root], NOW, ROOM, _fp(c)).name == "Chair"
    with pytest.raises(CryptoError, match="not the room authority"):
        ak.verify([pki.root], NOW, ROOM, bytes(32))
    se = SealedEntry.parse(bytes(SealedEntry.seal(entries[0], ak)))
    assert b"Alice" not in bytes(se)
    assert se.open(adm, ROOM, _fp(c)) == entries[0]
    with pytest.raises(CryptoError):
        se.open(KemKeyPair.generate(KemSuite.X25519), ROOM, _fp(c))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400), kind=st.integers(0, 5))
def test_fuzz_roster_channel_messages(data: bytes, kind: int) -> None:
    """Whatever arrives on the roster channel parses or raises ProtocolError; nothing else."""
    from vrdiplomacy.crypto.roster_seal import AuthorityKey, SealedEntry, SealedRoster, Succession
    from vrdiplomacy.errors import ProtocolError

    msg = bytes([kind]) + data
    for parse in (SealedRoster.parse, AuthorityKey.parse, SealedEntry.parse, Succession.parse, Roster.parse):
        try:
            parse(msg)
        except ProtocolError:
            pass
