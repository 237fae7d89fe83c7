"""The OpenXR backend with a complete GLX binding (visual id and FB config filled), under Xvfb."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.xvfb, pytest.mark.slow]


def test_glx_session_under_xvfb(xvfb: str, child_env: Any, python_exe: str) -> None:
    driver = Path(__file__).with_name("glx_driver.py")
    p = subprocess.run([python_exe, str(driver)], env=child_env(xvfb), capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    out: dict[str, Any] = json.loads(p.stdout.strip().splitlines()[-1])
    assert out["graphics"] == "glx" and out["state"] == "EXITING" and not out["errors"]
    assert out["visualid"] > 0 and out["fbconfig"] and out["drawable"]
    assert out["frames"] == 7 and 0.625 in out["triggers"]
    # cleared to (0, 0.5, 1) linear, stored sRGB: red 0, green ~188, blue 255
    r, g, b = out["capture_mean"]
    assert r < 5 and 150 < g < 215 and b > 250
