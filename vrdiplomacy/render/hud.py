"""The head-up card: its pixels (Pillow, no GL) and its draw (one triangle strip per view).

:func:`rasterize_hud` turns the lines of a :class:`~vrdiplomacy.scene.hud.HudPanel` into an
RGBA image; :class:`HudLayer` keeps that image in a texture (re-uploaded only when the text
changes), places the card's corners in the world and draws it over the scene, without depth
test, in every view. Same font as the placards (:mod:`vrdiplomacy.render.fonts`).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from vrdiplomacy.render.fonts import ui_font
from vrdiplomacy.render.icons import draw_padlock
from vrdiplomacy.scene.hud import HudPanel
from vrdiplomacy.scene.math3d import quat_rotate

log = logging.getLogger("vrdiplomacy.render.hud")

HUD_WIDTH_PX = 768
PAD = 28
TITLE_PX = 34
BODY_PX = 44
BACKGROUND = (16, 22, 34, 255)
ALERT_BACKGROUND = (128, 16, 16, 255)
INSECURE_BACKGROUND = (236, 150, 22, 255)  # amber: the room is not end-to-end encrypted
INSECURE_TEXT = (40, 22, 0, 255)
TITLE_COLOR = (170, 190, 215, 255)
BODY_COLOR = (255, 255, 255, 255)


def _shrink(draw: ImageDraw.ImageDraw, text: str, size: int, width: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """The largest font up to ``size`` px in which ``text`` fits ``width`` px."""
    while True:
        font = ui_font(size)
        box = draw.textbbox((0, 0), text, font=font)
        if box[2] - box[0] <= width or size <= 12:
            return font
        size -= 2


def rasterize_hud(lines: tuple[str, ...], alert: bool = False, insecure: bool = False) -> npt.NDArray[np.uint8]:
    """The card as (height, width, 4) sRGB bytes, top row first: a title line, then body lines.

    ``alert``: red; else ``insecure`` (the room is not end-to-end encrypted): amber, dark text, an
    open padlock before the title; else the usual dark blue-grey."""
    lines = lines or ("",)
    sizes = [TITLE_PX] + [BODY_PX] * (len(lines) - 1)
    height = PAD * 2 + sum(int(s * 1.3) for s in sizes)
    img = Image.new("RGBA", (HUD_WIDTH_PX, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    amber = insecure and not alert
    background = ALERT_BACKGROUND if alert else INSECURE_BACKGROUND if amber else BACKGROUND
    draw.rounded_rectangle((0, 0, HUD_WIDTH_PX - 1, height - 1), radius=24, fill=background)
    title_fill, body_fill = (INSECURE_TEXT, INSECURE_TEXT) if amber else (TITLE_COLOR, BODY_COLOR)
    y = PAD
    for i, (text, size) in enumerate(zip(lines, sizes)):
        left, right = PAD, HUD_WIDTH_PX - PAD
        if amber and i == 0:
            lock = int(size * 1.5)
            top = y + int(size * 0.65) - lock // 2
            draw_padlock(draw, (PAD, top, PAD + int(lock * 0.8), top + lock), INSECURE_TEXT, opened=True,
                         hole=INSECURE_BACKGROUND)
            left = PAD + lock  # the title centred in the room right of the lock
            right = HUD_WIDTH_PX - PAD - lock // 2
        font = _shrink(draw, text, size, right - left)
        draw.text(((left + right) // 2, y + int(size * 0.65)), text, font=font, anchor="mm",
                  fill=title_fill if i == 0 else body_fill)
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
        self._key: tuple[tuple[str, ...], bool, bool] | None = None
        self._aspect = 1.0
        self.uploads = 0  # texture uploads (only when the text or the alert state changes)
        self.lines: tuple[str, ...] = ()  # what the card in the texture says
        self.alert = False
        self.insecure = False

    def prepare(self, panel: HudPanel) -> None:
        """Upload the card's pixels if its text changed, and place its corners (once per frame)."""
        gl, GL = self.gl, self.GL
        key = (panel.lines, panel.alert, panel.insecure)
        if key != self._key:
            pixels = rasterize_hud(panel.lines, panel.alert, panel.insecure)
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
            self.lines, self.alert, self.insecure = panel.lines, panel.alert, panel.insecure
            log.debug("HUD card drawn%s: %s", " (alert)" if panel.alert else " (amber, not end-to-end encrypted)"
                      if panel.insecure else "", " | ".join(panel.lines))
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
