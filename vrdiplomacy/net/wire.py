"""Wire messages of the relay protocol (version 1).

Two channels:

* **Control** (TLS over TCP): frames ``u16 length | u8 version | u8 type | body``. Strings are
  ``u8 length + UTF-8``, blobs ``u16 length + bytes``; integers big-endian.
* **Media** (UDP): ``u8 version | u8 type | u32 client_id | u64 counter`` (14 bytes, the AEAD
  associated data) followed by the hop-by-hop AEAD ciphertext (see :mod:`vrdiplomacy.net.hop`).
  Inside the seal, uplink voice and pose datagrams start with a small routing header the relay
  reads (audio level; pose key flag, sequence and coarse head position) followed by the
  application payload, which the relay never interprets (end-to-end sealed by the clients).

Every message has ``parse(data)`` (raising :class:`ProtocolError` on malformed input) and
``__bytes__``. :func:`parse_control` dispatches on the type byte.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import ClassVar, Self, TypeVar

from vrdiplomacy.errors import ProtocolError
from vrdiplomacy.net.wire_media import (  # noqa: F401  (the media messages, re-exported)
    DATAGRAM_TYPES,
    DG_BIND,
    DG_BIND_ACK,
    DG_BUNDLE,
    DG_POSE,
    DG_VOICE,
    ENTRY_HDR,
    MAX_DATAGRAM,
    MAX_MEDIA_PAYLOAD,
    MEDIA_HEADER,
    MEDIA_HEADER_SIZE,
    POSE_HDR,
    POSE_KEY,
    VAD_FLAG,
    VOICE_HDR,
    BundleEntry,
    MediaHeader,
    PoseFrame,
    UnknownMessage,
    VoiceFrame,
    level_byte,
    parse_bundle,
)

VERSION = 1
MAX_CONTROL_FRAME = 16384  # bytes of one control message (version + type + body)
MAX_PAYLOAD = 8192  # opaque room-event payload
MAX_INVITATION = 4096  # an invitation to a secured room (see vrdiplomacy.crypto.admission)
NONCE_SIZE = 32



class Reader:
    """A bounds-checked cursor over a message body."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if n < 0 or end > len(self.data):
            raise ProtocolError(f"truncated message (need {n} bytes at offset {self.pos})")
        out = self.data[self.pos : end]
        self.pos = end
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int.from_bytes(self.take(2), "big")

    def u32(self) -> int:
        return int.from_bytes(self.take(4), "big")

    def u64(self) -> int:
        return int.from_bytes(self.take(8), "big")

    def str8(self) -> str:
        raw = self.take(self.u8())
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("string is not valid UTF-8") from None

    def blob16(self, limit: int = MAX_PAYLOAD) -> bytes:
        n = self.u16()
        if n > limit:
            raise ProtocolError(f"blob of {n} bytes exceeds {limit}")
        return self.take(n)

    def end(self) -> None:
        if self.pos != len(self.data):
            raise ProtocolError(f"{len(self.data) - self.pos} trailing bytes")


def _str8(s: str) -> bytes:
    raw = s.encode("utf-8")
    if len(raw) > 255:
        raise ProtocolError(f"string of {len(raw)} bytes exceeds 255")
    return bytes([len(raw)]) + raw


def _blob16(b: bytes, limit: int = MAX_PAYLOAD) -> bytes:
    if len(b) > limit:
        raise ProtocolError(f"blob of {len(b)} bytes exceeds {limit}")
    return len(b).to_bytes(2, "big") + b


M = TypeVar("M", bound="ControlMessage")


class ControlMessage:
    """Base of control messages: ``u8 version | u8 type | body``."""

    TYPE: ClassVar[int] = 0

    def body(self) -> bytes:
        raise ProtocolError(f"{type(self).__name__} has no body encoder")

    @classmethod
    def read_body(cls, r: Reader) -> Self:
        raise ProtocolError(f"{cls.__name__} has no body decoder")

    def __bytes__(self) -> bytes:
        return bytes((VERSION, self.TYPE)) + self.body()

    @classmethod
    def parse(cls, data: bytes) -> Self:
        msg = parse_control(data)
        if not isinstance(msg, cls):
            raise ProtocolError(f"expected {cls.__name__}, got {type(msg).__name__}")
        return msg

    def frame(self) -> bytes:
        """This message with its ``u16`` length prefix, ready for the stream."""
        raw = bytes(self)
        if len(raw) > MAX_CONTROL_FRAME:
            raise ProtocolError(f"control message of {len(raw)} bytes exceeds {MAX_CONTROL_FRAME}")
        return len(raw).to_bytes(2, "big") + raw


