"""GroupSession: what a client uses to seal and open everything in one room (sans-I/O).

Typical loop (``now`` in seconds from any monotonic clock shared with the roster times)::

    s = GroupSession(room_id, me, trusted_roots, authority=fp)   # the room authority's fingerprint
    s.install_roster(roster_bytes, now)         # every epoch and re-issue the authority signs
    s.freshness(now)                            # "fresh", "late" or "expired" (nothing is sealed)
    for pkt in s.outgoing(now): send(pkt)       # key envelopes and frame signatures first
    send(s.seal(StreamType.VOICE, opus_frame, now))
    ...
    sender, stream, payload = s.open(received, now)   # CryptoError subclasses on every drop

Every drop is counted in :attr:`GroupSession.stats` by reason, and raises :class:`PacketDropped`.
Control packets (``KEYS``, ``FRAME_SIG``) are consumed by :meth:`GroupSession.open` and returned
with an empty payload. Frames another member made under a sender's key (an impossible counter, a
frame the sender's signatures leave out) raise a :class:`ForgeryAlert` in
:attr:`GroupSession.alerts`.

Roster changes: a member's key envelope for roster v(n) may reach us after the authority's v(n+1)
(the relay orders them independently); within ``SessionConfig.grace_s`` of the change it is still
accepted from a member of every roster since, and opens that member's frames until the grace ends
(:mod:`vrdiplomacy.crypto.session_history`). Envelopes of removed members, replayed envelopes and
replayed frame signatures are counted drops.

Signed events are bound to the epoch (roster version) and roster hash they were sent under, the
sender's key generation and the sender's clock: a receiver drops an event of an older epoch once
the grace period after the roster change is over, and any event older than
``SessionConfig.event_max_age_s``. Events are padded to :data:`~vrdiplomacy.crypto.packet.EVENT_BUCKETS`
and travel as ``EVENT`` packets whose kind is only inside the encryption.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import NamedTuple

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ed25519

from vrdiplomacy.crypto.hpke_dist import KemKeyPair, KemSuite, KeyDistribution
from vrdiplomacy.crypto.keys import (
    MAX_CTR,
    ReceiveKey,
    ReceiveKeyStore,
    RekeyPolicy,
    SendKey,
    initial_generation,
    make_kid,
    split_kid,
)
from vrdiplomacy.crypto.events import EventBinder, EventRejected, EventSettings
from vrdiplomacy.crypto.packet import EVENT_BUCKETS, EVENT_STREAMS, SFRAME_STREAMS, Packet, StreamType, wire_stream
from vrdiplomacy.crypto.revocation import TrustStore
from vrdiplomacy.crypto.roster import Roster, RosterEntry, VerifiedRoster, parse_fingerprint, verify_roster
from vrdiplomacy.crypto.roster_seal import SealedRoster
from vrdiplomacy.crypto.session_history import RosterHistory, SignatureOrder
from vrdiplomacy.crypto.sframe import DEFAULT_SUITE, CipherSuite, ReplayWindow, SFrameHeader, SFrameKey
from vrdiplomacy.crypto.signing import FrameSignature, FrameSigner, FrameVerifier
from vrdiplomacy.crypto.verify_code import room_code
from vrdiplomacy.errors import CryptoError, ProtocolError

MAX_EARLY_KEYS = 64
MAX_EARLY_BYTES = 4 << 20
"""Key envelopes for a roster we do not have yet are kept up to this many bytes in all."""


class PacketDropped(CryptoError):
    """A received packet was dropped; ``reason`` is the :attr:`GroupSession.stats` key."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"dropped ({reason}): {detail}")
        self.reason = reason


