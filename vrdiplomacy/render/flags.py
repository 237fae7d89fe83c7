"""The real national flags: the committed atlas ``assets/textures/flags.png`` (Pillow, no GL).

``tools/fetch_flags.py`` rasterized it once from the npm package flag-icons (MIT, provenance in
``assets/textures/FLAGS-LICENSE.txt``); ``flags.json`` next to it names each delegation's cell
(ISO 3166-1 alpha-3 code -> top-left pixel, all cells one size). Nothing here needs npm or an SVG
rasterizer. A missing or malformed atlas raises :class:`~vrdiplomacy.errors.AssetError` from
:func:`load_flag_atlas`; :func:`flag_image` turns that into one logged warning and ``None``, so a
caller draws its placeholder instead of crashing.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from vrdiplomacy.errors import AssetError
from vrdiplomacy.scene.layout import ASSETS_DIR

log = logging.getLogger("vrdiplomacy.render.flags")

FLAGS_IMAGE = ASSETS_DIR / "textures" / "flags.png"
FLAGS_TABLE = ASSETS_DIR / "textures" / "flags.json"


@dataclass(frozen=True)
class FlagAtlas:
    """The flags image (RGB) and where each delegation's flag is in it."""

    image: Image.Image
    cell: tuple[int, int]
    cells: dict[str, tuple[int, int]]

    def flag(self, code: str) -> Image.Image | None:
        """The flag of the delegation with alpha-3 ``code`` (any case) as its own RGB image
        (``cell`` sized), or None when the atlas has no such delegation."""
        at = self.cells.get(code.strip().upper())
        if at is None:
            return None
        x, y = at
        return self.image.crop((x, y, x + self.cell[0], y + self.cell[1]))


def _parse(png: Path, table: Path) -> FlagAtlas:
    try:
        meta = json.loads(table.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AssetError(f"{table}: flag table not found (tools/fetch_flags.py writes it)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise AssetError(f"{table}: cannot read the flag table ({e})") from None
    try:
        with Image.open(png) as im:
            image = im.convert("RGB")
    except FileNotFoundError:
        raise AssetError(f"{png}: flag atlas not found (tools/fetch_flags.py writes it)") from None
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError, ValueError) as e:
        raise AssetError(f"{png}: cannot decode the flag atlas ({e})") from None
    try:
        cw, ch = (int(v) for v in meta["cell"])
        cells = {str(k).upper(): (int(v["cell"][0]), int(v["cell"][1])) for k, v in meta["flags"].items()}
    except (KeyError, TypeError, ValueError, IndexError) as e:
        raise AssetError(f"{table}: malformed flag table ({type(e).__name__}: {e})") from None
    if cw <= 0 or ch <= 0:
        raise AssetError(f"{table}: flag cell {cw}x{ch} is empty")
    w, h = image.size
    for code, (x, y) in cells.items():
        if x < 0 or y < 0 or x + cw > w or y + ch > h:
            raise AssetError(f"{table}: the cell of {code} at ({x}, {y}) is outside the {w}x{h} atlas")
    return FlagAtlas(image, (cw, ch), cells)


@lru_cache(maxsize=4)
def _load(png: str, table: str, stamp: tuple[int, int]) -> FlagAtlas:
    return _parse(Path(png), Path(table))


def _mtime(p: Path) -> int:
    try:
        return p.stat().st_mtime_ns
    except OSError:
        return -1


def load_flag_atlas(png: str | Path = FLAGS_IMAGE, table: str | Path = FLAGS_TABLE) -> FlagAtlas:
    """The flag atlas (cached until either file changes); AssetError when missing or malformed."""
    p, t = Path(png), Path(table)
    return _load(str(p), str(t), (_mtime(p), _mtime(t)))


_warned: set[str] = set()


def flag_image(code: str) -> Image.Image | None:
    """The real flag of the delegation with alpha-3 ``code``; None for a delegation the atlas does
    not list, or (with one warning per problem) when the atlas cannot be read."""
    try:
        atlas = load_flag_atlas(FLAGS_IMAGE, FLAGS_TABLE)
    except AssetError as e:
        if str(e) not in _warned:
            _warned.add(str(e))
            log.warning("flags: %s; drawing placeholder flags", e)
        return None
    return atlas.flag(code)
