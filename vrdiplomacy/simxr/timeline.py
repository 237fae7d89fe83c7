"""The simulated headset's script: settings, keyframes of what the user does, session events.

A script is JSON or TOML. Everything is optional::

    [headset]                 # HeadsetSettings fields
    fps = 90
    resolution = [320, 240]   # per eye
    profile = "/interaction_profiles/oculus/touch_controller"
    hand_tracking = true
    frames = 120              # how long `qa run` lasts (frames); 0 = until the script exits
    capture = [1, 60]         # frames whose eye images are read back

    [[key]]                   # state from this frame on (until the next key changes it)
    frame = 0                 # or: time = 0.5 (seconds)
    head = { position = [0, 1.6, 0], yaw_deg = 0 }
    left = { trigger = 0.5, thumbstick = [0.2, -0.3], primary = true,
             grip = { position = [-0.2, 1.2, -0.3] }, hand = { shape = "open" } }

    [[event]]
    frame = 30
    type = "focus_loss"       # focus_gain, profile_change (profile = ...), session_loss,
                              # instance_loss, exit, standby (the headset sleeps for
                              # [headset] standby_s seconds of wall time: the session stops and
                              # stays IDLE, then comes back READY)

A pose is ``{position = [x, y, z], orientation = [x, y, z, w]}`` or with ``yaw_deg``,
``pitch_deg``, ``roll_deg`` instead of ``orientation``; ``interp = "linear"`` blends from the
previous key's pose to this one over the frames between them (the default holds, "step").
A hand is ``{shape = "open", wrist = POSE}`` (shapes: open, relaxed, fist, point, pinch, grip,
thumbs_up; without a wrist the hand holds the controller at its grip pose, read by the
OpenXR grip convention of :mod:`vrdiplomacy.xr.skeleton`: fingers along grip -Y, thumb side
towards grip -Z), or ``{joints = [[px, py, pz, qx, qy, qz, qw,
radius] x 26]}`` given exactly, or ``false`` for an untracked hand. Poses are in the stage space
(the local space coincides with it), metres, +Y up, -Z forward.
"""

from __future__ import annotations

import bisect
import json
import math
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from vrdiplomacy.errors import ConfigError
from vrdiplomacy.input.frame import HAND_JOINT_COUNT, HandJoints
from vrdiplomacy.scene.math3d import Pose, quat_from_yaw_pitch_roll, quat_normalize, quat_slerp
from vrdiplomacy.xr.skeleton import SHAPES, shape_joints, wrist_from_grip

EVENT_TYPES = ("focus_loss", "focus_gain", "profile_change", "session_loss", "instance_loss", "exit", "standby")
PROFILE_PREFIX = "/interaction_profiles/"


@dataclass
class HeadsetSettings:
    """The simulated device.

    Fields: ``fps`` display rate; ``resolution`` (width, height) per eye; ``fov_deg`` (left,
    right, up, down) in degrees, left/down negative; ``ipd`` metres between the eyes;
    ``hand_tracking`` whether the system offers XR_EXT_hand_tracking; ``profile`` the controllers'
    interaction profile; ``unsupported_profiles`` profiles this runtime rejects bindings for;
    ``frames`` how many frames a QA run lasts (0: until an ``exit`` event); ``capture`` frames
    whose eye images are read back; ``recover_after_loss`` whether the device comes back after a
    ``session_loss`` (else the system stays unavailable); ``realtime`` paces xrWaitFrame to
    ``fps`` (off: frames run as fast as the app submits them, on a simulated clock);
    ``offer_egl`` whether XR_MNDX_egl_enable is offered; ``refuse_instance`` /
    ``refuse_session`` a reason to refuse xrCreateInstance (XR_ERROR_INITIALIZATION_FAILED) /
    xrCreateSession (XR_ERROR_RUNTIME_FAILURE), written to stderr as a runtime does ("": accept);
    ``standby_s`` how long a ``standby`` event keeps the session IDLE (seconds of wall time).
    """

    fps: float = 90.0
    resolution: tuple[int, int] = (320, 240)
    fov_deg: tuple[float, float, float, float] = (-45.0, 45.0, 40.0, -40.0)
    ipd: float = 0.064
    hand_tracking: bool = True
    profile: str = "/interaction_profiles/oculus/touch_controller"
    unsupported_profiles: tuple[str, ...] = ()
    frames: int = 0
    capture: tuple[int, ...] = ()
    recover_after_loss: bool = True
    realtime: bool = False
    offer_egl: bool = True
    refuse_instance: str = ""
    refuse_session: str = ""
    standby_s: float = 5.0

    @property
    def period_ns(self) -> int:
        return int(round(1e9 / self.fps))


