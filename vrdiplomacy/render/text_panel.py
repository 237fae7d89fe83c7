"""The joint text on the chamber's wall screen (Pillow, no GL): :func:`draft_screen`.

Drawn from a :class:`~vrdiplomacy.text.view.DraftView` alone, in the live screens' style and
their font (:mod:`vrdiplomacy.render.fonts`):

* the title bar: "JOINT TEXT", the document's id and its version (the digest every replica shares);
* the draft, word-wrapped at 30 px: plain text in white; a bracketed passage on an amber ground
  between drawn square brackets, its owner's delegation code in a small tag after the closing
  bracket ("[by 40 percent] FRA");
* each member editing: a caret in their delegation's colour at their position, with their code in
  a tag of that colour above it; ours (edit mode) blinks not, but is thicker;
* at the bottom, in edit mode, the line being typed ("Typing: ... |", Enter inserts it at the caret).

When the draft is longer than the screen, the lines shown are those around the first caret (ours
first), so what is being edited stays in view; "…" marks the text cut above or below.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw

from vrdiplomacy.render.fonts import ui_font
from vrdiplomacy.render.meeting_art import (
    AMBER,
    BAR,
    DIM,
    RGBA,
    SCREEN_BG,
    SCREEN_SIZE,
    SOFT,
    WHITE,
    Pixels,
    _contrast,
    _image,
    _pixels,
    _text,
    delegation_style,
)
from vrdiplomacy.text.view import DraftView


def _on_panel(rgb: tuple[int, int, int], least: float = 110.0) -> tuple[int, int, int]:
    """A delegation colour made readable on the panel's dark blue: the real flags' black, navy or
    dark green are lifted towards white until their luma reaches ``least`` (of 255)."""
    r, g, b = rgb
    luma = 0.299 * r + 0.587 * g + 0.114 * b
    if luma >= least:
        return rgb
    t = (least - luma) / (255.0 - luma)
    return (round(r + t * (255 - r)), round(g + t * (255 - g)), round(b + t * (255 - b)))


TEXT_PX = 30
LINE_H = 44
MARGIN = 36
TOP = 120  # first line's top (below the title bar and a caret tag's room)
BRACKET_BG: RGBA = (120, 84, 10, 255)  # a dark amber ground: white text on it stays legible
BRACKET_INK: RGBA = (255, 214, 120, 255)


@dataclass
class _Glyph:
    ch: str
    kind: str  # "text", "open", "close", "tag"
    index: int  # the plain text's character position (for carets); -1 for marks
    bracket: str = ""
    x: float = 0.0
    line: int = 0
    w: float = 0.0


def _glyphs(view: DraftView) -> list[_Glyph]:
    out: list[_Glyph] = []
    pos = 0
    for run in view.runs:
        if run.bracket:
            out.append(_Glyph("[", "open", -1, run.bracket))
        for ch in run.text:
            out.append(_Glyph(ch, "text", pos, run.bracket))
            pos += 1
        if run.bracket:
            out.append(_Glyph("]", "close", pos, run.bracket))
            code = run.owner.strip() or "?"
            out.append(_Glyph(" " + code.upper()[:12], "tag", -1, run.bracket))
    out.append(_Glyph("", "end", pos))
    return out


def _layout(draw: ImageDraw.ImageDraw, glyphs: list[_Glyph], width: float) -> int:
    """Place the glyphs in lines of ``width`` px (greedy word wrap); returns the number of lines."""
    for g in glyphs:
        g.w = _width(g.ch, g.kind == "tag")
    line, x, i = 0, 0.0, 0
    n = len(glyphs)
    while i < n:
        j = i  # a word: up to and including the next space
        while j < n and glyphs[j].ch != " " and glyphs[j].ch != "\n" or j == i:
            j += 1
            if j < n and glyphs[j - 1].kind == "tag":
                break
        if j < n and glyphs[j].ch in (" ", "\n"):
            j += 1
        word = glyphs[i:j]
        w = sum(g.w for g in word if g.ch not in (" ", "\n"))
        if x > 0 and x + w > width:
            line, x = line + 1, 0.0
        for g in word:
            g.x, g.line = x, line
            if g.ch == "\n":
                line, x = line + 1, 0.0
            else:
                x += g.w
        i = j
    return line + 1


@lru_cache(maxsize=4096)
def _width(ch: str, tag: bool) -> float:
    """A glyph's advance in px (cached: a screen measures every character)."""
    draw = ImageDraw.Draw(Image.new("L", (1, 1)))
    return float(draw.textlength(ch, font=ui_font(18 if tag else TEXT_PX))) + (6 if tag else 0)


def draft_screen_key(view: DraftView | None) -> object:
    """What :func:`draft_screen` depends on (a view is immutable: itself)."""
    return view


