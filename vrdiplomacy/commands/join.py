"""``vrdiplomacy join``: take a seat in a session, in a headset or at the desktop.

With ``--relay HOST:PORT --fingerprint HEX`` you join that relay's room as a delegate at
``--seat`` (default: the layout's default seat); without a relay this runs a local session. ``--mode auto`` tries OpenXR and
falls back to a desktop window with one log line saying why (``--no-fallback`` makes that an
error); with neither a runtime nor a display it says so and points to ``--mode offscreen``
and ``vrdiplomacy qa run``.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import textwrap
import time
from pathlib import Path

from vrdiplomacy.errors import ConfigError

log = logging.getLogger("vrdiplomacy.join")

DESKTOP_HELP = textwrap.dedent("""\
    desktop mode controls:
      right mouse button + drag   look around
      W A S D                     walk
      mouse                       moves your right hand (45 cm in front of you)
      left / middle button, Alt   pinch / grip / point with that hand
      Esc                         quit
    gesture keys:
      1 raise_hand   2 lower_hand   3 nod          4 head_shake   5 thumbs_up   6 thumbs_down
      7 wave         8 applause     9 point        0 open_palms   H handshake
    """)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = DESKTOP_HELP
    p.add_argument("--mode", choices=("auto", "xr", "desktop", "offscreen"), default="auto",
                   help="auto: OpenXR, else a desktop window (default); xr: OpenXR only; desktop: a window; "
                        "offscreen: headless EGL")
    p.add_argument("--no-fallback", action="store_true", help="with --mode auto: fail instead of falling back to desktop")
    p.add_argument("--scene", default="chamber", metavar="NAME", help="chamber, bilateral or embassy (default: chamber)")
    p.add_argument("--view", metavar="NAME", help="start at this named viewpoint of the layout (default: its default view)")
    p.add_argument("--frames", type=int, default=0, metavar="N", help="leave after N frames (default: run until closed)")
    p.add_argument("--duration", type=float, default=0.0, metavar="S", help="leave after S seconds (default: run until closed)")
    p.add_argument("--size", default="1280x720", metavar="WxH", help="desktop window / offscreen image size (default 1280x720)")
    p.add_argument("--graphics", choices=("auto", "egl", "glx"), default="auto",
                   help="OpenXR graphics binding (default auto: EGL headless when the runtime offers it, else GLX)")
    p.add_argument("--space", choices=("stage", "local"), default="stage", help="OpenXR reference space (default stage)")
    p.add_argument("--no-hand-tracking", action="store_true", help="do not use XR_EXT_hand_tracking")
    p.add_argument("--relay", metavar="HOST:PORT", help="join the session on this relay (default: a local session)")
    p.add_argument("--fingerprint", metavar="HEX",
                   help="the relay certificate's SHA-256 fingerprint, as printed by 'vrdiplomacy relay' (required with --relay)")
    p.add_argument("--seat", metavar="ID", help="your seat id in the layout (default: the layout's default seat)")
    p.add_argument("--name", metavar="NAME", help="your identity in the room (default: derived from the seat's delegation)")
    p.add_argument("--record", type=Path, metavar="FILE.jsonl",
                   help="record your input (head, hands, controllers, keys) as JSON Lines (.gz to compress); "
                        "'vrdiplomacy gestures classify FILE' reads it")
    p.add_argument("--screenshot", type=Path, metavar="FILE.png", help="save the last frame (desktop/offscreen: the view; xr: the left eye)")
    from vrdiplomacy.commands.identity import DEFAULT_HOME, _add_passphrase
    from vrdiplomacy.net.room_code_cli import add_identity_arguments

    sec = p.add_argument_group(
        "secured room (end-to-end encryption)",
        textwrap.fill("With --root (and --relay), join as your delegation's certificate: the chair admits you to the "
        "signed roster, your voice, poses and gestures are end-to-end encrypted (the relay's host cannot "
        "listen), and the card below your view shows the room code to compare aloud with the other "
        "delegations, and any roster change or security alert. Without --root the card says the room "
        "is not end-to-end encrypted.", 76))
    add_identity_arguments(sec, DEFAULT_HOME, _add_passphrase, root_required=False)


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(x) for x in text.lower().split("x"))
    except ValueError:
        raise ConfigError(f"--size must look like 1280x720, not '{text}'") from None
    if not (16 <= w <= 8192 and 16 <= h <= 8192):
        raise ConfigError("--size: each side must be 16..8192 pixels")
    return w, h


def _relay_address(args: argparse.Namespace) -> object | None:
    if not args.relay:
        if args.fingerprint:
            raise ConfigError("--fingerprint needs --relay")
        return None
    from vrdiplomacy.session.host import RelayAddress

    host, sep, port = args.relay.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"--relay must look like HOST:PORT, not '{args.relay}'")
    fp = (args.fingerprint or "").replace(":", "").lower()
    if len(fp) != 64 or any(c not in "0123456789abcdef" for c in fp):
        raise ConfigError("--relay needs --fingerprint: the 64 hex digits 'vrdiplomacy relay' prints (it pins the relay)")
    return RelayAddress(host.strip("[]"), int(port), fp)


def _secured_identity(args: argparse.Namespace, relay: object | None) -> tuple[object, list, str] | None:  # type: ignore[type-arg]
    """(our LocalIdentity, trusted roots, certificate name) for a secured room, None without --root."""
    if not args.root:
        if args.dir or args.cert or args.key or args.invite:
            raise ConfigError("--dir/--cert/--key/--invite need --root: the ministry root(s) you trust")
        return None
    if relay is None:
        raise ConfigError("--root joins a secured room on a relay: add --relay HOST:PORT --fingerprint HEX")
    from vrdiplomacy.commands.identity import DEFAULT_HOME, read_passphrase
    from vrdiplomacy.net.room_code_cli import load_delegate

    return load_delegate(args, DEFAULT_HOME, read_passphrase(args.passphrase_file))


def run(args: argparse.Namespace) -> int:
    logging.getLogger("OpenGL").setLevel(logging.WARNING)  # PyOpenGL's start-up chatter
    from vrdiplomacy.xr.backend import BackendSettings, create_backend

    if args.frames < 0:
        raise ConfigError("--frames must be >= 0")
    if args.duration < 0:
        raise ConfigError("--duration must be >= 0")
    w, h = _size(args.size)
    relay = _relay_address(args)
    identity = _secured_identity(args, relay)
    from vrdiplomacy.scene.assets import load_scene

    scene, layout = load_scene(args.scene)
    vp = layout.view(args.view)
    seat = None
    if relay is not None:
        seat_id = args.seat or layout.default_seat or (layout.seats[0].seat_id if layout.seats else "")
        try:
            seat = layout.seat(seat_id)
        except KeyError:
            raise ConfigError(f"--seat: no seat '{seat_id}' in the {layout.scene} layout") from None
        from vrdiplomacy.scene.layout import Viewpoint

        eye = seat.eye_pose()
        vp = Viewpoint(f"seat {seat.seat_id}", tuple(float(v) for v in eye.position), seat.yaw_deg,  # type: ignore[arg-type]
                       fov_deg=vp.fov_deg)
    settings = BackendSettings(mode=args.mode, fallback=not args.no_fallback, graphics=args.graphics, space=args.space,
                               hand_tracking=not args.no_hand_tracking, width=w, height=h, fov_deg=vp.fov_deg,
                               start_pose=(vp.position, vp.yaw_deg), frames=args.frames)
    backend = create_backend(settings)
    recorder = None
    if args.record is not None:
        from vrdiplomacy.gestures.record import Recorder

        recorder = Recorder(args.record, meta={"scene": layout.scene, "mode": backend.mode})
    args._recorder = recorder
    try:
        if relay is not None:
            return _networked(backend, scene, layout, seat, relay, args, identity)
        return _session(backend, scene, layout, vp, args)
    finally:
        backend.shutdown()
        if recorder is not None:
            recorder.close()
            log.info("recorded %d frames to %s", recorder.frames, args.record)


def _session(backend, scene, layout, vp, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    import numpy as np

    from vrdiplomacy.render.renderer import Renderer
    from vrdiplomacy.scene.math3d import Pose
    from vrdiplomacy.xr import runloop

    renderer = Renderer(context=backend.context)
    last: dict[str, object] = {}
    try:
        origin = None
        if backend.mode == "xr":
            # the play space's floor origin sits on the viewpoint, facing its way
            origin = Pose.from_yaw(np.array([vp.position[0], vp.position[1] - 1.6, vp.position[2]], np.float32), vp.yaw_deg)
        if backend.mode == "offscreen":
            backend.attach_targets([renderer.create_target(backend.settings.width, backend.settings.height)])
        log.info("joined a local session in the %s (%s mode)%s", layout.scene, backend.mode,
                 "" if backend.mode != "desktop" else "; see 'vrdiplomacy join --help' for the controls")

        def keep(frame) -> None:  # type: ignore[no-untyped-def]
            if args.screenshot is not None and frame.targets:
                last["image"] = renderer.read_pixels(frame.targets[0])

        rec = args._recorder
        t_end = time.monotonic() + args.duration if args.duration else None

        def on_frame(frame) -> None:  # type: ignore[no-untyped-def]
            if rec is not None:
                rec.write(frame.input)
            if t_end is not None and time.monotonic() >= t_end:
                backend.request_exit()

        stats = runloop.run(backend, scene, renderer, origin, after_render=keep if args.screenshot else None,
                            on_frame=on_frame)
    finally:
        renderer.close()
    _save_screenshot(args, last)
    reason = backend.finish_reason
    log.info("left after %d frames%s", stats.frames, f" ({reason})" if reason else "")
    return 0


def _view_state(host):  # type: ignore[no-untyped-def]
    """The others' avatars and the HUD card's (lines, alert), read in the session's thread."""
    def get():  # type: ignore[no-untyped-def]
        s = host.session
        return s.state.avatars(s.now), s.security.hud_lines(s.now)

    return host.call(get)


