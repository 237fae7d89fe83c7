"""Which desktop this process runs on, and whether it can open a window (no GL import here).

Linux and the BSDs draw through X11 or Wayland: a window needs ``DISPLAY`` or
``WAYLAND_DISPLAY``. Windows and macOS always have a desktop session for an interactive user
(a service or an SSH login without a console is the exception, and the window's own start-up
error says so then). Every function takes the platform name and the environment as arguments
(defaulting to this process's) so the choices are testable on any OS.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

WINDOWS, MACOS, LINUX = "windows", "macos", "linux"


def os_name(platform: str | None = None) -> str:
    """"windows", "macos" or "linux" (any other POSIX desktop counts as linux: X11/Wayland)."""
    p = sys.platform if platform is None else platform
    if p.startswith(("win32", "cygwin", "msys")):
        return WINDOWS
    if p.startswith("darwin"):
        return MACOS
    return LINUX


def has_display(platform: str | None = None, environ: Mapping[str, str] | None = None) -> bool:
    """Whether a desktop window can be opened: always on Windows and macOS; on Linux when
    ``DISPLAY`` (X11) or ``WAYLAND_DISPLAY`` is set."""
    name = os_name(platform)
    if name in (WINDOWS, MACOS):
        return True
    env = os.environ if environ is None else environ
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def no_display_reason(platform: str | None = None) -> str:
    """Why :func:`has_display` is false, in the user's terms."""
    if os_name(platform) == LINUX:
        return "there is no display for the desktop window (neither DISPLAY nor WAYLAND_DISPLAY is set)"
    return "there is no desktop session"


def xr_graphics_binding(platform: str | None = None, environ: Mapping[str, str] | None = None,
                        has_egl: bool = False, egl_process: bool = False, requested: str = "auto") -> str:
    """The OpenXR graphics binding for this OS: "wgl" on Windows (XR_KHR_opengl_enable with
    ``XrGraphicsBindingOpenGLWin32KHR``); on Linux "egl" (XR_MNDX_egl_enable) when the runtime
    offers it and the process is headless or already on EGL, else "glx" (Xlib). macOS has no
    OpenXR OpenGL binding: "none"."""
    name = os_name(platform)
    if name == WINDOWS:
        return "wgl" if requested in ("auto", "wgl") else requested
    if name == MACOS:
        return "none"
    if requested != "auto":
        return requested
    return "egl" if has_egl and (egl_process or not has_display(platform, environ)) else "glx"
