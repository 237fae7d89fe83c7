"""The joint text's chamber screen (Pillow, no GL): a golden image of a draft with two brackets of
different owners, three members' carets and our line being typed; and proof that the comparison
catches a moved caret and a bracket drawn as plain text. Regenerate the golden with
``python tests/text/test_panel.py``. Fails on main 94bf7c4: there was no text panel."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from vrdiplomacy.errors import GoldenMismatch
from vrdiplomacy.render.golden import compare, load_png
from vrdiplomacy.render.text_panel import draft_screen
from vrdiplomacy.text.view import Caret, DraftView, Run

GOLDEN = Path(__file__).parent / "golden" / "draft_screen.png"


def draft() -> DraftView:
    return DraftView("L.12", (
        Run("The General Assembly urges all States to reduce catches "), Run("by 40 percent", "France#3", "FRA"),
        Run(" by 2030 and calls for a moratorium on deep-sea trawling in areas beyond national jurisdiction, "),
        Run("pending a scientific assessment", "Germany#5", "DEU"), Run(".")),
        (Caret("DEU", 20), Caret("BRA", 60), Caret("FRA", 120, mine=True)), "significantly", "a1b2c3d4e5", 7)


def test_draft_screen_matches_golden() -> None:
    compare(draft_screen(draft()), load_png(GOLDEN), "draft screen")


def test_golden_catches_a_moved_caret_and_a_lost_bracket() -> None:
    v = draft()
    with pytest.raises(GoldenMismatch):
        compare(draft_screen(replace(v, carets=(Caret("DEU", 25), *v.carets[1:]))), load_png(GOLDEN), "caret moved")
    plain = tuple(Run(r.text) if r.owner == "DEU" else r for r in v.runs)
    with pytest.raises(GoldenMismatch):
        compare(draft_screen(replace(v, runs=plain)), load_png(GOLDEN), "bracket lost")


def test_brackets_are_amber_and_a_caret_wears_its_delegations_colour() -> None:
    from vrdiplomacy.render.meeting_art import delegation_style

    px = draft_screen(draft())[..., :3].astype(int)
    amber = (px[..., 0] > 100) & (px[..., 1] > 70) & (px[..., 2] < 40)  # the brackets' ground
    assert amber.sum() > 10_000
    only_bra = draft_screen(replace(draft(), carets=(Caret("BRA", 60),), typing=None))
    rgb = np.array(delegation_style("BRA")[1])
    assert (np.abs(only_bra[..., :3].astype(int) - rgb).max(axis=2) == 0).sum() > 300  # the caret and its tag


if __name__ == "__main__":
    from PIL import Image

    sys.exit(Image.fromarray(draft_screen(draft())[..., :3]).save(GOLDEN))
