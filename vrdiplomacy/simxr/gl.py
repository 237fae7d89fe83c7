"""The few GL calls the simulated headset makes, through libOpenGL (GLVND) with ctypes.

A headset runtime owns its swapchain textures and reads submitted images back; it works in the
application's current GL context (EGL or GLX: GLVND dispatches to whichever is current), saves
the bindings it touches and restores them, so the application's GL state is unchanged.
This is the runtime's side, not the application's: the application draws through
:mod:`vrdiplomacy.render`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from ctypes import POINTER, c_int, c_uint, c_void_p

import numpy as np
import numpy.typing as npt

from vrdiplomacy.errors import PlatformError

GL_TEXTURE_2D = 0x0DE1
GL_TEXTURE_2D_ARRAY = 0x8C1A
GL_TEXTURE_BINDING_2D = 0x8069
GL_TEXTURE_BINDING_2D_ARRAY = 0x8C1D
GL_READ_FRAMEBUFFER = 0x8CA8
GL_READ_FRAMEBUFFER_BINDING = 0x8CAA
GL_COLOR_ATTACHMENT0 = 0x8CE0
GL_FRAMEBUFFER_COMPLETE = 0x8CD5
GL_PACK_ALIGNMENT = 0x0D05
GL_RGBA = 0x1908
GL_UNSIGNED_BYTE = 0x1401
GL_TEXTURE_MIN_FILTER = 0x2801
GL_TEXTURE_MAG_FILTER = 0x2800
GL_LINEAR = 0x2601
GL_NO_ERROR = 0
GL_READ_BUFFER = 0x0C02


class GLFunctions:
    """Typed ctypes entry points from libOpenGL.so.0 (or libGL.so.1)."""

    def __init__(self) -> None:
        lib = None
        for name in ("libOpenGL.so.0", ctypes.util.find_library("OpenGL"), "libGL.so.1", ctypes.util.find_library("GL")):
            if not name:
                continue
            try:
                lib = ctypes.CDLL(name)
                break
            except OSError:
                continue
        if lib is None:
            raise PlatformError("simulated headset: cannot load libOpenGL/libGL (install libgl1)")
        u = c_uint
        self.glGetError = self._fn(lib, "glGetError", u)
        self.glGenTextures = self._fn(lib, "glGenTextures", None, c_int, POINTER(u))
        self.glDeleteTextures = self._fn(lib, "glDeleteTextures", None, c_int, POINTER(u))
        self.glBindTexture = self._fn(lib, "glBindTexture", None, u, u)
        self.glTexStorage2D = self._fn(lib, "glTexStorage2D", None, u, c_int, u, c_int, c_int)
        self.glTexStorage3D = self._fn(lib, "glTexStorage3D", None, u, c_int, u, c_int, c_int, c_int)
        self.glTexParameteri = self._fn(lib, "glTexParameteri", None, u, u, c_int)
        self.glGetIntegerv = self._fn(lib, "glGetIntegerv", None, u, POINTER(c_int))
        self.glGenFramebuffers = self._fn(lib, "glGenFramebuffers", None, c_int, POINTER(u))
        self.glDeleteFramebuffers = self._fn(lib, "glDeleteFramebuffers", None, c_int, POINTER(u))
        self.glBindFramebuffer = self._fn(lib, "glBindFramebuffer", None, u, u)
        self.glFramebufferTexture2D = self._fn(lib, "glFramebufferTexture2D", None, u, u, u, u, c_int)
        self.glFramebufferTextureLayer = self._fn(lib, "glFramebufferTextureLayer", None, u, u, u, c_int, c_int)
        self.glCheckFramebufferStatus = self._fn(lib, "glCheckFramebufferStatus", u, u)
        self.glReadBuffer = self._fn(lib, "glReadBuffer", None, u)
        self.glPixelStorei = self._fn(lib, "glPixelStorei", None, u, c_int)
        self.glReadPixels = self._fn(lib, "glReadPixels", None, c_int, c_int, c_int, c_int, u, u, c_void_p)
        self.glFinish = self._fn(lib, "glFinish", None)
        self.glIsTexture = self._fn(lib, "glIsTexture", ctypes.c_ubyte, u)

    @staticmethod
    def _fn(lib: ctypes.CDLL, name: str, restype: object, *argtypes: object) -> ctypes._CFuncPtr:  # type: ignore[name-defined]
        f = getattr(lib, name)
        f.restype = restype
        f.argtypes = list(argtypes)
        return f

    def get_int(self, pname: int) -> int:
        v = c_int(0)
        self.glGetIntegerv(pname, ctypes.byref(v))
        return int(v.value)

    def create_textures(self, count: int, internal_format: int, width: int, height: int, layers: int) -> list[int]:
        """``count`` immutable textures (2D, or 2D arrays when ``layers`` > 1); binding restored."""
        names = (c_uint * count)()
        target = GL_TEXTURE_2D_ARRAY if layers > 1 else GL_TEXTURE_2D
        binding = GL_TEXTURE_BINDING_2D_ARRAY if layers > 1 else GL_TEXTURE_BINDING_2D
        prev = self.get_int(binding)
        while self.glGetError() != GL_NO_ERROR:
            pass
        self.glGenTextures(count, names)
        for name in names:
            self.glBindTexture(target, name)
            if layers > 1:
                self.glTexStorage3D(target, 1, internal_format, width, height, layers)
            else:
                self.glTexStorage2D(target, 1, internal_format, width, height)
            self.glTexParameteri(target, GL_TEXTURE_MIN_FILTER, GL_LINEAR)
            self.glTexParameteri(target, GL_TEXTURE_MAG_FILTER, GL_LINEAR)
        self.glBindTexture(target, prev)
        err = self.glGetError()
        if err != GL_NO_ERROR:
            self.glDeleteTextures(count, names)
            raise PlatformError(f"simulated headset: creating swapchain textures failed (GL error 0x{err:04x})")
        return [int(n) for n in names]

    def delete_textures(self, names: list[int]) -> None:
        if names:
            arr = (c_uint * len(names))(*names)
            self.glDeleteTextures(len(names), arr)

    def read_rgba(self, texture: int, layer: int, x: int, y: int, width: int, height: int) -> npt.NDArray[np.uint8]:
        """Read a rectangle of a colour texture as (height, width, 4) uint8, top row first."""
        prev_fbo = self.get_int(GL_READ_FRAMEBUFFER_BINDING)
        prev_align = self.get_int(GL_PACK_ALIGNMENT)
        prev_read_buffer = self.get_int(GL_READ_BUFFER)
        fbo = c_uint(0)
        self.glGenFramebuffers(1, ctypes.byref(fbo))
        self.glBindFramebuffer(GL_READ_FRAMEBUFFER, fbo.value)
        try:
            if layer >= 0:
                self.glFramebufferTextureLayer(GL_READ_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, texture, 0, layer)
            else:
                self.glFramebufferTexture2D(GL_READ_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, texture, 0)
            status = self.glCheckFramebufferStatus(GL_READ_FRAMEBUFFER)
            if status != GL_FRAMEBUFFER_COMPLETE:
                raise PlatformError(f"simulated headset: cannot read swapchain image (framebuffer status 0x{status:04x})")
            self.glReadBuffer(GL_COLOR_ATTACHMENT0)
            self.glPixelStorei(GL_PACK_ALIGNMENT, 1)
            out = np.empty((height, width, 4), np.uint8)
            self.glReadPixels(x, y, width, height, GL_RGBA, GL_UNSIGNED_BYTE, out.ctypes.data)
        finally:
            self.glPixelStorei(GL_PACK_ALIGNMENT, prev_align)
            self.glBindFramebuffer(GL_READ_FRAMEBUFFER, prev_fbo)
            if prev_fbo == 0:
                self.glReadBuffer(prev_read_buffer)
            self.glDeleteFramebuffers(1, ctypes.byref(fbo))
        return np.ascontiguousarray(out[::-1])


_GL: GLFunctions | None = None


def gl() -> GLFunctions:
    global _GL
    if _GL is None:
        _GL = GLFunctions()
    return _GL


def current_context() -> dict[str, int]:
    """The current EGL and GLX contexts of this thread (0 when none), for binding checks."""
    out = {"egl": 0, "glx": 0}
    for key, lib_name, fn_name in (("egl", "libEGL.so.1", "eglGetCurrentContext"), ("glx", "libGLX.so.0", "glXGetCurrentContext")):
        try:
            lib = ctypes.CDLL(lib_name)
            f = getattr(lib, fn_name)
        except (OSError, AttributeError):
            continue
        f.restype = c_void_p
        f.argtypes = []
        out[key] = int(f() or 0)
    return out
