"""The meeting in the world (GL): the chamber's live screens and the interface panels.

:class:`MeetingLayer` keeps one texture per picture of :mod:`vrdiplomacy.render.meeting_art`:
the speaker screen, its clock (a texture of its own, so the seconds ticking redraw a small box,
not the screen), the agenda screen, the participants panel and the delegate's status panel. The
agenda screen shows the vote board while a vote is on and for a while after its result
(``MeetingView.vote``, :mod:`vrdiplomacy.render.vote_board`); otherwise, while the room has a joint
text (``MeetingView.draft``), the draft (:mod:`vrdiplomacy.render.text_panel`).
Each is redrawn and uploaded only when what it shows changes (its ``*_key`` of the
:class:`~vrdiplomacy.session.meeting_view.MeetingView`); :attr:`MeetingLayer.redraws` counts the
uploads per picture.

The screens sit where the scene's own screens are: the meshes whose material is
``screen_speaker`` / ``screen_agenda`` (the chamber asset's baked "CURRENT SPEAKER — The floor
is open" images). Their corners are read from the mesh (UV corners, world matrix) and the live
quad is drawn 1 cm in front, depth-tested like the rest of the room: a pillar or a delegate in
front hides it. A scene without those meshes has no screens (the panels still draw). The panels
are world-space cards that follow the head (:func:`~vrdiplomacy.scene.hud.panel_poses`), drawn
over the scene without depth test like the HUD card, in every view, so both eyes of a headset
see them at the same depth.

All quads use the HUD card's program (``hud.vert``/``hud.frag``: four corners from a uniform,
one textured triangle strip) with the meeting's own texture unit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from vrdiplomacy.render import meeting_art as art
from vrdiplomacy.render import text_panel
from vrdiplomacy.render import vote_board
from vrdiplomacy.scene.hud import MeetingOverlay, panel_axes
from vrdiplomacy.scene.model import Scene
from vrdiplomacy.session.meeting_view import MeetingView

log = logging.getLogger("vrdiplomacy.render.screens")

SCREEN_MATERIALS = {"speaker": "screen_speaker", "agenda": "screen_agenda"}
SCREEN_LIFT = 0.01  # metres in front of the baked screen surface
CLOCK_LIFT = 0.004  # the clock's box, this much further in front of its screen (coplanar would fail the depth test)
TEXTURE_MAX_ANISOTROPY = 0x84FE

Corners = npt.NDArray[np.float32]  # (4, 3): bottom-left, bottom-right, top-left, top-right


def screen_corners(scene: Scene) -> dict[str, Corners]:
    """The world corners of each live screen of ``scene`` (by name, see :data:`SCREEN_MATERIALS`),
    lifted :data:`SCREEN_LIFT` towards the viewer. The mesh's UVs tell its corners apart (glTF: v
    down), so the picture reads upright whatever the quad's vertex order."""
    out: dict[str, Corners] = {}
    wanted = {m: k for k, m in SCREEN_MATERIALS.items()}
    for mesh, world in scene.meshes():
        key = wanted.get(mesh.material.name)
        if key is None or mesh.uvs is None or len(mesh.positions) < 4:
            continue
        p = (np.c_[mesh.positions.astype(np.float64), np.ones(len(mesh.positions))] @ np.asarray(world, np.float64).T)[:, :3]
        n = np.asarray(world, np.float64)[:3, :3] @ mesh.normals[0].astype(np.float64)
        n /= max(float(np.linalg.norm(n)), 1e-9)
        uv = mesh.uvs.astype(np.float64)

        def at(u: float, v: float) -> npt.NDArray[np.float64]:
            return p[int(np.argmin((uv[:, 0] - u) ** 2 + (uv[:, 1] - v) ** 2))]

        corners = np.array([at(0, 1), at(1, 1), at(0, 0), at(1, 0)]) + n * SCREEN_LIFT
        out[key] = corners.astype(np.float32)
    return out


def sub_corners(corners: Corners, box: tuple[int, int, int, int], size: tuple[int, int]) -> Corners:
    """The corners of pixel box ``box`` (x0, y0, x1, y1, top row first) of a ``size`` picture on ``corners``."""
    bl, br, tl, tr = (corners[i].astype(np.float64) for i in range(4))
    w, h = size

    def at(x: float, y: float) -> npt.NDArray[np.float64]:
        u, v = x / w, 1.0 - y / h  # v up from the bottom edge
        return (1 - u) * (1 - v) * bl + u * (1 - v) * br + (1 - u) * v * tl + u * v * tr

    x0, y0, x1, y1 = box
    return np.array([at(x0, y1), at(x1, y1), at(x0, y0), at(x1, y0)], dtype=np.float32)


