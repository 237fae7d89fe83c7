"""Wire format of the meeting's procedure actions, carried as room events.

A procedure action travels as one room event, a :class:`MeetingFrame`: a small header the relay
reads, then the action itself::

    header (19 bytes, big-endian, readable by the relay):
        u8 tag 0x4D ("M")  u8 version 1  u8 action  u32 target  u32 value  u64 stamp_ms
    body:
        a plain room:   the MeetingAction below
        a secured room: the MeetingAction sealed and signed end to end (a
                        :class:`~vrdiplomacy.net.secure_wire.SecureMessage` on the "floor" stream)

    MeetingAction (what the sender signs):
        u8 action  u32 subject  u32 value  u16 n  n bytes data

``action`` is one of the ``ACTIONS`` numbers; ``subject`` the member acted on (the room state's
member key: the roster index in a secured room, the relay client id otherwise; :data:`NOBODY`
for none, e.g. "grant the floor to the next in line"); ``value`` the action's number (speaking
time in milliseconds, agenda item, phase, role, point-of-order flag); ``data`` text (the agenda,
items separated by newlines) or a snapshot (:class:`Snapshot`).

The header repeats ``action`` and ``value`` and names the ``target``'s *relay client id* (what
the relay routes by: whom to hear room-wide, whose voice to drop); a client acts only on a frame
whose header agrees with the signed action. ``stamp_ms`` is 0 from the sender: the relay writes
its own clock (UNIX milliseconds, never decreasing within a room) when it stores the event, and
every timer of the procedure runs on these stamps, so every client folds the same actions at the
same procedure times.

Every message has ``parse()`` and ``__bytes__``; malformed input raises :class:`ProtocolError`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from vrdiplomacy.errors import ProtocolError

TAG = 0x4D  # "M": never a GestureEvent (version byte 1), handshake (0x48), loss report (0x4C),
VERSION = 1  # member presence (0x50) or end-to-end message (0xE5)
HEADER = struct.Struct(">BBBIIQ")
HEADER_SIZE = HEADER.size  # 19
_ACTION = struct.Struct(">BIIH")
NOBODY = 0xFFFFFFFF
MAX_DATA = 4000
STREAM = "floor"  # the signed event stream procedure actions are sealed on

CLAIM_ROLE = 1  # value: role number (a plain room only; a secured room's roles are the roster's)
REQUEST = 2  # raise a hand: ask for the floor
WITHDRAW = 3  # lower it (value 1: also as ... nothing; reserved 0)
POINT_OF_ORDER = 4  # jumps the list
RIGHT_OF_REPLY = 5  # after the current speaker, before the others
GRANT = 6  # subject: the member, or NOBODY for the next in line; value: speaking time ms (0: the set time)
REVOKE = 7  # the current speaker's turn ends (subject must be the speaker, or NOBODY)
SET_TIME = 8  # value: speaking time per turn in ms (0: unlimited); also the current turn's
MUTE = 9  # subject
UNMUTE = 10  # subject
AGENDA = 11  # data: the items, one per line; value: the current item (NOBODY: none)
AGENDA_ITEM = 12  # value: the current item
PHASE = 13  # value: index into PHASES
YIELD = 14  # the speaker ends its own turn
CLEAR = 15  # chair: the member (who left) leaves the list and the floor
SNAPSHOT = 16  # chair: the whole state, for members who joined late (data: Snapshot)

ACTIONS: dict[int, str] = {
    CLAIM_ROLE: "claim_role", REQUEST: "request", WITHDRAW: "withdraw", POINT_OF_ORDER: "point_of_order",
    RIGHT_OF_REPLY: "right_of_reply", GRANT: "grant", REVOKE: "revoke", SET_TIME: "set_time", MUTE: "mute",
    UNMUTE: "unmute", AGENDA: "agenda", AGENDA_ITEM: "agenda_item", PHASE: "phase", YIELD: "yield",
    CLEAR: "clear", SNAPSHOT: "snapshot",
}
ACTION_NUMBERS = {v: k for k, v in ACTIONS.items()}

PERMISSION_OF: dict[int, str | None] = {
    CLAIM_ROLE: None, WITHDRAW: None, YIELD: None,
    REQUEST: "ask_floor", POINT_OF_ORDER: "ask_floor", RIGHT_OF_REPLY: "ask_floor",
    GRANT: "chair", REVOKE: "chair", SET_TIME: "chair", MUTE: "chair", UNMUTE: "chair", CLEAR: "chair",
    SNAPSHOT: "chair",
    AGENDA: "agenda", AGENDA_ITEM: "agenda", PHASE: "agenda",
}
"""The permission (:mod:`vrdiplomacy.meeting.roles`) an action needs; None: anyone (the procedure
still checks it makes sense: only the speaker yields, only a waiting member withdraws)."""


def looks_like(data: bytes) -> bool:
    """Whether a room event payload is a meeting frame (tag and version)."""
    return len(data) >= HEADER_SIZE and data[0] == TAG and data[1] == VERSION


@dataclass(frozen=True)
class MeetingHeader:
    """The relay-visible part of a :class:`MeetingFrame` (see the module docstring)."""

    action: int
    target: int = 0
    value: int = 0
    stamp_ms: int = 0

    def __bytes__(self) -> bytes:
        return HEADER.pack(TAG, VERSION, self.action, self.target & 0xFFFFFFFF, self.value & 0xFFFFFFFF,
                           self.stamp_ms)

    @classmethod
    def parse(cls, data: bytes) -> MeetingHeader:
        if len(data) < HEADER_SIZE:
            raise ProtocolError("meeting frame shorter than its header")
        tag, ver, action, target, value, stamp = HEADER.unpack_from(data)
        if tag != TAG:
            raise ProtocolError("not a meeting frame")
        if ver != VERSION:
            raise ProtocolError(f"meeting frame version {ver} not supported")
        if action not in ACTIONS:
            raise ProtocolError(f"unknown meeting action {action}")
        return cls(action, target, value, stamp)

    def stamped(self, stamp_ms: int) -> MeetingHeader:
        return MeetingHeader(self.action, self.target, self.value, stamp_ms)


@dataclass(frozen=True)
class MeetingAction:
    """What a member does (and signs, in a secured room): see the module docstring."""

    action: int
    subject: int = NOBODY
    value: int = 0
    data: bytes = b""

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ProtocolError(f"unknown meeting action {self.action}")
        if len(self.data) > MAX_DATA:
            raise ProtocolError(f"meeting action data of {len(self.data)} bytes exceeds {MAX_DATA}")
        if not 0 <= self.subject <= NOBODY or not 0 <= self.value <= 0xFFFFFFFF:
            raise ProtocolError("meeting action subject/value out of range")

    @property
    def name(self) -> str:
        return ACTIONS[self.action]

    @property
    def text(self) -> str:
        try:
            return self.data.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("meeting action text is not UTF-8") from None

    def __bytes__(self) -> bytes:
        return _ACTION.pack(self.action, self.subject, self.value, len(self.data)) + self.data

    @classmethod
    def parse(cls, data: bytes) -> MeetingAction:
        if len(data) < _ACTION.size:
            raise ProtocolError("meeting action too short")
        action, subject, value, n = _ACTION.unpack_from(data)
        if len(data) != _ACTION.size + n:
            raise ProtocolError(f"meeting action: {len(data) - _ACTION.size} data bytes, header says {n}")
        return cls(action, subject, value, bytes(data[_ACTION.size:]))

    def header(self, target: int = 0) -> MeetingHeader:
        """The header to send beside this action; ``target``: the subject's relay client id."""
        return MeetingHeader(self.action, target, self.value, 0)


