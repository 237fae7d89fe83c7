"""``vrdiplomacy join --mode xr`` on Monado, a real OpenXR runtime nobody here wrote, headless.

Monado's in-process runtime (``openxr_monado``, built by ``tools/monado/build.py`` from Debian 13's
source package and cached) runs with its null compositor (``XRT_COMPOSITOR_NULL=1``) and the
client's EGL binding (XR_MNDX_egl_enable): no GPU, no display.

* The simulated HMD (``SIMULATED_ENABLE=1``, WMR controllers): the full session lifecycle.
* The remote driver (``P_OVERRIDE_ACTIVE_CONFIG=remote``): a simulated HMD and two Valve Index
  controllers whose poses and buttons ``tools/monado/remote.py`` sends over TCP. The delegate
  joins a real ``vrdiplomacy relay`` on 127.0.0.1 where a second delegate (a library client)
  sits; the right controller is lifted above the head and held there. The app's own recording
  (``join --record``) must show exactly that controller motion, the peer must see the raised hand
  in the delegate's pose stream, and the peer must receive the ``raise_hand`` gesture.

Every gesture on the remote driver, per input source: ``test_monado_gestures.py``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from monado_helpers import (REPO, SCENE, SEAT, HubSender, JoinLog, _free_port, _load, _monado_env, _peer,  # noqa: E402
                            _start_relay, remote)

STATES = ["IDLE", "READY", "SYNCHRONIZED", "VISIBLE", "FOCUSED", "VISIBLE", "SYNCHRONIZED", "STOPPING", "IDLE", "EXITING"]
INDEX = "/interaction_profiles/valve/index_controller"
WMR = "/interaction_profiles/microsoft/motion_controller"


def _states(log: str) -> list[str]:
    return re.findall(r"OpenXR session state (\w+)", log)


def _profiles(log: str) -> list[str]:
    return re.findall(r"OpenXR interaction profile: (\S+)", log)


# ------------------------------------------------------------------ simulated HMD: the lifecycle

@pytest.mark.gl
@pytest.mark.slow
def test_join_runs_the_whole_lifecycle_on_monados_simulated_hmd(monado_runtime: dict[str, Any], tmp_path: Path) -> None:
    env = _monado_env(str(monado_runtime["manifest"]), tmp_path / "cfg", SIMULATED_ENABLE="1", SIMULATED_LEFT="wmr",
                      SIMULATED_RIGHT="wmr")
    p = subprocess.run([sys.executable, "-m", "vrdiplomacy", "-vv", "join", "--mode", "xr", "--no-fallback", "--scene", SCENE,
                        "--frames", "12"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    log = p.stderr
    assert p.returncode == 0, log[-4000:]
    assert "Traceback" not in log
    assert re.search(r"OpenXR runtime: Monado\b.*XR_MNDX_egl_enable", log), log[-4000:]
    assert "Head: 'Simulated HMD'" in log, log[-4000:]
    assert _states(log) == STATES, _states(log)
    assert _profiles(log) and set(_profiles(log)) == {WMR}, _profiles(log)
    assert "left after 12 frames" in log


# ------------------------------------------------------------------ remote driver, relay and a peer

@dataclass
class RemoteRun:
    """What one headset session on Monado's remote driver produced."""

    returncode: int
    log: str
    recording: list[dict[str, Any]]
    script: Any  # remote.RaiseHand
    sent: int
    hub_reset: Any  # remote.RemoteData
    focused_at: float  # monotonic time the app reported its interaction profile (session focused)
    script_at: float  # monotonic time the raise script started
    peer_samples: list[dict[str, Any]] = field(default_factory=list)
    peer_report: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def _peer_sample(host: Any) -> list[dict[str, Any]]:
    def get() -> list[dict[str, Any]]:
        s = host.session
        now = s.now
        return [{"t": time.monotonic(), "identity": m.identity, "seat": m.seat, "poses": m.poses,
                 "head": [float(v) for v in m.head.position],
                 "right": None if m.right is None else [float(v) for v in m.right.position],
                 "icon": m.shown_icon(now)} for m in s.state.members.values()]

    return host.call(get)


