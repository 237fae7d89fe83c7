"""``vrdiplomacy join``: take a seat in a session, in a headset or at the desktop.

With ``--relay HOST:PORT --fingerprint HEX`` you join that relay's room as a delegate at
``--seat`` (default: the layout's default seat); without a relay this runs a local session. ``--mode auto`` tries OpenXR and
falls back to a desktop window with one log line saying why (``--no-fallback`` makes that an
error); with neither a runtime nor a display it says so and points to ``--mode offscreen``
and ``vrdiplomacy qa run``.
"""

from __future__ import annotations

import argparse
import logging
import textwrap
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
    room keys:
      N  next room (plenary, lounge, the bilateral room of --room-space)
      L  next listening channel (floor, en, fr, es, ar, ru, zh)
    chair keys (your role must allow it; otherwise one line says why):
      G grant the floor to the next on the list   R revoke the floor   M mute/unmute the speaker
      T one more minute of speaking time          I next agenda item
    procedure actions from another terminal: vrdiplomacy meeting --help
    Ctrl-C (or SIGTERM) leaves the room as Esc does, prints the summary and exits with 130 (143);
    a second Ctrl-C quits at once.
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
    p.add_argument("--render-every", type=int, default=1, metavar="N",
                   help="draw the first frame, then every N-th (default 1: all). Input is still read and sent every "
                        "frame: on a software renderer (no GPU) this keeps gestures and poses at the runtime's frame rate")
    p.add_argument("--relay", metavar="HOST:PORT[,HOST:PORT...]",
                   help="join the session on this relay (default: a local session); several nodes of one federation "
                        "(comma-separated, one certificate): the client fails over between them")
    p.add_argument("--fingerprint", metavar="FP",
                   help="the relay certificate's SHA-256 fingerprint, as printed by 'vrdiplomacy relay' (required with "
                        "--relay): 64 hex digits, with or without colons, any case")
    p.add_argument("--seat", metavar="ID", help="your seat id in the layout (default: your delegation's seat, found by your certificate's name or "
                        "--name, else the layout's default seat; a default seat someone holds is an error, a named one is waited for)")
    p.add_argument("--name", metavar="NAME", help="your identity in the room (default: derived from the seat's delegation)")
    p.add_argument("--role", metavar="ROLE", choices=("guest", "observer", "interpreter", "advisor", "delegate", "head",
                                                      "secretariat", "host", "chair"),
                   help="your role in a room WITHOUT end-to-end encryption (claimed, nobody checks it: practice "
                        "only); in a secured room your role is your invitation's (default: delegate)")
    p.add_argument("--record", type=Path, metavar="FILE.jsonl",
                   help="record your input (head, hands, controllers, keys) as JSON Lines (.gz to compress); "
                        "'vrdiplomacy gestures classify FILE' reads it")
    p.add_argument("--screenshot", type=Path, metavar="FILE.png", help="save the last frame (desktop/offscreen: the view; xr: the left eye)")
    p.add_argument("--control", type=Path, metavar="PATH",
                   help="the socket 'vrdiplomacy meeting' reaches this client through (default: meeting.sock in your "
                        "state folder)")
    p.add_argument("--no-recognizer", action="store_true",
                   help="do not turn hand and controller motion into gestures (gesture keys still work)")
    voice = p.add_argument_group("voice")
    voice.add_argument("--mic", default="default", metavar="DEVICE",
                       help="microphone: default, a sound card index or part of its name, file:PATH.wav, or none "
                            "(default: the default input)")
    voice.add_argument("--headphones", action="store_true",
                       help="you wear headphones: no echo cancellation or noise suppression (default: loudspeakers, "
                            "with WebRTC's echo canceller and noise suppressor)")
    voice.add_argument("--voice-profile", choices=("full", "low"), default="full",
                       help="full: 48 kHz Opus up to 20 kHz, 48 kb/s, so voices keep their front/back and height "
                            "cues (default); low: wideband 24 kb/s for poor links")
    rooms = p.add_argument_group(
        "rooms and interpretation",
        textwrap.fill("The room holds the plenary, an informal lounge and closed-door bilateral rooms: you hear, see "
                      "and reach only the members of the one you are in. Interpreters speak into a language "
                      "channel; each listener hears the floor or one channel (the floor ducked 18 dB under it).", 76))
    rooms.add_argument("--room-space", default="plenary", metavar="ROOM",
                       help="start in this room: plenary (default), lounge, or bilateral:AAA+BBB (the two delegations "
                            "only; the relay refuses anyone else with a one-line reason)")
    rooms.add_argument("--listen", default="floor", metavar="LANG",
                       help="hear the floor (default) or an interpretation channel, e.g. fr")
    rooms.add_argument("--interpret", default="", metavar="LANG",
                       help="interpret into this channel, e.g. fr (you hear the floor; in a secured room your "
                            "invitation must give you the interpreter role)")
    rec = p.add_argument_group(
        "reception",
        textwrap.fill("A reception (the embassy scene) admits holders of a pass its host signed ('vrdiplomacy "
                      "reception invite'). Guests beyond its capacity wait in a waiting area and enter in turn; "
                      "hosts greet the line and make announcements everyone in the hall hears ('vrdiplomacy "
                      "reception --help').", 76))
    rec.add_argument("--pass", dest="reception_pass", type=Path, metavar="FILE",
                     help="your reception pass (a host's or co-host's pass is bound to the key in --dir)")
    rec.add_argument("--capacity", type=int, metavar="N",
                     help="as the reception's host: guests in the hall (0: no limit); the rest wait")
    rec.add_argument("--exhibits", type=Path, metavar="FILE.toml",
                     help="the scene's exhibits with narrated audio (WAV files named in the TOML), each played "
                          "when you come near it")
    from vrdiplomacy.commands.identity import DEFAULT_HOME, add_passphrase
    from vrdiplomacy.net.room_code_cli import add_identity_arguments

    sec = p.add_argument_group(
        "secured room (end-to-end encryption)",
        textwrap.fill("With --root (and --relay), join as your delegation's certificate: the chair admits you to the "
        "signed roster, your voice, poses and gestures are end-to-end encrypted (the relay's host cannot "
        "listen), and the card below your view shows the room code to compare aloud with the other "
        "delegations, and any roster change or security alert. Without --root the card says the room "
        "is not end-to-end encrypted.", 76))
    add_identity_arguments(sec, DEFAULT_HOME, add_passphrase, root_required=False)


