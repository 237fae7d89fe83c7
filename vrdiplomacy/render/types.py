"""Renderer data types with no GL: settings, render targets and the per-frame statistics."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RendererSettings:
    """Renderer settings.

    Fields: ``platform`` the GL context kind the renderer makes when it is given none ("egl");
    ``debug`` keeps PyOpenGL error checking on (slow; also ``VRD_GL_DEBUG=1``);
    ``max_texture_size`` the edge of each layer of the material texture array (textures are
    resampled to it; 512 keeps flags and exhibits sharp at headset resolutions);
    ``large_texture_size`` the edge of the layers of a second array for the few textures with a side
    over twice ``max_texture_size`` (placard and flag atlases: names stay legible; up to
    ``max_large_textures`` of them, the biggest first, 2048 px = 22 MB each with mipmaps);
    ``near``/``far`` the clip planes in metres; ``placard_cell`` the pixel size of one name cell
    of the placard atlas; ``avatar_capacity`` the instance buffer size it starts with (it grows).
    """

    platform: str = "egl"
    debug: bool = False
    max_texture_size: int = 512
    large_texture_size: int = 2048
    max_large_textures: int = 2
    near: float = 0.05
    far: float = 200.0
    placard_cell: tuple[int, int] = (256, 64)
    avatar_capacity: int = 256


@dataclass(frozen=True)
class FramebufferTarget:
    """A framebuffer object to draw one view into: ``fbo`` id (0 = the window), its size in pixels."""

    fbo: int
    width: int
    height: int


@dataclass(frozen=True)
class TextureLayerTarget:
    """A colour texture to draw one view into, as an OpenXR swapchain image would be.

    ``texture`` is a GL texture name: a 2D array when ``layer >= 0`` (one layer per eye),
    else a plain 2D texture. The renderer attaches it (and a depth buffer of its own) to an
    FBO it caches.
    """

    texture: int
    layer: int
    width: int
    height: int


Target = FramebufferTarget | TextureLayerTarget


@dataclass
class FrameStats:
    """GL work of the last frame: ``draw_calls`` and ``gl_calls`` (every wrapped GL entry point
    the renderer called, draws included); ``views`` drawn; ``avatars`` instanced.
    ``total_gl_calls`` counts the calls of earlier frames and uploads; ``gl_cpu_s`` the thread
    CPU time spent inside GL calls when the renderer times them (``Renderer.time_gl_calls``)."""

    draw_calls: int = 0
    gl_calls: int = 0
    views: int = 0
    avatars: int = 0
    total_gl_calls: int = 0
    gl_cpu_s: float = 0.0

    def begin_frame(self) -> None:
        self.total_gl_calls += self.gl_calls
        self.draw_calls = 0
        self.gl_calls = 0
        self.gl_cpu_s = 0.0
        self.views = 0
        self.avatars = 0


FRAME_STATS = FrameStats()
