"""Offscreen GL through EGL on the Mesa surfaceless platform: no display, no window, no GPU needed.

Rendering goes into framebuffer objects (there is no default framebuffer). Sets
``PYOPENGL_PLATFORM=egl`` and ``EGL_PLATFORM=surfaceless`` when unset, before PyOpenGL loads.
"""

from __future__ import annotations

import ctypes
import os
import sys

from vrdiplomacy.errors import PlatformError
from vrdiplomacy.platform import ContextSettings, configure_pyopengl

# EGL displays are per process: eglTerminate on one invalidates every context on it. Count the
# contexts per display and terminate only when the last one closes.
_DISPLAY_USERS: dict[int, int] = {}


def _display_key(display: object) -> int:
    return int(ctypes.cast(display, ctypes.c_void_p).value or 0)

EGL_PLATFORM_SURFACELESS_MESA = 0x31DD


def _prepare_env() -> None:
    os.environ.setdefault("EGL_PLATFORM", "surfaceless")
    current = os.environ.get("PYOPENGL_PLATFORM")
    if current is None:
        if "OpenGL.GL" in sys.modules:
            raise PlatformError(
                "PyOpenGL was already loaded for another platform; set PYOPENGL_PLATFORM=egl before starting"
            )
        os.environ["PYOPENGL_PLATFORM"] = "egl"
    elif current != "egl":
        raise PlatformError(
            f"offscreen rendering needs PYOPENGL_PLATFORM=egl, but it is '{current}' in this process"
        )


class EglContext:
    """A surfaceless EGL display and a GL core context, current on the creating thread."""

    kind = "egl"

    def __init__(self, settings: ContextSettings | None = None) -> None:
        self.settings = settings or ContextSettings()
        _prepare_env()
        try:
            # EGL's bindings need PyOpenGL's error checker at import; GL is configured after
            from OpenGL import EGL
        except (ImportError, OSError, AttributeError) as e:
            raise PlatformError(f"cannot load EGL (install libegl1 and libegl-mesa0): {e}") from None
        configure_pyopengl(self.settings.debug)
        self._egl = EGL
        display = EGL.EGL_NO_DISPLAY
        try:
            display = EGL.eglGetPlatformDisplayEXT(EGL_PLATFORM_SURFACELESS_MESA, EGL.EGL_DEFAULT_DISPLAY, None)
        except Exception:  # extension missing: fall back to the default display
            display = EGL.EGL_NO_DISPLAY
        if not display:
            display = EGL.eglGetDisplay(EGL.EGL_DEFAULT_DISPLAY)
        if not display:
            raise PlatformError("EGL: no display available (is Mesa's libEGL installed?)")
        major, minor = EGL.EGLint(), EGL.EGLint()
        try:
            ok = EGL.eglInitialize(display, ctypes.pointer(major), ctypes.pointer(minor))
        except Exception as e:
            raise PlatformError(f"EGL: eglInitialize failed ({e}); is EGL_PLATFORM=surfaceless supported?") from None
        if not ok:
            raise PlatformError("EGL: eglInitialize failed")
        self.display = display
        key = _display_key(display)
        _DISPLAY_USERS[key] = _DISPLAY_USERS.get(key, 0) + 1
        self.egl_version = f"{major.value}.{minor.value}"
        attrs = (EGL.EGLint * 9)(
            EGL.EGL_SURFACE_TYPE, EGL.EGL_PBUFFER_BIT,
            EGL.EGL_RENDERABLE_TYPE, EGL.EGL_OPENGL_BIT,
            EGL.EGL_RED_SIZE, 8,
            EGL.EGL_NONE, 0, 0,
        )
        config = EGL.EGLConfig()
        n = EGL.EGLint()
        if not EGL.eglChooseConfig(display, attrs, ctypes.pointer(config), 1, ctypes.pointer(n)) or n.value < 1:
            # surfaceless contexts need no surface type: accept any GL-renderable config
            attrs2 = (EGL.EGLint * 3)(EGL.EGL_RENDERABLE_TYPE, EGL.EGL_OPENGL_BIT, EGL.EGL_NONE)
            if not EGL.eglChooseConfig(display, attrs2, ctypes.pointer(config), 1, ctypes.pointer(n)) or n.value < 1:
                self._terminate()
                raise PlatformError("EGL: no OpenGL-capable config")
        if not EGL.eglBindAPI(EGL.EGL_OPENGL_API):
            self._terminate()
            raise PlatformError("EGL: desktop OpenGL API not available")
        ctx_attrs = (EGL.EGLint * 7)(
            EGL.EGL_CONTEXT_MAJOR_VERSION, self.settings.major,
            EGL.EGL_CONTEXT_MINOR_VERSION, self.settings.minor,
            EGL.EGL_CONTEXT_OPENGL_PROFILE_MASK, EGL.EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT,
            EGL.EGL_NONE,
        )
        context = EGL.eglCreateContext(display, config, EGL.EGL_NO_CONTEXT, ctx_attrs)
        if not context:
            self._terminate()
            raise PlatformError(
                f"EGL: cannot create a GL {self.settings.major}.{self.settings.minor} core context"
            )
        self.context = context
        self.make_current()
        from OpenGL import GL

        self.gl_renderer = GL.glGetString(GL.GL_RENDERER).decode()
        self.gl_version = GL.glGetString(GL.GL_VERSION).decode()

    def make_current(self) -> None:
        EGL = self._egl
        try:
            ok = EGL.eglMakeCurrent(self.display, EGL.EGL_NO_SURFACE, EGL.EGL_NO_SURFACE, self.context)
        except Exception as e:  # PyOpenGL raises EGLError when its error checking is on
            raise PlatformError(f"EGL: eglMakeCurrent failed ({e})") from None
        if not ok:
            raise PlatformError("EGL: eglMakeCurrent without a surface failed (EGL_KHR_surfaceless_context missing?)")

    def _terminate(self) -> None:
        key = _display_key(self.display)
        users = _DISPLAY_USERS.get(key, 0) - 1
        if users > 0:
            _DISPLAY_USERS[key] = users
            return
        _DISPLAY_USERS.pop(key, None)
        self._egl.eglTerminate(self.display)

    def close(self) -> None:
        if getattr(self, "context", None) is None:
            return
        EGL = self._egl
        EGL.eglMakeCurrent(self.display, EGL.EGL_NO_SURFACE, EGL.EGL_NO_SURFACE, EGL.EGL_NO_CONTEXT)
        EGL.eglDestroyContext(self.display, self.context)
        self.context = None
        self._terminate()

    def __enter__(self) -> "EglContext":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
