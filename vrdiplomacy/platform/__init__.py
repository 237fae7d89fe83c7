"""GL context platforms, imported lazily: ``egl`` (offscreen, surfaceless) and ``window`` (glfw).

Use :func:`create_context`; the native libraries (libEGL, GLFW) load only when a context of that
kind is made. PyOpenGL binds its function pointers through one platform per process (EGL or
GLX), chosen when ``OpenGL.GL`` is first imported, so pick the kind before any GL import:
``egl`` needs ``PYOPENGL_PLATFORM=egl`` (set here if still unset), ``window`` needs GLX (do not
force ``PYOPENGL_PLATFORM=egl`` in a process that opens a window).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Protocol

from vrdiplomacy.errors import PlatformError

KINDS = ("egl", "window")


@dataclass
class ContextSettings:
    """How to make a GL context.

    Fields: ``major``/``minor`` the lowest GL core version accepted (3.3 by default);
    ``width``/``height`` the window size (the ``window`` kind only); ``title`` the window title;
    ``vsync`` swap interval 1 when true (window only); ``visible`` whether the window is shown
    (a hidden window still has a working GL context); ``debug`` keeps PyOpenGL's error checking on.
    """

    major: int = 3
    minor: int = 3
    width: int = 1280
    height: int = 720
    title: str = "vrdiplomacy"
    vsync: bool = True
    visible: bool = True
    debug: bool = False


class GLContext(Protocol):
    """A current GL context. ``gl_renderer``/``gl_version`` come from glGetString."""

    kind: str
    gl_renderer: str
    gl_version: str

    def make_current(self) -> None: ...

    def close(self) -> None: ...


def configure_pyopengl(debug: bool = False) -> None:
    """Turn PyOpenGL's per-call error checking and logging off (they cost microseconds per call)
    unless ``debug`` or ``VRD_GL_DEBUG=1``. Effective only before ``OpenGL.GL`` is imported."""
    import OpenGL

    if debug or os.environ.get("VRD_GL_DEBUG", "") not in ("", "0"):
        OpenGL.ERROR_CHECKING = True
        return
    OpenGL.ERROR_CHECKING = False
    OpenGL.ERROR_LOGGING = False


def create_context(kind: str = "egl", settings: ContextSettings | None = None) -> GLContext:
    """Make a GL 3.3+ core context of ``kind`` ("egl" or "window") current on this thread."""
    settings = settings or ContextSettings()
    quiet_pyopengl_logging()
    if kind == "egl":
        from vrdiplomacy.platform.egl import EglContext

        return EglContext(settings)
    if kind == "window":
        from vrdiplomacy.platform.window import WindowContext

        return WindowContext(settings)
    raise PlatformError(f"unknown GL platform '{kind}' (known: {', '.join(KINDS)})")


def quiet_pyopengl_logging() -> None:
    """PyOpenGL logs an INFO line about its optional accelerator module: keep it out of CLI output."""
    import logging

    logging.getLogger("OpenGL").setLevel(logging.WARNING)
