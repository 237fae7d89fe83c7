"""The app's frame loop over any backend: render the scene into the frame's targets (with the
user's own hands from the frame's InputFrame, first person), hand the InputFrame on, measure
frame and backend times. Used by ``join``, the demo's window and ``qa run``.

What a frame shows besides the room travels on the scene: ``on_frame``
(:class:`~vrdiplomacy.app.client.LiveClient`) sets the others' avatars, the head-up card and
``scene.meeting``, the session's :class:`~vrdiplomacy.session.meeting_view.MeetingView` with the
head the interface panels follow; the next ``render`` draws the chamber's live screens and the
panels from it (redrawing a texture only when what it shows changed)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from vrdiplomacy.scene.avatars import local_hands
from vrdiplomacy.scene.math3d import Pose, quat_mul, quat_rotate
from vrdiplomacy.scene.model import Scene, View
from vrdiplomacy.xr.backend import Backend, Frame


@dataclass
class RunStats:
    """``frames`` run, ``rendered`` frames drawn, ``frame_ms`` wall time per frame,
    ``backend_ms`` time in begin_frame + end_frame per frame (rendering excluded),
    ``events`` backend events (session states, profile changes) with their frame index."""

    frames: int = 0
    rendered: int = 0
    frame_ms: list[float] = field(default_factory=list)
    backend_ms: list[float] = field(default_factory=list)
    events: list[tuple[int, str]] = field(default_factory=list)
    wall_s: float = 0.0

    def summary(self) -> str:
        """One line: frames a second, how many were drawn, frame times (median, 99th percentile, longest)."""
        if not self.frame_ms:
            return "no frames"
        ms = sorted(self.frame_ms)
        rate = self.frames / self.wall_s if self.wall_s > 0 else 0.0
        return (f"{rate:.1f} frames/s, {self.rendered} drawn; frame time median {ms[len(ms) // 2]:.0f} ms, "
                f"99th percentile {ms[min(len(ms) - 1, int(len(ms) * 0.99))]:.0f} ms, longest {ms[-1]:.0f} ms")


def place(origin: Pose | None, pose: Pose) -> Pose:
    """A tracked pose (play space) in scene coordinates, the play space's origin at ``origin``."""
    if origin is None:
        return pose
    return Pose((origin.position + quat_rotate(origin.orientation, pose.position)).astype(pose.position.dtype),
                quat_mul(origin.orientation, pose.orientation))


def run(backend: Backend, scene: Scene | None, renderer: Any | None, origin: Pose | None = None,
        on_frame: Callable[[Frame], None] | None = None, after_render: Callable[[Frame], None] | None = None,
        render_every: int = 1) -> RunStats:
    """Run frames until the backend ends the session; draw the first frame the runtime wants
    drawn, then every ``render_every``-th frame after the last one drawn (1: all; more keeps input
    frames coming at the runtime's rate on a software renderer, and long scripted runs short: the
    frames between submit the swapchain image as it is). The first drawing carries the one-off
    costs (shaders compiled, meshes and textures uploaded), so it falls at the session's start,
    before the user's input counts, not ``render_every`` frames into it. With N > 1 the drawing is
    finished (glFinish) before the frame ends."""
    stats = RunStats()
    perf = time.perf_counter
    start = perf()
    every = max(render_every, 1)
    last_drawn: int | None = None  # the index of the last frame drawn
    while True:
        t0 = perf()
        frame = backend.begin_frame()
        t1 = perf()
        if frame is None:
            break
        for e in frame.events:
            stats.events.append((frame.index, e))
        if (frame.should_render and frame.targets and renderer is not None and scene is not None
                and (last_drawn is None or frame.index - last_drawn >= every)):
            last_drawn = frame.index
            views = [View(place(origin, v.pose), v.fov, v.name) for v in frame.views]
            renderer.render(scene, views, frame.targets, local_hands=local_hands(frame.input, origin))
            if render_every > 1:
                # drawing one frame in N means a slow (software) renderer: finish it within the frame,
                # so the runtime's frame pacing sees it as this frame's work and not as GPU time that
                # its compositor measures late (Monado 25's app pacer then pushed the predicted
                # display times seconds, once minutes, ahead and xrEndFrame waited for them)
                renderer.finish()
            stats.rendered += 1
            if after_render is not None:
                after_render(frame)
        if on_frame is not None:
            on_frame(frame)
        t2 = perf()
        backend.end_frame()
        t3 = perf()
        stats.frames += 1
        stats.frame_ms.append((t3 - t0) * 1e3)
        stats.backend_ms.append(((t1 - t0) + (t3 - t2)) * 1e3)
    stats.wall_s = perf() - start
    stats.events.extend((stats.frames, e) for e in backend.drain_events())
    return stats
