#!/usr/bin/env bash
# Denoises one PNG with caedenoise: filesrc ! pngdec ! videoconvert ! caedenoise ! videoconvert
# ! pngenc ! filesink. 8-bit and 16-bit, gray and color PNGs keep their bit depth.
set -euo pipefail
source "$(dirname "$0")/common.sh"

usage() {
  cat <<EOF
Usage: $(basename "$0") IN.png OUT.png [--model M] [--strength S] [--noise SIGMA] [--seed N]

Denoises IN.png with the caedenoise element and writes OUT.png (same size and bit depth).
  --model M       ONNX denoising model (default: \$CAE_MODEL, else the element's default,
                  models/denoise-fast.onnx)
  --strength S    blend between input (0) and denoised (1) (default: the element's, 1)
  --noise SIGMA   first add Gaussian noise of SIGMA grey levels (of 255) to IN.png; the noisy
                  input is kept as OUT-noisy.png (python3 + skimage make it)
  --seed N        noise seed (default 0)
  -h, --help      this help
Environment: CAE_BUILD_DIR (build tree with plugins/libgstcae.so; default <repo>/build).
Example: $(basename "$0") camera.png out.png --noise 25
EOF
}

PIPE_MODEL="${CAE_MODEL:-}"
PIPE_STRENGTH=""
noise="" seed=0 args=()
while (($#)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --model) PIPE_MODEL="${2:?--model needs a file}"; shift 2 ;;
    --strength) PIPE_STRENGTH="${2:?--strength needs a value}"; shift 2 ;;
    --noise) noise="${2:?--noise needs a sigma}"; shift 2 ;;
    --seed) seed="${2:?--seed needs a number}"; shift 2 ;;
    -*) usage >&2; pipe_die "unknown option $1" ;;
    *) args+=("$1"); shift ;;
  esac
done
((${#args[@]} == 2)) || { usage >&2; exit 2; }
in="${args[0]}" out="${args[1]}"
pipe_require_gst
[[ -f "$in" ]] || pipe_die "input not found: $in"

pipe_require_element pngdec gstreamer1.0-plugins-good
pipe_require_element pngenc gstreamer1.0-plugins-good
denoise=$(pipe_denoise_element)
mkdir -p "$(dirname "$out")"

src="$in"
if [[ -n "$noise" ]]; then
  src="${out%.*}-noisy.png"
  "$CAE_PYTHON" "$(dirname "$0")/add-noise.py" "$in" "$src" "$noise" "$seed" ||
    pipe_die "could not add noise (needs python3 with numpy and skimage: apt-get install python3-skimage)"
  pipe_log "noisy input (Gaussian sigma $noise, seed $seed): $src"
fi

# shellcheck disable=SC2086 # $denoise is a gst-launch element description, split on purpose
pipe_run 600 filesrc location="$src" ! pngdec ! videoconvert ! $denoise ! identity name=count silent=false \
  ! videoconvert ! pngenc ! filesink location="$out"
((PIPE_FRAMES == 1)) || pipe_die "expected 1 frame, the pipeline passed $PIPE_FRAMES"
pipe_log "model: $(pipe_model_name)"
pipe_log "denoised 1 frame in ${PIPE_SECONDS}s: $out"
