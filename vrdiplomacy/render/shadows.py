"""The key light's shadow map (numpy for the fit, GL through the renderer's counting layer).

The room's static casters (opaque, not emissive, not ceilings: :func:`~vrdiplomacy.render.batching.casts_shadow`)
are drawn once per scene, from the first light when it is directional, into a depth texture
fitted to the room's bounding box; the room and avatar shaders take one bilinear-compared tap
(shaders/common.glsl: ``key_light_visibility``). Nothing of it runs per frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from vrdiplomacy.errors import RenderError
from vrdiplomacy.render.batching import StaticBatch
from vrdiplomacy.scene.model import Scene


def shadow_matrix(direction: Sequence[float], points: npt.NDArray[np.float32], size: int
                  ) -> tuple[npt.NDArray[np.float32], float]:
    """A directional light's shadow map matrix (4x4, row-major: world -> [0,1]^3, depth growing
    along the light) fitted to the bounding box of ``points``, and one texel's size in metres."""
    f = np.asarray(direction, np.float64)
    f = f / max(float(np.linalg.norm(f)), 1e-9)
    up = np.array([0.0, 0.0, 1.0]) if abs(f[1]) < 0.9 else np.array([1.0, 0.0, 0.0])
    right = np.cross(f, up)
    right /= np.linalg.norm(right)
    u = np.cross(right, f)
    if points.size:
        lo, hi = points.min(axis=0).astype(np.float64), points.max(axis=0).astype(np.float64)
    else:
        lo, hi = np.full(3, -1.0), np.full(3, 1.0)
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    basis = np.stack([right, u, f])
    ls = corners @ basis.T
    lmin, lmax = ls.min(axis=0) - 0.05, ls.max(axis=0) + 0.05
    ext = lmax - lmin
    m = np.eye(4)
    m[0:3, 0:3] = basis / ext[:, None]
    m[0:3, 3] = -lmin / ext
    return m.astype(np.float32), float(max(ext[0], ext[1]) / max(size, 1))


def shadow_params(scene: Scene, batch: StaticBatch, size: int) -> npt.NDArray[np.float32]:
    """The shadow rows of the scene block: the key light's world -> [0,1]^3 matrix (column-major
    rows 0..3) and (on, texel, normal offset, depth bias); all zero (off) without a directional
    first light, casters or a shadow map ``size``."""
    out = np.zeros((5, 4), np.float32)
    if not size or not scene.lights or scene.lights[0].kind != "directional" or not batch.casters.size:
        return out
    m, texel_m = shadow_matrix(scene.lights[0].direction, batch.vertices[:, 0:3], size)
    out[0:4] = m.T  # std140 mat4: columns
    depth = 1.0 / max(float(np.linalg.norm(m[2, 0:3])), 1e-9)  # metres of the [0,1] depth range
    out[4] = (1.0, 1.0 / size, 1.5 * texel_m, 1.5 * texel_m / depth)
    return out


def render_shadow_map(gl: Any, GL: Any, tex: int, fbo: int, program: int, size: int, casters: npt.NDArray[np.uint32],
                      vao: int, vao_indices: int) -> None:
    """Give ``tex`` a ``size``² depth image with compare mode on, and (``program`` non-zero)
    draw the ``casters`` indices of the static ``vao`` into it through ``fbo`` (the scene block,
    with the shadow matrix, bound beforehand); ``vao_indices`` is the VAO's own index buffer,
    bound back afterwards."""
    gl.glBindTexture(GL.GL_TEXTURE_2D, tex)
    gl.glTexImage2D(GL.GL_TEXTURE_2D, 0, GL.GL_DEPTH_COMPONENT24, size, size, 0, GL.GL_DEPTH_COMPONENT, GL.GL_FLOAT, None)
    for pname, value in ((GL.GL_TEXTURE_MIN_FILTER, GL.GL_LINEAR), (GL.GL_TEXTURE_MAG_FILTER, GL.GL_LINEAR),
                         (GL.GL_TEXTURE_WRAP_S, GL.GL_CLAMP_TO_EDGE), (GL.GL_TEXTURE_WRAP_T, GL.GL_CLAMP_TO_EDGE),
                         (GL.GL_TEXTURE_COMPARE_MODE, GL.GL_COMPARE_REF_TO_TEXTURE),
                         (GL.GL_TEXTURE_COMPARE_FUNC, GL.GL_LEQUAL)):
        gl.glTexParameteri(GL.GL_TEXTURE_2D, pname, value)
    gl.glBindTexture(GL.GL_TEXTURE_2D, 0)
    if not program:
        return
    gl.glBindFramebuffer(GL.GL_FRAMEBUFFER, fbo)
    gl.glFramebufferTexture2D(GL.GL_FRAMEBUFFER, GL.GL_DEPTH_ATTACHMENT, GL.GL_TEXTURE_2D, tex, 0)
    gl.glDrawBuffer(GL.GL_NONE)
    gl.glReadBuffer(GL.GL_NONE)
    if gl.glCheckFramebufferStatus(GL.GL_FRAMEBUFFER) != GL.GL_FRAMEBUFFER_COMPLETE:
        raise RenderError("the shadow map framebuffer is incomplete")
    gl.glViewport(0, 0, size, size)
    gl.glEnable(GL.GL_DEPTH_TEST)
    gl.glClearDepth(1.0)
    gl.glClear(GL.GL_DEPTH_BUFFER_BIT)
    gl.glDisable(GL.GL_CULL_FACE)
    gl.glEnable(GL.GL_POLYGON_OFFSET_FILL)
    gl.glPolygonOffset(1.5, 3.0)
    gl.glUseProgram(program)
    gl.glBindVertexArray(vao)
    ibo = int(gl.glGenBuffers(1))
    gl.glBindBuffer(GL.GL_ELEMENT_ARRAY_BUFFER, ibo)
    gl.glBufferData(GL.GL_ELEMENT_ARRAY_BUFFER, casters.nbytes, casters, GL.GL_STATIC_DRAW)
    gl.glDrawElements(GL.GL_TRIANGLES, int(casters.size), GL.GL_UNSIGNED_INT, None)
    gl.glBindBuffer(GL.GL_ELEMENT_ARRAY_BUFFER, vao_indices)
    gl.glBindVertexArray(0)
    gl.glDeleteBuffers(1, [ibo])
    gl.glDisable(GL.GL_POLYGON_OFFSET_FILL)
    gl.glEnable(GL.GL_CULL_FACE)
    gl.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)



