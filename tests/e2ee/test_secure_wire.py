"""The end-to-end envelope on the room event channel: stored vector, splitting, reassembly, fuzz;
and SecureRoom.open never crashes on random input (only counted drops)."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vrdiplomacy.errors import CryptoError, ProtocolError
from vrdiplomacy.net.secure import SecureRoom
from vrdiplomacy.net.secure_wire import CHUNK, Kind, Reassembler, SecureMessage, split_message

from harness import Pki

VECTOR = "e5020000000700010003616263"


def test_vector() -> None:
    m = SecureMessage(Kind.ROSTER, 7, 1, 3, b"abc")
    assert bytes(m).hex() == VECTOR
    assert SecureMessage.parse(bytes.fromhex(VECTOR)) == m


def test_split_and_reassemble_interleaved_senders() -> None:
    big = bytes(range(256)) * 100  # 25.6 kB: 4 parts
    a = split_message(Kind.ROSTER, 1, big)
    b = split_message(Kind.PACKET, 9, b"small")
    assert len(a) == 4 and all(len(p) <= CHUNK + 10 for p in a)
    r = Reassembler()
    assert r.feed(1, SecureMessage.parse(a[0]), 0.0) is None
    assert r.feed(2, SecureMessage.parse(b[0]), 0.0) == (Kind.PACKET, b"small")
    for p in a[1:-1]:
        assert r.feed(1, SecureMessage.parse(p), 0.1) is None
    assert r.buffered == 3 * CHUNK
    assert r.feed(1, SecureMessage.parse(a[-1]), 0.2) == (Kind.ROSTER, big)
    assert r.buffered == 0
    # a missing part drops the partial message, counted
    assert r.feed(1, SecureMessage.parse(a[0]), 0.3) is None
    assert r.feed(1, SecureMessage.parse(a[2]), 0.3) is None
    assert r.broken == 1 and r.drops["out_of_sequence"] == 1 and r.buffered == 0


@pytest.mark.parametrize("bad", ["", "e5", "e6020000000700010003", "e5090000000700010003", "e5020000000700030003", "e5020000000700000000"])
def test_malformed(bad: str) -> None:
    with pytest.raises(ProtocolError):
        SecureMessage.parse(bytes.fromhex(bad))


@given(st.binary(max_size=200))
@settings(max_examples=300, deadline=None)
def test_fuzz_parse(data: bytes) -> None:
    try:
        SecureMessage.parse(data)
    except ProtocolError:
        pass


_PKI = Pki()


@given(st.lists(st.tuples(st.sampled_from(["voice", "pose", "event"]), st.integers(0, 3), st.binary(max_size=120)), max_size=40))
@settings(max_examples=60, deadline=None)
def test_fuzz_secure_room_open(inputs: list[tuple[str, int, bytes]]) -> None:
    async def main() -> None:
        room = SecureRoom("chamber", _PKI.identity("Chair", "chair"), [_PKI.root])
        for kind, sender, data in inputs:
            for payload in (data, bytes.fromhex("e501000000010000") + data[:2] + data):
                try:
                    room.open(kind, sender, payload)
                except (CryptoError, ProtocolError):
                    pass

    asyncio.run(main())
