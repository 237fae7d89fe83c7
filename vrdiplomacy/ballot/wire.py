"""The vote's room events: one tag byte, a version, a kind, the vote id, then the body.

They travel on the signed, end-to-end sealed event stream :data:`STREAM` (a secured room seals and
signs each one; the relay sees only ciphertext). Layout (big-endian; ``text`` = u16 length + UTF-8,
points and scalars 32 bytes)::

    u8 tag 0x56 ("V")  u8 version 1  u8 kind  text vote_id  body
    kind 1 OPEN      manifest (see Manifest.write)
    kind 2 COMMIT    u8 trustee index, u8 k, k × (point K_m, 64-byte Schnorr proof), point share key
    kind 3 SHARES    u8 dealer index, u8 count, count × (u8 to, 80-byte sealed share)
    kind 4 BALLOT    text voter, u8 n, n × (64-byte ciphertext, 128-byte range proof), 64-byte sum proof
    kind 5 RECORDED  text voter, u8 option index
    kind 6 CLOSE     (nothing)
    kind 7 PARTIAL   u8 trustee index, u8 n, n × (point M, 64-byte Chaum–Pedersen proof)
    kind 8 SYNC      (nothing; vote_id: the asking process's random id) a client that (re)started asks
                     for the votes it missed
    kind 9 RESTATED  u16 position, u16 total, text original sender, blob original message
    kind 10 DIGEST   u16 count, 32-byte hash chain of the board's first count entries
    kind 11 FAIL     text reason (the chair: the tally's deadline passed)
    kind 12 OPEN_PART  u16 index, u16 count, blob chunk: one piece of an opening too large for one
                     room event (a big electorate); the chunks in order are the manifest's bytes

An opening travels as one OPEN when it fits one room event (:func:`open_messages`), else as 2 to
:data:`MAX_OPEN_PARTS` OPEN_PARTs in a row from the chair; the board keeps those parts as its first
entries (each fits a room event, so a member can restate them), and :func:`join_open` makes the
opening of them.

Kinds 8–10 let a client that missed a vote's messages (a crashed trustee's new process, whose
keys cannot open what was sealed before; a member who joined late) rebuild its board: one member
restates every entry as it sits on its board, the others send the board's digest so the
newcomer can tell a faithful restatement from a forged one (:mod:`vrdiplomacy.ballot.sync`).

The tag is distinct from the other room events (GestureEvent's version byte 1, handshake 0x48 "H",
presence 0x50 "P", feedback 0x4C "L"). :func:`parse` raises :class:`ProtocolError` on anything
malformed. Byte vectors: tests/ballot/test_wire.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from vrdiplomacy.ballot import ceremony as ce
from vrdiplomacy.ballot import group as g
from vrdiplomacy.ballot import proofs as zk
from vrdiplomacy.ballot.codec import Reader, Writer
from vrdiplomacy.ballot.election import EncryptedBallot, Manifest
from vrdiplomacy.errors import CryptoError, ProtocolError

STREAM = "vote"
TAG = 0x56
VERSION = 1
OPEN, COMMIT, SHARES, BALLOT, RECORDED, CLOSE, PARTIAL, SYNC, RESTATED, DIGEST, FAIL, OPEN_PART = range(1, 13)
KIND_NAMES = {OPEN: "open", COMMIT: "commit", SHARES: "shares", BALLOT: "ballot", RECORDED: "recorded",
              CLOSE: "close", PARTIAL: "partial", SYNC: "sync", RESTATED: "restated", DIGEST: "digest", FAIL: "fail",
              OPEN_PART: "open-part"}
DIGEST_BYTES = 32
MAX_OPEN_PARTS = 128  # an opening of up to ~900 KB: 4096 voters with names of up to ~200 bytes


def _head(kind: int, vote_id: str) -> Writer:
    return Writer().u8(TAG).u8(VERSION).u8(kind).text(vote_id)


@dataclass(frozen=True)
class Open:
    manifest: Manifest
    kind = OPEN

    @property
    def vote_id(self) -> str:
        return self.manifest.vote_id

    def __bytes__(self) -> bytes:
        w = Writer().u8(TAG).u8(VERSION).u8(OPEN)
        self.manifest.write(w)
        return bytes(w)


@dataclass(frozen=True)
class OpenPart:
    """Piece ``index`` of ``count`` of the opening of ``vote_id`` (its manifest's bytes, cut in order)."""

    vote_id: str
    index: int
    count: int
    chunk: bytes
    kind = OPEN_PART

    def __bytes__(self) -> bytes:
        return bytes(_head(OPEN_PART, self.vote_id).u16(self.index).u16(self.count).blob(self.chunk))


def open_messages(manifest: Manifest, limit: int) -> list[Open] | list[OpenPart]:
    """The messages that open ``manifest``, none longer than ``limit`` bytes: one :class:`Open`
    when it fits, else :class:`OpenPart` pieces (ProtocolError when more than
    :data:`MAX_OPEN_PARTS` would be needed)."""
    whole = Open(manifest)
    if len(bytes(whole)) <= limit:
        return [whole]
    data = bytes(manifest)
    step = limit - len(bytes(OpenPart(manifest.vote_id, 0, 0, b"")))
    count = -(-len(data) // step) if step > 0 else MAX_OPEN_PARTS + 1
    if count > MAX_OPEN_PARTS:
        raise ProtocolError(f"the vote's opening is {len(bytes(whole))} bytes, more than {MAX_OPEN_PARTS} room events "
                            f"carry ({MAX_OPEN_PARTS * max(step, 0)} bytes)")
    return [OpenPart(manifest.vote_id, i, count, data[i * step:(i + 1) * step]) for i in range(count)]


def join_open(parts: list[OpenPart]) -> Open:
    """The opening that ``parts`` (all of them, in order) carry; ProtocolError if they do not make one."""
    if not parts or len(parts) != parts[0].count:
        raise ProtocolError(f"an opening in {parts[0].count if parts else '?'} parts, {len(parts)} given")
    vid = parts[0].vote_id
    for i, p in enumerate(parts):
        if p.index != i or p.count != len(parts) or p.vote_id != vid:
            raise ProtocolError(f"opening part {p.index} of {p.count} ({p.vote_id!r}) out of sequence")
    m = Manifest.parse(b"".join(p.chunk for p in parts))
    if m.vote_id != vid:
        raise ProtocolError(f"the parts of {vid!r} open {m.vote_id!r}")
    return Open(m)


@dataclass(frozen=True)
class Commit:
    vote_id: str
    commitment: ce.Commitment
    kind = COMMIT

    def __bytes__(self) -> bytes:
        w = _head(COMMIT, self.vote_id)
        self.commitment.write(w)
        return bytes(w)


@dataclass(frozen=True)
class Shares:
    vote_id: str
    dealer: int
    sealed: tuple[tuple[int, bytes], ...]  # (to trustee index, sealed share)
    kind = SHARES

    def __bytes__(self) -> bytes:
        w = _head(SHARES, self.vote_id).u8(self.dealer).u8(len(self.sealed))
        for to, s in self.sealed:
            w.u8(to).raw(s)
        return bytes(w)


@dataclass(frozen=True)
class Cast:
    vote_id: str
    ballot: EncryptedBallot
    kind = BALLOT

    def __bytes__(self) -> bytes:
        w = _head(BALLOT, self.vote_id)
        self.ballot.write(w)
        return bytes(w)


@dataclass(frozen=True)
class RecordedCast:
    vote_id: str
    voter: str
    choice: int
    kind = RECORDED

    def __bytes__(self) -> bytes:
        return bytes(_head(RECORDED, self.vote_id).text(self.voter).u8(self.choice))


@dataclass(frozen=True)
class Close:
    vote_id: str
    kind = CLOSE

    def __bytes__(self) -> bytes:
        return bytes(_head(CLOSE, self.vote_id))


@dataclass(frozen=True)
class Partial:
    vote_id: str
    trustee: int
    shares: tuple[tuple[g.Point, zk.DleqProof], ...]  # one (M_j, proof) per option
    kind = PARTIAL

    def __bytes__(self) -> bytes:
        w = _head(PARTIAL, self.vote_id).u8(self.trustee).u8(len(self.shares))
        for m, pr in self.shares:
            w.raw(m).raw(bytes(pr))
        return bytes(w)


@dataclass(frozen=True)
class Fail:
    """The chair declares the vote failed (its tally's deadline passed); the board says why."""

    vote_id: str
    reason: str = ""
    kind = FAIL

    def __bytes__(self) -> bytes:
        return bytes(_head(FAIL, self.vote_id).text(self.reason))


@dataclass(frozen=True)
class Sync:
    """A client that (re)started asks the room for the votes of this meeting it has no board of
    (``vote_id``: a random id of the asking process, the same in its repeated asks)."""

    vote_id: str = ""
    kind = SYNC

    def __bytes__(self) -> bytes:
        return bytes(_head(SYNC, self.vote_id))


@dataclass(frozen=True)
class Restated:
    """Entry ``position`` of ``total`` on the restating member's board: ``message`` as ``sender`` signed it."""

    vote_id: str
    position: int
    total: int
    sender: str
    message: bytes
    kind = RESTATED

    def __bytes__(self) -> bytes:
        return bytes(_head(RESTATED, self.vote_id).u16(self.position).u16(self.total).text(self.sender).blob(self.message))


@dataclass(frozen=True)
class Digest:
    """The hash chain of the first ``count`` entries of the sender's board of ``vote_id``."""

    vote_id: str
    count: int
    digest: bytes
    kind = DIGEST

    def __bytes__(self) -> bytes:
        return bytes(_head(DIGEST, self.vote_id).u16(self.count).raw(self.digest))


VoteMessage = Open | OpenPart | Commit | Shares | Cast | RecordedCast | Close | Partial | Fail
SyncMessage = Sync | Restated | Digest


def is_vote(data: bytes) -> bool:
    """Whether a room event is (meant to be) a vote message: its first byte is the tag."""
    return data[:1] == bytes([TAG])


def parse(data: bytes) -> VoteMessage | SyncMessage:
    """One vote message from a room event's payload."""
    data = bytes(data)
    if len(data) < 3 or data[0] != TAG:
        raise ProtocolError("not a vote message")
    if data[1] != VERSION:
        raise ProtocolError(f"vote message version {data[1]} not supported")
    kind = data[2]
    r = Reader(data, 3)
    msg: VoteMessage | SyncMessage
    try:
        if kind == OPEN:
            msg = Open(Manifest.read(r))
        else:
            vid = r.text()
            if kind == COMMIT:
                msg = Commit(vid, ce.Commitment.read(r))
            elif kind == SHARES:
                dealer, n = r.u8(), r.u8()
                msg = Shares(vid, dealer, tuple((r.u8(), r.take(ce.SEALED_SHARE_BYTES)) for _ in range(n)))
            elif kind == BALLOT:
                msg = Cast(vid, EncryptedBallot.read(r))
            elif kind == RECORDED:
                msg = RecordedCast(vid, r.text(), r.u8())
            elif kind == CLOSE:
                msg = Close(vid)
            elif kind == PARTIAL:
                t, n = r.u8(), r.u8()
                msg = Partial(vid, t, tuple((g.point_from(r.take(32)), zk.DleqProof.parse(r.take(64)))
                                            for _ in range(n)))
            elif kind == FAIL:
                msg = Fail(vid, r.text())
            elif kind == SYNC:
                msg = Sync(vid)
            elif kind == RESTATED:
                pos, total = r.u16(), r.u16()
                msg = Restated(vid, pos, total, r.text(), r.blob())
                if not pos < total:
                    raise ProtocolError(f"restated entry {pos} of {total}")
            elif kind == DIGEST:
                msg = Digest(vid, r.u16(), r.take(DIGEST_BYTES))
            elif kind == OPEN_PART:
                index, count = r.u16(), r.u16()
                msg = OpenPart(vid, index, count, r.blob())
                if not (2 <= count <= MAX_OPEN_PARTS and index < count):
                    raise ProtocolError(f"opening part {index} of {count}")
            else:
                raise ProtocolError(f"unknown vote message kind {kind}")
    except CryptoError as e:
        raise ProtocolError(f"malformed vote message: {e}") from e
    r.end()
    return msg
