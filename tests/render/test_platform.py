"""GL platforms: clear errors without a display, and a real GLFW window under Xvfb."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from vrdiplomacy.errors import PlatformError
from vrdiplomacy.platform import ContextSettings, create_context

ROOT = Path(__file__).resolve().parents[2]


def test_window_without_display_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(PlatformError, match=r"no display: .*neither DISPLAY nor WAYLAND_DISPLAY is set.*Xvfb"):
        create_context("window", ContextSettings(visible=False))


def test_window_refuses_egl_bound_pyopengl(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.setenv("PYOPENGL_PLATFORM", "egl")
    with pytest.raises(PlatformError, match="needs GLX"):
        create_context("window")


def test_unknown_platform() -> None:
    with pytest.raises(PlatformError, match="unknown GL platform 'vulkan'"):
        create_context("vulkan")


def test_egl_refuses_another_pyopengl_platform() -> None:
    code = ("import os; os.environ['PYOPENGL_PLATFORM']='glx'\n"
            "from vrdiplomacy.platform import create_context\n"
            "from vrdiplomacy.errors import PlatformError\n"
            "try:\n    create_context('egl')\nexcept PlatformError as e:\n    print(e)\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "needs PYOPENGL_PLATFORM=egl, but it is 'glx'" in r.stdout, r.stdout + r.stderr


@pytest.fixture
def xvfb() -> Iterator[str]:
    exe = shutil.which("Xvfb")
    if exe is None:
        pytest.skip("Xvfb is not installed (apt package xvfb)")
    for n in range(91, 120):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            break
    display = f":{n}"
    proc = subprocess.Popen([exe, display, "-screen", "0", "640x480x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not Path(f"/tmp/.X11-unix/X{n}").exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Xvfb {display} did not start")
            time.sleep(0.05)
        yield display
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.xvfb
@pytest.mark.gl
def test_demo_opens_a_window_under_xvfb(xvfb: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PYOPENGL_PLATFORM", "EGL_PLATFORM")}
    env["DISPLAY"] = xvfb
    r = subprocess.run([sys.executable, "-m", "vrdiplomacy", "demo", "--bots", "2", "--window-size", "160x120",
                        "--duration", "3", "--out", str(tmp_path)], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=90)
    assert r.returncode == 0, r.stderr
    out = r.stdout + r.stderr
    assert "window for up to 3 s" in out, out
    frames = int(out.split(" frames in")[0].rsplit(" ", 1)[1])
    assert frames >= 2
    assert "from 2 delegates" in out, out
    assert not list(tmp_path.glob("*.png")), "the window mode writes no files"
