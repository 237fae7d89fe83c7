"""A malicious relay for tests: the real relay (RelayCore behind the real asyncio server on
127.0.0.1, TLS, UDP) with an attacker's hands on what it forwards.

:class:`EvilCore` is a :class:`~vrdiplomacy.net.relay_core.RelayCore` subclass; it does everything
an honest relay does, and on request:

* **re-labels senders** (:attr:`EvilCore.relabel`): frames and room events of client A reach
  client B stamped as coming from client C (the sealed bytes are untouched: the relay has no keys);
* **withholds** (:attr:`EvilCore.withhold`): room events of client A never reach client B;
* **replays** (:meth:`EvilRelay.replay_event`): a room event it forwarded earlier, delivered again
  later (with a fresh room sequence number, as a relay can);
* **injects a fake member** (:meth:`EvilRelay.inject_member`): a presence entry for a participant
  that does not exist, then voice frames and events from it.

Everything it forwarded is kept in :attr:`EvilCore.forwarded` (room seq, sender, payload).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable
from typing import Any

from vrdiplomacy.net import tls, wire
from vrdiplomacy.net.relay_core import RelayCore
from vrdiplomacy.net.relay_server import EmbeddedRelay
from vrdiplomacy.net.relay_state import Room, Session


def _decode(frame: bytes) -> wire.ControlMessage | None:
    dec = wire.FrameDecoder()
    dec.feed(frame)
    body = dec.next_frame()
    return None if body is None else wire.parse_control(body)


class EvilCore(RelayCore):
    """The relay core with an attacker's knobs (see the module docstring)."""

    def __init__(self, *a: Any, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self.relabel: dict[tuple[int, int], int] = {}  # (true source, receiver) -> label shown
        self.withhold: set[tuple[int, int]] = set()  # (source, receiver): its room events are dropped
        self.forwarded: list[wire.RoomEvent] = []
        self.withheld = 0
        self.relabelled_events = 0
        self.relabelled_frames = 0

    def _label(self, source: int, receiver: int) -> int:
        return self.relabel.get((source, receiver), source)

    # room events: per receiver, re-labelled or withheld
    def _broadcast(self, room: Room, frame: bytes, now: float, skip: int = 0) -> None:
        msg = _decode(frame)
        if not isinstance(msg, wire.RoomEvent):
            super()._broadcast(room, frame, now, skip)
            return
        self.forwarded.append(msg)
        for m in room.members.values():
            if m.conn is None or m.client_id == skip:
                continue
            conn = self.conns.get(m.conn)
            if conn is None:
                continue
            if (msg.sender, m.client_id) in self.withhold:
                self.withheld += 1
                continue
            label = self._label(msg.sender, m.client_id)
            if label != msg.sender:
                self.relabelled_events += 1
                self._send_raw(conn, wire.RoomEvent(msg.room_seq, label, msg.payload).frame(), now)
            else:
                self._send_raw(conn, frame, now)

    # media: the bundle entries' source ids, per receiver
    def _emit_all(self, receivers: Iterable[Session], now: float, tv: float) -> None:
        receivers = list(receivers)
        if self.relabel:
            for r in receivers:
                if not r.pending or not any(rx == r.client_id for (_s, rx) in self.relabel):
                    continue
                entries = wire.parse_bundle(b"".join(r.pending))
                out = []
                for e in entries:
                    label = self._label(e.source, r.client_id)
                    if label != e.source:
                        self.relabelled_frames += 1
                    out.append(bytes(wire.BundleEntry(e.kind, label, e.inner)))
                r.pending.clear()
                r.pending.extend(out)
        super()._emit_all(receivers, now, tv)


class EvilRelay:
    """``async with EvilRelay() as relay``: an :class:`EmbeddedRelay` whose core is an :class:`EvilCore`."""

    def __init__(self, **kw: Any) -> None:
        self.embedded = EmbeddedRelay(**kw)
        srv = self.embedded.server
        srv.core = EvilCore(tls.ensure_secret(srv.state_dir), srv.settings, 0, kw.get("layouts"), kw.get("default_layout"))
        self.core: EvilCore = srv.core

    host = "127.0.0.1"

    @property
    def port(self) -> int:
        return self.embedded.port

    @property
    def fingerprint(self) -> str:
        return self.embedded.fingerprint

    async def __aenter__(self) -> EvilRelay:
        await self.embedded.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.embedded.__aexit__(*exc)

    # ------------------------------------------------------------ attacks

    def _now(self) -> float:
        loop = self.embedded.server._loop
        assert loop is not None
        return loop.time()

    def _flush(self) -> None:
        self.embedded.server._flush()

    def relabel_everywhere(self, source: int, label: int, except_to: Iterable[int] = ()) -> None:
        """Show ``source``'s frames and events as ``label``'s to everyone else in its room."""
        skip = set(except_to) | {source}
        room = self.core.rooms[self.core.sessions[source].room]
        for cid in room.members:
            if cid not in skip:
                self.core.relabel[(source, cid)] = label

    def replay_event(self, target: int, ev: wire.RoomEvent, sender: int | None = None) -> None:
        """Deliver an event forwarded earlier to ``target`` again (new room sequence number)."""
        s = self.core.sessions[target]
        room = self.core.rooms[s.room]
        room.seq += 1
        conn = self.core.conns[s.conn] if s.conn is not None else None
        assert conn is not None
        self.core._send_raw(conn, wire.RoomEvent(room.seq, ev.sender if sender is None else sender, ev.payload).frame(),
                            self._now())
        self._flush()

    def inject_member(self, target: int, client_id: int, identity: str, seat: str) -> None:
        """Tell ``target`` a participant ``client_id`` is present (nobody is)."""
        s = self.core.sessions[target]
        assert s.conn is not None
        self.core._send(self.core.conns[s.conn], wire.Presence(client_id, wire.PRESENT, identity, seat), self._now())
        self._flush()

    def inject_event(self, target: int, sender: int, payload: bytes) -> None:
        s = self.core.sessions[target]
        room = self.core.rooms[s.room]
        room.seq += 1
        assert s.conn is not None
        self.core._send(self.core.conns[s.conn], wire.RoomEvent(room.seq, sender, payload), self._now())
        self._flush()

    def inject_voice(self, target: int, source: int, payload: bytes, level: int = 0x80 | 15) -> None:
        """A voice frame ``payload`` delivered to ``target`` as from ``source``."""
        srv = self.embedded.server
        s = self.core.sessions[target]
        assert s.sealer is not None and s.addr is not None and srv._udp is not None
        inner = bytes(wire.VoiceFrame(level, 1, payload))
        srv._udp.sendto(s.sealer.seal(wire.DG_BUNDLE, bytes(wire.BundleEntry(wire.DG_VOICE, source, inner))), s.addr)


@contextlib.asynccontextmanager
async def evil_relay(**kw: Any) -> AsyncIterator[EvilRelay]:
    async with EvilRelay(**kw) as r:
        yield r


# ---------------------------------------------------------------- delegates in a secured room


async def secured_session(relay: Any, pki: Any, name: str, role: str, country: str, seat: str,
                          head: tuple[float, float, float], mic: Any = None, room: str = "chamber",
                          settings: Any = None) -> Any:
    """A delegate's own client (DelegateSession + SecureRoom, real sockets) in ``room``, its head at
    ``head`` (scene metres, no layout: it shows where its poses say). Relay identity = ``name``."""
    import numpy as np

    from vrdiplomacy.net.secure import SecureRoom
    from vrdiplomacy.scene.math3d import Pose
    from vrdiplomacy.session.runtime import DelegateSession, HeldPose, SessionSettings

    sec = SecureRoom(room, pki.identity(name, role, country), [pki.root], settings)
    s = DelegateSession(relay.host, relay.port, relay.fingerprint, SessionSettings(name, seat, room=room, hear=False),
                        None, HeldPose(Pose(np.array(head, np.float32))), mic, None, sealer=sec)
    await s.start()
    return s


def avatars_by_name(session: Any) -> dict[str, Any]:
    """What the delegate's view shows: avatar per placard name."""
    return {a.delegation: a for a in session.state.avatars(session.now)}


def keyed(sessions: list[Any]) -> bool:
    codes = {s.sealer.code for s in sessions}
    return len(codes) == 1 and None not in codes and all(s.sealer.member for s in sessions)
