"""A delegate's hand-tracked and controller gestures reach a second delegate's client over a real
relay and show there as icons; a handshake completes only when both offered a hand.

The first delegate is ``vrdiplomacy qa run --relay``: the client people run, against the
simulated headset (OpenXR through the Khronos loader, EGL, the renderer, the live client's
gesture recognizer). The relay is ``vrdiplomacy relay`` on 127.0.0.1. The second delegate is a
:class:`~vrdiplomacy.session.host.SessionThread` in this process, standing in front of the
first; what it sees is read from its room state, the state the renderer draws avatars from.

Fails on main 3e2635d: ``qa run`` had no ``--relay``, and nothing in the client passed frames
to the session's recognizer (``DelegateSession.push_frame`` had no caller).
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gesture_script import write_script  # noqa: E402

from vrdiplomacy.gestures.types import GESTURES  # noqa: E402

pytestmark = [pytest.mark.gl, pytest.mark.slow]
ALL = sorted(g.value for g in GESTURES)


def _relay(python_exe: str, env: dict[str, str], state: Path) -> tuple[subprocess.Popen[str], int, str]:
    p = subprocess.Popen([python_exe, "-m", "vrdiplomacy", "relay", "--listen", "127.0.0.1:0", "--state-dir", str(state)],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    port = fp = None
    t_end = time.monotonic() + 60
    assert p.stdout is not None
    while (port is None or fp is None) and time.monotonic() < t_end:
        line = p.stdout.readline()
        if not line:
            break
        if m := re.search(r"listening on 127\.0\.0\.1:(\d+)", line):
            port = int(m.group(1))
        if m := re.search(r"fingerprint \(SHA-256\): ((?:[0-9A-F]{2}:){31}[0-9A-F]{2})", line):
            fp = m.group(1)  # the one printed form (as identity show prints fingerprints)
    if port is None or fp is None:
        p.kill()
        pytest.fail("the relay did not start")
    return p, port, fp


def _render_icon_pixels(avatars: list[Any], head: Any) -> int:
    """Pixels that change when the first avatar's gesture icon is drawn (seen from ``head``)."""
    from vrdiplomacy.render.frames import views_for
    from vrdiplomacy.render.renderer import Renderer
    from vrdiplomacy.scene.assets import load_scene

    scene, _ = load_scene("chamber")
    size = (200, 150)
    with Renderer() as r:
        target = r.create_target(*size)
        images = []
        for icon in (avatars[0].gesture_icon, None):
            avatars[0].gesture_icon = icon
            scene.avatars = avatars
            r.render(scene, views_for(head, size, stereo=False, fov_deg=90.0), [target])
            images.append(r.read_pixels(target).astype(np.int32))
    return int((np.abs(images[0] - images[1]).sum(axis=-1) > 30).sum())


# the controller source over a relay is covered end to end on Monado (tests/xr/test_monado_gestures.py,
# all 11 gestures, with and without the peer's consent); here the simulated headset's articulated hands
@pytest.mark.parametrize("source,consent", [("articulated", True)])
def test_every_gesture_arrives_over_the_relay_as_an_icon(source: str, consent: bool, child_env: Any,
                                                         tmp_path: Path) -> None:
    from vrdiplomacy.app.client import place_pose
    from vrdiplomacy.app.join import seat_origin
    from vrdiplomacy.scene.layout import load_layout
    from vrdiplomacy.scene.math3d import Pose
    from vrdiplomacy.session.host import RelayAddress, SessionThread
    from vrdiplomacy.session.runtime import HeldPose, SessionSettings

    python_exe = sys.executable
    env = child_env(None, PYOPENGL_PLATFORM="egl", EGL_PLATFORM="surfaceless")
    script = tmp_path / f"{source}.json"
    labels, partner = write_script(script, source)
    layout = load_layout("chamber")
    seat = layout.seat(layout.default_seat)
    origin = seat_origin(seat)
    # the second delegate stands where the performance's handshake partner is, facing the first
    p = np.asarray(partner.position, np.float32) + np.array([0.0, 0.45, 0.0], np.float32)
    yaw = float(np.degrees(np.arctan2(p[0], p[2])))  # -Z of the head points back at the stage origin
    head2 = place_pose(origin, Pose.from_yaw(p, yaw))
    held2 = HeldPose(head2)
    relay, port, fp = _relay(python_exe, env, tmp_path / "relay")
    other_seat = next(s.seat_id for s in layout.seats if s.seat_id != seat.seat_id)
    second = SessionThread(layout, SessionSettings("second", other_seat, "chamber", hear=False), held2,
                           relay=RelayAddress("127.0.0.1", port, fp.replace(":", "").lower()))
    seen: dict[str, Any] = {}  # icon -> (avatars, time) the first time it showed on the first delegate
    log: dict[str, Any] = {"handshake": [], "offered_back": False}
    qa = None
    try:
        second.start()

        def observe() -> None:
            s = second.session
            now = s.now
            qa_id = next((cid for cid, m in s.state.members.items() if m.identity == "qa-delegate"), None)
            if qa_id is None:
                return
            log["qa_id"] = qa_id
            for a in s.state.avatars(now):
                if a.avatar_id == qa_id and a.gesture_icon and a.gesture_icon not in seen:
                    seen[a.gesture_icon] = ([a], now)
            hs = s.gestures.handshakes.get(qa_id)
            shown = "idle" if hs is None else hs.state.value
            if not log["handshake"] or log["handshake"][-1] != shown:
                log["handshake"].append(shown)
            if shown == "invited" and consent and not log["offered_back"]:
                s.gestures.offer(qa_id, now)  # the second delegate offers a hand too: both consent
                s.flush_gestures()
                log["offered_back"] = True
            m = s.state.members[qa_id]
            if shown == "agreed" and m.right is not None:
                held2.set(head2, None, m.right)  # and brings the right hand to the first delegate's

        qa = subprocess.Popen([python_exe, "-m", "vrdiplomacy", "qa", "run", str(script), "--out", str(tmp_path / "out"),
                               "--relay", f"127.0.0.1:{port}", "--fingerprint", fp, "--seat", seat.seat_id,
                               "--name", "qa-delegate", "--render-every", "15"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        t_end = time.monotonic() + 300
        while qa.poll() is None and time.monotonic() < t_end:
            second.call(observe)
            time.sleep(0.03)
        time.sleep(0.5)
        second.call(observe)
        out = qa.communicate(timeout=30)[0] if qa.poll() is not None else ""
        assert qa.returncode == 0, out[-4000:]
        log_at_b = second.call(lambda: list(second.session.state.gesture_log))
    finally:
        if qa is not None and qa.poll() is None:
            qa.kill()
        second.stop()
        relay.terminate()
        relay.wait(10)
    qa_id = log["qa_id"]
    started = {g for _, sender, g, phase in log_at_b if sender == qa_id and phase == "start"}
    assert started == set(ALL), f"arrived: {sorted(started)}; missing: {sorted(set(ALL) - started)}"
    assert set(seen) == set(ALL), f"icons shown: {sorted(seen)}; never: {sorted(set(ALL) - set(seen))}"
    assert "qa: frame" in out  # progress lines
    if consent:
        assert log["handshake"][-1] == "shaken" and "invited" in log["handshake"], log["handshake"]
    else:  # the second delegate never offered a hand back: the offer expires, no handshake
        assert "invited" in log["handshake"] and "shaken" not in log["handshake"] and "agreed" not in log["handshake"]
    avatars, _ = seen["thumbs_up"]
    assert _render_icon_pixels(avatars, head2) > 40  # the icon is drawn above the first delegate's head
