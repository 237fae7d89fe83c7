"""Wire format: stored byte vectors, round trips, and rejection of malformed input."""

from __future__ import annotations

import pytest

from vrdiplomacy.errors import ProtocolError
from vrdiplomacy.net import wire
from vrdiplomacy.net.hop import DOWNLINK, UPLINK, HopOpener, HopSealer, ReplayError, ReplayWindow
from vrdiplomacy.errors import CryptoError

VECTORS = [
    (wire.Hello("delegate-fr", "seat-03", "chamber", b"", 0, 0, 1),
     "002c01010b64656c65676174652d667207736561742d3033076368616d6265720000000000000000000000000001"),
    (wire.Event(7, b'{"g":"nod"}'), "0013010400000007000b7b2267223a226e6f64227d"),
    (wire.Presence(0x01020304, wire.PRESENT, "delegate-fr", "seat-03"),
     "001b018201020304010b64656c65676174652d667207736561742d3033"),
    (wire.RoomEvent(5, 0x01020304, b"x"), "000d01830000000501020304000178"),
    (wire.Welcome(0x0A0B0C0D, b"T" * 20, bytes(range(32)), 7390, 9, 5, 2, 2000, True),
     "004d01810a0b0c0d00145454545454545454545454545454545454545454000102030405060708090a0b0c0d0e0f10111213141516"
     "1718191a1b1c1d1e1f1cde00000009000000050000000207d001"),
    (wire.Ping(0x1122334455667788), "000a01051122334455667788"),
    (wire.Floor(True), "0003010601"),
    (wire.Error(3, "seat taken"), "000f018700030a736561742074616b656e"),
    # secured rooms: the invitation rides as an optional trailing blob (absent = the old bytes above)
    (wire.Hello("delegate-fr", "seat-03", "chamber", b"", 0, 0, 1, b"INV"),
     "003101010b64656c65676174652d667207736561742d3033076368616d6265720000000000000000000000000001000349"
     "4e56"),
    (wire.Join("chamber", "A1", b"INV"), "00120102076368616d626572024131" "0003494e56"),
    (wire.Proof(bytes(range(64))), "00420107" + bytes(range(64)).hex()),
    (wire.Challenge(bytes(range(32))), "00220189" + bytes(range(32)).hex()),
    (wire.Notice(1, "refused"), "000c018a00010772656675736564"),
]


@pytest.mark.parametrize("msg,hexstr", VECTORS, ids=[type(m).__name__ for m, _ in VECTORS])
def test_control_vectors(msg: wire.ControlMessage, hexstr: str) -> None:
    raw = bytes.fromhex(hexstr)
    assert msg.frame() == raw
    assert int.from_bytes(raw[:2], "big") == len(raw) - 2
    assert raw[2] == wire.VERSION
    assert type(msg).parse(raw[2:]) == msg


def test_media_vectors() -> None:
    assert bytes(wire.MediaHeader(wire.DG_VOICE, 0x01020304, 5)).hex() == "0101010203040000000000000005"
    assert wire.MediaHeader.parse(bytes.fromhex("0101010203040000000000000005")) == wire.MediaHeader(1, 0x01020304, 5)
    v = wire.VoiceFrame(wire.level_byte(-20, True), 9, b"\xaa\xbb")
    assert bytes(v).hex() == "940009aabb"
    assert v.active and v.dbov == -20
    p = wire.PoseFrame(True, 258, (100, 160, -250), b"\x01")
    assert bytes(p).hex() == "010102006400a0ff0601"
    assert wire.PoseFrame.parse(bytes(p)) == p
    e = wire.BundleEntry(wire.DG_VOICE, 0x01020304, bytes.fromhex("940009aa"))
    assert bytes(e).hex() == "01010203040004940009aa"
    assert wire.parse_bundle(bytes(e) * 2) == [e, e]


def test_sealed_datagram_vector() -> None:
    """ChaCha20-Poly1305, nonce = u32 direction | u64 counter, AAD = the 14-byte header."""
    data = HopSealer(bytes(range(32)), UPLINK, 0x01020304).seal(wire.DG_VOICE, b"hello")
    assert data.hex() == "0101010203040000000000000001013910b55e745af4e40a4e88d6a8b06dae6bcdc48a"
    assert HopOpener(bytes(range(32)), UPLINK).open(data, 1) == b"hello"


