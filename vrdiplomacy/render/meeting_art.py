"""The meeting's pixels (Pillow, no GL): the chamber's live screens and the interface panels.

Everything here is drawn from a :class:`~vrdiplomacy.session.meeting_view.MeetingView` alone:

* :func:`speaker_screen`: the "CURRENT SPEAKER" wall screen: who holds the floor (name,
  delegation, its real flag from the flag-icons atlas, or for a delegation the atlas does not
  list a plate in its colour from ``assets/data/delegations.json``), the time left (mm:ss, red
  once overrun), the next five on the speakers' list, the agenda item and the phase;
* :func:`agenda_screen`: the "AGENDA" wall screen: the items, the current one highlighted, and the phase;
* :func:`participants_panel`: who is present, speaking, muted, their role, raised hands;
* :func:`status_panel`: the delegate's own mic, push-to-talk, listening channel, place on the
  list, the acknowledgement of a gesture just sent, notices, and the chair's keys when the
  delegate may act as chair.

Same font as the placards and the HUD card (DejaVu Sans, :mod:`vrdiplomacy.render.fonts`); the
check mark and the arrow are drawn as shapes, so they look the same in the fallback font. Each
``*_key`` function is what its picture depends on: a texture is redrawn only when it changes.
"""

from __future__ import annotations

import math
import zlib
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from vrdiplomacy.render.fonts import ui_font
from vrdiplomacy.render.tags import tag_flag
from vrdiplomacy.scene.hud import ACK_S, CHAIR_KEYS
from vrdiplomacy.session.meeting_view import MeetingView, Participant

RGBA = tuple[int, int, int, int]
Pixels = npt.NDArray[np.uint8]

SCREEN_SIZE = (1024, 576)  # 16:9 like the chamber's 5.2 x 2.925 m screens
PANEL_WIDTH = 768
SCREEN_BG: RGBA = (10, 28, 58, 255)  # the baked screens' blue (tools/assetgen/textures.py)
BAR: RGBA = (0, 92, 160, 255)
WHITE: RGBA = (255, 255, 255, 255)
SOFT: RGBA = (190, 206, 228, 255)
DIM: RGBA = (128, 150, 182, 255)
RED: RGBA = (236, 64, 52, 255)
GREEN: RGBA = (56, 200, 100, 255)
AMBER: RGBA = (240, 170, 40, 255)
GOLD: RGBA = (236, 200, 90, 255)
TEAL: RGBA = (40, 170, 180, 255)
PANEL_BG: RGBA = (16, 22, 34, 255)  # opaque: blending is linear, 3% of a white wall would show as grey
ROW_ALT: RGBA = (28, 36, 52, 255)
MAX_PARTICIPANT_ROWS = 14

PHASE_LABELS = {"general_debate": "General debate", "opening": "Opening", "negotiation": "Negotiation",
                "drafting": "Drafting", "voting": "Voting", "closing": "Closing", "suspended": "Suspended"}
KIND_TAGS = {"point_of_order": ("POINT OF ORDER", AMBER), "reply": ("RIGHT OF REPLY", TEAL)}
GESTURE_LABELS = {"raise_hand": "Raise hand", "lower_hand": "Lower hand", "thumbs_up": "Thumbs up",
                  "thumbs_down": "Thumbs down", "head_shake": "Head shake", "open_palms": "Open palms"}


# ---------------------------------------------------------------- helpers


@lru_cache(maxsize=1)
def _delegation_table() -> dict[str, tuple[str, tuple[int, int, int]]]:
    """Code, name and placard label (upper case) -> (display name, sRGB colour)."""
    from vrdiplomacy.errors import AssetError
    from vrdiplomacy.scene.delegations import load_delegations

    try:
        table = {}
        for d in load_delegations():
            rgb = tuple(int(round(c * 255)) for c in d.colour)
            for k in (d.code, d.name, d.placard):
                table[k.upper()] = (d.name, rgb)
        return table  # type: ignore[return-value]
    except AssetError:  # no asset data (a bare checkout): every delegation gets a derived colour
        return {}