@dataclass
class _Picture:
    """One texture and what is in it."""

    texture: int
    draw: Callable[[MeetingView], npt.NDArray[np.uint8]]
    key_of: Callable[[MeetingView], object]
    key: object = None
    drawn: bool = False
    aspect: float = 1.0  # height / width of the last upload
    pixels: npt.NDArray[np.uint8] | None = None


class MeetingLayer:
    """The meeting's textures and quads; ``gl`` is the renderer's (counting) GL, ``program`` links
    hud.vert/.frag with ``u_hud`` on :attr:`UNIT`, ``new_texture`` makes a texture the renderer frees,
    ``anisotropy`` gives the renderer's anisotropic filtering level (0: none) at each upload."""

    UNIT = 5

    def __init__(self, gl: Any, GL: Any, program: int, new_texture: Callable[[], int],
                 anisotropy: Callable[[], float] = lambda: 0.0) -> None:
        self.gl, self.GL = gl, GL
        self.program = program
        self.anisotropy = anisotropy
        self.vao = int(gl.glGenVertexArrays(1))
        self._corner_loc = gl.glGetUniformLocation(program, "u_corner")
        self.pictures = {
            "speaker": _Picture(new_texture(), lambda v: art.speaker_screen(v, clock=False), art.speaker_screen_key),
            "clock": _Picture(new_texture(), art.speaker_clock, art.clock_key),
            "agenda": _Picture(new_texture(), vote_board.agenda_or_vote, vote_board.agenda_or_vote_key),  # the vote board while a vote is on
            "participants": _Picture(new_texture(), art.participants_panel, art.participants_key),
            "status": _Picture(new_texture(), art.status_panel, art.status_key),
            "draft": _Picture(new_texture(), lambda v: text_panel.draft_screen(v.draft),
                              lambda v: text_panel.draft_screen_key(v.draft)),
        }
        self.redraws = {name: 0 for name in self.pictures}
        self.view: MeetingView | None = None  # what the textures show
        self._scene: Scene | None = None
        self._screens: dict[str, Corners] = {}
        self._clock: Corners = np.zeros((4, 3), np.float32)
        self._world: list[tuple[str, Corners]] = []  # depth-tested quads of this frame
        self._panels: list[tuple[str, Corners]] = []  # quads over everything

    def forget(self) -> None:
        """Forget what the textures show and zero :attr:`redraws`: every picture is drawn anew on
        the next frame (after a warm-up frame, so its counts cover the session only)."""
        for pic in self.pictures.values():
            pic.drawn = False
        self.redraws = {name: 0 for name in self.pictures}

    @property
    def screens(self) -> dict[str, Corners]:
        """The live screens found in the last scene (name -> corners)."""
        return dict(self._screens)

    def prepare(self, scene: Scene, overlay: MeetingOverlay) -> None:
        """Redraw the pictures whose content changed and place this frame's quads (once per frame)."""
        if scene is not self._scene:
            self._scene = scene
            self._screens = screen_corners(scene)
            if "speaker" in self._screens:  # the clock's box, a little in front of its screen
                corners = self._screens["speaker"]
                n = np.cross(corners[1] - corners[0], corners[2] - corners[0])
                lift = (n / max(float(np.linalg.norm(n)), 1e-9) * CLOCK_LIFT).astype(np.float32)
                self._clock = sub_corners(corners, art.CLOCK_BOX, art.SCREEN_SIZE) + lift
            log.debug("live screens: %s", ", ".join(self._screens) or "none in this scene")
        view = overlay.view
        self.view = view
        world: list[tuple[str, Corners]] = []
        if "speaker" in self._screens:
            corners = self._screens["speaker"]
            self._refresh("speaker", view)
            world.append(("speaker", corners))
            if art.clock_key(view) is not None:
                self._refresh("clock", view)
                world.append(("clock", self._clock))
        if "agenda" in self._screens:  # a vote on takes the agenda screen; else the joint text while there is a draft
            name = "draft" if view.draft is not None and view.vote is None else "agenda"
            self._refresh(name, view)
            world.append((name, self._screens["agenda"]))
        self._world = world
        panels: list[tuple[str, Corners]] = []
        axes = panel_axes(overlay)
        if axes is not None:
            for name, (bottom, right, up) in zip(("participants", "status"), axes):
                pic = self._refresh(name, view)
                half_w, h = overlay.width * 0.5, overlay.width * pic.aspect
                bx, by, bz = bottom
                rx, ry, rz = right[0] * half_w, right[1] * half_w, right[2] * half_w
                ux, uy, uz = up[0] * h, up[1] * h, up[2] * h
                panels.append((name, np.array([(bx - rx, by - ry, bz - rz), (bx + rx, by + ry, bz + rz),
                                               (bx - rx + ux, by - ry + uy, bz - rz + uz),
                                               (bx + rx + ux, by + ry + uy, bz + rz + uz)], dtype=np.float32)))
        self._panels = panels

    def _refresh(self, name: str, view: MeetingView) -> _Picture:
        pic = self.pictures[name]
        key = pic.key_of(view)
        if pic.drawn and key == pic.key:
            return pic
        pixels = pic.draw(view)
        self._upload(pic.texture, pixels)
        pic.key, pic.drawn, pic.pixels = key, True, pixels
        pic.aspect = pixels.shape[0] / pixels.shape[1]
        self.redraws[name] += 1
        return pic

    def _upload(self, texture: int, pixels: npt.NDArray[np.uint8]) -> None:
        gl, GL = self.gl, self.GL
        h, w = pixels.shape[:2]
        gl.glActiveTexture(GL.GL_TEXTURE0 + self.UNIT)
        gl.glBindTexture(GL.GL_TEXTURE_2D, texture)
        gl.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 1)
        gl.glTexImage2D(GL.GL_TEXTURE_2D, 0, GL.GL_SRGB8_ALPHA8, w, h, 0, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, pixels)
        gl.glGenerateMipmap(GL.GL_TEXTURE_2D)
        gl.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MIN_FILTER, GL.GL_LINEAR_MIPMAP_LINEAR)
        gl.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MAG_FILTER, GL.GL_LINEAR)
        gl.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_WRAP_S, GL.GL_CLAMP_TO_EDGE)
        gl.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_WRAP_T, GL.GL_CLAMP_TO_EDGE)
        level = self.anisotropy()
        if level > 1.0:  # the wall screens are mostly seen at a slant
            gl.glTexParameterf(GL.GL_TEXTURE_2D, TEXTURE_MAX_ANISOTROPY, level)
        gl.glActiveTexture(GL.GL_TEXTURE0)

    def _quads(self, quads: list[tuple[str, Corners]]) -> None:
        gl, GL = self.gl, self.GL
        gl.glUseProgram(self.program)
        gl.glBindVertexArray(self.vao)
        gl.glActiveTexture(GL.GL_TEXTURE0 + self.UNIT)
        for name, corners in quads:
            gl.glBindTexture(GL.GL_TEXTURE_2D, self.pictures[name].texture)
            gl.glUniform3fv(self._corner_loc, 4, corners)
            gl.glDrawArrays(GL.GL_TRIANGLE_STRIP, 0, 4)
        gl.glActiveTexture(GL.GL_TEXTURE0)

    def draw_world(self) -> None:
        """Draw the live screens into the bound framebuffer and view, depth-tested (after the opaque scene)."""
        if self._world:  # quads wound counter-clockwise seen from the front: back-face culling stays on
            self._quads(self._world)

    def draw_panels(self) -> None:
        """Draw the interface panels over everything (blended, no depth test)."""
        if not self._panels:
            return
        gl, GL = self.gl, self.GL
        gl.glDisable(GL.GL_DEPTH_TEST)
        gl.glEnable(GL.GL_BLEND)
        gl.glBlendFunc(GL.GL_SRC_ALPHA, GL.GL_ONE_MINUS_SRC_ALPHA)
        self._quads(self._panels)
        gl.glDisable(GL.GL_BLEND)
        gl.glEnable(GL.GL_DEPTH_TEST)

    def close(self) -> None:
        self.gl.glDeleteVertexArrays(1, [self.vao])
        self.gl.glDeleteProgram(self.program)
