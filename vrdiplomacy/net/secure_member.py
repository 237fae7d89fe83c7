"""The roster side of a secured room, shared by every :class:`~vrdiplomacy.net.secure.SecureRoom`:
following the room authority's sealed rosters, its admission key and successions, freshness
alerts, our periodic HPKE key update; and, when we are the authority (or become its successor),
driving :class:`~vrdiplomacy.net.secure_chair.RoomAuthority`.

:class:`RosterFollower` is a mixin: :class:`~vrdiplomacy.net.secure.SecureRoom` provides the
session, the relay client and the UI events (``_alert``, ``_removed``, ``_after_roster``).
"""

from __future__ import annotations

import collections
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from vrdiplomacy.crypto.identity import ROSTER_SIGNER_ROLES, VerifiedIdentity
from vrdiplomacy.crypto.roster import (
    Member,
    Roster,
    RosterEntry,
    VerifiedRoster,
    cert_fingerprint,
    parse_fingerprint,
    show_fingerprint,
)
from vrdiplomacy.crypto.roster_seal import (
    AUTHORITY_KEY,
    SEALED_ROSTER,
    SUCCESSION,
    AuthorityKey,
    SealedRoster,
    Succession,
    message_type,
)
from vrdiplomacy.crypto.session import GroupSession, LocalIdentity
from vrdiplomacy.errors import CryptoError, ProtocolError
from vrdiplomacy.net.secure_chair import Admit, AuthoritySettings, RoomAuthority
from vrdiplomacy.net.secure_wire import Kind


def authority_fingerprint(authority: object) -> bytes | None:
    """The pinned authority from a fingerprint (text or 32 bytes) or an invitation / room
    descriptor carrying ``authority_cert_der`` or ``authority``."""
    if authority is None:
        return None
    if isinstance(authority, (str, bytes)):
        return parse_fingerprint(authority)
    der = getattr(authority, "authority_cert_der", None)
    if isinstance(der, bytes):
        return cert_fingerprint(der)
    fp = getattr(authority, "authority", None)
    if isinstance(fp, (str, bytes)):
        return parse_fingerprint(fp)
    raise CryptoError(f"cannot find the room authority in {type(authority).__name__}")


