"""Read back the avatar geometry the renderer draws: the avatar vertex shader (shaders/avatar.vert,
the same source, the same instance buffer) run with transform feedback and no rasterizing, so
its world positions of every mesh vertex come back to numpy. Tests measure arms (the two-bone
IK), faces and hands on it; nothing in the frame loop uses it.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from vrdiplomacy.errors import RenderError
from vrdiplomacy.render.avatar_mesh import build_avatar_mesh
from vrdiplomacy.render.renderer import VIEW_BINDING, Renderer
from vrdiplomacy.render.shaders import load_shader
from vrdiplomacy.scene.crowd import Crowd
from vrdiplomacy.scene.model import Avatar, View


def _feedback_program(gl: Any) -> int:
    prog = gl.glCreateProgram()
    sh = gl.glCreateShader(gl.GL_VERTEX_SHADER)
    gl.glShaderSource(sh, load_shader("avatar.vert"))
    gl.glCompileShader(sh)
    if not gl.glGetShaderiv(sh, gl.GL_COMPILE_STATUS):
        raise RenderError(f"avatar.vert does not compile: {gl.glGetShaderInfoLog(sh).decode(errors='replace')}")
    gl.glAttachShader(prog, sh)
    name = ctypes.create_string_buffer(b"v_pos")
    names = (ctypes.POINTER(ctypes.c_char) * 1)(ctypes.cast(name, ctypes.POINTER(ctypes.c_char)))
    gl.glTransformFeedbackVaryings(prog, 1, names, gl.GL_INTERLEAVED_ATTRIBS)
    gl.glLinkProgram(prog)
    gl.glDeleteShader(sh)
    if not gl.glGetProgramiv(prog, gl.GL_LINK_STATUS):
        raise RenderError(f"avatar feedback program does not link: {gl.glGetProgramInfoLog(prog).decode(errors='replace')}")
    idx = gl.glGetUniformBlockIndex(prog, "ViewBlock")
    gl.glUniformBlockBinding(prog, idx, VIEW_BINDING)
    return int(prog)


def avatar_vertices(renderer: Renderer, avatars: Sequence[Avatar] | Crowd, view: View,
                    local_hands: Avatar | None = None) -> npt.NDArray[np.float32]:
    """(instances, mesh vertices, 3) world positions of every avatar mesh vertex, as drawn for ``view``
    (rows in the order :meth:`Renderer.render` packs them; vertex order as :func:`build_avatar_mesh`).
    Collapsed parts (a hidden hand, no halo) sit at the avatar's root or scale to a point."""
    from OpenGL import GL as gl

    vertex_count = int(build_avatar_mesh().vertices.shape[0])
    renderer._pack_views([view])
    n = renderer._pack_avatars(avatars, local_hands)
    if n == 0:
        return np.zeros((0, vertex_count, 3), np.float32)
    prog = _feedback_program(gl)
    out = gl.glGenBuffers(1)
    size = n * vertex_count * 3 * 4
    try:
        gl.glBindBuffer(gl.GL_TRANSFORM_FEEDBACK_BUFFER, out)
        gl.glBufferData(gl.GL_TRANSFORM_FEEDBACK_BUFFER, size, None, gl.GL_STATIC_READ)
        gl.glBindBufferBase(gl.GL_TRANSFORM_FEEDBACK_BUFFER, 0, out)
        gl.glBindBufferRange(gl.GL_UNIFORM_BUFFER, VIEW_BINDING, renderer._view_ubo, 0, 80)
        target = getattr(renderer, "_probe_target", None)
        if target is None:  # a complete framebuffer must be bound to draw, even with rasterizing off
            target = renderer._probe_target = renderer.create_target(4, 4)
        gl.glBindFramebuffer(gl.GL_FRAMEBUFFER, renderer._fbo_for(target)[0])
        gl.glUseProgram(prog)
        gl.glBindVertexArray(renderer._avatar_vao)
        gl.glEnable(gl.GL_RASTERIZER_DISCARD)
        gl.glBeginTransformFeedback(gl.GL_POINTS)
        gl.glDrawArraysInstanced(gl.GL_POINTS, 0, vertex_count, n)
        gl.glEndTransformFeedback()
        gl.glDisable(gl.GL_RASTERIZER_DISCARD)
        gl.glBindVertexArray(0)
        data = np.empty(n * vertex_count * 3, np.float32)
        ptr = gl.glMapBufferRange(gl.GL_TRANSFORM_FEEDBACK_BUFFER, 0, size, gl.GL_MAP_READ_BIT)
        if not ptr:
            raise RenderError("cannot map the avatar feedback buffer")
        ctypes.memmove(data.ctypes.data, ptr, size)
        gl.glUnmapBuffer(gl.GL_TRANSFORM_FEEDBACK_BUFFER)
    finally:
        gl.glBindBufferBase(gl.GL_TRANSFORM_FEEDBACK_BUFFER, 0, 0)
        gl.glDeleteBuffers(1, [out])
        gl.glDeleteProgram(prog)
    return data.reshape(n, vertex_count, 3)