@dataclass
class SessionConfig:
    """Settings of a group session.

    Fields: ``cipher_suite`` SFrame suite for our frames (AES-128-GCM by default);
    ``rekey_interval_s`` periodic rotation (15 min); ``replay_window`` counters remembered per KID;
    ``grace_s`` how long an older key generation still opens frames in flight;
    ``sign_every_frames`` / ``sign_every_s`` batch size and age of media frame signatures;
    ``verifier_capacity`` opened frames remembered until their signature arrives;
    ``sign_deadline_s`` how long an opened frame may stay unsigned while its sender's later
    signatures arrive before it counts as forged (2 s);
    ``max_ctr_jump`` / ``max_frame_rate`` the furthest a sender's counter may jump ahead of the
    last accepted one: ``max_ctr_jump`` plus ``max_frame_rate`` frames per second since that
    frame (a relay may hold a member's frames back for a while; a larger jump was made by another
    member, is dropped with an alert and does not move the replay window);
    ``event_max_age_s`` / ``event_max_skew_s`` how old a signed event may be, and how far ahead
    of our clock its sender's clock may be (60 s each);
    ``event_buckets`` the plaintext sizes events are padded to;
    ``roster_late_fraction`` after this fraction of a roster's lifetime without a re-issue from
    the authority, :meth:`GroupSession.freshness` reports the roster late.
    """

    cipher_suite: CipherSuite = DEFAULT_SUITE
    rekey_interval_s: float = 900.0
    replay_window: int = 256
    grace_s: float = 5.0
    sign_every_frames: int = 32
    sign_every_s: float = 0.1
    verifier_capacity: int = 8192
    roster_late_fraction: float = 0.5
    sign_deadline_s: float = 2.0
    max_ctr_jump: int = 1024
    max_frame_rate: float = 1000.0
    event_max_age_s: float = 60.0
    event_max_skew_s: float = 60.0
    event_buckets: tuple[int, ...] = EVENT_BUCKETS


@dataclass
class LocalIdentity:
    """Our delegation certificate, its Ed25519 key and our HPKE key pair for this session."""

    certificate: x509.Certificate
    signing_key: ed25519.Ed25519PrivateKey
    kem: KemKeyPair = field(default_factory=KemKeyPair.generate)


class Opened(NamedTuple):
    """A packet that was opened: who sent it, on which stream, and its plaintext."""

    sender: int
    stream_type: StreamType
    payload: bytes


@dataclass(frozen=True)
class ForgeryAlert:
    """Frames that carried ``sender``'s key id but that ``sender`` did not make: someone in the
    room forged them. ``reason``: "mismatch" (its signature has another hash), "unsigned" (its
    signatures left the frames out), "counter_jump" (a counter far beyond the sender's) or
    "counter_cap" (a counter above 2^40 - 1)."""

    sender: int
    kid: int
    counters: tuple[int, ...]
    reason: str = "mismatch"