class RosterFollower:
    """Roster-channel behaviour of a secured room (see the module docstring)."""

    clock: Callable[[], float]
    room_id: bytes
    me: LocalIdentity
    identity: VerifiedIdentity
    fingerprint: bytes
    roots: list  # type: ignore[type-arg]
    session: GroupSession
    stats: collections.Counter[str]
    admit: Admit | None
    chair: RoomAuthority | None
    is_chair: bool
    role: str
    code: str | None
    _client: Any
    _authority_key: AuthorityKey | None
    _succession: bytes | None
    _fresh_state: str
    _kem_period: int | None
    _member_since: float
    _entry_version: int

    @property
    def member(self) -> bool:
        return self.session.index is not None

    if TYPE_CHECKING:  # provided by SecureRoom, which mixes this in

        def _authority_settings(self) -> AuthoritySettings: ...

        def _kem_update_s(self) -> float: ...

        def _alert(self, text: str) -> None: ...

        def _removed(self, epoch: int, me: Member | None) -> None: ...

        def _send_entry(self, force: bool = False, entry: RosterEntry | None = None) -> None: ...

        def _send_message(self, kind: Kind, data: bytes) -> None: ...

        def _after_roster(self, old: VerifiedRoster | None, vr: VerifiedRoster, before: str | None) -> None: ...

    def _kem_tick(self, now: float) -> None:
        """Replace our HPKE key at every ``kem_update_s`` boundary of the clock (all members at
        about the same time, so the authority commits them in one epoch); not within half a
        period of joining (our key is new)."""
        if not self.member or self._kem_update_s() <= 0:
            self._kem_period = None
            return
        period = math.floor(now / self._kem_update_s())
        if self._kem_period is None:
            self._kem_period, self._member_since = period, now
        elif period != self._kem_period and self._authority_key is not None:
            self._kem_period = period
            if now - self._member_since >= self._kem_update_s() / 2:
                self._send_entry(force=True, entry=self.session.update_kem())

    def _freshness_tick(self, now: float) -> None:
        state = self.session.freshness(now)
        if state == self._fresh_state:
            return
        self._fresh_state = state
        r = self.session.roster
        if r is None:
            return
        if state == "late" and self.chair is None:
            self.stats["roster_late"] += 1
            self._alert(f"no fresh roster from the room authority for {now - r.issued_at:.0f} s (expected every "
                f"{(r.expires_at - r.issued_at) / 4:.0f} s): rosters may be withheld; sending stops in "
                f"{r.expires_at - now:.0f} s")
        elif state == "expired":
            self.stats["roster_expired"] += 1
            self._alert(f"the roster of epoch {r.version} expired without a fresh one from the room authority: "
                "no keys or media are sent until it arrives")

    def _on_roster(self, data: bytes) -> None:
        """A roster-channel message: the authority's admission key or a sealed roster."""
        try:
            t = message_type(data)
            if t == AUTHORITY_KEY:
                self._on_authority_key(AuthorityKey.parse(data))
                return
            if t == SUCCESSION:
                self._on_succession(Succession.parse(data))
                return
            if t != SEALED_ROSTER:
                raise ProtocolError(f"unknown roster message type {t}")
            env = SealedRoster.parse(data)
        except ProtocolError as e:
            self.stats["roster_rejected"] += 1
            self._alert(f"malformed roster: {e}")
            return
        old = self.session.roster
        if env.room_id != self.room_id or (old is not None and (env.epoch, env.issued_ms) == (old.version, old.roster.issued_ms)):
            return
        if env.for_me(self.session.kem_keys) is None:
            self._roster_without_us(env)
            return
        before = self.code
        try:
            vr = self.session.install_roster(self.session.open_sealed_roster(env), self.clock())
        except CryptoError as e:
            self.stats["roster_rejected"] += 1
            self._alert(f"roster rejected: {e}")
            return
        if old is not None and vr.version == old.version:
            return  # the authority's heartbeat: fresher, nothing else changed
        self._after_roster(old, vr, before)

    def _expected_authorities(self) -> set[bytes]:
        r = self.session.roster
        if r is not None:
            return {r.authority, r.next_authority}
        return set() if self.session.authority is None else {self.session.authority}

    def _on_authority_key(self, ak: AuthorityKey) -> None:
        now = self.clock()
        try:
            ident = ak.verify(self.roots, now, self.room_id, None)
            expected = self._expected_authorities()
            pinned = self.session.authority
            if (self.session.roster is None and pinned is not None and ak.fingerprint != pinned
                    and ident.role in ROSTER_SIGNER_ROLES and ak.follows(pinned, self.roots, now)):
                self.session.authority = expected_new = ak.fingerprint  # the pinned authority handed over
                expected = {expected_new}
            if ident.role not in ROSTER_SIGNER_ROLES or (expected and ak.fingerprint not in expected):
                raise CryptoError(f"{ident.name} ({ident.country}) published an admission key but is not the room authority")
        except CryptoError as e:
            self.stats["authority_key_rejected"] += 1
            self._alert(f"admission key rejected: {e}")
            return
        if self.chair is not None:
            return
        first = self._authority_key is None or self._authority_key.fingerprint != ak.fingerprint
        if self._authority_key is not None and ak.issued_ms <= self._authority_key.issued_ms and not first:
            return
        self._authority_key = ak
        try:
            self.session.use_kem_suite(ak.group_suite)
        except CryptoError as e:
            self._alert(f"cannot join: the room uses a KEM suite this client lacks ({e})")
            return
        if not self.member:
            self._send_entry(force=first)

    def _on_succession(self, s: Succession) -> None:
        """The authority names its successor; kept when it is us (for the lineage we show)."""
        r = self.session.roster
        if s.room_id != self.room_id or s.successor != self.fingerprint or r is None or s.fingerprint != r.authority:
            return
        try:
            s.verify(self.roots, self.clock())
        except CryptoError as e:
            self._alert(f"succession rejected: {e}")
            return
        self._succession = bytes(s)

    def _roster_without_us(self, env: SealedRoster) -> None:
        """A sealed roster with no copy for us: if the authority signed a newer epoch, we are out."""
        old = self.session.roster
        if not self.member or old is None or env.epoch <= old.version:
            self.stats["roster_not_for_us"] += 1
            return
        signer = old.signer if env.authority == old.authority else (
            old.member_by_fingerprint(env.authority).identity if env.authority == old.next_authority
            and old.member_by_fingerprint(env.authority) is not None else None)
        try:
            if signer is None:
                raise CryptoError("signed by someone who is not the room authority")
            env.verify(signer.public_key)
        except CryptoError as e:
            self.stats["roster_rejected"] += 1
            self._alert(f"roster rejected: {e}")
            return
        me = old.members.get(self.session.index) if self.session.index is not None else None
        self.session.leave_roster()
        self._removed(env.epoch, me)
        self._entry_version = env.epoch
        self._send_entry(force=True)

    # ------------------------------------------------------------ authority

    def _make_authority(self, vr: VerifiedRoster | None = None) -> RoomAuthority:
        kw: dict[str, Any] = dict(
            room_id=self.room_id, me=self.me, identity=self.identity, roots=self.roots, session=self.session,
            broadcast=self._broadcast_roster_message, install=self._install_own,
            alert=lambda text: self._alert(text),
            admit=self.admit, settings=self._authority_settings(),
        )
        if vr is None:
            a = RoomAuthority(**kw)
        else:
            a = RoomAuthority.successor(vr, group_suite=vr.kem_suite, **kw)
        a.stats = self.stats
        return a

    def _broadcast_roster_message(self, data: bytes) -> None:
        if self._client is not None:
            self._send_message(Kind.ROSTER, data)

    def _install_own(self, roster: Roster) -> None:
        """Install a roster we signed, seal it to its members and send it."""
        now = self.clock()
        old, before = self.session.roster, self.code
        vr = old
        if old is None or old.hash() != roster.hash():
            vr = self.session.install_roster(roster, now)
        self._broadcast_roster_message(bytes(SealedRoster.seal(roster, self.me.signing_key)))
        if vr is not None and (old is None or vr.version != old.version):
            self._after_roster(old, vr, before)

    def _chair_start(self, client_id: int) -> None:
        assert self.chair is not None
        self.chair.start(client_id, self.clock())

    def _become_authority(self, vr: VerifiedRoster) -> None:
        """The authority named us its successor: take over and sign the next epoch."""
        self.chair = self._make_authority(vr)
        prior = self._authority_key.lineage if self._authority_key is not None else ()
        self.chair.lineage = prior + ((self._succession,) if self._succession is not None else ())
        self.is_chair = True
        self.role = self.identity.role
        self._alert(f"you are now the room authority (named by {vr.signer.name})")
        if self._client is not None:
            self.chair.start(self._client.client_id, self.clock())
        else:
            self.chair.publish(self.clock())

    def expel(self, name: str) -> bool:
        """Remove the member whose certificate name (or fingerprint) is ``name``; they get no
        further keys and are not re-admitted. Returns False when nobody matched."""
        if self.chair is None or not self.chair.active:
            raise CryptoError("only the room authority can expel members")
        return self.chair.expel(name, self.clock())

    def hand_over(self, name: str) -> bool:
        """Name member ``name`` (a chair or host certificate) the next room authority."""
        if self.chair is None or not self.chair.active:
            raise CryptoError("only the room authority can hand over")
        ok = self.chair.hand_over(name, self.clock())
        if ok:
            self.chair = None
            self.is_chair = False
        return ok

    @property
    def authority(self) -> str | None:
        """The room authority's fingerprint (as :func:`~vrdiplomacy.crypto.identity.fingerprint` shows it)."""
        a = self.session.authority
        return None if a is None else show_fingerprint(a)
