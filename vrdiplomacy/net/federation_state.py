"""The state a relay node keeps for its federation (:mod:`vrdiplomacy.net.federation`): settings,
members on other nodes, per-room batches, the outbox the adapter takes, and counters."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from vrdiplomacy.net import federation_wire as fw
from vrdiplomacy.net import wire
from vrdiplomacy.net.relay_events import RoomLog
from vrdiplomacy.net.stats import LatencyHistogram


@dataclass
class FederationSettings:
    """How a node takes part in a federation.

    node_name: this node's name in logs and heartbeats.
    alive_interval: seconds between this node's heartbeats.
    node_timeout: seconds without a heartbeat after which another node's members are shown away.
    replicas: JetStream replicas of each room's event stream (3 on a 3-node NATS cluster).
    pose_batch: seconds a room's pose entries may wait to share one NATS message (voice never
        waits, and takes the waiting poses along): fewer, larger messages wake the NATS servers
        and the other nodes less often. 0: every wake-up's poses go at once.
    """

    node_name: str = "relay"
    alive_interval: float = 0.5
    node_timeout: float = 2.0
    replicas: int = 3
    pose_batch: float = 0.010


@dataclass
class Remote:
    """A member of a room who is connected to another node."""

    node: int
    identity: str
    seat: str
    away_since: float | None = None
    role: str = ""


@dataclass
class FedRoom:
    """This node's federation state of one room (from its opening to its closing here)."""

    key: str
    token: str
    log: RoomLog
    synced: bool = False
    voice: list[bytes] = field(default_factory=list)
    pose: list[bytes] = field(default_factory=list)
    pose_since: float = 0.0  # when a take first saw the waiting pose entries (0: none wait)
    remote: dict[int, Remote] = field(default_factory=dict)
    held: list[tuple[int, wire.Hello, Any]] = field(default_factory=list)  # (conn id, Hello, invitation)


@dataclass
class FedOutbox:
    """What the adapter must do for the federation (taken with :meth:`RelayFederation.fed_take`)."""

    open: list[FedRoom] = field(default_factory=list)  # join the room's subjects, read the stream's tail
    close: list[str] = field(default_factory=list)  # room tokens to leave
    publish: list[tuple[str, bytes]] = field(default_factory=list)  # core NATS (subject, data), in order
    events: list[tuple[str, fw.EventRecord]] = field(default_factory=list)  # (room token, record) for JetStream
    due: float | None = None  # take again by then: pose entries are waiting (see FederationSettings.pose_batch)


@dataclass
class FedCounters:
    batches_out: int = 0
    entries_out: int = 0
    batches_in: int = 0
    entries_in: int = 0
    dropped_unknown_member: int = 0
    malformed: int = 0
    events_published: int = 0
    events_stored: int = 0
    events_delivered: int = 0
    hellos_held: int = 0
    nodes_lost: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


class FedState:
    def __init__(self, s: FederationSettings) -> None:
        self.s = s
        self.node = secrets.randbits(32) or 1
        self.out = FedOutbox()
        self.counters = FedCounters()
        self.nodes: dict[int, float] = {}  # other nodes: last heartbeat (now)
        self.lost: set[int] = set()
        self.acked: dict[int, int] = {}  # client id -> highest client seq JetStream acknowledged
        self.published: dict[int, int] = {}  # client id -> highest client seq sent to JetStream
        self.deferred: dict[int, int] = {}  # client id -> refused client seq to acknowledge after the earlier ones
        self.next_alive = 0.0
        self.transit = LatencyHistogram()  # voice batches: sent by another node to taken here (clocks of both)
