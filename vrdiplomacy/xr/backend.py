"""One backend interface for three modes: ``xr`` (OpenXR), ``desktop`` (a glfw window) and
``offscreen`` (EGL, no display).

The app's loop is the same in every mode::

    backend = create_backend(settings)
    while (frame := backend.begin_frame()) is not None:
        if frame.should_render:
            renderer.render(scene, frame.views, frame.targets)
        use(frame.input)            # an InputFrame: head, hands, controllers, keys
        backend.end_frame()
    backend.shutdown()

``begin_frame`` returns None once the session is over (the user quit, the runtime exited).
:func:`vrdiplomacy.xr.factory.create_backend` starts one; ``auto`` mode tries OpenXR and falls
back to the desktop window with one log line saying why.
"""

from __future__ import annotations

import abc
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from vrdiplomacy.errors import ConfigError
from vrdiplomacy.input.frame import InputFrame
from vrdiplomacy.scene.model import Fov, View

if TYPE_CHECKING:
    from vrdiplomacy.platform import GLContext
    from vrdiplomacy.render.types import Target

log = logging.getLogger("vrdiplomacy.xr")

MODES = ("auto", "xr", "desktop", "offscreen")
GRAPHICS = ("auto", "egl", "glx", "wgl")


@dataclass
class BackendSettings:
    """How to start a backend.

    Fields: ``mode`` one of auto, xr, desktop, offscreen; ``fallback`` whether auto may fall back
    to desktop (``--no-fallback`` turns it off); ``app_name`` the OpenXR application name;
    ``graphics`` the OpenXR graphics binding: "auto" (Windows: WGL; Linux: EGL when the
    runtime offers XR_MNDX_egl_enable and no window is wanted, else GLX), "egl", "glx" or "wgl"; ``space`` the base
    reference space, "stage" or "local"; ``hand_tracking`` use XR_EXT_hand_tracking where the
    system has it; ``recover`` recreate a lost session (else exit cleanly); ``width``/``height``
    the desktop window or offscreen image size; ``fov_deg`` the desktop/offscreen horizontal field
    of view; ``start_pose`` (position, yaw_deg) of the desktop/offscreen camera; ``frames`` stop
    after this many frames (0: run until closed); ``visible`` show the desktop window;
    ``move_speed`` desktop walking speed m/s; ``mouse_sensitivity`` degrees per pixel;
    ``desktop_keys`` the desktop window's gesture keys (key name as typed, e.g. "h" or "1" ->
    gesture name; None: the default keys 1-0 and H).
    """

    mode: str = "auto"
    fallback: bool = True
    app_name: str = "vrdiplomacy"
    graphics: str = "auto"
    space: str = "stage"
    hand_tracking: bool = True
    recover: bool = True
    width: int = 1280
    height: int = 720
    fov_deg: float = 90.0
    start_pose: tuple[tuple[float, float, float], float] = ((0.0, 1.6, 0.0), 0.0)
    frames: int = 0
    visible: bool = True
    move_speed: float = 1.5
    mouse_sensitivity: float = 0.15
    desktop_keys: dict[str, str] | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"unknown mode '{self.mode}' (choose from {', '.join(MODES)})")
        if self.graphics not in GRAPHICS:
            raise ConfigError(f"unknown graphics binding '{self.graphics}' (auto, egl, glx or wgl)")
        if self.space not in ("stage", "local"):
            raise ConfigError(f"unknown reference space '{self.space}' (stage or local)")


@dataclass
class Frame:
    """One frame: the views to draw with their targets, the input, whether to draw at all.

    ``views[i]`` is drawn into ``targets[i]``. ``index`` counts frames from 0; ``time`` is the
    predicted display time in seconds (backend-defined origin).
    """

    index: int
    time: float
    views: list[View]
    targets: "list[Target]"
    input: InputFrame
    should_render: bool = True
    events: list[str] = field(default_factory=list)


class Backend(abc.ABC):
    """The interface every mode implements."""

    mode: str = ""
    context: "GLContext | None" = None

    @abc.abstractmethod
    def begin_frame(self) -> Frame | None:
        """Wait for the next frame; None when the session is over."""

    @abc.abstractmethod
    def end_frame(self) -> None:
        """Present what was drawn into this frame's targets."""

    @abc.abstractmethod
    def shutdown(self) -> None:
        """Release everything; safe to call twice."""

    def request_exit(self) -> None:
        """Ask for a clean end: the next begin_frame calls wind the session down."""

    def drain_events(self) -> list[str]:
        """Events not yet handed out with a frame (those of the last begin_frame that returned None)."""
        return []

    @property
    def finish_reason(self) -> str:
        """Why the session ended when it was not a normal exit ("" otherwise)."""
        return ""

    def __enter__(self) -> "Backend":
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


def default_fov(settings: BackendSettings) -> Fov:
    return Fov.symmetric(settings.fov_deg, settings.width / max(settings.height, 1))
