"""The OpenXR C ABI the simulated headset implements, as ctypes definitions.

Written from the OpenXR 1.0 registry (``xr.xml``) independently of any binding library, so the
runtime and the application's binding (pyopenxr) check each other's struct layouts.
Only the structures, constants and entry-point signatures the runtime needs are here.
"""

from __future__ import annotations

import ctypes
from ctypes import POINTER, Structure, c_char, c_char_p, c_float, c_int32, c_int64, c_uint32, c_uint64, c_void_p

XrResult = c_int32
XrBool32 = c_uint32
XrTime = c_int64
XrDuration = c_int64
XrPath = c_uint64
XrSystemId = c_uint64
XrFlags64 = c_uint64
Handle = c_void_p


def make_version(major: int, minor: int, patch: int) -> int:
    return ((major & 0xFFFF) << 48) | ((minor & 0xFFFF) << 32) | (patch & 0xFFFFFFFF)


def version_major_minor(v: int) -> tuple[int, int]:
    return (v >> 48) & 0xFFFF, (v >> 32) & 0xFFFF


# XrResult values
SUCCESS = 0
TIMEOUT_EXPIRED = 1
SESSION_LOSS_PENDING = 3
EVENT_UNAVAILABLE = 4
SPACE_BOUNDS_UNAVAILABLE = 7
SESSION_NOT_FOCUSED = 8
FRAME_DISCARDED = 9
ERROR_VALIDATION_FAILURE = -1
ERROR_RUNTIME_FAILURE = -2
ERROR_API_VERSION_UNSUPPORTED = -4
ERROR_INITIALIZATION_FAILED = -6
ERROR_FUNCTION_UNSUPPORTED = -7
ERROR_EXTENSION_NOT_PRESENT = -9
ERROR_SIZE_INSUFFICIENT = -11
ERROR_HANDLE_INVALID = -12
ERROR_INSTANCE_LOST = -13
ERROR_SESSION_RUNNING = -14
ERROR_SESSION_NOT_RUNNING = -16
ERROR_SESSION_LOST = -17
ERROR_SYSTEM_INVALID = -18
ERROR_PATH_INVALID = -19
ERROR_PATH_FORMAT_INVALID = -21
ERROR_PATH_UNSUPPORTED = -22
ERROR_LAYER_INVALID = -23
ERROR_SWAPCHAIN_RECT_INVALID = -25
ERROR_SWAPCHAIN_FORMAT_UNSUPPORTED = -26
ERROR_ACTION_TYPE_MISMATCH = -27
ERROR_SESSION_NOT_READY = -28
ERROR_SESSION_NOT_STOPPING = -29
ERROR_TIME_INVALID = -30
ERROR_REFERENCE_SPACE_UNSUPPORTED = -31
ERROR_FORM_FACTOR_UNSUPPORTED = -34
ERROR_FORM_FACTOR_UNAVAILABLE = -35
ERROR_CALL_ORDER_INVALID = -37
ERROR_GRAPHICS_DEVICE_INVALID = -38
ERROR_POSE_INVALID = -39
ERROR_INDEX_OUT_OF_RANGE = -40
ERROR_VIEW_CONFIGURATION_TYPE_UNSUPPORTED = -41
ERROR_ENVIRONMENT_BLEND_MODE_UNSUPPORTED = -42
ERROR_NAME_DUPLICATED = -44
ERROR_NAME_INVALID = -45
ERROR_ACTIONSET_NOT_ATTACHED = -46
ERROR_ACTIONSETS_ALREADY_ATTACHED = -47
ERROR_LOCALIZED_NAME_INVALID = -49
ERROR_GRAPHICS_REQUIREMENTS_CALL_MISSING = -50

RESULT_NAMES = {v: k for k, v in list(globals().items()) if isinstance(v, int) and k.isupper() and (k == "SUCCESS" or k.startswith(("ERROR_", "TIMEOUT", "SESSION_", "EVENT_", "SPACE_", "FRAME_")))}


