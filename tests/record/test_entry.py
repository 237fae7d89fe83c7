"""The record's byte encodings, pinned by stored vectors (a change of format must change these on
purpose), and what a parser does with damaged bytes."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from vrdiplomacy.errors import CryptoError, ProtocolError
from vrdiplomacy.record.entry import NOBODY, Chain, Entry, Note, Party, RecordHeader

KEY = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
PUBLIC = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
HEADER = RecordHeader(bytes(range(16)), "chamber", "127.0.0.1:7443", 1796601600_000000, b"\x30\x03\x02\x01\x01")
HEADER_HEX = ("01" "000102030405060708090a0b0c0d0e0f" "07" "6368616d626572" "0e" "3132372e302e302e313a37343433"
              "000661ffe82bc000" "0005" "3003020101")
HEADER_HASH = "3b30cb1d00e350be172acd12ae21ae19732f6758dd8457032c7453bf8c6e1826"
NOTES = (
    Note(1796601601_250000, "joined", Party("France", "FR"), NOBODY, "France joined the room",
         (("actor.role", "head"), ("actor.verified", "1"))),
    Note(1796601605_000000, "floor_granted", Party("Chair", "CH"), Party("Japon", "JP"),
         "Chair gave the floor to Japon — 3 min", (("speaking_time_s", "180"),)),
)
ENTRY_HEX = (
    # version | seq 1 | time_us | kind "joined" | actor France/FR | subject ""/"" | text | 2 data fields | prev | sig
    "01" "0000000000000001" "000661ffe83ed2d0" "06" "6a6f696e6564" "06" "4672616e6365" "02" "4652" "00" "00"
    "0016" "4672616e6365206a6f696e65642074686520726f6f6d" "02" "0a" "6163746f722e726f6c65" "0004" "68656164"
    "0e" "6163746f722e7665726966696564" "0001" "31" + HEADER_HASH +
    "c9533cfba029fa64736be64ea578361c5b700baad87c9dadfedadc7a07806304117716dd2d0f8fbfb9d63c796d5f8bc4873fc051244df0b1"
    "76c0556577446703",
    "01" "0000000000000002" "000661ffe8780b40" "0d" "666c6f6f725f6772616e746564" "05" "4368616972" "02" "4348"
    "05" "4a61706f6e" "02" "4a50" "0027" "436861697220676176652074686520666c6f6f7220746f204a61706f6e20e280942033206d696e"
    "01" "0f" "737065616b696e675f74696d655f73" "0003" "313830"
    "79b11ae6137472e135e190d02b32ff2868e33757567a6d726c563c2f6b51b1f7"
    "98f5b87fb76cbae672e98db6d20cd5d2b3e8dc6639f9d3bddfb937906391cf0e5c34fba50a8024e7b43a9a2d7c8d4a86188c74fe1e736b1977"
    "8601a9caf8f001",
)
ENTRY_HASH = ("79b11ae6137472e135e190d02b32ff2868e33757567a6d726c563c2f6b51b1f7",
              "104b153ae9fbf7fbe806174b26c735fb8dfdc340ad39527d41708c22c5296036")


def test_header_vector() -> None:
    assert bytes(HEADER).hex() == HEADER_HEX
    assert RecordHeader.parse(bytes.fromhex(HEADER_HEX)) == HEADER
    assert HEADER.hash().hex() == HEADER_HASH


def test_entry_vectors_encode_parse_hash_and_verify() -> None:
    assert KEY.public_key().public_bytes_raw().hex() == PUBLIC
    chain = Chain(HEADER, KEY)
    for note, hexed, h in zip(NOTES, ENTRY_HEX, ENTRY_HASH):
        e = chain.next(note)
        assert bytes(e).hex() == hexed  # Ed25519 signatures are deterministic: the whole entry is pinned
        assert e.hash().hex() == h
        parsed = Entry.parse(bytes.fromhex(hexed))
        assert parsed == e
        parsed.verify(KEY.public_key())
    assert chain.seq == 2 and chain.head.hex() == ENTRY_HASH[1]


def test_entry_chain_links_and_time_never_goes_back() -> None:
    chain = Chain(HEADER, KEY)
    a = chain.next(NOTES[1])
    b = chain.next(NOTES[0])  # stamped earlier than the entry before it
    assert b.prev_hash == a.hash() and a.prev_hash == HEADER.hash()
    assert b.time_us == a.time_us


def test_a_changed_entry_does_not_verify() -> None:
    e = Entry.parse(bytes.fromhex(ENTRY_HEX[0]))
    forged = Entry(e.seq, e.time_us, e.kind, Party("Germany", "DE"), e.subject, e.text, e.data, e.prev_hash, e.signature)
    with pytest.raises(CryptoError, match="entry 1: signature does not verify"):
        forged.verify(KEY.public_key())


@pytest.mark.parametrize("cut", [0, 1, 9, 40, len(bytes.fromhex(ENTRY_HEX[0])) - 1])
def test_truncated_entry_is_a_protocol_error(cut: int) -> None:
    with pytest.raises(ProtocolError):
        Entry.parse(bytes.fromhex(ENTRY_HEX[0])[:cut])


def test_malformed_entries_are_protocol_errors() -> None:
    raw = bytes.fromhex(ENTRY_HEX[0])
    for bad in (raw + b"\x00", b"\x02" + raw[1:], raw[:18] + b"\xff" + raw[19:], b"", b"\x01"):
        with pytest.raises(ProtocolError):
            Entry.parse(bad)
    with pytest.raises(ProtocolError):
        RecordHeader.parse(bytes.fromhex(HEADER_HEX)[:-1])
    with pytest.raises(ProtocolError):
        RecordHeader.parse(b"\x09" + bytes.fromhex(HEADER_HEX)[1:])


def test_long_fields_are_cut_to_fit_not_refused() -> None:
    e = Chain(HEADER, KEY).next(Note(1, "k" * 300, Party("é" * 200), NOBODY, "t" * 70000))
    back = Entry.parse(bytes(e))
    assert len(back.kind.encode()) == 255 and len(back.actor.name.encode()) <= 255 and len(back.text) == 0xFFFF


def test_an_entry_dated_past_the_year_9999_is_refused_not_a_crash() -> None:
    """A record whose signer stamped an entry 2**63 us after 1970 (its own key: the record verifies,
    untrusted) was accepted, and the minutes export (and a check against roots) then raised ValueError
    ("year is out of range"):
    fails on main 68e45bd. Now the entry is refused with one line naming it."""
    from vrdiplomacy.crypto.identity import (
        cert_der,
        create_delegation_request,
        create_ministry_root,
        issue_delegation,
    )
    from vrdiplomacy.record.entry import RecordError
    from vrdiplomacy.record.verify import verify_rows

    now = 1796601600.0
    root_key, root = create_ministry_root("Secretariat", "CH", now)
    key, csr = create_delegation_request("Keeper", "CH")
    header = RecordHeader(bytes(16), "chamber", "127.0.0.1:7443", int(now * 1e6),
                          cert_der(issue_delegation(csr, root_key, root, "chair", now)))
    chain = Chain(header, key)
    first = chain.next(NOTES[0])
    far = chain.next(Note(2**63, "joined", Party("France", "FR"), NOBODY, "France joined the room"))
    with pytest.raises(RecordError, match="entry 2: time .* past the year 9999"):
        verify_rows(header, [(1, bytes(first)), (2, bytes(far))])
    late = RecordHeader(header.record_id, header.room, header.relay, 2**64 - 1, header.certificate)
    with pytest.raises(RecordError, match="header: creation time .* past the year 9999"):
        verify_rows(late, [], roots=[root])
