"""A desktop window with a GL 3.3+ core context through GLFW: WGL on Windows, NSGL on macOS,
X11/GLX on Linux (works under Xvfb).

On Linux GLFW's null platform cannot make EGL contexts on Mesa, so this asks for X11 and GLX:
PyOpenGL must then bind through GLX, so ``PYOPENGL_PLATFORM`` must not be ``egl`` in this
process. Windows and macOS use GLFW's native platform.
"""

from __future__ import annotations

import os
import sys

from vrdiplomacy.errors import PlatformError
from vrdiplomacy.platform import ContextSettings, configure_pyopengl
from vrdiplomacy.platform.detect import LINUX, has_display, no_display_reason, os_name


class WindowContext:
    """A GLFW window whose GL context is current on the creating thread."""

    kind = "window"

    def __init__(self, settings: ContextSettings | None = None) -> None:
        self.settings = s = settings or ContextSettings()
        if not has_display():
            raise PlatformError(f"no display: {no_display_reason()} (use the offscreen renderer, or run under Xvfb)")
        if os.environ.get("PYOPENGL_PLATFORM", "") == "egl":
            raise PlatformError("a desktop window needs GLX, but PYOPENGL_PLATFORM=egl is set in this process")
        if "OpenGL.GL" not in sys.modules:
            configure_pyopengl(s.debug)
        try:
            import glfw
        except (ImportError, OSError) as e:
            raise PlatformError(f"cannot load GLFW: {e}") from None
        self._glfw = glfw
        if os_name() == LINUX:
            try:
                glfw.init_hint(glfw.PLATFORM, glfw.PLATFORM_X11)
            except Exception:  # older GLFW without platform selection
                pass
        if not glfw.init():
            raise PlatformError(f"GLFW could not open the display '{os.environ.get('DISPLAY', '')}'")
        glfw.window_hint(glfw.CONTEXT_VERSION_MAJOR, s.major)
        glfw.window_hint(glfw.CONTEXT_VERSION_MINOR, s.minor)
        glfw.window_hint(glfw.OPENGL_PROFILE, glfw.OPENGL_CORE_PROFILE)
        glfw.window_hint(glfw.OPENGL_FORWARD_COMPAT, True)
        glfw.window_hint(glfw.SRGB_CAPABLE, True)
        glfw.window_hint(glfw.VISIBLE, s.visible)
        window = glfw.create_window(s.width, s.height, s.title, None, None)
        if not window:
            glfw.terminate()
            raise PlatformError(f"GLFW: cannot create a window with a GL {s.major}.{s.minor} core context")
        self.window = window
        self.make_current()
        glfw.swap_interval(1 if s.vsync else 0)
        from OpenGL import GL

        self.gl_renderer = GL.glGetString(GL.GL_RENDERER).decode()
        self.gl_version = GL.glGetString(GL.GL_VERSION).decode()

    def make_current(self) -> None:
        self._glfw.make_context_current(self.window)

    def framebuffer_size(self) -> tuple[int, int]:
        w, h = self._glfw.get_framebuffer_size(self.window)
        return int(w), int(h)

    def should_close(self) -> bool:
        return bool(self._glfw.window_should_close(self.window))

    def swap_buffers(self) -> None:
        self._glfw.swap_buffers(self.window)

    def poll_events(self) -> None:
        self._glfw.poll_events()

    def close(self) -> None:
        if getattr(self, "window", None) is None:
            return
        self._glfw.destroy_window(self.window)
        self.window = None
        self._glfw.terminate()

    def __enter__(self) -> "WindowContext":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