class ST:
    """XrStructureType values."""

    EXTENSION_PROPERTIES = 2
    INSTANCE_CREATE_INFO = 3
    SYSTEM_GET_INFO = 4
    SYSTEM_PROPERTIES = 5
    VIEW_LOCATE_INFO = 6
    VIEW = 7
    SESSION_CREATE_INFO = 8
    SWAPCHAIN_CREATE_INFO = 9
    SESSION_BEGIN_INFO = 10
    VIEW_STATE = 11
    FRAME_END_INFO = 12
    HAPTIC_VIBRATION = 13
    EVENT_DATA_BUFFER = 16
    EVENT_DATA_INSTANCE_LOSS_PENDING = 17
    EVENT_DATA_SESSION_STATE_CHANGED = 18
    ACTION_STATE_BOOLEAN = 23
    ACTION_STATE_FLOAT = 24
    ACTION_STATE_VECTOR2F = 25
    ACTION_STATE_POSE = 27
    ACTION_SET_CREATE_INFO = 28
    ACTION_CREATE_INFO = 29
    INSTANCE_PROPERTIES = 32
    FRAME_WAIT_INFO = 33
    COMPOSITION_LAYER_PROJECTION = 35
    COMPOSITION_LAYER_QUAD = 36
    REFERENCE_SPACE_CREATE_INFO = 37
    ACTION_SPACE_CREATE_INFO = 38
    VIEW_CONFIGURATION_VIEW = 41
    SPACE_LOCATION = 42
    FRAME_STATE = 44
    VIEW_CONFIGURATION_PROPERTIES = 45
    FRAME_BEGIN_INFO = 46
    COMPOSITION_LAYER_PROJECTION_VIEW = 48
    EVENT_DATA_EVENTS_LOST = 49
    INTERACTION_PROFILE_SUGGESTED_BINDING = 51
    EVENT_DATA_INTERACTION_PROFILE_CHANGED = 52
    INTERACTION_PROFILE_STATE = 53
    SWAPCHAIN_IMAGE_ACQUIRE_INFO = 55
    SWAPCHAIN_IMAGE_WAIT_INFO = 56
    SWAPCHAIN_IMAGE_RELEASE_INFO = 57
    ACTION_STATE_GET_INFO = 58
    HAPTIC_ACTION_INFO = 59
    SESSION_ACTION_SETS_ATTACH_INFO = 60
    ACTIONS_SYNC_INFO = 61
    GRAPHICS_BINDING_OPENGL_XLIB_KHR = 1000023001
    SWAPCHAIN_IMAGE_OPENGL_KHR = 1000023004
    GRAPHICS_REQUIREMENTS_OPENGL_KHR = 1000023005
    GRAPHICS_BINDING_EGL_MNDX = 1000048004
    SYSTEM_HAND_TRACKING_PROPERTIES_EXT = 1000051000
    HAND_TRACKER_CREATE_INFO_EXT = 1000051001
    HAND_JOINTS_LOCATE_INFO_EXT = 1000051002
    HAND_JOINT_LOCATIONS_EXT = 1000051003


# XrSessionState
STATE_UNKNOWN, STATE_IDLE, STATE_READY, STATE_SYNCHRONIZED, STATE_VISIBLE, STATE_FOCUSED = 0, 1, 2, 3, 4, 5
STATE_STOPPING, STATE_LOSS_PENDING, STATE_EXITING = 6, 7, 8

FORM_FACTOR_HMD = 1
VIEW_CONFIGURATION_PRIMARY_STEREO = 2
BLEND_MODE_OPAQUE = 1
REFERENCE_SPACE_VIEW, REFERENCE_SPACE_LOCAL, REFERENCE_SPACE_STAGE = 1, 2, 3
ACTION_BOOLEAN, ACTION_FLOAT, ACTION_VECTOR2F, ACTION_POSE, ACTION_VIBRATION = 1, 2, 3, 4, 100
HAND_LEFT_EXT, HAND_RIGHT_EXT = 1, 2
HAND_JOINT_SET_DEFAULT_EXT = 0

SPACE_LOCATION_ORIENTATION_VALID = 0x1
SPACE_LOCATION_POSITION_VALID = 0x2
SPACE_LOCATION_ORIENTATION_TRACKED = 0x4
SPACE_LOCATION_POSITION_TRACKED = 0x8
SPACE_LOCATION_ALL = 0xF
VIEW_STATE_ALL = 0xF

# GL internal formats the swapchains offer, preferred first
GL_SRGB8_ALPHA8 = 0x8C43
GL_RGBA8 = 0x8058
GL_DEPTH_COMPONENT24 = 0x81A6
GL_DEPTH_COMPONENT32F = 0x8CAC
GL_DEPTH24_STENCIL8 = 0x88F0
SWAPCHAIN_USAGE_DEPTH_STENCIL_ATTACHMENT = 0x2


