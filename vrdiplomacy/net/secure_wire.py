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
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

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


class Reassembler:
    """Joins the parts of each sender's messages; a part out of sequence drops the partial message
    (counted in ``broken``)."""

    def __init__(self) -> None:
        self._partial: dict[int, tuple[SecureMessage, list[bytes]]] = {}
        self.broken = 0

    def feed(self, sender: int, msg: SecureMessage) -> tuple[Kind, bytes] | None:
        """The whole message once its last part arrived, else ``None``."""
        if msg.parts == 1:
            if self._partial.pop(sender, None) is not None:
                self.broken += 1
            return msg.kind, msg.chunk
        cur = self._partial.get(sender)
        if msg.part == 0:
            if cur is not None:
                self.broken += 1
            if sender not in self._partial and len(self._partial) >= MAX_SENDERS:
                self.broken += 1
                return None
            self._partial[sender] = (msg, [msg.chunk])
            return None
        if cur is None or cur[0].msg_id != msg.msg_id or cur[0].kind != msg.kind or cur[0].parts != msg.parts or len(cur[1]) != msg.part:
            if cur is not None:
                del self._partial[sender]
            self.broken += 1
            return None
        cur[1].append(msg.chunk)
        if len(cur[1]) < msg.parts:
            return None
        del self._partial[sender]
        return msg.kind, b"".join(cur[1])

    def forget(self, sender: int) -> None:
        self._partial.pop(sender, None)
