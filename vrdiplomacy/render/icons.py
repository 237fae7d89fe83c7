"""The gesture icon atlas (Pillow, no GL): one pictogram badge per gesture, drawn procedurally.

An avatar's ``gesture_icon`` names a gesture; the avatar vertex shader places a camera-facing
badge above the head and samples cell ``ICON_INDEX[name]`` of this atlas (a per-instance
index), so icons cost no extra draw call. Pictograms are built from capsules (rounded bars) in
a unit frame, so the same hand drawing serves raised, lowered, mirrored and tilted hands.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw

from vrdiplomacy.render.fonts import ui_font

# in atlas order; keep in step with the gesture names of vrdiplomacy.gestures
GESTURE_ICONS: tuple[str, ...] = (
    "raise_hand", "lower_hand", "nod", "head_shake", "thumbs_up", "thumbs_down", "wave", "applause",
    "point", "open_palms", "handshake",
)
ICON_INDEX: dict[str, int] = {name: i for i, name in enumerate(GESTURE_ICONS)}
CELL = 128
COLUMNS = 4

# badge colour (sRGB) and the short label under the pictogram
_STYLE: dict[str, tuple[tuple[int, int, int], str]] = {
    "raise_hand": ((38, 110, 220), "HAND"),
    "lower_hand": ((110, 118, 132), "DOWN"),
    "nod": ((30, 150, 70), "YES"),
    "head_shake": ((200, 45, 45), "NO"),
    "thumbs_up": ((30, 150, 70), "+1"),
    "thumbs_down": ((200, 45, 45), "-1"),
    "wave": ((230, 150, 20), "HELLO"),
    "applause": ((140, 70, 190), "CLAP"),
    "point": ((20, 140, 150), "LOOK"),
    "open_palms": ((225, 120, 30), "WAIT"),
    "handshake": ((40, 120, 170), "DEAL"),
}

Capsule = tuple[float, float, float, float, float]  # x0, y0, x1, y1, radius (unit frame, y up)

# an open right hand, fingers up, palm centre at the origin, about one unit tall
_OPEN_HAND: list[Capsule] = [
    (0.0, -0.08, 0.0, 0.04, 0.15),  # palm
    (-0.105, 0.12, -0.115, 0.30, 0.036), (-0.035, 0.14, -0.035, 0.36, 0.036),
    (0.035, 0.14, 0.035, 0.34, 0.036), (0.105, 0.11, 0.115, 0.26, 0.034),
    (-0.13, -0.04, -0.27, 0.10, 0.04),  # thumb
    (0.0, -0.22, 0.0, -0.40, 0.085),  # wrist / sleeve
]
# a fist with the thumb up (thumbs up), fingers folded towards +x
_THUMB_FIST: list[Capsule] = [
    (-0.04, -0.04, 0.06, -0.04, 0.17),
    (0.19, 0.09, 0.19, 0.09, 0.06), (0.21, -0.03, 0.21, -0.03, 0.06), (0.19, -0.15, 0.19, -0.15, 0.06),
    (-0.08, 0.10, -0.06, 0.36, 0.06),  # thumb
    (-0.06, -0.22, -0.06, -0.40, 0.09),
]
# a fist with the index finger out towards +x
_POINTING: list[Capsule] = [
    (-0.10, 0.0, 0.0, 0.0, 0.13),
    (0.06, 0.08, 0.36, 0.08, 0.04),  # index
    (0.09, -0.04, 0.09, -0.04, 0.05), (0.07, -0.12, 0.07, -0.12, 0.045),
    (-0.26, 0.0, -0.42, 0.0, 0.08),
]


@dataclass
class IconAtlas:
    """RGBA8 pixels (sRGB, top row first; alpha 0 outside the badges) and each icon's UV rect."""

    pixels: npt.NDArray[np.uint8]
    rects: list[tuple[float, float, float, float]]


def _xform(caps: Sequence[Capsule], angle_deg: float = 0.0, scale: float = 1.0, dx: float = 0.0, dy: float = 0.0,
           mirror: bool = False) -> list[Capsule]:
    a = math.radians(angle_deg)
    c, s = math.cos(a), math.sin(a)
    out = []
    for x0, y0, x1, y1, r in caps:
        pts = []
        for x, y in ((x0, y0), (x1, y1)):
            x = -x if mirror else x
            pts += [(c * x - s * y) * scale + dx, (s * x + c * y) * scale + dy]
        out.append((pts[0], pts[1], pts[2], pts[3], r * scale))
    return out


def _draw_caps(draw: ImageDraw.ImageDraw, caps: Sequence[Capsule], ox: float, oy: float, size: float,
               fill: tuple[int, int, int, int]) -> None:
    """Capsules in the unit frame (y up) into the pixel box centred at (ox, oy), ``size`` wide."""
    for x0, y0, x1, y1, r in caps:
        p0 = (ox + x0 * size, oy - y0 * size)
        p1 = (ox + x1 * size, oy - y1 * size)
        rad = r * size
        draw.line([p0, p1], fill=fill, width=max(1, round(2 * rad)))
        for px, py in (p0, p1):
            draw.ellipse((px - rad, py - rad, px + rad, py + rad), fill=fill)


