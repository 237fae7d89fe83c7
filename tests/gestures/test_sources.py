"""Every gesture from controllers alone (no joints, default mapping) and from desktop keys."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from vrdiplomacy.errors import ConfigError
from vrdiplomacy.gestures.mapping import ControllerMapping, load_mapping
from vrdiplomacy.gestures.perform import HANDSHAKE_ROT, PALM_FORWARD_UP, _quat, _rot_z, mirror
from vrdiplomacy.gestures.recognizer import classify
from vrdiplomacy.gestures.synth import SHAPES, grip_from_palm, local_joints, shape_from_controller
from vrdiplomacy.gestures.types import Gesture, Hand, Target
from vrdiplomacy.input.frame import ControllerState, HandFrame, InputFrame, Joint
from vrdiplomacy.scene.math3d import Pose, quat_from_yaw_pitch_roll

RATE = 30.0
EYES = np.array([0.0, 1.2, 0.0])
TARGETS = [Target("FRA", (-1.5, 1.2, -2.5), 0.35), Target("screen", (0.0, 2.2, -5.0), 0.9),
           Target("DEU", (0.15, 0.75, -0.95), 0.25)]

# Controller poses per the default mapping: rest holds the controller loosely, thumb on the stick.
REST = dict(squeeze=0.3, trigger=0.3, thumb_touch=True)
OPEN: dict = {}
POINT = dict(squeeze=1.0, trigger=0.0, thumb_touch=True)
THUMB = dict(squeeze=1.0, trigger=1.0, thumb_touch=False)


def grip(side: str, pos: tuple[float, float, float], palm_rot: np.ndarray) -> Pose:
    """The grip pose of a controller held so that the hand's palm has rotation ``palm_rot``."""
    palm = Pose(np.asarray(pos, np.float32) + EYES.astype(np.float32), _quat(mirror(palm_rot, side)).astype(np.float32))
    return grip_from_palm(palm, side)


def ctl(side: str, pos: tuple[float, float, float], palm_rot: np.ndarray, buttons: dict,
        aim_to: tuple[float, float, float] | None = None) -> HandFrame:
    g = grip(side, pos, palm_rot)
    aim = None
    if aim_to is not None:
        d = np.asarray(aim_to, np.float64) - np.asarray(g.position, np.float64)
        yaw = math.atan2(-d[0], -d[2])
        pitch = math.atan2(d[1], math.hypot(d[0], d[2]))
        aim = Pose(g.position.copy(), quat_from_yaw_pitch_roll(yaw, pitch))
    return HandFrame("controller", None, ControllerState(active=True, grip=g, aim=aim, **buttons))


def rest(side: str) -> HandFrame:
    sx = 1.0 if side == "right" else -1.0
    return ctl(side, (sx * 0.2, -0.55, -0.3), np.eye(3), REST)


def sequence(duration: float, pose_at: Callable[[float], dict], head_at: Callable[[float], tuple[float, float]] | None = None) -> list[InputFrame]:
    frames = []
    for i in range(int(duration * RATE)):
        t = i / RATE
        yaw, pitch = head_at(t) if head_at else (0.0, 0.0)
        f = InputFrame(t, Pose(EYES.astype(np.float32), quat_from_yaw_pitch_roll(math.radians(yaw), math.radians(pitch))))
        f.left, f.right = rest("left"), rest("right")
        for side, hf in pose_at(t).items():
            setattr(f, side, hf)
        frames.append(f)
    return frames


def during(a: float, b: float, t: float) -> bool:
    return a <= t < b


