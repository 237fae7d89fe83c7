"""``vrdiplomacy qa run``: a scripted headless session; eye images, the report, the exit status."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "xr"
pytestmark = [pytest.mark.gl, pytest.mark.slow]


def _qa(python_exe: str, env: dict[str, str], script: Path, out: Path) -> subprocess.CompletedProcess[str]:
    env = dict(env, PYOPENGL_PLATFORM="egl", EGL_PLATFORM="surfaceless")
    return subprocess.run([python_exe, "-m", "vrdiplomacy", "qa", "run", str(script), "--out", str(out)], env=env,
                          capture_output=True, text=True, timeout=180)


def test_qa_run_writes_eye_images_and_a_report(python_exe: str, child_env: Any, tmp_path: Path) -> None:
    p = _qa(python_exe, child_env(None), DATA / "qa_basic.toml", tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["ok"] and report["failures"] == [] and report["final_state"] == "EXITING"
    assert report["captured"] == [3, 40] and report["frames_submitted"] == 71
    for name in ("frame_00003_left.png", "frame_00003_right.png", "frame_00040_left.png", "frame_00040_right.png"):
        assert (tmp_path / name).stat().st_size > 1000
    events = [e["event"] for e in report["session_events"]]
    assert "profile:/interaction_profiles/valve/index_controller" in events and events[-1] == "state:EXITING"
    right = report["inputs"]["hands"]["right"]
    assert right["max_trigger"] == 0.8 and "primary" in right["buttons"] and "articulated" in right["sources"]
    assert report["frame_ms"]["p50"] > 0 and report["inputs"]["head_path_m"] == 0.0
    assert isinstance(report["gestures"], list)


def test_qa_run_fails_when_an_expectation_fails(python_exe: str, child_env: Any, tmp_path: Path) -> None:
    script = tmp_path / "bad.json"
    script.write_text(json.dumps({"headset": {"resolution": [32, 32], "capture": [500]},
                                  "expect": {"left_buttons": ["menu"]}, "events": [{"frame": 5, "type": "exit"}]}))
    p = _qa(python_exe, child_env(None), script, tmp_path / "out")
    assert p.returncode == 1 and "Traceback" not in p.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert not report["ok"]
    assert any("frame(s) [500]" in f for f in report["failures"]) and any("left menu" in f for f in report["failures"])


def test_qa_run_rejects_a_malformed_script(python_exe: str, child_env: Any, tmp_path: Path) -> None:
    script = tmp_path / "broken.toml"
    script.write_text("[headset]\nfps = 'fast'\n")
    p = _qa(python_exe, child_env(None), script, tmp_path / "out")
    assert p.returncode == 2 and p.stderr.strip().splitlines()[-1].startswith("error: ") and "Traceback" not in p.stderr
