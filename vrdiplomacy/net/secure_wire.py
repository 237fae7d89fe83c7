"""Wire format of the end-to-end layer on the room event channel, and its reassembly.

Every room event of a secured room is one part of a :class:`SecureMessage`::

    u8 magic=0xE5 | u8 kind | u32 msg_id | u16 part | u16 parts | chunk

``kind`` says what the reassembled message is: ``PACKET`` an E2EE packet
(:class:`~vrdiplomacy.crypto.packet.Packet`: key envelopes, frame signatures, sealed room events),
``ROSTER`` a chair-signed :class:`~vrdiplomacy.crypto.roster.Roster`, ``ENTRY`` a member's
:class:`~vrdiplomacy.crypto.roster.RosterEntry` asking the chair for admission. Messages larger
than one room event (rosters and key envelopes of big rooms) are split into up to ``MAX_PARTS``
parts; the relay delivers each member's events in order, so the parts of one sender arrive in
order and :class:`Reassembler` needs no reordering.

A malicious relay can send the first parts of large messages under any number of sender ids and
never the last ones. :class:`Reassembler` bounds what it keeps (:class:`ReassemblySettings`): one
partial message per sender, at most ``max_message_bytes`` each (``max_entry_bytes`` for admission
requests), ``max_total_bytes`` for all senders together (the oldest partial message is dropped
first), and a partial message not completed within ``max_age_s`` is dropped. Every drop is counted
in :attr:`Reassembler.drops` by reason.
"""

from __future__ import annotations

import collections
import enum
import struct
from dataclasses import dataclass, field

from vrdiplomacy.errors import ProtocolError

MAGIC = 0xE5
HEADER = struct.Struct("!BBIHH")
CHUNK = 8000  # payload bytes per part; the header brings a part under wire.MAX_PAYLOAD (8192)
MAX_PARTS = 128  # 1 MB per message at most
MAX_SENDERS = 1024


class Kind(enum.IntEnum):
    """What a reassembled :class:`SecureMessage` holds."""

    PACKET = 1
    ROSTER = 2
    ENTRY = 3


@dataclass(frozen=True)
class SecureMessage:
    """One part of a message: ``kind``, ``msg_id`` (per sender), ``part`` of ``parts``, ``chunk``."""

    kind: Kind
    msg_id: int
    part: int
    parts: int
    chunk: bytes

    def __bytes__(self) -> bytes:
        return HEADER.pack(MAGIC, self.kind, self.msg_id, self.part, self.parts) + self.chunk

    @classmethod
    def parse(cls, data: bytes) -> SecureMessage:
        data = bytes(data)
        if len(data) < HEADER.size:
            raise ProtocolError("secure message: too short")
        magic, kind, msg_id, part, parts = HEADER.unpack_from(data)
        if magic != MAGIC:
            raise ProtocolError("secure message: not an end-to-end message (plaintext event in a secured room)")
        try:
            k = Kind(kind)
        except ValueError:
            raise ProtocolError(f"secure message: unknown kind {kind}") from None
        if not 1 <= parts <= MAX_PARTS or part >= parts:
            raise ProtocolError(f"secure message: part {part} of {parts} is out of range")
        if len(data) - HEADER.size > CHUNK:
            raise ProtocolError("secure message: part too large")
        return cls(k, msg_id, part, parts, data[HEADER.size :])


