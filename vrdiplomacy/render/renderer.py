"""The GL renderer: the only module of vrdiplomacy that calls GL (with its render targets,
:mod:`vrdiplomacy.render.targets`, and the layers it hands its counting GL: the HUD card,
the key light's shadow map :mod:`~vrdiplomacy.render.shadows`, the own hands
:mod:`~vrdiplomacy.render.hands`).

GL 3.3 core. Static geometry is baked into one buffer with a material index per vertex (at
most three draws per view), lit by a key light whose shadow map is drawn once per scene;
avatars are two instanced draws whatever their number (the near mesh, and the far level of
detail beyond :data:`~vrdiplomacy.render.avatar_mesh.LOD_DISTANCE`), their per-instance data
refreshed by two ``glBufferSubData`` per frame. The same draws carry each avatar's hand shapes,
arms, gesture icon, name tag and contact shadow (per-instance indices). The viewer's own hands
are one more instanced draw, articulated from the tracked joints (capsules per bone); a bare
:class:`Avatar` as ``local_hands`` still rides in the avatar draw (hands and forearms only). A frame renders a list of
views (one per eye) into the targets it is handed: FBOs, or layers of a texture array as an
OpenXR swapchain gives them. Per-view matrices live in one uniform buffer, bound by range.
Output is sRGB: SRGB8_ALPHA8 targets with ``GL_FRAMEBUFFER_SRGB``, sRGB textures.

Every GL entry point used goes through a tiny counting layer (:class:`_CountingGL`) that feeds
:data:`vrdiplomacy.render.types.FRAME_STATS` (GL calls and draw calls per frame).
"""

from __future__ import annotations

import ctypes
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from vrdiplomacy.errors import RenderError
from vrdiplomacy.platform import ContextSettings, GLContext, create_context
from vrdiplomacy.render.atlas import PlacardAtlas, build_atlas
from vrdiplomacy.render.avatar_mesh import LOD_DISTANCE, build_avatar_mesh
from vrdiplomacy.render.avatar_mesh import STRIDE as AVATAR_STRIDE
from vrdiplomacy.render.batching import STRIDE as STATIC_STRIDE
from vrdiplomacy.render.batching import StaticBatch, build_static_batch
from vrdiplomacy.render.hands import OwnHandsLayer
from vrdiplomacy.render.hud import HudLayer
from vrdiplomacy.render.icons import COLUMNS as ICON_COLUMNS
from vrdiplomacy.render.icons import build_icon_atlas
from vrdiplomacy.render.instances import (
    gather_flags,
    gather_poses,
    pack_crowd,
    pack_gathered,
    pack_local_hands,
)
from vrdiplomacy.render.screens import MeetingLayer
from vrdiplomacy.render.shaders import load_shader
from vrdiplomacy.render.shadows import render_shadow_map, shadow_params
from vrdiplomacy.render.targets import RenderTargets
from vrdiplomacy.render.types import FRAME_STATS, FrameStats, RendererSettings, Target
from vrdiplomacy.scene.crowd import TAG_SEP, Crowd
from vrdiplomacy.scene.math3d import view_projection_colmajor
from vrdiplomacy.scene.model import Avatar, Scene, View

GL: Any = None  # OpenGL.GL, imported once a context exists (PyOpenGL binds to one platform)

_DRAWS = ("glDrawArrays", "glDrawElements", "glDrawElementsInstanced")
_CALLS = _DRAWS + (
    "glActiveTexture", "glAttachShader", "glBindBuffer", "glBindBufferBase", "glBindBufferRange", "glBindFramebuffer",
    "glBindRenderbuffer", "glBindTexture", "glBindVertexArray", "glBlendFunc", "glBlitFramebuffer",
    "glBufferData", "glBufferSubData", "glCheckFramebufferStatus", "glClear", "glClearColor", "glCompileShader",
    "glCreateProgram", "glCreateShader", "glDeleteBuffers", "glDeleteFramebuffers", "glDeleteProgram",
    "glDeleteRenderbuffers", "glDeleteShader", "glDeleteTextures", "glDeleteVertexArrays", "glDepthMask",
    "glDisable", "glEnable", "glEnableVertexAttribArray", "glFinish", "glFramebufferRenderbuffer",
    "glFramebufferTexture2D", "glFramebufferTextureLayer", "glGenBuffers", "glGenFramebuffers",
    "glGenRenderbuffers", "glGenTextures", "glGenVertexArrays", "glGenerateMipmap", "glGetIntegerv",
    "glGetProgramInfoLog", "glTexSubImage2D", "glGetProgramiv", "glGetShaderInfoLog", "glGetShaderiv", "glGetString", "glGetStringi",
    "glGetFloatv", "glGetUniformBlockIndex", "glGetUniformLocation", "glLinkProgram", "glPixelStorei", "glReadPixels",
    "glRenderbufferStorage", "glShaderSource", "glTexImage2D", "glTexImage3D", "glTexParameterf", "glTexParameteri",
    "glUniform1i", "glUniform3fv", "glUniform4f", "glUniformBlockBinding", "glUseProgram", "glVertexAttribDivisor", "glVertexAttribPointer",
    "glViewport", "glFlush", "glDrawBuffer", "glReadBuffer", "glPolygonOffset", "glClearDepth",
)

