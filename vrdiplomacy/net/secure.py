"""End-to-end encryption of a room over the relay: :class:`SecureRoom` glues a
:class:`~vrdiplomacy.crypto.session.GroupSession` to a relay :class:`~vrdiplomacy.net.client_io.Client`.

Pass it as the client's ``sealer``::

    room = SecureRoom("chamber", LocalIdentity(cert, key), roots)          # a delegate
    chair = SecureRoom("chamber", LocalIdentity(cert, key), roots)         # a chair: its certificate's
    async with connect(host, port, fp, "France", "seat-03", room="chamber", sealer=room) as c:
        ...                                                                 # role is "chair" or "host"
        room.code            # the verification code, the same on every member's client

What travels where:

* voice and poses: SFrame-sealed (:class:`~vrdiplomacy.crypto.packet.Packet`) inside the UDP media
  payload; the relay reads only the small routing header (audio level, pose sequence, key flag and
  coarse head position);
* room text / meeting control, gestures, floor requests and votes: SFrame-sealed *and* signed per
  event by their sender, as room events (:mod:`vrdiplomacy.net.secure_wire` envelopes);
* key envelopes (each sender's base key sealed with HPKE to every roster member), media frame
  signatures, the chair-signed roster and members' admission requests: room events too (reliable,
  ordered).

Membership: every client sends its roster entry (certificate and signed HPKE key) when it
connects. The chair checks it against the trusted ministry roots and the ``admit`` policy, and
signs and broadcasts a new roster version on every admission, leave (the relay reports the member
``left``) and :meth:`SecureRoom.expel`. Clients accept members' keys only from a roster that
verifies (chair signature, hash chain, certificates), start a new key generation on every roster
change (and every 15 minutes), and tell the UI through :class:`RosterChanged`,
:class:`KeysChanged`, :class:`RoomCodeChanged` and :class:`SecurityAlert` events (each also logged
on the ``vrdiplomacy.e2ee`` logger).
"""

from __future__ import annotations

import collections
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from vrdiplomacy.crypto.identity import ROSTER_SIGNER_ROLES, VerifiedIdentity, load_der_certificate, verify_certificate
from vrdiplomacy.crypto.packet import EVENT_STREAMS, StreamType
from vrdiplomacy.crypto.roster import Roster, RosterEntry, VerifiedRoster, kem_binding
from vrdiplomacy.crypto.session import GroupSession, LocalIdentity, PacketDropped, SessionConfig
from vrdiplomacy.errors import CryptoError, ProtocolError
from vrdiplomacy.net.presence import MemberPresence, MemberStated
from vrdiplomacy.net.secure_wire import CHUNK, Kind, Reassembler, SecureMessage, split_message

if TYPE_CHECKING:
    from vrdiplomacy.net.client_io import Client

log = logging.getLogger("vrdiplomacy.e2ee")

STREAMS: dict[str, StreamType] = {
    "voice": StreamType.VOICE,
    "pose": StreamType.POSE,
    "event": StreamType.ROOM,
    "room": StreamType.ROOM,
    "gesture": StreamType.GESTURE,
    "floor": StreamType.FLOOR,
    "vote": StreamType.VOTE,
}
STREAM_NAMES = {StreamType.ROOM: "room", StreamType.GESTURE: "gesture", StreamType.FLOOR: "floor", StreamType.VOTE: "vote"}
MAX_OWN_ECHOES = 1024


class NotSecured(CryptoError):
    """We are not (yet) a member of the room's current roster: nothing can be sealed."""


# ---------------------------------------------------------------- events for the UI


@dataclass(frozen=True)
class MemberInfo:
    """A verified roster member as the UI shows it: sender ``index``, certificate ``name``,
    ``country``, room ``role`` and certificate ``fingerprint`` (SHA-256 hex, the stable key)."""

    index: int
    name: str
    country: str
    role: str
    fingerprint: str


