"""OpenXR OpenGL graphics bindings, filled completely, for an EGL, a GLX or a WGL (glfw) context.

pyopenxr's helpers leave GLX's ``visualid`` and ``glxFBConfig`` zero, its EGL binding class
insists on PyOpenGL's opaque pointer types, and its Win32 binding exists only when pyopenxr is
imported on Windows; these ctypes structures have the C layout of ``XrGraphicsBindingEGLMNDX``,
``XrGraphicsBindingOpenGLXlibKHR`` and ``XrGraphicsBindingOpenGLWin32KHR`` (OpenXR 1.0,
XR_KHR_opengl_enable: ``hDC`` and ``hGLRC``) and are chained into ``XrSessionCreateInfo.next``
by address. No OpenXR import here. The native calls (glfw, user32, GLX) can be passed in, so
the bindings are testable on any OS.
"""

from __future__ import annotations

import ctypes
from ctypes import Structure, c_int, c_int32, c_uint32, c_ulong, c_void_p
from typing import Any

from vrdiplomacy.errors import XrError

TYPE_GRAPHICS_BINDING_OPENGL_WIN32_KHR = 1000023000
TYPE_GRAPHICS_BINDING_OPENGL_XLIB_KHR = 1000023001
TYPE_GRAPHICS_BINDING_EGL_MNDX = 1000048004
EGL_CONFIG_ID = 0x3028
EGL_NONE = 0x3038
GLX_FBCONFIG_ID = 0x8013
GLX_VISUAL_ID = 0x800B
GLX_SCREEN = 0x800C


class GraphicsBindingEGLMNDX(Structure):
    _fields_ = [("type", c_int32), ("next", c_void_p), ("getProcAddress", c_void_p), ("display", c_void_p),
                ("config", c_void_p), ("context", c_void_p)]


class GraphicsBindingOpenGLXlibKHR(Structure):
    _fields_ = [("type", c_int32), ("next", c_void_p), ("xDisplay", c_void_p), ("visualid", c_uint32),
                ("glxFBConfig", c_void_p), ("glxDrawable", c_ulong), ("glxContext", c_void_p)]


class GraphicsBindingOpenGLWin32KHR(Structure):
    _fields_ = [("type", c_int32), ("next", c_void_p), ("hDC", c_void_p), ("hGLRC", c_void_p)]


def _addr(p: Any) -> int:
    if p is None:
        return 0
    if isinstance(p, int):
        return p
    return int(ctypes.cast(p, c_void_p).value or 0)


def egl_binding(context: Any) -> GraphicsBindingEGLMNDX:
    """The binding for an EGL context (``display`` and ``context`` attributes, current)."""
    from vrdiplomacy.platform.native import load_library

    egl = load_library("EGL", "the OpenXR EGL binding")
    egl.eglGetProcAddress.restype = c_void_p
    egl.eglGetProcAddress.argtypes = [ctypes.c_char_p]
    egl.eglQueryContext.argtypes = [c_void_p, c_void_p, c_int, ctypes.POINTER(c_int)]
    egl.eglChooseConfig.argtypes = [c_void_p, ctypes.POINTER(c_int), ctypes.POINTER(c_void_p), c_int, ctypes.POINTER(c_int)]
    display, ctx = _addr(context.display), _addr(context.context)
    config = _addr(getattr(context, "config", None))
    if not config:
        cid = c_int(0)
        if not egl.eglQueryContext(display, ctx, EGL_CONFIG_ID, ctypes.byref(cid)):
            raise XrError("EGL: cannot query the context's config id")
        attrs = (c_int * 3)(EGL_CONFIG_ID, cid.value, EGL_NONE)
        out, n = c_void_p(), c_int(0)
        if not egl.eglChooseConfig(display, attrs, ctypes.byref(out), 1, ctypes.byref(n)) or n.value < 1:
            raise XrError("EGL: cannot find the context's config")
        config = int(out.value or 0)
    gpa = ctypes.cast(egl.eglGetProcAddress, c_void_p).value
    return GraphicsBindingEGLMNDX(TYPE_GRAPHICS_BINDING_EGL_MNDX, None, gpa, display, config, ctx)


