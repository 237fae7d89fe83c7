"""Admission to secured rooms in the sans-I/O relay core (a mixin of :class:`~vrdiplomacy.net.relay_core.RelayCore`).

A client asks for a secured room by putting an invitation (:class:`~vrdiplomacy.crypto.admission.Invitation`)
in its ``Hello`` or ``Join``. The relay needs no trust roots: it checks the invitation (structure,
authority allow-list, room, seat, time window, then the authority's Ed25519 signature, cheapest
first), sends a fresh :class:`~vrdiplomacy.net.wire.Challenge` nonce, and admits the client after a
:class:`~vrdiplomacy.net.wire.Proof`: the invited key's signature over the invitation, the nonce and
this relay's TLS certificate fingerprint. The room is keyed by (name, authority fingerprint), so a
secured room never holds an unsecured client, and rooms of different authorities never mix.

Refusals are one :class:`~vrdiplomacy.net.wire.Error` frame and a closed connection; nothing about
the room is sent before admission. A client without an invitation asking for a secured room's name
is refused with a one-line reason, and the room's members get a :class:`~vrdiplomacy.net.wire.Notice`
(at most one per ``notice_interval``, the rest counted into the next).
"""

from __future__ import annotations

from collections.abc import Callable

from vrdiplomacy.crypto.admission import Invitation
from vrdiplomacy.errors import CryptoError, ProtocolError
from vrdiplomacy.net import wire
from vrdiplomacy.net.relay_state import Connection, RelayCounters, RelaySettings, Room, Session


class RelayAdmission:
    """Invitation checks, challenges, proofs, refusals and notices of the relay core."""

    s: RelaySettings
    counters: RelayCounters
    rooms: dict[str, Room]
    conns: dict[int, Connection]
    fingerprint: str
    wall_offset: float
    random_nonce: Callable[[], bytes]
    _close: Callable[..., None]
    _send: Callable[[Connection, wire.ControlMessage, float], None]
    _broadcast: Callable[..., None]
    _end_session: Callable[[Session, float, str], None]
    _token: Callable[[int, str], bytes]
    _start: Callable[..., None]
    _join_room: Callable[..., None]

    def _secured_named(self, name: str) -> list[Room]:
        return [r for r in self.rooms.values() if r.authority and r.name == name]

    def _refuse(self, conn: Connection, code: int, message: str, now: float) -> None:
        """Refuse a connection: one Error frame, then it is closed (no session, no room data)."""
        self.counters.connections_rejected += 1
        if code in (wire.ERR_NOT_INVITED, wire.ERR_SECURED_ROOM, wire.ERR_SECURED_ONLY):
            self.counters.admissions_refused += 1
        conn.admission = None
        self._close(conn, code, message, now)

    def _plain_refusal(self, name: str, now: float) -> tuple[int, str] | None:
        """Why a client without an invitation may not enter plain room ``name`` (None: it may)."""
        if self._secured_named(name):
            self.counters.unsecured_refused += 1
            self._notify_unsecured(name, now)
            return wire.ERR_SECURED_ROOM, (f"room '{name}' is end-to-end encrypted: join with an invitation from its "
                                           "chair (--invite FILE)")
        if not self.s.unsecured_rooms:
            self.counters.unsecured_refused += 1
            return wire.ERR_SECURED_ONLY, ("this relay hosts only end-to-end encrypted rooms: join with an invitation "
                                           "from the room's chair (--invite FILE)")
        return None

    def _notify_unsecured(self, name: str, now: float) -> None:
        """Tell the members of the secured rooms called ``name`` that an unsecured client was
        refused (at most one notice per room per ``notice_interval``; the rest are counted in)."""
        for room in self._secured_named(name):
            if now - room.last_notice < self.s.notice_interval:
                room.notices_held += 1
                continue
            more = f" ({room.notices_held} more since the last notice)" if room.notices_held else ""
            room.last_notice, room.notices_held = now, 0
            msg = f"a client without an invitation asked to join room '{name}' and was refused{more}"
            self._broadcast(room, wire.Notice(wire.NOTICE_UNSECURED_REFUSED, msg).frame(), now)

    def _ask_proof(self, conn: Connection, msg: wire.Hello | wire.Join, now: float) -> None:
        """Check an invitation (cheap checks first, then its signature) and challenge the client to
        prove it holds the invited key."""
        if conn.admission is not None:
            self._refuse(conn, wire.ERR_PROTOCOL, "admission already in progress", now)
            return
        try:
            inv = Invitation.parse(msg.invitation)
            if self.s.authorities is not None and inv.authority_fingerprint not in self.s.authorities:
                raise CryptoError(f"this relay does not host rooms of authority {inv.authority_fingerprint[:23]}...")
            inv.check(now + self.wall_offset, msg.room, msg.seat)
        except (ProtocolError, CryptoError) as e:
            self._refuse(conn, wire.ERR_NOT_INVITED, f"invitation refused: {e}", now)
            return
        nonce = self.random_nonce()
        conn.admission = (msg, inv, nonce, now + self.s.admission_timeout)
        self._send(conn, wire.Challenge(nonce), now)

    def _proof(self, conn: Connection, p: wire.Proof, now: float) -> None:
        assert conn.admission is not None
        msg, inv, nonce, _ = conn.admission
        conn.admission = None
        try:
            inv.verify_proof(p.signature, nonce, self.fingerprint)
        except CryptoError as e:
            self._refuse(conn, wire.ERR_NOT_INVITED, f"invitation refused: {e}", now)
            return
        self.counters.admissions += 1
        if isinstance(msg, wire.Hello):
            self._start(conn, msg, now, inv)
        elif conn.session is not None:
            self._join_room(conn, conn.session, msg.room, msg.seat, now, inv)

    def _replace_member(self, key: str, member_key: bytes, cid: int, now: float) -> None:
        """One session per invited key and room: a fresh admission of the same key ends the old one."""
        room = self.rooms.get(key)
        if room is None:
            return
        for m in list(room.members.values()):
            if m.client_id != cid and m.member_key == member_key:
                old = self.conns.get(m.conn) if m.conn is not None else None
                if old is not None:
                    old.session = None
                    m.conn = None
                    self._close(old, wire.ERR_REPLACED, "the same member joined again on another connection", now)
                self._end_session(m, now, "replaced by a new admission of the same member")

    def _secure(self, s: Session, inv: Invitation) -> None:
        s.identity = inv.member_name
        s.role = inv.role
        s.member_key = inv.member_key
        s.token = self._token(s.client_id, s.identity)

    def _seat_is_own(self, key: str, seat: str, inv: Invitation) -> bool:
        """The seat is held by an earlier session of the same invited key (it will be replaced)."""
        r = self.rooms.get(key)
        return r is not None and all(m.member_key == inv.member_key for m in r.members.values() if m.seat == seat)

    def _tell_plain_namesake(self, conn: Connection, name: str, now: float) -> None:
        plain = self.rooms.get(name)
        if plain is not None and plain.members:
            self._send(conn, wire.Notice(wire.NOTICE_PLAIN_NAMESAKE, f"{len(plain.members)} unencrypted participants are "
                       f"in a separate plain room '{name}' on this relay; they cannot see or hear this room"), now)
