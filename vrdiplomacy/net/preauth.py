"""The relay's TLS on raw TCP, with bounded resources before a client is authenticated.

asyncio's own server TLS (``start_server(ssl=...)``) gives every accepted socket an
``SSLProtocol`` whose 256 KiB read buffer exists from the first SYN: measured on this Python
3.11, 500 connections that never finished their handshake cost 160 MB, nothing limited their
number, and the relay kept the memory after they closed (reference cycles of closed transports
that only a full garbage collection frees, then a fragmented heap). Here the relay accepts plain
TCP itself (:class:`TlsListener`) and runs TLS over :class:`ssl.MemoryBIO` (:class:`TlsStream`):

* a connection costs about 5 KB (measured: 1000 unfinished ones, half of them with half a
  ClientHello, +5.5 MB) until its first TLS record (the ClientHello) is complete; only then is
  the ``SSLObject`` made (about 50 KB until the handshake finishes);
  a first record that is not a TLS handshake record closes the connection at once;
* :class:`HandshakeGate` bounds unfinished handshakes: a connection beyond
  ``max_handshakes_per_address`` from one IP address is reset right after ``accept()``, before
  asyncio makes a transport for it; at ``max_handshakes`` a connection from an address with no
  unfinished handshake closes the *oldest* one to make room (others are reset), so a flood
  cannot keep out a real client, whose handshake takes one round trip;
* each handshake must finish within ``handshake_timeout``; a finished one still counts against
  its address's limit until the relay gives it a session (the core closes it after
  ``hello_timeout`` without one);
* once a burst has drained, :func:`trim_heap` collects the reference cycles closed asyncio
  transports leave behind and hands the freed heap back to the system (glibc keeps it otherwise).

Refusals and evictions are counted (:class:`PreauthCounters`, in the relay's stats under
``preauth``) and logged at most once per ``LOG_INTERVAL`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import gc
import logging
import resource
import socket
import ssl
import struct
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass

from vrdiplomacy.net.relay_state import RelaySettings

log = logging.getLogger("vrdiplomacy.relay")
LOG_INTERVAL = 10.0  # least seconds between two "connections refused before TLS" log lines
TRIM_AFTER = 128  # connections accepted or closed since the last trim before the heap is trimmed ...
TRIM_DELAY = 1.0  # ... once no handshake is unfinished (checked every TRIM_DELAY seconds) ...
TRIM_UNDER_LOAD = 4096  # ... or anyway after this many
READ_CHUNK = 1 << 16
LISTEN_BACKLOG = 4096  # queued TCP connections (a burst is accepted and judged, not dropped by the kernel)
ACCEPT_BATCH = 512  # connections accepted per readiness wake-up
ACCEPT_PAUSE = 0.1  # seconds without accepting after running out of file descriptors
RESET = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends RST
TLS_HANDSHAKE_RECORD = 22  # TLS record content type of a ClientHello
MAX_FIRST_RECORD = 16384 + 256  # largest TLSPlaintext record (RFC 8446 5.1) with some slack


@dataclass
class PreauthCounters:
    """What happened to connections before their TLS handshake finished."""

    accepted: int = 0  # TCP connections accepted (before any limit)
    handshakes: int = 0  # handshakes that completed
    handshakes_refused: int = 0  # reset at once: address at max_handshakes_per_address (or with some at max_handshakes)
    handshakes_evicted: int = 0  # closed to make room at max_handshakes (the oldest unfinished one)
    handshake_timeouts: int = 0  # not finished within handshake_timeout
    handshakes_failed: int = 0  # TLS error, or the peer hung up before finishing
    heap_trims: int = 0  # malloc_trim calls after a burst

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        fn = getattr(ctypes.CDLL(None), "malloc_trim")  # the C library this process runs on
    except (OSError, AttributeError, TypeError):
        return None  # not glibc
    fn.argtypes = [ctypes.c_size_t]
    fn.restype = ctypes.c_int
    return fn  # type: ignore[no-any-return]


_TRIM = _malloc_trim()


def trim_heap() -> bool:
    """Collect garbage cycles, then give free heap memory back to the system (glibc
    ``malloc_trim``); False where that is unavailable."""
    gc.collect()
    if _TRIM is None:
        return False
    _TRIM(0)
    return True


def raise_fd_limit() -> int:
    """Raise this process's soft limit on open files to its hard limit (every connection is one);
    returns the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else max(soft, 65536), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class HandshakeGate:
    """Unfinished TLS handshakes, globally and per source address (oldest first)."""

    def __init__(self, settings: RelaySettings, loop: asyncio.AbstractEventLoop) -> None:
        self.s = settings
        self.loop = loop
        self.counters = PreauthCounters()
        self.pending: dict[TlsStream, float] = {}  # when each was accepted; insertion order: oldest first
        self.per_address: Counter[str] = Counter()
        self.unauthenticated: Counter[str] = Counter()  # per address: TLS done, no session yet
        self.peak = 0  # most unfinished handshakes at once
        self._churn = 0  # connections accepted or closed since the last trim
        self._trim: asyncio.TimerHandle | None = None
        self._sweep: asyncio.TimerHandle | None = None  # the oldest unfinished handshake's deadline
        self._held = 0  # refusals and evictions not yet logged
        self._last_log = -1e9

    def admit(self, address: str) -> bool:
        """May a new connection from ``address`` start a handshake? False: close it at once.

        At ``max_handshakes`` a connection from an address with no unfinished handshake closes
        the oldest unfinished one to make room; one from an address that has some is refused."""
        c = self.counters
        c.accepted += 1
        self.churn()
        n = self.per_address[address]
        if n + self.unauthenticated[address] >= self.s.max_handshakes_per_address or (
                n and len(self.pending) >= self.s.max_handshakes):
            c.handshakes_refused += 1
            self._note()
            return False
        while len(self.pending) >= self.s.max_handshakes:
            oldest = next(iter(self.pending))
            self.release(oldest)
            c.handshakes_evicted += 1
            self._note()
            oldest.abort()
        return True

    def churn(self) -> None:
        """A connection was accepted or closed: after many, trim the heap (see :func:`trim_heap`)."""
        self._churn += 1
        if self._trim is None and self._churn >= TRIM_AFTER:
            self._trim = self.loop.call_later(TRIM_DELAY, self._trim_now)

    def track(self, st: TlsStream) -> None:
        """``st`` (admitted) is handshaking."""
        self.pending[st] = self.loop.time()
        self.per_address[st.address] += 1
        self.peak = max(self.peak, len(self.pending))
        self._arm()

    def release(self, st: TlsStream) -> None:
        """``st`` finished its handshake or is gone (idempotent)."""
        if self.pending.pop(st, None) is None:
            return
        n = self.per_address[st.address] - 1
        if n > 0:
            self.per_address[st.address] = n
        else:
            del self.per_address[st.address]

    def opened(self, st: TlsStream) -> None:
        """``st`` finished its handshake; until :meth:`authenticated` it still counts against its
        address's limit (the relay closes it after ``hello_timeout`` without a session)."""
        self.release(st)
        st.unauthenticated = True
        self.unauthenticated[st.address] += 1

    def authenticated(self, st: TlsStream) -> None:
        """``st`` has a session, or is gone (idempotent)."""
        if not st.unauthenticated:
            return
        st.unauthenticated = False
        n = self.unauthenticated[st.address] - 1
        if n > 0:
            self.unauthenticated[st.address] = n
        else:
            del self.unauthenticated[st.address]

    def _arm(self) -> None:
        if self._sweep is None and self.pending:
            t0 = next(iter(self.pending.values()))
            self._sweep = self.loop.call_at(t0 + self.s.handshake_timeout, self._expire)

    def _expire(self) -> None:
        """Close the handshakes older than ``handshake_timeout`` (one timer for all of them)."""
        self._sweep = None
        limit = self.loop.time() - self.s.handshake_timeout
        while self.pending:
            st, t0 = next(iter(self.pending.items()))
            if t0 > limit:
                break
            self.release(st)
            self.counters.handshake_timeouts += 1
            st.abort()
        self._arm()

    def _trim_now(self) -> None:
        self._trim = None
        if self.pending and self._churn < TRIM_UNDER_LOAD:
            self._trim = self.loop.call_later(TRIM_DELAY, self._trim_now)  # the burst goes on
            return
        self._churn = 0
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
        for h in (self._trim, self._sweep):
            if h is not None:
                h.cancel()
        self._trim = self._sweep = None
        for st in list(self.pending):
            self.release(st)
            st.abort()


