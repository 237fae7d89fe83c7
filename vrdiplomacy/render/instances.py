"""Per-frame packing of avatar state into the instance buffer's rows (numpy, no GL).

A :class:`~vrdiplomacy.scene.crowd.Crowd` (struct-of-arrays) packs with a dozen vectorized
copies whatever its size (:func:`pack_crowd`). A list of :class:`Avatar` objects goes through
:func:`gather_poses` and :func:`gather_flags` first (a pass over the objects) and
:func:`pack_gathered`. The row layout (twelve vec4) is the one shaders/avatar.vert reads.

The renderer calls these once per frame for every avatar, so they are written for CPython speed:
one flat pass over the avatars each, no per-avatar numpy assignment (the costly part at 200+
avatars), and the pose gather joins the float32 arrays' bytes instead of ``np.concatenate``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from vrdiplomacy.render.avatar_mesh import HAND_SHAPES
from vrdiplomacy.render.icons import ICON_INDEX
from vrdiplomacy.scene.crowd import GESTURES, SHAPE_NAMES, Crowd
from vrdiplomacy.scene.model import Avatar

POSE_FLOATS = 7  # position xyz + orientation xyzw
FLAG_FLOATS = 16  # per-avatar flags: 4 state, 4 colour, 4 placard rect, 4 extra (hand shapes, icon, spare)


def gather_poses(avatars: Sequence[Avatar]) -> npt.NDArray[np.float32]:
    """(n, 4, 7): root, head, left hand and right hand pose of each avatar.

    Float32 numpy poses (what the scene code makes) take the fast byte-joining path; anything
    else (lists, float64 arrays) is converted, with the same result."""
    n = len(avatars)
    parts = [x for a in avatars for x in (a.root.position, a.root.orientation, a.head.position, a.head.orientation,
                                          a.left.pose.position, a.left.pose.orientation,
                                          a.right.pose.position, a.right.pose.orientation)]
    try:
        raw = b"".join([x.tobytes() for x in parts])
    except AttributeError:  # a list or tuple among them
        raw = b""
    if len(raw) == n * 4 * POSE_FLOATS * 4:  # every part float32 (a float64 part makes it longer)
        return np.frombuffer(raw, dtype=np.float32).reshape(n, 4, POSE_FLOATS)
    return np.concatenate([np.asarray(x, dtype=np.float32).reshape(-1) for x in parts]).reshape(n, 4, POSE_FLOATS)


def gather_flags(avatars: Sequence[Avatar], rects: dict[str, tuple[float, float, float, float]]) -> npt.NDArray[np.float32]:
    """(n, 16) flags per avatar. ``rects`` maps delegation to its placard rectangle in the atlas
    (a missing delegation raises KeyError, which the renderer answers by rebuilding the atlas)."""
    out: list[float] = []
    ext = out.extend
    shapes, icons = HAND_SHAPES.get, ICON_INDEX.get
    for a in avatars:
        lh, rh = a.left, a.right
        ext((a.speaking, lh.visible, rh.visible, a.seated, *a.color, 1.0, *rects[a.delegation],
             shapes(lh.shape, 0), shapes(rh.shape, 0), icons(a.gesture_icon, -1), 0.0))
    return np.array(out, dtype=np.float32).reshape(len(avatars), FLAG_FLOATS)


# crowd index tables -> shader values: hand shape index, gesture icon cell (row 0 is "no icon")
SHAPE_LUT = np.array([HAND_SHAPES[name] for name in SHAPE_NAMES], np.float32)
ICON_LUT = np.array([-1.0] + [float(ICON_INDEX.get(g, -1)) for g in GESTURES], np.float32)
SEED_MOD = 65536  # avatar ids reach the shader modulo this (exact in float32): skin, hair, suit, build


def pack_crowd(buf: npt.NDArray[np.float32], crowd: Crowd, label_rects: npt.NDArray[np.float32]) -> None:
    """Rows ``buf`` (len(crowd), 12, 4) from ``crowd``; ``label_rects`` (len(crowd.names), 4 or 5) are the
    placard rectangles of its names in the atlas and (fifth column) 2.0 for a label with a name tag."""
    p = crowd.pose
    buf[:, 0:8:2, 0:3] = p[:, :, 0:3]
    buf[:, 1:8:2, :] = p[:, :, 3:7]
    buf[:, 0, 3] = crowd.speaking
    buf[:, 2:6:2, 3] = crowd.visible
    buf[:, 6, 3] = crowd.seated
    buf[:, 8, 0:3] = crowd.color
    buf[:, 8, 3] = crowd.ids % SEED_MOD
    rects = label_rects[crowd.label]
    buf[:, 9, :] = rects[:, 0:4]
    buf[:, 10, 0:2] = SHAPE_LUT[crowd.shape]
    buf[:, 10, 2] = ICON_LUT[crowd.gesture + 1]
    buf[:, 10, 3] = rects[:, 4] if rects.shape[1] > 4 else 0.0
    buf[:, 11, 0:3] = crowd.look
    buf[:, 11, 3] = crowd.blink


def pack_gathered(buf: npt.NDArray[np.float32], poses: npt.NDArray[np.float32], flags: npt.NDArray[np.float32],
                  ids: Sequence[int]) -> None:
    """Rows ``buf`` (n, 12, 4) from :func:`gather_poses` and :func:`gather_flags` output and the avatar ids
    (eyes ahead, open: objects carry no gaze or blink)."""
    n = len(ids)
    buf[:, 0:8:2, 0:3] = poses[:, :, 0:3]
    buf[:, 1:8:2, :] = poses[:, :, 3:7]
    buf[:, 0:8:2, 3] = flags[:, 0:4]
    buf[:, 8:11, :] = flags[:, 4:16].reshape(n, 3, 4)
    buf[:, 8, 3] = np.asarray(ids, np.int64) % SEED_MOD
    buf[:, 11, :] = (np.nan, 0.0, 0.0, 0.0)


def pack_local_hands(row: npt.NDArray[np.float32], own: Avatar) -> None:
    """The viewer's own hands and forearms (nothing else of them is drawn) into instance ``row`` (12, 4)."""
    for k, pose in enumerate((own.root, own.head, own.left.pose, own.right.pose)):
        row[2 * k, 0:3] = pose.position
        row[2 * k + 1] = pose.orientation
    row[0:8:2, 3] = (0.0, own.left.visible, own.right.visible, own.seated)
    row[8] = (*own.color, own.avatar_id % SEED_MOD)
    row[9] = 0.0
    row[10] = (HAND_SHAPES.get(own.left.shape, 0), HAND_SHAPES.get(own.right.shape, 0), -1.0, 1.0)
    row[11] = (np.nan, 0.0, 0.0, 0.0)
