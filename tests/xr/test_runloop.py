"""The frame loop's drawing schedule (``vrdiplomacy.xr.runloop.run``) over a scripted backend.

With ``--render-every N`` (a software renderer) the first drawing, which compiles the shaders and
uploads the meshes and textures, must come with the first frame the runtime wants drawn, at the
session's start; drawn ``N`` frames in, it stalled input for seconds while the user was already
gesturing (a raised hand on Monado was missed that way on a loaded machine).
"""

from __future__ import annotations

from typing import Any

from vrdiplomacy.input.frame import InputFrame
from vrdiplomacy.xr import runloop
from vrdiplomacy.xr.backend import Backend, Frame


class ScriptedBackend(Backend):
    """Frames 0..n-1; the runtime wants none drawn before ``visible_from`` (session not visible yet)."""

    mode = "scripted"

    def __init__(self, n: int, visible_from: int = 0) -> None:
        self.n, self.visible_from, self.i = n, visible_from, 0

    def begin_frame(self) -> Frame | None:
        if self.i >= self.n:
            return None
        i, self.i = self.i, self.i + 1
        return Frame(i, i / 60, [], ["target"], InputFrame(i / 60), should_render=i >= self.visible_from)

    def end_frame(self) -> None:
        pass

    def shutdown(self) -> None:
        pass


class CountingRenderer:
    def __init__(self) -> None:
        self.drawn: list[float] = []
        self.finished = 0

    def render(self, scene: Any, views: Any, targets: Any, local_hands: Any = None) -> None:
        self.drawn.append(len(self.drawn))

    def finish(self) -> None:
        self.finished += 1


def _drawn(n: int, visible_from: int, every: int) -> list[int]:
    drawn: list[int] = []
    stats = runloop.run(ScriptedBackend(n, visible_from), object(), CountingRenderer(), render_every=every,
                        after_render=lambda f: drawn.append(f.index))
    assert stats.frames == n and stats.rendered == len(drawn)
    return drawn


def test_the_first_frame_the_runtime_wants_drawn_is_drawn_then_every_nth() -> None:
    assert _drawn(20, 3, 8) == [3, 11, 19]
    assert _drawn(20, 0, 8) == [0, 8, 16]


def test_every_frame_is_drawn_by_default() -> None:
    assert _drawn(6, 2, 1) == [2, 3, 4, 5]


def test_a_slow_renderer_finishes_each_drawing_within_its_frame() -> None:
    r = CountingRenderer()
    runloop.run(ScriptedBackend(30, 5), object(), r, render_every=10)
    assert len(r.drawn) == 3 and r.finished == 3
