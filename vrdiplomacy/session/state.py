"""What a delegate knows about the room (sans-I/O): members, their poses, who is speaking, gestures.

:class:`RoomState` takes the client's events (:class:`~vrdiplomacy.net.client_core.MemberUpdate`,
:class:`~vrdiplomacy.net.client_core.PoseUpdate`, :class:`~vrdiplomacy.net.client_core.VoiceReceived`,
:class:`~vrdiplomacy.net.client_core.RoomEventReceived`, :class:`~vrdiplomacy.net.secure.RosterChanged`,
...) with the time ``now`` and keeps one :class:`RemoteMember` per other delegate: identity, seat,
delegation, head and hand poses (scene coordinates; hands are hand centres), a speaking level
driven by the RFC 6464 levels of their voice frames, and the gesture they are making (from
:class:`~vrdiplomacy.gestures.events.GestureEvent` room events). :meth:`RoomState.avatars` turns it
into a renderable :class:`~vrdiplomacy.scene.crowd.Crowd` (avatars as struct-of-arrays).

Who is who (:mod:`vrdiplomacy.session.attribution`): in a secured room (``secured`` True) members
are the chair-signed roster's, keyed by roster index; every frame and event is attributed to the
``member`` whose key opened it, never to the relay's client id, and names and delegations are the
certificates'. Seats come from each member's own signed presence statement. The relay's presence
list only counts participants who are not verified (:meth:`RoomState.unverified`). In a room
without end-to-end encryption members are the relay's, keyed by relay client id, and their
placards say "(unverified)".

Malformed or unexpected input is counted in :attr:`RoomState.counters`, never raised.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from vrdiplomacy.errors import ProtocolError
from vrdiplomacy.gestures.events import GestureEvent
from vrdiplomacy.net.client_core import (
    Connected,
    Disconnected,
    FloorChanged,
    MemberUpdate,
    PoseUpdate,
    ReconnectFailed,
    RelayError,
    RoomEventReceived,
    VoiceReceived,
)
from vrdiplomacy.net.pose import PoseSample
from vrdiplomacy.net.secure import RosterChanged
from vrdiplomacy.session.attribution import Attribution, MemberStated, RelayParticipant
from vrdiplomacy.session.link import LinkSettings, LinkStatus
from vrdiplomacy.scene.avatars import (
    AWAY_LABEL,
    SEATED_EYE_HEIGHT,
    STANDING_EYE_HEIGHT,
    avatar_at,
    delegation_color,
    extrapolate,
    faded,
    roster_tag,
    staleness,
    velocity,
)
from vrdiplomacy.scene.crowd import Crowd, blinks
from vrdiplomacy.scene.layout import Layout, Seat
from vrdiplomacy.scene.math3d import Pose
from vrdiplomacy.scene.model import HandPose

VAD_FLAG = 0x80
# The hand shape a remote avatar shows while making a gesture (poses carry no finger data).
GESTURE_SHAPES: dict[str, tuple[str, str]] = {  # gesture -> (hand side, shape)
    "raise_hand": ("right", "raised"),
    "thumbs_up": ("right", "thumbs_up"),
    "thumbs_down": ("right", "thumbs_down"),
    "point": ("right", "point"),
}


@dataclass
class StateSettings:
    """Room-state settings.

    speaking_floor_dbov: a voice frame this quiet (dBov) shows no halo; ``speaking_full_dbov``
    and louder a full one. speaking_release_s: time constant of the halo's fade after the last
    voice frame. gesture_timeout_s: a gesture whose end never came is cleared after this long.
    icon_min_s: a gesture's icon shows at least this long after its start, however short the
    gesture (the hand shape follows the gesture itself).
    pose_timeout_s: a member whose poses stopped this long ago is reported as ``stale``.
    unverified_label: appended to the placard of a member nobody verified (a room without
    end-to-end encryption, where names and seats are the relay's word).
    pose_hz: the rate others send poses at (the sequence numbers' clock, for velocities).
    extrapolate_s: when poses stop coming, an avatar keeps moving at its last velocity this
    long, then holds still; max_speed: the fastest it is moved that way (m/s).
    fade_after_s / fade_s: an avatar whose newest pose is older than ``fade_after_s`` fades
    towards grey over ``fade_s`` more seconds (it is not frozen in full colour).
    link: how the link to the relay is reported (:class:`~vrdiplomacy.session.link.LinkSettings`).
    """

    speaking_floor_dbov: float = -55.0
    speaking_full_dbov: float = -20.0
    speaking_release_s: float = 0.18
    gesture_timeout_s: float = 10.0
    icon_min_s: float = 1.0
    pose_timeout_s: float = 2.0
    unverified_label: str = " (unverified)"
    pose_hz: float = 20.0
    extrapolate_s: float = 0.3
    max_speed: float = 3.0
    fade_after_s: float = 0.5
    fade_s: float = 1.0
    link: LinkSettings = field(default_factory=LinkSettings)


@dataclass
class StateCounters:
    """Everything :class:`RoomState` received, and what it could not use."""

    members_seen: int = 0
    poses: int = 0
    voice_frames: int = 0
    events: int = 0
    gesture_events: int = 0
    other_events: int = 0
    unknown_source: int = 0
    unattributed: int = 0
    reconnects: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class RemoteMember:
    """Another delegate as this client sees it. Poses are in scene coordinates.

    ``key`` is how the room knows it: the roster index in a secured room, the relay client id
    otherwise. ``client_id`` is the relay handle (in a secured room, the one the member stated
    itself; 0 until it did). ``verified``: identity, delegation and role come from a verified
    certificate in the signed roster (``fingerprint`` names it); otherwise they are the relay's.
    """

    client_id: int
    identity: str
    seat: str
    delegation: str
    key: int = 0
    verified: bool = False
    fingerprint: str = ""
    role: str = ""
    state: str = "present"
    root: Pose = field(default_factory=Pose)
    head: Pose = field(default_factory=Pose)
    left: Pose | None = None
    right: Pose | None = None
    posed: bool = False
    last_pose: float = -1e9
    pose_seq: int = -1  # sequence number of the newest pose
    velocities: tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None] = (None, None, None)  # head, left, right
    level: float = 0.0  # speaking level 0..1 at ``level_t``
    level_t: float = -1e9
    voice_frames: int = 0
    voice_active_frames: int = 0
    poses: int = 0
    gesture: str | None = None
    gesture_hand: str = "none"
    gesture_since: float = 0.0
    gestures: list[str] = field(default_factory=list)
    icon: str | None = None  # the last gesture's icon, shown until ``icon_until`` (or while it lasts)
    icon_until: float = -1e9

    def shown_icon(self, now: float) -> str | None:
        """The gesture icon above this delegate at ``now``: the gesture in progress, else the
        last one until its minimum display time is over."""
        if self.gesture is not None:
            return self.gesture
        return self.icon if now < self.icon_until else None

    def speaking(self, now: float, release_s: float) -> float:
        """The halo level 0..1 at ``now`` (fades after the last voice frame)."""
        dt = max(0.0, now - self.level_t)
        return float(self.level * math.exp(-dt / max(release_s, 1e-3)))

    def mouth(self) -> np.ndarray:
        """Where this delegate's voice comes from (the head position)."""
        return np.asarray(self.head.position, dtype=np.float32)


class RoomState:
    """The room as seen by us: ``me`` is our own key (relay client id from :class:`Connected`, or
    in a secured room our roster index from :class:`RosterChanged`); members are keyed the same way."""

    def __init__(self, layout: Layout | None = None, settings: StateSettings | None = None, secured: bool = False) -> None:
        self.layout = layout
        self.s = settings or StateSettings()
        self.secured = secured
        self.me = 0
        self.members: dict[int, RemoteMember] = {}
        self.left_members: dict[int, RemoteMember] = {}
        self.counters = StateCounters()
        self.attribution = Attribution(secured)
        self.gesture_log: list[tuple[float, int, str, str]] = []  # (now, sender key, gesture, phase)
        self.floor = 0
        self.departed: list[int] = []  # keys of members who left, for the meeting layer (drain it)
        self._connected = False
        self._seats: dict[str, Seat] = {s.seat_id: s for s in layout.seats} if layout else {}
        self.link = LinkStatus(self.s.link)  # our own link to the relay, as the card tells it

    # ------------------------------------------------------------ input

    def key_of(self, ev: object) -> int | None:
        """Whose frame or event ``ev`` is: in a secured room the verified ``member`` (None when
        nothing verified it: such input is not attributed to anyone), else the relay's client id."""
        if self.secured:
            return getattr(ev, "member", None)
        if isinstance(ev, RoomEventReceived):
            return ev.sender
        src = getattr(ev, "source", None)
        return src if isinstance(src, int) else None

    def _attributed(self, ev: object, what: str) -> int | None:
        key = self.key_of(ev)
        if key is None:
            self.counters.unattributed += 1
            return None
        if self.secured:
            label = ev.sender if isinstance(ev, RoomEventReceived) else getattr(ev, "source", 0)
            self.attribution.check_label(what, key, label)
        return key

    def apply(self, ev: object, now: float) -> None:
        """Fold one client event in."""
        c = self.counters
        if isinstance(ev, (Connected, Disconnected, ReconnectFailed, RelayError)):
            self.link.apply(ev, now)
        if isinstance(ev, Connected):
            if self._connected:
                c.reconnects += 1
            self._connected = True
            self.attribution.connected(ev.client_id)
            if not self.secured:
                self.me = ev.client_id
        elif isinstance(ev, RosterChanged):
            if self.secured:
                self._roster(ev, now)
        elif isinstance(ev, MemberStated):
            if self.secured:
                self._presence(ev)
        elif isinstance(ev, MemberUpdate):
            if self.secured:
                self.attribution.relay_member(ev)
                self._link_state(ev)
            else:
                self._member(ev, now)
        elif isinstance(ev, PoseUpdate):
            key = self._attributed(ev, "pose")
            if key is None:
                return
            m = self.members.get(key)
            if m is None:
                c.unknown_source += 1
                return
            c.poses += 1
            m.poses += 1
            self._pose(m, ev.sample, now)
        elif isinstance(ev, VoiceReceived):
            key = self._attributed(ev, "voice")
            if key is not None:
                self.voice(key, ev.level, now)
        elif isinstance(ev, RoomEventReceived):
            c.events += 1
            key = self._attributed(ev, "event")
            if key is not None:
                self._room_event(ev, key, now)
        elif isinstance(ev, FloorChanged):
            self.floor = ev.holder

    def _pose(self, m: RemoteMember, sample: PoseSample, now: float) -> None:
        """A member's new pose, and its velocities from the previous one (for dead reckoning)."""
        gap = (sample.seq - m.pose_seq) & 0xFFFF if m.posed and m.pose_seq >= 0 else 0
        if 1 <= gap <= 10:  # consecutive enough to tell a velocity (a sequence step is 1 / pose_hz)
            dt, vmax = gap / self.s.pose_hz, self.s.max_speed
            pairs = ((m.head, sample.head), (m.left, sample.left), (m.right, sample.right))
            m.velocities = tuple(  # type: ignore[assignment]
                velocity(a.position, b.position, dt, vmax) if a is not None and b is not None else None for a, b in pairs)
        else:
            m.velocities = (None, None, None)
        m.head, m.left, m.right = sample.head, sample.left, sample.right
        m.pose_seq = sample.seq
        m.posed = True
        m.last_pose = now

    def _link_state(self, ev: MemberUpdate) -> None:
        """Secured room: the relay's word that a member's link is down ("away") or back, shown on
        the avatar of the member who stated that relay client id (never used to attribute media)."""
        if ev.state not in ("away", "present") or not ev.client_id:
            return
        for m in self.members.values():
            if m.client_id == ev.client_id:
                m.state = ev.state

    def _roster(self, ev: RosterChanged, now: float) -> None:
        """A verified roster: its members are the room (keyed by index), named by their certificates."""
        added, gone = self.attribution.roster_changed(ev)
        self.me = ev.me if ev.me is not None else -1
        for i in gone:
            m = self.members.pop(i, None)
            if m is not None:
                m.state = "left"
                self.left_members[i] = m
                self.departed.append(i)
        for i in added:
            info = ev.info[i]
            if i == ev.me:
                continue
            self.counters.members_seen += 1
            self.left_members.pop(i, None)
            m = RemoteMember(0, info.name, "", info.name, key=i, verified=True, fingerprint=info.fingerprint, role=info.role)
            self.members[i] = m
        for i, info in ev.info.items():  # roles may change between versions
            if i in self.members:
                self.members[i].role = info.role

    def _presence(self, ev: MemberStated) -> None:
        p = self.attribution.member_stated(ev)
        m = self.members.get(ev.member)
        if p is None or m is None:
            return
        m.client_id = p.client_id
        if p.seat != m.seat:
            m.seat = p.seat
            self._seat_pose(m)

    def unverified(self) -> list[RelayParticipant]:
        """Who the relay shows in a secured room without being a verified member (see
        :meth:`~vrdiplomacy.session.attribution.Attribution.unverified`)."""
        return self.attribution.unverified()

    def voice(self, source: int, level: int, now: float) -> None:
        """A voice frame of member ``source`` (its key) with RFC 6464 level byte ``level`` arrived."""
        m = self.members.get(source)
        if m is None:
            self.counters.unknown_source += 1
            return
        self.counters.voice_frames += 1
        m.voice_frames += 1
        if not level & VAD_FLAG:
            return
        m.voice_active_frames += 1
        dbov = -float(level & 0x7F)
        lo, hi = self.s.speaking_floor_dbov, self.s.speaking_full_dbov
        target = min(1.0, max(0.0, (dbov - lo) / max(hi - lo, 1e-6)))
        current = m.speaking(now, self.s.speaking_release_s)
        m.level = max(target, current)
        m.level_t = now

    def _member(self, ev: MemberUpdate, now: float) -> None:
        if ev.client_id == self.me:
            return
        if ev.state == "left":
            m = self.members.pop(ev.client_id, None)
            if m is not None:
                m.state = "left"
                self.left_members[m.client_id] = m
                self.departed.append(m.client_id)
            return
        m = self.members.get(ev.client_id)
        if m is None:
            m = self.left_members.pop(ev.client_id, None)
        if m is None:
            self.counters.members_seen += 1
            m = RemoteMember(ev.client_id, ev.identity, ev.seat, self._delegation(ev.identity, ev.seat), key=ev.client_id)
            self._seat_pose(m)
        elif m.seat != ev.seat:
            m.seat = ev.seat
            m.delegation = self._delegation(ev.identity, ev.seat)
            self._seat_pose(m)
        m.identity = ev.identity
        m.state = ev.state
        self.members[m.client_id] = m

    def _delegation(self, identity: str, seat: str) -> str:
        st = self._seats.get(seat)
        if st is not None and st.delegation:
            return st.delegation
        return identity

    def _seat_pose(self, m: RemoteMember) -> None:
        """Until its first pose, a member sits at its seat, looking the seat's way."""
        st = self._seats.get(m.seat)
        if st is None:
            return
        m.root = st.pose()
        if not m.posed:
            m.head = st.eye_pose(SEATED_EYE_HEIGHT)

    def _room_event(self, ev: RoomEventReceived, key: int, now: float) -> None:
        try:
            g = GestureEvent.parse(ev.payload)
        except ProtocolError:
            self.counters.other_events += 1
            return
        self.counters.gesture_events += 1
        name = g.gesture.value
        self.gesture_log.append((now, key, name, g.phase))
        m = self.members.get(key)
        if m is None:
            return
        if g.phase == "start":
            m.gesture, m.gesture_hand, m.gesture_since = name, g.hand.value, now
            m.icon, m.icon_until = name, now + self.s.icon_min_s
            m.gestures.append(name)
        elif m.gesture == name:
            m.gesture = None

    # ------------------------------------------------------------ output

    def expire(self, now: float) -> None:
        """Clear gestures whose end never came."""
        for m in self.members.values():
            if m.gesture is not None and now - m.gesture_since > self.s.gesture_timeout_s:
                m.gesture = None

    def speaking(self, now: float) -> dict[int, float]:
        """Speaking level 0..1 of every member that has one above zero."""
        out = {}
        for cid, m in self.members.items():
            v = m.speaking(now, self.s.speaking_release_s)
            if v > 0.01:
                out[cid] = v
        return out

    def positions(self) -> dict[int, np.ndarray]:
        """Where each present member's voice comes from (head position, seat until the first pose)."""
        return {cid: m.mouth() for cid, m in self.members.items() if m.state == "present" and (m.posed or m.seat in self._seats)}

    def avatars(self, now: float) -> Crowd:
        """Renderable avatars of every member in the room (a struct-of-arrays :class:`Crowd`, one row
        per member), halos and gesture icons on, every listener's eyes on the loudest speaker.

        When a member's poses stop coming its avatar keeps moving at its last velocity for
        ``extrapolate_s`` seconds, then holds and fades to grey (``fade_after_s``, ``fade_s``);
        a member whose link is down (the relay says "away") is grey, labelled "(away)", silent."""
        self.expire(now)
        s = self.s
        shown = [(cid, m) for cid, m in sorted(self.members.items())
                 if m.state in ("present", "away") and (m.posed or m.seat in self._seats)]
        out = Crowd.empty(len(shown))
        for row, (cid, m) in enumerate(shown):
            away = m.state == "away"
            seated = m.seat in self._seats
            if seated:
                a = avatar_at(cid, m.delegation, m.root.position, _yaw(m.root), seated=True)
            else:  # no seat in this layout: standing where the head is
                feet = np.asarray(m.head.position, np.float32) - np.array([0.0, STANDING_EYE_HEIGHT, 0.0], np.float32)
                a = avatar_at(cid, m.delegation, feet, _yaw(m.head), seated=False)
            age = now - m.last_pose if m.posed else 0.0
            a.color = faded(delegation_color(m.delegation), 1.0 if away else staleness(age, s.fade_after_s, s.fade_s))
            if not m.verified:  # the placard says whose word the name is
                a.delegation = m.delegation + self.s.unverified_label
            if away:
                a.delegation += AWAY_LABEL
            vh, vl, vr = m.velocities if not away else (None, None, None)
            horizon = s.extrapolate_s
            a.head = Pose(extrapolate(m.head.position, vh, age, horizon), np.asarray(m.head.orientation, np.float32).copy())
            if m.left is not None:
                a.left = HandPose(Pose(extrapolate(m.left.position, vl, age, horizon), m.left.orientation), "open", True)
            if m.right is not None:
                a.right = HandPose(Pose(extrapolate(m.right.position, vr, age, horizon), m.right.orientation), "open", True)
            a.speaking = 0.0 if away else m.speaking(now, self.s.speaking_release_s)
            a.gesture_icon = m.shown_icon(now)
            if m.gesture in GESTURE_SHAPES:
                side, shape = GESTURE_SHAPES[m.gesture]
                hand = a.right if side == "right" else a.left
                hand.shape = shape
            out.set_row(row, a)
            out.set_tag(row, roster_tag(m.identity, m.delegation, m.role, m.verified))  # names from the roster
        out.look_at_speaker()
        out.blink[:] = blinks(now, out.ids)
        return out

    def summary(self, now: float) -> list[dict[str, object]]:
        """One line of plain data per member ever seen (present or left)."""
        rows = []
        for m in sorted([*self.members.values(), *self.left_members.values()], key=lambda m: m.key):
            rows.append({
                "key": m.key, "client_id": m.client_id, "identity": m.identity, "seat": m.seat, "delegation": m.delegation,
                "verified": m.verified, "fingerprint": m.fingerprint, "role": m.role,
                "state": m.state, "poses": m.poses, "voice_frames": m.voice_frames,
                "voice_active_frames": m.voice_active_frames, "gestures": list(m.gestures),
                "pose_stale": bool(now - m.last_pose > self.s.pose_timeout_s),
            })
        return rows


def _yaw(p: Pose) -> float:
    f = p.forward()
    return math.degrees(math.atan2(-float(f[0]), -float(f[2])))
