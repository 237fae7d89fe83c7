"""A relay node's own core-NATS connection for room traffic (media, presence, floor, places).

Why not nats-py for this: nats-py hands every published message to a flusher task and every
received message to a reader task and then to a per-subscription task, so a media batch waits for
about five turns of the relay's event loop between one node's ``sendto`` of the sender's voice and
the other node's. On a busy relay a turn is milliseconds (it seals hundreds of bundles), which put
cross-node voice at p99 150-200 ms with 200 guests (``tools/bench/federation.py``). Here a
publish is a ``transport.write`` in the same turn as the relay's flush, and a received message is
handed to the core in the protocol's ``data_received``, followed by one relay flush.

The NATS client protocol (text commands, ``docs.nats.io`` "Client Protocol"): the server greets
with ``INFO {...}``; the client answers ``CONNECT {...}`` then ``PING`` and is in when ``PONG``
comes (``-ERR`` instead: refused). ``SUB <subject> <sid>``, ``UNSUB <sid>``,
``PUB <subject> <n>\\r\\n<payload>``; the server sends ``MSG <subject> <sid> [reply] <n>\\r\\n<payload>``
and ``PING`` (answered ``PONG``). The link connects as the node's NATS user (user/password) and
fails over between the node's NATS URLs. JetStream (room events) and heartbeats stay on nats-py.
TLS NATS URLs and credential files (JWT + nkey) are not spoken here: the adapter then keeps room
traffic on nats-py (:class:`~vrdiplomacy.net.federation_io.FederationLink`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from urllib.parse import urlsplit

from vrdiplomacy.errors import ConfigError

log = logging.getLogger("vrdiplomacy.relay")

_MAX_LINE = 4096  # a control line longer than this is a broken server


def plain_urls(urls: list[str]) -> list[tuple[str, int]] | None:
    """(host, port) of each ``nats://`` URL; None when any needs TLS (``tls://``) or is not NATS."""
    out: list[tuple[str, int]] = []
    for u in urls:
        p = urlsplit(u if "://" in u else f"nats://{u}")
        if p.scheme != "nats" or not p.hostname:
            return None
        out.append((p.hostname, p.port or 4222))
    return out


class _Proto(asyncio.Protocol):
    def __init__(self, link: MediaLink) -> None:
        self.link = link
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.greeted = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(str(exc) if exc else "NATS server closed the connection"))
        self.link._lost(self)

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        pos = 0
        n = len(buf)
        got = False
        try:
            while pos < n:
                eol = buf.find(b"\r\n", pos)
                if eol < 0:
                    if n - pos > _MAX_LINE:
                        raise ConnectionError("NATS control line too long")
                    break
                if buf.startswith(b"MSG ", pos):
                    parts = bytes(buf[pos + 4:eol]).split()
                    size = int(parts[-1])
                    end = eol + 2 + size
                    if end + 2 > n:
                        break  # the payload is not all here yet
                    self.link.received += 1
                    self.link.on_msg(parts[0].decode("ascii"), bytes(buf[eol + 2:end]))
                    got = True
                    pos = end + 2
                    continue
                line = bytes(buf[pos:eol])
                pos = eol + 2
                self._control(line)
        except (ValueError, IndexError, UnicodeDecodeError, ConnectionError) as e:
            self.link.malformed += 1
            log.warning("NATS room link: bad data from the server (%s); reconnecting", e)
            del buf[:]
            if self.transport is not None:
                self.transport.abort()
            return
        del buf[:pos]
        if got:
            self.link.after_msgs()

    def _control(self, line: bytes) -> None:
        if line == b"PING":
            self.write(b"PONG\r\n")
        elif line == b"PONG":
            if not self.ready.done():
                self.ready.set_result(None)
        elif line.startswith(b"INFO "):
            if not self.greeted:
                self.greeted = True
                info = json.loads(line[5:])
                if info.get("tls_required"):
                    self.ready.set_exception(ConfigError("the NATS server requires TLS"))
                    return
                self.write(b"CONNECT " + json.dumps(self.link.connect_options()).encode() + b"\r\nPING\r\n")
        elif line.startswith(b"-ERR"):
            why = line[4:].strip().strip(b"'").decode("utf-8", "replace")
            if not self.ready.done():
                self.ready.set_exception(ConfigError(f"NATS refused the room link: {why}"))
            else:
                self.link.errors += 1
                log.warning("NATS room link: %s", why)
        # +OK (verbose is off) and anything else: nothing to do

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)


