"""Receptions in the sans-I/O relay core (a mixin of :class:`~vrdiplomacy.net.relay_core.RelayCore`).

A reception is a plain room (no end-to-end encryption: guests need no certificate) whose door
the relay keeps with host-signed passes (:mod:`vrdiplomacy.reception.passes`):

* **admission**: a client puts its pass where a secured room's invitation goes (``Hello`` or
  ``Join``). The relay checks it (room, time window, host signature, the relay's allow-list of
  authorities, the reception's host), challenges the holder of a keyed pass for a proof of its
  key, records a one-time code as used (:class:`~vrdiplomacy.reception.store.ReceptionStore`,
  synced to the state folder before the guest is welcomed) and admits the client under the
  pass's name. A used code is refused ("already used by NAME at TIME") unless the same session
  comes back with its resume token; a forged or altered pass is refused ("signature does not
  verify"); a client without a pass asking for a reception's room is refused with a line saying
  how to enter. The first host pass for a room opens its reception; passes of other hosts are
  refused there, and a reception never opens in a room that is end-to-end encrypted, or that
  already holds clients who came without a pass;
* **capacity and the waiting area**: a host sets the capacity (:class:`ReceptionConfig`). A guest
  beyond it is put in the ``waiting`` space (its own audio: voice and poses stay within a space,
  :mod:`vrdiplomacy.net.interest`) and told its place (:class:`ReceptionStatus`); as guests leave
  the hall, the first of the waiting area enters (moved to the plenary space, every waiting
  guest told its new place). A waiting guest cannot move itself into the hall;
* **the greeting line**: guests entering the hall queue in the relay's order; hosts get the line
  (:class:`GreetingLine`) on every change and greet its first (or a named) guest
  (:class:`Greet`); the greeting is announced to the room (:class:`Greeted`);
* **announcements**: in a reception only hosts may take the floor, and the floor holder's voice
  reaches every member of the hall whatever the distance or the last-N loudest limit
  (:mod:`vrdiplomacy.net.interest`) and is played at rostrum level by every client.

The relay learns the guests' names (it admits them by name) and the line's order, as any host at
the door does.

Federation (``relay --nats``): the door, the used passes, the greeting line, the capacity and
the waiting area are the federation's, not a node's: every change is a record in JetStream that
all nodes apply in the stream's order (:mod:`vrdiplomacy.reception.relay_fed`). The room's voice,
poses and events span the nodes as for any room.
"""

from __future__ import annotations

import collections
import hmac
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from vrdiplomacy.errors import CryptoError, ProtocolError
from vrdiplomacy.net import wire, wire_spaces
from vrdiplomacy.net.relay_state import Connection, Room, Session, room_key
from vrdiplomacy.net.wire_spaces import Place, Placed
from vrdiplomacy.reception import fed_wire as fwr
from vrdiplomacy.reception import wire as rw
from vrdiplomacy.reception.passes import ReceptionPass, looks_like_pass
from vrdiplomacy.reception.relay_fed import Reception, ReceptionFederation
from vrdiplomacy.reception.store import ReceptionStore, UsedPass


