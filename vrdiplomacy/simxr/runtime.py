"""The simulated headset: an OpenXR runtime written in Python, loaded by the real Khronos loader.

:class:`SimulatedHeadset` builds the C shim (:mod:`vrdiplomacy.simxr.build`), loads it with
ctypes, registers one ctypes callback per entry point and points ``XR_RUNTIME_JSON`` at the
shim's manifest. The application then uses OpenXR as usual (pyopenxr -> loader -> shim ->
these callbacks). It plays a :class:`~vrdiplomacy.simxr.timeline.Timeline`, records every
submitted frame and reads eye images back at the frames the script names.

One headset can be installed per process at a time (the shim's function table is global).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import re
import time
import traceback
from collections import deque
from collections.abc import Callable
from typing import Any

from vrdiplomacy.errors import PlatformError
from vrdiplomacy.simxr import abi
from vrdiplomacy.simxr.build import RUNTIME_NAME, ensure_shim
from vrdiplomacy.simxr.objects import TIME_ORIGIN_NS, ActionSet, Instance, Session, XrFail
from vrdiplomacy.simxr.rt_actions import ActionsMixin
from vrdiplomacy.simxr.rt_frames import FramesMixin
from vrdiplomacy.simxr.timeline import HeadsetSettings, Timeline

log = logging.getLogger("vrdiplomacy.simxr")

RUNTIME_VERSION = abi.make_version(0, 1, 0)
SYSTEM_ID = 0x5AE1
_PATH_RE = re.compile(r"^(/[a-z0-9\-_.]+)+$")
_ACTIVE: "SimulatedHeadset | None" = None

STATE_NAMES = {
    abi.STATE_UNKNOWN: "UNKNOWN", abi.STATE_IDLE: "IDLE", abi.STATE_READY: "READY",
    abi.STATE_SYNCHRONIZED: "SYNCHRONIZED", abi.STATE_VISIBLE: "VISIBLE", abi.STATE_FOCUSED: "FOCUSED",
    abi.STATE_STOPPING: "STOPPING", abi.STATE_LOSS_PENDING: "LOSS_PENDING", abi.STATE_EXITING: "EXITING",
}


def active_headset() -> "SimulatedHeadset | None":
    return _ACTIVE


class SimulatedHeadset(FramesMixin, ActionsMixin):
    """A scripted OpenXR runtime. Use as a context manager, or ``install()`` / ``uninstall()``.

    After a run, ``records`` holds every submitted frame, ``captures`` the eye images read back,
    ``session_events`` the (frame, state name) transitions sent, ``haptics`` the vibrations the
    app applied and ``errors`` any internal failure (a test asserts it stays empty).
    """

    def __init__(self, timeline: Timeline | None = None, cache_dir: str | None = None) -> None:
        self.timeline = timeline or Timeline()
        self.settings: HeadsetSettings = self.timeline.settings
        self._cache_dir = cache_dir
        self._lib: ctypes.CDLL | None = None
        self._callbacks: list[Any] = []
        self._saved_env: str | None = None
        self._objects: dict[int, Any] = {}
        self._next_handle = 0x1000
        self._paths: dict[str, int] = {}
        self._path_names: dict[int, str] = {}
        self._events: deque[tuple[type[ctypes.Structure], ctypes.Structure]] = deque()
        self.device_profile = self.settings.profile
        self.device_available = True
        self.instance_loss_at: int | None = None
        self.errors: list[str] = []
        self.session_events: list[tuple[int, str]] = []
        self.calls: dict[str, int] = {}
        self.callback_seconds = 0.0  # thread CPU seconds spent inside the entry points
        self._fired: set[int] = set()
        self._frames_init()
        self._actions_init()

    # installation -----------------------------------------------------------------------------
    def install(self) -> "SimulatedHeadset":
        global _ACTIVE
        if _ACTIVE is not None and _ACTIVE is not self:
            raise PlatformError("a simulated headset is already installed in this process")
        from pathlib import Path

        shim = ensure_shim(Path(self._cache_dir) if self._cache_dir else None)
        self._lib = ctypes.CDLL(str(shim.library))
        self._lib.vrd_simxr_register.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
        self._lib.vrd_simxr_register.restype = ctypes.c_int
        self._lib.vrd_simxr_set_api_version.argtypes = [ctypes.c_uint64]
        self._lib.vrd_simxr_clear()
        self._lib.vrd_simxr_set_api_version(abi.make_version(1, 1, 0))
        for name, sig in abi.SIGNATURES.items():
            impl = getattr(self, name)
            cb = ctypes.CFUNCTYPE(*sig)(self._wrap(name, impl))  # type: ignore[arg-type]
            self._callbacks.append(cb)
            if self._lib.vrd_simxr_register(name.encode(), ctypes.cast(cb, ctypes.c_void_p)) != 0:
                raise PlatformError(f"simulated headset: cannot register {name}")
        self._saved_env = os.environ.get("XR_RUNTIME_JSON")
        os.environ["XR_RUNTIME_JSON"] = str(shim.manifest)
        self.manifest = shim.manifest
        _ACTIVE = self
        log.debug("simulated headset installed (%s)", shim.manifest)
        return self

    def uninstall(self) -> None:
        global _ACTIVE
        if self._lib is not None:
            self._lib.vrd_simxr_clear()
        if _ACTIVE is self:
            _ACTIVE = None
            if self._saved_env is None:
                os.environ.pop("XR_RUNTIME_JSON", None)
            else:
                os.environ["XR_RUNTIME_JSON"] = self._saved_env
        self._release_gl()

    def __enter__(self) -> "SimulatedHeadset":
        return self.install()

    def __exit__(self, *exc: object) -> None:
        self.uninstall()

    @property
    def negotiations(self) -> int:
        """How many times the Khronos loader negotiated with the shim."""
        return int(self._lib.vrd_simxr_negotiations()) if self._lib is not None else 0

    def _wrap(self, name: str, impl: Callable[..., int | None]) -> Callable[..., int]:
        calls = self.calls
        calls[name] = 0
        perf = time.thread_time  # CPU time: other processes' load does not count

        def entry(*args: Any) -> int:
            t0 = perf()
            calls[name] += 1
            try:
                r = impl(*args)
                return abi.SUCCESS if r is None else int(r)
            except XrFail as e:
                if e.code < 0:
                    log.debug("%s -> %s (%s)", name, abi.RESULT_NAMES.get(e.code, e.code), e)
                    if name in ("xrCreateInstance", "xrCreateSession"):
                        # as a runtime does: its own reason on stderr, beside the error code
                        with contextlib.suppress(OSError):
                            os.write(2, f"[{RUNTIME_NAME}] ERROR: {name}: {e}\n".encode())
                return e.code
            except Exception:
                self.errors.append(f"{name}: {traceback.format_exc()}")
                log.error("simulated headset: %s failed internally:\n%s", name, traceback.format_exc())
                return abi.ERROR_RUNTIME_FAILURE
            finally:
                self.callback_seconds += perf() - t0

        return entry

    # handles, paths, events -----------------------------------------------------------------
    def _new_handle(self, obj_factory: Callable[[int], Any]) -> int:
        h = self._next_handle
        self._next_handle += 0x10
        self._objects[h] = obj_factory(h)
        return h

    def _get(self, handle: int | None, kind: type) -> Any:
        obj = self._objects.get(int(handle or 0))
        if not isinstance(obj, kind):
            raise XrFail(abi.ERROR_HANDLE_INVALID, f"not a {kind.__name__} handle: {handle}")
        if isinstance(obj, Instance) and obj.lost:
            raise XrFail(abi.ERROR_INSTANCE_LOST)
        return obj

    def _instance_of(self, obj: Any) -> Instance:
        inst = self._objects.get(getattr(obj, "instance", 0))
        if not isinstance(inst, Instance):
            raise XrFail(abi.ERROR_HANDLE_INVALID)
        if inst.lost:
            raise XrFail(abi.ERROR_INSTANCE_LOST)
        return inst

    def path(self, text: str) -> int:
        p = self._paths.get(text)
        if p is None:
            p = len(self._paths) + 1
            self._paths[text] = p
            self._path_names[p] = text
        return p

    def path_name(self, p: int) -> str:
        return self._path_names.get(int(p), "")

    def _queue(self, struct: ctypes.Structure) -> None:
        self._events.append((type(struct), struct))

    def _set_state(self, s: Session, state: int) -> None:
        s.state = state
        ev = abi.EventDataSessionStateChanged(type=abi.ST.EVENT_DATA_SESSION_STATE_CHANGED, next=None,
                                              session=s.handle, state=state, time=self.now_ns())
        self._queue(ev)
        self.session_events.append((self.frame_index, STATE_NAMES[state]))

    # instance ----------------------------------------------------------------------------------
    def offered_extensions(self) -> list[tuple[str, int]]:
        ext = [("XR_KHR_opengl_enable", 10), ("XR_EXT_hand_tracking", 4)]
        if self.settings.offer_egl:
            ext.append(("XR_MNDX_egl_enable", 1))
        return ext

    def xrEnumerateInstanceExtensionProperties(self, layer: bytes | None, capacity: int, count: Any, props: Any) -> int:
        if layer:
            raise XrFail(-36, "no API layers here")  # XR_ERROR_API_LAYER_NOT_PRESENT
        ext = self.offered_extensions()
        count[0] = len(ext)
        if capacity == 0:
            return abi.SUCCESS
        if capacity < len(ext):
            return abi.ERROR_SIZE_INSUFFICIENT
        for i, (name, version) in enumerate(ext):
            props[i].extensionName = name.encode()
            props[i].extensionVersion = version
        return abi.SUCCESS

    def xrCreateInstance(self, info_p: Any, out: Any) -> int:
        info = info_p.contents
        if info.type != abi.ST.INSTANCE_CREATE_INFO:
            raise XrFail(abi.ERROR_VALIDATION_FAILURE, "wrong structure type")
        if any(isinstance(o, Instance) and not o.lost for o in self._objects.values()):
            raise XrFail(-10, "one instance at a time")  # XR_ERROR_LIMIT_REACHED
        if not self.device_available:
            raise XrFail(-51, "the simulated device is gone")  # XR_ERROR_RUNTIME_UNAVAILABLE
        if self.settings.refuse_instance:
            raise XrFail(abi.ERROR_INITIALIZATION_FAILED, self.settings.refuse_instance)
        api = int(info.applicationInfo.apiVersion)
        major, minor = abi.version_major_minor(api)
        if major != 1 or minor > 1:
            raise XrFail(abi.ERROR_API_VERSION_UNSUPPORTED, f"api {major}.{minor}")
        offered = {n for n, _ in self.offered_extensions()}
        wanted = {info.enabledExtensionNames[i].decode() for i in range(info.enabledExtensionCount)}
        missing = wanted - offered - {"XR_EXT_debug_utils"}
        if missing:
            raise XrFail(abi.ERROR_EXTENSION_NOT_PRESENT, ", ".join(sorted(missing)))
        name = info.applicationInfo.applicationName.decode(errors="replace")
        if not name:
            raise XrFail(abi.ERROR_NAME_INVALID, "empty application name")
        self.instance_loss_at = None
        h = self._new_handle(lambda h: Instance(h, name, api, frozenset(wanted)))
        out[0] = h
        return abi.SUCCESS

    def xrDestroyInstance(self, instance: int) -> int:
        obj = self._objects.get(int(instance or 0))
        if not isinstance(obj, Instance):
            raise XrFail(abi.ERROR_HANDLE_INVALID)
        for h, o in list(self._objects.items()):
            if getattr(o, "instance", None) == obj.handle or h == obj.handle:
                if h != obj.handle:
                    self._destroy_children(o)
                self._objects.pop(h, None)
        self._events.clear()
        return abi.SUCCESS

    def xrGetInstanceProperties(self, instance: int, props_p: Any) -> int:
        self._get(instance, Instance)
        props = props_p.contents
        props.runtimeVersion = RUNTIME_VERSION
        props.runtimeName = b"vrdiplomacy simulated headset"
        return abi.SUCCESS

    def xrPollEvent(self, instance: int, buf_p: Any) -> int:
        obj = self._objects.get(int(instance or 0))
        if not isinstance(obj, Instance):
            raise XrFail(abi.ERROR_HANDLE_INVALID)
        self._check_instance_loss(obj)
        self._wake_from_standby()
        if not self._events:
            return abi.EVENT_UNAVAILABLE
        kind, ev = self._events.popleft()
        ctypes.memmove(ctypes.addressof(buf_p.contents), ctypes.addressof(ev), ctypes.sizeof(kind))
        return abi.SUCCESS

    def _check_instance_loss(self, inst: Instance) -> None:
        if self.instance_loss_at is not None and self.frame_index >= self.instance_loss_at and not self._events:
            inst.lost = True
        if inst.lost:
            raise XrFail(abi.ERROR_INSTANCE_LOST)

    def xrResultToString(self, instance: int, value: int, buf: int) -> int:
        name = abi.RESULT_NAMES.get(value, f"XR_UNKNOWN_{'FAILURE' if value < 0 else 'SUCCESS'}_{value}")
        if not name.startswith("XR_"):
            name = "XR_" + name
        ctypes.memmove(buf, name.encode()[:63] + b"\0", min(len(name), 63) + 1)
        return abi.SUCCESS

    def xrStructureTypeToString(self, instance: int, value: int, buf: int) -> int:
        names = {v: k for k, v in vars(abi.ST).items() if isinstance(v, int)}
        name = "XR_TYPE_" + names.get(value, f"UNKNOWN_{value}")
        ctypes.memmove(buf, name.encode()[:63] + b"\0", min(len(name), 63) + 1)
        return abi.SUCCESS

    # system ------------------------------------------------------------------------------------
    def xrGetSystem(self, instance: int, info_p: Any, out: Any) -> int:
        self._get(instance, Instance)
        if info_p.contents.formFactor != abi.FORM_FACTOR_HMD:
            raise XrFail(abi.ERROR_FORM_FACTOR_UNSUPPORTED)
        if not self.device_available:
            raise XrFail(abi.ERROR_FORM_FACTOR_UNAVAILABLE, "the simulated headset is switched off")
        out[0] = SYSTEM_ID
        return abi.SUCCESS

    def _check_system(self, system_id: int) -> None:
        if int(system_id) != SYSTEM_ID:
            raise XrFail(abi.ERROR_SYSTEM_INVALID)

    def xrGetSystemProperties(self, instance: int, system_id: int, props_p: Any) -> int:
        self._get(instance, Instance)
        self._check_system(system_id)
        p = props_p.contents
        p.systemId = SYSTEM_ID
        p.vendorId = 0x7672  # "vr"
        p.systemName = b"vrdiplomacy simulated headset"
        p.graphicsProperties.maxSwapchainImageWidth = 4096
        p.graphicsProperties.maxSwapchainImageHeight = 4096
        p.graphicsProperties.maxLayerCount = 16
        p.trackingProperties.orientationTracking = 1
        p.trackingProperties.positionTracking = 1
        nxt = p.next
        while nxt:
            base = abi.BaseHeader.from_address(nxt)
            if base.type == abi.ST.SYSTEM_HAND_TRACKING_PROPERTIES_EXT:
                abi.SystemHandTrackingPropertiesEXT.from_address(nxt).supportsHandTracking = int(self.settings.hand_tracking)
            nxt = base.next
        return abi.SUCCESS

    def xrEnumerateEnvironmentBlendModes(self, instance: int, system_id: int, vct: int, cap: int, count: Any, out: Any) -> int:
        self._get(instance, Instance)
        self._check_system(system_id)
        if vct != abi.VIEW_CONFIGURATION_PRIMARY_STEREO:
            raise XrFail(abi.ERROR_VIEW_CONFIGURATION_TYPE_UNSUPPORTED)
        return self._fill(cap, count, out, [abi.BLEND_MODE_OPAQUE])

    def xrEnumerateViewConfigurations(self, instance: int, system_id: int, cap: int, count: Any, out: Any) -> int:
        self._get(instance, Instance)
        self._check_system(system_id)
        return self._fill(cap, count, out, [abi.VIEW_CONFIGURATION_PRIMARY_STEREO])

    def xrGetViewConfigurationProperties(self, instance: int, system_id: int, vct: int, props_p: Any) -> int:
        self._get(instance, Instance)
        self._check_system(system_id)
        if vct != abi.VIEW_CONFIGURATION_PRIMARY_STEREO:
            raise XrFail(abi.ERROR_VIEW_CONFIGURATION_TYPE_UNSUPPORTED)
        props_p.contents.viewConfigurationType = vct
        props_p.contents.fovMutable = 0
        return abi.SUCCESS

    def xrEnumerateViewConfigurationViews(self, instance: int, system_id: int, vct: int, cap: int, count: Any, out: Any) -> int:
        self._get(instance, Instance)
        self._check_system(system_id)
        if vct != abi.VIEW_CONFIGURATION_PRIMARY_STEREO:
            raise XrFail(abi.ERROR_VIEW_CONFIGURATION_TYPE_UNSUPPORTED)
        count[0] = 2
        if cap == 0:
            return abi.SUCCESS
        if cap < 2:
            return abi.ERROR_SIZE_INSUFFICIENT
        w, h = self.settings.resolution
        for i in range(2):
            v = out[i]
            v.recommendedImageRectWidth, v.maxImageRectWidth = w, 4096
            v.recommendedImageRectHeight, v.maxImageRectHeight = h, 4096
            v.recommendedSwapchainSampleCount, v.maxSwapchainSampleCount = 1, 1
        return abi.SUCCESS

    @staticmethod
    def _fill(cap: int, count: Any, out: Any, values: list[int]) -> int:
        count[0] = len(values)
        if cap == 0:
            return abi.SUCCESS
        if cap < len(values):
            return abi.ERROR_SIZE_INSUFFICIENT
        for i, v in enumerate(values):
            out[i] = v
        return abi.SUCCESS

    def xrStringToPath(self, instance: int, text: bytes, out: Any) -> int:
        self._get(instance, Instance)
        s = (text or b"").decode(errors="replace")
        if not _PATH_RE.match(s) or "/../" in s + "/" or "/./" in s + "/":
            raise XrFail(abi.ERROR_PATH_FORMAT_INVALID, s)
        out[0] = self.path(s)
        return abi.SUCCESS

    def xrPathToString(self, instance: int, p: int, cap: int, count: Any, buf: int) -> int:
        self._get(instance, Instance)
        name = self.path_name(p)
        if not name:
            raise XrFail(abi.ERROR_PATH_INVALID)
        return abi.write_string(buf or 0, cap, count, name)

    def xrGetOpenGLGraphicsRequirementsKHR(self, instance: int, system_id: int, req_p: Any) -> int:
        inst = self._get(instance, Instance)
        if "XR_KHR_opengl_enable" not in inst.extensions:
            raise XrFail(abi.ERROR_FUNCTION_UNSUPPORTED)
        self._check_system(system_id)
        req = req_p.contents
        req.minApiVersionSupported = abi.make_version(3, 3, 0)
        req.maxApiVersionSupported = abi.make_version(4, 6, 0)
        inst.graphics_requirements_queried = True
        return abi.SUCCESS

    # script events --------------------------------------------------------------------------
    def _fire_script_events(self, frame: int) -> None:
        if frame in self._fired:
            return
        self._fired.add(frame)
        for ev in self.timeline.events_at(frame):
            self.apply_event(ev.type, ev.profile)

    def apply_event(self, kind: str, profile: str = "") -> None:
        """Make a session event happen now (what a script event does at its frame)."""
        sessions = [o for o in self._objects.values() if isinstance(o, Session) and not o.lost]
        log.debug("simulated headset: event %s at frame %d", kind, self.frame_index)
        if kind == "focus_loss":
            for s in sessions:
                if s.state == abi.STATE_FOCUSED:
                    self._set_state(s, abi.STATE_VISIBLE)
        elif kind == "focus_gain":
            for s in sessions:
                if s.state == abi.STATE_VISIBLE:
                    self._set_state(s, abi.STATE_FOCUSED)
        elif kind == "profile_change":
            self.device_profile = profile
            for s in sessions:
                self._assign_profile(s)
        elif kind == "session_loss":
            for s in sessions:
                s.lost = True
                self._set_state(s, abi.STATE_LOSS_PENDING)
            self.device_available = self.settings.recover_after_loss
        elif kind == "instance_loss":
            self.instance_loss_at = self.frame_index + 1
            ev = abi.EventDataInstanceLossPending(type=abi.ST.EVENT_DATA_INSTANCE_LOSS_PENDING, next=None,
                                                  lossTime=self.now_ns() + self.settings.period_ns)
            self._queue(ev)
            self.device_available = self.settings.recover_after_loss
        elif kind == "exit":
            for s in sessions:
                self._runtime_exit(s)
        elif kind == "standby":
            for s in sessions:
                if s.running:
                    s.standby_until = time.monotonic() + self.settings.standby_s
                    self._walk_down(s)

    def _wake_from_standby(self) -> None:
        """A headset out of standby: an IDLE session that slept long enough becomes READY."""
        for s in [o for o in self._objects.values() if isinstance(o, Session) and not o.lost]:
            if s.standby_until is not None and not s.running and time.monotonic() >= s.standby_until:
                s.standby_until = None
                self._set_state(s, abi.STATE_READY)

    def _runtime_exit(self, s: Session) -> None:
        """The user asked the headset to quit the app: walk the session down to STOPPING."""
        if not s.running:
            return
        s.exit_requested = True
        self._walk_down(s)

    def _walk_down(self, s: Session) -> None:
        """FOCUSED/VISIBLE/SYNCHRONIZED/READY -> STOPPING, through each state."""
        if s.state == abi.STATE_FOCUSED:
            self._set_state(s, abi.STATE_VISIBLE)
        if s.state == abi.STATE_VISIBLE:
            self._set_state(s, abi.STATE_SYNCHRONIZED)
        if s.state in (abi.STATE_SYNCHRONIZED, abi.STATE_READY):
            self._set_state(s, abi.STATE_STOPPING)

    # sessions ----------------------------------------------------------------------------------
    def xrCreateSession(self, instance: int, info_p: Any, out: Any) -> int:
        inst = self._get(instance, Instance)
        info = info_p.contents
        self._check_system(info.systemId)
        if not self.device_available:
            raise XrFail(abi.ERROR_FORM_FACTOR_UNAVAILABLE)
        if self.settings.refuse_session:
            raise XrFail(abi.ERROR_RUNTIME_FAILURE, self.settings.refuse_session)
        if not inst.graphics_requirements_queried:
            raise XrFail(abi.ERROR_GRAPHICS_REQUIREMENTS_CALL_MISSING)
        graphics = self._check_graphics_binding(inst, info.next)
        h = self._new_handle(lambda h: Session(h, inst.handle, graphics))
        s = self._objects[h]
        self._set_state(s, abi.STATE_IDLE)
        self._set_state(s, abi.STATE_READY)
        out[0] = h
        return abi.SUCCESS

    def _check_graphics_binding(self, inst: Instance, nxt: int | None) -> str:
        from vrdiplomacy.simxr.gl import current_context

        while nxt:
            base = abi.BaseHeader.from_address(nxt)
            if base.type == abi.ST.GRAPHICS_BINDING_EGL_MNDX:
                if "XR_MNDX_egl_enable" not in inst.extensions:
                    raise XrFail(abi.ERROR_VALIDATION_FAILURE, "EGL binding without XR_MNDX_egl_enable")
                b = abi.GraphicsBindingEGLMNDX.from_address(nxt)
                if not (b.getProcAddress and b.display and b.config and b.context):
                    raise XrFail(abi.ERROR_GRAPHICS_DEVICE_INVALID, "EGL binding has an empty field")
                if current_context()["egl"] != b.context:
                    raise XrFail(abi.ERROR_GRAPHICS_DEVICE_INVALID, "the EGL context in the binding is not current")
                return "egl"
            if base.type == abi.ST.GRAPHICS_BINDING_OPENGL_XLIB_KHR:
                b = abi.GraphicsBindingOpenGLXlibKHR.from_address(nxt)
                if not (b.xDisplay and b.visualid and b.glxFBConfig and b.glxDrawable and b.glxContext):
                    raise XrFail(abi.ERROR_GRAPHICS_DEVICE_INVALID,
                                 "GLX binding incomplete: xDisplay, visualid, glxFBConfig, glxDrawable and glxContext are all needed")
                if current_context()["glx"] != b.glxContext:
                    raise XrFail(abi.ERROR_GRAPHICS_DEVICE_INVALID, "the GLX context in the binding is not current")
                if _fbconfig_visual(b.xDisplay, b.glxFBConfig) != b.visualid:
                    raise XrFail(abi.ERROR_GRAPHICS_DEVICE_INVALID, "visualid does not belong to glxFBConfig")
                return "xlib"
            nxt = base.next
        raise XrFail(abi.ERROR_GRAPHICS_DEVICE_INVALID, "no OpenGL graphics binding in the session create info")

    def xrDestroySession(self, session: int) -> int:
        s = self._objects.get(int(session or 0))
        if not isinstance(s, Session):
            raise XrFail(abi.ERROR_HANDLE_INVALID)
        for h, o in list(self._objects.items()):
            if getattr(o, "session", None) == s.handle:
                self._destroy_children(o)
                self._objects.pop(h, None)
        self._objects.pop(s.handle, None)
        return abi.SUCCESS

    def _session(self, handle: int) -> Session:
        s: Session = self._get(handle, Session)
        self._instance_of(s)
        if s.lost:
            raise XrFail(abi.ERROR_SESSION_LOST)
        return s

    def xrBeginSession(self, session: int, info_p: Any) -> int:
        s = self._session(session)
        if s.running:
            raise XrFail(abi.ERROR_SESSION_RUNNING)
        if s.state != abi.STATE_READY:
            raise XrFail(abi.ERROR_SESSION_NOT_READY)
        if info_p.contents.primaryViewConfigurationType != abi.VIEW_CONFIGURATION_PRIMARY_STEREO:
            raise XrFail(abi.ERROR_VIEW_CONFIGURATION_TYPE_UNSUPPORTED)
        s.running = True
        self._set_state(s, abi.STATE_SYNCHRONIZED)
        return abi.SUCCESS

    def xrEndSession(self, session: int) -> int:
        s = self._session(session)
        if not s.running:
            raise XrFail(abi.ERROR_SESSION_NOT_RUNNING)
        if s.state != abi.STATE_STOPPING:
            raise XrFail(abi.ERROR_SESSION_NOT_STOPPING)
        s.running = False
        s.waited.clear()
        s.begun = None
        self._set_state(s, abi.STATE_IDLE)
        if s.exit_requested:
            self._set_state(s, abi.STATE_EXITING)
        elif s.standby_until is None:
            self._set_state(s, abi.STATE_READY)
        # in standby the session stays IDLE until the headset wakes (_wake_from_standby)
        return abi.SUCCESS

    def xrRequestExitSession(self, session: int) -> int:
        s = self._session(session)
        if not s.running:
            raise XrFail(abi.ERROR_SESSION_NOT_RUNNING)
        self._runtime_exit(s)
        return abi.SUCCESS

    def _after_frame_end(self, s: Session) -> None:
        s.frames_ended += 1
        # the first frame after xrBeginSession (a fresh session, or one back from standby) shows
        if s.state == abi.STATE_SYNCHRONIZED and not s.exit_requested:
            self._set_state(s, abi.STATE_VISIBLE)
            self._set_state(s, abi.STATE_FOCUSED)

    def _destroy_children(self, obj: Any) -> None:
        release = getattr(self, "_release_object", None)
        if release is not None:
            release(obj)

    def state_of(self, session_handle: int) -> str:
        s = self._objects.get(session_handle)
        return STATE_NAMES[s.state] if isinstance(s, Session) else "DESTROYED"

    def action_sets(self) -> list[ActionSet]:
        return [o for o in self._objects.values() if isinstance(o, ActionSet)]


def _fbconfig_visual(display: int, fbconfig: int) -> int:
    """GLX_VISUAL_ID of an FB config, through libGLX."""
    try:
        glx = ctypes.CDLL("libGLX.so.0")
    except OSError:
        glx = ctypes.CDLL("libGL.so.1")
    f = glx.glXGetFBConfigAttrib
    f.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
    f.restype = ctypes.c_int
    v = ctypes.c_int(0)
    if f(display, fbconfig, 0x800B, ctypes.byref(v)) != 0:  # GLX_VISUAL_ID
        return -1
    return int(v.value)
