"""asyncio client for the relay: ``async with connect(host, port, fingerprint, identity, seat)``.

The client keeps its session across network drops and relay restarts (same client id and seat,
resumed with a token), sends poses, voice frames and reliable room events, and yields events::

    async with connect("127.0.0.1", port, fp, "delegate-fr", "seat-03") as c:
        c.send_pose(head_pose, left_hand, right_hand)
        c.send_voice(level_byte(-18.0, True), opus_frame)
        c.send_event(b'{"gesture": "nod"}')
        async for ev in c:           # MemberUpdate, PoseUpdate, VoiceReceived, RoomEventReceived ...
            ...

Payloads pass through ``sealer`` (identity by default) so end-to-end encryption can wrap them:
:class:`vrdiplomacy.net.secure.SecureRoom` seals every voice frame, pose and room event
(``send_event(payload, stream="gesture")`` picks the event stream) and adds its own events
(roster, key and room-code changes, security alerts) to the ones this client yields.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
import ssl
from collections import deque
from collections.abc import AsyncIterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from vrdiplomacy.errors import CryptoError, ProtocolError, VrdError
from vrdiplomacy.net import tls, wire
from vrdiplomacy.net.client_core import (
    ClientCore,
    ClientEvent,
    ClientSettings,
    Connected,
    PoseReceived,
    PoseUpdate,
    RelayError,
    RoomEventReceived,
    VoiceReceived,
)
from vrdiplomacy.net.pose import PoseDecoder, PoseEncoder
from vrdiplomacy.scene.math3d import Pose

if TYPE_CHECKING:
    from vrdiplomacy.crypto.admission import Admission

DRAIN_MAX = 256


class RelayConnectError(VrdError):
    """The relay could not be reached, refused the session, or failed the fingerprint check."""


class PayloadSealer(Protocol):
    """End-to-end sealing of media and event payloads (the relay never sees inside).

    ``kind`` is "voice", "pose" or, for room events, "event" (or the event stream the sender
    chose: "room", "gesture", "floor", "vote"). :meth:`open` returns the plaintext, an object with
    ``stream``, ``payload``, ``member`` and ``name`` (a verified voice frame, pose or room event:
    the events then carry ``member``), or None for a message the sealer consumed itself; it raises :class:`CryptoError` or :class:`ProtocolError` to drop (counted in
    :attr:`Client.payload_rejected`). A sealer may also define ``attach(client)``,
    ``observe(event)`` and ``detach()``: it then sends its own control messages with
    :meth:`Client.send_control`, posts UI events with :meth:`Client.post_event`, and may plug
    itself into the client's core (:meth:`ClientCore.plug`) to be run by its timer.
    """

    def seal(self, kind: str, payload: bytes) -> bytes: ...

    def open(self, kind: str, sender: int, payload: bytes) -> Any: ...


class PlainPayloads:
    """No end-to-end layer: payloads go as they are (hop-by-hop sealing still applies)."""

    def seal(self, kind: str, payload: bytes) -> bytes:
        return payload

    def open(self, kind: str, sender: int, payload: bytes) -> bytes:
        return payload


AppEvent = ClientEvent | PoseUpdate | Any  # PoseUpdate lives in client_core (re-exported here)
__all__ = ["AppEvent", "Client", "PayloadSealer", "PlainPayloads", "PoseUpdate", "RelayConnectError", "connect"]


class Client:
    """One delegate's connection; create it with :func:`connect`."""

    def __init__(
        self,
        host: str,
        port: int,
        fingerprint: str,
        identity: str,
        seat: str,
        room: str = "chamber",
        settings: ClientSettings | None = None,
        sealer: PayloadSealer | None = None,
        connect_timeout: float = 5.0,
        admission: Admission | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.fingerprint = tls.normalize_fingerprint(fingerprint)
        if admission is not None:
            settings = dataclasses.replace(settings or ClientSettings(), admission=admission)
        self.core = ClientCore(identity, seat, room, settings, self.fingerprint)
        self.sealer: PayloadSealer = sealer or PlainPayloads()
        self.connect_timeout = connect_timeout
        self.pose_undecodable = 0
        self.payload_rejected = 0
        self.sends_failed = 0
        self._encoder = PoseEncoder()
        self._decoders: dict[tuple[str, int], PoseDecoder] = {}
        self._events: deque[AppEvent] = deque()
        self._wakeup = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._writer: asyncio.StreamWriter | None = None
        self._udp: socket.socket | None = None
        self._udp_target: tuple[str, int] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._first = asyncio.get_running_loop().create_future()
        self.raw_media = False
        self.unsealed = 0
        self._held: deque[tuple[str, bytes]] = deque()
        attach = getattr(self.sealer, "attach", None)
        if attach is not None:
            attach(self)

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        fam = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        self._udp = socket.socket(fam, socket.SOCK_DGRAM)
        self._udp.setblocking(False)
        with contextlib.suppress(OSError):
            self._udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self._loop.add_reader(self._udp.fileno(), self._on_readable)
        self._task = asyncio.create_task(self._run())
        try:
            await asyncio.wait_for(asyncio.shield(self._first), self.connect_timeout)
        except asyncio.TimeoutError:
            await self.close()
            raise RelayConnectError(f"no session with relay {self.host}:{self.port} within {self.connect_timeout:g} s") from None
        except VrdError:
            await self.close()
            raise

    async def close(self, leave: bool = True) -> None:
        """Leave the room (unless ``leave`` is False: then the session stays resumable) and stop."""
        if self._closed:
            return
        if leave and self.core.state == "connected":
            self.core.leave()
            self._flush()
            if self._writer is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._writer.drain(), 1.0)
        self._closed = True
        self.core.close()
        detach = getattr(self.sealer, "detach", None)
        if detach is not None:
            detach()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._timer is not None:
            self._timer.cancel()
        if self._writer is not None:
            self._writer.transport.abort()
        if self._udp is not None:
            self._loop.remove_reader(self._udp.fileno())
            self._udp.close()
            self._udp = None
        self._wakeup.set()

    def abort_link(self) -> None:
        """Break the control connection abruptly (as a network drop would); the client resumes."""
        if self._writer is not None:
            self._writer.transport.abort()

    async def __aenter__(self) -> Client:
        await self.start()
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    # ------------------------------------------------------------ properties

    @property
    def client_id(self) -> int:
        return self.core.client_id

    @property
    def connected(self) -> bool:
        return self.core.state == "connected"

    @property
    def members(self) -> dict[int, object]:
        return dict(self.core.members)

    # ------------------------------------------------------------ sending

    def _seal(self, kind: str, payload: bytes) -> bytes | None:
        try:
            return self.sealer.seal(kind, payload)
        except CryptoError:
            return None

    def send_pose(self, head: Pose, left: Pose | None = None, right: Pose | None = None) -> bool:
        """Send our pose; False when it could not go (no media path, or not yet in the E2EE roster)."""
        payload, key, seq = self._encoder.encode(head, left, right)
        sealed = self._seal("pose", payload)
        if sealed is None:
            self.unsealed += 1
            return False
        cm = tuple(int(round(float(v) * 100)) for v in head.position)
        ok = self.core.send_pose_frame(wire.PoseFrame(key, seq, (cm[0], cm[1], cm[2]), sealed))
        self._flush()
        return ok

    def send_voice(self, level: int, payload: bytes) -> bool:
        """Send one voice frame; ``level`` is the RFC 6464 byte (:func:`wire.level_byte`)."""
        sealed = self._seal("voice", payload)
        if sealed is None:
            self.unsealed += 1
            return False
        ok = self.core.send_voice(level, sealed)
        self._flush()
        return ok

    def send_event(self, payload: bytes, stream: str = "event") -> int:
        """Send a reliable, ordered room event (delivered to everyone in the room, sender too).

        ``stream`` ("room", "gesture", "floor", "vote"; "event" = "room") tells an end-to-end
        sealer which signed stream it belongs to. Returns the event's sequence number, or 0 when
        the end-to-end layer is not ready yet: the event is then held and sent, in order, once it is.
        """
        if self._held:
            self._held.append((stream, payload))
            self._send_held()
            return 0
        sealed = self._seal(stream, payload)
        if sealed is None:
            self._held.append((stream, payload))
            return 0
        seq = self.core.send_event(sealed)
        self._flush()
        return seq

    def _send_held(self) -> None:
        while self._held:
            stream, payload = self._held[0]
            sealed = self._seal(stream, payload)
            if sealed is None:
                return
            self._held.popleft()
            self.core.send_event(sealed)
        self._flush()

    def send_control(self, payload: bytes) -> int:
        """Send a room event as it is, past the sealer (for the sealer's own control messages)."""
        seq = self.core.send_event(payload)
        self._flush()
        return seq

    def post_event(self, ev: object) -> None:
        """Add an event (from the sealer: roster, key and code changes, alerts) to those yielded."""
        self._events.append(ev)
        self._wakeup.set()
        if self._held:
            self._send_held()

    def set_floor(self, take: bool = True) -> None:
        self.core.set_floor(take)
        self._flush()

    def join(self, room: str, seat: str, admission: Admission | None = None) -> None:
        """Move to another room: a secured one with ``admission``, else a plain one."""
        self.core.join(room, seat, admission)
        self._flush()

    # ------------------------------------------------------------ receiving

    def __aiter__(self) -> AsyncIterator[AppEvent]:
        return self

    async def __anext__(self) -> AppEvent:
        while not self._events:
            if self._closed:
                raise StopAsyncIteration
            self._wakeup.clear()
            await self._wakeup.wait()
        return self._events.popleft()

    async def next_event(self, timeout: float | None = None) -> AppEvent | None:
        """The next event, or None after ``timeout`` seconds (or once closed)."""
        try:
            return await asyncio.wait_for(self.__anext__(), timeout)
        except (asyncio.TimeoutError, StopAsyncIteration):
            return None

    def drain_events(self) -> list[AppEvent]:
        out = list(self._events)
        self._events.clear()
        return out

    # ------------------------------------------------------------ I/O

    async def _run(self) -> None:
        ctx = tls.client_context()
        while not self._closed and self.core.state != "closed":
            delay = self.core.reconnect_at - self._loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(self.host, self.port, ssl=ctx, server_hostname=None), self.connect_timeout
                )
            except (OSError, ssl.SSLError, asyncio.TimeoutError) as e:
                self.core.connection_lost(self._loop.time(), f"cannot connect: {e}")
                continue
            try:
                tls.check_pin(writer.get_extra_info("ssl_object"), self.fingerprint)
            except CryptoError as e:
                writer.transport.abort()
                self.core.close()
                self._fail(RelayConnectError(str(e)))
                return
            self._writer = writer
            self.core.connect(self._loop.time())
            self._flush()
            reason = "relay closed the connection"
            try:
                while True:
                    data = await reader.read(65536)
                    if not data:
                        break
                    self.core.receive(data, self._loop.time())
                    self._flush()
                    if self.core.want_close or self.core.state == "closed":
                        reason = "protocol error or heartbeat timeout"
                        break
            except (ConnectionError, ssl.SSLError, OSError) as e:
                reason = f"connection error: {type(e).__name__}"
            finally:
                self._writer = None
                writer.transport.abort()
            self.core.connection_lost(self._loop.time(), reason)
            self._flush()

    def _fail(self, exc: VrdError) -> None:
        if not self._first.done():
            self._first.set_exception(exc)

    def _on_readable(self) -> None:
        sock = self._udp
        if sock is None:
            return
        now = self._loop.time()
        feed = self.core.receive_datagram
        for _ in range(DRAIN_MAX):
            try:
                data = sock.recv(2048)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break
            feed(data, now)
        self._flush()

    def _on_timer(self) -> None:
        self._timer = None
        if self._closed:
            return
        self.core.handle_timer(self._loop.time())
        if self.core.want_close and self._writer is not None:
            self._writer.transport.abort()
        self._flush()

    def _flush(self) -> None:
        if self._closed:
            return
        now = self._loop.time()
        data = self.core.to_send(now)
        if data and self._writer is not None and not self._writer.transport.is_closing():
            self._writer.write(data)
        dgrams = self.core.datagrams_to_send(now)
        if dgrams and self._udp is not None and self.core.udp_port:
            target = (self.host, self.core.udp_port)
            for d in dgrams:
                try:
                    self._udp.sendto(d, target)
                except OSError:
                    self.sends_failed += 1
        self._collect()
        t = self.core.timer()
        if t is not None:
            if self._timer is not None and self._timer.when() <= t:
                return
            if self._timer is not None:
                self._timer.cancel()
            self._timer = self._loop.call_at(t, self._on_timer)

    def _collect(self) -> None:
        got = False
        observe = getattr(self.sealer, "observe", None)
        while (ev := self.core.next_event()) is not None:
            got = True
            if observe is not None:
                observe(ev)
            if isinstance(ev, Connected) and not self._first.done():
                self._first.set_result(None)
            if isinstance(ev, RelayError) and ev.fatal:
                self._fail(RelayConnectError(f"relay refused the session: {ev.message}"))
            if isinstance(ev, PoseReceived) and not self.raw_media:
                self._pose(ev)
                continue
            if isinstance(ev, (VoiceReceived, RoomEventReceived)) and not self.raw_media:
                kind, sender = ("voice", ev.source) if isinstance(ev, VoiceReceived) else ("event", ev.sender)
                try:
                    opened = self.sealer.open(kind, sender, ev.payload)
                except (CryptoError, ProtocolError):
                    self.payload_rejected += 1
                    continue
                if opened is None:
                    continue
                if isinstance(opened, (bytes, bytearray)):
                    ev.payload = bytes(opened)
                else:  # verified: attributed to the member whose key opened it, not the relay's label
                    ev.payload = opened.payload
                    ev.member = opened.member
                    if isinstance(ev, RoomEventReceived):
                        ev.stream = opened.stream
                        ev.verified_sender = opened.name
            self._events.append(ev)
        if got:
            self._wakeup.set()

    def _pose(self, ev: PoseReceived) -> None:
        try:
            opened = self.sealer.open("pose", ev.source, ev.payload)
        except (CryptoError, ProtocolError):
            self.payload_rejected += 1
            return
        if opened is None:
            return
        if isinstance(opened, (bytes, bytearray)):
            payload, member = bytes(opened), None
        else:
            payload, member = opened.payload, opened.member
        # delta decoding state per verified member (a relay re-labelling senders cannot mix streams)
        key = ("m", member) if member is not None else ("r", ev.source)
        dec = self._decoders.setdefault(key, PoseDecoder())
        try:
            self._events.append(PoseUpdate(ev.source, dec.decode(payload), member))
        except ProtocolError:
            self.pose_undecodable += 1


@contextlib.asynccontextmanager
async def connect(
    host: str,
    port: int,
    fingerprint: str,
    identity: str,
    seat: str,
    room: str = "chamber",
    settings: ClientSettings | None = None,
    sealer: PayloadSealer | None = None,
    connect_timeout: float = 5.0,
    admission: Admission | None = None,
) -> AsyncIterator[Client]:
    """Connect to a relay, pinning its certificate ``fingerprint`` (SHA-256 hex). With
    ``admission`` (an invitation and the invited key) the client enters the invitation's secured
    room; the relay refuses it (:class:`RelayConnectError`) when the invitation does not hold."""
    c = Client(host, port, fingerprint, identity, seat, room, settings, sealer, connect_timeout, admission)
    await c.start()
    try:
        yield c
    finally:
        await c.close()
