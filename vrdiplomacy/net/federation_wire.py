"""What relay nodes of a federation say to each other over NATS: subjects and messages.

Subjects (``<room>``: :func:`room_token`, 32 hex digits of SHA-256 of the room key, so a room's
name and its authority never appear on NATS):

==============================  ====================================================================
``vrd.room.<room>.voice``       :class:`MediaBatch`: a node's voice entries of one wake-up (core NATS)
``vrd.room.<room>.pose``        :class:`MediaBatch`: its pose entries of one wake-up (core NATS)
``vrd.room.<room>.presence``    :class:`PresenceMsg`: a member here / away / left, or a roster request
``vrd.room.<room>.floor``       :class:`FloorMsg`: who holds the floor
``vrd.room.<room>.place``       :class:`PlaceMsg`: a member's space and interpretation channels
``vrd.room.<room>.spaceev``     :class:`SpaceEventMsg`: a member's space event (not stored)
``vrd.event.<room>``            :class:`EventRecord` in the JetStream stream ``VRD_EV_<room>``
``vrd.node.alive``              :class:`Alive`: a node's heartbeat (every ``alive_interval``)
==============================  ====================================================================

Entries in a media batch are the relay's downlink entries (``ENTRY_HDR``: kind, source client id,
length, then the opaque payload as the client sealed it): a receiving node appends them to its
own members' bundles as they are. The stream's sequence number *is* the room's event order.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

from vrdiplomacy.errors import ProtocolError

VERSION = 1
ALIVE_SUBJECT = "vrd.node.alive"
VOICE, POSE = 1, 2
STREAMS = {"voice": VOICE, "pose": POSE}
PRESENT, AWAY, LEFT, ROSTER_REQUEST = 1, 2, 3, 4

_BATCH = struct.Struct("!BBIQ")  # version, kind, node id, send time (UNIX ns: transit statistics only)
_PRESENCE = struct.Struct("!BIBI")  # version, node id, state, client id
_FLOOR = struct.Struct("!BII")  # version, node id, holder
_RECORD = struct.Struct("!BII")  # version, sender client id, client sequence number
_ALIVE = struct.Struct("!BI")  # version, node id
_PLACE = struct.Struct("!BII")  # version, node id, client id
_SPACE_EV = struct.Struct("!BII")  # version, node id, sender client id


def room_token(key: str) -> str:
    """The room's name on NATS (a room key holds the room name and the authority fingerprint)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def room_subject(token: str, stream: str) -> str:
    return f"vrd.room.{token}.{stream}"


def event_subject(token: str) -> str:
    return f"vrd.event.{token}"


def stream_name(token: str) -> str:
    return f"VRD_EV_{token}"


def log_id_of(key: str) -> int:
    """The event log id of a federated room: the same on every node (a client resumes anywhere)."""
    return int.from_bytes(hashlib.sha256(b"vrd-log-v1" + key.encode("utf-8")).digest()[:4], "big") or 1


def _check(data: bytes, size: int, what: str) -> None:
    if len(data) < size:
        raise ProtocolError(f"{what}: {len(data)} bytes, at least {size} expected")
    if data[0] != VERSION:
        raise ProtocolError(f"{what}: version {data[0]}, expected {VERSION}")


def _text(data: bytes, pos: int, what: str) -> tuple[str, int]:
    if pos + 2 > len(data):
        raise ProtocolError(f"{what}: truncated")
    n = int.from_bytes(data[pos:pos + 2], "big")
    if pos + 2 + n > len(data):
        raise ProtocolError(f"{what}: truncated")
    try:
        return data[pos + 2:pos + 2 + n].decode("utf-8"), pos + 2 + n
    except UnicodeDecodeError:
        raise ProtocolError(f"{what}: text is not UTF-8") from None


def _pack_text(s: str) -> bytes:
    b = s.encode("utf-8")[:0xFFFF]
    return len(b).to_bytes(2, "big") + b


@dataclass(frozen=True)
class MediaBatch:
    """Voice or pose entries a node forwards to the other nodes of a room."""

    kind: int
    node: int
    entries: bytes
    sent_ns: int = 0

    def __bytes__(self) -> bytes:
        return _BATCH.pack(VERSION, self.kind, self.node, self.sent_ns) + self.entries

    @classmethod
    def parse(cls, data: bytes) -> MediaBatch:
        _check(data, _BATCH.size, "media batch")
        _v, kind, node, sent = _BATCH.unpack_from(data)
        if kind not in (VOICE, POSE):
            raise ProtocolError(f"media batch: unknown kind {kind}")
        return cls(kind, node, bytes(data[_BATCH.size:]), sent)


