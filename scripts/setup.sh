# Shared set-up for ./run-demo and ./run-tests (sourced, not run): installs the Debian packages
# cae needs when they are missing, then configures (release) and builds with meson.
# Environment: CAE_BUILD_DIR (default build), CAE_EXTRA_PACKAGES (more packages to ensure).

CAE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CAE_BUILD_DIR="${CAE_BUILD_DIR:-$CAE_ROOT/build}"

# Build tools, libraries, and the real data the tests and demo read (DESIGN.md "Data").
CAE_PACKAGES=(
  g++ meson ninja-build pkg-config python3
  libeigen3-dev libopencv-dev libboost-test-dev libonnx-dev libprotobuf-dev libdnnl-dev
  libonnx-testdata
  python3-skimage mate-backgrounds
  libdcmtk-dev libsndfile1-dev zlib1g-dev libcli11-dev nlohmann-json3-dev libnoise-dev
  dataset-fashion-mnist python3-pydicom alsa-utils
  libfftw3-dev libsamplerate0-dev asterisk-core-sounds-en-wav pocketsphinx-testdata espeak-ng
  endless-sky-data
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev gstreamer1.0-tools
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good pocl-opencl-icd
  libgstrtspserver-1.0-dev gstreamer1.0-rtsp
  libssl-dev dicom3tools dcmtk slurm-wlm orthanc curl
  clang-format clang-tidy
)

# Debian's interpreter (its packages, e.g. matplotlib), not a pyenv one earlier on PATH.
CAE_PYTHON=/usr/bin/python3
[[ -x $CAE_PYTHON ]] || CAE_PYTHON=python3

cae_log() { printf '\033[1m[cae]\033[0m %s\n' "$*" >&2; }

cae_missing_packages() {
  local p status
  for p in "${CAE_PACKAGES[@]}" ${CAE_EXTRA_PACKAGES:-}; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || printf '%s\n' "$p"
  done
}

cae_install_packages() {
  local missing
  mapfile -t missing < <(cae_missing_packages)
  if ((${#missing[@]} == 0)); then
    return 0
  fi
  if [[ $(id -u) -ne 0 ]]; then
    cae_log "missing Debian packages: ${missing[*]}"
    cae_log "install them with:"
    printf '  sudo apt-get install -y --no-install-recommends %s\n' "${missing[*]}" >&2
    return 1
  fi
  cae_log "installing ${#missing[@]} Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2 || return 1
  # Servers the tests start themselves on loopback (slurm-wlm, orthanc) must not be started by their
  # packages' init scripts: a policy-rc.d that says no, for the install only.
  local policy=/usr/sbin/policy-rc.d added=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && added=1
  fi
  apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
  local rc=$?
  ((added)) && rm -f "$policy"
  return $rc
}

# Configures the build tree, or brings its build files up to date (meson re-runs when a
# meson.build changed) without compiling anything.
cae_configure() {
  if [[ ! -f "$CAE_BUILD_DIR/build.ninja" ]]; then
    cae_log "configuring $CAE_BUILD_DIR (release)"
    meson setup "$CAE_BUILD_DIR" "$CAE_ROOT" --buildtype=release >&2 || return 1
  else
    ninja -C "$CAE_BUILD_DIR" build.ninja >/dev/null || return 1
  fi
}

cae_build() {
  cae_configure || return 1
  cae_log "building"
  ninja -C "$CAE_BUILD_DIR" >&2 || return 1
}

cae_setup() {
  cae_install_packages && cae_build
}

# cae_check_test_names [MESON-TEST-ARGS...]: fails, naming it, on a test name that the build
# does not define (`meson test` would skip it silently). Options that take a value are skipped
# with their value; --logbase is refused (./run-tests reads its own log).
cae_check_test_names() {
  local known arg name bad=0
  known=$(meson test -C "$CAE_BUILD_DIR" --no-rebuild --list 2>/dev/null) || {
    cae_log "cannot list the tests of $CAE_BUILD_DIR"
    return 1
  }
  while (($#)); do
    arg=$1
    shift
    case "$arg" in
      --logbase | --logbase=*) cae_log "--logbase: run-tests keeps its own log"; return 1 ;;
      --maxfail | --repeat | --gdb-path | --wrapper | -C | --suite | --no-suite | \
        --num-processes | -t | --timeout-multiplier | --setup | --test-args)
        shift ;;
      -*) ;;
      *)
        name=${arg#*:}  # meson also takes PROJECT:NAME
        if [[ -n "$name" ]] && ! grep -qxF -e "$name" -e "${arg%%:*}:$name" <<<"$known"; then
          cae_log "no test named '$arg'; the tests are: $(tr '\n' ' ' <<<"$known")"
          bad=1
        fi ;;
    esac
  done
  return "$bad"
}
