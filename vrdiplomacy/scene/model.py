"""Scene model: nodes, meshes, PBR-lite materials, lights, views and avatars.

Plain data (numpy arrays and dataclasses). Nothing here imports GL; the renderer
(:mod:`vrdiplomacy.render`) uploads it. Geometry is static per scene; avatars are
instanced entities whose per-frame state is a few poses and flags, so drawing 1000
avatars costs the same number of draw calls as drawing one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from vrdiplomacy.scene.hud import HudPanel, MeetingOverlay
from vrdiplomacy.scene.math3d import Mat4, Pose, mat4_identity, mat4_perspective_fov

if TYPE_CHECKING:
    from vrdiplomacy.scene.crowd import Crowd

RGBA = tuple[float, float, float, float]
RGB = tuple[float, float, float]


@dataclass
class Texture:
    """An RGBA8 image (H, W, 4) uint8, in sRGB encoding. ``source`` names the file it came from."""

    pixels: npt.NDArray[np.uint8]
    source: str = ""
    srgb: bool = True


@dataclass
class Material:
    """PBR-lite material. Colours are linear RGB(A) factors; textures multiply them."""

    name: str
    base_color: RGBA = (0.8, 0.8, 0.8, 1.0)
    metallic: float = 0.0
    roughness: float = 0.8
    emissive: RGB = (0.0, 0.0, 0.0)
    base_color_texture: Texture | None = None
    emissive_texture: Texture | None = None
    double_sided: bool = False


@dataclass
class Mesh:
    """Triangle mesh. positions/normals (N, 3) float32, uvs (N, 2) float32, indices (M,) uint32."""

    name: str
    positions: npt.NDArray[np.float32]
    normals: npt.NDArray[np.float32]
    indices: npt.NDArray[np.uint32]
    material: Material
    uvs: npt.NDArray[np.float32] | None = None

    def __post_init__(self) -> None:
        self.positions = np.ascontiguousarray(self.positions, dtype=np.float32).reshape(-1, 3)
        self.normals = np.ascontiguousarray(self.normals, dtype=np.float32).reshape(-1, 3)
        self.indices = np.ascontiguousarray(self.indices, dtype=np.uint32).reshape(-1)
        if self.uvs is not None:
            self.uvs = np.ascontiguousarray(self.uvs, dtype=np.float32).reshape(-1, 2)

    @property
    def triangle_count(self) -> int:
        return int(self.indices.size // 3)


@dataclass
class Node:
    """A scene node: an optional mesh, a local transform and children."""

    name: str
    mesh: Mesh | None = None
    transform: Mat4 = field(default_factory=mat4_identity)
    children: list["Node"] = field(default_factory=list)

    def walk(self, parent: Mat4 | None = None) -> "list[tuple[Node, Mat4]]":
        """Every node below (and including) this one with its world matrix."""
        world = self.transform if parent is None else parent @ self.transform
        out: list[tuple[Node, Mat4]] = [(self, world)]
        for c in self.children:
            out.extend(c.walk(world))
        return out


@dataclass
class Light:
    """A light. ``kind`` is "directional" (uses direction) or "point" (uses position, range)."""

    kind: str = "directional"
    color: RGB = (1.0, 1.0, 1.0)
    intensity: float = 1.0
    direction: tuple[float, float, float] = (0.0, -1.0, 0.0)
    position: tuple[float, float, float] = (0.0, 3.0, 0.0)
    range: float = 20.0


@dataclass
class Fov:
    """OpenXR field of view: angles in radians, left and down negative."""

    angle_left: float = -math.radians(45)
    angle_right: float = math.radians(45)
    angle_up: float = math.radians(30)
    angle_down: float = -math.radians(30)

    @staticmethod
    def symmetric(horizontal_deg: float, aspect: float) -> "Fov":
        h = math.radians(horizontal_deg) / 2.0
        v = math.atan(math.tan(h) / aspect)
        return Fov(-h, h, v, -v)

    def projection(self, near: float = 0.05, far: float = 200.0) -> Mat4:
        return mat4_perspective_fov(self.angle_left, self.angle_right, self.angle_up, self.angle_down, near, far)


@dataclass
class View:
    """One eye (or the desktop camera): a pose in the scene and a field of view."""

    pose: Pose
    fov: Fov = field(default_factory=Fov)
    name: str = ""


def stereo_views(head: Pose, fov: Fov, ipd: float = 0.064) -> list[View]:
    """Left and right eye views for a head pose, eyes ``ipd`` metres apart."""
    from vrdiplomacy.scene.math3d import quat_rotate

    out = []
    for name, sign in (("left", -1.0), ("right", 1.0)):
        offset = quat_rotate(head.orientation, (sign * ipd / 2.0, 0.0, 0.0))
        out.append(View(Pose(head.position + offset, head.orientation.copy()), fov, name))
    return out


@dataclass
class HandPose:
    """What an avatar's hand shows: its pose and a gesture shape name ("open", "fist", "point", ...)."""

    pose: Pose = field(default_factory=Pose)
    shape: str = "open"
    visible: bool = True


@dataclass
class Avatar:
    """An instanced delegate: head, torso, two hands, a name placard and a speaking indicator.

    ``root`` is where the avatar stands or sits (feet/seat origin, yaw only); ``head`` and the
    hands are in scene coordinates. ``color`` tints the torso (the delegation colour).
    """

    avatar_id: int
    delegation: str
    root: Pose = field(default_factory=Pose)
    head: Pose = field(default_factory=Pose)
    left: HandPose = field(default_factory=HandPose)
    right: HandPose = field(default_factory=HandPose)
    color: RGB = (0.2, 0.35, 0.6)
    speaking: float = 0.0  # 0..1 audio level, drives the indicator
    gesture_icon: str | None = None  # e.g. "raise_hand", shown above the head
    seated: bool = True


@dataclass
class Scene:
    """Everything the renderer draws: static nodes, lights, avatars, a clear colour, a HUD card."""

    name: str
    nodes: list[Node] = field(default_factory=list)
    lights: list[Light] = field(default_factory=list)
    avatars: list[Avatar] | Crowd = field(default_factory=list)  # a Crowd draws without per-avatar Python
    clear_color: RGBA = (0.02, 0.02, 0.03, 1.0)
    ambient: RGB = (0.25, 0.25, 0.28)
    source: Path | None = None
    hud: HudPanel | None = None  # drawn last, over everything (see vrdiplomacy.scene.hud)
    meeting: MeetingOverlay | None = None  # live chamber screens and the interface panels (vrdiplomacy.scene.hud)

    def meshes(self) -> list[tuple[Mesh, Mat4]]:
        """Every mesh with its world matrix."""
        out: list[tuple[Mesh, Mat4]] = []
        for root in self.nodes:
            for node, world in root.walk():
                if node.mesh is not None:
                    out.append((node.mesh, world))
        return out
