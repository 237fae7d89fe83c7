"""``vrdiplomacy join --record`` writes a recording that ``gestures classify`` reads back."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vrdiplomacy.gestures.record import read_recording

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.gl
def test_join_records_input_that_classify_reads(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    env.update(PYOPENGL_PLATFORM="egl", EGL_PLATFORM="surfaceless")
    rec = tmp_path / "me.jsonl.gz"
    r = subprocess.run([sys.executable, "-m", "vrdiplomacy", "join", "--mode", "offscreen", "--scene", "bilateral",
                        "--size", "64x36", "--frames", "25", "--record", str(rec)], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert f"recorded 25 frames to {rec}" in r.stderr
    recording = read_recording(rec)
    assert len(recording.frames) == 25
    assert recording.frames[-1].time > recording.frames[0].time
    c = subprocess.run([sys.executable, "-m", "vrdiplomacy", "gestures", "classify", str(rec)], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=60)
    assert c.returncode == 0, c.stderr
    assert "25 frames" in c.stdout
