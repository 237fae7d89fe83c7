"""Build the simulated headset's C shim on first use and write its runtime manifest.

The shim (``shim.c`` next to this file) is compiled with the system C compiler into a cache
directory keyed by a hash of its source, so a changed source gets a fresh build and an unchanged
one is built once per machine:

    $XDG_CACHE_HOME/vrdiplomacy/simxr/<hash>/libvrd_simxr.so     (default ~/.cache/...)
    $XDG_CACHE_HOME/vrdiplomacy/simxr/<hash>/vrd_simxr.json      (the OpenXR runtime manifest)

Builds go to a temporary name and are renamed into place, so two processes building at once
both end up with a complete library.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from vrdiplomacy.errors import PlatformError

SHIM_SOURCE = Path(__file__).with_name("shim.c")
LIBRARY_NAME = "libvrd_simxr.so"
MANIFEST_NAME = "vrd_simxr.json"
RUNTIME_NAME = "vrdiplomacy simulated headset"


class ShimBuildError(PlatformError):
    """The C shim could not be compiled (no compiler, or the compiler failed)."""


@dataclass(frozen=True)
class BuiltShim:
    """Where the compiled shim and its manifest are.

    Fields: ``library`` the shared library, ``manifest`` the runtime manifest JSON that
    ``XR_RUNTIME_JSON`` should name, ``source_hash`` the first 16 hex digits of the source hash.
    """

    library: Path
    manifest: Path
    source_hash: str


def cache_root() -> Path:
    """``$XDG_CACHE_HOME/vrdiplomacy/simxr`` (``~/.cache/vrdiplomacy/simxr`` by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vrdiplomacy" / "simxr"


def _compiler() -> str:
    for name in (os.environ.get("CC", ""), "gcc", "cc", "clang"):
        if name and shutil.which(name):
            return name
    raise ShimBuildError(
        "the simulated headset needs a C compiler to build its shim and none was found "
        "(install gcc: apt-get install gcc libc6-dev)"
    )


def manifest_text(library: Path) -> str:
    return json.dumps(
        {
            "file_format_version": "1.0.0",
            "runtime": {"name": RUNTIME_NAME, "library_path": str(library)},
        },
        indent=2,
    ) + "\n"


def ensure_shim(cache: Path | None = None) -> BuiltShim:
    """Return the built shim, compiling it first when this source has not been built yet."""
    source = SHIM_SOURCE.read_bytes()
    digest = hashlib.sha256(source).hexdigest()[:16]
    out_dir = (cache or cache_root()) / digest
    library = out_dir / LIBRARY_NAME
    manifest = out_dir / MANIFEST_NAME
    if not library.is_file():
        out_dir.mkdir(parents=True, exist_ok=True)
        cc = _compiler()
        fd, tmp_name = tempfile.mkstemp(prefix=".build-", suffix=".so", dir=out_dir)
        os.close(fd)
        cmd = [cc, "-shared", "-fPIC", "-O2", "-fvisibility=hidden", "-o", tmp_name, str(SHIM_SOURCE)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as e:
            Path(tmp_name).unlink(missing_ok=True)
            raise ShimBuildError(f"building the simulated headset shim failed: {e}") from None
        if proc.returncode != 0:
            Path(tmp_name).unlink(missing_ok=True)
            detail = (proc.stderr or proc.stdout).strip().splitlines()
            raise ShimBuildError(
                f"building the simulated headset shim with {cc} failed: {detail[0] if detail else proc.returncode}"
            )
        os.replace(tmp_name, library)
    text = manifest_text(library)
    if not manifest.is_file() or manifest.read_text(encoding="utf-8") != text:
        fd, tmp_name = tempfile.mkstemp(prefix=".manifest-", suffix=".json", dir=out_dir)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp_name, manifest)
    return BuiltShim(library, manifest, digest)