def controller_script(g: Gesture) -> tuple[list[InputFrame], Hand]:
    """A 4 s controller-only performance of ``g``: rest, the gesture from 1 s to 3 s, rest."""
    if g in (Gesture.RAISE_HAND, Gesture.LOWER_HAND):
        return sequence(4.0, lambda t: {"right": ctl("right", (0.2, 0.25, -0.1), PALM_FORWARD_UP, OPEN)} if during(1, 3, t) else {}), Hand.RIGHT
    if g is Gesture.WAVE:
        return sequence(4.0, lambda t: {"left": ctl("left", (-0.25 + 0.08 * math.sin(2 * math.pi * 2 * t), 0.0, -0.15),
                                                    PALM_FORWARD_UP, OPEN)} if during(1, 3, t) else {}), Hand.LEFT
    if g in (Gesture.THUMBS_UP, Gesture.THUMBS_DOWN):
        rot = HANDSHAKE_ROT if g is Gesture.THUMBS_UP else _rot_z(math.pi) @ HANDSHAKE_ROT
        return sequence(4.0, lambda t: {"right": ctl("right", (0.15, -0.35, -0.35), rot, THUMB)} if during(1, 3, t) else {}), Hand.RIGHT
    if g is Gesture.POINT:
        fra = TARGETS[0].position
        return sequence(4.0, lambda t: {"right": ctl("right", (0.2, -0.3, -0.45), np.eye(3), POINT, aim_to=fra)}
                        if during(1, 3, t) else {}), Hand.RIGHT
    if g is Gesture.OPEN_PALMS:
        return sequence(4.0, lambda t: {s: ctl(s, (0.22 if s == "right" else -0.22, -0.3, -0.3), PALM_FORWARD_UP, OPEN)
                                        for s in ("left", "right")} if during(1, 3, t) else {}), Hand.BOTH
    if g is Gesture.APPLAUSE:
        def clap(t: float) -> dict:
            d = 0.03 + 0.15 * (0.5 + 0.5 * math.cos(2 * math.pi * 3.0 * t))
            return {s: ctl(s, ((d / 2) * (1 if s == "right" else -1), -0.35, -0.3), HANDSHAKE_ROT, OPEN)
                    for s in ("left", "right")} if during(1, 3, t) else {}
        return sequence(4.0, clap), Hand.BOTH
    if g is Gesture.HANDSHAKE:
        return sequence(4.0, lambda t: {"right": ctl("right", (0.12, -0.45, -0.42), HANDSHAKE_ROT, OPEN)} if during(1, 3, t) else {}), Hand.RIGHT
    if g is Gesture.NOD:
        return sequence(4.0, lambda t: {}, lambda t: (0.0, -12 * (0.5 - 0.5 * math.cos(2 * math.pi * 2 * (t - 1)))) if during(1, 2.5, t) else (0.0, 0.0)), Hand.NONE
    if g is Gesture.HEAD_SHAKE:
        return sequence(4.0, lambda t: {}, lambda t: (15 * math.sin(2 * math.pi * 2 * (t - 1)), 0.0) if during(1, 2.5, t) else (0.0, 0.0)), Hand.NONE
    raise AssertionError(g)


@pytest.mark.parametrize("gesture", list(Gesture), ids=lambda g: g.value)
def test_every_gesture_from_controllers_alone(gesture: Gesture) -> None:
    frames, hand = controller_script(gesture)
    assert all(f.left.joints is None and f.right.joints is None for f in frames)
    dets = classify(frames, TARGETS)
    found = [d for d in dets if d.gesture is gesture and d.hand is hand]
    assert len(found) == 1, [d.to_dict() for d in dets]
    d = found[0]
    if gesture is Gesture.LOWER_HAND:
        assert 2.9 <= d.onset <= 3.6
    else:
        assert 0.9 <= d.onset <= 1.6 and d.offset <= 3.8
    assert 0.5 <= d.confidence <= 1.0
    others = [x for x in dets if x.gesture not in (gesture, Gesture.LOWER_HAND, Gesture.RAISE_HAND)]
    assert not others, [x.to_dict() for x in others]
    if gesture is Gesture.POINT:
        assert d.target == "FRA"
    if gesture is Gesture.HANDSHAKE:
        assert d.target == "DEU"


