"""Input recordings as JSON Lines (optionally gzip-compressed: a ``.gz`` suffix).

Line 1 is a header object, every further line one :class:`InputFrame`::

    {"format": "vrdiplomacy-input", "version": 1, "rate_hz": 30,
     "targets": [{"name": "FRA", "position": [x, y, z], "radius": 0.3}],
     "labels": [{"gesture": "nod", "hand": "none", "onset": 1.2, "offset": 2.0, "target": null}],
     "meta": {...}}
    {"t": 0.033, "head": [px, py, pz, qx, qy, qz, qw], "keys": ["nod"],
     "left": {"src": "articulated", "joints": {"p": [78 numbers], "o": [104], "r": [26], "v": 67108863},
              "ctl": {"trigger": 0.0, "squeeze": 0.0, "stick": [0, 0], "buttons": ["primary"],
                      "aim": [7 numbers], "grip": [7 numbers]}},
     "right": {...}}

Positions in metres, quaternions x, y, z, w (OpenXR). ``joints.p`` is the 26 joints' positions
flattened in XrHandJointEXT order; ``o`` (orientations) and ``r`` (radii) are optional; ``v``
is a bit mask of valid joints (bit i = joint i; absent = all valid). A hand that was not
tracked has no ``joints``; an inactive controller no ``ctl``; an absent hand key means both.
``keys`` lists desktop-key gesture names held (absent = none). Only ``t`` is required.
"""

from __future__ import annotations

import gzip
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from vrdiplomacy.errors import AssetError
from vrdiplomacy.gestures.types import Target
from vrdiplomacy.input.frame import HAND_JOINT_COUNT, ControllerState, HandFrame, HandJoints, InputFrame
from vrdiplomacy.scene.math3d import Pose

FORMAT = "vrdiplomacy-input"
VERSION = 1
_BUTTONS = ("thumbstick_click", "primary", "secondary", "menu", "thumb_touch", "trigger_touch")
_ALL_VALID = (1 << HAND_JOINT_COUNT) - 1
_IDENT_O = np.tile(np.array([0, 0, 0, 1], np.float32), (HAND_JOINT_COUNT, 1))
_RADII = np.full(HAND_JOINT_COUNT, 0.01, np.float32)
_ALL_TRUE = np.ones(HAND_JOINT_COUNT, np.bool_)


def _r(values: Any, nd: int) -> list[float]:
    return [round(float(v), nd) + 0.0 for v in np.asarray(values, np.float64).ravel()]


def _pose_out(p: Pose, nd: int) -> list[float]:
    return _r(p.position, nd) + _r(p.orientation, max(nd, 4))


def _pose_in(v: Any, what: str) -> Pose:
    a = _floats(v, 7, what)
    return Pose(a[:3].astype(np.float32), a[3:].astype(np.float32))


_F32_MAX = float(np.finfo(np.float32).max)


