"""What a new user met, run as they run it: each answer names the real problem.

Fails on main 3e2635d: ``--fingerprint abc`` said "--relay needs --fingerprint"; a refused
connection and an unresolvable host both said only "no session ... within 5 s"; ``--size
100000x100000`` said "must look like WxH"; ``render --scene chamber --glb bilateral.glb``
rendered delegates floating in a void; a QA script without an exit event ran 3000 frames
silently; a malformed fingerprint in either printed form (the relay's hex, ``identity show``'s
colon-separated upper case) was reported as a missing one.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FP_HEX = "ab" * 32
FP_COLON = ":".join(["AB"] * 32)


def _cli(*args: str, timeout: float = 120.0, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    e = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "XR_RUNTIME_JSON")}
    e.update(PYOPENGL_PLATFORM="egl", EGL_PLATFORM="surfaceless", PYTHONPATH=str(ROOT))
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "vrdiplomacy", *args], cwd=ROOT, env=e, capture_output=True,
                          text=True, timeout=timeout)


def _error(p: subprocess.CompletedProcess[str]) -> str:
    assert p.returncode != 0 and "Traceback" not in p.stderr, p.stderr[-2000:]
    line = p.stderr.strip().splitlines()[-1]
    assert line.startswith("error: "), p.stderr
    return line


def test_a_short_fingerprint_is_named_as_such() -> None:
    line = _error(_cli("join", "--mode", "offscreen", "--relay", "127.0.0.1:7390", "--fingerprint", "abc"))
    assert "--fingerprint must be the relay certificate's SHA-256 fingerprint: 64 hex digits" in line
    assert "got 'abc' (3 hex digits)" in line and "--relay needs --fingerprint" not in line
    assert _error(_cli("join", "--fingerprint", "abc")) == "error: --fingerprint needs --relay HOST:PORT"


def test_both_fingerprint_forms_are_accepted() -> None:
    from vrdiplomacy.app.addresses import relay_address, show_fingerprint

    assert relay_address("h:1", FP_COLON).fingerprint == relay_address("h:1", FP_HEX).fingerprint == FP_HEX
    assert relay_address("h:1", FP_COLON.lower()).fingerprint == FP_HEX
    assert show_fingerprint(FP_HEX) == show_fingerprint(FP_COLON) == FP_COLON.upper()  # the one printed form


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.gl
def test_refused_and_unresolvable_relays_say_which() -> None:
    refused = _error(_cli("join", "--mode", "offscreen", "--frames", "2", "--size", "64x48",
                          "--relay", f"127.0.0.1:{_closed_port()}", "--fingerprint", FP_COLON))
    assert "refused the connection: nothing listens on that port" in refused, refused
    unknown = _error(_cli("join", "--mode", "offscreen", "--frames", "2", "--size", "64x48",
                          "--relay", "no-such-relay.invalid:7390", "--fingerprint", FP_HEX))
    assert "cannot resolve the relay host 'no-such-relay.invalid'" in unknown, unknown
    assert "within 5 s" not in refused + unknown


@pytest.mark.parametrize("cmd", [["join", "--mode", "offscreen"], ["render", "--out", "/tmp/x.png"],
                                 ["demo", "--headless"]])
def test_an_oversized_size_names_the_range(cmd: list[str]) -> None:
    line = _error(_cli(*cmd, "--size", "100000x100000"))
    assert "--size 100000x100000: each side must be between 16 and 8192 pixels" in line


@pytest.mark.gl
def test_render_refuses_a_layout_that_does_not_match_the_geometry(tmp_path: Path) -> None:
    line = _error(_cli("render", "--scene", "chamber", "--glb", "assets/bilateral.glb", "--size", "64x48",
                       "--out", str(tmp_path / "x.png")))
    assert "is the bilateral scene's geometry, but --scene chamber" in line and "use --scene bilateral" in line
    ok = _cli("render", "--glb", "assets/bilateral.glb", "--size", "64x48", "--out", str(tmp_path / "y.png"))
    assert ok.returncode == 0 and "scene bilateral" in ok.stdout, ok.stderr


@pytest.mark.gl
def test_qa_says_when_only_max_frames_ends_a_script(tmp_path: Path) -> None:
    script = tmp_path / "no_exit.toml"
    script.write_text('[headset]\nresolution = [32, 32]\n[[key]]\nframe = 0\nhead = { position = [0, 1.6, 0] }\n')
    p = _cli("qa", "run", str(script), "--out", str(tmp_path / "out"), "--max-frames", "30")
    assert p.returncode == 0, p.stderr[-2000:]
    assert "30 frames: the script has no exit event and no [headset] frames, so --max-frames ends it" in p.stdout