@dataclass
class HandDevice:
    """One hand's device state: the controller and the tracked hand."""

    active: bool = True
    trigger: float = 0.0
    squeeze: float = 0.0
    thumbstick: tuple[float, float] = (0.0, 0.0)
    thumbstick_click: bool = False
    primary: bool = False
    secondary: bool = False
    menu: bool = False
    thumb_touch: bool = False
    trigger_touch: bool = False
    grip: Pose = field(default_factory=Pose)
    aim: Pose = field(default_factory=Pose)
    hand: HandJoints | None = None


@dataclass
class DeviceState:
    head: Pose
    left: HandDevice
    right: HandDevice


@dataclass
class ScriptEvent:
    frame: int
    type: str
    profile: str = ""


@dataclass
class _Key:
    frame: int
    data: dict[str, Any]


_BOOL_FIELDS = ("active", "thumbstick_click", "primary", "secondary", "menu", "thumb_touch", "trigger_touch")
_FLOAT_FIELDS = ("trigger", "squeeze")


def _default_state() -> DeviceState:
    head = Pose(np.array([0.0, 1.6, 0.0], np.float32))
    left = HandDevice(grip=Pose(np.array([-0.2, 1.2, -0.3], np.float32)), aim=Pose(np.array([-0.2, 1.2, -0.35], np.float32)))
    right = HandDevice(grip=Pose(np.array([0.2, 1.2, -0.3], np.float32)), aim=Pose(np.array([0.2, 1.2, -0.35], np.float32)))
    return DeviceState(head, left, right)


def parse_pose(v: Any, where: str) -> tuple[Pose, bool]:
    """A pose and whether it interpolates linearly from the previous key."""
    if not isinstance(v, dict):
        raise ConfigError(f"{where}: a pose is a table with position and orientation (or yaw_deg)")
    try:
        pos = np.asarray(v.get("position", [0.0, 0.0, 0.0]), np.float32).reshape(3)
        if "orientation" in v:
            q = np.asarray(v["orientation"], np.float32).reshape(4)
            if abs(float(np.linalg.norm(q)) - 1.0) > 1e-3:
                q = quat_normalize(q)
        else:
            q = quat_from_yaw_pitch_roll(
                math.radians(float(v.get("yaw_deg", 0.0))),
                math.radians(float(v.get("pitch_deg", 0.0))),
                math.radians(float(v.get("roll_deg", 0.0))),
            )
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{where}: bad pose ({e})") from None
    interp = str(v.get("interp", "step"))
    if interp not in ("step", "linear"):
        raise ConfigError(f"{where}: interp must be 'step' or 'linear', not '{interp}'")
    return Pose(pos, q), interp == "linear"


def parse_hand(v: Any, side: str, wrist: Pose, where: str) -> HandJoints | None:
    if v is False or v is None:
        return None
    if not isinstance(v, dict):
        raise ConfigError(f"{where}: a hand is {{shape = ...}} or {{joints = [...]}} or false")
    if "joints" in v:
        try:
            a = np.asarray(v["joints"], np.float64)
        except (TypeError, ValueError) as e:
            raise ConfigError(f"{where}.joints: {e}") from None
        if a.shape != (HAND_JOINT_COUNT, 8):
            raise ConfigError(f"{where}.joints: expected 26 rows of [px, py, pz, qx, qy, qz, qw, radius], got shape {a.shape}")
        hj = HandJoints()
        hj.positions[:] = a[:, 0:3]
        hj.orientations[:] = a[:, 3:7]
        hj.radii[:] = a[:, 7]
        hj.valid[:] = np.asarray(v.get("valid", [True] * HAND_JOINT_COUNT), bool)
        return hj
    shape = str(v.get("shape", "open"))
    if shape not in SHAPES:
        raise ConfigError(f"{where}.shape: unknown hand shape '{shape}' (known: {', '.join(SHAPES)})")
    w = parse_pose(v["wrist"], f"{where}.wrist")[0] if "wrist" in v else wrist_from_grip(wrist, side)
    return shape_joints(side, w, shape)


