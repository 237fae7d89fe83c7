"""Render targets of the :class:`~vrdiplomacy.render.renderer.Renderer`: the FBOs it draws into
(its own, or ones around swapchain textures it is handed), reading them back, copying one into
another (the desktop window's upscale), and freeing them. A mixin: GL through the renderer's
counting layer (``self.gl``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from vrdiplomacy.errors import RenderError
from vrdiplomacy.render.types import FramebufferTarget, Target


class _LazyGL:
    """OpenGL.GL's constants, imported on first use: PyOpenGL binds to a platform when imported,
    and the renderer imports it only once a context exists."""

    def __getattr__(self, name: str) -> Any:
        from OpenGL import GL as gl_module

        return getattr(gl_module, name)


GL: Any = _LazyGL()


class RenderTargets:
    """The target half of the renderer (see the module docstring)."""

    gl: Any
    _fbos: dict[tuple[int, int], tuple[int, int]]  # (texture, layer) -> (fbo, depth rb)
    _owned_targets: list[tuple[int, int, int]]  # (fbo, texture, renderbuffer)
    _textures: list[int]

    if TYPE_CHECKING:  # provided by the Renderer (declared here for type checkers only)
        def _texture(self) -> int: ...

    def _fbo_for(self, target: Target) -> tuple[int, int, int]:
        if isinstance(target, FramebufferTarget):
            return target.fbo, target.width, target.height
        key = (target.texture, target.layer)
        cached = self._fbos.get(key)
        if cached is None:
            gl = self.gl
            fbo = int(gl.glGenFramebuffers(1))
            gl.glBindFramebuffer(GL.GL_FRAMEBUFFER, fbo)
            if target.layer >= 0:
                gl.glFramebufferTextureLayer(GL.GL_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0, target.texture, 0, target.layer)
            else:
                gl.glFramebufferTexture2D(GL.GL_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0, GL.GL_TEXTURE_2D, target.texture, 0)
            rb = self._depth_buffer(target.width, target.height)
            self._check_fbo(f"texture {target.texture} layer {target.layer}")
            cached = self._fbos[key] = (fbo, rb)
        return cached[0], target.width, target.height

    def _depth_buffer(self, w: int, h: int) -> int:
        gl = self.gl
        rb = int(gl.glGenRenderbuffers(1))
        gl.glBindRenderbuffer(GL.GL_RENDERBUFFER, rb)
        gl.glRenderbufferStorage(GL.GL_RENDERBUFFER, GL.GL_DEPTH_COMPONENT24, w, h)
        gl.glFramebufferRenderbuffer(GL.GL_FRAMEBUFFER, GL.GL_DEPTH_ATTACHMENT, GL.GL_RENDERBUFFER, rb)
        return rb

    def _check_fbo(self, what: str) -> None:
        status = self.gl.glCheckFramebufferStatus(GL.GL_FRAMEBUFFER)
        if status != GL.GL_FRAMEBUFFER_COMPLETE:
            raise RenderError(f"framebuffer for {what} is incomplete (status 0x{int(status):x})")

    @staticmethod
    def _check_size(width: int, height: int) -> None:
        if not (0 < width <= 16384 and 0 < height <= 16384):
            raise RenderError(f"target size {width}x{height} out of range (1..16384)")

    def create_target(self, width: int, height: int) -> FramebufferTarget:
        """An FBO with an SRGB8_ALPHA8 colour texture and a 24-bit depth buffer, owned by the renderer."""
        self._check_size(width, height)
        gl = self.gl
        tex = self._new_color_texture(GL.GL_TEXTURE_2D, width, height, 0)
        fbo = int(gl.glGenFramebuffers(1))
        gl.glBindFramebuffer(GL.GL_FRAMEBUFFER, fbo)
        gl.glFramebufferTexture2D(GL.GL_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0, GL.GL_TEXTURE_2D, tex, 0)
        rb = self._depth_buffer(width, height)
        self._check_fbo(f"{width}x{height} target")
        self._owned_targets.append((fbo, tex, rb))
        return FramebufferTarget(fbo, width, height)

    def free_target(self, target: FramebufferTarget) -> None:
        """Delete a target made by :meth:`create_target` (its FBO, colour texture and depth buffer)."""
        for entry in self._owned_targets:
            if entry[0] == target.fbo:
                fbo, tex, rb = entry
                gl = self.gl
                gl.glDeleteFramebuffers(1, [fbo])
                gl.glDeleteRenderbuffers(1, [rb])
                gl.glDeleteTextures(1, [tex])
                self._textures.remove(tex)
                self._owned_targets.remove(entry)
                return
        raise RenderError(f"framebuffer {target.fbo} is not a target this renderer made")

    def write_pixels(self, target: FramebufferTarget, pixels: npt.NDArray[np.uint8]) -> None:
        """Replace the colour of a :meth:`create_target` target with ``pixels``: (height, width, 4)
        sRGB bytes, top row first (the target's own size)."""
        tex = next((t for f, t, _ in self._owned_targets if f == target.fbo), None)
        if tex is None:
            raise RenderError(f"framebuffer {target.fbo} is not a target this renderer made")
        if pixels.shape != (target.height, target.width, 4) or pixels.dtype != np.uint8:
            raise RenderError(f"pixels {pixels.shape} {pixels.dtype} do not fit a {target.width}x{target.height} RGBA target")
        gl = self.gl
        gl.glBindTexture(GL.GL_TEXTURE_2D, tex)
        gl.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 1)
        gl.glTexSubImage2D(GL.GL_TEXTURE_2D, 0, 0, 0, target.width, target.height, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE,
                           np.ascontiguousarray(pixels[::-1]))
        gl.glBindTexture(GL.GL_TEXTURE_2D, 0)

    def create_texture_array(self, width: int, height: int, layers: int) -> int:
        """An SRGB8_ALPHA8 2D texture array (one layer per eye), like a stereo XR swapchain image."""
        self._check_size(width, height)
        return self._new_color_texture(GL.GL_TEXTURE_2D_ARRAY, width, height, layers)

    def _new_color_texture(self, kind: int, width: int, height: int, layers: int) -> int:
        gl = self.gl
        tex = self._texture()
        gl.glBindTexture(kind, tex)
        if kind == GL.GL_TEXTURE_2D_ARRAY:
            gl.glTexImage3D(kind, 0, GL.GL_SRGB8_ALPHA8, width, height, layers, 0, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, None)
        else:
            gl.glTexImage2D(kind, 0, GL.GL_SRGB8_ALPHA8, width, height, 0, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, None)
        gl.glTexParameteri(kind, GL.GL_TEXTURE_MIN_FILTER, GL.GL_LINEAR)
        gl.glTexParameteri(kind, GL.GL_TEXTURE_MAG_FILTER, GL.GL_LINEAR)
        return tex

    def read_pixels(self, target: Target) -> npt.NDArray[np.uint8]:
        """The target's colour as (height, width, 4) uint8 sRGB bytes, top row first."""
        fbo, w, h = self._fbo_for(target)
        gl = self.gl
        gl.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, fbo)
        gl.glPixelStorei(GL.GL_PACK_ALIGNMENT, 1)
        out = np.empty((h, w, 4), dtype=np.uint8)
        gl.glReadPixels(0, 0, w, h, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, out)
        gl.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, 0)
        return np.ascontiguousarray(out[::-1])

    def blit(self, target: Target, dest: FramebufferTarget, rect: tuple[int, int, int, int], nearest: bool = False) -> None:
        """Copy ``target``'s colour into ``rect`` (x0, y0, x1, y1, from the bottom left) of ``dest``
        (0 = the window), scaled with linear filtering (``nearest``: without)."""
        fbo, w, h = self._fbo_for(target)
        gl = self.gl
        gl.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, fbo)
        gl.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, dest.fbo)
        gl.glBlitFramebuffer(0, 0, w, h, *rect, GL.GL_COLOR_BUFFER_BIT, GL.GL_NEAREST if nearest else GL.GL_LINEAR)
        gl.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)