def delegation_style(delegation: str) -> tuple[str, tuple[int, int, int]]:
    """``delegation`` (an ISO code, a name or a placard label) -> its display name and flag-plate colour.

    Unknown delegations keep their text and get a colour derived from it (the same everywhere)."""
    hit = _delegation_table().get(delegation.strip().upper())
    if hit is not None:
        return hit
    h = zlib.crc32(delegation.encode("utf-8"))
    return delegation, (60 + h % 160, 60 + (h >> 8) % 160, 60 + (h >> 16) % 160)


def fmt_time(seconds: float) -> str:
    """mm:ss of ``seconds`` (whole seconds, rounded towards zero; "-mm:ss" when negative; "--:--"
    when not a finite number, capped at 99:59 either way)."""
    if not math.isfinite(seconds):
        return "--:--"
    s = max(-5999, min(5999, int(seconds)))
    sign = "-" if s < 0 else ""
    s = abs(s)
    return f"{sign}{s // 60:02d}:{s % 60:02d}"


Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def _fit(draw: ImageDraw.ImageDraw, text: str, size: int, width: int, smallest: int = 16) -> tuple[str, Font]:
    """``text`` in the largest font up to ``size`` px that fits ``width`` px (cut with "…" below ``smallest``)."""
    while True:
        font = ui_font(size)
        if draw.textlength(text, font=font) <= width:
            return text, font
        if size <= smallest:
            break
        size -= 2
    while len(text) > 1 and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text.rstrip() + "…", font


def _text(draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, size: int, fill: RGBA, width: int,
          anchor: str = "lm", smallest: int = 16) -> float:
    """Draw ``text`` fitted into ``width`` px at ``xy``; returns its drawn width."""
    text, font = _fit(draw, text, size, width, smallest)
    draw.text(xy, text, font=font, fill=fill, anchor=anchor)
    return float(draw.textlength(text, font=font))


def _contrast(rgb: tuple[int, int, int]) -> RGBA:
    r, g, b = rgb
    return (20, 20, 24, 255) if 0.299 * r + 0.587 * g + 0.114 * b > 140 else WHITE


