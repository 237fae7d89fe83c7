"""A reception spread over the relay nodes of a NATS federation (sans-I/O; a mixin of
:class:`~vrdiplomacy.reception.relay.RelayReception`).

On a federated node (``relay --nats``) a reception's state is not the node's own: every change is
a :class:`~vrdiplomacy.reception.fed_wire.ReceptionRecord` written to JetStream, and every node
serving the room applies the room's records in the stream's order (:meth:`reception_fed_in`),
from the first, as the room's events are ordered by the room's stream. So all nodes hold one
door, one greeting line, one capacity and one waiting area:

* a pass holder at a node's door is not admitted there and then: the node writes a ``CLAIM`` and
  waits for it to come back; the first claim of a one-time pass in the stream uses it, every
  later one (from any node, at the same moment or after a restart) is refused. A node restarted,
  or opening the room afresh, reads the records again and knows every pass used;
* a welcomed guest's place (the hall and the greeting line, or the waiting area beyond capacity)
  is given by its ``ARRIVE`` record's place in the stream, counted across nodes; a node that
  serves it tells it its place, every node moves it between the waiting space and the hall in its
  own routing (so guests on other nodes hear it, or not, alike);
* a host's capacity and greetings (``CAPACITY``, ``GREET``) and departures (``LEAVE``, written by
  the guest's node, or by the others when its node is lost) are applied everywhere in order.

A guest's node tells it its place, and its hosts the line, when the record is applied: a few
milliseconds after its Welcome on a loopback cluster.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vrdiplomacy.errors import ProtocolError
from vrdiplomacy.net import wire
from vrdiplomacy.net.federation_wire import room_token
from vrdiplomacy.net.relay_state import Connection, Room, Session, room_key
from vrdiplomacy.reception import fed_wire as fwr
from vrdiplomacy.reception import wire as rw
from vrdiplomacy.reception.store import ReceptionStore

if TYPE_CHECKING:
    from vrdiplomacy.reception.passes import ReceptionPass


@dataclass
class Reception:
    """One reception: its room, host authority and capacity; who is host, in the hall, in the
    greeting line and in the waiting area (relay client ids, arrival order)."""

    room: str
    host_fp: str
    capacity: int = 0
    hosts: set[int] = field(default_factory=set)
    hall: set[int] = field(default_factory=set)
    line: list[int] = field(default_factory=list)
    waiting: list[int] = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict)
    owner: dict[int, int] = field(default_factory=dict)  # federated: client id -> the node serving it
    used_by: dict[str, int] = field(default_factory=dict)  # federated: pass token id -> client id

    def full(self) -> bool:
        return self.capacity > 0 and len(self.hall) >= self.capacity

    def forget(self, cid: int) -> None:
        """Client ``cid`` is no longer in the reception (hosts, hall, line, waiting area)."""
        self.hosts.discard(cid)
        self.names.pop(cid, None)
        self.owner.pop(cid, None)
        self.hall.discard(cid)
        if cid in self.line:
            self.line.remove(cid)
        if cid in self.waiting:
            self.waiting.remove(cid)


@dataclass
class PendingClaim:
    """A pass holder waiting at this node's door for its claim to come back from the stream."""

    conn_id: int
    msg: wire.Hello | wire.Join
    p: ReceptionPass
    key: str


@dataclass
class ReceptionFedState:
    """This node's part of its federated receptions."""

    out: list[tuple[str, fwr.ReceptionRecord]] = field(default_factory=list)  # (room token, record) to write
    applied: dict[str, int] = field(default_factory=dict)  # room token -> last stream sequence applied
    pending: dict[int, PendingClaim] = field(default_factory=dict)  # request id -> pass holder at our door
    serial: int = 0
    next_request: int = 0
    counters: collections.Counter[str] = field(default_factory=collections.Counter)


