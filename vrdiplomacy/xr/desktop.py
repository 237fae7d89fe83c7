"""Desktop mode: a glfw window shows the view; keyboard and mouse stand in for the headset.

Controls (also in ``vrdiplomacy join --help``):

* right mouse button + drag: look around; W A S D: walk; Escape or closing the window: quit
* your right hand rests at the bottom right edge of the view, as in a first-person game; while
  the cursor is in the window the hand follows it (45 cm in front of you, pushed towards the
  lower right so it never hides what you look at; near the top of the window its fingers point
  up, a raised hand); you see it, first person, as the app draws it;
  left button: pinch, middle button: grip (fist), hold Alt: point
* gesture keys: 1 raise_hand, 2 lower_hand, 3 nod, 4 head_shake, 5 thumbs_up, 6 thumbs_down,
  7 wave, 8 applause, 9 point, 0 open_palms, H handshake
* E: edit the joint text (the chamber's screen shows it): typed characters gather into a line,
  Backspace erases, Enter inserts the line at your caret, Escape leaves the edit mode; while
  editing, keys type (no gestures, no walking). The frames carry it as keys: ``draft_edit``,
  ``draft_text:<the line so far>``, ``draft_line:<the line>`` on Enter, ``draft_end``
  (:mod:`vrdiplomacy.session.drafting`).

Works under Xvfb (GLX through Mesa).
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from vrdiplomacy.input.frame import ControllerState, HandFrame, InputFrame
from vrdiplomacy.scene.math3d import Pose, quat_from_yaw_pitch_roll, quat_mul, quat_rotate
from vrdiplomacy.scene.model import View
from vrdiplomacy.xr.backend import Backend, BackendSettings, Frame, default_fov
from vrdiplomacy.xr.skeleton import shape_joints

# glfw key name -> gesture (glfw constants looked up at runtime)
GESTURE_KEYS: dict[str, str] = {
    "KEY_1": "raise_hand", "KEY_2": "lower_hand", "KEY_3": "nod", "KEY_4": "head_shake",
    "KEY_5": "thumbs_up", "KEY_6": "thumbs_down", "KEY_7": "wave", "KEY_8": "applause",
    "KEY_9": "point", "KEY_0": "open_palms", "KEY_H": "handshake",
    "KEY_N": "room", "KEY_L": "listen",  # not gestures: next room, next listening channel (session/rooms.py)
    # the chair's keys (app.client: procedure actions, not gestures)
    "KEY_G": "chair_grant", "KEY_R": "chair_revoke", "KEY_M": "chair_mute", "KEY_T": "chair_time",
    "KEY_I": "chair_next_item",
    "KEY_E": "draft_edit",  # the joint text's edit mode (session/drafting.py)
    "KEY_V": "chair_vote", "KEY_F1": "vote_yes", "KEY_F2": "vote_no", "KEY_F3": "vote_abstain",  # votes (session/votes.py)
}
MAX_TYPED = 2000  # characters of one typed line
CONTROLS_HELP = (
    "desktop controls: right-drag to look, W/A/S/D to walk, mouse moves your right hand "
    "(left button pinch, middle button grip, Alt point), Esc quits; gesture keys: "
    + ", ".join(f"{k[4:]} {g}" for k, g in GESTURE_KEYS.items())
)
HAND_DISTANCE = 0.45
REST_CURSOR = (0.7, -0.95)  # where the hand rests in the view (-1..1, y up) while the cursor is away


def key_codes(keys: dict[str, str] | None) -> dict[str, str]:
    """GLFW key constant name -> gesture, from the user's ``[desktop.keys]`` (None: the defaults)."""
    if keys is None:
        return dict(GESTURE_KEYS)
    from vrdiplomacy.config import key_code_name

    return {name: g for k, g in keys.items() if (name := key_code_name(k)) is not None}
RAISE_PITCH = 80.0  # degrees the mouse hand's fingers tilt up in the top quarter of the view
MAX_PITCH = 85.0


def hand_place(cursor: tuple[float, float], size: tuple[int, int], inside: bool) -> tuple[float, float]:
    """Where the mouse hand is in the view, (-1..1, -1..1) with y up: at rest at the bottom right
    edge while the cursor is away, else towards the cursor, kept in the lower right so that the
    hand (and its forearm, which comes from below) never covers the middle of the view."""
    if not inside:
        return REST_CURSOR
    w, h = size
    nx = (cursor[0] / max(w, 1)) * 2.0 - 1.0
    ny = 1.0 - (cursor[1] / max(h, 1)) * 2.0
    # the cursor's whole range maps onto the right half (x) and the view's height, pulled down
    # a little: the middle of the window puts the hand at the lower right, the top raises it
    return 0.35 + 0.55 * (nx + 1.0) * 0.5, min(max(ny, -1.0), 1.0) * 0.8 - 0.2