def _floats(v: Any, n: int, what: str) -> np.ndarray:
    if not isinstance(v, list) or len(v) != n:
        raise ValueError(f"{what} must be a list of {n} numbers")
    try:
        a = np.array(v, np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must hold numbers") from None
    if not (np.abs(a) <= _F32_MAX).all():  # NaN fails too; beyond float32 would become inf in a frame
        raise ValueError(f"{what} must hold finite numbers")
    return a


def frame_to_dict(frame: InputFrame, precision: int = 4, orientations: bool = True) -> dict[str, Any]:
    """One frame as a JSON-ready dict (floats rounded to ``precision`` decimals)."""
    d: dict[str, Any] = {"t": round(float(frame.time), 4), "head": _pose_out(frame.head, precision)}
    if frame.keys:
        d["keys"] = sorted(frame.keys)
    for side in ("left", "right"):
        hf = frame.hand(side)
        h: dict[str, Any] = {"src": hf.source}
        if hf.joints is not None:
            j: dict[str, Any] = {"p": _r(hf.joints.positions, precision)}
            if orientations:
                j["o"] = _r(hf.joints.orientations, 4)
                j["r"] = _r(hf.joints.radii, 4)
            mask = int(sum(1 << i for i, ok in enumerate(hf.joints.valid) if ok))
            if mask != _ALL_VALID:
                j["v"] = mask
            h["joints"] = j
        c = hf.controller
        if c.active:
            ctl: dict[str, Any] = {"trigger": round(c.trigger, 3), "squeeze": round(c.squeeze, 3)}
            if c.thumbstick != (0.0, 0.0):
                ctl["stick"] = _r(c.thumbstick, 3)
            buttons = [b for b in _BUTTONS if getattr(c, b)]
            if buttons:
                ctl["buttons"] = buttons
            if c.aim is not None:
                ctl["aim"] = _pose_out(c.aim, precision)
            if c.grip is not None:
                ctl["grip"] = _pose_out(c.grip, precision)
            h["ctl"] = ctl
        if hf.source != "none" or len(h) > 1:
            d[side] = h
    return d


def _hand_in(h: Any, side: str) -> HandFrame:
    if not isinstance(h, dict):
        raise ValueError(f"{side} must be an object")
    hf = HandFrame(source=str(h.get("src", "none")))
    j = h.get("joints")
    if j is not None:
        if not isinstance(j, dict):
            raise ValueError(f"{side}.joints must be an object")
        pos = _floats(j.get("p"), HAND_JOINT_COUNT * 3, f"{side}.joints.p").reshape(-1, 3).astype(np.float32)
        ori = (_floats(j["o"], HAND_JOINT_COUNT * 4, f"{side}.joints.o").reshape(-1, 4).astype(np.float32)
               if "o" in j else _IDENT_O.copy())
        radii = _floats(j["r"], HAND_JOINT_COUNT, f"{side}.joints.r").astype(np.float32) if "r" in j else _RADII.copy()
        mask = j.get("v", _ALL_VALID)
        if not isinstance(mask, int) or not 0 <= mask <= _ALL_VALID:
            raise ValueError(f"{side}.joints.v must be a 26-bit mask")
        valid = ((mask >> np.arange(HAND_JOINT_COUNT)) & 1).astype(np.bool_) if mask != _ALL_VALID else _ALL_TRUE.copy()
        hj = HandJoints(pos, ori, radii, valid)
        hf.joints = hj
    c = h.get("ctl")
    if c is not None:
        if not isinstance(c, dict):
            raise ValueError(f"{side}.ctl must be an object")
        buttons = c.get("buttons", [])
        if not isinstance(buttons, list) or any(b not in _BUTTONS for b in buttons):
            raise ValueError(f"{side}.ctl.buttons must list known buttons ({', '.join(_BUTTONS)})")
        stick = _floats(c.get("stick", [0.0, 0.0]), 2, f"{side}.ctl.stick")
        axes = [float(c.get(k, 0.0)) for k in ("trigger", "squeeze")]
        if not all(0.0 <= a <= 1.0 for a in axes):
            raise ValueError(f"{side}.ctl trigger/squeeze must lie in [0, 1]")
        hf.controller = ControllerState(
            active=True,
            trigger=axes[0],
            squeeze=axes[1],
            thumbstick=(float(stick[0]), float(stick[1])),
            aim=_pose_in(c["aim"], f"{side}.ctl.aim") if "aim" in c else None,
            grip=_pose_in(c["grip"], f"{side}.ctl.grip") if "grip" in c else None,
            **{b: (b in buttons) for b in _BUTTONS},
        )
    return hf


def frame_from_dict(d: Any) -> InputFrame:
    """Parse one frame object; raises ValueError naming the bad field."""
    if not isinstance(d, dict):
        raise ValueError("a frame must be a JSON object")
    t = d.get("t")
    if not isinstance(t, (int, float)) or isinstance(t, bool) or not math.isfinite(t):
        raise ValueError("t must be a finite number")
    frame = InputFrame(time=float(t))
    if "head" in d:
        frame.head = _pose_in(d["head"], "head")
    keys = d.get("keys", [])
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise ValueError("keys must be a list of names")
    frame.keys = frozenset(keys)
    for side in ("left", "right"):
        if side in d:
            setattr(frame, side, _hand_in(d[side], side))
    return frame


@dataclass
class Recording:
    """A read recording: ``header`` dict, ``frames``, ``dropped`` (a truncated last line)."""

    header: dict[str, Any]
    frames: list[InputFrame] = field(default_factory=list)
    dropped: int = 0

    @property
    def targets(self) -> list[Target]:
        return [Target.from_dict(t) for t in self.header.get("targets", [])]

    @property
    def labels(self) -> list[dict[str, Any]]:
        return list(self.header.get("labels", []))

    @property
    def duration(self) -> float:
        return self.frames[-1].time - self.frames[0].time if len(self.frames) > 1 else 0.0


def _open_text(path: Path, mode: str) -> IO[str]:
    if path.suffix == ".gz":
        # mtime=0 keeps compressed output byte-identical between runs (deterministic datasets)
        if "w" in mode:
            raw = gzip.GzipFile(path, mode="wb", mtime=0)
            return io.TextIOWrapper(raw, encoding="utf-8", newline="\n")
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    return open(path, mode, encoding="utf-8", newline="\n")


def read_recording(path: str | Path) -> Recording:
    """Read a recording; a malformed line raises :class:`AssetError` with its line number.

    A truncated final line (a recording cut off mid-write) is dropped and counted instead.
    """
    p = Path(path)
    try:
        with _open_text(p, "r") as f:
            lines = f.read().split("\n")
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise AssetError(f"cannot read recording {p}: {e}") from None
    except UnicodeDecodeError:
        raise AssetError(f"{p} is not a text JSON Lines recording") from None
    rec = Recording(header={})
    last = len(lines) - 1
    while last >= 0 and not lines[last].strip():
        last -= 1
    for no, line in enumerate(lines[: last + 1], 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            if no == last + 1 and not lines[-1] == "" and no > 1:
                rec.dropped += 1
                continue
            raise AssetError(f"{p}:{no}: not JSON ({e.msg})") from None
        if no == 1 and isinstance(obj, dict) and "format" in obj:
            if obj.get("format") != FORMAT:
                raise AssetError(f"{p}: unknown format {obj.get('format')!r} (expected {FORMAT})")
            if obj.get("version") != VERSION:
                raise AssetError(f"{p}: unsupported version {obj.get('version')!r} (this reads {VERSION})")
            rec.header = obj
            continue
        try:
            frame = frame_from_dict(obj)
        except (ValueError, TypeError) as e:
            raise AssetError(f"{p}:{no}: {e}") from None
        if rec.frames and frame.time < rec.frames[-1].time:
            raise AssetError(f"{p}:{no}: time goes backwards ({frame.time} after {rec.frames[-1].time})")
        rec.frames.append(frame)
    try:
        _ = rec.targets
    except Exception as e:  # noqa: BLE001 - a bad header target is reported as an asset error
        raise AssetError(f"{p}: {e}") from None
    return rec


class Recorder:
    """Writes InputFrames to a JSON Lines recording (gzip when the name ends in ``.gz``).

    ``precision`` decimals for positions (4 = 0.1 mm); ``orientations`` also stores joint
    orientations and radii; ``targets``, ``labels`` and ``meta`` go into the header.
    """

    def __init__(
        self,
        path: str | Path,
        rate_hz: float | None = None,
        targets: Sequence[Target] = (),
        labels: Sequence[dict[str, Any]] = (),
        meta: dict[str, Any] | None = None,
        precision: int = 4,
        orientations: bool = True,
    ) -> None:
        self.path = Path(path)
        self.precision = precision
        self.orientations = orientations
        self.frames = 0
        header: dict[str, Any] = {"format": FORMAT, "version": VERSION}
        if rate_hz is not None:
            header["rate_hz"] = rate_hz
        if targets:
            header["targets"] = [t.to_dict() for t in targets]
        if labels:
            header["labels"] = list(labels)
        if meta:
            header["meta"] = meta
        try:
            self._f: IO[str] | None = _open_text(self.path, "w")
        except OSError as e:
            raise AssetError(f"cannot write recording {self.path}: {e.strerror}") from None
        self._line(header)

    def _line(self, obj: dict[str, Any]) -> None:
        if self._f is None:
            raise AssetError(f"recording {self.path} is closed")
        self._f.write(json.dumps(obj, separators=(",", ":")) + "\n")

    def write(self, frame: InputFrame) -> None:
        self._line(frame_to_dict(frame, self.precision, self.orientations))
        self.frames += 1

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None

    def __enter__(self) -> "Recorder":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
