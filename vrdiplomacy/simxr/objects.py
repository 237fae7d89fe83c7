"""The simulated runtime's objects behind OpenXR handles (plain data)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from vrdiplomacy.scene.math3d import Pose

TIME_ORIGIN_NS = 1_000_000_000_000  # XrTime of the simulated headset's frame 0 (ns)


class XrFail(Exception):
    """Raised inside an entry point to return an XrResult error code."""

    def __init__(self, code: int, why: str = "") -> None:
        super().__init__(why or str(code))
        self.code = code


@dataclass
class Instance:
    handle: int
    app_name: str
    api_version: int
    extensions: frozenset[str]
    graphics_requirements_queried: bool = False
    lost: bool = False


@dataclass
class ActionSet:
    handle: int
    instance: int
    name: str
    priority: int
    actions: list[int] = field(default_factory=list)
    attached: bool = False


@dataclass
class Action:
    handle: int
    action_set: int
    name: str
    type: int
    subaction_paths: tuple[int, ...]


@dataclass
class Session:
    handle: int
    instance: int
    graphics: str  # "egl" | "xlib"
    state: int = 1
    running: bool = False
    exit_requested: bool = False
    standby_until: float | None = None  # monotonic time the headset wakes from standby
    lost: bool = False
    frames_ended: int = 0
    waited: list[int] = field(default_factory=list)  # display times waited for and not yet begun
    begun: int | None = None  # display time of the frame between begin and end
    attached_sets: tuple[int, ...] = ()
    profile: str = ""  # current interaction profile for both hands, "" when none
    synced: dict[tuple[int, str], Any] = field(default_factory=dict)  # (action, hand) -> value
    changed: dict[tuple[int, str], bool] = field(default_factory=dict)
    change_time: dict[tuple[int, str], int] = field(default_factory=dict)
    active_sets: tuple[int, ...] = ()
    sync_frame: int = 0
    focused_once: bool = False


@dataclass
class Space:
    handle: int
    session: int
    kind: str  # "view" | "local" | "stage" | "action"
    offset: Pose
    action: int = 0
    subaction: int = 0


@dataclass
class Swapchain:
    handle: int
    session: int
    format: int
    width: int
    height: int
    array_size: int
    textures: list[int]
    depth: bool
    next_acquire: int = 0
    acquired: list[int] = field(default_factory=list)
    waited: int | None = None
    last_released: int | None = None


@dataclass
class HandTracker:
    handle: int
    session: int
    hand: str


@dataclass
class FrameRecord:
    """One submitted frame: ``frame`` index on the device clock, ``display_time`` (ns),
    ``layers`` (layer type names), ``views`` per projection view: pose (7 floats: xyzw, xyz),
    fov (4 floats), swapchain handle, image index, rect (x, y, w, h), array index;
    ``wall`` seconds (monotonic) when xrEndFrame ran."""

    frame: int
    display_time: int
    layers: list[str]
    views: list[dict[str, Any]]
    wall: float


@dataclass
class Capture:
    """Eye images read back at a frame: one (H, W, 4) uint8 array per projection view."""

    frame: int
    images: list[npt.NDArray[np.uint8]]
