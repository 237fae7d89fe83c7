"""The one font every drawn text uses: placards, name tags, gesture badges, the HUD card and the
meeting, vote and text panels.

DejaVu Sans (``fonts-dejavu-core``, installed by ``tools/dev.sh``) covers Latin, Greek and
Cyrillic with their accents, so "Côte d'Ivoire", "Türkiye" and "São Tomé and Príncipe" read as
written. Pillow's bundled font (Aileron) has no accented letters and draws a box in their place;
it is the fallback only when no DejaVu file is found, so a machine without the package still
draws every text, just without the accents.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

FONT_DIRS: tuple[Path, ...] = (
    Path("/usr/share/fonts/truetype/dejavu"),  # Debian, Ubuntu
    Path("/usr/share/fonts/dejavu"),  # Fedora, Arch
    Path("/usr/share/fonts/TTF"),  # older Arch
)
REGULAR = "DejaVuSans.ttf"
BOLD = "DejaVuSans-Bold.ttf"

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def font_path(bold: bool = False) -> Path | None:
    """The DejaVu Sans file (bold or regular) the texts are drawn with; None when none is installed."""
    name = BOLD if bold else REGULAR
    for d in FONT_DIRS:
        p = d / name
        if p.is_file():
            return p
    return None


@lru_cache(maxsize=64)
def ui_font(size: int, bold: bool = False) -> Font:
    """DejaVu Sans (Bold with ``bold``) at ``size`` px, or Pillow's bundled font when it is missing."""
    path = font_path(bold)
    if path is not None:
        try:
            return ImageFont.truetype(str(path), size)
        except OSError:  # a truncated or unreadable font file: fall back rather than lose every text
            pass
    return ImageFont.load_default(size=size)
