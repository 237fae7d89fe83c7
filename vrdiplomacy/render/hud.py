"""The head-up card: its pixels (Pillow, no GL) and its draw (one triangle strip per view).

:func:`rasterize_hud` turns the lines of a :class:`~vrdiplomacy.scene.hud.HudPanel` into an
RGBA image; :class:`HudLayer` keeps that image in a texture (re-uploaded only when the text
changes), places the card's corners in the world and draws it over the scene, without depth
test, in every view. Same bundled font as the placards, so the pixels are the same everywhere.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from vrdiplomacy.render.atlas import _font  # the placards' bundled font, cached per size
from vrdiplomacy.scene.hud import HudPanel
from vrdiplomacy.scene.math3d import quat_rotate

log = logging.getLogger("vrdiplomacy.render.hud")

HUD_WIDTH_PX = 768
PAD = 28
TITLE_PX = 34
BODY_PX = 44
BACKGROUND = (16, 22, 34, 255)
ALERT_BACKGROUND = (128, 16, 16, 255)
TITLE_COLOR = (170, 190, 215, 255)
BODY_COLOR = (255, 255, 255, 255)


def _shrink(draw: ImageDraw.ImageDraw, text: str, size: int, width: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """The largest font up to ``size`` px in which ``text`` fits ``width`` px."""
    while True:
        font = _font(size)
        box = draw.textbbox((0, 0), text, font=font)
        if box[2] - box[0] <= width or size <= 12:
            return font
        size -= 2


def rasterize_hud(lines: tuple[str, ...], alert: bool = False) -> npt.NDArray[np.uint8]:
    """The card as (height, width, 4) sRGB bytes, top row first: a title line, then body lines."""
    lines = lines or ("",)
    sizes = [TITLE_PX] + [BODY_PX] * (len(lines) - 1)
    height = PAD * 2 + sum(int(s * 1.3) for s in sizes)
    img = Image.new("RGBA", (HUD_WIDTH_PX, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle((0, 0, HUD_WIDTH_PX - 1, height - 1), radius=24,
                           fill=ALERT_BACKGROUND if alert else BACKGROUND)
    y = PAD
    for i, (text, size) in enumerate(zip(lines, sizes)):
        font = _shrink(draw, text, size, HUD_WIDTH_PX - 2 * PAD)
        draw.text((HUD_WIDTH_PX // 2, y + int(size * 0.65)), text, font=font, anchor="mm",
                  fill=TITLE_COLOR if i == 0 else BODY_COLOR)
        y += int(size * 1.3)
    return np.asarray(img, dtype=np.uint8)


class HudLayer:
    """The card's texture and draw; ``gl`` is the renderer's GL, ``program`` links hud.vert/.frag."""

    UNIT = 4  # texture unit of the card

    def __init__(self, gl: Any, GL: Any, program: int, texture: int) -> None:
        self.gl, self.GL = gl, GL
        self.program = program
        self.texture = texture
        self.vao = int(gl.glGenVertexArrays(1))
        self._corner_loc = gl.glGetUniformLocation(program, "u_corner")
        self._key: tuple[tuple[str, ...], bool] | None = None
        self._aspect = 1.0
        self.uploads = 0  # texture uploads (only when the text or the alert state changes)
        self.lines: tuple[str, ...] = ()  # what the card in the texture says
        self.alert = False

    def prepare(self, panel: HudPanel) -> None:
        """Upload the card's pixels if its text changed, and place its corners (once per frame)."""
        gl, GL = self.gl, self.GL
        key = (panel.lines, panel.alert)
        if key != self._key:
            pixels = rasterize_hud(panel.lines, panel.alert)
            h, w = pixels.shape[:2]
            gl.glActiveTexture(GL.GL_TEXTURE0 + self.UNIT)
            gl.glBindTexture(GL.GL_TEXTURE_2D, self.texture)
            gl.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 1)
            gl.glTexImage2D(GL.GL_TEXTURE_2D, 0, GL.GL_SRGB8_ALPHA8, w, h, 0, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, pixels)
            gl.glGenerateMipmap(GL.GL_TEXTURE_2D)
            gl.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MIN_FILTER, GL.GL_LINEAR_MIPMAP_LINEAR)
            gl.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MAG_FILTER, GL.GL_LINEAR)
            gl.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_WRAP_S, GL.GL_CLAMP_TO_EDGE)
            gl.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_WRAP_T, GL.GL_CLAMP_TO_EDGE)
            gl.glActiveTexture(GL.GL_TEXTURE0)
            self._key = key
            self._aspect = h / w
            self.uploads += 1
            self.lines, self.alert = panel.lines, panel.alert
            log.debug("HUD card drawn%s: %s", " (alert)" if panel.alert else "", " | ".join(panel.lines))
        q = panel.pose.orientation
        half_w = panel.width * 0.5
        half_h = half_w * self._aspect
        right = quat_rotate(q, (half_w, 0.0, 0.0))
        up = quat_rotate(q, (0.0, half_h, 0.0))
        c = np.asarray(panel.pose.position, dtype=np.float64)
        corners = np.array([c - right - up, c + right - up, c - right + up, c + right + up], dtype=np.float32)
        gl.glUseProgram(self.program)
        gl.glUniform3fv(self._corner_loc, 4, corners)

    def draw(self) -> None:
        """Draw the prepared card into the bound framebuffer and view (over everything)."""
        gl, GL = self.gl, self.GL
        gl.glUseProgram(self.program)
        gl.glActiveTexture(GL.GL_TEXTURE0 + self.UNIT)
        gl.glBindTexture(GL.GL_TEXTURE_2D, self.texture)
        gl.glActiveTexture(GL.GL_TEXTURE0)
        gl.glBindVertexArray(self.vao)
        gl.glDisable(GL.GL_DEPTH_TEST)
        gl.glDisable(GL.GL_CULL_FACE)
        gl.glEnable(GL.GL_BLEND)
        gl.glBlendFunc(GL.GL_SRC_ALPHA, GL.GL_ONE_MINUS_SRC_ALPHA)
        gl.glDrawArrays(GL.GL_TRIANGLE_STRIP, 0, 4)
        gl.glDisable(GL.GL_BLEND)
        gl.glEnable(GL.GL_CULL_FACE)
        gl.glEnable(GL.GL_DEPTH_TEST)

    def close(self) -> None:
        self.gl.glDeleteVertexArrays(1, [self.vao])
        self.gl.glDeleteProgram(self.program)