def _secured_identity(args: argparse.Namespace, relay: object | None) -> tuple[object, list, str] | None:  # type: ignore[type-arg]
    """(our LocalIdentity, trusted roots, certificate name) for a secured room, None without --root."""
    if not args.root:
        if args.invite or (not getattr(args, "reception_pass", None) and (args.dir or args.cert or args.key)):
            raise ConfigError("--dir/--cert/--key/--invite need --root: the ministry root(s) you trust")
        return None
    if relay is None:
        raise ConfigError("--root joins a secured room on a relay: add --relay HOST:PORT --fingerprint FP")
    from vrdiplomacy.commands.identity import DEFAULT_HOME, read_passphrase
    from vrdiplomacy.net.room_code_cli import load_delegate

    return load_delegate(args, DEFAULT_HOME, read_passphrase(args.passphrase_file))


def _secured_join(args: argparse.Namespace, identity: tuple[object, list, str], room: str, seat: str) -> object:  # type: ignore[type-arg]
    """What we present in a secured room: ``--invite`` (or a chair's own invitation) and the pinned authority."""
    from vrdiplomacy.app.join import SecuredJoin
    from vrdiplomacy.net.room_code_cli import load_admission, room_authority

    me, roots, name = identity
    admission = load_admission(args, me, roots, room, seat)  # type: ignore[arg-type]
    return SecuredJoin(me, roots, name, admission, room_authority(args, admission))


def _reception(args: argparse.Namespace, room: str, layout: object = None) -> object | None:
    """(the pass admission or None, ReceptionSettings) of ``--pass`` and ``--exhibits``, checked
    before a window opens."""
    exhibits = []
    if getattr(args, "exhibits", None) is not None:
        from vrdiplomacy.reception.exhibits import load_exhibits

        exhibits = load_exhibits(args.exhibits, layout)
    if args.reception_pass is None:
        if args.capacity is not None:
            raise ConfigError("--capacity is for a reception's host: add --pass FILE (your host pass)")
        if exhibits:
            from vrdiplomacy.reception.session import ReceptionSettings

            return None, ReceptionSettings(exhibits=exhibits)
        return None
    import time

    from vrdiplomacy.commands.identity import DEFAULT_HOME, read_passphrase
    from vrdiplomacy.crypto import identity as ident
    from vrdiplomacy.reception.passes import PassAdmission, read_pass
    from vrdiplomacy.reception.session import ReceptionSettings

    if args.root or args.invite:
        raise ConfigError("--pass enters a reception (not end-to-end encrypted): leave out --root/--invite")
    p = read_pass(args.reception_pass)
    p.check(time.time(), room)  # names the pass's room when it is not this scene's: --scene that room
    key = None
    if p.keyed:
        folder = args.dir or DEFAULT_HOME / "delegation"
        key = ident.load_private_key(args.key or folder / "delegation.key", read_passphrase(args.passphrase_file))
    if args.capacity is not None and (p.role != "host" or args.capacity < 0):
        raise ConfigError("--capacity N (N >= 0) is for the reception's host")
    return PassAdmission(p, key), ReceptionSettings(host=p.role == "host", capacity=args.capacity, exhibits=exhibits)


