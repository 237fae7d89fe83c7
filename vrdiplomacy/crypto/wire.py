"""Bounded big-endian readers and writers for the crypto wire formats.

Every read checks the remaining length and raises :class:`ProtocolError` with the message name,
so ``parse()`` of any message never raises anything else on malformed input.
"""

from __future__ import annotations

import struct

from vrdiplomacy.errors import ProtocolError


class Reader:
    """Reads fields from ``data``; ``what`` names the message in error texts."""

    __slots__ = ("_data", "_pos", "_what")

    def __init__(self, data: bytes, what: str) -> None:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise ProtocolError(f"{what}: expected bytes, got {type(data).__name__}")
        self._data = bytes(data)
        self._pos = 0
        self._what = what

    @property
    def remaining(self) -> int:
        return len(self._data) - self._pos

    def take(self, n: int) -> bytes:
        if n < 0 or self._pos + n > len(self._data):
            raise ProtocolError(f"{self._what}: truncated (needs {n} more bytes, has {self.remaining})")
        out = self._data[self._pos : self._pos + n]
        self._pos += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int(struct.unpack(">H", self.take(2))[0])

    def u32(self) -> int:
        return int(struct.unpack(">I", self.take(4))[0])

    def u64(self) -> int:
        return int(struct.unpack(">Q", self.take(8))[0])

    def vec8(self) -> bytes:
        return self.take(self.u8())

    def vec16(self) -> bytes:
        return self.take(self.u16())

    def vec32(self, limit: int = 1 << 24) -> bytes:
        n = self.u32()
        if n > limit:
            raise ProtocolError(f"{self._what}: field of {n} bytes exceeds the limit of {limit}")
        return self.take(n)

    def rest(self) -> bytes:
        return self.take(self.remaining)

    def done(self) -> None:
        if self.remaining:
            raise ProtocolError(f"{self._what}: {self.remaining} trailing bytes")


class Writer:
    """Builds a message; length-prefixed fields check their limits."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    def raw(self, b: bytes) -> Writer:
        self._buf += b
        return self

    def u8(self, v: int) -> Writer:
        self._buf += struct.pack(">B", v)
        return self

    def u16(self, v: int) -> Writer:
        self._buf += struct.pack(">H", v)
        return self

    def u32(self, v: int) -> Writer:
        self._buf += struct.pack(">I", v)
        return self

    def u64(self, v: int) -> Writer:
        self._buf += struct.pack(">Q", v)
        return self

    def vec8(self, b: bytes) -> Writer:
        if len(b) > 0xFF:
            raise ProtocolError(f"field of {len(b)} bytes does not fit a 1-byte length")
        return self.u8(len(b)).raw(b)

    def vec16(self, b: bytes) -> Writer:
        if len(b) > 0xFFFF:
            raise ProtocolError(f"field of {len(b)} bytes does not fit a 2-byte length")
        return self.u16(len(b)).raw(b)

    def vec32(self, b: bytes) -> Writer:
        return self.u32(len(b)).raw(b)

    def bytes(self) -> bytes:
        return bytes(self._buf)
