"""What ``vrdiplomacy join`` runs once its arguments are parsed: a local session, or a delegate
in a relay's room through :class:`~vrdiplomacy.app.client.LiveClient`."""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vrdiplomacy.app.client import ClientOptions, LiveClient
from vrdiplomacy.app.meeting_control import start_control, stop_control
from vrdiplomacy.app.session import (
    VoiceOptions,
    card_input,
    card_output,
    start_session,
    user_settings,
)
from vrdiplomacy.app.signals import exit_code, leave_on_signal
from vrdiplomacy.config import user_dirs
from vrdiplomacy.errors import ConfigError, VrdError
from vrdiplomacy.scene.math3d import Pose

log = logging.getLogger("vrdiplomacy.join")


@dataclass
class JoinOptions:
    """What ``join`` was asked for beyond the backend: ``duration`` seconds (0: until closed),
    ``screenshot`` a PNG of the last frame, ``name`` the identity in the room, ``recorder`` a
    :class:`~vrdiplomacy.gestures.record.Recorder` for the input, ``client`` the live client's
    options (desktop key hold, recognizer), ``voice`` microphone, headphones and voice profile,
    ``render_every`` draw every N-th frame (1: all; see :func:`vrdiplomacy.xr.runloop.run`),
    ``seat_named`` False when the seat was chosen for the user (a taken one then fails at once),
    ``rooms`` the room within the room and interpretation channels
    (:class:`~vrdiplomacy.session.rooms.RoomsSettings`), ``control`` the meeting control socket
    ``vrdiplomacy meeting`` reaches this client through (None: ``meeting.sock`` in the user's
    state folder), ``relays`` the other nodes of the relay's federation to fail over to, ``role``
    the role claimed in a room without end-to-end encryption (a secured room's is the invitation's),
    ``reception`` the pass and settings of a reception (:mod:`vrdiplomacy.reception`)."""

    duration: float = 0.0
    screenshot: Path | None = None
    name: str | None = None
    recorder: Any = None
    client: ClientOptions = dataclasses.field(default_factory=ClientOptions)
    voice: VoiceOptions = dataclasses.field(default_factory=VoiceOptions)
    render_every: int = 1
    seat_named: bool = True  # the user named the seat: wait for it while someone else holds it
    rooms: Any = None
    control: Path | None = None
    relays: tuple[tuple[str, int], ...] = ()
    role: str | None = None  # the role claimed in a room without end-to-end encryption
    reception: Any = None  # (PassAdmission, ReceptionSettings): a reception's pass (vrdiplomacy.reception)


@dataclasses.dataclass
class SecuredJoin:
    """Our part in a secured room: ``me`` (LocalIdentity), the trust store ``roots`` (ministry roots
    and their CRLs), our certificate ``name``, the ``admission`` we present to the relay (our
    invitation, or a chair's own) and the room ``authority`` we pin (the invitation, or a
    fingerprint)."""

    me: Any
    roots: Any
    name: str
    admission: Any = None
    authority: Any = None


def seat_origin(seat: Any) -> Pose:
    """The play space's floor origin at a seat, facing its way (a seated user's head, at the
    seated eye height above the stage floor, lands on the seat's eye point)."""
    from vrdiplomacy.scene.avatars import SEATED_EYE_HEIGHT

    eye = seat.eye_pose()
    p = np.asarray(eye.position, np.float32)
    return Pose.from_yaw(np.array([p[0], p[1] - SEATED_EYE_HEIGHT, p[2]], np.float32), seat.yaw_deg)


def _keep_last(renderer: Any, last: dict[str, Any]) -> Any:
    def keep(frame: Any) -> None:
        if frame.targets:
            last["image"] = renderer.read_pixels(frame.targets[0])

    return keep


def _after_render(backend: Any, renderer: Any, last: dict[str, Any], screenshot: Path | None) -> Any:
    """What runs after each drawn frame: keep it for ``--screenshot``; offscreen, also wait for the
    GL to finish it. Offscreen frames come as fast as the app submits them, so on a software
    renderer the GL queue ran ahead of the clock: ``--duration 3`` reported 91 frames in 3 s, then
    the process sat 15-30 s in ``eglDestroyContext`` drawing the queued ones (and a 50 s run
    overshot by minutes on a loaded machine)."""
    keep = _keep_last(renderer, last) if screenshot else None
    if backend.mode != "offscreen":
        return keep

    def finish(frame: Any) -> None:
        renderer.finish()
        if keep is not None:
            keep(frame)

    return finish