@dataclass(frozen=True)
class MeetingFrame:
    """A whole meeting room event: header, then the body (the action, or its sealed form)."""

    header: MeetingHeader
    body: bytes

    def __bytes__(self) -> bytes:
        return bytes(self.header) + self.body

    @classmethod
    def parse(cls, data: bytes) -> MeetingFrame:
        return cls(MeetingHeader.parse(data), bytes(data[HEADER_SIZE:]))

    def action(self) -> MeetingAction:
        """The (opened) body as an action, checked against the header: a frame whose relay-visible
        header says something else than what the sender signed is refused."""
        a = MeetingAction.parse(self.body)
        if a.action != self.header.action or a.value != self.header.value:
            raise ProtocolError(f"meeting frame header ({ACTIONS[self.header.action]}, {self.header.value}) does not "
                                f"match its action ({a.name}, {a.value})")
        return a


def split_header(data: bytes) -> tuple[bytes, bytes] | None:
    """(header, body) of a meeting frame, None for any other payload (for the client's unsealing)."""
    if not looks_like(data):
        return None
    return bytes(data[:HEADER_SIZE]), bytes(data[HEADER_SIZE:])


# ---------------------------------------------------------------- snapshot

_SNAP = struct.Struct(">IIIQIIQIB")  # the fixed fields of a Snapshot