@dataclass(frozen=True)
class PresenceMsg:
    """A member of ``node`` is present, away or has left; or (``ROSTER_REQUEST``) a node asks the
    others to announce their members of the room (it has just opened the room, or reconnected)."""

    node: int
    state: int
    client_id: int
    identity: str = ""
    seat: str = ""
    role: str = ""  # the role the member's invitation gave (secured rooms); absent in older messages

    def __bytes__(self) -> bytes:
        return (_PRESENCE.pack(VERSION, self.node, self.state, self.client_id) + _pack_text(self.identity)
                + _pack_text(self.seat) + _pack_text(self.role))

    @classmethod
    def parse(cls, data: bytes) -> PresenceMsg:
        _check(data, _PRESENCE.size, "presence")
        _v, node, state, cid = _PRESENCE.unpack_from(data)
        if state not in (PRESENT, AWAY, LEFT, ROSTER_REQUEST):
            raise ProtocolError(f"presence: unknown state {state}")
        identity, pos = _text(data, _PRESENCE.size, "presence")
        seat, pos = _text(data, pos, "presence")
        role = _text(data, pos, "presence")[0] if pos < len(data) else ""
        return cls(node, state, cid, identity, seat, role)


@dataclass(frozen=True)
class PlaceMsg:
    """Where a member of ``node`` now is in the room (accepted there: ``wire_spaces.Place``)."""

    node: int
    client_id: int
    space: str = ""
    interpret: str = ""
    listen: str = ""

    def __bytes__(self) -> bytes:
        return (_PLACE.pack(VERSION, self.node, self.client_id) + _pack_text(self.space) + _pack_text(self.interpret)
                + _pack_text(self.listen))

    @classmethod
    def parse(cls, data: bytes) -> PlaceMsg:
        _check(data, _PLACE.size, "place")
        _v, node, cid = _PLACE.unpack_from(data)
        space, pos = _text(data, _PLACE.size, "place")
        interpret, pos = _text(data, pos, "place")
        listen, _pos = _text(data, pos, "place")
        return cls(node, cid, space, interpret, listen)


@dataclass(frozen=True)
class SpaceEventMsg:
    """A space event of a member of ``node`` (opaque payload): for the members of its space."""

    node: int
    sender: int
    payload: bytes

    def __bytes__(self) -> bytes:
        return _SPACE_EV.pack(VERSION, self.node, self.sender) + self.payload

    @classmethod
    def parse(cls, data: bytes) -> SpaceEventMsg:
        _check(data, _SPACE_EV.size, "space event")
        _v, node, sender = _SPACE_EV.unpack_from(data)
        return cls(node, sender, bytes(data[_SPACE_EV.size:]))


@dataclass(frozen=True)
class FloorMsg:
    node: int
    holder: int

    def __bytes__(self) -> bytes:
        return _FLOOR.pack(VERSION, self.node, self.holder)

    @classmethod
    def parse(cls, data: bytes) -> FloorMsg:
        _check(data, _FLOOR.size, "floor")
        _v, node, holder = _FLOOR.unpack_from(data)
        return cls(node, holder)


@dataclass(frozen=True)
class EventRecord:
    """A room event as stored in the room's JetStream stream (the payload stays opaque)."""

    sender: int
    client_seq: int
    payload: bytes

    def __bytes__(self) -> bytes:
        return _RECORD.pack(VERSION, self.sender, self.client_seq) + self.payload

    def msg_id(self, token: str) -> str:
        """JetStream's de-duplication id: a client re-sending an event after a failover is stored once."""
        return f"{token}:{self.sender}:{self.client_seq}"

    @classmethod
    def parse(cls, data: bytes) -> EventRecord:
        _check(data, _RECORD.size, "event record")
        _v, sender, cseq = _RECORD.unpack_from(data)
        return cls(sender, cseq, bytes(data[_RECORD.size:]))


@dataclass(frozen=True)
class Alive:
    node: int
    name: str = ""

    def __bytes__(self) -> bytes:
        return _ALIVE.pack(VERSION, self.node) + _pack_text(self.name)

    @classmethod
    def parse(cls, data: bytes) -> Alive:
        _check(data, _ALIVE.size, "alive")
        _v, node = _ALIVE.unpack_from(data)
        name, _pos = _text(data, _ALIVE.size, "alive")
        return cls(node, name)
