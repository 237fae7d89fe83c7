#!/usr/bin/env python3
"""Build Monado's in-process OpenXR runtime (``openxr_monado``) for the test suite, cached by source version.

Monado is the open-source OpenXR runtime Linux headset users run. This script builds only what a
headless test needs, from Debian 13's (trixie) ``monado`` source package, on Debian 12:

1. build dependencies: checked with ``dpkg-query``; missing ones are installed with ``apt-get``
   only with ``--install-deps`` (implied under CI: ``CI=true``, running as root), otherwise the
   script stops and prints the ``apt-get install`` line to run;
2. source: ``apt-get source --download-only monado`` through a *private* APT configuration under
   the cache folder (its own sources list with one ``deb-src ... trixie main`` line on the mirror
   the system already uses, its own lists and archive cache), so the system's APT state is never
   touched; the orig tarball's SHA-256 is checked against the signed index;
3. configure: CMake + Ninja, in-process runtime only (no service, CLI, GUI, SteamVR plugin,
   SDL2/OpenCV/GStreamer/Wayland/DBus/systemd), the ``simulated`` driver (simulated HMD, the
   recipe's lifecycle runs) and the ``remote`` driver (a simulated HMD and two Valve Index
   controllers whose poses, buttons and finger curls come from a TCP socket, which is how a test
   feeds controller input headlessly); every other driver off;
4. patch: one source edit (``PATCHES``), checked to apply exactly once: the null compositor's
   frame rate, hard-coded to 20 Hz in Monado 25 (``null_compositor.c``:
   ``frame_interval_ns = U_TIME_1S_IN_NS / 20``), is read from ``XRT_COMPOSITOR_NULL_FPS``
   (default 20, so nothing changes unless it is set). At 20 Hz an app sees 20 input frames per
   second however fast it is, too few for the head and hand gestures the tests drive (nods,
   waves, applause); the tests run it at 60;
5. build: ``nice ninja -j2 openxr_monado``; the result, with the manifest
   ``openxr_monado-dev.json``, lives in ``<cache>/monado/<source version>+p<patches>/build`` and a
   later run with the same source version, patches and options finishes in seconds.

``<cache>`` is ``$VRDIPLOMACY_CACHE`` or ``$XDG_CACHE_HOME/vrdiplomacy`` or ``~/.cache/vrdiplomacy``.
The last line printed on success is ``manifest: <path>``; ``--print-manifest`` prints only the path
(and fails with exit status 3 when there is no cached build, without building).

Run by hand: ``python tools/monado/build.py`` (add ``--install-deps`` as root to let it apt-get).
Exit status: 0 built or cached; 2 build dependencies missing (message says which and how to
install); 3 nothing cached (``--print-manifest``/``--offline``); 1 any other failure, with the
failing command's last output lines.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

PACKAGE = "monado"
SUITE = "trixie"
TARGET = "openxr_monado"
MANIFEST = f"{TARGET}-dev.json"
INDEX_MAX_AGE_S = 24 * 3600
# Debian 12 packages needed to configure and build the in-process runtime (recipe: ../shared/xr/monado-recipe.md)
BUILD_DEPS = (
    "cmake", "ninja-build", "g++", "pkg-config", "glslang-tools", "libeigen3-dev", "libvulkan-dev",
    "libx11-dev", "libx11-xcb-dev", "libxcb-randr0-dev", "libxrandr-dev", "libxxf86vm-dev", "libgl-dev",
    "libegl-dev", "libglvnd-dev", "libcjson-dev", "libbsd-dev", "libudev-dev", "libusb-1.0-0-dev",
    "libhidapi-dev", "mesa-vulkan-drivers", "dpkg-dev", "xz-utils",
)
KEEP_DRIVERS = ("SIMULATED", "REMOTE")
BASE_OPTIONS = {
    "XRT_FEATURE_SERVICE": "OFF", "XRT_MODULE_MONADO_CLI": "OFF", "XRT_MODULE_MONADO_GUI": "OFF",
    "XRT_FEATURE_STEAMVR_PLUGIN": "OFF", "XRT_HAVE_SDL2": "OFF", "XRT_HAVE_OPENCV": "OFF", "XRT_HAVE_GST": "OFF",
    "XRT_HAVE_SYSTEMD": "OFF", "XRT_HAVE_WAYLAND": "OFF", "XRT_HAVE_DBUS": "OFF", "BUILD_TESTING": "OFF",
    "XRT_BUILD_SAMPLES": "OFF", "XRT_BUILD_DRIVER_SIMULATED": "ON", "XRT_BUILD_DRIVER_REMOTE": "ON",
    "XRT_MODULE_AUX_VIVE": "ON",  # the remote driver's controllers use aux_vive's Index bindings
}


@dataclass(frozen=True)
class SourcePatch:
    """Replace ``old`` (which must occur exactly once) with ``new`` in the source file ``path``."""

    path: str
    old: str
    new: str
    why: str


PATCHES = (
    SourcePatch(
        "src/xrt/compositor/null/null_compositor.c",
        "\tc->settings.frame_interval_ns = U_TIME_1S_IN_NS / 20; // 20 FPS\n",
        "\tc->settings.frame_interval_ns = U_TIME_1S_IN_NS / (debug_get_num_option_null_fps() > 0 ? "
        "debug_get_num_option_null_fps() : 20);\n",
        "null compositor frame rate from XRT_COMPOSITOR_NULL_FPS (default 20 Hz, as before)",
    ),
    SourcePatch(
        "src/xrt/compositor/null/null_compositor.c",
        'DEBUG_GET_ONCE_LOG_OPTION(log, "XRT_COMPOSITOR_LOG", U_LOGGING_INFO)\n',
        'DEBUG_GET_ONCE_LOG_OPTION(log, "XRT_COMPOSITOR_LOG", U_LOGGING_INFO)\n'
        'DEBUG_GET_ONCE_NUM_OPTION(null_fps, "XRT_COMPOSITOR_NULL_FPS", 20)\n',
        "(the option's reader)",
    ),
)


def patches_key(patches: tuple[SourcePatch, ...] = PATCHES) -> str:
    return hashlib.sha256(json.dumps([asdict(p) for p in patches]).encode()).hexdigest()[:8]


def apply_patches(src: Path, patches: tuple[SourcePatch, ...] = PATCHES) -> None:
    """Edit the unpacked source; a patch whose text is not found exactly once is a BuildError
    (a new source version that moved the line must be looked at, not built unpatched)."""
    for p in patches:
        f = src / p.path
        try:
            text = f.read_text()
        except OSError as e:
            raise BuildError(f"patch '{p.why}': cannot read {f}: {e.strerror}") from None
        n = text.count(p.old)
        if n != 1:
            raise BuildError(f"patch '{p.why}': expected the line {p.old.strip()!r} once in {p.path}, found it {n} times")
        f.write_text(text.replace(p.old, p.new))


class BuildError(Exception):
    """A step failed; ``status`` is the exit status to use."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def cache_root() -> Path:
    if os.environ.get("VRDIPLOMACY_CACHE"):
        return Path(os.environ["VRDIPLOMACY_CACHE"]) / "monado"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vrdiplomacy" / "monado"


