"""The byte formats of room invitations and reception passes, pinned: both are built on
:mod:`vrdiplomacy.crypto.signed_token`, and a change to that shared code must not move a byte of
either (an invitation or pass already issued must still parse and verify), nor change what a
holder is told about a malformed one.

The expected digests were computed with main 452f8cc, before the two kinds shared the code."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from vrdiplomacy.crypto import admission
from vrdiplomacy.crypto.admission import Invitation
from vrdiplomacy.errors import ProtocolError
from vrdiplomacy.reception import passes
from vrdiplomacy.reception.passes import ReceptionPass

KEY = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))  # Ed25519 signs deterministically
CERT = b"\x30\x03\x02\x01\x07"  # the carried certificate is not parsed to encode or decode
RELAY_FP = "AB:" * 31 + "CD"


def _signed(t: Any, label: bytes) -> Any:
    return type(t)(**{**t.__dict__, "signature": KEY.sign(label + t.signed_part()), "_cache": {}})


def _invitation() -> Invitation:
    return _signed(Invitation("Council", CERT, bytes(range(32, 64)), bytes(range(64, 96)), "Ana Lima", "PT",
                              "delegate", "A1", 1796601600, 1797206400, bytes(range(16))), admission.SIGN_LABEL)


def _pass() -> ReceptionPass:
    return _signed(ReceptionPass("Lounge", CERT, "Zoë Brandt", "guest", bytes(32), 1796601600, 1796644800,
                                 bytes(range(16, 32))), passes.SIGN_LABEL)


CASES = {
    "invitation": (_invitation, admission,
                   "3378265f6b65b3ca7fb92cb5cff47cc9993b9e2c2fea114978be34ae1f4dc5a6",
                   "b938da45e4216f5c7d551435023dd39f6c425264853eff6f6fa8c014a594c318",
                   "32511505aee57888e9be549f06246995ca68ce4c03a000d98e4eb761e7b16196"),
    "reception pass": (_pass, passes,
                       "f99af4329c45659700feebcf1571b33f098e89810adcac8f4d2e09e9a7779f0b",
                       "db1f588cf120073dc2cd775f8365325139fc9d0175545dba825c5d081a33a32e",
                       "651b60ef6558c7d81f4ffd1e1d47a8b1e371840909ec39bdc1722e1caaa3198d"),
}


@pytest.mark.parametrize("kind", CASES)
def test_bytes_armour_and_proof_message_are_unchanged(kind: str) -> None:
    make, mod, binary, armoured, proof = CASES[kind]
    t = make()
    assert hashlib.sha256(bytes(t)).hexdigest() == binary
    assert hashlib.sha256(t.armored()).hexdigest() == armoured
    assert hashlib.sha256(mod.proof_message(t, b"n" * 32, RELAY_FP)).hexdigest() == proof
    again = type(t).from_armored(t.armored())
    assert again == t and bytes(type(t).parse(bytes(t))) == bytes(t)


@pytest.mark.parametrize("kind", CASES)
def test_malformed_tokens_are_told_apart_by_kind(kind: str) -> None:
    make, mod, *_ = CASES[kind]
    cls, raw = type(make()), bytes(make())
    article = "an" if kind == "invitation" else "a"
    bad = {
        raw[:-1]: f"truncated {kind}",
        raw + b"\0": f"trailing bytes after the {kind}",
        b"X" + raw[1:]: f"not {article} {kind}",
        raw[:len(mod.MAGIC)] + b"\x02" + raw[len(mod.MAGIC) + 1:]: f"unsupported {kind} version",
        raw[:len(mod.MAGIC) + 1] + b"\x01\xff" + raw[len(mod.MAGIC) + 3:]: f"{kind} string is not UTF-8",
        b"x" * 5000: f"{kind} of 5000 bytes exceeds 4096",
    }
    for data, message in bad.items():
        with pytest.raises(ProtocolError) as e:
            cls.parse(data)
        assert str(e.value) == message
    with pytest.raises(ProtocolError, match=f"^{kind} armour is not base64$"):
        cls.from_armored(mod.FORMAT.pem_begin + b"\n!!\n" + mod.FORMAT.pem_end)
