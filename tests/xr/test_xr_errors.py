"""Why OpenXR did not start, one line per failure kind, with the loader's and the runtime's own
reasons; and a session that waits through headset standby instead of giving up.

The real Khronos loader (pyopenxr's) reads broken copies of the simulated runtime's manifest
(:func:`vrdiplomacy.simxr.build.ensure_shim` writes the good one). Fails on main 3e2635d: the
three manifest failures all said "the OpenXR runtime named by XR_RUNTIME_JSON=... failed to load
(RuntimeUnavailableError)", a refused session said only the exception's class name, and the
session gave up after 30 s in IDLE.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.gl


def _xr_join(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vrdiplomacy", "join", "--mode", "xr", "--frames", "2"], env=env,
                          capture_output=True, text=True, timeout=120)


def _qa(env: dict[str, str], script: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vrdiplomacy", "qa", "run", str(script), "--out", str(out)], env=env,
                          capture_output=True, text=True, timeout=180)


@pytest.fixture
def manifests(tmp_path: Path) -> dict[str, Path]:
    from vrdiplomacy.simxr.build import ensure_shim

    good = json.loads(ensure_shim().manifest.read_text())
    out = {"missing": tmp_path / "gone" / "runtime.json", "bad": tmp_path / "bad.json", "nolib": tmp_path / "nolib.json"}
    out["bad"].write_text(json.dumps(good)[:-12])  # cut short: not JSON any more
    nolib = dict(good, runtime=dict(good["runtime"], library_path=str(tmp_path / "libmissing_runtime.so")))
    out["nolib"].write_text(json.dumps(nolib))
    out["good"] = ensure_shim().manifest
    return out


def _last(p: subprocess.CompletedProcess[str]) -> str:
    assert p.returncode != 0 and "Traceback" not in p.stderr, p.stderr[-3000:]
    line = p.stderr.strip().splitlines()[-1]
    assert line.startswith("error: ")
    return line


def test_missing_manifest(manifests: dict[str, Path], child_env: Any) -> None:
    p = _xr_join(child_env(None, XR_RUNTIME_JSON=str(manifests["missing"]), PYOPENGL_PLATFORM="egl"))
    line = _last(p)
    assert f"XR_RUNTIME_JSON names the runtime manifest {manifests['missing']}, which does not exist" in line
    assert "Does it exist?" in p.stderr  # the loader's own line, at the default log level


def test_manifest_that_is_not_json(manifests: dict[str, Path], child_env: Any) -> None:
    p = _xr_join(child_env(None, XR_RUNTIME_JSON=str(manifests["bad"]), PYOPENGL_PLATFORM="egl"))
    line = _last(p)
    assert f"the OpenXR runtime manifest {manifests['bad']} is not valid JSON (" in line
    assert "Line 1" in line  # the parser's own reason


def test_runtime_library_missing(manifests: dict[str, Path], child_env: Any) -> None:
    p = _xr_join(child_env(None, XR_RUNTIME_JSON=str(manifests["nolib"]), PYOPENGL_PLATFORM="egl"))
    line = _last(p)
    assert f"the OpenXR runtime library named by {manifests['nolib']} cannot be loaded" in line
    assert "libmissing_runtime.so: cannot open shared object file" in line  # the dynamic linker's reason


def test_runtime_refuses_to_start(manifests: dict[str, Path], child_env: Any) -> None:
    # the simulated runtime's library loads, but no simulated headset runs in that process:
    # its loader negotiation answers XR_ERROR_INITIALIZATION_FAILED
    p = _xr_join(child_env(None, XR_RUNTIME_JSON=str(manifests["good"]), PYOPENGL_PLATFORM="egl"))
    line = _last(p)
    assert "refused to start: XR_ERROR_INITIALIZATION_FAILED" in line and str(manifests["good"]) in line


@pytest.mark.parametrize("call,setting,result,what", [
    ("xrCreateInstance", "refuse_instance", "XR_ERROR_INITIALIZATION_FAILED", "refused to create an instance"),
    ("xrCreateSession", "refuse_session", "XR_ERROR_RUNTIME_FAILURE", "refused the session"),
])
def test_runtime_refuses_with_its_reason(call: str, setting: str, result: str, what: str, child_env: Any,
                                         tmp_path: Path) -> None:
    reason = "the headset's display cable is unplugged"
    script = tmp_path / "refuse.json"
    script.write_text(json.dumps({"headset": {setting: reason}, "events": [{"frame": 5, "type": "exit"}]}))
    p = _qa(child_env(None, PYOPENGL_PLATFORM="egl", EGL_PLATFORM="surfaceless"), script, tmp_path / "out")
    line = _last(p)
    assert what in line and result in line and f"ERROR: {call}: {reason}" in line, line


@pytest.mark.slow
def test_standby_waits_with_status_lines_then_resumes(child_env: Any, tmp_path: Path) -> None:
    script = tmp_path / "standby.json"
    script.write_text(json.dumps({"headset": {"resolution": [32, 32], "standby_s": 11},
                                  "events": [{"frame": 10, "type": "standby"}, {"frame": 40, "type": "exit"}]}))
    p = _qa(child_env(None, PYOPENGL_PLATFORM="egl", EGL_PLATFORM="surfaceless"), script, tmp_path / "out")
    assert p.returncode == 0, p.stderr[-3000:]
    assert "waiting for the headset: the OpenXR session has been IDLE for 10 s" in p.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    states = [e["event"] for e in report["session_events"] if e["event"].startswith("state:")]
    assert states.count("state:IDLE") >= 1 and states.count("state:FOCUSED") == 2 and states[-1] == "state:EXITING"
    assert report["frames_submitted"] >= 40