class Vector2f(Structure):
    _fields_ = [("x", c_float), ("y", c_float)]


class Quaternionf(Structure):
    _fields_ = [("x", c_float), ("y", c_float), ("z", c_float), ("w", c_float)]


class Vector3f(Structure):
    _fields_ = [("x", c_float), ("y", c_float), ("z", c_float)]


class Posef(Structure):
    _fields_ = [("orientation", Quaternionf), ("position", Vector3f)]


class Fovf(Structure):
    _fields_ = [("angleLeft", c_float), ("angleRight", c_float), ("angleUp", c_float), ("angleDown", c_float)]


class Offset2Di(Structure):
    _fields_ = [("x", c_int32), ("y", c_int32)]


class Extent2Di(Structure):
    _fields_ = [("width", c_int32), ("height", c_int32)]


class Rect2Di(Structure):
    _fields_ = [("offset", Offset2Di), ("extent", Extent2Di)]


def _s(*fields: tuple[str, object]) -> list[tuple[str, object]]:
    return [("type", c_int32), ("next", c_void_p), *fields]  # type: ignore[list-item]


class BaseHeader(Structure):
    _fields_ = _s()


class ApplicationInfo(Structure):
    _fields_ = [
        ("applicationName", c_char * 128),
        ("applicationVersion", c_uint32),
        ("engineName", c_char * 128),
        ("engineVersion", c_uint32),
        ("apiVersion", c_uint64),
    ]


class InstanceCreateInfo(Structure):
    _fields_ = _s(
        ("createFlags", XrFlags64),
        ("applicationInfo", ApplicationInfo),
        ("enabledApiLayerCount", c_uint32),
        ("enabledApiLayerNames", POINTER(c_char_p)),
        ("enabledExtensionCount", c_uint32),
        ("enabledExtensionNames", POINTER(c_char_p)),
    )


class ExtensionProperties(Structure):
    _fields_ = _s(("extensionName", c_char * 128), ("extensionVersion", c_uint32))


class InstanceProperties(Structure):
    _fields_ = _s(("runtimeVersion", c_uint64), ("runtimeName", c_char * 128))


class SystemGetInfo(Structure):
    _fields_ = _s(("formFactor", c_int32))


class SystemGraphicsProperties(Structure):
    _fields_ = [("maxSwapchainImageHeight", c_uint32), ("maxSwapchainImageWidth", c_uint32), ("maxLayerCount", c_uint32)]


class SystemTrackingProperties(Structure):
    _fields_ = [("orientationTracking", XrBool32), ("positionTracking", XrBool32)]


class SystemProperties(Structure):
    _fields_ = _s(
        ("systemId", XrSystemId),
        ("vendorId", c_uint32),
        ("systemName", c_char * 256),
        ("graphicsProperties", SystemGraphicsProperties),
        ("trackingProperties", SystemTrackingProperties),
    )


class SystemHandTrackingPropertiesEXT(Structure):
    _fields_ = _s(("supportsHandTracking", XrBool32))


class ViewConfigurationProperties(Structure):
    _fields_ = _s(("viewConfigurationType", c_int32), ("fovMutable", XrBool32))


class ViewConfigurationView(Structure):
    _fields_ = _s(
        ("recommendedImageRectWidth", c_uint32),
        ("maxImageRectWidth", c_uint32),
        ("recommendedImageRectHeight", c_uint32),
        ("maxImageRectHeight", c_uint32),
        ("recommendedSwapchainSampleCount", c_uint32),
        ("maxSwapchainSampleCount", c_uint32),
    )


class GraphicsRequirementsOpenGLKHR(Structure):
    _fields_ = _s(("minApiVersionSupported", c_uint64), ("maxApiVersionSupported", c_uint64))


class GraphicsBindingOpenGLXlibKHR(Structure):
    _fields_ = _s(
        ("xDisplay", c_void_p),
        ("visualid", c_uint32),
        ("glxFBConfig", c_void_p),
        ("glxDrawable", ctypes.c_ulong),
        ("glxContext", c_void_p),
    )


class GraphicsBindingEGLMNDX(Structure):
    _fields_ = _s(("getProcAddress", c_void_p), ("display", c_void_p), ("config", c_void_p), ("context", c_void_p))


class SessionCreateInfo(Structure):
    _fields_ = _s(("createFlags", XrFlags64), ("systemId", XrSystemId))


class SessionBeginInfo(Structure):
    _fields_ = _s(("primaryViewConfigurationType", c_int32))


