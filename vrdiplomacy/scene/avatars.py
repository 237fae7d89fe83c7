"""Populate a scene with avatars from its layout's seats (deterministic: same input, same crowd).

Colours come from the delegation name (a hue from its CRC-32, so a delegation keeps its colour
in every scene); heads look slightly around, hands rest on the desk in front.
"""

from __future__ import annotations

import colorsys
import math
import zlib
from collections.abc import Iterable

import numpy as np

from vrdiplomacy.errors import ConfigError
from vrdiplomacy.scene.layout import Layout, Seat
from vrdiplomacy.scene.math3d import Pose, quat_from_yaw_pitch_roll, quat_mul
from vrdiplomacy.scene.model import RGB, Avatar, HandPose, Scene

SEATED_EYE_HEIGHT = 1.2
STANDING_EYE_HEIGHT = 1.65


def delegation_color(name: str) -> RGB:
    """A saturated, mid-bright linear RGB colour for a delegation, fixed by its name."""
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
        else:  # hanging at the sides
            local = (side * 0.26, 0.95, -0.02)
        q = quat_mul(root.orientation, quat_from_yaw_pitch_roll(math.radians(-side * 15.0), 0.0, 0.0))
        hands.append(HandPose(Pose(root.transform_point(local), q), "open", True))
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


def _seat_delegation(s: Seat) -> str:
    if s.delegation:
        return s.delegation
    return f"Delegation {s.side}" if s.side else f"Delegate {s.index + 1}"


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
