"""What ``vrdiplomacy qa run`` runs: the client against the simulated headset, through the same
:class:`~vrdiplomacy.app.client.LiveClient` as ``join`` (the recognizer's gestures go to a room:
an in-process relay, or ``relay`` to meet other delegates), with progress lines, eye images at
the script's capture frames and ``report.json``."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vrdiplomacy.app.signals import leave_on_signal
from vrdiplomacy.errors import ConfigError

log = logging.getLogger("vrdiplomacy.qa")


@dataclass
class QaOptions:
    """``scene`` to sit in; ``max_frames`` the most frames a run lasts; ``relay`` a
    :class:`~vrdiplomacy.session.host.RelayAddress` to join (None: an in-process relay, alone);
    ``seat`` the seat id (default: the layout's default seat); ``name`` the identity in the room;
    ``progress_s`` seconds of wall time between progress lines (0: none); ``render_every`` draw
    every N-th frame (1: all; the script's capture frames should then be multiples of N)."""

    scene: str = "chamber"
    max_frames: int = 3000
    relay: Any = None
    seat: str | None = None
    name: str | None = None
    progress_s: float = 2.0
    render_every: int = 1


def _ms(values: list[float]) -> dict[str, float]:
    if not values:
        return {"mean": 0.0, "p50": 0.0, "p95": 0.0, "max": 0.0}
    s = sorted(values)
    return {"mean": round(statistics.fmean(s), 3), "p50": round(s[len(s) // 2], 3),
            "p95": round(s[min(len(s) - 1, int(len(s) * 0.95))], 3), "max": round(s[-1], 3)}


class InputLog:
    """What input the client saw, summarized per hand."""

    def __init__(self) -> None:
        self.hands: dict[str, dict[str, Any]] = {
            h: {"sources": [], "max_trigger": 0.0, "max_squeeze": 0.0, "buttons": [], "active_frames": 0} for h in ("left", "right")}
        self.keys: list[str] = []
        self.head_path_m = 0.0
        self._last_head: Any = None

    def push(self, frame: Any) -> None:
        import numpy as np

        inp = frame.input
        if self._last_head is not None:
            self.head_path_m += float(np.linalg.norm(inp.head.position - self._last_head))
        self._last_head = inp.head.position.copy()
        for side in ("left", "right"):
            hf, d = inp.hand(side), self.hands[side]
            if hf.source not in d["sources"]:
                d["sources"].append(hf.source)
            c = hf.controller
            if c.active:
                d["active_frames"] += 1
            d["max_trigger"] = max(d["max_trigger"], round(c.trigger, 4))
            d["max_squeeze"] = max(d["max_squeeze"], round(c.squeeze, 4))
            for b in ("primary", "secondary", "menu", "thumbstick_click"):
                if getattr(c, b) and b not in d["buttons"]:
                    d["buttons"].append(b)
        for k in inp.keys:
            if k not in self.keys:
                self.keys.append(k)

    def to_dict(self) -> dict[str, Any]:
        return {"hands": self.hands, "keys": self.keys, "head_path_m": round(self.head_path_m, 3)}


def run_script(script: Path, out: Path, opts: QaOptions | None = None) -> int:
    from vrdiplomacy.simxr.timeline import load_script

    opts = opts or QaOptions()
    timeline = load_script(script)
    if opts.max_frames < 1:
        raise ConfigError("--max-frames must be >= 1")
    if os.environ.get("PYOPENGL_PLATFORM") not in (None, "egl"):
        raise ConfigError("qa runs headless on EGL: unset PYOPENGL_PLATFORM or set it to egl")
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
    os.environ.setdefault("EGL_PLATFORM", "surfaceless")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"--out {out}: cannot create the directory ({e.strerror or e})") from None
    from vrdiplomacy.scene.assets import load_scene
    from vrdiplomacy.simxr.runtime import SimulatedHeadset
    from vrdiplomacy.xr.backend import BackendSettings

    scene, layout = load_scene(opts.scene)
    frames = timeline.settings.frames
    limit = min(frames or opts.max_frames, opts.max_frames)
    exits = [e.frame for e in timeline.events if e.type == "exit"]
    if frames:
        plan = f"{limit} frames (the script's [headset] frames{'' if frames <= opts.max_frames else ', cut by --max-frames'})"
    elif exits:
        plan = f"until the script's exit event at frame {exits[0]}"
    else:
        plan = (f"{limit} frames: the script has no exit event and no [headset] frames, so --max-frames ends it "
                "(add [[event]] type = \"exit\" or [headset] frames = N)")
    print(f"qa: {script}: {timeline.settings.fps:g} Hz, {plan}", flush=True)
    report: dict[str, Any] = {"script": str(script), "scene": opts.scene}
    with SimulatedHeadset(timeline) as headset:
        from vrdiplomacy.xr.openxr_backend import OpenXrBackend

        backend = OpenXrBackend(BackendSettings(mode="xr", graphics="egl", app_name="vrdiplomacy-qa", frames=limit))
        try:
            report.update(_drive(backend, scene, layout, timeline, opts, limit))
        finally:
            backend.shutdown()
        for frame, cap in sorted(headset.captures.items()):
            from PIL import Image

            for side, img in zip(("left", "right"), cap.images):
                Image.fromarray(img).save(out / f"frame_{frame:05d}_{side}.png")
        report["captured"] = sorted(headset.captures)
        report["runtime_events"] = [{"frame": f, "event": e} for f, e in headset.session_events]
        report["frames_submitted"] = headset.frames_submitted
        report["haptics"] = headset.haptics
        report["runtime_errors"] = headset.errors
    failures = _check(report, timeline)
    report["failures"] = failures
    report["ok"] = not failures
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if report.get("interrupted_by"):  # the expectations of a run cut short are not the script's verdict
        log.warning("qa: interrupted (%s) after %d frames, %d eye images; report %s", report["interrupted_by"],
                    report["frames_submitted"], 2 * len(report["captured"]), out / "report.json")
        return 128 + int(signal.Signals[report["interrupted_by"]])
    if failures:
        log.error("qa: FAILED %s: %s (report: %s)", script, "; ".join(failures), out / "report.json")
        return 1
    log.info("qa: ok, %d frames submitted, %d eye images, %d gestures sent, report %s", report["frames_submitted"],
             2 * len(report["captured"]), len(report["gestures"]), out / "report.json")
    return 0


def _seat(layout: Any, seat_id: str | None) -> Any:
    sid = seat_id or layout.default_seat or (layout.seats[0].seat_id if layout.seats else "")
    try:
        return layout.seat(sid)
    except KeyError:
        raise ConfigError(f"--seat: no seat '{sid}' in the {layout.scene} layout") from None


def _drive(backend: Any, scene: Any, layout: Any, timeline: Any, opts: QaOptions, limit: int) -> dict[str, Any]:
    import numpy as np

    from vrdiplomacy.app.client import ClientOptions, LiveClient
    from vrdiplomacy.app.join import seat_origin
    from vrdiplomacy.app.session import start_session, user_settings
    from vrdiplomacy.render.renderer import Renderer
    from vrdiplomacy.scene.math3d import Pose
    from vrdiplomacy.session.host import SessionThread
    from vrdiplomacy.session.runtime import HeldPose
    from vrdiplomacy.xr import runloop

    inputs = InputLog()
    gestures: list[dict[str, Any]] = []
    seat = _seat(layout, opts.seat)
    if opts.relay is not None or opts.seat:
        origin = seat_origin(seat)
    else:
        vp = layout.view(None)
        origin = Pose.from_yaw(np.array([vp.position[0], vp.position[1] - 1.6, vp.position[2]], np.float32), vp.yaw_deg)
    settings = user_settings(seat, layout.scene)
    settings = dataclasses.replace(settings, identity=opts.name or settings.identity, hear=False)
    held = HeldPose(seat.eye_pose())
    host = SessionThread(layout, settings, held, relay=opts.relay)
    client = LiveClient(host, held, scene, origin, ClientOptions(hud=False, log_hud=False))
    renderer = Renderer(context=backend.context)
    last = [time.perf_counter()]
    try:
        start_session(host, opts.relay)

        def on_frame(frame: Any) -> None:
            inputs.push(frame)
            client.on_frame(frame)
            for ev in client.sent:
                gestures.append({"frame": frame.index, "gesture": ev.gesture.value, "phase": ev.phase,
                                 "hand": ev.hand.value, "target": ev.target, "confidence": round(ev.confidence, 3)})
            if opts.progress_s and time.perf_counter() - last[0] >= opts.progress_s:
                last[0] = time.perf_counter()
                started = [g["gesture"] for g in gestures if g["phase"] == "start"]
                print(f"qa: frame {frame.index + 1}/{limit}, session {backend.state}, "
                      f"{len(started)} gestures sent{': ' + ', '.join(started[-5:]) if started else ''}", flush=True)
            if host.failed() is not None:
                backend.request_exit()

        with leave_on_signal(backend.request_exit, "ending the run, writing the report") as signals:
            stats = runloop.run(backend, scene, renderer, origin, on_frame=on_frame, render_every=opts.render_every)
        err = host.failed()
        if err is not None:
            raise err
    finally:
        session_report = host.stop()
        renderer.close()
    return {
        "interrupted_by": signal.Signals(signals[0]).name if signals else None,  # Ctrl-C (SIGINT) or SIGTERM
        "frames": stats.frames,
        "frames_rendered": stats.rendered,
        "frame_ms": _ms(stats.frame_ms),
        "backend_ms": _ms(stats.backend_ms),
        "session_events": [{"frame": f, "event": e} for f, e in stats.events],
        "finish_reason": backend.finish_reason,
        "final_state": backend.state,
        "profiles": backend.profiles,
        "inputs": inputs.to_dict(),
        "gestures": [g for g in gestures if g["phase"] == "start"],
        "gesture_events": gestures,
        "gesture_recognizer": True,
        "handshakes": [n for _, n in client.news],
        "room": {"seat": seat.seat_id, "relay": None if opts.relay is None else f"{opts.relay.host}:{opts.relay.port}",
                 "members": session_report.user.get("members", []),
                 "sent": session_report.user.get("stats", {})},
    }


def _check(report: dict[str, Any], timeline: Any) -> list[str]:
    exp = timeline.expect
    fails: list[str] = []
    if report.get("runtime_errors"):
        fails.append(f"the simulated headset failed internally {len(report['runtime_errors'])} time(s)")
    missing = sorted(set(timeline.settings.capture) - set(report.get("captured", [])))
    if missing:
        fails.append(f"no eye images at frame(s) {missing} (the session was not rendering then)")
    want_final = exp.get("final_state", "EXITING")
    if report.get("final_state") != want_final:
        fails.append(f"final session state {report.get('final_state')}, expected {want_final}")
    seen = {e["event"].split(":", 1)[-1] for e in report.get("session_events", [])}
    for st in exp.get("states", []):
        if st not in seen:
            fails.append(f"session state {st} never reached")
    if report.get("frames_submitted", 0) < int(exp.get("min_frames", 1)):
        fails.append(f"{report.get('frames_submitted', 0)} frames submitted, expected at least {exp.get('min_frames', 1)}")
    got = {g["gesture"] for g in report.get("gestures", [])}
    for g in exp.get("gestures", []):
        if not report.get("gesture_recognizer"):
            fails.append("gestures expected but the gesture recognizer is not installed")
            break
        if g not in got:
            fails.append(f"gesture {g} not recognized")
    for side in ("left", "right"):
        for b in exp.get(f"{side}_buttons", []):
            if b not in report["inputs"]["hands"][side]["buttons"]:
                fails.append(f"{side} {b} never seen pressed")
    return fails