class ReferenceSpaceCreateInfo(Structure):
    _fields_ = _s(("referenceSpaceType", c_int32), ("poseInReferenceSpace", Posef))


class ActionSpaceCreateInfo(Structure):
    _fields_ = _s(("action", Handle), ("subactionPath", XrPath), ("poseInActionSpace", Posef))


class SpaceLocation(Structure):
    _fields_ = _s(("locationFlags", XrFlags64), ("pose", Posef))


class SwapchainCreateInfo(Structure):
    _fields_ = _s(
        ("createFlags", XrFlags64),
        ("usageFlags", XrFlags64),
        ("format", c_int64),
        ("sampleCount", c_uint32),
        ("width", c_uint32),
        ("height", c_uint32),
        ("faceCount", c_uint32),
        ("arraySize", c_uint32),
        ("mipCount", c_uint32),
    )


class SwapchainImageOpenGLKHR(Structure):
    _fields_ = _s(("image", c_uint32))


class SwapchainImageWaitInfo(Structure):
    _fields_ = _s(("timeout", XrDuration))


class FrameState(Structure):
    _fields_ = _s(("predictedDisplayTime", XrTime), ("predictedDisplayPeriod", XrDuration), ("shouldRender", XrBool32))


class CompositionLayerBaseHeader(Structure):
    _fields_ = _s(("layerFlags", XrFlags64), ("space", Handle))


class SwapchainSubImage(Structure):
    _fields_ = [("swapchain", Handle), ("imageRect", Rect2Di), ("imageArrayIndex", c_uint32)]


class CompositionLayerProjectionView(Structure):
    _fields_ = _s(("pose", Posef), ("fov", Fovf), ("subImage", SwapchainSubImage))


class CompositionLayerProjection(Structure):
    _fields_ = _s(
        ("layerFlags", XrFlags64),
        ("space", Handle),
        ("viewCount", c_uint32),
        ("views", POINTER(CompositionLayerProjectionView)),
    )


class CompositionLayerQuad(Structure):
    _fields_ = _s(
        ("layerFlags", XrFlags64),
        ("space", Handle),
        ("eyeVisibility", c_int32),
        ("subImage", SwapchainSubImage),
        ("pose", Posef),
        ("size", Extent2Di),
    )


class FrameEndInfo(Structure):
    _fields_ = _s(
        ("displayTime", XrTime),
        ("environmentBlendMode", c_int32),
        ("layerCount", c_uint32),
        ("layers", POINTER(POINTER(CompositionLayerBaseHeader))),
    )


class ViewLocateInfo(Structure):
    _fields_ = _s(("viewConfigurationType", c_int32), ("displayTime", XrTime), ("space", Handle))


class ViewState(Structure):
    _fields_ = _s(("viewStateFlags", XrFlags64))


class View(Structure):
    _fields_ = _s(("pose", Posef), ("fov", Fovf))


class EventDataBuffer(Structure):
    _fields_ = _s(("varying", ctypes.c_uint8 * 4000))


class EventDataSessionStateChanged(Structure):
    _fields_ = _s(("session", Handle), ("state", c_int32), ("time", XrTime))


class EventDataInstanceLossPending(Structure):
    _fields_ = _s(("lossTime", XrTime))


class EventDataInteractionProfileChanged(Structure):
    _fields_ = _s(("session", Handle))


class EventDataEventsLost(Structure):
    _fields_ = _s(("lostEventCount", c_uint32))


class ActionSetCreateInfo(Structure):
    _fields_ = _s(("actionSetName", c_char * 64), ("localizedActionSetName", c_char * 128), ("priority", c_uint32))


class ActionCreateInfo(Structure):
    _fields_ = _s(
        ("actionName", c_char * 64),
        ("actionType", c_int32),
        ("countSubactionPaths", c_uint32),
        ("subactionPaths", POINTER(XrPath)),
        ("localizedActionName", c_char * 128),
    )


class ActionSuggestedBinding(Structure):
    _fields_ = [("action", Handle), ("binding", XrPath)]


class InteractionProfileSuggestedBinding(Structure):
    _fields_ = _s(
        ("interactionProfile", XrPath),
        ("countSuggestedBindings", c_uint32),
        ("suggestedBindings", POINTER(ActionSuggestedBinding)),
    )


class SessionActionSetsAttachInfo(Structure):
    _fields_ = _s(("countActionSets", c_uint32), ("actionSets", POINTER(Handle)))


