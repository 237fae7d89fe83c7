"""Native libraries loaded by ctypes, found on every desktop OS, with an install hint per OS.

=========  =======================  ===========================  ==============================
library    Linux                    macOS                        Windows
=========  =======================  ===========================  ==============================
opus       libopus.so.0             libopus.0.dylib (Homebrew)   opus.dll / libopus-0.dll
mysofa     libmysofa.so.1           libmysofa.dylib (Homebrew)   mysofa.dll
EGL        libEGL.so.1              (none: CGL)                  libEGL.dll (ANGLE), rarely
=========  =======================  ===========================  ==============================

:func:`find_library` tries ``ctypes.util.find_library``, then each OS's file names in the
usual folders (Homebrew's ``/opt/homebrew/lib`` and ``/usr/local/lib`` on macOS, the folders
on ``PATH`` and beside the Python executable on Windows); :func:`load_library` loads it or
raises a :class:`PlatformError` that says how to install it on this OS.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from vrdiplomacy.errors import PlatformError
from vrdiplomacy.platform.detect import LINUX, MACOS, WINDOWS, os_name

NAMES: dict[str, dict[str, tuple[str, ...]]] = {
    "opus": {LINUX: ("libopus.so.0", "libopus.so"), MACOS: ("libopus.0.dylib", "libopus.dylib"),
             WINDOWS: ("opus.dll", "libopus-0.dll", "libopus.dll")},
    "mysofa": {LINUX: ("libmysofa.so.1", "libmysofa.so"), MACOS: ("libmysofa.1.dylib", "libmysofa.dylib"),
               WINDOWS: ("mysofa.dll", "libmysofa.dll")},
    "EGL": {LINUX: ("libEGL.so.1", "libEGL.so"), MACOS: (), WINDOWS: ("libEGL.dll",)},
}

HINTS: dict[str, dict[str, str]] = {
    "opus": {LINUX: "apt install libopus0 (Fedora: dnf install opus)", MACOS: "brew install opus",
             WINDOWS: "put opus.dll (from the Opus release or vcpkg: vcpkg install opus) next to python.exe or on PATH"},
    "mysofa": {LINUX: "apt install libmysofa1", MACOS: "brew install libmysofa",
               WINDOWS: "build mysofa.dll (vcpkg install libmysofa) and put it on PATH"},
    "EGL": {LINUX: "apt install libegl1 libegl-mesa0",
            MACOS: "macOS has no EGL: use the desktop window (OpenGL through CGL)",
            WINDOWS: "Windows has no system EGL: use the desktop window (WGL)"},
}


def _folders(name: str, environ: Mapping[str, str]) -> list[Path]:
    if name == MACOS:
        return [Path("/opt/homebrew/lib"), Path("/usr/local/lib"), Path("/opt/local/lib")]
    if name == WINDOWS:
        return [Path(sys.executable).parent] + [Path(p) for p in environ.get("PATH", "").split(os.pathsep) if p]
    return []


def candidates(lib: str, platform: str | None = None, environ: Mapping[str, str] | None = None) -> list[str]:
    """Names and paths to try for ``lib`` on this OS, in order."""
    env = os.environ if environ is None else environ
    name = os_name(platform)
    files = NAMES.get(lib, {}).get(name, ())
    out = list(files)
    for folder in _folders(name, env):
        out += [str(folder / f) for f in files]
    return out


def install_hint(lib: str, platform: str | None = None) -> str:
    return HINTS.get(lib, {}).get(os_name(platform), f"install {lib}")


def find_library(lib: str, platform: str | None = None, environ: Mapping[str, str] | None = None) -> str | None:
    """The first loadable name or existing path for ``lib``, or None."""
    found = ctypes.util.find_library(lib) if platform is None else None
    if found:
        return found
    for c in candidates(lib, platform, environ):
        if os.sep in c or "/" in c:
            if Path(c).is_file():
                return c
        elif platform is None or os_name(platform) == os_name():
            return c  # a bare soname: the dynamic linker searches for it
    return None


def load_library(lib: str, why: str) -> ctypes.CDLL:
    """Load ``lib`` (see the module docstring) or say how to install it here; ``why`` names the use."""
    tried = []
    for c in ([ctypes.util.find_library(lib)] if ctypes.util.find_library(lib) else []) + candidates(lib):
        try:
            return ctypes.CDLL(c)
        except OSError:
            tried.append(c)
    raise PlatformError(f"{why} needs the {lib} library, which was not found (tried {', '.join(tried) or 'nothing'}): "
                        f"{install_hint(lib)}")
