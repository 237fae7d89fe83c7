"""The OpenXR backend: the only module that imports ``xr`` (pyopenxr).

Instance with XR_KHR_opengl_enable (plus XR_MNDX_egl_enable and XR_EXT_hand_tracking where
offered), the graphics-requirements call before the session, a complete EGL or GLX binding,
a colour swapchain per view (sRGB preferred), stage (else local) space, the frame loop with a
projection layer, the lifecycle of :mod:`vrdiplomacy.xr.lifecycle`, one action set
(:mod:`vrdiplomacy.xr.actions`) synced only when focused, and hand joints into a buffer we own.

Setup uses pyopenxr's functions; the per-frame calls go through the loader's function
pointers with preallocated structures (no per-call wrapper objects), which keeps the Python
time per frame small.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from ctypes import byref, c_int32, c_uint32, c_void_p
from typing import Any

import numpy as np

from vrdiplomacy.errors import PlatformError, XrError
from vrdiplomacy.input.frame import ControllerState, HandJoints, InputFrame
from vrdiplomacy.render.types import TextureLayerTarget
from vrdiplomacy.scene.math3d import Pose
from vrdiplomacy.scene.model import Fov, View
from vrdiplomacy.xr import actions as A
from vrdiplomacy.xr.backend import Backend, BackendSettings, Frame, has_display
from vrdiplomacy.xr.hands import JointBuffer, choose_hand
from vrdiplomacy.xr.lifecycle import Act, Event, EventKind, Lifecycle, SessionState, step

log = logging.getLogger("vrdiplomacy.xr")

GL_SRGB8_ALPHA8 = 0x8C43
GL_RGBA8 = 0x8058
SESSION_LOST = -17
INSTANCE_LOST = -13
EVENT_UNAVAILABLE = 4
SPACE_VALID = 0x3
IDLE_TIMEOUT_S = 30.0

_FN3 = ctypes.CFUNCTYPE(c_int32, c_void_p, c_void_p, c_void_p)
_FN2 = ctypes.CFUNCTYPE(c_int32, c_void_p, c_void_p)
_LOCATE_SPACE = ctypes.CFUNCTYPE(c_int32, c_void_p, c_void_p, ctypes.c_int64, c_void_p)
_LOCATE_VIEWS = ctypes.CFUNCTYPE(c_int32, c_void_p, c_void_p, c_void_p, c_uint32, c_void_p, c_void_p)


def import_xr() -> Any:
    """Import pyopenxr without letting it switch PyOpenGL to GLX (it does so on import)."""
    try:
        import OpenGL.platform as gl_platform

        before = gl_platform.PLATFORM
    except Exception:  # PyOpenGL missing or broken: pyopenxr will say so itself
        gl_platform, before = None, None
    try:
        import xr
    except (ImportError, OSError, AttributeError) as e:
        raise PlatformError(f"cannot load pyopenxr / the OpenXR loader: {e}") from None
    finally:
        if gl_platform is not None and before is not None:
            gl_platform.PLATFORM = before
    return xr


@contextlib.contextmanager
def _loader_messages() -> Iterator[list[str]]:
    """Capture what the Khronos loader writes to stderr while probing (it logs every miss)."""
    lines: list[str] = []
    try:
        fd = os.dup(2)
    except OSError:
        yield lines
        return
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield lines
        finally:
            os.dup2(fd, 2)
            os.close(fd)
            tmp.seek(0)
            lines.extend(x.strip() for x in tmp.read().decode(errors="replace").splitlines() if x.strip())
            for line in lines:
                log.debug("openxr loader: %s", line)


def _h(handle: Any) -> int:
    return int(ctypes.cast(handle, c_void_p).value or 0)


class XrCallError(XrError):
    def __init__(self, name: str, code: int) -> None:
        super().__init__(f"{name} failed with XrResult {code}")
        self.code = code


class OpenXrBackend(Backend):
    """OpenXR through the Khronos loader (pyopenxr). Raises :class:`PlatformError` when no runtime."""

    mode = "xr"

    def __init__(self, settings: BackendSettings | None = None, scripted_hands: dict[str, HandJoints | None] | None = None) -> None:
        self.settings = s = settings or BackendSettings(mode="xr")
        self.xr = xr = import_xr()
        self.lc = Lifecycle(recover=s.recover)
        self.scripted_hands = scripted_hands if scripted_hands is not None else {}
        self.instance: Any = None
        self.session: Any = None
        self.context: Any = None
        self.events: list[str] = []
        self.profiles: dict[str, str] = {"left": "", "right": ""}
        self.frame_count = 0
        self._frame_open = False
        self._rendering = False
        self._swapchains: list[Any] = []
        self._images: list[list[int]] = []
        self._acquired: list[int] = []
        self._spaces: list[Any] = []
        self._hand_trackers: dict[str, Any] = {}
        self._action_spaces: dict[tuple[str, str], Any] = {}
        self._closed = False
        self._reason = ""
        try:
            self._create_instance()
            self._create_system()
            self._create_context()
            self._create_actions()
            self._create_session()
        except BaseException:
            self.shutdown()
            raise

    # setup -------------------------------------------------------------------------------------
    def _create_instance(self) -> None:
        xr = self.xr
        with _loader_messages() as loader_lines:
            try:
                available = {e.extension_name.decode() if isinstance(e.extension_name, bytes) else e.extension_name
                             for e in xr.enumerate_instance_extension_properties()}
            except xr.exception.XrException as e:
                raise PlatformError(self._no_runtime(e, loader_lines)) from None
        if "XR_KHR_opengl_enable" not in available:
            raise PlatformError("the OpenXR runtime does not offer XR_KHR_opengl_enable (OpenGL)")
        want = ["XR_KHR_opengl_enable"]
        self.has_egl = "XR_MNDX_egl_enable" in available
        if self.has_egl:
            want.append("XR_MNDX_egl_enable")
        self.has_hand_ext = self.settings.hand_tracking and "XR_EXT_hand_tracking" in available
        if self.has_hand_ext:
            want.append("XR_EXT_hand_tracking")
        info = xr.InstanceCreateInfo(
            application_info=xr.ApplicationInfo(application_name=self.settings.app_name, application_version=1,
                                                engine_name="vrdiplomacy", api_version=xr.Version(1, 0, 0)),
            enabled_extension_names=want,
        )
        with _loader_messages() as loader_lines:
            try:
                self.instance = xr.create_instance(info)
            except xr.exception.XrException as e:
                raise PlatformError(self._no_runtime(e, loader_lines)) from None
        props = xr.get_instance_properties(self.instance)
        name = props.runtime_name.decode() if isinstance(props.runtime_name, bytes) else str(props.runtime_name)
        self.runtime_name = name
        log.info("OpenXR runtime: %s (extensions: %s)", name, ", ".join(want))

    @staticmethod
    def _no_runtime(e: Exception, loader_lines: list[str]) -> str:
        kind = type(e).__name__
        if os.environ.get("XR_RUNTIME_JSON"):
            return f"the OpenXR runtime named by XR_RUNTIME_JSON={os.environ['XR_RUNTIME_JSON']} failed to load ({kind})"
        if "RuntimeUnavailable" in kind or any("active_runtime" in x or "runtime" in x.lower() for x in loader_lines):
            return "no OpenXR runtime is installed or active (no active_runtime.json, XR_RUNTIME_JSON unset)"
        return f"the OpenXR loader failed ({kind})"

    def _create_system(self) -> None:
        xr = self.xr
        try:
            self.system = xr.get_system(self.instance, xr.SystemGetInfo(form_factor=xr.FormFactor.HEAD_MOUNTED_DISPLAY))
        except xr.exception.FormFactorUnavailableError:
            raise PlatformError("the OpenXR runtime is running but no headset is connected") from None
        except xr.exception.XrException as e:
            raise PlatformError(f"the OpenXR runtime has no head-mounted display ({type(e).__name__})") from None
        self.hand_tracking = False
        if self.has_hand_ext:
            ht = xr.SystemHandTrackingPropertiesEXT()
            props = xr.SystemProperties(next=ctypes.cast(byref(ht), c_void_p))
            check = xr.raw_functions.xrGetSystemProperties(self.instance, self.system, byref(props))
            self.hand_tracking = int(check) == 0 and bool(ht.supports_hand_tracking)
        views = xr.enumerate_view_configuration_views(self.instance, self.system, xr.ViewConfigurationType.PRIMARY_STEREO)
        self.view_sizes = [(int(v.recommended_image_rect_width), int(v.recommended_image_rect_height)) for v in views]
        # the graphics-requirements call must come before xrCreateSession
        req = xr.get_opengl_graphics_requirements_khr(self.instance, self.system)
        self.gl_min_version = str(req.min_api_version_supported)

    def _create_context(self) -> None:
        from vrdiplomacy.platform import ContextSettings, create_context

        g = self.settings.graphics
        if g == "auto":
            egl_process = os.environ.get("PYOPENGL_PLATFORM") == "egl"
            g = "egl" if self.has_egl and (egl_process or not has_display()) else "glx"
        if g == "egl" and not self.has_egl:
            raise PlatformError("the OpenXR runtime does not offer XR_MNDX_egl_enable, needed for headless EGL")
        if g == "glx" and not has_display():
            raise PlatformError("the OpenXR runtime needs a GLX context (no XR_MNDX_egl_enable) and there is no display")
        self.graphics = g
        if g == "egl":
            from vrdiplomacy.xr.glbinding import egl_binding

            self.context = create_context("egl")
            self._binding: Any = egl_binding(self.context)
        else:
            from vrdiplomacy.xr.glbinding import glx_binding

            self.context = create_context("window", ContextSettings(width=64, height=64, visible=False, vsync=False,
                                                                    title=self.settings.app_name))
            self._binding = glx_binding(self.context.window)

    def _path(self, text: str) -> Any:
        return self.xr.string_to_path(self.instance, text)

    def _create_actions(self) -> None:
        xr = self.xr
        self.hand_paths = {h: self._path(f"/user/hand/{h}") for h in A.HANDS}
        subs = [self.hand_paths["left"], self.hand_paths["right"]]
        self.action_set = xr.create_action_set(self.instance, xr.ActionSetCreateInfo(
            action_set_name=A.ACTION_SET_NAME, localized_action_set_name=A.ACTION_SET_LOCALIZED, priority=0))
        self.actions: dict[str, Any] = {}
        for spec in A.ACTIONS:
            self.actions[spec.name] = xr.create_action(self.action_set, xr.ActionCreateInfo(
                action_type=xr.ActionType(spec.kind.value), action_name=spec.name,
                localized_action_name=spec.localized, subaction_paths=subs))
        self.suggested: list[str] = []
        self.rejected: list[str] = []
        for profile, bindings in A.BINDINGS.items():
            sb = [xr.ActionSuggestedBinding(self.actions[a], self._path(p)) for a, p in bindings]
            try:
                xr.suggest_interaction_profile_bindings(self.instance, xr.InteractionProfileSuggestedBinding(
                    interaction_profile=self._path(profile), suggested_bindings=sb))
                self.suggested.append(profile)
            except xr.exception.XrException as e:
                self.rejected.append(profile)
                log.info("OpenXR runtime rejected bindings for %s (%s); carrying on without them", profile, type(e).__name__)

    def _create_session(self) -> None:
        xr = self.xr
        self.context.make_current()
        info = xr.SessionCreateInfo(system_id=self.system, next=ctypes.cast(byref(self._binding), c_void_p))
        try:
            self.session = xr.create_session(self.instance, info)
        except xr.exception.XrException as e:
            raise XrError(f"the OpenXR runtime refused the session ({type(e).__name__})") from None
        sh = _h(self.session)
        self._session_h = sh
        kinds = set(xr.enumerate_reference_spaces(self.session))
        want = xr.ReferenceSpaceType.STAGE if self.settings.space == "stage" else xr.ReferenceSpaceType.LOCAL
        if want not in kinds:
            want = xr.ReferenceSpaceType.LOCAL
        self.space_kind = "stage" if want == xr.ReferenceSpaceType.STAGE else "local"
        self.base_space = xr.create_reference_space(self.session, xr.ReferenceSpaceCreateInfo(reference_space_type=want))
        self.view_space = xr.create_reference_space(self.session, xr.ReferenceSpaceCreateInfo(reference_space_type=xr.ReferenceSpaceType.VIEW))
        self._spaces = [self.base_space, self.view_space]
        xr.attach_session_action_sets(self.session, xr.SessionActionSetsAttachInfo(action_sets=[self.action_set]))
        for hand in A.HANDS:
            for kind in ("grip", "aim"):
                sp = xr.create_action_space(self.session, xr.ActionSpaceCreateInfo(
                    action=self.actions[f"{kind}_pose"], subaction_path=self.hand_paths[hand]))
                self._action_spaces[(hand, kind)] = sp
                self._spaces.append(sp)
        self._create_swapchains()
        self._create_hand_trackers()
        self._prepare_fast_path()

    def _create_swapchains(self) -> None:
        xr = self.xr
        formats = list(xr.enumerate_swapchain_formats(self.session))
        fmt = GL_SRGB8_ALPHA8 if GL_SRGB8_ALPHA8 in formats else (GL_RGBA8 if GL_RGBA8 in formats else formats[0])
        self.swapchain_format = fmt
        self.srgb = fmt == GL_SRGB8_ALPHA8
        self._swapchains, self._images = [], []
        for w, h in self.view_sizes:
            sc = xr.create_swapchain(self.session, xr.SwapchainCreateInfo(
                usage_flags=xr.SwapchainUsageFlags.COLOR_ATTACHMENT_BIT | xr.SwapchainUsageFlags.SAMPLED_BIT,
                format=fmt, sample_count=1, width=w, height=h, face_count=1, array_size=1, mip_count=1))
            imgs = xr.enumerate_swapchain_images(sc, xr.SwapchainImageOpenGLKHR)
            self._swapchains.append(sc)
            self._images.append([int(i.image) for i in imgs])

    def _create_hand_trackers(self) -> None:
        xr = self.xr
        self._hand_trackers = {}
        self._joint_buffers = {h: JointBuffer() for h in A.HANDS}
        if not self.hand_tracking:
            return
        for hand, value in (("left", xr.HandEXT.LEFT), ("right", xr.HandEXT.RIGHT)):
            self._hand_trackers[hand] = xr.create_hand_tracker_ext(self.session, xr.HandTrackerCreateInfoEXT(
                hand=value, hand_joint_set=xr.HandJointSetEXT.DEFAULT))

    def _fn(self, name: str, proto: Any) -> Any:
        return ctypes.cast(self.xr.get_instance_proc_addr(self.instance, name), proto)

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

    # lifecycle ---------------------------------------------------------------------------------
    def _poll_events(self) -> None:
        xr = self.xr
        buf = xr.EventDataBuffer()
        poll = xr.raw_functions.xrPollEvent
        while self.instance is not None and not self.lc.finished:
            buf.type = xr.StructureType.EVENT_DATA_BUFFER.value
            rc = int(poll(self.instance, byref(buf)))
            if rc == EVENT_UNAVAILABLE:
                return
            if rc == INSTANCE_LOST:
                self._apply(Event(EventKind.INSTANCE_LOSS_PENDING))
                return
            if rc < 0:
                raise XrCallError("xrPollEvent", rc)
            t = int(buf.type)
            if t == xr.StructureType.EVENT_DATA_SESSION_STATE_CHANGED.value:
                ev = ctypes.cast(byref(buf), ctypes.POINTER(xr.EventDataSessionStateChanged)).contents
                if _h(ev.session) != self._session_h:
                    continue
                state = SessionState(int(ev.state))
                self.events.append(f"state:{state.name}")
                log.debug("OpenXR session state %s", state.name)
                self._apply(Event(EventKind.STATE_CHANGED, state))
            elif t == xr.StructureType.EVENT_DATA_INTERACTION_PROFILE_CHANGED.value:
                self._apply(Event(EventKind.PROFILE_CHANGED))
            elif t == xr.StructureType.EVENT_DATA_INSTANCE_LOSS_PENDING.value:
                self.events.append("instance_loss_pending")
                self._apply(Event(EventKind.INSTANCE_LOSS_PENDING))
            elif t == xr.StructureType.EVENT_DATA_EVENTS_LOST.value:
                self.events.append("events_lost")

    def _apply(self, event: Event) -> None:
        self.lc, acts = step(self.lc, event)
        for act in acts:
            self._do(act)

    def _do(self, act: Act) -> None:
        xr = self.xr
        if act == Act.BEGIN_SESSION:
            xr.begin_session(self.session, xr.SessionBeginInfo(primary_view_configuration_type=xr.ViewConfigurationType.PRIMARY_STEREO))
        elif act == Act.END_SESSION:
            xr.end_session(self.session)
        elif act == Act.REQUEST_EXIT:
            try:
                xr.request_exit_session(self.session)
            except xr.exception.XrException as e:
                log.debug("xrRequestExitSession: %s", type(e).__name__)
                self._apply(Event(EventKind.STATE_CHANGED, SessionState.EXITING))
        elif act == Act.DESTROY_SESSION:
            self._destroy_session()
        elif act == Act.DESTROY_INSTANCE:
            self._destroy_instance()
        elif act == Act.REFRESH_PROFILE:
            self._refresh_profile()
        elif act == Act.RECREATE_SESSION:
            self.events.append("session_recreate")
            try:
                self._create_system()
                self._create_session()
            except (PlatformError, xr.exception.XrException) as e:
                self._reason = f"the OpenXR session was lost and could not be recreated: {e}"
                log.warning("%s", self._reason)
                self.lc = Lifecycle(state=self.lc.state, finished=True, reason=self._reason)
                return
            self._apply(Event(EventKind.SESSION_RECREATED))
        elif act == Act.FINISH:
            if self.lc.reason:
                self._reason = self.lc.reason
                log.warning("OpenXR: %s", self.lc.reason)

    def _refresh_profile(self) -> None:
        xr = self.xr
        for hand in A.HANDS:
            try:
                st = xr.get_current_interaction_profile(self.session, self.hand_paths[hand])
                p = st.interaction_profile
                name = xr.path_to_string(self.instance, p) if int(ctypes.cast(byref(p), ctypes.POINTER(ctypes.c_uint64)).contents.value if not isinstance(p, int) else p) else ""
            except xr.exception.XrException:
                name = ""
            self.profiles[hand] = name
        self.events.append(f"profile:{self.profiles['left'] or 'none'}")
        log.info("OpenXR interaction profile: %s", self.profiles["left"] or self.profiles["right"] or "none")

    def _destroy_session(self) -> None:
        xr = self.xr
        if self.session is None:
            return
        for t in self._hand_trackers.values():
            with contextlib.suppress(Exception):
                xr.destroy_hand_tracker_ext(t)
        self._hand_trackers = {}
        for sc in self._swapchains:
            with contextlib.suppress(Exception):
                xr.destroy_swapchain(sc)
        self._swapchains = []
        for sp in self._spaces:
            with contextlib.suppress(Exception):
                xr.destroy_space(sp)
        self._spaces, self._action_spaces = [], {}
        with contextlib.suppress(Exception):
            xr.destroy_session(self.session)
        self.session = None
        self._session_h = 0

    def _destroy_instance(self) -> None:
        if self.instance is None:
            return
        self._destroy_session()
        with contextlib.suppress(Exception):
            self.xr.destroy_instance(self.instance)
        self.instance = None

    # frames --------------------------------------------------------------------------------------
    def _call(self, name: str, rc: int) -> int:
        if rc < 0:
            if rc in (SESSION_LOST, INSTANCE_LOST):
                self._poll_events()
            raise XrCallError(name, rc)
        return rc

    def begin_frame(self) -> Frame | None:
        start = time.monotonic()
        while True:
            self._poll_events()
            if self.lc.finished or self.session is None:
                return None
            if self.lc.frames_running:
                break
            if time.monotonic() - start > IDLE_TIMEOUT_S:
                raise XrError(f"the OpenXR session stayed {self.lc.state.name} for {IDLE_TIMEOUT_S:.0f} s")
            time.sleep(0.005)
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

    def request_exit(self) -> None:
        if self.instance is not None and not self.lc.finished:
            self._apply(Event(EventKind.APP_EXIT))

    def vibrate(self, hand: str, amplitude: float = 0.5, seconds: float = 0.1, frequency: float = 0.0) -> None:
        """Haptic pulse on one controller (XR_FREQUENCY_UNSPECIFIED when frequency is 0)."""
        xr = self.xr
        if self.session is None or not self.lc.focused:
            return
        vib = xr.HapticVibration(amplitude=amplitude, duration=int(seconds * 1e9), frequency=frequency)
        xr.apply_haptic_feedback(self.session, xr.HapticActionInfo(action=self.actions["haptic"], subaction_path=self.hand_paths[hand]),
                                 ctypes.cast(byref(vib), ctypes.POINTER(xr.HapticBaseHeader)).contents)

    @property
    def finish_reason(self) -> str:
        return self._reason

    def drain_events(self) -> list[str]:
        out, self.events = self.events, []
        return out

    @property
    def state(self) -> str:
        return self.lc.state.name

    def shutdown(self) -> None:
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            self._destroy_instance()
        if self.context is not None:
            with contextlib.suppress(Exception):
                self.context.close()
            self.context = None