def window_renderer(backend: Any, renderer: Any) -> Any:
    """What the frame loop draws with: in desktop mode the renderer behind dynamic resolution (it
    holds a frame rate, software GL included: see :mod:`vrdiplomacy.render.dynres`), else itself."""
    if backend.mode != "desktop":
        return renderer
    from vrdiplomacy.render.dynres import AdaptiveRenderer

    return AdaptiveRenderer(renderer, swap_cpu=lambda: backend.swap_cpu_s)


def save_screenshot(path: Path | None, last: dict[str, Any]) -> None:
    if path is not None and "image" in last:
        from PIL import Image

        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(last["image"]).save(path)
        log.info("saved %s", path)


def local_session(backend: Any, scene: Any, layout: Any, vp: Any, opts: JoinOptions) -> int:
    """Alone in a scene (no relay): look around, record input, take a screenshot."""
    from vrdiplomacy.render.renderer import Renderer
    from vrdiplomacy.xr import runloop

    renderer = Renderer(context=backend.context)
    last: dict[str, Any] = {}
    try:
        origin = None
        if backend.mode == "xr":
            # the play space's floor origin sits on the viewpoint, facing its way
            origin = Pose.from_yaw(np.array([vp.position[0], vp.position[1] - 1.6, vp.position[2]], np.float32), vp.yaw_deg)
        if backend.mode == "offscreen":
            backend.attach_targets([renderer.create_target(backend.settings.width, backend.settings.height)])
        log.info("joined a local session in the %s (%s mode)%s", layout.scene, backend.mode,
                 "" if backend.mode != "desktop" else "; see 'vrdiplomacy join --help' for the controls")
        t_end = time.monotonic() + opts.duration if opts.duration else None

        def on_frame(frame: Any) -> None:
            if opts.recorder is not None:
                opts.recorder.write(frame.input)
            if t_end is not None and time.monotonic() >= t_end:
                backend.request_exit()

        with leave_on_signal(backend.request_exit, "leaving") as signals:
            stats = runloop.run(backend, scene, window_renderer(backend, renderer), origin, on_frame=on_frame,
                                after_render=_after_render(backend, renderer, last, opts.screenshot),
                                render_every=opts.render_every)
    finally:
        renderer.close()
    save_screenshot(opts.screenshot, last)
    reason = backend.finish_reason
    log.info("frame loop: %s", stats.summary())
    log.info("left after %d frames%s", stats.frames, f" ({reason})" if reason else "")
    return exit_code(signals)