# ---------------------------------------------------------------- client -> relay


@dataclass
class Hello(ControlMessage):
    """First message of a connection: who I am, where I sit, and how to resume.

    ``resume_token`` is empty for a fresh session. ``log_id``/``last_room_seq`` name the last room
    event received: the room event log it belongs to (:attr:`Welcome.log_id`; 0: none) and its
    sequence number, so the relay replays what followed, across relay restarts too;
    ``next_event_seq`` is the sequence number of the first room event this client has not had
    acknowledged.
    ``invitation`` (optional trailing ``blob16``, absent when empty) asks for the secured room of
    that invitation's authority; the relay answers with a :class:`Challenge` and admits the client
    after a valid :class:`Proof`.
    """

    TYPE: ClassVar[int] = 0x01
    identity: str
    seat: str
    room: str
    resume_token: bytes = b""
    log_id: int = 0
    last_room_seq: int = 0
    next_event_seq: int = 1
    invitation: bytes = b""

    def body(self) -> bytes:
        return (
            _str8(self.identity)
            + _str8(self.seat)
            + _str8(self.room)
            + _blob16(self.resume_token, 64)
            + struct.pack("!III", self.log_id, self.last_room_seq, self.next_event_seq)
            + _opt_blob(self.invitation)
        )

    @classmethod
    def read_body(cls, r: Reader) -> Hello:
        ident, seat, room, tok = r.str8(), r.str8(), r.str8(), r.blob16(64)
        return cls(ident, seat, room, tok, r.u32(), r.u32(), r.u32(), _read_opt_blob(r))


def _opt_blob(b: bytes) -> bytes:
    return _blob16(b, MAX_INVITATION) if b else b""


def _read_opt_blob(r: Reader) -> bytes:
    if r.pos == len(r.data):
        return b""
    b = r.blob16(MAX_INVITATION)
    if not b:
        raise ProtocolError("empty optional blob must be omitted")
    return b


@dataclass
class Join(ControlMessage):
    """Move to another room (and seat) within the same session; ``invitation`` as in :class:`Hello`."""

    TYPE: ClassVar[int] = 0x02
    room: str
    seat: str
    invitation: bytes = b""

    def body(self) -> bytes:
        return _str8(self.room) + _str8(self.seat) + _opt_blob(self.invitation)

    @classmethod
    def read_body(cls, r: Reader) -> Join:
        return cls(r.str8(), r.str8(), _read_opt_blob(r))


@dataclass
class Leave(ControlMessage):
    """Leave the room and end the session (no resumption)."""

    TYPE: ClassVar[int] = 0x03

    def body(self) -> bytes:
        return b""

    @classmethod
    def read_body(cls, r: Reader) -> Leave:
        return cls()


@dataclass
class Event(ControlMessage):
    """A reliable room event from a client; ``client_seq`` counts up from 1 per session."""

    TYPE: ClassVar[int] = 0x04
    client_seq: int
    payload: bytes

    def body(self) -> bytes:
        return self.client_seq.to_bytes(4, "big") + _blob16(self.payload)

    @classmethod
    def read_body(cls, r: Reader) -> Event:
        return cls(r.u32(), r.blob16())


@dataclass
class Ping(ControlMessage):
    """Heartbeat; the relay answers with :class:`Pong` carrying the same stamp."""

    TYPE: ClassVar[int] = 0x05
    stamp: int

    def body(self) -> bytes:
        return self.stamp.to_bytes(8, "big")

    @classmethod
    def read_body(cls, r: Reader) -> Ping:
        return cls(r.u64())


@dataclass
class Floor(ControlMessage):
    """Take (``take=True``) or release the floor; the holder is heard room-wide."""

    TYPE: ClassVar[int] = 0x06
    take: bool

    def body(self) -> bytes:
        return bytes((1 if self.take else 0,))

    @classmethod
    def read_body(cls, r: Reader) -> Floor:
        v = r.u8()
        if v > 1:
            raise ProtocolError(f"floor flag {v} is not 0 or 1")
        return cls(bool(v))


