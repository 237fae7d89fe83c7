"""Simulated participants for the benches: sans-I/O client cores, each on its own TLS control link.

A bench keeps N :class:`~vrdiplomacy.net.client_core.ClientCore` instances on one asyncio loop in
its own process. :class:`CoreLinks` drives them the way the real client's I/O layer does: what a
core wants to send is written to its TLS stream, its timer is armed on the loop, what arrives is
fed to it, and each of its events is handed to the bench (:meth:`CoreLinks.on_event`). A bench
subclasses it for what it measures; its participants are any objects with the fields of
:class:`Link`.

:func:`start_relay` starts the relay the bench measures, in its own process. Used by
``meeting_latency.py`` and the relay load benches (``relay_load.py``, and through it
``federation.py`` and ``loadgen.py``).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from vrdiplomacy.net import tls
from vrdiplomacy.net.client_core import ClientCore

CONNECT_TRIES = 3


class Link(Protocol):
    """What :class:`CoreLinks` needs of a participant."""

    core: ClientCore
    writer: asyncio.StreamWriter | None
    timer: asyncio.TimerHandle | None
    lost: str  # why its link ended ("closed": the bench closed it)


class CoreLinks:
    """Client cores on TLS control links to one relay (pinned by its certificate fingerprint)."""

    def __init__(self, host: str, port: int, fingerprint: str) -> None:
        self.host, self.port = host, port
        self.fingerprint = tls.normalize_fingerprint(fingerprint)
        self.loop = asyncio.get_running_loop()
        self.links_lost = 0
        self.connect_retries = 0  # connection attempts tried again (see run_link)

    def on_event(self, link: Any, ev: object) -> None:
        """Each event a core gives (the bench's to count or fold; dropped by default)."""

    def on_data(self, link: Any, data: bytes) -> None:
        """Control bytes from the relay, before the core reads them (for a bench that watches frames)."""

    def address(self, link: Any) -> tuple[str, int]:
        """Where ``link`` connects (the one relay by default; a relay node of its own in a federation)."""
        return self.host, self.port

    def flush(self, link: Any) -> None:
        """Write what the core has to send, hand its events over, (re)arm its timer."""
        core = link.core
        data = core.to_send(self.loop.time())
        if data and link.writer is not None and not link.writer.transport.is_closing():
            link.writer.write(data)
        while (ev := core.next_event()) is not None:
            self.on_event(link, ev)
        t = core.timer()
        if t is not None and (link.timer is None or link.timer.when() > t):
            if link.timer is not None:
                link.timer.cancel()
            link.timer = self.loop.call_at(t, self._on_timer, link)

    def _on_timer(self, link: Any) -> None:
        link.timer = None
        link.core.handle_timer(self.loop.time())
        if link.core.want_close and link.writer is not None:
            link.writer.transport.abort()
        self.flush(link)

    async def run_link(self, link: Any, up: asyncio.Future[None]) -> None:
        """Connect ``link`` and feed its core until the link ends; ``up`` is set once it is
        connected (or fails with why it could not be). A connection the relay resets or times out
        before its TLS handshake ends (a relay busy with hundreds of handshakes may) is tried again,
        up to ``CONNECT_TRIES`` times, as a client would."""
        host, port = self.address(link)
        for attempt in range(1, CONNECT_TRIES + 1):
            try:
                reader, writer = await asyncio.open_connection(host, port, ssl=tls.client_context(), server_hostname=None)
                break
            except (TimeoutError, ConnectionError, ssl.SSLError, OSError) as e:
                if attempt == CONNECT_TRIES:
                    if not up.done():
                        up.set_exception(ConnectionError(f"cannot connect after {attempt} tries: {type(e).__name__}"))
                    return
                self.connect_retries += 1
                await asyncio.sleep(0.3 * attempt)
        tls.check_pin(writer.get_extra_info("ssl_object"), self.fingerprint)
        link.writer = writer
        link.core.connect(self.loop.time())
        self.flush(link)
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    link.lost = "relay closed the connection"
                    break
                self.on_data(link, data)
                link.core.receive(data, self.loop.time())
                if link.core.state == "connected" and not up.done():
                    up.set_result(None)
                self.flush(link)
        except (ConnectionError, ssl.SSLError, OSError) as e:
            link.lost = f"connection error: {type(e).__name__}"
        except asyncio.CancelledError:
            link.lost = "closed"
            raise
        finally:
            link.writer = None
            writer.transport.abort()
            if link.lost != "closed":
                self.links_lost += 1
            if not up.done():
                up.set_exception(ConnectionError(link.lost or "closed"))

    async def connect_all(self, links: list[Any], batch: int = 25, timeout: float = 60.0) -> list[asyncio.Task[None]]:
        """Connect ``links``, ``batch`` at a time (each batch welcomed within ``timeout`` seconds)."""
        tasks: list[asyncio.Task[None]] = []
        for start in range(0, len(links), batch):
            ups = []
            for link in links[start:start + batch]:
                up: asyncio.Future[None] = self.loop.create_future()
                tasks.append(asyncio.create_task(self.run_link(link, up)))
                ups.append(up)
            await asyncio.wait_for(asyncio.gather(*ups), timeout)
        return tasks

    async def close(self, links: list[Any], tasks: list[asyncio.Task[None]]) -> None:
        for link in links:
            if link.timer is not None:
                link.timer.cancel()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def start_relay(port: int, state_dir: Path, extra: Sequence[str] = (), cwd: Path | None = None,
                preexec: Callable[[], None] | None = None) -> tuple[subprocess.Popen[str], str]:
    """``python -m vrdiplomacy relay`` on 127.0.0.1:``port`` in its own session (and scheduler
    autogroup, as a relay service would have); returns it and its certificate fingerprint, read
    from its first lines (SystemExit when it prints none within 20 s)."""
    relay = subprocess.Popen(
        [sys.executable, "-m", "vrdiplomacy", "-q", "relay", "--listen", f"127.0.0.1:{port}", "--state-dir",
         str(state_dir), *extra], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        cwd=None if cwd is None else str(cwd), preexec_fn=preexec, start_new_session=True)  # noqa: PLW1509
    assert relay.stdout is not None
    t0 = time.monotonic()
    while time.monotonic() - t0 < 20:
        line = relay.stdout.readline()
        if not line:
            break
        if "fingerprint" in line:
            return relay, line.rsplit(" ", 1)[1].strip()
    relay.kill()
    raise SystemExit("relay did not start")


def stop_relay(relay: subprocess.Popen[str]) -> None:
    """Ask the relay to stop (SIGTERM); kill it if it has not within 5 s."""
    relay.terminate()
    try:
        relay.wait(5)
    except subprocess.TimeoutExpired:
        relay.kill()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(xs: list[float], q: float) -> float:
    """The ``q``-th percentile of ``xs`` (nearest rank; NaN when empty)."""
    if not xs:
        return float("nan")
    ys = sorted(xs)
    return ys[min(len(ys) - 1, round(q / 100.0 * (len(ys) - 1)))]