def networked(backend: Any, scene: Any, layout: Any, seat: Any, relay: Any, opts: JoinOptions,
              secured: SecuredJoin | None = None) -> int:
    """Join a relay's room: your poses, voice and gestures (recognized or keys) go out; the others come in."""
    from vrdiplomacy.net.client_core import LINK_CAUSES
    from vrdiplomacy.net.client_io import RelayConnectError
    from vrdiplomacy.render.renderer import Renderer
    from vrdiplomacy.session.host import SessionThread
    from vrdiplomacy.session.runtime import HeldPose
    from vrdiplomacy.xr import runloop

    settings = user_settings(seat, layout.scene, opts.voice)
    sealer = None
    if secured is not None:
        from vrdiplomacy.net.secure import SecureRoom, SecureSettings

        role = secured.admission.role if secured.admission is not None else None  # the authority's word
        sealer = SecureRoom(settings.room, secured.me, secured.roots, SecureSettings(role=role),
                            authority=secured.authority)
        settings = dataclasses.replace(settings, identity=secured.name,
                                       client=dataclasses.replace(settings.client, admission=secured.admission))
    if opts.name:
        settings = dataclasses.replace(settings, identity=opts.name)
    if opts.reception is not None:
        adm, rec = opts.reception
        settings = dataclasses.replace(settings, reception=rec)  # exhibits with narrations, host settings
        if adm is not None:  # a reception: the relay admits us by our pass, under its name
            settings = dataclasses.replace(settings, identity=adm.invitation.guest_name,
                                           seat=settings.seat if opts.seat_named else "",  # guests stand, no seat held
                                           client=dataclasses.replace(settings.client, admission=adm))
    if opts.rooms is not None:
        settings = dataclasses.replace(settings, rooms=opts.rooms)
    # the resume token lives in the user's state folder: after a crash, the next join gets the seat back
    settings = dataclasses.replace(settings, client=dataclasses.replace(
        settings.client, resume_dir=user_dirs().state, relays=opts.relays, seat_wait_s=settings.client.seat_wait_s if opts.seat_named else 0.0))
    held = HeldPose(seat.eye_pose())
    speakers = card_output()
    mic = card_input(opts.voice.mic)
    host = SessionThread(layout, settings, held, relay=relay, mic=mic, speakers=speakers, sealer=sealer)
    renderer = Renderer(context=backend.context)
    origin = seat_origin(seat) if backend.mode == "xr" else None
    client = LiveClient(host, held, scene, origin, opts.client, opts.recorder)
    last: dict[str, Any] = {}
    control = None
    try:
        if backend.mode == "offscreen":
            backend.attach_targets([renderer.create_target(backend.settings.width, backend.settings.height)])
        try:
            start_session(host, relay)
        except RelayConnectError as e:
            # the same words the card and the log use when an established link goes (session/link.py)
            cause = e.cause or getattr(e.__context__, "cause", "")
            if cause == "seat_taken":
                raise ConfigError(f"{e}: choose a free seat with --seat ID") from None
            log.warning("connection lost: %s", LINK_CAUSES.get(cause, "no session with the relay"))
            raise
        log.info("joined %s:%d as %s at seat %s (%s mode, %s)", relay.host, relay.port, settings.identity,
                 settings.seat or "none (standing)", backend.mode,
                 "end-to-end encrypted" if sealer is not None else "a reception, not end-to-end encrypted"
                 if settings.client.admission is not None else "NOT end-to-end encrypted: add --root to join a secured room")
        if opts.role is not None:
            if sealer is not None:
                log.warning("--role is ignored in an end-to-end encrypted room: your role is your invitation's")
            else:
                from vrdiplomacy.meeting import wire as mw
                from vrdiplomacy.meeting.roles import role_index

                host.call(lambda: host.session.meeting_act(mw.CLAIM_ROLE, value=role_index(opts.role)))
                log.info("claimed the role %s (a room without end-to-end encryption: nobody checks it)", opts.role)
        try:
            control = start_control(host, opts.control)
        except VrdError as e:
            log.warning("no meeting control socket: %s", e)
        t_end = time.monotonic() + opts.duration if opts.duration else None
        checked = [0.0]

        def on_frame(frame: Any) -> None:
            client.on_frame(frame)
            now = time.monotonic()
            if t_end is not None and now >= t_end:
                backend.request_exit()
            elif now - checked[0] >= 0.5:  # is the session alive? a round trip to its thread: twice a second
                checked[0] = now
                if host.failed() is not None:
                    backend.request_exit()

        with leave_on_signal(backend.request_exit) as signals:
            stats = runloop.run(backend, scene, window_renderer(backend, renderer), origin, on_frame=on_frame,
                                after_render=_after_render(backend, renderer, last, opts.screenshot),
                                render_every=opts.render_every)
        err = host.failed()
        if err is not None:
            raise err
    finally:
        stop_control(host, control)
        report = host.stop()
        if speakers is not None:
            speakers.close()
        if mic is not None:
            mic.close()
        renderer.close()
    save_screenshot(opts.screenshot, last)
    sec = report.user.get("security", {})
    if sec.get("secured"):
        log.info("room code at the end: %s (roster v%s, %s members; %s security alerts)", sec.get("room_code") or "none yet",
                 sec.get("roster_version"), sec.get("members"), sec.get("security_alerts"))
        e2ee = report.user.get("e2ee", {})
        if e2ee:
            dropped = e2ee.get("dropped") or {}
            log.info("end-to-end: %s frames from other members verified; %s", e2ee.get("verified", 0),
                     "dropped: " + ", ".join(f"{k} {v}" for k, v in dropped.items()) if dropped else "nothing dropped")
    link = client.link
    if link is not None and link.outages:
        n = f"{link.outages} outage{'' if link.outages == 1 else 's'}"
        if link.up:
            log.info("link to the relay: %s, the last %.1f s", n, link.last_outage_s)
        else:
            log.info("link to the relay: %s; down at the end (%s)", n, link.what())
    state = report.user.get("state", {})
    meeting = report.user.get("meeting", {})
    if meeting.get("actions"):
        log.info("meeting: %s", meeting.get("summary", ""))
    log.info("frame loop: %s", stats.summary())
    log.info("left after %d frames; sent %d gesture events; received %d poses, %d voice frames, %d gesture events from "
             "%d delegates", stats.frames, report.user.get("stats", {}).get("gestures_sent", 0), state.get("poses", 0),
             state.get("voice_frames", 0), state.get("gesture_events", 0), len(report.user.get("members", [])))
    return exit_code(signals)
