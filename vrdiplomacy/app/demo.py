"""What ``vrdiplomacy demo`` runs once its arguments are parsed: a relay and simulated delegates
on loopback, you at your seat; a desktop window through :class:`~vrdiplomacy.app.client.LiveClient`,
or headless with eye images, the heard audio and a summary."""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from pathlib import Path
from typing import Any

from vrdiplomacy.app.client import ClientOptions, LiveClient
from vrdiplomacy.app.eyes import EyePainter
from vrdiplomacy.app.session import card_output, progress_line, user_settings
from vrdiplomacy.app.signals import exit_code, leave_on_signal
from vrdiplomacy.errors import ConfigError

log = logging.getLogger("vrdiplomacy.demo")
SETTLE_S = 5.0  # the window's frame rate is reported from this many seconds on (dynamic resolution settles)


def _meeting(host: Any) -> Any:
    """The meeting as the user's client shows it now (its ``MeetingView``)."""
    return host.call(lambda: host.session.meeting_view(host.session.now))


def meeting_line(v: Any) -> str:
    """One line for the progress output: who has the floor, time left, the next on the list."""
    if v.speaker is None:
        floor = "floor open"
    else:
        left = f" {max(v.remaining_s, 0.0):.0f} s left" if v.speaking_time_s else ""
        floor = f"floor: {v.speaker.delegation or v.speaker.name}{left}"
    nxt = ", ".join(q.delegation or q.name for q in v.next_five)
    return f"{floor}; list: {nxt or 'empty'}"


def _timeline_entry(t: float, v: Any) -> dict[str, Any]:
    return {"t": round(t, 1), "speaker": None if v.speaker is None else (v.speaker.delegation or v.speaker.name),
            "remaining_s": round(v.remaining_s, 1) if v.speaker is not None and v.speaking_time_s else None,
            "queue": [q.delegation or q.name for q in v.queue], "agenda_item": v.agenda_item, "phase": v.phase}


def _snapshot(host: Any) -> tuple[Any, list[Any], Any]:
    def get() -> tuple[Any, list[Any], Any]:
        s = host.session
        return s.head, s.state.avatars(s.now), s.meeting_view(s.now)

    return host.call(get)


# ---------------------------------------------------------------- the roll-call


DEMO_QUESTION = "Adopt draft resolution L.12 on climate finance?"
DEMO_CHOICES = ("yes", "yes", "no", "abstain")


def _roll_call(seat: Any, plans: list[Any]) -> Any:
    """The demo's recorded vote: you and the bots' delegations, one vote a step (ballot/rollcall.py)."""
    from vrdiplomacy.ballot.rollcall import RollCall
    from vrdiplomacy.errors import AssetError
    from vrdiplomacy.scene.delegations import delegation

    def name(code: str | None, fallback: str) -> str:
        try:
            return delegation(code).name if code else fallback
        except AssetError:
            return code or fallback

    names = list(dict.fromkeys([name(seat.delegation, "You")] + [name(p.seat.delegation, p.identity) for p in plans]))
    return RollCall({n: DEMO_CHOICES[i % len(DEMO_CHOICES)] for i, n in enumerate(names)}, DEMO_QUESTION)


def _vote_step(host: Any, rc: Any, t: float, duration: float) -> None:
    """The roll-call's steps due at ``t`` seconds (all of them within the first 60% of the
    duration, one a second at most), shown on the chamber's vote board of your client."""
    interval = min(1.0, 0.6 * duration / rc.total_steps)
    due = int(t / interval) + 1 if t < duration else rc.total_steps
    while rc.result is None and rc.steps < due:
        rc.step()
        if rc.result is not None:
            print("demo: recorded vote " + rc.manifest.vote_id + " on the board: "
                  + ", ".join(f"{o} {c}" for o, c in zip(rc.result.options, rc.result.counts)) + " (verified)", flush=True)
    view = rc.view()
    host.call(lambda: setattr(host.session.votes, "shown", view))


def _vote_summary(rc: Any, out: Path | None) -> dict[str, Any]:
    """The roll-call for summary.json, and its board picture (``vote_board.png``)."""
    view = rc.view()
    if view is None:
        return {}
    s: dict[str, Any] = {"label": view.label, "question": view.question, "stage": view.stage, "cast": view.cast,
                         "eligible": view.eligible, "lights": dict(view.lights),
                         "result": None if view.counts is None else dict(zip(view.options, view.counts)),
                         "verified": view.verified}
    if out is not None:
        from PIL import Image

        from vrdiplomacy.render.vote_board import vote_board

        path = out / "vote_board.png"
        Image.fromarray(vote_board(view)).save(path)
        s["board_image"] = str(path)
    return s


# ---------------------------------------------------------------- headless


