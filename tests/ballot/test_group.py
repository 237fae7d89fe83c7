"""The group binding: libsodium's ristretto255 as reached through pysodium agrees with RFC 9496."""

from __future__ import annotations

import pytest

from vrdiplomacy.ballot import group as g
from vrdiplomacy.errors import CryptoError

# RFC 9496, appendix A.1: multiples of the generator (0·B .. 7·B).
MULTIPLES = ["0000000000000000000000000000000000000000000000000000000000000000", "e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76", "6a493210f7499cd17fecb510ae0cea23a110e8d5b901f8acadd3095c73a3b919", "94741f5d5d52755ece4f23f044ee27d5d1ea1e2bd196b462166b16152a9d0259", "da80862773358b466ffadfe0b3293ab3d9fd53c5ea6c955358f568322daf6a57", "e882b131016b52c1d3337080187cf768423efccbb517bb495ab812c4160ff44e", "f64746d3c92b13050ed8d80236a7f0007c3b3f962f5ba793d19a601ebb1df403", "44f53520926ec81fbd5a387845beb7df85a96a24ece18738bdcfa6a7822a176d"]

# RFC 9496, appendix A.2: encodings that must be rejected (non-canonical, negative field elements).
INVALID = ["00ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", "f3ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", "0100000000000000000000000000000000000000000000000000000000000000", "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"]


def test_multiples_of_the_generator_match_rfc9496() -> None:
    for k, want in enumerate(MULTIPLES):
        assert g.base(k).hex() == want
        assert g.mul(k, g.G).hex() == want
        assert g.point_from(bytes.fromhex(want)).hex() == want
    acc = g.IDENTITY
    for want in MULTIPLES:
        assert acc.hex() == want
        acc = g.add(acc, g.G)


@pytest.mark.parametrize("enc", INVALID)
def test_invalid_encodings_are_refused(enc: str) -> None:
    with pytest.raises(CryptoError):
        g.point_from(bytes.fromhex(enc))


def test_scalars_and_identity() -> None:
    assert g.base(g.L) == g.IDENTITY and g.mul(0, g.G) == g.IDENTITY and g.mul(5, g.IDENTITY) == g.IDENTITY
    assert g.sub(g.G, g.G) == g.IDENTITY and g.add(g.IDENTITY, g.G) == g.G
    assert g.mul(g.L - 1, g.G) == g.sub(g.IDENTITY, g.G)
    with pytest.raises(CryptoError):
        g.scalar_from(g.L.to_bytes(32, "little"))  # non-canonical scalar
    with pytest.raises(CryptoError):
        g.point_from(b"\x01" * 31)
    a, b = g.random_scalar(), g.random_scalar()
    assert g.add(g.base(a), g.base(b)) == g.base(a + b)
    assert g.mul(a, g.base(b)) == g.base(a * b)


def test_transcript_fields_are_length_prefixed() -> None:
    t1 = g.Transcript("x").text("ab").text("c").challenge()
    t2 = g.Transcript("x").text("a").text("bc").challenge()
    assert t1 != t2 and 0 <= t1 < g.L
