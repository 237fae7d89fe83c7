"""Pose codec (quantization, keyframes, deltas) and interest management."""

from __future__ import annotations

import numpy as np
import pytest

from vrdiplomacy.errors import ProtocolError
from vrdiplomacy.net.interest import InterestSettings, RoomInterest
from vrdiplomacy.net.pose import PoseDecoder, PoseEncoder, pack_quat, unpack_quat
from vrdiplomacy.net.wire import level_byte
from vrdiplomacy.scene.math3d import Pose, quat_from_axis_angle
from netpump import lounge_layout


def test_quaternion_quantization_error_is_small() -> None:
    rng = np.random.default_rng(1)
    for _ in range(500):
        q = rng.normal(size=4)
        q /= np.linalg.norm(q)
        r = unpack_quat(pack_quat(q))
        assert abs(abs(float(np.dot(q, r))) - 1.0) < 2e-5  # well under 1 degree


def test_pose_stream_keyframes_and_deltas() -> None:
    enc, dec = PoseEncoder(key_interval=10, deltas=True), PoseDecoder()
    keys = 0
    for i in range(25):
        head = Pose(np.array([1.0 + 0.01 * i, 1.6, -2.0], np.float32), quat_from_axis_angle((0, 1, 0), 0.05 * i))
        left = Pose(np.array([0.8, 1.2, -2.3], np.float32), quat_from_axis_angle((1, 0, 0), 0.3))
        payload, key, seq = enc.encode(head, left, None)
        keys += key
        assert len(payload) == (23 if key else 19)
        s = dec.decode(payload)
        assert s.seq == seq and s.key == key and s.right is None and s.left is not None
        assert np.allclose(s.head.position, head.position, atol=0.0011)
        assert np.allclose(s.left.position, left.position, atol=0.0011)
        assert abs(abs(float(np.dot(s.head.orientation, head.orientation))) - 1) < 1e-4
    assert keys == 3  # frames 1, 11, 21


def test_delta_without_its_keyframe_is_refused() -> None:
    enc = PoseEncoder(deltas=True)
    head = Pose.from_yaw((0, 1.6, 0), 0)
    enc.encode(head)
    delta, key, _ = enc.encode(head)
    assert not key
    with pytest.raises(ProtocolError, match="keyframe"):
        PoseDecoder().decode(delta)
    with pytest.raises(ProtocolError):
        PoseDecoder().decode(b"\x01\x00")


def test_large_jump_forces_a_keyframe() -> None:
    enc = PoseEncoder(deltas=True)
    enc.encode(Pose.from_yaw((0, 1.6, 0), 0))
    _, key, _ = enc.encode(Pose.from_yaw((5, 1.6, 0), 0))
    assert key


def _room(n: int, positions: list[tuple[float, float, float]], **kw: float) -> RoomInterest:
    ri = RoomInterest(InterestSettings(**kw), lounge_layout())  # type: ignore[arg-type]
    for i in range(1, n + 1):
        ri.add(i)
        ri.set_position(i, positions[i - 1])
    return ri


def test_last_n_radius_and_floor() -> None:
    pos = [(float(i) * 5.0, 1.6, 0.0) for i in range(-3, 3)]  # 6 members 5 m apart, x in [-15, 10]
    ri = _room(6, pos, last_n=2, audible_radius=6.0)
    ri.note_voice(1, level_byte(-10, True), 0.0)  # loud
    ri.note_voice(2, level_byte(-30, True), 0.0)
    ri.note_voice(3, level_byte(-40, True), 0.0)  # quietest: not in last-2
    r = ri.recompute(0.0)
    assert r.selected == {1, 2}
    assert sorted(r.voice[1]) == [2, 3, 4, 5, 6]
    assert sorted(r.voice[3]) == [2, 4]  # only neighbours within 6 m hear member 3
    ri.set_floor(6)
    r = ri.recompute(0.1)
    assert sorted(r.voice[6]) == [1, 2, 3, 4, 5]
    r = ri.recompute(5.0)  # speakers went quiet: only the radius and the floor remain
    assert r.selected == set() and sorted(r.voice[1]) == [2]


