"""A federated reception's records: what relay nodes write to JetStream so that they all keep one
door, one greeting line, one capacity and one waiting area.

Every node of a federation serving a reception's room reads the records of that room from the
JetStream stream ``VRD_RECEPTION`` (subject ``vrd.reception.<room>``, ``<room>`` as in
:func:`vrdiplomacy.net.federation_wire.room_token`) in stream order, from the first, and applies
them to its :class:`~vrdiplomacy.reception.relay.Reception` deterministically: the stream's order
is the reception's order, as the room stream's order is the room's event order. A node never
changes a federated reception's state itself; it writes a record and acts when the record comes
back. Records (one :class:`ReceptionRecord`, ``kind``):

=============  ==============================================================================
``CLAIM``      a pass holder at ``node``'s door (``cid``: the node's request id; the pass's token
               id, guest name, host fingerprint, role, one-time flag, wall time). Applied: the
               first claim of a one-time pass uses it; a later claim of it is refused everywhere
               (unless it is the same client returning, ``ret`` its client id); a host's claim
               opens the reception; a claim of another host's pass is refused. ``node`` admits or
               refuses its client by the outcome.
``ARRIVE``     client ``cid`` (pass ``token``, ``name``, ``role``) was welcomed at ``node``: it
               takes its place (host; the hall and the greeting line; or the waiting area beyond
               capacity) in stream order. A known client arriving again moves to ``node``.
``LEAVE``      client ``cid`` (last at ``node``) left: applied only while it is still ``node``'s.
``CAPACITY``   a host set the capacity to ``cid``.
``GREET``      a host (``name``) greeted guest ``cid`` of the line.
``RELEASE``    the claim of one-time pass ``token`` admitted nobody (its holder went before its
               Welcome, e.g. a timeout while NATS failed over): unused again unless a client
               arrived with it.
=============  ==============================================================================
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from vrdiplomacy.errors import ProtocolError

VERSION = 1
STREAM = "VRD_RECEPTION"
CLAIM, ARRIVE, LEAVE, CAPACITY, GREET, RELEASE = 1, 2, 3, 4, 5, 6
KINDS = {CLAIM: "claim", ARRIVE: "arrive", LEAVE: "leave", CAPACITY: "capacity", GREET: "greet", RELEASE: "release"}
ONE_TIME = 1  # flags

_HEAD = struct.Struct("!BBBIIIId")  # version, kind, flags, node, serial, cid, ret, at


def subject(token: str) -> str:
    return f"vrd.reception.{token}"


def _text(data: bytes, pos: int) -> tuple[str, int]:
    if pos + 2 > len(data):
        raise ProtocolError("reception record: truncated")
    n = int.from_bytes(data[pos:pos + 2], "big")
    if pos + 2 + n > len(data):
        raise ProtocolError("reception record: truncated")
    try:
        return data[pos + 2:pos + 2 + n].decode("utf-8"), pos + 2 + n
    except UnicodeDecodeError:
        raise ProtocolError("reception record: text is not UTF-8") from None


def _pack(s: str) -> bytes:
    b = s.encode("utf-8")[:0xFFFF]
    return len(b).to_bytes(2, "big") + b


@dataclass(frozen=True)
class ReceptionRecord:
    """One change of a federated reception (see the module's table). ``serial`` numbers a node's
    records (with ``node``, JetStream's de-duplication id: a record re-sent after a NATS failover
    is stored once)."""

    kind: int
    node: int
    serial: int
    cid: int = 0
    token: str = ""
    name: str = ""
    host_fp: str = ""
    role: str = ""
    flags: int = 0
    ret: int = 0
    at: float = 0.0

    @property
    def one_time(self) -> bool:
        return bool(self.flags & ONE_TIME)

    def msg_id(self) -> str:
        return f"rc:{self.node:08x}:{self.serial}"

    def __bytes__(self) -> bytes:
        return (_HEAD.pack(VERSION, self.kind, self.flags, self.node, self.serial, self.cid, self.ret, self.at)
                + _pack(self.token) + _pack(self.name) + _pack(self.host_fp) + _pack(self.role))

    @classmethod
    def parse(cls, data: bytes) -> ReceptionRecord:
        if len(data) < _HEAD.size:
            raise ProtocolError(f"reception record: {len(data)} bytes, at least {_HEAD.size} expected")
        v, kind, flags, node, serial, cid, ret, at = _HEAD.unpack_from(data)
        if v != VERSION:
            raise ProtocolError(f"reception record: version {v}, expected {VERSION}")
        if kind not in KINDS:
            raise ProtocolError(f"reception record: unknown kind {kind}")
        token, pos = _text(data, _HEAD.size)
        name, pos = _text(data, pos)
        host_fp, pos = _text(data, pos)
        role, pos = _text(data, pos)
        if pos != len(data):
            raise ProtocolError(f"reception record: {len(data) - pos} trailing bytes")
        return cls(kind, node, serial, cid, token, name, host_fp, role, flags, ret, at)
