"""``vrdiplomacy join --relay``: two delegates in separate processes meet through a relay process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    env.update(PYOPENGL_PLATFORM="egl", EGL_PLATFORM="surfaceless")
    return env


@pytest.fixture()
def relay(tmp_path: Path):  # type: ignore[no-untyped-def]
    proc = subprocess.Popen([sys.executable, "-m", "vrdiplomacy", "relay", "--listen", "127.0.0.1:0",
                             "--state-dir", str(tmp_path / "relay")], cwd=ROOT, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        port = fp = None
        deadline = time.monotonic() + 30
        assert proc.stdout is not None
        while (port is None or fp is None) and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            if m := re.search(r"listening on [\d.]+:(\d+)", line):
                port = int(m.group(1))
            if m := re.search(r"\b((?:[0-9A-F]{2}:){31}[0-9A-F]{2})\b", line):
                fp = m.group(1)
        assert port and fp, "the relay did not print its port and fingerprint"
        yield port, fp
    finally:
        proc.kill()
        proc.wait(timeout=10)


def _join(port: int, fp: str, seat: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "vrdiplomacy", "join", "--mode", "offscreen", "--scene", "bilateral",
                             "--size", "96x54", "--duration", "8", "--relay", f"127.0.0.1:{port}", "--fingerprint", fp,
                             "--seat", seat], cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


@pytest.mark.gl
def test_two_delegates_join_one_relay_and_see_each_other(relay) -> None:  # type: ignore[no-untyped-def]
    port, fp = relay
    # each stays 8 s: long enough to overlap however slowly the other process starts
    a, b = _join(port, fp, "A1"), _join(port, fp, "B1")
    outs = [p.communicate(timeout=120)[0] for p in (a, b)]
    for p, out, seat in zip((a, b), outs, ("A1", "B1")):
        assert p.returncode == 0, out
        assert f"at seat {seat} (offscreen mode, NOT end-to-end encrypted" in out, out
        assert "HUD: Not end-to-end encrypted" in out, out
        m = re.search(r"received (\d+) poses, \d+ voice frames, \d+ gesture events from (\d+) delegates", out)
        assert m, out
        assert int(m.group(2)) == 1, out  # the other one, exactly once
        assert int(m.group(1)) > 0, out


def test_join_relay_needs_the_fingerprint() -> None:
    r = subprocess.run([sys.executable, "-m", "vrdiplomacy", "join", "--mode", "offscreen", "--relay", "127.0.0.1:7390"],
                       cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "error: --relay needs --fingerprint: the certificate fingerprint 'vrdiplomacy relay' prints (it pins the relay)"]


@pytest.mark.gl
def test_a_delegate_sits_at_its_delegations_seat_and_a_taken_default_seat_is_a_clear_error(relay) -> None:  # type: ignore[no-untyped-def]
    """Without --seat, "France" sits at France's seat in the chamber; two delegates whose names
    match no delegation both get the layout's default seat: the second is told at once who holds
    it and how to choose another (before: it waited silently until the 30 s start timeout)."""
    port, fp = relay
    base = [sys.executable, "-m", "vrdiplomacy", "join", "--mode", "offscreen", "--size", "96x54",
            "--relay", f"127.0.0.1:{port}", "--fingerprint", fp, "--mic", "none"]
    from vrdiplomacy.scene.delegations import delegation

    france = subprocess.run([*base, "--scene", "chamber", "--name", "France", "--frames", "2"], cwd=ROOT, env=_env(),
                            capture_output=True, text=True, timeout=120)
    assert france.returncode == 0, france.stderr
    assert f"as France at seat {delegation('FRA').seat} " in france.stderr + france.stdout
    first = subprocess.Popen([*base, "--scene", "bilateral", "--name", "Alice", "--duration", "30"], cwd=ROOT, env=_env(),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert first.stdout is not None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = first.stdout.readline()
            if "joined 127.0.0.1" in line or not line:
                break
        assert "as Alice at seat" in line, line
        t0 = time.monotonic()
        second = subprocess.run([*base, "--scene", "bilateral", "--name", "Bob", "--duration", "5"], cwd=ROOT, env=_env(),
                                capture_output=True, text=True, timeout=120)
        assert second.returncode == 2, second.stderr
        last = second.stderr.strip().splitlines()[-1]
        assert re.fullmatch(r"error: seat '\w+' in room 'bilateral' is taken by Alice: choose a free seat with --seat ID", last), last
        assert time.monotonic() - t0 < 25  # told, not left waiting for the start timeout
    finally:
        first.kill()
        first.wait(timeout=10)