def draft_screen(view: DraftView) -> Pixels:
    """The joint text as the chamber's screen shows it (see the module docstring)."""
    w, h = SCREEN_SIZE
    img, draw = _image(SCREEN_SIZE, SCREEN_BG)
    draw.rectangle((0, 0, w - 1, 84), fill=BAR)
    draw.text((32, 43), "JOINT TEXT", font=ui_font(44, bold=True), fill=WHITE, anchor="lm")
    label = view.doc + (f"  v{view.version[:6]}" if view.version else "")
    _text(draw, (w - 32, 43), label, 26, (210, 228, 250, 255), 420, anchor="rm")
    glyphs = _glyphs(view)
    bottom = h - (70 if view.typing is not None else 24)
    lines = _layout(draw, glyphs, w - 2 * MARGIN)
    fit = max(1, (bottom - TOP) // LINE_H)
    focus = next((c for c in view.carets if c.mine), view.carets[0] if view.carets else None)
    first = 0
    if lines > fit:
        at = next((g.line for g in glyphs if g.kind in ("text", "end", "close") and focus is not None
                   and g.index >= focus.index), lines - 1)
        first = min(max(0, at - fit // 2), lines - fit)
    font, tag_font = ui_font(TEXT_PX), ui_font(18)

    def xy(g: _Glyph) -> tuple[float, float]:
        return MARGIN + g.x, TOP + (g.line - first) * LINE_H

    shown = [g for g in glyphs if first <= g.line < first + fit]
    for g in shown:  # the brackets' ground first
        if g.bracket and g.kind in ("text", "open", "close"):
            x, y = xy(g)
            draw.rectangle((x, y - 2, x + g.w + (1 if g.kind != "close" else 0), y + LINE_H - 10), fill=BRACKET_BG)
    k = 0
    while k < len(shown):  # plain and bracketed text: one call per stretch of a line in one style
        g = shown[k]
        if g.kind != "text" or g.ch == "\n":
            k += 1
            continue
        m = k
        while m < len(shown) and shown[m].kind == "text" and shown[m].line == g.line and \
                shown[m].bracket == g.bracket and shown[m].ch != "\n":
            m += 1
        draw.text(xy(g), "".join(x.ch for x in shown[k:m]), font=font, fill=BRACKET_INK if g.bracket else WHITE)
        k = m
    for g in shown:
        x, y = xy(g)
        if g.kind in ("open", "close"):
            draw.text((x, y), g.ch, font=font, fill=AMBER)
        elif g.kind == "tag":
            rgb = _on_panel(delegation_style(g.ch.strip())[1])
            draw.rounded_rectangle((x + 4, y + 6, x + g.w, y + 32), radius=6, fill=(*rgb, 255))
            draw.text((x + 4 + (g.w - 4) / 2, y + 19), g.ch.strip(), font=tag_font, fill=_contrast(rgb), anchor="mm")
    if first > 0:
        draw.text((w - MARGIN, TOP - 30), "…", font=font, fill=DIM, anchor="rm")
    if first + fit < lines:
        draw.text((w - MARGIN, bottom - 4), "…", font=font, fill=DIM, anchor="rm")
    for c in sorted(view.carets, key=lambda c: c.mine):  # ours last: on top
        g = next((g for g in glyphs if g.kind in ("text", "end", "close") and g.index >= c.index), glyphs[-1])
        if g.kind == "close" and g.index > c.index:
            continue
        if not first <= g.line < first + fit:
            continue
        x, y = xy(g)
        rgb = _on_panel(delegation_style(c.code)[1])
        draw.rectangle((x - 2, y - 4, x + (3 if c.mine else 1), y + LINE_H - 8), fill=(*rgb, 255))
        tw = draw.textlength(c.code, font=tag_font) + 10
        draw.rectangle((x - 2, y - 26, x - 2 + tw, y - 4), fill=(*rgb, 255))
        draw.text((x + 3, y - 15), c.code, font=tag_font, fill=_contrast(rgb), anchor="lm")
    if not view.runs and view.typing is None:
        draw.text((w / 2, h / 2), "The draft is empty", font=ui_font(34), fill=SOFT, anchor="mm")
    if view.typing is not None:
        draw.rectangle((0, h - 60, w - 1, h - 1), fill=(6, 18, 40, 255))
        shown_line = view.typing
        while shown_line and draw.textlength("Typing: " + shown_line + "|", font=ui_font(26)) > w - 2 * MARGIN:
            shown_line = shown_line[1:]
        draw.text((MARGIN, h - 30), "Typing: " + shown_line + "|", font=ui_font(26), fill=WHITE, anchor="lm")
        draw.text((w - MARGIN, h - 30), "Enter inserts · Esc leaves", font=ui_font(20), fill=DIM, anchor="rm")
    return _pixels(img)