class ReceptionFederation:
    """Federated receptions: records out, records in (applied in stream order)."""

    fed: Any
    rooms: dict[str, Room]
    sessions: dict[int, Session]
    conns: dict[int, Connection]
    receptions: dict[str, Reception]
    reception_store: ReceptionStore
    reception_counters: collections.Counter[str]
    wall_offset: float
    _fed_rooms: dict[str, Any]
    _fed_open: Callable[[str], Any]
    fed_room: Callable[[str], Any]
    _send: Callable[[Connection, wire.ControlMessage, float], None]
    _send_raw: Callable[[Connection, bytes, float], None]
    _reception: Callable[[str], Reception | None]
    _refuse: Callable[..., None]
    _status: Callable[..., rw.ReceptionStatus]
    _line_message: Callable[..., rw.GreetingLine]
    _enter: Callable[..., None]
    _used_text: Callable[..., str]
    _not_open: Callable[[str], str]
    _open_reception: Callable[[str, str], Reception]
    _take_place: Callable[[Reception, int, str, str, float], None]
    _leave_reception: Callable[[Reception, int, float], None]
    _set_capacity: Callable[[Reception, int, float], None]
    _greet_guest: Callable[[Reception, int, str, float], None]

    def _init_reception_fed(self) -> None:
        self.rc_fed = ReceptionFedState()
        self._rc_admitting = False  # True while a claim that came back accepted is being admitted
        self._rc_orphans: dict[int, float] = {}  # client id -> since when its node is unknown here
        self._rc_next_sweep = 0.0
        self._rc_hosts_arriving: set[int] = set()  # our hosts welcomed, their ARRIVE not applied yet

    # ------------------------------------------------------------ records out

    def _rc_write(self, key: str, kind: int, **kw: Any) -> None:
        f = self.rc_fed
        f.serial += 1
        rec = fwr.ReceptionRecord(kind, self.fed.node, f.serial, **kw)
        f.out.append((room_token(key), rec))
        f.counters["records_out"] += 1

    def reception_fed_take(self) -> list[tuple[str, fwr.ReceptionRecord]]:
        """The records to write to the reception stream, in order (the adapter's, once per wake-up)."""
        out, self.rc_fed.out = self.rc_fed.out, []
        return out

    def reception_applied(self, token: str) -> int:
        """The last stream sequence applied for room ``token`` (the adapter reads on from the next)."""
        return self.rc_fed.applied.get(token, 0)

    def _rc_claim(self, conn: Connection, msg: wire.Hello | wire.Join, p: ReceptionPass, ret: int, now: float) -> None:
        """Write a claim for pass ``p`` at our door; the holder waits for it to come back."""
        f = self.rc_fed
        key = room_key(p.room, "")
        if key not in self._fed_rooms:
            self._fed_open(key)  # read the room's records (and events) from now on
        f.next_request = (f.next_request % 0xFFFFFFFF) + 1
        f.pending[f.next_request] = PendingClaim(conn.conn_id, msg, p, key)
        self._rc_write(key, fwr.CLAIM, cid=f.next_request, token=p.token_hex, name=p.guest_name, host_fp=p.host_fingerprint,
                       role=p.role, flags=0 if p.keyed else fwr.ONE_TIME, ret=ret, at=now + self.wall_offset)

    def _rc_leave(self, key: str, cid: int, owner: int) -> None:
        self._rc_write(key, fwr.LEAVE, cid=cid, ret=owner)

    # ------------------------------------------------------------ records in

    def reception_fed_in(self, token: str, seq: int, data: bytes, now: float) -> None:
        """The reception stream's record ``seq`` of room ``token``: applied, in stream order."""
        f = self.rc_fed
        fr = self.fed_room(token)
        if fr is None or seq <= f.applied.get(token, 0):
            return  # not served here (any more), or already applied
        f.applied[token] = seq
        try:
            r = fwr.ReceptionRecord.parse(data)
        except ProtocolError:
            f.counters["malformed"] += 1
            return
        f.counters["records_in"] += 1
        name = fr.key.split("\x00", 1)[0]
        if r.kind == fwr.CLAIM:
            self._rc_apply_claim(name, r, now)
            return
        rec = self._reception(name)
        if rec is None:
            f.counters["out_of_order"] += 1  # (a record of a reception that never opened)
            return
        if r.kind == fwr.ARRIVE:
            self._rc_apply_arrive(rec, r, now)
        elif r.kind == fwr.LEAVE:
            if rec.owner.get(r.cid) != r.ret:
                return  # it arrived at another node meanwhile (or it left already)
            self._leave_reception(rec, r.cid, now)
        elif r.kind == fwr.CAPACITY:
            self._set_capacity(rec, r.cid, now)
        elif r.kind == fwr.GREET and r.cid in rec.line:  # (not greeted already, by another host at the same moment)
            self._greet_guest(rec, r.cid, r.name, now)
        elif r.kind == fwr.RELEASE and r.token not in rec.used_by:  # nobody arrived with it
            self.reception_store.release(r.token)
            self.reception_counters["released"] += 1

    def _rc_apply_claim(self, name: str, r: fwr.ReceptionRecord, now: float) -> None:
        c = self.reception_counters
        why: str | None = None
        rec = self._reception(name)
        if rec is None:
            if r.role != "host":
                why = self._not_open(name)
            else:
                rec = self._open_reception(name, r.host_fp)
        elif rec.host_fp != r.host_fp:
            c["refused_other_host"] += 1
            why = f"this pass was signed by another host than the host of the reception in room '{name}'"
        if why is None and r.one_time:
            used = self.reception_store.used.get(r.token)
            if used is not None and not (r.ret and rec is not None and rec.used_by.get(r.token) == r.ret):
                c["refused_used"] += 1
                why = self._used_text(used)
            elif used is None:
                self.reception_store.mark_used(r.token, r.name, r.at)
        if r.node != self.fed.node:
            return
        pend = self.rc_fed.pending.pop(r.cid, None)
        if pend is None:
            return
        conn = self.conns.get(pend.conn_id)
        if conn is None or conn.closing:
            self.rc_fed.counters["claimant_gone"] += 1
            if why is None and r.one_time:
                self._rc_write(pend.key, fwr.RELEASE, token=r.token)  # it may come back with its pass
        elif why is not None:
            self.rc_fed.counters["claims_refused"] += 1
            self._refuse(conn, wire.ERR_NOT_INVITED, f"reception pass refused: {why}", now)
        else:
            self.rc_fed.counters["claims_admitted"] += 1
            self._rc_admitting = True
            try:
                self._enter(conn, pend.msg, pend.p, now)
            finally:
                self._rc_admitting = False
            if conn.closing and r.one_time:  # refused after all (the relay full, a seat taken)
                self._rc_write(pend.key, fwr.RELEASE, token=r.token)
        fr = self._fed_rooms.get(pend.key)
        if pend.key not in self.rooms and fr is not None and not fr.held:
            self._drop_log(pend.key)  # nobody entered (nor waits to): the room closes on this node again

    def _rc_apply_arrive(self, rec: Reception, r: fwr.ReceptionRecord, now: float) -> None:
        cid = r.cid
        rec.owner[cid] = r.node
        self._rc_hosts_arriving.discard(cid)
        if r.token:
            rec.used_by[r.token] = cid
        if cid not in rec.hosts and cid not in rec.names:
            self._take_place(rec, cid, r.role, r.name, now)
        s = self.sessions.get(cid)
        conn = self.conns.get(s.conn) if s is not None and s.conn is not None else None
        if conn is not None:
            self._send(conn, self._line_message(rec) if cid in rec.hosts else self._status(rec, cid), now)

    # ------------------------------------------------------------ overrides of the federation

    def _drop_log(self, key: str) -> None:
        if any(q.key == key for q in self.rc_fed.pending.values()):
            return  # a claim for this room is on its way: keep reading the room's records
        super()._drop_log(key)  # type: ignore[misc]

    def _remote_left(self, fr: Any, cid: int, now: float) -> None:
        """A member of a lost node is gone: its reception place goes too (every node writes it;
        the first applied counts, the others find it gone)."""
        r = fr.remote.get(cid)
        if r is not None and r.away_since is not None and self.fed is not None:
            rec = self._reception(fr.key.split("\x00", 1)[0])
            if rec is not None and rec.owner.get(cid) == r.node:
                self._rc_leave(fr.key, cid, r.node)
        super()._remote_left(fr, cid, now)  # type: ignore[misc]

    def fed_tick(self, now: float) -> bytes | None:  # extends RelayFederation's housekeeping
        beat: bytes | None = super().fed_tick(now)  # type: ignore[misc]
        if self.fed is not None and now >= self._rc_next_sweep:
            self._rc_next_sweep = now + 1.0
            self._rc_sweep(now)
        return beat

    def _rc_sweep(self, now: float) -> None:
        """Guests whose node this node has never heard (it died before this node opened the room,
        e.g. a whole federation restarted) leave once a node timeout and a resume grace are over."""
        f = self.fed
        grace = f.s.node_timeout + self.s.resume_grace  # type: ignore[attr-defined]
        seen: set[int] = set()
        for fr in list(self._fed_rooms.values()):
            rec = self.receptions.get(fr.key.split("\x00", 1)[0]) if fr.synced else None
            if rec is None:
                continue
            for cid, node in list(rec.owner.items()):
                if node == f.node or node in f.nodes or cid in fr.remote or cid in self.sessions:
                    continue  # served here, or by a node we hear (or heard: its loss has its own path)
                seen.add(cid)
                since = self._rc_orphans.setdefault(cid, now)
                if now - since > grace:
                    self._rc_leave(fr.key, cid, node)
                    self._rc_orphans[cid] = now  # written; again after another grace if it got lost
        for cid in [c for c in self._rc_orphans if c not in seen]:
            del self._rc_orphans[cid]

    def reception_fed_stats(self) -> dict[str, int]:
        return dict(self.rc_fed.counters)
