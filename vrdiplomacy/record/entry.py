"""The record's wire formats (sans-I/O): a file header and hash-chained, signed entries.

A record is one :class:`RecordHeader` followed by entries numbered 1, 2, 3, ... Each
:class:`Entry` names the hash of the one before it (entry 1 names the header's hash), and is
signed with Ed25519 by the recording node's delegation key, whose X.509 certificate (DER) sits in
the header. Changing, removing, inserting or reordering anything breaks a signature, a sequence
number or the chain (:mod:`vrdiplomacy.record.verify` says which entry first).

Byte encodings (big-endian; vec8/vec16 are a 1/2-byte length then the bytes; text is UTF-8)::

    RecordHeader: u8 version=1 | 16 record_id | vec8 room | vec8 relay | u64 created_us
                  | vec16 certificate (DER)
    Entry:        u8 version=1 | u64 seq | u64 time_us | vec8 kind
                  | vec8 actor.name | vec8 actor.delegation | vec8 subject.name | vec8 subject.delegation
                  | vec16 text | u8 n | n * (vec8 key | vec16 value) | 32 prev_hash | 64 signature

    header hash = SHA-256("vrdiplomacy record header v1\\0" | header bytes)
    entry hash  = SHA-256("vrdiplomacy record entry hash v1\\0" | entry bytes, signature included)
    signature   = Ed25519 over "vrdiplomacy record entry v1\\0" | entry bytes without the signature

Times are Unix microseconds (UTC) of the recording node's clock. An empty actor or subject name
means nobody (the procedure itself, or a record event). ``data`` holds further fields as
ordered (key, value) text pairs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from vrdiplomacy.crypto.wire import Reader, Writer
from vrdiplomacy.errors import CryptoError, ProtocolError, VrdError

VERSION = 1
HASH_LEN = 32
SIG_LEN = 64
RECORD_ID_LEN = 16
MAX_DATA = 32
_HEADER_LABEL = b"vrdiplomacy record header v1\x00"
_HASH_LABEL = b"vrdiplomacy record entry hash v1\x00"
_SIGN_LABEL = b"vrdiplomacy record entry v1\x00"


class RecordError(VrdError):
    """A record file is missing, damaged, does not verify, or cannot be written."""


def _text(b: bytes, what: str) -> str:
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError(f"{what} is not UTF-8") from None


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes (on a character boundary)."""
    b = text.encode("utf-8")
    if len(b) <= limit:
        return text
    return b[:limit].decode("utf-8", "ignore")


@dataclass(frozen=True)
class Party:
    """Who did something or had it done to them: a ``name`` and its ``delegation`` (country or
    delegation name; may be empty). In a secured room both come from the member's verified
    certificate in the chair-signed roster."""

    name: str
    delegation: str = ""

    def label(self) -> str:
        if self.delegation and self.delegation != self.name:
            return f"{self.name} ({self.delegation})"
        return self.name


NOBODY = Party("")


@dataclass(frozen=True)
class RecordHeader:
    """What a record is about and who keeps it: a random ``record_id``, the ``room``, the
    ``relay`` address, when it was created (Unix µs) and the keeper's ``certificate`` (DER)."""

    record_id: bytes
    room: str
    relay: str
    created_us: int
    certificate: bytes

    def __bytes__(self) -> bytes:
        if len(self.record_id) != RECORD_ID_LEN:
            raise ProtocolError(f"record header: the record id must be {RECORD_ID_LEN} bytes")
        return (Writer().u8(VERSION).raw(self.record_id).vec8(self.room.encode()).vec8(self.relay.encode())
                .u64(self.created_us).vec16(self.certificate).bytes())

    @classmethod
    def parse(cls, data: bytes) -> RecordHeader:
        r = Reader(data, "record header")
        if (v := r.u8()) != VERSION:
            raise ProtocolError(f"record header: version {v} is not supported")
        rid = r.take(RECORD_ID_LEN)
        room, relay = _text(r.vec8(), "record header: room"), _text(r.vec8(), "record header: relay")
        created, cert = r.u64(), r.vec16()
        r.done()
        return cls(rid, room, relay, created, cert)

    def hash(self) -> bytes:
        return hashlib.sha256(_HEADER_LABEL + bytes(self)).digest()


