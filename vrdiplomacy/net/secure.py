"""End-to-end encryption of a room over the relay: :class:`SecureRoom` glues a
:class:`~vrdiplomacy.crypto.session.GroupSession` to a relay :class:`~vrdiplomacy.net.client_io.Client`.

Pass it as the client's ``sealer``::

    room = SecureRoom("chamber", LocalIdentity(cert, key), roots, authority=fp_or_invitation)  # a delegate
    chair = SecureRoom("chamber", LocalIdentity(cert, key), roots, authority=fp_or_invitation) # the room
    async with connect(host, port, fp, "France", "seat-03", room="chamber", sealer=room) as c:   # authority:
        ...                                                      # its certificate is the pinned one
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

Membership: the room has one **authority** (``authority=``: the fingerprint of the chair's or
host's certificate, from the invitation; without it, the first roster's signer is pinned). The
authority publishes its admission key (:class:`~vrdiplomacy.crypto.roster_seal.AuthorityKey`);
every client seals its roster entry (certificate and signed HPKE key) to it. The authority
(:class:`~vrdiplomacy.net.secure_chair.RoomAuthority`) checks it against the trusted ministry roots,
the group's KEM suite and the ``admit`` policy, gives the member its room role, and signs a new
epoch on every admission, leave (the relay reports the member ``left``), :meth:`SecureRoom.expel`
and batch of key updates; it re-issues the roster before it expires (a heartbeat). Rosters travel
sealed to the members' KEM keys. Clients accept members' keys only from a roster that verifies
(authority, hash chain, freshness, roles, suite, certificates), start a new key generation every
epoch (and every 15 minutes), rotate their own HPKE key every ``kem_update_s``, stop sending when
the roster expired, and tell the UI through :class:`RosterChanged`, :class:`KeysChanged`,
:class:`RoomCodeChanged` and :class:`SecurityAlert` events (each also logged on the
``vrdiplomacy.e2ee`` logger).
"""

from __future__ import annotations

import collections
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cryptography import x509