class Timeline:
    """Settings, keyframes and events of a script; ``state_at(frame)`` is what the device reports."""

    def __init__(self, settings: HeadsetSettings | None = None, keys: list[_Key] | None = None,
                 events: list[ScriptEvent] | None = None, expect: dict[str, Any] | None = None, source: str = "") -> None:
        self.settings = settings or HeadsetSettings()
        self.source = source
        self.expect = expect or {}
        self.events = sorted(events or [], key=lambda e: e.frame)
        self._keys = sorted(keys or [], key=lambda k: k.frame)
        self._frames: list[int] = []
        self._states: list[DeviceState] = []
        self._lerp: list[dict[str, tuple[Pose, Pose, int]]] = []
        self._build()

    def _build(self) -> None:
        state = _default_state()
        for k in self._keys:
            where = f"{self.source or 'script'}: key at frame {k.frame}"
            state = DeviceState(state.head, replace(state.left), replace(state.right))
            lerps: dict[str, tuple[Pose, Pose, int]] = {}
            prev_frame = self._frames[-1] if self._frames else 0
            if "head" in k.data:
                pose, lin = parse_pose(k.data["head"], f"{where}: head")
                if lin:
                    lerps["head"] = (state.head, pose, prev_frame)
                state.head = pose
            for side in ("left", "right"):
                d = k.data.get(side)
                if d is None:
                    continue
                if not isinstance(d, dict):
                    raise ConfigError(f"{where}: {side} must be a table")
                hd: HandDevice = getattr(state, side)
                for name in _BOOL_FIELDS:
                    if name in d:
                        setattr(hd, name, bool(d[name]))
                for name in _FLOAT_FIELDS:
                    if name in d:
                        setattr(hd, name, float(np.float32(min(max(float(d[name]), 0.0), 1.0))))
                if "thumbstick" in d:
                    x, y = (float(np.float32(min(max(float(c), -1.0), 1.0))) for c in d["thumbstick"])
                    hd.thumbstick = (x, y)
                for name in ("grip", "aim"):
                    if name in d:
                        pose, lin = parse_pose(d[name], f"{where}: {side}.{name}")
                        if lin:
                            lerps[f"{side}.{name}"] = (getattr(hd, name), pose, prev_frame)
                        setattr(hd, name, pose)
                if "grip" in d and "aim" not in d:
                    hd.aim = Pose(hd.grip.position + np.float32(0.0), hd.grip.orientation.copy())
                if "hand" in d:
                    hd.hand = parse_hand(d["hand"], side, hd.grip, f"{where}: {side}.hand")
            self._frames.append(k.frame)
            self._states.append(state)
            self._lerp.append(lerps)
        if not self._frames or self._frames[0] > 0:
            self._frames.insert(0, 0)
            self._states.insert(0, _default_state())
            self._lerp.insert(0, {})

    def state_at(self, frame: int) -> DeviceState:
        i = bisect.bisect_right(self._frames, frame) - 1
        i = max(i, 0)
        state = self._states[i]
        if i + 1 < len(self._frames):
            nxt = self._lerp[i + 1]
            if nxt:
                f1 = self._frames[i + 1]
                state = DeviceState(state.head, replace(state.left), replace(state.right))
                for key, (a, b, f0) in nxt.items():
                    t = (frame - f0) / max(f1 - f0, 1)
                    pose = Pose(
                        (a.position + (b.position - a.position) * np.float32(t)).astype(np.float32),
                        quat_slerp(a.orientation, b.orientation, t),
                    )
                    if key == "head":
                        state.head = pose
                    else:
                        side, name = key.split(".")
                        setattr(getattr(state, side), name, pose)
        return state

    def events_at(self, frame: int) -> list[ScriptEvent]:
        return [e for e in self.events if e.frame == frame]

    @property
    def last_frame(self) -> int:
        ends = [self.settings.frames] + [e.frame for e in self.events] + self._frames
        return max(ends)


