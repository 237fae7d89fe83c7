"""The relay's TLS on raw TCP, with bounded resources before a client is authenticated.

asyncio's own server TLS (``start_server(ssl=...)``) gives every accepted socket an
``SSLProtocol`` whose 256 KiB read buffer exists from the first SYN: measured on this Python
3.11, 500 connections that never finished their handshake cost 160 MB, nothing limited their
number, and the relay kept the memory after they closed (a fragmented heap). Here the relay
accepts plain TCP and runs TLS itself over :class:`ssl.MemoryBIO`:

* a socket costs about 2 KB until its first byte arrives; only then is the ``SSLObject`` made
  (about 50 KB while a ClientHello is incomplete);
* :class:`HandshakeGate` bounds unfinished handshakes: a connection beyond
  ``max_handshakes_per_address`` from one IP address is closed at once; at ``max_handshakes``
  the *oldest* unfinished handshake is closed to make room, so a flood from many addresses
  cannot keep out a real client, whose handshake takes one round trip;
* each handshake must finish within ``handshake_timeout``;
* once a burst has drained, :func:`trim_heap` hands the freed heap back to the system
  (glibc keeps it otherwise).

Refusals and evictions are counted (:class:`PreauthCounters`, in the relay's stats under
``preauth``) and logged at most once per ``LOG_INTERVAL`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import logging
import ssl
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from vrdiplomacy.net.relay_state import RelaySettings

log = logging.getLogger("vrdiplomacy.relay")
LOG_INTERVAL = 10.0  # least seconds between two "connections refused before TLS" log lines
TRIM_AFTER = 64  # TLS objects made since the last trim before an idle moment trims the heap
TRIM_DELAY = 1.0  # seconds after the last unfinished handshake ended before trimming
READ_CHUNK = 1 << 16


@dataclass
class PreauthCounters:
    """What happened to connections before their TLS handshake finished."""

    accepted: int = 0  # TCP connections accepted (before any limit)
    handshakes: int = 0  # handshakes that completed
    handshakes_refused: int = 0  # closed at once: their address had max_handshakes_per_address open
    handshakes_evicted: int = 0  # closed to make room at max_handshakes (the oldest unfinished one)
    handshake_timeouts: int = 0  # not finished within handshake_timeout
    handshakes_failed: int = 0  # TLS error, or the peer hung up before finishing
    heap_trims: int = 0  # malloc_trim calls after a burst

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        fn = getattr(ctypes.CDLL(name), "malloc_trim")
    except (OSError, AttributeError, TypeError):
        return None  # not glibc
    fn.argtypes = [ctypes.c_size_t]
    fn.restype = ctypes.c_int
    return fn  # type: ignore[no-any-return]


_TRIM = _malloc_trim()


def trim_heap() -> bool:
    """Give free heap memory back to the system (glibc ``malloc_trim``); False where unavailable."""
    if _TRIM is None:
        return False
    _TRIM(0)
    return True


class HandshakeGate:
    """Unfinished TLS handshakes, globally and per source address (oldest first)."""

    def __init__(self, settings: RelaySettings, loop: asyncio.AbstractEventLoop) -> None:
        self.s = settings
        self.loop = loop
        self.counters = PreauthCounters()
        self.pending: dict[TlsStream, None] = {}  # insertion order: oldest first
        self.per_address: Counter[str] = Counter()
        self.peak = 0  # most unfinished handshakes at once
        self._made = 0  # TLS objects made since the last trim
        self._trim: asyncio.TimerHandle | None = None
        self._held = 0  # refusals and evictions not yet logged
        self._last_log = -1e9

    def admit(self, st: TlsStream) -> bool:
        """Count ``st`` as unfinished, or refuse it (False: the caller closes it at once)."""
        c = self.counters
        c.accepted += 1
        if self.per_address[st.address] >= self.s.max_handshakes_per_address:
            c.handshakes_refused += 1
            self._note()
            return False
        while len(self.pending) >= self.s.max_handshakes:
            oldest = next(iter(self.pending))
            self.release(oldest)
            c.handshakes_evicted += 1
            self._note()
            oldest.abort()
        self.pending[st] = None
        self.per_address[st.address] += 1
        self.peak = max(self.peak, len(self.pending))
        return True

    def release(self, st: TlsStream) -> None:
        """``st`` finished its handshake or is gone (idempotent)."""
        if self.pending.pop(st, None) is None:
            return
        n = self.per_address[st.address] - 1
        if n > 0:
            self.per_address[st.address] = n
        else:
            del self.per_address[st.address]
        if not self.pending and self._made >= TRIM_AFTER and self._trim is None:
            self._trim = self.loop.call_later(TRIM_DELAY, self._trim_now)

    def made_tls(self) -> None:
        self._made += 1

    def _trim_now(self) -> None:
        self._trim = None
        if self.pending:
            return  # a new burst; its end trims
        self._made = 0
        if trim_heap():
            self.counters.heap_trims += 1

    def _note(self) -> None:
        self._held += 1
        now = self.loop.time()
        if now - self._last_log >= LOG_INTERVAL:
            log.warning("closed %d connection(s) before their TLS handshake: at most %d unfinished handshakes, %d per "
                        "address (%d unfinished now)", self._held, self.s.max_handshakes,
                        self.s.max_handshakes_per_address, len(self.pending))
            self._held = 0
            self._last_log = now

    def close(self) -> None:
        if self._trim is not None:
            self._trim.cancel()
            self._trim = None
        for st in list(self.pending):
            self.release(st)
            st.abort()


class TlsStream(asyncio.Protocol):
    """One accepted TCP connection: a bounded TLS handshake, then TLS records both ways.

    After the handshake it behaves like the parts of :class:`asyncio.StreamWriter` the relay
    uses (``write``, ``close``, ``transport``) and hands plaintext to ``on_data``.
    """

    def __init__(self, gate: HandshakeGate, ctx: ssl.SSLContext, on_open: Callable[[TlsStream], None],
                 on_data: Callable[[TlsStream, bytes], None], on_lost: Callable[[TlsStream, str], None]) -> None:
        self.gate = gate
        self.ctx = ctx
        self.on_open = on_open
        self.on_data = on_data
        self.on_lost = on_lost
        self.transport: asyncio.Transport = None  # type: ignore[assignment]  # set in connection_made
        self.address = ""
        self.conn_id = 0  # set by the relay once the handshake finished
        self.open = False  # handshake finished
        self._dead = False
        self._obj: ssl.SSLObject | None = None
        self._in: ssl.MemoryBIO | None = None
        self._out: ssl.MemoryBIO | None = None
        self._deadline: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------ asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer: Any = transport.get_extra_info("peername")
        self.address = str(peer[0]) if isinstance(peer, tuple) and peer else ""
        if not self.gate.admit(self):
            self._dead = True
            transport.abort()
            return
        self._deadline = self.gate.loop.call_later(self.gate.s.handshake_timeout, self._expired)

    def data_received(self, data: bytes) -> None:
        if self._dead:
            return
        if self._obj is None:
            self._in, self._out = ssl.MemoryBIO(), ssl.MemoryBIO()
            self._obj = self.ctx.wrap_bio(self._in, self._out, server_side=True)
            self.gate.made_tls()
        assert self._in is not None
        self._in.write(data)
        if not self.open:
            try:
                self._obj.do_handshake()
            except ssl.SSLWantReadError:
                self._send_out()
                return
            except (ssl.SSLError, ValueError):
                self.gate.counters.handshakes_failed += 1
                self._send_out()  # the alert, if any
                self.abort()
                return
            self._send_out()
            self.open = True
            self._end_handshake()
            self.gate.counters.handshakes += 1
            self.on_open(self)
        self._read()

    def eof_received(self) -> bool | None:
        return None  # close our side too; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        was_open, self.open = self.open, False
        if not self._dead and not was_open:
            self.gate.counters.handshakes_failed += 1
        self._dead = True
        self._end_handshake()
        self._obj = self._in = self._out = None
        if was_open:
            self.on_lost(self, f"connection error: {type(exc).__name__}" if exc is not None else "connection closed")

    # ------------------------------------------------------------ writer side

    def write(self, data: bytes) -> None:
        obj = self._obj
        if obj is None or not self.open or self._dead:
            return
        view = memoryview(data)
        try:
            while view:
                n = obj.write(view)
                view = view[n:]
        except ssl.SSLError:
            self.abort()
            return
        self._send_out()

    def close(self) -> None:
        """Send close_notify after what is queued, then close the socket."""
        if self._obj is not None and self.open:
            with contextlib.suppress(ssl.SSLError):
                self._obj.unwrap()
            self._send_out()
        self._dead = True
        self.transport.close()

    def abort(self) -> None:
        self._dead = True
        self._end_handshake()
        if self.transport is not None:
            self.transport.abort()

    # ------------------------------------------------------------ internals

    def _read(self) -> None:
        obj = self._obj
        chunks: list[bytes] = []
        eof = False
        while obj is not None:
            try:
                chunk = obj.read(READ_CHUNK)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLZeroReturnError:
                eof = True
                break
            except ssl.SSLError:
                self.abort()
                return
            if not chunk:
                eof = True
                break
            chunks.append(chunk)
        self._send_out()  # post-handshake messages (tickets, key updates)
        if chunks and not self._dead:
            self.on_data(self, b"".join(chunks))
        if eof and not self._dead:
            self.close()

    def _send_out(self) -> None:
        out = self._out
        if out is not None and out.pending and not self.transport.is_closing():
            self.transport.write(out.read())

    def _end_handshake(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self.gate.release(self)

    def _expired(self) -> None:
        self._deadline = None
        if not self.open and not self._dead:
            self.gate.counters.handshake_timeouts += 1
            self.abort()
