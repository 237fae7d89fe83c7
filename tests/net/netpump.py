"""In-memory pump connecting one RelayCore and several ClientCores (no sockets, fake clock)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vrdiplomacy.net.client_core import ClientCore, ClientEvent
from vrdiplomacy.net.relay_core import RelayCore
from vrdiplomacy.scene.layout import Layout, Zone

SECRET = bytes(range(32))


def lounge_layout() -> Layout:
    """A chamber floor with an isolated lounge at x in [20, 30]."""
    return Layout(
        scene="test",
        glb="",
        zones=[
            Zone("plenary", "plenary", (-20.0, -1.0, -20.0), (20.0, 5.0, 20.0)),
            Zone("lounge", "lounge", (20.0, -1.0, -5.0), (30.0, 5.0, 5.0), isolated=True),
        ],
    )


@dataclass
class Peer:
    core: ClientCore
    addr: tuple[str, int]
    conn_id: int = 0
    connected: bool = False
    events: list[Any] = field(default_factory=list)
    udp_up: bool = True


class Pump:
    def __init__(self, relay: RelayCore | None = None) -> None:
        self.relay = relay or RelayCore(SECRET, layouts={"plenary": lounge_layout(), "chamber": lounge_layout()}, epoch=7)
        self.peers: list[Peer] = []
        self.now = 1000.0
        self._next_conn = 1

    def add(self, identity: str, seat: str, room: str = "plenary") -> Peer:
        p = Peer(ClientCore(identity, seat, room), ("127.0.0.1", 40000 + len(self.peers)))
        self.peers.append(p)
        self.connect(p)
        return p

    def connect(self, p: Peer) -> None:
        p.conn_id = self._next_conn
        self._next_conn += 1
        p.connected = True
        self.relay.connection_made(p.conn_id, self.now)
        p.core.connect(self.now)

    def drop(self, p: Peer, notify_relay: bool = True) -> None:
        """The link breaks: the client notices at once; the relay only if ``notify_relay``."""
        p.connected = False
        if notify_relay:
            self.relay.connection_lost(p.conn_id, self.now)
        p.core.connection_lost(self.now)

    def kill(self, p: Peer) -> None:
        """kill -9 of a client process: its socket closes (the relay notices), and it is gone."""
        self.drop(p)
        self.peers.remove(p)

    def step(self, dt: float = 0.0) -> None:
        self.now += dt
        for _ in range(20):
            moved = False
            if self.now >= self.relay.timer():
                self.relay.handle_timer(self.now)
            for p in self.peers:
                t = p.core.timer()
                if t is not None and self.now >= t:
                    p.core.handle_timer(self.now)
                if p.core.want_close and p.connected:
                    self.drop(p)
                if p.connected:
                    data = p.core.to_send(self.now)
                    if data:
                        moved = True
                        self.relay.receive_stream(p.conn_id, data, self.now)
                for d in p.core.datagrams_to_send(self.now):
                    if p.udp_up:
                        moved = True
                        self.relay.receive_datagram(d, p.addr, self.now)
            out = self.relay.to_send(self.now)
            by_conn = {p.conn_id: p for p in self.peers if p.connected}
            for cid, data in out.streams.items():
                if cid in by_conn:
                    moved = True
                    by_conn[cid].core.receive(data, self.now)
            by_addr = {p.addr: p for p in self.peers}
            for data, addr, _tv, _tp in out.datagrams:
                p = by_addr.get(addr)
                if p is not None and p.udp_up:
                    moved = True
                    p.core.receive_datagram(data, self.now)
            for cid in out.close:
                if cid in by_conn:
                    self.drop(by_conn[cid], notify_relay=False)
            for p in self.peers:
                while (ev := p.core.next_event()) is not None:
                    p.events.append(ev)
            if not moved:
                break

    def run(self, seconds: float, dt: float = 0.01) -> None:
        for _ in range(int(round(seconds / dt))):
            self.step(dt)

    def of(self, p: Peer, kind: type) -> list[ClientEvent]:
        return [e for e in p.events if isinstance(e, kind)]
