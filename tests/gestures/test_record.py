"""JSON Lines recordings: round trips, gzip, truncated and malformed files."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from vrdiplomacy.errors import AssetError
from vrdiplomacy.gestures.record import Recorder, read_recording
from vrdiplomacy.gestures.synth import SHAPES, hand_joints
from vrdiplomacy.gestures.types import Target
from vrdiplomacy.input.frame import ControllerState, HandFrame, InputFrame
from vrdiplomacy.scene.math3d import Pose, quat_from_yaw_pitch_roll


def frames(n: int = 5) -> list[InputFrame]:
    out = []
    for i in range(n):
        f = InputFrame(i / 30, Pose(np.array([0.1, 1.2 + i * 0.01, 0.0], np.float32), quat_from_yaw_pitch_roll(0.1 * i)))
        hj = hand_joints(Pose(np.array([0.2, 0.9, -0.3], np.float32)), SHAPES["point"], "right")
        hj.valid[3] = False
        f.right = HandFrame("articulated", hj)
        f.left = HandFrame("controller", None, ControllerState(active=True, trigger=0.5, squeeze=1.0, thumb_touch=True,
                                                               primary=True, grip=Pose(np.array([-0.2, 0.9, -0.3], np.float32))))
        f.keys = frozenset({"nod"}) if i == 2 else frozenset()
        out.append(f)
    return out


@pytest.mark.parametrize("name", ["rec.jsonl", "rec.jsonl.gz"])
def test_round_trip(tmp_path, name: str) -> None:
    src = frames()
    path = tmp_path / name
    with Recorder(path, 30, [Target("FRA", (1, 1.2, -2), 0.3)], meta={"who": "test"}) as rec:
        for f in src:
            rec.write(f)
    got = read_recording(path)
    assert got.header["rate_hz"] == 30 and got.header["meta"] == {"who": "test"} and got.dropped == 0
    assert got.targets == [Target("FRA", (1.0, 1.2, -2.0), 0.3)]
    assert len(got.frames) == len(src)
    for a, b in zip(src, got.frames):
        assert a.time == pytest.approx(b.time, abs=1e-4) and a.keys == b.keys
        assert np.allclose(a.head.position, b.head.position, atol=1e-4)
        assert np.allclose(a.head.orientation, b.head.orientation, atol=1e-4)
        ja, jb = a.right.joints, b.right.joints
        assert ja is not None and jb is not None
        assert np.allclose(ja.positions, jb.positions, atol=1e-4) and np.allclose(ja.orientations, jb.orientations, atol=1e-4)
        assert (ja.valid == jb.valid).all() and not jb.valid[3]
        ca, cb = a.left.controller, b.left.controller
        assert (cb.active, cb.trigger, cb.squeeze, cb.thumb_touch, cb.primary, cb.secondary) == (True, 0.5, 1.0, True, True, False)
        assert cb.grip is not None and np.allclose(cb.grip.position, ca.grip.position, atol=1e-4) and cb.aim is None
        assert b.left.joints is None and b.right.controller.active is False


def test_schema_is_compact_json_lines(tmp_path) -> None:
    path = tmp_path / "r.jsonl"
    with Recorder(path, orientations=False, precision=3) as rec:
        rec.write(frames(1)[0])
    header, line = path.read_text().splitlines()
    assert json.loads(header) == {"format": "vrdiplomacy-input", "version": 1}
    d = json.loads(line)
    assert set(d) == {"t", "head", "left", "right"} and len(d["head"]) == 7
    assert set(d["right"]["joints"]) == {"p", "v"} and len(d["right"]["joints"]["p"]) == 78
    assert d["right"]["joints"]["v"] == (1 << 26) - 1 - (1 << 3)
    assert d["left"]["ctl"]["buttons"] == ["primary", "thumb_touch"]


def test_truncated_last_line_is_dropped_and_counted(tmp_path) -> None:
    path = tmp_path / "cut.jsonl"
    with Recorder(path) as rec:
        for f in frames(3):
            rec.write(f)
    text = path.read_text()
    path.write_text(text[: len(text) - 40])  # the recorder died mid-line
    got = read_recording(path)
    assert len(got.frames) == 2 and got.dropped == 1


@pytest.mark.parametrize(
    "line, msg",
    [
        ("{not json", "not JSON"),
        ('{"head": [0, 0, 0, 0, 0, 0, 1]}', "t must be"),
        ('{"t": 1, "head": [0, 0]}', "head must be a list of 7"),
        ('{"t": 1, "right": {"joints": {"p": [0, 1]}}}', "right.joints.p"),
        ('{"t": 1, "left": {"ctl": {"trigger": 2}}}', "trigger/squeeze"),
        ('{"t": 1, "left": {"ctl": {"buttons": ["turbo"]}}}', "buttons"),
        ('{"t": 1, "keys": "nod"}', "keys"),
        ('{"t": 1, "right": {"joints": {"p": ' + json.dumps([0] * 78) + ', "v": -1}}}', "26-bit"),
        ('{"t": 1e999}', "finite"),
    ],
)
def test_malformed_lines_name_the_line(tmp_path, line: str, msg: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"format": "vrdiplomacy-input", "version": 1}\n{"t": 0}\n' + line + "\n{\"t\": 5}\n")
    with pytest.raises(AssetError, match=f"bad.jsonl:3: .*{msg}"):
        read_recording(path)


def test_bad_files(tmp_path) -> None:
    p = tmp_path / "x.jsonl"
    p.write_text('{"format": "other", "version": 1}\n')
    with pytest.raises(AssetError, match="unknown format"):
        read_recording(p)
    p.write_text('{"format": "vrdiplomacy-input", "version": 9}\n')
    with pytest.raises(AssetError, match="version"):
        read_recording(p)
    p.write_text('{"t": 2}\n{"t": 1}\n')
    with pytest.raises(AssetError, match="backwards"):
        read_recording(p)
    g = tmp_path / "x.jsonl.gz"
    g.write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(AssetError, match="cannot read"):
        read_recording(g)
    b = tmp_path / "bin.jsonl"
    b.write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(AssetError):
        read_recording(b)
    with pytest.raises(AssetError, match="cannot read"):
        read_recording(tmp_path / "missing.jsonl")
    with gzip.open(g, "wt") as f:
        f.write('{"t": 0}\n')
    assert len(read_recording(g).frames) == 1
