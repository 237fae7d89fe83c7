"""Offscreen mode: an EGL context and no display; one camera view at a fixed (or scripted) pose.

There is no default framebuffer in a surfaceless context, so the app hands the backend the
targets to draw into (``attach_targets([renderer.create_target(w, h)])``); frames come as
fast as the app takes them, on a simulated 60 Hz clock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from vrdiplomacy.input.frame import InputFrame
from vrdiplomacy.scene.math3d import Pose
from vrdiplomacy.scene.model import View
from vrdiplomacy.xr.backend import Backend, BackendSettings, Frame, default_fov

FRAME_PERIOD = 1.0 / 60.0


class OffscreenBackend(Backend):
    """Headless frames through EGL. ``input_source(index, time)`` may script the InputFrame."""

    mode = "offscreen"

    def __init__(self, settings: BackendSettings | None = None,
                 input_source: Callable[[int, float], InputFrame] | None = None) -> None:
        from vrdiplomacy.platform import ContextSettings, create_context

        self.settings = s = settings or BackendSettings(mode="offscreen")
        self.context = create_context("egl", ContextSettings(width=s.width, height=s.height))
        self.input_source = input_source
        self.targets: list[Any] = []
        self.frame_count = 0
        self._exit = False
        pos, yaw = s.start_pose
        self.head = Pose.from_yaw(np.asarray(pos, np.float32), yaw)
        self.fov = default_fov(s)

    def attach_targets(self, targets: list[Any]) -> None:
        self.targets = list(targets)

    def begin_frame(self) -> Frame | None:
        if self._exit or (self.settings.frames and self.frame_count >= self.settings.frames):
            return None
        t = self.frame_count * FRAME_PERIOD
        inp = self.input_source(self.frame_count, t) if self.input_source else InputFrame(t, self.head)
        view = View(inp.head, self.fov, "camera")
        return Frame(self.frame_count, t, [view], self.targets[:1], inp, bool(self.targets))

    def end_frame(self) -> None:
        self.frame_count += 1

    def request_exit(self) -> None:
        self._exit = True

    def shutdown(self) -> None:
        if self.context is not None:
            self.context.close()
            self.context = None
