"""The placard name atlas (Pillow, no GL): every delegation name rendered once into one image.

Each avatar's placard samples its cell through a per-instance UV rectangle, so names cost no
draw calls. When any label carries a name tag (:func:`vrdiplomacy.scene.crowd.tag_label`) every
cell grows below the placard text to hold the tag (:mod:`vrdiplomacy.render.tags`): the placard is
the top :data:`~vrdiplomacy.render.tags.PLACARD_SHARE` of the cell, the tag the rest. Names are
in DejaVu Sans Bold (:mod:`vrdiplomacy.render.fonts`), so accented names ("Côte d'Ivoire") keep
their accents.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from vrdiplomacy.render.fonts import ui_font

MAX_ATLAS = 4096


@dataclass
class PlacardAtlas:
    """RGBA8 atlas pixels (sRGB, top row first) and each name's UV rect (u0, v0, u1, v1)."""

    pixels: npt.NDArray[np.uint8]
    rects: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)

    def rect(self, name: str) -> tuple[float, float, float, float]:
        return self.rects.get(name, self.rects.get("", (0.0, 0.0, 0.0, 0.0)))


def _fit(draw: ImageDraw.ImageDraw, text: str, w: int, h: int) -> tuple[ImageFont.FreeTypeFont | ImageFont.ImageFont, tuple[float, float, float, float]]:
    size = int(h * 0.62)
    while True:
        font = ui_font(size, bold=True)
        box = draw.textbbox((0, 0), text, font=font)
        if box[2] - box[0] <= w * 0.92 or size <= 8:
            return font, box
        size -= 2


def build_atlas(names: list[str], cell: tuple[int, int] = (256, 64)) -> PlacardAtlas:
    """Render ``names`` (deduplicated, sorted, plus the blank name "") into a grid of cells, a listed
    delegation code written as its country's name (the placard says "Japan", not "JPN"); with
    tagged labels among them the cells are ``cell`` tall for the placard plus room for the tag."""
    from vrdiplomacy.render.tags import PLACARD_SHARE, delegation_name, draw_tag
    from vrdiplomacy.scene.crowd import split_label

    unique = sorted(set(names) | {""})
    tagged = any(split_label(n)[1] is not None for n in unique)
    cw, ch = cell
    if tagged:
        ch = int(round(ch / PLACARD_SHARE))
    cols = max(1, min(len(unique), MAX_ATLAS // cw))
    rows = math.ceil(len(unique) / cols)
    if rows * ch > MAX_ATLAS:
        scale = MAX_ATLAS / (rows * ch)
        cw, ch = max(32, int(cw * scale)), max(8, int(ch * scale))
        cols = max(1, MAX_ATLAS // cw)
        rows = math.ceil(len(unique) / cols)
    width = 1 << max(0, (cols * cw - 1).bit_length())
    height = 1 << max(0, (rows * ch - 1).bit_length())
    img = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    rects: dict[str, tuple[float, float, float, float]] = {}
    for i, name in enumerate(unique):
        x0, y0 = (i % cols) * cw, (i // cols) * ch
        ph = int(round(ch * PLACARD_SHARE)) if tagged else ch  # the placard's share of the cell
        text, tag = split_label(name)
        text = delegation_name(text)  # a listed code ("JPN") reads as its country ("Japan")
        draw.rectangle((x0, y0, x0 + cw - 1, y0 + ph - 1), fill=(236, 234, 226, 255))
        draw.rectangle((x0 + 2, y0 + 2, x0 + cw - 3, y0 + ph - 3), outline=(40, 52, 90, 255), width=2)
        if text:
            font, box = _fit(draw, text, cw, ph)
            tx = x0 + (cw - (box[2] - box[0])) / 2 - box[0]
            ty = y0 + (ph - (box[3] - box[1])) / 2 - box[1]
            draw.text((tx, ty), text, font=font, fill=(12, 14, 22, 255))
        if tag is not None:
            draw_tag(img, (x0 + 1, y0 + ph + 1, x0 + cw - 2, y0 + ch - 2), tag)
        # half-texel inset so bilinear filtering never bleeds into the neighbour cell
        # (the placard's share only: the shader finds a tag below it, 1/PLACARD_SHARE - 1 times as tall)
        rects[name] = ((x0 + 0.5) / width, (y0 + 0.5) / height, (x0 + cw - 0.5) / width, (y0 + ph - 0.5) / height)
    return PlacardAtlas(np.asarray(img, dtype=np.uint8).copy(), rects)
