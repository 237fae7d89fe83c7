"""``vrdiplomacy demo`` in a real 1280x720 window under Xvfb (Mesa llvmpipe, no GPU): the first
frame comes within seconds, dynamic resolution holds the frame rate, the window closes on time,
and the status line says why the picture is soft.

On main d7a55a9 this fails: the window stayed black ~50-100 s (one frame: 16x anisotropic
filtering at full resolution on llvmpipe), rendered 1 frame in 99.8 s of a 30 s demo."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.xvfb, pytest.mark.gl, pytest.mark.slow]

DURATION = 15.0
MIN_FPS = 15.0  # from 5 s on: issue 17's figure for a laptop without a GPU
LOADED_MIN_FPS = 3.0  # the same, on a box whose cores are already busy (main drew 1-2 frames in all there)


@pytest.mark.timing
@pytest.mark.skipif(not Path("/usr/share/sounds/alsa/Front_Center.wav").is_file(),
                    reason="the bots speak alsa-utils' recorded speech (apt install alsa-utils)")
def test_demo_window_on_llvmpipe_starts_fast_holds_its_rate_and_ends_on_time(xvfb_720: str, child_env: Any) -> None:
    busy = os.getloadavg()[0] / (os.cpu_count() or 1)  # runnable processes per core before we start
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "vrdiplomacy", "demo", "--bots", "3", "--duration", f"{DURATION:g}",
                        "--window-size", "1280x720"], env=child_env(xvfb_720), capture_output=True, text=True, timeout=120,
                       check=False)
    wall = time.perf_counter() - t0
    out = p.stdout + p.stderr
    assert p.returncode == 0, out
    assert "Traceback" not in out
    # software rendering is detected and said, once, with what it does about it
    assert out.count("software rendering (llvmpipe): quality lowered to hold 20 fps") == 1, out
    first = re.search(r"demo: first frame ([\d.]+) s after the window opened", out)
    assert first, out
    end = re.search(r"demo: window: first frame [\d.]+ s after it opened; at the end ([\d.]+) fps at (\d+)% resolution "
                    r"\((\d+)x(\d+), software rendering: llvmpipe\); main thread CPU per frame ([\d.]+) ms "
                    r"\(([\d.]+) ms in GL calls and the swap, ([\d.]+) ms Python\); from 5 s on ([\d.]+) fps; "
                    r"closed ([\d.]+) s after it opened", out)
    assert end, out
    first_s = float(first.group(1))
    scale, python_ms, settled_fps, closed_s = int(end.group(2)), float(end.group(7)), float(end.group(8)), float(end.group(9))
    print(f"\nfirst frame {first_s:.1f} s; from 5 s on {settled_fps:.1f} fps; final scale {scale}% "
          f"({end.group(3)}x{end.group(4)}); main thread CPU {end.group(5)} ms/frame, Python {python_ms:.1f} ms; "
          f"window closed {closed_s:.1f} s after opening (--duration {DURATION:g}); command wall {wall:.1f} s; "
          f"load before: {busy:.1f} per core")
    # the figures hold on a box with its cores free; on one already busy (other test runs, a
    # 2-core CI runner) the renderer gets a share of the CPU and the bounds widen accordingly
    free = busy < 0.75
    assert first_s <= (3.0 if free else 10.0)
    assert settled_fps >= (MIN_FPS if free else LOADED_MIN_FPS)
    assert closed_s <= DURATION + 5.0
    assert python_ms < 25.0  # the desktop loop's own Python work leaves the frame to the renderer
    assert 20 <= scale <= 100
