"""Finding 7 (the frame half): event kinds and payload sizes were visible to the relay.

On main 3e2635d a sealed event carried its kind (room, gesture, floor, vote) as the packet's
plaintext stream type and was exactly as long as its body, so the relay could tell a vote from a
gesture and guess what was said from lengths. Events now travel as one ``EVENT`` stream type with
the kind inside the encryption, padded to a few bucket sizes. The first two tests fail on main
3e2635d; the constant-bitrate voice test passes there too (the Opus setting existed; it is here to
show what the relay sees of sealed CBR voice).
"""

from __future__ import annotations

import asyncio

import numpy as np

from vrdiplomacy.crypto.packet import Packet, RelayView, StreamType
from vrdiplomacy.crypto.sframe import SFrameHeader
from vrdiplomacy.net.secure import SecureRoom
from vrdiplomacy.net.secure_wire import HEADER, SecureMessage
from vrdiplomacy.voice.codec import OpusEncoder, OpusSettings

from attacks.frames_helpers import NOW, Room
from harness import Pki

EVENT_BUCKETS = (256, 1024, 4096, 7936)  # the documented padding buckets (vrdiplomacy.crypto.packet)
EVENTS = [
    ("vote", b"YES"),
    ("vote", b"NO"),
    ("floor", b"request:France"),
    ("floor", b"yield"),
    ("gesture", b"nod"),
    ("gesture", b"raise_hand:left"),
    ("room", b"The chair opens item 4 on fisheries."),
    ("room", b"x" * 100),
]


def _visible(part: bytes) -> tuple[object, ...]:
    """Everything of a sealed room event the relay can read, except what only counts messages
    (the envelope's message id and the SFrame counter)."""
    m = SecureMessage.parse(part)
    pkt = Packet.parse(m.chunk)
    hdr, _ = SFrameHeader.decode(pkt.body)
    view = RelayView.parse(m.chunk)
    return len(part), part[0], m.kind, m.part, m.parts, m.chunk[0], pkt.stream_type, hdr.kid, view.stream_type


def test_sealed_events_of_every_kind_and_nearby_lengths_look_the_same() -> None:
    async def main() -> None:
        pki = Pki()
        room = SecureRoom("chamber", pki.identity("Chair", "chair", "CH"), [pki.root])
        room._chair_start(1)  # a one-member room: the chair seals for itself
        assert room.member
        sealed = [room.seal(kind, body) for kind, body in EVENTS]
        seen = {_visible(p) for p in sealed}
        assert len(seen) == 1, seen  # main 3e2635d: eight different lengths, four stream types
        ((length, *_rest),) = seen
        hdr = bytes(SFrameHeader.decode(Packet.parse(SecureMessage.parse(sealed[0]).chunk).body)[0])
        assert length == HEADER.size + 2 + len(hdr) + EVENT_BUCKETS[0] + 16  # envelope, packet, SFrame header, bucket, tag
        for (_, body), p in zip(EVENTS, sealed):
            assert body not in p

    asyncio.run(main())


def test_event_sizes_fall_in_a_few_buckets() -> None:
    room = Room(["alice", "bob"])
    room.publish(["alice", "bob"], NOW)
    room.exchange(["alice", "bob"], NOW)
    a, b = room.sessions["alice"], room.sessions["bob"]
    sizes = set()
    for n in list(range(0, 200)) + list(range(200, 7800, 97)):
        w = a.seal(StreamType.VOTE if n % 2 else StreamType.GESTURE, bytes(n % 251 for _ in range(n)), NOW)
        sizes.add(len(w) - len(SFrameHeader.decode(Packet.parse(w).body)[0].__bytes__()))
        assert b.open(w, NOW).payload == bytes(n % 251 for _ in range(n))
    assert sizes == {2 + s + 16 for s in EVENT_BUCKETS}  # main 3e2635d: one size per length


def test_constant_bitrate_voice_seals_to_one_size() -> None:
    room = Room(["alice", "bob"])
    room.publish(["alice", "bob"], NOW)
    room.exchange(["alice", "bob"], NOW)
    a, b = room.sessions["alice"], room.sessions["bob"]
    fs, n = 48000, 960
    t = np.arange(fs * 2) / fs
    voiced = (0.3 * np.sin(2 * np.pi * 140 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))
              + 0.1 * np.sin(2 * np.pi * 1400 * t)).astype(np.float32)
    signal = np.concatenate([np.zeros(fs, np.float32), voiced, np.zeros(fs // 2, np.float32)])
    frames = [signal[i: i + n] for i in range(0, len(signal) - n + 1, n)]

    def sealed_sizes(cbr: bool) -> set[int]:
        enc = OpusEncoder(OpusSettings(cbr=cbr, dtx=False))
        out = set()
        for f in frames:
            w = a.seal(StreamType.VOICE, enc.encode(f), NOW)
            b.open(w, NOW)
            out.add(len(Packet.parse(w).body) - len(bytes(SFrameHeader.decode(Packet.parse(w).body)[0])))
        return out

    assert len(sealed_sizes(cbr=True)) == 1  # silence and speech: the same size on the wire
    assert len(sealed_sizes(cbr=False)) > 3  # what VBR would tell the relay