@dataclass
class Proof(ControlMessage):
    """The client's answer to a :class:`Challenge`: its Ed25519 signature over the relay's nonce,
    the relay's certificate fingerprint and the invitation (:func:`vrdiplomacy.crypto.admission.proof_message`)."""

    TYPE: ClassVar[int] = 0x07
    signature: bytes

    def body(self) -> bytes:
        if len(self.signature) != 64:
            raise ProtocolError("proof signature must be 64 bytes")
        return self.signature

    @classmethod
    def read_body(cls, r: Reader) -> Proof:
        return cls(r.take(64))


# ---------------------------------------------------------------- relay -> client


@dataclass
class Welcome(ControlMessage):
    """Session accepted: media key and port, resume token, event sequence state.

    ``epoch`` changes with every start of the relay process (members missing from the roster
    after a change may still resume). ``room_seq`` is the newest event of the room's event log
    ``log_id`` (optional trailing ``u32``, absent when 0), whose numbers survive relay restarts;
    ``acked_seq`` the newest client sequence number of ours the relay has stored.
    """

    TYPE: ClassVar[int] = 0x81
    client_id: int
    resume_token: bytes
    media_key: bytes
    udp_port: int
    epoch: int
    room_seq: int
    acked_seq: int
    heartbeat_ms: int
    resumed: bool
    log_id: int = 0

    def body(self) -> bytes:
        if len(self.media_key) != 32:
            raise ProtocolError("media key must be 32 bytes")
        return (
            self.client_id.to_bytes(4, "big")
            + _blob16(self.resume_token, 64)
            + self.media_key
            + struct.pack("!HIIIHB", self.udp_port, self.epoch, self.room_seq, self.acked_seq, self.heartbeat_ms, int(self.resumed))
            + (self.log_id.to_bytes(4, "big") if self.log_id else b"")
        )

    @classmethod
    def read_body(cls, r: Reader) -> Welcome:
        cid, tok, key = r.u32(), r.blob16(64), r.take(32)
        port, epoch, rseq, aseq, hb, resumed = struct.unpack("!HIIIHB", r.take(17))
        if resumed > 1:
            raise ProtocolError("resumed flag is not 0 or 1")
        log_id = 0
        if r.pos < len(r.data):
            log_id = r.u32()
            if not log_id:
                raise ProtocolError("a zero event log id must be omitted")
        return cls(cid, tok, key, port, epoch, rseq, aseq, hb, bool(resumed), log_id)


PRESENT, AWAY, LEFT = 1, 2, 3
PRESENCE_STATES = {PRESENT: "present", AWAY: "away", LEFT: "left"}


@dataclass
class Presence(ControlMessage):
    """A member's presence: ``state`` 1 present, 2 away (link lost, may resume), 3 left."""

    TYPE: ClassVar[int] = 0x82
    client_id: int
    state: int
    identity: str
    seat: str

    def body(self) -> bytes:
        return self.client_id.to_bytes(4, "big") + bytes((self.state,)) + _str8(self.identity) + _str8(self.seat)

    @classmethod
    def read_body(cls, r: Reader) -> Presence:
        cid, state = r.u32(), r.u8()
        if state not in PRESENCE_STATES:
            raise ProtocolError(f"unknown presence state {state}")
        return cls(cid, state, r.str8(), r.str8())


@dataclass
class RoomEvent(ControlMessage):
    """A room event as delivered: ``room_seq`` orders all events of a room within an epoch."""

    TYPE: ClassVar[int] = 0x83
    room_seq: int
    sender: int
    payload: bytes

    def body(self) -> bytes:
        return struct.pack("!II", self.room_seq, self.sender) + _blob16(self.payload)

    @classmethod
    def read_body(cls, r: Reader) -> RoomEvent:
        return cls(r.u32(), r.u32(), r.blob16())


@dataclass
class Ack(ControlMessage):
    """Room events up to ``client_seq`` are accepted by the relay."""

    TYPE: ClassVar[int] = 0x84
    client_seq: int

    def body(self) -> bytes:
        return self.client_seq.to_bytes(4, "big")

    @classmethod
    def read_body(cls, r: Reader) -> Ack:
        return cls(r.u32())


@dataclass
class Pong(ControlMessage):
    TYPE: ClassVar[int] = 0x85
    stamp: int

    def body(self) -> bytes:
        return self.stamp.to_bytes(8, "big")

    @classmethod
    def read_body(cls, r: Reader) -> Pong:
        return cls(r.u64())


@dataclass
class FloorState(ControlMessage):
    """Who holds the floor (0: nobody)."""

    TYPE: ClassVar[int] = 0x86
    holder: int

    def body(self) -> bytes:
        return self.holder.to_bytes(4, "big")

    @classmethod
    def read_body(cls, r: Reader) -> FloorState:
        return cls(r.u32())


