"""The ``render`` command, run as a user runs it (a subprocess, headless EGL). The headless demo is tested in tests/test_demo.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str, timeout: float = 60.0, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    e = dict(os.environ)
    e.setdefault("PYOPENGL_PLATFORM", "egl")
    e.setdefault("EGL_PLATFORM", "surfaceless")
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "vrdiplomacy", *args], cwd=ROOT, env=e, capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.gl
def test_render_writes_stereo_png_of_the_right_size(tmp_path: Path) -> None:
    out = tmp_path / "bilateral.png"
    r = _cli("render", "--scene", "bilateral", "--stereo", "--size", "96x64", "--out", str(out))
    assert r.returncode == 0, r.stderr
    with Image.open(out) as img:
        assert img.size == (192, 64)
        assert img.mode == "RGB"
        pixels = np.asarray(img).reshape(-1, 3)
        assert len(np.unique(pixels, axis=0)) > 50, "a real picture, not a flat colour"
    assert "wrote" in r.stdout and "2 view(s)" in r.stdout
    assert r.stderr == ""


@pytest.mark.parametrize("size", ["640", "0x360", "640x99999", "big"])
def test_bad_size_is_a_one_line_error(size: str, tmp_path: Path) -> None:
    r = _cli("render", "--size", size, "--out", str(tmp_path / "x.png"))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --size"), r.stderr
    assert not (tmp_path / "x.png").exists()


def test_too_many_avatars_is_a_one_line_error(tmp_path: Path) -> None:
    r = _cli("render", "--scene", "bilateral", "--avatars", "500", "--out", str(tmp_path / "x.png"))
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == ["error: scene 'bilateral' has 12 seats, cannot seat 500 avatars"]


def test_truncated_glb_is_a_one_line_error_naming_the_file(tmp_path: Path) -> None:
    damaged = tmp_path / "chamber_cut.glb"
    data = (ROOT / "assets" / "bilateral.glb").read_bytes()
    damaged.write_bytes(data[: len(data) // 2])
    r = _cli("render", "--scene", "bilateral", "--glb", str(damaged), "--out", str(tmp_path / "x.png"))
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error: ") and "chamber_cut.glb" in lines[0] and "truncated" in lines[0]
    assert not (tmp_path / "x.png").exists()


def test_unknown_view_is_a_one_line_error(tmp_path: Path) -> None:
    r = _cli("render", "--scene", "bilateral", "--view", "balcony", "--out", str(tmp_path / "x.png"))
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "no view named 'balcony'" in lines[0]


def test_unknown_gesture_is_a_one_line_error(tmp_path: Path) -> None:
    r = _cli("render", "--scene", "bilateral", "--gestures", "raise_hand,salute", "--out", str(tmp_path / "x.png"))
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "unknown gesture 'salute'" in lines[0] and "raise_hand" in lines[0], r.stderr
    assert not (tmp_path / "x.png").exists()


@pytest.mark.gl
def test_render_gestures_shows_raised_hands_and_icons(tmp_path: Path) -> None:
    plain, posed = tmp_path / "plain.png", tmp_path / "posed.png"
    args = ("render", "--scene", "bilateral", "--view", "delegate_b", "--size", "160x90", "--speakers", "0")
    assert _cli(*args, "--out", str(plain)).returncode == 0
    r = _cli(*args, "--gestures", "raise_hand,thumbs_up", "--out", str(posed))
    assert r.returncode == 0, r.stderr
    a = np.asarray(Image.open(plain)).astype(int)
    b = np.asarray(Image.open(posed)).astype(int)
    changed = np.abs(a - b).max(axis=2) > 30
    assert changed[: 90 // 2].sum() > 40, "raised hands and icons show in the upper half"
    help_text = _cli("render", "--help").stdout
    assert "--gestures" in help_text and "raise_hand" in help_text
