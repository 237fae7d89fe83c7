"""Hop-by-hop sealing of media datagrams (client <-> relay).

Each session gets a fresh random 32-byte key from the relay over the TLS control channel
(:class:`~vrdiplomacy.net.wire.Welcome`). Datagrams are sealed with ChaCha20-Poly1305; the nonce is
``u32 direction | u64 counter`` (direction 0 client->relay, 1 relay->client), the 14-byte plaintext
header is the associated data, and the receiver keeps a sliding replay window over counters.
This layer hides the routing header from the network; the payload inside stays end-to-end sealed.
"""

from __future__ import annotations

import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from vrdiplomacy.errors import CryptoError
from vrdiplomacy.net.wire import MEDIA_HEADER, MEDIA_HEADER_SIZE, VERSION

UPLINK, DOWNLINK = 0, 1
TAG_SIZE = 16
REPLAY_WINDOW = 256
NONCE = struct.Struct("!IQ")  # direction, counter (12 bytes)
_NONCE = NONCE


class ReplayError(CryptoError):
    """A datagram counter was already seen or is too old for the window."""


class ReplayWindow:
    """Sliding window over 64-bit counters (RFC 6479 style, kept as a Python int bitmap)."""

    __slots__ = ("top", "bits", "size")

    def __init__(self, size: int = REPLAY_WINDOW) -> None:
        self.top = 0
        self.bits = 0
        self.size = size

    def check(self, counter: int) -> bool:
        """True when ``counter`` is new (not yet :meth:`accept`-ed and not below the window)."""
        if counter == 0:
            return False
        if counter > self.top:
            return True
        off = self.top - counter
        return off < self.size and not (self.bits >> off) & 1

    def accept(self, counter: int) -> None:
        if counter > self.top:
            shift = counter - self.top
            self.bits = ((self.bits << shift) | 1) & ((1 << self.size) - 1) if shift < self.size else 1
            self.top = counter
        else:
            self.bits |= 1 << (self.top - counter)


class HopSealer:
    """Seals outgoing datagrams for one direction of one session."""

    __slots__ = ("aead", "direction", "client_id", "counter")

    def __init__(self, key: bytes, direction: int, client_id: int) -> None:
        self.aead = ChaCha20Poly1305(key)
        self.direction = direction
        self.client_id = client_id
        self.counter = 0

    def seal(self, dtype: int, plaintext: bytes) -> bytes:
        self.counter += 1
        hdr = MEDIA_HEADER.pack(VERSION, dtype, self.client_id, self.counter)
        return hdr + self.aead.encrypt(_NONCE.pack(self.direction, self.counter), plaintext, hdr)


class HopOpener:
    """Opens incoming datagrams of one direction of one session, rejecting replays."""

    __slots__ = ("aead", "direction", "window")

    def __init__(self, key: bytes, direction: int) -> None:
        self.aead = ChaCha20Poly1305(key)
        self.direction = direction
        self.window = ReplayWindow()

    def open(self, data: bytes, counter: int) -> bytes:
        """Plaintext of ``data`` (header already parsed: ``counter``). Raises CryptoError."""
        if not self.window.check(counter):
            raise ReplayError(f"replayed or stale datagram counter {counter}")
        if len(data) < MEDIA_HEADER_SIZE + TAG_SIZE:
            raise CryptoError("datagram shorter than header and tag")
        try:
            pt = self.aead.decrypt(_NONCE.pack(self.direction, counter), data[MEDIA_HEADER_SIZE:], data[:MEDIA_HEADER_SIZE])
        except InvalidTag:
            raise CryptoError("datagram failed authentication") from None
        self.window.accept(counter)
        return pt