def test_isolated_lounge_is_not_heard_and_seen_only_by_keyframes() -> None:
    pos = [(0.0, 1.6, 0.0), (1.0, 1.6, 0.0), (21.0, 1.6, 0.0), (22.0, 1.6, 0.0)]  # 3, 4 in the lounge
    ri = _room(4, pos, last_n=4, audible_radius=30.0, near_radius=30.0, mid_radius=40.0)
    for cid in (1, 3):
        ri.note_voice(cid, level_byte(-10, True), 0.0)
    r = ri.recompute(0.0)
    assert sorted(r.voice[1]) == [2]  # the plenary speaker is not heard in the lounge
    assert sorted(r.voice[3]) == [4]  # the lounge is not heard outside
    assert sorted(r.near[1]) == [2] and sorted(r.near[3]) == [4]
    assert 3 not in r.mid[1] and 1 not in r.mid[3]
    assert ri.space_of(3) == "lounge" and ri.space_of(1) == ""


def test_pose_tiers_by_distance() -> None:
    pos = [(0.0, 1.6, 0.0), (2.0, 1.6, 0.0), (6.0, 1.6, 0.0), (15.0, 1.6, 0.0)]
    ri = _room(4, pos)
    r = ri.recompute(0.0)
    assert r.near[1] == [2] and r.mid[1] == [3]
    assert 4 not in r.near[1] + r.mid[1]  # far: keyframes only (room-wide batch)


def test_self_contained_frames_decode_after_any_loss_and_keep_the_key_schedule() -> None:
    """Every frame decodes on its own (a lost keyframe costs only itself); keyframes still come
    every ``key_interval`` frames for the relay's far tier. With delta coding, the frames after a
    lost keyframe are lost too (fails on main 3e2635d, where every stream is delta coded)."""
    def frames(enc: PoseEncoder) -> list[tuple[bytes, bool, int]]:
        out = []
        for i in range(30):
            head = Pose(np.array([0.5 + 0.01 * i, 1.6, -2.0], np.float32), quat_from_axis_angle((0, 1, 0), 0.05 * i))
            left = Pose(np.array([0.3, 1.2, -2.3], np.float32), quat_from_axis_angle((1, 0, 0), 0.3))
            right = Pose(np.array([0.7, 1.2, -2.3 + 0.005 * i], np.float32), quat_from_axis_angle((1, 0, 0), -0.3))
            out.append(enc.encode(head, left, right))
        return out

    new, old = frames(PoseEncoder()), frames(PoseEncoder(deltas=True))
    assert [k for _, k, _ in new] == [k for _, k, _ in old] == [i % 10 == 0 for i in range(30)]
    assert {len(p) for p, _, _ in new} == {33}  # 13 + 10 per hand
    lost_key = {10}  # the second keyframe is lost
    dec_new, dec_old = PoseDecoder(), PoseDecoder()
    got_new = [dec_new.decode(p).seq for i, (p, _, _) in enumerate(new) if i not in lost_key]
    assert len(got_new) == 29
    got_old = []
    for i, (p, _, _) in enumerate(old):
        if i in lost_key:
            continue
        try:
            got_old.append(dec_old.decode(p).seq)
        except ProtocolError:
            pass
    assert len(got_old) == 20  # frames 11..19 had no keyframe
    s = PoseDecoder().decode(new[17][0])
    assert s.key and np.allclose(s.head.position, (0.67, 1.6, -2.0), atol=0.0011)
    assert s.right is not None and np.allclose(s.right.position, (0.7, 1.2, -2.3 + 0.085), atol=0.0011)


def test_reordered_and_duplicated_frames_are_refused_but_a_restart_is_taken() -> None:
    from vrdiplomacy.net.pose import LatePose

    enc, dec = PoseEncoder(), PoseDecoder()
    ps = [enc.encode(Pose.from_yaw((0.01 * i, 1.6, 0), 0))[0] for i in range(200)]
    dec.decode(ps[5])
    for late in (ps[3], ps[5]):
        with pytest.raises(LatePose):
            dec.decode(late)
    assert dec.decode(ps[7]).seq == 8
    fresh = PoseEncoder().encode(Pose.from_yaw((0, 1.6, 0), 0))[0]  # a restarted sender: seq 1 again
    dec.decode(ps[150])
    assert dec.decode(fresh).seq == 1
