"""The room authority's side of a secured room (sans-I/O): admission, room roles, signed epochs,
the roster heartbeat, batched key updates and hand-over to a successor.

:class:`RoomAuthority` is driven by :class:`~vrdiplomacy.net.secure.SecureRoom` (which owns the
relay client) through three callbacks: ``broadcast(data)`` sends a roster-channel message to the
room, ``install(roster)`` installs a roster we signed in our own session, seals it to its members
and broadcasts it, ``alert(text)`` raises a visible security alert.

Rules:

* Only this client signs rosters while it is the authority; :meth:`RoomAuthority.hand_over` names
  a successor in a signed roster, after which this client stops.
* A member's room role is the lower of its certificate's role and the role the ``admit`` policy
  returns (an invitation's role); ``chair``/``host`` only for the authority. What the member's
  entry asks is ignored.
* A member whose HPKE key is not of the group's KEM suite is refused before anything changes.
* Every epoch lives ``lifetime_s``; the authority re-issues it every ``lifetime_s *
  heartbeat_fraction`` (a heartbeat), so a member cut off from rosters stops sending keys at the
  expiry. Members' periodic key updates are committed together, ``commit_delay_s`` after the
  first one arrives.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Callable
from dataclasses import dataclass, replace

from cryptography.exceptions import InvalidSignature

from vrdiplomacy.crypto.hpke_dist import KemKeyPair, KemSuite, load_kem_public
from vrdiplomacy.crypto.identity import (
    ROSTER_SIGNER_ROLES,
    VerifiedIdentity,
    cert_der,
    load_der_certificate,
    verify_certificate,
)
from vrdiplomacy.crypto.roster import (
    Roster,
    RosterEntry,
    VerifiedRoster,
    cert_fingerprint,
    kem_binding,
    room_role,
)
from vrdiplomacy.crypto.roster_seal import AuthorityKey, SealedEntry, Succession
from vrdiplomacy.crypto.session import GroupSession, LocalIdentity
from vrdiplomacy.errors import CryptoError, ProtocolError

Admit = Callable[[VerifiedIdentity], "bool | str"]
"""Admission policy: False refuses; True admits with the certificate's role; a role name admits
with at most that role (an invitation's role)."""

RETIRED_KEYS = 64  # replaced KEM keys remembered per member (key updates are minutes apart)


@dataclass
class AuthoritySettings:
    """Settings of the room authority.

    Fields: ``lifetime_s`` how long each roster is valid (a withheld expulsion stops working after
    this); ``heartbeat_fraction`` re-issue after this fraction of the lifetime; ``commit_delay_s``
    how long members' key updates are collected into one epoch; ``hello_gap_s`` least time between
    two answers to one client's request for the authority key.
    """

    lifetime_s: float = 120.0
    heartbeat_fraction: float = 0.25
    commit_delay_s: float = 0.5
    hello_gap_s: float = 0.5


@dataclass
class _Admitted:
    entry: RosterEntry
    identity: VerifiedIdentity
    client_id: int


class RoomAuthority:
    """Admission and roster signing for the room authority (see the module docstring)."""

    def __init__(
        self,
        room_id: bytes,
        me: LocalIdentity,
        identity: VerifiedIdentity,
        roots: list,  # type: ignore[type-arg]
        session: GroupSession,
        broadcast: Callable[[bytes], None],
        install: Callable[[Roster], None],
        alert: Callable[[str], None],
        admit: Admit | None = None,
        settings: AuthoritySettings | None = None,
        group_suite: int | None = None,
    ) -> None:
        if identity.role not in ROSTER_SIGNER_ROLES:
            raise CryptoError(f"{identity.name} ({identity.role}) may not be a room authority")
        self.room_id = room_id
        self.me = me
        self.identity = identity
        self.roots = roots
        self.session = session
        self.s = settings or AuthoritySettings()
        self._broadcast, self._install, self._alert = broadcast, install, alert
        self.admit = admit
        self.fingerprint = cert_fingerprint(cert_der(me.certificate))
        self.group_suite = KemSuite(group_suite if group_suite is not None else me.kem.suite)
        session.use_kem_suite(self.group_suite)
        self._admission = KemKeyPair.generate(self.group_suite)
        self.stats: collections.Counter[str] = collections.Counter()
        self.admitted: dict[bytes, _Admitted] = {}
        self._indices: dict[bytes, int] = {}
        self.banned: set[bytes] = set()
        # KEM keys each member has replaced (a key update): a request carrying one again is an old
        # request replayed (by the relay), never the member, whose keys only move forward
        self._retired: dict[bytes, collections.deque[bytes]] = {}
        self._next_index = 0
        self.published: Roster | None = None
        self._dirty_at: float | None = None
        self._successor: bytes | None = None
        self._hello: dict[int, float] = {}
        self._seen_at = -1e9
        self._kem_period: int | None = None
        self._since = 0.0
        self.active = True
        self.lineage: tuple[bytes, ...] = ()
        """Successions from the authority that created the room to us (shown to newcomers)."""

    # ------------------------------------------------------------ messages

    def announcement(self, now: float) -> bytes:
        return bytes(AuthorityKey.create(self.room_id, self.group_suite, self._admission, cert_der(self.me.certificate),
                                         self.me.signing_key, now, self.lineage))

    def _index_for(self, key: bytes) -> int:
        if key not in self._indices:
            self._indices[key] = self._next_index
            self._next_index += 1
        return self._indices[key]

    def start(self, client_id: int, now: float) -> None:
        """We (re)connected: list ourselves, publish (or repeat) the roster and our admission key."""
        key = self.me.signing_key.public_key().public_bytes_raw()
        if key not in self.admitted:
            entry = self.session.roster_entry(self._index_for(key), self.identity.role)
            self.admitted[key] = _Admitted(entry, self.identity, client_id)
        else:
            self.admitted[key].client_id = client_id
        self._broadcast(self.announcement(now))
        self.publish(now, force=True)

    @classmethod
    def successor(cls, vr: VerifiedRoster, **kw: object) -> RoomAuthority:
        """Take over from the authority that named us in ``vr``: same members, roles recomputed."""
        a = cls(**kw)  # type: ignore[arg-type]
        a.published = vr.roster
        for m in vr.members.values():
            e = next(x for x in vr.roster.entries if x.index == m.index)
            fp = e.fingerprint
            if fp == a.fingerprint:
                role = m.identity.role  # we are the authority now
            else:  # keep the role the old authority gave, but no one else chairs
                role = room_role(m.identity.role, None if m.role in ROSTER_SIGNER_ROLES else m.role, False)
            key = m.public_key.public_bytes_raw()
            a._indices[key] = m.index
            a.admitted[key] = _Admitted(replace(e, role=role), m.identity, -1)
        a._next_index = max((m.index for m in vr.members.values()), default=-1) + 1
        return a

    # ------------------------------------------------------------ events

    def member_left(self, client_id: int, now: float) -> None:
        self._hello.pop(client_id, None)
        gone = [k for k, a in self.admitted.items() if a.client_id == client_id]
        for k in gone:
            del self.admitted[k]
        if gone:
            self.publish(now)

    def member_seen(self, now: float) -> None:
        """Someone joined the relay room: tell them where to send their admission request."""
        if now - self._seen_at >= self.s.hello_gap_s:
            self._seen_at = now
            self._broadcast(self.announcement(now))

    def on_entry(self, client_id: int, data: bytes, now: float) -> None:
        """A member's sealed admission request (or an empty hello asking for our key)."""
        if not data:
            if now - self._hello.get(client_id, -1e9) >= self.s.hello_gap_s:
                self._hello[client_id] = now
                self._broadcast(self.announcement(now))
            return
        try:
            entry = SealedEntry.parse(data).open(self._admission, self.room_id, self.fingerprint)
            ident = verify_certificate(load_der_certificate(entry.cert_der), self.roots, now)
            ident.public_key.verify(entry.kem_signature, kem_binding(self.room_id, entry.kem_suite, entry.kem_public))
            if entry.kem_suite == self.group_suite:
                load_kem_public(entry.kem_suite, entry.kem_public)
        except (ProtocolError, CryptoError, InvalidSignature) as e:
            self.stats["entry_rejected"] += 1
            self._alert(f"admission request from relay client {client_id} refused: {e or 'bad signature'}")
            return
        if entry.kem_suite != self.group_suite:
            self.stats["entry_refused"] += 1
            self._alert(f"{ident.name} ({ident.country}) was refused: its key uses KEM suite "
                        f"{_suite_name(entry.kem_suite)}, the room uses {self.group_suite.name}")
            return
        key = ident.public_key.public_bytes_raw()
        verdict = True if self.admit is None else self.admit(ident)
        if key in self.banned or verdict is False:
            self.stats["entry_refused"] += 1
            self._alert(f"{ident.name} ({ident.country}) asked to join and was refused")
            return
        try:
            role = room_role(ident.role, verdict if isinstance(verdict, str) else None, False)
        except CryptoError as e:
            self.stats["entry_refused"] += 1
            self._alert(f"{ident.name} ({ident.country}) was refused: {e}")
            return
        if entry.kem_public in self._retired.get(key, ()):
            self.stats["entry_replayed"] += 1  # would roll the member back to a key it gave up
            return
        cur = self.admitted.get(key)
        entry = replace(entry, index=self._index_for(key), role=role)
        if cur is not None and cur.entry == entry:
            cur.client_id = client_id
            self.publish(now, force=True)  # the member missed the roster: send it again
            return
        self.admitted[key] = _Admitted(entry, ident, client_id)
        if cur is not None and cur.entry.kem_public != entry.kem_public:
            self._retired.setdefault(key, collections.deque(maxlen=RETIRED_KEYS)).append(cur.entry.kem_public)
        if cur is not None and cur.entry.role == entry.role:
            self.stats["key_updates"] += 1  # a periodic key update: batched into one epoch
            self._dirty_at = self._dirty_at if self._dirty_at is not None else now
            return
        try:
            self.publish(now)
        except CryptoError as e:  # the group stays as it was
            if cur is None:
                del self.admitted[key]
            else:
                self.admitted[key] = cur
            self.stats["entry_refused"] += 1
            self._alert(f"{ident.name} ({ident.country}) was refused: {e}")

    def expel(self, name: str, now: float) -> bool:
        hit = [k for k, a in self.admitted.items()
               if name in (a.identity.name, a.identity.fingerprint) and a.identity.fingerprint != self.identity.fingerprint]
        for k in hit:
            del self.admitted[k]
            self.banned.add(k)
        if hit:
            self.publish(now)
        return bool(hit)

    def hand_over(self, name: str, now: float) -> bool:
        """Name the member ``name`` (certificate name or fingerprint; a chair or host certificate)
        the next authority; after the roster that says so, we sign no more."""
        for a in self.admitted.values():
            if name in (a.identity.name, a.identity.fingerprint) and a.identity.role in ROSTER_SIGNER_ROLES \
                    and a.identity.fingerprint != self.identity.fingerprint:
                self._successor = cert_fingerprint(a.entry.cert_der)
                self._broadcast(bytes(Succession.create(self.room_id, self._successor, cert_der(self.me.certificate),
                                                        self.me.signing_key)))
                self.publish(now)
                self.active = False
                return True
        return False

    def tick(self, now: float, kem_update_s: float) -> None:
        """Heartbeat, batched key updates, and our own periodic key update."""
        if not self.active or self.published is None:
            return
        period = math.floor(now / kem_update_s) if kem_update_s > 0 else 0
        if self._kem_period is None:
            self._kem_period, self._since = period, now
        elif period != self._kem_period and self.session.index is not None:
            self._kem_period = period
            key = self.me.signing_key.public_key().public_bytes_raw()
            if key in self.admitted and now - self._since >= kem_update_s / 2:
                self.admitted[key].entry = replace(self.session.update_kem(), index=self.admitted[key].entry.index,
                                                   role=self.admitted[key].entry.role)
                self._dirty_at = self._dirty_at if self._dirty_at is not None else now
        expired = any(a.identity.not_after.timestamp() < now for a in self.admitted.values())
        if expired or (self._dirty_at is not None and now - self._dirty_at >= self.s.commit_delay_s):
            self.publish(now)
            return
        if now >= self.published.issued_at + self.s.lifetime_s * self.s.heartbeat_fraction:
            self.stats["heartbeats"] += 1
            self._broadcast(self.announcement(now))
            roster = self.published.reissue(self.me.signing_key, now, self.s.lifetime_s)
            self._install(roster)
            self.published = roster

    def publish(self, now: float, force: bool = False) -> None:
        """Sign the next epoch when the members changed (or, with ``force``, repeat the current one)."""
        if not self.active:
            return
        for k, a in list(self.admitted.items()):
            if a.identity.not_after.timestamp() < now and a.identity.fingerprint != self.identity.fingerprint:
                del self.admitted[k]  # an expired certificate would make every roster invalid
                self._alert(f"the certificate of {a.identity.name} ({a.identity.country}) expired: removed from the room")
        entries = tuple(sorted((a.entry for a in self.admitted.values()), key=lambda e: e.index))
        if self.published is not None and self.published.entries == entries and self._successor is None:
            if force:
                self._install(self.published)
            return
        roster = Roster.create(self.room_id, entries, self.me.signing_key, self.me.certificate, now, self.published,
                               lifetime_s=self.s.lifetime_s, kem_suite=self.group_suite,
                               next_authority=self._successor)
        self._install(roster)
        self.published = roster
        self._dirty_at = None


def _suite_name(suite: int) -> str:
    try:
        return KemSuite(suite).name
    except ValueError:
        return f"#{suite}"
