"""Helpers shared by the ``render`` and ``demo`` commands (no GL here): sizes, views, images."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import numpy.typing as npt

from vrdiplomacy.errors import ConfigError, VrdError
from vrdiplomacy.scene.layout import Layout, Viewpoint
from vrdiplomacy.scene.math3d import Pose
from vrdiplomacy.scene.model import Fov, View, stereo_views

MIN_SIDE, MAX_SIDE = 16, 8192
_SIZE = re.compile(r"^\s*(\d+)\s*[xX]\s*(\d+)\s*$")


def parse_size(text: str) -> tuple[int, int]:
    """``"640x360"`` -> (640, 360); each side must be in MIN_SIDE..MAX_SIDE."""
    m = _SIZE.match(text or "")
    if not m:
        raise ConfigError(f"--size must look like WIDTHxHEIGHT (e.g. 640x360), got '{text}'")
    w, h = int(m.group(1)), int(m.group(2))
    if not (MIN_SIDE <= w <= MAX_SIDE and MIN_SIDE <= h <= MAX_SIDE):
        raise ConfigError(f"--size {w}x{h}: each side must be between {MIN_SIDE} and {MAX_SIDE} pixels")
    return w, h


def views_for(viewpoint: Viewpoint | Pose, size: tuple[int, int], stereo: bool, fov_deg: float | None = None,
              ipd: float = 0.064) -> list[View]:
    """One view (mono) or two (left, right eye) at ``viewpoint``, horizontal FOV from the layout."""
    if isinstance(viewpoint, Viewpoint):
        pose, fov = viewpoint.pose(), viewpoint.fov_deg
    else:
        pose, fov = viewpoint, 90.0
    f = Fov.symmetric(fov_deg or fov, size[0] / size[1])
    return stereo_views(pose, f, ipd) if stereo else [View(pose, f, "mono")]


def orbit_pose(center: tuple[float, float, float], radius: float, height: float, angle_deg: float,
               pitch_deg: float = -18.0) -> Pose:
    """A camera on a circle around ``center`` looking at it."""
    a = math.radians(angle_deg)
    pos = np.array([center[0] + radius * math.sin(a), center[1] + height, center[2] + radius * math.cos(a)],
                   dtype=np.float32)
    return Pose.from_yaw(pos, angle_deg, pitch_deg)


def layout_center(layout: Layout) -> tuple[float, float, float]:
    """Centre of the seats (or the origin when there are none)."""
    if not layout.seats:
        return (0.0, 0.0, 0.0)
    p = np.mean([s.position for s in layout.seats], axis=0)
    return (float(p[0]), float(p[1]), float(p[2]))


def save_png(image: npt.NDArray[np.uint8], path: Path) -> None:
    """Write an (h, w, 4) RGBA image as an opaque PNG, creating the directory."""
    from PIL import Image

    if path.suffix.lower() != ".png":
        raise ConfigError(f"{path}: the output must be a .png file")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.ascontiguousarray(image[..., :3])).save(path, optimize=True)
    except OSError as e:
        raise VrdError(f"{path}: cannot write ({e.strerror or e})") from None


def stereo_side_by_side(left: npt.NDArray[np.uint8], right: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """One image, left eye on the left: (h, 2w, 4)."""
    return np.concatenate([left, right], axis=1)