VIEW_BINDING, SCENE_BINDING, MATERIAL_BINDING = 0, 1, 2
INSTANCE_FLOATS = 48  # twelve vec4 per avatar, see shaders/avatar.vert
INSTANCE_VEC4 = INSTANCE_FLOATS // 4
INSTANCE_LOCATION = 4  # first instance attribute; 4 + 12 = 16 locations, the GL minimum of GL_MAX_VERTEX_ATTRIBS
MAX_LIGHTS = 8
SCENE_VEC4 = 3 + 2 * MAX_LIGHTS + 5  # sky, ground, count, positions, colours, shadow matrix (4), shadow params
SHADOW_SIZE = 2048  # the key light's shadow map side (texels); 0: no shadow map
SHADOW_UNIT = 4
TEXTURE_MAX_ANISOTROPY = 0x84FE  # GL 4.6 / EXT_texture_filter_anisotropic (same enums)
MAX_TEXTURE_MAX_ANISOTROPY = 0x84FF


def static_batch(scene: Scene, settings: RendererSettings | None = None) -> StaticBatch:
    """``scene``'s static geometry, materials and resampled textures as :meth:`Renderer.upload`
    takes them (no GL: CPU work, about 0.6 s for the chamber)."""
    s = settings or RendererSettings()
    return build_static_batch(scene, s.max_texture_size, s.large_texture_size, s.max_large_textures)


class _CountingGL:
    """The GL functions the renderer uses, each wrapped to count calls (and draws) in ``stats``."""

    def __init__(self, gl: Any, stats: FrameStats, timed: bool = False) -> None:
        for name in _CALLS:
            setattr(self, name, self._wrap(getattr(gl, name), name in _DRAWS, stats, timed))

    @staticmethod
    def _wrap(fn: Callable[..., Any], draw: bool, stats: FrameStats, timed: bool) -> Callable[..., Any]:
        if timed:
            def timed_call(*args: Any) -> Any:
                stats.gl_calls += 1
                stats.draw_calls += draw
                t0 = time.thread_time()
                try:
                    return fn(*args)
                finally:
                    stats.gl_cpu_s += time.thread_time() - t0
            return timed_call
        if draw:
            def counted_draw(*args: Any) -> Any:
                stats.gl_calls += 1
                stats.draw_calls += 1
                return fn(*args)
            return counted_draw

        def counted(*args: Any) -> Any:
            stats.gl_calls += 1
            return fn(*args)
        return counted


def _load_gl() -> Any:
    global GL
    if GL is None:
        from OpenGL import GL as gl_module

        GL = gl_module
    return GL


def _offset(n: int) -> ctypes.c_void_p:
    return ctypes.c_void_p(n)


