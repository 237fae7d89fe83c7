"""The viewer's own hands, first person (numpy, no GL): capsules along the bones of the 26 XR
hand joints, a shirt cuff and a sleeve, nothing else of the body.

:func:`hand_bones` turns one hand's joints (scene coordinates) into instance rows for one
instanced draw of a unit capsule (shaders/hand.vert): each row is the bone's two ends with their
radii and a colour. Finger radii come from the joints (``XrHandJointLocationEXT.radius``), at
least a plausible minimum so synthesized hands (mouse, controller) are not wire-thin; the palm is
a few overlapping wide capsules from the wrist to the knuckles. :class:`OwnHandsLayer` keeps the
capsule and the bone rows on the GPU (through the renderer's counting GL layer) and draws them.
"""

from __future__ import annotations

import ctypes
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from vrdiplomacy.input.frame import HandJoints, Joint
from vrdiplomacy.scene.math3d import Pose, quat_mul, quat_rotate
from vrdiplomacy.scene.model import Avatar

SKIN = (0.80, 0.60, 0.48)  # linear RGB; the first of the avatar skin tones (shaders/avatar.vert)
SHIRT = (0.82, 0.83, 0.85)
ROW_FLOATS = 12  # a (xyz, radius), b (xyz, radius), colour (rgb, unused)
SLEEVE_LENGTH = 0.16  # metres of forearm shown behind the wrist
MAX_BONES = 64

# (from joint, to joint, minimum radius in metres)
_FINGER_BONES: tuple[tuple[int, int, float], ...] = tuple(
    (a, a + 1, r)
    for first, last, r in ((Joint.THUMB_METACARPAL, Joint.THUMB_TIP, 0.0105), (Joint.INDEX_PROXIMAL, Joint.INDEX_TIP, 0.0085),
                           (Joint.MIDDLE_PROXIMAL, Joint.MIDDLE_TIP, 0.0088), (Joint.RING_PROXIMAL, Joint.RING_TIP, 0.0083),
                           (Joint.LITTLE_PROXIMAL, Joint.LITTLE_TIP, 0.0072))
    for a in range(first, last)
)
_PALM_BONES: tuple[tuple[int, int, float], ...] = (
    (Joint.WRIST, Joint.INDEX_PROXIMAL, 0.016), (Joint.WRIST, Joint.MIDDLE_PROXIMAL, 0.018),
    (Joint.WRIST, Joint.RING_PROXIMAL, 0.017), (Joint.WRIST, Joint.LITTLE_PROXIMAL, 0.015),
    (Joint.INDEX_PROXIMAL, Joint.LITTLE_PROXIMAL, 0.011), (Joint.WRIST, Joint.THUMB_PROXIMAL, 0.014),
)
BONES = _FINGER_BONES + _PALM_BONES
_A = np.array([b[0] for b in BONES], np.intp)
_B = np.array([b[1] for b in BONES], np.intp)
_R = np.array([b[2] for b in BONES], np.float32)


def hand_bones(joints: HandJoints, origin: Pose | None = None, sleeve: tuple[float, float, float] = (0.16, 0.2, 0.3)
               ) -> npt.NDArray[np.float32]:
    """(k, ROW_FLOATS) capsule rows for one tracked hand (empty when its wrist is not valid):
    finger and palm bones in skin, a shirt cuff and ``sleeve``-coloured forearm behind the wrist.
    ``origin`` places the joints in the scene (the play space's pose; None: already there)."""
    if not bool(joints.valid[Joint.WRIST]):
        return np.zeros((0, ROW_FLOATS), np.float32)
    pos = np.asarray(joints.positions, np.float32)
    wrist_q = np.asarray(joints.orientations[Joint.WRIST], np.float32)
    if origin is not None:
        r = _mat3(np.asarray(origin.orientation, np.float32))
        pos = pos @ r.T + np.asarray(origin.position, np.float32)
        wrist_q = quat_mul(origin.orientation, wrist_q)
    valid = np.asarray(joints.valid, bool)
    keep = valid[_A] & valid[_B]
    radii = np.asarray(joints.radii, np.float32)
    ra = np.maximum(radii[_A], _R)[keep]
    rb = np.maximum(radii[_B], _R)[keep] * np.where(np.isin(_B[keep], _TIPS), 0.85, 1.0).astype(np.float32)
    n = int(keep.sum())
    rows = np.zeros((n + 2, ROW_FLOATS), np.float32)
    rows[:n, 0:3] = pos[_A[keep]]
    rows[:n, 3] = ra
    rows[:n, 4:7] = pos[_B[keep]]
    rows[:n, 7] = rb
    rows[:n, 8:11] = SKIN
    wrist = pos[Joint.WRIST]
    back = np.asarray(quat_rotate(wrist_q, (0.0, 0.0, 1.0)), np.float32)  # hand space +Z: towards the elbow
    cuff_end = wrist + back * 0.025
    rows[n] = (*(wrist + back * 0.008), 0.026, *cuff_end, 0.028, *SHIRT, 0.0)
    rows[n + 1] = (*cuff_end, 0.031, *(wrist + back * SLEEVE_LENGTH), 0.036, *sleeve, 0.0)
    return rows


