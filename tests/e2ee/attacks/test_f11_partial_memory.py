"""Finding 11: a malicious relay makes each client buffer about 1 GB of partial messages.

On main 3e2635d the envelope layer kept one partial message of up to 128 parts (1 MB) for each of
1024 sender ids, and never let go of one whose last part did not come: about 1 GB per client. Key
envelopes for a roster not yet seen were kept up to 64 of them, at up to ~1 MB each, unchecked.
Partial data is now bounded per message, per kind, in all and in age, with counted drops. The
bound tests fail on main 3e2635d.
"""

from __future__ import annotations

import asyncio
import tracemalloc

from vrdiplomacy.crypto.hpke_dist import KeyDistribution, SealedKey
from vrdiplomacy.crypto.packet import Packet, StreamType
from vrdiplomacy.crypto.session import PacketDropped
from vrdiplomacy.errors import CryptoError, ProtocolError
from vrdiplomacy.net.secure import SecureRoom
from vrdiplomacy.net.secure_wire import CHUNK, Kind, Reassembler, SecureMessage, split_message

from attacks.frames_helpers import NOW, ROOM, Room
from harness import Pki

MiB = 1 << 20


def _first_parts(sender: int, kind: Kind, parts: int, fill: int) -> list[bytes]:
    """All but the last part of a ``parts``-part message: what the relay sends, never finishing."""
    return [bytes(SecureMessage(kind, sender, i, parts, bytes([fill & 0xFF]) * CHUNK)) for i in range(parts - 1)]


def test_relay_flood_of_unfinished_messages_stays_under_the_global_cap() -> None:
    """100 fake senders each send 127 of 128 parts (97 MiB): a client keeps at most 64 MiB."""

    async def main() -> None:
        pki = Pki()
        room = SecureRoom("chamber", pki.identity("Chair", "chair", "CH"), [pki.root])
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            offered = 0
            for sender in range(100, 200):
                for part in _first_parts(sender, Kind.ROSTER, 128, sender):
                    offered += len(part)
                    assert room.open("event", sender, part) is None
            held = tracemalloc.get_traced_memory()[0] - base
        finally:
            tracemalloc.stop()
        assert offered > 96 * MiB
        assert held <= 64 * MiB + 2 * MiB, f"{held / MiB:.0f} MiB held"  # main 3e2635d: ~97 MiB
        r = room._reasm
        assert r.buffered <= 64 * MiB and r.drops["over_budget"] > 0
        # an honest message still gets through after the flood
        honest = split_message(Kind.ENTRY, 7, b"entry" * 3000)
        got = [room._reasm.feed(3, SecureMessage.parse(p), room.clock()) for p in honest]
        assert got[-1] == (Kind.ENTRY, b"entry" * 3000)

    asyncio.run(main())


def test_partial_messages_expire_and_are_capped_per_kind() -> None:
    r = Reassembler()
    for p in _first_parts(1, Kind.PACKET, 10, 1):
        r.feed(1, SecureMessage.parse(p), 0.0)
    assert r.buffered == 9 * CHUNK
    r.feed(2, SecureMessage.parse(bytes(SecureMessage(Kind.PACKET, 1, 0, 1, b"x"))), 29.0)
    assert r.buffered == 9 * CHUNK
    r.expire(30.0)  # not finished within 30 s: dropped
    assert r.buffered == 0 and r.drops["expired"] == 1
    # an admission request (anyone may send one) is capped at 64 KiB; refused at its first part
    for p in _first_parts(5, Kind.ENTRY, 128, 5):
        assert r.feed(5, SecureMessage.parse(p), 31.0) is None
    assert r.buffered == 0 and r.drops["too_large"] == 1


def test_key_envelopes_for_a_future_roster_are_bounded() -> None:
    """A relay sends big, unsigned key envelopes "for the next roster" (kept until it arrives)."""
    room = Room(["alice", "bob"])
    room.publish(["alice", "bob"], NOW)
    room.exchange(["alice", "bob"], NOW)
    bob = room.sessions["bob"]
    assert room.roster is not None
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for i in range(64):
            keys = tuple(SealedKey(r, bytes([i]) * 60000) for r in range(16))
            kd = KeyDistribution(ROOM, room.roster.version + 1, 0, 1000 + i, 4, 1, bytes(32), keys, bytes(64))
            try:
                bob.open(bytes(Packet(StreamType.KEYS, bytes(kd))), NOW)
            except (PacketDropped, CryptoError, ProtocolError):
                pass
        held = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert held <= 5 * MiB, f"{held / MiB:.0f} MiB held"  # main 3e2635d: ~60 MiB
