"""Secured rooms over the real relay on loopback: a ministry PKI, members, and a relay tap."""

from __future__ import annotations

import asyncio
import contextlib
import struct
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from vrdiplomacy.crypto.identity import ANY_COUNTRY, create_delegation_request, create_ministry_root, issue_delegation
from vrdiplomacy.crypto.session import LocalIdentity
from vrdiplomacy.net import hop, wire
from vrdiplomacy.net.client_core import RoomEventReceived, VoiceReceived
from vrdiplomacy.net.client_io import Client, PoseUpdate, connect
from vrdiplomacy.net.relay_server import EmbeddedRelay
from vrdiplomacy.net.secure import SecureRoom


class Pki:
    """One ministry root issuing delegation certificates valid now."""

    def __init__(self) -> None:
        self.root_key, self.root = create_ministry_root("Ministry of Foreign Affairs", "FR", time.time(), scope=[ANY_COUNTRY])

    def identity(self, name: str, role: str, country: str = "FR") -> LocalIdentity:
        key, csr = create_delegation_request(name, country)
        cert = issue_delegation(csr, self.root_key, self.root, role, time.time() - 60)
        return LocalIdentity(cert, key)


@dataclass
class Member:
    """One connected client with its end-to-end layer and everything it received."""

    name: str
    client: Client
    secure: SecureRoom
    voice: list[bytes] = field(default_factory=list)
    events: list[RoomEventReceived] = field(default_factory=list)
    poses: int = 0
    other: list[Any] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    async def pump(self) -> None:
        async for ev in self.client:
            if isinstance(ev, VoiceReceived):
                self.voice.append(ev.payload)
            elif isinstance(ev, RoomEventReceived):
                self.events.append(ev)
            elif isinstance(ev, PoseUpdate):
                self.poses += 1
            else:
                self.other.append(ev)


async def until(pred: Callable[[], bool], timeout: float = 10.0, what: str = "condition",
                state: Callable[[], str] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}" + (f" ({state()})" if state else ""))
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def member(relay: EmbeddedRelay, pki_root: x509.Certificate, ident: LocalIdentity, name: str, seat: str,
                 room: str = "chamber", **kw: Any) -> AsyncIterator[Member]:
    sec = SecureRoom(room, ident, [pki_root], **kw)
    async with connect(relay.host, relay.port, relay.fingerprint, name, seat, room=room, sealer=sec) as c:
        m = Member(name, c, sec)
        m.task = asyncio.create_task(m.pump())
        try:
            yield m
        finally:
            m.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await m.task


def codes_agree(members: list[Member]) -> bool:
    codes = {m.secure.code for m in members}
    return len(codes) == 1 and None not in codes and all(m.secure.member for m in members)


class RelayTap:
    """Records every byte the relay application sees: control-stream plaintext (after TLS), raw
    datagrams, datagrams after the hop-by-hop seal is opened, and what the relay sends back."""

    def __init__(self, relay: EmbeddedRelay) -> None:
        self.relay = relay
        self.chunks: list[bytes] = []
        self.events: list[tuple[int, bytes]] = []  # (client id, room event payload) as sent
        self.uplink: list[tuple[int, int, bytes]] = []  # (client id, datagram type, opened inner payload)
        core = relay.server.core
        self._orig = (core.receive_stream, core.receive_datagram, core.to_send)

        decoders: dict[int, wire.FrameDecoder] = {}

        def receive_stream(conn_id: int, data: bytes, now: float) -> None:
            self.chunks.append(bytes(data))
            self._orig[0](conn_id, data, now)
            conn = core.conns.get(conn_id)
            dec = decoders.setdefault(conn_id, wire.FrameDecoder())
            dec.feed(data)
            while (frame := dec.next_frame()) is not None:
                msg = wire.parse_control(frame)
                if isinstance(msg, wire.Event) and conn is not None and conn.session is not None:
                    self.events.append((conn.session.client_id, msg.payload))

        def receive_datagram(data: bytes, addr: Any, now: float) -> None:
            self.chunks.append(bytes(data))
            self._open_hop(data)
            self._orig[1](data, addr, now)

        def to_send(now: float) -> Any:
            out = self._orig[2](now)
            self.chunks.extend(out.streams.values())
            self.chunks.extend(d[0] for d in out.datagrams)
            return out

        core.receive_stream = receive_stream  # type: ignore[method-assign]
        core.receive_datagram = receive_datagram  # type: ignore[method-assign]
        core.to_send = to_send  # type: ignore[method-assign]

    def _open_hop(self, data: bytes) -> None:
        """What the relay reads after opening the hop-by-hop seal (the documented wire format:
        ChaCha20-Poly1305 under the session's media key, nonce u32 direction | u64 counter)."""
        if len(data) < wire.MEDIA_HEADER_SIZE + 16:
            return
        _, dtype, cid, ctr = wire.MEDIA_HEADER.unpack_from(data)
        s = self.relay.server.core.sessions.get(cid)
        if s is None or not s.key:
            return
        try:
            pt = ChaCha20Poly1305(s.key).decrypt(struct.pack("!IQ", hop.UPLINK, ctr), data[wire.MEDIA_HEADER_SIZE :],
                                                 data[: wire.MEDIA_HEADER_SIZE])
        except InvalidTag:
            return
        self.chunks.append(pt)
        self.uplink.append((cid, dtype, pt))

    def close(self) -> None:
        core = self.relay.server.core
        core.receive_stream, core.receive_datagram, core.to_send = self._orig  # type: ignore[method-assign]

    def blob(self) -> bytes:
        return b"\x00".join(self.chunks)

    def voice_payloads(self, client_id: int) -> list[bytes]:
        """The end-to-end payloads of a client's uplink voice (what a malicious relay could replay)."""
        return [wire.VoiceFrame.parse(pt).payload for c, t, pt in self.uplink if t == wire.DG_VOICE and c == client_id]


def inject_voice(relay: EmbeddedRelay, target: int, source: int, payload: bytes, level: int = 0x7F) -> None:
    """Act as a malicious relay: send ``payload`` to client ``target`` as a voice frame of ``source``."""
    srv = relay.server
    s = srv.core.sessions[target]
    assert s.sealer is not None and s.addr is not None and srv._udp is not None
    inner = bytes(wire.VoiceFrame(level, 1, payload))
    entry = bytes(wire.BundleEntry(wire.DG_VOICE, source, inner))
    srv._udp.sendto(s.sealer.seal(wire.DG_BUNDLE, entry), s.addr)


def inject_event(relay: EmbeddedRelay, target: int, sender: int, payload: bytes) -> None:
    """Act as a malicious relay: deliver a room event to client ``target`` as sent by ``sender``."""
    srv = relay.server
    s = srv.core.sessions[target]
    room = srv.core.rooms[s.room]
    room.seq += 1
    assert s.conn is not None
    w = srv._writers[s.conn]
    w.write(wire.RoomEvent(room.seq, sender, payload).frame())