@dataclass
class RosterChanged:
    """The chair published a roster we verified: ``version``, ``members`` (index -> "name
    (country), role"), who was ``added`` / ``removed``, whether we are a ``member``, our own
    sender index ``me`` (None when not a member) and every member's verified ``info``."""

    version: int
    members: dict[int, str]
    added: list[str]
    removed: list[str]
    member: bool
    me: int | None = None
    info: dict[int, MemberInfo] = field(default_factory=dict)

    def alert_text(self) -> str:
        parts = [f"Roster v{self.version}: {len(self.members)} members"]
        if self.added:
            parts.append("joined: " + ", ".join(self.added))
        if self.removed:
            parts.append("left: " + ", ".join(self.removed))
        if not self.member:
            parts.append("you are not a member")
        return "; ".join(parts)


@dataclass
class KeysChanged:
    """Member ``name`` (sender ``index``) started key generation ``generation``."""

    index: int
    name: str
    generation: int

    def alert_text(self) -> str:
        return f"New encryption keys from {self.name} (generation {self.generation})"


@dataclass
class RoomCodeChanged:
    """The verification code for roster ``roster_version``; compare it with the other members."""

    code: str
    roster_version: int

    def alert_text(self) -> str:
        return f"Room code changed: {self.code} - compare it with the other delegations"


@dataclass
class SecurityAlert:
    """Something that needs a person's attention: a rejected roster, a forged frame, a refusal."""

    message: str

    def alert_text(self) -> str:
        return f"Security alert: {self.message}"


SecureEvent = RosterChanged | KeysChanged | RoomCodeChanged | SecurityAlert | MemberStated


@dataclass
class OpenedPayload:
    """An opened payload: its ``stream`` ("voice", "pose", or for room events "room", "gesture",
    "floor", "vote"), plaintext and the verified sender (roster ``member`` index, whose key opened
    it, and certificate ``name``). The relay's client id is never the sender."""

    stream: str
    payload: bytes
    member: int
    name: str


def hud_lines(code: str | None) -> list[str]:
    """The room code as the desktop/VR HUD shows it: two lines of three groups, or a waiting note."""
    if not code:
        return ["Room code", "verifying keys..."]
    groups = code.split()
    return ["Room code", " ".join(groups[:3]), " ".join(groups[3:])]


@dataclass
class SecureSettings:
    """Settings of a secured room.

    Fields: ``session`` the E2EE session settings (suite, 15-minute rekey, replay window, signing
    batch); ``role`` our role in the roster (default: "chair" for a roster signer, else
    "delegate"); ``tick_s`` how often pending key envelopes and frame signatures are sent;
    ``entry_retry_s`` least time between two admission requests; ``presence_gap_s`` least time
    between two restatements of our relay handle and seat (:class:`~vrdiplomacy.net.presence.MemberPresence`)
    made because another member restated itself under a new handle; ``presence_settle_s`` how
    long a roster change settles before we state ours to its newcomers.
    """

    session: SessionConfig = field(default_factory=SessionConfig)
    role: str | None = None
    tick_s: float = 0.05
    entry_retry_s: float = 1.0
    presence_gap_s: float = 1.0
    presence_settle_s: float = 0.3


@dataclass
class _Admitted:
    entry: RosterEntry
    identity: VerifiedIdentity
    client_id: int


def _describe(m: Any) -> str:
    return f"{m.identity.name} ({m.identity.country}), {m.role}"