def _pictogram(name: str) -> list[tuple[list[Capsule], bool]]:
    """(capsules, is_stroke) groups for ``name``: hands are filled shapes, marks are strokes."""
    if name == "raise_hand":
        return [(_xform(_OPEN_HAND, dy=0.04), False)]
    if name == "lower_hand":
        return [(_xform(_OPEN_HAND, 180.0, 0.8, dx=-0.12, dy=0.08), False),
                ([(0.26, 0.26, 0.26, -0.16, 0.035), (0.26, -0.2, 0.14, -0.06, 0.035), (0.26, -0.2, 0.38, -0.06, 0.035)], True)]
    if name == "nod":
        return [([(-0.26, 0.02, -0.08, -0.18, 0.06), (-0.08, -0.18, 0.28, 0.22, 0.06)], True)]
    if name == "head_shake":
        return [([(-0.22, 0.22, 0.22, -0.22, 0.06), (-0.22, -0.22, 0.22, 0.22, 0.06)], True)]
    if name == "thumbs_up":
        return [(_xform(_THUMB_FIST, dy=-0.02), False)]
    if name == "thumbs_down":
        return [(_xform(_THUMB_FIST, 180.0, dy=0.02, mirror=True), False)]
    if name == "wave":
        return [(_xform(_OPEN_HAND, -20.0, 0.85, dy=0.02), False),
                ([(-0.34, 0.10, -0.38, -0.06, 0.022), (0.36, 0.16, 0.40, 0.0, 0.022)], True)]
    if name == "applause":
        return [(_xform(_OPEN_HAND, 30.0, 0.7, dx=0.13, dy=-0.04), False),
                (_xform(_OPEN_HAND, -30.0, 0.7, dx=-0.13, dy=-0.04, mirror=True), False),
                ([(0.0, 0.28, 0.0, 0.36, 0.022), (-0.12, 0.24, -0.16, 0.31, 0.022), (0.12, 0.24, 0.16, 0.31, 0.022)], True)]
    if name == "point":
        return [(_xform(_POINTING, dx=-0.02, dy=0.02), False)]
    if name == "open_palms":
        return [(_xform(_OPEN_HAND, 12.0, 0.72, dx=0.17), False),
                (_xform(_OPEN_HAND, -12.0, 0.72, dx=-0.17, mirror=True), False)]
    if name == "handshake":
        return [([(-0.40, -0.08, -0.10, 0.0, 0.075), (0.40, -0.08, 0.10, 0.0, 0.075)], False),
                ([(-0.12, 0.02, 0.14, 0.02, 0.11), (0.14, 0.1, 0.22, 0.1, 0.035)], False)]
    raise ValueError(f"no icon for gesture '{name}'")


def draw_icon(name: str, cell: int = CELL) -> Image.Image:
    """One badge: a coloured disc with a white ring, the pictogram in white, the label below."""
    color, label = _STYLE[name]
    img = Image.new("RGBA", (cell, cell), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    m = cell * 0.03
    d.ellipse((m, m, cell - m, cell - m), fill=(255, 255, 255, 255))
    m2 = cell * 0.075
    d.ellipse((m2, m2, cell - m2, cell - m2), fill=(*color, 255))
    white = (255, 255, 255, 255)
    for caps, _stroke in _pictogram(name):
        _draw_caps(d, caps, cell * 0.5, cell * 0.42, cell * 0.62, white)
    font = ui_font(max(8, int(cell * 0.14)))
    box = d.textbbox((0, 0), label, font=font)
    tx = (cell - (box[2] - box[0])) / 2 - box[0]
    ty = cell * 0.77 - (box[3] - box[1]) / 2 - box[1]
    d.text((tx, ty), label, font=font, fill=white)
    return img


def build_icon_atlas(cell: int = CELL) -> IconAtlas:
    """Every icon of :data:`GESTURE_ICONS` in a grid, power-of-two sized, with its UV rect."""
    rows = math.ceil(len(GESTURE_ICONS) / COLUMNS)
    width = 1 << (COLUMNS * cell - 1).bit_length()
    height = 1 << (rows * cell - 1).bit_length()
    atlas = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    rects = []
    for i, name in enumerate(GESTURE_ICONS):
        x0, y0 = (i % COLUMNS) * cell, (i // COLUMNS) * cell
        atlas.paste(draw_icon(name, cell), (x0, y0))
        rects.append(((x0 + 0.5) / width, (y0 + 0.5) / height, (x0 + cell - 0.5) / width, (y0 + cell - 0.5) / height))
    return IconAtlas(np.asarray(atlas, dtype=np.uint8).copy(), rects)


def draw_padlock(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], color: tuple[int, int, int, int],
                 opened: bool, hole: tuple[int, int, int, int] = (0, 0, 0, 0)) -> None:
    """A padlock in ``box`` (x0, y0, x1, y1, pixels, y down): a body and its shackle, the shackle
    lifted and free of the body on the right when ``opened`` (the room is not end-to-end
    encrypted); the keyhole in ``hole`` (the background's colour)."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    body_top = y0 + int(h * 0.45)
    draw.rounded_rectangle((x0, body_top, x1, y1), radius=max(2, w // 8), fill=color)
    line = max(3, w // 7)
    inset = int(w * 0.18)
    lift = int(h * 0.14) if opened else 0
    arc_box = (x0 + inset, y0 - lift, x1 - inset, body_top + int(h * 0.2) - lift)
    # the shackle: a half ring on two legs; open, the right leg stops short of the body
    draw.arc(arc_box, 180, 360, fill=color, width=line)
    mid = (arc_box[1] + arc_box[3]) // 2
    draw.line((arc_box[0] + line // 2, mid, arc_box[0] + line // 2, body_top), fill=color, width=line)
    right_end = mid + (body_top - mid) // 3 if opened else body_top
    draw.line((arc_box[2] - line // 2 - 1, mid, arc_box[2] - line // 2 - 1, right_end), fill=color, width=line)
    # the keyhole
    cx, cy = (x0 + x1) // 2, body_top + (y1 - body_top) // 2
    r = max(2, w // 10)
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=hole)
