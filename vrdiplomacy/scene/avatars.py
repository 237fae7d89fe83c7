"""Populate a scene with avatars from its layout's seats (deterministic: same input, same crowd).

Colours come from the delegation name (a hue from its CRC-32, so a delegation keeps its colour
in every scene); heads look slightly around, hands rest on the desk in front.

Also: :func:`pose_gesture` (a still pose and icon for a named gesture, for renders and tests),
:func:`assign_gestures` (deterministic gestures over a crowd), :func:`local_hands` (the
viewer's own hands from an :class:`~vrdiplomacy.input.frame.InputFrame`, drawn first person), and
what a remote avatar does when its poses stop coming: it keeps moving a short while at its last
velocity (:func:`velocity`, :func:`extrapolate`), then holds and fades to grey
(:func:`staleness`, :func:`faded`); one whose link is down is grey and labelled "(away)".

Name tags: :func:`roster_tag` makes a row's :class:`~vrdiplomacy.scene.crowd.Tag` from what the
signed roster says about a member (identity, delegation, role, verified); :func:`sample_tags`
gives renders and goldens deterministic stand-in people (names, titles) for their delegates, their
names from the naming tradition of each delegation (``assets/data/stand_in_names.json``:
:func:`stand_in_name`).
"""

from __future__ import annotations

import colorsys
import json
import math
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from vrdiplomacy.errors import AssetError, ConfigError
from vrdiplomacy.input.frame import HandFrame, HandJoints, InputFrame, Joint
from vrdiplomacy.scene.crowd import GESTURES, Crowd, Tag
from vrdiplomacy.scene.layout import ASSETS_DIR, Layout, Seat
from vrdiplomacy.scene.math3d import (
    Pose,
    quat_from_yaw_pitch_roll,
    quat_mul,
    quat_rotate,
    quat_to_mat3,
)
from vrdiplomacy.scene.model import RGB, Avatar, HandPose, Scene

SEATED_EYE_HEIGHT = 1.2
STANDING_EYE_HEIGHT = 1.65


@lru_cache(maxsize=1)
def _flag_colours() -> dict[str, RGB]:
    """Delegation code, name and placard (upper case) -> its flag's colour, linear RGB."""
    from vrdiplomacy.errors import AssetError
    from vrdiplomacy.scene.delegations import load_delegations

    try:
        table = load_delegations()
    except AssetError:  # no asset data (a bare checkout): every delegation gets a derived colour
        return {}
    out: dict[str, RGB] = {}
    for d in table:
        lin = (d.colour[0] ** 2.2, d.colour[1] ** 2.2, d.colour[2] ** 2.2)
        for key in (d.code, d.name, d.placard):
            out[key.upper()] = lin
    return out


@lru_cache(maxsize=4096)
def delegation_color(name: str) -> RGB:
    """A delegation's colour, linear RGB, fixed by its name: a listed delegation's (code, name or
    placard) is its flag's colour (``assets/data/delegations.json``: Japan red, France blue), so
    its delegates' ties and pins wear the national colour; any other gets a saturated, mid-bright
    hue from its name."""
    listed = _flag_colours().get(name.strip().upper())
    if listed is not None:
        return listed
    h = zlib.crc32(name.encode("utf-8"))
    hue = (h & 0xFFFF) / 65536.0
    sat = 0.55 + ((h >> 16) & 0xFF) / 255.0 * 0.35
    val = 0.55 + ((h >> 24) & 0xFF) / 255.0 * 0.35
    r, g, b = colorsys.hsv_to_rgb(hue, sat, val)
    return (r**2.2, g**2.2, b**2.2)  # sRGB-ish to linear


def _jitter(seed: int, k: int) -> float:
    """A deterministic value in [-1, 1) for (seed, k)."""
    return (zlib.crc32(f"{seed}:{k}".encode()) & 0xFFFF) / 32768.0 - 1.0


