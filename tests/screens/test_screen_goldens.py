"""Golden images at 1280x720 of the speaker screen (a speaker, the time left, the list), a
delegate's participants and status panels, and the chair's controls; and proof that the
comparison catches a one-entry change of the list. Regenerate with ``tests/screens/screen_cases.py``."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from screen_cases import CASES, GOLDEN_DIR, build_case, render_case

from vrdiplomacy.errors import GoldenMismatch
from vrdiplomacy.render.golden import compare, load_png, read_info, renderer_mismatch

pytestmark = pytest.mark.gl


@pytest.fixture(scope="module")
def golden_renderer(renderer: Any) -> Any:
    why = renderer_mismatch(read_info(GOLDEN_DIR), renderer.info)
    if why:
        pytest.skip(why.replace("tools/update_goldens.py", "tests/screens/screen_cases.py"))
    return renderer


@pytest.mark.parametrize("name", CASES)
def test_matches_golden(golden_renderer: Any, name: str) -> None:
    compare(render_case(golden_renderer, name), load_png(GOLDEN_DIR / f"{name}.png"), name)


def test_golden_catches_a_changed_place_on_the_list(golden_renderer: Any) -> None:
    scene, views = build_case("screen_speaker")
    assert scene.meeting is not None
    v = scene.meeting.view
    swapped = replace(v, queue=(v.queue[1], v.queue[0], *v.queue[2:]))
    scene.meeting = replace(scene.meeting, view=swapped)
    target = golden_renderer.create_target(1280, 720)
    golden_renderer.render(scene, views, [target])
    with pytest.raises(GoldenMismatch, match="pixels differ"):
        compare(golden_renderer.read_pixels(target), load_png(GOLDEN_DIR / "screen_speaker.png"), "list swapped")


def test_golden_catches_a_missing_chair_key(golden_renderer: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from vrdiplomacy.render import meeting_art

    monkeypatch.setattr(meeting_art, "CHAIR_KEYS", meeting_art.CHAIR_KEYS[:-1])
    if golden_renderer.meeting is not None:  # the same view as a case drawn before: its picture is cached
        golden_renderer.meeting.pictures["status"].drawn = False
    with pytest.raises(GoldenMismatch):
        compare(render_case(golden_renderer, "panels_chair"), load_png(GOLDEN_DIR / "panels_chair.png"), "one key less")
