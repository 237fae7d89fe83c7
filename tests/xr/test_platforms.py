"""Every desktop OS: display detection, the OpenXR graphics binding each OS gets, and the WGL and
GLX bindings filled from injected fakes of glfw, user32 and GLX (CI here runs Linux only; the
Windows path is exercised through the same code with the native calls faked).

Fails on main 3e2635d: there was no WGL binding, and ``has_display()`` read only
DISPLAY/WAYLAND_DISPLAY, so on Windows and macOS neither ``--mode xr`` nor the desktop fallback
started.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

import pytest

from vrdiplomacy.errors import XrError
from vrdiplomacy.platform.detect import has_display, os_name, xr_graphics_binding
from vrdiplomacy.xr import glbinding as gb


@pytest.mark.parametrize("platform,env,expected", [
    ("win32", {}, True), ("darwin", {}, True), ("linux", {}, False), ("linux", {"DISPLAY": ":0"}, True),
    ("linux", {"WAYLAND_DISPLAY": "wayland-0"}, True), ("freebsd13", {}, False), ("cygwin", {}, True),
])
def test_display_detection_per_os(platform: str, env: dict[str, str], expected: bool) -> None:
    assert has_display(platform, env) is expected


@pytest.mark.parametrize("platform,env,has_egl,egl_process,requested,expected", [
    ("win32", {}, False, False, "auto", "wgl"),           # Windows: WGL from the glfw window
    ("win32", {}, True, True, "auto", "wgl"),             # even where a runtime offered EGL
    ("darwin", {}, False, False, "auto", "none"),         # no OpenXR OpenGL binding on macOS
    ("linux", {}, True, False, "auto", "egl"),            # headless Linux: EGL (XR_MNDX_egl_enable)
    ("linux", {"DISPLAY": ":0"}, True, False, "auto", "glx"),
    ("linux", {"DISPLAY": ":0"}, True, True, "auto", "egl"),  # the process already binds GL through EGL
    ("linux", {"DISPLAY": ":0"}, False, False, "auto", "glx"),
    ("linux", {}, True, False, "glx", "glx"),             # an explicit --graphics wins on Linux
])
def test_graphics_binding_choice_per_os(platform: str, env: dict[str, str], has_egl: bool, egl_process: bool,
                                        requested: str, expected: str) -> None:
    assert xr_graphics_binding(platform, env, has_egl, egl_process, requested) == expected


def test_this_os_is_named() -> None:
    assert os_name() == ("windows" if sys.platform == "win32" else "macos" if sys.platform == "darwin" else "linux")


class FakeGlfwWin32:
    def __init__(self, hwnd: int = 0x1234, hglrc: int = 0x5678) -> None:
        self.hwnd, self.hglrc = hwnd, hglrc
        self.asked: list[Any] = []

    def get_win32_window(self, window: Any) -> int:
        self.asked.append(("hwnd", window))
        return self.hwnd

    def get_wgl_context(self, window: Any) -> ctypes.c_void_p:
        self.asked.append(("hglrc", window))
        return ctypes.c_void_p(self.hglrc)


class FakeUser32:
    def __init__(self, hdc: int = 0x9ABC) -> None:
        self.hdc = hdc
        self.calls: list[int] = []

    def GetDC(self, hwnd: int) -> int:  # noqa: N802 (the Win32 name)
        self.calls.append(hwnd)
        return self.hdc


def test_wgl_binding_from_the_glfw_window() -> None:
    glfw, user32 = FakeGlfwWin32(), FakeUser32()
    b = gb.wgl_binding("window", glfw, user32)
    assert b.type == 1000023000  # XR_TYPE_GRAPHICS_BINDING_OPENGL_WIN32_KHR
    assert b.next is None and b.hDC == 0x9ABC and b.hGLRC == 0x5678
    assert user32.calls == [0x1234] and glfw.asked == [("hwnd", "window"), ("hglrc", "window")]
    # the C layout of XrGraphicsBindingOpenGLWin32KHR: type, next, hDC, hGLRC
    assert [gb.GraphicsBindingOpenGLWin32KHR.__dict__[f].offset for f in ("type", "next", "hDC", "hGLRC")] == \
        [0, ctypes.sizeof(ctypes.c_void_p), 2 * ctypes.sizeof(ctypes.c_void_p), 3 * ctypes.sizeof(ctypes.c_void_p)]


def test_wgl_binding_errors_are_clear() -> None:
    with pytest.raises(XrError, match="GetDC returned no device context"):
        gb.wgl_binding("w", FakeGlfwWin32(), FakeUser32(hdc=0))
    with pytest.raises(XrError, match="no Win32 handle or no WGL context"):
        gb.wgl_binding("w", FakeGlfwWin32(hglrc=0), FakeUser32())

    class LinuxGlfw:  # pyGLFW on Linux has no Win32 accessors
        pass

    with pytest.raises(XrError, match="no native Win32 access"):
        gb.wgl_binding("w", LinuxGlfw(), FakeUser32())


class FakeGlfwX11:
    def get_x11_display(self) -> int:
        return 0xD15

    def get_glx_context(self, window: Any) -> int:
        return 0xC7C

    def get_glx_window(self, window: Any) -> int:
        return 0x3E00007


class FakeGlx:
    """glXQueryContext / glXChooseFBConfig / glXGetFBConfigAttrib over one FB config."""

    def __init__(self, visual: int = 0x21) -> None:
        self.visual = visual
        self.configs = (ctypes.c_void_p * 1)(0xFBC)
        self.chosen: list[Any] = []

    def glXQueryContext(self, display: int, ctx: int, attr: int, out: Any) -> int:  # noqa: N802
        assert (display, ctx) == (0xD15, 0xC7C)
        out._obj.value = {gb.GLX_FBCONFIG_ID: 42, gb.GLX_SCREEN: 0}[attr]
        return 0

    def glXChooseFBConfig(self, display: int, screen: int, attrs: Any, n: Any) -> Any:  # noqa: N802
        self.chosen.append(list(attrs))
        n._obj.value = 1
        return ctypes.cast(self.configs, ctypes.POINTER(ctypes.c_void_p))

    def glXGetFBConfigAttrib(self, display: int, config: int, attr: int, out: Any) -> int:  # noqa: N802
        assert config == 0xFBC and attr == gb.GLX_VISUAL_ID
        out._obj.value = self.visual
        return 0


class FakeX11:
    def __init__(self) -> None:
        self.freed = 0

    def XFree(self, p: Any) -> None:  # noqa: N802
        self.freed += 1


def test_glx_binding_from_fakes() -> None:
    glx, x11 = FakeGlx(), FakeX11()
    b = gb.glx_binding("window", FakeGlfwX11(), glx, x11)
    assert b.type == 1000023001 and b.xDisplay == 0xD15 and b.glxContext == 0xC7C and b.glxDrawable == 0x3E00007
    assert b.glxFBConfig == 0xFBC and b.visualid == 0x21
    assert glx.chosen == [[gb.GLX_FBCONFIG_ID, 42, 0]] and x11.freed == 1
    with pytest.raises(XrError, match="no X visual"):
        gb.glx_binding("window", FakeGlfwX11(), FakeGlx(visual=0), FakeX11())


def test_the_backend_binds_wgl_on_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    """OpenXrBackend's context step, in a process pretending to be Windows: a hidden glfw window
    and the WGL binding from it (the window and the binding call faked)."""
    import vrdiplomacy.platform as plat
    from vrdiplomacy.xr.backend import BackendSettings
    from vrdiplomacy.xr.openxr_backend import OpenXrBackend

    made: list[Any] = []

    class Ctx:
        window = "hidden-window"

    def fake_context(kind: str, settings: Any = None) -> Any:
        made.append((kind, settings.visible))
        return Ctx()

    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setattr(plat, "create_context", fake_context)
    monkeypatch.setattr(gb, "wgl_binding", lambda window: ("wgl", window))
    be = OpenXrBackend.__new__(OpenXrBackend)
    be.settings, be.has_egl = BackendSettings(mode="xr"), True
    be._create_context()
    assert be.graphics == "wgl" and made == [("window", False)] and be._binding == ("wgl", "hidden-window")
    monkeypatch.setattr(sys, "platform", "darwin")
    with pytest.raises(Exception, match="no OpenGL graphics binding on macOS"):
        be._create_context()


def test_native_library_names_and_hints_per_os(tmp_path: Any) -> None:
    from vrdiplomacy.platform.native import candidates, find_library, install_hint

    (tmp_path / "opus.dll").write_bytes(b"MZ")
    env = {"PATH": str(tmp_path)}
    assert find_library("opus", "win32", env) == str(tmp_path / "opus.dll")
    assert candidates("opus", "darwin", {})[:2] == ["libopus.0.dylib", "libopus.dylib"]
    assert "/opt/homebrew/lib/libopus.0.dylib" in candidates("opus", "darwin", {})
    assert install_hint("opus", "darwin") == "brew install opus" and "vcpkg" in install_hint("mysofa", "win32")
    assert candidates("EGL", "darwin", {}) == [] and "CGL" in install_hint("EGL", "darwin")


def test_a_missing_library_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from vrdiplomacy.errors import PlatformError
    from vrdiplomacy.platform import native

    monkeypatch.setitem(native.NAMES, "nosuchlib", {"linux": ("libnosuchlib.so.9",), "macos": (), "windows": ()})
    monkeypatch.setitem(native.HINTS, "nosuchlib", {"linux": "apt install nosuchlib9"})
    with pytest.raises(PlatformError, match=r"voice needs the nosuchlib library.*libnosuchlib\.so\.9.*apt install nosuchlib9"):
        native.load_library("nosuchlib", "voice")
