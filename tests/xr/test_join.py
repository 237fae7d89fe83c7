"""``vrdiplomacy join --mode auto`` without an OpenXR runtime: desktop under Xvfb, a clear error without a display."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest


def _join(python_exe: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([python_exe, "-m", "vrdiplomacy", "join", *args], env=env, capture_output=True, text=True, timeout=120)


def _no_runtime(tmp_path: Path) -> dict[str, str]:
    # no XR_RUNTIME_JSON, and no active_runtime.json where the loader looks
    return {"XDG_CONFIG_HOME": str(tmp_path / "cfg"), "XDG_CONFIG_DIRS": str(tmp_path / "cfg")}


@pytest.mark.xvfb
@pytest.mark.slow
def test_auto_falls_back_to_desktop_and_says_why(xvfb: str, child_env: Any, python_exe: str, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    p = _join(python_exe, child_env(xvfb, **_no_runtime(tmp_path)), "--mode", "auto", "--frames", "3", "--size", "160x120",
              "--screenshot", str(shot))
    assert p.returncode == 0, p.stderr
    fallback = [line for line in p.stderr.splitlines() if "falling back to desktop" in line]
    assert len(fallback) == 1 and "no OpenXR runtime is installed or active" in fallback[0]
    assert "Traceback" not in p.stderr and "OpenXR-Loader" not in p.stderr  # the loader's own noise stays out
    assert shot.exists()


@pytest.mark.xvfb
def test_no_fallback_makes_it_an_error(xvfb: str, child_env: Any, python_exe: str, tmp_path: Path) -> None:
    p = _join(python_exe, child_env(xvfb, **_no_runtime(tmp_path)), "--mode", "auto", "--no-fallback")
    assert p.returncode != 0 and "Traceback" not in p.stderr
    assert p.stderr.strip().splitlines()[-1].startswith("error: OpenXR is unavailable and --no-fallback was given")


def test_no_runtime_and_no_display_points_to_offscreen_and_qa(child_env: Any, python_exe: str, tmp_path: Path) -> None:
    p = _join(python_exe, child_env(None, **_no_runtime(tmp_path)), "--mode", "auto")
    assert p.returncode != 0 and "Traceback" not in p.stderr
    last = p.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "no display" in last and "--mode offscreen" in last and "qa run" in last


def test_help_documents_the_gesture_keys(python_exe: str, child_env: Any) -> None:
    p = subprocess.run([python_exe, "-m", "vrdiplomacy", "join", "--help"], env=child_env(None), capture_output=True, text=True, timeout=60)
    assert p.returncode == 0
    for g in ("raise_hand", "lower_hand", "nod", "head_shake", "thumbs_up", "thumbs_down", "wave", "applause", "point",
              "open_palms", "handshake", "W A S D", "--no-fallback"):
        assert g in p.stdout, g
