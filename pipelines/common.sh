# shellcheck shell=bash disable=SC2034 # PIPE_FRAMES/PIPE_SECONDS are read by the scripts
# Shared by the pipelines/*.sh scripts (sourced, not run): finds gst-launch-1.0 and the cae
# plugin in the build tree, checks elements, builds the caedenoise description, runs a pipeline
# and counts the frames it passed.
# Environment: CAE_BUILD_DIR (default <repo>/build), CAE_MODEL (default: the element's default).

CAE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CAE_PYTHON=/usr/bin/python3
[[ -x $CAE_PYTHON ]] || CAE_PYTHON=python3

pipe_log() { printf '[%s] %s\n' "$(basename "$0" .sh)" "$*"; }
pipe_die() { printf '%s: error: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }

# gst-launch-1.0, gst-inspect-1.0 and the plugin from the build tree; sets GST_PLUGIN_PATH.
pipe_require_gst() {
  local tool
  for tool in gst-launch-1.0 gst-inspect-1.0; do
    command -v "$tool" >/dev/null ||
      pipe_die "$tool not found; install it: apt-get install gstreamer1.0-tools"
  done
  local build="${CAE_BUILD_DIR:-$CAE_ROOT/build}"
  [[ -f "$build/plugins/libgstcae.so" ]] ||
    pipe_die "the cae plugin is not built: no $build/plugins/libgstcae.so" \
      "(build it: meson setup build && ninja -C build plugins/libgstcae.so, or set CAE_BUILD_DIR)"
  export GST_PLUGIN_PATH="$build/plugins${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
  gst-inspect-1.0 caedenoise >/dev/null 2>&1 ||
    pipe_die "GStreamer cannot load caedenoise from $build/plugins/libgstcae.so" \
      "(see: GST_PLUGIN_PATH=$build/plugins gst-inspect-1.0 $build/plugins/libgstcae.so)"
}

# pipe_require_element ELEMENT DEBIAN-PACKAGE
pipe_require_element() {
  gst-inspect-1.0 "$1" >/dev/null 2>&1 ||
    pipe_die "GStreamer element '$1' is missing; install it: apt-get install $2"
}

pipe_has_element() { gst-inspect-1.0 "$1" >/dev/null 2>&1; }

# The caedenoise element with the options the user gave (no model property means the element's
# default model, models/denoise-gray.onnx).
pipe_denoise_element() {
  local desc="caedenoise"
  if [[ -n "${PIPE_MODEL:-}" ]]; then
    [[ -f "$PIPE_MODEL" ]] || pipe_die "model not found: $PIPE_MODEL"
    desc+=" model=\"$(realpath "$PIPE_MODEL")\""
  fi
  [[ -n "${PIPE_STRENGTH:-}" ]] && desc+=" strength=$PIPE_STRENGTH"
  printf '%s' "$desc"
}

pipe_model_name() { printf '%s' "${PIPE_MODEL:-default (models/denoise-gray.onnx)}"; }

# Encoder and muxer for an output file, from its extension (all from plugins-good/-bad).
pipe_encoder_for() {
  case "${1,,}" in
    *.webm)
      pipe_require_element vp8enc gstreamer1.0-plugins-good
      printf '%s' "vp8enc deadline=1 cpu-used=8 target-bitrate=2000000 keyframe-max-dist=30 ! webmmux" ;;
    *.mkv)
      pipe_require_element vp8enc gstreamer1.0-plugins-good
      printf '%s' "vp8enc deadline=1 cpu-used=8 target-bitrate=2000000 keyframe-max-dist=30 ! matroskamux" ;;
    *.mp4)
      pipe_require_element openh264enc gstreamer1.0-plugins-bad
      printf '%s' "openh264enc bitrate=2000000 ! h264parse ! mp4mux" ;;
    *.avi)
      pipe_require_element jpegenc gstreamer1.0-plugins-good
      printf '%s' "jpegenc quality=90 ! avimux" ;;
    *) pipe_die "unknown video container for '$1' (use .webm, .mkv, .mp4 or .avi)" ;;
  esac
}

# pipe_run TIMEOUT_S PIPELINE-DESCRIPTION...: runs gst-launch-1.0 -e (SIGINT sends EOS, so files
# are finalised) and sets PIPE_FRAMES to the buffers that passed an `identity name=count`.
pipe_run() {
  local limit="$1"; shift
  local log rc=0 t0 t1
  log=$(mktemp)
  t0=$(date +%s.%N)
  # -v prints identity's last-message once per buffer: that is the frame count. --no-fault: a
  # crash in any element exits instead of "Spinning" for a debugger forever (gst-libav 1.22's
  # ffv1 decoder does that on 16-bit planar RGB files).
  if [[ "$limit" == 0 ]]; then
    gst-launch-1.0 --no-fault -e -v "$@" >"$log" 2>&1 || rc=$?
  else
    timeout --signal=INT --kill-after=10 "$limit" gst-launch-1.0 --no-fault -e -v "$@" >"$log" 2>&1 || rc=$?
  fi
  t1=$(date +%s.%N)
  PIPE_FRAMES=$(grep -c 'GstIdentity:count: last-message = chain' "$log" || true)
  PIPE_SECONDS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
  # PIPE_TIMEOUT_OK=1: the limit ends a live capture on purpose (timeout's exit status 124).
  if ((rc == 124)) && [[ ${PIPE_TIMEOUT_OK:-0} == 1 ]]; then rc=0; fi
  if ((rc != 0)) || grep -q '^ERROR' "$log"; then
    grep -v 'last-message = chain' "$log" | tail -n 20 >&2
    rm -f "$log"
    pipe_die "gst-launch-1.0 failed (exit $rc)"
  fi
  rm -f "$log"
}
