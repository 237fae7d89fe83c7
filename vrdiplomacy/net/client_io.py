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

With ``settings.resume_dir`` (the user's state folder) the resume token is kept on disk
(:mod:`vrdiplomacy.net.resume_file`): a process that crashed and starts again gets its seat and
client id back at once. A seat held by someone else is not an error: :meth:`Client.start` keeps
waiting (retrying every ``reconnect_max``) for as long as the relay answers "seat taken", with
one log line saying who holds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import socket
import ssl
from collections import deque
from collections.abc import AsyncIterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from vrdiplomacy.errors import CryptoError, ProtocolError, VrdError
from vrdiplomacy.meeting.wire import split_header
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
from vrdiplomacy.net.client_types import connect_failure, not_tls
from vrdiplomacy.net.pose import LatePose, PoseDecoder, PoseEncoder
from vrdiplomacy.net.resume_file import ResumeFile, resume_path
from vrdiplomacy.net.spaces import SPACE_STREAMS
from vrdiplomacy.scene.math3d import Pose

if TYPE_CHECKING:
    from vrdiplomacy.crypto.admission import Admission

DRAIN_MAX = 256
log = logging.getLogger("vrdiplomacy.net")


class RelayConnectError(VrdError):
    """The relay could not be reached, refused the session, or failed the fingerprint check.
    ``cause``: why, as a key of ``client_core.LINK_CAUSES`` ("refused", "timeout", ...), or ""."""

    def __init__(self, message: str, cause: str = "") -> None:
        super().__init__(message)
        self.cause = cause


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
        self.pose_undecodable = 0  # pose payloads that could not be decoded (e.g. a delta without its keyframe)
        self.pose_late = 0  # pose frames older than one already shown (reordered on the way), dropped
        self.payload_rejected = 0
        self.sends_failed = 0
        self.pose_encoder = PoseEncoder()  # self-contained frames; PoseEncoder(deltas=True) for the older coding
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
        self._held: deque[tuple[str, bytes, bytes]] = deque()  # (stream, payload, relay-visible header)
        self._last_failure: tuple[str, str] | None = None  # (cause, reason) of the latest failed connection attempt
        self._collecting = False
        self._seat_refused_at = -1e9
        self._seat_first_refused: float | None = None
        self._seat_message = ""
        self.resume: ResumeFile | None = None
        # the federation's nodes: a failed connection attempt moves on to the next (and resumes there)
        self.addresses = [(host, port), *((h, p) for h, p in self.core.s.relays if (h, p) != (host, port))]
        self._address = 0
        if self.core.s.resume_dir is not None:
            self._restore(self.core.s.resume_dir, identity, room)
        attach = getattr(self.sealer, "attach", None)
        if attach is not None:
            attach(self)

    # ------------------------------------------------------------ lifecycle

    def _restore(self, state_dir: Path, identity: str, room: str) -> None:
        rf = ResumeFile(resume_path(state_dir, self.fingerprint, room, identity), self.fingerprint, room, identity)
        if not rf.acquire():
            log.warning("another running client of %s holds its resume token; asking for a new session", identity)
            return
        self.resume = rf
        token = rf.load()
        if token:
            self.core.restore(token)
            log.info("resuming the session of %s in room %s kept in %s", identity, room, rf.path)

    async def start(self) -> None:
        fam = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        self._udp = socket.socket(fam, socket.SOCK_DGRAM)
        self._udp.setblocking(False)
        with contextlib.suppress(OSError):
            self._udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self._loop.add_reader(self._udp.fileno(), self._on_readable)
        self._task = asyncio.create_task(self._run())
        while True:
            try:
                await asyncio.wait_for(asyncio.shield(self._first), self.connect_timeout)
                return
            except asyncio.TimeoutError:
                if self._loop.time() - self._seat_refused_at < self.connect_timeout:
                    continue  # the relay answers: our seat is taken for now; keep waiting for it
                await self.close(leave=False)
                cause, why = self._last_failure or ("timeout", "")
                raise RelayConnectError(f"no session with relay {self.host}:{self.port} within {self.connect_timeout:g} s"
                                        + (f" ({why})" if why else ""), cause) from None
            except VrdError:
                await self.close(leave=False)
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
            if self.resume is not None:
                self.resume.remove()  # we left: the next start is a new session
        if self.resume is not None:
            self.resume.release()
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
        payload, key, seq = self.pose_encoder.encode(head, left, right)
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

    def send_event(self, payload: bytes, stream: str = "event", header: bytes = b"") -> int:
        """Send a reliable, ordered room event (delivered to everyone in the room, sender too).

        ``stream`` ("room", "gesture", "floor", "vote"; "event" = "room") tells an end-to-end
        sealer which signed stream it belongs to. ``header``: bytes the relay reads, sent in clear
        before the sealed payload (a meeting procedure action's, :mod:`vrdiplomacy.meeting.wire`).
        Returns the event's sequence number, or 0 when the end-to-end layer is not ready yet: the
        event is then held and sent, in order, once it is.
        """
        if self._held:
            self._held.append((stream, payload, header))
            self._send_held()
            return 0
        sealed = self._seal(stream, payload)
        if sealed is None:
            self._held.append((stream, payload, header))
            return 0
        if stream in SPACE_STREAMS and self.core.spaces.my_space:  # in a side room: for its members only
            self.core.send_space_event(header + sealed)
            self._flush()
            return 0
        seq = self.core.send_event(header + sealed)
        self._flush()
        return seq

    def send_ephemeral(self, payload: bytes, stream: str = "gesture") -> bool:
        """Send a small event to the members of our space now (sealed and signed like the others in
        a secured room) that the relay neither stores nor replays: awareness such as a text
        cursor. False when it could not go (not connected, or the end-to-end layer not ready)."""
        if self.core.state != "connected":
            return False
        sealed = self._seal(stream, payload)
        if sealed is None:
            return False
        self.core.send_space_event(sealed)
        self._flush()
        return True

    def _send_held(self) -> None:
        while self._held:
            stream, payload, header = self._held[0]
            sealed = self._seal(stream, payload)
            if sealed is None:
                return
            self._held.popleft()
            if stream in SPACE_STREAMS and self.core.spaces.my_space:
                self.core.send_space_event(header + sealed)
                continue
            self.core.send_event(header + sealed)
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

    def place(self, space: str, interpret: str = "", listen: str = "") -> None:
        """Move to another space of the room and pick interpretation channels (see
        :meth:`ClientCore.place`)."""
        self.core.place(space, interpret, listen)
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
                cause, why = self._last_failure = connect_failure(e, self.host, self.port, self.connect_timeout)
                if not_tls(e) and len(self.addresses) == 1 and not self._first.done():
                    # something that is not a TLS server answered: retrying will not change that
                    self.core.close()
                    self._fail(RelayConnectError(
                        f"{self.host}:{self.port} does not speak TLS ({e.reason or e}): not a vrdiplomacy relay port "
                        "(the relay prints the port it listens on: 'listening on HOST:PORT')", "tls"))
                    return
                self.core.connection_lost(self._loop.time(), why, cause)
                if len(self.addresses) > 1:
                    self._address = (self._address + 1) % len(self.addresses)
                    self.host, self.port = self.addresses[self._address]
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
            # the core's own reason (heartbeat timeout, malformed input) wins in connection_lost
            cause, reason = "closed", "relay closed the connection"
            try:
                while True:
                    data = await reader.read(65536)
                    if not data:
                        break
                    self.core.receive(data, self._loop.time())
                    self._flush()
                    if self.core.want_close or self.core.state == "closed":
                        break
            except ConnectionResetError:
                reason = "relay closed the connection (reset)"
            except ssl.SSLError as e:
                cause, reason = "tls", f"TLS error: {e.reason or e}"
            except (ConnectionError, OSError) as e:
                cause, reason = "error", f"connection error: {e.strerror or type(e).__name__}"
            finally:
                self._writer = None
                writer.transport.abort()
            self.core.connection_lost(self._loop.time(), reason, cause)
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
        # not re-entered: the sealer sends (and so flushes) while it handles an event; the events
        # queued behind that one wait for it to finish (an authority admitting two members
        # at once would otherwise sign the second roster inside the first one's installation)
        if self._collecting:
            return
        self._collecting = True
        try:
            self._collect_events()
        finally:
            self._collecting = False

    def _collect_events(self) -> None:
        got = False
        observe = getattr(self.sealer, "observe", None)
        while (ev := self.core.next_event()) is not None:
            got = True
            if observe is not None:
                observe(ev)
            if isinstance(ev, Connected):
                if not self._first.done():
                    self._first.set_result(None)
                if self.resume is not None:
                    self.resume.save(self.core.token, ev.client_id, self.core.seat)
                self._seat_message = ""
            if isinstance(ev, RelayError) and ev.fatal:
                self._fail(RelayConnectError(f"relay refused the session: {ev.message}", "refused"))
            elif isinstance(ev, RelayError) and ev.code == wire.ERR_SEAT_TAKEN:
                if self._seat_first_refused is None:
                    self._seat_first_refused = self._loop.time()
                if (not self._first.done()
                        and self._loop.time() - self._seat_first_refused >= self.core.s.seat_wait_s):
                    self._fail(RelayConnectError(ev.message, "seat_taken"))
                else:
                    self._seat_refused_at = self._loop.time()
                    holder = ev.message.split(" (", 1)[0]
                    if holder != self._seat_message:  # one line per holder, not one per try
                        self._seat_message = holder
                        log.warning("%s; waiting for it (retrying every %g s)", ev.message, self.core.s.reconnect_max)
            if isinstance(ev, PoseReceived) and not self.raw_media:
                self._pose(ev)
                continue
            if isinstance(ev, (VoiceReceived, RoomEventReceived)) and not self.raw_media:
                kind, sender = ("voice", ev.source) if isinstance(ev, VoiceReceived) else ("event", ev.sender)
                # a meeting action's relay-visible header stays beside what the sealer opens
                split = split_header(ev.payload) if kind == "event" else None
                header, body = split if split is not None else (b"", ev.payload)
                try:
                    opened = self.sealer.open(kind, sender, body)
                except (CryptoError, ProtocolError):
                    self.payload_rejected += 1
                    continue
                if opened is None:
                    continue
                if isinstance(opened, (bytes, bytearray)):
                    ev.payload = header + bytes(opened)
                else:  # verified: attributed to the member whose key opened it, not the relay's label
                    ev.payload = header + opened.payload
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
        # decoding state per verified member (a relay re-labelling senders cannot mix streams)
        key = ("m", member) if member is not None else ("r", ev.source)
        dec = self._decoders.setdefault(key, PoseDecoder())
        try:
            self._events.append(PoseUpdate(ev.source, dec.decode(payload), member))
        except LatePose:
            self.pose_late += 1
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
