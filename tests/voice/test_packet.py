from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vrdiplomacy.errors import ProtocolError
from vrdiplomacy.voice.packet import (
    FLAG_FEC,
    FLAG_START,
    FLAG_VOICE,
    ReceiverReport,
    VoicePacket,
    level_dbov,
)

# Stored vectors: kind 'V', flags VOICE|START|FEC, seq 0x1234, ts 0x000003c0, speaker 7, level 30.
VECTOR = bytes.fromhex("560b1234000003c0000000071e" + "78deadbeef")
REPORT_VECTOR = bytes.fromhex("52190028000000070000002a")


def test_voice_packet_vector_roundtrip() -> None:
    p = VoicePacket.parse(VECTOR)
    assert (p.sequence, p.timestamp, p.speaker, p.level) == (0x1234, 960, 7, 30)
    assert p.flags == FLAG_VOICE | FLAG_START | FLAG_FEC and p.voice and p.start
    assert p.payload == bytes.fromhex("78deadbeef")
    assert bytes(p) == VECTOR


def test_report_vector_roundtrip() -> None:
    r = ReceiverReport.parse(REPORT_VECTOR)
    assert (r.fraction_lost, r.delay_ms, r.speaker, r.reporter) == (25, 40, 7, 42)
    assert abs(r.loss - 25 / 256) < 1e-9
    assert bytes(r) == REPORT_VECTOR
    assert ReceiverReport.from_loss(7, 42, 0.0977, 40.4) == r


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


def test_malformed_reports_are_rejected() -> None:
    for bad in (REPORT_VECTOR[:-1], b"V" + REPORT_VECTOR[1:], REPORT_VECTOR + b"\x00"):
        with pytest.raises(ProtocolError):
            ReceiverReport.parse(bad)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
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