ERR_VERSION, ERR_BAD_HELLO, ERR_SEAT_TAKEN, ERR_PROTOCOL, ERR_SLOW, ERR_REPLACED, ERR_TIMEOUT, ERR_FULL = range(1, 9)
ERR_NOT_INVITED = 9  # the invitation was refused (wrong room, expired, not signed, another key's)
ERR_SECURED_ROOM = 10  # a plain client asked for a room that is end-to-end encrypted
ERR_SECURED_ONLY = 11  # this relay admits only secured rooms


@dataclass
class Error(ControlMessage):
    """The relay refuses or ends a connection; ``code`` is one of the ``ERR_*`` constants."""

    TYPE: ClassVar[int] = 0x87
    code: int
    message: str

    def body(self) -> bytes:
        return self.code.to_bytes(2, "big") + _str8(self.message[:200])

    @classmethod
    def read_body(cls, r: Reader) -> Error:
        return cls(r.u16(), r.str8())


@dataclass
class RosterEnd(ControlMessage):
    """Ends the roster (a burst of :class:`Presence`) that follows a :class:`Welcome`."""

    TYPE: ClassVar[int] = 0x88
    count: int

    def body(self) -> bytes:
        return self.count.to_bytes(2, "big")

    @classmethod
    def read_body(cls, r: Reader) -> RosterEnd:
        return cls(r.u16())


@dataclass
class Challenge(ControlMessage):
    """The relay asks a client with an invitation to prove it holds the invited key."""

    TYPE: ClassVar[int] = 0x89
    nonce: bytes

    def body(self) -> bytes:
        if len(self.nonce) != NONCE_SIZE:
            raise ProtocolError(f"nonce must be {NONCE_SIZE} bytes")
        return self.nonce

    @classmethod
    def read_body(cls, r: Reader) -> Challenge:
        return cls(r.take(NONCE_SIZE))


NOTICE_UNSECURED_REFUSED = 1  # a client without an invitation asked for this secured room
NOTICE_PLAIN_NAMESAKE = 2  # an unencrypted room of the same name exists on the relay (not this one)


@dataclass
class Notice(ControlMessage):
    """Something the members of a secured room should know about (``code``: ``NOTICE_*``)."""

    TYPE: ClassVar[int] = 0x8A
    code: int
    message: str

    def body(self) -> bytes:
        return self.code.to_bytes(2, "big") + _str8(self.message[:200])

    @classmethod
    def read_body(cls, r: Reader) -> Notice:
        return cls(r.u16(), r.str8())


CONTROL_TYPES: dict[int, type[ControlMessage]] = {
    c.TYPE: c
    for c in (Hello, Join, Leave, Event, Ping, Floor, Proof, Welcome, Presence, RoomEvent, Ack, Pong, FloorState, Error,
              RosterEnd, Challenge, Notice)
}


def parse_control(data: bytes) -> ControlMessage:
    """Parse one control message (without its length prefix)."""
    if len(data) < 2:
        raise ProtocolError("control message shorter than its 2-byte header")
    if data[0] != VERSION:
        raise UnknownMessage(f"unsupported protocol version {data[0]}")
    cls = CONTROL_TYPES.get(data[1])
    if cls is None:
        raise UnknownMessage(f"unknown control message type 0x{data[1]:02x}")
    r = Reader(data, 2)
    msg = cls.read_body(r)
    r.end()
    return msg


@dataclass
class FrameDecoder:
    """Splits a byte stream into control messages (``u16`` length prefixes)."""

    buf: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> None:
        self.buf += data

    def next_frame(self) -> bytes | None:
        """The next complete message, or None. Raises ProtocolError on a bad length."""
        if len(self.buf) < 2:
            return None
        n = int.from_bytes(self.buf[:2], "big")
        if n < 2 or n > MAX_CONTROL_FRAME:
            raise ProtocolError(f"control frame length {n} out of range")
        if len(self.buf) < 2 + n:
            return None
        out = bytes(self.buf[2 : 2 + n])
        del self.buf[: 2 + n]
        return out

    def incomplete(self) -> bool:
        """True while the buffer holds only the start of a frame (some bytes, not all of them)."""
        b = self.buf
        return bool(b) and (len(b) < 2 or len(b) < 2 + int.from_bytes(b[:2], "big"))
