"""Accented delegation names keep their accents on tags and placards (vrdiplomacy.render.fonts).

Pillow's bundled font has no "ô", "ü" or "é": main 2f3c005 drew "C□te d'Ivoire" and "T□rkiye"
on the name tags. These tests compare the drawn pixels of the accented text with the same text
where that letter is swapped for a code point no font has (it draws the missing-glyph box):
identical pixels mean the accent came out as a box.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from vrdiplomacy.render import fonts
from vrdiplomacy.render.atlas import build_atlas
from vrdiplomacy.render.tags import TAG_NAME, draw_tag
from vrdiplomacy.scene.crowd import Tag

NOGLYPH = "\U000f0000"  # supplementary private use: no font has it, so it draws the .notdef box
NEEDS_DEJAVU = pytest.mark.skipif(fonts.font_path() is None or fonts.font_path(bold=True) is None,
                                  reason="fonts-dejavu-core is not installed")


@pytest.fixture
def fresh_fonts() -> Iterator[None]:
    fonts.ui_font.cache_clear()
    yield
    fonts.ui_font.cache_clear()


def _tag(name: str, delegation: str = "CIV", verified: bool = True) -> np.ndarray:
    img = Image.new("RGBA", (256, 96), (0, 0, 0, 0))
    draw_tag(img, (0, 0, 255, 95), Tag(name, delegation, "Ambassador", verified))
    return np.asarray(img)


def _glyph(ch: str, bold: bool = False) -> np.ndarray:
    img = Image.new("L", (48, 48), 0)
    ImageDraw.Draw(img).text((4, 4), ch, font=fonts.ui_font(32, bold), fill=255)
    return np.asarray(img)


@NEEDS_DEJAVU
@pytest.mark.parametrize("bold", [False, True])
def test_accented_letters_are_real_glyphs(fresh_fonts: None, bold: bool) -> None:
    box = _glyph(NOGLYPH, bold)
    for accented, plain in (("ô", "o"), ("ü", "u"), ("é", "e"), ("ã", "a"), ("í", "i"), ("ı", "i")):
        glyph = _glyph(accented, bold)
        assert glyph.any(), f"{accented!r} draws nothing"
        assert not np.array_equal(glyph, box), f"{accented!r} draws the missing-glyph box"
        assert not np.array_equal(glyph, _glyph(plain, bold)), f"{accented!r} draws like {plain!r}"


@NEEDS_DEJAVU
@pytest.mark.parametrize(("name", "i"), [("Côte d'Ivoire", 1), ("Türkiye", 1), ("Aya Koné", 6)])
def test_tag_draws_the_accent_not_a_box(fresh_fonts: None, name: str, i: int) -> None:
    """The tag's name line: the accented name differs from the same name with a box for the accent."""
    boxed = name[:i] + NOGLYPH + name[i + 1:]
    plain = _tag(name)
    assert not np.array_equal(plain, _tag(boxed)), f"{name!r} is drawn with a box for {name[i]!r}"
    assert np.all(plain[..., :3].reshape(-1, 3) == TAG_NAME[:3], axis=1).sum() > 50  # the name has ink


@NEEDS_DEJAVU
def test_placard_and_delegation_line_keep_the_accent(fresh_fonts: None) -> None:
    """A placard written from the code (TUR -> "Türkiye") and the tag's delegation line (CIV ->
    "Côte d'Ivoire") are drawn with the accent: the atlas differs from the boxed spelling."""
    atlas = build_atlas(["TUR"]).pixels
    boxed = build_atlas(["T" + NOGLYPH + "rkiye"]).pixels
    assert not np.array_equal(atlas, boxed)
    # the tag's third line is the delegation's name: swap the code for the boxed spelling of it
    assert not np.array_equal(_tag("Aya Kone", "CIV"), _tag("Aya Kone", "C" + NOGLYPH + "te d'Ivoire"))


@pytest.mark.parametrize("content", [None, b"not a font file"])
def test_without_dejavu_text_still_renders(fresh_fonts: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                            content: bytes | None) -> None:
    """No fonts-dejavu-core (or a truncated file): Pillow's bundled font, every text still drawn."""
    if content is not None:
        (tmp_path / fonts.REGULAR).write_bytes(content)
        (tmp_path / fonts.BOLD).write_bytes(content)
    monkeypatch.setattr(fonts, "FONT_DIRS", (tmp_path,))
    monkeypatch.setenv("XDG_DATA_DIRS", str(tmp_path))  # where Pillow looks for a file of that name when one fails
    assert (fonts.font_path() is None) == (content is None)
    font = fonts.ui_font(24, bold=True)
    assert "DejaVu" not in str(font.getname() if hasattr(font, "getname") else "")
    img = _tag("Côte d'Ivoire")
    assert np.all(img[..., :3].reshape(-1, 3) == TAG_NAME[:3], axis=1).sum() > 50  # the name has ink
    assert build_atlas(["TUR", "JPN"]).pixels.any()
