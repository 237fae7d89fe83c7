"""Per-frame features for the recognizers: head angles, hand shape and placement in a body frame.

The body frame follows the head's *slow* yaw (so a head shake does not swing it): x right,
y up, z back, origin at the head. Controller hands without joints get joints synthesized from
their buttons and grip pose first (:func:`vrdiplomacy.gestures.synth.hand_from_controller`).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vrdiplomacy.gestures.mapping import ControllerMapping
from vrdiplomacy.gestures.synth import hand_from_controller
from vrdiplomacy.input.frame import HandFrame, InputFrame, Joint
from vrdiplomacy.scene.math3d import quat_to_mat3

F64 = npt.NDArray[np.float64]

# Joints a hand must have for its features to be computed.
_NEEDED = np.array(
    [
        Joint.WRIST, Joint.THUMB_PROXIMAL, Joint.THUMB_TIP, Joint.INDEX_METACARPAL, Joint.INDEX_PROXIMAL,
        Joint.INDEX_TIP, Joint.MIDDLE_METACARPAL, Joint.MIDDLE_PROXIMAL, Joint.MIDDLE_TIP, Joint.RING_METACARPAL,
        Joint.RING_PROXIMAL, Joint.RING_TIP, Joint.LITTLE_METACARPAL, Joint.LITTLE_PROXIMAL, Joint.LITTLE_TIP,
    ]
)
_META = np.array([Joint.INDEX_METACARPAL, Joint.MIDDLE_METACARPAL, Joint.RING_METACARPAL, Joint.LITTLE_METACARPAL])
_PROX = _META + 1
_TIP = _META + 4
_CURL_FULL = math.radians(150.0)  # chord angle of a fully curled finger
SPEED_WINDOW = 0.2  # seconds over which hand speeds are measured (noise-robust)
RANGE_WINDOW = 0.45  # seconds over which the finger tip's range of motion is measured


@dataclass
class HandFeatures:
    """One hand this frame. Vectors in the body frame unless named ``*_world``.

    ``palm``: palm centre relative to the head; ``tip``: middle finger tip; ``curls``: index,
    middle, ring, little flexion (0 straight .. 1 curled), ``curl_mean`` their mean and
    ``fingers_curl`` the mean without the index; ``thumb_out``: how far the thumb
    sticks out sideways (about -0.2 folded .. 0.9 stretched); ``thumb_dir_world``: thumb
    direction; ``palmar``: palm normal (out of the palm); ``fingers``: wrist-to-knuckles
    direction; ``ray_origin_world``/``ray_dir_world``: the pointing ray (index finger, or the
    controller aim pose); ``speed``: palm speed m/s; ``tip_speed``: middle tip speed m/s;
    ``tip_range``: how far the middle tip moved about over the last 0.45 s (metres, the
    diagonal of its bounding box): a hand that waves is never still, even at moments when its
    0.2 s displacement happens to vanish.
    """

    palm: F64
    tip: F64
    curls: F64
    curl_mean: float
    fingers_curl: float
    thumb_out: float
    thumb_dir_world: F64
    palmar: F64
    fingers: F64
    ray_origin_world: F64
    ray_dir_world: F64
    palm_world: F64
    speed: float
    tip_speed: float
    from_controller: bool
    tip_range: float = 0.0


@dataclass
class FrameFeatures:
    """One frame: ``t``, head ``yaw``/``pitch`` in degrees (yaw unwrapped), head position and gaze
    ray (world), the body yaw, hands (None when not tracked) and the key/button gesture names."""

    t: float
    yaw: float
    pitch: float
    head_world: F64
    gaze_world: F64
    body_yaw: float
    left: HandFeatures | None
    right: HandFeatures | None
    keys: dict[str, str]  # gesture name -> hand ("left", "right" or "" for keyboard)

    def hand(self, side: str) -> HandFeatures | None:
        return self.left if side == "left" else self.right


def _norm(v: F64) -> float:
    return math.sqrt(float(v @ v))


def _unit(v: F64) -> F64:
    n = _norm(v)
    return v / n if n > 1e-9 else v


class FeatureExtractor:
    """Turns InputFrames into FrameFeatures; keeps the few bits of history the features need."""

    def __init__(self, mapping: ControllerMapping | None = None, body_tau: float = 1.5) -> None:
        self.mapping = mapping or ControllerMapping()
        self.body_tau = body_tau
        self._yaw: float | None = None
        self._body_yaw = 0.0
        self._last_t: float | None = None
        self._hist: dict[str, deque[tuple[float, F64, F64]]] = {"left": deque(), "right": deque()}
        self._tips: dict[str, deque[tuple[float, F64]]] = {"left": deque(), "right": deque()}

    def __call__(self, frame: InputFrame) -> FrameFeatures:
        t = float(frame.time)
        rot = quat_to_mat3(frame.head.orientation).astype(np.float64)
        fwd = -rot[:, 2]
        raw_yaw = math.degrees(math.atan2(-fwd[0], -fwd[2]))
        pitch = math.degrees(math.asin(max(-1.0, min(1.0, float(fwd[1])))))
        if self._yaw is None or self._last_t is None:
            yaw = raw_yaw
            self._body_yaw = yaw
        else:
            yaw = self._yaw + ((raw_yaw - self._yaw + 180.0) % 360.0 - 180.0)
            dt = max(0.0, t - self._last_t)
            a = 1.0 - math.exp(-dt / self.body_tau)
            self._body_yaw += a * (yaw - self._body_yaw)
        self._yaw, self._last_t = yaw, t
        head = np.asarray(frame.head.position, np.float64)
        by = math.radians(self._body_yaw)
        c, s = math.cos(by), math.sin(by)
        # world = R_y(by) @ body; body = R^T @ world
        to_body = np.array([[c, 0.0, -s], [0.0, 1.0, 0.0], [s, 0.0, c]])
        keys = {k: "" for k in frame.keys}
        hands = {}
        for side in ("left", "right"):
            hf = frame.hand(side)
            hands[side] = self._hand(hf, side, t, head, to_body)
            ctl = hf.controller
            if ctl.active:
                for button, gesture in self.mapping.buttons.items():
                    if getattr(ctl, button, False):
                        keys.setdefault(gesture, side)
        return FrameFeatures(t, yaw, pitch, head, fwd, self._body_yaw, hands["left"], hands["right"], keys)

    def _hand(self, hf: HandFrame, side: str, t: float, head: F64, to_body: F64) -> HandFeatures | None:
        joints = hf.joints
        from_controller = False
        if hf.source == "controller" or joints is None or not bool(joints.valid[_NEEDED].all()):
            # a controller hand is always made here, from the grip pose (OpenXR convention) and the
            # buttons through this recognizer's mapping, not taken from what a renderer drew
            joints = hand_from_controller(hf.controller, side, self.mapping) if hf.controller.active else None
            from_controller = joints is not None
        hist = self._hist[side]
        if joints is None:
            return None
        p = joints.positions.astype(np.float64)
        wrist = p[Joint.WRIST]
        along = p[Joint.MIDDLE_PROXIMAL] - wrist
        scale = _norm(along) or 0.09
        across = _unit(p[Joint.INDEX_PROXIMAL] - p[Joint.LITTLE_PROXIMAL])
        ax, ay, az = along.tolist()
        cx, cy, cz = across.tolist()
        dorsal = _unit(np.array([ay * cz - az * cy, az * cx - ax * cz, ax * cy - ay * cx]))
        if side == "left":
            dorsal = -dorsal
        meta_dir = p[_PROX] - p[_META]
        chord = p[_TIP] - p[_PROX]
        cosang = (meta_dir * chord).sum(axis=1) / np.maximum(
            np.sqrt((meta_dir * meta_dir).sum(axis=1) * (chord * chord).sum(axis=1)), 1e-9
        )
        curls = np.minimum(np.arccos(np.clip(cosang, -1.0, 1.0)) / _CURL_FULL, 1.0)
        thumb_tip = p[Joint.THUMB_TIP]
        thumb_out = float((thumb_tip - p[Joint.INDEX_PROXIMAL]) @ across) / scale
        thumb_dir = _unit(thumb_tip - p[Joint.THUMB_PROXIMAL])
        palm = 0.5 * (p[Joint.MIDDLE_METACARPAL] + p[Joint.MIDDLE_PROXIMAL])
        tip = p[Joint.MIDDLE_TIP]
        if from_controller and hf.controller.aim is not None:
            aim = hf.controller.aim
            ray_o = np.asarray(aim.position, np.float64)
            ray_d = -quat_to_mat3(aim.orientation).astype(np.float64)[:, 2]
        else:
            ray_o = p[Joint.INDEX_PROXIMAL]
            ray_d = _unit(p[Joint.INDEX_TIP] - p[Joint.INDEX_PROXIMAL])
        tips = self._tips[side]
        if hist and t - hist[-1][0] > 0.3:
            hist.clear()  # a tracking gap: speeds start afresh
            tips.clear()
        tips.append((t, tip))
        while t - tips[0][0] > RANGE_WINDOW:
            tips.popleft()
        if len(tips) > 1:
            pts = np.array([q for _, q in tips])
            span = pts.max(axis=0) - pts.min(axis=0)
            tip_range = _norm(span)
        else:
            tip_range = 0.0
        hist.append((t, palm, tip))
        while len(hist) > 2 and t - hist[1][0] >= SPEED_WINDOW:
            hist.popleft()
        t0, palm0, tip0 = hist[0]
        dt = t - t0
        speed = _norm(palm - palm0) / dt if dt > 0.05 else 0.0
        tip_speed = _norm(tip - tip0) / dt if dt > 0.05 else 0.0
        cl = curls.tolist()
        return HandFeatures(
            palm=to_body @ (palm - head),
            tip=to_body @ (tip - head),
            curls=curls,
            curl_mean=(cl[0] + cl[1] + cl[2] + cl[3]) / 4.0,
            fingers_curl=(cl[1] + cl[2] + cl[3]) / 3.0,
            thumb_out=thumb_out,
            thumb_dir_world=thumb_dir,
            palmar=to_body @ (-dorsal),
            fingers=to_body @ _unit(along),
            ray_origin_world=ray_o,
            ray_dir_world=ray_d,
            palm_world=palm,
            speed=speed,
            tip_speed=tip_speed,
            from_controller=from_controller,
            tip_range=tip_range,
        )
