"""The simulated runtime's spaces, swapchains, frame loop, views and hand tracking."""

from __future__ import annotations

import ctypes
import math
import time
from collections import deque
from typing import Any

import numpy as np

from vrdiplomacy.input.frame import HAND_JOINT_COUNT
from vrdiplomacy.scene.math3d import Pose, quat_rotate
from vrdiplomacy.simxr import abi
from vrdiplomacy.simxr.objects import TIME_ORIGIN_NS, Capture, FrameRecord, HandTracker, Session, Space, Swapchain, XrFail
from vrdiplomacy.simxr.poses import compose, is_identity, relative, relative_many

COLOR_FORMATS = (abi.GL_SRGB8_ALPHA8, abi.GL_RGBA8)
DEPTH_FORMATS = (abi.GL_DEPTH_COMPONENT24, abi.GL_DEPTH_COMPONENT32F, abi.GL_DEPTH24_STENCIL8)
SWAPCHAIN_IMAGES = 3
MAX_RECORDS = 100_000

# XrHandJointLocationEXT as a numpy record: 40 bytes
JOINT_DTYPE = np.dtype({"names": ["flags", "pose", "radius"], "formats": ["<u8", ("<f4", 7), "<f4"], "offsets": [0, 8, 36], "itemsize": 40})


def _pose_from_xr(p: abi.Posef) -> Pose:
    o, q = p.position, p.orientation
    return Pose(np.array([o.x, o.y, o.z], np.float32), np.array([q.x, q.y, q.z, q.w], np.float32))


def _pose_to_xr(pose: Pose, out: abi.Posef) -> None:
    q, p = pose.orientation, pose.position
    out.orientation.x, out.orientation.y, out.orientation.z, out.orientation.w = float(q[0]), float(q[1]), float(q[2]), float(q[3])
    out.position.x, out.position.y, out.position.z = float(p[0]), float(p[1]), float(p[2])


