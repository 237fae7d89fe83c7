"""Why OpenXR did not start, in one line, from the Khronos loader's and the runtime's own lines.

The loader and the runtime write their reasons to stderr; :mod:`vrdiplomacy.xr.openxr_backend`
captures those lines while it creates the instance and the session and passes them here with
the call's XrResult. Each failure kind gets its own message:

* ``XR_RUNTIME_JSON`` names a file that does not exist (missing manifest);
* the manifest is not valid JSON (the parser's message);
* the manifest's ``library_path`` cannot be loaded (the dynamic linker's message);
* the runtime loaded and refused: negotiation, instance or session (the XrResult's name and
  the runtime's own reason);
* no runtime configured at all.

Pure functions over text: testable without a runtime.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_OPEN = re.compile(r"failed to open (.+?)\.\s+Does it exist\?")
_PARSE = re.compile(r"failed to parse (.+?)\. \(Error message: (.*)")
_LIB = re.compile(r"skipping manifest file (.+?), failed to load with message \"(.*)\"")
_NEGOTIATE = re.compile(r"skipping manifest file (.+?), negotiation failed with error (-?\d+)")
_LOADER_TAG = "OpenXR-Loader"

# XrResult values the loader prints as numbers (OpenXR 1.0, core)
RESULT_NAMES = {
    -1: "XR_ERROR_VALIDATION_FAILURE", -2: "XR_ERROR_RUNTIME_FAILURE", -3: "XR_ERROR_OUT_OF_MEMORY",
    -4: "XR_ERROR_API_VERSION_UNSUPPORTED", -6: "XR_ERROR_INITIALIZATION_FAILED", -7: "XR_ERROR_FUNCTION_UNSUPPORTED",
    -8: "XR_ERROR_FEATURE_UNSUPPORTED", -9: "XR_ERROR_EXTENSION_NOT_PRESENT", -10: "XR_ERROR_LIMIT_REACHED",
    -51: "XR_ERROR_RUNTIME_UNAVAILABLE",
}


@dataclass(frozen=True)
class XrFailure:
    """``kind`` one of missing_manifest, bad_manifest, missing_library, refused, no_runtime,
    loader; ``message`` the one line for the user; ``detail`` the loader's and runtime's lines."""

    kind: str
    message: str
    detail: tuple[str, ...] = ()


def runtime_lines(lines: Sequence[str]) -> list[str]:
    """The lines that are not the loader's (a runtime's own reasons)."""
    return [x for x in lines if _LOADER_TAG not in x and x.strip()]


def _joined(lines: Sequence[str]) -> str:
    return " ".join(x.strip() for x in lines if x.strip())


def result_name(e: object) -> str:
    """``XR_ERROR_…`` for a pyopenxr exception (or an int result)."""
    if isinstance(e, int):
        return RESULT_NAMES.get(e, f"XrResult {e}")
    get = getattr(e, "get_result_enum", None)
    try:
        r = get() if get is not None else None
    except Exception:  # pyopenxr's base class has no result
        r = None
    if r is not None:
        return "XR_" + str(getattr(r, "name", r))
    return type(e).__name__


def explain_load_failure(lines: Sequence[str], runtime_json: str | None, result: str) -> XrFailure:
    """Why the loader found no usable runtime (xrEnumerateInstanceExtensionProperties or
    xrCreateInstance failed before any runtime answered)."""
    text = "\n".join(lines)
    detail = tuple(lines)
    if m := _OPEN.search(text):
        return XrFailure("missing_manifest", f"XR_RUNTIME_JSON names the runtime manifest {m.group(1)}, which does not "
                         "exist: point it at your runtime's .json (or unset it to use the active runtime)", detail)
    if m := _PARSE.search(text):
        idx = next(i for i, x in enumerate(lines) if "failed to parse" in x)
        why = _joined([m.group(2)] + [x for x in lines[idx + 1:idx + 4] if _LOADER_TAG not in x])
        why = why.replace(") Is it a valid runtime manifest file?", "").strip()
        return XrFailure("bad_manifest", f"the OpenXR runtime manifest {m.group(1)} is not valid JSON ({why})", detail)
    if m := _LIB.search(text):
        return XrFailure("missing_library", f"the OpenXR runtime library named by {m.group(1)} cannot be loaded "
                         f"({m.group(2)})", detail)
    if m := _NEGOTIATE.search(text):
        code = int(m.group(2))
        own = _joined(runtime_lines(lines))
        return XrFailure("refused", f"the OpenXR runtime in {m.group(1)} refused to start: "
                         f"{RESULT_NAMES.get(code, f'XrResult {code}')}" + (f" ({own})" if own else ""), detail)
    if runtime_json:
        return XrFailure("loader", f"the OpenXR runtime named by XR_RUNTIME_JSON={runtime_json} failed to load "
                         f"({result}{': ' + _joined(lines[-2:]) if lines else ''})", detail)
    return XrFailure("no_runtime", "no OpenXR runtime is installed or active (no active_runtime.json, XR_RUNTIME_JSON "
                     "unset)", detail)


def explain_refusal(call: str, runtime: str | None, result: str, lines: Sequence[str]) -> XrFailure:
    """The runtime (``runtime`` its name, None before the instance tells it) loaded and refused
    ``call`` (instance or session creation)."""
    own = _joined(runtime_lines(lines)) or _joined(lines)
    what = {"xrCreateInstance": "to create an instance", "xrCreateSession": "the session"}.get(call, call)
    who = f"the OpenXR runtime {runtime!r}" if runtime else "the OpenXR runtime"
    return XrFailure("refused", f"{who} refused {what}: {result}"
                     + (f" ({own})" if own else " (it gave no reason)"), tuple(lines))
