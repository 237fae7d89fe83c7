"""Desktop mode under Xvfb: xdotool sends real X input; the view turns and walks, a hand goes up
and the window shows it (the user's own hand, drawn first person by the app's frame loop)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytestmark = [pytest.mark.xvfb, pytest.mark.slow]


def _xdo(display: str, *args: str) -> None:
    subprocess.run(["xdotool", *args], env={"DISPLAY": display, "PATH": "/usr/bin:/bin"}, check=True, timeout=10,
                   capture_output=True)


def test_keys_and_mouse_move_the_view_and_raise_a_hand(xvfb: str, child_env: Any, python_exe: str, tmp_path: Path) -> None:
    if shutil.which("xdotool") is None:
        pytest.skip("xdotool is not installed")
    shot = tmp_path / "desktop.png"
    driver = Path(__file__).with_name("desktop_driver.py")
    p = subprocess.Popen([python_exe, str(driver), str(shot)], env=child_env(xvfb), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout is not None
        line = p.stdout.readline()
        assert line.strip() == "READY", p.stderr.read() if p.stderr else ""
        _xdo(xvfb, "search", "--sync", "--name", "desktop mode", "windowfocus", "--sync")
        _xdo(xvfb, "mousemove", "160", "200")  # the hand low in the view
        time.sleep(0.5)
        _xdo(xvfb, "mousedown", "3")  # right-drag: look left
        for _ in range(5):
            _xdo(xvfb, "mousemove_relative", "--", "-20", "0")
            time.sleep(0.05)
        _xdo(xvfb, "mouseup", "3")
        _xdo(xvfb, "keydown", "w")
        time.sleep(0.5)
        _xdo(xvfb, "keyup", "w")
        _xdo(xvfb, "mousemove", "160", "70")  # the mouse hand goes up
        _xdo(xvfb, "key", "1")  # the raise_hand gesture key
        time.sleep(0.4)
        _xdo(xvfb, "key", "Escape")
        out_text, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, err[-2000:]
    out = json.loads(out_text.strip().splitlines()[-1])
    assert out["yaw_change_deg"] > 5.0  # dragged left: turned left (counter-clockwise seen from above)
    assert out["moved_m"] > 0.2  # walked forward with W
    assert "raise_hand" in out["keys"]
    assert out["wrist_y_max"] > out["wrist_y_first"] + 0.1 and out["sources"] == ["mouse"]
    from PIL import Image

    img = np.asarray(Image.open(shot))
    assert img.shape == (240, 320, 4) and img[..., :3].std() > 10  # the chamber, not a blank window
    _assert_hand_seen_going_up(img, np.asarray(Image.open(out["low_shot"])), out["wrist_px_low"], out["wrist_px_high"])


def _skin(im: np.ndarray) -> np.ndarray:
    """Lit skin of the drawn hand: warm (red >= green >= blue), not dark."""
    r, g, b = (im[..., k].astype(int) for k in range(3))
    return (r >= g) & (g >= b) & (r > 110) & (r - b > 8)


def _box(px: list[float], left: int, right: int, up: int, down: int, shape: tuple[int, ...]) -> tuple[slice, slice]:
    x, y = int(round(px[0])), int(round(px[1]))
    return slice(max(0, y - up), min(shape[0], y + down)), slice(max(0, x - left), min(shape[1], x + right))


def _assert_hand_seen_going_up(high: np.ndarray, low: np.ndarray, wrist_low: list[float] | None,
                               wrist_high: list[float]) -> None:
    """The two window images differ only where the hand was and where it went, and the hand is
    skin-coloured in each: the raised hand (fingers up, above the wrist) is visible."""
    assert wrist_low is not None, "no frame was drawn while the mouse was low"
    assert wrist_high[1] < 120 < wrist_low[1], (wrist_low, wrist_high)  # the wrist went up the window
    changed = np.abs(high[..., :3].astype(int) - low[..., :3].astype(int)).max(axis=2) > 40
    up = _box(wrist_high, 25, 25, 50, 5, high.shape)  # the raised hand: above its wrist
    was = _box(wrist_low, 40, 40, 40, 20, low.shape)
    assert (changed[up] & _skin(high)[up]).sum() > 300, "no raised hand where the mouse put it"
    assert (changed[was] & _skin(low)[was]).sum() > 200, "the hand was not drawn low before"
    assert (changed[was] & _skin(high)[was]).sum() < 20, "the hand is still drawn low"
    # nothing else moved (same camera): the forearm under the raised hand aside, few pixels changed
    elsewhere = changed.copy()
    elsewhere[_box(wrist_high, 45, 45, 60, 100, high.shape)] = False
    elsewhere[_box(wrist_low, 60, 60, 60, 60, high.shape)] = False
    assert elsewhere.mean() < 0.01, elsewhere.mean()
