#!/usr/bin/env python3
"""Client for Monado's ``remote`` driver: feed head and controller poses, buttons and finger curls headlessly.

Monado's remote driver (``src/xrt/drivers/remote``, built with ``-DXRT_BUILD_DRIVER_REMOTE=ON``,
selected with ``P_OVERRIDE_ACTIVE_CONFIG=remote``) creates a simulated HMD and two Valve Index
controllers, and listens on a TCP port (``remote.port`` in ``$XDG_CONFIG_HOME/monado/config_v0.json``,
default 4242). On connect it sends two ``r_remote_data`` messages (its reset state, then the latest
state); afterwards it reads ``r_remote_data`` messages and the devices report the latest one.

The wire message is the C struct ``r_remote_data`` of ``r_interface.h`` (Monado 25), native
little-endian with C alignment, 376 bytes (offsets checked against the compiled header)::

    u64 header                                     0   ("mndrmt3\\0"; the hub does not check it)
    head:  views[2] {fov(4f) pose(7f) u32 pad}     8   (48 bytes each)
           center pose(7f)                       104
           bool per_view_data_valid, 3 pad       132
    left:  controller (120 bytes)                136
    right: controller                            256

    controller: pose(7f) linear_velocity(3f) angular_velocity(3f) hand_curl[5] (little, ring,
    middle, index, thumb) trigger squeeze squeeze_force thumbstick(2f) trackpad_force trackpad(2f)
    then 16 bools: hand_tracking_active active system_click system_touch a_click a_touch b_click
    b_touch trigger_click trigger_touch thumbstick_click thumbstick_touch trackpad_touch + 3 pad.

A pose is Monado's ``xrt_pose``: orientation quaternion (x, y, z, w) first, then position (x, y, z),
in the runtime's stage space (the remote hub makes stage the tracking origin; local is 1.6 m up).

Hand tracking: the remote driver's controllers also report XR_EXT_hand_tracking joints
(``r_device.c``, ``r_device_get_hand_tracking``): Monado's hand simulation
(``u_hand_sim_simulate_for_valve_index_knuckles``) bends a 0.095 m hand by the five ``hand_curl``
values (0 straight, 1 curled) and places it at the controller's pose, which serves as the WRIST
joint's pose (measured on Monado 25: the wrist joint sits at the pose, the palm joint 6.4 cm along
its -Z with the same orientation; -Z runs along the fingers, +Y out of the back of the hand, the
thumb towards -X on a right hand: the XR_EXT_hand_tracking palm convention, not the OpenXR grip
pose's). ``hand_tracking_active`` says whether the runtime reports the joints as active.

Gesture scripts (:class:`Performance`) are the project's simulated performer
(:mod:`vrdiplomacy.gestures.choreo` overlays on a :mod:`vrdiplomacy.gestures.background`), turned
into remote messages: with ``source="controller"`` the Index controllers' grip pose, trigger,
squeeze and thumbstick-touch (hand tracking reported inactive, so the app builds the hand from the
controller); with ``source="hands"`` the hand's wrist pose and five finger curls (hand tracking
active, so the app uses Monado's simulated joints).

Run by hand: ``python tools/monado/remote.py --port 4242 raise`` lifts the right controller above
the head and holds it there; ``all`` performs every gesture in turn, ``--source hands`` with
tracked hands; a gesture's name performs that one (see ``--help``).
"""

from __future__ import annotations

import argparse
import math
import socket
import struct
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any
from dataclasses import dataclass, field, replace
from pathlib import Path

HEADER = struct.unpack("<Q", b"mndrmt3\0")[0]
_POSE = "4f3f"  # xrt_pose: orientation xyzw, then position xyz
_VIEW = "<4f" + _POSE + "I"  # fov (left, right, up, down), pose, pad
_HEAD = f"<{_VIEW[1:] * 2}{_POSE}?3x"
_BOOLS = ("hand_tracking_active", "active", "system_click", "system_touch", "a_click", "a_touch", "b_click", "b_touch",
          "trigger_click", "trigger_touch", "thumbstick_click", "thumbstick_touch", "trackpad_touch")
