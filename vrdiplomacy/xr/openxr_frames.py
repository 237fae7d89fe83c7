"""The OpenXR backend's frame loop: the per-frame calls through the loader's function pointers.

A mixin of :class:`vrdiplomacy.xr.openxr_backend.OpenXrBackend` (which sets up the instance,
session, swapchains, spaces and actions). It never imports ``xr`` itself: pyopenxr comes from
``self.xr``, imported lazily by the backend module, the only one that imports it.

``_prepare_fast_path`` resolves the entry points once and preallocates every structure the
frame needs; ``begin_frame`` waits, begins, locates the views and acquires the swapchain
images; ``end_frame`` releases them and submits the projection layer; ``_read_input`` syncs the
actions (only when focused) and reads controllers and hand joints into an InputFrame.
"""

from __future__ import annotations

import ctypes
import logging
import time
from ctypes import byref, c_int32, c_uint32, c_void_p
from typing import Any

import numpy as np

from vrdiplomacy.errors import XrError
from vrdiplomacy.input.frame import ControllerState, InputFrame
from vrdiplomacy.render.types import TextureLayerTarget
from vrdiplomacy.scene.math3d import Pose
from vrdiplomacy.scene.model import Fov, View
from vrdiplomacy.xr import actions as A
from vrdiplomacy.xr.backend import Frame
from vrdiplomacy.xr.hands import choose_hand

log = logging.getLogger("vrdiplomacy.xr")

SESSION_LOST = -17
INSTANCE_LOST = -13
SPACE_VALID = 0x3
STATUS_EVERY_S = 10.0  # a status line this often while the session waits (IDLE, standby, READY)

_FN3 = ctypes.CFUNCTYPE(c_int32, c_void_p, c_void_p, c_void_p)
_FN2 = ctypes.CFUNCTYPE(c_int32, c_void_p, c_void_p)
_LOCATE_SPACE = ctypes.CFUNCTYPE(c_int32, c_void_p, c_void_p, ctypes.c_int64, c_void_p)
_LOCATE_VIEWS = ctypes.CFUNCTYPE(c_int32, c_void_p, c_void_p, c_void_p, c_uint32, c_void_p, c_void_p)


def _h(handle: Any) -> int:
    return int(ctypes.cast(handle, c_void_p).value or 0)


class XrCallError(XrError):
    def __init__(self, name: str, code: int) -> None:
        super().__init__(f"{name} failed with XrResult {code}")
        self.code = code