class Renderer(RenderTargets):
    """Draws a :class:`Scene` from a list of views into a list of targets.

    ``Renderer(settings, context=None)`` makes an offscreen EGL context when given none (and
    closes it on :meth:`close`). Then ``upload(scene)`` once, ``render(scene, views, targets)``
    per frame, ``read_pixels(target)`` to get an image back.
    """

    def __init__(self, settings: RendererSettings | None = None, context: GLContext | None = None) -> None:
        self.settings = settings or RendererSettings()
        self._owns_context = context is None
        self.context = context or create_context(self.settings.platform, ContextSettings(debug=self.settings.debug))
        _load_gl()
        self.stats = FRAME_STATS
        self.gl = gl = _CountingGL(GL, FRAME_STATS)
        self.info = {
            "GL_RENDERER": gl.glGetString(GL.GL_RENDERER).decode(),
            "GL_VERSION": gl.glGetString(GL.GL_VERSION).decode(),
            "GL_VENDOR": gl.glGetString(GL.GL_VENDOR).decode(),
        }
        major, minor = (int(x) for x in self.info["GL_VERSION"].split()[0].split(".")[:2])
        if (major, minor) < (3, 3):
            raise RenderError(f"GL 3.3 core needed, the context gives {self.info['GL_VERSION']}")
        self._buffers: list[int] = []
        self._textures: list[int] = []
        self._fbos: dict[tuple[int, int], tuple[int, int]] = {}  # (texture, layer) -> (fbo, depth rb)
        self._owned_targets: list[tuple[int, int, int]] = []  # (fbo, texture, renderbuffer)
        self._static = self._program("static.vert", "static.frag",
                                     {"u_textures": 0, "u_large": 3, "u_shadow_map": SHADOW_UNIT})
        self._avatar = self._program("avatar.vert", "avatar.frag", {"u_atlas": 1, "u_icons": 2, "u_shadow_map": SHADOW_UNIT})
        self._hands = OwnHandsLayer(self.gl, GL, self._program("hand.vert", "hand.frag", {"u_shadow_map": SHADOW_UNIT}),
                                    self._buffer)
        self.shadow_size = SHADOW_SIZE  # the key light's shadow map for the next upload (0: none)
        self._shadow_program = 0
        self._shadow_tex = self._texture()
        self._shadow_fbo = 0
        self._shadow_params = np.zeros((5, 4), np.float32)
        self._anisotropy = self._max_anisotropy()
        align = int(gl.glGetIntegerv(GL.GL_UNIFORM_BUFFER_OFFSET_ALIGNMENT))
        self._view_stride = ((80 + align - 1) // align) * align
        self._view_ubo = self._buffer(GL.GL_UNIFORM_BUFFER, 8 * self._view_stride)
        self._view_data = np.zeros(8 * self._view_stride // 4, dtype=np.float32)
        self._scene_ubo = self._buffer(GL.GL_UNIFORM_BUFFER, SCENE_VEC4 * 16)
        self._material_ubo = self._buffer(GL.GL_UNIFORM_BUFFER, 256 * 48)
        self._setup_avatar_geometry()
        self._static_vao = 0
        self._static_buffers: list[int] = []
        self._static_ranges: dict[str, tuple[int, int]] = {}
        self._tex_array = self._texture()
        self._large_array = self._texture()
        self._atlas_tex = self._texture()
        self._icon_tex = self._texture()
        self._upload_icons()
        self._atlas: PlacardAtlas | None = None
        self._rects: dict[str, tuple[float, float, float, float]] = {}
        self._crowd_rects: tuple[list[str], npt.NDArray[np.float32]] | None = None
        self._uploaded: Scene | None = None
        self._clear = (0.0, 0.0, 0.0, 1.0)
        self._hud: HudLayer | None = None  # made with the first scene that has a HUD card
        self.meeting: MeetingLayer | None = None  # live screens and panels, made with the first scene.meeting

    def time_gl_calls(self, enabled: bool = True) -> None:
        """Measure the thread CPU time spent inside GL calls into ``stats.gl_cpu_s`` (for the
        benchmark: Mesa llvmpipe does vertex shading and binning synchronously inside them, on
        the calling thread; that is driver work, not Python work)."""
        self.gl = _CountingGL(GL, self.stats, timed=enabled)

    def _max_anisotropy(self) -> float:
        """The anisotropic filtering the scene textures get (placards and signs seen at a slant
        stay legible): min(16, the driver's limit), 0 where the driver has none."""
        gl = self.gl
        n = int(gl.glGetIntegerv(GL.GL_NUM_EXTENSIONS))
        exts = {gl.glGetStringi(GL.GL_EXTENSIONS, i).decode() for i in range(n)}
        major, minor = (int(x) for x in self.info["GL_VERSION"].split()[0].split(".")[:2])
        if "GL_EXT_texture_filter_anisotropic" not in exts and "GL_ARB_texture_filter_anisotropic" not in exts \
                and (major, minor) < (4, 6):
            return 0.0
        return min(16.0, float(gl.glGetFloatv(MAX_TEXTURE_MAX_ANISOTROPY)))

    @property
    def anisotropy(self) -> float:
        """The anisotropic filtering level of the scene textures (0: none)."""
        return self._anisotropy

    def set_anisotropy(self, level: float) -> None:
        """Change the scene textures' anisotropic filtering (0 or 1: off; capped at the driver's
        limit). On a software rasterizer 16x anisotropy costs several times the whole frame's
        fragment work (llvmpipe at 1280x720: about 6x), so the desktop window turns it off there."""
        limit = self._max_anisotropy()
        self._anisotropy = min(max(float(level), 0.0), limit) if limit > 0.0 else 0.0
        gl = self.gl
        for target, tex in ((GL.GL_TEXTURE_2D_ARRAY, self._tex_array), (GL.GL_TEXTURE_2D_ARRAY, self._large_array),
                            (GL.GL_TEXTURE_2D, self._atlas_tex), (GL.GL_TEXTURE_2D, self._icon_tex)):
            if limit > 0.0:
                gl.glBindTexture(target, tex)
                gl.glTexParameterf(target, TEXTURE_MAX_ANISOTROPY, max(self._anisotropy, 1.0))
            gl.glBindTexture(target, 0)

    # ---------------------------------------------------------------- set-up helpers
    def _buffer(self, target: int, size: int, data: Any = None, usage: int | None = None) -> int:
        gl = self.gl
        buf = int(gl.glGenBuffers(1))
        self._buffers.append(buf)
        gl.glBindBuffer(target, buf)
        gl.glBufferData(target, size, data, usage if usage is not None else GL.GL_DYNAMIC_DRAW)
        return buf

    def _texture(self) -> int:
        tex = int(self.gl.glGenTextures(1))
        self._textures.append(tex)
        return tex

    def _program(self, vert: str, frag: str, samplers: dict[str, int]) -> int:
        gl = self.gl
        prog = gl.glCreateProgram()
        shaders = []
        for name, kind in ((vert, GL.GL_VERTEX_SHADER), (frag, GL.GL_FRAGMENT_SHADER)):
            sh = gl.glCreateShader(kind)
            gl.glShaderSource(sh, load_shader(name))
            gl.glCompileShader(sh)
            if not gl.glGetShaderiv(sh, GL.GL_COMPILE_STATUS):
                log = gl.glGetShaderInfoLog(sh)
                raise RenderError(f"shader {name} does not compile: {log.decode(errors='replace').strip()}")
            gl.glAttachShader(prog, sh)
            shaders.append(sh)
        gl.glLinkProgram(prog)
        if not gl.glGetProgramiv(prog, GL.GL_LINK_STATUS):
            raise RenderError(f"program {vert}+{frag} does not link: {gl.glGetProgramInfoLog(prog).decode(errors='replace').strip()}")
        for sh in shaders:
            gl.glDeleteShader(sh)
        for block, binding in (("ViewBlock", VIEW_BINDING), ("SceneBlock", SCENE_BINDING), ("MaterialBlock", MATERIAL_BINDING)):
            idx = gl.glGetUniformBlockIndex(prog, block)
            if idx != GL.GL_INVALID_INDEX:
                gl.glUniformBlockBinding(prog, idx, binding)
        gl.glUseProgram(prog)
        for name, unit in samplers.items():
            gl.glUniform1i(gl.glGetUniformLocation(prog, name), unit)
        return int(prog)

    def _attribs(self, layout: Sequence[tuple[int, int, int]], stride: int, divisor: int = 0) -> None:
        """(location, components, float offset) for the bound ARRAY_BUFFER."""
        gl = self.gl
        for loc, comps, off in layout:
            gl.glEnableVertexAttribArray(loc)
            gl.glVertexAttribPointer(loc, comps, GL.GL_FLOAT, GL.GL_FALSE, stride * 4, _offset(off * 4))
            if divisor:
                gl.glVertexAttribDivisor(loc, divisor)

    def _setup_avatar_geometry(self) -> None:
        gl = self.gl
        near, far = build_avatar_mesh(), build_avatar_mesh(far=True)
        vertices = np.concatenate([near.vertices, far.vertices])
        indices = np.concatenate([near.indices, far.indices + np.uint32(len(near.vertices))])
        self._avatar_index_count = int(near.indices.size)  # the near mesh; the far one follows it
        self._avatar_far_count = int(far.indices.size)
        self.lod_distance = LOD_DISTANCE  # avatars farther than this from the viewer get the far mesh (inf: never)
        self._avatar_vao = int(gl.glGenVertexArrays(1))
        gl.glBindVertexArray(self._avatar_vao)
        vbo = self._buffer(GL.GL_ARRAY_BUFFER, vertices.nbytes, vertices, GL.GL_STATIC_DRAW)
        self._attribs([(0, 3, 0), (1, 3, 3), (2, 4, 6), (3, 3, 10)], AVATAR_STRIDE)  # uv + part share location 2
        ibo = self._buffer(GL.GL_ELEMENT_ARRAY_BUFFER, indices.nbytes, indices, GL.GL_STATIC_DRAW)
        self._capacity = max(1, self.settings.avatar_capacity)
        # rows [0, capacity): the packed avatars, near ones first; [capacity, 2 capacity): the far ones
        self._instances = np.zeros((2 * self._capacity, INSTANCE_FLOATS), dtype=np.float32)
        self._instance_vbo = self._buffer(GL.GL_ARRAY_BUFFER, self._instances.nbytes, self._instances, GL.GL_STREAM_DRAW)
        self._attribs([(INSTANCE_LOCATION + i, 4, 4 * i) for i in range(INSTANCE_VEC4)], INSTANCE_FLOATS, divisor=1)
        # the far mesh's VAO: the same buffers, its instance attributes start at row `capacity`, where
        # the far rows go (GL 3.3 has no base instance; re-pointed only when the buffer grows)
        self._far_vao = int(gl.glGenVertexArrays(1))
        gl.glBindVertexArray(self._far_vao)
        gl.glBindBuffer(GL.GL_ARRAY_BUFFER, vbo)
        self._attribs([(0, 3, 0), (1, 3, 3), (2, 4, 6), (3, 3, 10)], AVATAR_STRIDE)
        gl.glBindBuffer(GL.GL_ELEMENT_ARRAY_BUFFER, ibo)
        gl.glBindBuffer(GL.GL_ARRAY_BUFFER, self._instance_vbo)
        base = self._capacity * INSTANCE_FLOATS
        self._attribs([(INSTANCE_LOCATION + i, 4, base + 4 * i) for i in range(INSTANCE_VEC4)], INSTANCE_FLOATS, divisor=1)
        self._n_near = 0  # instance rows [0, _n_near) take the near mesh this frame
        self._eye: npt.NDArray[np.float32] | None = None
        gl.glBindVertexArray(0)

    # ---------------------------------------------------------------- upload
    def upload(self, scene: Scene, batch: StaticBatch | None = None) -> None:
        """Upload ``scene``'s static geometry, materials, textures, lights and placard names;
        ``batch``: its :func:`static_batch`, made beforehand (e.g. before a window opens)."""
        gl = self.gl
        batch = batch if batch is not None else static_batch(scene, self.settings)
        if self._static_vao:
            gl.glDeleteVertexArrays(1, [self._static_vao])
        if self._static_buffers:
            gl.glDeleteBuffers(len(self._static_buffers), self._static_buffers)
            self._buffers = [b for b in self._buffers if b not in self._static_buffers]
            self._static_buffers = []
        self._static_vao = int(gl.glGenVertexArrays(1))
        gl.glBindVertexArray(self._static_vao)
        if batch.vertices.size:
            vbo = self._buffer(GL.GL_ARRAY_BUFFER, batch.vertices.nbytes, batch.vertices, GL.GL_STATIC_DRAW)
            self._attribs([(0, 3, 0), (1, 3, 3), (2, 2, 6), (3, 1, 8)], STATIC_STRIDE)
            ibo = self._buffer(GL.GL_ELEMENT_ARRAY_BUFFER, batch.indices.nbytes, batch.indices, GL.GL_STATIC_DRAW)
            self._static_buffers = [vbo, ibo]
        gl.glBindVertexArray(0)
        self._static_ranges = {k: (r.first * 4, r.count) for k, r in batch.ranges.items()}
        gl.glBindBuffer(GL.GL_UNIFORM_BUFFER, self._material_ubo)
        gl.glBufferSubData(GL.GL_UNIFORM_BUFFER, 0, batch.materials.nbytes, batch.materials)
        layers = batch.layers
        gl.glBindTexture(GL.GL_TEXTURE_2D_ARRAY, self._tex_array)
        gl.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 1)
        gl.glTexImage3D(GL.GL_TEXTURE_2D_ARRAY, 0, GL.GL_SRGB8_ALPHA8, layers.shape[2], layers.shape[1], layers.shape[0],
                        0, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, np.ascontiguousarray(layers))
        self._tex_params(GL.GL_TEXTURE_2D_ARRAY, GL.GL_REPEAT)
        large = batch.large_layers if batch.large_layers is not None else np.full((1, 1, 1, 4), 255, dtype=np.uint8)
        gl.glBindTexture(GL.GL_TEXTURE_2D_ARRAY, self._large_array)
        gl.glTexImage3D(GL.GL_TEXTURE_2D_ARRAY, 0, GL.GL_SRGB8_ALPHA8, large.shape[2], large.shape[1], large.shape[0],
                        0, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, np.ascontiguousarray(large))
        self._tex_params(GL.GL_TEXTURE_2D_ARRAY, GL.GL_REPEAT)
        self._shadow_params = shadow_params(scene, batch, self.shadow_size)
        self._upload_scene_block(scene)
        self._render_shadow_map(batch)
        crowd = scene.avatars
        self._upload_atlas(list(crowd.names) if isinstance(crowd, Crowd) else [a.delegation for a in crowd])
        self._clear = tuple(float(c) for c in scene.clear_color)
        self._uploaded = scene

    def _tex_params(self, target: int, wrap: int) -> None:
        gl = self.gl
        gl.glGenerateMipmap(target)
        gl.glTexParameteri(target, GL.GL_TEXTURE_MIN_FILTER, GL.GL_LINEAR_MIPMAP_LINEAR)
        gl.glTexParameteri(target, GL.GL_TEXTURE_MAG_FILTER, GL.GL_LINEAR)
        if self._anisotropy > 1.0:
            gl.glTexParameterf(target, TEXTURE_MAX_ANISOTROPY, self._anisotropy)
        gl.glTexParameteri(target, GL.GL_TEXTURE_WRAP_S, wrap)
        gl.glTexParameteri(target, GL.GL_TEXTURE_WRAP_T, wrap)

    def _render_shadow_map(self, batch: StaticBatch) -> None:
        """The static casters' depth from the key light (once per scene: the room does not move;
        avatars get their contact shadows in their own draw)."""
        on = bool(self._shadow_params[4, 0] > 0.5)
        if on and not self._shadow_program:
            self._shadow_program = self._program("shadow.vert", "shadow.frag", {})
        if on and not self._shadow_fbo:
            self._shadow_fbo = int(self.gl.glGenFramebuffers(1))
        if on:
            self.gl.glBindBufferBase(GL.GL_UNIFORM_BUFFER, SCENE_BINDING, self._scene_ubo)
        render_shadow_map(self.gl, GL, self._shadow_tex, self._shadow_fbo, self._shadow_program if on else 0,
                          self.shadow_size if on else 1, batch.casters, self._static_vao,
                          self._static_buffers[1] if self._static_buffers else 0)

    def _upload_scene_block(self, scene: Scene) -> None:
        data = np.zeros((SCENE_VEC4, 4), dtype=np.float32)
        amb = np.asarray(scene.ambient, dtype=np.float32)
        data[0, :3] = amb
        data[1, :3] = amb * 0.65  # the floor's bounce: lights ceilings and undersides
        lights = scene.lights[:MAX_LIGHTS]
        data[2, 0] = len(lights)
        for i, light in enumerate(lights):
            if light.kind == "point":
                data[3 + i] = (*light.position, 1.0)
            else:
                d = np.asarray(light.direction, dtype=np.float32)
                data[3 + i] = (*(d / max(float(np.linalg.norm(d)), 1e-9)), 0.0)
            data[3 + MAX_LIGHTS + i] = (*(np.asarray(light.color) * light.intensity), max(light.range, 1e-3))
        data[3 + 2 * MAX_LIGHTS:] = self._shadow_params
        gl = self.gl
        gl.glBindBuffer(GL.GL_UNIFORM_BUFFER, self._scene_ubo)
        gl.glBufferSubData(GL.GL_UNIFORM_BUFFER, 0, data.nbytes, data)

    def _upload_icons(self) -> None:
        """The gesture icon atlas (drawn with Pillow) into its texture, its grid into the avatar program."""
        icons = build_icon_atlas()
        gl = self.gl
        gl.glBindTexture(GL.GL_TEXTURE_2D, self._icon_tex)
        gl.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 1)
        h, w = icons.pixels.shape[:2]
        gl.glTexImage2D(GL.GL_TEXTURE_2D, 0, GL.GL_SRGB8_ALPHA8, w, h, 0, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, icons.pixels)
        self._tex_params(GL.GL_TEXTURE_2D, GL.GL_CLAMP_TO_EDGE)
        u0, v0, u1, v1 = icons.rects[0]
        gl.glUseProgram(self._avatar)
        gl.glUniform4f(gl.glGetUniformLocation(self._avatar, "u_icon_grid"), float(ICON_COLUMNS),
                       (u1 - u0 + 1.0 / w), (v1 - v0 + 1.0 / h), 0.0)

    def _upload_atlas(self, names: list[str]) -> None:
        atlas = build_atlas(names, self.settings.placard_cell)
        gl = self.gl
        gl.glBindTexture(GL.GL_TEXTURE_2D, self._atlas_tex)
        gl.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 1)
        h, w = atlas.pixels.shape[:2]
        gl.glTexImage2D(GL.GL_TEXTURE_2D, 0, GL.GL_SRGB8_ALPHA8, w, h, 0, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, atlas.pixels)
        self._tex_params(GL.GL_TEXTURE_2D, GL.GL_CLAMP_TO_EDGE)
        self._atlas = atlas
        self._rects = dict(atlas.rects)
        self._crowd_rects = None

    # ---------------------------------------------------------------- per frame
    def _pack_views(self, views: Sequence[View]) -> None:
        stride = self._view_stride // 4
        if len(views) * stride > self._view_data.size:
            self._view_data = np.zeros(len(views) * stride, dtype=np.float32)
            self.gl.glBindBuffer(GL.GL_UNIFORM_BUFFER, self._view_ubo)
            self.gl.glBufferData(GL.GL_UNIFORM_BUFFER, self._view_data.nbytes, None, GL.GL_DYNAMIC_DRAW)
        near, far = self.settings.near, self.settings.far
        d = self._view_data
        for i, v in enumerate(views):
            f = v.fov
            o = i * stride
            d[o:o + 16] = view_projection_colmajor(v.pose.position, v.pose.orientation,
                                                   (f.angle_left, f.angle_right, f.angle_up, f.angle_down), near, far)
            d[o + 16:o + 19] = v.pose.position
        gl = self.gl
        gl.glBindBuffer(GL.GL_UNIFORM_BUFFER, self._view_ubo)
        gl.glBufferSubData(GL.GL_UNIFORM_BUFFER, 0, len(views) * self._view_stride, d)

    def _pack_avatars(self, avatars: Sequence[Avatar] | Crowd, local_hands: Avatar | None = None) -> int:
        """Fill the instance buffer: a :class:`Crowd` with vectorized copies (:meth:`_pack_crowd`), an
        Avatar list with the per-avatar gathers; the viewer's ``local_hands`` as one more row."""
        if isinstance(avatars, Crowd):
            return self._pack_crowd(avatars, local_hands)
        if local_hands is not None:
            avatars = [*avatars, local_hands]
        n = len(avatars)
        if n == 0:
            return 0
        self._reserve(n)
        poses = gather_poses(avatars)
        rects = self._rects
        try:
            flags = gather_flags(avatars, rects)
        except KeyError:  # a delegation without a placard yet: redo the atlas once
            self._upload_atlas(list(rects) + [a.delegation for a in avatars])
            flags = gather_flags(avatars, self._rects)
        if local_hands is not None:
            flags[-1, 15] = 1.0  # hands only
        pack_gathered(self._instances[:n].reshape(n, INSTANCE_VEC4, 4), poses, flags, [a.avatar_id for a in avatars])
        self._upload_instances(n)
        return n

    def _reserve(self, n: int) -> None:
        if n > self._capacity:
            self._capacity = 1 << (n - 1).bit_length()
            self._instances = np.zeros((2 * self._capacity, INSTANCE_FLOATS), dtype=np.float32)
            self.gl.glBindBuffer(GL.GL_ARRAY_BUFFER, self._instance_vbo)
            self.gl.glBufferData(GL.GL_ARRAY_BUFFER, self._instances.nbytes, self._instances, GL.GL_STREAM_DRAW)
            self.gl.glBindVertexArray(self._far_vao)  # the far rows moved with the capacity
            base = self._capacity * INSTANCE_FLOATS
            self._attribs([(INSTANCE_LOCATION + i, 4, base + 4 * i) for i in range(INSTANCE_VEC4)], INSTANCE_FLOATS)
            self.gl.glBindVertexArray(0)

    def _split_lod(self, n: int, eye: npt.NDArray[np.float32]) -> int:
        """Move the packed instance rows farther than :attr:`lod_distance` from ``eye`` to the far
        region (from row ``capacity``) and close up the near ones (the local hands, flagged hands
        only, stay near); returns how many are near. One vectorized distance test and two row
        gathers, whatever ``n``."""
        rows = self._instances[:n]
        d = rows[:, 0:3] - eye  # i_root.xyz
        near = np.einsum("ij,ij->i", d, d) <= self.lod_distance * self.lod_distance
        hands = rows[:, 4 * 10 + 3]  # i_extra.w: 1 for the viewer's own hands
        near |= (hands > 0.5) & (hands < 1.5)
        k = int(np.count_nonzero(near))
        if k < n:
            cap = self._capacity
            self._instances[cap:cap + n - k] = rows[~near]
            if k:
                self._instances[:k] = rows[near]
        return k

    def _upload_instances(self, n: int) -> None:
        """Split the ``n`` packed rows into near and far (:meth:`_split_lod`) and upload both
        ranges (two calls every frame, however the split falls)."""
        eye = self._eye
        k = self._split_lod(n, eye) if eye is not None and self.lod_distance < float("inf") else n
        self._n_near = k
        gl = self.gl
        gl.glBindBuffer(GL.GL_ARRAY_BUFFER, self._instance_vbo)
        gl.glBufferSubData(GL.GL_ARRAY_BUFFER, 0, k * INSTANCE_FLOATS * 4, self._instances)
        far = self._instances[self._capacity:self._capacity + n - k]
        gl.glBufferSubData(GL.GL_ARRAY_BUFFER, self._capacity * INSTANCE_FLOATS * 4, far.nbytes, far)

    def _label_rects(self, names: list[str]) -> npt.NDArray[np.float32]:
        """(len(names), 5) placard rectangles of ``names`` and 2.0 where the label has a name tag
        (the i_extra.w flag), cached while the names stay the same."""
        cached = self._crowd_rects
        if cached is not None and cached[0] == names:
            return cached[1]
        if any(name not in self._rects for name in names):
            self._upload_atlas(list(self._rects) + names)
        table = np.array([(*self._rects[name], 2.0 if TAG_SEP in name else 0.0) for name in names]
                         or [(0.0, 0.0, 0.0, 0.0, 0.0)], np.float32)
        self._crowd_rects = (list(names), table)
        return table

    def _pack_crowd(self, crowd: Crowd, local_hands: Avatar | None) -> int:
        m = len(crowd)
        n = m + (local_hands is not None)
        if n == 0:
            return 0
        self._reserve(n)
        buf = self._instances[:n].reshape(n, INSTANCE_VEC4, 4)
        if m:
            pack_crowd(buf[:m], crowd, self._label_rects(crowd.names))
        if local_hands is not None:
            pack_local_hands(buf[m], local_hands)
        self._upload_instances(n)
        return n

    def render(self, scene: Scene, views: Sequence[View], targets: Sequence[Target], local_hands: Avatar | None = None,
               overlays: bool = True) -> None:
        """Draw ``scene`` once per view into the matching target (``views[i]`` -> ``targets[i]``).

        ``local_hands`` is the viewer's own body (see :func:`vrdiplomacy.scene.avatars.local_hands`):
        only its visible hands and forearms are drawn, in the same instanced draw as the avatars.
        ``overlays`` False leaves out the meeting panels and the HUD card: a caller that scales the
        world up into a window draws them there at full resolution (:meth:`draw_overlays`)."""
        if len(views) != len(targets):
            raise RenderError(f"{len(views)} views but {len(targets)} targets")
        if scene is not self._uploaded:
            self.upload(scene)
        stats = self.stats
        stats.begin_frame()
        gl = self.gl
        self._pack_views(views)
        self._eye = np.mean([v.pose.position for v in views], axis=0).astype(np.float32) if views else None
        bones = self._hands.pack(local_hands)
        n = self._pack_avatars(scene.avatars, None if bones else local_hands)
        n_near = self._n_near
        gl.glEnable(GL.GL_DEPTH_TEST)
        gl.glEnable(GL.GL_CULL_FACE)
        gl.glEnable(GL.GL_FRAMEBUFFER_SRGB)
        gl.glClearColor(*self._clear)
        gl.glActiveTexture(GL.GL_TEXTURE1)
        gl.glBindTexture(GL.GL_TEXTURE_2D, self._atlas_tex)
        gl.glActiveTexture(GL.GL_TEXTURE2)
        gl.glBindTexture(GL.GL_TEXTURE_2D, self._icon_tex)
        gl.glActiveTexture(GL.GL_TEXTURE3)
        gl.glBindTexture(GL.GL_TEXTURE_2D_ARRAY, self._large_array)
        gl.glActiveTexture(GL.GL_TEXTURE0 + SHADOW_UNIT)
        gl.glBindTexture(GL.GL_TEXTURE_2D, self._shadow_tex)
        gl.glActiveTexture(GL.GL_TEXTURE0)
        gl.glBindTexture(GL.GL_TEXTURE_2D_ARRAY, self._tex_array)
        gl.glBindBufferBase(GL.GL_UNIFORM_BUFFER, SCENE_BINDING, self._scene_ubo)
        gl.glBindBufferBase(GL.GL_UNIFORM_BUFFER, MATERIAL_BINDING, self._material_ubo)
        hud = self._hud_for(scene)
        meeting = self._meeting_for(scene)
        opaque, double, blended = (self._static_ranges.get(k, (0, 0)) for k in ("opaque", "double_sided", "blended"))
        tri, uint = GL.GL_TRIANGLES, GL.GL_UNSIGNED_INT
        for i, target in enumerate(targets):
            fbo, w, h = self._fbo_for(target)
            gl.glBindFramebuffer(GL.GL_FRAMEBUFFER, fbo)
            gl.glViewport(0, 0, w, h)
            gl.glClear(GL.GL_COLOR_BUFFER_BIT | GL.GL_DEPTH_BUFFER_BIT)
            gl.glBindBufferRange(GL.GL_UNIFORM_BUFFER, VIEW_BINDING, self._view_ubo, i * self._view_stride, 80)
            if opaque[1] or double[1] or blended[1]:
                gl.glUseProgram(self._static)
                gl.glBindVertexArray(self._static_vao)
                if opaque[1]:
                    gl.glDrawElements(tri, opaque[1], uint, _offset(opaque[0]))
                if double[1]:
                    gl.glDisable(GL.GL_CULL_FACE)
                    gl.glDrawElements(tri, double[1], uint, _offset(double[0]))
                    gl.glEnable(GL.GL_CULL_FACE)
            if meeting is not None:
                meeting.draw_world()
            if n:
                gl.glUseProgram(self._avatar)
                gl.glBindVertexArray(self._avatar_vao)
                gl.glEnable(GL.GL_BLEND)  # the contact shadows; every other avatar fragment is opaque (alpha 1)
                gl.glBlendFunc(GL.GL_SRC_ALPHA, GL.GL_ONE_MINUS_SRC_ALPHA)
                # near mesh, then the far mesh for the rest (both always issued: the draw count
                # stays the same whatever the avatars' number and distances; zero instances draw nothing)
                gl.glDrawElementsInstanced(tri, self._avatar_index_count, uint, None, n_near)
                gl.glBindVertexArray(self._far_vao)
                gl.glDrawElementsInstanced(tri, self._avatar_far_count, uint, _offset(self._avatar_index_count * 4),
                                           n - n_near)
                gl.glDisable(GL.GL_BLEND)
            if n or bones:  # the viewer's own articulated hands (issued with the avatars: zero bones draw nothing)
                self._hands.draw(bones)
            if blended[1]:
                gl.glUseProgram(self._static)
                gl.glBindVertexArray(self._static_vao)
                gl.glEnable(GL.GL_BLEND)
                gl.glBlendFunc(GL.GL_SRC_ALPHA, GL.GL_ONE_MINUS_SRC_ALPHA)
                gl.glDepthMask(GL.GL_FALSE)
                gl.glDisable(GL.GL_CULL_FACE)
                gl.glDrawElements(tri, blended[1], uint, _offset(blended[0]))
                gl.glEnable(GL.GL_CULL_FACE)
                gl.glDepthMask(GL.GL_TRUE)
                gl.glDisable(GL.GL_BLEND)
            if overlays:
                self._draw_overlays(meeting, hud)
        gl.glBindVertexArray(0)
        stats.views = len(views)
        stats.avatars = n - (local_hands is not None and not bones)

    def draw_overlays(self, scene: Scene, index: int, target: Target) -> None:
        """Draw the meeting panels and the HUD card of the last :meth:`render` (its view ``index``,
        rendered with ``overlays=False``) into ``target`` at that target's own resolution: text stays
        sharp when the world was drawn smaller and scaled up (dynamic resolution)."""
        meeting = self.meeting if scene.meeting is not None else None
        hud = self._hud if scene.hud is not None else None
        if meeting is None and hud is None:
            return
        gl = self.gl
        fbo, w, h = self._fbo_for(target)
        gl.glBindFramebuffer(GL.GL_FRAMEBUFFER, fbo)
        gl.glViewport(0, 0, w, h)
        gl.glEnable(GL.GL_FRAMEBUFFER_SRGB)
        gl.glBindBufferBase(GL.GL_UNIFORM_BUFFER, SCENE_BINDING, self._scene_ubo)
        gl.glBindBufferRange(GL.GL_UNIFORM_BUFFER, VIEW_BINDING, self._view_ubo, index * self._view_stride, 80)
        self._draw_overlays(meeting, hud)
        gl.glBindVertexArray(0)

    @staticmethod
    def _draw_overlays(meeting: MeetingLayer | None, hud: HudLayer | None) -> None:
        if meeting is not None:
            meeting.draw_panels()
        if hud is not None:
            hud.draw()

    def _hud_for(self, scene: Scene) -> HudLayer | None:
        """The HUD layer, prepared for ``scene.hud`` (None when the scene has no card)."""
        if scene.hud is None:
            return None
        if self._hud is None:
            self._hud = HudLayer(self.gl, GL, self._program("hud.vert", "hud.frag", {"u_hud": HudLayer.UNIT}), self._texture())
        self._hud.prepare(scene.hud)
        return self._hud

    def _meeting_for(self, scene: Scene) -> MeetingLayer | None:
        """The meeting layer, prepared for ``scene.meeting`` (None when the scene shows no meeting)."""
        if scene.meeting is None:
            return None
        if self.meeting is None:
            self.meeting = MeetingLayer(self.gl, GL, self._program("hud.vert", "hud.frag", {"u_hud": MeetingLayer.UNIT}),
                                        self._texture, lambda: self._anisotropy)
        self.meeting.prepare(scene, scene.meeting)
        return self.meeting

    def finish(self) -> None:
        """Wait until the GPU has finished the submitted frames."""
        self.gl.glFinish()

    # ---------------------------------------------------------------- teardown
    def close(self) -> None:
        """Free every GL object the renderer made, and the context it made itself."""
        if self.context is None:
            return
        gl = self.gl
        self.context.make_current()
        for fbo, _tex, rb in self._owned_targets:
            gl.glDeleteFramebuffers(1, [fbo])
            gl.glDeleteRenderbuffers(1, [rb])
        for fbo, rb in self._fbos.values():
            gl.glDeleteFramebuffers(1, [fbo])
            gl.glDeleteRenderbuffers(1, [rb])
        if self._textures:
            gl.glDeleteTextures(len(self._textures), self._textures)
        if self._buffers:
            gl.glDeleteBuffers(len(self._buffers), self._buffers)
        for vao in (self._avatar_vao, self._far_vao, self._hands.vao, self._static_vao):
            if vao:
                gl.glDeleteVertexArrays(1, [vao])
        gl.glDeleteProgram(self._static)
        gl.glDeleteProgram(self._avatar)
        gl.glDeleteProgram(self._hands.program)
        if self._shadow_program:
            gl.glDeleteProgram(self._shadow_program)
        if self._shadow_fbo:
            gl.glDeleteFramebuffers(1, [self._shadow_fbo])
        if self._hud is not None:
            self._hud.close()
        if self.meeting is not None:
            self.meeting.close()
        self._fbos.clear()
        self._owned_targets.clear()
        if self._owns_context:
            self.context.close()
        self.context = None  # type: ignore[assignment]

    def __enter__(self) -> "Renderer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