_CTL = "<" + _POSE + "3f3f5f" + "f" * 3 + "2f" + "f" + "2f" + "?" * len(_BOOLS) + "3x"
_MSG = "<Q" + _HEAD[1:] + _CTL[1:] * 2
SIZE = struct.calcsize(_MSG)
assert struct.calcsize(_HEAD) == 128 and struct.calcsize(_CTL) == 120 and SIZE == 376, (_HEAD, _CTL, SIZE)

Vec3 = tuple[float, float, float]
Quat = tuple[float, float, float, float]
IDENTITY: Quat = (0.0, 0.0, 0.0, 1.0)
_CTL_FLOATS = 7 + 3 + 3 + 5 + 3 + 2 + 1 + 2  # pose, velocities, curls, trigger/squeeze/force, stick, pad


class RemoteProtocolError(ValueError):
    """A message of the wrong size, or a hub that does not answer as Monado's remote driver does."""


@dataclass(frozen=True)
class Pose:
    """Position in metres, orientation quaternion (x, y, z, w)."""

    position: Vec3 = (0.0, 0.0, 0.0)
    orientation: Quat = IDENTITY

    def values(self) -> tuple[float, ...]:
        return (*self.orientation, *self.position)

    @staticmethod
    def from_values(v: Sequence[float]) -> "Pose":
        return Pose((v[4], v[5], v[6]), (v[0], v[1], v[2], v[3]))


@dataclass(frozen=True)
class Controller:
    """One controller's state as the remote driver takes it (Valve Index controller inputs)."""

    pose: Pose = Pose()
    linear_velocity: Vec3 = (0.0, 0.0, 0.0)
    angular_velocity: Vec3 = (0.0, 0.0, 0.0)
    hand_curl: tuple[float, float, float, float, float] = (0.0, 0.0, 0.0, 0.0, 0.0)  # little ring middle index thumb
    trigger: float = 0.0
    squeeze: float = 0.0
    squeeze_force: float = 0.0
    thumbstick: tuple[float, float] = (0.0, 0.0)
    trackpad_force: float = 0.0
    trackpad: tuple[float, float] = (0.0, 0.0)
    hand_tracking_active: bool = True
    active: bool = True
    system_click: bool = False
    system_touch: bool = False
    a_click: bool = False
    a_touch: bool = False
    b_click: bool = False
    b_touch: bool = False
    trigger_click: bool = False
    trigger_touch: bool = False
    thumbstick_click: bool = False
    thumbstick_touch: bool = False
    trackpad_touch: bool = False

    def values(self) -> tuple[object, ...]:
        return (*self.pose.values(), *self.linear_velocity, *self.angular_velocity, *self.hand_curl, self.trigger,
                self.squeeze, self.squeeze_force, *self.thumbstick, self.trackpad_force, *self.trackpad,
                *(getattr(self, b) for b in _BOOLS))

    @staticmethod
    def from_values(v: Sequence[object]) -> "Controller":
        f = [float(x) for x in v[:_CTL_FLOATS]]  # type: ignore[arg-type]
        bools = {name: bool(x) for name, x in zip(_BOOLS, v[_CTL_FLOATS:_CTL_FLOATS + len(_BOOLS)])}
        return Controller(Pose.from_values(f[0:7]), (f[7], f[8], f[9]), (f[10], f[11], f[12]),
                          (f[13], f[14], f[15], f[16], f[17]), f[18], f[19], f[20], (f[21], f[22]), f[23],
                          (f[24], f[25]), **bools)


_CTL_VALUES = _CTL_FLOATS + len(_BOOLS)
_HEAD_VALUES = 2 * 12 + 7 + 1


