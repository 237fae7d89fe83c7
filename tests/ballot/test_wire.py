"""The vote messages' bytes: stored vectors (a format change breaks these on purpose), round trips,
and malformed input as ProtocolError, never a crash."""

from __future__ import annotations

import random

import pytest

from vrdiplomacy.ballot import ceremony as ce
from vrdiplomacy.ballot import group as g
from vrdiplomacy.ballot import proofs as zk
from vrdiplomacy.ballot import wire
from vrdiplomacy.ballot.election import EncryptedBallot, Manifest
from vrdiplomacy.errors import ProtocolError

MANIFEST = Manifest("item-4/1", "4", "Adopt L.12?", voters=("France", "Germany"), trustees=("T1", "T2"), threshold=2,
                    closes_at=1765000000.5, chair="Chair")
BALLOT = EncryptedBallot("France", (zk.Ciphertext(g.base(1), g.base(2)),), (zk.RangeProof(1, 2, 3, 4),), zk.DleqProof(5, 6))


def z(n: int) -> str:
    return "00" * n


VECTORS: list[tuple[wire.VoteMessage, str]] = [
    (wire.Open(MANIFEST),
     "560101" "0008" + b"item-4/1".hex() + "0001" + b"4".hex() + "000b" + b"Adopt L.12?".hex()
     + "0003" "0003" + b"yes".hex() + "0002" + b"no".hex() + "0007" + b"abstain".hex() + "01"
     + "0002" "0006" + b"France".hex() + "0007" + b"Germany".hex() + "0002" "0002" + b"T1".hex() + "0002" + b"T2".hex()
     + "02" "41da4cf0d0200000" "0005" + b"Chair".hex()),
    (wire.Close("item-4/1"), "560106" "0008" + b"item-4/1".hex()),
    (wire.RecordedCast("item-2/1", "France", 2), "560105" "0008" + b"item-2/1".hex() + "0006" + b"France".hex() + "02"),
    (wire.Cast("v", BALLOT),
     "560104" "000176" "0006" + b"France".hex() + "01"
     "e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76"  # 1·G
     "6a493210f7499cd17fecb510ae0cea23a110e8d5b901f8acadd3095c73a3b919"  # 2·G
     + "".join(f"{k:02x}" + z(31) for k in (1, 2, 3, 4, 5, 6))),
    (wire.Partial("v", 2, ((g.base(3), zk.DleqProof(7, 8)),)),
     "560107" "000176" "02" "01" "94741f5d5d52755ece4f23f044ee27d5d1ea1e2bd196b462166b16152a9d0259"
     + "07" + z(31) + "08" + z(31)),
    (wire.Commit("v", ce.Commitment(1, (g.base(4),), (zk.SchnorrProof(9, 10),), g.base(5))),
     "560102" "000176" "01" "01" "da80862773358b466ffadfe0b3293ab3d9fd53c5ea6c955358f568322daf6a57"
     + "09" + z(31) + "0a" + z(31) + "e882b131016b52c1d3337080187cf768423efccbb517bb495ab812c4160ff44e"),
    (wire.Shares("v", 1, ((2, bytes(range(80))),)), "560103" "000176" "01" "01" "02" + bytes(range(80)).hex()),
    (wire.OpenPart("v", 1, 2, b"ab"), "56010c" "000176" "0001" "0002" "0002" "6162"),
]


@pytest.mark.parametrize("msg,hexed", VECTORS, ids=[type(m).__name__ for m, _ in VECTORS])
def test_stored_vectors(msg: wire.VoteMessage, hexed: str) -> None:
    assert bytes(msg).hex() == hexed
    assert wire.parse(bytes.fromhex(hexed)) == msg
    assert wire.is_vote(bytes(msg))


def test_truncations_and_trailing_bytes_are_protocol_errors() -> None:
    for msg, hexed in VECTORS:
        data = bytes.fromhex(hexed)
        for n in range(len(data)):
            with pytest.raises(ProtocolError):
                wire.parse(data[:n])
        with pytest.raises(ProtocolError):
            wire.parse(data + b"\x00")


def test_random_corruption_never_escapes_as_another_error() -> None:
    rng = random.Random(7)
    for msg, hexed in VECTORS:
        data = bytes.fromhex(hexed)
        for _ in range(200):
            bad = bytearray(data)
            for _ in range(rng.randint(1, 4)):
                bad[rng.randrange(len(bad))] = rng.randrange(256)
            try:
                wire.parse(bytes(bad))
            except ProtocolError:
                pass


def test_version_kind_and_field_checks() -> None:
    close = bytearray(bytes(wire.Close("v")))
    close[1] = 2
    with pytest.raises(ProtocolError, match="version 2"):
        wire.parse(bytes(close))
    close[1], close[2] = 1, 99
    with pytest.raises(ProtocolError, match="kind 99"):
        wire.parse(bytes(close))
    # an invalid point in a ciphertext, a non-canonical scalar in a proof
    cast = bytearray(bytes(wire.Cast("v", BALLOT)))
    at = 3 + 3 + 8 + 1
    cast[at:at + 32] = bytes.fromhex("00" + "ff" * 31)
    with pytest.raises(ProtocolError, match="ristretto255"):
        wire.parse(bytes(cast))
    cast = bytearray(bytes(wire.Cast("v", BALLOT)))
    cast[at + 64:at + 96] = g.L.to_bytes(32, "little")
    with pytest.raises(ProtocolError, match="non-canonical"):
        wire.parse(bytes(cast))
    # an opening whose manifest is not a vote (one option only)
    with pytest.raises(ProtocolError, match="options"):
        wire.parse(bytes(wire.Open(Manifest("x", "1", "q", options=("yes",), voters=("a",), trustees=("t",),
                                             threshold=1))))