class DesktopBackend(Backend):
    """A window with one camera view; the mouse and keys produce the InputFrame."""

    mode = "desktop"

    def __init__(self, settings: BackendSettings | None = None) -> None:
        from vrdiplomacy.platform import ContextSettings, create_context

        self.settings = s = settings or BackendSettings(mode="desktop")
        self.opened_at = time.perf_counter()  # the window is asked for
        self.context = create_context("window", ContextSettings(width=s.width, height=s.height, visible=s.visible,
                                                                title=f"{s.app_name} (desktop mode)"))
        import glfw

        self.glfw = glfw
        win = self.context.window
        pos, yaw = s.start_pose
        self.position = np.asarray(pos, np.float32).copy()
        self.yaw, self.pitch = float(yaw), 0.0
        self.frame_count = 0
        self._t0 = time.monotonic()
        self._last = self._t0
        self._cursor: tuple[float, float] | None = None
        self._cursor_in = False  # the mouse moved in the window (else the hand rests at the edge)
        self._cursor_home: tuple[float, float] | None = None
        self.first_frame_s: float | None = None  # from opening to the first frame's swap
        self.swap_cpu_s = 0.0  # thread CPU of the last buffer swap (the driver's copy to the window)
        self._pending_keys: set[str] = set()
        self._exit = False
        self._key_codes = {getattr(glfw, k): g for k, g in key_codes(s.desktop_keys).items() if hasattr(glfw, k)}
        glfw.set_key_callback(win, self._on_key)
        glfw.set_char_callback(win, self._on_char)
        self._typing: str | None = None  # the joint text's line being typed (None: not in edit mode)
        self._skip_char = False
        self._dragging = False
        self._drag_from: tuple[float, float] | None = None
        self._drag = [0.0, 0.0]
        glfw.set_mouse_button_callback(win, self._on_button)
        glfw.set_cursor_pos_callback(win, self._on_cursor)
        glfw.set_cursor_enter_callback(win, self._on_enter)
        self.fov = default_fov(s)

    def _on_key(self, window: Any, key: int, scancode: int, action: int, mods: int) -> None:
        glfw = self.glfw
        if self._typing is not None:  # the joint text's edit mode: keys type
            if action not in (glfw.PRESS, glfw.REPEAT):
                return
            if key == glfw.KEY_ESCAPE:
                self._typing = None
                self._pending_keys.add("draft_end")
            elif key in (glfw.KEY_ENTER, glfw.KEY_KP_ENTER):
                self._pending_keys.add("draft_line:" + self._typing)
                self._typing = ""
            elif key == glfw.KEY_BACKSPACE:
                self._typing = self._typing[:-1]
            return
        if action != self.glfw.PRESS:
            return
        if key == self.glfw.KEY_ESCAPE:
            self._exit = True
        gesture = self._key_codes.get(key)
        if gesture == "draft_edit":
            self._typing, self._skip_char = "", True  # the key's own character is not typed
        if gesture:
            self._pending_keys.add(gesture)

    def _on_char(self, window: Any, codepoint: int) -> None:
        if self._typing is None:
            return
        if self._skip_char:
            self._skip_char = False
            return
        if len(self._typing) < MAX_TYPED and codepoint >= 32:
            self._typing += chr(codepoint)

    def _on_button(self, window: Any, button: int, action: int, mods: int) -> None:
        # the drag starts at the last cursor event (not a fresh query: under load the pointer
        # may already be further on, with its motion events still queued behind this press)
        if button == self.glfw.MOUSE_BUTTON_RIGHT:
            self._dragging = action == self.glfw.PRESS

    def _on_enter(self, window: Any, entered: int) -> None:
        if not entered:  # the cursor left: the hand goes back to rest
            self._cursor_in = False
            self._cursor_home = None

    def _on_cursor(self, window: Any, x: float, y: float) -> None:
        # the hand follows once the mouse moves in the window (a window opened under a still
        # pointer, or the pointer of a headless X server, leaves it at rest)
        if self._cursor_home is None:
            self._cursor_home = (x, y)
        elif abs(x - self._cursor_home[0]) + abs(y - self._cursor_home[1]) > 3.0:
            self._cursor_in = True
        # look-drags are summed as the events come, so a drag between two slow frames still turns
        if self._dragging and self._drag_from is not None:
            self._drag[0] += x - self._drag_from[0]
            self._drag[1] += y - self._drag_from[1]
        self._drag_from = (x, y)

    @property
    def head(self) -> Pose:
        return Pose(self.position.copy(), quat_from_yaw_pitch_roll(math.radians(self.yaw), math.radians(self.pitch)))

    def _update_camera(self, dt: float) -> tuple[float, float]:
        glfw, win = self.glfw, self.context.window
        x, y = glfw.get_cursor_pos(win)
        dx, dy = self._drag
        self._drag = [0.0, 0.0]
        if dx or dy:
            k = self.settings.mouse_sensitivity
            self.yaw -= dx * k
            self.pitch = max(-MAX_PITCH, min(MAX_PITCH, self.pitch - dy * k))
        self._cursor = (x, y)
        fwd = np.array([-math.sin(math.radians(self.yaw)), 0.0, -math.cos(math.radians(self.yaw))], np.float32)
        right = np.array([-fwd[2], 0.0, fwd[0]], np.float32)
        move = np.zeros(3, np.float32)
        for key, vec in ((glfw.KEY_W, fwd), (glfw.KEY_S, -fwd), (glfw.KEY_D, right), (glfw.KEY_A, -right)):
            if self._typing is None and glfw.get_key(win, key) == glfw.PRESS:
                move += vec
        if move.any():
            self.position += move / np.linalg.norm(move) * np.float32(self.settings.move_speed * dt)
        return x, y

    def _mouse_hand(self, head: Pose, cursor: tuple[float, float]) -> HandFrame:
        glfw, win = self.glfw, self.context.window
        nx, ny = hand_place(cursor, glfw.get_window_size(win), self._cursor_in)
        f = self.fov
        d = np.array([nx * math.tan(f.angle_right), ny * math.tan(f.angle_up), -1.0], np.float32)
        d /= np.linalg.norm(d)
        # the higher the mouse in the window, the more the fingers point up (palm forward: a raised
        # hand): fully raised in the top quarter
        h = max(glfw.get_window_size(win)[1], 1)
        high = 1.0 - (cursor[1] / h) * 2.0 if self._cursor_in else -1.0
        tilt = quat_from_yaw_pitch_roll(-math.atan(nx * math.tan(f.angle_right)),
                                        math.radians(RAISE_PITCH * min(max(2.0 * high, 0.0), 1.0)))
        wrist = Pose((head.position + quat_rotate(head.orientation, d * HAND_DISTANCE)).astype(np.float32),
                     quat_mul(head.orientation, tilt))
        pinch = glfw.get_mouse_button(win, glfw.MOUSE_BUTTON_LEFT) == glfw.PRESS
        grip = glfw.get_mouse_button(win, glfw.MOUSE_BUTTON_MIDDLE) == glfw.PRESS
        point = glfw.get_key(win, glfw.KEY_LEFT_ALT) == glfw.PRESS or glfw.get_key(win, glfw.KEY_RIGHT_ALT) == glfw.PRESS
        shape = "fist" if grip else "point" if point else "pinch" if pinch else "relaxed"
        c = ControllerState(active=False, trigger=1.0 if pinch else 0.0, squeeze=1.0 if grip else 0.0, aim=wrist, grip=wrist)
        return HandFrame("mouse", shape_joints("right", wrist, shape), c)

    def begin_frame(self) -> Frame | None:
        glfw = self.glfw
        glfw.poll_events()
        if self.context.should_close() or (self.settings.frames and self.frame_count >= self.settings.frames):
            return None
        if self._exit and not self._pending_keys:  # keys pressed just before Escape still get their frame
            return None
        now = time.monotonic()
        dt, self._last = min(now - self._last, 0.1), now
        cursor = self._update_camera(dt)
        head = self.head
        if self._typing is not None:
            self._pending_keys.add("draft_text:" + self._typing)
        keys = frozenset(self._pending_keys)
        self._pending_keys.clear()
        inp = InputFrame(now - self._t0, head, HandFrame(), self._mouse_hand(head, cursor), keys)
        from vrdiplomacy.render.types import FramebufferTarget

        fw, fh = self.context.framebuffer_size()
        self.fov = default_fov(BackendSettings(mode="desktop", width=max(fw, 1), height=max(fh, 1), fov_deg=self.settings.fov_deg))
        return Frame(self.frame_count, inp.time, [View(head, self.fov, "camera")], [FramebufferTarget(0, fw, fh)], inp, fw > 0 and fh > 0)

    def end_frame(self) -> None:
        c0 = time.thread_time()
        self.context.swap_buffers()
        self.swap_cpu_s = time.thread_time() - c0
        self.frame_count += 1
        if self.first_frame_s is None:
            self.first_frame_s = time.perf_counter() - self.opened_at

    def request_exit(self) -> None:
        self._exit = True

    def shutdown(self) -> None:
        if self.context is not None:
            self.context.close()
            self.context = None
