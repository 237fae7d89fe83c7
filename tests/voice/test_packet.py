from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vrdiplomacy.errors import ProtocolError
from vrdiplomacy.voice.packet import (
    FLAG_FEC,
    FLAG_RED,
    FLAG_START,
    FLAG_VOICE,
    VoicePacket,
    level_dbov,
)

# Stored vectors: kind 'V', flags VOICE|START|FEC, seq 0x1234, ts 0x000003c0, speaker 7, level 30.
VECTOR = bytes.fromhex("560b1234000003c0000000071e" + "78deadbeef")
# The same with the RED flag: two copies (distances 1 and 3, 2 and 1 bytes), then the primary.
RED_VECTOR = bytes.fromhex("561b1234000003c0000000071e" + "02" + "010002" + "030001" + "aaaa" + "bb" + "78deadbeef")


def test_voice_packet_vector_roundtrip() -> None:
    p = VoicePacket.parse(VECTOR)
    assert (p.sequence, p.timestamp, p.speaker, p.level) == (0x1234, 960, 7, 30)
    assert p.flags == FLAG_VOICE | FLAG_START | FLAG_FEC and p.voice and p.start
    assert p.payload == bytes.fromhex("78deadbeef")
    assert bytes(p) == VECTOR


def test_red_vector_roundtrip() -> None:
    p = VoicePacket.parse(RED_VECTOR)
    assert p.flags & FLAG_RED and p.payload == bytes.fromhex("78deadbeef")
    assert p.redundancy == ((1, b"\xaa\xaa"), (3, b"\xbb"))
    assert bytes(p) == RED_VECTOR


@pytest.mark.parametrize(
    "data",
    [
        RED_VECTOR[:13] + b"\x00" + RED_VECTOR[14:],  # zero copies with the RED flag
        RED_VECTOR[:13] + b"\x04" + RED_VECTOR[14:],  # four copies
        RED_VECTOR[:14] + b"\x03" + RED_VECTOR[15:],  # distances not increasing (3, 3)
        RED_VECTOR[:16] + b"\x09" + RED_VECTOR[17:],  # a copy longer than the packet
        RED_VECTOR[:23],  # truncated: no primary payload left
        RED_VECTOR[:18],  # truncated in the copy headers
        VECTOR[:1] + b"\x1b" + VECTOR[2:13] + b"\x01\x01",  # truncated copy header
    ],
)
def test_malformed_red_packets_are_rejected(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        VoicePacket.parse(data)


def test_red_flag_and_copies_must_agree() -> None:
    with pytest.raises(ProtocolError):
        VoicePacket(1, 960, 7, 30, b"\x78", FLAG_VOICE | FLAG_RED)
    with pytest.raises(ProtocolError):
        VoicePacket(1, 960, 7, 30, b"\x78", FLAG_VOICE, ((1, b"\x78"),))


@pytest.mark.parametrize(
    "data",
    [
        b"",
        VECTOR[:13],  # header only, no payload
        b"X" + VECTOR[1:],  # wrong kind
        VECTOR[:1] + b"\x80" + VECTOR[2:],  # unknown flag
        VECTOR[:12] + b"\x80" + VECTOR[13:],  # level 128
        VECTOR[:13] + b"\x00" * 1276,  # payload too long
    ],
)
def test_malformed_voice_packets_are_rejected(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        VoicePacket.parse(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64) | st.binary(min_size=14, max_size=40).map(lambda b: RED_VECTOR[:13] + b))
def test_fuzz_parse_raises_only_protocol_errors(data: bytes) -> None:
    try:
        p = VoicePacket.parse(data)
    except ProtocolError:
        return
    assert bytes(p) == data


def test_level_dbov() -> None:
    assert level_dbov(1.0) == 0
    assert level_dbov(0.1) == 20
    assert level_dbov(0.0) == 127