@pytest.mark.parametrize("gesture", list(Gesture), ids=lambda g: g.value)
def test_every_gesture_from_a_desktop_key(gesture: Gesture) -> None:
    frames = sequence(2.0, lambda t: {})
    for f in frames:
        if 0.5 <= f.time < 1.2:
            f.keys = frozenset({gesture.value})
        if gesture is Gesture.POINT:  # desktop pointing aims with the view: look at FRA
            d = np.asarray(TARGETS[0].position) - EYES
            f.head = Pose(EYES.astype(np.float32), quat_from_yaw_pitch_roll(math.atan2(-d[0], -d[2]), math.atan2(d[1], math.hypot(d[0], d[2]))))
    dets = classify(frames, TARGETS)
    assert len(dets) == 1, [d.to_dict() for d in dets]
    d = dets[0]
    want = {Gesture.NOD: Hand.NONE, Gesture.HEAD_SHAKE: Hand.NONE, Gesture.APPLAUSE: Hand.BOTH, Gesture.OPEN_PALMS: Hand.BOTH}
    assert d.gesture is gesture and d.hand is want.get(gesture, Hand.RIGHT)
    assert d.onset == pytest.approx(0.5, abs=0.02) and d.offset == pytest.approx(1.2, abs=0.04)
    assert d.confidence == 1.0
    assert d.target == {Gesture.POINT: "FRA", Gesture.HANDSHAKE: "DEU"}.get(gesture)


def test_controller_shapes_follow_the_documented_mapping() -> None:
    def shape(**kw: object) -> str:
        s = shape_from_controller(ControllerState(active=True, **kw))  # type: ignore[arg-type]
        if s.thumb_up > 0.5:
            return "thumb"
        if s.curls[0] < 0.2 and s.curls[1] > 0.8:
            return "point"
        if min(s.curls) > 0.8:
            return "fist"
        return "open" if max(s.curls) < 0.2 else "other"

    assert shape() == "open"
    assert shape(squeeze=1.0, thumb_touch=True) == "point"
    assert shape(squeeze=1.0, trigger=1.0, thumb_touch=True) == "fist"
    assert shape(squeeze=1.0, trigger=1.0) == "thumb"
    assert shape(squeeze=1.0, trigger=1.0, primary=True) == "fist"  # a pressed button rests the thumb too


def test_synthesized_hand_matches_the_shape_library() -> None:
    tip = local_joints(SHAPES["point"], "right")[Joint.INDEX_TIP]
    assert tip[2] < -0.1 and abs(tip[1]) < 0.02  # the pointing finger stays straight ahead
    left = local_joints(SHAPES["open"], "left")
    right = local_joints(SHAPES["open"], "right")
    assert np.allclose(left[:, 0], -right[:, 0]) and np.allclose(left[:, 1:], right[:, 1:])


def test_mapping_toml_overrides_and_errors(tmp_path) -> None:
    good = tmp_path / "m.toml"
    good.write_text('[controller]\nthumb_up_grip = 0.7\nthumb_down = ["thumb_touch"]\n'
                    '[controller.buttons]\nmenu = "open_palms"\n[desktop.keys]\nF1 = "raise_hand"\n')
    m = load_mapping(good)
    assert m.controller.thumb_up_grip == 0.7 and m.controller.thumb_down == ("thumb_touch",)
    assert m.desktop.gestures_for({"F1", "x"}) == frozenset({"raise_hand"})
    # the menu shortcut makes open palms with no hand motion at all
    frames = sequence(1.5, lambda t: {})
    for f in frames:
        if 0.3 <= f.time < 1.0:
            f.right.controller.menu = True
    dets = classify(frames, mapping=m.controller)
    assert [(d.gesture, d.hand) for d in dets] == [(Gesture.OPEN_PALMS, Hand.BOTH)]
    for text, msg in [
        ('[controller]\nindex_axis = "stick"\n', "index_axis"),
        ('[controller.buttons]\nmenu = "dance"\n', "unknown gesture"),
        ('[controller]\nthumb_down = ["elbow"]\n', "thumb_down"),
        ('[desktop.keys]\n"1" = "bow"\n', "unknown gesture"),
        ('[robot]\n', "unknown mapping section"),
        ('[controller\n', "not valid TOML"),
    ]:
        bad = tmp_path / "bad.toml"
        bad.write_text(text)
        with pytest.raises(ConfigError, match=msg):
            load_mapping(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        load_mapping(tmp_path / "missing.toml")
    assert ControllerMapping().buttons == {}


def test_tracking_dropout_shorter_than_grace_does_not_split_a_gesture() -> None:
    frames, _ = controller_script(Gesture.THUMBS_UP)
    for f in frames:
        if 2.0 <= f.time < 2.25:
            f.right.controller.grip = None  # tracking lost for a quarter second
    dets = [d for d in classify(frames) if d.gesture is Gesture.THUMBS_UP]
    assert len(dets) == 1 and dets[0].offset > 2.8


