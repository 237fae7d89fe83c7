"""Spaces within a room and interpretation channels in the sans-I/O relay core (a mixin of
:class:`~vrdiplomacy.net.relay_core.RelayCore`).

A member tells the relay where it is with a :class:`~vrdiplomacy.net.wire_spaces.Place`: its
space (plenary ``""``, ``lounge``, ``bilateral:AAA+BBB``), the language channel it interprets into
and the one it listens to. The relay checks it:

* a bilateral room admits members of its two delegations only. In a secured room a member's
  delegation is the country its invitation names (the certificate's, checked by the room
  authority who signed the invitation: ``bilateral:DE+FR``); in a plain room it is the delegation
  of the seat it took in the layout (``bilateral:DEU+FRA``), the member's own claim;
* only a member with the role ``interpreter`` (from its invitation) may interpret in a secured
  room; a plain room has no verified roles, so there anyone may.

A refusal is one non-fatal ``Error(ERR_PLACE_REFUSED, reason)`` line; the member stays where it
was. An accepted place goes to the room's interest management (voice and the near/mid pose tiers
stay within the space: :mod:`~vrdiplomacy.net.interest`), pose keyframes are batched per space
(:meth:`RelaySpaces._flush_keys`), and a :class:`~vrdiplomacy.net.wire_spaces.Placed` tells the
whole room where the member now is (so every client drops media from other spaces and shows the
avatar absent). Space events (:class:`~vrdiplomacy.net.wire_spaces.SpaceEvent`: gestures in a side
room) reach the members of the sender's space only and are not stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from vrdiplomacy.net import wire, wire_spaces
from vrdiplomacy.net.relay_media import key_pieces
from vrdiplomacy.net.relay_state import Connection, Room, Session
from vrdiplomacy.net.wire_spaces import Place, Placed, SpaceEvent, SpaceEventIn


@dataclass
class SpaceCounters:
    """Places accepted and refused; space events in and delivered; voice frames and pose
    keyframe deliveries withheld from members of other spaces (isolation at the relay)."""

    places: int = 0
    places_refused: int = 0
    space_events_in: int = 0
    space_events_out: int = 0
    voice_withheld: int = 0
    keyframes_withheld: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class RelaySpaces:
    """Place checks, space membership, per-space keyframes and space events of the relay core."""

    rooms: dict[str, Room]
    sessions: dict[int, Session]
    counters: Any
    s: Any  # RelaySettings
    _send: Callable[[Connection, wire.ControlMessage, float], None]
    _send_raw: Callable[[Connection, bytes, float], None]
    conns: dict[int, Connection]
    _poses_waiting: bool
    _fed_place: Callable[[str, int, tuple[str, str, str]], None]  # to the other relay nodes (federation)
    _fed_space_event: Callable[[str, int, bytes], None]
    _fed_remote_member: Callable[[str, int], bool]

    def _init_spaces(self) -> None:
        self.space_counters = SpaceCounters()
        self._countries: dict[int, str] = {}  # client id -> invitation country (secured rooms)
        self._space_sizes: dict[str, tuple[tuple[int, int], dict[str, int]]] = {}  # room key -> (stamp, members per space)

    # ------------------------------------------------------------ hooks on admission

    def _secure(self, s: Session, inv: Any) -> None:
        super()._secure(s, inv)  # type: ignore[misc]
        self._countries[s.client_id] = str(inv.member_country).upper()
        if len(self._countries) > 2 * len(self.sessions) + 16:  # forget sessions that ended
            self._countries = {k: v for k, v in self._countries.items() if k in self.sessions}

    # ------------------------------------------------------------ places

    def delegations_of(self, s: Session) -> set[str]:
        """The delegation member ``s`` belongs to (see the module docstring): in a secured room the
        country of its invitation, in a plain room its seat's delegation in the layout."""
        if s.member_key:
            country = self._countries.get(s.client_id, "")
            return {country} if country else set()
        room = self.rooms.get(s.room)
        geo = room.interest.layout if room is not None else None
        return {geo.delegations[s.seat]} if geo is not None and s.seat in geo.delegations else set()

    def place_refusal(self, s: Session, p: Place) -> str | None:
        """Why ``s`` may not take place ``p`` (None: it may)."""
        pair = wire_spaces.bilateral_delegations(p.space)
        if pair is not None:
            mine = self.delegations_of(s)
            if not mine & set(pair):
                who = "/".join(sorted(mine)) or "no delegation"
                return (f"the {wire_spaces.space_label(p.space)} is closed to all but delegations {pair[0]} and {pair[1]} "
                        f"({s.identity} is {who})")
        if p.interpret:
            if s.member_key and s.role != "interpreter":
                return f"only an interpreter may speak into the '{p.interpret}' channel ({s.identity} is {s.role or 'no role'})"
            if p.interpret == p.listen:
                return f"an interpreter listens to the floor or another channel, not its own '{p.interpret}'"
        return None

    def _place(self, conn: Connection, s: Session, p: Place, now: float) -> None:
        why = self.place_refusal(s, p)
        if why is not None:
            self.space_counters.places_refused += 1
            self._send(conn, wire.Error(wire_spaces.ERR_PLACE_REFUSED, why), now)
            return
        room = self.rooms[s.room]
        ri = room.interest
        if ri.place_of(s.client_id) == (p.space, p.interpret, p.listen):
            self._send(conn, Placed(s.client_id, p.space, p.interpret, p.listen), now)  # confirm, nothing changes
            return
        self.space_counters.places += 1
        ri.set_place(s.client_id, p.space, p.interpret, p.listen)
        self._fed_place(s.room, s.client_id, (p.space, p.interpret, p.listen))
        frame = Placed(s.client_id, p.space, p.interpret, p.listen).frame()
        for m in room.members.values():
            c = self.conns.get(m.conn) if m.conn is not None else None
            if c is not None:
                self._send_raw(c, frame, now)

    def _send_places(self, conn: Connection, room: Room, now: float) -> None:
        """After a Welcome: where every member not in the plain plenary is."""
        for cid, (space, interp, listen) in list(room.interest.place.items()):
            if cid in room.members or self._fed_remote_member(room.key, cid):
                self._send(conn, Placed(cid, space, interp, listen), now)

    def _space_event(self, s: Session, e: SpaceEvent, now: float) -> None:
        """Fan a space event out to the members of the sender's space (the sender too)."""
        self.space_counters.space_events_in += 1
        self._space_event_in(self.rooms[s.room], s.client_id, e.payload, now)
        self._fed_space_event(s.room, s.client_id, e.payload)

    def _space_event_in(self, room: Room, sender: int, payload: bytes, now: float) -> None:
        """A space event of ``sender`` (here or on another relay node) to the local members of its space."""
        sc = self.space_counters
        ri = room.interest
        space = ri.place_of(sender)[0]
        frame = SpaceEventIn(sender, payload).frame()
        for m in room.members.values():
            if ri.place_of(m.client_id)[0] != space or m.conn is None:
                continue
            c = self.conns.get(m.conn)
            if c is not None:
                self._send_raw(c, frame, now)
                sc.space_events_out += 1

    # ------------------------------------------------------------ media

    def _withheld(self, room: Room, cid: int) -> None:
        """Count a voice frame of ``cid`` withheld from the members of other spaces (per room, the
        member count of each space is cached until a member or a place changes)."""
        ri = room.interest
        stamp = (ri.generation, ri.place_version)
        cached = self._space_sizes.get(room.key)
        if cached is None or cached[0] != stamp:
            sizes: dict[str, int] = {}
            for m in room.members:
                sp = ri.place_of(m)[0]
                sizes[sp] = sizes.get(sp, 0) + 1
            cached = (stamp, sizes)
            self._space_sizes[room.key] = cached
        self.space_counters.voice_withheld += len(room.members) - cached[1].get(ri.place_of(cid)[0], 0)

    def _flush_keys(self, room: Room, now: float) -> None:
        """Keyframes go to the members of the sender's space only (one joined chunk per space)."""
        ri = room.interest
        if not ri.place:
            super()._flush_keys(room, now)  # type: ignore[misc]
            return
        keys, t0 = room.keys, room.keys_t
        room.keys, room.keys_size = [], 0
        groups: dict[str, list[bytes]] = {}
        for entry in keys:
            src = int.from_bytes(entry[1:5], "big")
            groups.setdefault(ri.place_of(src)[0], []).append(entry)
        chunks = {space: key_pieces(b"".join(g), self.s.bundle_max) for space, g in groups.items()}
        n = {space: len(g) for space, g in groups.items()}
        delivered = 0
        members = room.members.values()
        for r in members:
            space = ri.place_of(r.client_id)[0]
            pieces = chunks.get(space)
            if pieces is None:
                continue
            delivered += n[space]
            if r.addr is None:
                continue
            r.pending.extend(pieces)
            first = r.pending_pose_first
            if not first or (t0 < first and not r.pending_pose_born):
                r.pending_pose_first = t0
        total = len(keys) * len(room.members)
        self.counters.poses_forwarded += max(0, delivered - len(keys))
        self.space_counters.keyframes_withheld += max(0, total - delivered)
        self._poses_waiting = True

    def space_stats(self) -> dict[str, Any]:
        """Counters, and how many members each room has per space."""
        per_room: dict[str, dict[str, int]] = {}
        for room in self.rooms.values():
            counts: dict[str, int] = {}
            for cid in room.members:
                label = wire_spaces.space_label(room.interest.place_of(cid)[0])
                counts[label] = counts.get(label, 0) + 1
            per_room[room.name] = counts
        return {"counters": self.space_counters.as_dict(), "rooms": per_room}
