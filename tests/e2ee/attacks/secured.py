"""A secured room on the real relay (loopback): a chair and members admitted by invitation, and an
outsider that records every byte the relay sends it."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from vrdiplomacy.crypto.admission import Admission, Invitation
from vrdiplomacy.crypto.session import LocalIdentity
from vrdiplomacy.net import wire
from vrdiplomacy.net.client_io import connect
from vrdiplomacy.net.relay_server import EmbeddedRelay
from vrdiplomacy.net.secure import SecureRoom, SecureSettings

from harness import Member, Pki


def invite(chair: LocalIdentity, member: LocalIdentity, role: str, room: str = "chamber", seat: str = "",
           days: float = 1.0) -> Admission:
    inv = Invitation.create(room, chair.certificate, chair.signing_key, member.certificate, role, time.time(), seat, days)
    return Admission(inv, member.signing_key)


@contextlib.asynccontextmanager
async def admitted(relay: EmbeddedRelay, pki: Pki, me: LocalIdentity, adm: Admission, name: str, seat: str,
                   room: str = "chamber") -> AsyncIterator[Member]:
    """A member in the secured room: end-to-end layer plus the relay admission of ``adm``."""
    sec = SecureRoom(room, me, [pki.root], SecureSettings(role=adm.role))
    async with connect(relay.host, relay.port, relay.fingerprint, name, seat, room=room, sealer=sec, admission=adm) as c:
        m = Member(name, c, sec)
        m.task = asyncio.create_task(m.pump())
        try:
            yield m
        finally:
            m.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await m.task


@dataclass
class Capture:
    """Everything one raw outsider connection received, and whether the relay closed it."""

    data: bytes = b""
    closed_by_relay: bool = False
    frames: list[wire.ControlMessage] = field(default_factory=list)


async def outsider(relay: EmbeddedRelay, hello: wire.Hello, answer: Any = None, linger: float = 1.5) -> Capture:
    """Open a TLS connection as an outsider would (no pinning needed), send ``hello`` (and, if
    the relay challenges, ``answer(nonce)`` as the proof), and record every byte for ``linger`` s."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    reader, writer = await asyncio.open_connection(relay.host, relay.port, ssl=ctx)
    cap = Capture()
    writer.write(hello.frame())
    dec = wire.FrameDecoder()
    deadline = asyncio.get_running_loop().time() + linger
    try:
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                break
            try:
                chunk = await asyncio.wait_for(reader.read(65536), left)
            except asyncio.TimeoutError:
                break
            if not chunk:
                cap.closed_by_relay = True
                break
            cap.data += chunk
            dec.feed(chunk)
            while (f := dec.next_frame()) is not None:
                msg = wire.parse_control(f)
                cap.frames.append(msg)
                if isinstance(msg, wire.Challenge) and answer is not None:
                    writer.write(wire.Proof(answer(msg.nonce)).frame())
    except (ConnectionError, ssl.SSLError, OSError):
        cap.closed_by_relay = True
    finally:
        writer.transport.abort()
    return cap


def udp_probe(relay: EmbeddedRelay, port: int, payloads: list[bytes], wait: float = 0.5) -> bytes:
    """Send datagrams to the relay's media port and return whatever comes back."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(wait)
    got = b""
    try:
        for p in payloads:
            s.sendto(p, (relay.host, port))
        while True:
            try:
                got += s.recv(2048)
            except (TimeoutError, socket.timeout):
                break
    finally:
        s.close()
    return got