def say(msg: str) -> None:
    print(f"[monado] {msg}", flush=True)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _tail(text: str, n: int = 25) -> str:
    return "\n".join(text.rstrip().splitlines()[-n:])


def run(cmd: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None, what: str) -> str:
    """Run a command, return its output; on failure raise BuildError naming ``what`` with the output's tail."""
    try:
        p = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    except FileNotFoundError:
        raise BuildError(f"{what}: '{cmd[0]}' is not installed") from None
    if p.returncode != 0:
        raise BuildError(f"{what} failed (exit {p.returncode}): {' '.join(cmd)}\n{_tail(p.stdout + p.stderr)}")
    return p.stdout


# ---------------------------------------------------------------------------- build dependencies

def missing_deps() -> list[str]:
    """The BUILD_DEPS packages dpkg does not list as installed (all of them when dpkg is absent)."""
    if shutil.which("dpkg-query") is None:
        return list(BUILD_DEPS)
    p = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${db:Status-Status}\n", *BUILD_DEPS],
                       capture_output=True, text=True)
    installed = {line.split()[0] for line in p.stdout.splitlines() if line.endswith(" installed")}
    return [d for d in BUILD_DEPS if d not in installed]


def install_command(pkgs: list[str]) -> list[str]:
    return ["apt-get", "install", "-y", "--no-install-recommends", *pkgs]


