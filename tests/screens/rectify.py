"""Find a live screen in a rendered eye image and resample it to a small upright picture."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from vrdiplomacy.render.frames import views_for
from vrdiplomacy.scene.math3d import Pose, view_projection_colmajor


def project(view: Any, points: npt.NDArray[np.float32], size: tuple[int, int]) -> npt.NDArray[np.float64]:
    """Pixel coordinates (x right, y down) of world ``points`` in a ``size`` image of ``view``."""
    f = view.fov
    m = np.array(view_projection_colmajor(view.pose.position, view.pose.orientation,
                                          (f.angle_left, f.angle_right, f.angle_up, f.angle_down), 0.05, 200.0),
                 dtype=np.float64).reshape(4, 4).T
    p = np.c_[np.asarray(points, np.float64), np.ones(len(points))] @ m.T
    ndc = p[:, :2] / p[:, 3:4]
    w, h = size
    return np.c_[(ndc[:, 0] + 1) * 0.5 * w, (1 - ndc[:, 1]) * 0.5 * h]


def rectify(image: npt.NDArray[np.uint8], corners_px: npt.NDArray[np.float64], grid: tuple[int, int]) -> npt.NDArray[np.float64]:
    """``image`` sampled (bilinear) over the quad ``corners_px`` (bl, br, tl, tr) on a ``grid`` (w, h), top row first."""
    gw, gh = grid
    u = (np.arange(gw) + 0.5) / gw
    v = 1.0 - (np.arange(gh) + 0.5) / gh  # v up from the bottom edge
    U, V = np.meshgrid(u, v)
    bl, br, tl, tr = corners_px
    pts = ((1 - U)[..., None] * (1 - V)[..., None] * bl + U[..., None] * (1 - V)[..., None] * br
           + (1 - U)[..., None] * V[..., None] * tl + U[..., None] * V[..., None] * tr)
    x, y = pts[..., 0] - 0.5, pts[..., 1] - 0.5
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = x - x0, y - y0
    h, w = image.shape[:2]
    img = image[..., :3].astype(np.float64)

    def px(yy: Any, xx: Any) -> Any:
        return img[np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)]

    out = (px(y0, x0) * ((1 - fx) * (1 - fy))[..., None] + px(y0, x0 + 1) * (fx * (1 - fy))[..., None]
           + px(y0 + 1, x0) * ((1 - fx) * fy)[..., None] + px(y0 + 1, x0 + 1) * (fx * fy)[..., None])
    return out


def screen_in_left_eye(image: npt.NDArray[np.uint8], head: Pose, corners: npt.NDArray[np.float32],
                       eye_size: tuple[int, int]) -> npt.NDArray[np.float64] | None:
    """The corners of the screen in the left eye of a side-by-side stereo ``image`` (None: not fully in view)."""
    left = views_for(head, eye_size, stereo=True, fov_deg=90.0)[0]
    px = project(left, corners, eye_size)
    w, h = eye_size
    if np.any(px[:, 0] < 1) or np.any(px[:, 0] > w - 1) or np.any(px[:, 1] < 1) or np.any(px[:, 1] > h - 1):
        return None
    return px


def downsample(pixels: npt.NDArray[np.uint8], grid: tuple[int, int]) -> npt.NDArray[np.float64]:
    """A picture box-filtered to ``grid`` (w, h)."""
    from PIL import Image

    return np.asarray(Image.fromarray(pixels[..., :3]).resize(grid, Image.BOX), dtype=np.float64)
