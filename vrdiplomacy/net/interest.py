"""Interest management: who receives whose voice and poses, and how often.

Voice from speaker S reaches listener L when both are in the same *space* (the same explicit
space of :mod:`~vrdiplomacy.net.wire_spaces`: plenary, lounge or a bilateral room, set by the
members' ``Place`` messages; and within it the same isolated zone, or both outside every isolated
zone) and at least one of:

* S is among the ``last_n`` loudest recently active speakers of that space,
* S is within ``audible_radius`` of L,
* S holds the floor.

An interpreter (a member whose place names a channel it ``interpret``-s into) is heard by the
members of its space who ``listen`` to that channel, whatever the distance, and by nobody else.

Poses are forwarded in tiers: *near* (same space, within ``near_radius``) every frame, *mid*
(same space, within ``mid_radius``) every ``mid_divisor``-th frame, and everyone else (farther,
or in another space) keyframes only, about 2 Hz; keyframes reach the whole room in one batch per
flush tick. In a crowd (more than ``crowd_size`` members, a reception of hundreds) that tier gets
every ``far_key_divisor``-th keyframe (0.5 Hz; fewer past ``far_key_divisor * far_key_members``
members, 0.25 Hz at 1000) and the other keyframes reach the near and mid
tiers only: keyframes to everyone grow with the square of the room. Pose frames are self-contained (:mod:`vrdiplomacy.net.pose`), so every frame a tier
gets decodes, whatever else was thinned or lost. Positions come from the plaintext coarse head position of each member's pose
datagrams; seats and zones from a :class:`RoomGeometry` (made from the scene layout by
:meth:`RoomGeometry.of`, which reads the layout's seats and zones without importing ``scene``).

Recomputation is vectorized (numpy, all pairs at once) and incremental in its output: a
sender whose receivers did not change keeps the very same list object, so a caller that
resolved it before can reuse that work (members rarely move between tiers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Box:
    """An axis-aligned zone of the room: ``name``, corners ``min``/``max`` (metres), and
    whether it is ``isolated`` (sound and frequent poses stay inside)."""

    name: str
    min: tuple[float, float, float]
    max: tuple[float, float, float]
    isolated: bool = False

    def contains(self, p: Any) -> bool:
        return all(lo <= float(v) <= hi for lo, v, hi in zip(self.min, p, self.max))

    @property
    def volume(self) -> float:
        return float(np.prod(np.subtract(self.max, self.min)))


@dataclass(frozen=True)
class RoomGeometry:
    """What interest management needs of a room: seat positions (floor point, metres) by seat
    id, and the zones."""

    seats: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    zones: tuple[Box, ...] = ()
    delegations: dict[str, str] = field(default_factory=dict)  # seat id -> delegation code (where the layout says)

    @classmethod
    def of(cls, layout: Any) -> "RoomGeometry | None":
        """From anything with ``seats`` (``seat_id``, ``position``) and ``zones`` (``name``,
        ``min``, ``max``, ``isolated``), e.g. a scene Layout; None stays None."""
        if layout is None or isinstance(layout, RoomGeometry):
            return layout
        seats = {str(st.seat_id): tuple(float(v) for v in st.position) for st in getattr(layout, "seats", ())}
        zones = tuple(Box(str(z.name), tuple(float(v) for v in z.min), tuple(float(v) for v in z.max),  # type: ignore[arg-type]
                          bool(getattr(z, "isolated", False))) for z in getattr(layout, "zones", ()))
        dels = {str(st.seat_id): str(st.delegation).upper() for st in getattr(layout, "seats", ()) if getattr(st, "delegation", "")}
        return cls(seats, zones, dels)  # type: ignore[arg-type]

    def zone_at(self, p: Any) -> Box | None:
        """The innermost isolated zone containing ``p``, else any zone, else None."""
        hits = sorted((z for z in self.zones if z.contains(p)), key=lambda z: (not z.isolated, z.volume))
        return hits[0] if hits else None


@dataclass
class InterestSettings:
    """Interest-management settings.

    last_n: loudest active speakers forwarded to a whole space.
    audible_radius: metres within which any speaker is heard.
    near_radius / mid_radius: pose tier boundaries in metres.
    mid_divisor: mid-tier listeners get every n-th pose frame (20 Hz / 4 = 5 Hz) plus keyframes.
    Defaults suit a dense hemicycle: about 10 neighbours at full rate, 40 at 5 Hz, the rest 2 Hz.
    speaker_hold: seconds a speaker stays a last-N candidate after its last active frame.
    level_smoothing: weight of a new frame in the smoothed speaker level (0..1).
    recompute_interval: seconds between full recomputations of the routing tables.
    move_tolerance: metres a member may move (from where the distance tiers last placed it)
        before the distances are computed again; below it a recomputation reuses them (at 1000
        members the all-pairs distances cost a relay 35-55 ms each time, 20 % of a core).
    crowd_size / far_key_divisor: in a room of more than ``crowd_size`` members only every
        ``far_key_divisor``-th keyframe of a sender reaches the whole room (0.5 Hz at 4); the
        others reach its near and mid tiers only. Keyframes to everyone grow as N^2: at 1000
        guests they were about 640 kbit/s of every guest's downlink and most relay bytes.
    far_key_members: in a crowd of more than ``far_key_divisor * far_key_members`` members the
        divisor grows with the room to ``ceil(members / far_key_members)`` (8 at 1000 members:
        0.25 Hz per far sender), so the far-tier keyframes a guest gets stay about
        ``2 Hz * far_key_members`` (250 a second) however large the reception: at 1000 guests the
        fixed divisor of 4 left every guest 500 far keyframes a second, which overfilled the 20 ms
        voice bundle (1400 bytes) so that extra pose-only datagrams went out. Near and mid tiers
        keep their rates.
    """

    last_n: int = 4
    audible_radius: float = 3.0
    near_radius: float = 2.5
    mid_radius: float = 8.0
    mid_divisor: int = 4
    speaker_hold: float = 1.0
    level_smoothing: float = 0.3
    recompute_interval: float = 0.2
    move_tolerance: float = 0.1
    crowd_size: int = 200
    far_key_divisor: int = 4
    far_key_members: int = 125

    def far_divisor(self, members: int) -> int:
        """Every how many keyframes of a sender one reaches the far tier in a room of ``members``."""
        if members <= self.crowd_size or self.far_key_divisor <= 1:
            return 1
        return max(self.far_key_divisor, -(-members // max(1, self.far_key_members)))


@dataclass
class Routes:
    """Routing tables, keyed by sender client id; values are receiver client ids."""

    voice: dict[int, list[int]] = field(default_factory=dict)
    near: dict[int, list[int]] = field(default_factory=dict)
    mid: dict[int, list[int]] = field(default_factory=dict)
    selected: set[int] = field(default_factory=set)
    selected_min_level: float = 0.0


_NAN3 = (np.nan, np.nan, np.nan)


def _within(pos: np.ndarray, was: np.ndarray, tol: float) -> bool:
    """Every member within ``tol`` metres (per coordinate) of where it was, and the same ones unknown."""
    unknown = np.isnan(pos)
    if not np.array_equal(unknown, np.isnan(was)):
        return False
    d = np.abs(pos - was)
    d[unknown] = 0.0
    return bool(d.max(initial=0.0) <= tol)
PLENARY_PLACE = ("", "", "")  # (space, interpret, listen) of a member who never sent a Place


class RoomInterest:
    """Per-room member positions, speaker activity and the resulting routes."""

    def __init__(self, settings: InterestSettings | None = None, layout: Any = None) -> None:
        self.settings = settings or InterestSettings()
        self.layout = RoomGeometry.of(layout)
        self.members: list[int] = []
        self.position: dict[int, tuple[float, float, float]] = {}
        # latest pose routing header per member: (flags, seq, x, y, z) with x/y/z in cm
        self.pose_hdr: dict[int, tuple[int, int, int, int, int]] = {}
        self.level: dict[int, float] = {}
        self.last_active: dict[int, float] = {}
        self.floor_holder = 0
        self.far_keys: dict[int, int] = {}  # keyframes seen per sender (crowd thinning, see InterestSettings)
        # explicit places (space, interpret channel, listen channel) of members not in the plain plenary
        self.place: dict[int, tuple[str, str, str]] = {}
        self.place_version = 0  # bumped on every change of a place
        self.routes = Routes()
        self.next_recompute = 0.0
        self.last_recompute = -1e9
        self.dirty = True
        self.generation = 0  # bumped when members join or leave
        self._prev: tuple[int, list[int], np.ndarray, np.ndarray, np.ndarray] | None = None
        # the distance part of the last recomputation: (generation, ids, place_version, positions,
        # same-space, audible, near, mid), reused while nobody moved more than move_tolerance
        self._geo: tuple[int, list[int], int, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None
        self._voice_rows: np.ndarray | None = None  # (selected | floor) of the last recomputation

    def add(self, cid: int, seat: str = "") -> None:
        """Add a member; until its first pose its position is its seat's (when the layout has it)."""
        if cid not in self.members:
            self.members.append(cid)
            self.dirty = True
            self.generation += 1
        if cid not in self.position and self.layout is not None and seat in self.layout.seats:
            x, y, z = self.layout.seats[seat]
            self.position[cid] = (x, y + 1.2, z)

    def remove(self, cid: int) -> None:
        if cid in self.members:
            self.members.remove(cid)
            for d in (self.position, self.pose_hdr, self.level, self.last_active, self.place, self.far_keys):
                d.pop(cid, None)  # type: ignore[attr-defined]
            self.place_version += 1
            if self.floor_holder == cid:
                self.floor_holder = 0
            self.dirty = True
            self.generation += 1

    def set_position(self, cid: int, pos_m: tuple[float, float, float]) -> None:
        self.position[cid] = pos_m
        self.pose_hdr.pop(cid, None)

    def position_of(self, cid: int) -> tuple[float, float, float] | None:
        """The member's head position in metres (latest pose header, else seat), or None."""
        h = self.pose_hdr.get(cid)
        if h is not None:
            return (h[2] * 0.01, h[3] * 0.01, h[4] * 0.01)
        return self.position.get(cid)

    def set_floor(self, holder: int) -> None:
        if holder != self.floor_holder:
            self.floor_holder = holder
            self.dirty = True

    def set_place(self, cid: int, space: str, interpret: str = "", listen: str = "") -> None:
        """Put member ``cid`` in explicit ``space`` with its interpretation channels (routes change)."""
        p = (space, interpret, listen)
        if self.place.get(cid, PLENARY_PLACE) != p:
            if p == PLENARY_PLACE:
                self.place.pop(cid, None)
            else:
                self.place[cid] = p
            self.place_version += 1
            self.dirty = True

    def place_of(self, cid: int) -> tuple[str, str, str]:
        return self.place.get(cid, PLENARY_PLACE)

    def note_voice(self, cid: int, level: int, now: float) -> None:
        """Record a voice frame's RFC 6464 level byte; marks routes dirty for a new speaker."""
        if level & 0x80:
            loud = 127 - (level & 0x7F)
            a = self.settings.level_smoothing
            self.level[cid] = self.level.get(cid, 0.0) * (1 - a) + loud * a
            self.last_active[cid] = now
            r = self.routes
            if cid not in r.selected and (len(r.selected) < self.settings.last_n or self.level[cid] > r.selected_min_level):
                self.dirty = True

    def space_of(self, cid: int) -> str:
        """The isolated zone name the member is in, or "" for the open room (see also
        :meth:`place_of` for its explicit space)."""
        p = self.position_of(cid)
        if p is None or self.layout is None:
            return ""
        z = self.layout.zone_at(p)
        return z.name if z is not None and z.isolated else ""

    def wants_now(self, cid: int, now: float) -> bool:
        """A new loud speaker is not routed yet: recompute at once (at most every 20 ms)."""
        return self.dirty and cid not in self.routes.selected and now >= self.last_recompute + 0.02

    def due(self, now: float) -> bool:
        """Whether routes should be recomputed now (dirty ones at most every 50 ms)."""
        return now >= self.next_recompute or (self.dirty and now >= self.last_recompute + 0.05)

    def _spaces(self, pos: np.ndarray, ids: list[int]) -> np.ndarray:
        """Per member: a number equal for members in the same explicit space and the same isolated
        zone (see :meth:`_zones`), different otherwise."""
        out = self._zones(pos)
        if self.place:
            labels: dict[str, int] = {"": 0}
            place = self.place
            code = np.array([labels.setdefault(place[cid][0], len(labels)) if cid in place else 0 for cid in ids],
                            dtype=np.int64)
            out = out * len(labels) + code
        return out

    def _zones(self, pos: np.ndarray) -> np.ndarray:
        """Per member: index of the innermost isolated zone containing it, -1 for the open room,
        or a unique negative value when its position is unknown and the room has isolated zones."""
        out = np.full(len(pos), -1, dtype=np.int64)
        if self.layout is None:
            return out
        zones = [z for z in self.layout.zones if z.isolated]
        if not zones:
            return out
        # where nothing is known, be conservative: a space of one (hears and is heard by nobody)
        unknown = np.flatnonzero(np.isnan(pos[:, 0]))
        out[unknown] = -2 - unknown
        order = sorted(range(len(zones)), key=lambda k: -float(np.prod(np.subtract(zones[k].max, zones[k].min))))
        with np.errstate(invalid="ignore"):
            for k in order:  # larger first, so inner zones win
                z = zones[k]
                inside = np.all((pos >= np.array(z.min)) & (pos <= np.array(z.max)), axis=1)
                out[inside] = k
        return out

    def _distances(self, pos: np.ndarray, ids: list[int]) -> tuple[Any, ...]:
        """The distance part of the routes: spaces, same-space pairs and the distance tiers."""
        s = self.settings
        n = len(ids)
        sp = self._spaces(pos, ids)
        same = sp[:, None] == sp[None, :]
        np.fill_diagonal(same, False)  # nobody receives their own media
        # squared distances coordinate by coordinate, not as |a|^2 + |b|^2 - 2 a.b: the product
        # a.b is a BLAS matrix product, whose OpenBLAS threads (from about 300 members) spin on
        # the relay's cores after each recompute and doubled its CPU at 400 (tools/bench/relay_replay.py)
        d2 = np.zeros((n, n))
        for k in range(3):
            c = pos[:, k]
            diff = c[:, None] - c[None, :]
            d2 += diff * diff
        d2[np.isnan(d2)] = np.inf
        near_d = d2 <= s.near_radius**2
        near = same & near_d
        mid = same & (d2 <= s.mid_radius**2) & ~near_d
        audible = d2 <= s.audible_radius**2
        return (self.generation, ids, self.place_version, pos, sp, same, audible, near, mid)

    def recompute(self, now: float) -> Routes:
        s = self.settings
        ids = list(self.members)
        n = len(ids)
        self.dirty = False
        self.last_recompute = now
        self.next_recompute = now + s.recompute_interval
        routes = Routes()
        if n == 0:
            self.routes = routes
            return routes
        hdr, posd = self.pose_hdr, self.position
        pos = np.array([(h[2] * 0.01, h[3] * 0.01, h[4] * 0.01) if (h := hdr.get(cid)) is not None else posd.get(cid, _NAN3)
                        for cid in ids], dtype=np.float64)
        geo = self._geo
        if geo is not None and (geo[0] != self.generation or geo[1] != ids or geo[2] != self.place_version
                                or not _within(pos, geo[3], s.move_tolerance)):
            geo = None
        if geo is None:
            geo = self._geo = self._distances(pos, ids)
        _g, _i, _v, _p, sp, same, audible, near, mid = geo
        # last-N per space among recently active speakers
        selected = np.zeros(n, dtype=bool)
        by_space: dict[int, list[tuple[float, int]]] = {}
        place = self.place
        for i, cid in enumerate(ids):
            if cid in place and place[cid][1]:
                continue  # interpreters reach their channel's listeners, not the floor's last N
            if now - self.last_active.get(cid, -1e9) <= s.speaker_hold:
                by_space.setdefault(int(sp[i]), []).append((self.level.get(cid, 0.0), i))
        min_level = 0.0
        for cands in by_space.values():
            cands.sort(reverse=True)
            for _lvl, i in cands[: s.last_n]:
                selected[i] = True
            if len(cands) >= s.last_n:
                min_level = max(min_level, cands[s.last_n - 1][0])
        floor = np.array([cid == self.floor_holder for cid in ids])
        # matrices indexed [sender, listener] (distances and spaces are symmetric)
        prev = self._prev if self._prev is not None and self._prev[0] == self.generation and self._prev[1] == ids else None
        rows_v = selected | floor
        if prev is not None and prev[3] is near and self._voice_rows is not None and np.array_equal(rows_v, self._voice_rows):
            voice = prev[2]  # same distances, same speakers: the same voice routes
        else:
            voice = same & (rows_v[:, None] | audible)
            if any(p[1] for p in place.values()):
                interp = np.array([place.get(cid, PLENARY_PLACE)[1] for cid in ids], dtype=object)
                listen = np.array([place.get(cid, PLENARY_PLACE)[2] for cid in ids], dtype=object)
                rows = np.flatnonzero(interp != "")
                voice[rows] = same[rows] & (listen[None, :] == interp[rows][:, None])
        self._voice_rows = rows_v
        arr = np.array(ids, dtype=np.int64)
        for k, (table, m) in enumerate(((routes.voice, voice), (routes.near, near), (routes.mid, mid))):
            if prev is not None:
                # unchanged senders keep their previous list object
                old_m = prev[2 + k]
                old_table = (self.routes.voice, self.routes.near, self.routes.mid)[k]
                table.update(old_table)
                if m is old_m:
                    continue
                for i in np.flatnonzero((m != old_m).any(axis=1)).tolist():
                    table[ids[i]] = arr[m[i]].tolist()
                continue
            senders, listeners = np.nonzero(m)
            flat = arr[listeners].tolist()
            ends = np.cumsum(np.bincount(senders, minlength=n)).tolist()
            start = 0
            for j, cid in enumerate(ids):
                table[cid] = flat[start : ends[j]]
                start = ends[j]
        self._prev = (self.generation, ids, voice, near, mid)
        routes.selected = {ids[i] for i in np.flatnonzero(selected)}
        routes.selected_min_level = min_level
        self.routes = routes
        return routes