from vrdiplomacy.crypto.identity import ROSTER_SIGNER_ROLES, VerifiedIdentity, cert_der, verify_certificate
from vrdiplomacy.crypto.packet import EVENT_STREAMS, StreamType
from vrdiplomacy.crypto.roster import Member, RosterEntry, VerifiedRoster, cert_fingerprint
from vrdiplomacy.crypto.revocation import TrustStore
from vrdiplomacy.crypto.roster_seal import AuthorityKey, SealedEntry
from vrdiplomacy.crypto.session import GroupSession, LocalIdentity, SessionConfig
from vrdiplomacy.errors import CryptoError, ProtocolError
from vrdiplomacy.net.secure_chair import Admit, AuthoritySettings, RoomAuthority
from vrdiplomacy.net.secure_member import RosterFollower, authority_fingerprint
from vrdiplomacy.net.secure_wire import CHUNK, Kind, Reassembler, ReassemblySettings, SecureMessage, split_message
from vrdiplomacy.net.presence import MemberPresence, MemberStated

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
_FORGERY_REASONS = {
    "mismatch": "not what they signed",
    "unsigned": "never signed by them",
    "counter_jump": "counter far ahead of theirs, refused",
    "counter_cap": "counter above 2^40, refused",
}


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
    batch); ``role`` the room role we ask for (only a request: the authority gives the lower of
    our certificate's role and our invitation's); ``tick_s`` how often pending key envelopes and
    frame signatures are sent and freshness is checked; ``entry_retry_s`` least time between two
    admission requests; ``kem_update_s`` how often we replace our HPKE key pair (post-compromise
    security; 0 turns it off); ``authority`` the room authority's settings when we are it
    (roster lifetime, heartbeat, key-update batching); ``reassembly`` the bounds on partial
    messages kept from each sender (bytes per message and in all, age); ``presence_gap_s`` least time
    between two restatements of our relay handle and seat (:class:`~vrdiplomacy.net.presence.MemberPresence`)
    made because another member restated itself under a new handle; ``presence_settle_s`` how
    long a roster change settles before we state ours to its newcomers.
    """

    session: SessionConfig = field(default_factory=SessionConfig)
    role: str | None = None
    tick_s: float = 0.05
    entry_retry_s: float = 1.0
    kem_update_s: float = 900.0
    authority: AuthoritySettings = field(default_factory=AuthoritySettings)
    reassembly: ReassemblySettings = field(default_factory=ReassemblySettings)
    presence_gap_s: float = 1.0
    presence_settle_s: float = 0.3


def _describe(m: Any) -> str:
    return f"{m.identity.name} ({m.identity.country}), {m.role}"


class SecureRoom(RosterFollower):
    """The end-to-end layer of one client in one room (a :class:`~vrdiplomacy.net.client_io.PayloadSealer`).

    ``authority`` pins the room authority: its certificate fingerprint (``"AB:CD:..."`` as
    :func:`~vrdiplomacy.crypto.identity.fingerprint` prints it, or 32 bytes) or an invitation / room
    descriptor with ``authority_cert_der``. We chair when our certificate is the pinned one (or,
    with no pin, when it is a chair/host certificate). ``admit`` (authority only) refuses a
    member (False), admits it (True) or caps its room role (a role name, e.g. the invitation's).
    ``clock`` gives the time used for certificates and roster freshness.
    """

    def __init__(
        self,
        room: str | bytes,
        me: LocalIdentity,
        roots: list[x509.Certificate],
        settings: SecureSettings | None = None,
        admit: Admit | None = None,
        clock: Callable[[], float] = time.time,
        authority: object = None,
    ) -> None:
        self.room_id = room.encode() if isinstance(room, str) else bytes(room)
        self.s = settings or SecureSettings()
        self.clock = clock
        self.me = me
        self.roots = roots if isinstance(roots, TrustStore) else TrustStore(roots)  # keeps the CRLs
        self.identity = verify_certificate(me.certificate, self.roots, clock())
        self.fingerprint = cert_fingerprint(cert_der(me.certificate))
        pinned = authority_fingerprint(authority)
        # Only the pinned authority chairs (without a pin: a chair/host certificate, trust on first use).
        self.is_chair = self.identity.role in ROSTER_SIGNER_ROLES and pinned in (None, self.fingerprint)
        self.role = self.identity.role if self.is_chair else (self.s.role or "delegate")
        self.admit = admit
        self.session = GroupSession(self.room_id, me, self.roots, self.s.session,
                                    authority=self.fingerprint if self.is_chair else pinned)
        self.stats: collections.Counter[str] = collections.Counter()
        self.code: str | None = None
        self.events: collections.deque[SecureEvent] = collections.deque(maxlen=256)
        self._client: Client | None = None
        self._next_tick = 0.0  # in the driving core's clock; 0.0: as soon as it runs
        self._stated: tuple[int, str] | None = None  # (relay client id, seat) we last stated
        self._stated_at = -1e9
        self._stated_members: frozenset[tuple[int, bytes]] = frozenset()
        self._roster_seen, self._roster_at = -1, 0.0
        self._handles: dict[int, int] = {}  # member -> the relay handle it last stated
        self._state_again = False
        self._reasm = Reassembler(self.s.reassembly)
        self._msg_id = 0
        self._alerts_seen = 0
        self._own: collections.OrderedDict[bytes, tuple[StreamType, bytes]] = collections.OrderedDict()
        self._entry_sent_at = -1e9
        self._entry_version = -1
        self._authority_key: AuthorityKey | None = None
        self._succession: bytes | None = None
        self._fresh_state = "none"
        self._kem_period: int | None = None
        self._member_since = 0.0
        self.chair: RoomAuthority | None = self._make_authority() if self.is_chair else None

    # ------------------------------------------------------------ information

    @property
    def roster(self) -> VerifiedRoster | None:
        return self.session.roster

    @property
    def member(self) -> bool:
        """True once we are in the current roster (and can send)."""
        return self.session.index is not None

    @property
    def authority_key(self) -> bytes | None:
        """The room authority's admission key (public) as this client verified it; None before it
        is known. The authority's client makes a fresh one each time it starts the room, so it
        names the meeting session (votes are bound to it: :func:`vrdiplomacy.ballot.roles.meeting_nonce`)."""
        if self.chair is not None:
            return self.chair._admission.public_bytes()
        return None if self._authority_key is None else self._authority_key.kem_public

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
            if self.chair is not None:
                self._chair_start(ev.client_id)
            elif not ev.resumed or not self.member:
                self._send_entry(force=True)
        elif isinstance(ev, MemberUpdate) and ev.state == "left":
            self._reasm.forget(ev.client_id)
            if self.chair is not None:
                self.chair.member_left(ev.client_id, self.clock())
        elif isinstance(ev, MemberUpdate) and self.chair is not None:
            self.chair.member_seen(self.clock())

    def handle_timer(self, now: float) -> None:
        """Send pending key envelopes and due frame signatures; the next tick is ``tick_s`` later.
        ``now`` is the driving core's clock (it schedules only); crypto times come from ``clock``."""
        self._next_tick = now + self.s.tick_s
        with contextlib.suppress(CryptoError, ProtocolError):
            self.tick(self.clock())
        with contextlib.suppress(CryptoError, ProtocolError):
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
        # a member back with fresh keys (a restarted client; a periodic key update) hears it again
        members = frozenset((i, m.kem_public) for i, m in r.members.items())
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

    def tick(self, now: float) -> None:
        """Periodic work: the authority's heartbeat and commits, our key update, freshness alerts,
        pending key envelopes and frame signatures."""
        if self.chair is not None:
            self.chair.tick(now, self.s.kem_update_s)
        else:
            self._kem_tick(now)
        self._freshness_tick(now)
        self._flush_control()


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

    def _send_entry(self, force: bool = False, entry: RosterEntry | None = None) -> None:
        """Our admission request (or key update), sealed to the authority's admission key; an
        empty hello asking for that key while we do not have it."""
        now = self.clock()
        if self._client is None or (not force and now - self._entry_sent_at < self.s.entry_retry_s):
            return
        self._entry_sent_at = now
        ak = self._authority_key
        if ak is None:
            self._send_message(Kind.ENTRY, b"")
            return
        entry = entry or self.session.roster_entry(0, self.role)
        self._send_message(Kind.ENTRY, bytes(SealedEntry.seal(entry, ak)))

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
        got = self._reasm.feed(sender, msg, self.clock())
        if got is None:
            return None
        mkind, data = got
        own = self._client is not None and sender == self._client.client_id
        if mkind == Kind.ROSTER:
            if not own:  # the chair's own rosters come back after it already moved on
                self._on_roster(data)
            return None
        if mkind == Kind.ENTRY:
            if self.chair is not None and not own:
                self.chair.on_entry(sender, data, self.clock())
            return None
        if own:
            return self._statement(self._own_echo(data), sender)
        return self._statement(self._open_packet(data), sender)

    def _open_media(self, kind: str, payload: bytes) -> OpenedPayload:
        try:
            opened = self.session.open(payload, self.clock())
        finally:
            self._check_forgery()  # a frame with an impossible counter raises an alert as it drops
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
        if self.session.roster is None:
            # key envelopes for epochs sealed before we were admitted: rosters are sealed to
            # members only, so until ours arrives there is nothing these could be checked against
            self.stats["before_roster"] += 1
            return None
        before = self.code
        keys_before = self.session.stats["keys"]
        try:
            opened = self.session.open(data, now)
        finally:
            self._check_forgery()
        if opened.stream_type == StreamType.KEYS:
            if self.session.stats["keys"] == keys_before:
                return None  # an envelope from before we were admitted: not for us (counted)
            r = self.session.roster
            m = r.members.get(opened.sender) if r is not None else None
            name = m.identity.name if m is not None else f"member {opened.sender}"
            gen = self.session.newest_generation(opened.sender) or 0
            self._post(KeysChanged(opened.sender, name, gen), logging.INFO)
            self._update_code(before)
            return None
        if opened.stream_type == StreamType.FRAME_SIG:
            return None
        if opened.stream_type not in STREAM_NAMES:
            self.stats["wrong_stream"] += 1
            raise CryptoError(f"a {opened.stream_type.name} frame arrived as a room event")
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
            why = _FORGERY_REASONS.get(a.reason, a.reason)
            self._post(SecurityAlert(f"{len(a.counters)} frame(s) under {who}'s key were forged by another member ({why})"),
                       logging.WARNING)

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
        if (self.chair is None and vr.next_authority == self.fingerprint and vr.authority != self.fingerprint
                and self.identity.role in ROSTER_SIGNER_ROLES):
            self._become_authority(vr)

    def _update_code(self, before: str | None) -> None:
        try:
            code: str | None = self.session.verification_code()
        except CryptoError:
            code = None
        self.code = code
        if code is not None and code != before:
            assert self.session.roster is not None
            self._post(RoomCodeChanged(code, self.session.roster.version), logging.INFO)

    def _alert(self, text: str) -> None:
        self._post(SecurityAlert(text), logging.WARNING)

    def _removed(self, epoch: int, me: Member | None) -> None:
        """The authority published an epoch without us."""
        self.code = None
        self._post(RosterChanged(epoch, {}, [], [_describe(me)] if me else [], False), logging.WARNING)

    def _authority_settings(self) -> AuthoritySettings:
        return self.s.authority

    def _kem_update_s(self) -> float:
        return self.s.kem_update_s

    def _post(self, ev: SecureEvent, level: int) -> None:
        self.events.append(ev)
        log.log(level, "%s, room %s: %s", self.identity.name, self.room_id.decode(errors="replace"), ev.alert_text())
        if self._client is not None:
            self._client.post_event(ev)