_STALE_LISTS = ("Unable to locate package", "404", "Failed to fetch", "has no installation candidate")


def ensure_deps(install: bool) -> None:
    missing = missing_deps()
    if not missing:
        say(f"build dependencies: all {len(BUILD_DEPS)} installed")
        return
    cmd = install_command(missing)
    if not install:
        raise BuildError(f"missing build dependencies: {' '.join(missing)}\n  install them with: {' '.join(cmd)}\n"
                         "  (or run this script as root with --install-deps)", status=2)
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        raise BuildError(f"missing build dependencies ({' '.join(missing)}) and cannot install them: "
                         f"{'apt-get is not available' if shutil.which('apt-get') is None else 'not running as root'}",
                         status=2)
    say(f"installing {len(missing)} build dependencies with apt-get: {' '.join(missing)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = [cmd[0], "-o", "DPkg::Lock::Timeout=300", *cmd[1:]]  # wait for another apt/dpkg instead of failing
    t0 = time.monotonic()
    try:
        run(cmd, env=env, what="apt-get install")
    except BuildError as e:
        if not any(m in str(e) for m in _STALE_LISTS):
            raise
        # a fresh CI image often ships without (or with stale) package lists
        say("apt-get install could not find or fetch packages; refreshing the system's package lists and retrying")
        run(["apt-get", "-o", "DPkg::Lock::Timeout=300", "update"], env=env, what="apt-get update")
        run(cmd, env=env, what="apt-get install")
    still = missing_deps()
    if still:
        raise BuildError(f"apt-get finished but these are still missing: {' '.join(still)}", status=2)
    say(f"installed build dependencies in {time.monotonic() - t0:.0f} s")


# ---------------------------------------------------------------------------- private APT

def system_mirror() -> str:
    """The Debian mirror URI the system already uses (deb822 debian.sources, else sources.list)."""
    deb822 = Path("/etc/apt/sources.list.d/debian.sources")
    if deb822.exists():
        for stanza in deb822.read_text().split("\n\n"):
            fields = dict(re.findall(r"^(\w[\w-]*):\s*(.*)$", stanza, re.M))
            uris, suites = fields.get("URIs", "").split(), fields.get("Suites", "").split()
            if uris and suites and not any(s.endswith("-security") for s in suites):
                return uris[0]
    legacy = Path("/etc/apt/sources.list")
    if legacy.exists():
        for line in legacy.read_text().splitlines():
            m = re.match(r"^\s*deb(?:-src)?\s+(?:\[[^]]*\]\s+)?(\S+)\s+(\S+)", line)
            if m and not m.group(2).endswith("-security"):
                return m.group(1)
    return "http://deb.debian.org/debian"


@dataclass
class PrivateApt:
    """An APT configuration of our own: one deb-src line, own lists and archive cache."""

    root: Path
    mirror: str = field(default_factory=system_mirror)

    def setup(self) -> None:
        for d in ("etc/sources.list.d", "etc/preferences.d", "lists/partial", "cache/archives/partial"):
            (self.root / d).mkdir(parents=True, exist_ok=True)
        (self.root / "etc/sources.list").write_text(f"deb-src {self.mirror} {SUITE} main\n")
        r = self.root
        (r / "apt.conf").write_text(
            f'Dir::Etc::sourcelist "{r}/etc/sources.list";\n'
            f'Dir::Etc::sourceparts "{r}/etc/sources.list.d";\n'
            f'Dir::Etc::preferencesparts "{r}/etc/preferences.d";\n'
            f'Dir::State::Lists "{r}/lists";\n'
            f'Dir::State::status "{r}/status";\n'
            f'Dir::Cache "{r}/cache";\n'
            'Dir::Cache::pkgcache "";\nDir::Cache::srcpkgcache "";\n'
            'APT::Sandbox::User "root";\n')
        (r / "status").touch()

    def env(self) -> dict[str, str]:
        return dict(os.environ, APT_CONFIG=str(self.root / "apt.conf"), LC_ALL="C")

    def index_age(self) -> float | None:
        lists = list((self.root / "lists").glob("*_Sources*"))
        return time.time() - max(p.stat().st_mtime for p in lists) if lists else None

    def update(self) -> None:
        say(f"updating the private source index ({self.mirror} {SUITE} main, in {self.root})")
        run(["apt-get", "update"], env=self.env(), what="apt-get update (private configuration)")

    def source_record(self) -> dict[str, object]:
        """Version and orig tarball (name, sha256) of the newest ``monado`` source package in the index."""
        out = run(["apt-cache", "showsrc", "--only-source", PACKAGE], env=self.env(), what="apt-cache showsrc")
        best: dict[str, object] | None = None
        for rec in out.split("\n\n"):
            m = re.search(r"^Version:\s*(\S+)", rec, re.M)
            sha = re.search(r"^Checksums-Sha256:\n((?: .*\n?)+)", rec, re.M)
            if not m or not sha:
                continue
            files = {parts[2]: parts[0] for parts in (ln.split() for ln in sha.group(1).splitlines()) if len(parts) == 3}
            orig = next((f for f in files if ".orig.tar." in f), None)
            if orig is None:
                continue
            cand = {"version": m.group(1), "orig": orig, "sha256": files[orig], "files": files}
            if best is None or _newer(str(cand["version"]), str(best["version"])):
                best = cand
        if best is None:
            raise BuildError(f"no '{PACKAGE}' source package in {self.mirror} {SUITE} main")
        return best

    def download(self, dest: Path) -> list[str]:
        """``apt-get source --download-only``; returns the file names present afterwards."""
        dest.mkdir(parents=True, exist_ok=True)
        p = subprocess.run(["apt-get", "source", "--download-only", PACKAGE], env=self.env(), cwd=dest,
                           capture_output=True, text=True)
        if p.returncode != 0:
            # the mirror sometimes lacks the .dsc / debian tarball; the orig tarball is what we build
            say("apt-get source reported: " + " / ".join(ln for ln in (p.stdout + p.stderr).splitlines() if ln.startswith("E:")))
        return sorted(x.name for x in dest.iterdir())


def _newer(a: str, b: str) -> bool:
    return subprocess.run(["dpkg", "--compare-versions", a, "gt", b]).returncode == 0 if shutil.which("dpkg") else a > b


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------------------- configure and build

def cmake_options(src: Path) -> dict[str, str]:
    """BASE_OPTIONS plus XRT_BUILD_DRIVER_<X>=OFF for every driver the source lists except KEEP_DRIVERS."""
    text = (src / "CMakeLists.txt").read_text()
    m = re.search(r"AVAILABLE_DRIVERS(.*?)\)", text, re.S)
    drivers = re.findall(r'"(\w+)"', m.group(1)) if m else []
    if not drivers:
        raise BuildError(f"cannot find the AVAILABLE_DRIVERS list in {src / 'CMakeLists.txt'}")
    opts = {f"XRT_BUILD_DRIVER_{d}": "OFF" for d in drivers if d not in KEEP_DRIVERS}
    opts.update(BASE_OPTIONS)
    return opts


def options_key(opts: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(sorted(opts.items())).encode()).hexdigest()[:16]


def unpack(download: Path, files: list[str], rec: dict[str, object], src: Path) -> str:
    """Unpack the source into ``src``; returns how (with or without Debian's patches)."""
    orig = download / str(rec["orig"])
    if not orig.exists():
        raise BuildError(f"apt-get source did not fetch {rec['orig']} (files: {', '.join(files) or 'none'})")
    got = sha256(orig)
    if got != rec["sha256"]:
        raise BuildError(f"{orig.name}: SHA-256 {got} does not match the index's {rec['sha256']}")
    say(f"{orig.name}: SHA-256 matches the signed index")
    if src.exists():
        shutil.rmtree(src)
    dsc = next((download / f for f in files if f.endswith(".dsc")), None)
    debian = [f for f in files if ".debian.tar." in f]
    if dsc is not None and debian and shutil.which("dpkg-source"):
        # every file was checked by apt against the signed index; the uploader's signature needs keyrings we lack
        run(["dpkg-source", "--no-check", "-x", str(dsc), str(src)], cwd=download, what="dpkg-source -x")
        return "Debian source package (orig + Debian patches)"
    tmp = src.parent / "unpack.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    with tarfile.open(orig) as tf:
        tf.extractall(tmp, filter="data")
    tops = list(tmp.iterdir())
    (tops[0] if len(tops) == 1 else tmp).rename(src)
    shutil.rmtree(tmp, ignore_errors=True)
    return "upstream orig tarball only (the mirror did not serve the .dsc / Debian patches)"


def stream(cmd: list[str], cwd: Path, what: str, log: Path) -> None:
    """Run a long command, printing ninja's [n/N] progress about every 5 %, keeping its output in ``log``."""
    say(f"{what}: {' '.join(cmd)}")
    last_pct = -100
    lines: list[str] = []
    with open(log, "w") as logf:
        p = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert p.stdout is not None
        for line in p.stdout:
            logf.write(line)
            lines.append(line)
            del lines[:-40]
            m = re.match(r"\[(\d+)/(\d+)\]", line)
            if m:
                pct = 100 * int(m.group(1)) // int(m.group(2))
                if pct >= last_pct + 5 or m.group(1) == m.group(2):
                    last_pct = pct
                    say(f"  {what}: {m.group(1)}/{m.group(2)} ({pct} %)")
        rc = p.wait()
    if rc != 0:
        raise BuildError(f"{what} failed (exit {rc}); full log: {log}\n{''.join(lines[-25:]).rstrip()}")


def configure_and_build(src: Path, build: Path, opts: dict[str, str], jobs: int) -> None:
    build.mkdir(parents=True, exist_ok=True)
    cmd = ["cmake", "-S", str(src), "-B", str(build), "-G", "Ninja", *(f"-D{k}={v}" for k, v in sorted(opts.items()))]
    stream(cmd, build, "configure", build.parent / "configure.log")
    stream(["nice", "ninja", "-C", str(build), f"-j{jobs}", TARGET], build, "build", build.parent / "build.log")
    if not (build / MANIFEST).exists():
        raise BuildError(f"the build finished but wrote no {build / MANIFEST}")


# ---------------------------------------------------------------------------- cache

def cached_builds(root: Path) -> list[dict[str, object]]:
    """Complete builds with today's patches in the cache (build-info.json present, manifest and
    library exist), newest first."""
    out = []
    for info in root.glob("*/build-info.json"):
        try:
            data = json.loads(info.read_text())
        except (OSError, ValueError):
            continue
        if data.get("patches_key") != patches_key():
            continue
        if Path(str(data.get("manifest", ""))).exists() and Path(str(data.get("library", ""))).exists():
            out.append(data)
    return sorted(out, key=lambda d: float(d.get("built_at", 0)), reverse=True)  # type: ignore[arg-type]


def version_dir(root: Path, version: str) -> Path:
    """The build folder of a source version with today's patches (builds of other patch sets,
    e.g. an older checkout's, stay where they are and are left alone)."""
    return root / re.sub(r"[^A-Za-z0-9.+~-]", "_", f"{version}+p{patches_key()}")


def ensure_built(*, install_deps: bool, refresh: bool = False, offline: bool = False, jobs: int = 2,
                 rebuild: bool = False) -> dict[str, object]:
    """Return build-info (``manifest``, ``library``, ``version``, ...), building when not cached."""
    root = cache_root()
    t0 = time.monotonic()
    if offline:
        builds = cached_builds(root)
        if not builds:
            raise BuildError(f"--offline: no cached Monado build under {root}", status=3)
        say(f"offline: using the cached build of {builds[0]['version']}")
        return builds[0]
    if shutil.which("apt-get") is None:
        raise BuildError("apt-get is not available: this script fetches Debian's monado source package", status=2)
    apt = PrivateApt(root / "apt")
    apt.setup()
    age = apt.index_age()
    try:
        if refresh or age is None or age > INDEX_MAX_AGE_S:
            try:
                apt.update()
            except BuildError as e:
                if age is None:
                    raise
                say(f"could not refresh the source index ({str(e).splitlines()[0]}); using the one from "
                    f"{age / 3600:.0f} h ago")
        rec = apt.source_record()
    except BuildError as e:
        builds = cached_builds(root)
        if not builds:
            raise
        say(f"cannot read Debian's source index ({str(e).splitlines()[0]}); using the cached build of "
            f"{builds[0]['version']}")
        return builds[0]
    version = str(rec["version"])
    vdir = version_dir(root, version)
    src = vdir / "src"
    info_path = vdir / "build-info.json"
    if info_path.exists() and not rebuild and src.exists():
        info = json.loads(info_path.read_text())
        if (info.get("options_key") == options_key(cmake_options(src)) and Path(str(info["manifest"])).exists()
                and Path(str(info["library"])).exists()):
            say(f"cached: monado {version} in {vdir} ({time.monotonic() - t0:.1f} s)")
            return info
    vdir.mkdir(parents=True, exist_ok=True)
    with open(vdir / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"another build of {version} is running; waiting for it")
            fcntl.flock(lock, fcntl.LOCK_EX)
            if info_path.exists() and not rebuild:
                info = json.loads(info_path.read_text())
                if Path(str(info["manifest"])).exists():
                    say(f"the other build finished: {info['manifest']}")
                    return info
        return _build(apt, rec, vdir, install_deps, jobs)


def _build(apt: PrivateApt, rec: dict[str, object], vdir: Path, install_deps: bool, jobs: int) -> dict[str, object]:
    """Fetch, unpack, configure and build ``rec``'s version into ``vdir`` (holding its lock)."""
    version = str(rec["version"])
    src, info_path = vdir / "src", vdir / "build-info.json"
    say(f"building monado {version} (source package from Debian {SUITE}) in {vdir}")
    ensure_deps(install_deps)
    info_path.unlink(missing_ok=True)  # no half-built tree counts as cached
    tstart = time.monotonic()
    download = vdir / "download"
    files = apt.download(download)
    how = unpack(download, files, rec, src)
    say(f"unpacked: {how}")
    apply_patches(src)
    say(f"patched: {'; '.join(p.why for p in PATCHES)}")
    opts = cmake_options(src)
    build = vdir / "build"
    configure_and_build(src, build, opts, jobs)
    manifest = build / MANIFEST
    lib = json.loads(manifest.read_text())["runtime"]["library_path"]
    lib_path = (manifest.parent / lib).resolve()
    info = {"version": version, "source": how, "patches": [p.why for p in PATCHES], "patches_key": patches_key(),
            "options": opts, "options_key": options_key(opts),
            "manifest": str(manifest), "library": str(lib_path), "built_at": time.time(),
            "build_seconds": round(time.monotonic() - tstart, 1), "jobs": jobs}
    info_path.write_text(json.dumps(info, indent=2) + "\n")
    shutil.rmtree(download, ignore_errors=True)
    say(f"built monado {version} in {info['build_seconds']:.0f} s")
    return info


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                epilog=f"cache: {cache_root()}", formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--install-deps", action="store_true",
                   help="install missing build dependencies with apt-get (needs root; implied when CI=true)")
    p.add_argument("--refresh", action="store_true", help=f"refresh the private source index even if younger than {INDEX_MAX_AGE_S // 3600} h")
    p.add_argument("--offline", action="store_true", help="no network: use the newest cached build or fail (exit 3)")
    p.add_argument("--rebuild", action="store_true", help="configure and build again even when cached")
    p.add_argument("-j", "--jobs", type=int, default=2, help="ninja jobs (default 2)")
    p.add_argument("--print-manifest", action="store_true",
                   help="print the cached manifest's path and exit (3 if none; never builds)")
    a = p.parse_args(argv)
    try:
        if a.print_manifest:
            builds = cached_builds(cache_root())
            if not builds:
                print(f"no cached Monado build under {cache_root()}", file=sys.stderr)
                return 3
            print(builds[0]["manifest"])
            return 0
        install = a.install_deps or (in_ci() and os.geteuid() == 0)
        info = ensure_built(install_deps=install, refresh=a.refresh, offline=a.offline, jobs=a.jobs, rebuild=a.rebuild)
    except BuildError as e:
        print(f"[monado] error: {e}", file=sys.stderr, flush=True)
        return e.status
    except KeyboardInterrupt:
        print("[monado] interrupted", file=sys.stderr)
        return 130
    say(f"manifest: {info['manifest']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