class ActiveActionSet(Structure):
    _fields_ = [("actionSet", Handle), ("subactionPath", XrPath)]


class ActionsSyncInfo(Structure):
    _fields_ = _s(("countActiveActionSets", c_uint32), ("activeActionSets", POINTER(ActiveActionSet)))


class ActionStateGetInfo(Structure):
    _fields_ = _s(("action", Handle), ("subactionPath", XrPath))


class ActionStateBoolean(Structure):
    _fields_ = _s(("currentState", XrBool32), ("changedSinceLastSync", XrBool32), ("lastChangeTime", XrTime), ("isActive", XrBool32))


class ActionStateFloat(Structure):
    _fields_ = _s(("currentState", c_float), ("changedSinceLastSync", XrBool32), ("lastChangeTime", XrTime), ("isActive", XrBool32))


class ActionStateVector2f(Structure):
    _fields_ = _s(("currentState", Vector2f), ("changedSinceLastSync", XrBool32), ("lastChangeTime", XrTime), ("isActive", XrBool32))


class ActionStatePose(Structure):
    _fields_ = _s(("isActive", XrBool32))


class HapticActionInfo(Structure):
    _fields_ = _s(("action", Handle), ("subactionPath", XrPath))


class HapticVibration(Structure):
    _fields_ = _s(("duration", XrDuration), ("frequency", c_float), ("amplitude", c_float))


class InteractionProfileState(Structure):
    _fields_ = _s(("interactionProfile", XrPath))


class BoundSourcesForActionEnumerateInfo(Structure):
    _fields_ = _s(("action", Handle))


class HandTrackerCreateInfoEXT(Structure):
    _fields_ = _s(("hand", c_int32), ("handJointSet", c_int32))


class HandJointsLocateInfoEXT(Structure):
    _fields_ = _s(("baseSpace", Handle), ("time", XrTime))


class HandJointLocationEXT(Structure):
    _fields_ = [("locationFlags", XrFlags64), ("pose", Posef), ("radius", c_float)]


class HandJointLocationsEXT(Structure):
    _fields_ = _s(("isActive", XrBool32), ("jointCount", c_uint32), ("jointLocations", POINTER(HandJointLocationEXT)))


P = POINTER
PH = POINTER(Handle)
U32P = POINTER(c_uint32)

