"""What the Monado tests share: the runtime's environment, a free port, a relay on 127.0.0.1,
a second delegate (the library's session host), and ``tools/monado`` loaded as modules."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from toolscripts import load_tool

REPO = Path(__file__).resolve().parents[2]
LVP_ICD = Path("/usr/share/vulkan/icd.d/lvp_icd.x86_64.json")
SCENE, SEAT, PEER_SEAT = "bilateral", "A1", "B1"


def _load(name: str) -> ModuleType:
    return load_tool(f"monado/{name}.py", f"monado_{name}")


remote = _load("remote")


def _monado_env(manifest: str, config_home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "XR_RUNTIME_JSON")}
    env.update(XR_RUNTIME_JSON=manifest, XRT_COMPOSITOR_NULL="1", XRT_LOG="warn", PYOPENGL_PLATFORM="egl",
               EGL_PLATFORM="surfaceless", XDG_CONFIG_HOME=str(config_home), PYTHONPATH=str(REPO),
               # join keeps resume tokens in the state folder: one per test, never the user's
               XDG_STATE_HOME=str(config_home / "state"))
    if LVP_ICD.exists():
        env["VK_ICD_FILENAMES"] = str(LVP_ICD)
    env.update(extra)
    return env


def _states(log: str) -> list[str]:
    return re.findall(r"OpenXR session state (\w+)", log)


def _profiles(log: str) -> list[str]:
    return re.findall(r"OpenXR interaction profile: (\S+)", log)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))  # the remote hub listens on all interfaces
        return int(s.getsockname()[1])


def _start_relay(state: Path) -> tuple[subprocess.Popen[str], int, str]:
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    proc = subprocess.Popen([sys.executable, "-m", "vrdiplomacy", "relay", "--listen", "127.0.0.1:0", "--state-dir", str(state)],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    port = fp = None
    deadline = time.monotonic() + 60
    assert proc.stdout is not None
    while (port is None or fp is None) and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if m := re.search(r"listening on [\d.]+:(\d+)", line):
            port = int(m.group(1))
        if m := re.search(r"\b((?:[0-9A-F]{2}:){31}[0-9A-F]{2})\b", line):
            fp = m.group(1)
    if port is None or fp is None:
        proc.kill()
        raise AssertionError("the relay did not print its port and fingerprint")
    threading.Thread(target=proc.stdout.read, daemon=True).start()  # keep draining
    return proc, port, fp


def _peer(port: int, fp: str, held: Any = None) -> Any:
    """The second delegate: the library's session host at seat B1, as an app embeds it (its head
    at the seat's eye point, or where ``held``, a HeldPose, puts it)."""
    from vrdiplomacy.scene.assets import load_scene
    from vrdiplomacy.session.host import RelayAddress, SessionThread
    from vrdiplomacy.session.runtime import HeldPose, SessionSettings

    _, layout = load_scene(SCENE)
    seat = layout.seat(PEER_SEAT)
    host = SessionThread(layout, SessionSettings("peer-b1", PEER_SEAT, SCENE, hear=False),
                         held if held is not None else HeldPose(seat.eye_pose()), relay=RelayAddress("127.0.0.1", port, fp))
    host.start()
    return host


class JoinLog:
    """``join``'s stderr, read on a thread as it comes: ``lines`` (those naming ``skip`` left out:
    the runtime's pacing chatter) and ``focused``, set once the app reports an interaction profile."""

    def __init__(self, proc: subprocess.Popen[str], skip: tuple[str, ...] = ()) -> None:
        self.lines: list[str] = []
        self.focused = threading.Event()
        self._proc, self._skip = proc, skip
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self._proc.stderr is not None
        for line in self._proc.stderr:
            if not any(s in line for s in self._skip):
                self.lines.append(line)
            if "OpenXR interaction profile:" in line:
                self.focused.set()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout=timeout)

    @property
    def text(self) -> str:
        return "".join(self.lines)


class HubSender:
    """Sends states to Monado's remote hub; False once the hub closed (the runtime shuts down with
    the app), with the error kept in ``gone``."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.gone: list[OSError] = []

    def __call__(self, data: Any) -> bool:
        if self.gone:
            return False
        try:
            self.client.send(data)
            return True
        except OSError as e:
            self.gone.append(e)
            return False
