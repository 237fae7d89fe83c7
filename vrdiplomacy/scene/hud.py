"""The head-up panel as plain data: lines of text on a small card that follows the head.

The card sits in the world, in front of and a little below the eyes, so both eyes of a headset
see it at the same depth (a card drawn per eye at a fixed screen position would seem to float
at infinity). It is the place for what a delegate must be able to check at any moment: in a
secured room, the room code to compare aloud, and the latest security alert; while anyone in the
room is not a verified member, "N participant(s) not verified" and the names the relay gives them,
in the alert colour, instead of the code (:class:`~vrdiplomacy.session.security.SecurityStatus`
decides the lines).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from vrdiplomacy.scene.math3d import Pose, quat_from_yaw_pitch_roll, quat_mul, quat_rotate
from vrdiplomacy.session.meeting_view import MeetingView


@dataclass(frozen=True)
class HudPanel:
    """A card of ``lines`` (the first is the title) centred on ``pose``, ``width`` metres wide,
    facing the pose's +Z (towards the viewer for a pose taken from the head). ``alert`` draws it
    in the alert colour (red); else ``insecure`` (the room is not end-to-end encrypted) in amber
    with an open padlock; else in the usual dark colour."""

    lines: tuple[str, ...]
    pose: Pose
    width: float = 0.36
    alert: bool = False
    insecure: bool = False


def place_hud(head: Pose, lines: tuple[str, ...], alert: bool = False, distance: float = 0.7,
              drop: float = 0.17, width: float = 0.36, insecure: bool = False) -> HudPanel:
    """A panel ``distance`` metres ahead of ``head`` and ``drop`` metres below its eye line, facing it."""
    offset = quat_rotate(head.orientation, (0.0, -drop, -distance))
    return HudPanel(lines, Pose(head.position + offset, head.orientation), width, alert, insecure)


# ---------------------------------------------------------------- the meeting's interface layer

CHAIR_KEYS: tuple[tuple[str, str], ...] = (
    ("G", "give the floor to the next on the list"),
    ("R", "revoke the floor"),
    ("T", "speaking time +1 min"),
    ("M", "mute / unmute the speaker"),
    ("I", "next agenda item"),
)
"""The chair's keys as the chair-controls panel lists them (key, action)."""

ACK_S = 4.0
"""Seconds the panel shows "✓ <gesture> sent" after the delegate's own gesture went out."""


@dataclass(frozen=True)
class MeetingOverlay:
    """The meeting as the scene shows it: ``view`` (a :class:`~vrdiplomacy.session.meeting_view.MeetingView`)
    drives the chamber's live screens; ``head`` (None: no panels, e.g. a spectator image) is the
    pose the two interface panels follow: the participants panel on the left, the delegate's own
    status (mic, push-to-talk, place on the list, gesture acknowledgement, notices, the chair's
    keys) on the right. ``stereo``: a headset (panels lower and nearer the middle of the view, where
    a glance reaches them) rather than a desktop window (panels at the window's sides)."""

    view: MeetingView
    head: Pose | None = None
    stereo: bool = False
    distance: float = 1.0  # metres from the eyes: text legible at 1 m in a headset
    width: float = 0.6  # each panel's width in metres


def panel_poses(overlay: MeetingOverlay) -> tuple[Pose, Pose] | None:
    """World poses of the bottom centres of the left (participants) and right (status, chair)
    panels, or None without a head; each panel stands up from its pose, facing the eyes.

    Desktop (a 90 degree window): 0.62 m either side of the line of sight at 1 m, bottoms 0.5 m
    below it: at 1280x720 the panels fill the lower outer thirds of the window, 40 px above its
    bottom edge, below the chamber's wall screens and beside the head-up card. Headset: 0.42 m
    either side (about 23 degrees out), bottoms 0.34 m below eye level, each turned 15 degrees
    towards the eyes, so a glance down and aside reaches them and the middle of the view stays free."""
    if overlay.head is None:
        return None
    d = overlay.distance
    if overlay.stereo:
        side, bottom = 0.42 * d, -0.34 * d
        turn, tilt = math.atan2(side, d), math.atan2(-bottom - 0.17 * d, d)  # face the eyes from mid-height
    else:  # a window: flat to the screen, as a 2D overlay would be
        side, bottom, turn, tilt = 0.62 * d, -0.5 * d, 0.0, 0.0
    out = []
    for sign in (-1.0, 1.0):
        offset = quat_rotate(overlay.head.orientation, (sign * side, bottom, -d))
        q = quat_mul(overlay.head.orientation, quat_from_yaw_pitch_roll(-sign * turn, -tilt))
        out.append(Pose(overlay.head.position + offset, q))
    return out[0], out[1]


Vec3 = tuple[float, float, float]


def _matrix(q: tuple[float, float, float, float]) -> tuple[Vec3, Vec3, Vec3]:
    """Rows of the rotation matrix of unit quaternion (x, y, z, w)."""
    x, y, z, w = q
    return ((1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)),
            (2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)),
            (2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)))


def _apply(m: tuple[Vec3, Vec3, Vec3], v: Vec3) -> Vec3:
    return (m[0][0] * v[0] + m[0][1] * v[1] + m[0][2] * v[2], m[1][0] * v[0] + m[1][1] * v[1] + m[1][2] * v[2],
            m[2][0] * v[0] + m[2][1] * v[1] + m[2][2] * v[2])


def panel_axes(overlay: MeetingOverlay) -> list[tuple[Vec3, Vec3, Vec3]] | None:
    """:func:`panel_poses` as plain floats, per panel (bottom centre, right edge direction, up
    direction; unit vectors): what the renderer places the cards with, each frame, without numpy."""
    poses = _AXES_CACHE.get((overlay.stereo, overlay.distance))
    if poses is None:  # the panels' poses relative to the head: the same every frame
        rel = panel_poses(MeetingOverlay(overlay.view, Pose(), overlay.stereo, overlay.distance, overlay.width))
        assert rel is not None
        poses = _AXES_CACHE[(overlay.stereo, overlay.distance)] = [
            (tuple(float(v) for v in p.position), _matrix(tuple(float(v) for v in p.orientation)))  # type: ignore[misc]
            for p in rel]
    if overlay.head is None:
        return None
    hm = _matrix(tuple(float(v) for v in overlay.head.orientation))  # type: ignore[arg-type]
    hp = tuple(float(v) for v in overlay.head.position)
    out = []
    for offset, m in poses:
        o = _apply(hm, offset)
        right = _apply(hm, (m[0][0], m[1][0], m[2][0]))
        up = _apply(hm, (m[0][1], m[1][1], m[2][1]))
        out.append(((hp[0] + o[0], hp[1] + o[1], hp[2] + o[2]), right, up))
    return out


_AXES_CACHE: dict[tuple[bool, float], list[tuple[Vec3, tuple[Vec3, Vec3, Vec3]]]] = {}
