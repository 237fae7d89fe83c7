"""Control messages for rooms within a room ("spaces") and interpretation channels.

A relay room (the chamber, the embassy) holds *spaces*: the plenary (``""``), the informal
``lounge`` (open to every member) and closed-door bilateral rooms ``bilateral:AAA+BBB`` (members
of delegations AAA and BBB only). Voice, poses and space events reach only members of the same
space; the relay routes so, and every client drops what comes from another space. A member's
space, the language channel it interprets into and the one it listens to are metadata the relay
sees (like its seat): the relay needs them to route, and checks who may enter a bilateral room
and who may interpret.

Messages (same framing as :mod:`vrdiplomacy.net.wire`; registered into
:data:`vrdiplomacy.net.wire.CONTROL_TYPES` when this module is imported, which the relay and
client cores do)::

    Place       0x20  client -> relay  str8 space | str8 interpret | str8 listen
    SpaceEvent  0x21  client -> relay  blob16 payload            (to my space only; not stored)
    Placed      0xA0  relay -> client  u32 client_id | str8 space | str8 interpret | str8 listen
    SpaceEventIn 0xA1 relay -> client  u32 sender | blob16 payload

A refused :class:`Place` is answered with ``Error(ERR_PLACE_REFUSED, reason)`` (one line; the
session goes on in its current space).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from typing import ClassVar

from vrdiplomacy.errors import ProtocolError
from vrdiplomacy.net import wire
from vrdiplomacy.net.wire import ControlMessage, Reader, _blob16, _str8

PLENARY = ""
LOUNGE = "lounge"
WAITING = "waiting"  # a reception's waiting area (the relay puts guests beyond capacity there)
BILATERAL = "bilateral"
FLOOR = ""  # the listen channel of the floor (no interpretation)
ERR_PLACE_REFUSED = 20  # a Place the relay does not allow (not a delegation of that bilateral room, not an interpreter)

_DELEGATION = re.compile(r"^[A-Z0-9]{2,8}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")


def bilateral(a: str, b: str) -> str:
    """The space name of the bilateral room of delegations ``a`` and ``b`` (order-independent)."""
    x, y = sorted((a.upper(), b.upper()))
    return check_space(f"{BILATERAL}:{x}+{y}")


def bilateral_delegations(space: str) -> tuple[str, str] | None:
    """The two delegations of a bilateral space name, None for another space."""
    if not space.startswith(BILATERAL + ":"):
        return None
    a, _, b = space[len(BILATERAL) + 1:].partition("+")
    return a, b


def check_space(space: str) -> str:
    """``space`` if it names a space (``""``, ``lounge``, ``waiting``, ``bilateral:AAA+BBB`` with two distinct
    delegation codes in sorted order), else :class:`ProtocolError`."""
    if space in (PLENARY, LOUNGE, WAITING):
        return space
    d = bilateral_delegations(space)
    if d is None or not all(_DELEGATION.match(x) for x in d) or d[0] >= d[1]:
        raise ProtocolError(f"unknown space {space!r} (plenary '', 'lounge' or 'bilateral:AAA+BBB')")
    return space


def check_language(code: str) -> str:
    """``code`` if it is a channel name (``""`` the floor, else 2 or 3 lowercase letters, ISO 639)."""
    if code and not _LANGUAGE.match(code):
        raise ProtocolError(f"language channel {code!r} is not 2-3 lowercase letters (e.g. fr)")
    return code


def parse_space_option(text: str) -> str:
    """A space as people write it: ``plenary``, ``lounge``, ``bilateral:FRA+DEU`` (any case/order)."""
    t = text.strip()
    if t.lower() in ("", "plenary", "chamber"):
        return PLENARY
    if t.lower() == LOUNGE:
        return LOUNGE
    d = bilateral_delegations(t.lower()) if t.lower().startswith(BILATERAL + ":") else None
    if d is None:
        raise ProtocolError(f"unknown room {text!r}: plenary, lounge or bilateral:AAA+BBB")
    return bilateral(*d)


def space_label(space: str) -> str:
    """The space as people read it."""
    d = bilateral_delegations(space)
    if d is not None:
        return f"bilateral room {d[0]}-{d[1]}"
    if space == WAITING:
        return "waiting area"
    return "lounge" if space == LOUNGE else "plenary"


@dataclass
class Place(ControlMessage):
    """Where I am: ``space``, the channel I ``interpret`` into (``""``: none) and the one I
    ``listen`` to (``""``: the floor)."""

    TYPE: ClassVar[int] = 0x20
    space: str = PLENARY
    interpret: str = ""
    listen: str = FLOOR

    def body(self) -> bytes:
        return _str8(self.space) + _str8(self.interpret) + _str8(self.listen)

    @classmethod
    def read_body(cls, r: Reader) -> Place:
        return cls(check_space(r.str8()), check_language(r.str8()), check_language(r.str8()))


@dataclass
class SpaceEvent(ControlMessage):
    """An event for the members of my space only (gestures in a side room): fanned out by the
    relay to them at once, never stored in the room's log nor replayed."""

    TYPE: ClassVar[int] = 0x21
    payload: bytes

    def body(self) -> bytes:
        return _blob16(self.payload)

    @classmethod
    def read_body(cls, r: Reader) -> SpaceEvent:
        return cls(r.blob16())


@dataclass
class Placed(ControlMessage):
    """Where member ``client_id`` is (sent to the whole room on every change, and after a Welcome
    for every member not in the plenary or with a channel)."""

    TYPE: ClassVar[int] = 0xA0
    client_id: int
    space: str = PLENARY
    interpret: str = ""
    listen: str = FLOOR

    def body(self) -> bytes:
        return struct.pack("!I", self.client_id) + _str8(self.space) + _str8(self.interpret) + _str8(self.listen)

    @classmethod
    def read_body(cls, r: Reader) -> Placed:
        return cls(r.u32(), check_space(r.str8()), check_language(r.str8()), check_language(r.str8()))


@dataclass
class SpaceEventIn(ControlMessage):
    """A :class:`SpaceEvent` as delivered to the other members of the sender's space."""

    TYPE: ClassVar[int] = 0xA1
    sender: int
    payload: bytes

    def body(self) -> bytes:
        return struct.pack("!I", self.sender) + _blob16(self.payload)

    @classmethod
    def read_body(cls, r: Reader) -> SpaceEventIn:
        return cls(r.u32(), r.blob16())


def _register() -> None:
    for cls in (Place, SpaceEvent, Placed, SpaceEventIn):
        have = wire.CONTROL_TYPES.get(cls.TYPE)
        if have is not None and have is not cls:
            raise RuntimeError(f"control type 0x{cls.TYPE:02x} of {cls.__name__} is taken by {have.__name__}")
        wire.CONTROL_TYPES[cls.TYPE] = cls


_register()
