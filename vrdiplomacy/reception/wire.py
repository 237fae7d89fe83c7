"""Control messages of receptions (same framing as :mod:`vrdiplomacy.net.wire`; registered into
:data:`vrdiplomacy.net.wire.CONTROL_TYPES` when this module is imported, which the relay core and
the client core do)::

    ReceptionConfig 0x30  host -> relay   u16 capacity (0: no limit)
    Greet           0x31  host -> relay   u32 client_id (0: the first in the greeting line)
    ReceptionStatus 0xB0  relay -> guest  u8 where | u16 position | u16 capacity | u16 in_hall | u16 waiting
    GreetingLine    0xB1  relay -> hosts  u16 waiting | u16 in_hall | u16 capacity | u16 n | n x (u32 client_id | str8 name)
    Greeted         0xB2  relay -> room   u32 client_id | str8 guest | str8 host

``where``: :data:`HALL` (in the reception, ``position`` 0), :data:`LINE` (in the hall, waiting to
be greeted: ``position`` 1 is next), :data:`WAITING` (in the waiting area beyond capacity:
``position`` 1 enters next). A host's action that cannot be done (a guest greeting, nobody in the
line) is answered with ``Notice(NOTICE_RECEPTION, reason)``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import ClassVar

from vrdiplomacy.errors import ProtocolError
from vrdiplomacy.net import wire
from vrdiplomacy.net.wire import ControlMessage, Reader, _str8

HALL, LINE, WAITING = 0, 1, 2
WHERE = {HALL: "in the hall", LINE: "in the greeting line", WAITING: "in the waiting area"}
NOTICE_RECEPTION = 21
"""Notice code: a reception action of ours was refused or changed nothing (the message says why)."""
MAX_LINE_SHOWN = 200  # guests listed in one GreetingLine (the counts are always complete)


@dataclass
class ReceptionConfig(ControlMessage):
    """A host sets the reception's capacity (guests in the hall; 0: no limit)."""

    TYPE: ClassVar[int] = 0x30
    capacity: int = 0

    def body(self) -> bytes:
        return struct.pack("!H", self.capacity)

    @classmethod
    def read_body(cls, r: Reader) -> ReceptionConfig:
        return cls(r.u16())


@dataclass
class Greet(ControlMessage):
    """A host greets a guest of the line (``client_id`` 0: the first in line)."""

    TYPE: ClassVar[int] = 0x31
    client_id: int = 0

    def body(self) -> bytes:
        return struct.pack("!I", self.client_id)

    @classmethod
    def read_body(cls, r: Reader) -> Greet:
        return cls(r.u32())


@dataclass
class ReceptionStatus(ControlMessage):
    """Where this guest is (:data:`WHERE`) and its place there, with the reception's counts."""

    TYPE: ClassVar[int] = 0xB0
    where: int
    position: int = 0
    capacity: int = 0
    in_hall: int = 0
    waiting: int = 0

    def body(self) -> bytes:
        return struct.pack("!BHHHH", self.where, self.position, self.capacity, self.in_hall, self.waiting)

    @classmethod
    def read_body(cls, r: Reader) -> ReceptionStatus:
        where = r.u8()
        if where not in WHERE:
            raise ProtocolError(f"unknown reception place {where}")
        return cls(where, r.u16(), r.u16(), r.u16(), r.u16())

    def text(self) -> str:
        cap = f" of {self.capacity}" if self.capacity else ""
        if self.where == WAITING:
            return (f"the reception is full ({self.in_hall}{cap} guests): you are number {self.position} of "
                    f"{self.waiting} in the waiting area, admitted in order as guests leave")
        if self.where == LINE:
            return f"you are in the hall, number {self.position} in the line to greet the host"
        return f"you are in the reception hall ({self.in_hall}{cap} guests)"


@dataclass
class GreetingLine(ControlMessage):
    """The greeting line in arrival order (relay client id, name), for the hosts."""

    TYPE: ClassVar[int] = 0xB1
    waiting: int = 0
    in_hall: int = 0
    capacity: int = 0
    line: list[tuple[int, str]] = field(default_factory=list)

    def body(self) -> bytes:
        shown = self.line[:MAX_LINE_SHOWN]
        out = struct.pack("!HHHH", self.waiting, self.in_hall, self.capacity, len(shown))
        return out + b"".join(struct.pack("!I", cid) + _str8(name) for cid, name in shown)

    @classmethod
    def read_body(cls, r: Reader) -> GreetingLine:
        waiting, in_hall, cap, n = r.u16(), r.u16(), r.u16(), r.u16()
        return cls(waiting, in_hall, cap, [(r.u32(), r.str8()) for _ in range(n)])


@dataclass
class Greeted(ControlMessage):
    """Guest ``client_id`` (``guest``) was greeted by ``host``: announced to the whole room."""

    TYPE: ClassVar[int] = 0xB2
    client_id: int
    guest: str
    host: str

    def body(self) -> bytes:
        return struct.pack("!I", self.client_id) + _str8(self.guest) + _str8(self.host)

    @classmethod
    def read_body(cls, r: Reader) -> Greeted:
        return cls(r.u32(), r.str8(), r.str8())


TO_RELAY = (ReceptionConfig, Greet)
TO_CLIENT = (ReceptionStatus, GreetingLine, Greeted)


def _register() -> None:
    for cls in (*TO_RELAY, *TO_CLIENT):
        have = wire.CONTROL_TYPES.get(cls.TYPE)
        if have is not None and have is not cls:
            raise RuntimeError(f"control type 0x{cls.TYPE:02x} of {cls.__name__} is taken by {have.__name__}")
        wire.CONTROL_TYPES[cls.TYPE] = cls


_register()
