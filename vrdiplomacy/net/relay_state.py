"""Settings, counters, events and per-session state of the relay core."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from vrdiplomacy.net.hop import DOWNLINK, UPLINK, HopOpener, HopSealer
from vrdiplomacy.net.interest import InterestSettings, RoomInterest
from vrdiplomacy.net.ratelimit import PacketBudget, TokenBucket
from vrdiplomacy.net.relay_events import RoomLog
from vrdiplomacy.net.wire import FrameDecoder


@dataclass
class RelaySettings:
    """Relay settings.

    heartbeat_interval: seconds between client pings (told to clients in Welcome).
    heartbeat_timeout: seconds without a complete control frame after which a link is dead.
    resume_grace: seconds an "away" session keeps its seat for a resume before it leaves.
    max_sessions: sessions (present or away) the relay accepts.
    event_history: room events kept per room (in memory and in the state directory's event
        journal) to replay to resuming clients, across relay restarts too.
    uplink_pps / uplink_bps: per-client datagram rate and byte budget (bytes/s), burst 1/3 s.
    control_events_per_s / control_bps: per-connection control budget; beyond it the relay stops
        reading the connection (TCP backpressure) instead of dropping reliable events.
    max_stream_backlog: bytes queued to a control connection before it is dropped as too slow.
    max_input_backlog: unread control bytes buffered per connection before reading pauses.
    downlink_bps: per-client downlink byte budget (bytes/s); bundles beyond it are dropped.
    bundle_max: largest downlink bundle plaintext in bytes (1400 + 58 bytes of headers fits a
        1500-byte Ethernet MTU). A voice bundle that would be larger sends its voice and the pose
        entries that fit; the later pose entries, in order, wait for the next bundle (at most
        ``pose_hold`` more) instead of taking a datagram of their own.
    pose_hold: pose entries wait at most about this long to share a bundle (less when a voice
        frame to the same receiver takes them along); the pose flush tick runs every
        ``pose_tick``. Longer means fewer downlink datagrams, shorter means fresher poses.
    pose_tick: period of the pose flush tick (capped at ``pose_hold / 2``); a pose entry is sent
        alone once the next tick would be past ``pose_hold``, so it waits between
        ``pose_hold - pose_tick`` and ``pose_hold`` unless voice takes it along first. Short ticks
        let poses wait for the next voice frame (fewer downlink datagrams while someone speaks) at
        the cost of more timer wake-ups.
    voice_gather: in a crowd (a room of more than ``interest.crowd_size`` members) a voice frame
        waits up to this long (seconds) for other speakers' frames, so that they share one bundle
        per receiver: with three speakers at 1000 guests that is a third of the voice datagrams the
        relay seals and sends. Rooms up to the crowd size forward voice at once. Voice from another
        relay node (gathered there) joins an open window but never opens one.
    pose_wave: pose-only bundles sealed and sent in one flush; the rest of a larger wave goes
        out at the next turn of the event loop, after what arrived meanwhile was read, so a voice
        frame waits behind at most this many bundles (at 1000 guests a whole wave was 500
        bundles, about 7 ms of a relay's CPU).
    unsecured_rooms: admit clients without an invitation to plain (not end-to-end encrypted) rooms;
        False (``relay --secured-only``) refuses them all.
    max_unsecured_sessions: sessions in plain rooms the relay accepts (the rest of ``max_sessions``
        stays free for invited members of secured rooms).
    authorities: room authority fingerprints (SHA-256, colon hex as ``identity show`` prints) that
        may open secured rooms here; None lets any authority open one.
    admission_timeout: seconds a client has to answer the admission challenge.
    notice_interval: least seconds between two "unsecured client refused" notices to one room
        (the ones in between are counted into the next).
    handshake_timeout: seconds a TCP connection has to finish its TLS handshake.
    max_handshakes: unfinished TLS handshakes at once (about 5 KB each until the ClientHello is
        complete, about 50 KB from then until the handshake ends). At the limit a connection from
        an address with no unfinished handshake closes the oldest one to make room, so a real
        client (one round trip) still gets through a flood; one from an address that has some
        is reset at once (``handshakes_refused`` in the relay's stats, under ``preauth``).
    max_handshakes_per_address: unfinished TLS handshakes at once from one IP address, counting
        finished ones whose connection has no session yet; a connection beyond it is reset at once (``relay --handshakes-per-address``; raise it when
        many delegates share one NAT address and reconnect together).
    hello_timeout: seconds a connection has after its TLS handshake to start a session (Hello).
    frame_timeout: seconds a control frame may take from its first byte to its last. Only complete
        frames count as signs of life for ``heartbeat_timeout``, so a connection that trickles
        bytes of a frame it never finishes is closed after ``frame_timeout``.
    """

    heartbeat_interval: float = 2.0
    heartbeat_timeout: float = 6.0
    resume_grace: float = 30.0
    max_sessions: int = 2000
    event_history: int = 512
    uplink_pps: float = 250.0
    uplink_bps: float = 64_000.0
    control_events_per_s: float = 100.0
    control_bps: float = 256_000.0
    max_stream_backlog: int = 1 << 20
    max_input_backlog: int = 1 << 16
    downlink_bps: float = 250_000.0
    bundle_max: int = 1400
    pose_hold: float = 0.03
    pose_tick: float = 0.005
    voice_gather: float = 0.003
    pose_wave: int = 64
    interest: InterestSettings = field(default_factory=InterestSettings)
    unsecured_rooms: bool = True
    max_unsecured_sessions: int = 1000
    authorities: frozenset[str] | None = None
    admission_timeout: float = 5.0
    notice_interval: float = 1.0
    handshake_timeout: float = 5.0
    max_handshakes: int = 256
    max_handshakes_per_address: int = 64
    hello_timeout: float = 5.0
    frame_timeout: float = 4.0


@dataclass
class RelayCounters:
    """What the relay received, forwarded and dropped (and why)."""

    datagrams_in: int = 0
    datagrams_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    voice_in: int = 0
    poses_in: int = 0
    voice_forwarded: int = 0
    poses_forwarded: int = 0
    dropped_malformed: int = 0
    dropped_unknown: int = 0
    dropped_unknown_client: int = 0
    dropped_auth: int = 0
    dropped_replay: int = 0
    dropped_rate: int = 0
    dropped_downlink_budget: int = 0
    address_changes: int = 0
    control_frames_in: int = 0
    control_malformed: int = 0
    control_unknown: int = 0
    control_unexpected: int = 0
    connections: int = 0
    connections_rejected: int = 0
    connections_slow: int = 0
    heartbeat_timeouts: int = 0
    frame_timeouts: int = 0
    hello_timeouts: int = 0
    sessions_started: int = 0
    sessions_resumed: int = 0
    sessions_ended: int = 0
    events_in: int = 0
    events_duplicate: int = 0
    events_replayed: int = 0
    events_not_replayable: int = 0  # a resuming client's gap reached past the kept history
    admissions: int = 0
    admissions_refused: int = 0
    unsecured_refused: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    @property
    def dropped_total(self) -> int:
        """Datagrams and control messages dropped for any reason."""
        d = asdict(self)
        extra = ("control_malformed", "control_unknown", "control_unexpected")
        return sum(v for k, v in d.items() if k.startswith("dropped_") or k in extra)


@dataclass
class SessionEvent:
    """Something that happened to a session: ``kind`` is started, resumed, away or ended."""

    kind: str
    client_id: int
    identity: str
    seat: str
    room: str
    reason: str = ""
    role: str = ""


class Session:
    """One delegate's session: identity, seat, room, media keys, link and budgets.

    ``room`` is the key of its room in ``RelayCore.rooms`` (see :func:`room_key`). In a secured room
    ``identity`` is the invitation's member name, ``role`` the role its authority gave, and
    ``member_key`` the invited Ed25519 key (empty in a plain room)."""

    __slots__ = (
        "client_id", "identity", "seat", "room", "token", "conn", "away_since", "addr", "key", "sealer", "opener",
        "last_client_seq", "up", "down_bps", "pending", "append", "pending_pose_first", "pending_pose_born",
        "role", "member_key",
    )

    def __init__(self, client_id: int, identity: str, seat: str, room: str, token: bytes, now: float, s: RelaySettings) -> None:
        self.client_id = client_id
        self.identity = identity
        self.seat = seat
        self.room = room
        self.token = token
        self.conn: int | None = None
        self.away_since: float | None = None
        self.addr: Any = None
        self.key = b""
        self.sealer: HopSealer | None = None
        self.opener: HopOpener | None = None
        self.last_client_seq = 0
        self.up = PacketBudget(s.uplink_pps, s.uplink_bps, 1 / 3, now)
        self.down_bps = TokenBucket(s.downlink_bps, s.downlink_bps / 2, now)
        # downlink bundle being filled: entries (the list object is kept; ``append`` is its method)
        self.pending: list[bytes] = []
        self.append = self.pending.append
        # when the oldest waiting pose entry reached the relay, at most; 0.0 until a flush tick saw it
        self.pending_pose_first = 0.0
        # for entries carried over from a full voice bundle: when they reached the relay, at most
        # (``pending_pose_first`` then restarts their hold; this keeps the reported latency honest)
        self.pending_pose_born = 0.0
        self.role = ""
        self.member_key = b""

    def clear_pending(self) -> None:
        """Forget the downlink bundle being filled (the link is gone)."""
        self.pending.clear()
        self.pending_pose_first = 0.0
        self.pending_pose_born = 0.0

    def rekey(self, key: bytes) -> None:
        self.key = key
        self.sealer = HopSealer(key, DOWNLINK, self.client_id)
        self.opener = HopOpener(key, UPLINK)
        self.addr = None


Route = tuple[list[int], list[Session], list[Callable[[bytes], None]]]


class Connection:
    """One control connection (TLS stream) and what it has buffered in either direction."""

    def __init__(self, conn_id: int, now: float, s: RelaySettings) -> None:
        self.conn_id = conn_id
        self.decoder = FrameDecoder()
        self.session: Session | None = None
        self.last_rx = now  # when the last complete frame arrived (or the connection opened)
        self.opened = now
        self.frame_started = now  # when the first byte of the incomplete frame in ``decoder`` arrived
        self.out: list[bytes] = []
        self.out_size = 0
        self.events = TokenBucket(s.control_events_per_s, s.control_events_per_s, now)
        self.bytes = TokenBucket(s.control_bps, s.control_bps / 2, now)
        self.closing = False
        # an admission waiting for the client's proof: (Hello or Join, invitation, nonce, deadline)
        self.admission: tuple[Any, Any, bytes, float] | None = None


def room_key(name: str, authority: str = "") -> str:
    """The key of a room in the relay: its name, or for a secured room its name and its authority's
    fingerprint (NUL-separated; plain room names may not contain NUL)."""
    return f"{name}\x00{authority}" if authority else name


class Room:
    """A room: members, its event log (:class:`~vrdiplomacy.net.relay_events.RoomLog`: sequence
    numbers and history), floor and interest state. ``authority`` is the fingerprint of a secured
    room's authority ("" for a plain room)."""

    def __init__(self, name: str, interest: RoomInterest, log: RoomLog, authority: str = "") -> None:
        self.name = name
        self.authority = authority
        self.key = room_key(name, authority)
        self.last_notice = -1e9
        self.notices_held = 0
        self.members: dict[int, Session] = {}
        self.log = log
        self.floor = 0
        self.interest = interest
        # routes resolved to sessions (see RelayMedia._recompute); each value is a (receiver
        # client ids, receiver sessions, their ``append`` methods) triple, reused while the id
        # list is unchanged
        self.voice: dict[int, Route] = {}
        self.near: dict[int, Route] = {}
        self.mid: dict[int, Route] = {}
        # keyframe entries waiting for the next flush tick (sent to the whole room)
        self.keys: list[bytes] = []
        self.keys_size = 0
        self.keys_t = 0.0

    @property
    def seq(self) -> int:
        """The room sequence number of the newest event."""
        return self.log.seq

    @seq.setter
    def seq(self, value: int) -> None:
        self.log.seq = value
