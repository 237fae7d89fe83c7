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

from dataclasses import dataclass

from vrdiplomacy.scene.math3d import Pose, quat_rotate


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
