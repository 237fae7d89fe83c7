"""Relays on NATS, sans-I/O: what a relay node sends to and takes from the other nodes of its
federation (a mixin of :class:`~vrdiplomacy.net.relay_core.RelayCore`).

Off (``fed is None``) unless :meth:`RelayFederation.enable_federation` was called: then the relay
is exactly the single process it always was. On, each node serves its own clients and a room's
members may be spread over nodes (subjects and messages: :mod:`vrdiplomacy.net.federation_wire`):

* **Media**: every voice and pose entry a local member sends into a room that has members on other
  nodes is also queued for the federation; the adapter takes them once per wake-up
  (:meth:`RelayFederation.fed_take`) as one NATS message per room and stream. Entries from other
  nodes are routed to local members by the room's interest, as local ones are (remote members are
  members of the local :class:`~vrdiplomacy.net.interest.RoomInterest`, without a session).
* **Presence, floor and places**: local presence changes (with the member's invited role), floor
  changes and accepted places (``wire_spaces.Place``) are published; remote ones are shown to
  local clients as ``Presence``/``FloorState``/``Placed`` and enter the room's interest, so voice
  and poses from other nodes keep to their spaces as local ones do. Space events go to the
  members of the sender's space on every node (not stored). A node opening a room asks the others for
  their roster. A node silent for ``node_timeout`` has its members shown away (they may resume on
  another node); after ``resume_grace`` they leave.
* **Room events**: a client's event is not stored locally; it goes to the room's JetStream stream
  (the adapter publishes one room's events one at a time, with a de-duplication id) and the client
  is acknowledged only when JetStream acknowledged it (:meth:`RelayFederation.fed_stored`). Every
  node delivers the stream to its members in stream order (:meth:`RelayFederation.fed_event_in`):
  the stream sequence number is the room sequence number, so all members on all nodes see one order,
  and a client resuming on another node is replayed what it missed (the log id is derived from the
  room key, the same everywhere). A procedure action (:mod:`vrdiplomacy.net.relay_meeting`) is
  checked and stamped by the sender's node before it goes to the stream, and every node folds the
  actions into its procedure as the stream delivers them, so the floor queue, the floor holder
  and the mutes are the same on all nodes. A refused action is acknowledged once the sender's
  earlier events are stored.
* **Opening a room**: a client's Hello for a room this node does not serve yet is held until the
  adapter has joined the room's subjects and read the stream's tail (:meth:`RelayFederation.fed_synced`);
  then it is processed as usual.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

from vrdiplomacy.errors import ProtocolError
from vrdiplomacy.net import federation_wire as fw
from vrdiplomacy.net import wire
from vrdiplomacy.net.federation_state import (
    FedCounters,
    FederationSettings,
    FedOutbox,
    FedRoom,
    FedState,
    Remote,
)
from vrdiplomacy.net.relay_events import RoomLog, StoredEvent
from vrdiplomacy.net.relay_state import (
    Connection,
    RelayCounters,
    RelaySettings,
    Room,
    Session,
)
from vrdiplomacy.net.wire_spaces import Placed

_ENTRY_UNPACK = wire.ENTRY_HDR.unpack_from
_ENTRY_SIZE = wire.ENTRY_HDR.size
_POSE_UNPACK = wire.POSE_HDR.unpack_from
_POSE_SIZE = wire.POSE_HDR.size

__all__ = ["FedCounters", "FedOutbox", "FedRoom", "FedState", "FederationSettings", "RelayFederation", "Remote"]


class RelayFederation:
    """The federation part of the relay core (inactive unless :meth:`enable_federation`)."""

    s: RelaySettings
    counters: RelayCounters
    sessions: dict[int, Session]
    rooms: dict[str, Room]
    conns: dict[int, Connection]
    _history: int
    _voice_out: list[tuple[list[Session], float]]
    _pose_since: float
    _send: Callable[..., None]
    _broadcast: Callable[..., None]
    _recompute: Callable[..., None]
    _keyframe: Callable[..., None]
    _voice_to: Callable[..., None]
    _start: Callable[..., None]
    _end_session: Callable[..., None]
    _refuse: Callable[..., None]
    _room_log: Callable[[str], RoomLog]
    _drop_log: Callable[[str], None]
    _meeting_event: Callable[..., bytes | None]
    _meeting_fold: Callable[[Room, int, bytes, float], None]
    _space_event_in: Callable[[Room, int, bytes, float], None]

    def _init_federation(self) -> None:
        self.fed: FedState | None = None
        self._fed_rooms: dict[str, FedRoom] = {}  # empty unless federated: the media hot path tests it
        self._fed_tokens: dict[str, FedRoom] = {}  # the same rooms by their name on NATS

    def enable_federation(self, settings: FederationSettings) -> None:
        self.fed = FedState(settings)

    # ------------------------------------------------------------ hooks called by the core

    def _fed_hold(self, conn: Connection, h: wire.Hello, key: str, inv: Any, now: float) -> bool:
        """Hold a Hello for a room this node has not joined yet, or refuse it a seat a member on
        another node holds (True: held, redone later; or refused)."""
        f = self.fed
        if f is None:
            return False
        fr = self._fed_rooms.get(key)
        if fr is not None and fr.synced:
            tok = h.resume_token
            cid = int.from_bytes(tok[:4], "big") if len(tok) == 20 else 0
            holder = next((r for c, r in fr.remote.items() if h.seat and r.seat == h.seat and c != cid), None)
            if holder is not None and (inv is None or cid):  # (a re-admission without a token may be the holder)
                self._refuse(conn, wire.ERR_SEAT_TAKEN,
                             f"seat '{h.seat}' in room '{h.room}' is taken by {holder.identity} (on another relay node)", now)
                return True
            return False
        if fr is None:
            fr = self._fed_open(key)
        fr.held.append((conn.conn_id, h, inv))
        f.counters.hellos_held += 1
        return True

    def _fed_open(self, key: str) -> FedRoom:
        assert self.fed is not None
        token = fw.room_token(key)
        fr = FedRoom(key, token, RoomLog(key, fw.log_id_of(key), 0, deque(maxlen=self._history)))
        self._fed_rooms[key] = self._fed_tokens[token] = fr
        self.fed.out.open.append(fr)
        return fr

    def _room_log(self, key: str) -> RoomLog:  # overrides RelayEvents: a federated room's log is its stream's tail
        fr = self._fed_rooms.get(key)
        if fr is None and self.fed is not None:
            fr = self._fed_open(key)  # a room entered by Join: its events come as the stream delivers them
            fr.synced = True
        if fr is not None:
            return fr.log
        return super()._room_log(key)  # type: ignore[misc]

    def _drop_log(self, key: str) -> None:  # overrides RelayEvents: the room closes on this node
        fr = self._fed_rooms.pop(key, None)
        if fr is None:
            super()._drop_log(key)  # type: ignore[misc]
            return
        self._fed_tokens.pop(fr.token, None)
        assert self.fed is not None
        self.fed.out.close.append(fr.token)

    def _fed_presence(self, s: Session, state: int) -> None:
        fr = self._fed_rooms.get(s.room)
        if fr is not None and self.fed is not None:
            if state == wire.PRESENT:
                fr.remote.pop(s.client_id, None)  # it was on another node and resumed here
            msg = fw.PresenceMsg(self.fed.node, state, s.client_id, s.identity, s.seat, s.role)
            self.fed.out.publish.append((fw.room_subject(fr.token, "presence"), bytes(msg)))

    def _fed_place(self, key: str, cid: int, place: tuple[str, str, str]) -> None:
        """A local member's accepted place: to the other nodes of the room."""
        fr = self._fed_rooms.get(key)
        if fr is not None and self.fed is not None:
            self.fed.out.publish.append((fw.room_subject(fr.token, "place"), bytes(fw.PlaceMsg(self.fed.node, cid, *place))))

    def _fed_space_event(self, key: str, cid: int, payload: bytes) -> None:
        fr = self._fed_rooms.get(key)
        if fr is not None and fr.remote and self.fed is not None:
            self.fed.out.publish.append((fw.room_subject(fr.token, "spaceev"), bytes(fw.SpaceEventMsg(self.fed.node, cid, payload))))

    def _fed_remote_member(self, key: str, cid: int) -> bool:
        """Whether ``cid`` is a member of the room connected to another node."""
        fr = self._fed_rooms.get(key)
        return fr is not None and cid in fr.remote

    def _fed_role(self, cid: int) -> str | None:
        """The invited role of a member on another node (None: not known here)."""
        for fr in self._fed_rooms.values():
            r = fr.remote.get(cid)
            if r is not None:
                return r.role
        return None

    def _fed_floor(self, room: Room) -> None:
        fr = self._fed_rooms.get(room.key)
        if fr is not None and self.fed is not None:
            self.fed.out.publish.append((fw.room_subject(fr.token, "floor"), bytes(fw.FloorMsg(self.fed.node, room.floor))))

    def _fed_roster(self, conn: Connection, room: Room, now: float) -> int:
        """Presence of the room's members on other nodes, for a Welcome's roster."""
        fr = self._fed_rooms.get(room.key)
        if fr is None:
            return 0
        for cid, r in fr.remote.items():
            self._send(conn, wire.Presence(cid, wire.AWAY if r.away_since is not None else wire.PRESENT, r.identity, r.seat), now)
        return len(fr.remote)

    def _fed_media_out(self, key: str, kind: int, entry: bytes) -> None:
        """A local member's voice or pose entry: queued for the other nodes when the room has members there."""
        fr = self._fed_rooms.get(key)
        if fr is not None and fr.remote:
            (fr.voice if kind == wire.DG_VOICE else fr.pose).append(entry)

    def _fed_event(self, conn: Connection, s: Session, e: wire.Event, now: float) -> None:
        """A client's room event: to the room's stream; acknowledged when JetStream has it."""
        f = self.fed
        assert f is not None
        if e.client_seq <= s.last_client_seq:
            self.counters.events_duplicate += 1
            fr = self._fed_rooms.get(s.room)
            # stored: acknowledged by JetStream to this node, or read back from the stream (sent
            # through a node that died before it could acknowledge it)
            acked = max(f.acked.get(s.client_id, 0), fr.log.client_seqs.get(s.client_id, 0) if fr is not None else 0)
            if e.client_seq <= acked:
                self._send(conn, wire.Ack(acked), now)
            return  # else it is on its way to the stream; its Ack follows
        fr = self._fed_rooms.get(s.room)
        if fr is None:
            return
        self.counters.events_in += 1
        s.last_client_seq = e.client_seq
        cid = s.client_id
        payload = self._meeting_event(conn, s, e.payload, now, fold=False)  # checked and stamped here, folded from the stream
        if payload is None:  # refused: acknowledged, not stored (after the sender's earlier events are)
            if f.published.get(cid, 0) <= f.acked.get(cid, 0):
                f.acked[cid] = e.client_seq
                self._send(conn, wire.Ack(e.client_seq), now)
            else:
                f.deferred[cid] = e.client_seq
            return
        f.published[cid] = e.client_seq
        f.out.events.append((fr.token, fw.EventRecord(cid, e.client_seq, payload)))
        f.counters.events_published += 1

    # ------------------------------------------------------------ adapter API

    def fed_take(self, now: float | None = None) -> FedOutbox:
        """What to send to NATS now: one media batch per room and stream, then the rest in order.
        With ``now``, a room's pose entries wait up to ``pose_batch`` unless voice goes with them
        (``due`` says when to take again); without, everything goes."""
        f = self.fed
        assert f is not None
        out = f.out
        if not (out.publish or out.events or out.open or out.close) and not any(
                fr.voice or fr.pose for fr in self._fed_rooms.values()):
            return out  # nothing to do (the common case: the relay calls this twice per flush); still empty
        hold = f.s.pose_batch if now is not None else 0.0
        due: float | None = None
        for fr in self._fed_rooms.values():
            if fr.pose and hold > 0 and not fr.voice:
                assert now is not None
                if not fr.pose_since:
                    fr.pose_since = now
                if now - fr.pose_since < hold - 5e-4:  # (a timer may fire a little early)
                    t = fr.pose_since + hold
                    due = t if due is None or t < due else due
                    continue
            for kind, items in ((fw.VOICE, fr.voice), (fw.POSE, fr.pose)):
                if items:
                    out.publish.append((fw.room_subject(fr.token, "voice" if kind == fw.VOICE else "pose"),
                                        bytes(fw.MediaBatch(kind, f.node, b"".join(items), self.wall_ns()))))
                    f.counters.batches_out += 1
                    f.counters.entries_out += len(items)
                    items.clear()
            fr.pose_since = 0.0
        f.out = FedOutbox()
        out.due = due
        return out

    def wall_ns(self) -> int:
        """UNIX time in ns for media batches' send stamps (statistics only)."""
        return time.time_ns()

    def fed_room(self, token: str) -> FedRoom | None:
        return self._fed_tokens.get(token)

    def fed_synced(self, key: str, now: float) -> None:
        """The adapter joined the room's subjects and read its stream up to its tail: held Hellos go on."""
        fr = self._fed_rooms.get(key)
        if fr is None or fr.synced or self.fed is None:
            return
        fr.synced = True
        self.fed.out.publish.append((fw.room_subject(fr.token, "presence"), bytes(fw.PresenceMsg(self.fed.node, fw.ROSTER_REQUEST, 0))))
        held, fr.held = fr.held, []
        for conn_id, h, inv in held:
            conn = self.conns.get(conn_id)
            if conn is not None and not conn.closing and conn.session is None:
                self._start(conn, h, now, inv)
        if key not in self.rooms and not fr.held:
            self._drop_log(key)  # everyone held for it went away

    def fed_resync(self) -> None:
        """After a NATS reconnection: ask the other nodes for their rosters again."""
        f = self.fed
        if f is None:
            return
        for fr in self._fed_rooms.values():
            if fr.synced:
                f.out.publish.append((fw.room_subject(fr.token, "presence"), bytes(fw.PresenceMsg(f.node, fw.ROSTER_REQUEST, 0))))

    def fed_stored(self, sender: int, client_seq: int, now: float) -> None:
        """JetStream acknowledged ``sender``'s event ``client_seq``: acknowledge it to the client."""
        f = self.fed
        assert f is not None
        f.counters.events_stored += 1
        if client_seq > f.acked.get(sender, 0):
            f.acked[sender] = client_seq
        refused = f.deferred.get(sender)
        if refused is not None and client_seq >= f.published.get(sender, 0):
            del f.deferred[sender]  # every event before the refused one is stored: acknowledge it too
            f.acked[sender] = client_seq = max(client_seq, refused)
        s = self.sessions.get(sender)
        conn = self.conns.get(s.conn) if s is not None and s.conn is not None else None
        if conn is not None:
            self._send(conn, wire.Ack(client_seq), now)

    def fed_event_in(self, token: str, seq: int, data: bytes, now: float) -> None:
        """The room stream's event ``seq``: into the room's log and to the local members, in stream order."""
        fr = self.fed_room(token)
        f = self.fed
        if fr is None or f is None:
            return
        try:
            rec = fw.EventRecord.parse(data)
        except ProtocolError:
            f.counters.malformed += 1
            return
        if seq <= fr.log.seq:
            return  # already delivered (an ordered consumer re-created after a NATS node failure)
        ev = StoredEvent(seq, rec.sender, rec.client_seq, rec.payload)
        room = self.rooms.get(fr.key)
        if room is not None:
            self._meeting_fold(room, rec.sender, rec.payload, now)  # (before the log: a new procedure folds the log first)
        fr.log.add(ev)
        if room is not None:
            f.counters.events_delivered += 1
            self._broadcast(room, ev.message().frame(), now)

    def fed_message(self, token: str, stream: str, data: bytes, now: float) -> None:
        """A core NATS message on one of the room's subjects (``stream``: voice, pose, presence, floor)."""
        fr = self.fed_room(token)
        f = self.fed
        if fr is None or f is None:
            return
        room = self.rooms.get(fr.key)
        try:
            if stream in fw.STREAMS:
                if room is not None:
                    self._fed_media_in(fr, room, fw.MediaBatch.parse(data), now)
            elif stream == "presence":
                self._fed_presence_in(fr, room, fw.PresenceMsg.parse(data), now)
            elif stream == "place":
                self._fed_place_in(fr, room, fw.PlaceMsg.parse(data), now)
            elif stream == "spaceev":
                msg_ev = fw.SpaceEventMsg.parse(data)
                if room is not None and msg_ev.sender in fr.remote:
                    self._space_event_in(room, msg_ev.sender, msg_ev.payload, now)
            elif stream == "floor":
                msg = fw.FloorMsg.parse(data)
                self._heard(msg.node, now)
                if room is not None and msg.holder != room.floor:
                    room.floor = msg.holder
                    room.interest.set_floor(msg.holder)
                    self._broadcast(room, wire.FloorState(msg.holder).frame(), now)
            else:
                f.counters.malformed += 1
        except ProtocolError:
            f.counters.malformed += 1

    def fed_alive(self, data: bytes, now: float) -> None:
        try:
            msg = fw.Alive.parse(data)
        except ProtocolError:
            if self.fed is not None:
                self.fed.counters.malformed += 1
            return
        self._heard(msg.node, now)

    def fed_tick(self, now: float) -> bytes | None:
        """Housekeeping: other nodes gone silent, remote members past their grace. Returns this
        node's heartbeat when one is due."""
        f = self.fed
        if f is None:
            return None
        for node, seen in f.nodes.items():
            if node not in f.lost and now - seen > f.s.node_timeout:
                f.lost.add(node)
                f.counters.nodes_lost += 1
                for fr in self._fed_rooms.values():
                    room = self.rooms.get(fr.key)
                    for cid, r in fr.remote.items():
                        if r.node == node and r.away_since is None:
                            r.away_since = now
                            if room is not None:
                                self._broadcast(room, wire.Presence(cid, wire.AWAY, r.identity, r.seat).frame(), now)
        for fr in self._fed_rooms.values():
            gone = [cid for cid, r in fr.remote.items() if r.away_since is not None and now - r.away_since > self.s.resume_grace]
            for cid in gone:
                self._remote_left(fr, cid, now)
        if now >= f.next_alive:
            f.next_alive = now + f.s.alive_interval
            return bytes(fw.Alive(f.node, f.s.node_name))
        return None

    # ------------------------------------------------------------ from other nodes

    def _heard(self, node: int, now: float) -> None:
        f = self.fed
        assert f is not None
        if node == f.node:
            return
        f.nodes[node] = now
        if node in f.lost:
            f.lost.discard(node)
            self.fed_resync()  # it came back (or we did): rosters again

    def _fed_presence_in(self, fr: FedRoom, room: Room | None, msg: fw.PresenceMsg, now: float) -> None:
        f = self.fed
        assert f is not None
        self._heard(msg.node, now)
        if msg.node == f.node:
            return
        if msg.state == fw.ROSTER_REQUEST:
            if room is not None:
                for s in room.members.values():
                    self._fed_presence(s, wire.AWAY if s.away_since is not None else wire.PRESENT)
                for pcid, place in list(room.interest.place.items()):
                    if pcid in room.members:
                        self._fed_place(fr.key, pcid, place)
                if room.floor in room.members:
                    self._fed_floor(room)
            return
        cid = msg.client_id
        local = self.sessions.get(cid)
        if local is not None:
            if msg.state == fw.LEFT or local.conn is not None:
                return  # about a member connected here (it moved to us): not the other node's any more
            # our away member resumed on another node: it is theirs now
            self._end_session(local, now, "resumed on another relay node")
            room = self.rooms.get(fr.key)
        r = fr.remote.get(cid)
        if msg.state == fw.LEFT:
            if r is not None and r.node == msg.node:
                self._remote_left(fr, cid, now)
            return
        away = now if msg.state == fw.AWAY else None
        if r is not None and r.node != msg.node and msg.state == fw.AWAY:
            return  # the member is on another node now; the old one saw it go
        fr.remote[cid] = Remote(msg.node, msg.identity, msg.seat, away, msg.role)
        if room is not None:
            room.interest.add(cid, msg.seat)
            state = wire.AWAY if away is not None else wire.PRESENT
            self._broadcast(room, wire.Presence(cid, state, msg.identity, msg.seat).frame(), now)

    def _fed_place_in(self, fr: FedRoom, room: Room | None, msg: fw.PlaceMsg, now: float) -> None:
        """A remote member's place: into the room's interest, and ``Placed`` to the local members."""
        self._heard(msg.node, now)
        if room is None or msg.client_id not in fr.remote:
            return
        place = (msg.space, msg.interpret, msg.listen)
        if room.interest.place_of(msg.client_id) == place:
            return
        room.interest.set_place(msg.client_id, *place)
        self._broadcast(room, Placed(msg.client_id, *place).frame(), now)

    def _remote_left(self, fr: FedRoom, cid: int, now: float) -> None:
        r = fr.remote.pop(cid, None)
        room = self.rooms.get(fr.key)
        if r is None or room is None:
            return
        room.interest.remove(cid)
        if room.floor == cid:
            room.floor = 0
            room.interest.set_floor(0)
            self._broadcast(room, wire.FloorState(0).frame(), now)
        self._broadcast(room, wire.Presence(cid, wire.LEFT, r.identity, r.seat).frame(), now)

    def _fed_media_in(self, fr: FedRoom, room: Room, batch: fw.MediaBatch, now: float) -> None:
        """Route another node's entries to local members by the room's interest (as local ones)."""
        f = self.fed
        assert f is not None
        self._heard(batch.node, now)
        f.counters.batches_in += 1
        if batch.kind == fw.VOICE and batch.sent_ns:
            f.transit.add(max(0, self.wall_ns() - batch.sent_ns) * 1e-9)
        data = batch.entries
        n = len(data)
        pos = 0
        ri = room.interest
        while pos + _ENTRY_SIZE <= n:
            kind, cid, size = _ENTRY_UNPACK(data, pos)
            end = pos + _ENTRY_SIZE + size
            if end > n:
                f.counters.malformed += 1
                return
            entry = data[pos:end]
            pt_at = pos + _ENTRY_SIZE
            pos = end
            if cid not in fr.remote:
                f.counters.dropped_unknown_member += 1
                continue
            f.counters.entries_in += 1
            if kind == wire.DG_VOICE and size >= 3:
                ri.note_voice(cid, data[pt_at], now)
                if ri.dirty and ri.wants_now(cid, now):
                    self._recompute(room, now)
                route = room.voice.get(cid)
                if route is not None:
                    for ap in route[2]:
                        ap(entry)
                    self.counters.voice_forwarded += len(route[2])
                    self._voice_to(ri, route[1], now, gather=False)  # the sender's node gathered it
            elif kind == wire.DG_POSE and size >= _POSE_SIZE:
                hdr = _POSE_UNPACK(data, pt_at)
                ri.pose_hdr[cid] = hdr
                if hdr[0] & wire.POSE_KEY:
                    self._keyframe(room, cid, entry, now)
                    continue
                for table in (room.near, room.mid) if hdr[1] % ri.settings.mid_divisor == 0 else (room.near,):
                    route = table.get(cid)
                    if route is not None:
                        for ap in route[2]:
                            ap(entry)
                        self.counters.poses_forwarded += len(route[2])
                        if not self._pose_since:
                            self._pose_since = now
            else:
                f.counters.malformed += 1