@dataclass(frozen=True)
class RemoteData:
    """The whole ``r_remote_data`` message: head centre (view space) and both controllers.

    Per-view data (field of view and eye poses) is sent invalid, so the HMD keeps its own defaults.
    ``header`` is kept as received (the hub's own reset message carries 0)."""

    head: Pose = Pose((0.0, 1.6, 0.0))
    left: Controller = field(default_factory=lambda: Controller(Pose((-0.2, 1.3, -0.5))))
    right: Controller = field(default_factory=lambda: Controller(Pose((0.2, 1.3, -0.5))))
    header: int = HEADER

    def __bytes__(self) -> bytes:
        views = (0.0,) * 4 + IDENTITY + (0.0, 0.0, 0.0) + (0,)
        return struct.pack(_MSG, self.header, *views, *views, *self.head.values(), False,
                           *self.left.values(), *self.right.values())

    @staticmethod
    def parse(data: bytes) -> "RemoteData":
        if len(data) != SIZE:
            raise RemoteProtocolError(f"a remote message is {SIZE} bytes, not {len(data)}")
        v = struct.unpack(_MSG, data)
        head = Pose.from_values(v[25:32])  # after header (1) and two views (12 each)
        left = Controller.from_values(v[1 + _HEAD_VALUES:1 + _HEAD_VALUES + _CTL_VALUES])
        right = Controller.from_values(v[1 + _HEAD_VALUES + _CTL_VALUES:])
        return RemoteData(head, left, right, header=int(v[0]))  # type: ignore[arg-type]


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise RemoteProtocolError(f"the hub closed the connection after {len(buf)} of {n} bytes")
        buf += chunk
    return bytes(buf)


