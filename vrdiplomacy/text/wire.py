"""The joint text's room events (stream :data:`STREAM`, sealed and signed in a secured room).

Layout (big-endian)::

    u8 tag 0x54 ("T")  u8 version 1  u8 kind  u16 len + UTF-8 doc id  body
    kind 1 UPDATE      u32 author's sequence number, u32 len + CRDT update (Yjs v1 encoding)
    kind 2 SYNC        u8 flags (1: answer with your own SYNC too), u32 len + state vector
    kind 3 SYNC_REPLY  u32 len + CRDT update (what the SYNC's sender lacked)
    kind 4 PART        u32 message id, u16 index, u16 count, u32 len + bytes: one piece of a text
                       message too large for one room event (a sealed event holds ~8 KB)
    kind 5 CURSOR      u8 flags (1: editing), u32 character position: awareness, sent as an
                       ephemeral event (not stored, never in the CRDT)

Byte vectors: tests/text/test_wire.py. :func:`parse` raises :class:`ProtocolError` on anything else.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from vrdiplomacy.errors import ProtocolError

STREAM = "room"  # the end-to-end layer's generic signed event stream (streams are fixed there)
TAG = 0x54
VERSION = 1
UPDATE, SYNC, SYNC_REPLY, PART, CURSOR = 1, 2, 3, 4, 5
MAX_EVENT = 7000  # bytes of one text message in one room event; larger ones travel in parts
MAX_PARTS = 128
MAX_DOC_ID = 128
MAX_BLOB = 512 * 1024  # a secured room's event carries up to ~1 MB
_HEAD = struct.Struct(">BBBH")


def _blob(data: bytes) -> bytes:
    if len(data) > MAX_BLOB:
        raise ProtocolError(f"text update of {len(data)} bytes exceeds {MAX_BLOB}")
    return struct.pack(">I", len(data)) + data


def _head(kind: int, doc: str) -> bytes:
    d = doc.encode()
    if not 0 < len(d) <= MAX_DOC_ID:
        raise ProtocolError(f"document id of {len(d)} bytes")
    return _HEAD.pack(TAG, VERSION, kind, len(d)) + d


@dataclass(frozen=True)
class Update:
    doc: str
    seq: int
    update: bytes

    def __bytes__(self) -> bytes:
        return _head(UPDATE, self.doc) + struct.pack(">I", self.seq) + _blob(self.update)


@dataclass(frozen=True)
class Sync:
    doc: str
    state_vector: bytes
    answer: bool = False

    def __bytes__(self) -> bytes:
        return _head(SYNC, self.doc) + bytes([int(self.answer)]) + _blob(self.state_vector)


@dataclass(frozen=True)
class SyncReply:
    doc: str
    update: bytes

    def __bytes__(self) -> bytes:
        return _head(SYNC_REPLY, self.doc) + _blob(self.update)


@dataclass(frozen=True)
class Part:
    doc: str
    msg_id: int
    index: int
    count: int
    chunk: bytes

    def __bytes__(self) -> bytes:
        return _head(PART, self.doc) + struct.pack(">IHH", self.msg_id, self.index, self.count) + _blob(self.chunk)


@dataclass(frozen=True)
class Cursor:
    """Where a member's caret is (awareness: sent as an ephemeral event, never in the CRDT)."""

    doc: str
    index: int
    editing: bool = True

    def __bytes__(self) -> bytes:
        return _head(CURSOR, self.doc) + bytes([int(self.editing)]) + struct.pack(">I", self.index)


TextMessage = Update | Sync | SyncReply | Part | Cursor


def split(doc: str, msg_id: int, data: bytes) -> list[bytes]:
    """``data`` (one text message) as room-event payloads: itself, or parts."""
    if len(data) <= MAX_EVENT:
        return [data]
    step = MAX_EVENT - 64
    chunks = [data[i:i + step] for i in range(0, len(data), step)]
    if len(chunks) > MAX_PARTS:
        raise ProtocolError(f"text message of {len(data)} bytes needs more than {MAX_PARTS} parts")
    return [bytes(Part(doc, msg_id, i, len(chunks), c)) for i, c in enumerate(chunks)]


def is_text(data: bytes) -> bool:
    return data[:1] == bytes([TAG])


def parse(data: bytes) -> TextMessage:
    data = bytes(data)
    if len(data) < _HEAD.size or data[0] != TAG:
        raise ProtocolError("not a text message")
    _, ver, kind, n = _HEAD.unpack_from(data)
    if ver != VERSION:
        raise ProtocolError(f"text message version {ver} not supported")
    pos = _HEAD.size
    if not 0 < n <= MAX_DOC_ID or pos + n > len(data):
        raise ProtocolError("bad document id")
    try:
        doc = data[pos:pos + n].decode()
    except UnicodeDecodeError as e:
        raise ProtocolError("document id is not UTF-8") from e
    pos += n

    def blob(at: int) -> bytes:
        if at + 4 > len(data):
            raise ProtocolError("text message truncated")
        (m,) = struct.unpack_from(">I", data, at)
        if m > MAX_BLOB or at + 4 + m != len(data):
            raise ProtocolError("text message length does not match")
        return data[at + 4:]

    if kind == UPDATE:
        if pos + 4 > len(data):
            raise ProtocolError("text message truncated")
        (seq,) = struct.unpack_from(">I", data, pos)
        return Update(doc, seq, blob(pos + 4))
    if kind == SYNC:
        if pos + 1 > len(data):
            raise ProtocolError("text message truncated")
        if data[pos] > 1:
            raise ProtocolError(f"unknown sync flags {data[pos]}")
        return Sync(doc, blob(pos + 1), bool(data[pos]))
    if kind == SYNC_REPLY:
        return SyncReply(doc, blob(pos))
    if kind == PART:
        if pos + 8 > len(data):
            raise ProtocolError("text message truncated")
        mid, idx, cnt = struct.unpack_from(">IHH", data, pos)
        if not 0 <= idx < cnt <= MAX_PARTS:
            raise ProtocolError(f"part {idx} of {cnt}")
        return Part(doc, mid, idx, cnt, blob(pos + 8))
    if kind == CURSOR:
        if pos + 5 != len(data):
            raise ProtocolError("cursor message length does not match")
        if data[pos] > 1:
            raise ProtocolError(f"unknown cursor flags {data[pos]}")
        return Cursor(doc, struct.unpack_from(">I", data, pos + 1)[0], bool(data[pos]))
    raise ProtocolError(f"unknown text message kind {kind}")