def _rooms(args: argparse.Namespace) -> object:
    """The RoomsSettings of ``--room-space``, ``--listen`` and ``--interpret`` (checked before a window opens)."""
    from vrdiplomacy.errors import ProtocolError
    from vrdiplomacy.net.wire_spaces import parse_space_option
    from vrdiplomacy.session.rooms import RoomsSettings

    listen = "" if args.listen in ("floor", "") else args.listen
    try:
        return RoomsSettings(parse_space_option(args.room_space), args.interpret, listen)
    except ProtocolError as e:
        raise ConfigError(f"--room-space/--listen/--interpret: {e}") from None


def run(args: argparse.Namespace) -> int:
    logging.getLogger("OpenGL").setLevel(logging.WARNING)  # PyOpenGL's start-up chatter
    from vrdiplomacy.app.addresses import parse_host_port, relay_address
    from vrdiplomacy.app.client import ClientOptions
    from vrdiplomacy.app.join import JoinOptions, local_session, networked
    from vrdiplomacy.config import load_user_config
    from vrdiplomacy.render.frames import parse_size
    from vrdiplomacy.xr.backend import BackendSettings
    from vrdiplomacy.xr.factory import create_backend

    if args.frames < 0:
        raise ConfigError("--frames must be >= 0")
    if args.duration < 0:
        raise ConfigError("--duration must be >= 0")
    if args.render_every < 1:
        raise ConfigError("--render-every must be >= 1")
    w, h = parse_size(args.size)
    first, _sep, others = (args.relay or "").partition(",")
    relay = relay_address(first or None, args.fingerprint)
    relays = tuple(parse_host_port(a.strip()) for a in others.split(",") if a.strip())
    identity = _secured_identity(args, relay)
    config = load_user_config()
    from vrdiplomacy.scene.assets import load_scene

    scene, layout = load_scene(args.scene)
    vp = layout.view(args.view)
    seat = None
    if relay is not None:
        from vrdiplomacy.scene.delegations import seat_of

        # not named: the delegation's own seat (by certificate name or --name), else the layout's default
        who = identity[2] if identity is not None else (args.name or "")
        seat_id = (args.seat or seat_of(who, {s.seat_id for s in layout.seats}) or layout.default_seat
                   or (layout.seats[0].seat_id if layout.seats else ""))
        try:
            seat = layout.seat(seat_id)
        except KeyError:
            raise ConfigError(f"--seat: no seat '{seat_id}' in the {layout.scene} layout") from None
        from vrdiplomacy.scene.layout import Viewpoint

        eye = seat.eye_pose()
        vp = Viewpoint(f"seat {seat.seat_id}", tuple(float(v) for v in eye.position), seat.yaw_deg,  # type: ignore[arg-type]
                       fov_deg=vp.fov_deg)
    # the invitation is checked before a window opens
    secured = None if identity is None or seat is None else _secured_join(args, identity, layout.scene, seat.seat_id)
    if relay is None:
        given = [o for o, v in (("--pass", args.reception_pass), ("--capacity", args.capacity),
                                ("--exhibits", args.exhibits)) if v is not None]
        if given:  # a local session has no reception: they were silently ignored
            raise ConfigError(f"{'/'.join(given)} needs --relay HOST:PORT: a reception is a room on a relay "
                              "(without --relay, join runs a local session)")
    reception = _reception(args, layout.scene, layout) if relay is not None else None
    settings = BackendSettings(mode=args.mode, fallback=not args.no_fallback, graphics=args.graphics, space=args.space,
                               hand_tracking=not args.no_hand_tracking, width=w, height=h, fov_deg=vp.fov_deg,
                               start_pose=(vp.position, vp.yaw_deg), frames=args.frames,
                               desktop_keys=config.desktop_keys)
    backend = create_backend(settings)
    recorder = None
    if args.record is not None:
        from vrdiplomacy.gestures.record import Recorder

        recorder = Recorder(args.record, meta={"scene": layout.scene, "mode": backend.mode})
    from vrdiplomacy.app.session import VoiceOptions

    rooms = _rooms(args)
    if seat is not None and layout.flag_slots:  # a bilateral room's side flags: the two delegations meeting
        from vrdiplomacy.render.room_flags import dress_flags, flags_for_space

        dress_flags(scene, layout, flags_for_space(layout, rooms.space, seat.side, who))  # type: ignore[attr-defined]
    opts = JoinOptions(args.duration, args.screenshot, args.name, recorder,
                       ClientOptions(config.client.key_hold, recognize=not args.no_recognizer,
                                     mapping=config.mapping.controller),
                       VoiceOptions(args.mic, args.headphones, args.voice_profile), args.render_every,
                       seat_named=args.seat is not None, rooms=rooms, control=args.control, relays=relays,
                       role=args.role, reception=reception)
    try:
        if relay is not None:
            return networked(backend, scene, layout, seat, relay, opts, secured)  # type: ignore[arg-type]
        return local_session(backend, scene, layout, vp, opts)
    finally:
        backend.shutdown()
        if recorder is not None:
            recorder.close()
            log.info("recorded %d frames to %s", recorder.frames, args.record)
