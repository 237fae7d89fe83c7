#!/usr/bin/env bash
# vrdiplomacy developer entry point. Sets up what it needs, idempotently, then runs.
#
#   bash tools/dev.sh demo [ARGS...]   run the demo (headless when there is no display)
#   bash tools/dev.sh test [ARGS...]   run the test suite (pytest ARGS)
#   bash tools/dev.sh setup            only install system packages, the venv and pip deps
#   bash tools/dev.sh run ARGS...      run `vrdiplomacy ARGS...` inside the venv
#
# Needs Debian 12 (or similar) with Python >= 3.11. System packages are installed
# with apt-get when missing (as root, or through sudo when available).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
venv="${VRD_VENV:-$here/.venv}"

APT_PACKAGES=(
  libegl1 libegl-mesa0 libgl1-mesa-dri libgl1   # headless GL through EGL (Mesa llvmpipe)
  libopus0 libportaudio2                         # voice codec and audio devices
  xvfb xdotool                                   # virtual display for window tests
  libmysofa1 alsa-utils                          # KEMAR HRTF and recorded test speech
  fonts-dejavu-core                              # all drawn text (placards, tags, screens) and generated assets
  nats-server                                    # scale-out tests
  espeak-ng                                      # talkers of the echo benchmarks' held-out sets (tools/bench/voice_echo.py)
  libsodium23                                    # ristretto255 group for the secret ballot (through pysodium)
  gcc libc6-dev python3-dev                      # the simulated headset's C shim; pesq builds from source
)

log() { printf '[dev] %s\n' "$*" >&2; }

ensure_apt() {
  local missing=()
  local pkg
  for pkg in "${APT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$pkg")
    fi
  done
  if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    missing+=(python3-venv)
  fi
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null; then
    log "missing system packages (${missing[*]}) and no apt-get: install them by hand"
    return 0
  fi
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then sudo="sudo"; else
      log "not root and no sudo: please install ${missing[*]}"; return 0
    fi
  fi
  log "installing system packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_venv() {
  # A venv copied from another machine, a dangling symlink or a half-made
  # directory cannot run: replace it rather than fail on "File exists".
  if { [ -e "$venv" ] || [ -L "$venv" ]; } && ! "$venv/bin/python" -c '' 2>/dev/null; then
    if [ -L "$venv" ] || [ -f "$venv/pyvenv.cfg" ] || [ -z "$(ls -A "$venv" 2>/dev/null)" ]; then
      log "replacing unusable virtual environment at $venv"
      rm -rf -- "$venv"
    else
      log "$venv exists but is not a virtual environment: move it away or set VRD_VENV"
      exit 1
    fi
  fi
  if [ ! -x "$venv/bin/python" ]; then
    log "creating virtual environment in $venv"
    python3 -m venv "$venv"
  fi
  local stamp="$venv/.vrd-installed"
  local want
  want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    log "installing Python dependencies (pip install -e .[test])"
    "$venv/bin/python" -m pip install -q --upgrade pip >/dev/null
    "$venv/bin/python" -m pip install -q -e ".[test]"
    echo "$want" >"$stamp"
  fi
}

headless_env() {
  # EGL surfaceless gives GL 4.5 core on Mesa llvmpipe, with no display and no GPU.
  if [ -z "${DISPLAY:-}" ]; then
    export PYOPENGL_PLATFORM="${PYOPENGL_PLATFORM:-egl}"
    export EGL_PLATFORM="${EGL_PLATFORM:-surfaceless}"
  fi
}

cmd="${1:-help}"
[ $# -gt 0 ] && shift
case "$cmd" in
  setup)
    ensure_apt; ensure_venv ;;
  test)
    ensure_apt; ensure_venv
    export PYOPENGL_PLATFORM=egl EGL_PLATFORM=surfaceless
    set +e
    "$venv/bin/python" -m pytest "$@"
    rc=$?
    set -e
    if [ $rc -eq 5 ]; then
      log "pytest collected no tests: that is a failure"
      exit 1
    fi
    exit $rc ;;
  demo)
    ensure_apt; ensure_venv; headless_env
    exec "$venv/bin/vrdiplomacy" demo "$@" ;;
  run)
    ensure_apt; ensure_venv; headless_env
    exec "$venv/bin/vrdiplomacy" "$@" ;;
  help|-h|--help)
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' ;;
  *)
    log "unknown command '$cmd' (try: demo, test, setup, run, help)"; exit 2 ;;
esac
