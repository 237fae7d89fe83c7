"""The real flags: the committed atlas holds every delegation's flag, known flags look as they
should (in the atlas and on a name tag), and a broken atlas gives a clear error or a placeholder.

Before this atlas every flag was a procedural stand-in: on main 452f8cc Japan's tag flag is green
and white, Kenya's black and white (these tests fail there: no flags.png, no real flag on a tag).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from PIL import Image

from vrdiplomacy.errors import AssetError
from vrdiplomacy.render import flags as flagmod
from vrdiplomacy.render.flags import FLAGS_IMAGE, FLAGS_TABLE, load_flag_atlas
from vrdiplomacy.render.tags import draw_tag, flag_colours
from vrdiplomacy.scene.crowd import Tag
from vrdiplomacy.scene.delegations import load_delegations

RED = (188, 0, 45)


def _near(rgb: tuple[int, ...], want: tuple[int, int, int], tol: int = 40) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(rgb[:3], want))


def _at(img: Image.Image, fx: float, fy: float) -> tuple[int, ...]:
    return img.getpixel((int(fx * (img.width - 1)), int(fy * (img.height - 1))))  # type: ignore[return-value]


def test_the_atlas_has_every_delegation_and_the_licence() -> None:
    atlas = load_flag_atlas()
    codes = {d.code for d in load_delegations()}
    assert len(codes) == 193 and codes <= set(atlas.cells)
    assert len(set(atlas.cells.values())) == len(atlas.cells), "one cell per flag"
    licence = (FLAGS_IMAGE.parent / "FLAGS-LICENSE.txt").read_text(encoding="utf-8")
    assert "flag-icons@7.5.0" in licence and "MIT License" in licence and "SHA-256" in licence


def test_known_flags_have_their_colours() -> None:
    atlas = load_flag_atlas()
    jp, fr, ke, br = (atlas.flag(c) for c in ("JPN", "FRA", "KEN", "BRA"))
    assert jp is not None and fr is not None and ke is not None and br is not None
    # Japan: white field, red disc at the centre
    assert _near(_at(jp, 0.5, 0.5), RED, 50) and all(_near(_at(jp, x, y), (255, 255, 255), 12)
                                                        for x, y in ((0.05, 0.05), (0.95, 0.95), (0.1, 0.5)))
    # France: blue, white, red vertical thirds
    assert _near(_at(fr, 1 / 6, 0.5), (0, 0, 145), 40)
    assert _near(_at(fr, 0.5, 0.5), (255, 255, 255), 12)
    assert _near(_at(fr, 5 / 6, 0.5), (225, 0, 15), 40)
    # Kenya at the hoist: black over red over green
    assert max(_at(ke, 0.03, 0.12)[:3]) < 40
    r, g, b = _at(ke, 0.03, 0.5)[:3]
    assert r > 150 and g < 60 and b < 60
    r, g, b = _at(ke, 0.03, 0.88)[:3]
    assert g > 80 and r < 60 and b < 80
    # Brazil: green field, yellow rhombus
    r, g, b = _at(br, 0.03, 0.05)[:3]
    assert g > 120 and r < 60 and b < 100
    r, g, b = _at(br, 0.2, 0.5)[:3]
    assert r > 200 and g > 180 and b < 80


def _tag_flag_box(delegation: str) -> Image.Image:
    """A tag drawn as the placard atlas draws it (160 x 94 px); the crop of its flag."""
    img = Image.new("RGBA", (300, 94), (0, 0, 0, 0))
    draw_tag(img, (0, 0, 299, 93), Tag("A. Person", delegation, "Ambassador", True))
    h = 94
    pad = max(2, h // 8)
    fh = int((h - 2 * pad) * 0.62)
    fw = round(fh * 4 / 3)
    x0, y0 = pad, (h - fh) // 2
    return img.crop((x0 + 1, y0 + 1, x0 + fw - 1, y0 + fh - 1)).convert("RGB")


def test_a_name_tag_shows_the_real_flag_and_an_unlisted_one_the_placeholder() -> None:
    jp = _tag_flag_box("Japan")  # by name, as a roster may write it
    assert _near(_at(jp, 0.5, 0.5), RED, 60) and _near(_at(jp, 0.08, 0.1), (255, 255, 255), 20)
    fr = _tag_flag_box("fra")
    assert _near(_at(fr, 0.12, 0.5), (0, 0, 145), 50) and _near(_at(fr, 0.88, 0.5), (225, 0, 15), 50)
    other = _tag_flag_box("Delegation B")
    main, band = flag_colours("Delegation B")
    assert _near(_at(other, 0.5, 0.1), main, 4) and _near(_at(other, 0.5, 0.5), band, 4)


def test_a_broken_atlas_is_a_clear_error_and_tags_fall_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    png, table = tmp_path / "flags.png", tmp_path / "flags.json"
    png.write_bytes(FLAGS_IMAGE.read_bytes()[:200])  # truncated
    table.write_bytes(FLAGS_TABLE.read_bytes())
    with pytest.raises(AssetError, match="cannot decode the flag atlas"):
        load_flag_atlas(png, table)
    with pytest.raises(AssetError, match="flag table not found"):
        load_flag_atlas(FLAGS_IMAGE, tmp_path / "none.json")
    table.write_text('{"cell": [96, 72], "flags": {"JPN": {"cell": [5000, 0]}}}')
    with pytest.raises(AssetError, match="outside"):
        load_flag_atlas(FLAGS_IMAGE, table)
    monkeypatch.setattr(flagmod, "FLAGS_IMAGE", png)
    with caplog.at_level(logging.WARNING, logger="vrdiplomacy.render.flags"):
        jp = _tag_flag_box("JPN")  # no crash: the placeholder in Japan's listed colour
    main, _ = flag_colours("JPN")
    assert _near(_at(jp, 0.5, 0.1), main, 4)
    assert any("placeholder" in r.getMessage() for r in caplog.records)
