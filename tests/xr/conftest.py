"""Fixtures for the XR tests: a simulated headset installed for one test, Xvfb on a free display."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "xr"
PYTHON = str(REPO / ".venv" / "bin" / "python") if (REPO / ".venv" / "bin" / "python").exists() else "python3"

if shutil.which("gcc") is None and shutil.which("cc") is None:
    pytest.skip("no C compiler: the simulated headset's shim cannot be built", allow_module_level=True)


@pytest.fixture
def headset() -> Iterator[Any]:
    """``headset(script_dict)`` installs a simulated headset playing that script."""
    from vrdiplomacy.simxr.runtime import SimulatedHeadset
    from vrdiplomacy.simxr.timeline import parse_script

    made: list[Any] = []

    def make(script: dict[str, Any] | None = None) -> Any:
        hs = SimulatedHeadset(parse_script(script or {}, "test script")).install()
        made.append(hs)
        return hs

    yield make
    for hs in made:
        hs.uninstall()


@pytest.fixture
def backend_factory() -> Iterator[Any]:
    from vrdiplomacy.xr.backend import BackendSettings
    from vrdiplomacy.xr.openxr_backend import OpenXrBackend

    made: list[Any] = []

    def make(**kw: Any) -> Any:
        kw.setdefault("mode", "xr")
        kw.setdefault("graphics", "egl")
        be = OpenXrBackend(BackendSettings(**kw))
        made.append(be)
        return be

    yield make
    for be in made:
        be.shutdown()


def _free_display(first: int = 90, last: int = 200) -> int:
    for n in range(first, last):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            return n
    raise RuntimeError("no free X display number")


def _xvfb(screen: str, first: int, last: int) -> Iterator[str]:
    """Xvfb with one ``screen`` (WxHxD) on a free display in [first, last), stopped after; yields ':N'."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed")
    n = _free_display(first, last)
    proc = subprocess.Popen(["Xvfb", f":{n}", "-screen", "0", screen, "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if Path(f"/tmp/.X11-unix/X{n}").exists():
                break
            if proc.poll() is not None:
                pytest.skip(f"Xvfb :{n} exited at start")
            time.sleep(0.05)
        yield f":{n}"
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def xvfb() -> Iterator[str]:
    """Start Xvfb on a free display for this test and stop it after; yields ':N'."""
    yield from _xvfb("1024x768x24", 90, 200)


@pytest.fixture
def xvfb_720() -> Iterator[str]:
    """Xvfb with a 1280x720 screen, as a laptop's window would be (displays 200-299)."""
    yield from _xvfb("1280x720x24", 200, 300)


def x_env(display: str | None, **extra: str) -> dict[str, str]:
    """Environment for a child process: GLX when given a display, no OpenXR runtime configured."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYOPENGL_PLATFORM", "EGL_PLATFORM", "XR_RUNTIME_JSON", "DISPLAY")}
    if display:
        env["DISPLAY"] = display
    env["PYTHONPATH"] = str(REPO)
    env.update(extra)
    return env


@pytest.fixture
def child_env() -> Any:
    """``child_env(display, **extra)``: the environment for a child process (see x_env)."""
    return x_env


@pytest.fixture
def python_exe() -> str:
    return PYTHON


@pytest.fixture(scope="session")
def monado_runtime() -> dict[str, Any]:
    """Monado's in-process runtime built by ``tools/monado/build.py`` (cached by source version).

    Under CI (``CI=true``) the build runs, installing its Debian build dependencies with apt-get as
    root, and any failure fails the test. Elsewhere missing build dependencies are a skip that says
    which and how to install them (this fixture does not apt-get on a developer's machine), and so is
    an unreachable Debian mirror with nothing cached. A cached build is used without looking at the
    build dependencies; otherwise it builds (about 40 s on 2 idle cores)."""
    import os as _os

    from toolscripts import load_tool

    build = load_tool("monado/build.py", "monado_build")
    ci = build.in_ci()
    try:
        info: dict[str, Any] = build.ensure_built(install_deps=ci and _os.geteuid() == 0)
    except build.BuildError as e:
        if ci:
            pytest.fail(f"building Monado failed under CI: {e}")
        if e.status == 2:  # build dependencies missing (the message names them and the apt-get line)
            pytest.skip(f"Monado is not built and cannot be built here: {' '.join(str(e).split())} "
                        "(under CI=true the test installs them itself)")
        pytest.skip(f"Monado could not be built here: {str(e).splitlines()[0]}")
    return info
