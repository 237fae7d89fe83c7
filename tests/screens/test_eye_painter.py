"""The headless demo's eye painter (``app/eyes.py``), without a session: one image that cannot be
drawn is counted and reported, and the images after it are still drawn; the warm-up frame before
the session draws every screen once but leaves the session's redraw counts at zero."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from vrdiplomacy.session.meeting_view import MeetingView, QueueEntry


def _wait_idle(painter: object, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while painter._busy.is_set():  # type: ignore[attr-defined]
        assert time.monotonic() < end, "the painter never finished its image"
        time.sleep(0.02)


@pytest.mark.gl
def test_a_bad_image_is_counted_and_the_next_ones_are_still_drawn(tmp_path: Path) -> None:
    from vrdiplomacy.app.eyes import EyePainter
    from vrdiplomacy.scene.assets import load_scene

    scene, layout = load_scene("chamber")
    seat = layout.seats[0]
    painter = EyePainter(scene, seat, (64, 36), tmp_path)
    painter.wait_ready()
    assert painter.redraws == {} and painter.images == []  # the warm-up frame is not the session's
    head = seat.eye_pose()
    views = [MeetingView(time=1.0), MeetingView(time=2.0, speaker=QueueEntry(3, "A. Delegate", "France"))]
    assert painter.submit(1, head, [], views[0])
    _wait_idle(painter)
    assert painter.submit(2, head, ["not an avatar"], views[1])  # the renderer cannot draw this
    _wait_idle(painter)
    assert painter.submit(3, head, [], views[1])
    _wait_idle(painter)
    images = painter.close()
    assert [p.name for p in images] == ["eyes_01.png", "eyes_03.png"]
    assert all(p.stat().st_size > 0 for p in images)
    assert painter.failed == 1 and painter.errors[0].startswith("image 2: ")
    assert painter.error is None and not painter.stalled
    assert [r["speaker"] for r in painter.shown] == [None, {"key": 3, "name": "A. Delegate", "delegation": "France",
                                                             "kind": "speaker"}]
    assert painter.redraws["speaker"] == 2  # each view drawn once, none for the warm-up


@pytest.mark.gl
def test_images_failing_one_after_another_stop_the_renderer_with_the_reason(tmp_path: Path) -> None:
    from vrdiplomacy.app.eyes import MAX_FAILED_IN_A_ROW, EyePainter
    from vrdiplomacy.scene.assets import load_scene

    scene, layout = load_scene("chamber")
    seat = layout.seats[0]
    painter = EyePainter(scene, seat, (64, 36), tmp_path)
    painter.wait_ready()
    for k in range(MAX_FAILED_IN_A_ROW):
        assert painter.submit(k, seat.eye_pose(), ["not an avatar"], MeetingView())
        _wait_idle(painter)
    painter.close()
    assert painter.failed == MAX_FAILED_IN_A_ROW and painter.images == []
    assert painter.error is not None and "in a row failed" in str(painter.error)