def split_message(kind: Kind, msg_id: int, data: bytes) -> list[bytes]:
    """The room events that carry ``data`` (at least one, even when empty)."""
    n = max(1, -(-len(data) // CHUNK))
    if n > MAX_PARTS:
        raise ProtocolError(f"secure message of {len(data)} bytes exceeds {MAX_PARTS * CHUNK}")
    return [bytes(SecureMessage(kind, msg_id & 0xFFFFFFFF, i, n, data[i * CHUNK : (i + 1) * CHUNK])) for i in range(n)]


@dataclass
class ReassemblySettings:
    """Bounds on partial messages kept while their parts arrive.

    Fields: ``max_message_bytes`` one message (default: the largest that can be sent, 128 parts,
    about 1 MB); ``max_entry_bytes`` one admission request (64 KiB; a certificate and an HPKE key
    take a few KiB); ``max_total_bytes`` all partial messages together (64 MiB: enough for every
    member of a 250-member hybrid-KEM room sending its key envelope at the same moment);
    ``max_age_s`` how long a partial message may wait for its next parts (30 s);
    ``max_senders`` how many senders may have a partial message at once.
    """

    max_message_bytes: int = MAX_PARTS * CHUNK
    max_entry_bytes: int = 64 * 1024
    max_total_bytes: int = 64 << 20
    max_age_s: float = 30.0
    max_senders: int = MAX_SENDERS


@dataclass
class _Partial:
    kind: Kind
    msg_id: int
    parts: int
    started_at: float
    chunks: list[bytes] = field(default_factory=list)
    size: int = 0


class Reassembler:
    """Joins the parts of each sender's messages within the bounds of ``settings``. A part out of
    sequence drops the partial message (counted in ``broken`` and ``drops["out_of_sequence"]``);
    ``buffered`` is the number of bytes held in partial messages now."""

    def __init__(self, settings: ReassemblySettings | None = None) -> None:
        self.s = settings or ReassemblySettings()
        self._partial: dict[int, _Partial] = {}  # in the order the messages started
        self.buffered = 0
        self.broken = 0
        self.drops: collections.Counter[str] = collections.Counter()

    def _discard(self, sender: int, reason: str) -> None:
        p = self._partial.pop(sender, None)
        if p is not None:
            self.buffered -= p.size
            self.drops[reason] += 1
            if reason == "out_of_sequence":
                self.broken += 1

    def _limit(self, kind: Kind) -> int:
        return min(self.s.max_message_bytes, self.s.max_entry_bytes) if kind == Kind.ENTRY else self.s.max_message_bytes

    def expire(self, now: float) -> None:
        """Drop partial messages that started more than ``max_age_s`` ago."""
        while self._partial:
            sender, p = next(iter(self._partial.items()))
            if now - p.started_at < self.s.max_age_s:
                break
            self._discard(sender, "expired")

    def feed(self, sender: int, msg: SecureMessage, now: float) -> tuple[Kind, bytes] | None:
        """The whole message once its last part arrived, else ``None``."""
        self.expire(now)
        if msg.parts == 1:
            self._discard(sender, "out_of_sequence")
            if len(msg.chunk) > self._limit(msg.kind):
                self.drops["too_large"] += 1
                return None
            return msg.kind, msg.chunk
        cur = self._partial.get(sender)
        if msg.part == 0:
            self._discard(sender, "out_of_sequence")
            if (msg.parts - 1) * CHUNK + 1 > self._limit(msg.kind):
                self.drops["too_large"] += 1
                return None
            if len(self._partial) >= self.s.max_senders:
                self.drops["too_many_senders"] += 1
                return None
            cur = self._partial[sender] = _Partial(msg.kind, msg.msg_id, msg.parts, now)
        elif cur is None or cur.msg_id != msg.msg_id or cur.kind != msg.kind or cur.parts != msg.parts or len(cur.chunks) != msg.part:
            if cur is None:
                self.broken += 1
                self.drops["out_of_sequence"] += 1
            else:
                self._discard(sender, "out_of_sequence")
            return None
        cur.chunks.append(msg.chunk)
        cur.size += len(msg.chunk)
        self.buffered += len(msg.chunk)
        if cur.size > self._limit(cur.kind):
            self._discard(sender, "too_large")
            return None
        while self.buffered > self.s.max_total_bytes:
            self._discard(next(iter(self._partial)), "over_budget")
        if sender not in self._partial:
            return None
        if len(cur.chunks) < cur.parts:
            return None
        self._partial.pop(sender)
        self.buffered -= cur.size
        return cur.kind, b"".join(cur.chunks)

    def forget(self, sender: int) -> None:
        p = self._partial.pop(sender, None)
        if p is not None:
            self.buffered -= p.size
