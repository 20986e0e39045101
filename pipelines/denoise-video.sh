#!/usr/bin/env bash
# Denoises a video file: filesrc ! decodebin ! videoconvert ! caedenoise ! videoconvert ! encoder
# ! muxer ! filesink. The encoder follows OUT's extension: .webm/.mkv VP8, .mp4 H.264
# (openh264), .avi MJPEG. Audio is dropped.
set -euo pipefail
source "$(dirname "$0")/common.sh"

usage() {
  cat <<EOF
Usage: $(basename "$0") IN OUT [--model M] [--strength S]

Decodes IN (any container/codec GStreamer's decodebin reads), denoises every frame with
caedenoise (all three planes of YUV frames, luma and chroma, each as a gray image; each channel
of RGB ones) and encodes OUT by its extension: .webm (VP8/WebM), .mkv (VP8/Matroska), .mp4
(H.264 via openh264enc), .avi (MJPEG). Audio is dropped; size and frame rate are kept.
  --model M       ONNX denoising model (default: \$CAE_MODEL, else the element's default,
                  models/denoise-gray.onnx)
  --strength S    blend between input (0) and denoised (1) (default 1)
  -h, --help      this help
Environment: CAE_BUILD_DIR (build tree with plugins/libgstcae.so; default <repo>/build).
Example: $(basename "$0") noisy.mkv denoised.webm
EOF
}

PIPE_MODEL="${CAE_MODEL:-}"
PIPE_STRENGTH=""
args=()
while (($#)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --model) PIPE_MODEL="${2:?--model needs a file}"; shift 2 ;;
    --strength) PIPE_STRENGTH="${2:?--strength needs a value}"; shift 2 ;;
    -*) usage >&2; pipe_die "unknown option $1" ;;
    *) args+=("$1"); shift ;;
  esac
done
((${#args[@]} == 2)) || { usage >&2; exit 2; }
in="${args[0]}" out="${args[1]}"
pipe_require_gst
[[ -f "$in" ]] || pipe_die "input not found: $in"

pipe_require_element decodebin gstreamer1.0-plugins-base
encode=$(pipe_encoder_for "$out")
denoise=$(pipe_denoise_element)
mkdir -p "$(dirname "$out")"

# shellcheck disable=SC2086 # element descriptions, split on purpose
pipe_run 0 filesrc location="$in" ! decodebin ! videoconvert ! $denoise \
  ! identity name=count silent=false ! videoconvert ! $encode ! filesink location="$out"
((PIPE_FRAMES > 0)) || pipe_die "no video frames decoded from $in"
pipe_log "model: $(pipe_model_name)"
pipe_log "denoised $PIPE_FRAMES frames in ${PIPE_SECONDS}s: $out ($(awk '{ print $1 " + " $NF }' <<<"$encode"))"
