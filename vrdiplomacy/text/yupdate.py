"""What a Yjs v1 update builds on: the items it needs a replica to hold before it can merge whole.

Yrs (pycrdt) parks the part of an update whose dependencies it lacks in a "pending" store and
retries it when a later update arrives; with several such updates parked at once it integrated
some of their items before what they depend on and never integrated others (three replicas fed
the same updates in different orders rendered three texts: tests/text/test_yupdate.py). So a
replica hands Yrs only updates it can merge whole (:meth:`Needs.ready`), and holds the others
itself until they can (:class:`~vrdiplomacy.text.document.JointText`).

Layout (lib0 varuints)::

    count, then per client: struct count, client, first clock, structs
    struct: u8 info (low 5 bits: content kind; 0x80 origin id, 0x40 right origin id, 0x20 key)
            GC (0) / skip (10): length;  item: [origin] [right origin] [parent when neither:
            1 + root name, or 0 + parent id] [key] content
    delete set: count, then per client: client, range count, (clock, length) ranges

:func:`needs` raises :class:`~vrdiplomacy.errors.ProtocolError` on anything it cannot read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vrdiplomacy.errors import ProtocolError

MAX_ANY_DEPTH = 64  # nesting of a JSON-like value in an item (Yrs refuses far less)
GC, DELETED, JSON, BINARY, STRING, EMBED, FORMAT, TYPE, ANY, DOC, SKIP = range(11)
XML_ELEMENT, XML_HOOK = 3, 5  # type refs that carry a name


@dataclass
class Needs:
    """``groups``: (client, first clock, end clock) of the update's own items; ``needs``: per
    client, one past the highest clock it refers to (origins, parents, skipped and deleted ranges)."""

    groups: list[tuple[int, int, int]] = field(default_factory=list)
    needs: dict[int, int] = field(default_factory=dict)

    def ready(self, have: dict[int, int]) -> bool:
        """Whether a replica whose state vector is ``have`` can merge the update whole: each
        client's items follow on from what it holds, and everything referred to is there."""
        avail = dict(have)
        for client, first, end in self.groups:
            if first > have.get(client, 0):
                return False
            avail[client] = max(avail.get(client, 0), end)
        return all(clock <= avail.get(client, 0) for client, clock in self.needs.items())

    def _need(self, client: int, clock: int) -> None:
        if clock > self.needs.get(client, 0):
            self.needs[client] = clock


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def u8(self) -> int:
        if self.pos >= len(self.data):
            raise ProtocolError("text update truncated")
        self.pos += 1
        return self.data[self.pos - 1]

    def varuint(self) -> int:
        value = shift = 0
        while True:
            b = self.u8()
            value |= (b & 0x7F) << shift
            if b < 0x80:
                return value
            shift += 7
            if shift > 63:
                raise ProtocolError("text update: varuint too long")

    def skip(self, n: int) -> None:
        if n > len(self.data) - self.pos:
            raise ProtocolError("text update truncated")
        self.pos += n

    def buf(self) -> bytes:
        n = self.varuint()
        self.skip(n)
        return self.data[self.pos - n:self.pos]

    def string(self) -> str:
        try:
            return self.buf().decode()
        except UnicodeDecodeError as e:
            raise ProtocolError("text update: a string is not UTF-8") from e

    def count(self) -> int:
        """A count of things of at least one byte each (so a forged count fails fast)."""
        n = self.varuint()
        if n > len(self.data) - self.pos:
            raise ProtocolError("text update: count exceeds its bytes")
        return n

    def any(self, depth: int = 0) -> None:
        if depth > MAX_ANY_DEPTH:
            raise ProtocolError("text update: value nested too deep")
        tag = self.u8()
        if tag in (127, 126, 121, 120):  # undefined, null, false, true
            return
        if tag == 125:  # signed varint
            while self.u8() & 0x80:
                pass
        elif tag == 124:
            self.skip(4)
        elif tag in (123, 122):
            self.skip(8)
        elif tag in (119, 116):
            self.buf()
        elif tag == 118:
            for _ in range(self.count()):
                self.buf()
                self.any(depth + 1)
        elif tag == 117:
            for _ in range(self.count()):
                self.any(depth + 1)
        else:
            raise ProtocolError(f"text update: unknown value tag {tag}")

    def id(self, out: Needs) -> None:
        client = self.varuint()
        out._need(client, self.varuint() + 1)

    def content(self, kind: int) -> int:
        """Read an item's content; returns its length in clock ticks."""
        if kind == DELETED:
            return self.varuint()
        if kind == JSON:
            n = self.count()
            for _ in range(n):
                self.buf()
            return n
        if kind in (BINARY, EMBED):
            self.buf()
            return 1
        if kind == STRING:
            return len(self.string().encode("utf-16-le")) // 2  # clocks count UTF-16 units
        if kind == FORMAT:
            self.buf()
            self.buf()
            return 1
        if kind == TYPE:
            if self.varuint() in (XML_ELEMENT, XML_HOOK):
                self.buf()
            return 1
        if kind == ANY:
            n = self.count()
            for _ in range(n):
                self.any()
            return n
        if kind == DOC:
            self.buf()
            self.any()
            return 1
        raise ProtocolError(f"text update: unknown content kind {kind}")


def needs(update: bytes) -> Needs:
    """What ``update`` (Yjs v1) builds on (see the module docstring)."""
    r, out = _Reader(bytes(update)), Needs()
    for _ in range(r.count()):
        n, client, clock = r.count(), r.varuint(), r.varuint()
        first = clock
        for _ in range(n):
            info = r.u8()
            kind = info & 0x1F
            if kind in (GC, SKIP):
                length = r.varuint()
                if kind == SKIP:  # a gap in this update: those items must come from elsewhere
                    out._need(client, clock + length)
                clock += length
                continue
            if info & 0x80:
                r.id(out)
            if info & 0x40:
                r.id(out)
            if not info & 0xC0:
                if r.varuint() == 1:
                    r.buf()  # a root type by name
                else:
                    r.id(out)
                if info & 0x20:
                    r.buf()
            length = r.content(kind)
            if length < 1:
                raise ProtocolError("text update: an empty item")
            clock += length
        out.groups.append((client, first, clock))
    for _ in range(r.count()):
        client = r.varuint()
        for _ in range(r.count()):
            start, length = r.varuint(), r.varuint()
            if length:
                out._need(client, start + length)
    if r.pos != len(r.data):
        raise ProtocolError("text update: trailing bytes")
    return out
