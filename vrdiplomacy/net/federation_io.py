"""The nats-py adapter of a federated relay node (sans-I/O part: :mod:`vrdiplomacy.net.federation`).

:class:`FederationLink` connects the relay's event loop to NATS: it carries out what the core's
federation outbox asks (join a room's subjects and its JetStream stream, publish media batches,
presence and floor, store room events), and feeds what arrives back to the core, then lets the
relay flush. One room's events are published one at a time, in order, each with a
``Nats-Msg-Id`` (so a client re-sending an event after a failover is stored once); a publish that
gets no acknowledgement (a NATS node died) is retried until JetStream has it, and only then is the
client acknowledged. Each room's stream is read by an ordered consumer (re-created by nats-py from
the next sequence when its NATS node fails).

Room traffic on core NATS (media batches, presence, floor, places, space events) goes over the
node's own second connection, :class:`~vrdiplomacy.net.federation_media.MediaLink`: published in
the same turn of the event loop as the relay's flush (:meth:`FederationLink.kick`, which the
relay calls before it seals its local bundles) and handed to the core as it is read. Through
nats-py the same batch waited about five loop turns (its flusher, reader and subscription tasks),
which on a busy relay put cross-node voice at p99 150-200 ms. With TLS NATS URLs or a credentials
file the room traffic stays on nats-py (the pump task).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vrdiplomacy.errors import ConfigError
from vrdiplomacy.net import federation_wire as fw
from vrdiplomacy.net.federation import FederationSettings, FedOutbox, FedRoom
from vrdiplomacy.net.federation_media import MediaLink, plain_urls
from vrdiplomacy.net.stats import LatencyHistogram
from vrdiplomacy.reception.fed_link import ReceptionLink

if TYPE_CHECKING:
    from vrdiplomacy.net.relay_core import RelayCore

log = logging.getLogger("vrdiplomacy.relay")


@dataclass
class NatsOptions:
    """Where and as whom a relay node connects to NATS.

    urls: NATS server URLs (``nats://host:4222``); the node fails over between them.
    user / password: the node's NATS user (``--nats-user``/``--nats-password``).
    creds: a NATS credentials file (``--nats-creds``; JWT + nkey) instead of user/password.
    """

    urls: list[str] = field(default_factory=list)
    user: str | None = None
    password: str | None = None
    creds: str | None = None
    federation: FederationSettings = field(default_factory=FederationSettings)


class FederationLink:
    """A relay node's NATS connection; ``flush`` is the relay's flush (called after feeding the core)."""

    def __init__(self, core: RelayCore, opts: NatsOptions, flush: Callable[[], None]) -> None:
        self.core = core
        self.opts = opts
        self.flush = flush
        self.nc: Any = None
        self.js: Any = None
        self._kick = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []
        self._subs: dict[str, list[Any]] = {}  # room token -> subscriptions
        self._queues: dict[str, asyncio.Queue[fw.EventRecord]] = {}
        self._publishers: dict[str, asyncio.Task[None]] = {}
        self._closed = False
        self._room_tasks: set[asyncio.Task[None]] = set()
        self._kicked = 0.0
        self.pump_lag = LatencyHistogram()  # kick to the pump's turn (one loop iteration)
        self.loop_lag = LatencyHistogram()  # how late the 10 ms probe of the relay's event loop runs
        self._inflight: set[str] = set()  # rooms whose publisher holds an event not yet stored
        self.publish_errors = 0
        self.event_retries = 0
        self.reconnects = 0
        self.publish_bytes = 0
        self.publish_msgs = 0
        self._first_errors: list[str] | None = None
        self.reception = ReceptionLink(self)  # receptions' records (their own stream)
        self.media: MediaLink | None = None  # room subjects on the node's own NATS connection (else on nats-py)
        self._slow_publish: list[tuple[str, bytes]] = []  # for nats-py when there is no media link
        self._due: asyncio.TimerHandle | None = None  # waiting pose entries are due

    async def start(self) -> None:
        from nats.aio.client import Client as NATS
        from nats.errors import Error as NatsError
        from nats.errors import NoServersError

        self.core.enable_federation(self.opts.federation)
        kw: dict[str, Any] = {}
        if self.opts.creds:
            kw["user_credentials"] = self.opts.creds
        elif self.opts.user:
            kw["user"], kw["password"] = self.opts.user, self.opts.password or ""
        self._first_errors = []
        try:
            # a few tries of each server at start (a refusal is reported, not retried for ever) ...
            self.nc = NATS()
            await asyncio.wait_for(self.nc.connect(
                self.opts.urls, name=f"vrd-relay-{self.opts.federation.node_name}", no_echo=True, connect_timeout=2,
                reconnect_time_wait=0.2, max_reconnect_attempts=2, allow_reconnect=True, dont_randomize=True, ping_interval=2,
                max_outstanding_pings=2, error_cb=self._on_error, disconnected_cb=self._on_disconnected,
                reconnected_cb=self._on_reconnected, **kw), 4.0 + 2.0 * len(self.opts.urls))
        except (TimeoutError, NoServersError, NatsError, OSError) as e:
            with contextlib.suppress(Exception):
                await self.nc.close()
            why = self._first_errors[-1] if self._first_errors else _why(e)
            raise ConfigError(f"cannot join the federation at {','.join(self.opts.urls)}: {why}") from None
        self._first_errors = None
        self.nc.options["max_reconnect_attempts"] = -1  # ... then, once in, it never gives up
        self.js = self.nc.jetstream(timeout=2.0)
        try:
            await self.js.account_info()
            await self.reception.start()
        except Exception as e:  # noqa: BLE001 - any failure here means no usable JetStream
            await self.nc.close()
            raise ConfigError(f"NATS at {','.join(self.opts.urls)} has no usable JetStream for this user: {_why(e)}") from None
        await self.nc.subscribe(fw.ALIVE_SUBJECT, cb=self._on_alive)
        if not self.opts.creds and plain_urls(self.opts.urls):
            link = MediaLink(self.opts.urls, self.opts.user, self.opts.password, f"vrd-room-{self.opts.federation.node_name}",
                             self._on_media, self.flush, self._on_media_up)
            try:
                await link.start()
                self.media = link
            except ConfigError as e:
                log.warning("room traffic stays on nats-py: %s", e)
        self._tasks.append(asyncio.create_task(self._pump()))
        self._tasks.append(asyncio.create_task(self._alive_loop()))
        self._tasks.append(asyncio.create_task(self._lag_probe()))
        log.info("node %s joined the federation at %s (node id %08x)", self.opts.federation.node_name,
                 self.nc.connected_url.netloc if self.nc.connected_url else "?", self.core.fed.node if self.core.fed else 0)

    async def close(self) -> None:
        self._closed = True
        if self._due is not None:
            self._due.cancel()
        if self.media is not None:
            await self.media.close()
        tasks = [*self._tasks, *self._publishers.values(), *self._room_tasks]
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        await self.reception.close()
        if self.nc is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.nc.drain(), 2.0)
            with contextlib.suppress(Exception):
                await self.nc.close()

    def kick(self) -> None:
        """The core may have something for NATS (called after every relay flush). With the media
        link it goes out now, in this turn of the loop; otherwise the pump task sends it."""
        if self.media is not None and self.core.fed is not None:
            self._handle(self.core.fed_take(asyncio.get_running_loop().time()))
            if not self._slow_publish:
                return
        if not self._kick.is_set():
            self._kicked = time.monotonic()
            self._kick.set()

    def stats(self) -> dict[str, Any]:
        fed = self.core.fed
        return {
            "node": self.opts.federation.node_name,
            "connected": bool(self.nc is not None and self.nc.is_connected),
            "nats_url": self.nc.connected_url.netloc if self.nc is not None and self.nc.connected_url else "",
            "rooms": len(self._subs),
            "publish_msgs": self.publish_msgs,
            "publish_bytes": self.publish_bytes,
            "publish_errors": self.publish_errors,
            "event_retries": self.event_retries,
            "reconnects": self.reconnects,
            **(fed.counters.as_dict() if fed is not None else {}),
            "voice_transit": fed.transit.as_dict() if fed is not None else {},
            "pump_lag": self.pump_lag.as_dict(),
            "loop_lag": self.loop_lag.as_dict(),
            # the same two as bins (index: count), so that a bench can take a window's figures
            "loop_lag_bins": self.loop_lag.sparse(),
            "voice_transit_bins": fed.transit.sparse() if fed is not None else {},
            "room_link": self.media.stats() if self.media is not None else {},
        }

    # ------------------------------------------------------------ NATS callbacks

    async def _on_error(self, e: Exception) -> None:
        if self._first_errors is not None:
            self._first_errors.append(str(e).strip() or type(e).__name__)
            return
        log.warning("NATS: %s", _why(e))

    async def _on_disconnected(self) -> None:
        if not self._closed:
            log.warning("NATS connection lost; reconnecting to %s", ",".join(self.opts.urls))

    async def _on_reconnected(self) -> None:
        self.reconnects += 1
        log.info("NATS reconnected to %s", self.nc.connected_url.netloc if self.nc.connected_url else "?")
        self.core.fed_resync()
        self.flush()

    def _on_media(self, subject: str, data: bytes) -> None:
        parts = subject.split(".")
        if len(parts) == 4:
            self.core.fed_message(parts[2], parts[3], data, asyncio.get_running_loop().time())

    def _on_media_up(self) -> None:
        self.core.fed_resync()
        self.flush()

    async def _on_alive(self, msg: Any) -> None:
        self.core.fed_alive(msg.data, asyncio.get_running_loop().time())
        self.flush()

    # ------------------------------------------------------------ outbox

    def _handle(self, out: FedOutbox) -> None:
        """Carry out the core's outbox: rooms to open and leave, room messages (through the media
        link now when there is one), room events to their publishers; and the receptions' records."""
        self.reception.take()
        if out.due is not None and (self._due is None or self._due.when() > out.due):
            if self._due is not None:
                self._due.cancel()
            self._due = asyncio.get_running_loop().call_at(out.due, self._on_due)
        for fr in out.open:
            self._spawn(self._open(fr))
        for token in out.close:
            self._spawn(self._leave(token))
        media = self.media
        for subject, data in out.publish:
            if media is None:
                self._slow_publish.append((subject, data))
            elif media.publish(subject, data):
                self.publish_msgs += 1
                self.publish_bytes += len(data)
            else:
                self.publish_errors += 1
        for token, rec in out.events:
            q = self._queues.get(token)
            if q is None:
                q = self._queues[token] = asyncio.Queue()
                self._publishers[token] = asyncio.create_task(self._publisher(token, q))
            q.put_nowait(rec)

    def _on_due(self) -> None:
        self._due = None
        self.kick()

    async def _pump(self) -> None:
        while True:
            await self._kick.wait()
            self._kick.clear()
            self.pump_lag.add(time.monotonic() - self._kicked)
            if self.media is None:
                self._handle(self.core.fed_take(asyncio.get_running_loop().time()))
            pending, self._slow_publish = self._slow_publish, []
            for subject, data in pending:
                try:
                    await self.nc.publish(subject, data)
                    self.publish_msgs += 1
                    self.publish_bytes += len(data)
                except Exception as e:  # noqa: BLE001 - media is best effort; counted
                    self.publish_errors += 1
                    log.debug("NATS publish to %s failed: %s", subject, _why(e))

    def _spawn(self, coro: Any) -> None:
        """Run a room task, keeping a reference until it ends (and cancelling it at close)."""
        t = asyncio.create_task(coro)
        self._room_tasks.add(t)
        t.add_done_callback(self._room_tasks.discard)

    async def _alive_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            beat = self.core.fed_tick(loop.time())
            if beat is not None and self.nc.is_connected:
                with contextlib.suppress(Exception):
                    await self.nc.publish(fw.ALIVE_SUBJECT, beat)
            self.flush()
            await asyncio.sleep(0.1)

    async def _lag_probe(self) -> None:
        """The relay's event-loop lag (a statistic: tells a busy relay from a slow network)."""
        loop = asyncio.get_running_loop()
        while True:
            t = loop.time()
            await asyncio.sleep(0.01)
            self.loop_lag.add(max(0.0, loop.time() - t - 0.01))

    async def _publisher(self, token: str, q: asyncio.Queue[fw.EventRecord]) -> None:
        """One room's events to its stream, in order; each retried until JetStream acknowledges it."""
        subject, stream = fw.event_subject(token), fw.stream_name(token)
        loop = asyncio.get_running_loop()
        while True:
            rec = await q.get()
            self._inflight.add(token)
            delay = 0.05
            while True:
                try:
                    await self.js.publish(subject, bytes(rec), timeout=1.0, stream=stream,
                                          headers={"Nats-Msg-Id": rec.msg_id(token)})
                    break
                except Exception as e:  # noqa: BLE001 - no ack yet: the client is not acknowledged; retry
                    self.event_retries += 1
                    log.info("room event of %08x #%d not stored yet (%s); retrying", rec.sender, rec.client_seq, _why(e))
                    if "stream not found" in str(e).lower():
                        with contextlib.suppress(Exception):
                            await self._ensure_stream(token)
                    await asyncio.sleep(delay)
                    delay = min(0.5, delay * 2)
            self._inflight.discard(token)
            self.core.fed_stored(rec.sender, rec.client_seq, loop.time())
            self.flush()

    # ------------------------------------------------------------ rooms

    async def _ensure_stream(self, token: str) -> int:
        """Create the room's stream if needed; returns its last sequence number."""
        from nats.js.errors import NotFoundError

        name = fw.stream_name(token)
        try:
            info = await self.js.stream_info(name)
        except NotFoundError:
            cfg = stream_config(token, self.opts.federation.replicas)
            try:
                info = await self.js.add_stream(cfg)
            except Exception:  # noqa: BLE001 - another node created it meanwhile
                info = await self.js.stream_info(name)
        return int(info.state.last_seq)

    async def _open(self, fr: FedRoom) -> None:
        """Join a room: its core NATS subjects, then its stream from its kept tail."""
        from nats.js.api import ConsumerConfig, DeliverPolicy

        loop = asyncio.get_running_loop()
        token = fr.token
        delay = 0.1
        while not self._closed:
            try:
                if token not in self._subs:
                    if self.media is not None:
                        self.media.subscribe(f"vrd.room.{token}.*")
                        self._subs[token] = []
                    else:
                        self._subs[token] = [await self.nc.subscribe(f"vrd.room.{token}.*", cb=self._on_room)]
                last = await self._ensure_stream(token)
                await self.reception.open(token)  # the room's reception records, before the room counts as open
                start = max(1, last - self.core._history + 1)
                caught_up = asyncio.Event()
                if last == 0:
                    caught_up.set()

                async def on_event(msg: Any, last: int = last, ev: asyncio.Event = caught_up) -> None:
                    seq = msg.metadata.sequence.stream
                    self.core.fed_event_in(token, seq, msg.data, loop.time())
                    if seq >= last:
                        ev.set()
                    self.flush()

                cfg = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start)
                sub = await self.js.subscribe(fw.event_subject(token), cb=on_event, stream=fw.stream_name(token),
                                              ordered_consumer=True, idle_heartbeat=0.5, config=cfg)
                try:
                    await asyncio.wait_for(caught_up.wait(), 5.0)
                except TimeoutError:
                    with contextlib.suppress(Exception):
                        await sub.unsubscribe()
                    raise
                self._subs[token].append(sub)
                break
            except Exception as e:  # noqa: BLE001 - keep trying while the room is wanted
                log.warning("cannot open room %s on NATS yet: %s; retrying", token[:8], _why(e))
                await asyncio.sleep(delay)
                delay = min(1.0, delay * 2)
                if self.core.fed_room(token) is None:
                    return
        self.core.fed_synced(fr.key, loop.time())
        self.flush()

    async def _leave(self, token: str) -> None:
        if self.core.fed_room(token) is not None:
            return  # opened again meanwhile
        q = self._queues.get(token)
        if q is not None and q.empty() and token not in self._inflight:  # all its events stored: the publisher may go
            del self._queues[token]
            self._publishers.pop(token).cancel()
        if self.media is not None:
            self.media.unsubscribe(f"vrd.room.{token}.*")
        for sub in self._subs.pop(token, []):
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        await self.reception.leave(token)

    async def _on_room(self, msg: Any) -> None:
        parts = msg.subject.split(".")
        if len(parts) == 4:
            self.core.fed_message(parts[2], parts[3], msg.data, asyncio.get_running_loop().time())
            self.flush()


def stream_config(token: str, replicas: int) -> Any:
    """The JetStream stream of a room's events: file storage, ``replicas`` copies, and a 2-minute
    de-duplication window (a client's re-sent event after a failover is stored once)."""
    from nats.js.api import StorageType, StreamConfig

    return StreamConfig(name=fw.stream_name(token), subjects=[fw.event_subject(token)], storage=StorageType.FILE,
                        num_replicas=replicas, duplicate_window=120.0)


def _why(e: BaseException) -> str:
    text = str(e).strip()
    return f"{type(e).__name__}: {text}" if text else type(e).__name__
