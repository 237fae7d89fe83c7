"""A member's own signed statement of its relay handle and seat (:class:`MemberPresence`), and the
event a client gets when a verified member made one (:class:`MemberStated`).

Relay client ids are transport handles the relay hands out; in an end-to-end encrypted room the
relay could pin anyone's frames on anyone's handle. So each member states, in a room event sealed
and signed like any other (stream "room"), which relay client id and seat are its own. The end-to-
end layer (:class:`~vrdiplomacy.net.secure.SecureRoom`) sends the statement when it joins the
roster, when its handle changes, and when someone new appears (so newcomers learn it), and turns
each statement it opens into a :class:`MemberStated` for the application: the member is the one
whose key opened it and whose signature verified, whatever client id the relay stamped on it.

Wire format (big-endian)::

    u8 tag 0x50 ('P')   u8 version 1   u32 relay client id   u8 seat length   seat (UTF-8)
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from vrdiplomacy.errors import ProtocolError

PRESENCE_TAG = 0x50
PRESENCE_VERSION = 1
_PRES = struct.Struct(">BBIB")


@dataclass(frozen=True)
class MemberPresence:
    """A member's statement of its relay ``client_id`` and ``seat`` (see the module docstring)."""

    client_id: int
    seat: str

    def __bytes__(self) -> bytes:
        seat = self.seat.encode("utf-8")
        if len(seat) > 255:
            raise ProtocolError("seat id longer than 255 bytes")
        return _PRES.pack(PRESENCE_TAG, PRESENCE_VERSION, self.client_id & 0xFFFFFFFF, len(seat)) + seat

    @classmethod
    def parse(cls, data: bytes) -> MemberPresence:
        if len(data) < _PRES.size or data[0] != PRESENCE_TAG:
            raise ProtocolError("not a member presence statement")
        _, ver, cid, n = _PRES.unpack_from(data)
        if ver != PRESENCE_VERSION:
            raise ProtocolError(f"member presence version {ver} not supported")
        if len(data) != _PRES.size + n:
            raise ProtocolError("member presence: wrong length")
        try:
            seat = bytes(data[_PRES.size:]).decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("member presence: seat is not UTF-8") from None
        return cls(cid, seat)

    @staticmethod
    def looks_like(data: bytes) -> bool:
        return bytes(data[:2]) == bytes((PRESENCE_TAG, PRESENCE_VERSION))


@dataclass
class MemberStated:
    """Verified member ``member`` (certificate ``name``) stated ``presence``; the relay delivered
    the statement labelled as from its client ``label`` (a handle, compared, never trusted)."""

    member: int
    name: str
    presence: MemberPresence
    label: int

    def alert_text(self) -> str:
        return f"{self.name} is relay client {self.presence.client_id} at seat {self.presence.seat or '-'}"
