"""``vrdiplomacy join`` tells people about its link to the relay: a real join process, a relay
process, ``tools/faultproxy.py`` in between.

* A 10 s blackout: the log says "reconnecting… (heartbeat timeout …)" once the heartbeat times
  out and "reconnected after N s" when the path is back, and the head-up card the renderer draws
  (``render/hud.py`` logs each card it uploads, with ``-vv``) says "Reconnecting…" and then
  "Reconnected after N s"; another delegate sees the avatar "(away)" meanwhile, then back.
* The relay killed and not restarted: "connection lost: relay closed the connection".
* Nothing listening on the port: "connection lost: refused".

Fails on main 3e2635d: join said nothing of the link (the client's heartbeat timeout was
reported, to nobody, as "relay closed the connection"), and away members had no avatar at all.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    env.update(PYOPENGL_PLATFORM="egl", EGL_PLATFORM="surfaceless")
    return env


class Proc:
    """A child process whose output lines are collected (with their arrival time) by a thread."""

    def __init__(self, *args: str) -> None:
        self.p = subprocess.Popen([sys.executable, "-m", "vrdiplomacy", *args], cwd=ROOT, env=_env(),
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[tuple[float, str]] = []
        self._t = threading.Thread(target=self._read, daemon=True)
        self._t.start()

    def _read(self) -> None:
        assert self.p.stdout is not None
        for line in self.p.stdout:
            self.lines.append((time.monotonic(), line.rstrip("\n")))

    @property
    def text(self) -> str:
        return "\n".join(line for _, line in self.lines)

    def wait_for(self, pattern: str, timeout: float) -> tuple[float, re.Match[str]]:
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        while True:
            for t, line in list(self.lines):
                if m := rx.search(line):
                    return t, m
            if time.monotonic() > deadline or (self.p.poll() is not None and not self._t.is_alive()):
                raise AssertionError(f"no line matching {pattern!r} within {timeout:g} s:\n{self.text}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait(10)
        self._t.join(5)


def _relay(tmp_path: Path) -> tuple[Proc, int, str]:
    r = Proc("relay", "--listen", "127.0.0.1:0", "--state-dir", str(tmp_path / "relay"))
    _, m = r.wait_for(r"listening on [\d.]+:(\d+)", 30)
    _, f = r.wait_for(r"\b((?:[0-9A-F]{2}:){31}[0-9A-F]{2})\b", 30)
    return r, int(m.group(1)), f.group(1)


def _join(relay: str, fp: str, seat: str, duration: float, *extra: str) -> Proc:
    return Proc("-vv", "join", "--mode", "offscreen", "--scene", "bilateral", "--size", "96x54", "--duration", str(duration),
                "--relay", relay, "--fingerprint", fp, "--seat", seat, *extra)


def _until(cond: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = cond()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _faultproxy() -> Any:
    from toolscripts import load_tool

    return load_tool("faultproxy.py", "faultproxy")


@pytest.mark.gl
def test_a_blackout_is_told_on_the_command_line_and_the_card_and_the_peer_shows_away(tmp_path: Path) -> None:
    from vrdiplomacy.scene.layout import load_layout
    from vrdiplomacy.session.host import RelayAddress, SessionThread
    from vrdiplomacy.session.runtime import HeldPose, SessionSettings

    fp = _faultproxy()
    relay, port, fingerprint = _relay(tmp_path)
    a: Proc | None = None
    observer: SessionThread | None = None
    try:
        pt = fp.ProxyThread(("127.0.0.1", port))
        with pt as proxy:  # listens on 127.0.0.2 with the relay's port
            layout = load_layout("bilateral")
            seat = next(s for s in layout.seats if s.seat_id == "B1")
            observer = SessionThread(layout, SessionSettings("observer", "B1", "bilateral", hear=False),
                                     HeldPose(seat.eye_pose()), relay=RelayAddress("127.0.0.1", port, fingerprint))
            observer.start()
            a = _join(f"{proxy.listen[0]}:{port}", fingerprint, "A1", 60, "--name", "delegate-a")
            a.wait_for(r"joined 127\.0\.0\.2:\d+ as delegate-a", 90)
            s = observer

            def placard() -> str | None:
                def look() -> str | None:
                    st = s.session.state  # type: ignore[union-attr]
                    key = next((k for k, m in st.members.items() if m.identity == "delegate-a"), None)
                    return next((av.delegation for av in st.avatars(s.session.now) if av.avatar_id == key), None)  # type: ignore[union-attr]
                return s.call(look)

            seen = _until(placard, 30, "the observer seeing delegate-a's avatar")
            assert "(away)" not in seen
            time.sleep(1.0)
            t_black = time.monotonic()
            pt.call(proxy.blackout, True)  # on the proxy's own event loop
            t_rec, m = a.wait_for(r"reconnecting… \((heartbeat timeout: no word from the relay for [\d.]+ s)\)", 15)
            assert 4.0 <= t_rec - t_black <= 9.0, t_rec - t_black  # 3 missed heartbeats of 2 s
            away = _until(lambda: (p := placard()) and "(away)" in p and p, 15, "delegate-a shown away")
            assert away == seen + " (away)"
            time.sleep(max(0.0, t_black + 10.0 - time.monotonic()))
            pt.call(proxy.blackout, False)
            t_back, m = a.wait_for(r"reconnected after ([\d.]+) s", 20)
            outage = float(m.group(1))
            assert 9.0 <= outage <= 16.0, a.text  # counted from the last word before the blackout
            _until(lambda: placard() == seen, 15, "delegate-a present again")
            a.wait_for(r"HUD card drawn(?: \([^)]*\))?: Reconnected after [\d.]+ s", 10)
            out = a.text
            assert "HUD: Reconnecting… | link lost: heartbeat timeout" in out, out
            assert re.search(r"HUD card drawn \(alert\): Reconnecting… \| link lost: heartbeat timeout", out), out
            assert "connection lost" not in out  # a 10 s blackout is not a lost connection
            print("\n".join(line for _, line in a.lines if re.search(r"reconnect|HUD|connection lost", line, re.I)))
    finally:
        if a is not None:
            a.stop()
        if observer is not None:
            observer.stop()
        relay.stop()


@pytest.mark.gl
def test_a_killed_relay_is_a_lost_connection_and_a_refused_port_is_refused(tmp_path: Path) -> None:
    relay, port, fingerprint = _relay(tmp_path)
    a = _join(f"127.0.0.1:{port}", fingerprint, "A1", 40)
    try:
        a.wait_for(r"joined 127\.0\.0\.1:\d+ as ", 90)
        time.sleep(1.0)
        relay.stop()  # killed, not restarted
        a.wait_for(r"reconnecting… \(relay closed the connection", 10)
        a.wait_for(r"connection lost: relay closed the connection \(refused: nothing accepts connections at 127\.0\.0\.1:"
                   + str(port), 10)
        a.wait_for(r"HUD card drawn \(alert\): Connection lost: relay closed the connection \| still retrying", 10)
        print("\n".join(line for _, line in a.lines if re.search(r"reconnect|HUD|connection lost", line, re.I)))
    finally:
        a.stop()
        relay.stop()
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        free = sock.getsockname()[1]
    r = subprocess.run([sys.executable, "-m", "vrdiplomacy", "join", "--mode", "offscreen", "--scene", "bilateral",
                        "--size", "96x54", "--duration", "5", "--relay", f"127.0.0.1:{free}", "--fingerprint", fingerprint],
                       cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120)
    out = r.stdout + r.stderr
    assert r.returncode != 0, out
    assert "connection lost: refused" in out, out
