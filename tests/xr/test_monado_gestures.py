"""Every gesture on Monado, once per input source (issue 13), end to end.

``vrdiplomacy join --mode xr`` runs on Monado's in-process runtime with the remote driver
(``P_OVERRIDE_ACTIVE_CONFIG=remote``; see ``test_monado.py``), joined to a real ``vrdiplomacy relay``
on 127.0.0.1 where a second delegate (the library's session host) stands. The remote driver plays
the project's simulated performer (``remote.Performance``: :mod:`vrdiplomacy.gestures.choreo`
overlays) making every gesture in turn, once with the Index controllers (hand tracking reported
inactive: the app builds the hand from grip pose, trigger, squeeze and thumbstick touch) and once
with tracked hands (Monado's hand simulation from the finger curls: XR_EXT_hand_tracking joints).
The peer, standing where the performer offers its hand, must receive every one of the 11 gestures
from the headset delegate while it is performed and show its icon; the handshake completes only
once the peer offered its hand too, not while the two hands merely touch.

The null compositor paces frames at 20 Hz in stock Monado 25; ``tools/monado/build.py`` patches its
rate to come from ``XRT_COMPOSITOR_NULL_FPS`` (60 here), and ``join --render-every 240`` draws one
frame every few seconds (llvmpipe needs ~60 ms a 320x240 eye, seconds on a loaded machine, and input
waits meanwhile), so the recognizer sees >= 30 input frames a second.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from monado_helpers import (REPO, SCENE, SEAT, HubSender, JoinLog, _free_port, _monado_env, _peer,  # noqa: E402
                            _start_relay, remote)

ALL = sorted(g.value for g in __import__("vrdiplomacy.gestures.types", fromlist=["GESTURES"]).GESTURES)
NULL_FPS = "60"
RENDER_EVERY = "240"  # one frame in 240 drawn: a few seconds apart (a drawn frame stalls input on llvmpipe)
NO_CONSENT_S = 1.5  # the peer holds its hand at the offered one this long before it offers its own


@dataclass
class PerformanceRun:
    """One ``join`` session on the remote driver performing every gesture (``remote.Performance``)."""

    source: str
    returncode: int
    log: str
    recording: list[dict[str, Any]]
    script: Any  # remote.Performance
    script_at: float  # monotonic time the script started
    arrived: dict[str, float] = field(default_factory=dict)  # gesture -> script time its first "start" reached the peer
    icons: dict[str, float] = field(default_factory=dict)  # icon -> script time the peer first showed it over headset-a1
    sender_names: dict[int, str] = field(default_factory=dict)  # member key -> identity ("" until the peer knows it)
    peer_key: int = 0  # the peer's own member key
    handshake: list[tuple[float, str]] = field(default_factory=list)  # (script time, state at the peer) on each change
    touching: list[tuple[float, str, float]] = field(default_factory=list)  # (t, state, hand gap m) before the peer consents
    errors: list[str] = field(default_factory=list)

    @property
    def senders(self) -> set[str]:
        """The identities the peer's gesture events came from."""
        return {name or ("peer-b1 itself" if k == self.peer_key else f"#{k}") for k, name in self.sender_names.items()}


def _peer_head(partner: Any) -> Any:
    """Where the performer's handshake partner stands, in the scene: the performance's stage space
    has its origin at seat A1's floor point (``join``'s seat origin), and the partner faces back."""
    from vrdiplomacy.app.client import place_pose
    from vrdiplomacy.app.join import seat_origin
    from vrdiplomacy.scene.assets import load_scene
    from vrdiplomacy.scene.math3d import Pose

    _, layout = load_scene(SCENE)
    p = np.asarray(partner.position, np.float32) + np.array([0.0, 0.45, 0.0], np.float32)  # targets sit at the chest
    yaw = float(np.degrees(np.arctan2(p[0], p[2])))
    return place_pose(seat_origin(layout.seat(SEAT)), Pose.from_yaw(p, yaw))