_TIPS = np.array([Joint.THUMB_TIP, Joint.INDEX_TIP, Joint.MIDDLE_TIP, Joint.RING_TIP, Joint.LITTLE_TIP], np.intp)


def _mat3(q: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    from vrdiplomacy.scene.math3d import quat_to_mat3

    return np.asarray(quat_to_mat3(q), np.float32)


def capsule_mesh(segments: int = 10, cap_rings: int = 3) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.uint32]]:
    """A unit capsule for instancing: vertices (N, 4) = unit offset direction (x, y along the bone,
    z) and end t (0 at a, 1 at b); the shader scales the offset by that end's radius. Triangles
    counter-clockwise from outside."""
    rings: list[tuple[float, float, float]] = []  # (y of the offset, ring radius, t)
    for i in range(cap_rings, 0, -1):  # cap at a: from the pole towards the equator
        th = (math.pi / 2) * i / cap_rings
        rings.append((-math.sin(th), math.cos(th), 0.0))
    rings.append((0.0, 1.0, 0.0))
    rings.append((0.0, 1.0, 1.0))
    for i in range(1, cap_rings + 1):
        th = (math.pi / 2) * i / cap_rings
        rings.append((math.sin(th), math.cos(th), 1.0))
    verts = []
    for y, rr, t in rings:
        for j in range(segments):
            a = 2 * math.pi * j / segments
            verts.append((rr * math.sin(a), y, rr * math.cos(a), t))
    idx = []
    for i in range(len(rings) - 1):
        for j in range(segments):
            a, b = i * segments + j, i * segments + (j + 1) % segments
            c, d = a + segments, b + segments
            idx += [a, b, d, a, d, c]
    return np.array(verts, np.float32), np.array(idx, np.uint32)


class OwnHandsLayer:
    """The first-person hands' GL side: a unit capsule (:func:`capsule_mesh`) and the bone rows of
    :func:`hand_bones`, one instanced draw. ``buffer(target, size, data, usage)`` makes a buffer
    the renderer frees."""

    def __init__(self, gl: Any, GL: Any, program: int, buffer: Callable[..., int]) -> None:
        self.gl, self.GL, self.program = gl, GL, program
        verts, idx = capsule_mesh()
        self.index_count = int(idx.size)
        self.vao = int(gl.glGenVertexArrays(1))
        gl.glBindVertexArray(self.vao)
        buffer(GL.GL_ARRAY_BUFFER, verts.nbytes, verts, GL.GL_STATIC_DRAW)
        gl.glEnableVertexAttribArray(0)
        gl.glVertexAttribPointer(0, 4, GL.GL_FLOAT, GL.GL_FALSE, 16, None)
        buffer(GL.GL_ELEMENT_ARRAY_BUFFER, idx.nbytes, idx, GL.GL_STATIC_DRAW)
        self.rows = np.zeros((MAX_BONES, ROW_FLOATS), np.float32)
        self.vbo = buffer(GL.GL_ARRAY_BUFFER, self.rows.nbytes, self.rows, GL.GL_STREAM_DRAW)
        for loc in (1, 2, 3):
            gl.glEnableVertexAttribArray(loc)
            gl.glVertexAttribPointer(loc, 4, GL.GL_FLOAT, GL.GL_FALSE, ROW_FLOATS * 4, ctypes.c_void_p((loc - 1) * 16))
            gl.glVertexAttribDivisor(loc, 1)
        gl.glBindVertexArray(0)

    def pack(self, own: Avatar | None) -> int:
        """The viewer's articulated hands into the bone buffer; how many bones (0: none, or an
        :class:`Avatar` without joints, which the avatar draw shows with its hands-only row)."""
        from vrdiplomacy.scene.avatars import OwnHands

        if not isinstance(own, OwnHands):
            return 0
        parts = [hand_bones(j, own.origin, own.color) for j in (own.left_joints, own.right_joints) if j is not None]
        rows = np.concatenate(parts)[:MAX_BONES] if parts else self.rows[:0]
        k = len(rows)
        if k:
            self.rows[:k] = rows
            self.gl.glBindBuffer(self.GL.GL_ARRAY_BUFFER, self.vbo)
            self.gl.glBufferSubData(self.GL.GL_ARRAY_BUFFER, 0, k * ROW_FLOATS * 4, self.rows)
        return k

    def draw(self, bones: int) -> None:
        """One instanced draw of ``bones`` capsules (zero draws nothing)."""
        gl = self.gl
        gl.glUseProgram(self.program)
        gl.glBindVertexArray(self.vao)
        gl.glDrawElementsInstanced(self.GL.GL_TRIANGLES, self.index_count, self.GL.GL_UNSIGNED_INT, None, bones)