class TlsListener:
    """The relay's TCP listening socket with its own accept loop.

    A connection the gate refuses is reset (RST) right after ``accept()``: it never becomes an
    asyncio transport. An admitted one gets a :class:`TlsStream`."""

    def __init__(self, host: str, port: int, ctx: ssl.SSLContext, settings: RelaySettings,
                 on_open: Callable[[TlsStream], None], on_data: Callable[[TlsStream, bytes], None],
                 on_lost: Callable[[TlsStream, str], None]) -> None:
        self.host, self.requested_port = host, port
        self.ctx = ctx
        self.callbacks = (on_open, on_data, on_lost)
        self.loop = asyncio.get_running_loop()
        self.gate = HandshakeGate(settings, self.loop)
        self.port = 0
        self._sock: socket.socket | None = None
        self._attaching: set[asyncio.Task[None]] = set()
        self._paused: asyncio.TimerHandle | None = None

    def start(self) -> None:
        """Bind and listen (raises OSError)."""
        fam = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        info = socket.getaddrinfo(self.host, self.requested_port, fam, socket.SOCK_STREAM, 0, socket.AI_PASSIVE)
        sock = socket.socket(fam, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(info[0][4])
            sock.listen(LISTEN_BACKLOG)
        except OSError:
            sock.close()
            raise
        sock.setblocking(False)
        self._sock = sock
        self.port = int(sock.getsockname()[1])
        self.loop.add_reader(sock.fileno(), self._on_acceptable)

    def close(self) -> None:
        if self._paused is not None:
            self._paused.cancel()
            self._paused = None
        if self._sock is not None:
            self.loop.remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
        self.gate.close()
        for t in self._attaching:
            t.cancel()

    def _on_acceptable(self) -> None:
        sock = self._sock
        for _ in range(ACCEPT_BATCH):
            if sock is None:
                return
            try:
                conn, peer = sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                if e.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    log.warning("cannot accept connections (%s); pausing accept for %g s", e.strerror, ACCEPT_PAUSE)
                    self.loop.remove_reader(sock.fileno())
                    self._paused = self.loop.call_later(ACCEPT_PAUSE, self._resume_accept)
                    return
                continue  # the peer gave up already (ECONNABORTED and the like)
            address = str(peer[0]) if isinstance(peer, tuple) and peer else ""
            if not self.gate.admit(address):
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET)
                conn.close()
                continue
            conn.setblocking(False)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # small control frames go out at once
            st = TlsStream(self.gate, self.ctx, address, *self.callbacks)
            self.gate.track(st)
            task = self.loop.create_task(self._attach(st, conn))
            self._attaching.add(task)
            task.add_done_callback(self._attaching.discard)

    async def _attach(self, st: TlsStream, conn: socket.socket) -> None:
        try:
            await self.loop.connect_accepted_socket(lambda: st, conn)
        except OSError:
            self.gate.release(st)
            conn.close()

    def _resume_accept(self) -> None:
        self._paused = None
        if self._sock is not None:
            self.loop.add_reader(self._sock.fileno(), self._on_acceptable)


