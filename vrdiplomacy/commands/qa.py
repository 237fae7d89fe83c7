"""``vrdiplomacy qa run SCRIPT --out DIR``: a scripted headless session against the simulated headset.

The client runs as it would with a headset (OpenXR through the Khronos loader, EGL, the real
renderer) while the simulated headset plays the script: head and controller poses, buttons,
hand joints, focus loss, profile changes, session loss. Writes the eye images at the frames the
script captures (``frame_NNNNN_left.png`` / ``_right.png``) and ``report.json`` (frames
submitted, frame times, session events, inputs seen, gestures recognized, failures). Exits 1
when an expectation of the script's ``[expect]`` table fails.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
from pathlib import Path
from typing import Any

from vrdiplomacy.errors import ConfigError

log = logging.getLogger("vrdiplomacy.qa")


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="qa_command", metavar="ACTION", title="actions")
    r = sub.add_parser("run", help="run a script against the simulated headset",
                       description="Run the client headless against the simulated headset, as a script says.")
    r.add_argument("script", type=Path, metavar="SCRIPT", help="timeline script (.json or .toml); see the README's QA section")
    r.add_argument("--out", type=Path, required=True, metavar="DIR", help="where eye images and report.json go")
    r.add_argument("--scene", default="chamber", metavar="NAME", help="scene to sit in (default: chamber)")
    r.add_argument("--max-frames", type=int, default=3000, metavar="N",
                   help="stop after N frames even if the script has not ended (default 3000)")


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


def run(args: argparse.Namespace) -> int:
    logging.getLogger("OpenGL").setLevel(logging.WARNING)  # PyOpenGL's start-up chatter
    if getattr(args, "qa_command", None) != "run":
        raise ConfigError("usage: vrdiplomacy qa run SCRIPT --out DIR")
    return run_script(args.script, args.out, args.scene, args.max_frames)


def run_script(script: Path, out: Path, scene_name: str = "chamber", max_frames: int = 3000) -> int:
    from vrdiplomacy.simxr.timeline import load_script

    timeline = load_script(script)
    if max_frames < 1:
        raise ConfigError("--max-frames must be >= 1")
    if os.environ.get("PYOPENGL_PLATFORM") not in (None, "egl"):
        raise ConfigError("qa runs headless on EGL: unset PYOPENGL_PLATFORM or set it to egl")
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
    os.environ.setdefault("EGL_PLATFORM", "surfaceless")
    out.mkdir(parents=True, exist_ok=True)
    from vrdiplomacy.scene.assets import load_scene
    from vrdiplomacy.simxr.runtime import SimulatedHeadset
    from vrdiplomacy.xr.backend import BackendSettings

    scene, layout = load_scene(scene_name)
    vp = layout.view(None)
    report: dict[str, Any] = {"script": str(script), "scene": scene_name}
    with SimulatedHeadset(timeline) as headset:
        from vrdiplomacy.xr.openxr_backend import OpenXrBackend

        frames = timeline.settings.frames
        backend = OpenXrBackend(BackendSettings(mode="xr", graphics="egl", app_name="vrdiplomacy-qa", frames=min(frames or max_frames, max_frames)))
        try:
            report.update(_drive(backend, headset, scene, vp, timeline))
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
    if failures:
        log.error("qa: FAILED %s: %s (report: %s)", script, "; ".join(failures), out / "report.json")
        return 1
    log.info("qa: ok, %d frames submitted, %d eye images, report %s", report["frames_submitted"],
             2 * len(report["captured"]), out / "report.json")
    return 0


def _drive(backend: Any, headset: Any, scene: Any, vp: Any, timeline: Any) -> dict[str, Any]:
    import numpy as np

    from vrdiplomacy.render.renderer import Renderer
    from vrdiplomacy.scene.math3d import Pose
    from vrdiplomacy.xr import runloop

    inputs = InputLog()
    gestures: list[dict[str, Any]] = []
    recognizer = _recognizer()

    def on_frame(frame: Any) -> None:
        inputs.push(frame)
        if recognizer is not None:
            for phase, det in recognizer.push(frame.input):
                if phase == "start":
                    gestures.append({"frame": frame.index, **det.to_dict()})

    origin = Pose.from_yaw(np.array([vp.position[0], vp.position[1] - 1.6, vp.position[2]], np.float32), vp.yaw_deg)
    renderer = Renderer(context=backend.context)
    try:
        stats = runloop.run(backend, scene, renderer, origin, on_frame=on_frame)
    finally:
        renderer.close()
    return {
        "frames": stats.frames,
        "frames_rendered": stats.rendered,
        "frame_ms": _ms(stats.frame_ms),
        "backend_ms": _ms(stats.backend_ms),
        "session_events": [{"frame": f, "event": e} for f, e in stats.events],
        "finish_reason": backend.finish_reason,
        "final_state": backend.state,
        "profiles": backend.profiles,
        "inputs": inputs.to_dict(),
        "gestures": gestures,
        "gesture_recognizer": recognizer is not None,
    }


def _recognizer() -> Any:
    try:
        from vrdiplomacy.gestures.recognizer import GestureRecognizer
    except ImportError:
        return None
    return GestureRecognizer()


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