def avatar_at(avatar_id: int, delegation: str, position: Iterable[float], yaw_deg: float, seated: bool = True) -> Avatar:
    """A delegate at ``position`` (floor level) facing ``yaw_deg``, head and hands posed plausibly."""
    pos = np.asarray(list(position), dtype=np.float32)
    root = Pose.from_yaw(pos, yaw_deg)
    eye = SEATED_EYE_HEIGHT if seated else STANDING_EYE_HEIGHT
    head_yaw = yaw_deg + 12.0 * _jitter(avatar_id, 1)
    head_pitch = -6.0 + 5.0 * _jitter(avatar_id, 2)
    head = Pose(pos + np.array([0.0, eye, 0.0], dtype=np.float32),
                quat_from_yaw_pitch_roll(math.radians(head_yaw), math.radians(head_pitch)))
    hands = []
    for side in (-1.0, 1.0):
        if seated:  # resting on the desk in front
            local = (side * 0.2, 0.80, -0.34 + 0.04 * _jitter(avatar_id, 3 + int(side)))
            q = quat_mul(root.orientation, quat_from_yaw_pitch_roll(math.radians(-side * 15.0), 0.0, 0.0))
            hands.append(HandPose(Pose(root.transform_point(local), q), "open", True))
        else:
            local, (yaw, pitch, roll), shape = _standing_hand(avatar_id, side)
            q = quat_mul(root.orientation, quat_from_yaw_pitch_roll(math.radians(yaw), math.radians(pitch), math.radians(roll)))
            hands.append(HandPose(Pose(root.transform_point(local), q), shape, True))
    return Avatar(
        avatar_id=avatar_id,
        delegation=delegation,
        root=root,
        head=head,
        left=hands[0],
        right=hands[1],
        color=delegation_color(delegation),
        seated=seated,
    )


def _standing_hand(avatar_id: int, side: float) -> tuple[tuple[float, float, float], tuple[float, float, float], str]:
    """A standing delegate's resting hand (root-space centre, yaw/pitch/roll in degrees, shape):
    one of three relaxed stances, fixed by the id: arms hanging loosely at the sides, hands
    clasped in front, or one hand at the side and the other held at the waist. Palms face the
    body, the thumbs forward; the elbows ease a little (the hands sit above full reach)."""
    j = 0.012 * _jitter(avatar_id, 11 + int(side))
    stance = avatar_id % 3
    roll = 90.0 * side * -1.0  # the palm towards the body (the left hand's palm to +X)
    if stance == 1:  # hands clasped in front of the waist, one over the other
        return ((side * 0.025, 0.875 + 0.01 * side, -0.155 - 0.008 * side), (side * 25.0, -62.0, roll), "relaxed")
    if stance == 2 and side > 0:  # the right hand held at the waist, as if holding a glass
        return ((0.12, 1.00 + j, -0.26), (-20.0, 5.0, roll), "grip")
    # at the sides, the elbows a little bent and the hands a touch forward of the thighs (arms
    # hanging plumb from the shoulders make a standing figure a mannequin)
    return ((side * (0.215 + j), 0.885 + j, -0.085), (side * 6.0, -72.0, roll), "relaxed")


def _seat_delegation(s: Seat) -> str:
    if s.delegation:
        return s.delegation
    return f"Delegation {s.side}" if s.side else f"Delegate {s.index + 1}"


ROLES = ("Ambassador", "Minister for Foreign Affairs", "Deputy Permanent Representative", "Counsellor",
         "First Secretary", "Legal Adviser")
# stand-in people for renders and goldens (no real persons): given-name initial and a family name;
# this mixed pool serves a delegation that assets/data/stand_in_names.json does not list
SAMPLE_FAMILY = ("Okafor", "Lindqvist", "Haddad", "Moreau", "Tanaka", "Mensah", "Kowalski", "Ferreira",
                 "Nakamura", "Achterberg", "Rahman", "Castellanos", "Ivanova", "Osei", "Delacroix", "Petrova")
SAMPLE_INITIALS = "AMJLKSHEDRNTCBPV"
STAND_IN_NAMES_FILE = ASSETS_DIR / "data" / "stand_in_names.json"


@dataclass(frozen=True)
class NamePool:
    """The stand-in names of one naming tradition: its ``label``, the given-name ``initials``
    that occur in it (no "V." in Japanese) and common ``family`` names."""

    label: str
    initials: str
    family: tuple[str, ...]


MIXED_POOL = NamePool("mixed (a delegation no tradition is listed for)", SAMPLE_INITIALS, SAMPLE_FAMILY)


@dataclass(frozen=True)
class StandInNames:
    """``traditions`` (name -> :class:`NamePool`) and ``delegations`` (ISO alpha-3 code ->
    tradition name), as ``assets/data/stand_in_names.json`` lists them."""

    traditions: dict[str, NamePool]
    delegations: dict[str, str]

    def pool(self, code: str) -> NamePool:
        """The pool of delegation ``code``; :data:`MIXED_POOL` for one not listed."""
        tradition = self.delegations.get(code.strip().upper())
        return MIXED_POOL if tradition is None else self.traditions[tradition]