def _settings(d: dict[str, Any], where: str) -> HeadsetSettings:
    known = {f.name for f in fields(HeadsetSettings)}
    unknown = set(d) - known
    if unknown:
        raise ConfigError(f"{where}: unknown headset setting(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(known))})")
    kw: dict[str, Any] = {}
    try:
        for k, v in d.items():
            if k in ("resolution", "fov_deg", "unsupported_profiles", "capture"):
                v = tuple(v)
            if k == "resolution":
                v = (int(v[0]), int(v[1]))
                if not (16 <= v[0] <= 4096 and 16 <= v[1] <= 4096):
                    raise ValueError("resolution must be 16..4096 per side")
            if k == "capture":
                v = tuple(int(x) for x in v)
            if k == "fps" and not 1.0 <= float(v) <= 1000.0:
                raise ValueError("fps must be 1..1000")
            kw[k] = v
    except (TypeError, ValueError, IndexError) as e:
        raise ConfigError(f"{where}: bad headset setting ({e})") from None
    for p in [kw.get("profile", HeadsetSettings.profile), *kw.get("unsupported_profiles", ())]:
        if not str(p).startswith(PROFILE_PREFIX):
            raise ConfigError(f"{where}: '{p}' is not an interaction profile path ({PROFILE_PREFIX}...)")
    return HeadsetSettings(**kw)


def _frame_of(d: dict[str, Any], fps: float, where: str) -> int:
    if "frame" in d:
        f = d["frame"]
    elif "time" in d:
        f = round(float(d["time"]) * fps)
    else:
        raise ConfigError(f"{where}: needs 'frame' or 'time'")
    if not isinstance(f, (int, float)) or f < 0:
        raise ConfigError(f"{where}: frame must be a non-negative number")
    return int(f)


def parse_script(data: dict[str, Any], source: str = "script") -> Timeline:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: a script is a table (JSON object)")
    settings = _settings(dict(data.get("headset", {})), f"{source}: [headset]")
    keys = []
    for i, k in enumerate(data.get("key", data.get("keys", []))):
        if not isinstance(k, dict):
            raise ConfigError(f"{source}: key {i} must be a table")
        body = {n: v for n, v in k.items() if n not in ("frame", "time")}
        unknown = set(body) - {"head", "left", "right"}
        if unknown:
            raise ConfigError(f"{source}: key {i}: unknown field(s) {', '.join(sorted(unknown))} (known: head, left, right)")
        keys.append(_Key(_frame_of(k, settings.fps, f"{source}: key {i}"), body))
    events = []
    for i, e in enumerate(data.get("event", data.get("events", []))):
        where = f"{source}: event {i}"
        if not isinstance(e, dict) or e.get("type") not in EVENT_TYPES:
            raise ConfigError(f"{where}: type must be one of {', '.join(EVENT_TYPES)}")
        profile = str(e.get("profile", ""))
        if e["type"] == "profile_change" and not profile.startswith(PROFILE_PREFIX):
            raise ConfigError(f"{where}: profile_change needs profile = \"{PROFILE_PREFIX}...\"")
        events.append(ScriptEvent(_frame_of(e, settings.fps, where), str(e["type"]), profile))
    expect = data.get("expect", {})
    if not isinstance(expect, dict):
        raise ConfigError(f"{source}: [expect] must be a table")
    return Timeline(settings, keys, events, expect, source)


def load_script(path: str | Path) -> Timeline:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: script not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{p}: cannot read script ({e})") from None
    try:
        data = tomllib.loads(text) if p.suffix.lower() == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as e:
        raise ConfigError(f"{p}: malformed {'TOML' if p.suffix.lower() == '.toml' else 'JSON'} ({e})") from None
    return parse_script(data, str(p))