class RemoteClient:
    """A connection to the remote hub. ``connect()`` retries until the hub listens (it starts
    when the runtime creates its system, i.e. at the app's xrCreateInstance) and reads the hub's
    reset and latest states into ``reset`` / ``initial``."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.host, self.port = host, port
        self.sock: socket.socket | None = None
        self.reset: RemoteData | None = None
        self.initial: RemoteData | None = None
        self.sent = 0

    def connect(self, timeout: float = 60.0, alive: Callable[[], bool] = lambda: True) -> "RemoteClient":
        deadline = time.monotonic() + timeout
        last: OSError | None = None
        while time.monotonic() < deadline and alive():
            try:
                s = socket.create_connection((self.host, self.port), timeout=5.0)
            except OSError as e:
                last = e
                time.sleep(0.1)
                continue
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.sock = s
            self.reset = RemoteData.parse(_recv_exact(s, SIZE))
            self.initial = RemoteData.parse(_recv_exact(s, SIZE))
            return self
        raise ConnectionError(f"Monado's remote hub did not accept a connection on {self.host}:{self.port} "
                              f"within {timeout:g} s ({last or 'the runtime process ended'})")

    def send(self, data: RemoteData) -> None:
        if self.sock is None:
            raise ConnectionError("not connected")
        self.sock.sendall(bytes(data))
        self.sent += 1

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def __enter__(self) -> "RemoteClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ------------------------------------------------------------------ motion scripts

FINGERS_UP: Quat = (math.sin(math.pi / 4), 0.0, 0.0, math.cos(math.pi / 4))  # +90° about X: grip -Z points up


def _lerp(a: Vec3, b: Vec3, s: float) -> Vec3:
    s = 0.5 - 0.5 * math.cos(math.pi * min(max(s, 0.0), 1.0))  # ease in and out
    return (a[0] + (b[0] - a[0]) * s, a[1] + (b[1] - a[1]) * s, a[2] + (b[2] - a[2]) * s)


def _slerp(a: Quat, b: Quat, s: float) -> Quat:
    s = min(max(s, 0.0), 1.0)
    dot = sum(x * y for x, y in zip(a, b))
    if dot < 0:
        b, dot = tuple(-x for x in b), -dot  # type: ignore[assignment]
    if dot > 0.9995:
        q = tuple(x + (y - x) * s for x, y in zip(a, b))
    else:
        th = math.acos(dot)
        q = tuple((math.sin((1 - s) * th) * x + math.sin(s * th) * y) / math.sin(th) for x, y in zip(a, b))
    n = math.sqrt(sum(x * x for x in q))
    return tuple(x / n for x in q)  # type: ignore[return-value]


@dataclass(frozen=True)
class RaiseHand:
    """Right controller: rest at chest height, lift above the head, hold still, lower again.

    Times in seconds from the start; positions in stage space for a head at ``head`` (1.6 m)."""

    head: Pose = Pose((0.0, 1.6, 0.0))
    rest: Vec3 = (0.22, 1.05, -0.30)
    raised: Vec3 = (0.25, 1.98, -0.12)  # 0.38 m above the eyes, beside and slightly ahead of the head
    rest_s: float = 1.5
    lift_s: float = 0.7
    hold_s: float = 5.0  # long enough for 3+ app frames while llvmpipe draws Monado's eyes at ~1 fps
    lower_s: float = 0.7

    @property
    def duration(self) -> float:
        return self.rest_s + self.lift_s + self.hold_s + self.lower_s + self.rest_s

    @property
    def hold_window(self) -> tuple[float, float]:
        t0 = self.rest_s + self.lift_s
        return t0, t0 + self.hold_s

    def at(self, t: float, base: RemoteData) -> RemoteData:
        up0 = self.rest_s
        down0 = up0 + self.lift_s + self.hold_s
        if t < down0:
            s = (t - up0) / self.lift_s
            pos, q = _lerp(self.rest, self.raised, s), _slerp(IDENTITY, FINGERS_UP, s)
        else:
            s = (t - down0) / self.lower_s
            pos, q = _lerp(self.raised, self.rest, s), _slerp(FINGERS_UP, IDENTITY, s)
        right = replace(base.right, pose=Pose(pos, q), active=True)
        return replace(base, head=self.head, right=right, header=HEADER)


# ------------------------------------------------------------------ every gesture, from the simulated performer

SOURCES = ("controller", "hands")
ORDER = ("raise_hand", "nod", "head_shake", "thumbs_up", "thumbs_down", "wave", "applause", "point", "open_palms",
         "handshake")
WRIST_TO_PALM: Vec3 = (-0.003, 0.001, -0.064)  # Monado 25's simulated right hand, metres in the wrist frame
# Monado 25's straight thumb (curl 0), proximal joint to tip, in a right hand's wrist frame: 24 degrees
# towards the palm and 27 forward of the project's thumbs-up thumb (which runs along -X)
MONADO_THUMB: Vec3 = (-0.796, -0.408, -0.447)
HOLD_S = 1.8  # the shortest a held gesture (raised hand, thumbs, pointing, open palms) is held
CYCLES_S = 2.5  # the shortest a wave or applause goes on


@dataclass(frozen=True)
class Cue:
    """When a gesture is performed: ``onset`` the motion starts, ``held`` it is fully formed,
    ``end`` the hand is back at rest (seconds from the script's start)."""

    gesture: str
    hand: str
    onset: float
    held: float
    release: float
    end: float


class Performance:
    """``gestures`` in turn (``gap`` seconds of ordinary listening between them) by the project's
    simulated performer, as remote-driver messages at ``rate`` Hz.

    The performer sits at the stage origin facing -Z with its eyes 1.2 m up (the seated eye height
    ``join`` puts on a seat), gestures with its right hand, moves naturally (head bobs, glances)
    between gestures, with tracking noise and dropouts off. ``targets`` and ``partner`` are the
    performer's (stage space): a handshake is offered to ``partner``; ``handshake_hold`` seconds
    the offered hand is held out (long enough for the other delegate to answer and shake it); other
    held gestures last at least ``hold`` seconds, waves and applause go on at least ``cycles`` seconds.

    Tracked hands are Monado's hand model, not the performer's: the script places Monado's palm
    joint on the performer's palm with the same orientation and curls the fingers as the performer
    does; where the performer's thumb sticks up or down (thumbs up/down) the hand is turned by the
    rotation that takes Monado's straight thumb (``MONADO_THUMB``) onto the performer's, so the
    thumb, not the fist, points where the performer's does."""

    def __init__(self, source: str = "controller", gestures: Sequence[str] = ORDER, seed: int = 3, rate: float = 60.0,
                 gap: float = 1.3, lead: float = 2.0, handshake_hold: float = 6.0, hold: float = HOLD_S,
                 cycles: float = CYCLES_S) -> None:
        import numpy as np

        from vrdiplomacy.gestures.background import make_background
        from vrdiplomacy.gestures.choreo import gesture_overlay, make_targets
        from vrdiplomacy.gestures.perform import Performer
        from vrdiplomacy.gestures.types import Gesture

        held = {Gesture.RAISE_HAND, Gesture.THUMBS_UP, Gesture.THUMBS_DOWN, Gesture.POINT, Gesture.OPEN_PALMS}
        if source not in SOURCES:
            raise ValueError(f"source must be one of {', '.join(SOURCES)}, not {source!r}")
        self.source, self.rate = source, rate
        rng = np.random.default_rng(seed)
        perf = Performer("monado", "controller" if source == "controller" else "articulated", hand_scale=1.0, speed=0.9,
                         amplitude=1.0, eye_height=1.2, dominant="right", noise=0.0, dropout_rate=0.0, yaw0=0.0,
                         position=(0.0, 0.0), arm=1.0)
        self.performer = perf
        self.targets, self.partner = make_targets(perf, rng)
        t = lead
        overlays = []
        cues = []
        for name in gestures:
            ov = gesture_overlay(Gesture.parse(name), "right", perf, rng, t, self.targets, self.partner)
            while ov.gesture in (Gesture.WAVE, Gesture.APPLAUSE) and ov.t_act < cycles:
                # a clear wave or applause: a draw with fewer cycles than ``cycles`` seconds is drawn again
                ov = gesture_overlay(Gesture.parse(name), "right", perf, rng, t, self.targets, self.partner)
            if ov.gesture is Gesture.HANDSHAKE:
                ov = replace(ov, t_act=handshake_hold)
            elif ov.gesture in held:
                ov = replace(ov, t_act=max(ov.t_act, hold))  # a clear performance, not the recognizer's edge case
            overlays.append(ov)
            cues.append(Cue(name, ov.hand, ov.t0, ov.t0 + ov.t_in, ov.t0 + ov.t_in + ov.t_act, ov.end))
            t = ov.end + gap
        self.cues = tuple(cues)
        self.duration = t
        self._overlays = overlays
        self._bg = make_background(perf, rng, self.duration + 1.0, negative=False)
        self._rng = rng
        self._frames = [self._frame(i / rate) for i in range(int(self.duration * rate) + 1)]

    def cue(self, gesture: str) -> Cue:
        return next(c for c in self.cues if c.gesture == gesture)

    def _frame(self, t: float) -> tuple[Pose, Controller, Controller]:
        """The performer at ``t`` (:func:`vrdiplomacy.gestures.background.performer_at`: the
        background with the gesture overlays, as the tuning data's renderer blends them) as a
        head pose and two remote controllers."""
        import numpy as np

        from vrdiplomacy.gestures.background import _controller, performer_at
        from vrdiplomacy.gestures.perform import _quat
        from vrdiplomacy.scene.math3d import quat_from_yaw_pitch_roll

        pose, hands, dyaw, dpitch = performer_at(self._bg, self._overlays, t)
        eye = np.array([0.0, self.performer.eye_height, 0.0])
        q = quat_from_yaw_pitch_roll(math.radians(pose.yaw + dyaw), math.radians(pose.pitch + dpitch))
        head = Pose(_vec(eye + pose.head), _q(q))
        ctl = []
        for side in ("left", "right"):
            h = hands[side]
            pos, rot = eye + h.pos, h.rot  # body frame = stage frame (the performer faces -Z at the origin)
            if self.source == "controller":
                c = _controller(h, side, pos, rot, self._rng)
                assert c.grip is not None
                ctl.append(Controller(Pose(_vec(c.grip.position), _q(c.grip.orientation)), trigger=c.trigger,
                                      squeeze=c.squeeze, trigger_touch=c.trigger_touch, thumbstick_touch=c.thumb_touch,
                                      hand_tracking_active=False))
                continue
            mirror = np.array([1.0 if side == "right" else -1.0, 1.0, 1.0])
            if h.shape.thumb_up > 0.0:
                rot = rot @ _thumb_turn(side, h.shape.thumb_up)
            wrist = pos - rot @ (np.array(WRIST_TO_PALM) * mirror)  # Monado's palm joint lands on the performer's palm
            curls = h.shape.curls  # index, middle, ring, little
            ctl.append(Controller(Pose(_vec(wrist), _q(_quat(rot))),
                                  hand_curl=(curls[3], curls[2], curls[1], curls[0], h.shape.thumb_fold),
                                  hand_tracking_active=True))
        return head, ctl[0], ctl[1]

    def at(self, t: float, base: RemoteData | None = None) -> RemoteData:
        i = min(max(int(round(t * self.rate)), 0), len(self._frames) - 1)
        head, left, right = self._frames[i]
        return RemoteData(head, left, right)


def _thumb_turn(side: str, weight: float) -> Any:
    """The rotation (hand frame, ``weight`` of it) taking Monado's straight thumb onto the
    performer's thumbs-up thumb (:func:`vrdiplomacy.gestures.synth.local_joints`)."""
    import numpy as np

    from vrdiplomacy.gestures.synth import HandShape, local_joints
    from vrdiplomacy.input.frame import Joint

    j = local_joints(HandShape((1.0, 1.0, 1.0, 1.0), 0.0, 1.0), side)
    b = j[Joint.THUMB_TIP] - j[Joint.THUMB_PROXIMAL]
    b = b / np.linalg.norm(b)
    a = np.array(MONADO_THUMB) * np.array([1.0 if side == "right" else -1.0, 1.0, 1.0])
    a = a / np.linalg.norm(a)
    axis = np.cross(a, b)
    angle = math.atan2(float(np.linalg.norm(axis)), float(a @ b)) * min(max(weight, 0.0), 1.0)
    k = axis / np.linalg.norm(axis)
    kx = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.eye(3) + math.sin(angle) * kx + (1.0 - math.cos(angle)) * (kx @ kx)  # Rodrigues


def _vec(v: Sequence[float]) -> Vec3:
    return (float(v[0]), float(v[1]), float(v[2]))


def _q(v: Sequence[float]) -> Quat:
    return (float(v[0]), float(v[1]), float(v[2]), float(v[3]))


def play(client: RemoteClient, script: RaiseHand | Performance, rate_hz: float = 60.0, repeat: int = 1,
         alive: Callable[[], bool] = lambda: True) -> int:
    """Send ``script`` ``repeat`` times at ``rate_hz``; returns the messages sent."""
    base = client.initial or RemoteData()
    period = 1.0 / rate_hz
    for _ in range(repeat):
        t0 = time.monotonic()
        while alive():
            t = time.monotonic() - t0
            if t > script.duration:
                break
            client.send(script.at(t, base))
            time.sleep(max(0.0, period - (time.monotonic() - t0 - t)))
    return client.sent


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Drive Monado's remote driver: head, controllers and tracked hands.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=4242, help="the hub's port (remote.port in Monado's config_v0.json)")
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--rate", type=float, default=60.0, help="messages per second")
    p.add_argument("--source", choices=SOURCES, default="controller",
                   help="gesture scripts: controller (Index controllers, hand tracking off) or hands (tracked hands)")
    p.add_argument("--seed", type=int, default=3, help="the simulated performer's random seed (gesture scripts)")
    p.add_argument("script", choices=("raise", "all", *ORDER),
                   help="raise: the right controller goes up, is held 3 s, comes down; all: every gesture in turn; "
                        "a gesture's name: that gesture")
    a = p.parse_args(argv)
    root = str(Path(__file__).resolve().parents[2])  # run from a checkout: the gesture scripts import vrdiplomacy
    if root not in sys.path:
        sys.path.insert(0, root)
    script: RaiseHand | Performance
    if a.script == "raise":
        script = RaiseHand()
    else:
        script = Performance(a.source, ORDER if a.script == "all" else (a.script,), seed=a.seed, rate=a.rate)
        print("cues: " + ", ".join(f"{c.gesture} {c.onset:.1f}-{c.end:.1f} s" for c in script.cues))
    try:
        with RemoteClient(a.port, a.host) as c:
            c.connect()
            print(f"connected; the hub's reset state puts the head at {c.reset.head.position if c.reset else '?'}")
            n = play(c, script, a.rate, a.repeat)
            print(f"sent {n} messages")
    except (OSError, RemoteProtocolError) as e:  # no hub, or it went away (the runtime ended)
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
