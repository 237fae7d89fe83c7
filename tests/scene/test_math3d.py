"""math3d: quaternion and matrix identities, OpenXR conventions, projection."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from vrdiplomacy.scene.math3d import (
    Pose,
    mat4_from_pose,
    mat4_inverse_rigid,
    mat4_perspective_fov,
    mat4_scale,
    mat4_translate,
    quat_from_axis_angle,
    quat_from_yaw_pitch_roll,
    quat_identity,
    quat_mul,
    quat_normalize,
    quat_rotate,
    quat_slerp,
    quat_to_mat3,
    yaw_towards,
)
from vrdiplomacy.scene.model import Fov, stereo_views

angles = st.floats(min_value=-math.pi, max_value=math.pi, allow_nan=False)
coords = st.floats(min_value=-100.0, max_value=100.0, allow_nan=False)
axes = st.tuples(coords, coords, coords).filter(lambda a: np.linalg.norm(a) > 1e-3)


def conj(q: np.ndarray) -> np.ndarray:
    return np.array([-q[0], -q[1], -q[2], q[3]], dtype=np.float32)


def test_yaw_convention_matches_openxr() -> None:
    # yaw 0 looks down -Z, yaw +90 (counter-clockwise seen from above) looks down -X
    assert np.allclose(Pose.from_yaw((0, 0, 0), 0.0).forward(), (0, 0, -1), atol=1e-6)
    assert np.allclose(Pose.from_yaw((0, 0, 0), 90.0).forward(), (-1, 0, 0), atol=1e-6)
    assert np.allclose(Pose.from_yaw((0, 0, 0), 180.0).forward(), (0, 0, 1), atol=1e-6)
    # positive pitch looks up
    assert Pose.from_yaw((0, 0, 0), 0.0, 30.0).forward()[1] > 0.4


@given(axes, angles)
def test_rotation_matrix_is_orthonormal_and_matches_rotate(axis: tuple[float, float, float], angle: float) -> None:
    q = quat_from_axis_angle(axis, angle)
    m = quat_to_mat3(q)
    assert np.allclose(m @ m.T, np.eye(3), atol=1e-5)
    assert math.isclose(float(np.linalg.det(m)), 1.0, abs_tol=1e-5)
    v = np.array([0.3, -1.2, 2.0], dtype=np.float32)
    assert np.allclose(quat_rotate(q, v), m @ v, atol=1e-5)
    # the axis is fixed by the rotation
    a = np.asarray(axis, dtype=np.float64) / np.linalg.norm(axis)
    assert np.allclose(quat_rotate(q, a), a, atol=1e-5)


@given(axes, angles, axes, angles)
def test_quaternion_product_composes_rotations(ax1, an1, ax2, an2) -> None:  # type: ignore[no-untyped-def]
    a = quat_from_axis_angle(ax1, an1)
    b = quat_from_axis_angle(ax2, an2)
    assert np.allclose(quat_to_mat3(quat_mul(a, b)), quat_to_mat3(a) @ quat_to_mat3(b), atol=1e-5)
    ident = quat_mul(a, conj(a))
    assert np.allclose(np.abs(ident), quat_identity(), atol=1e-6)


def test_quaternion_normalize_and_zero() -> None:
    assert np.allclose(quat_normalize([0, 0, 0, 0]), quat_identity())
    q = quat_normalize([1.0, 2.0, 3.0, 4.0])
    assert math.isclose(float(np.linalg.norm(q)), 1.0, rel_tol=1e-6)
    assert np.allclose(quat_from_axis_angle((0, 0, 0), 1.0), quat_identity())


@settings(max_examples=50)
@given(angles, angles, st.floats(min_value=0.0, max_value=1.0))
def test_slerp_endpoints_and_constant_speed(y1: float, y2: float, t: float) -> None:
    a = quat_from_yaw_pitch_roll(y1)
    b = quat_from_yaw_pitch_roll(y2)
    assert np.allclose(np.abs(quat_slerp(a, b, 0.0)), np.abs(a), atol=1e-5)
    assert np.allclose(np.abs(quat_slerp(a, b, 1.0)), np.abs(b), atol=1e-5)
    # the angle travelled is t times the whole angle (shortest path)
    def angle_between(p: np.ndarray, q: np.ndarray) -> float:
        return 2.0 * math.acos(min(1.0, abs(float(np.dot(p, q)))))

    s = quat_slerp(a, b, t)
    assert math.isclose(angle_between(a, s), t * angle_between(a, b), abs_tol=2e-3)


@given(st.tuples(coords, coords, coords), axes, angles)
def test_rigid_inverse(pos: tuple[float, float, float], axis: tuple[float, float, float], angle: float) -> None:
    m = mat4_from_pose(pos, quat_from_axis_angle(axis, angle))
    assert np.allclose(mat4_inverse_rigid(m) @ m, np.eye(4), atol=1e-3)
    assert np.allclose(m @ mat4_inverse_rigid(m), np.eye(4), atol=1e-3)


def test_translate_scale_and_pose_matrix() -> None:
    p = np.array([1.0, 2.0, 3.0, 1.0], dtype=np.float32)
    assert np.allclose(mat4_translate((1, 1, 1)) @ p, (2, 3, 4, 1))
    assert np.allclose(mat4_scale(2.0) @ p, (2, 4, 6, 1))
    pose = Pose.from_yaw((5.0, 0.0, 0.0), 90.0)
    assert np.allclose(pose.matrix() @ np.array([0, 0, -1, 1.0]), (4, 0, 0, 1), atol=1e-6)
    assert np.allclose(pose.transform_point((0, 0, -1)), (4, 0, 0), atol=1e-6)
    assert np.allclose(pose.inverse_matrix() @ np.array([4, 0, 0, 1.0]), (0, 0, -1, 1), atol=1e-6)


def test_yaw_towards_agrees_with_pose_forward() -> None:
    for target in [(3.0, 0.0, -4.0), (-2.0, 1.0, 5.0), (0.0, 0.0, 7.0), (-1.0, 0.0, 0.0)]:
        yaw = yaw_towards((0.0, 0.0, 0.0), target)
        fwd = Pose.from_yaw((0, 0, 0), yaw).forward()
        flat = np.array([target[0], 0.0, target[2]])
        assert np.allclose(fwd, flat / np.linalg.norm(flat), atol=1e-5)


def test_perspective_maps_near_and_far_planes() -> None:
    near, far = 0.1, 50.0
    proj = mat4_perspective_fov(-0.7, 0.7, 0.5, -0.5, near, far)

    def ndc(p: tuple[float, float, float]) -> np.ndarray:
        c = proj @ np.array([*p, 1.0])
        return c[:3] / c[3]

    assert math.isclose(float(ndc((0, 0, -near))[2]), -1.0, abs_tol=1e-4)
    assert math.isclose(float(ndc((0, 0, -far))[2]), 1.0, abs_tol=1e-4)
    # the edge of the field of view lands on the edge of clip space
    assert math.isclose(float(ndc((math.tan(0.7) * 2.0, 0, -2.0))[0]), 1.0, abs_tol=1e-4)
    assert math.isclose(float(ndc((0, math.tan(-0.5) * 3.0, -3.0))[1]), -1.0, abs_tol=1e-4)


def test_asymmetric_projection_centres_off_axis() -> None:
    proj = mat4_perspective_fov(-0.3, 0.9, 0.4, -0.4, 0.05, 100.0)
    # the direction halfway between the left and right tangents maps to x = 0
    mid = (math.tan(-0.3) + math.tan(0.9)) / 2.0
    c = proj @ np.array([mid, 0.0, -1.0, 1.0])
    assert math.isclose(float(c[0] / c[3]), 0.0, abs_tol=1e-5)


def test_symmetric_fov_and_stereo_views() -> None:
    fov = Fov.symmetric(90.0, 16 / 9)
    assert math.isclose(fov.angle_right, math.radians(45))
    assert math.isclose(math.tan(fov.angle_up) * 16 / 9, math.tan(fov.angle_right), rel_tol=1e-6)
    head = Pose.from_yaw((0.0, 1.6, 0.0), 90.0)
    left, right = stereo_views(head, fov, ipd=0.064)
    assert math.isclose(float(np.linalg.norm(left.pose.position - right.pose.position)), 0.064, rel_tol=1e-5)
    # facing -X, the right eye is towards -Z
    assert right.pose.position[2] < left.pose.position[2]


def test_view_projection_colmajor_matches_the_numpy_matrices() -> None:
    from vrdiplomacy.scene.math3d import Pose, quat_from_yaw_pitch_roll, view_projection_colmajor
    from vrdiplomacy.scene.model import Fov

    rng = np.random.default_rng(7)
    for k in range(20):
        q = quat_from_yaw_pitch_roll(*rng.uniform(-math.pi, math.pi, 3)) * (1.0 + k * 0.01)  # not quite unit
        pose = Pose(rng.uniform(-20, 20, 3).astype(np.float32), q.astype(np.float32))
        fov = Fov(*rng.uniform(0.3, 0.9, 4) * (-1, 1, 1, -1))
        want = fov.projection(0.05, 200.0) @ Pose(pose.position, pose.orientation / np.linalg.norm(pose.orientation)).inverse_matrix()
        got = np.array(view_projection_colmajor(pose.position, pose.orientation,
                                                (fov.angle_left, fov.angle_right, fov.angle_up, fov.angle_down), 0.05, 200.0))
        np.testing.assert_allclose(got.reshape(4, 4).T, want, rtol=2e-5, atol=2e-5)
    ident = view_projection_colmajor((0, 0, 0), (0, 0, 0, 0), (-1.0, 1.0, 1.0, -1.0), 1.0, 3.0)
    np.testing.assert_allclose(np.array(ident).reshape(4, 4).T, Fov(-1.0, 1.0, 1.0, -1.0).projection(1.0, 3.0), rtol=1e-6)