@dataclass(frozen=True)
class Entry:
    """One event in the record (see the module docstring for its bytes)."""

    seq: int
    time_us: int
    kind: str
    actor: Party
    subject: Party
    text: str
    data: tuple[tuple[str, str], ...] = ()
    prev_hash: bytes = bytes(HASH_LEN)
    signature: bytes = field(default=b"", compare=True)

    def _body(self) -> bytes:
        if len(self.prev_hash) != HASH_LEN:
            raise ProtocolError("record entry: the previous hash must be 32 bytes")
        if len(self.data) > MAX_DATA:
            raise ProtocolError(f"record entry: more than {MAX_DATA} data fields")
        w = Writer().u8(VERSION).u64(self.seq).u64(self.time_us).vec8(self.kind.encode())
        for p in (self.actor, self.subject):
            w.vec8(p.name.encode()).vec8(p.delegation.encode())
        w.vec16(self.text.encode()).u8(len(self.data))
        for k, v in self.data:
            w.vec8(k.encode()).vec16(v.encode())
        return w.raw(self.prev_hash).bytes()

    def signed_part(self) -> bytes:
        return _SIGN_LABEL + self._body()

    def __bytes__(self) -> bytes:
        if len(self.signature) != SIG_LEN:
            raise ProtocolError("record entry: not signed")
        return self._body() + self.signature

    @classmethod
    def parse(cls, data: bytes) -> Entry:
        r = Reader(data, "record entry")
        if (v := r.u8()) != VERSION:
            raise ProtocolError(f"record entry: version {v} is not supported")
        seq, t = r.u64(), r.u64()
        kind = _text(r.vec8(), "record entry: kind")
        actor = Party(_text(r.vec8(), "record entry: actor"), _text(r.vec8(), "record entry: actor"))
        subject = Party(_text(r.vec8(), "record entry: subject"), _text(r.vec8(), "record entry: subject"))
        text = _text(r.vec16(), "record entry: text")
        n = r.u8()
        if n > MAX_DATA:
            raise ProtocolError(f"record entry: {n} data fields exceed {MAX_DATA}")
        data = tuple((_text(r.vec8(), "record entry: data key"), _text(r.vec16(), "record entry: data value"))
                     for _ in range(n))
        prev, sig = r.take(HASH_LEN), r.take(SIG_LEN)
        r.done()
        return cls(seq, t, kind, actor, subject, text, data, prev, sig)

    def hash(self) -> bytes:
        return hashlib.sha256(_HASH_LABEL + bytes(self)).digest()

    def signed(self, key: ed25519.Ed25519PrivateKey) -> Entry:
        """This entry with its signature by ``key``."""
        unsigned = Entry(self.seq, self.time_us, self.kind, self.actor, self.subject, self.text, self.data,
                         self.prev_hash)
        return Entry(self.seq, self.time_us, self.kind, self.actor, self.subject, self.text, self.data,
                     self.prev_hash, key.sign(unsigned.signed_part()))

    def verify(self, key: ed25519.Ed25519PublicKey) -> None:
        try:
            key.verify(self.signature, self.signed_part())
        except InvalidSignature:
            raise CryptoError(f"entry {self.seq}: signature does not verify") from None

    def get(self, key: str, default: str = "") -> str:
        """The value of data field ``key`` (``default`` when absent)."""
        return next((v for k, v in self.data if k == key), default)


@dataclass(frozen=True)
class Note:
    """Something to record, before it is numbered, chained and signed: ``time_us`` (Unix µs),
    ``kind``, ``actor`` and ``subject`` (:data:`NOBODY` when nobody), the minutes' ``text`` and
    further ``data``."""

    time_us: int
    kind: str
    actor: Party
    subject: Party
    text: str
    data: tuple[tuple[str, str], ...] = ()


class Chain:
    """Numbers, chains and signs notes (sans-I/O): the next entry follows ``last`` (None: the
    first entry, chained to the header). :meth:`next` advances; a caller that cannot store the
    entry it got must not go on with this chain (reopen the record instead). Times never go
    backwards in a record: a note older than the last entry (a clock step, or an event stamped
    on receipt a moment before one already written) takes the last entry's time."""

    def __init__(self, header: RecordHeader, key: ed25519.Ed25519PrivateKey, last: Entry | None = None) -> None:
        self.header = header
        self.key = key
        self.seq = 0 if last is None else last.seq
        self.head = header.hash() if last is None else last.hash()
        self.time_us = header.created_us if last is None else last.time_us

    def next(self, note: Note) -> Entry:
        t = max(self.time_us, note.time_us)
        e = Entry(self.seq + 1, t, clip(note.kind, 255), _fit(note.actor), _fit(note.subject),
                  clip(note.text, 0xFFFF), tuple((clip(k, 255), clip(v, 0xFFFF)) for k, v in note.data[:MAX_DATA]),
                  self.head).signed(self.key)
        self.seq, self.head, self.time_us = e.seq, e.hash(), t
        return e


def _fit(p: Party) -> Party:
    return Party(clip(p.name, 255), clip(p.delegation, 255))