@dataclass(frozen=True)
class Snapshot:
    """The procedure's state as the chair's client folded it up to room event ``based_on``
    (its ``room_seq``), for a member who joined later (room events before a join are not
    replayed). Wire::

        u32 based_on  u32 speaker (NOBODY: none)  u32 speaker_kind  u64 granted_ms  u32 limit_ms
        u32 default_ms  u64 clock_ms  u32 phase  u8 agenda_index+1 (0: none)
        u16 n  n * (u32 key, u8 kind)      the speakers' list
        u16 m  m * u32 key                 muted members
        u16 k  k * (u16 len, text)         the agenda
        u16 c  c * (u32 key, u8 role)      roles claimed (a plain room)
    """

    based_on: int
    speaker: int = NOBODY
    speaker_kind: int = 0
    granted_ms: int = 0
    limit_ms: int = 0
    default_ms: int = 0
    clock_ms: int = 0
    phase: int = 0
    agenda_index: int = -1
    queue: tuple[tuple[int, int], ...] = ()
    muted: tuple[int, ...] = ()
    agenda: tuple[str, ...] = field(default=())
    claims: tuple[tuple[int, int], ...] = ()

    def __bytes__(self) -> bytes:
        out = bytearray(_SNAP.pack(self.based_on, self.speaker, self.speaker_kind, self.granted_ms, self.limit_ms,
                                   self.default_ms, self.clock_ms, self.phase, self.agenda_index + 1))
        out += struct.pack(">H", len(self.queue))
        for k, kind in self.queue:
            out += struct.pack(">IB", k, kind)
        out += struct.pack(">H", len(self.muted))
        for k in self.muted:
            out += struct.pack(">I", k)
        out += struct.pack(">H", len(self.agenda))
        for item in self.agenda:
            raw = item.encode("utf-8")
            out += struct.pack(">H", len(raw)) + raw
        out += struct.pack(">H", len(self.claims))
        for k, r in self.claims:
            out += struct.pack(">IB", k, r)
        return bytes(out)

    @classmethod
    def parse(cls, data: bytes) -> Snapshot:
        try:
            vals = _SNAP.unpack_from(data)
            pos = _SNAP.size
            (n,) = struct.unpack_from(">H", data, pos)
            pos += 2
            queue = []
            for _ in range(n):
                k, kind = struct.unpack_from(">IB", data, pos)
                pos += 5
                queue.append((k, kind))
            (m,) = struct.unpack_from(">H", data, pos)
            pos += 2
            muted = struct.unpack_from(f">{m}I", data, pos)
            pos += 4 * m
            (na,) = struct.unpack_from(">H", data, pos)
            pos += 2
            agenda = []
            for _ in range(na):
                (ln,) = struct.unpack_from(">H", data, pos)
                pos += 2
                raw = bytes(data[pos:pos + ln])
                if len(raw) != ln:
                    raise ProtocolError("snapshot: truncated agenda")
                pos += ln
                agenda.append(raw.decode("utf-8"))
            (nc,) = struct.unpack_from(">H", data, pos)
            pos += 2
            claims = []
            for _ in range(nc):
                k, r = struct.unpack_from(">IB", data, pos)
                pos += 5
                claims.append((k, r))
        except (struct.error, UnicodeDecodeError) as e:
            raise ProtocolError(f"snapshot malformed: {e}") from None
        if pos != len(data):
            raise ProtocolError(f"snapshot: {len(data) - pos} trailing bytes")
        b, sp, sk, g, lim, d, clk, ph, ai = vals
        return cls(b, sp, sk, g, lim, d, clk, ph, ai - 1, tuple(queue), tuple(muted), tuple(agenda), tuple(claims))
