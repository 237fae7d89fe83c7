"""``vrdiplomacy demo``: a live session on this machine, with simulated delegates.

One command, no configuration: it starts a relay in this process on loopback, seats ``--bots``
simulated delegates in the chamber (each a real client: TLS control link, sealed UDP media, Opus
voice, pose stream, gesture events) and joins you at your seat. The bots take turns speaking
recorded speech, look at whoever speaks, move their hands and make gestures.

With a display it opens a desktop window (look with the right mouse button, gesture keys 1-0 and
H, Esc quits). Without one it runs headless for ``--duration`` seconds and writes, under
``--out``: a stereo image pair of your view every second (``eyes_NN.png``, left eye on the
left), the spatialized audio you heard (``heard.wav``) and ``summary.json``; it prints progress
and the same summary.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import time
from pathlib import Path
from typing import Any

from vrdiplomacy.errors import ConfigError, PlatformError

log = logging.getLogger("vrdiplomacy.demo")

HEADLESS_DURATION = 20.0
WINDOW_DURATION = 120.0
GESTURE_HOLD = 2.5  # seconds a gesture made with a desktop key lasts
HAND_OF = {"raise_hand": "right", "lower_hand": "right", "thumbs_up": "right", "thumbs_down": "right", "wave": "right",
           "point": "right", "handshake": "right", "applause": "both", "open_palms": "both"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bots", type=int, default=8, metavar="N", help="simulated delegates (default 8, at most 64)")
    p.add_argument("--duration", type=float, metavar="S",
                   help=f"stop after S seconds (default {HEADLESS_DURATION:g} headless, {WINDOW_DURATION:g} in a window)")
    p.add_argument("--out", type=Path, default=Path("out/demo"), metavar="DIR",
                   help="headless: where images, heard.wav and summary.json go (default out/demo)")
    p.add_argument("--scene", default="chamber", help="chamber or bilateral (default: chamber)")
    p.add_argument("--size", default="320x180", metavar="WxH",
                   help="headless: image size per eye (default 320x180); window: ignored")
    p.add_argument("--window-size", default="1280x720", metavar="WxH", help="window size (default 1280x720)")
    p.add_argument("--headless", action="store_true", help="never open a window, even with a display")


def _use_window(args: argparse.Namespace) -> bool:
    if args.headless or os.environ.get("PYOPENGL_PLATFORM", "") == "egl":
        return False
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run(args: argparse.Namespace) -> int:
    from vrdiplomacy.render.frames import parse_size

    logging.getLogger("OpenGL").setLevel(logging.WARNING)
    logging.getLogger("vrdiplomacy.relay").setLevel(logging.WARNING)
    if not 0 <= args.bots <= 64:
        raise ConfigError(f"--bots must be between 0 and 64, got {args.bots}")
    window = _use_window(args)
    duration = args.duration if args.duration is not None else (WINDOW_DURATION if window else HEADLESS_DURATION)
    if not 0.0 < duration <= 3600.0:
        raise ConfigError(f"--duration must be between 0 and 3600 seconds, got {duration:g}")
    eye_size = parse_size(args.size)
    win_size = parse_size(args.window_size)
    from vrdiplomacy.scene.assets import load_scene
    from vrdiplomacy.session.bots import plan_bots

    scene, layout = load_scene(args.scene)
    if not layout.seats:
        raise ConfigError(f"scene '{args.scene}' has no seats for delegates; use chamber or bilateral")
    seat = layout.seat(layout.default_seat) if layout.default_seat else sorted(layout.seats, key=lambda s: s.index)[0]
    plans = plan_bots(layout, args.bots, seat.seat_id)
    if window:
        try:
            return _run_window(scene, layout, seat, plans, win_size, duration)
        except PlatformError as e:
            log.warning("no window (%s); running headless instead", e)
    return _run_headless(scene, layout, seat, plans, eye_size, duration, args.out)


# ---------------------------------------------------------------- shared


def _user_settings(seat: Any, room: str) -> Any:
    from vrdiplomacy.session.audio import ListenSettings
    from vrdiplomacy.session.runtime import SessionSettings
    from vrdiplomacy.voice.mixer import MixerSettings

    # +12 dB: the bots sit 2 to 8 m away (inverse-distance law); the limiter keeps peaks below -1 dBFS
    listen = ListenSettings(mixer=MixerSettings(master_gain=4.0))
    return SessionSettings(f"you-{(seat.delegation or seat.seat_id).lower()}", seat.seat_id, room, listen=listen)


def _progress(host: Any, t: float, duration: float) -> str:
    def line() -> str:
        s = host.session
        c = s.state.counters
        now = s.now
        speaking = sorted(s.state.speaking(now).items(), key=lambda kv: -kv[1])
        who = ", ".join(s.state.members[cid].delegation for cid, _ in speaking[:3] if cid in s.state.members) or "-"
        gestures = ", ".join(f"{m.delegation} {m.gesture}" for m in s.state.members.values() if m.gesture) or "-"
        return (f"[{t:5.1f}/{duration:g} s] {len(s.state.members)} delegates, {c.poses} poses, {c.voice_frames} voice frames, "
                f"{c.gesture_events} gesture events; speaking: {who}; gestures: {gestures}")

    return host.call(line)


def _snapshot(host: Any) -> tuple[Any, list[Any]]:
    def get() -> tuple[Any, list[Any]]:
        s = host.session
        return s.head, s.state.avatars(s.now)

    return host.call(get)


def _send_gesture(host: Any, name: str) -> None:
    """A desktop gesture key: the gesture starts now and ends ``GESTURE_HOLD`` seconds later."""
    import asyncio

    hand = HAND_OF.get(name, "none")

    def start() -> None:
        s = host.session
        s.send_gesture(name, "start", hand)
        asyncio.get_running_loop().call_later(GESTURE_HOLD, lambda: s.send_gesture(name, "end", hand, GESTURE_HOLD))

    host.call(start)


# ---------------------------------------------------------------- headless


def _run_headless(scene: Any, layout: Any, seat: Any, plans: list[Any], size: tuple[int, int], duration: float,
                  out: Path) -> int:
    from vrdiplomacy.session.bots import HeadMotion
    from vrdiplomacy.session.host import RoomProcess, SessionThread
    from vrdiplomacy.voice.devices import WavOutput

    t_start = time.perf_counter()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"--out {out}: cannot create the directory ({e.strerror or e})") from None
    for old in out.glob("eyes_*.png"):
        old.unlink()
    heard_path = out / "heard.wav"
    motion = HeadMotion(seat, None, phase=0.5, turn_s=0.5)

    def pose_source(t: float) -> tuple[Any, None, None]:
        return motion.pose(t), None, None

    room = RoomProcess(layout.scene, len(plans), seat.seat_id)  # before any GL context or thread: it forks
    addr = room.start()
    try:
        painter = _EyePainter(scene, seat, size, out)
        speakers = WavOutput(heard_path)
    except BaseException:
        room.stop()
        raise
    host = SessionThread(layout, _user_settings(seat, layout.scene), pose_source, relay=addr, speakers=speakers)
    print(f"demo: relay on loopback, {len(plans)} bots, you at seat {seat.seat_id} ({seat.delegation}) in the "
          f"{layout.scene}; headless for {duration:g} s, writing to {out}/", flush=True)
    try:
        painter.wait_ready()
        host.start()
        motion.state = host.session.state if host.session else None
        room.start_bots()
        t0 = time.perf_counter()
        k = 0
        while (t := time.perf_counter() - t0) < duration:
            err = host.failed()
            if err is not None:
                raise err
            k += 1
            painter.submit(k, *_snapshot(host))
            print(_progress(host, t, duration), flush=True)
            time.sleep(max(0.0, min(t0 + k * 1.0, t0 + duration) - time.perf_counter()))
    finally:
        report = host.stop()
        report.relay, report.bots = room.stop()
        speakers.close()
        images = painter.close()
    wall = time.perf_counter() - t_start
    summary = _summary(report, layout, seat, plans, duration, wall, images, heard_path, out / "summary.json")
    summary["images"] = {"written": len(images), "skipped_busy": painter.skipped, "size_per_eye": list(size),
                         "mean_render_s": round(sum(painter.frame_s) / max(len(painter.frame_s), 1), 3)}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    _print_summary(summary)
    return 0 if summary["received"]["poses"] > 0 or not plans else 1


class _EyePainter:
    """Renders eye images in its own thread (its own EGL context), one frame at a time: a frame
    asked for while the previous one is still drawing is skipped, so a slow software renderer
    never holds up the session or the end of the demo."""

    def __init__(self, scene: Any, seat: Any, size: tuple[int, int], out: Path) -> None:
        import queue
        import threading

        # llvmpipe (software GL) would take every core for a frame a second and starve the voice
        # path; one rendering thread is plenty at this size (no effect on hardware drivers)
        os.environ.setdefault("LP_NUM_THREADS", "1")
        self.scene, self.seat, self.size, self.out = scene, seat, size, out
        self.jobs: queue.Queue[Any] = queue.Queue(maxsize=1)
        self.images: list[Path] = []
        self.frame_s: list[float] = []
        self.skipped = 0
        self.error: BaseException | None = None
        self._ready = threading.Event()
        self._busy = threading.Event()
        self._thread = threading.Thread(target=self._main, name="vrd-eyes", daemon=True)
        self._thread.start()

    def wait_ready(self, timeout: float = 60.0) -> None:
        if not self._ready.wait(timeout):
            raise PlatformError(f"the renderer did not start within {timeout:g} s")
        if self.error is not None:
            raise self.error

    def submit(self, k: int, head: Any, avatars: list[Any]) -> None:
        if self._busy.is_set() or self.jobs.full():
            self.skipped += 1
            return
        self._busy.set()
        self.jobs.put((k, head, avatars))

    def close(self, timeout: float = 10.0) -> list[Path]:
        try:
            self.jobs.put(None, timeout=timeout)
        except Exception:
            log.warning("the renderer is still busy; leaving it")
            return list(self.images)
        self._thread.join(timeout)
        return list(self.images)

    def _main(self) -> None:
        from vrdiplomacy.render.frames import stereo_side_by_side, views_for
        from vrdiplomacy.render.renderer import Renderer

        try:
            r = Renderer()
        except BaseException as e:
            self.error = e
            self._ready.set()
            return
        try:
            targets = [r.create_target(*self.size), r.create_target(*self.size)]
            self.scene.avatars = []
            r.render(self.scene, views_for(self.seat.eye_pose(), self.size, stereo=True, fov_deg=90.0), targets)
            r.finish()  # scene upload and shader compilation happen before the session starts
            self._ready.set()
            while (job := self.jobs.get()) is not None:
                k, head, avatars = job
                c0 = time.perf_counter()
                self.scene.avatars = avatars
                r.render(self.scene, views_for(head, self.size, stereo=True, fov_deg=90.0), targets)
                image = stereo_side_by_side(r.read_pixels(targets[0]), r.read_pixels(targets[1]))
                path = self.out / f"eyes_{k:02d}.png"
                _save_png(image, path)
                self.images.append(path)
                self.frame_s.append(time.perf_counter() - c0)
                self._busy.clear()
        except BaseException as e:  # reported by the summary; the session goes on
            self.error = e
            log.warning("rendering failed: %s", e)
        finally:
            self._ready.set()
            r.close()


def _save_png(image: Any, path: Path) -> None:
    """A quick PNG (fast compression: the session runs beside it)."""
    from PIL import Image

    try:
        Image.fromarray(image[..., :3].copy()).save(path, compress_level=1)
    except OSError as e:
        raise ConfigError(f"{path}: cannot write ({e.strerror or e})") from None


# ---------------------------------------------------------------- window


def _run_window(scene: Any, layout: Any, seat: Any, plans: list[Any], size: tuple[int, int], duration: float) -> int:
    from vrdiplomacy.render.renderer import Renderer
    from vrdiplomacy.scene.avatars import hand_pose_from_frame
    from vrdiplomacy.session.host import RoomProcess, SessionThread
    from vrdiplomacy.session.runtime import HeldPose
    from vrdiplomacy.xr import runloop
    from vrdiplomacy.xr.backend import BackendSettings
    from vrdiplomacy.xr.desktop import CONTROLS_HELP, DesktopBackend

    eye = seat.eye_pose()
    room = RoomProcess(layout.scene, len(plans), seat.seat_id)  # before any GL context or thread: it forks
    addr = room.start()
    try:
        backend = DesktopBackend(BackendSettings(mode="desktop", width=size[0], height=size[1], fov_deg=90.0,
                                                 start_pose=(tuple(float(v) for v in eye.position), seat.yaw_deg)))
    except BaseException:
        room.stop()
        raise
    held = HeldPose(eye)
    speakers = _card_output()
    host = SessionThread(layout, _user_settings(seat, layout.scene), held, relay=addr, speakers=speakers)
    renderer = Renderer(context=backend.context)
    print(f"demo: relay on loopback, {len(plans)} bots, you at seat {seat.seat_id} ({seat.delegation}); "
          f"{'sound on the default output' if speakers else 'no sound card: silent'}; window for up to {duration:g} s "
          f"({CONTROLS_HELP})", flush=True)
    t0 = time.perf_counter()
    last_print = [0.0]
    try:
        host.start()
        room.start_bots()

        def on_frame(frame: Any) -> None:
            inp = frame.input
            left, right = hand_pose_from_frame(inp.left), hand_pose_from_frame(inp.right)
            held.set(inp.head, left.pose if left.visible else None, right.pose if right.visible else None)
            for name in sorted(inp.keys):
                _send_gesture(host, name)
            _, scene.avatars = _snapshot(host)
            t = time.perf_counter() - t0
            if t - last_print[0] >= 5.0:
                last_print[0] = t
                print(_progress(host, t, duration), flush=True)
            if t >= duration or host.failed() is not None:
                backend.request_exit()

        stats = runloop.run(backend, scene, renderer, None, on_frame=on_frame)
        err = host.failed()
        if err is not None:
            raise err
    finally:
        report = host.stop()
        report.relay, report.bots = room.stop()
        if speakers is not None:
            speakers.close()
        renderer.close()
        backend.shutdown()
    elapsed = time.perf_counter() - t0
    fps = stats.frames / max(elapsed, 1e-9)
    user = report.user
    print(f"demo: {stats.frames} frames in {elapsed:.1f} s ({fps:.1f} fps); received "
          f"{user.get('state', {}).get('poses', 0)} poses, {user.get('state', {}).get('voice_frames', 0)} voice frames, "
          f"{user.get('state', {}).get('gesture_events', 0)} gesture events from {len(user.get('members', []))} delegates",
          flush=True)
    return 0


def _card_output() -> Any:
    from vrdiplomacy.errors import AudioError
    from vrdiplomacy.voice.devices import open_output

    try:
        return open_output("default")
    except AudioError as e:
        log.warning("no sound output (%s); running silent", e)
        return None


# ---------------------------------------------------------------- summary


def _wav_levels(path: Path) -> dict[str, Any]:
    import wave

    import numpy as np

    with wave.open(str(path), "rb") as w:
        n, fs, ch = w.getnframes(), w.getframerate(), w.getnchannels()
        x = np.frombuffer(w.readframes(n), "<i2").astype(np.float64).reshape(-1, ch) / 32768.0

    def dbfs(v: Any) -> float:
        r = float(np.sqrt(np.mean(v**2))) if v.size else 0.0
        return round(20.0 * math.log10(r), 1) if r > 1e-9 else -200.0

    return {"seconds": round(n / fs, 2), "channels": ch, "rms_dbfs": dbfs(x),
            "left_rms_dbfs": dbfs(x[:, 0]), "right_rms_dbfs": dbfs(x[:, -1])}


def _summary(report: Any, layout: Any, seat: Any, plans: list[Any], duration: float, wall: float, images: list[Path],
             heard: Path, summary_path: Path) -> dict[str, Any]:
    user = report.user
    state = user.get("state", {})
    members = user.get("members", [])
    by_id = {m["client_id"]: m for m in members}
    block_s = 960 / 48000
    who = []
    for cid, blocks in sorted(user.get("heard_blocks", {}).items(), key=lambda kv: -kv[1]):
        m = by_id.get(cid, {})
        who.append({"identity": m.get("identity", str(cid)), "delegation": m.get("delegation", ""),
                    "seat": m.get("seat", ""), "seconds_heard": round(blocks * block_s, 2)})
    gestures = [{"t": round(t, 2), "identity": by_id.get(cid, {}).get("identity", str(cid)), "gesture": g, "phase": ph}
                for t, cid, g, ph in user.get("gesture_log", [])]
    relay = report.relay
    return {
        "scene": layout.scene,
        "you": {"seat": seat.seat_id, "delegation": seat.delegation, "sent": user.get("stats", {})},
        "duration_s": duration,
        "wall_s": round(wall, 2),
        "bots": report.bots,
        "members_seen": members,
        "received": {"poses": state.get("poses", 0), "voice_frames": state.get("voice_frames", 0),
                     "events": state.get("events", 0), "gesture_events": state.get("gesture_events", 0)},
        "who_spoke": who,
        "gestures": gestures,
        "audio": {"file": str(heard), **_wav_levels(heard), **user.get("listen", {}),
                  "late_blocks": user.get("stats", {}).get("late_blocks", 0)},
        "relay": {k: relay.get(k, 0) for k in ("sessions_started", "voice_forwarded", "poses_forwarded", "events_in",
                                               "datagrams_in", "datagrams_out")} if relay else {},
        "client_drops": {k: v for k, v in user.get("client", {}).items() if k.startswith("dropped_") and v},
        "files": [str(p) for p in images] + [str(heard), str(summary_path)],
    }


def _print_summary(s: dict[str, Any]) -> None:
    r = s["received"]
    a = s["audio"]
    print(f"demo finished in {s['wall_s']:.1f} s: {len(s['members_seen'])} delegates seen, {r['poses']} poses, "
          f"{r['voice_frames']} voice frames, {r['events']} room events ({r['gesture_events']} gestures) received")
    if s["who_spoke"]:
        print("  heard: " + ", ".join(f"{w['delegation'] or w['identity']} {w['seconds_heard']:.1f} s" for w in s["who_spoke"]))
    kinds: dict[str, int] = {}
    for g in s["gestures"]:
        if g["phase"] == "start":
            kinds[g["gesture"]] = kinds.get(g["gesture"], 0) + 1
    if kinds:
        print("  gestures: " + ", ".join(f"{k} x{v}" for k, v in sorted(kinds.items())))
    print(f"  audio: {a['seconds']:.1f} s stereo, {a['rms_dbfs']:.1f} dBFS RMS (left {a['left_rms_dbfs']:.1f}, "
          f"right {a['right_rms_dbfs']:.1f}), {a.get('late_blocks', 0)} late blocks")
    images = [f for f in s["files"] if f.endswith(".png")]
    print(f"  files: {len(images)} eye images ({images[0] if images else '-'} ... ), {a['file']}, {s['files'][-1]}")