class FramesMixin:
    """Needs from the host class: settings, timeline, _objects, _new_handle, _get, _session, _queue,
    _fire_script_events, _after_frame_end, device_profile, _pose_source (actions)."""

    settings: Any
    timeline: Any
    _objects: dict[int, Any]

    def _frames_init(self) -> None:
        self.frame_index = 0  # the frame most recently waited for
        self._next_frame = 0
        self.records: deque[FrameRecord] = deque(maxlen=MAX_RECORDS)
        self.frames_submitted = 0
        self.captures: dict[int, Capture] = {}
        self._capture_frames = set(self.settings.capture)
        self._wall_start: float | None = None
        self._gl_textures: list[int] = []

    # clock ---------------------------------------------------------------------------------------
    def now_ns(self) -> int:
        return TIME_ORIGIN_NS + self.frame_index * self.settings.period_ns

    def frame_of_time(self, t: int) -> int:
        if t <= 0:
            raise XrFail(abi.ERROR_TIME_INVALID)
        return max(0, int(round((int(t) - TIME_ORIGIN_NS) / self.settings.period_ns)))

    # spaces --------------------------------------------------------------------------------------
    def xrEnumerateReferenceSpaces(self, session: int, cap: int, count: Any, out: Any) -> int:
        self._session(session)  # type: ignore[attr-defined]
        return self._fill(cap, count, out, [abi.REFERENCE_SPACE_VIEW, abi.REFERENCE_SPACE_LOCAL, abi.REFERENCE_SPACE_STAGE])  # type: ignore[attr-defined]

    def xrCreateReferenceSpace(self, session: int, info_p: Any, out: Any) -> int:
        s = self._session(session)  # type: ignore[attr-defined]
        info = info_p.contents
        kinds = {abi.REFERENCE_SPACE_VIEW: "view", abi.REFERENCE_SPACE_LOCAL: "local", abi.REFERENCE_SPACE_STAGE: "stage"}
        if info.referenceSpaceType not in kinds:
            raise XrFail(abi.ERROR_REFERENCE_SPACE_UNSUPPORTED)
        offset = _pose_from_xr(info.poseInReferenceSpace)
        if abs(float(np.linalg.norm(offset.orientation)) - 1.0) > 1e-3:
            raise XrFail(abi.ERROR_POSE_INVALID)
        out[0] = self._new_handle(lambda h: Space(h, s.handle, kinds[info.referenceSpaceType], offset))  # type: ignore[attr-defined]
        return abi.SUCCESS

    def xrGetReferenceSpaceBoundsRect(self, session: int, kind: int, out: Any) -> int:
        self._session(session)  # type: ignore[attr-defined]
        if kind == abi.REFERENCE_SPACE_STAGE:
            out.contents.width, out.contents.height = 3.0, 3.0
            return abi.SUCCESS
        out.contents.width, out.contents.height = 0.0, 0.0
        return abi.SPACE_BOUNDS_UNAVAILABLE

    def xrCreateActionSpace(self, session: int, info_p: Any, out: Any) -> int:
        from vrdiplomacy.simxr.objects import Action

        s = self._session(session)  # type: ignore[attr-defined]
        info = info_p.contents
        action: Action = self._get(info.action, Action)  # type: ignore[attr-defined]
        if action.type != abi.ACTION_POSE:
            raise XrFail(abi.ERROR_ACTION_TYPE_MISMATCH)
        if info.subactionPath and info.subactionPath not in action.subaction_paths:
            raise XrFail(abi.ERROR_PATH_UNSUPPORTED)
        offset = _pose_from_xr(info.poseInActionSpace)
        out[0] = self._new_handle(lambda h: Space(h, s.handle, "action", offset, action.handle, int(info.subactionPath)))  # type: ignore[attr-defined]
        return abi.SUCCESS

    def xrDestroySpace(self, space: int) -> int:
        self._get(space, Space)  # type: ignore[attr-defined]
        self._objects.pop(int(space), None)
        return abi.SUCCESS

    def world_pose(self, space: Space, frame: int) -> Pose | None:
        """Where ``space`` is in the stage frame at ``frame``; None when it is not tracked."""
        if space.kind in ("local", "stage"):
            return space.offset
        if space.kind == "view":
            head = self.timeline.state_at(frame).head
            return head if is_identity(space.offset) else compose(head, space.offset)
        pose = self._pose_source(space, frame)  # type: ignore[attr-defined]
        if pose is None:
            return None
        return pose if is_identity(space.offset) else compose(pose, space.offset)

    def xrLocateSpace(self, space: int, base: int, t: int, loc_p: Any) -> int:
        sp: Space = self._get(space, Space)  # type: ignore[attr-defined]
        bs: Space = self._get(base, Space)  # type: ignore[attr-defined]
        s = self._session(sp.session)  # type: ignore[attr-defined]
        frame = self.frame_of_time(t)
        loc = loc_p.contents
        a = self.world_pose(sp, frame)
        b = self.world_pose(bs, frame)
        if a is None or b is None or (sp.kind == "action" and s.state != abi.STATE_FOCUSED):
            loc.locationFlags = 0
            return abi.SUCCESS
        _pose_to_xr(a if is_identity(b) else relative(b, a), loc.pose)
        loc.locationFlags = abi.SPACE_LOCATION_ALL
        return abi.SUCCESS

    # swapchains ----------------------------------------------------------------------------------
    def xrEnumerateSwapchainFormats(self, session: int, cap: int, count: Any, out: Any) -> int:
        self._session(session)  # type: ignore[attr-defined]
        return self._fill(cap, count, out, list(COLOR_FORMATS + DEPTH_FORMATS))  # type: ignore[attr-defined]

    def xrCreateSwapchain(self, session: int, info_p: Any, out: Any) -> int:
        from vrdiplomacy.simxr.gl import gl

        s = self._session(session)  # type: ignore[attr-defined]
        info = info_p.contents
        fmt = int(info.format)
        if fmt not in COLOR_FORMATS + DEPTH_FORMATS:
            raise XrFail(abi.ERROR_SWAPCHAIN_FORMAT_UNSUPPORTED)
        if info.sampleCount != 1 or info.faceCount != 1 or info.mipCount != 1 or info.arraySize < 1:
            raise XrFail(abi.ERROR_FEATURE_UNSUPPORTED if hasattr(abi, "ERROR_FEATURE_UNSUPPORTED") else -8)
        if not (1 <= info.width <= 4096 and 1 <= info.height <= 4096):
            raise XrFail(abi.ERROR_VALIDATION_FAILURE, "swapchain size")
        textures = gl().create_textures(SWAPCHAIN_IMAGES, fmt, int(info.width), int(info.height), int(info.arraySize))
        self._gl_textures.extend(textures)
        out[0] = self._new_handle(lambda h: Swapchain(h, s.handle, fmt, int(info.width), int(info.height), int(info.arraySize),  # type: ignore[attr-defined]
                                                      textures, fmt in DEPTH_FORMATS))
        return abi.SUCCESS

    def _release_object(self, obj: Any) -> None:
        if isinstance(obj, Swapchain) and obj.textures:
            from vrdiplomacy.simxr.gl import gl

            try:
                gl().delete_textures(obj.textures)
            finally:
                self._gl_textures = [t for t in self._gl_textures if t not in obj.textures]
                obj.textures = []

    def _release_gl(self) -> None:
        self._gl_textures = []

    def xrDestroySwapchain(self, swapchain: int) -> int:
        sc = self._get(swapchain, Swapchain)  # type: ignore[attr-defined]
        self._release_object(sc)
        self._objects.pop(sc.handle, None)
        return abi.SUCCESS

    def xrEnumerateSwapchainImages(self, swapchain: int, cap: int, count: Any, out: Any) -> int:
        sc: Swapchain = self._get(swapchain, Swapchain)  # type: ignore[attr-defined]
        count[0] = len(sc.textures)
        if cap == 0:
            return abi.SUCCESS
        if cap < len(sc.textures):
            return abi.ERROR_SIZE_INSUFFICIENT
        for i, tex in enumerate(sc.textures):
            if out[i].type != abi.ST.SWAPCHAIN_IMAGE_OPENGL_KHR:
                raise XrFail(abi.ERROR_VALIDATION_FAILURE, "swapchain images must be XrSwapchainImageOpenGLKHR")
            out[i].image = tex
        return abi.SUCCESS

    def xrAcquireSwapchainImage(self, swapchain: int, info: int, index: Any) -> int:
        sc: Swapchain = self._get(swapchain, Swapchain)  # type: ignore[attr-defined]
        self._session(sc.session)  # type: ignore[attr-defined]
        if len(sc.acquired) >= len(sc.textures):
            raise XrFail(abi.ERROR_CALL_ORDER_INVALID, "every image is already acquired")
        i = sc.next_acquire
        sc.next_acquire = (i + 1) % len(sc.textures)
        sc.acquired.append(i)
        index[0] = i
        return abi.SUCCESS

    def xrWaitSwapchainImage(self, swapchain: int, info_p: Any) -> int:
        sc: Swapchain = self._get(swapchain, Swapchain)  # type: ignore[attr-defined]
        self._session(sc.session)  # type: ignore[attr-defined]
        if not sc.acquired or sc.waited is not None:
            raise XrFail(abi.ERROR_CALL_ORDER_INVALID, "wait without an acquired image")
        sc.waited = sc.acquired[0]
        return abi.SUCCESS

    def xrReleaseSwapchainImage(self, swapchain: int, info: int) -> int:
        sc: Swapchain = self._get(swapchain, Swapchain)  # type: ignore[attr-defined]
        self._session(sc.session)  # type: ignore[attr-defined]
        if sc.waited is None:
            raise XrFail(abi.ERROR_CALL_ORDER_INVALID, "release without a waited image")
        sc.acquired.pop(0)
        sc.last_released = sc.waited
        sc.waited = None
        return abi.SUCCESS

    # frame loop ----------------------------------------------------------------------------------
    def xrWaitFrame(self, session: int, info: int, state_p: Any) -> int:
        s: Session = self._session(session)  # type: ignore[attr-defined]
        if not s.running:
            raise XrFail(abi.ERROR_SESSION_NOT_RUNNING)
        frame = self._next_frame
        self._next_frame += 1
        self.frame_index = frame
        period = self.settings.period_ns
        if self.settings.realtime:
            now = time.monotonic()
            if self._wall_start is None:
                self._wall_start = now
            due = self._wall_start + frame * period / 1e9
            if due > now:
                time.sleep(due - now)
        self._fire_script_events(frame)  # type: ignore[attr-defined]
        st = state_p.contents
        st.predictedDisplayTime = self.now_ns()
        st.predictedDisplayPeriod = period
        st.shouldRender = int(s.state in (abi.STATE_VISIBLE, abi.STATE_FOCUSED))
        s.waited.append(int(st.predictedDisplayTime))
        if s.lost:
            return abi.SESSION_LOSS_PENDING
        return abi.SUCCESS

    def xrBeginFrame(self, session: int, info: int) -> int:
        s: Session = self._session(session)  # type: ignore[attr-defined]
        if not s.running:
            raise XrFail(abi.ERROR_SESSION_NOT_RUNNING)
        if not s.waited:
            raise XrFail(abi.ERROR_CALL_ORDER_INVALID, "xrBeginFrame without xrWaitFrame")
        discarded = s.begun is not None
        s.begun = s.waited.pop(0)
        return abi.FRAME_DISCARDED if discarded else abi.SUCCESS

    def xrEndFrame(self, session: int, info_p: Any) -> int:
        s: Session = self._session(session)  # type: ignore[attr-defined]
        if not s.running:
            raise XrFail(abi.ERROR_SESSION_NOT_RUNNING)
        if s.begun is None:
            raise XrFail(abi.ERROR_CALL_ORDER_INVALID, "xrEndFrame without xrBeginFrame")
        info = info_p.contents
        if info.displayTime <= 0:
            raise XrFail(abi.ERROR_TIME_INVALID)
        if info.environmentBlendMode != abi.BLEND_MODE_OPAQUE:
            raise XrFail(abi.ERROR_ENVIRONMENT_BLEND_MODE_UNSUPPORTED)
        if info.layerCount > 16:
            raise XrFail(abi.ERROR_LAYER_INVALID, "too many layers")
        frame = self.frame_of_time(info.displayTime)
        layers: list[str] = []
        views: list[dict[str, Any]] = []
        reads: list[tuple[Swapchain, int, abi.Rect2Di]] = []
        for i in range(info.layerCount):
            lp = info.layers[i]
            if not lp:
                raise XrFail(abi.ERROR_LAYER_INVALID, "null layer")
            layer_type = lp.contents.type
            if layer_type == abi.ST.COMPOSITION_LAYER_PROJECTION:
                layer = ctypes.cast(lp, ctypes.POINTER(abi.CompositionLayerProjection)).contents
                self._get(layer.space, Space)  # type: ignore[attr-defined]
                if layer.viewCount != 2:
                    raise XrFail(abi.ERROR_VALIDATION_FAILURE, "a stereo projection layer has 2 views")
                layers.append("projection")
                for v in range(2):
                    pv = layer.views[v]
                    sub = pv.subImage
                    sc: Swapchain = self._get(sub.swapchain, Swapchain)  # type: ignore[attr-defined]
                    r = sub.imageRect
                    if (r.offset.x < 0 or r.offset.y < 0 or r.extent.width <= 0 or r.extent.height <= 0
                            or r.offset.x + r.extent.width > sc.width or r.offset.y + r.extent.height > sc.height):
                        raise XrFail(abi.ERROR_SWAPCHAIN_RECT_INVALID)
                    if sub.imageArrayIndex >= sc.array_size:
                        raise XrFail(abi.ERROR_VALIDATION_FAILURE, "imageArrayIndex out of range")
                    if sc.last_released is None:
                        raise XrFail(abi.ERROR_LAYER_INVALID, "swapchain has no released image")
                    p, fv = pv.pose, pv.fov
                    views.append({
                        "pose": [p.orientation.x, p.orientation.y, p.orientation.z, p.orientation.w,
                                 p.position.x, p.position.y, p.position.z],
                        "fov": [fv.angleLeft, fv.angleRight, fv.angleUp, fv.angleDown],
                        "swapchain": sc.handle, "image": sc.last_released,
                        "rect": [r.offset.x, r.offset.y, r.extent.width, r.extent.height],
                        "array_index": int(sub.imageArrayIndex),
                    })
                    reads.append((sc, int(sub.imageArrayIndex), r))
            elif layer_type == abi.ST.COMPOSITION_LAYER_QUAD:
                layers.append("quad")
            else:
                raise XrFail(abi.ERROR_LAYER_INVALID, f"unsupported layer type {layer_type}")
        self.records.append(FrameRecord(frame, int(info.displayTime), layers, views, time.monotonic()))
        self.frames_submitted += 1
        if frame in self._capture_frames and reads and frame not in self.captures:
            self.captures[frame] = Capture(frame, [self.read_image(sc, layer, r) for sc, layer, r in reads])
        s.begun = None
        self._after_frame_end(s)  # type: ignore[attr-defined]
        return abi.SUCCESS

    def read_image(self, sc: Swapchain, layer: int, rect: abi.Rect2Di) -> np.ndarray:
        from vrdiplomacy.simxr.gl import gl

        if sc.last_released is None or sc.depth:
            raise XrFail(abi.ERROR_VALIDATION_FAILURE, "nothing to read back")
        tex = sc.textures[sc.last_released]
        return gl().read_rgba(tex, layer if sc.array_size > 1 else -1, rect.offset.x, rect.offset.y,
                              rect.extent.width, rect.extent.height)

    def capture_now(self) -> None:
        """Read back the eye images of the next submitted frame (tests and ``qa`` use this)."""
        self._capture_frames.add(self._next_frame)

    def xrLocateViews(self, session: int, info_p: Any, state_p: Any, cap: int, count: Any, views: Any) -> int:
        self._session(session)  # type: ignore[attr-defined]
        info = info_p.contents
        if info.viewConfigurationType != abi.VIEW_CONFIGURATION_PRIMARY_STEREO:
            raise XrFail(abi.ERROR_VIEW_CONFIGURATION_TYPE_UNSUPPORTED)
        count[0] = 2
        if cap == 0:
            return abi.SUCCESS
        if cap < 2:
            return abi.ERROR_SIZE_INSUFFICIENT
        base: Space = self._get(info.space, Space)  # type: ignore[attr-defined]
        frame = self.frame_of_time(info.displayTime)
        head = self.timeline.state_at(frame).head
        b = self.world_pose(base, frame)
        state_p.contents.viewStateFlags = abi.VIEW_STATE_ALL if b is not None else 0
        fl, fr, fu, fd = (math.radians(a) for a in self.settings.fov_deg)
        for i, sign in enumerate((-1.0, 1.0)):
            eye = Pose((head.position + quat_rotate(head.orientation, (sign * self.settings.ipd / 2, 0.0, 0.0))).astype(np.float32),
                       head.orientation)
            if b is not None and not is_identity(b):
                eye = relative(b, eye)
            v = views[i]
            _pose_to_xr(eye, v.pose)
            v.fov.angleLeft, v.fov.angleRight, v.fov.angleUp, v.fov.angleDown = fl, fr, fu, fd
        return abi.SUCCESS

    # hand tracking -------------------------------------------------------------------------------
    def xrCreateHandTrackerEXT(self, session: int, info_p: Any, out: Any) -> int:
        s = self._session(session)  # type: ignore[attr-defined]
        inst = self._instance_of(s)  # type: ignore[attr-defined]
        if "XR_EXT_hand_tracking" not in inst.extensions:
            raise XrFail(abi.ERROR_FUNCTION_UNSUPPORTED)
        if not self.settings.hand_tracking:
            raise XrFail(-8, "the system does not support hand tracking")  # XR_ERROR_FEATURE_UNSUPPORTED
        info = info_p.contents
        if info.hand not in (abi.HAND_LEFT_EXT, abi.HAND_RIGHT_EXT) or info.handJointSet != abi.HAND_JOINT_SET_DEFAULT_EXT:
            raise XrFail(abi.ERROR_VALIDATION_FAILURE)
        hand = "left" if info.hand == abi.HAND_LEFT_EXT else "right"
        out[0] = self._new_handle(lambda h: HandTracker(h, s.handle, hand))  # type: ignore[attr-defined]
        return abi.SUCCESS

    def xrDestroyHandTrackerEXT(self, tracker: int) -> int:
        self._get(tracker, HandTracker)  # type: ignore[attr-defined]
        self._objects.pop(int(tracker), None)
        return abi.SUCCESS

    def xrLocateHandJointsEXT(self, tracker: int, info_p: Any, locs_p: Any) -> int:
        ht: HandTracker = self._get(tracker, HandTracker)  # type: ignore[attr-defined]
        s = self._session(ht.session)  # type: ignore[attr-defined]
        info = info_p.contents
        locs = locs_p.contents
        if locs.jointCount != HAND_JOINT_COUNT or not locs.jointLocations:
            raise XrFail(abi.ERROR_VALIDATION_FAILURE, "jointCount must be 26 with a joint buffer")
        base: Space = self._get(info.baseSpace, Space)  # type: ignore[attr-defined]
        frame = self.frame_of_time(info.time)
        hand = getattr(self.timeline.state_at(frame), ht.hand).hand
        b = self.world_pose(base, frame)
        out = np.ctypeslib.as_array(ctypes.cast(locs.jointLocations, ctypes.POINTER(ctypes.c_uint8)), (HAND_JOINT_COUNT * 40,))
        rec = out.view(JOINT_DTYPE)
        if hand is None or b is None or s.state != abi.STATE_FOCUSED:
            locs.isActive = 0
            rec["flags"] = 0
            return abi.SUCCESS
        if is_identity(b):
            pos, ori = hand.positions, hand.orientations
        else:
            pos, ori = relative_many(b, hand.positions, hand.orientations)
        rec["pose"][:, 0:4] = ori
        rec["pose"][:, 4:7] = pos
        rec["radius"] = hand.radii
        rec["flags"] = np.where(hand.valid, abi.SPACE_LOCATION_ALL, 0).astype(np.uint64)
        locs.isActive = 1
        return abi.SUCCESS