def glx_binding(window: Any, glfw_mod: Any = None, glx: Any = None, x11: Any = None) -> GraphicsBindingOpenGLXlibKHR:
    """The binding for a glfw window's GLX context: display, visual id, FB config, drawable, context."""
    if glfw_mod is None:
        import glfw as glfw_mod

    display = _addr(glfw_mod.get_x11_display())
    ctx = _addr(glfw_mod.get_glx_context(window))
    drawable = int(glfw_mod.get_glx_window(window))
    if glx is None:
        glx = ctypes.CDLL("libGLX.so.0")
        glx.glXQueryContext.argtypes = [c_void_p, c_void_p, c_int, ctypes.POINTER(c_int)]
        glx.glXChooseFBConfig.argtypes = [c_void_p, c_int, ctypes.POINTER(c_int), ctypes.POINTER(c_int)]
        glx.glXChooseFBConfig.restype = ctypes.POINTER(c_void_p)
        glx.glXGetFBConfigAttrib.argtypes = [c_void_p, c_void_p, c_int, ctypes.POINTER(c_int)]
    if x11 is None:
        x11 = ctypes.CDLL("libX11.so.6")
        x11.XFree.argtypes = [c_void_p]
    fb_id, screen = c_int(0), c_int(0)
    if glx.glXQueryContext(display, ctx, GLX_FBCONFIG_ID, ctypes.byref(fb_id)) != 0:
        raise XrError("GLX: cannot query the context's FB config id")
    glx.glXQueryContext(display, ctx, GLX_SCREEN, ctypes.byref(screen))
    attrs = (c_int * 3)(GLX_FBCONFIG_ID, fb_id.value, 0)
    n = c_int(0)
    configs = glx.glXChooseFBConfig(display, screen.value, attrs, ctypes.byref(n))
    if not configs or n.value < 1:
        raise XrError("GLX: cannot find the context's FB config")
    config = int(configs[0] or 0)
    x11.XFree(ctypes.cast(configs, c_void_p))
    visual = c_int(0)
    if glx.glXGetFBConfigAttrib(display, config, GLX_VISUAL_ID, ctypes.byref(visual)) != 0 or visual.value == 0:
        raise XrError("GLX: the FB config has no X visual")
    return GraphicsBindingOpenGLXlibKHR(TYPE_GRAPHICS_BINDING_OPENGL_XLIB_KHR, None, display, visual.value, config, drawable, ctx)


def wgl_binding(window: Any, glfw_mod: Any = None, user32: Any = None) -> GraphicsBindingOpenGLWin32KHR:
    """The binding for a glfw window's WGL context (Windows): the window's device context
    (``GetDC`` of its HWND; glfw's windows own their DC, CS_OWNDC, so it stays valid and is not
    released) and the GL rendering context glfw made (``glfwGetWGLContext``)."""
    if glfw_mod is None:
        import glfw as glfw_mod
    if user32 is None:
        user32 = ctypes.WinDLL("user32")  # type: ignore[attr-defined]  # Windows only
        user32.GetDC.argtypes = [c_void_p]
        user32.GetDC.restype = c_void_p
    get_hwnd = getattr(glfw_mod, "get_win32_window", None)
    get_hglrc = getattr(glfw_mod, "get_wgl_context", None)
    if get_hwnd is None or get_hglrc is None:
        raise XrError("WGL: this GLFW has no native Win32 access (glfwGetWin32Window / glfwGetWGLContext)")
    hwnd, hglrc = _addr(get_hwnd(window)), _addr(get_hglrc(window))
    if not hwnd or not hglrc:
        raise XrError("WGL: the window has no Win32 handle or no WGL context (is it an OpenGL window?)")
    hdc = _addr(user32.GetDC(hwnd))
    if not hdc:
        raise XrError("WGL: GetDC returned no device context for the window")
    return GraphicsBindingOpenGLWin32KHR(TYPE_GRAPHICS_BINDING_OPENGL_WIN32_KHR, None, hdc, hglrc)