def _perform(monado_runtime: dict[str, Any], tmp: Path, source: str) -> PerformanceRun:
    from vrdiplomacy.session.runtime import HeldPose

    tmp.mkdir(parents=True, exist_ok=True)
    hub_port = _free_port()
    cfg = tmp / "cfg"
    (cfg / "monado").mkdir(parents=True)
    (cfg / "monado" / "config_v0.json").write_text(json.dumps({"remote": {"version": 0, "port": hub_port, "view_count": 2}}))
    rec_path = tmp / "input.jsonl"
    relay, port, fp = _start_relay(tmp / "relay")
    peer = join = None
    try:
        # U_PACING_APP_USE_MIN_FRAME_PERIOD: Monado's app pacer keeps the compositor's frame period
        # instead of stretching it to the app's measured frame time, which the one drawn frame in
        # RENDER_EVERY (hundreds of ms on llvmpipe, seconds on a loaded machine) inflates for many frames
        env = _monado_env(str(monado_runtime["manifest"]), cfg, P_OVERRIDE_ACTIVE_CONFIG="remote",
                          XRT_COMPOSITOR_NULL_FPS=NULL_FPS, U_PACING_APP_USE_MIN_FRAME_PERIOD="1")
        lead = 14.0  # the app leaves --duration after its relay connection: start-up, a second at rest, a margin
        script = remote.Performance(source)  # built before the app starts: its start-up does not wait on this
        head2 = _peer_head(next(t for t in script.targets if t.name == script.partner))
        held2 = HeldPose(head2)
        peer = _peer(port, fp, held2)
        join = subprocess.Popen([sys.executable, "-m", "vrdiplomacy", "-vv", "join", "--mode", "xr", "--no-fallback",
                                 "--scene", SCENE, "--seat", SEAT, "--name", "headset-a1", "--relay", f"127.0.0.1:{port}",
                                 "--fingerprint", fp, "--duration", f"{script.duration + lead:.0f}", "--record", str(rec_path),
                                 "--render-every", RENDER_EVERY], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        # the runtime's pacing chatter left out of the log
        joinlog = JoinLog(join, skip=("Frame late by", "Dropping old missed frame"))
        focused = joinlog.focused
        alive = lambda: join.poll() is None  # noqa: E731
        run = PerformanceRun(source, -1, "", [], script, 0.0)
        client = remote.RemoteClient(hub_port).connect(timeout=120, alive=alive)
        rest = script.at(0.0)
        send = HubSender(client)

        seen_log = [0]
        consent: dict[str, float] = {}

        def observe(t: float) -> None:
            """In the peer's session thread: what arrived, which icon shows, the handshake's state."""
            s = peer.session
            now = s.now
            ids = {cid for cid, m in s.state.members.items() if m.identity == "headset-a1"}
            for _, sender, g, phase in s.state.gesture_log[seen_log[0]:]:
                run.sender_names.setdefault(sender, "")
                if sender in ids and phase == "start":
                    run.arrived.setdefault(g, t)
            seen_log[0] = len(s.state.gesture_log)
            # named once the peer knows them (a member record may come after its first event)
            for k, name in run.sender_names.items():
                if not name and k in s.state.members:
                    run.sender_names[k] = s.state.members[k].identity
            run.peer_key = s.state.me
            for a in s.state.avatars(now):
                if a.avatar_id in ids and a.gesture_icon:
                    run.icons.setdefault(a.gesture_icon, t)
            if not ids:
                return
            cid = next(iter(ids))
            hs = s.gestures.handshakes.get(cid)
            shown = "idle" if hs is None else hs.state.value
            if not run.handshake or run.handshake[-1][1] != shown:
                run.handshake.append((t, shown))
            m = s.state.members[cid]
            if shown in ("invited", "agreed") and m.right is not None:
                mine = held2.value[2]  # where the peer's hand was since the last look (-1: not yet out)
                gap = float(np.linalg.norm(np.asarray(mine.position) - np.asarray(m.right.position))) if mine else -1.0
                held2.set(head2, None, m.right)  # the peer's right hand goes to the offered one
                if "offered" not in consent:
                    consent.setdefault("touching", t)
                    run.touching.append((t, shown, gap))
                    if t - consent["touching"] >= NO_CONSENT_S:
                        s.gestures.offer(cid, now)  # now the peer consents: it offers its hand too
                        s.flush_gestures()
                        consent["offered"] = t

        while alive() and not focused.is_set() and send(rest):
            time.sleep(1 / 30)
        if not focused.is_set():
            run.errors.append("the app never reported an interaction profile (session not focused)")
        else:
            t_end = time.monotonic() + 1.0
            while alive() and time.monotonic() < t_end and send(rest):
                time.sleep(1 / 30)
            run.script_at = time.monotonic()
            last = 0.0
            while alive() and (t := time.monotonic() - run.script_at) <= script.duration:
                if not send(script.at(t)):
                    run.errors.append(f"the remote hub closed during the script at {t:.1f} s: {send.gone[0]}")
                    break
                if time.monotonic() - last > 0.05:
                    peer.call(lambda: observe(t))
                    last = time.monotonic()
                time.sleep(1 / 60)
            else:
                if time.monotonic() - run.script_at < script.duration:
                    run.errors.append(f"the app left {time.monotonic() - run.script_at:.1f} s into the "
                                      f"{script.duration:.1f} s script")
        end_rest = script.at(script.duration)
        while alive() and send(end_rest):
            time.sleep(1 / 30)
        client.close()
        run.returncode = join.wait(timeout=120)
        joinlog.join(timeout=10)
        time.sleep(0.5)
        t_last = time.monotonic() - run.script_at
        peer.call(lambda: observe(t_last))
        peer.stop()
        peer = None
        run.log = joinlog.text
        (tmp / "join.log").write_text(run.log)  # kept for a look after a failure
        (tmp / "peer.json").write_text(json.dumps({"arrived": run.arrived, "icons": run.icons, "handshake": run.handshake,
                                                   "touching": run.touching, "cues": [c.__dict__ for c in script.cues]}))
        run.recording = [json.loads(line) for line in rec_path.read_text().splitlines()] if rec_path.exists() else []
        return run
    finally:
        if join is not None and join.poll() is None:
            join.kill()
            join.wait(timeout=30)
        if peer is not None:
            peer.stop()
        relay.kill()
        relay.wait(timeout=30)


def _shortfall(run: PerformanceRun) -> list[str]:
    """What the peer did not get of the performance: gestures, icons, the handshake's states."""
    out = list(run.errors)
    if set(run.arrived) != set(ALL):
        out.append(f"no event for {sorted(set(ALL) - set(run.arrived))}")
    if set(run.icons) != set(ALL):
        out.append(f"no icon for {sorted(set(ALL) - set(run.icons))}")
    states = [s for _, s in run.handshake]
    if "invited" not in states or "shaken" not in states:
        out.append(f"handshake states {states}")
    return out


def _diagnosis(run: PerformanceRun) -> str:
    """Where a gesture was lost: the project's recognizer over the app's own input recording
    (placed at the seat, the peer as its target, as ``join`` runs it), and the longest gaps in that
    input (a software-rendered frame, or a starved process, leaves the app blind meanwhile)."""
    from vrdiplomacy.app.client import place_frame
    from vrdiplomacy.app.join import seat_origin
    from vrdiplomacy.gestures.record import frame_from_dict
    from vrdiplomacy.gestures.recognizer import GestureRecognizer
    from vrdiplomacy.gestures.types import Target
    from vrdiplomacy.scene.assets import load_scene
    from vrdiplomacy.session.gestures import GestureSettings

    frames = [f for f in run.recording[1:] if "head" in f]
    if not frames:
        return "the app recorded no input"
    _, layout = load_scene(SCENE)
    origin = seat_origin(layout.seat(SEAT))
    head2 = _peer_head(next(t for t in run.script.targets if t.name == run.script.partner))
    gs = GestureSettings()
    p = np.asarray(head2.position, np.float64)
    rec = GestureRecognizer(targets=[Target("peer-b1", (float(p[0]), float(p[1]) - gs.chest_drop, float(p[2])),
                                            gs.target_radius)])
    found: dict[str, float] = {}
    for d in frames:
        f = frame_from_dict(d)
        for phase, det in rec.push(place_frame(origin, f)):
            if phase == "start":
                found.setdefault(det.gesture.value, round(f.time - frames[0]["t"], 2))
    t = np.array([f["t"] for f in frames])
    gaps = np.diff(t)
    worst = sorted(((float(g), float(t[i] - t[0])) for i, g in enumerate(gaps)), reverse=True)[:5]
    return (f"the recognizer over the app's recording finds {sorted(found)} (missing {sorted(set(ALL) - set(found))}; "
            f"first starts, s into the recording: {found}); its longest input gaps (s, at s): "
            f"{[(round(g, 2), round(a, 1)) for g, a in worst]}")


@pytest.fixture(scope="module", params=["controller", "hands"])
def performance_run(request: pytest.FixtureRequest, monado_runtime: dict[str, Any],
                    tmp_path_factory: pytest.TempPathFactory) -> PerformanceRun:
    """One performance; performed once more if the peer did not get all of it. On a loaded machine
    the app can be starved of input for seconds (llvmpipe drawing, the runtime's threads, this
    process's), so the first performance's shortfall is reported as a warning with the
    diagnosis, and the tests judge the second. A shortfall twice fails them."""
    tmp = tmp_path_factory.mktemp(f"monado-{request.param}")
    run = _perform(monado_runtime, tmp / "first", request.param)
    missed = _shortfall(run)
    if missed:
        warnings.warn(f"the {request.param} performance on Monado fell short ({'; '.join(missed)}): "
                      f"{_diagnosis(run)}; performing it again (join log: {tmp / 'first' / 'join.log'})", stacklevel=1)
        run = _perform(monado_runtime, tmp / "again", request.param)
    return run


def _frames_in(run: PerformanceRun) -> list[dict[str, Any]]:
    return [f for f in run.recording[1:] if "head" in f]


@pytest.mark.gl
@pytest.mark.slow
def test_the_recognizer_sees_at_least_30_frames_a_second(performance_run: PerformanceRun) -> None:
    """Input frames (the app's own recording) come at >= 30 a second through the script, from the
    input source the script drives: Monado's tracked hands, or the controllers."""
    r = performance_run
    assert not r.errors, r.errors
    assert r.returncode == 0, r.log[-4000:]
    assert "Traceback" not in r.log
    frames = _frames_in(r)
    times = np.array([f["t"] for f in frames])
    assert len(times) > 100, len(times)
    span = times[-1] - times[0]
    rate = (len(times) - 1) / span
    gaps = np.diff(times)
    assert rate >= 30.0, f"{rate:.1f} input frames/s over {span:.0f} s"
    # most frames come at the runtime's 60 Hz; the drawn one in 60 takes longer
    assert np.median(gaps) < 0.02 and np.percentile(gaps, 95) < 0.05, np.percentile(gaps, [50, 95, 99])
    m = re.search(r"frame loop: ([\d.]+) frames/s, (\d+) drawn", r.log)
    assert m and int(m.group(2)) >= 5, m and m.group(0)  # the scene was drawn into the swapchain now and then
    want = "articulated" if r.source == "hands" else "controller"
    srcs = [f.get("right", {}).get("src") for f in frames]
    assert srcs.count(want) > 0.95 * len(srcs), {s: srcs.count(s) for s in set(srcs)}


@pytest.mark.gl
@pytest.mark.slow
def test_every_gesture_reaches_the_peer_as_an_event_and_icon(performance_run: PerformanceRun) -> None:
    """Each of the 11 gestures the headset delegate performs arrives at the second delegate as a
    gesture event from headset-a1, while it is being performed, and shows as its icon there."""
    r = performance_run
    assert not r.errors, r.errors
    assert set(r.arrived) == set(ALL), \
        f"arrived: {sorted(r.arrived)}; missing: {sorted(set(ALL) - set(r.arrived))}; {_diagnosis(r)}"
    assert set(r.icons) == set(ALL), f"icons shown: {sorted(r.icons)}; never: {sorted(set(ALL) - set(r.icons))}"
    assert r.senders == {"headset-a1"}, r.senders
    late = {}
    for cue in r.script.cues:
        names = [cue.gesture] + (["lower_hand"] if cue.gesture == "raise_hand" else [])
        for g in names:
            # recognized while performed (plus the recognizer's confirmation and the relay's latency)
            if not cue.onset <= r.arrived[g] <= cue.end + 1.5:
                late[g] = (round(r.arrived[g], 2), round(cue.onset, 2), round(cue.end, 2))
    assert not late, f"gestures that arrived outside their performance (arrived, onset, end): {late}"


@pytest.mark.gl
@pytest.mark.slow
def test_the_handshake_needs_both_consents(performance_run: PerformanceRun) -> None:
    """The headset delegate offers its hand; the peer holds its own right hand at it for 1.5 s
    without consenting: the handshake stays an invitation. Once the peer offers its hand too, the
    two agree and the touching hands complete it, on both sides."""
    r = performance_run
    assert not r.errors, r.errors
    states = [s for _, s in r.handshake]
    assert "invited" in states, f"{r.handshake}; {_diagnosis(r)}"
    cue = r.script.cue("handshake")
    invited = next(t for t, s in r.handshake if s == "invited")
    assert cue.onset <= invited <= cue.release, (invited, cue)
    touching = [(t, s, gap) for t, s, gap in r.touching if gap >= 0]
    assert touching and touching[-1][0] - touching[0][0] >= NO_CONSENT_S - 0.1, r.touching
    assert all(s == "invited" for _, s, _ in touching), touching  # hands together, one consent: no handshake
    assert max(gap for _, _, gap in touching) < 0.05, touching
    # the peer's offer makes it "agreed"; its hand already touches the offered one, so the same
    # step may complete it: "agreed" can pass between two looks
    after = states[states.index("invited") + 1:]
    assert after in (["shaken"], ["agreed", "shaken"]), r.handshake
    assert re.search(r"handshake with peer-b1 agreed.*\n(.*\n)*.*you shook hands with peer-b1", r.log), r.log[-3000:]


def test_controller_performance_is_every_gesture_to_the_recognizer() -> None:
    """Without Monado: the controller script's messages, read as the remote driver reports them
    (aim pose = grip pose), make the project's recognizer find every gesture, each in its cue."""
    from vrdiplomacy.gestures.recognizer import GestureRecognizer
    from vrdiplomacy.gestures.types import Target
    from vrdiplomacy.input.frame import ControllerState, HandFrame, InputFrame
    from vrdiplomacy.scene.math3d import Pose

    script = remote.Performance("controller", rate=30.0)
    partner = next(t for t in script.targets if t.name == script.partner)
    rec = GestureRecognizer(targets=[Target(partner.name, partner.position, 0.3)])

    def pose(p: Any) -> Any:
        return Pose(np.array(p.position, np.float32), np.array(p.orientation, np.float32))

    def hand(c: Any) -> HandFrame:
        assert not c.hand_tracking_active
        g = pose(c.pose)
        return HandFrame("controller", None, ControllerState(active=True, trigger=c.trigger, squeeze=c.squeeze,
                                                             thumb_touch=c.thumbstick_touch, trigger_touch=c.trigger_touch,
                                                             grip=g, aim=g))

    started: dict[str, float] = {}
    for i in range(int(script.duration * 30)):
        d = script.at(i / 30)
        for phase, det in rec.push(InputFrame(i / 30, pose(d.head), hand(d.left), hand(d.right))):
            if phase == "start":
                started.setdefault(det.gesture.value, i / 30)
    assert set(started) == set(ALL), sorted(set(ALL) - set(started))
    for cue in script.cues:
        assert cue.onset <= started[cue.gesture] <= cue.end, (cue, started[cue.gesture])
    assert rec.targets and started["handshake"] >= script.cue("handshake").held