class GroupSession:
    """End-to-end encryption state of one client in one room."""

    def __init__(
        self,
        room_id: bytes,
        me: LocalIdentity,
        roots: list[x509.Certificate],
        config: SessionConfig | None = None,
        authority: str | bytes | None = None,
    ) -> None:
        if not 1 <= len(room_id) <= 64:
            raise CryptoError("room id must be 1 to 64 bytes")
        self.room_id = room_id
        self.authority: bytes | None = None if authority is None else parse_fingerprint(authority)
        """The pinned room authority (raw SHA-256 of its certificate); ``None``: pinned by the
        first roster accepted (trust on first use)."""
        self._kems: dict[bytes, KemKeyPair] = {me.kem.public_bytes(): me.kem}
        self.me = me
        self.roots = roots if isinstance(roots, TrustStore) else TrustStore(roots)  # keeps the CRLs
        self.config = config or SessionConfig()
        self.roster: VerifiedRoster | None = None
        self.index: int | None = None
        self.stats: collections.Counter[str] = collections.Counter()
        self.alerts: list[ForgeryAlert] = []
        self._policy = RekeyPolicy(self.config.rekey_interval_s)
        self._send: SendKey | None = None
        self._generation = -1
        self._keys = ReceiveKeyStore(self.config.replay_window, self.config.grace_s)
        self._signer: FrameSigner | None = None
        self._verifier = FrameVerifier(self.config.verifier_capacity, self.config.sign_deadline_s)
        self._queue: list[bytes] = []
        self._epoch: dict[int, tuple[int, bytes]] = {}
        self._early: list[KeyDistribution] = []
        self._history = RosterHistory(self.config.grace_s)  # for key envelopes crossing a roster change
        self._sig_order = SignatureOrder()
        c = self.config
        self._events = EventBinder(room_id, EventSettings(c.event_max_age_s, c.event_max_skew_s, c.grace_s, c.event_buckets))

    # ------------------------------------------------------------------ roster

    def roster_entry(self, index: int, role: str) -> RosterEntry:
        """Our entry for the authority to put in the roster: certificate and our newest HPKE key,
        signed by us. ``index`` and ``role`` are only a request: the authority sets both."""
        return RosterEntry.create(self.room_id, index, role, self.me.certificate, self.me.signing_key, self._newest_kem())

    def _newest_kem(self) -> KemKeyPair:
        return next(reversed(self._kems.values()))

    @property
    def kem_keys(self) -> dict[bytes, KemKeyPair]:
        """Our KEM key pairs by public key: the one the roster lists and a pending update."""
        return dict(self._kems)

    def use_kem_suite(self, suite: int) -> None:
        """Adopt the KEM suite the room authority named (before we are a member)."""
        if self.me.kem.suite == suite or self.index is not None:
            return
        kem = KemKeyPair.generate(KemSuite(suite))
        self.me.kem = kem
        self._kems = {kem.public_bytes(): kem}

    def update_kem(self) -> RosterEntry:
        """A fresh HPKE key pair for post-compromise security: our new entry for the authority.
        The old private key is deleted once a roster lists the new one."""
        vr, index = self._member()
        kem = KemKeyPair.generate(KemSuite(vr.kem_suite))
        self._kems[kem.public_bytes()] = kem
        self.stats["kem_updates"] += 1
        return RosterEntry.create(self.room_id, index, vr.members[index].role, self.me.certificate,
                                  self.me.signing_key, kem)

    def open_sealed_roster(self, sealed: SealedRoster | bytes) -> Roster:
        """Decrypt a roster the authority sealed to our KEM key (not yet verified)."""
        if not isinstance(sealed, SealedRoster):
            try:
                sealed = SealedRoster.parse(sealed)
            except ProtocolError as e:
                raise CryptoError(f"roster rejected: {e}") from None
        return sealed.open(self._kems)

    def install_roster(self, roster: Roster | bytes, now: float) -> VerifiedRoster:
        """Verify and adopt a roster: a new epoch (a new key generation when we are a member),
        or the authority's re-issue of the current one (fresher times, nothing else changes).
        Raises :class:`CryptoError` and changes nothing when the roster does not verify."""
        if not isinstance(roster, Roster):
            try:
                roster = Roster.parse(roster)
            except ProtocolError as e:
                raise CryptoError(f"roster rejected: {e}") from None
        vr = verify_roster(roster, self.roots, now, self.roster, self.room_id, self.authority)
        old = self.roster
        self.roster = vr
        if self.authority is None:
            self.authority = vr.authority  # trust on first use, when no authority was pinned
        if old is not None and vr.version == old.version:
            self.stats["roster_reissued"] += 1
            return vr
        if old is not None:
            for gone in set(old.members) - set(vr.members):
                self._keys.forget_sender(gone)
                self._epoch.pop(gone, None)
        self._history.installed(old, vr, now)
        self._keys.retire_older_than(vr.version, now)
        self.index = vr.index_of(self.me.signing_key.public_key())
        if self.index is None:
            self._send = None
            self._signer = None
        else:
            self._adopt_listed_kem(vr.members[self.index].kem_public)
            if self._signer is None or self._signer.sender != self.index:
                self._signer = FrameSigner(
                    self.room_id, self.index, self.config.sign_every_frames, self.config.sign_every_s
                )
            self._rotate(now)
        early, self._early = self._early, []
        for kd in early:
            try:
                self._accept_keys(kd, now)
            except PacketDropped:
                pass
        return vr

    def _adopt_listed_kem(self, listed: bytes) -> None:
        """Use the KEM key the roster lists for us; delete older ones (forward secrecy)."""
        if listed not in self._kems:
            self.stats["kem_not_ours"] += 1
            return
        keys = list(self._kems)
        self._kems = {k: self._kems[k] for k in keys[keys.index(listed):]}
        self.me.kem = self._kems[listed]

    def leave_roster(self) -> None:
        """The authority published an epoch without us: stop sending, forget every key."""
        self.index = None
        self._send = None
        self._signer = None
        for sender in list(self._keys.newest):
            self._keys.forget_sender(sender)
        self._keys.by_kid.clear()

    def freshness(self, now: float) -> str:
        """``"none"`` (no roster), ``"fresh"``, ``"late"`` (the authority's re-issue is overdue:
        someone may be withholding rosters) or ``"expired"`` (nothing is sealed any more)."""
        r = self.roster
        if r is None:
            return "none"
        if now > r.expires_at:
            return "expired"
        if now > r.issued_at + (r.expires_at - r.issued_at) * self.config.roster_late_fraction:
            return "late"
        return "fresh"

    def verification_code(self) -> str:
        """The room code: the epoch's transcript hash (epoch, history, authority, suite, members'
        KEM keys) and every member's sender-key commitment for the epoch."""
        if self.roster is None:
            raise CryptoError("no roster yet")
        v = self.roster.version
        commits = {i: c for i, (ver, c) in self._epoch.items() if ver == v and i in self.roster.members}
        missing = sorted(set(self.roster.members) - set(commits))
        if missing:
            raise CryptoError(f"waiting for the keys of members {', '.join(map(str, missing))}")
        return room_code(self.roster.transcript_hash(), commits)

    # ------------------------------------------------------------------ sending

    def _member(self, now: float | None = None) -> tuple[VerifiedRoster, int]:
        if self.roster is None or self.index is None:
            raise CryptoError("not a member of the room's current roster")
        if now is not None and now > self.roster.expires_at:
            raise CryptoError(
                f"the roster of epoch {self.roster.version} expired: nothing is sealed until the authority's next roster arrives"
            )
        return self.roster, self.index

    def _flush_signature(self) -> None:
        if self._signer is not None:
            sig = self._signer.sign(self.me.signing_key)
            if sig is not None:
                self._queue.append(bytes(Packet(StreamType.FRAME_SIG, bytes(sig))))

    def _rotate(self, now: float) -> None:
        vr, index = self._member(now)
        # a fresh start (or a restart): generations count from the clock
        base = self._generation if self._generation >= 0 else initial_generation(now) - 1
        generation = base + 1
        send = SendKey.new(self.config.cipher_suite, index, generation, vr.version)
        recipients = {i: (m.kem_suite, m.kem_public) for i, m in vr.members.items() if i != index}
        kd = KeyDistribution.create(  # before any state changes: a failure leaves the session as it was
            self.room_id, vr.version, index, generation, self.config.cipher_suite,
            send.base_key, recipients, self.me.signing_key,
        )
        self._flush_signature()
        self._generation = generation
        self._send = send
        self._policy.mark(now, vr.version)
        if index not in self._epoch or self._epoch[index][0] != vr.version:
            self._epoch[index] = (vr.version, kd.commitment)
        self._queue.append(bytes(Packet(StreamType.KEYS, bytes(kd))))
        self.stats["rekeys"] += 1

    def _metadata(self, stream_type: int) -> bytes:
        return self.room_id + bytes((stream_type,))

    def _note_roster(self, now: float) -> None:
        self._events.note_roster(self.roster, now)

    def seal(self, stream_type: StreamType, payload: bytes, now: float) -> bytes:
        """Encrypt one media frame or event; returns the packet to send (after :meth:`outgoing`)."""
        vr, index = self._member(now)
        st = StreamType(stream_type)
        if st not in SFRAME_STREAMS:
            raise CryptoError(f"{st.name} is not an application stream")
        if st in EVENT_STREAMS:
            self._events.padded_size(len(payload))  # too large: refused before anything changes
        if self._send is None or self._policy.due(now, vr.version):
            self._rotate(now)
        self._note_roster(now)
        send = self._send
        assert send is not None and self._signer is not None
        if st in EVENT_STREAMS:
            payload = self._events.make(vr, index, st, payload, send.generation, self.me.signing_key, now)
        wst = wire_stream(st)
        ctr = send.take_ctr()
        wire = bytes((1, wst)) + send.key.encrypt(ctr, self._metadata(wst), payload)
        self._signer.add(send.key.kid, ctr, wire, now)
        if self._signer.due(now):
            self._flush_signature()
        self.stats["sealed"] += 1
        return wire

    def outgoing(self, now: float) -> list[bytes]:
        """Control packets to send now: new key envelopes and due frame signatures."""
        self._note_roster(now)
        if self.roster is not None and self.index is not None:
            if self._send is not None and now <= self.roster.expires_at and self._policy.due(now, self.roster.version):
                self._rotate(now)  # never sends keys to an expired roster
            if self._signer is not None and self._signer.due(now):
                self._flush_signature()
        self._keys.expire(now)
        out, self._queue = self._queue, []
        return out

    # ------------------------------------------------------------------ receiving

    def _drop(self, reason: str, detail: str) -> PacketDropped:
        self.stats[reason] += 1
        return PacketDropped(reason, detail)

    def open(self, wire: bytes, now: float) -> Opened:
        """Open one received packet, or raise :class:`PacketDropped` (counted)."""
        try:
            pkt = Packet.parse(wire)
        except ProtocolError as e:
            raise self._drop("malformed", str(e)) from None
        if self.roster is None:
            raise self._drop("no_roster", "no roster installed yet")
        self._note_roster(now)
        if pkt.stream_type == StreamType.KEYS:
            return self._open_keys(pkt.body, now)
        if pkt.stream_type == StreamType.FRAME_SIG:
            return self._open_signature(pkt.body, now)
        if pkt.stream_type in EVENT_STREAMS:
            raise self._drop("malformed", f"event kind {pkt.stream_type.name} outside the encryption")
        return self._open_frame(pkt.stream_type, bytes(wire), pkt.body, now)

    def _open_frame(self, st: StreamType, wire: bytes, body: bytes, now: float) -> Opened:
        assert self.roster is not None
        try:
            header, hlen = SFrameHeader.decode(body)
        except ProtocolError as e:
            raise self._drop("malformed", str(e)) from None
        sender, _gen = split_kid(header.kid)
        if sender not in self.roster.members:
            raise self._drop("not_member", f"frame from unknown sender {sender}")
        key = self._keys.lookup(header.kid, now)
        if key is None:
            raise self._drop("unknown_key", f"no key for KID {header.kid}")
        why = key.check(header.ctr)
        if why is not None:
            raise self._drop(why, f"CTR {header.ctr} of KID {header.kid}")
        c = self.config
        impossible = None
        if header.ctr > MAX_CTR:
            impossible = "counter_cap"
        elif not key.jump_allowed(header.ctr, now, c.max_ctr_jump, c.max_frame_rate):
            impossible = "counter_jump"
        try:
            pt = key.key.decrypt(header, body[:hlen], body[hlen:], self._metadata(st))
        except CryptoError as e:
            raise self._drop("auth", str(e)) from None
        if impossible is not None:
            # Only a key holder can make a frame that opens: another member forged it. It is
            # not accepted and does not move the window, so the sender's real frames still open.
            self._alert(ForgeryAlert(sender, header.kid, (header.ctr,), impossible))
            raise self._drop(impossible, f"CTR {header.ctr} of KID {header.kid} is beyond what member {sender} sent")
        kind = st
        if st == StreamType.EVENT:
            # before the counter is taken: a rejected event does not cost the sender that counter
            kind, pt = self._check_event(sender, key, pt, now)
        key.accept(header.ctr, now)
        if not self._verifier.add(sender, header.kid, header.ctr, wire, now):
            self._alert(ForgeryAlert(sender, header.kid, (header.ctr,), "mismatch"), count=False)
            raise self._drop("forged", f"CTR {header.ctr} of KID {header.kid} differs from what member {sender} signed")
        self.stats["opened"] += 1
        return Opened(sender, kind, pt)

    def _alert(self, alert: ForgeryAlert, count: bool = True) -> None:
        if count:
            self.stats["forged"] += len(alert.counters)
        self.alerts.append(alert)

    def _check_event(self, sender: int, key: ReceiveKey, pt: bytes, now: float) -> tuple[StreamType, bytes]:
        assert self.roster is not None
        try:
            return self._events.check(self.roster, sender, key, pt, now)
        except EventRejected as e:
            raise self._drop(e.reason, str(e)) from None

    def _open_keys(self, body: bytes, now: float) -> Opened:
        try:
            kd = KeyDistribution.parse(body)
        except ProtocolError as e:
            raise self._drop("malformed", str(e)) from None
        if self.roster is not None and kd.roster_version > self.roster.version and self._early_bytes() + len(body) > MAX_EARLY_BYTES:
            raise self._drop("early_keys_full", f"{len(body)} bytes of keys for roster {kd.roster_version} exceed what is kept")
        self._accept_keys(kd, now)
        return Opened(kd.sender, StreamType.KEYS, b"")

    def _accept_keys(self, kd: KeyDistribution, now: float) -> None:
        vr = self.roster
        assert vr is not None
        if kd.room_id != self.room_id:
            raise self._drop("wrong_room", "key distribution for another room")
        if kd.roster_version > vr.version:
            if len(self._early) < MAX_EARLY_KEYS:
                self._early.append(kd)
            raise self._drop("early_keys", f"keys for roster {kd.roster_version}, we have {vr.version} (kept)")
        if kd.roster_version < vr.version:
            self._accept_old_keys(kd, now)
            return
        member = vr.members.get(kd.sender)
        if member is None:
            raise self._drop("not_member", f"key distribution from member {kd.sender}")
        if kd.sender == self.index:
            raise self._drop("own", "our own key distribution came back")
        try:
            kd.verify(member.public_key)
            suite = CipherSuite(kd.cipher_suite)
        except (CryptoError, ValueError) as e:
            raise self._drop("bad_keys", str(e)) from None
        if self.index is None:
            raise self._drop("not_member", "we are not in the roster")
        if not self._keys.is_newer(kd.sender, kd.roster_version, kd.generation):
            raise self._drop("stale_keys", f"generation {kd.generation} of member {kd.sender} already known")
        try:
            base = kd.open_for(self.index, self.me.kem)
            key = SFrameKey(suite, make_kid(kd.sender, kd.generation), base)
        except CryptoError as e:
            raise self._drop("bad_keys", str(e)) from None
        self._keys.install(
            ReceiveKey(kd.sender, kd.generation, kd.roster_version, key, kd.commitment,
                       ReplayWindow(self.config.replay_window)),
            now,
        )
        if kd.sender not in self._epoch or self._epoch[kd.sender][0] != vr.version:
            self._epoch[kd.sender] = (vr.version, kd.commitment)
        self.stats["keys"] += 1

    def _accept_old_keys(self, kd: KeyDistribution, now: float) -> None:
        """A key envelope for an older roster than ours. A member sends its keys for roster v(n)
        as soon as it has v(n); the authority's v(n+1) may reach us first, and the member's frames
        sealed under those keys follow them. So within ``grace_s`` of the change (the time older
        keys still open frames) the keys of a member of every roster since are installed, until
        that grace ends. Refused (counted): keys of whoever is not in our roster any more (removed
        or expelled) or was out of one in between, keys older than one we hold from that member (replays), and anything after the
        grace. An envelope for a roster from before we were in the room is not for us: it is
        counted (``keys_before_us``) and ignored, unless we already hold that member's keys (then
        it can only be a replay)."""
        vr = self.roster
        assert vr is not None
        v = kd.roster_version
        member = vr.members.get(kd.sender)
        if member is None:
            raise self._drop("not_member", f"keys for old roster {v} from member {kd.sender}, who is no longer in the roster")
        if kd.sender == self.index:
            raise self._drop("own", "our own key distribution came back")
        prev = self._history.get(v, now)
        if prev is not None:
            # a member ever since: whoever was out of a roster in between (removed, then admitted
            # again) gets nothing back from before
            u = self._history.absent_from(kd.sender, member.public_key.public_bytes_raw(), v, vr.version)
            if u is not None:
                raise self._drop("not_member", f"keys for old roster {v} from member {kd.sender}, who was not in roster {u}")
        try:
            kd.verify(member.public_key)
            suite = CipherSuite(kd.cipher_suite)
        except (CryptoError, ValueError) as e:
            raise self._drop("bad_keys", str(e)) from None
        if not self._keys.is_newer(kd.sender, v, kd.generation):
            raise self._drop("stale_keys", f"keys for old roster {v}: generation {kd.generation} of member {kd.sender} "
                                           "is not newer than what we hold")
        if prev is None:
            if self._history.before_us(v):
                self.stats["keys_before_us"] += 1  # sent before we were admitted: not for us
                return
            raise self._drop("stale_keys", f"keys for old roster {v}, past the grace period of {self.config.grace_s:g} s")
        old_roster, superseded_at = prev
        mine = old_roster.index_of(self.me.signing_key.public_key())
        if mine is None:
            self.stats["keys_before_us"] += 1
            return
        kem = self._kems.get(old_roster.members[mine].kem_public)
        if kem is None:
            raise self._drop("stale_keys", f"keys for old roster {v}: our HPKE key of that roster is deleted")
        try:
            base = kd.open_for(mine, kem)
            key = SFrameKey(suite, make_kid(kd.sender, kd.generation), base)
        except CryptoError as e:
            raise self._drop("bad_keys", str(e)) from None
        rk = ReceiveKey(kd.sender, kd.generation, v, key, kd.commitment, ReplayWindow(self.config.replay_window))
        self._keys.install(rk, now)
        rk.retire_at = superseded_at + self.config.grace_s  # it lives as long as its roster's grace
        self.stats["keys"] += 1
        self.stats["late_keys"] += 1

    def _early_bytes(self) -> int:
        return sum(sum(len(k.sealed) + 4 for k in kd.keys) + 128 for kd in self._early)

    def _open_signature(self, body: bytes, now: float) -> Opened:
        assert self.roster is not None
        try:
            sig = FrameSignature.parse(body)
        except ProtocolError as e:
            raise self._drop("malformed", str(e)) from None
        member = self.roster.members.get(sig.sender)
        if sig.room_id != self.room_id or member is None:
            raise self._drop("not_member", "frame signature from outside the room")
        if split_kid(sig.kid)[0] != sig.sender:
            raise self._drop("bad_signature", "frame signature for another sender's key")
        try:
            sig.verify(member.public_key)
        except CryptoError as e:
            raise self._drop("bad_signature", str(e)) from None
        self._check_signature_order(sig)
        found = self._verifier.check(sig, now)
        verified = found.pop("verified", [])
        if verified:
            key = self._keys.by_kid.get(sig.kid)
            if key is not None:
                key.confirm(max(verified))
        for reason, bad in found.items():
            self._alert(ForgeryAlert(sig.sender, sig.kid, tuple(bad), reason))
        return Opened(sig.sender, StreamType.FRAME_SIG, b"")

    def _check_signature_order(self, sig: FrameSignature) -> None:
        why = self._sig_order.check(sig, self._keys.by_kid.get(sig.kid), sig.sender in self._keys.newest)
        self._sig_order.forget_except(self._keys.by_kid)
        if why == "unknown_key":
            raise self._drop(why, f"frame signature for KID {sig.kid}, a key we do not hold")
        if why is not None:
            raise self._drop(why, f"frame signature for CTR {sig.first_ctr}.. of KID {sig.kid} again")

    def newest_generation(self, sender: int) -> int | None:
        """The newest key generation (mod 256) we hold for ``sender``, or None."""
        return self._keys.newest.get(sender)

    @property
    def frames_verified(self) -> int:
        return self._verifier.verified

    @property
    def generation(self) -> int:
        return self._generation
