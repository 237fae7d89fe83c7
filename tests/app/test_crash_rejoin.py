"""``kill -9`` of a real ``vrdiplomacy join`` and an immediate restart: the same identity is back
in its own seat with the same client id; someone else asking for that seat is told who holds
it, keeps retrying, and gets it once the holder leaves (issue 19).

Fails on main 688aa47: the restarted join had no resume token, the relay counted the crashed
session (away) as another occupant of the seat, and "seat taken" was fatal."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from vrdiplomacy.net.client_core import MemberUpdate
from vrdiplomacy.net.client_io import connect

ROOT = Path(__file__).resolve().parents[2]
SEAT = "S074"


class Proc:
    """A child process whose output lines are kept with the time they arrived."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.p = subprocess.Popen([sys.executable, "-m", "vrdiplomacy", *args], cwd=str(ROOT), env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.started = time.monotonic()
        self.lines: list[tuple[float, str]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.p.stdout is not None
        for line in self.p.stdout:
            self.lines.append((time.monotonic(), line.rstrip()))

    def first(self, text: str) -> float | None:
        return next((t for t, line in list(self.lines) if text in line), None)

    def output(self) -> str:
        return "\n".join(line for _, line in self.lines)

    def kill(self) -> None:
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait(10)


def _env(state: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(PYOPENGL_PLATFORM="egl", EGL_PLATFORM="surfaceless", PYTHONPATH=str(ROOT), XDG_STATE_HOME=str(state))
    return env


async def _until(pred, timeout: float, what: str, proc: Proc | None = None) -> float:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}" + (f"\n{proc.output()}" if proc else ""))
        await asyncio.sleep(0.01)
    return time.monotonic()


@pytest.mark.slow
@pytest.mark.gl
def test_kill_9_join_restart_gets_own_seat_back_and_others_wait(tmp_path: Path) -> None:
    relay = Proc(["relay", "--listen", "127.0.0.1:0", "--state-dir", str(tmp_path / "relay")], _env(tmp_path / "r"))
    procs = [relay]
    try:
        asyncio.run(_scenario(tmp_path, relay, procs))
    finally:
        for p in procs:
            p.kill()


async def _scenario(tmp_path: Path, relay: Proc, procs: list[Proc]) -> None:
    await _until(lambda: relay.first("fingerprint") is not None, 30, "the relay", relay)
    port = int(next(line for _, line in relay.lines if "listening on" in line).split(":")[1].split()[0])
    fp = next(line for _, line in relay.lines if "fingerprint" in line).rsplit(" ", 1)[1]
    me_state, other_state = tmp_path / "me", tmp_path / "other"
    join = ["join", "--mode", "offscreen", "--size", "160x90", "--scene", "chamber", "--relay", f"127.0.0.1:{port}",
            "--fingerprint", fp, "--seat", SEAT]
    async with connect("127.0.0.1", port, fp, "observer", "gallery-1") as obs:
        updates: list[tuple[float, MemberUpdate]] = []

        async def watch() -> None:
            async for ev in obs:
                if isinstance(ev, MemberUpdate):
                    updates.append((time.monotonic(), ev))

        task = asyncio.create_task(watch())

        def at_seat(state: str = "present") -> list[MemberUpdate]:
            return [m for _, m in updates if m.seat == SEAT and m.state == state]

        first = Proc([*join, "--duration", "120"], _env(me_state))
        procs.append(first)
        await _until(lambda: at_seat(), 60, "the first join in its seat", first)
        cid, name = at_seat()[0].client_id, at_seat()[0].identity
        tokens = list((me_state / "vrdiplomacy" / "sessions").glob("*.json"))
        assert len(tokens) == 1 and tokens[0].stat().st_mode & 0o777 == 0o600
        assert json.loads(tokens[0].read_text())["client_id"] == cid

        os.kill(first.p.pid, signal.SIGKILL)  # the crash
        first.p.wait(10)
        again = Proc([*join, "--duration", "12"], _env(me_state))  # at once, same identity and state folder
        procs.append(again)
        await _until(lambda: any(m.client_id == cid for m in at_seat("away")), 10, "the crashed join marked away")
        back = await _until(lambda: any(t > again.started and m.client_id == cid for t, m in updates if m.seat == SEAT
                                        and m.state == "present"), 30, "the restarted join back in its seat", again)
        resuming = again.first("resuming the session of")
        assert resuming is not None, again.output()
        resume_s, total_s = back - resuming, back - again.started
        print(f"\nrejoin after kill -9: {resume_s:.3f} s from the new process's resume to its seat "
              f"({total_s:.2f} s from spawn, Python and GL start-up included)")
        assert resume_s < 2.0, f"back in its seat {resume_s:.2f} s after resuming"
        seat_ids = {m.client_id for _, m in updates if m.seat == SEAT}
        assert seat_ids == {cid}  # never a second avatar or a new id for the same person
        assert not [m for _, m in updates if m.client_id == cid and m.state == "left"]
        assert {m.identity for _, m in updates if m.seat == SEAT} == {name}

        # someone else asks for the seat: told who holds it, keeps retrying, gets it after the holder leaves
        other = Proc([*join, "--name", "contender", "--duration", "30"], _env(other_state))
        procs.append(other)
        await _until(lambda: other.first(f"seat '{SEAT}' in room 'chamber' is taken by {name}") is not None, 60,
                     "the contender's seat-taken message", other)
        told = other.first("is taken by")
        assert "waiting for it (retrying every 1 s)" in other.output()
        left = await _until(lambda: any(m.client_id == cid and m.state == "left" for _, m in updates), 40,
                            "the holder leaving", again)
        assert again.p.wait(20) == 0, again.output()
        assert not tokens[0].exists()  # a clean leave forgets the token
        await _until(lambda: any(m.identity == "contender" for m in at_seat()), 15, "the contender in the seat", other)
        got = time.monotonic()
        assert other.p.poll() is None, other.output()
        assert other.output().count("is taken by") == 1  # one line, not one per try
        print(f"contender: refused and retrying for {left - told:.1f} s, in the seat {got - left:.2f} s after the holder left")
        task.cancel()
