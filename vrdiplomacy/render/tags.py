"""Name tags (Pillow, no GL): the card above an avatar's head with who it is, from the roster.

A tag shows the delegation's real flag (the committed atlas of :mod:`vrdiplomacy.render.flags`,
4:3), the person's name, their role (title) and their delegation, one line each. A delegation the
atlas does not list (a test's "Delegation B", an observer), or any delegation when the atlas is
missing or corrupt, gets a placeholder instead: its colour from ``assets/data/delegations.json``
(unlisted: its avatar tint) with a contrasting band, so a tag never shows a wrong country's flag. A tag the signed roster did not verify has an amber frame and says
"unverified" instead of the role, so a name the relay merely claims never looks vouched for.

Tags are drawn into the placard atlas (:mod:`vrdiplomacy.render.atlas`), below the placard text
of the same label, so an avatar's placard and tag are one atlas rectangle and one instance
attribute; the avatar draw places the tag quad (shaders/avatar.vert, PART_TAG).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from PIL import Image, ImageDraw

from vrdiplomacy.errors import AssetError
from vrdiplomacy.render.fonts import Font, ui_font
from vrdiplomacy.scene.crowd import Tag

PLACARD_SHARE = 0.4  # of an atlas cell's height: the placard text on top, the tag below (shaders/avatar.vert)
TAG_BG = (22, 28, 44, 255)
TAG_BORDER = (150, 160, 185, 255)
TAG_AMBER = (232, 160, 32, 255)
TAG_NAME = (246, 246, 242, 255)
TAG_LINE2 = (196, 204, 220, 255)
RGB8 = tuple[int, int, int]

if TYPE_CHECKING:
    from vrdiplomacy.scene.delegations import Delegation


@lru_cache(maxsize=1)
def _delegations() -> dict[str, Delegation]:
    """Each listed delegation under its code, name and placard text (upper case); {} when the
    delegations file cannot be read (tags then show what they were given)."""
    from vrdiplomacy.scene.delegations import load_delegations

    try:
        table = load_delegations()
    except AssetError:
        return {}
    return {key.upper(): d for d in table for key in (d.code, d.name, d.placard)}


def delegation_name(delegation: str) -> str:
    """``delegation`` as a tag writes it: a listed ISO code becomes the country's name."""
    d = _delegations().get(delegation.strip().upper())
    return d.name if d is not None and d.code.upper() == delegation.strip().upper() else delegation


def delegation_code(delegation: str) -> str:
    """The ISO alpha-3 code of ``delegation`` (its code, name or placard, any case); unlisted,
    the text itself in upper case."""
    key = delegation.strip().upper()
    d = _delegations().get(key)
    return d.code if d is not None else key


def tag_flag(delegation: str) -> Image.Image | None:
    """The real flag a tag shows for ``delegation`` (its code, name or placard, any case); None
    when it is not a listed delegation or the flag atlas cannot be read (the placeholder then)."""
    from vrdiplomacy.render.flags import flag_image

    return flag_image(delegation_code(delegation))


def flag_colours(delegation: str) -> tuple[RGB8, RGB8]:
    """The two colours of ``delegation``'s flag placeholder: its colour from the delegations file
    (or, unlisted, the avatar tint of the name) and a contrasting band (white, or navy on white)."""
    d = _delegations().get(delegation.strip().upper())
    rgb = None if d is None else tuple(round(c * 255) for c in d.colour)
    if rgb is None:
        from vrdiplomacy.scene.avatars import delegation_color

        rgb = tuple(round(255 * min(1.0, max(0.0, c)) ** (1 / 2.2)) for c in delegation_color(delegation))  # type: ignore[assignment]
    light = sum(rgb) > 600
    return rgb, ((24, 40, 96) if light else (240, 240, 236))  # type: ignore[return-value]


def _fit(draw: ImageDraw.ImageDraw, text: str, width: float, size: int, smallest: int, bold: bool = False
         ) -> tuple[Font, str]:
    """The largest font from ``size`` down to ``smallest`` that fits ``text`` in ``width``; at the
    smallest, the text is cut with an ellipsis."""
    for s in range(size, smallest - 1, -1):
        f = ui_font(s, bold)
        if draw.textlength(text, font=f) <= width:
            return f, text
    f = ui_font(smallest, bold)
    while text and draw.textlength(text + "…", font=f) > width:
        text = text[:-1]
    return f, text + "…"


def draw_tag(img: Image.Image, box: tuple[int, int, int, int], tag: Tag) -> None:
    """Draw ``tag`` into ``box`` (x0, y0, x1, y1, inclusive) of the RGBA image ``img``."""
    draw = ImageDraw.Draw(img)
    x0, y0, x1, y1 = box
    h = y1 - y0 + 1
    border = TAG_BORDER if tag.verified else TAG_AMBER
    draw.rectangle(box, fill=TAG_BG)
    t = max(1, h // 24)
    draw.rectangle(box, outline=border, width=t)
    # the flag on the left, 4:3: the real one, or the placeholder (the delegation colour with a band)
    pad = max(2, h // 8)
    fh = h - 2 * pad
    fh = int(fh * 0.62)
    fw = round(fh * 4 / 3)
    fx0, fy0 = x0 + pad, y0 + (h - fh) // 2
    real = tag_flag(tag.delegation)
    if real is not None:
        img.paste(real.resize((fw, fh), Image.Resampling.LANCZOS).convert(img.mode), (fx0, fy0))
    else:
        main, band = flag_colours(tag.delegation)
        draw.rectangle((fx0, fy0, fx0 + fw - 1, fy0 + fh - 1), fill=main)
        draw.rectangle((fx0, fy0 + fh // 3, fx0 + fw - 1, fy0 + 2 * fh // 3 - 1), fill=band)
    draw.rectangle((fx0, fy0, fx0 + fw - 1, fy0 + fh - 1), outline=(0, 0, 0, 255), width=1)
    tx = fx0 + fw + pad
    tw = x1 - pad - tx
    # three lines: the name, the title (or "unverified"), the delegation
    f1, name = _fit(draw, tag.name or tag.delegation, tw, int(h * 0.36), max(8, int(h * 0.24)), bold=True)
    role = tag.role if tag.verified else "unverified"
    f2, line2 = _fit(draw, role, tw, int(h * 0.22), max(7, int(h * 0.16)))
    f3, line3 = _fit(draw, delegation_name(tag.delegation) if tag.name else "", tw, int(h * 0.22), max(7, int(h * 0.16)))
    draw.text((tx, y0 + h * 0.27), name, font=f1, fill=TAG_NAME, anchor="lm")
    draw.text((tx, y0 + h * 0.58), line2, font=f2, fill=TAG_LINE2 if tag.verified else TAG_AMBER, anchor="lm")
    draw.text((tx, y0 + h * 0.82), line3, font=f3, fill=TAG_LINE2, anchor="lm")
