"""Media forwarding of the sans-I/O relay core (a mixin of :class:`~vrdiplomacy.net.relay_core.RelayCore`).

The relay opens the hop-by-hop seal of each uplink datagram, reads only its routing header and
forwards the opaque rest in per-receiver *bundles* (one sealed downlink datagram holding several
entries): voice goes out at once (taking waiting pose entries along; in a crowd, a room of more
than ``interest.crowd_size`` members, it waits up to ``voice_gather`` so that several speakers'
frames share one bundle per receiver); pose entries wait at most ``pose_hold`` for a voice
datagram to ride along with; keyframes reach the whole room in one batch per flush tick (in a
crowd every ``far_key_divisor``-th one of a sender; the others its near and mid tiers only),
cut once per tick into pieces that fit a bundle.

This is the relay's hot path (about 4 000 datagrams in and 10 000 to 30 000 out per second for
200 delegates), so it avoids per-datagram object churn: one ``struct`` unpack per header, one
combined rate-limit bucket, receiver lists resolved to sessions (and their pending lists'
``append`` methods) once per routing change rather than per datagram, one method call per
(entry, receiver) pair, keyframes joined once per tick for the whole room. A voice bundle
that would exceed ``bundle_max`` carries its voice and the pose entries that fit, and keeps the
later pose entries (in order, so a delta never overtakes its keyframe) for the receiver's next
bundle; their hold restarts, and their reported latency still counts from their arrival. Only a
pose bundle at its deadline, or voice alone over the limit, is split into several datagrams.

Pose timing: a flush tick runs every ``pose_tick`` (at most ``pose_hold / 2``). A tick stamps
each receiver whose pending bundle holds entries no tick has seen yet with the arrival time of
the first pose fanned out since the previous tick (never later than its own entries' arrival),
and sends the bundles stamped at least ``pose_hold - pose_tick`` before. So a pose entry waits
at most about ``pose_hold`` (plus one such hold if it was carried over) and, with a short tick,
nearly that long for a voice frame to ride along with (voice every 20 ms then takes all poses
along and no pose-only bundle is sent); the reported pose forwarding latency errs on the high
side (by at most one tick, more for a bundle that holds carried entries).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cryptography.exceptions import InvalidTag

from vrdiplomacy.net import wire
from vrdiplomacy.net.hop import NONCE
from vrdiplomacy.net.interest import Routes
from vrdiplomacy.net.relay_state import RelayCounters, RelaySettings, Room, Route, Session

_ENTRY_PACK = wire.ENTRY_HDR.pack
_NONCE_PACK = NONCE.pack
_POSE_UNPACK = wire.POSE_HDR.unpack_from
_POSE_SIZE = wire.POSE_HDR.size
_MEDIA_UNPACK = wire.MEDIA_HEADER.unpack_from
_HDR_PACK = wire.MEDIA_HEADER.pack
_HDR = wire.MEDIA_HEADER_SIZE
_MIN_DGRAM = _HDR + 16
_MAX_DGRAM = wire.MAX_DATAGRAM
_VERSION = wire.VERSION
_VOICE, _POSE, _BIND = wire.DG_VOICE, wire.DG_POSE, wire.DG_BIND
_BUNDLE = wire.DG_BUNDLE
_KEY = wire.POSE_KEY
_NOT_FLAGS = ~wire.POSE_KEY & 0xFF
_DOWN_OVERHEAD = 58  # header, tag and UDP/IPv4 bytes counted against the downlink budget
_ENTRY_UNPACK = wire.ENTRY_HDR.unpack_from
_ENTRY_SIZE = wire.ENTRY_HDR.size
Datagram = tuple[bytes, Any, float, float]  # data, address, first voice time, first pose time


class RelayMedia:
    """Uplink datagram handling, interest routing, bundling and sealing of downlink datagrams."""

    s: RelaySettings
    counters: RelayCounters
    sessions: dict[int, Session]
    rooms: dict[str, Room]
    _withheld: Any
    _voice_blocked: Any  # (Session) -> bool, from RelayMeeting
    _fed_rooms: dict[str, Any]  # federated rooms (RelayFederation); empty when not federated
    _fed_media_out: Any

    def _init_media(self) -> None:
        self._dgrams: list[Datagram] = []
        self._voice_out: list[tuple[list[Session], float]] = []  # receivers of voice waiting to go out
        self._voice_held: list[tuple[list[Session], float]] = []  # crowd voice gathering (voice_gather)
        self._voice_due = 0.0  # when the held voice goes out (0: none held)
        self._pose_since = 0.0  # arrival of the first pose fanned out since the last flush tick
        self._poses_waiting = False  # stamped pose entries wait for a later tick
        self._next_pose_flush = 0.0
        self._pose_rest: list[Session] = []  # receivers of a pose wave left for the next flush (pose_wave)

    def receive_datagram(self, data: bytes, addr: Any, now: float) -> None:
        """One UDP datagram from ``addr``: forward it, answer a bind, or count why it was dropped."""
        c = self.counters
        c.datagrams_in += 1
        n = len(data)
        c.bytes_in += n
        if n < _MIN_DGRAM or n > _MAX_DGRAM:
            c.dropped_malformed += 1
            return
        v, t, cid, ctr = _MEDIA_UNPACK(data)
        if v != _VERSION or not _VOICE <= t <= _BIND:
            c.dropped_unknown += 1
            return
        s = self.sessions.get(cid)
        if s is None or s.opener is None:
            c.dropped_unknown_client += 1
            return
        op = s.opener
        w = op.window
        if not w.check(ctr):
            c.dropped_replay += 1
            return
        try:
            pt = op.aead.decrypt(_NONCE_PACK(op.direction, ctr), data[_HDR:], data[:_HDR])
        except InvalidTag:
            c.dropped_auth += 1
            return
        w.accept(ctr)
        if not s.up.take(n, now):
            c.dropped_rate += 1
            return
        if s.addr != addr:
            if s.addr is not None:
                c.address_changes += 1
            s.addr = addr
        if t == _POSE:
            if len(pt) < _POSE_SIZE or pt[0] & _NOT_FLAGS:
                c.dropped_malformed += 1
                return
            c.poses_in += 1
            hdr = _POSE_UNPACK(pt)
            room = self.rooms[s.room]
            room.interest.pose_hdr[cid] = hdr
            entry = _ENTRY_PACK(_POSE, cid, len(pt)) + pt
            if self._fed_rooms:
                self._fed_media_out(s.room, _POSE, entry)
            if hdr[0] & _KEY:
                self._keyframe(room, cid, entry, now)
                return
            near = room.near.get(cid)
            if near is not None:
                for ap in near[2]:
                    ap(entry)
                c.poses_forwarded += len(near[2])
                if not self._pose_since:
                    self._pose_since = now
            if hdr[1] % room.interest.settings.mid_divisor == 0:
                mid = room.mid.get(cid)
                if mid is not None:
                    for ap in mid[2]:
                        ap(entry)
                    c.poses_forwarded += len(mid[2])
                    if not self._pose_since:
                        self._pose_since = now
        elif t == _VOICE:
            if len(pt) < 3:
                c.dropped_malformed += 1
                return
            c.voice_in += 1
            if self._voice_blocked(s):  # muted by the chair, or a role that may not speak (relay_meeting)
                return
            room = self.rooms[s.room]
            ri = room.interest
            ri.note_voice(cid, pt[0], now)
            if ri.dirty and ri.wants_now(cid, now):
                self._recompute(room, now)
            route = room.voice.get(cid)
            if self._fed_rooms:
                self._fed_media_out(s.room, _VOICE, _ENTRY_PACK(_VOICE, cid, len(pt)) + pt)
            if route is not None:
                entry = _ENTRY_PACK(_VOICE, cid, len(pt)) + pt
                for ap in route[2]:
                    ap(entry)
                c.voice_forwarded += len(route[2])
                self._voice_to(ri, route[1], now)
            if ri.place:
                self._withheld(room, cid)  # isolation of spaces, counted (net/relay_spaces.py)
        else:
            assert s.sealer is not None
            self._dgrams.append((s.sealer.seal(wire.DG_BIND_ACK, b""), addr, 0.0, 0.0))
            c.datagrams_out += 1

    def _voice_to(self, ri: Any, receivers: list[Session], now: float, gather: bool = True) -> None:
        """Voice entries appended for ``receivers`` go out at this flush, or in a crowd once the
        gathering window (``voice_gather``) of the first held frame ends. Without ``gather`` (voice
        another relay node already gathered) a frame joins an open window but never opens one."""
        if self.s.voice_gather > 0 and len(ri.members) > ri.settings.crowd_size and (gather or self._voice_due):
            self._voice_held.append((receivers, now))
            if not self._voice_due:
                self._voice_due = now + self.s.voice_gather
        else:
            self._voice_out.append((receivers, now))

    def _keyframe(self, room: Room, cid: int, entry: bytes, now: float) -> None:
        """A keyframe (about 2 Hz) goes to the whole room in one batch per flush tick; in a crowd
        (more than ``crowd_size`` members) only every ``far_key_divisor``-th one of a sender does
        (more in a larger crowd: ``InterestSettings.far_divisor``), the others reach its near and
        mid tiers only (so a far guest sees it at 0.5 Hz, 0.25 Hz among 1000)."""
        ri = room.interest
        div = ri.settings.far_divisor(len(ri.members))
        if div > 1:
            fk = ri.far_keys
            k = fk.get(cid, 0)
            fk[cid] = k + 1
            if k % div:
                c = self.counters
                for table in (room.near, room.mid):
                    route = table.get(cid)
                    if route is not None:
                        for ap in route[2]:
                            ap(entry)
                        c.poses_forwarded += len(route[2])
                        if not self._pose_since:
                            self._pose_since = now
                return
        if not room.keys:
            room.keys_t = now
        room.keys.append(entry)
        room.keys_size += len(entry)

    # ------------------------------------------------------------ routing

    def _recompute(self, room: Room, now: float) -> None:
        """Recompute interest and resolve changed receiver lists to sessions."""
        routes: Routes = room.interest.recompute(now)
        sessions = self.sessions

        def resolve(table: dict[int, list[int]], old: dict[int, Route]) -> dict[int, Route]:
            out: dict[int, Route] = {}
            for src, dst in table.items():
                if not dst:
                    continue
                prev = old.get(src)
                if prev is not None and prev[0] is dst:
                    out[src] = prev
                else:
                    rs = [sessions[r] for r in dst if r in sessions]
                    out[src] = (dst, rs, [r.append for r in rs])
            return out

        room.voice = resolve(routes.voice, room.voice)
        room.near = resolve(routes.near, room.near)
        room.mid = resolve(routes.mid, room.mid)

    # ------------------------------------------------------------ bundling

    def _emit(self, r: Session, now: float, tv: float) -> None:
        """Seal what ``r`` has pending into one downlink datagram (more if over ``bundle_max``)."""
        self._emit_all((r,), now, tv)

    def _emit_all(self, receivers: Iterable[Session], now: float, tv: float) -> None:
        """:meth:`_emit` for each receiver with something pending (the per-datagram hot loop)."""
        c = self.counters
        limit = self.s.bundle_max
        push = self._dgrams.append
        n_out = n_bytes = n_drop = 0
        join = b"".join
        hdr_pack, nonce_pack, version, bundle = _HDR_PACK, _NONCE_PACK, _VERSION, _BUNDLE
        for r in receivers:
            pending = r.pending
            if not pending:
                continue
            tp = r.pending_pose_born or r.pending_pose_first
            parts: Iterable[bytes] | None = None
            if sum(map(len, pending)) <= limit:  # joined only when it goes out whole
                pt = join(pending)
                pending.clear()
                r.pending_pose_first = r.pending_pose_born = 0.0
            elif tv and not r.pending_pose_born:
                # a full voice bundle: voice and the pose entries that fit go now, later ones ride
                # with the next bundle instead of a datagram of their own (once: a bundle that
                # already holds carried entries is split, so no entry waits more than one carry)
                part, carry = _fit(pending, limit)
                parts = (part,) if carry is not None else _split(pending, limit)
                pending.clear()
                if carry:
                    pending.extend(carry)
                    r.pending_pose_born = tp or self._pose_since or now
                    r.pending_pose_first = now
                else:
                    r.pending_pose_first = r.pending_pose_born = 0.0
            else:
                parts = _split(pending, limit)
                pending.clear()
                r.pending_pose_first = r.pending_pose_born = 0.0
            sealer, addr = r.sealer, r.addr
            if sealer is None or addr is None:
                continue
            if parts is None:  # the common case: one datagram
                if not r.down_bps.take(len(pt) + _DOWN_OVERHEAD, now):
                    n_drop += 1
                    continue
                # HopSealer.seal inlined (same header, nonce and counter)
                ctr = sealer.counter = sealer.counter + 1
                hdr = hdr_pack(version, bundle, sealer.client_id, ctr)
                data = hdr + sealer.aead.encrypt(nonce_pack(sealer.direction, ctr), pt, hdr)
                push((data, addr, tv, tp))
                n_out += 1
                n_bytes += len(data)
                continue
            take = r.down_bps.take
            for part in parts:
                if not take(len(part) + _DOWN_OVERHEAD, now):
                    n_drop += 1
                    continue
                ctr = sealer.counter = sealer.counter + 1
                hdr = hdr_pack(version, bundle, sealer.client_id, ctr)
                data = hdr + sealer.aead.encrypt(nonce_pack(sealer.direction, ctr), part, hdr)
                push((data, addr, tv, tp))
                n_out += 1
                n_bytes += len(data)
        c.datagrams_out += n_out
        c.bytes_out += n_bytes
        c.dropped_downlink_budget += n_drop

    def _flush_bundles(self, now: float) -> None:
        """Voice goes out at once (taking waiting poses along); poses wait at most ``pose_hold``."""
        vo = self._voice_out
        if self._voice_due and now >= self._voice_due - 1e-4:  # (a timer may fire a little early)
            vo.extend(self._voice_held)
            self._voice_held.clear()
            self._voice_due = 0.0
        if vo:
            if len(vo) == 1:
                self._emit_all(vo[0][0], now, vo[0][1])
            else:
                # frames of several speakers read together: one bundle per receiver (a receiver's
                # carried-over pose entries then wait for the next one), stamped with the earliest
                self._emit_all(dict.fromkeys(r for receivers, _tv in vo for r in receivers), now, min(tv for _r, tv in vo))
            vo.clear()
        wave = self.s.pose_wave
        if self._pose_rest:  # the rest of a large pose wave, after the loop has read what arrived
            rest = self._pose_rest
            self._pose_rest = rest[wave:]
            live = self.sessions
            self._emit_all([r for r in rest[:wave] if live.get(r.client_id) is r], now, 0.0)
        if now < self._next_pose_flush:
            return
        hold = self.s.pose_hold
        tick = min(self.s.pose_tick, hold * 0.5)
        self._next_pose_flush = now + tick
        mark, self._pose_since = self._pose_since, 0.0
        for room in self.rooms.values():
            if room.keys:
                self._flush_keys(room, now)  # sets _poses_waiting
        if not mark and not self._poses_waiting:
            return
        mark = mark or now
        due = now - hold + tick + 1e-4  # the next tick would be past the hold
        waiting = False
        ready: list[Session] = []
        for r in self.sessions.values():
            if r.pending:
                first = r.pending_pose_first
                if not first:
                    r.pending_pose_first = mark
                    waiting = True
                elif first <= due:
                    ready.append(r)
                else:
                    waiting = True
        if len(ready) > wave:
            self._pose_rest += ready[wave:]
            del ready[wave:]
        if ready:
            self._emit_all(ready, now, 0.0)
        self._poses_waiting = waiting

    def _flush_keys(self, room: Room, now: float) -> None:
        """The room's waiting keyframes, joined once, go to every member's pending bundle."""
        keys, t0 = room.keys, room.keys_t
        room.keys, room.keys_size = [], 0
        self.counters.poses_forwarded += len(keys) * max(0, len(room.members) - 1)
        pieces = key_pieces(b"".join(keys), self.s.bundle_max)
        for r in room.members.values():
            if r.addr is None:
                continue
            r.pending.extend(pieces)
            first = r.pending_pose_first
            if not first or (t0 < first and not r.pending_pose_born):  # carried entries keep their hold
                r.pending_pose_first = t0
        self._poses_waiting = True


def key_pieces(chunk: bytes, limit: int) -> list[bytes]:
    """Joined keyframe entries cut once per tick, for every receiver, into pieces of at most
    ``limit`` bytes (at entry boundaries): a bundle over the limit is then split without
    cutting the same chunk again for each of hundreds of receivers."""
    return _cut(chunk, limit) if len(chunk) > limit else [chunk]


def _fit(items: list[bytes], limit: int) -> tuple[bytes, list[bytes] | None]:
    """One bundle of at most ``limit`` bytes: every voice entry, then pose items in their order
    while they fit (joined keyframes cut at entry boundaries); the rest, in order, to carry over.
    ``None`` for the carry when the voice entries alone do not fit (split instead)."""
    head = [i for i in items if i[0] == _VOICE]
    size = sum(map(len, head))
    if size > limit:
        return b"", None
    append = head.append
    for k, item in enumerate(items):
        n = len(item)
        if size + n <= limit:
            if item[0] != _VOICE:
                append(item)
                size += n
            continue
        if item[0] == _VOICE:
            continue
        # the first pose item that does not fit whole: its entries that fit, then all later pose
        # items go to the carry (once one entry is carried, every later one is, to keep the order)
        carry: list[bytes] = []
        pieces = _cut(item, limit - size) if n > _ENTRY_SIZE else [item]
        for j, piece in enumerate(pieces):
            if size + len(piece) > limit:
                carry = pieces[j:]
                break
            append(piece)
            size += len(piece)
        carry += [i for i in items[k + 1:] if i[0] != _VOICE]
        return b"".join(head), carry
    return b"".join(head), []


def _split(items: list[bytes], limit: int) -> list[bytes]:
    """Group pending items (entries, or joined keyframe entries) into parts of at most ``limit`` bytes."""
    parts: list[bytes] = []
    cur: list[bytes] = []
    size = 0
    for item in items:
        n = len(item)
        if n <= limit:
            if size + n > limit and cur:
                parts.append(b"".join(cur))
                cur, size = [item], n
            else:
                cur.append(item)
                size += n
            continue
        for piece in _cut(item, limit):  # joined keyframes over the limit: cut at entry boundaries
            m = len(piece)
            if size + m > limit and cur:
                parts.append(b"".join(cur))
                cur, size = [], 0
            cur.append(piece)
            size += m
    if cur:
        parts.append(b"".join(cur))
    return parts


def _cut(chunk: bytes, limit: int) -> list[bytes]:
    """Cut joined entries at entry boundaries into pieces of at most ``limit`` bytes."""
    pieces: list[bytes] = []
    start = pos = 0
    n = len(chunk)
    while pos < n:
        end = pos + _ENTRY_SIZE + _ENTRY_UNPACK(chunk, pos)[2]
        if end - start > limit and pos > start:
            pieces.append(chunk[start:pos])
            start = pos
        pos = end
    pieces.append(chunk[start:])
    return pieces