class TlsStream(asyncio.Protocol):
    """One accepted TCP connection: a bounded TLS handshake, then TLS records both ways.

    After the handshake it behaves like the parts of :class:`asyncio.StreamWriter` the relay
    uses (``write``, ``close``, ``transport``) and hands plaintext to ``on_data``.
    """

    __slots__ = ("gate", "ctx", "on_open", "on_data", "on_lost", "transport", "address", "conn_id", "open",
                 "unauthenticated", "_dead", "_obj", "_in", "_out", "_head")

    def __init__(self, gate: HandshakeGate, ctx: ssl.SSLContext, address: str, on_open: Callable[[TlsStream], None],
                 on_data: Callable[[TlsStream, bytes], None], on_lost: Callable[[TlsStream, str], None]) -> None:
        self.gate = gate
        self.ctx = ctx
        self.on_open = on_open
        self.on_data = on_data
        self.on_lost = on_lost
        self.transport: asyncio.Transport = None  # type: ignore[assignment]  # set in connection_made
        self.address = address
        self.conn_id = 0  # set by the relay once the handshake finished
        self.open = False  # handshake finished
        self.unauthenticated = False  # handshake finished, no session yet (see HandshakeGate.opened)
        self._dead = False
        self._obj: ssl.SSLObject | None = None
        self._in: ssl.MemoryBIO | None = None
        self._out: ssl.MemoryBIO | None = None
        self._head = b""  # bytes of the first TLS record while it is incomplete

    # ------------------------------------------------------------ asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        if self._dead:  # evicted or expired before its transport existed
            transport.abort()

    def data_received(self, data: bytes) -> None:
        if self._dead:
            return
        if self._obj is None:
            head = self._head + data
            n = int.from_bytes(head[3:5], "big") if len(head) >= 5 else 0
            if head[0] != TLS_HANDSHAKE_RECORD or n > MAX_FIRST_RECORD:
                self.gate.counters.handshakes_failed += 1  # not TLS
                self.abort()
                return
            if len(head) < 5 or len(head) < 5 + n:
                self._head = head  # wait for the whole first record before making an SSLObject
                return
            self._head, data = b"", head
            self._in, self._out = ssl.MemoryBIO(), ssl.MemoryBIO()
            self._obj = self.ctx.wrap_bio(self._in, self._out, server_side=True)
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
            self.gate.opened(self)
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
        self.gate.authenticated(self)
        self._obj = self._in = self._out = None
        if was_open:
            self.gate.churn()
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
        self.gate.release(self)
