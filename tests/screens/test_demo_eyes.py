"""``vrdiplomacy demo`` headless: its eye images show the chamber's live speaker screen, and what
it shows follows the meeting: each image is checked against the screen the session's
MeetingView called for when it was drawn (the summary lists them), and two images whose views
differ must each look like their own view's screen rather than the other's. A static screen
(main 5dfeb41: a baked "The floor is open." image) fails: it cannot look like both."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from rectify import downsample, rectify, screen_in_left_eye

from vrdiplomacy.render import meeting_art as art
from vrdiplomacy.render.screens import screen_corners
from vrdiplomacy.scene.math3d import Pose
from vrdiplomacy.session.meeting_view import MeetingView, QueueEntry

ROOT = Path(__file__).resolve().parents[2]
GRID = (64, 36)


def _view(r: dict) -> MeetingView:
    return MeetingView(time=r["time"], speaker=None if r["speaker"] is None else QueueEntry(**r["speaker"]),
                       speaking_time_s=r["speaking_time_s"], remaining_s=r["remaining_s"],
                       queue=tuple(QueueEntry(**q) for q in r["queue"]), agenda=tuple(r["agenda"]),
                       agenda_index=r["agenda_index"], phase=r["phase"])


@pytest.mark.gl
@pytest.mark.timing
@pytest.mark.skipif(not Path("/usr/share/sounds/alsa/Front_Center.wav").is_file(),
                    reason="the bots speak alsa-utils' recorded speech (apt install alsa-utils)")
def test_demo_eye_images_show_the_live_speaker_screen_changing(tmp_path: Path) -> None:
    from vrdiplomacy.scene.assets import load_scene

    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(PYOPENGL_PLATFORM="egl", EGL_PLATFORM="surfaceless")
    out = tmp_path / "demo"
    args = [sys.executable, "-m", "vrdiplomacy", "demo", "--bots", "3", "--duration", "14", "--out", str(out)]
    p = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stdout + p.stderr
    s = json.loads((out / "summary.json").read_text())
    shown = s["screens"]["shown"]
    assert not s["images"]["failed"], (s["images"], p.stderr[-3000:])
    if len(shown) < 2:  # every second but one skipped: the one image took the whole run to draw
        pytest.skip(f"the renderer was starved: {s['images']} (the machine is too loaded to judge the screen)")
    redraws = s["screens"]["redraws"]
    assert 1 <= redraws["speaker"] <= len(shown)  # redrawn on change, never more often than drawn
    corners = screen_corners(load_scene("chamber")[0])["speaker"]
    eye = tuple(s["images"]["size_per_eye"])
    seen, expected, keys = [], [], []
    log = []
    for r in shown:
        head = Pose(np.array(r["head"]["position"], np.float32), np.array(r["head"]["orientation"], np.float32))
        img = np.asarray(Image.open(r["image"]))
        px = screen_in_left_eye(img, head, corners, eye)
        log.append((r["time"], None if px is None else round(float(np.ptp(px[:, 0]))), len(r["queue"])))
        if px is None or np.ptp(px[:, 0]) < 32:  # out of view, or too small to read anything from
            continue
        v = _view(r)
        seen.append(rectify(img, px, GRID))
        expected.append(downsample(art.speaker_screen(v), GRID))
        key = v.screen_key()
        keys.append((key[0], key[2], key[3], key[4]))  # who, the list, item, phase: the clock ticks on its own texture
    if len(keys) < 3 and len(shown) < 5:  # a loaded machine: the renderer skipped most seconds
        pytest.skip(f"only {len(shown)} eye images ({len(keys)} with the screen in view) in the demo's time: "
                    f"the machine is too loaded to judge the screen {log}")
    pairs = [(i, j) for i in range(len(keys)) for j in range(i + 1, len(keys)) if keys[i] != keys[j]]
    assert pairs, f"no two images with the screen in view showing different meetings: (time, width px, listed) {log}"
    for i, j in pairs:
        diff = expected[i] - expected[j]
        norm = float(np.sqrt((diff * diff).sum()))
        # each image lies on its own view's side of the midpoint between the two screens, clearly
        for a, sign in ((i, 1.0), (j, -1.0)):
            score = float(((seen[a] - (expected[i] + expected[j]) / 2) * diff).sum()) * sign / norm
            assert score > 0.1 * norm, (i, j, a, score, norm, keys[i], keys[j])