def _save_screenshot(args: argparse.Namespace, last: dict[str, object]) -> None:
    if args.screenshot is not None and "image" in last:
        from PIL import Image

        args.screenshot.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(last["image"]).save(args.screenshot)  # type: ignore[arg-type]
        log.info("saved %s", args.screenshot)


def _networked(backend, scene, layout, seat, relay, args: argparse.Namespace, identity=None) -> int:  # type: ignore[no-untyped-def]
    """Join a relay's room: your poses, voice and gesture keys go out; the others come in."""
    from vrdiplomacy.commands.demo import _card_output, _send_gesture, _user_settings
    from vrdiplomacy.render.renderer import Renderer
    from vrdiplomacy.scene.avatars import hand_pose_from_frame
    from vrdiplomacy.scene.hud import place_hud
    from vrdiplomacy.session.host import SessionThread
    from vrdiplomacy.session.runtime import HeldPose
    from vrdiplomacy.xr import runloop

    settings = _user_settings(seat, layout.scene)
    sealer = None
    if identity is not None:
        from vrdiplomacy.net.secure import SecureRoom

        from vrdiplomacy.net.room_code_cli import admission_settings, load_admission, room_authority

        me, roots, cert_name = identity
        admission = load_admission(args, me, roots, settings.room, seat.seat_id)  # --invite, or a chair's own
        sealer = SecureRoom(settings.room, me, roots, admission_settings(admission),
                            authority=room_authority(args, admission))
        settings = dataclasses.replace(settings, identity=cert_name,
                                       client=dataclasses.replace(settings.client, admission=admission))
    if args.name:
        settings = dataclasses.replace(settings, identity=args.name)
    held = HeldPose(seat.eye_pose())
    speakers = _card_output()
    host = SessionThread(layout, settings, held, relay=relay, speakers=speakers, sealer=sealer)
    renderer = Renderer(context=backend.context)
    last: dict[str, object] = {}
    try:
        if backend.mode == "offscreen":
            backend.attach_targets([renderer.create_target(backend.settings.width, backend.settings.height)])
        host.start()
        log.info("joined %s:%d as %s at seat %s (%s mode, %s)", relay.host, relay.port, settings.identity, seat.seat_id,
                 backend.mode, "end-to-end encrypted" if sealer is not None else "NOT end-to-end encrypted: add --root to "
                 "join a secured room")

        t_end = time.monotonic() + args.duration if args.duration else None

        def on_frame(frame) -> None:  # type: ignore[no-untyped-def]
            inp = frame.input
            left, right = hand_pose_from_frame(inp.left), hand_pose_from_frame(inp.right)
            held.set(inp.head, left.pose if left.visible else None, right.pose if right.visible else None)
            for name in sorted(inp.keys):
                _send_gesture(host, name)
            scene.avatars, (lines, alert) = _view_state(host)
            scene.hud = place_hud(inp.head, lines, alert)
            if lines != last.get("hud"):
                last["hud"] = lines
                log.info("HUD: %s", " | ".join(lines))
            if args._recorder is not None:
                args._recorder.write(inp)
            if host.failed() is not None or (t_end is not None and time.monotonic() >= t_end):
                backend.request_exit()

        def keep(frame) -> None:  # type: ignore[no-untyped-def]
            if frame.targets:
                last["image"] = renderer.read_pixels(frame.targets[0])

        stats = runloop.run(backend, scene, renderer, None, on_frame=on_frame,
                            after_render=keep if args.screenshot else None)
        err = host.failed()
        if err is not None:
            raise err
    finally:
        report = host.stop()
        if speakers is not None:
            speakers.close()
        renderer.close()
    _save_screenshot(args, last)
    sec = report.user.get("security", {})
    if sec.get("secured"):
        log.info("room code at the end: %s (roster v%s, %s members; %s security alerts)", sec.get("room_code") or "none yet",
                 sec.get("roster_version"), sec.get("members"), sec.get("security_alerts"))
    state = report.user.get("state", {})
    log.info("left after %d frames; received %d poses, %d voice frames, %d gesture events from %d delegates",
             stats.frames, state.get("poses", 0), state.get("voice_frames", 0), state.get("gesture_events", 0),
             len(report.user.get("members", [])))
    return 0
