"""``join --role chair`` in a room without end-to-end encryption: the claimed role is the one the
room sees (``vrdiplomacy meeting status`` through the join's control socket says "you: chair", and
a grant is accepted); the chair's desktop keys T and I act too."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(PYOPENGL_PLATFORM="egl", EGL_PLATFORM="surfaceless", PYTHONPATH=str(ROOT))
    return env


def _meeting(sock: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vrdiplomacy", "meeting", *args, "--control", str(sock)], cwd=ROOT,
                          env=_env(), capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.gl
def test_join_role_chair_claims_the_chair_in_a_plain_room(tmp_path: Path) -> None:
    from vrdiplomacy.net.relay_server import EmbeddedRelay
    import asyncio
    import threading

    ready: dict[str, object] = {}
    stop = threading.Event()

    def serve() -> None:
        async def main() -> None:
            async with EmbeddedRelay() as relay:
                ready["relay"] = relay
                while not stop.is_set():
                    await asyncio.sleep(0.05)
        asyncio.run(main())

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    deadline = time.monotonic() + 30
    while "relay" not in ready and time.monotonic() < deadline:
        time.sleep(0.05)
    relay = ready["relay"]
    sock = tmp_path / "chair.sock"
    join = subprocess.Popen([sys.executable, "-m", "vrdiplomacy", "join", "--mode", "offscreen", "--size", "96x54",
                             "--scene", "bilateral", "--relay", f"{relay.host}:{relay.port}",  # type: ignore[attr-defined]
                             "--fingerprint", relay.fingerprint, "--name", "Chair", "--role", "chair",  # type: ignore[attr-defined]
                             "--duration", "40", "--mic", "none", "--control", str(sock)],
                            cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert join.stdout is not None
        lines = []
        while time.monotonic() < deadline + 60:
            line = join.stdout.readline()
            lines.append(line)
            if "claimed the role chair" in line or not line:
                break
        assert "claimed the role chair" in lines[-1], "".join(lines)
        for _ in range(50):  # the claim travels to the relay and back
            r = _meeting(sock, "status")
            if "you: chair" in r.stdout:
                break
            time.sleep(0.2)
        assert r.returncode == 0 and "you: chair" in r.stdout, (r.stdout, r.stderr)
        r = _meeting(sock, "time", "--time", "30")
        assert r.returncode == 0 and r.stdout.startswith("ok: "), (r.stdout, r.stderr)
    finally:
        join.kill()
        join.wait(timeout=10)
        stop.set()
        t.join(timeout=10)
