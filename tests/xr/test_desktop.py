"""Desktop mode under Xvfb: xdotool sends real X input; the view turns and walks, a hand goes up."""

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
        time.sleep(0.3)
        _xdo(xvfb, "mousedown", "3")  # right-drag: look left
        for _ in range(5):
            _xdo(xvfb, "mousemove_relative", "--", "-20", "0")
            time.sleep(0.05)
        _xdo(xvfb, "mouseup", "3")
        _xdo(xvfb, "keydown", "w")
        time.sleep(0.5)
        _xdo(xvfb, "keyup", "w")
        _xdo(xvfb, "mousemove", "160", "20")  # the mouse hand goes up
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
