"""HPKE sealing of sender keys (cryptography's RFC 9180 implementation) and signed envelopes."""

from __future__ import annotations

import dataclasses
import os

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from vrdiplomacy.crypto.hpke_dist import KemKeyPair, KemSuite, KeyDistribution, SealedKey, hybrid_available
from vrdiplomacy.errors import CryptoError


@pytest.mark.parametrize("suite", list(KemSuite))
def test_distribution_round_trip(suite: KemSuite) -> None:
    if suite == KemSuite.MLKEM768_X25519 and not hybrid_available():
        pytest.skip("the installed OpenSSL has no ML-KEM-768")
    sender = ed25519.Ed25519PrivateKey.generate()
    kems = {i: KemKeyPair.generate(suite) for i in (1, 2, 3)}
    base = os.urandom(32)
    kd = KeyDistribution.create(b"room", 4, 0, 7, 4, base, {i: (suite, k.public_bytes()) for i, k in kems.items()}, sender)
    kd = KeyDistribution.parse(bytes(kd))
    kd.verify(sender.public_key())
    for i, k in kems.items():
        assert kd.open_for(i, k) == base
    # A recipient cannot open another's copy; a tampered copy fails; a forged commitment fails.
    with pytest.raises(CryptoError):
        dataclasses.replace(kd, keys=(SealedKey(1, kd.keys[1].sealed),)).open_for(1, kems[1])
    flipped = bytearray(kd.keys[0].sealed)
    flipped[-1] ^= 1
    with pytest.raises(CryptoError):
        dataclasses.replace(kd, keys=(SealedKey(1, bytes(flipped)),)).open_for(1, kems[1])
    with pytest.raises(CryptoError):
        dataclasses.replace(kd, commitment=bytes(32)).open_for(1, kems[1])
    with pytest.raises(CryptoError):
        dataclasses.replace(kd, generation=8).verify(sender.public_key())
    with pytest.raises(CryptoError):
        kd.open_for(9, kems[1])
    restored = KemKeyPair.from_private_bytes(suite, kems[2].private_bytes())
    assert restored.public_bytes() == kems[2].public_bytes() and kd.open_for(2, restored) == base


def test_hybrid_is_default_when_available() -> None:
    from vrdiplomacy.crypto.hpke_dist import default_kem_suite

    expected = KemSuite.MLKEM768_X25519 if hybrid_available() else KemSuite.X25519
    assert default_kem_suite() == expected
    assert len(KemKeyPair.generate(expected).public_bytes()) == (1184 + 32 if hybrid_available() else 32)
