#!/usr/bin/env python3
"""A TCP + UDP fault proxy for the relay: loss, bursts, delay, jitter, reordering and blackouts.

This kernel has no netem, so the tests and benches put this proxy between clients and a relay.
The relay tells clients its UDP port inside the (encrypted) Welcome, and that port normally equals
its TCP port, so the proxy listens on *another loopback address with the same port numbers*:

    relay:  127.0.0.1:7390 (TLS/TCP and UDP)
    proxy:  127.0.0.2:7390 (TCP and UDP)  -> forwards to 127.0.0.1:7390
    client: vrdiplomacy join --relay 127.0.0.2:7390 ...

Impairments apply per direction ("up": client to relay, "down": relay to client):

* UDP datagrams are dropped (independently, or in bursts by a two-state Gilbert model), delayed,
  jittered (so they may reorder, as on a real path) and explicitly reordered.
* TCP is reliable: its bytes are delayed and jittered in order, and held during a blackout (the
  kernel's retransmissions would deliver them once the path returns). Loss does not apply to TCP.

Command line (one line per change on standard input while it runs):

    python tools/faultproxy.py --target 127.0.0.1:7390 --loss 0.2 --burst 3 --delay 0.05
    > set loss=0.05 jitter=0.02       # both directions; "set up loss=0.1" for one
    > blackout on                      # nothing passes until "blackout off"
    > stats                            # one JSON line of counters

From Python (tests)::

    async with FaultProxy(("127.0.0.1", port), faults=Faults(loss=0.2)) as proxy:
        ... connect to proxy.listen ...
        proxy.blackout(True)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import sys
import threading
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from vrdiplomacy.errors import ConfigError
from vrdiplomacy.voice.netsim import NetSim, NetSimSettings

UP, DOWN = "up", "down"
CHUNK = 65536


@dataclass
class Faults:
    """Impairments of one direction (the datagram model is :class:`vrdiplomacy.voice.netsim.NetSim`).

    loss: long-run fraction of UDP datagrams dropped (0..1).
    burst: mean length of a run of lost datagrams; 1 gives independent (Bernoulli) loss, larger
        values a two-state Gilbert model with the same long-run loss.
    delay: one-way delay added to everything, seconds.
    jitter: standard deviation of extra, normally distributed delay, seconds. UDP datagrams can
        overtake each other because of it; TCP bytes keep their order.
    reorder: probability that a UDP datagram is held back by ``reorder_gap`` seconds more.
    reorder_gap: extra hold of a reordered datagram, seconds.
    blackout: nothing passes: UDP is dropped, TCP bytes are held until the blackout ends.
    """

    loss: float = 0.0
    burst: float = 1.0
    delay: float = 0.0
    jitter: float = 0.0
    reorder: float = 0.0
    reorder_gap: float = 0.03
    blackout: bool = False

    def netsim(self) -> NetSimSettings:
        return NetSimSettings(loss=self.loss, burst=self.burst, jitter_ms=self.jitter * 1000.0,
                              base_delay_ms=self.delay * 1000.0, reorder=self.reorder,
                              reorder_ms=self.reorder_gap * 1000.0)

    def __post_init__(self) -> None:
        if self.delay < 0:
            raise ConfigError("delay must be >= 0")
        self.netsim().validate()


@dataclass
class Counters:
    """What one direction did."""

    datagrams: int = 0
    dropped: int = 0
    blacked_out: int = 0
    reordered: int = 0
    tcp_bytes: int = 0


class Direction:
    """The loss/delay model of one direction: a seeded :class:`NetSim` plus blackout and TCP order."""

    def __init__(self, faults: Faults, seed: int) -> None:
        self.seed = seed
        self.counters = Counters()
        self.tcp_release = 0.0  # keeps TCP chunks in order
        self._changes = 0
        self.faults = faults

    @property
    def faults(self) -> Faults:
        return self._faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        self._faults = faults
        self.net = NetSim(faults.netsim(), seed=self.seed * 1000 + self._changes)
        self._changes += 1

    def datagram_delay(self) -> float | None:
        """Seconds to hold a datagram, or None to drop it."""
        c = self.counters
        c.datagrams += 1
        if self._faults.blackout:
            c.blacked_out += 1
            return None
        reordered = self.net.stats.reordered
        d = self.net.delay_for_next()
        c.dropped += d is None
        c.reordered += self.net.stats.reordered - reordered
        return d

    def chunk_release(self, now: float, size: int) -> float:
        """Loop time at which a TCP chunk may be written (never before the previous one)."""
        f = self._faults
        self.counters.tcp_bytes += size
        d = f.delay + (max(0.0, self.net.rng.normal(0.0, f.jitter)) if f.jitter > 0 else 0.0)
        self.tcp_release = max(self.tcp_release, now + d)
        return self.tcp_release


class _UdpEndpoint(asyncio.DatagramProtocol):
    def __init__(self, on_datagram: Any) -> None:
        self.on_datagram = on_datagram
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.on_datagram(data, addr)

    def error_received(self, exc: Exception) -> None:  # ICMP unreachable etc.: the path drops it
        pass


class FaultProxy:
    """Forwards TCP and UDP from ``listen`` to ``target`` through two :class:`Direction` models.

    ``listen`` defaults to 127.0.0.2 with the target's port (see the module docstring);
    ``udp_target_port`` defaults to the target's TCP port, as the relay binds both.
    """

    def __init__(self, target: tuple[str, int], listen: tuple[str, int] | None = None,
                 faults: Faults | None = None, up: Faults | None = None, down: Faults | None = None,
                 udp_target_port: int | None = None, seed: int = 0) -> None:
        self.target = target
        self.listen = listen or ("127.0.0.2", target[1])
        self.udp_target = (target[0], udp_target_port or target[1])
        base = faults or Faults()
        self.dirs = {UP: Direction(up or dataclasses.replace(base), seed * 2 + 1),
                     DOWN: Direction(down or dataclasses.replace(base), seed * 2 + 2)}
        self._server: asyncio.base_events.Server | None = None
        self._udp: _UdpEndpoint | None = None
        self._upstream: dict[tuple[str, int], _UdpEndpoint] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._unblack = asyncio.Event()
        self._unblack.set()
        self.connections = 0

    # --- control -------------------------------------------------------------------------------
    def set_faults(self, direction: str | None = None, **changes: Any) -> None:
        """Change impairments of ``direction`` ("up", "down") or, when None, of both."""
        for name in (direction,) if direction else (UP, DOWN):
            d = self.dirs[name]
            d.faults = dataclasses.replace(d.faults, **changes)
        self._sync_blackout()

    def blackout(self, on: bool) -> None:
        self.set_faults(None, blackout=on)

    def _sync_blackout(self) -> None:
        if any(d.faults.blackout for d in self.dirs.values()):
            self._unblack.clear()
        else:
            self._unblack.set()

    def stats(self) -> dict[str, Any]:
        return {"connections": self.connections,
                **{name: dataclasses.asdict(d.counters) for name, d in self.dirs.items()}}

    # --- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await asyncio.start_server(self._on_tcp, self.listen[0], self.listen[1], reuse_address=True)
        port = self._server.sockets[0].getsockname()[1]
        self.listen = (self.listen[0], port)
        _, proto = await loop.create_datagram_endpoint(lambda: _UdpEndpoint(self._from_client), local_addr=self.listen)
        self._udp = proto

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for w in list(self._writers):
            w.transport.abort()
        for t in list(self._tasks):
            t.cancel()
        for t in list(self._tasks):
            with contextlib.suppress(BaseException):
                await t
        for ep in [self._udp, *self._upstream.values()]:
            if ep is not None and ep.transport is not None:
                ep.transport.close()
        self._upstream.clear()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)

    async def __aenter__(self) -> FaultProxy:
        await self.start()
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    # --- UDP -----------------------------------------------------------------------------------
    def _from_client(self, data: bytes, addr: tuple[str, int]) -> None:
        ep = self._upstream.get(addr)
        if ep is None:
            ep = _UdpEndpoint(lambda d, _a, client=addr: self._forward(DOWN, d, client))
            self._upstream[addr] = ep
            task = asyncio.ensure_future(self._open_upstream(ep, addr))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        self._forward(UP, data, addr)

    async def _open_upstream(self, ep: _UdpEndpoint, addr: tuple[str, int]) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.create_datagram_endpoint(lambda: ep, remote_addr=self.udp_target)
        except OSError:
            self._upstream.pop(addr, None)

    def _forward(self, direction: str, data: bytes, client: tuple[str, int]) -> None:
        hold = self.dirs[direction].datagram_delay()
        if hold is None:
            return
        if hold <= 0:
            self._emit(direction, data, client)
        else:
            asyncio.get_running_loop().call_later(hold, self._emit, direction, data, client)

    def _emit(self, direction: str, data: bytes, client: tuple[str, int]) -> None:
        if direction == UP:
            ep = self._upstream.get(client)
            if ep is not None and ep.transport is not None:
                ep.transport.sendto(data)
        elif self._udp is not None and self._udp.transport is not None:
            self._udp.transport.sendto(data, client)

    # --- TCP -----------------------------------------------------------------------------------
    async def _on_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        pumps = [asyncio.ensure_future(self._pump(UP, reader, up_writer)),
                 asyncio.ensure_future(self._pump(DOWN, up_reader, writer))]
        for t in pumps:
            self._tasks.add(t)
            t.add_done_callback(self._tasks.discard)
        with contextlib.suppress(BaseException):
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for t in pumps:
            t.cancel()
        for w in (writer, up_writer):
            self._writers.discard(w)
            w.transport.abort()

    async def _pump(self, direction: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        model = self.dirs[direction]
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                at, chunk = await queue.get()
                await self._unblack.wait()
                wait = at - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                await self._unblack.wait()
                writer.write(chunk)
                await writer.drain()

        sender = asyncio.ensure_future(deliver())
        try:
            while True:
                chunk = await reader.read(CHUNK)
                if not chunk:
                    while not queue.empty() and not sender.done():
                        await asyncio.sleep(0.005)
                    return
                queue.put_nowait((model.chunk_release(loop.time(), len(chunk)), chunk))
        finally:
            sender.cancel()
            with contextlib.suppress(BaseException):
                await sender


class ProxyThread:
    """A :class:`FaultProxy` on its own event loop thread, for synchronous tests and tools."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._args, self._kwargs = args, kwargs
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="faultproxy", daemon=True)
        self.proxy: FaultProxy | None = None

    def __enter__(self) -> FaultProxy:
        self._thread.start()

        async def make() -> FaultProxy:
            p = FaultProxy(*self._args, **self._kwargs)
            await p.start()
            return p

        self.proxy = asyncio.run_coroutine_threadsafe(make(), self._loop).result(10)
        return self.proxy

    def call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run ``fn(*args)`` on the proxy's loop (use for set_faults/blackout/stats)."""
        async def run() -> Any:
            return fn(*args, **kwargs)
        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(10)

    def __exit__(self, *exc: object) -> None:
        if self.proxy is not None:
            asyncio.run_coroutine_threadsafe(self.proxy.close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()


# --- command line --------------------------------------------------------------------------------
def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


FIELDS = {f.name: f.type for f in dataclasses.fields(Faults)}


def parse_changes(words: list[str]) -> tuple[str | None, dict[str, Any]]:
    """``["up", "loss=0.1", "delay=0.05"]`` -> ("up", {...}); raises ValueError/ConfigError on bad input."""
    direction = None
    if words and words[0] in (UP, DOWN):
        direction, words = words[0], words[1:]
    changes: dict[str, Any] = {}
    for w in words:
        name, sep, value = w.partition("=")
        if not sep or name not in FIELDS or name == "blackout":
            raise ValueError(f"expected NAME=VALUE with NAME one of {', '.join(n for n in FIELDS if n != 'blackout')}")
        changes[name] = float(value)
    Faults(**changes)  # validates ranges
    return direction, changes


def handle_line(proxy: FaultProxy, line: str) -> str:
    words = line.split()
    if not words:
        return ""
    cmd, rest = words[0], words[1:]
    try:
        if cmd == "set":
            direction, changes = parse_changes(rest)
            proxy.set_faults(direction, **changes)
            return "ok"
        if cmd == "blackout" and rest in (["on"], ["off"]):
            proxy.blackout(rest == ["on"])
            return "ok"
        if cmd == "stats":
            return json.dumps(proxy.stats())
    except (ValueError, ConfigError) as e:
        return f"error: {e}"
    return "error: commands are 'set [up|down] NAME=VALUE ...', 'blackout on|off', 'stats'"


async def _serve(args: argparse.Namespace) -> int:
    faults = Faults(loss=args.loss, burst=args.burst, delay=args.delay, jitter=args.jitter, reorder=args.reorder)
    proxy = FaultProxy(args.target, args.listen, faults=faults, udp_target_port=args.udp_target_port, seed=args.seed)
    try:
        await proxy.start()
    except OSError as e:
        print(f"faultproxy: cannot listen on {proxy.listen[0]}:{proxy.listen[1]}: {e.strerror}", file=sys.stderr)
        return 1
    print(f"faultproxy: {proxy.listen[0]}:{proxy.listen[1]} -> {args.target[0]}:{args.target[1]} "
          f"(loss {faults.loss:g}, burst {faults.burst:g}, delay {faults.delay:g} s, jitter {faults.jitter:g} s)", flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        stdin_ok = True
    except (ValueError, OSError):
        stdin_ok = False
    try:
        while True:
            if not stdin_ok:
                await asyncio.sleep(3600)
                continue
            line = await reader.readline()
            if not line:
                stdin_ok = False
                continue
            answer = handle_line(proxy, line.decode(errors="replace"))
            if answer:
                print(answer, flush=True)
    finally:
        await proxy.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="TCP+UDP fault proxy (loss, bursts, delay, jitter, reorder, blackout).",
                                epilog="While running, type 'set [up|down] loss=0.1 delay=0.05', 'blackout on|off' or 'stats'.")
    p.add_argument("--target", type=_host_port, required=True, metavar="HOST:PORT", help="the relay to forward to")
    p.add_argument("--listen", type=_host_port, default=None, metavar="HOST:PORT",
                   help="where clients connect (default: 127.0.0.2 with the target's port)")
    p.add_argument("--udp-target-port", type=int, default=None, help="the relay's UDP port if not its TCP port")
    p.add_argument("--loss", type=float, default=0.0, help="fraction of UDP datagrams dropped, each direction")
    p.add_argument("--burst", type=float, default=1.0, help="mean loss burst length (1: independent loss)")
    p.add_argument("--delay", type=float, default=0.0, help="one-way delay, seconds")
    p.add_argument("--jitter", type=float, default=0.0, help="delay standard deviation, seconds")
    p.add_argument("--reorder", type=float, default=0.0, help="probability a datagram is held back 30 ms")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.target[1] == 0:
        p.error("--target needs a port other than 0")
    try:
        Faults(loss=args.loss, burst=args.burst, delay=args.delay, jitter=args.jitter, reorder=args.reorder)
    except ConfigError as e:
        p.error(str(e))
    try:
        return asyncio.run(_serve(args))
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