class MediaLink:
    """Core NATS for a relay node's room subjects: ``publish`` now, ``on_msg`` as it comes.

    on_msg(subject, payload): called for every message, in order, from ``data_received``.
    after_msgs(): called once after the messages of one read (the relay flushes there).
    on_up(): called after a reconnection (subscriptions are renewed first).
    """

    def __init__(self, urls: list[str], user: str | None, password: str | None, name: str,
                 on_msg: Callable[[str, bytes], None], after_msgs: Callable[[], None], on_up: Callable[[], None]) -> None:
        hosts = plain_urls(urls)
        if not hosts:
            raise ConfigError(f"the room link speaks plain nats:// only, not {','.join(urls)}")
        self.hosts = hosts
        self.user, self.password, self.name = user, password, name
        self.on_msg, self.after_msgs, self.on_up = on_msg, after_msgs, on_up
        self._proto: _Proto | None = None
        self._subs: dict[str, int] = {}  # subject -> sid
        self._next_sid = 1
        self._closed = False
        self._reconnect: asyncio.Task[None] | None = None
        self._at = 0  # index of the host connected to (or tried last)
        self.published = 0
        self.published_bytes = 0
        self.dropped = 0  # publishes while not connected (core NATS is best effort)
        self.received = 0
        self.reconnects = 0
        self.malformed = 0
        self.errors = 0

    def connect_options(self) -> dict[str, object]:
        opts: dict[str, object] = {"verbose": False, "pedantic": False, "lang": "python-vrd", "version": "1",
                                   "protocol": 1, "headers": False, "no_responders": False, "echo": False,
                                   "name": self.name}
        if self.user:
            opts["user"], opts["pass"] = self.user, self.password or ""
        return opts

    @property
    def up(self) -> bool:
        return self._proto is not None and self._proto.ready.done() and not self._proto.ready.exception()

    @property
    def server(self) -> str:
        host, port = self.hosts[self._at]
        return f"{host}:{port}"

    async def start(self, timeout: float = 4.0) -> None:
        """Connect to the first server that lets us in (ConfigError when none does)."""
        why = ""
        for k in range(len(self.hosts)):
            try:
                await asyncio.wait_for(self._connect(k), timeout)
                return
            except (OSError, ConnectionError, ConfigError, TimeoutError) as e:
                why = str(e) or type(e).__name__
        raise ConfigError(f"no NATS server took the room link: {why}")

    async def _connect(self, k: int) -> None:
        loop = asyncio.get_running_loop()
        host, port = self.hosts[k]
        proto = _Proto(self)
        transport, _ = await loop.create_connection(lambda: proto, host, port)
        try:
            await proto.ready
        except BaseException:
            transport.abort()
            raise
        self._at = k
        self._proto = proto
        for subject, sid in self._subs.items():
            proto.write(f"SUB {subject} {sid}\r\n".encode())

    def _lost(self, proto: _Proto) -> None:
        if proto is not self._proto:
            return
        self._proto = None
        if not self._closed and self._reconnect is None:
            log.warning("NATS room link to %s lost; reconnecting", self.server)
            self._reconnect = asyncio.get_running_loop().create_task(self._reconnect_loop())

    async def _reconnect_loop(self) -> None:
        delay = 0.05
        try:
            while not self._closed:
                for i in range(len(self.hosts)):
                    k = (self._at + 1 + i) % len(self.hosts)  # the next server first: the old one just failed
                    try:
                        await asyncio.wait_for(self._connect(k), 2.0)
                    except (OSError, ConnectionError, ConfigError, TimeoutError):
                        continue
                    self.reconnects += 1
                    log.info("NATS room link reconnected to %s", self.server)
                    self._reconnect = None
                    self.on_up()
                    return
                await asyncio.sleep(delay)
                delay = min(0.5, delay * 2)
        finally:
            self._reconnect = None

    def subscribe(self, subject: str) -> None:
        if subject in self._subs:
            return
        sid = self._subs[subject] = self._next_sid
        self._next_sid += 1
        if self._proto is not None and self.up:
            self._proto.write(f"SUB {subject} {sid}\r\n".encode())

    def unsubscribe(self, subject: str) -> None:
        sid = self._subs.pop(subject, None)
        if sid is not None and self._proto is not None and self.up:
            self._proto.write(f"UNSUB {sid}\r\n".encode())

    def publish(self, subject: str, data: bytes) -> bool:
        """Send now (False, counted: not connected)."""
        p = self._proto
        if p is None or p.transport is None or not p.ready.done() or p.transport.is_closing():
            self.dropped += 1
            return False
        p.transport.writelines((f"PUB {subject} {len(data)}\r\n".encode("ascii"), data, b"\r\n"))
        self.published += 1
        self.published_bytes += len(data)
        return True

    async def close(self) -> None:
        self._closed = True
        if self._reconnect is not None:
            self._reconnect.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reconnect
        p, self._proto = self._proto, None
        if p is not None and p.transport is not None:
            p.transport.close()

    def stats(self) -> dict[str, int | str | bool]:
        return {"up": self.up, "server": self.server, "published": self.published, "published_bytes": self.published_bytes,
                "dropped": self.dropped, "received": self.received, "reconnects": self.reconnects,
                "malformed": self.malformed, "errors": self.errors}
