"""The OpenXR backend through pyopenxr and the real Khronos loader, against the simulated headset,
headless on EGL: lifecycle, profile change, session loss, exact input, eye images vs goldens."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vrdiplomacy.input.frame import HAND_JOINT_COUNT

pytestmark = pytest.mark.gl
DATA = Path(__file__).resolve().parents[1] / "data" / "xr"
TOUCH = "/interaction_profiles/oculus/touch_controller"
INDEX = "/interaction_profiles/valve/index_controller"
WMR = "/interaction_profiles/microsoft/motion_controller"


def _frames(be: Any, limit: int = 400) -> list[Any]:
    out = []
    while len(out) < limit:
        f = be.begin_frame()
        if f is None:
            break
        out.append(f)
        be.end_frame()
    return out


def _states(frames: list[Any], be: Any) -> list[str]:
    return [e for f in frames for e in f.events] + be.drain_events()


def test_full_lifecycle_to_exiting_through_the_loader(headset: Any, backend_factory: Any) -> None:
    hs = headset({"headset": {"resolution": [64, 48]}, "events": [{"frame": 12, "type": "exit"}]})
    be = backend_factory()
    assert hs.negotiations == 1  # the Khronos loader found and negotiated with our shim
    assert be.runtime_name == "vrdiplomacy simulated headset" and be.graphics == "egl"
    assert be.srgb and be.space_kind == "stage" and be.hand_tracking
    frames = _frames(be)
    events = _states(frames, be)
    assert [e for e in events if e.startswith("state:")] == [
        "state:IDLE", "state:READY", "state:SYNCHRONIZED", "state:VISIBLE", "state:FOCUSED",
        "state:VISIBLE", "state:SYNCHRONIZED", "state:STOPPING", "state:IDLE", "state:EXITING"]
    assert be.state == "EXITING" and be.finish_reason == ""
    assert len(frames) == 13 and hs.frames_submitted == 13
    rendered = [r for r in hs.records if r.layers == ["projection"]]
    # frame 0: SYNCHRONIZED, not visible yet; frame 12: the exit walked the session down at its xrWaitFrame
    assert len(rendered) == 11 and not frames[0].should_render and not frames[12].should_render
    assert [len(r.views) for r in rendered] == [2] * 11
    assert not hs.errors
    assert be.begin_frame() is None


def test_app_requested_exit_after_n_frames(headset: Any, backend_factory: Any) -> None:
    hs = headset({"headset": {"resolution": [32, 32]}})
    be = backend_factory(frames=5)
    frames = _frames(be)
    assert len(frames) == 5 and be.state == "EXITING"
    assert hs.calls["xrRequestExitSession"] == 1 and hs.calls["xrEndSession"] == 1


def test_scripted_controllers_and_hand_joints_arrive_exactly(headset: Any, backend_factory: Any) -> None:
    rng = np.random.default_rng(7)
    joints = np.zeros((HAND_JOINT_COUNT, 8), np.float32)
    joints[:, 0:3] = rng.uniform(-1, 1, (HAND_JOINT_COUNT, 3))
    q = rng.normal(size=(HAND_JOINT_COUNT, 4)).astype(np.float32)
    joints[:, 3:7] = q / np.linalg.norm(q, axis=1, keepdims=True)
    joints[:, 7] = rng.uniform(0.005, 0.02, HAND_JOINT_COUNT)
    grip = {"position": [-0.3125, 1.0625, -0.4375], "orientation": [0.0, 0.38268343, 0.0, 0.9238795]}
    script = {
        "headset": {"resolution": [32, 32]},
        "keys": [
            {"frame": 0, "head": {"position": [0.25, 1.5, 0.5], "yaw_deg": 20}},
            {"frame": 4, "left": {"trigger": 0.375, "squeeze": 0.8125, "thumbstick": [0.5, -0.25], "primary": True,
                                  "menu": True, "thumb_touch": True, "grip": grip, "hand": {"joints": joints.tolist()}},
             "right": {"secondary": True, "thumbstick_click": True, "trigger_touch": True, "hand": False}},
        ],
        "events": [{"frame": 8, "type": "exit"}],
    }
    hs = headset(script)
    frames = _frames(backend_factory())
    f = frames[5]
    head = f.input.head
    assert np.array_equal(head.position, np.array([0.25, 1.5, 0.5], np.float32))
    left, right = f.input.left, f.input.right
    c = left.controller
    assert (c.trigger, c.squeeze, c.thumbstick) == (0.375, 0.8125, (0.5, -0.25))
    assert c.primary and c.menu and c.thumb_touch and not c.secondary and c.active
    assert np.array_equal(c.grip.position, np.array(grip["position"], np.float32))
    assert np.array_equal(c.grip.orientation, np.array(grip["orientation"], np.float32))
    assert left.source == "articulated"
    assert np.array_equal(left.joints.positions, joints[:, 0:3])
    assert np.array_equal(left.joints.orientations, joints[:, 3:7])
    assert np.array_equal(left.joints.radii, joints[:, 7]) and left.joints.all_valid
    rc = right.controller
    assert rc.secondary and rc.thumbstick_click and rc.trigger_touch and not rc.primary and rc.trigger == 0.0
    assert right.source == "controller"  # untracked hand: synthesized from the controller grip
    assert frames[2].input.left.controller.trigger == 0.0 and frames[2].input.left.source == "controller"
    assert not hs.errors


def test_focus_loss_stops_action_sync(headset: Any, backend_factory: Any) -> None:
    hs = headset({"headset": {"resolution": [32, 32]},
                  "keys": [{"frame": 0, "left": {"trigger": 0.5}}],
                  "events": [{"frame": 5, "type": "focus_loss"}, {"frame": 9, "type": "focus_gain"}, {"frame": 12, "type": "exit"}]})
    frames = _frames(backend_factory())
    sync_calls = hs.calls["xrSyncActions"]
    assert frames[4].input.left.controller.trigger == 0.5
    assert [f.input.left.controller.active for f in frames[6:9]] == [False, False, False]
    assert frames[10].input.left.controller.trigger == 0.5
    # no xrSyncActions while the app knows it is not focused (frames 6..8)
    assert sync_calls <= len(frames) - 3


def test_interaction_profile_change(headset: Any, backend_factory: Any) -> None:
    hs = headset({"headset": {"resolution": [32, 32], "profile": TOUCH},
                  "keys": [{"frame": 0, "right": {"primary": True, "squeeze": 0.75}}],
                  "events": [{"frame": 6, "type": "profile_change", "profile": INDEX}, {"frame": 12, "type": "exit"}]})
    be = backend_factory()
    frames = _frames(be)
    events = _states(frames, be)
    assert f"profile:{TOUCH}" in events and f"profile:{INDEX}" in events
    assert be.profiles == {"left": INDEX, "right": INDEX}
    # A on the right controller: a/click in both profiles; squeeze/value in both
    assert frames[3].input.right.controller.primary and frames[10].input.right.controller.primary
    assert frames[10].input.right.controller.squeeze == 0.75
    assert any("INTERACTION_PROFILE_CHANGED /interaction_profiles/valve" in e for _, e in hs.session_events)


def test_unsupported_profile_is_tolerated(headset: Any, backend_factory: Any) -> None:
    headset({"headset": {"resolution": [32, 32], "unsupported_profiles": [WMR]},
             "keys": [{"frame": 0, "left": {"trigger": 0.25}}], "events": [{"frame": 4, "type": "exit"}]})
    be = backend_factory()
    assert be.rejected == [WMR] and TOUCH in be.suggested
    frames = _frames(be)
    assert frames[3].input.left.controller.trigger == 0.25


def test_session_loss_recovers_with_a_new_session(headset: Any, backend_factory: Any) -> None:
    hs = headset({"headset": {"resolution": [32, 32]},
                  "keys": [{"frame": 0, "left": {"trigger": 0.5}}],
                  "events": [{"frame": 5, "type": "session_loss"}, {"frame": 14, "type": "exit"}]})
    be = backend_factory()
    first = be._session_h
    frames = _frames(be)
    events = _states(frames, be)
    assert "state:LOSS_PENDING" in events and "session_recreate" in events
    assert be._session_h == 0 and be.state == "EXITING" and be.finish_reason == ""
    states = [e for _, e in hs.session_events]
    assert states.count("READY") == 2 and states[-1] == "EXITING"
    after = [f for f in frames[7:] if f.input.left.controller.active]
    assert after and after[-1].input.left.controller.trigger == 0.5 and first  # input works in the new session
    assert not hs.errors


def test_session_loss_without_recovery_exits_cleanly_with_a_message(headset: Any, backend_factory: Any) -> None:
    headset({"headset": {"resolution": [32, 32], "recover_after_loss": False},
             "events": [{"frame": 4, "type": "session_loss"}]})
    be = backend_factory()
    frames = _frames(be)
    assert len(frames) <= 6 and be.begin_frame() is None
    assert "lost" in be.finish_reason and "could not be recreated" in be.finish_reason


def test_instance_loss_finishes(headset: Any, backend_factory: Any) -> None:
    headset({"headset": {"resolution": [32, 32]}, "events": [{"frame": 3, "type": "instance_loss"}]})
    be = backend_factory()
    frames = _frames(be)
    assert len(frames) <= 5 and "instance loss" in be.finish_reason


def test_system_without_hand_tracking_synthesizes_hands(headset: Any, backend_factory: Any) -> None:
    headset({"headset": {"resolution": [32, 32], "hand_tracking": False},
             "keys": [{"frame": 0, "right": {"trigger": 1.0, "squeeze": 1.0, "hand": {"shape": "open"}}}],
             "events": [{"frame": 4, "type": "exit"}]})
    be = backend_factory()
    assert not be.hand_tracking
    f = _frames(be)[3]
    assert f.input.right.source == "controller" and f.input.right.joints.all_valid
    # trigger and squeeze fully pressed: the synthesized fingertips are curled towards the palm
    tip = f.input.right.joints.positions[10] - f.input.right.controller.grip.position
    assert np.linalg.norm(tip) < 0.12


def _box_scene() -> Any:
    from vrdiplomacy.scene.model import Light, Material, Mesh, Node, Scene
    from vrdiplomacy.scene.math3d import mat4_translate

    p = np.array([[x, y, z] for x in (-0.5, 0.5) for y in (-0.5, 0.5) for z in (-0.5, 0.5)], np.float32)
    faces = [(0, 1, 3, 2, (-1, 0, 0)), (4, 6, 7, 5, (1, 0, 0)), (0, 4, 5, 1, (0, -1, 0)),
             (2, 3, 7, 6, (0, 1, 0)), (0, 2, 6, 4, (0, 0, -1)), (1, 5, 7, 3, (0, 0, 1))]
    pos, nrm, idx = [], [], []
    for a, b, c, d, n in faces:
        base = len(pos)
        pos += [p[a], p[b], p[c], p[d]]
        nrm += [n] * 4
        idx += [base, base + 1, base + 2, base, base + 2, base + 3]
    nodes = []
    for name, color, at in (("red", (0.9, 0.1, 0.1, 1), (-0.8, 1.5, -3)), ("green", (0.1, 0.8, 0.2, 1), (0.8, 1.5, -3)),
                            ("blue", (0.1, 0.2, 0.9, 1), (0.0, 0.4, -2.5))):
        mesh = Mesh(name, np.array(pos), np.array(nrm, np.float32), np.array(idx, np.uint32), Material(name, base_color=color))
        nodes.append(Node(name, mesh, mat4_translate(at)))
    return Scene("boxes", nodes, [Light("directional", (1, 1, 1), 1.0, (0.3, -1.0, -0.5))], clear_color=(0.3, 0.3, 0.35, 1.0))


def _compare_golden(img: np.ndarray, name: str) -> None:
    from PIL import Image

    path = DATA / name
    if os.environ.get("VRD_UPDATE_GOLDENS") == "1" or not path.exists():
        if os.environ.get("VRD_UPDATE_GOLDENS") != "1":
            pytest.fail(f"golden {path} is missing (run with VRD_UPDATE_GOLDENS=1 to write it)")
        Image.fromarray(img).save(path)
        return
    golden = np.asarray(Image.open(path).convert("RGBA"))
    assert golden.shape == img.shape
    diff = np.abs(golden.astype(np.int16) - img.astype(np.int16))
    assert diff.mean() < 1.0 and (diff.max(axis=2) > 24).mean() < 0.005, f"{name}: mean diff {diff.mean():.2f}"


def test_submitted_eye_images_match_goldens(headset: Any, backend_factory: Any) -> None:
    from vrdiplomacy.render.renderer import Renderer

    hs = headset({"headset": {"resolution": [96, 72], "capture": [3]},
                  "keys": [{"frame": 0, "head": {"position": [0.0, 1.5, 0.0], "yaw_deg": 10, "pitch_deg": -5}}],
                  "events": [{"frame": 5, "type": "exit"}]})
    be = backend_factory()
    scene = _box_scene()
    r = Renderer(context=be.context)
    try:
        while (f := be.begin_frame()) is not None:
            if f.should_render:
                r.render(scene, f.views, f.targets)
            be.end_frame()
    finally:
        r.close()
    cap = hs.captures[3]
    left, right = cap.images
    assert left.shape == (72, 96, 4) and not np.array_equal(left, right)  # two eyes, two viewpoints
    rec = next(x for x in hs.records if x.frame == 3)
    assert rec.views[0]["pose"][4] < rec.views[1]["pose"][4]  # left eye is left of the right eye
    _compare_golden(left, "golden_boxes_left.png")
    _compare_golden(right, "golden_boxes_right.png")
