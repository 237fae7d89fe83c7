"""Textures: placard and sign atlases, flags, wall screens and exhibit panels.

The member states' flags are the real ones, cropped from the committed atlas
``assets/textures/flags.png`` (``tools/fetch_flags.py`` rasterized it from flag-icons); everything
else is procedural.

Everything is drawn with Pillow from fixed inputs, with a hash-seeded generator instead of
``random``, and saved as PNG without metadata, so reruns give identical bytes. Text uses
DejaVu Sans when the system has it, otherwise Pillow's bundled default font.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from .geom import UVRect

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
RGB = tuple[int, int, int]


def font_name() -> str:
    """Which font the text is drawn with (recorded in the manifest)."""
    for d in FONT_DIRS:
        if (d / "DejaVuSans-Bold.ttf").is_file():
            return "DejaVuSans"
    return "pillow-default"


def font(size: int, bold: bool = True) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for d in FONT_DIRS:
        p = d / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")
        if p.is_file():
            return ImageFont.truetype(str(p), size)
    return ImageFont.load_default(size=size)


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=9)
    return buf.getvalue()


class Rng:
    """A tiny deterministic generator (splitmix64) seeded from a string."""

    def __init__(self, seed: str) -> None:
        self.state = int.from_bytes(hashlib.sha256(seed.encode("utf-8")).digest()[:8], "little")

    def next(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        return z ^ (z >> 31)

    def uniform(self) -> float:
        return (self.next() >> 11) / float(1 << 53)

    def randint(self, n: int) -> int:
        return self.next() % n


def _text_width(draw: ImageDraw.ImageDraw, text: str, f: ImageFont.FreeTypeFont | ImageFont.ImageFont) -> float:
    l, _, r, _ = draw.textbbox((0, 0), text, font=f)
    return float(r - l)


def fit_font(draw: ImageDraw.ImageDraw, text: str, max_w: float, start: int, smallest: int = 10
             ) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    size = start
    while size > smallest:
        f = font(size)
        if _text_width(draw, text, f) <= max_w:
            return f
        size -= 1
    return font(smallest)


@dataclass(frozen=True)
class Atlas:
    """A grid of equal cells; ``uv(i)`` gives cell i's UV rectangle (glTF: v down)."""

    cols: int
    rows: int
    cell_w: int
    cell_h: int
    inset: float = 0.5  # texels kept off each cell edge to avoid bleeding when filtered

    @property
    def size(self) -> tuple[int, int]:
        return self.cols * self.cell_w, self.rows * self.cell_h

    def origin(self, i: int) -> tuple[int, int]:
        return (i % self.cols) * self.cell_w, (i // self.cols) * self.cell_h

    def uv(self, i: int) -> UVRect:
        x, y = self.origin(i)
        w, h = self.size
        d = self.inset
        return ((x + d) / w, (y + d) / h, (x + self.cell_w - d) / w, (y + self.cell_h - d) / h)


# ---------------------------------------------------------------- placards and signs

PLACARD_BG: RGB = (246, 244, 236)
PLACARD_INK: RGB = (22, 24, 34)


def label_atlas(labels: list[str], cell: tuple[int, int], cols: int, bg: RGB = PLACARD_BG, ink: RGB = PLACARD_INK,
                border: RGB | None = (170, 165, 150), min_rows: int = 0) -> tuple[Image.Image, Atlas]:
    """One cell per label (text centred, shrunk to fit) plus a final blank cell for edges;
    ``min_rows`` pads the atlas (e.g. to a square power-of-two image)."""
    n = len(labels) + 1
    atlas = Atlas(cols, max(min_rows, (n + cols - 1) // cols), cell[0], cell[1])
    img = Image.new("RGB", atlas.size, bg)
    draw = ImageDraw.Draw(img)
    cw, ch = cell
    for i, text in enumerate(labels):
        x, y = atlas.origin(i)
        if border is not None:
            draw.rectangle([x + 1, y + 1, x + cw - 2, y + ch - 2], outline=border, width=1)
        f = fit_font(draw, text, cw - 14, start=int(ch * 0.62))
        draw.text((x + cw / 2, y + ch / 2), text, font=f, fill=ink, anchor="mm")
    return img, atlas


# ---------------------------------------------------------------- flags

FLAG_COLOURS: tuple[RGB, ...] = (
    (200, 16, 46),  # red
    (255, 255, 255),  # white
    (0, 56, 147),  # blue
    (0, 122, 61),  # green
    (252, 209, 22),  # yellow
    (20, 20, 20),  # black
    (117, 170, 219),  # sky blue
    (240, 120, 20),  # orange
    (128, 0, 40),  # maroon
)
UN_BLUE: RGB = (0, 158, 219)


def _draw_flag(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], seed: str) -> RGB:
    """A procedural stand-in flag (stripes, a cross, a canton or a disc). Not a real flag."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    rng = Rng("flag:" + seed)
    cols: list[RGB] = []
    while len(cols) < 3:
        c = FLAG_COLOURS[rng.randint(len(FLAG_COLOURS))]
        if not cols or c != cols[-1]:
            cols.append(c)
    pattern = rng.randint(6)
    if pattern == 0:  # horizontal tricolour
        for i, c in enumerate(cols):
            draw.rectangle([x0, y0 + i * h // 3, x1 - 1, y0 + (i + 1) * h // 3 - 1], fill=c)
    elif pattern == 1:  # vertical tricolour
        for i, c in enumerate(cols):
            draw.rectangle([x0 + i * w // 3, y0, x0 + (i + 1) * w // 3 - 1, y1 - 1], fill=c)
    elif pattern == 2:  # bicolour with a disc
        draw.rectangle([x0, y0, x1 - 1, y0 + h // 2 - 1], fill=cols[0])
        draw.rectangle([x0, y0 + h // 2, x1 - 1, y1 - 1], fill=cols[1])
        r = h // 4
        cx, cy = x0 + w // 2, y0 + h // 2
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=cols[2])
    elif pattern == 3:  # Nordic cross
        draw.rectangle([x0, y0, x1 - 1, y1 - 1], fill=cols[0])
        t = max(2, h // 6)
        cx, cy = x0 + w * 3 // 8, y0 + h // 2
        draw.rectangle([cx - t, y0, cx + t - 1, y1 - 1], fill=cols[1])
        draw.rectangle([x0, cy - t, x1 - 1, cy + t - 1], fill=cols[1])
    elif pattern == 4:  # field with a canton and a star-like diamond
        draw.rectangle([x0, y0, x1 - 1, y1 - 1], fill=cols[0])
        draw.rectangle([x0, y0, x0 + w * 2 // 5 - 1, y0 + h // 2 - 1], fill=cols[1])
        cx, cy, r = x0 + w // 5, y0 + h // 4, h // 8
        draw.polygon([(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)], fill=cols[2])
    else:  # hoist triangle over horizontal bicolour
        draw.rectangle([x0, y0, x1 - 1, y0 + h // 2 - 1], fill=cols[0])
        draw.rectangle([x0, y0 + h // 2, x1 - 1, y1 - 1], fill=cols[1])
        draw.polygon([(x0, y0), (x0 + w * 2 // 5, y0 + h // 2), (x0, y1 - 1)], fill=cols[2])
    return cols[0]


def _draw_un_flag(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int]) -> None:
    """The United Nations flag, simplified: on UN blue, the white emblem: a world map seen from
    the North Pole (concentric parallels, meridians) in a wreath of two olive branches."""
    x0, y0, x1, y1 = box
    draw.rectangle([x0, y0, x1 - 1, y1 - 1], fill=UN_BLUE)
    white = (255, 255, 255)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 - (y1 - y0) * 0.02
    r = (y1 - y0) * 0.25
    for k in (1.0, 0.66, 0.33):  # the parallels
        draw.ellipse([cx - r * k, cy - r * k, cx + r * k, cy + r * k], outline=white, width=1)
    for a in range(0, 180, 45):  # the meridians
        dx, dy = r * math.cos(math.radians(a)), r * math.sin(math.radians(a))
        draw.line([cx - dx, cy - dy, cx + dx, cy + dy], fill=white, width=1)
    w = r * 1.45  # the olive branches: two arcs of leaves from the bottom round either side
    for side in (-1.0, 1.0):
        for k in range(6):
            t = math.radians(28 + k * 24)  # from just beside the bottom up past the side
            lx, ly = cx + side * w * math.sin(t), cy + w * 0.92 * math.cos(t)
            draw.ellipse([lx - 1.8, ly - 1.2, lx + 1.8, ly + 1.2], fill=white)


REAL_FLAGS = Path(__file__).resolve().parents[2] / "assets" / "textures"


def real_flags(folder: Path = REAL_FLAGS) -> tuple[Image.Image, tuple[int, int], dict[str, tuple[int, int]]]:
    """The committed real-flag atlas: the RGB image, the cell size and alpha-3 code -> cell origin.
    Exits with a clear message when it is missing or malformed (rebuild: tools/fetch_flags.py)."""
    try:
        meta = json.loads((folder / "flags.json").read_text(encoding="utf-8"))
        with Image.open(folder / "flags.png") as im:
            img = im.convert("RGB")
        cell = (int(meta["cell"][0]), int(meta["cell"][1]))
        cells = {str(k): (int(v["cell"][0]), int(v["cell"][1])) for k, v in meta["flags"].items()}
    except (OSError, ValueError, KeyError, TypeError, IndexError) as e:
        raise SystemExit(f"assetgen: cannot read the flag atlas in {folder} ({type(e).__name__}: {e}); "
                         "rebuild it with tools/fetch_flags.py") from None
    return img, cell, cells


def main_colour(flag: Image.Image) -> RGB:
    """The colour a flag is known by, to tint avatars: its most common colour that is not near
    white when that covers at least 12 % of the flag (Japan: red), else its most common colour."""
    counts = Counter(flag.convert("RGB").getdata())
    total = flag.width * flag.height
    ranked = counts.most_common()
    for rgb, n in ranked:
        if n < 0.12 * total:
            break
        if min(rgb) < 200:
            return rgb
    return ranked[0][0]


def flag_atlas(codes: list[str], cell: tuple[int, int] = (96, 64), cols: int = 16, real: bool = False,
               neutral: bool = False) -> tuple[Image.Image, Atlas, dict[str, RGB]]:
    """Cell 0 is the United Nations flag (key "UN"), then one flag per code: with ``real``, every
    code's real flag from the committed atlas (each must be listed there; ``cell`` must be its cell
    size); with ``neutral``, the UN flag again (a room's flag slots that the client dresses with the
    delegations present, :mod:`vrdiplomacy.render.room_flags`: never a made-up country's flag);
    else a procedural stand-in.
    Returns the image, the atlas and each code's main colour."""
    src = real_flags() if real else None
    if src is not None and src[1] != cell:
        raise SystemExit(f"assetgen: the flag atlas cells are {src[1]}, the scene wants {cell}")
    atlas = Atlas(cols, (len(codes) + 1 + cols - 1) // cols, cell[0], cell[1], inset=1.0)
    img = Image.new("RGB", atlas.size, (255, 255, 255))
    draw = ImageDraw.Draw(img)
    x, y = atlas.origin(0)
    _draw_un_flag(draw, (x, y, x + cell[0], y + cell[1]))
    colours: dict[str, RGB] = {"UN": UN_BLUE}
    for i, code in enumerate(codes, start=1):
        x, y = atlas.origin(i)
        if neutral:
            _draw_un_flag(draw, (x, y, x + cell[0], y + cell[1]))
            colours[code] = UN_BLUE
            continue
        if src is None:
            colours[code] = _draw_flag(draw, (x, y, x + cell[0], y + cell[1]), code)
            continue
        if code not in src[2]:
            raise SystemExit(f"assetgen: the flag atlas has no flag for {code}; rebuild it with tools/fetch_flags.py")
        sx, sy = src[2][code]
        flag = src[0].crop((sx, sy, sx + cell[0], sy + cell[1]))
        img.paste(flag, (x, y))
        colours[code] = main_colour(flag)
    return img, atlas, colours


# ---------------------------------------------------------------- wall screens

SCREEN_BG: RGB = (10, 28, 58)


def screen_image(title: str, lines: list[str], size: tuple[int, int] = (768, 432)) -> Image.Image:
    """An emissive wall screen: a title bar and lines of text."""
    w, h = size
    img = Image.new("RGB", size, SCREEN_BG)
    draw = ImageDraw.Draw(img)
    draw.rectangle([0, 0, w - 1, 70], fill=(0, 92, 160))
    draw.text((28, 35), title, font=font(40), fill=(255, 255, 255), anchor="lm")
    f = font(28, bold=False)
    y = 110
    for line in lines:
        draw.text((32, y), line, font=f, fill=(226, 234, 245), anchor="lm")
        y += 48
    draw.rectangle([0, h - 12, w - 1, h - 1], fill=(0, 92, 160))
    return img


# ---------------------------------------------------------------- exhibits


def _exhibit_landscape(draw: ImageDraw.ImageDraw, w: int, h: int, rng: Rng) -> None:
    for y in range(h):
        t = y / h
        draw.line([0, y, w, y], fill=(int(250 - 90 * t), int(170 + 40 * t), int(110 + 120 * t)))
    draw.ellipse([w * 0.62, h * 0.18, w * 0.82, h * 0.38], fill=(255, 236, 160))
    for layer, colour in enumerate(((92, 104, 140), (62, 84, 96), (38, 64, 52))):
        base = h * (0.55 + 0.14 * layer)
        pts = [(0.0, float(h))]
        x = 0.0
        while x <= w:
            pts.append((x, base - rng.uniform() * h * 0.22))
            x += w / 7
        pts.append((float(w), float(h)))
        draw.polygon(pts, fill=colour)


def _exhibit_textile(draw: ImageDraw.ImageDraw, w: int, h: int, rng: Rng) -> None:
    palette = [(150, 30, 40), (236, 200, 120), (30, 60, 110), (245, 240, 225)]
    draw.rectangle([0, 0, w, h], fill=palette[0])
    step = 32
    for j in range(-1, h // step + 1):
        for i in range(-1, w // step + 1):
            cx, cy = i * step + (step // 2 if j % 2 else 0), j * step
            c = palette[1 + (i + j) % 3]
            r = step // 2 - 2
            draw.polygon([(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)], fill=c)
            draw.polygon([(cx, cy - r // 2), (cx + r // 2, cy), (cx, cy + r // 2), (cx - r // 2, cy)], fill=palette[0])


def _exhibit_chart(draw: ImageDraw.ImageDraw, w: int, h: int, rng: Rng) -> None:
    draw.rectangle([0, 0, w, h], fill=(232, 218, 180))
    pts = []
    for k in range(15):
        a = 2 * math.pi * k / 15
        r = 0.30 + 0.12 * rng.uniform()
        pts.append((w * (0.5 + r * math.cos(a)), h * (0.5 + r * 0.8 * math.sin(a))))
    draw.polygon(pts, fill=(196, 178, 130), outline=(90, 70, 40))
    for k in range(1, 8):
        draw.line([0, h * k / 8, w, h * k / 8], fill=(200, 185, 150))
        draw.line([w * k / 8, 0, w * k / 8, h], fill=(200, 185, 150))
    cx, cy, r = w * 0.84, h * 0.16, w * 0.1
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=(90, 70, 40), width=2)
    draw.polygon([(cx, cy - r), (cx + 6, cy), (cx, cy + r), (cx - 6, cy)], fill=(120, 40, 30))


def _exhibit_ceramics(draw: ImageDraw.ImageDraw, w: int, h: int, rng: Rng) -> None:
    draw.rectangle([0, 0, w, h], fill=(40, 38, 44))
    draw.rectangle([0, h * 0.78, w, h], fill=(70, 62, 58))
    for k, (cx, scale_, colour) in enumerate(((0.25, 0.8, (170, 90, 50)), (0.52, 1.0, (40, 110, 120)),
                                               (0.78, 0.7, (200, 170, 110)))):
        x, top, bottom = w * cx, h * (0.78 - 0.5 * scale_), h * 0.78
        body = w * 0.11 * scale_
        draw.ellipse([x - body, top + (bottom - top) * 0.3, x + body, bottom], fill=colour)
        draw.rectangle([x - body * 0.35, top, x + body * 0.35, top + (bottom - top) * 0.45], fill=colour)
        draw.line([x - body * 0.8, top + (bottom - top) * 0.62, x + body * 0.8, top + (bottom - top) * 0.62],
                  fill=(240, 230, 210), width=2)


def _exhibit_mosaic(draw: ImageDraw.ImageDraw, w: int, h: int, rng: Rng) -> None:
    palette = [(30, 80, 140), (220, 190, 90), (190, 60, 40), (240, 236, 220), (40, 120, 90)]
    t = 16
    for j in range(h // t):
        for i in range(w // t):
            dx, dy = i - w // t / 2 + 0.5, j - h // t / 2 + 0.5
            ring = int(math.sqrt(dx * dx + dy * dy))
            c = palette[ring % len(palette)] if rng.uniform() > 0.08 else palette[rng.randint(len(palette))]
            draw.rectangle([i * t + 1, j * t + 1, i * t + t - 2, j * t + t - 2], fill=c)


def _exhibit_night(draw: ImageDraw.ImageDraw, w: int, h: int, rng: Rng) -> None:
    for y in range(h):
        t = y / h
        g = int(20 + 40 * t)
        draw.line([0, y, w, y], fill=(g, g, int(g * 1.2)))
    for _ in range(90):
        x, y = rng.uniform() * w, rng.uniform() * h * 0.6
        v = 150 + rng.randint(105)
        draw.point((x, y), fill=(v, v, v))
    x = 0.0
    while x < w:
        bw = 12 + rng.randint(24)
        bh = h * (0.12 + 0.3 * rng.uniform())
        draw.rectangle([x, h - bh, x + bw, h], fill=(12, 12, 16))
        for wy in range(int(h - bh) + 6, h - 4, 9):
            for wx in range(int(x) + 3, int(x + bw) - 3, 7):
                if rng.uniform() > 0.55:
                    draw.rectangle([wx, wy, wx + 2, wy + 3], fill=(250, 210, 120))
        x += bw + 2


EXHIBIT_PAINTERS = {
    "landscape": _exhibit_landscape,
    "textile": _exhibit_textile,
    "chart": _exhibit_chart,
    "ceramics": _exhibit_ceramics,
    "mosaic": _exhibit_mosaic,
    "night": _exhibit_night,
}


def window_view(size: tuple[int, int] = (256, 256)) -> Image.Image:
    """What a window shows: a pale sky over a distant, hazy city and a line of trees (drawn,
    deterministic), so a window is a view rather than a white panel."""
    w, h = size
    img = Image.new("RGB", size)
    d = ImageDraw.Draw(img)
    for y in range(h):  # sky: deeper blue at the top, hazy near the horizon
        t = y / (h * 0.7)
        top, low = (118, 158, 206), (214, 224, 232)
        d.line([(0, y), (w, y)], fill=tuple(int(top[k] + (low[k] - top[k]) * min(t, 1.0)) for k in range(3)))
    rng = Rng("window-view")
    x = 0
    while x < w:  # distant buildings, bluish grey
        bw = 10 + rng.randint(22)
        bh = int(h * (0.12 + 0.22 * rng.uniform()))
        shade = 150 + rng.randint(30)
        d.rectangle((x, int(h * 0.72) - bh, x + bw, h), fill=(shade - 12, shade - 4, shade + 10))
        x += bw + rng.randint(4)
    for i in range(0, w, 6):  # trees in front
        r = 9 + rng.randint(8)
        cy = int(h * 0.76) + rng.randint(6)
        g = 70 + rng.randint(30)
        d.ellipse((i - r, cy - r, i + r, cy + r), fill=(g - 30, g, g - 40))
    d.rectangle((0, int(h * 0.8), w, h), fill=(96, 108, 86))
    return img


def exhibit_image(kind: str, seed: str, size: int = 256) -> Image.Image:
    img = Image.new("RGB", (size, size), (0, 0, 0))
    EXHIBIT_PAINTERS[kind](ImageDraw.Draw(img), size, size, Rng("exhibit:" + seed))
    return img


def exhibit_panel(image: Image.Image, title: str, caption: str, cell: tuple[int, int] = (256, 320)) -> Image.Image:
    """The image on top and a two-line caption strip below."""
    w, h = cell
    panel = Image.new("RGB", cell, (248, 246, 240))
    panel.paste(image.resize((w, w)) if image.size != (w, w) else image, (0, 0))
    draw = ImageDraw.Draw(panel)
    draw.text((w / 2, w + 20), title, font=fit_font(draw, title, w - 16, 20), fill=(20, 20, 28), anchor="mm")
    draw.text((w / 2, w + 46), caption, font=fit_font(draw, caption, w - 16, 14, 8), fill=(70, 70, 80), anchor="mm")
    return panel


def portrait_painting(seed: str, size: tuple[int, int] = (192, 256)) -> Image.Image:
    """A formal half-length portrait in the manner of an official painting (drawn, deterministic):
    a dark warm background with a soft light behind the sitter, a dark coat with a white collar
    and a sash, the face lit from the left."""
    w, h = size
    rng = Rng("portrait:" + seed)
    img = Image.new("RGB", size)
    d = ImageDraw.Draw(img)
    for y in range(h):  # background: a warm glow behind the head fading to umber
        for band in range(0, w, 4):
            dx, dy = (band - w * 0.5) / w, (y - h * 0.35) / h
            g = max(0.0, 1.0 - 2.2 * (dx * dx + dy * dy) ** 0.5)
            d.line([(band, y), (band + 4, y)], fill=(int(42 + 70 * g), int(30 + 50 * g), int(22 + 28 * g)))
    skin = [(224, 184, 150), (196, 146, 110), (150, 104, 72), (112, 76, 52)][rng.randint(4)]
    coat = [(24, 26, 38), (30, 28, 26), (20, 30, 28)][rng.randint(3)]
    d.polygon([(w * 0.08, h), (w * 0.2, h * 0.66), (w * 0.4, h * 0.58), (w * 0.6, h * 0.58), (w * 0.8, h * 0.66),
               (w * 0.92, h)], fill=coat)
    d.polygon([(w * 0.42, h * 0.58), (w * 0.5, h * 0.74), (w * 0.58, h * 0.58)], fill=(236, 232, 220))
    d.polygon([(w * 0.47, h * 0.6), (w * 0.5, h * 0.72), (w * 0.53, h * 0.6)], fill=(110, 24, 30))
    d.line([(w * 0.3, h * 0.64), (w * 0.75, h)], fill=(150, 30, 40), width=max(3, w // 14))  # sash
    d.ellipse([w * 0.43, h * 0.49, w * 0.57, h * 0.6], fill=tuple(int(c * 0.8) for c in skin))  # neck
    d.ellipse([w * 0.37, h * 0.22, w * 0.63, h * 0.54], fill=skin)
    d.ellipse([w * 0.52, h * 0.24, w * 0.63, h * 0.54], fill=tuple(int(c * 0.78) for c in skin))  # shade
    hair = [(40, 30, 24), (90, 90, 92), (190, 190, 186)][rng.randint(3)]
    d.chord([w * 0.36, h * 0.19, w * 0.64, h * 0.4], 180, 360, fill=hair)
    for ex in (0.45, 0.55):
        d.ellipse([w * (ex - 0.02), h * 0.355, w * (ex + 0.02), h * 0.37], fill=(50, 36, 30))
    d.line([(w * 0.46, h * 0.465), (w * 0.54, h * 0.465)], fill=(120, 60, 54), width=2)
    d.rectangle([3, 3, w - 4, h - 4], outline=(20, 14, 10), width=3)
    return img
