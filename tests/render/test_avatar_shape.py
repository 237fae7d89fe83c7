"""The avatar's sculpted geometry and resting stances, measured on the mesh and poses (numpy, no GL).

Fails on main 94bf7c4: the head there was an ellipsoid with a box nose (no render/avatar_head.py),
and a standing delegate's hands lay palm down at hip height, elbows jutting out."""

from __future__ import annotations

import numpy as np

from vrdiplomacy.render import avatar_head as H
from vrdiplomacy.render.avatar_mesh import PART_HEAD, PART_JAW, build_avatar_mesh
from vrdiplomacy.scene.avatars import avatar_at
from vrdiplomacy.scene.math3d import quat_rotate

SHOULDER_STANDING = (0.185 * 1.10, 1.395, 0.025)  # shaders/avatar.vert (STAND_BROADEN, a build of 1), root space (x mirrored for the left)
ARM_REACH = 0.30 + 0.28
WRIST = (0.0, 0.0, 0.035)  # hand space


def test_the_face_has_a_nose_brow_lips_and_chin_in_relief() -> None:
    tip = H.front_point(0.0, -0.026)[2]
    cheek = H.front_point(0.035, -0.026)[2]
    socket = H.front_point(H.EYE_CENTER[0], H.EYE_CENTER[1])[2]
    brow = H.front_point(H.EYE_CENTER[0], H.EYE_CENTER[1] + 0.026)[2]
    assert tip < cheek - 0.012, "the nose stands at least 12 mm out of the cheeks (-Z is forward)"
    assert brow < socket - 0.006, "the brow overhangs the eye socket"
    # the eyes sit in their sockets: the eyeball's front just ahead of the socket, behind the brow
    eye_front = H.EYE_CENTER[2] - H.EYE_RADIUS
    assert socket - 0.02 < eye_front < brow + 0.004
    lips = H.lips(True).pos
    assert lips[:, 2].min() < H.front_point(0.0, H.MOUTH_Y)[2] - 0.002, "the upper lip stands proud of the face"


def test_the_jaw_weight_moves_the_chin_and_not_the_eyes() -> None:
    head = H.head()
    p, w = head.pos, head.weight
    chin = (p[:, 1] < -0.08) & (p[:, 2] < -0.06)
    above = p[:, 1] > H.MOUTH_Y + 0.01
    assert chin.any() and (w[chin] > 0.9).all()
    assert (w[above] == 0.0).all()
    # the mesh carries it to the shader: head skin vertices hold it in uv.y, the lower lip moves whole
    mesh = build_avatar_mesh().vertices
    parts = np.rint(mesh[:, 8])
    assert mesh[parts == PART_HEAD, 7].max() > 0.9
    assert (parts == PART_JAW).sum() > 20


def test_surfaces_face_outwards() -> None:
    for surf in (H.head(), H.hair(0), H.loft([(0.0, 0.05, 0.04, 0.0), (1.0, 0.04, 0.03, 0.0)])):
        c = surf.pos.mean(axis=0)
        outward = np.einsum("ij,ij->i", surf.nrm, surf.pos - c)
        assert (outward > 0).mean() > 0.95
        t = surf.tris.reshape(-1, 3)
        fn = np.cross(surf.pos[t[:, 1]] - surf.pos[t[:, 0]], surf.pos[t[:, 2]] - surf.pos[t[:, 0]])
        big = np.linalg.norm(fn, axis=1) > 1e-10
        agree = np.einsum("ij,ij->i", fn[big], surf.nrm[t[big, 0]]) > 0
        assert agree.mean() > 0.97, "triangles wound counter-clockwise seen from outside (the frag shader trusts it)"


def test_standing_delegates_rest_their_hands_within_reach_palms_in() -> None:
    stances = set()
    for avatar_id in range(9):
        a = avatar_at(avatar_id, "Testland", (0.0, 0.0, 0.0), 0.0, seated=False)  # faces -Z, root at the origin
        for side, hand in ((-1.0, a.left), (1.0, a.right)):
            q = hand.pose.orientation
            wrist = np.asarray(hand.pose.position) + quat_rotate(q, WRIST)
            shoulder = np.array(SHOULDER_STANDING) * (side, 1.0, 1.0)
            reach = float(np.linalg.norm(wrist - shoulder))
            assert 0.25 < reach < ARM_REACH - 0.01, (avatar_id, side, reach)  # the elbow eases, never locks
            palm = quat_rotate(q, (0.0, -1.0, 0.0))
            assert float(palm[0]) * -side > 0.7, (avatar_id, side, palm)  # the palm turned to the body
            assert wrist[1] < 1.15, "hands rest below the chest"
            stances.add((avatar_id % 3, round(float(hand.pose.position[1]), 1)))
    assert len({s for s, _ in stances}) == 3, "three stances in a crowd"
