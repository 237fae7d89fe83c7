"""Stored byte vectors for every crypto wire message, and hypothesis fuzzing of every parse()."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vrdiplomacy.crypto.hpke_dist import KeyDistribution, SealedKey
from vrdiplomacy.crypto.packet import Packet, RelayView, StreamType
from vrdiplomacy.crypto.roster import Roster, RosterEntry
from vrdiplomacy.crypto.sframe import SFrameHeader
from vrdiplomacy.crypto.signing import FrameSignature, SignedEvent
from vrdiplomacy.crypto.verify_code import room_code
from vrdiplomacy.errors import CryptoError, ProtocolError

KEY = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
PUB = KEY.public_key()

FRAME_SIG = bytes.fromhex(
    "0104726f6f6d000200000000000002030000000000000007000200000000000000000000000000000000abababab"
    "abababababababababababab"
    "d7bea447399ace0f26c9d8f5a237a7fb1a55d6bfe16a79e2b58b686144d5ef3d1c6a064151a2f7f5548745f0d55e2e41"
    "306e631ef7d65067a6cc0ffec9d1de00"
)
EVENT = bytes.fromhex(
    "020002060000000000000001" + "01" * 32 + "01020304" + "0000000000000005" + "000001977420dc00" + "0003796573"
    "98d466ee0a4d605efc123bc824a38ec06c499d4d2722a64e92c30bc2f1ae29db5cbf8f128b044d96ac933e64b6a4f5d9"
    "ecd67184ce4b53ab4a00b47f2c2a6800"
)
ENTRY = bytes.fromhex(
    "00030864656c656761746500053003020100010020" + "00" * 32 + "07" * 64
)
ROSTER = bytes.fromhex(
    "0204726f6f6d0000000000000001" + "01" * 32 + "000001977420dc00" + "000001977422b0c0" + "01"
    + "0a" * 32 + "0b" * 32 + "0001" + "00000075" + ENTRY.hex() + "00023000" + "09" * 64
)
KEYDIST = bytes.fromhex(
    "0104726f6f6d000000000000000100020000000900040105" + "05" * 31 + "000100030004eeeeeeee" + "06" * 64
)
PACKET = bytes.fromhex("010110616263")


def test_frame_signature_vector() -> None:
    fs = FrameSignature.parse(FRAME_SIG)
    assert (fs.room_id, fs.sender, fs.kid, fs.first_ctr) == (b"room", 2, 0x203, 7)
    assert fs.hashes == (bytes(16), b"\xab" * 16)
    assert bytes(fs) == FRAME_SIG
    fs.verify(PUB)  # Ed25519 is deterministic: the stored signature is the one we make
    with pytest.raises(CryptoError):
        FrameSignature(b"room", 2, 0x203, 8, fs.hashes, fs.signature).verify(PUB)


def test_signed_event_vector() -> None:
    ev = SignedEvent.parse(EVENT)
    assert (ev.sender, ev.stream_type, ev.epoch, ev.roster_hash, ev.generation, ev.seq, ev.time_ms, ev.body) == (
        2, StreamType.VOTE, 1, b"\x01" * 32, 0x01020304, 5, 1_750_000_000_000, b"yes")
    assert bytes(ev) == EVENT
    made = SignedEvent.create(b"room", 2, 6, b"yes", KEY, epoch=1, roster_hash=b"\x01" * 32, generation=0x01020304,
                              seq=5, time_ms=1_750_000_000_000)
    assert bytes(made) == EVENT
    ev.verify(b"room", PUB)
    with pytest.raises(CryptoError):
        ev.verify(b"other room", PUB)
    # every bound field is covered by the signature: epoch, roster hash, generation, time
    for changed in (replace(ev, epoch=2), replace(ev, roster_hash=b"\x02" * 32), replace(ev, generation=7),
                    replace(ev, time_ms=ev.time_ms + 1), replace(ev, stream_type=StreamType.GESTURE)):
        with pytest.raises(CryptoError):
            changed.verify(b"room", PUB)
    # padded to a bucket: parses to the same event; non-zero padding is refused
    padded = ev.padded(256)
    assert len(padded) == 256 and SignedEvent.parse(padded) == ev
    with pytest.raises(ProtocolError):
        SignedEvent.parse(padded[:-1] + b"\x01")


def test_roster_vectors() -> None:
    e = RosterEntry.parse(ENTRY)
    assert (e.index, e.role, e.cert_der, e.kem_suite) == (3, "delegate", b"\x30\x03\x02\x01\x00", 1)
    assert bytes(e) == ENTRY
    r = Roster.parse(ROSTER)
    assert (r.room_id, r.version, r.prev_hash, r.issued_at, r.expires_at) == (b"room", 1, b"\x01" * 32, 1750000000, 1750000120)
    assert (r.kem_suite, r.authority, r.next_authority) == (1, b"\x0a" * 32, b"\x0b" * 32)
    assert r.entries == (e,) and r.signer_cert_der == b"\x30\x00" and r.signature == b"\x09" * 64
    assert bytes(r) == ROSTER


def test_key_distribution_vector() -> None:
    kd = KeyDistribution.parse(KEYDIST)
    assert (kd.room_id, kd.roster_version, kd.sender, kd.generation) == (b"room", 1, 2, 9)
    assert (kd.cipher_suite, kd.kem_suite, kd.commitment) == (4, 1, b"\x05" * 32)
    assert kd.keys == (SealedKey(3, b"\xee" * 4),)
    assert bytes(kd) == KEYDIST


def test_packet_and_relay_view_vector() -> None:
    p = Packet.parse(PACKET)
    assert p == Packet(StreamType.VOICE, b"\x10abc") and bytes(p) == PACKET
    # KID 1 = sender 0, generation 1; the relay learns no more than that.
    assert RelayView.parse(PACKET) == RelayView(StreamType.VOICE, 0, 1, 0)
    assert RelayView.parse(bytes(Packet(StreamType.KEYS, KEYDIST))) == RelayView(StreamType.KEYS, 2)
    assert RelayView.parse(bytes(Packet(StreamType.FRAME_SIG, FRAME_SIG))) == RelayView(StreamType.FRAME_SIG, 2)


def test_room_code_vector() -> None:
    assert room_code(bytes(32), {0: b"\x01" * 32, 1: b"\x02" * 32}) == "72142 65436 83876 74096 93841 90354"


# ---------------------------------------------------------------------------------- fuzzing

PARSERS: list[Any] = [
    SFrameHeader.parse,
    Packet.parse,
    RelayView.parse,
    FrameSignature.parse,
    SignedEvent.parse,
    RosterEntry.parse,
    Roster.parse,
    KeyDistribution.parse,
]
SAMPLES = [FRAME_SIG, EVENT, ENTRY, ROSTER, KEYDIST, PACKET, bytes(Packet(StreamType.KEYS, KEYDIST))]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SAMPLES)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "set"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "cut":
            del data[pos:]
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif data:
            data[pos] = draw(st.integers(0, 255))
    return bytes(data)


def _only_protocol_errors(parse: Any, data: bytes) -> None:
    try:
        msg = parse(data)
    except (ProtocolError, CryptoError):
        return
    if hasattr(msg, "__bytes__") and not isinstance(msg, RelayView):
        assert type(msg).parse(bytes(msg)) == msg


@pytest.mark.parametrize("parse", PARSERS, ids=lambda p: p.__qualname__)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=300))
def test_fuzz_random_bytes(parse: Any, data: bytes) -> None:
    _only_protocol_errors(parse, data)


@pytest.mark.parametrize("parse", PARSERS, ids=lambda p: p.__qualname__)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=mutated())
def test_fuzz_mutated_messages(parse: Any, data: bytes) -> None:
    _only_protocol_errors(parse, data)


@given(kid=st.integers(0, 2**64 - 1), ctr=st.integers(0, 2**64 - 1))
def test_header_round_trip(kid: int, ctr: int) -> None:
    hdr = SFrameHeader(kid, ctr)
    enc = bytes(hdr)
    assert SFrameHeader.parse(enc) == hdr
    assert len(enc) == 1 + (0 if kid < 8 else (kid.bit_length() + 7) // 8) + (0 if ctr < 8 else (ctr.bit_length() + 7) // 8)