class XrFrameLoop:
    """The per-frame half of the OpenXR backend (see the module docstring). Uses the backend's
    attributes (``xr``, ``instance``, ``lc``, swapchains, spaces, actions) and its ``_call``,
    ``_fn`` and ``_poll_events``."""

    xr: Any
    _call: Any
    _fn: Any
    _poll_events: Any

    def _prepare_fast_path(self) -> None:
        xr = self.xr
        self._wait_frame = self._fn("xrWaitFrame", _FN3)
        self._begin_frame = self._fn("xrBeginFrame", _FN2)
        self._end_frame_fn = self._fn("xrEndFrame", _FN2)
        self._locate_views = self._fn("xrLocateViews", _LOCATE_VIEWS)
        self._locate_space = self._fn("xrLocateSpace", _LOCATE_SPACE)
        self._acquire = self._fn("xrAcquireSwapchainImage", _FN3)
        self._wait_image = self._fn("xrWaitSwapchainImage", _FN2)
        self._release = self._fn("xrReleaseSwapchainImage", _FN2)
        self._sync = self._fn("xrSyncActions", _FN2)
        self._get_bool = self._fn("xrGetActionStateBoolean", _FN3)
        self._get_float = self._fn("xrGetActionStateFloat", _FN3)
        self._get_vec2 = self._fn("xrGetActionStateVector2f", _FN3)
        self._locate_joints = self._fn("xrLocateHandJointsEXT", _FN3) if self._hand_trackers else None
        self._frame_wait_info = xr.FrameWaitInfo()
        self._frame_state = xr.FrameState()
        self._frame_begin_info = xr.FrameBeginInfo()
        self._view_locate = xr.ViewLocateInfo(view_configuration_type=xr.ViewConfigurationType.PRIMARY_STEREO,
                                              space=self.base_space)
        self._view_state = xr.ViewState()
        self._xr_views = (xr.View * 2)(xr.View(), xr.View())
        self._view_count = c_uint32(0)
        self._acquire_info = xr.SwapchainImageAcquireInfo()
        self._wait_info = xr.SwapchainImageWaitInfo(timeout=xr.INFINITE_DURATION)
        self._release_info = xr.SwapchainImageReleaseInfo()
        self._image_index = c_uint32(0)
        self._location = xr.SpaceLocation()
        self._active_set = xr.ActiveActionSet(action_set=self.action_set, subaction_path=xr.NULL_PATH)
        self._sync_info = xr.ActionsSyncInfo(active_action_sets=[self._active_set])
        self._state_info = xr.ActionStateGetInfo()
        self._bool_state = xr.ActionStateBoolean()
        self._float_state = xr.ActionStateFloat()
        self._vec2_state = xr.ActionStateVector2f()
        self._joint_locate_info = xr.HandJointsLocateInfoEXT(base_space=self.base_space)
        self._joint_locations = {h: xr.HandJointLocationsEXT(joint_count=26, joint_locations=ctypes.cast(
            self._joint_buffers[h].pointer, ctypes.POINTER(xr.HandJointLocationEXT))) for h in self._hand_trackers}
        self._proj_views = (xr.CompositionLayerProjectionView * 2)()
        for i, sc in enumerate(self._swapchains):
            pv = self._proj_views[i]
            pv.type = xr.StructureType.COMPOSITION_LAYER_PROJECTION_VIEW.value
            pv.sub_image.swapchain = sc
            w, h = self.view_sizes[i]
            pv.sub_image.image_rect.offset.x, pv.sub_image.image_rect.offset.y = 0, 0
            pv.sub_image.image_rect.extent.width, pv.sub_image.image_rect.extent.height = w, h
            pv.sub_image.image_array_index = 0
        self._layer = xr.CompositionLayerProjection(space=self.base_space, views=self._proj_views)
        self._layer_ptrs = (ctypes.POINTER(xr.CompositionLayerBaseHeader) * 1)(
            ctypes.cast(byref(self._layer), ctypes.POINTER(xr.CompositionLayerBaseHeader)))
        self._end_info = xr.FrameEndInfo(environment_blend_mode=xr.EnvironmentBlendMode.OPAQUE)
        self._sh = c_void_p(self._session_h)
        self._swapchain_h = [_h(sc) for sc in self._swapchains]
        self._space_h = {k: _h(v) for k, v in self._action_spaces.items()}
        self._base_h, self._view_h = _h(self.base_space), _h(self.view_space)
        self._tracker_h = {h: _h(t) for h, t in self._hand_trackers.items()}

    def begin_frame(self) -> Frame | None:
        """The next frame; while the session is not running (IDLE: the headset is in standby or
        not worn, the runtime is still starting) this waits as long as it takes, as OpenXR
        expects, with a status line every ``STATUS_EVERY_S`` seconds."""
        start = time.monotonic()
        next_status = start + STATUS_EVERY_S
        while True:
            self._poll_events()
            if self.lc.finished or self.session is None:
                return None
            if self.lc.frames_running:
                break
            now = time.monotonic()
            if now >= next_status:
                next_status = now + STATUS_EVERY_S
                log.warning("waiting for the headset: the OpenXR session has been %s for %.0f s (headset in standby or "
                            "not worn, or the runtime still starting); still waiting, Ctrl+C quits",
                            self.lc.state.name, now - start)
            time.sleep(0.005 if now - start < 1.0 else 0.05)
        sh = self._session_h
        try:
            self._call("xrWaitFrame", self._wait_frame(sh, byref(self._frame_wait_info), byref(self._frame_state)))
            self._call("xrBeginFrame", self._begin_frame(sh, byref(self._frame_begin_info)))
        except XrCallError as e:
            if e.code in (SESSION_LOST, INSTANCE_LOST):
                return self.begin_frame()
            raise
        self._frame_open = True
        t = int(self._frame_state.predicted_display_time)
        self._display_time = t
        self._rendering = bool(self._frame_state.should_render)
        views: list[View] = []
        targets: list[Any] = []
        if self._rendering:
            vl = self._view_locate
            vl.display_time = t
            self._call("xrLocateViews", self._locate_views(sh, byref(vl), byref(self._view_state), 2, byref(self._view_count), self._xr_views))
            for i in range(2):
                v = self._xr_views[i]
                p, o, f = v.pose.position, v.pose.orientation, v.fov
                views.append(View(Pose(np.array((p.x, p.y, p.z), np.float32), np.array((o.x, o.y, o.z, o.w), np.float32)),
                                  Fov(f.angle_left, f.angle_right, f.angle_up, f.angle_down), ("left", "right")[i]))
                sc = self._swapchain_h[i]
                self._call("xrAcquireSwapchainImage", self._acquire(sc, byref(self._acquire_info), byref(self._image_index)))
                idx = int(self._image_index.value)
                self._call("xrWaitSwapchainImage", self._wait_image(sc, byref(self._wait_info)))
                w, h = self.view_sizes[i]
                targets.append(TextureLayerTarget(self._images[i][idx], -1, w, h))
            self._frame_views = views
        inp = self._read_input(t)
        frame = Frame(self.frame_count, t / 1e9, views, targets, inp, self._rendering, self.events)
        self.events = []
        return frame

    def _locate(self, space: int, t: int) -> Pose | None:
        loc = self._location
        if self._locate_space(space, self._base_h, t, byref(loc)) < 0:
            return None
        if (int(loc.location_flags) & SPACE_VALID) != SPACE_VALID:
            return None
        p, o = loc.pose.position, loc.pose.orientation
        return Pose(np.array((p.x, p.y, p.z), np.float32), np.array((o.x, o.y, o.z, o.w), np.float32))

    def _read_input(self, t: int) -> InputFrame:
        head = self._locate(self._view_h, t) or Pose()
        focused = self.lc.focused
        if focused:
            rc = self._sync(self._session_h, byref(self._sync_info))
            focused = rc == 0
        hands = []
        for hand in A.HANDS:
            c = ControllerState()
            if focused:
                c = self._controller(hand, t)
            articulated = None
            if hand in self._tracker_h and focused:
                jl = self._joint_locations[hand]
                self._joint_locate_info.time = t
                rc = self._locate_joints(self._tracker_h[hand], byref(self._joint_locate_info), byref(jl))
                if rc == 0 and jl.is_active:
                    articulated = self._joint_buffers[hand].read()
            hands.append(choose_hand(hand, c, self.scripted_hands.get(hand), articulated))
        return InputFrame(t / 1e9, head, hands[0], hands[1])

    def _controller(self, hand: str, t: int) -> ControllerState:
        info = self._state_info
        info.subaction_path = self.hand_paths[hand]
        sh = self._session_h
        ah = self.actions
        active = False

        def get_float(name: str) -> float:
            nonlocal active
            info.action = ah[name]
            st = self._float_state
            if self._get_float(sh, byref(info), byref(st)) == 0 and st.is_active:
                active = True
                return float(st.current_state)
            return 0.0

        def get_bool(name: str) -> bool:
            nonlocal active
            info.action = ah[name]
            st = self._bool_state
            if self._get_bool(sh, byref(info), byref(st)) == 0 and st.is_active:
                active = True
                return bool(st.current_state)
            return False

        trigger, squeeze = get_float("trigger"), get_float("squeeze")
        info.action = ah["thumbstick"]
        v2 = self._vec2_state
        stick = (0.0, 0.0)
        if self._get_vec2(sh, byref(info), byref(v2)) == 0 and v2.is_active:
            active = True
            stick = (float(v2.current_state.x), float(v2.current_state.y))
        c = ControllerState(
            trigger=trigger, squeeze=squeeze, thumbstick=stick,
            thumbstick_click=get_bool("thumbstick_click"), primary=get_bool("primary"), secondary=get_bool("secondary"),
            menu=get_bool("menu"), thumb_touch=get_bool("thumb_touch"), trigger_touch=get_bool("trigger_touch"),
        )
        c.grip = self._locate(self._space_h[(hand, "grip")], t)
        c.aim = self._locate(self._space_h[(hand, "aim")], t)
        c.active = active or c.grip is not None
        return c

    def end_frame(self) -> None:
        if not self._frame_open or self.session is None:
            return
        self._frame_open = False
        sh = self._session_h
        end = self._end_info
        end.display_time = self._display_time
        try:
            if self._rendering:
                for i in range(2):
                    self._call("xrReleaseSwapchainImage", self._release(self._swapchain_h[i], byref(self._release_info)))
                    pv = self._proj_views[i]
                    v = self._xr_views[i]
                    pv.pose = v.pose
                    pv.fov = v.fov
                end.layer_count = 1
                end.layers = self._layer_ptrs
            else:
                end.layer_count = 0
                end.layers = None
            self._call("xrEndFrame", self._end_frame_fn(sh, byref(end)))
        except XrCallError as e:
            if e.code not in (SESSION_LOST, INSTANCE_LOST):
                raise
            return
        self.frame_count += 1
        if self.settings.frames and self.frame_count >= self.settings.frames and not self.lc.exit_requested:
            self.request_exit()
