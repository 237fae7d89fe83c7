"""Dynamic resolution for the desktop window: hold a frame rate on any GL, a software one included.

:class:`AdaptiveRenderer` stands in for the :class:`~vrdiplomacy.render.renderer.Renderer` in the
frame loop (same ``render``/``finish``/``read_pixels``). For a view whose target is the window
(framebuffer 0) it draws the scene into an offscreen target at ``scale`` times the window's size,
upscales it into the window with one blit, and writes a small status line in the bottom-left
corner: frames a second and the resolution in use, and, on a software rasterizer, why the
picture is soft. The scale follows the measured frame period (time from one frame's render to
the next: drawing, swap and the app's own work), so the window holds ``target_fps``.

On a software rasterizer (GL_RENDERER names llvmpipe, softpipe or SwiftShader) it also turns the
textures' anisotropic filtering off: on llvmpipe 16x anisotropy costs about 6x the fragment work
of the whole frame, more than any resolution step buys back.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw

from vrdiplomacy.render.fonts import ui_font
from vrdiplomacy.render.types import FramebufferTarget, Target
from vrdiplomacy.scene.model import Avatar, Scene, View

log = logging.getLogger("vrdiplomacy.render.dynres")

SOFTWARE_RENDERERS = ("llvmpipe", "softpipe", "swiftshader", "software rasterizer")
STATUS_FONT_PX = 15
STATUS_PAD = 6


def software_renderer(gl_renderer: str) -> str | None:
    """The software rasterizer's name when ``gl_renderer`` (GL_RENDERER) is one, else None."""
    low = gl_renderer.lower()
    for name in SOFTWARE_RENDERERS:
        if name in low:
            return gl_renderer.split()[0] if name != "swiftshader" else "SwiftShader"
    return None


@dataclass
class QualitySettings:
    """Dynamic resolution of the desktop window.

    Fields: ``target_fps`` the frame rate held on a GPU (the scale drops only when frames come
    slower); ``software_target_fps`` the rate held on a software rasterizer; ``min_scale`` and
    ``max_scale`` the range of the render scale (of the window's pixels per side);
    ``software_start_scale`` the scale the first frame uses on a software rasterizer (the first
    frame also compiles the shaders, so it starts small and grows); ``adjust_s`` how often the scale
    is reconsidered; ``status`` draws the status line in the window's corner."""

    target_fps: float = 30.0
    software_target_fps: float = 20.0
    min_scale: float = 0.2
    max_scale: float = 1.0
    software_start_scale: float = 0.35
    adjust_s: float = 0.5
    status: bool = True