class SecureRoom:
    """The end-to-end layer of one client in one room (a :class:`~vrdiplomacy.net.client_io.PayloadSealer`)."""

    def __init__(
        self,
        room: str | bytes,
        me: LocalIdentity,
        roots: list[x509.Certificate],
        settings: SecureSettings | None = None,
        admit: Callable[[VerifiedIdentity], bool] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.room_id = room.encode() if isinstance(room, str) else bytes(room)
        self.s = settings or SecureSettings()
        self.clock = clock
        self.me = me
        self.roots = list(roots)
        self.identity = verify_certificate(me.certificate, self.roots, clock())
        self.is_chair = self.identity.role in ROSTER_SIGNER_ROLES
        self.role = self.s.role or ("chair" if self.is_chair else "delegate")
        self.admit = admit
        self.session = GroupSession(self.room_id, me, self.roots, self.s.session)
        self.stats: collections.Counter[str] = collections.Counter()
        self.code: str | None = None
        self.events: collections.deque[SecureEvent] = collections.deque(maxlen=256)
        self._client: Client | None = None
        self._next_tick = 0.0  # in the driving core's clock; 0.0: as soon as it runs
        self._stated: tuple[int, str] | None = None  # (relay client id, seat) we last stated
        self._stated_at = -1e9
        self._stated_members: frozenset[int] = frozenset()
        self._roster_seen, self._roster_at = -1, 0.0
        self._handles: dict[int, int] = {}  # member -> the relay handle it last stated
        self._state_again = False
        self._reasm = Reassembler()
        self._msg_id = 0
        self._alerts_seen = 0
        self._own: collections.OrderedDict[bytes, tuple[StreamType, bytes]] = collections.OrderedDict()
        self._entry_sent_at = -1e9
        self._entry_version = -1
        # chair state
        self._admitted: dict[bytes, _Admitted] = {}
        self._indices: dict[bytes, int] = {}
        self._banned: set[bytes] = set()
        self._next_index = 0
        self._published: Roster | None = None

    # ------------------------------------------------------------ information

    @property
    def roster(self) -> VerifiedRoster | None:
        return self.session.roster

    @property
    def member(self) -> bool:
        """True once we are in the current roster (and can send)."""
        return self.session.index is not None

    def members(self) -> dict[int, VerifiedIdentity]:
        r = self.session.roster
        return {} if r is None else {i: m.identity for i, m in r.members.items()}

    def hud_lines(self) -> list[str]:
        return hud_lines(self.code)

    def drop_counts(self) -> dict[str, int]:
        """Every drop, by reason: the session's and the envelope layer's."""
        out = {k: v for k, v in self.session.stats.items() if k not in ("opened", "sealed", "keys", "rekeys")}
        out.update(self.stats)
        return out

    # ------------------------------------------------------------ client hooks

    def attach(self, client: Client) -> None:
        """Called by the client it seals for: plugs into the client's sans-I/O core, whose timer
        then drives the periodic key/signature sender (:meth:`handle_timer`); no task of its own."""
        self._client = client
        self._next_tick = 0.0
        client.core.plug(self)

    def detach(self) -> None:
        if self._client is not None:
            self._client.core.unplug(self)
        self._client = None

    def next_timer(self) -> float | None:
        """When :meth:`handle_timer` should run next, in the driving core's clock (None: detached)."""
        return None if self._client is None else self._next_tick

    def observe(self, ev: object) -> None:
        """Client events we act on: (re)connection and members leaving the relay room."""
        from vrdiplomacy.net.client_core import Connected, MemberUpdate

        if isinstance(ev, Connected):
            if self.is_chair:
                self._chair_start(ev.client_id)
            elif not ev.resumed or not self.member:
                self._send_entry(force=True)
        elif isinstance(ev, MemberUpdate) and ev.state == "left":
            self._reasm.forget(ev.client_id)
            if self.is_chair:
                gone = [k for k, a in self._admitted.items() if a.client_id == ev.client_id]
                for k in gone:
                    del self._admitted[k]
                if gone:
                    self._publish()

    def handle_timer(self, now: float) -> None:
        """Send pending key envelopes and due frame signatures; the next tick is ``tick_s`` later.
        ``now`` is the driving core's clock (it schedules only); crypto times come from ``clock``."""
        self._next_tick = now + self.s.tick_s
        with contextlib.suppress(CryptoError, ProtocolError):
            self._flush_control()
            self._state_presence(now)

    def _state_presence(self, now: float) -> None:
        """State, signed, our relay handle and seat: on joining the roster, when they change, when
        the roster gains members (they learn it), and, at most every ``presence_gap_s``, when a
        member restates itself under a new handle (it reconnected and may have missed ours).
        Roster changes settle ``presence_settle_s`` first: admissions come in bursts, and a
        client the chair has not admitted yet cannot open what is sealed before it is."""
        c = self._client
        r = self.session.roster
        if c is None or r is None or not self.member or not c.client_id:
            return
        if r.version != self._roster_seen:
            self._roster_seen, self._roster_at = r.version, now
        me = (c.client_id, c.core.seat)
        members = frozenset(r.members)
        self._stated_members &= members  # who left must hear it again when back
        due = me != self._stated or bool(members - self._stated_members)
        if due and now - self._roster_at < self.s.presence_settle_s:
            return
        if not due and not (self._state_again and now - self._stated_at >= self.s.presence_gap_s):
            return
        self._stated, self._stated_at, self._state_again, self._stated_members = me, now, False, members
        c.send_event(bytes(MemberPresence(*me)), stream="room")

    def _statement(self, opened: OpenedPayload | None, label: int) -> OpenedPayload | None:
        """A verified member's presence statement becomes a :class:`MemberStated` for the UI."""
        if opened is None or opened.stream != "room" or not MemberPresence.looks_like(opened.payload):
            return opened
        try:
            p = MemberPresence.parse(opened.payload)
        except ProtocolError:
            self.stats["bad_presence"] += 1
            return None
        before = self._handles.get(opened.member)
        self._handles[opened.member] = p.client_id
        if before is not None and before != p.client_id and opened.member != self.session.index:
            self._state_again = True
        self._post(MemberStated(opened.member, opened.name, p, label), logging.DEBUG)
        return None

    # ------------------------------------------------------------ sending

    def _send_message(self, kind: Kind, data: bytes) -> None:
        c = self._client
        if c is None:
            raise NotSecured("not attached to a client")
        self._msg_id += 1
        for part in split_message(kind, self._msg_id, data):
            c.send_control(part)

    def _flush_control(self) -> None:
        if self._client is None:
            return
        for pkt in self.session.outgoing(self.clock()):
            self._send_message(Kind.PACKET, pkt)

    def seal(self, kind: str, payload: bytes) -> bytes:
        st = STREAMS.get(kind)
        if st is None:
            raise ProtocolError(f"unknown payload kind {kind!r}")
        if not self.member:
            raise NotSecured("not a member of the room's roster yet")
        wire = self.session.seal(st, payload, self.clock())
        self._flush_control()  # new key envelopes go out before the frame they open
        if st in EVENT_STREAMS:
            if len(wire) > CHUNK:
                raise ProtocolError(f"event of {len(payload)} bytes is too large to seal")
            self._own[wire] = (st, payload)
            while len(self._own) > MAX_OWN_ECHOES:
                self._own.popitem(last=False)
            self._msg_id += 1
            return split_message(Kind.PACKET, self._msg_id, wire)[0]
        return wire

    def _send_entry(self, force: bool = False) -> None:
        now = self.clock()
        if self._client is None or (not force and now - self._entry_sent_at < self.s.entry_retry_s):
            return
        self._entry_sent_at = now
        self._send_message(Kind.ENTRY, bytes(self.session.roster_entry(0, self.role)))

    # ------------------------------------------------------------ receiving

    def open(self, kind: str, sender: int, payload: bytes) -> bytes | OpenedPayload | None:
        if kind in ("voice", "pose"):
            return self._open_media(kind, payload)
        if kind != "event":
            raise ProtocolError(f"unknown payload kind {kind!r}")
        try:
            msg = SecureMessage.parse(payload)
        except ProtocolError:
            self.stats["plaintext_event"] += 1
            raise
        got = self._reasm.feed(sender, msg)
        if got is None:
            return None
        mkind, data = got
        own = self._client is not None and sender == self._client.client_id
        if mkind == Kind.ROSTER:
            if not own:  # the chair's own rosters come back after it already moved on
                self._on_roster(data)
            return None
        if mkind == Kind.ENTRY:
            if self.is_chair and not own:
                self._on_entry(sender, data)
            return None
        if own:
            return self._statement(self._own_echo(data), sender)
        return self._statement(self._open_packet(data), sender)

    def _open_media(self, kind: str, payload: bytes) -> OpenedPayload:
        opened = self.session.open(payload, self.clock())
        if opened.stream_type != STREAMS[kind]:
            self.stats["wrong_stream"] += 1
            raise CryptoError(f"a {opened.stream_type.name} frame arrived as {kind}")
        r = self.session.roster
        m = r.members.get(opened.sender) if r is not None else None
        if m is None:  # the session opens only roster members' frames; never attribute to a stranger
            self.stats["not_member"] += 1
            raise CryptoError(f"a {kind} frame of sender {opened.sender}, who is not in the roster")
        return OpenedPayload(kind, opened.payload, opened.sender, m.identity.name)

    def _own_echo(self, data: bytes) -> OpenedPayload | None:
        got = self._own.pop(data, None)
        if got is None:
            return None  # our own key envelopes and frame signatures
        st, payload = got
        idx = self.session.index if self.session.index is not None else -1
        return OpenedPayload(STREAM_NAMES[st], payload, idx, self.identity.name)

    def _open_packet(self, data: bytes) -> OpenedPayload | None:
        now = self.clock()
        before = self.code
        opened = self.session.open(data, now)
        self._check_forgery()
        if opened.stream_type == StreamType.KEYS:
            r = self.session.roster
            m = r.members.get(opened.sender) if r is not None else None
            name = m.identity.name if m is not None else f"member {opened.sender}"
            gen = self.session.newest_generation(opened.sender) or 0
            self._post(KeysChanged(opened.sender, name, gen), logging.INFO)
            self._update_code(before)
            return None
        if opened.stream_type == StreamType.FRAME_SIG:
            return None
        r = self.session.roster
        assert r is not None
        return OpenedPayload(STREAM_NAMES[opened.stream_type], opened.payload, opened.sender, r.members[opened.sender].identity.name)

    def _check_forgery(self) -> None:
        alerts = self.session.alerts
        while self._alerts_seen < len(alerts):
            a = alerts[self._alerts_seen]
            self._alerts_seen += 1
            r = self.session.roster
            who = r.members[a.sender].identity.name if r is not None and a.sender in r.members else f"member {a.sender}"
            self._post(SecurityAlert(f"{len(a.counters)} frame(s) under {who}'s key were forged by another member"), logging.WARNING)

    def _on_roster(self, data: bytes) -> None:
        try:
            roster = Roster.parse(data)
        except ProtocolError as e:
            self.stats["roster_rejected"] += 1
            self._post(SecurityAlert(f"malformed roster: {e}"), logging.WARNING)
            return
        old = self.session.roster
        if old is not None and roster.hash() == old.hash():
            return
        before = self.code
        try:
            vr = self.session.install_roster(roster, self.clock())
        except CryptoError as e:
            self.stats["roster_rejected"] += 1
            self._post(SecurityAlert(f"roster rejected: {e}"), logging.WARNING)
            return
        self._after_roster(old, vr, before)

    def _after_roster(self, old: VerifiedRoster | None, vr: VerifiedRoster, before: str | None) -> None:
        oldm = {} if old is None else {i: _describe(m) for i, m in old.members.items()}
        newm = {i: _describe(m) for i, m in vr.members.items()}
        ev = RosterChanged(
            vr.version, newm,
            sorted(v for i, v in newm.items() if oldm.get(i) != v),
            sorted(v for i, v in oldm.items() if newm.get(i) != v),
            self.member, self.session.index,
            {i: MemberInfo(i, m.identity.name, m.identity.country, m.role, m.identity.fingerprint) for i, m in vr.members.items()},
        )
        self._post(ev, logging.INFO)
        if self.member:
            self._flush_control()
        elif not self.is_chair and self._entry_version != vr.version:
            self._entry_version = vr.version
            self._send_entry(force=True)
        self._update_code(before)

    def _update_code(self, before: str | None) -> None:
        try:
            code: str | None = self.session.verification_code()
        except CryptoError:
            code = None
        self.code = code
        if code is not None and code != before:
            assert self.session.roster is not None
            self._post(RoomCodeChanged(code, self.session.roster.version), logging.INFO)

    def _post(self, ev: SecureEvent, level: int) -> None:
        self.events.append(ev)
        log.log(level, "%s, room %s: %s", self.identity.name, self.room_id.decode(errors="replace"), ev.alert_text())
        if self._client is not None:
            self._client.post_event(ev)

    # ------------------------------------------------------------ chair

    def _chair_start(self, client_id: int) -> None:
        key = self.me.signing_key.public_key().public_bytes_raw()
        if key not in self._admitted:
            entry = self.session.roster_entry(self._index_for(key), self.role)
            self._admitted[key] = _Admitted(entry, self.identity, client_id)
        else:
            self._admitted[key].client_id = client_id
        self._publish(force=True)

    def _index_for(self, key: bytes) -> int:
        if key not in self._indices:
            self._indices[key] = self._next_index
            self._next_index += 1
        return self._indices[key]

    def _on_entry(self, client_id: int, data: bytes) -> None:
        now = self.clock()
        try:
            entry = RosterEntry.parse(data)
            ident = verify_certificate(load_der_certificate(entry.cert_der), self.roots, now)
            ident.public_key.verify(entry.kem_signature, kem_binding(self.room_id, entry.kem_suite, entry.kem_public))
        except (ProtocolError, CryptoError, InvalidSignature) as e:
            self.stats["entry_rejected"] += 1
            self._post(SecurityAlert(f"admission request from relay client {client_id} refused: {e or 'bad signature'}"), logging.WARNING)
            return
        key = ident.public_key.public_bytes_raw()
        if key in self._banned or (self.admit is not None and not self.admit(ident)):
            self.stats["entry_refused"] += 1
            self._post(SecurityAlert(f"{ident.name} ({ident.country}) asked to join and was refused"), logging.WARNING)
            return
        cur = self._admitted.get(key)
        entry = replace(entry, index=self._index_for(key))
        if cur is not None and cur.entry == entry:
            cur.client_id = client_id
            self._publish(force=True)  # the member missed the roster: send it again
            return
        self._admitted[key] = _Admitted(entry, ident, client_id)
        self._publish()

    def expel(self, name: str) -> bool:
        """Remove the member whose certificate name (or fingerprint) is ``name``; they get no
        further keys and are not re-admitted. Returns False when nobody matched."""
        if not self.is_chair:
            raise CryptoError("only the chair can expel members")
        hit = [k for k, a in self._admitted.items() if name in (a.identity.name, a.identity.fingerprint)]
        for k in hit:
            del self._admitted[k]
            self._banned.add(k)
        if hit:
            self._publish()
        return bool(hit)

    def _publish(self, force: bool = False) -> None:
        entries = [a.entry for a in self._admitted.values()]
        if not force and self._published is not None and self._published.entries == tuple(sorted(entries, key=lambda e: e.index)):
            return
        if self._published is not None and force and self._published.entries == tuple(sorted(entries, key=lambda e: e.index)):
            if self._client is not None:
                self._send_message(Kind.ROSTER, bytes(self._published))
            return
        now = self.clock()
        roster = Roster.create(self.room_id, entries, self.me.signing_key, self.me.certificate, int(now), self._published)
        old, before = self.session.roster, self.code
        vr = self.session.install_roster(roster, now)
        self._published = roster
        if self._client is not None:
            self._send_message(Kind.ROSTER, bytes(roster))
        self._after_roster(old, vr, before)
