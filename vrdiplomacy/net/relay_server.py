"""asyncio adapter of the relay: TLS control connections on TCP, media on a raw UDP socket.

All protocol decisions live in :class:`~vrdiplomacy.net.relay_core.RelayCore`; this module reads
sockets, passes ``loop.time()`` as the clock, writes what the core returns and measures
forwarding latency (receive to ``sendto``) for voice and pose bundles. TLS runs in
:mod:`vrdiplomacy.net.preauth` (bounded handshakes on raw TCP), not in asyncio's SSL transport.

Room events are durable: the core's room logs go to a journal in the state directory
(:class:`~vrdiplomacy.net.event_log.FileEventStore`). While the journal has changes not yet on
disk, the control bytes the core produces are held, in order, and a worker thread writes and
``fsync``-s the journal; then they go out. Acknowledgements and fan-out therefore follow the
``fsync``; datagrams (voice, poses) never wait for it. A relay restarted on the same state
directory numbers each room's events on from where it stopped and replays to resuming clients.

With ``nats`` (:class:`~vrdiplomacy.net.federation_io.NatsOptions`) the relay is one node of a
federation: :class:`~vrdiplomacy.net.federation_io.FederationLink` joins NATS at start (a refusal
there stops the start with a :class:`~vrdiplomacy.errors.ConfigError`), room events are stored in
JetStream instead of the journal (acknowledged when JetStream has them), and every flush also
hands the core's federation outbox to NATS. ``shared_dir`` holds the certificate and resume secret
all nodes share.

``VRD_RELAY_CRASH_AFTER_EVENTS=N`` (fault injection for tests) makes the process kill itself
with SIGKILL right after the sync that made the N-th room event durable, before any
acknowledgement or fan-out of it leaves.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import logging
import os
import resource
import signal
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from vrdiplomacy.errors import ConfigError
from vrdiplomacy.net import tls
from vrdiplomacy.net.event_log import FileEventStore
from vrdiplomacy.net.federation_io import FederationLink, NatsOptions
from vrdiplomacy.net.gc_policy import GcSettings, HeapFreezer
from vrdiplomacy.net.preauth import TlsListener, TlsStream
from vrdiplomacy.net.relay_core import Datagram, RelayCore
from vrdiplomacy.net.relay_state import RelaySettings
from vrdiplomacy.net.stats import BINS, PER_BIN, LatencyHistogram
from vrdiplomacy.reception.store import ReceptionStore
from vrdiplomacy.scene.layout import Layout

log = logging.getLogger("vrdiplomacy.relay")
DRAIN_MAX = 64  # datagrams read per readiness wake-up before flushing (then the loop takes its other callbacks)
SOCK_BUF = 4 << 20


class RelayServer:
    """The relay on ``host:port`` (TCP for TLS control; UDP on the same port number when free)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        state_dir: Path | None = None,
        settings: RelaySettings | None = None,
        layouts: dict[str, Layout] | None = None,
        default_layout: Layout | None = None,
        stats_file: Path | None = None,
        layout_for: Callable[[str], Layout | None] | None = None,
        nats: NatsOptions | None = None,
        shared_dir: Path | None = None,
        gc_policy: GcSettings | None = None,
    ) -> None:
        self.host = host
        self.requested_port = port
        self.state_dir = state_dir or tls.default_state_dir()
        self.settings = settings or RelaySettings()
        self.stats_file = stats_file
        # federated nodes share one certificate and resume secret (``shared_dir``): a client fails over
        # to any node with the same pin and token
        self.cert, self.key, self.fingerprint = tls.ensure_certificate(shared_dir or self.state_dir)
        if shared_dir is not None:
            tls.ensure_secret(self.state_dir)  # makes the state directory (mode 0700) for the journal
        self.journal = FileEventStore(self.state_dir / "events.journal")
        self.core = RelayCore(tls.ensure_secret(shared_dir or self.state_dir), self.settings, 0, layouts, default_layout, layout_for=layout_for,
                              fingerprint=self.fingerprint, events=self.journal)
        # receptions: one-time passes used and each reception's host, kept across restarts
        self.core.use_reception_store(ReceptionStore(self.state_dir / "reception.json"))
        # control output waiting for the journal's fsync: (streams, connections to close), in order
        self._held: list[tuple[dict[int, bytes], list[int]]] = []
        self._sync_task: asyncio.Task[None] | None = None
        self._journal_io: concurrent.futures.ThreadPoolExecutor | None = None
        self.sync_ms_max = 0.0
        self._events_synced = 0
        crash = os.environ.get("VRD_RELAY_CRASH_AFTER_EVENTS", "")
        self._crash_after = int(crash) if crash.isdigit() else None
        self.port = 0
        self.udp_port = 0
        self.voice_latency = LatencyHistogram()
        self.pose_latency = LatencyHistogram()
        self.send_errors = 0
        self.udp_wakeups = 0  # readiness wake-ups of the UDP socket
        self.udp_reads = 0  # datagrams read from it
        self._listener: TlsListener | None = None
        self._udp: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._writers: dict[int, TlsStream] = {}
        self._next_conn = 1
        self._timer: asyncio.TimerHandle | None = None
        self._stats_task: asyncio.Task[None] | None = None
        self._closed = asyncio.Event()
        self.nats = nats
        self.fed: FederationLink | None = None
        # the collector policy of a relay service process (never of a relay embedded in a client)
        self.heap = HeapFreezer(gc_policy) if gc_policy is not None else None
        self._heap_task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        loop = self._loop = asyncio.get_running_loop()
        ctx = tls.server_context(self.cert, self.key)
        self._listener = TlsListener(self.host, self.requested_port, ctx, self.settings, self._on_open, self._on_data,
                                     self._on_lost)
        try:
            self._listener.start()
        except OSError as e:
            raise ConfigError(f"cannot listen on {self.host}:{self.requested_port}: {e.strerror}") from None
        self.port = self._listener.port
        self._udp = self._bind_udp()
        self.udp_port = self._udp.getsockname()[1]
        self.core.udp_port = self.udp_port
        loop.add_reader(self._udp.fileno(), self._on_readable)
        self._journal_io = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="vrd-journal")
        if self.nats is not None:
            self.fed = FederationLink(self.core, self.nats, self._flush)
            try:
                await self.fed.start()
            except BaseException:
                await self.close()
                raise
        self._schedule()
        if self.stats_file is not None:
            self._stats_task = asyncio.create_task(self._stats_loop())
        if self.heap is not None:
            self.heap.install()
            self._heap_task = asyncio.create_task(self._heap_loop())
        log.debug("relay listening on %s:%d (TLS/TCP), media on UDP %d", self.host, self.port, self.udp_port)
        logs = self.core.waiting_logs()
        if logs:
            log.info("room events of %d rooms restored from %s (%d kept for replay); their members may resume",
                     len(logs), self.journal.path, sum(len(x.history) for x in logs))

    def _bind_udp(self) -> socket.socket:
        fam = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(fam, socket.SOCK_DGRAM)
        sock.setblocking(False)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCK_BUF)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCK_BUF)
        try:
            sock.bind((self.host, self.port))
        except OSError:
            if self.requested_port:
                sock.close()
                raise ConfigError(f"cannot bind UDP {self.host}:{self.port}: port in use") from None
            sock.bind((self.host, 0))
        return sock

    async def serve_forever(self) -> None:
        await self._closed.wait()

    async def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        if self.fed is not None:
            await self.fed.close()
        if self._timer is not None:
            self._timer.cancel()
        for task in (self._stats_task, self._heap_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self.heap is not None:
            self.heap.uninstall()
        if self._udp is not None and self._loop is not None:
            self._loop.remove_reader(self._udp.fileno())
            self._udp.close()
        if self._listener is not None:
            self._listener.close()
        for w in list(self._writers.values()):
            w.abort()
        self._writers.clear()
        await asyncio.sleep(0)  # let the transports report their loss
        if self._sync_task is not None:
            with contextlib.suppress(Exception):
                await self._sync_task
        with contextlib.suppress(OSError):
            self.journal.sync()
        self.journal.close()
        if self._journal_io is not None:
            self._journal_io.shutdown(wait=True)
        self._write_stats()

    async def __aenter__(self) -> RelayServer:
        await self.start()
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    # ------------------------------------------------------------ control connections

    def _on_open(self, st: TlsStream) -> None:
        """A TLS handshake finished: the connection now belongs to the core."""
        if self._closed.is_set() or self._loop is None:
            st.abort()
            return
        st.conn_id = conn_id = self._next_conn
        self._next_conn += 1
        self._writers[conn_id] = st
        self.core.connection_made(conn_id, self._loop.time())

    def _on_data(self, st: TlsStream, data: bytes) -> None:
        if self._writers.get(st.conn_id) is not st or self._loop is None:
            return
        self.core.receive_stream(st.conn_id, data, self._loop.time())
        self._flush()
        if st.unauthenticated and self._listener is not None:
            conn = self.core.conns.get(st.conn_id)
            if conn is not None and conn.session is not None:
                self._listener.gate.authenticated(st)
        if st.conn_id in self._writers and self.core.reading_paused(st.conn_id):
            st.transport.pause_reading()  # the core's control budget is spent: TCP backpressure
            self._loop.call_later(0.02, self._resume, st)

    def _resume(self, st: TlsStream) -> None:
        if self._writers.get(st.conn_id) is not st or self._loop is None:
            return
        if self.core.reading_paused(st.conn_id):
            self._loop.call_later(0.02, self._resume, st)
        else:
            st.transport.resume_reading()

    def _on_lost(self, st: TlsStream, reason: str) -> None:
        if self._writers.get(st.conn_id) is not st or self._loop is None:
            return
        del self._writers[st.conn_id]
        if not self._closed.is_set():
            self.core.connection_lost(st.conn_id, self._loop.time(), reason)
            self._flush()

    # ------------------------------------------------------------ media

    def _on_readable(self) -> None:
        """Drain the UDP socket (up to ``DRAIN_MAX``), then flush once: frames read in one wake-up
        (such as several speakers' frames of the same 20 ms tick) share one bundle per receiver.
        At 1000 guests 512 datagrams (poses mostly) took 3-5 ms to route before the flush, and a
        voice batch from NATS or a due voice timer waited behind them; 64 keep that under 1 ms
        (the loop reads the rest at its next turn, the socket being still readable)."""
        sock = self._udp
        if sock is None or self._loop is None:
            return
        now = self._loop.time()
        recv = sock.recvfrom
        feed = self.core.receive_datagram
        reads = 0
        while reads < DRAIN_MAX:
            try:
                data, addr = recv(2048)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break
            feed(data, addr, now)
            reads += 1
        self.udp_wakeups += 1
        self.udp_reads += reads
        self._flush()

    def _on_timer(self) -> None:
        self._timer = None
        if self._loop is None or self._closed.is_set():
            return
        self.core.handle_timer(self._loop.time())
        self._flush()

    def _schedule(self) -> None:
        if self._loop is None or self._closed.is_set():
            return
        t = self.core.timer()
        if self._timer is not None:
            if self._timer.when() <= t:
                return
            self._timer.cancel()
        self._timer = self._loop.call_at(t, self._on_timer)

    def _flush(self) -> None:
        loop = self._loop
        if loop is None:
            return
        now = loop.time()
        if self.fed is not None:
            self.fed.kick()  # other relay nodes first: their members' voice then waits for no local bundle sealing
        out = self.core.to_send(now)
        if out.datagrams and self._udp is not None:
            self._send_datagrams(out.datagrams)
        if self._held or self.journal.unsynced:
            # room events are not on disk yet: their acks and fan-out (and all that follows) wait
            if out.streams or out.close:
                self._held.append((out.streams, out.close))
            if self._sync_task is None and not self._closed.is_set():
                self._sync_task = asyncio.create_task(self._sync_journal())
        else:
            self._write_out(out.streams, out.close, now)
        while (ev := self.core.next_event()) is not None:
            if self.heap is not None:
                self.heap.note(ev.kind, now)
            log.info("session %s: %s (%s, seat %s, room %s%s)%s", ev.kind, ev.client_id, ev.identity, ev.seat or "-", ev.room,
                     f", invited as {ev.role}" if ev.role else "", f": {ev.reason}" if ev.reason else "")
        if self.fed is not None:
            self.fed.kick()
        self._schedule()

    def _write_out(self, streams: dict[int, bytes], close: list[int], now: float) -> None:
        for conn_id, data in streams.items():
            w = self._writers.get(conn_id)
            if w is None or w.transport.is_closing():
                continue
            w.write(data)
            if w.transport.get_write_buffer_size() > self.settings.max_stream_backlog:
                self.core.counters.connections_slow += 1
                self._writers.pop(conn_id, None)
                self.core.connection_lost(conn_id, now, "too slow to keep up")
                w.transport.abort()
        for conn_id in close:
            w = self._writers.pop(conn_id, None)
            if w is not None:
                w.close()

    async def _sync_journal(self) -> None:
        """Write and fsync the journal in a worker thread, then release the output held for it."""
        loop = asyncio.get_running_loop()
        try:
            while (self._held or self.journal.unsynced) and not self._closed.is_set():
                n = len(self._held)  # everything held so far depends only on changes taken now
                batch = self.journal.take()
                if batch is not None:
                    t0 = time.monotonic()
                    try:
                        await loop.run_in_executor(self._journal_io, self.journal.write, batch)
                    except OSError as e:  # nothing is acknowledged until the journal is written
                        log.error("cannot write the event journal %s: %s; retrying", self.journal.path, e)
                        self.journal.requeue(batch)
                        await asyncio.sleep(0.5)
                        continue
                    self.sync_ms_max = max(self.sync_ms_max, (time.monotonic() - t0) * 1000)
                    self._events_synced += batch.events
                    if self._crash_after is not None and self._events_synced >= self._crash_after:
                        os.kill(os.getpid(), signal.SIGKILL)  # fault injection: stored, not yet acknowledged
                ready, self._held = self._held[:n], self._held[n:]
                now = loop.time()
                for streams, close in ready:
                    self._write_out(streams, close, now)
                self._flush()
        finally:
            self._sync_task = None

    def _send_datagrams(self, datagrams: list[Datagram]) -> None:
        """``sendto`` each datagram and record its forwarding latency (receipt to ``sendto``)."""
        assert self._udp is not None
        send = self._udp.sendto
        vh, ph = self.voice_latency, self.pose_latency
        vc, pc = vh.counts, ph.counts
        vn = pn = 0
        vs = ps = 0.0
        clock = time.monotonic
        errors = 0
        for data, addr, tv, tp in datagrams:
            try:
                send(data, addr)
            except OSError:  # BlockingIOError (buffer full) included: the datagram is lost
                errors += 1
                continue
            if tv or tp:
                t = clock()
                if tv:
                    d = t - tv
                    i = int(d * PER_BIN)
                    vc[i if 0 <= i < BINS else (0 if i < 0 else BINS)] += 1
                    vn += 1
                    vs += d
                if tp:
                    d = t - tp
                    i = int(d * PER_BIN)
                    pc[i if 0 <= i < BINS else (0 if i < 0 else BINS)] += 1
                    pn += 1
                    ps += d
        vh.n += vn
        vh.total += vs
        ph.n += pn
        ph.total += ps
        self.send_errors += errors

    # ------------------------------------------------------------ statistics

    def stats(self) -> dict[str, Any]:
        ru = resource.getrusage(resource.RUSAGE_SELF)
        d = self.core.stats()
        d["voice_latency"] = self.voice_latency.as_dict()
        d["pose_latency"] = self.pose_latency.as_dict()
        d["voice_latency_bins"] = self.voice_latency.sparse()  # for a bench's window (LatencyHistogram.between)
        d["send_errors"] = self.send_errors
        d["udp_wakeups"] = self.udp_wakeups
        d["udp_reads"] = self.udp_reads
        d["journal"] = {"bytes": self.journal.size, "syncs": self.journal.syncs, "sync_ms_max": round(self.sync_ms_max, 3),
                        "compactions": self.journal.compactions, "torn_bytes": self.journal.torn_bytes,
                        "damaged_bytes": self.journal.damaged_bytes}
        if self._listener is not None:
            g = self._listener.gate
            d["preauth"] = {**g.counters.as_dict(), "unfinished": len(g.pending), "peak": g.peak}
        if self.fed is not None:
            d["federation"] = self.fed.stats()
        if self.heap is not None:
            d["gc"] = self.heap.stats()
        d["cpu_s"] = ru.ru_utime + ru.ru_stime
        d["pid"] = os.getpid()
        return d

    def _write_stats(self) -> None:
        if self.stats_file is None:
            return
        try:
            fd, tmp = tempfile.mkstemp(dir=str(self.stats_file.parent), prefix=".relay-stats")
            with os.fdopen(fd, "w") as f:
                f.write(json.dumps(self.stats()))  # one shot: json.dump writes it in hundreds of pieces
            os.replace(tmp, self.stats_file)
        except OSError as e:
            log.warning("cannot write stats file %s: %s", self.stats_file, e)

    async def _heap_loop(self) -> None:
        assert self.heap is not None and self._loop is not None
        while True:
            await asyncio.sleep(1.0)
            did = self.heap.tick(self._loop.time())
            if did == "full":
                log.debug("full collection after departures: %d objects freed", self.heap.collected)

    async def _stats_loop(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self._write_stats()


class EmbeddedRelay:
    """A relay in this process on 127.0.0.1 with an ephemeral port, for the demo and tests.

    ``async with EmbeddedRelay() as relay:`` then ``connect(relay.host, relay.port,
    relay.fingerprint, ...)``. Without ``state_dir`` a temporary one is used and removed.
    """

    def __init__(self, state_dir: Path | None = None, settings: RelaySettings | None = None,
                 layouts: dict[str, Layout] | None = None, default_layout: Layout | None = None) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if state_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="vrd-relay-")
            state_dir = Path(self._tmp.name)
        self.server = RelayServer("127.0.0.1", 0, state_dir, settings, layouts, default_layout)
        self.host = "127.0.0.1"

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def fingerprint(self) -> str:
        return self.server.fingerprint

    async def __aenter__(self) -> EmbeddedRelay:
        await self.server.start()
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        await self.server.close()
        if self._tmp is not None:
            self._tmp.cleanup()