class ScaleController:
    """Sans-I/O: frame periods in, a render scale out. The scale moves by the square root of the
    ratio of the target period to the measured one (pixels scale with its square), down quickly,
    up by at most 15 % per step and only while frames come well under the target."""

    def __init__(self, target_fps: float, start: float, lo: float, hi: float, adjust_s: float) -> None:
        self.target_s = 1.0 / target_fps
        self.scale = min(max(start, lo), hi)
        self.lo, self.hi, self.adjust_s = lo, hi, adjust_s
        self._periods: list[float] = []
        self._since = 0.0

    def frame(self, period_s: float) -> bool:
        """One frame's period; True when the scale changed."""
        if period_s <= 0.0:
            return False
        self._periods.append(period_s)
        self._since += period_s
        if self._since < self.adjust_s or len(self._periods) < 2:
            return False
        mean = sorted(self._periods)[len(self._periods) // 2]  # median: one hiccup does not halve the picture
        self._periods.clear()
        self._since = 0.0
        old = self.scale
        if mean > self.target_s * 1.08:
            self.scale = max(self.lo, self.scale * max(0.5, min(0.95, math.sqrt(self.target_s / mean))))
        elif mean < self.target_s * 0.8:
            self.scale = min(self.hi, self.scale * min(1.15, math.sqrt(self.target_s / mean)))
        return abs(self.scale - old) > 1e-6


def status_image(lines: Sequence[str], px: int = STATUS_FONT_PX) -> npt.NDArray[np.uint8]:
    """The status lines as (height, width, 4) sRGB bytes, top row first: light text on a dark box."""
    font = ui_font(px)
    probe = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    widths = [probe.textbbox((0, 0), t, font=font)[2] for t in lines]
    line_h = int(px * 1.35)
    w = max(widths, default=1) + 2 * STATUS_PAD
    h = line_h * len(lines) + 2 * STATUS_PAD
    img = Image.new("RGBA", (w, h), (12, 14, 20, 255))
    draw = ImageDraw.Draw(img)
    for i, text in enumerate(lines):
        draw.text((STATUS_PAD, STATUS_PAD + i * line_h), text, font=font,
                  fill=(255, 196, 80, 255) if i > 0 else (225, 230, 240, 255))
    return np.asarray(img, dtype=np.uint8)


class AdaptiveRenderer:
    """The frame loop's renderer for a desktop window (see the module docstring).

    ``renderer`` is the real :class:`~vrdiplomacy.render.renderer.Renderer`, on the window's
    context. Views whose target is not the window are drawn straight, unscaled.
    ``swap_cpu`` returns the thread CPU time of the window's last buffer swap (driver work, not
    Python). Figures: ``frames``, ``fps`` (last second), ``software`` (the rasterizer's name or None), ``scale``, ``render_size``,
    ``cpu_ms`` (main thread CPU per frame, last 60 frames), ``gl_cpu_ms`` (the part inside GL
    calls: a software rasterizer shades vertices there), ``python_cpu_ms`` (the rest)."""

    def __init__(self, renderer: Any, settings: QualitySettings | None = None,
                 swap_cpu: Callable[[], float] | None = None) -> None:
        self.r = renderer
        self._swap_cpu = swap_cpu
        self.s = s = settings or QualitySettings()
        self.software = software_renderer(renderer.info.get("GL_RENDERER", ""))
        target = s.software_target_fps if self.software else s.target_fps
        self.target_fps = target
        self.control = ScaleController(target, s.software_start_scale if self.software else s.max_scale,
                                       s.min_scale, s.max_scale, s.adjust_s)
        if self.software:
            renderer.set_anisotropy(0.0)
            self.hint = f"software rendering ({self.software}): quality lowered to hold {target:g} fps"
            log.warning("%s", self.hint)
        else:
            self.hint = ""
        renderer.time_gl_calls(True)
        self._last: float | None = None
        self._cpu_last = time.thread_time()
        self._offscreen: FramebufferTarget | None = None
        self._status: FramebufferTarget | None = None
        self._status_text: tuple[str, ...] = ()
        self._status_at = -1.0
        self._times: deque[float] = deque(maxlen=240)
        self._cpu: deque[tuple[float, float]] = deque(maxlen=60)
        self._gl_cpu = 0.0
        self.frames = 0
        self.render_size = (0, 0)

    # ------------------------------------------------------------ figures

    @property
    def scale(self) -> float:
        return self.control.scale

    @property
    def fps(self) -> float:
        """Frames in the last second (over the last frames when fewer came)."""
        t = self._times
        if len(t) < 2:
            return 0.0
        recent = [x for x in t if x >= t[-1] - 1.0]
        if len(recent) >= 2:
            return (len(recent) - 1) / max(recent[-1] - recent[0], 1e-6)
        return 1.0 / max(t[-1] - t[-2], 1e-6)

    def cpu_ms(self) -> tuple[float, float, float]:
        """(main thread CPU, in GL calls and the swap, Python) per frame in ms, mean of the last 60 frames."""
        if not self._cpu:
            return 0.0, 0.0, 0.0
        total = sum(c for c, _ in self._cpu) / len(self._cpu) * 1e3
        gl = sum(g for _, g in self._cpu) / len(self._cpu) * 1e3
        return total, gl, max(total - gl, 0.0)

    def status_lines(self) -> tuple[str, ...]:
        w, h = self.render_size
        line = f"{self.fps:.1f} fps, {self.scale * 100:.0f}% resolution ({w}x{h})"
        return (line, self.hint) if self.hint else (line,)

    # ------------------------------------------------------------ frame loop

    def render(self, scene: Scene, views: Sequence[View], targets: Sequence[Target],
               local_hands: Avatar | None = None) -> None:
        now = time.perf_counter()
        cpu = time.thread_time()
        if self._last is not None:
            swap = self._swap_cpu() if self._swap_cpu is not None else 0.0
            self._cpu.append((cpu - self._cpu_last, self._gl_cpu + swap))
            if self.control.frame(now - self._last):
                log.debug("render scale %.2f (frame period %.0f ms)", self.scale, (now - self._last) * 1e3)
        self._cpu_last, self._last = cpu, now
        window = [i for i, t in enumerate(targets) if isinstance(t, FramebufferTarget) and t.fbo == 0]
        if not window:
            self.r.render(scene, views, targets, local_hands=local_hands)
            self._gl_cpu = self.r.stats.gl_cpu_s
        else:
            dest = targets[window[0]]
            off = self._offscreen_for(dest.width, dest.height)
            drawn = list(targets)
            drawn[window[0]] = off
            self.r.render(scene, views, drawn, local_hands=local_hands, overlays=False)
            self._gl_cpu = self.r.stats.gl_cpu_s
            t0 = time.thread_time()
            self.r.blit(off, dest, (0, 0, dest.width, dest.height))
            self.r.draw_overlays(scene, window[0], dest)  # panels and card at the window's resolution
            if self.s.status:
                self._draw_status(dest, now)
            self._gl_cpu += time.thread_time() - t0
        self.frames += 1
        self._times.append(now)

    def _offscreen_for(self, width: int, height: int) -> FramebufferTarget:
        s = self.scale
        w, h = max(16, round(width * s / 8) * 8), max(16, round(height * s / 8) * 8)
        w, h = min(w, width), min(h, height)
        off = self._offscreen
        if off is None or (off.width, off.height) != (w, h):
            if off is not None:
                self.r.free_target(off)
            off = self._offscreen = self.r.create_target(w, h)
            self.render_size = (w, h)
        return off

    def _draw_status(self, dest: FramebufferTarget, now: float) -> None:
        if now - self._status_at >= 1.0 or self._status is None:
            self._status_at = now
            lines = self.status_lines()
            if lines != self._status_text:
                pixels = status_image(lines)
                h, w = pixels.shape[:2]
                if self._status is None or (self._status.width, self._status.height) != (w, h):
                    if self._status is not None:
                        self.r.free_target(self._status)
                    self._status = self.r.create_target(w, h)
                self.r.write_pixels(self._status, pixels)
                self._status_text = lines
        st = self._status
        if st is not None:
            x0, y0 = 8, max(0, dest.height - st.height - 8)  # top left: the meeting panels take the bottom
            w, h = min(st.width, dest.width - x0), min(st.height, dest.height - y0)
            if w > 0 and h > 0:
                self.r.blit(st, dest, (x0, y0, x0 + st.width, y0 + st.height), nearest=True)

    # ------------------------------------------------------------ pass-through

    def finish(self) -> None:
        self.r.finish()

    def read_pixels(self, target: Target) -> npt.NDArray[np.uint8]:
        return self.r.read_pixels(target)

    def report(self) -> dict[str, Any]:
        total, gl, py = self.cpu_ms()
        return {"frames": self.frames, "fps": round(self.fps, 1), "scale": round(self.scale, 2),
                "render_size": list(self.render_size), "software": self.software,
                "cpu_ms_per_frame": round(total, 1), "gl_cpu_ms_per_frame": round(gl, 1),
                "python_cpu_ms_per_frame": round(py, 1)}

    def close(self) -> None:
        """Free the offscreen targets (the wrapped renderer is closed by its owner)."""
        for t in (self._offscreen, self._status):
            if t is not None and self.r.context is not None:
                self.r.free_target(t)
        self._offscreen = self._status = None
