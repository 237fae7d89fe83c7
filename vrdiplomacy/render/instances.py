"""Per-frame gathering of avatar state into flat float32 arrays for the instance buffer (no GL).

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
