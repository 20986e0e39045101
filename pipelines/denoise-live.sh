#!/usr/bin/env bash
# Live denoising: a camera (v4l2src) when /dev/video* exists, else a noisy test source, through
# caedenoise to the screen (autovideosink) or to a file. The test source is videotestsrc (smpte
# or ball) blended by compositor with videotestsrc pattern=snow (uniform noise) at alpha
# --noise-alpha: out = (1 - a) * pattern + a * snow.
set -euo pipefail
source "$(dirname "$0")/common.sh"

usage() {
  cat <<EOF
Usage: $(basename "$0") [--to screen|FILE] [--seconds N] [--source auto|camera|test]
                        [--pattern smpte|ball] [--size WxH] [--fps F] [--noise-alpha A]
                        [--model M] [--strength S]

Denoises a live stream with caedenoise.
  --to screen|FILE  show it (autovideosink; default) or encode it to FILE (.webm, .mkv, .mp4, .avi)
  --seconds N       stop after N seconds of video (N * fps frames, then EOS); default: until Ctrl-C
  --source S        camera (v4l2src, /dev/video0), test (noisy videotestsrc) or auto (camera
                    when /dev/video* exists; default)
  --pattern P       videotestsrc pattern of the test source: smpte (default) or ball
  --size WxH        frame size (default 320x240);  --fps F  frame rate (default 15)
  --noise-alpha A   weight of the snow (noise) in the test source (default 0.25)
  --model M         ONNX denoising model (default: \$CAE_MODEL, else the element's default,
                    models/denoise-gray.onnx)
  --strength S      blend between input (0) and denoised (1) (default 1)
  -h, --help        this help
Environment: CAE_BUILD_DIR (build tree with plugins/libgstcae.so; default <repo>/build).
Example: $(basename "$0") --to live.webm --seconds 5
EOF
}

PIPE_MODEL="${CAE_MODEL:-}"
PIPE_STRENGTH=""
to=screen seconds="" source=auto pattern=smpte size=320x240 fps=15 alpha=0.25
while (($#)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --to) to="${2:?--to needs screen or a file}"; shift 2 ;;
    --seconds) seconds="${2:?--seconds needs a number}"; shift 2 ;;
    --source) source="${2:?--source needs auto, camera or test}"; shift 2 ;;
    --pattern) pattern="${2:?--pattern needs smpte or ball}"; shift 2 ;;
    --size) size="${2:?--size needs WxH}"; shift 2 ;;
    --fps) fps="${2:?--fps needs a number}"; shift 2 ;;
    --noise-alpha) alpha="${2:?--noise-alpha needs a value}"; shift 2 ;;
    --model) PIPE_MODEL="${2:?--model needs a file}"; shift 2 ;;
    --strength) PIPE_STRENGTH="${2:?--strength needs a value}"; shift 2 ;;
    *) usage >&2; pipe_die "unknown argument $1" ;;
  esac
done
pipe_require_gst
[[ "$size" =~ ^([0-9]+)x([0-9]+)$ ]] || pipe_die "--size must be WxH, not $size"
width=${BASH_REMATCH[1]} height=${BASH_REMATCH[2]}
[[ "$fps" =~ ^[0-9]+$ ]] || pipe_die "--fps must be a whole number, not $fps"
[[ -z "$seconds" || "$seconds" =~ ^[0-9]+$ ]] || pipe_die "--seconds must be a whole number"
[[ "$pattern" == smpte || "$pattern" == ball ]] || pipe_die "--pattern must be smpte or ball"
if [[ "$source" == auto ]]; then
  source="test"
  compgen -G '/dev/video*' >/dev/null && source=camera
fi

denoise=$(pipe_denoise_element)
frames=-1
[[ -n "$seconds" ]] && frames=$((seconds * fps))
caps="video/x-raw,width=$width,height=$height,framerate=$fps/1"

case "$source" in
  camera)
    pipe_require_element v4l2src gstreamer1.0-plugins-good
    src=(v4l2src num-buffers="$frames" ! videoconvert ! videoscale ! videorate ! "$caps")
    what="camera /dev/video0" ;;
  test)
    pipe_require_element compositor gstreamer1.0-plugins-base
    src=(videotestsrc is-live=true pattern="$pattern" num-buffers="$frames" ! "$caps" ! mix.sink_0
      videotestsrc is-live=true pattern=snow num-buffers="$frames" ! "$caps" ! mix.sink_1
      compositor name=mix sink_1::alpha="$alpha" ! "$caps")
    what="videotestsrc pattern=$pattern + snow (alpha $alpha)" ;;
  *) pipe_die "--source must be auto, camera or test, not $source" ;;
esac

if [[ "$to" == screen ]]; then
  pipe_require_element autovideosink gstreamer1.0-plugins-good
  [[ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]] ||
    pipe_die "no display (DISPLAY/WAYLAND_DISPLAY unset): use --to FILE, e.g. --to live.webm"
  sink=(autovideosink)
  where="screen"
  # Frames the denoiser cannot keep up with are dropped, not queued: the picture stays live.
  queue=(queue leaky=downstream max-size-buffers=4)
else
  read -r -a enc <<<"$(pipe_encoder_for "$to")"
  mkdir -p "$(dirname "$to")"
  sink=("${enc[@]}" ! filesink location="$to")
  where="$to"
  queue=(queue)  # a file keeps every frame, even when denoising is slower than real time
fi

pipe_log "source: $what, ${width}x${height} @ $fps fps${seconds:+, $seconds s}; model: $(pipe_model_name)"
[[ -z "$seconds" ]] && pipe_log "running until Ctrl-C"
# A bounded run ends by EOS after N frames; the timeout only guards a stuck camera/encoder.
limit=0
[[ -n "$seconds" ]] && limit=$((seconds * 4 + 60))
# shellcheck disable=SC2086 # $denoise is a gst-launch element description, split on purpose
pipe_run "$limit" "${src[@]}" ! "${queue[@]}" ! videoconvert ! $denoise \
  ! identity name=count silent=false ! videoconvert ! "${sink[@]}"
pipe_log "denoised $PIPE_FRAMES frames in ${PIPE_SECONDS}s to $where"
