"""Big-endian length-prefixed fields for the vote wire messages and the manifest's canonical bytes."""

from __future__ import annotations

import struct

from vrdiplomacy.errors import ProtocolError

MAX_TEXT = 4096


class Writer:
    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def u8(self, v: int) -> Writer:
        self._parts.append(struct.pack(">B", v))
        return self

    def u16(self, v: int) -> Writer:
        self._parts.append(struct.pack(">H", v))
        return self

    def f64(self, v: float) -> Writer:
        self._parts.append(struct.pack(">d", v))
        return self

    def raw(self, data: bytes) -> Writer:
        self._parts.append(bytes(data))
        return self

    def blob(self, data: bytes) -> Writer:
        if len(data) > 0xFFFF:
            raise ProtocolError("field too long")
        return self.u16(len(data)).raw(data)

    def text(self, s: str) -> Writer:
        b = s.encode()
        if len(b) > MAX_TEXT:
            raise ProtocolError(f"text longer than {MAX_TEXT} bytes")
        return self.blob(b)

    def texts(self, items: tuple[str, ...]) -> Writer:
        self.u16(len(items))
        for s in items:
            self.text(s)
        return self

    def __bytes__(self) -> bytes:
        return b"".join(self._parts)


class Reader:
    """Reads fields; any shortfall or overrun is a :class:`ProtocolError`."""

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = bytes(data)
        self.pos = pos

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ProtocolError("vote message truncated")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        return int(self.take(1)[0])

    def u16(self) -> int:
        return int(struct.unpack(">H", self.take(2))[0])

    def f64(self) -> float:
        return float(struct.unpack(">d", self.take(8))[0])

    def blob(self) -> bytes:
        return self.take(self.u16())

    def text(self) -> str:
        b = self.blob()
        try:
            return b.decode()
        except UnicodeDecodeError as e:
            raise ProtocolError("text is not UTF-8") from e

    def texts(self) -> tuple[str, ...]:
        return tuple(self.text() for _ in range(self.u16()))

    def end(self) -> None:
        if self.pos != len(self.data):
            raise ProtocolError(f"{len(self.data) - self.pos} trailing bytes in vote message")