def run_headless(scene: Any, layout: Any, seat: Any, plans: list[Any], size: tuple[int, int], duration: float,
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
        painter = EyePainter(scene, seat, size, out)
        speakers = WavOutput(heard_path)
    except BaseException:
        room.stop()
        raise
    host = SessionThread(layout, user_settings(seat, layout.scene), pose_source, relay=addr, speakers=speakers)
    print(f"demo: relay on loopback, {len(plans)} bots, you at seat {seat.seat_id} ({seat.delegation}) in the "
          f"{layout.scene}; headless for {duration:g} s, writing to {out}/", flush=True)
    timeline: list[dict[str, Any]] = []
    control = None
    rc = _roll_call(seat, plans)
    try:
        painter.wait_ready()
        host.start()
        control = _control(host)
        motion.state = host.session.state if host.session else None
        room.start_bots()
        t0 = time.perf_counter()
        k = 0
        stop = threading.Event()
        with leave_on_signal(stop.set, "ending the demo") as signals:
            while (t := time.perf_counter() - t0) < duration and not stop.is_set():
                err = host.failed()
                if err is not None:
                    raise err
                k += 1
                _vote_step(host, rc, t, duration)  # the roll-call, on the agenda screen's vote board
                drawn = painter.submit(k, *_snapshot(host))
                note = "" if drawn else f"; no image this second (renderer busy: {painter.skipped} skipped so far)"
                view = _meeting(host)
                timeline.append(_timeline_entry(t, view))
                print(progress_line(host, t, duration) + f"; {meeting_line(view)}" + note, flush=True)
                stop.wait(max(0.0, min(t0 + k * 1.0, t0 + duration) - time.perf_counter()))
        if host.failed() is None and not signals:
            _vote_step(host, rc, duration, duration)  # a loaded machine's last steps, so the vote completes
    finally:
        _stop_control(host, control)
        report = host.stop()
        report.relay, report.bots = room.stop()
        speakers.close()
        images = painter.close()
    wall = time.perf_counter() - t_start
    summary = _summary(report, layout, seat, plans, duration, wall, images, heard_path, out / "summary.json")
    summary["images"] = {"written": len(images), "skipped_busy": painter.skipped, "failed": painter.failed,
                         "errors": painter.errors, "stalled_at_end": painter.stalled, "size_per_eye": list(size),
                         "mean_render_s": round(sum(painter.frame_s) / max(len(painter.frame_s), 1), 3),
                         "max_render_s": round(max(painter.frame_s, default=0.0), 3)}
    summary["meeting"] = {**report.user.get("meeting", {}), "timeline": timeline}
    summary["screens"] = {"shown": painter.shown, "redraws": painter.redraws}
    summary["vote"] = _vote_summary(rc, out)
    if summary["vote"].get("board_image"):
        summary["files"].insert(-1, summary["vote"]["board_image"])  # summary.json stays the last
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    _print_summary(summary)
    if signals:
        return exit_code(signals)
    return 0 if summary["received"]["poses"] > 0 or not plans else 1


# ---------------------------------------------------------------- window


def run_window(scene: Any, layout: Any, seat: Any, plans: list[Any], size: tuple[int, int], duration: float,
               client_options: tuple[ClientOptions, dict[str, str] | None] | None = None) -> int:
    from vrdiplomacy.render.dynres import AdaptiveRenderer
    from vrdiplomacy.render.renderer import Renderer, static_batch
    from vrdiplomacy.session.host import RoomProcess, SessionThread
    from vrdiplomacy.session.runtime import HeldPose
    from vrdiplomacy.xr import runloop
    from vrdiplomacy.xr.backend import BackendSettings
    from vrdiplomacy.xr.desktop import CONTROLS_HELP, DesktopBackend

    options, keys = client_options or (ClientOptions(), None)
    eye = seat.eye_pose()
    batch = static_batch(scene)  # the textures' resampling, before the window opens: its first frame comes sooner
    room = RoomProcess(layout.scene, len(plans), seat.seat_id)  # before any GL context or thread: it forks
    addr = room.start()
    try:
        backend = DesktopBackend(BackendSettings(mode="desktop", width=size[0], height=size[1], fov_deg=90.0,
                                                 start_pose=(tuple(float(v) for v in eye.position), seat.yaw_deg),
                                                 desktop_keys=keys))
    except BaseException:
        room.stop()
        raise
    held = HeldPose(eye)
    speakers = card_output()
    host = SessionThread(layout, user_settings(seat, layout.scene), held, relay=addr, speakers=speakers)
    renderer = Renderer(context=backend.context)
    adaptive = AdaptiveRenderer(renderer, swap_cpu=lambda: backend.swap_cpu_s)  # before the upload: it sets the filtering
    renderer.upload(scene, batch)
    del batch
    client = LiveClient(host, held, scene, None, options)
    control = None
    print(f"demo: relay on loopback, {len(plans)} bots, you at seat {seat.seat_id} ({seat.delegation}); "
          f"{'sound on the default output' if speakers else 'no sound card: silent'}; window for up to {duration:g} s "
          f"({CONTROLS_HELP})", flush=True)

    t0 = backend.opened_at  # the duration counts from the window's opening
    rc = _roll_call(seat, plans)
    last_vote = [0.0]
    last_print = [0.0]
    first = [True]
    checked = [0.0]
    settled: list[float] = []  # the times of the frames from SETTLE_S on (the scale has found its level)
    try:
        host.start()
        control = _control(host)
        room.start_bots()

        def on_frame(frame: Any) -> None:
            client.on_frame(frame)
            t = time.perf_counter() - t0
            if t >= SETTLE_S:
                settled.append(t)
            if t - last_vote[0] >= 0.25:  # the roll-call, on the agenda screen's vote board
                last_vote[0] = t
                _vote_step(host, rc, t, duration)
            if first[0] and backend.first_frame_s is None:
                first[0] = False
                print(f"demo: first frame {t:.1f} s after the window opened ({_quality(adaptive)})", flush=True)
            if t - last_print[0] >= 5.0:
                last_print[0] = t
                print(progress_line(host, t, duration) + f"; {_quality(adaptive)}; {meeting_line(_meeting(host))}",
                      flush=True)
            # is the session alive? a round trip to its thread, so twice a second, not every frame
            if t >= duration or (t - checked[0] >= 0.5 and (checked.__setitem__(0, t) or host.failed() is not None)):
                backend.request_exit()

        with leave_on_signal(backend.request_exit, "ending the demo") as signals:
            stats = runloop.run(backend, scene, adaptive, None, on_frame=on_frame)
        err = host.failed()
        if err is not None:
            raise err
    finally:
        _stop_control(host, control)
        report = host.stop()
        report.relay, report.bots = room.stop()
        if speakers is not None:
            speakers.close()
        adaptive.close()
        renderer.close()
        backend.shutdown()
    elapsed = time.perf_counter() - t0
    fps = stats.frames / max(elapsed, 1e-9)
    user = report.user
    q = adaptive.report()
    settled_fps = (len(settled) - 1) / (settled[-1] - settled[0]) if len(settled) > 1 and settled[-1] > settled[0] else 0.0
    first_s = backend.first_frame_s
    print(f"demo: window: first frame {'-' if first_s is None else f'{first_s:.1f}'} s after it opened; at the end "
          f"{q['fps']:.1f} fps at {q['scale'] * 100:.0f}% resolution ({q['render_size'][0]}x{q['render_size'][1]}"
          f"{', software rendering: ' + q['software'] if q['software'] else ''}); main thread CPU per frame "
          f"{q['cpu_ms_per_frame']:.1f} ms ({q['gl_cpu_ms_per_frame']:.1f} ms in GL calls and the swap, "
          f"{q['python_cpu_ms_per_frame']:.1f} ms Python); from {SETTLE_S:g} s on {f'{settled_fps:.1f} fps' if len(settled) > 1 else '- (closed before)'}; closed {elapsed:.1f} s after it opened (--duration {duration:g})",
          flush=True)
    print(f"demo: frame loop: {stats.summary()}", flush=True)
    print(f"demo: {stats.frames} frames in {elapsed:.1f} s ({fps:.1f} fps); sent {user.get('stats', {}).get('gestures_sent', 0)} "
          f"gesture events; received {user.get('state', {}).get('poses', 0)} poses, "
          f"{user.get('state', {}).get('voice_frames', 0)} voice frames, "
          f"{user.get('state', {}).get('gesture_events', 0)} gesture events from {len(user.get('members', []))} delegates",
          flush=True)
    return exit_code(signals)


def _control(host: Any) -> Any:
    """The meeting control socket on the user's session ('vrdiplomacy meeting status' reaches it)."""
    from vrdiplomacy.app.meeting_control import start_control
    from vrdiplomacy.errors import VrdError

    try:
        return start_control(host, None)
    except VrdError as e:
        log.info("no meeting control socket: %s", e)
        return None


def _stop_control(host: Any, control: Any) -> None:
    from vrdiplomacy.app.meeting_control import stop_control

    stop_control(host, control)


def _quality(adaptive: Any) -> str:
    w, h = adaptive.render_size
    return f"{adaptive.fps:.1f} fps at {adaptive.scale * 100:.0f}% resolution ({w}x{h})"


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
    by_id = {m.get("key", m["client_id"]): m for m in members}  # heard_blocks and gesture_log are keyed by member key
    block_s = user.get("block", 960) / 48000
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
    m = s.get("meeting", {})
    spoke = []
    for e in m.get("timeline", []):
        if e["speaker"] and (not spoke or spoke[-1] != e["speaker"]):
            spoke.append(e["speaker"])
    if m:
        print(f"  meeting: {m.get('summary', '')}; the floor went to {' -> '.join(spoke) or 'nobody'}")
    print(f"  audio: {a['seconds']:.1f} s stereo, {a['rms_dbfs']:.1f} dBFS RMS (left {a['left_rms_dbfs']:.1f}, "
          f"right {a['right_rms_dbfs']:.1f}), {a.get('late_blocks', 0)} late blocks")
    images = [f for f in s["files"] if Path(f).name.startswith("eyes_")]
    im = s.get("images", {})
    skipped = f"; {im['skipped_busy']} second(s) without an image: the renderer was still drawing the previous one" \
        if im.get("skipped_busy") else ""
    if im.get("failed"):
        skipped += f"; {im['failed']} image(s) failed to draw (first: {im['errors'][0] if im.get('errors') else '?'})"
    print(f"  files: {len(images)} eye images ({images[0] if images else '-'} ... ){skipped}, {a['file']}, {s['files'][-1]}")