@pytest.mark.parametrize(
    "raw,err",
    [
        (b"\x01", "shorter"),
        (b"\x02\x01", "version"),
        (b"\x01\x7f", "unknown control"),
        (bytes.fromhex("0104000000"), "truncated"),
        (bytes.fromhex("010400000007000b7b22") , "truncated"),
        (bytes.fromhex("0104000000070000ff"), "trailing"),
        (bytes.fromhex("010601") + b"", None),
        (bytes.fromhex("010602"), "not 0 or 1"),
        (bytes.fromhex("0182010203040901"), "presence state"),
        (bytes.fromhex("01820102030401") + b"\x02\xff\xfe" + b"\x00", "UTF-8"),
    ],
)
def test_malformed_control(raw: bytes, err: str | None) -> None:
    if err is None:
        assert isinstance(wire.parse_control(raw), wire.Floor)
        return
    with pytest.raises(ProtocolError, match=err):
        wire.parse_control(raw)


def test_frame_decoder_splits_and_rejects_bad_lengths() -> None:
    d = wire.FrameDecoder()
    stream = wire.Ping(1).frame() + wire.Floor(False).frame()
    for b in stream:  # one byte at a time
        d.feed(bytes([b]))
    frames = []
    while (f := d.next_frame()) is not None:
        frames.append(wire.parse_control(f))
    assert frames == [wire.Ping(1), wire.Floor(False)]
    d = wire.FrameDecoder()
    d.feed(stream[:5])
    assert d.next_frame() is None
    d.feed(stream[5:])
    assert wire.parse_control(d.next_frame() or b"") == wire.Ping(1)
    assert wire.parse_control(d.next_frame() or b"") == wire.Floor(False)
    bad = wire.FrameDecoder()
    bad.feed(b"\xff\xff\x01")
    with pytest.raises(ProtocolError, match="out of range"):
        bad.next_frame()


def test_oversized_fields_are_refused_on_encode() -> None:
    with pytest.raises(ProtocolError):
        wire.Hello("x" * 300, "s", "r").frame()
    with pytest.raises(ProtocolError):
        wire.Event(1, bytes(wire.MAX_PAYLOAD + 1)).frame()


def test_hop_tamper_replay_and_window() -> None:
    key = bytes(32)
    s = HopSealer(key, UPLINK, 7)
    o = HopOpener(key, UPLINK)
    d1, d2 = s.seal(wire.DG_POSE, b"a" * 30), s.seal(wire.DG_POSE, b"b" * 30)
    assert o.open(d2, 2) == b"b" * 30
    assert o.open(d1, 1) == b"a" * 30  # out of order within the window is fine
    with pytest.raises(ReplayError):
        o.open(d1, 1)
    t = bytearray(s.seal(wire.DG_POSE, b"c" * 30))
    t[-1] ^= 1
    with pytest.raises(CryptoError, match="authentication"):
        o.open(bytes(t), 3)
    h = bytearray(s.seal(wire.DG_POSE, b"d"))
    h[1] = wire.DG_VOICE  # header is authenticated too
    with pytest.raises(CryptoError):
        o.open(bytes(h), 4)
    with pytest.raises(CryptoError):  # a downlink opener cannot open uplink datagrams
        HopOpener(key, DOWNLINK).open(s.seal(wire.DG_POSE, b"e"), 5)
    w = ReplayWindow(64)
    w.accept(1000)
    assert not w.check(1000) and not w.check(936) and w.check(937) and w.check(1001) and not w.check(0)


def test_optional_invitation_is_strict() -> None:
    """An empty trailing invitation must be omitted (one encoding per message); an oversized one is refused."""
    base = bytes(wire.Join("chamber", "A1"))
    with pytest.raises(ProtocolError):
        wire.parse_control(base + b"\x00\x00")
    with pytest.raises(ProtocolError):
        wire.Join("chamber", "A1", b"x" * (wire.MAX_INVITATION + 1)).frame()
    assert wire.Join.parse(base) == wire.Join("chamber", "A1")
    with pytest.raises(ProtocolError):
        wire.Proof(b"short").frame()