def load_stand_in_names(path: str | Path = STAND_IN_NAMES_FILE) -> StandInNames:
    """The stand-in name pools of ``path``; AssetError when it is missing or malformed (a pool
    without names, a name that is not plain ASCII text, a delegation of an unknown tradition)."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        traditions = {
            str(k): NamePool(str(v["label"]), str(v["initials"]), tuple(str(f) for f in v["family"]))
            for k, v in data["traditions"].items()
        }
        delegations = {str(c).upper(): str(t) for c, t in data["delegations"].items()}
    except FileNotFoundError:
        raise AssetError(f"{p}: stand-in names file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise AssetError(f"{p}: cannot read stand-in names ({e})") from None
    except (KeyError, TypeError, AttributeError, ValueError) as e:
        raise AssetError(f"{p}: malformed stand-in names ({type(e).__name__}: {e})") from None
    for name, pool in traditions.items():
        if not pool.family or not pool.initials.isascii() or not pool.initials.isalpha() or not pool.initials.isupper():
            raise AssetError(f"{p}: tradition '{name}' needs family names and upper-case initials")
        bad = [f for f in pool.family if not f.isascii() or not f.isprintable() or f.strip() != f or not f]
        if bad:  # the tag font has no accented letters
            raise AssetError(f"{p}: tradition '{name}' has names that are not plain ASCII text: {bad}")
    unknown = sorted({t for t in delegations.values() if t not in traditions})
    if unknown:
        raise AssetError(f"{p}: delegations of unknown traditions {unknown}")
    return StandInNames(traditions, delegations)


@lru_cache(maxsize=1)
def _stand_in_names() -> tuple[StandInNames, dict[str, str]]:
    """The shipped pools and delegation code, name and placard (upper case) -> code; without
    the asset data (a bare checkout) every delegation gets the mixed pool."""
    from vrdiplomacy.scene.delegations import load_delegations

    try:
        names = load_stand_in_names()
    except AssetError:
        return StandInNames({}, {}), {}
    try:
        codes = {key.upper(): d.code for d in load_delegations() for key in (d.code, d.name, d.placard)}
    except AssetError:
        codes = {}
    return names, codes


def _coprime_step(n: int, want: int) -> int:
    """The first step from ``want`` up that is coprime with ``n`` (so n consecutive ids give n
    different picks)."""
    step = want
    while math.gcd(step, n) != 1:
        step += 1
    return step


def stand_in_name(row_id: int, delegation: str) -> str:
    """The deterministic stand-in name ("K. Sato") of a delegate with id ``row_id`` in
    ``delegation`` (its code, name or placard): a given-name initial and a family name from its
    naming tradition's pool (``assets/data/stand_in_names.json``), so Japan's delegates carry
    Japanese names and Kenya's Kenyan ones; the delegates of one delegation with consecutive ids
    get different family names. A delegation no tradition is listed for gets the mixed pool."""
    names, codes = _stand_in_names()
    code = codes.get(delegation.strip().upper(), delegation.strip().upper())
    pool = names.pool(code)
    k = int(row_id)
    if pool is MIXED_POOL:  # as it always was
        fam_off, ini_off = 3, 0
    else:  # a delegation's own offsets, so two of one tradition do not mirror each other
        h = zlib.crc32(code.encode("utf-8"))
        fam_off, ini_off = h & 0xFFFF, h >> 16
    n_f, n_i = len(pool.family), len(pool.initials)
    initial = pool.initials[(ini_off + k * _coprime_step(n_i, 7)) % n_i]
    return f"{initial}. {pool.family[(fam_off + k * _coprime_step(n_f, 5)) % n_f]}"


def roster_tag(identity: str, delegation: str, role: str = "", verified: bool = False) -> Tag:
    """The name tag of a roster member: ``identity`` (its name), ``delegation``, ``role`` (title);
    ``verified`` only when the signed roster's certificate vouches for them (the tag says
    "unverified" otherwise, in amber)."""
    return Tag(identity.strip() or delegation, delegation.strip(), role.strip(), bool(verified))


def sample_tags(crowd: Crowd, every: int = 1) -> Crowd:
    """Give every ``every``-th row of ``crowd`` a deterministic stand-in name tag (a name that
    fits its placard's delegation, :func:`stand_in_name`; a title from :data:`ROLES`; its
    placard's delegation; verified); returns ``crowd``. Renders, goldens and the demo only: a
    roster's names (:func:`roster_tag`) are never replaced."""
    for i in range(0, len(crowd), max(1, every)):
        k = int(crowd.ids[i])
        placard = crowd.avatar(i).delegation
        crowd.set_tag(i, roster_tag(stand_in_name(k, placard), placard, ROLES[k % len(ROLES)], verified=True))
    return crowd


def populate_avatars(scene: Scene, layout: Layout, n: int | None = None, seated: bool = True,
                     speakers: int = 0, guests: int = 0) -> list[Avatar]:
    """Fill ``scene.avatars`` with ``n`` delegates (default: one per seat) in seating order.

    A seat without a delegation name gets "Delegation <side>" (bilateral sides) or
    "Delegate <n>". ``speakers`` delegates, spread evenly, get a speaking level (their halo
    shows). ``guests`` standing delegates gather in small circles around the layout's points
    of interest (a reception), after the seated ones.
    """
    seats: list[Seat] = sorted(layout.seats, key=lambda s: s.index)
    count = len(seats) if n is None else n
    if count < 0 or guests < 0:
        raise ConfigError(f"numbers of avatars must be >= 0, got {count} seated and {guests} guests")
    if count > len(seats):
        raise ConfigError(f"scene '{layout.scene}' has {len(seats)} seats, cannot seat {count} avatars")
    avatars = [avatar_at(i, _seat_delegation(s), s.position, s.yaw_deg, seated) for i, s in enumerate(seats[:count])]
    if guests:
        spots = [p for name, p in sorted(layout.points.items()) if "door" not in name] or [None]
        for g in range(guests):
            spot = spots[(g // 4) % len(spots)]
            centre = np.asarray(spot.position if spot else (0.0, 0.0, 0.0), dtype=np.float32)
            ring = g // (4 * len(spots))
            a = 2.0 * math.pi * ((g % 4) / 4.0 + 0.125 + 0.37 * ring)
            r = 0.85 + 0.9 * ring
            pos = centre + np.array([r * math.sin(a), 0.0, r * math.cos(a)], dtype=np.float32)
            yaw = math.degrees(math.atan2(pos[0] - centre[0], pos[2] - centre[2]))  # face the circle's centre
            avatars.append(avatar_at(len(avatars), f"Guest {g + 1}", pos, yaw, seated=False))
    if speakers > 0 and avatars:
        step = max(1, len(avatars) // speakers)
        for k in range(min(speakers, len(avatars))):
            avatars[(k * step + step // 2) % len(avatars)].speaking = 0.5 + 0.5 * abs(_jitter(k, 9))
    scene.avatars = avatars
    return avatars


def without_viewer(avatars: list[Avatar], eye: Iterable[float], radius: float = 0.45) -> list[Avatar]:
    """``avatars`` less the one whose head is at the camera (the viewer does not see their own head)."""
    e = np.asarray(list(eye), dtype=np.float32)
    return [a for a in avatars if float(np.linalg.norm(np.asarray(a.head.position) - e)) > radius]


def crowd_avatars(n: int, center: Iterable[float] = (0.0, 0.0, 0.0), spacing: float = 0.9,
                  seated: bool = False) -> list[Avatar]:
    """``n`` delegates on a square grid around ``center``, all facing -Z (benchmarks, stress tests)."""
    c = np.asarray(list(center), dtype=np.float32)
    side = max(1, math.ceil(math.sqrt(n)))
    out = []
    for i in range(n):
        gx, gz = i % side, i // side
        pos = c + np.array([(gx - (side - 1) / 2) * spacing, 0.0, (gz - (side - 1) / 2) * spacing], dtype=np.float32)
        out.append(avatar_at(i, f"Delegation {i + 1}", pos, 0.0, seated))
    return out



# gesture -> per hand (side -1 left, +1 right): root-space hand centre (seated; standing adds
# STAND_LIFT to y) and (pitch, roll) in degrees of the hand about the avatar's facing, and shape
_HAND_POSES: dict[str, dict[int, tuple[tuple[float, float, float], tuple[float, float], str]]] = {
    "raise_hand": {1: ((0.25, 1.62, -0.06), (90.0, 0.0), "raised")},
    "thumbs_up": {1: ((0.16, 1.08, -0.34), (0.0, 90.0), "thumbs_up")},
    "thumbs_down": {1: ((0.16, 1.08, -0.34), (0.0, 90.0), "thumbs_down")},
    "wave": {1: ((0.40, 1.38, -0.12), (90.0, -25.0), "open")},
    "applause": {-1: ((-0.045, 1.10, -0.30), (35.0, -90.0), "open"), 1: ((0.045, 1.10, -0.30), (35.0, 90.0), "open")},
    "point": {1: ((0.16, 1.24, -0.52), (10.0, 0.0), "point")},
    "open_palms": {-1: ((-0.24, 1.0, -0.36), (0.0, 180.0), "open"), 1: ((0.24, 1.0, -0.36), (0.0, 180.0), "open")},
    "handshake": {1: ((0.10, 0.98, -0.46), (0.0, 90.0), "open")},
}
STAND_LIFT = 0.45  # how much higher a standing avatar's shoulders are (shaders/avatar.vert)


def pose_gesture(avatar: Avatar, gesture: str) -> Avatar:
    """Give ``avatar`` a still pose for ``gesture`` (hands, head) and its icon; returns it.

    A raised hand goes above the head, thumbs and points in front of the chest, a nod tilts the
    head down, a head shake turns it; unknown names raise :class:`ConfigError`."""
    if gesture not in GESTURES:
        raise ConfigError(f"unknown gesture '{gesture}' (known: {', '.join(GESTURES)})")
    root = avatar.root
    lift = 0.0 if avatar.seated else STAND_LIFT
    for side, (local, (pitch, roll), shape) in _HAND_POSES.get(gesture, {}).items():
        q = quat_mul(root.orientation, quat_from_yaw_pitch_roll(0.0, math.radians(pitch), math.radians(roll)))
        pos = root.transform_point((local[0], local[1] + lift, local[2]))
        hand = HandPose(Pose(pos, q), shape, True)
        if side < 0:
            avatar.left = hand
        else:
            avatar.right = hand
    if gesture in ("nod", "head_shake"):
        yaw_extra, pitch = (0.0, -24.0) if gesture == "nod" else (28.0, -4.0)
        fwd = root.forward()
        yaw = math.degrees(math.atan2(-float(fwd[0]), -float(fwd[2])))
        avatar.head = Pose(avatar.head.position.copy(),
                           quat_from_yaw_pitch_roll(math.radians(yaw + yaw_extra), math.radians(pitch)))
    avatar.gesture_icon = gesture
    return avatar


def assign_gestures(avatars: list[Avatar], gestures: list[str], every: int = 3) -> list[Avatar]:
    """Pose every ``every``-th avatar (from the second) with the next of ``gestures`` in turn;
    the same crowd and list always give the same picture. Returns the posed avatars."""
    if every < 1:
        raise ConfigError(f"every must be >= 1, got {every}")
    for g in gestures:
        if g not in GESTURES:
            raise ConfigError(f"unknown gesture '{g}' (known: {', '.join(GESTURES)})")
    posed = []
    if not gestures:
        return posed
    for k, i in enumerate(range(1, len(avatars), every)):
        posed.append(pose_gesture(avatars[i], gestures[k % len(gestures)]))
    return posed


WRIST_OFFSET = 0.035  # the wrist sits this far behind the hand centre (hand space +Z), as in avatar.vert
_FINGERS = (Joint.INDEX_PROXIMAL, Joint.MIDDLE_PROXIMAL, Joint.RING_PROXIMAL, Joint.LITTLE_PROXIMAL)


def hand_shape(joints: HandJoints) -> str:
    """The renderable shape of 26 hand joints: "open", "fist", "point", "thumbs_up" or "thumbs_down"."""
    r = quat_to_mat3(joints.orientations[Joint.WRIST])
    forward = r @ np.array([0.0, 0.0, -1.0], np.float32)
    pos = joints.positions
    extended = [float(np.dot(pos[j + 3] - pos[j], forward)) > 0.035 for j in _FINGERS]
    thumb = pos[Joint.THUMB_TIP] - pos[Joint.THUMB_METACARPAL]
    thumb_out = float(np.linalg.norm(pos[Joint.THUMB_TIP] - pos[Joint.INDEX_PROXIMAL])) > 0.055
    if any(extended[1:]):
        return "open"
    if extended[0]:
        return "point"
    if thumb_out:
        up = float(thumb[1]) / max(float(np.linalg.norm(thumb)), 1e-6)
        if up > 0.5:
            return "thumbs_up"
        if up < -0.5:
            return "thumbs_down"
    return "fist"


def hand_pose_from_frame(hand: HandFrame, origin: Pose | None = None) -> HandPose:
    """A :class:`HandPose` (hand centre, orientation, shape) from one hand of an InputFrame, placed
    in the scene by ``origin`` (the play space's pose; None: already scene coordinates).
    Invisible when the hand has no joints or no valid wrist."""
    j = hand.joints
    if j is None or not bool(j.valid[Joint.WRIST]):
        return HandPose(visible=False)
    q = np.asarray(j.orientations[Joint.WRIST], np.float32)
    centre = j.positions[Joint.WRIST] + quat_rotate(q, (0.0, 0.0, -WRIST_OFFSET))
    pose = Pose(np.asarray(centre, np.float32), q)
    if origin is not None:
        pose = Pose((origin.position + quat_rotate(origin.orientation, pose.position)).astype(np.float32),
                    quat_mul(origin.orientation, pose.orientation))
    return HandPose(pose, hand_shape(j), True)


@dataclass
class OwnHands(Avatar):
    """The viewer's own hands: an :class:`Avatar` (hand poses and shapes, as a remote delegate's
    would be sent) that also carries the frame's 26 joints per hand (``left_joints``,
    ``right_joints``; None: not tracked) and the play space's pose (``origin``), so the renderer
    draws them articulated, bone by bone (:mod:`vrdiplomacy.render.hands`)."""

    left_joints: HandJoints | None = None
    right_joints: HandJoints | None = None
    origin: Pose | None = None


def local_hands(frame: InputFrame, origin: Pose | None = None, color: RGB = (0.16, 0.2, 0.3)) -> OwnHands:
    """The viewer's own body for ``Renderer.render(..., local_hands=...)``: both hands of the
    frame (articulated joints, else the controller- or mouse-synthesized hand), each with a shirt
    cuff and a forearm sleeve in ``color``; the renderer draws nothing else of it."""
    head = frame.head
    if origin is not None:
        head = Pose((origin.position + quat_rotate(origin.orientation, head.position)).astype(np.float32),
                    quat_mul(origin.orientation, head.orientation))
    fwd = head.forward()
    yaw = math.degrees(math.atan2(-float(fwd[0]), -float(fwd[2])))
    root = Pose.from_yaw(np.asarray(head.position, np.float32) - np.array([0.0, STANDING_EYE_HEIGHT, 0.0], np.float32), yaw)
    left, right = hand_pose_from_frame(frame.left, origin), hand_pose_from_frame(frame.right, origin)
    return OwnHands(-1, "", root=root, head=head, left=left, right=right, color=color, seated=False,
                    left_joints=frame.left.joints if left.visible else None,
                    right_joints=frame.right.joints if right.visible else None, origin=origin)


# --- remote avatars under loss: dead reckoning and fading (see RoomState.avatars) ---------------
AWAY_GREY: RGB = (0.16, 0.16, 0.17)  # linear RGB of a delegate whose link is down
AWAY_LABEL = " (away)"


def velocity(p0: Iterable[float], p1: Iterable[float], dt: float, max_speed: float) -> np.ndarray | None:
    """Velocity from ``p0`` to ``p1`` over ``dt`` seconds, its speed clipped to ``max_speed``
    (m/s); None without a usable interval."""
    if dt <= 0.0:
        return None
    v = (np.asarray(list(p1), np.float32) - np.asarray(list(p0), np.float32)) / np.float32(dt)
    speed = float(np.linalg.norm(v))
    if speed > max_speed:
        v *= np.float32(max_speed / speed)
    return v.astype(np.float32)


def extrapolate(position: Iterable[float], vel: np.ndarray | None, age: float, horizon: float) -> np.ndarray:
    """Where a point last seen ``age`` seconds ago at ``position``, moving at ``vel``, is shown:
    it keeps moving for at most ``horizon`` seconds, then holds (never further than that)."""
    p = np.asarray(list(position), np.float32)
    if vel is None or age <= 0.0:
        return p.copy()
    return (p + vel * np.float32(min(age, horizon))).astype(np.float32)


def staleness(age: float, after: float, span: float) -> float:
    """0 while a pose is at most ``after`` seconds old, rising to 1 over the next ``span`` seconds."""
    if age <= after:
        return 0.0
    return 1.0 if span <= 0.0 else min(1.0, (age - after) / span)


def faded(color: RGB, amount: float) -> RGB:
    """``color`` moved ``amount`` (0..1) of the way to :data:`AWAY_GREY`."""
    a = min(1.0, max(0.0, amount))
    r, g, b = color
    gr, gg, gb = AWAY_GREY
    return (r + (gr - r) * a, g + (gg - g) * a, b + (gb - b) * a)