class RelayReception(ReceptionFederation):
    """Passes at the door, the waiting area, the greeting line and the hosts' floor."""

    rooms: dict[str, Room]
    sessions: dict[int, Session]
    conns: dict[int, Connection]
    counters: Any
    s: Any
    wall_offset: float
    random_nonce: Callable[[], bytes]
    _send: Callable[[Connection, wire.ControlMessage, float], None]
    _send_raw: Callable[[Connection, bytes, float], None]
    _close: Callable[..., None]
    _token: Callable[[int, str], bytes]
    _start: Callable[..., None]
    _join_room: Callable[..., None]
    _end_session: Callable[[Session, float, str], None]
    _secured_named: Callable[[str], list[Room]]

    def _init_reception(self) -> None:
        self.reception_store = ReceptionStore()
        self.receptions: dict[str, Reception] = {}
        self.reception_counters: collections.Counter[str] = collections.Counter()
        self._entering: ReceptionPass | None = None  # the pass of the client being admitted right now
        self._pass_of: dict[int, str] = {}  # client id -> token id (hex) of the pass it entered with
        self._held_passes: dict[int, ReceptionPass] = {}  # connection -> pass, while a federated node holds its Hello
        self._init_reception_fed()

    def use_reception_store(self, store: ReceptionStore) -> None:
        """Keep used passes and receptions in ``store`` (the adapter's, in the state folder)."""
        self.reception_store = store

    # ------------------------------------------------------------ lookups

    def _reception(self, name: str) -> Reception | None:
        rec = self.receptions.get(name)
        if rec is None and name in self.reception_store.receptions:  # kept across a relay restart
            fp, cap = self.reception_store.receptions[name]
            rec = self.receptions[name] = Reception(name, fp, cap)
        return rec

    def _reception_of(self, s: Session) -> Reception | None:
        room = self.rooms.get(s.room)
        if room is None or room.authority or room.key != room_key(room.name, ""):
            return None
        return self._reception(room.name)

    def reception_state(self, name: str) -> Reception | None:
        """The relay's view of the reception in room ``name`` (tests, stats)."""
        return self.receptions.get(name)

    # ------------------------------------------------------------ admission (overrides of RelayAdmission)

    def _ask_proof(self, conn: Connection, msg: wire.Hello | wire.Join, now: float) -> None:
        if not looks_like_pass(msg.invitation):
            super()._ask_proof(conn, msg, now)  # type: ignore[misc]
            return
        c = self.reception_counters
        if conn.admission is not None:
            self._refuse(conn, wire.ERR_PROTOCOL, "admission already in progress", now)
            return
        try:
            p = ReceptionPass.parse(msg.invitation)
            if self.s.authorities is not None and p.host_fingerprint not in self.s.authorities:
                raise CryptoError(f"this relay does not host receptions of {p.host_fingerprint[:23]}...")
            p.check(now + self.wall_offset, msg.room)
        except (ProtocolError, CryptoError) as e:
            c["refused_invalid"] += 1
            self._refuse(conn, wire.ERR_NOT_INVITED, f"reception pass refused: {e}", now)
            return
        why = self._door(p, msg, now)
        if why is not None:
            self._refuse(conn, wire.ERR_NOT_INVITED, f"reception pass refused: {why}", now)
            return
        if p.keyed:
            nonce = self.random_nonce()
            conn.admission = (msg, p, nonce, now + self.s.admission_timeout)  # type: ignore[assignment]
            self._send(conn, wire.Challenge(nonce), now)
            return
        self._enter(conn, msg, p, now)

    def _door(self, p: ReceptionPass, msg: wire.Hello | wire.Join, now: float) -> str | None:
        """Why the holder of a valid pass ``p`` may not enter (None: it may)."""
        c = self.reception_counters
        if self._secured_named(p.room):
            c["refused_secured"] += 1
            return f"room '{p.room}' is an end-to-end encrypted chamber, never a reception"
        if self.fed is not None:
            fr = self._fed_rooms.get(room_key(p.room, ""))
            if fr is None or not fr.synced:
                return None  # this node has not read the reception's records yet: the claim decides
        rec = self._reception(p.room)
        if rec is None:
            if p.role != "host":
                return self._not_open(p.room)
            plain = self.rooms.get(room_key(p.room, ""))
            if plain is not None and plain.members:
                c["refused_not_open"] += 1
                return (f"room '{p.room}' already holds {len(plain.members)} participants who came without a pass: "
                        "open the reception in another room")
        elif rec.host_fp != p.host_fingerprint:
            c["refused_other_host"] += 1
            return f"this pass was signed by {p.host_name()}, not by the host of the reception in room '{p.room}'"
        if not p.keyed:
            used = self.reception_store.used.get(p.token_hex)
            if used is not None and not self._own_return(msg, p):
                c["refused_used"] += 1
                return self._used_text(used)
        return None

    def _used_text(self, used: UsedPass) -> str:
        from vrdiplomacy.crypto.identity import utc

        return (f"this one-time pass was already used (by {used.name}, {utc(used.at):%Y-%m-%d %H:%M:%S} UTC): "
                "ask the host for a new one")

    def _own_return(self, msg: wire.Hello | wire.Join, p: ReceptionPass) -> bool:
        """A used code presented again by the session that used it (a reconnect with its resume token)."""
        return self._returning(msg, p) != 0

    def _returning(self, msg: wire.Hello | wire.Join, p: ReceptionPass) -> int:
        """The client id of a session coming back with its resume token (0: a new arrival)."""
        tok = msg.resume_token if isinstance(msg, wire.Hello) else b""
        if len(tok) != 20:
            return 0
        cid = int.from_bytes(tok[:4], "big")
        return cid if cid != 0 and hmac.compare_digest(tok, self._token(cid, p.guest_name)) else 0

    def _proof(self, conn: Connection, proof: wire.Proof, now: float) -> None:
        adm = conn.admission
        if adm is None or not isinstance(adm[1], ReceptionPass):
            super()._proof(conn, proof, now)  # type: ignore[misc]
            return
        msg, p, nonce, _ = adm
        conn.admission = None
        try:
            p.verify_proof(proof.signature, nonce, self.fingerprint)  # type: ignore[attr-defined]
        except CryptoError as e:
            self.reception_counters["refused_proof"] += 1
            self._refuse(conn, wire.ERR_NOT_INVITED, f"reception pass refused: {e}", now)
            return
        why = self._door(p, msg, now)  # the reception may have changed while we waited
        if why is not None:
            self._refuse(conn, wire.ERR_NOT_INVITED, f"reception pass refused: {why}", now)
            return
        self._enter(conn, msg, p, now)

    def _enter(self, conn: Connection, msg: wire.Hello | wire.Join, p: ReceptionPass, now: float) -> None:
        """Admit the holder of pass ``p`` (checked) under the pass's name (on a federated node:
        once the federation's order has admitted its claim)."""
        if self.fed is not None and not self._rc_admitting:
            self._rc_claim(conn, msg, p, self._returning(msg, p), now)
            return
        c = self.reception_counters
        if not p.keyed and p.token_hex not in self.reception_store.used:
            self.reception_store.mark_used(p.token_hex, p.guest_name, now + self.wall_offset)
        if self._reception(p.room) is None:  # a host pass opens the reception
            self._open_reception(p.room, p.host_fingerprint)
        if p.keyed:  # one session per keyed pass: a new admission replaces the earlier one
            for cid, tok in list(self._pass_of.items()):
                old = self.sessions.get(cid)
                if tok == p.token_hex and old is not None and (conn.session is None or conn.session is not old):
                    self._replace(old, now)
        c["admitted"] += 1
        self._entering = p
        try:
            if isinstance(msg, wire.Hello):
                self._held_passes[conn.conn_id] = p  # a federated node may redo this Hello later (_fed_hold)
                self._start(conn, replace(msg, identity=p.guest_name, invitation=b""), now, None)
            elif conn.session is not None:
                s = conn.session
                s.identity = p.guest_name
                s.token = self._token(s.client_id, s.identity)
                self._join_room(conn, s, msg.room, msg.seat, now, None)
        finally:
            self._entering = None

    def _fed_hold(self, conn: Connection, h: wire.Hello, key: str, inv: Any, now: float) -> bool:
        """Every Hello goes through here first: a federated node that held a pass holder's Hello
        until the room's state arrived redoes it with the pass it was admitted with."""
        held = super()._fed_hold(conn, h, key, inv, now)  # type: ignore[misc]
        p = self._held_passes.pop(conn.conn_id, None)
        if held and p is not None:
            self._held_passes[conn.conn_id] = p  # still held: kept for the redo
        elif p is not None:
            self._entering = p
        return bool(held)

    def _refuse(self, conn: Connection, code: int, message: str, now: float) -> None:
        self._entering = None
        self._held_passes.pop(conn.conn_id, None)
        super()._refuse(conn, code, message, now)  # type: ignore[misc]

    def _replace(self, old: Session, now: float) -> None:
        oc = self.conns.get(old.conn) if old.conn is not None else None
        if oc is not None:
            oc.session = None
            old.conn = None
            self._close(oc, wire.ERR_REPLACED, "the same pass entered again on another connection", now)
        self._end_session(old, now, "replaced by a new admission with the same pass")

    def _plain_refusal(self, name: str, now: float) -> tuple[int, str] | None:
        if self._entering is not None:
            if not self.s.unsecured_rooms:
                return wire.ERR_SECURED_ONLY, "this relay hosts only end-to-end encrypted rooms, and a reception is not"
            return None
        if self._reception(name) is not None:
            self.reception_counters["refused_no_pass"] += 1
            self.counters.unsecured_refused += 1
            return wire.ERR_NOT_INVITED, (f"room '{name}' is a reception: enter with the pass its host sent you "
                                          "(vrdiplomacy join --pass FILE)")
        return super()._plain_refusal(name, now)  # type: ignore[misc, no-any-return]

    # ------------------------------------------------------------ hooks of the core

    def _reception_welcome(self, conn: Connection, s: Session, now: float) -> None:
        """After every Welcome: a new arrival takes its place; a returning one is told it again."""
        p, self._entering = self._entering, None  # used once: a later plain Hello or Join finds it cleared
        self._held_passes.pop(conn.conn_id, None)
        rec = self._reception_of(s)
        if rec is None:
            return
        cid = s.client_id
        known = cid in rec.hosts or cid in rec.names
        if self.fed is not None:  # federated: our record places it, in the stream's order
            if p is not None:
                self._pass_of[cid] = p.token_hex
            if p is not None and p.role == "host":
                self._rc_hosts_arriving.add(cid)  # a host already, for its own actions, while its record travels
            if p is not None or (known and rec.owner.get(cid) != self.fed.node):
                self._rc_write(s.room, fwr.ARRIVE, cid=cid, token=p.token_hex if p is not None else "",
                               name=s.identity, role=p.role if p is not None else ("host" if cid in rec.hosts else ""))
            room = self.rooms.get(s.room)
            if room is not None:
                for w in rec.waiting:  # guests on other nodes waiting: not in this node's hall either
                    room.interest.set_place(w, wire_spaces.WAITING, "", "")
            if not known:
                return
        elif not known and p is not None:
            self._pass_of[cid] = p.token_hex
            self._take_place(rec, cid, p.role, s.identity, now)
        if cid in rec.hosts:
            self._send(conn, self._line_message(rec), now)
        elif cid in rec.names:
            self._send(conn, self._status(rec, cid), now)

    def _reception_gone(self, s: Session, key: str, now: float) -> None:
        """Session ``s`` left room ``key`` (it ended, or moved to another room)."""
        name = key.split("\x00", 1)[0]
        if key != room_key(name, ""):
            return
        rec = self.receptions.get(name)
        if rec is None:
            return
        cid = s.client_id
        self._pass_of.pop(cid, None)
        self._rc_hosts_arriving.discard(cid)
        if self.fed is not None:  # federated: written, applied in the stream's order
            if rec.owner.get(cid) == self.fed.node:
                self._rc_leave(key, cid, self.fed.node)
            return
        self._leave_reception(rec, cid, now)

    # ------------------------------------------------------------ steps of both doors (local, and federated records)

    def _not_open(self, name: str) -> str:
        """A guest before the reception's host: refused (counted), with the line it is told."""
        self.reception_counters["refused_not_open"] += 1
        return f"the reception in room '{name}' has not opened yet (its host has not arrived): try again later"

    def _open_reception(self, name: str, host_fp: str) -> Reception:
        """The first host pass for room ``name`` opens its reception, kept in the state folder."""
        rec = self.receptions[name] = Reception(name, host_fp)
        self.reception_store.set_reception(name, host_fp, 0)
        self.reception_counters["opened"] += 1
        return rec

    def _take_place(self, rec: Reception, cid: int, role: str, name: str, now: float) -> None:
        """A new arrival takes its place: a host among the hosts; a guest in the hall and the
        greeting line, or in the waiting area beyond the capacity. The hosts see the new line."""
        if role == "host":
            rec.hosts.add(cid)
        else:
            rec.names[cid] = name
            self.reception_counters["arrived"] += 1
            if rec.full():
                rec.waiting.append(cid)
                self._set_space(rec, cid, wire_spaces.WAITING, now)
                self.reception_counters["waited"] += 1
                for w in rec.waiting[:-1]:  # the waiting area's count grew: "number k of n"
                    self._tell(rec, w, now)
            else:
                rec.hall.add(cid)
                rec.line.append(cid)
        self._tell_hosts(rec, now)

    def _leave_reception(self, rec: Reception, cid: int, now: float) -> None:
        """Client ``cid`` left the reception: the first of the waiting area may take its place."""
        was_waiting = cid in rec.waiting
        rec.forget(cid)
        self._admit_waiting(rec, now, tell_waiting=was_waiting)
        self._tell_hosts(rec, now)

    def _set_capacity(self, rec: Reception, capacity: int, now: float) -> None:
        rec.capacity = capacity
        self.reception_store.set_reception(rec.room, rec.host_fp, capacity)
        self._admit_waiting(rec, now)
        self._tell_hosts(rec, now)

    def _greet_guest(self, rec: Reception, cid: int, host: str, now: float) -> None:
        """Host ``host`` greets guest ``cid`` of the line: announced to the room, the line moves on."""
        rec.line.remove(cid)
        self.reception_counters["greeted"] += 1
        room = self.rooms.get(room_key(rec.room, ""))
        if room is not None:
            frame = rw.Greeted(cid, rec.names.get(cid, "?"), host).frame()
            for m in room.members.values():
                mc = self.conns.get(m.conn) if m.conn is not None else None
                if mc is not None:
                    self._send_raw(mc, frame, now)
        for g in [cid, *rec.line]:
            self._tell(rec, g, now)
        self._tell_hosts(rec, now)

    def _admit_waiting(self, rec: Reception, now: float, tell_waiting: bool = False) -> None:
        """Move guests from the waiting area into the hall while there is room; tell the rest their place."""
        moved = False
        while rec.waiting and not rec.full():
            cid = rec.waiting.pop(0)
            rec.hall.add(cid)
            rec.line.append(cid)
            self._set_space(rec, cid, wire_spaces.PLENARY, now)
            self._tell(rec, cid, now)
            self.reception_counters["admitted_from_waiting"] += 1
            moved = True
        if moved or tell_waiting:
            for cid in rec.waiting:
                self._tell(rec, cid, now)

    def _set_space(self, rec: Reception, cid: int, space: str, now: float) -> None:
        room = self.rooms.get(room_key(rec.room, ""))
        if room is None or (cid not in room.members and self.fed is None):
            return  # (federated: a guest served by another node is placed in this node's routing too)
        room.interest.set_place(cid, space, "", "")
        frame = Placed(cid, space, "", "").frame()
        for m in room.members.values():
            c = self.conns.get(m.conn) if m.conn is not None else None
            if c is not None:
                self._send_raw(c, frame, now)

    def _status(self, rec: Reception, cid: int) -> rw.ReceptionStatus:
        n = len(rec.hall)
        if cid in rec.waiting:
            return rw.ReceptionStatus(rw.WAITING, rec.waiting.index(cid) + 1, rec.capacity, n, len(rec.waiting))
        if cid in rec.line:
            return rw.ReceptionStatus(rw.LINE, rec.line.index(cid) + 1, rec.capacity, n, len(rec.waiting))
        return rw.ReceptionStatus(rw.HALL, 0, rec.capacity, n, len(rec.waiting))

    def _tell(self, rec: Reception, cid: int, now: float) -> None:
        s = self.sessions.get(cid)
        c = self.conns.get(s.conn) if s is not None and s.conn is not None else None
        if c is not None:
            self._send(c, self._status(rec, cid), now)

    def _line_message(self, rec: Reception) -> rw.GreetingLine:
        return rw.GreetingLine(len(rec.waiting), len(rec.hall), rec.capacity,
                               [(cid, rec.names.get(cid, "?")) for cid in rec.line[:rw.MAX_LINE_SHOWN]])

    def _tell_hosts(self, rec: Reception, now: float) -> None:
        frame = self._line_message(rec).frame()
        for cid in rec.hosts:
            s = self.sessions.get(cid)
            c = self.conns.get(s.conn) if s is not None and s.conn is not None else None
            if c is not None:
                self._send_raw(c, frame, now)

    # ------------------------------------------------------------ hosts' messages

    def _reception_message(self, conn: Connection, s: Session, msg: wire.ControlMessage, now: float) -> None:
        rec = self._reception_of(s)
        c = self.reception_counters
        if rec is None or (s.client_id not in rec.hosts and s.client_id not in self._rc_hosts_arriving):
            c["host_only_refused"] += 1
            self._send(conn, wire.Notice(rw.NOTICE_RECEPTION, "only a host of this reception may do that"), now)
            return
        if self.fed is not None:
            self._reception_fed_message(conn, s, rec, msg, now)
            return
        if isinstance(msg, rw.ReceptionConfig):
            self._set_capacity(rec, msg.capacity, now)
        elif isinstance(msg, rw.Greet):
            if not rec.line:
                self._send(conn, wire.Notice(rw.NOTICE_RECEPTION, "nobody is waiting to be greeted"), now)
                return
            cid = msg.client_id or rec.line[0]
            if cid not in rec.line:
                self._send(conn, wire.Notice(rw.NOTICE_RECEPTION, f"guest {cid} is not in the greeting line"), now)
                return
            self._greet_guest(rec, cid, s.identity, now)

    def _reception_fed_message(self, conn: Connection, s: Session, rec: Reception, msg: wire.ControlMessage,
                               now: float) -> None:
        """A host's action on a federated node: checked here, written, applied in the stream's order."""
        if isinstance(msg, rw.ReceptionConfig):
            self._rc_write(s.room, fwr.CAPACITY, cid=msg.capacity)
        elif isinstance(msg, rw.Greet):
            cid = msg.client_id or (rec.line[0] if rec.line else 0)
            if not rec.line:
                self._send(conn, wire.Notice(rw.NOTICE_RECEPTION, "nobody is waiting to be greeted"), now)
            elif cid not in rec.line:
                self._send(conn, wire.Notice(rw.NOTICE_RECEPTION, f"guest {cid} is not in the greeting line"), now)
            else:
                self._rc_write(s.room, fwr.GREET, cid=cid, name=s.identity)

    # ------------------------------------------------------------ floor and places (overrides)

    def _floor_taken(self, s: Session) -> bool:
        rec = self._reception_of(s)
        if rec is None:
            return super()._floor_taken(s)  # type: ignore[misc, no-any-return]
        if s.client_id in rec.hosts:
            return True
        self.reception_counters["floor_refused"] += 1
        return False

    def place_refusal(self, s: Session, p: Place) -> str | None:
        rec = self._reception_of(s)
        if rec is not None and s.client_id in rec.waiting and p.space != wire_spaces.WAITING:
            k = rec.waiting.index(s.client_id) + 1
            return (f"the reception is full: you are number {k} in its waiting area and enter in turn as guests leave")
        if p.space == wire_spaces.WAITING and (rec is None or s.client_id not in rec.waiting):
            return "the waiting area is for a reception's guests beyond its capacity"
        return super().place_refusal(s, p)  # type: ignore[misc, no-any-return]

    def reception_stats(self) -> dict[str, Any]:
        return {"counters": dict(self.reception_counters),
                "receptions": {r.room: {"capacity": r.capacity, "hosts": len(r.hosts), "hall": len(r.hall),
                                        "line": len(r.line), "waiting": len(r.waiting)}
                               for r in self.receptions.values()},
                **({"federation": self.reception_fed_stats()} if self.fed is not None else {})}