def _plate(img: Image.Image, draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], delegation: str,
           label_px: int = 0) -> None:
    """The delegation's real flag (the flag-icons atlas, :func:`~vrdiplomacy.render.tags.tag_flag`),
    4:3 at the box's height from its left edge, with a thin light rim; for a delegation the atlas
    does not list (or no atlas), the placeholder: a plate in the delegation's colour with a light
    rim (and its code)."""
    flag = tag_flag(delegation)
    if flag is not None:
        x0, y0, x1, y1 = box
        h = y1 - y0
        w = min(x1 - x0, round(h * 4 / 3))
        img.paste(flag.convert("RGB").resize((w, h), Image.Resampling.LANCZOS), (x0, y0))
        draw.rectangle((x0, y0, x0 + w - 1, y1 - 1), outline=(236, 234, 226, 255), width=max(1, h // 60))
        return
    _name, rgb = delegation_style(delegation)
    draw.rectangle(box, fill=(*rgb, 255), outline=(236, 234, 226, 255), width=max(2, (box[3] - box[1]) // 30))
    code = delegation.strip().upper()
    if label_px and code:
        _text(draw, ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2), code, label_px, _contrast(rgb),
              box[2] - box[0] - 12, anchor="mm")


def _chip(draw: ImageDraw.ImageDraw, right: float, cy: float, text: str, fill: RGBA, size: int = 20,
          ink: RGBA = WHITE) -> float:
    """A rounded label ending at ``right``, centred on ``cy``; returns its left edge."""
    font = ui_font(size)
    w = draw.textlength(text, font=font) + size
    h = size * 1.35
    draw.rounded_rectangle((right - w, cy - h / 2, right, cy + h / 2), radius=int(h / 2), fill=fill)
    draw.text((right - w / 2, cy), text, font=font, fill=ink, anchor="mm")
    return right - w


def _check(draw: ImageDraw.ImageDraw, x: float, cy: float, size: float, fill: RGBA) -> None:
    """A check mark, drawn (the fallback font has no ✓)."""
    w = max(3, int(size / 6))
    draw.line(((x, cy), (x + size * 0.35, cy + size * 0.35), (x + size, cy - size * 0.45)), fill=fill, width=w,
              joint="curve")


def _arrow(draw: ImageDraw.ImageDraw, x: float, cy: float, size: float, fill: RGBA) -> None:
    draw.polygon(((x, cy - size / 2), (x + size * 0.8, cy), (x, cy + size / 2)), fill=fill)


def _phase(phase: str) -> str:
    return PHASE_LABELS.get(phase, phase.replace("_", " ").capitalize())


def _title_bar(draw: ImageDraw.ImageDraw, w: int, title: str, phase: str) -> None:
    draw.rectangle((0, 0, w - 1, 84), fill=BAR)
    draw.text((32, 43), title, font=ui_font(44, bold=True), fill=WHITE, anchor="lm")
    if phase:
        _text(draw, (w - 32, 43), _phase(phase).upper(), 30, (210, 228, 250, 255), 360, anchor="rm")


def _image(size: tuple[int, int], bg: RGBA) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    img = Image.new("RGBA", size, bg)
    return img, ImageDraw.Draw(img)


def _pixels(img: Image.Image) -> Pixels:
    return np.asarray(img, dtype=np.uint8)


# ---------------------------------------------------------------- chamber screens


CLOCK_BOX = (736, 96, 1000, 270)
"""Where the time left sits on the speaker screen (x0, y0, x1, y1 in its pixels): a texture of its
own, so the clock ticking each second redraws 264 x 174 pixels, not the whole screen."""


def speaker_screen_key(view: MeetingView) -> tuple[object, ...]:
    """What :func:`speaker_screen` (without its clock) depends on: :meth:`MeetingView.screen_key`
    less the time left, plus whether the turn is timed and how many wait beyond the first five."""
    return (view.speaker, view.speaking_time_s > 0, view.next_five, max(0, len(view.queue) - 5), view.agenda_item,
            view.phase)


def clock_key(view: MeetingView) -> int | None:
    """The whole seconds left of a timed turn (None: no clock shown: the floor is open or untimed)."""
    if view.speaker is None or not view.speaking_time_s > 0:
        return None
    return int(view.remaining_s) if math.isfinite(view.remaining_s) else -1 << 31


def speaker_clock(view: MeetingView) -> Pixels:
    """The time left, mm:ss ("REMAINING"; red "OVERRUN" and -mm:ss once over), for :data:`CLOCK_BOX`."""
    x0, y0, x1, y1 = CLOCK_BOX
    img, draw = _image((x1 - x0, y1 - y0), SCREEN_BG)
    if clock_key(view) is not None:
        over = view.remaining_s < 0
        w = x1 - x0
        draw.text((w, 124 - y0), "OVERRUN" if over else "REMAINING", font=ui_font(26), fill=RED if over else DIM,
                  anchor="rm")
        draw.text((w, 196 - y0), fmt_time(view.remaining_s), font=ui_font(92), fill=RED if over else WHITE, anchor="rm")
    return _pixels(img)


def speaker_screen(view: MeetingView, clock: bool = True) -> Pixels:
    """The "CURRENT SPEAKER" wall screen, (576, 1024, 4) sRGB, top row first; ``clock``: with the
    time left drawn in (else :data:`CLOCK_BOX` is left empty for :func:`speaker_clock`)."""
    w, h = SCREEN_SIZE
    img, draw = _image(SCREEN_SIZE, SCREEN_BG)
    _title_bar(draw, w, "CURRENT SPEAKER", view.phase)
    sp = view.speaker
    if sp is None:
        draw.text((32, 185), "The floor is open.", font=ui_font(60), fill=WHITE, anchor="lm")
    else:
        _plate(img, draw, (32, 112, 232, 246), sp.delegation, 44)
        name_w = CLOCK_BOX[0] - 260 - 16 if view.speaking_time_s > 0 else w - 260 - 32
        _text(draw, (260, 146), sp.name, 58, WHITE, name_w, smallest=28)
        _text(draw, (260, 208), delegation_style(sp.delegation)[0], 38, SOFT, name_w, smallest=22)
        tag = KIND_TAGS.get(sp.kind)
        if tag is not None:
            _chip(draw, 260 + draw.textlength(tag[0], font=ui_font(22)) + 22, 250, tag[0], tag[1], 22)
    if clock and clock_key(view) is not None:
        img.paste(Image.fromarray(speaker_clock(view)), CLOCK_BOX[:2])
    draw.line((32, 282, w - 32, 282), fill=(40, 70, 110, 255), width=2)
    draw.text((32, 306), "NEXT ON THE LIST", font=ui_font(28), fill=DIM, anchor="lm")
    more = len(view.queue) - 5
    if more > 0:
        draw.text((w - 32, 306), f"+{more} more", font=ui_font(26), fill=DIM, anchor="rm")
    if not view.queue:
        draw.text((32, 352), "No one has asked for the floor.", font=ui_font(30), fill=SOFT, anchor="lm")
    for i, q in enumerate(view.next_five):
        cy = 346 + i * 34
        draw.text((44, cy), f"{i + 1}", font=ui_font(28), fill=GOLD, anchor="mm")
        _plate(img, draw, (66, cy - 12, 104, cy + 12), q.delegation)
        right = w - 32
        tag = KIND_TAGS.get(q.kind)
        if tag is not None:
            right = _chip(draw, right, cy, tag[0], tag[1], 18) - 10
        dname = delegation_style(q.delegation)[0]
        line = f"{q.name}  ·  {dname}" if dname and dname != q.name else q.name
        _text(draw, (118, cy), line, 28, WHITE, int(right - 118), smallest=18)
    draw.rectangle((0, 506, w - 1, h - 1), fill=BAR)
    draw.text((32, 541), "AGENDA", font=ui_font(26), fill=(170, 200, 235, 255), anchor="lm")
    _text(draw, (170, 541), view.agenda_item or "No agenda item", 32, WHITE, w - 170 - 32, smallest=18)
    return _pixels(img)


def agenda_screen_key(view: MeetingView) -> tuple[object, ...]:
    return (view.agenda, view.agenda_index, view.phase)


def agenda_screen(view: MeetingView) -> Pixels:
    """The "AGENDA" wall screen: the items (the current one highlighted) and the phase."""
    w, h = SCREEN_SIZE
    img, draw = _image(SCREEN_SIZE, SCREEN_BG)
    _title_bar(draw, w, "AGENDA", view.phase)
    if not view.agenda:
        draw.text((32, 160), "No agenda set.", font=ui_font(44), fill=SOFT, anchor="lm")
    rows = 8
    first = min(max(0, view.agenda_index - rows + 2), max(0, len(view.agenda) - rows))
    for i, item in enumerate(view.agenda[first:first + rows]):
        k = first + i
        cy = 124 + i * 46
        current = k == view.agenda_index
        if current:
            draw.rectangle((16, cy - 22, w - 16, cy + 22), fill=(0, 72, 130, 255))
            _arrow(draw, 24, cy, 22, GOLD)
        done = 0 <= view.agenda_index and k < view.agenda_index
        draw.text((56, cy), f"{k + 1}.", font=ui_font(30), fill=GOLD if current else DIM, anchor="lm")
        _text(draw, (104, cy), item, 32, WHITE if current else DIM if done else SOFT, w - 104 - 32, smallest=18)
    draw.rectangle((0, 506, w - 1, h - 1), fill=BAR)
    draw.text((32, 541), "PHASE", font=ui_font(26), fill=(170, 200, 235, 255), anchor="lm")
    draw.text((140, 541), _phase(view.phase), font=ui_font(32), fill=WHITE, anchor="lm")
    if view.agenda and view.agenda_index >= 0:
        draw.text((w - 32, 541), f"item {view.agenda_index + 1} of {len(view.agenda)}", font=ui_font(26),
                  fill=(170, 200, 235, 255), anchor="rm")
    return _pixels(img)


# ---------------------------------------------------------------- interface panels


def participants_key(view: MeetingView) -> tuple[object, ...]:
    return (view.participants, None if view.speaker is None else view.speaker.key)


def participants_panel(view: MeetingView) -> Pixels:
    """The participants panel: one row each (present, speaking, muted, role, hand raised)."""
    parts = view.participants
    shown = parts[:MAX_PARTICIPANT_ROWS]
    row = 44
    height = 76 + row * max(1, len(shown)) + (36 if len(parts) > len(shown) else 0) + 16
    img, draw = _image((PANEL_WIDTH, height), (0, 0, 0, 0))
    draw.rounded_rectangle((0, 0, PANEL_WIDTH - 1, height - 1), radius=20, fill=PANEL_BG)
    draw.text((24, 36), "PARTICIPANTS", font=ui_font(30), fill=(170, 190, 215, 255), anchor="lm")
    present = sum(p.present for p in parts)
    speaking = sum(p.speaking and p.present for p in parts)
    draw.text((PANEL_WIDTH - 24, 36), f"{present} present · {speaking} speaking", font=ui_font(24), fill=DIM, anchor="rm")
    if not parts:
        draw.text((24, 76 + row // 2), "Nobody else is here yet.", font=ui_font(26), fill=SOFT, anchor="lm")
    floor = None if view.speaker is None else view.speaker.key
    for i, p in enumerate(shown):
        top = 72 + i * row
        cy = top + row // 2
        if i % 2:
            draw.rectangle((8, top, PANEL_WIDTH - 9, top + row - 1), fill=ROW_ALT)
        _participant_row(img, draw, p, cy, p.key == floor)
    if len(parts) > len(shown):
        draw.text((24, 72 + len(shown) * row + 18), f"+{len(parts) - len(shown)} more", font=ui_font(24), fill=DIM,
                  anchor="lm")
    return _pixels(img)


def _participant_row(img: Image.Image, draw: ImageDraw.ImageDraw, p: Participant, cy: int, has_floor: bool) -> None:
    ink = WHITE if p.present else (110, 120, 138, 255)
    # state dot: green while speaking, ringed when present and silent, hollow grey when away
    if p.present and p.speaking:
        draw.ellipse((18, cy - 10, 38, cy + 10), fill=GREEN)
    elif p.present:
        draw.ellipse((18, cy - 10, 38, cy + 10), outline=SOFT, width=3)
    else:
        draw.ellipse((20, cy - 8, 36, cy + 8), outline=(90, 98, 112, 255), width=2)
    _plate(img, draw, (50, cy - 12, 86, cy + 12), p.delegation)
    right = PANEL_WIDTH - 20.0
    if p.muted:
        right = _chip(draw, right, cy, "MUTED", RED) - 6
    if p.hand_raised:
        right = _chip(draw, right, cy, "HAND", (38, 110, 220, 255)) - 6
    if has_floor:
        right = _chip(draw, right, cy, "FLOOR", GOLD, ink=(30, 24, 0, 255)) - 6
    if not p.present:
        right = _chip(draw, right, cy, "AWAY", (70, 78, 92, 255)) - 6
    right = _chip(draw, right, cy, p.role.upper(), (52, 64, 86, 255), 18, SOFT) - 10
    dname = delegation_style(p.delegation)[0]
    name_w = _text(draw, (98, cy), p.name, 26, ink, int(right - 98) - 8, smallest=16)
    if dname and dname != p.name and 98 + name_w + 24 < right - 40:
        _text(draw, (98 + name_w + 12, cy + 2), dname, 20, DIM, int(right - (98 + name_w + 12)) - 8, smallest=14)


def ack_text(view: MeetingView) -> str | None:
    """"Raise hand sent" while the delegate's own last gesture is at most ``ACK_S`` seconds old."""
    g = view.last_sent_gesture
    if g is None or not 0.0 <= view.time - view.last_sent_at <= ACK_S:
        return None
    return f"{GESTURE_LABELS.get(g, g.replace('_', ' ').capitalize())} sent"


def status_key(view: MeetingView) -> tuple[object, ...]:
    speaker = None if view.speaker is None else view.speaker.key
    return (view.me, view.my_place, len(view.queue), speaker, view.mic_on, view.push_to_talk, view.listening,
            ack_text(view), view.notices, view.chair_controls)


def status_panel(view: MeetingView) -> Pixels:
    """The delegate's own line: mic, push-to-talk, listening, place on the list, the gesture
    acknowledgement, notices, and (``chair_controls``) the chair's keys."""
    notices = view.notices[-3:]
    ack = ack_text(view)
    layer, draw = _image((PANEL_WIDTH, 1024), (0, 0, 0, 0))  # drawn, then cut to its height
    me = view.me
    y = 44
    draw.text((24, y), "YOU", font=ui_font(30), fill=(170, 190, 215, 255), anchor="lm")
    right = PANEL_WIDTH - 24.0
    if me is not None:
        right = _chip(draw, right, y, me.role.upper(), (52, 64, 86, 255), 20, SOFT) - 10
        who = me.name + (f"  ·  {delegation_style(me.delegation)[0]}" if me.delegation else "")
        _text(draw, (100, y), who, 28, WHITE, int(right - 100) - 8, smallest=16)
    y += 52
    # the mic: a capsule and a stand, green when on, red and struck through when off
    on = view.mic_on and not (me is not None and me.muted)
    colour = GREEN if on else RED
    draw.rounded_rectangle((28, y - 18, 44, y + 6), radius=8, fill=colour)
    draw.arc((22, y - 10, 50, y + 14), 0, 180, fill=colour, width=3)
    draw.line((36, y + 14, 36, y + 20), fill=colour, width=3)
    if not on:
        draw.line((20, y + 18, 52, y - 20), fill=WHITE, width=3)
    mic = "Mic on" if on else ("Muted by the chair" if me is not None and me.muted else "Mic off")
    _text(draw, (64, y), mic, 30, colour, 300)
    mode = "Push-to-talk: hold to speak" if view.push_to_talk else "Open mic"
    _chip(draw, PANEL_WIDTH - 24, y, mode, (52, 64, 86, 255), 22, SOFT)
    y += 52
    listen = "Listening: floor" if view.listening == "floor" else f"Listening: {view.listening.upper()} channel"
    draw.text((64, y), listen, font=ui_font(26), fill=SOFT, anchor="lm")
    y += 52
    has_floor = me is not None and view.speaker is not None and view.speaker.key == me.key
    if has_floor:
        _arrow(draw, 30, y, 24, GOLD)
        draw.text((64, y), "You have the floor", font=ui_font(32), fill=GOLD, anchor="lm")
    elif view.my_place is not None:
        draw.text((64, y), f"Your place on the list: {view.my_place} of {max(len(view.queue), view.my_place)}",
                  font=ui_font(30), fill=WHITE, anchor="lm")
    else:
        draw.text((64, y), "Not on the speakers' list", font=ui_font(28), fill=SOFT, anchor="lm")
    if ack:
        y += 52
        draw.rounded_rectangle((16, y - 22, PANEL_WIDTH - 16, y + 22), radius=10, fill=(22, 84, 48, 255))
        _check(draw, 28, y, 26, GREEN)
        _text(draw, (68, y), ack, 30, WHITE, PANEL_WIDTH - 68 - 24)
    for n in notices:
        y += 42
        _text(draw, (28, y), n, 26, AMBER, PANEL_WIDTH - 52, smallest=16)
    if view.chair_controls:
        y += 56
        draw.line((24, y - 28, PANEL_WIDTH - 24, y - 28), fill=(60, 72, 96, 255), width=2)
        draw.text((24, y), "CHAIR", font=ui_font(30), fill=GOLD, anchor="lm")
        draw.text((PANEL_WIDTH - 24, y), "keys", font=ui_font(22), fill=DIM, anchor="rm")
        for key, action in CHAIR_KEYS:
            y += 40
            draw.rounded_rectangle((28, y - 16, 62, y + 16), radius=6, fill=(226, 230, 238, 255))
            draw.text((45, y), key, font=ui_font(24), fill=(16, 22, 34, 255), anchor="mm")
            _text(draw, (78, y), action, 26, WHITE, PANEL_WIDTH - 78 - 24, smallest=16)
    height = y + 40
    img, bg = _image((PANEL_WIDTH, height), (0, 0, 0, 0))
    bg.rounded_rectangle((0, 0, PANEL_WIDTH - 1, height - 1), radius=20, fill=PANEL_BG)
    img.alpha_composite(layer.crop((0, 0, PANEL_WIDTH, height)))
    return _pixels(img)