@pytest.fixture(scope="module")
def remote_run(monado_runtime: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[RemoteRun]:
    tmp = tmp_path_factory.mktemp("monado-remote")
    hub_port = _free_port()
    cfg = tmp / "cfg"
    (cfg / "monado").mkdir(parents=True)
    (cfg / "monado" / "config_v0.json").write_text(json.dumps({"remote": {"version": 0, "port": hub_port, "view_count": 2}}))
    script = remote.RaiseHand()
    rec_path = tmp / "input.jsonl"
    relay, port, fp = _start_relay(tmp / "relay")
    peer = None
    join = None
    try:
        peer = _peer(port, fp)
        env = _monado_env(str(monado_runtime["manifest"]), cfg, P_OVERRIDE_ACTIVE_CONFIG="remote")
        # the app leaves by itself after --duration, counted from its relay connection: the session's
        # start (up to ~6 s on 2 busy cores, first frames compile shaders), 1 s at rest, the script, a margin
        join = subprocess.Popen([sys.executable, "-m", "vrdiplomacy", "-vv", "join", "--mode", "xr", "--no-fallback",
                                 "--scene", SCENE, "--seat", SEAT, "--name", "headset-a1", "--relay", f"127.0.0.1:{port}",
                                 "--fingerprint", fp, "--duration", f"{script.duration + 14:.0f}", "--record", str(rec_path)],
                                cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        started_at = time.monotonic()
        joinlog = JoinLog(join)
        focused = joinlog.focused
        alive = lambda: join.poll() is None  # noqa: E731
        errors: list[str] = []
        client = remote.RemoteClient(hub_port).connect(timeout=120, alive=alive)
        rest = script.at(0.0, client.initial)
        samples: list[dict[str, Any]] = []
        focused_at = script_at = 0.0
        send = HubSender(client)

        while alive() and not focused.is_set() and send(rest):
            time.sleep(1 / 30)
        if focused.is_set():
            focused_at = time.monotonic()
            t_end = focused_at + 1.0  # a second at rest in the focused session first
            while alive() and time.monotonic() < t_end and send(rest):
                time.sleep(1 / 30)
            script_at = time.monotonic()
            last_sample = 0.0
            while alive() and (t := time.monotonic() - script_at) <= script.duration:
                if not send(script.at(t, client.initial)):
                    errors.append(f"the remote hub closed during the script at {t:.1f} s: {send.gone[0]}")
                    break
                if time.monotonic() - last_sample > 0.2:
                    samples.append({"script_t": t, "members": _peer_sample(peer)})
                    last_sample = time.monotonic()
                time.sleep(1 / 60)
            else:
                if time.monotonic() - script_at < script.duration:
                    errors.append(f"the app left {time.monotonic() - script_at:.1f} s into the {script.duration:.1f} s script "
                                  f"(it was focused {focused_at - started_at:.1f} s after it started)")
        else:
            errors.append("the app never reported an interaction profile (session not focused)")
        while alive() and send(rest):  # the app leaves at --duration; keep the hand at rest until then
            time.sleep(1 / 30)
        client.close()
        rc = join.wait(timeout=120)
        joinlog.join(timeout=10)
        time.sleep(0.5)  # the last gesture events cross the relay
        report = peer.stop()
        peer = None
        recording = [json.loads(line) for line in rec_path.read_text().splitlines()] if rec_path.exists() else []
        yield RemoteRun(rc, joinlog.text, recording, script, client.sent, client.reset, focused_at, script_at,
                        samples, report.user, errors)
    finally:
        if join is not None and join.poll() is None:
            join.kill()
            join.wait(timeout=30)
        if peer is not None:
            peer.stop()
        relay.kill()
        relay.wait(timeout=30)


@pytest.mark.gl
@pytest.mark.slow
def test_remote_driver_session_runs_the_lifecycle_with_index_controllers(remote_run: RemoteRun) -> None:
    r = remote_run
    assert not r.errors, r.errors
    assert r.returncode == 0, r.log[-4000:]
    assert "Traceback" not in r.log
    assert "Head: 'Remote HMD'" in r.log and "Right: 'Remote Right Controller'" in r.log, r.log[-4000:]
    assert _states(r.log) == STATES, _states(r.log)
    assert _profiles(r.log) and set(_profiles(r.log)) == {INDEX}, _profiles(r.log)
    assert re.search(r"joined 127\.0\.0\.1:\d+ as headset-a1 at seat A1 \(xr mode", r.log), r.log[-4000:]
    # the hub's own reset state decodes as Monado's remote driver defines it (the struct layout is right)
    assert r.hub_reset.head.position == pytest.approx((0.0, 1.6, 0.0))
    assert r.hub_reset.right.pose.position == pytest.approx((0.2, 1.3, -0.5))
    assert r.hub_reset.right.active and r.hub_reset.left.active


def _right_grip(frame: dict[str, Any]) -> list[float] | None:
    ctl = frame.get("right", {}).get("ctl")
    return None if ctl is None else ctl.get("grip")


def _relative(frame: dict[str, Any], grip: list[float]) -> tuple[float, float]:
    """(height above the head, horizontal distance from the head) of a grip position: the same in
    the runtime's stage space and in any yawed, shifted play space the app may record in."""
    head = frame["head"]
    return grip[1] - head[1], float(np.hypot(grip[0] - head[0], grip[2] - head[2]))


def _minus_z(q: list[float]) -> np.ndarray:
    """Where a pose's -Z axis points (quaternion x, y, z, w)."""
    x, y, z, w = q
    return -np.array([2 * (x * z + w * y), 2 * (y * z - w * x), 1 - 2 * (x * x + y * y)])


@pytest.mark.gl
@pytest.mark.slow
def test_controller_motion_shows_in_the_apps_recording(remote_run: RemoteRun) -> None:
    """The grip poses the app recorded (``join --record``) are the ones sent through Monado's remote
    driver, to 1 cm, relative to the recorded head: rest at chest height, lift, hold above the head
    with the fingers (grip -Z) pointing up, lower again."""
    r = remote_run
    s = r.script
    header, frames = r.recording[0], r.recording[1:]
    assert header["format"] == "vrdiplomacy-input" and header["meta"]["mode"] == "xr"
    grips = [(f, g) for f in frames if "head" in f and (g := _right_grip(f)) is not None]
    assert len(grips) >= 10, f"only {len(grips)} frames with a right controller"
    head_y = s.head.position[1]
    want_raised = (s.raised[1] - head_y, float(np.hypot(s.raised[0], s.raised[2])))
    want_rest = (s.rest[1] - head_y, float(np.hypot(s.rest[0], s.rest[2])))
    rel = [_relative(f, g) for f, g in grips]
    raised = [g for (f, g), v in zip(grips, rel) if np.allclose(v, want_raised, atol=0.01)]
    rest = [g for (f, g), v in zip(grips, rel) if np.allclose(v, want_rest, atol=0.01)]
    assert len(raised) >= 3, f"no held raised pose in the recording: {[tuple(round(x, 3) for x in v) for v in rel]}"
    assert len(rest) >= 3, rel
    for g in raised:  # fingers up: grip -Z along +Y
        assert _minus_z(g[3:])[1] > 0.99, g
    # at rest the controller is level; a frame still within 1 cm of rest may already have begun to
    # turn for the lift (the turn leads the rise), so the typical rest frame is what is checked
    level = sorted(float(_minus_z(g[3:])[1]) for g in rest)
    assert level[len(level) // 2] == pytest.approx(0.0, abs=0.01), level
    # raise before lower: the recorded heights rise to the hold and come back down
    ups = [v[0] for v in rel]
    top = int(np.argmax(ups))
    assert ups[top] == pytest.approx(want_raised[0], abs=0.01)
    assert min(ups[:top]) < want_rest[0] + 0.05 and min(ups[top:]) < want_rest[0] + 0.05, ups
    # the HMD held still; Monado's hand tracking (simulated from the controller) follows the controller
    heads = np.array([f["head"][:3] for f in frames if "head" in f])
    assert np.ptp(heads, axis=0).max() < 0.01
    high = [f for f, g in grips if _relative(f, g)[0] > 0.3 and "joints" in f["right"]]
    assert high, "no hand-tracking joints while the controller was raised"
    for f in high:
        joints_y = np.asarray(f["right"]["joints"]["p"], float).reshape(-1, 3)[:, 1]
        assert joints_y.min() > f["head"][1] + 0.15, "hand joints not above the head while the controller is"


@pytest.mark.gl
@pytest.mark.slow
def test_the_recorded_controller_motion_is_a_raise_hand(remote_run: RemoteRun, tmp_path: Path) -> None:
    """The project's recognizer, run on what the app recorded from Monado, finds the raised hand."""
    rec = tmp_path / "input.jsonl"
    rec.write_text("".join(json.dumps(line) + "\n" for line in remote_run.recording))
    p = subprocess.run([sys.executable, "-m", "vrdiplomacy", "gestures", "classify", "--json", str(rec)], cwd=REPO,
                       env=dict(os.environ, PYTHONPATH=str(REPO)), capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    found = [(d["gesture"], d["hand"]) for d in json.loads(p.stdout)["detections"]]
    assert ("raise_hand", "right") in found, found


@pytest.mark.gl
@pytest.mark.slow
def test_the_peer_sees_the_raised_hand_in_the_pose_stream(remote_run: RemoteRun) -> None:
    """The second delegate, over the relay, sees the headset delegate's right hand go above its head."""
    r = remote_run
    lo, hi = r.script.hold_window
    during = [m for smp in r.peer_samples if lo + 0.5 <= smp["script_t"] <= hi
              for m in smp["members"] if m["identity"] == "headset-a1"]
    assert during, f"the peer never saw headset-a1 during the hold: {r.peer_samples[:3]}"
    assert any(m["right"] is not None and m["right"][1] > m["head"][1] + 0.2 for m in during), during[:5]
    rows = {row["identity"]: row for row in r.peer_report.get("members", [])}
    assert rows["headset-a1"]["seat"] == SEAT and rows["headset-a1"]["poses"] > 0


@pytest.mark.gl
@pytest.mark.slow
def test_the_peer_sees_the_headset_delegate_at_its_seat(remote_run: RemoteRun) -> None:
    """Over the relay the headset delegate sits in seat A1, not at the room's origin.

    Fails on main 3e2635d: `join --relay` in xr mode passes no play-space origin to the frame loop
    (commands/join.py `_networked`: ``runloop.run(backend, scene, renderer, None, ...)``) and sends
    the runtime's stage-space poses as they are, so peers see the delegate's head at (0, 1.6, 0)."""
    from vrdiplomacy.scene.assets import load_scene

    _, layout = load_scene(SCENE)
    seat = np.asarray(layout.seat(SEAT).eye_pose().position, float)
    heads = [np.asarray(m["head"], float) for smp in remote_run.peer_samples for m in smp["members"]
             if m["identity"] == "headset-a1"]
    assert heads, "the peer never saw headset-a1"
    off = [float(np.hypot(*(h - seat)[[0, 2]])) for h in heads]
    assert max(off) < 0.5, f"headset-a1's head is {max(off):.2f} m from seat {SEAT} at {seat.tolist()}: {heads[-1].tolist()}"


@pytest.mark.gl
@pytest.mark.slow
def test_raise_hand_from_the_controller_reaches_the_peer(remote_run: RemoteRun) -> None:
    """The gesture the controller made arrives at the second delegate as a gesture event and icon.

    Needs `join --mode xr` to feed its InputFrames to the session's recognizer and send what it
    recognizes (issue 13, "one live client"); main 3e2635d sends only desktop gesture keys, so the
    peer receives no gesture event there."""
    r = remote_run
    rows = {row["identity"]: row for row in r.peer_report.get("members", [])}
    a1 = rows.get("headset-a1")
    assert a1 is not None, rows
    ids = {cid for cid, row in ((row["client_id"], row) for row in r.peer_report["members"]) if row["identity"] == "headset-a1"}
    events = [(g, phase) for _, sender, g, phase in r.peer_report.get("gesture_log", []) if sender in ids]
    assert ("raise_hand", "start") in events, f"gesture events from headset-a1 at the peer: {events}"
    assert "raise_hand" in a1["gestures"]
    icons = {m["icon"] for smp in r.peer_samples for m in smp["members"] if m["identity"] == "headset-a1"}
    assert "raise_hand" in icons, icons


# ------------------------------------------------------------------ the remote driver's wire format (no Monado needed)

def test_remote_message_matches_monados_struct_layout() -> None:
    """Offsets from r_interface.h compiled with gcc on x86-64 (offsetof): head.center 104, left 136,
    right 256; in a controller hand_curl 52, trigger 72, bools from 104 (a_click 108, trackpad_touch 116)."""
    import struct

    ctl = remote.Controller(remote.Pose((1.0, 2.0, 3.0), (0.1, 0.2, 0.3, 0.9)), trigger=0.5, hand_curl=(0.1, 0.2, 0.3, 0.4, 0.5),
                            a_click=True, trackpad_touch=True, hand_tracking_active=False)
    b = bytes(remote.RemoteData(head=remote.Pose((0.0, 1.7, 0.1)), right=ctl))
    assert len(b) == remote.SIZE == 376
    assert struct.unpack_from("<Q", b, 0)[0] == remote.HEADER and b[:8] == b"mndrmt3\0"
    assert struct.unpack_from("<7f", b, 104) == pytest.approx((0, 0, 0, 1, 0.0, 1.7, 0.1))
    assert struct.unpack_from("<7f", b, 256) == pytest.approx((0.1, 0.2, 0.3, 0.9, 1.0, 2.0, 3.0))
    assert struct.unpack_from("<5f", b, 256 + 52) == pytest.approx((0.1, 0.2, 0.3, 0.4, 0.5))
    assert struct.unpack_from("<f", b, 256 + 72)[0] == 0.5
    assert (b[256 + 104], b[256 + 105], b[256 + 108], b[256 + 116]) == (0, 1, 1, 1)
    assert b[136 + 104:136 + 106] == b"\x01\x01"  # the default left controller: hand tracking on, active
    back = remote.RemoteData.parse(b)
    assert back.right.a_click and back.right.trackpad_touch and not back.right.hand_tracking_active
    assert remote.RemoteData.parse(bytes(back)) == back


def test_remote_message_of_the_wrong_size_is_a_clear_error() -> None:
    with pytest.raises(remote.RemoteProtocolError, match="376 bytes, not 375"):
        remote.RemoteData.parse(bytes(375))


def test_remote_client_says_when_no_hub_listens() -> None:
    port = _free_port()
    with pytest.raises(ConnectionError, match=f"did not accept a connection on 127.0.0.1:{port} within 0.3 s"):
        remote.RemoteClient(port).connect(timeout=0.3)


def test_build_options_keep_only_the_simulated_and_remote_drivers(tmp_path: Path) -> None:
    build = _load("build")
    (tmp_path / "CMakeLists.txt").write_text('list(\n\tAPPEND\n\tAVAILABLE_DRIVERS\n\t"SIMULATED"\n\t"REMOTE"\n\t"VIVE"\n\t"WMR"\n\t)\n')
    opts = build.cmake_options(tmp_path)
    assert opts["XRT_BUILD_DRIVER_VIVE"] == opts["XRT_BUILD_DRIVER_WMR"] == "OFF"
    assert opts["XRT_BUILD_DRIVER_SIMULATED"] == opts["XRT_BUILD_DRIVER_REMOTE"] == "ON"
    assert opts["XRT_FEATURE_SERVICE"] == "OFF"
    (tmp_path / "CMakeLists.txt").write_text("project(x)\n")
    with pytest.raises(build.BuildError, match="AVAILABLE_DRIVERS"):
        build.cmake_options(tmp_path)


def test_private_apt_configuration_stays_in_its_own_folder(tmp_path: Path) -> None:
    """The source package is fetched without touching the system's APT state: every Dir:: path
    of the private apt.conf lies under its own folder and the one source line is trixie's deb-src."""
    build = _load("build")
    apt = build.PrivateApt(tmp_path / "apt", mirror="http://deb.debian.org/debian")
    apt.setup()
    conf = (tmp_path / "apt" / "apt.conf").read_text()
    paths = re.findall(r'^Dir::[\w:]+ "([^"]*)";', conf, re.M)
    assert len(paths) >= 6 and all(p.startswith(str(tmp_path / "apt")) for p in paths if p), conf
    assert (tmp_path / "apt" / "etc" / "sources.list").read_text() == "deb-src http://deb.debian.org/debian trixie main\n"
    assert apt.env()["APT_CONFIG"] == str(tmp_path / "apt" / "apt.conf")


def test_build_patch_makes_the_null_compositor_rate_an_option(tmp_path: Path) -> None:
    """The one source patch: the hard-coded 20 Hz becomes XRT_COMPOSITOR_NULL_FPS (default 20);
    a source where the line moved is a clear build error, not an unpatched build."""
    build = _load("build")
    f = tmp_path / "src/xrt/compositor/null/null_compositor.c"
    f.parent.mkdir(parents=True)
    original = ('DEBUG_GET_ONCE_LOG_OPTION(log, "XRT_COMPOSITOR_LOG", U_LOGGING_INFO)\n\nvoid f(void)\n{\n'
                '\tc->settings.frame_interval_ns = U_TIME_1S_IN_NS / 20; // 20 FPS\n}\n')
    f.write_text(original)
    build.apply_patches(tmp_path)
    text = f.read_text()
    assert 'DEBUG_GET_ONCE_NUM_OPTION(null_fps, "XRT_COMPOSITOR_NULL_FPS", 20)' in text
    assert "U_TIME_1S_IN_NS / (debug_get_num_option_null_fps() > 0 ? debug_get_num_option_null_fps() : 20)" in text
    assert "/ 20; // 20 FPS" not in text
    with pytest.raises(build.BuildError, match="found it 0 times"):
        build.apply_patches(tmp_path)  # already patched: the old line is gone
    assert build.version_dir(tmp_path, "25.0.0+dfsg-2").name == f"25.0.0+dfsg-2+p{build.patches_key()}"


def test_join_render_every_must_be_positive() -> None:
    p = subprocess.run([sys.executable, "-m", "vrdiplomacy", "join", "--mode", "offscreen", "--render-every", "0"], cwd=REPO,
                       env=dict(os.environ, PYTHONPATH=str(REPO)), capture_output=True, text=True, timeout=60)
    assert p.returncode != 0 and "--render-every must be >= 1" in p.stderr, p.stderr