# Entry point name -> ctypes signature (restype first). The runtime implements each of these.
SIGNATURES: dict[str, tuple[object, ...]] = {
    "xrEnumerateInstanceExtensionProperties": (XrResult, c_char_p, c_uint32, U32P, P(ExtensionProperties)),
    "xrCreateInstance": (XrResult, P(InstanceCreateInfo), PH),
    "xrDestroyInstance": (XrResult, Handle),
    "xrGetInstanceProperties": (XrResult, Handle, P(InstanceProperties)),
    "xrPollEvent": (XrResult, Handle, P(EventDataBuffer)),
    "xrResultToString": (XrResult, Handle, c_int32, c_void_p),
    "xrStructureTypeToString": (XrResult, Handle, c_int32, c_void_p),
    "xrGetSystem": (XrResult, Handle, P(SystemGetInfo), P(XrSystemId)),
    "xrGetSystemProperties": (XrResult, Handle, XrSystemId, P(SystemProperties)),
    "xrEnumerateEnvironmentBlendModes": (XrResult, Handle, XrSystemId, c_int32, c_uint32, U32P, P(c_int32)),
    "xrEnumerateViewConfigurations": (XrResult, Handle, XrSystemId, c_uint32, U32P, P(c_int32)),
    "xrGetViewConfigurationProperties": (XrResult, Handle, XrSystemId, c_int32, P(ViewConfigurationProperties)),
    "xrEnumerateViewConfigurationViews": (XrResult, Handle, XrSystemId, c_int32, c_uint32, U32P, P(ViewConfigurationView)),
    "xrStringToPath": (XrResult, Handle, c_char_p, P(XrPath)),
    "xrPathToString": (XrResult, Handle, XrPath, c_uint32, U32P, c_void_p),
    "xrGetOpenGLGraphicsRequirementsKHR": (XrResult, Handle, XrSystemId, P(GraphicsRequirementsOpenGLKHR)),
    "xrCreateSession": (XrResult, Handle, P(SessionCreateInfo), PH),
    "xrDestroySession": (XrResult, Handle),
    "xrBeginSession": (XrResult, Handle, P(SessionBeginInfo)),
    "xrEndSession": (XrResult, Handle),
    "xrRequestExitSession": (XrResult, Handle),
    "xrEnumerateReferenceSpaces": (XrResult, Handle, c_uint32, U32P, P(c_int32)),
    "xrCreateReferenceSpace": (XrResult, Handle, P(ReferenceSpaceCreateInfo), PH),
    "xrGetReferenceSpaceBoundsRect": (XrResult, Handle, c_int32, P(Extent2Di)),
    "xrCreateActionSpace": (XrResult, Handle, P(ActionSpaceCreateInfo), PH),
    "xrLocateSpace": (XrResult, Handle, Handle, XrTime, P(SpaceLocation)),
    "xrDestroySpace": (XrResult, Handle),
    "xrEnumerateSwapchainFormats": (XrResult, Handle, c_uint32, U32P, P(c_int64)),
    "xrCreateSwapchain": (XrResult, Handle, P(SwapchainCreateInfo), PH),
    "xrDestroySwapchain": (XrResult, Handle),
    "xrEnumerateSwapchainImages": (XrResult, Handle, c_uint32, U32P, P(SwapchainImageOpenGLKHR)),
    "xrAcquireSwapchainImage": (XrResult, Handle, c_void_p, U32P),
    "xrWaitSwapchainImage": (XrResult, Handle, P(SwapchainImageWaitInfo)),
    "xrReleaseSwapchainImage": (XrResult, Handle, c_void_p),
    "xrWaitFrame": (XrResult, Handle, c_void_p, P(FrameState)),
    "xrBeginFrame": (XrResult, Handle, c_void_p),
    "xrEndFrame": (XrResult, Handle, P(FrameEndInfo)),
    "xrLocateViews": (XrResult, Handle, P(ViewLocateInfo), P(ViewState), c_uint32, U32P, P(View)),
    "xrCreateActionSet": (XrResult, Handle, P(ActionSetCreateInfo), PH),
    "xrDestroyActionSet": (XrResult, Handle),
    "xrCreateAction": (XrResult, Handle, P(ActionCreateInfo), PH),
    "xrDestroyAction": (XrResult, Handle),
    "xrSuggestInteractionProfileBindings": (XrResult, Handle, P(InteractionProfileSuggestedBinding)),
    "xrAttachSessionActionSets": (XrResult, Handle, P(SessionActionSetsAttachInfo)),
    "xrGetCurrentInteractionProfile": (XrResult, Handle, XrPath, P(InteractionProfileState)),
    "xrGetActionStateBoolean": (XrResult, Handle, P(ActionStateGetInfo), P(ActionStateBoolean)),
    "xrGetActionStateFloat": (XrResult, Handle, P(ActionStateGetInfo), P(ActionStateFloat)),
    "xrGetActionStateVector2f": (XrResult, Handle, P(ActionStateGetInfo), P(ActionStateVector2f)),
    "xrGetActionStatePose": (XrResult, Handle, P(ActionStateGetInfo), P(ActionStatePose)),
    "xrSyncActions": (XrResult, Handle, P(ActionsSyncInfo)),
    "xrEnumerateBoundSourcesForAction": (XrResult, Handle, P(BoundSourcesForActionEnumerateInfo), c_uint32, U32P, P(XrPath)),
    "xrGetInputSourceLocalizedName": (XrResult, Handle, c_void_p, c_uint32, U32P, c_void_p),
    "xrApplyHapticFeedback": (XrResult, Handle, P(HapticActionInfo), P(HapticVibration)),
    "xrStopHapticFeedback": (XrResult, Handle, P(HapticActionInfo)),
    "xrCreateHandTrackerEXT": (XrResult, Handle, P(HandTrackerCreateInfoEXT), PH),
    "xrDestroyHandTrackerEXT": (XrResult, Handle),
    "xrLocateHandJointsEXT": (XrResult, Handle, P(HandJointsLocateInfoEXT), P(HandJointLocationsEXT)),
}


def write_string(buf_addr: int, capacity: int, count_out: "ctypes._Pointer[c_uint32]", text: str) -> int:
    """The two-call idiom for strings: report the size, copy when there is room."""
    data = text.encode() + b"\0"
    if count_out:
        count_out[0] = len(data)
    if capacity == 0:
        return SUCCESS
    if capacity < len(data) or not buf_addr:
        return ERROR_SIZE_INSUFFICIENT
    ctypes.memmove(buf_addr, data, len(data))
    return SUCCESS
