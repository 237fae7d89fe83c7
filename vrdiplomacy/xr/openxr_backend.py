"""The OpenXR backend: the only module that imports ``xr`` (pyopenxr).

Instance with XR_KHR_opengl_enable (plus XR_MNDX_egl_enable and XR_EXT_hand_tracking where
offered), the graphics-requirements call before the session, a complete EGL or GLX binding,
a colour swapchain per view (sRGB preferred), stage (else local) space, the frame loop with a
projection layer, the lifecycle of :mod:`vrdiplomacy.xr.lifecycle`, one action set
(:mod:`vrdiplomacy.xr.actions`) synced only when focused, and hand joints into a buffer we own.

Setup uses pyopenxr's functions; the per-frame calls (:mod:`vrdiplomacy.xr.openxr_frames`, a
mixin of this class that reaches pyopenxr only through ``self.xr``) go through the loader's
function pointers with preallocated structures (no per-call wrapper objects), which keeps the
Python time per frame small.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import tempfile
from collections.abc import Iterator
from ctypes import byref, c_void_p
from typing import Any

from vrdiplomacy.errors import PlatformError, XrError
from vrdiplomacy.input.frame import HandJoints
from vrdiplomacy.xr import actions as A
from vrdiplomacy.platform.detect import has_display, no_display_reason, xr_graphics_binding
from vrdiplomacy.xr.backend import Backend, BackendSettings
from vrdiplomacy.xr.hands import JointBuffer
from vrdiplomacy.xr.lifecycle import Act, Event, EventKind, Lifecycle, SessionState, step
from vrdiplomacy.xr.xr_errors import explain_load_failure, explain_refusal, result_name, runtime_lines
from vrdiplomacy.xr.openxr_frames import INSTANCE_LOST, SESSION_LOST, XrCallError, XrFrameLoop, _h

log = logging.getLogger("vrdiplomacy.xr")

GL_SRGB8_ALPHA8 = 0x8C43
GL_RGBA8 = 0x8058
EVENT_UNAVAILABLE = 4


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


class OpenXrBackend(XrFrameLoop, Backend):
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
                err: Exception | None = e
            else:
                err = None
        if err is not None:
            raise PlatformError(self._load_failure(err, loader_lines)) from None
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
                err = e
        if err is not None:
            if any("OpenXR-Loader" in x and "runtime" in x.lower() for x in loader_lines) and not runtime_lines(loader_lines):
                raise PlatformError(self._load_failure(err, loader_lines)) from None
            raise XrError(self._refused("xrCreateInstance", None, err, loader_lines)) from None
        props = xr.get_instance_properties(self.instance)
        name = props.runtime_name.decode() if isinstance(props.runtime_name, bytes) else str(props.runtime_name)
        self.runtime_name = name
        log.info("OpenXR runtime: %s (extensions: %s)", name, ", ".join(want))

    @staticmethod
    def _load_failure(e: Exception, loader_lines: list[str]) -> str:
        """One line for a loader that found no usable runtime; with a runtime configured, the
        loader's own lines go to the log at the default level."""
        f = explain_load_failure(loader_lines, os.environ.get("XR_RUNTIME_JSON"), result_name(e))
        if f.kind != "no_runtime":
            for line in f.detail:
                log.warning("openxr loader: %s", line)
        return f.message

    @staticmethod
    def _refused(call: str, runtime: str | None, e: Exception, lines: list[str]) -> str:
        """One line for a runtime that refused ``call``; its own lines go to the log too."""
        f = explain_refusal(call, runtime, result_name(e), lines)
        for line in f.detail:
            log.warning("openxr runtime: %s", line)
        return f.message

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

        egl_process = os.environ.get("PYOPENGL_PLATFORM") == "egl"
        g = xr_graphics_binding(has_egl=self.has_egl, egl_process=egl_process, requested=self.settings.graphics)
        if g == "none":
            raise PlatformError("OpenXR has no OpenGL graphics binding on macOS (no OpenXR runtime there offers one)")
        if g == "egl" and not self.has_egl:
            raise PlatformError("the OpenXR runtime does not offer XR_MNDX_egl_enable, needed for headless EGL")
        if g in ("glx", "wgl") and not has_display():
            raise PlatformError(f"the OpenXR runtime needs a window's GL context (no XR_MNDX_egl_enable) and {no_display_reason()}")
        self.graphics = g
        if g == "egl":
            from vrdiplomacy.xr.glbinding import egl_binding

            self.context = create_context("egl")
            self._binding: Any = egl_binding(self.context)
            return
        self.context = create_context("window", ContextSettings(width=64, height=64, visible=False, vsync=False,
                                                                title=self.settings.app_name))
        from vrdiplomacy.xr.glbinding import glx_binding, wgl_binding

        self._binding = wgl_binding(self.context.window) if g == "wgl" else glx_binding(self.context.window)

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
        err: Exception | None = None
        with _loader_messages() as lines:
            try:
                self.session = xr.create_session(self.instance, info)
            except xr.exception.XrException as e:
                err = e
        if err is not None:
            raise XrError(self._refused("xrCreateSession", self.runtime_name, err, lines)) from None
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
