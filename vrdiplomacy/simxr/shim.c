/*
 * vrdiplomacy simulated headset: the native face of a Python OpenXR runtime.
 *
 * The Khronos loader dlopen()s this library (named by the runtime manifest that
 * XR_RUNTIME_JSON points at) and calls xrNegotiateLoaderRuntimeInterface. Every
 * OpenXR entry point is implemented in Python (vrdiplomacy.simxr.runtime) and handed
 * to this library as a ctypes callback through vrd_simxr_register(), before the loader
 * loads the library: the application process loads the same file first with ctypes,
 * so the loader's dlopen() returns the same, already filled, function table.
 */
#include <stdint.h>
#include <stddef.h>
#include <string.h>

#if defined(_WIN32)
#define VRD_EXPORT __declspec(dllexport)
#else
#define VRD_EXPORT __attribute__((visibility("default")))
#endif

typedef int32_t XrResult;
typedef uint64_t XrVersion;
typedef void *XrInstance;
typedef void (*PFN_xrVoidFunction)(void);
typedef XrResult (*PFN_xrGetInstanceProcAddr)(XrInstance, const char *, PFN_xrVoidFunction *);

#define XR_SUCCESS 0
#define XR_ERROR_VALIDATION_FAILURE (-1)
#define XR_ERROR_RUNTIME_FAILURE (-2)
#define XR_ERROR_INITIALIZATION_FAILED (-6)
#define XR_ERROR_FUNCTION_UNSUPPORTED (-7)
#define XR_ERROR_LIMIT_REACHED (-10)
#define XR_ERROR_HANDLE_INVALID (-12)

/* XrLoaderInterfaceStructs, from openxr_loader_negotiation.h (loader interface version 1). */
#define XR_LOADER_INTERFACE_STRUCT_LOADER_INFO 1
#define XR_LOADER_INTERFACE_STRUCT_RUNTIME_REQUEST 3
#define XR_LOADER_INFO_STRUCT_VERSION 1
#define XR_RUNTIME_INFO_STRUCT_VERSION 1
#define XR_CURRENT_LOADER_RUNTIME_VERSION 1
#define XR_MAKE_VERSION(major, minor, patch) \
    ((((uint64_t)(major) & 0xffffULL) << 48) | (((uint64_t)(minor) & 0xffffULL) << 32) | ((uint64_t)(patch) & 0xffffffffULL))

typedef struct XrNegotiateLoaderInfo {
    int32_t structType;
    uint32_t structVersion;
    size_t structSize;
    uint32_t minInterfaceVersion;
    uint32_t maxInterfaceVersion;
    XrVersion minApiVersion;
    XrVersion maxApiVersion;
} XrNegotiateLoaderInfo;

typedef struct XrNegotiateRuntimeRequest {
    int32_t structType;
    uint32_t structVersion;
    size_t structSize;
    uint32_t runtimeInterfaceVersion;
    XrVersion runtimeApiVersion;
    PFN_xrGetInstanceProcAddr getInstanceProcAddr;
} XrNegotiateRuntimeRequest;

#define VRD_MAX_FUNCTIONS 128
#define VRD_MAX_NAME 64

static char g_names[VRD_MAX_FUNCTIONS][VRD_MAX_NAME];
static PFN_xrVoidFunction g_functions[VRD_MAX_FUNCTIONS];
static int g_count = 0;
static XrVersion g_api_version = XR_MAKE_VERSION(1, 0, 0);
static int g_negotiations = 0;

/* Python registers (or replaces) one entry point. Returns 0 on success. */
VRD_EXPORT int vrd_simxr_register(const char *name, PFN_xrVoidFunction fn) {
    if (name == NULL || strlen(name) >= VRD_MAX_NAME) return -1;
    for (int i = 0; i < g_count; ++i) {
        if (strcmp(g_names[i], name) == 0) {
            g_functions[i] = fn;
            return 0;
        }
    }
    if (g_count >= VRD_MAX_FUNCTIONS) return -2;
    strcpy(g_names[g_count], name);
    g_functions[g_count] = fn;
    ++g_count;
    return 0;
}

/* Forget every entry point (the runtime object is going away). */
VRD_EXPORT void vrd_simxr_clear(void) {
    g_count = 0;
}

VRD_EXPORT int vrd_simxr_count(void) { return g_count; }

/* How many times the loader negotiated with this library (tests check the loader came here). */
VRD_EXPORT int vrd_simxr_negotiations(void) { return g_negotiations; }

VRD_EXPORT void vrd_simxr_set_api_version(uint64_t version) { g_api_version = version; }

static XrResult vrd_get_instance_proc_addr(XrInstance instance, const char *name, PFN_xrVoidFunction *function) {
    (void)instance;
    if (function == NULL) return XR_ERROR_VALIDATION_FAILURE;
    *function = NULL;
    if (name == NULL) return XR_ERROR_VALIDATION_FAILURE;
    if (strcmp(name, "xrGetInstanceProcAddr") == 0) {
        *function = (PFN_xrVoidFunction)vrd_get_instance_proc_addr;
        return XR_SUCCESS;
    }
    for (int i = 0; i < g_count; ++i) {
        if (strcmp(g_names[i], name) == 0) {
            if (g_functions[i] == NULL) return XR_ERROR_FUNCTION_UNSUPPORTED;
            *function = g_functions[i];
            return XR_SUCCESS;
        }
    }
    return XR_ERROR_FUNCTION_UNSUPPORTED;
}

VRD_EXPORT XrResult xrNegotiateLoaderRuntimeInterface(const XrNegotiateLoaderInfo *loaderInfo,
                                                      XrNegotiateRuntimeRequest *runtimeRequest) {
    if (loaderInfo == NULL || runtimeRequest == NULL) return XR_ERROR_INITIALIZATION_FAILED;
    if (loaderInfo->structType != XR_LOADER_INTERFACE_STRUCT_LOADER_INFO ||
        loaderInfo->structVersion != XR_LOADER_INFO_STRUCT_VERSION ||
        loaderInfo->structSize != sizeof(XrNegotiateLoaderInfo))
        return XR_ERROR_INITIALIZATION_FAILED;
    if (runtimeRequest->structType != XR_LOADER_INTERFACE_STRUCT_RUNTIME_REQUEST ||
        runtimeRequest->structVersion != XR_RUNTIME_INFO_STRUCT_VERSION ||
        runtimeRequest->structSize != sizeof(XrNegotiateRuntimeRequest))
        return XR_ERROR_INITIALIZATION_FAILED;
    if (loaderInfo->minInterfaceVersion > XR_CURRENT_LOADER_RUNTIME_VERSION ||
        loaderInfo->maxInterfaceVersion < XR_CURRENT_LOADER_RUNTIME_VERSION)
        return XR_ERROR_INITIALIZATION_FAILED;
    if (g_count == 0) {
        /* Nobody registered a runtime in this process: the simulated headset is not running. */
        return XR_ERROR_INITIALIZATION_FAILED;
    }
    XrVersion api = g_api_version;
    if (api > loaderInfo->maxApiVersion) api = loaderInfo->maxApiVersion;
    if (api < loaderInfo->minApiVersion) return XR_ERROR_INITIALIZATION_FAILED;
    runtimeRequest->runtimeInterfaceVersion = XR_CURRENT_LOADER_RUNTIME_VERSION;
    runtimeRequest->runtimeApiVersion = api;
    runtimeRequest->getInstanceProcAddr = vrd_get_instance_proc_addr;
    ++g_negotiations;
    return XR_SUCCESS;
}
