#!/usr/bin/env bash
# Denoises one PNG or JPEG with caedenoise: filesrc ! pngdec|jpegdec ! videoconvert ! caedenoise
# ! videoconvert ! FORMAT ! pngenc ! filesink. FORMAT keeps the input's bit depth and gray/colour
# (read from the PNG header); the output appears only when the pipeline succeeded.
set -euo pipefail
source "$(dirname "$0")/common.sh"

usage() {
  cat <<EOF
Usage: $(basename "$0") IN.png|IN.jpg OUT.png [--model M] [--strength S] [--noise SIGMA] [--seed N]

Denoises IN with the caedenoise element and writes the PNG OUT, the same size as IN. A PNG keeps
its bit depth and gray/colour (8-bit gray, 16-bit gray, 8-bit colour; 16-bit colour is written
as 8-bit colour, which is all pngenc writes; alpha is dropped). A JPEG gives an 8-bit PNG, gray
or colour as the JPEG is.
  --model M       ONNX denoising model (default: \$CAE_MODEL, else the element's default,
                  models/denoise-gray.onnx)
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

# The decoder and the format pngenc gets, from the file's first bytes (the PNG signature and
# IHDR: byte 24 the bit depth, byte 25 the colour type; a JPEG starts with FF D8 FF).
read -r -a bytes <<<"$(od -An -tu1 -N26 "$src" | tr '\n' ' ')"
if [[ "${bytes[*]:0:4}" == "137 80 78 71" ]]; then
  pipe_require_element pngdec gstreamer1.0-plugins-good
  decode=pngdec
  case "${bytes[25]:-}:${bytes[24]:-}" in
    0:16 | 4:16) outfmt=GRAY16_BE ;;
    0:* | 4:*) outfmt=GRAY8 ;;
    *:16) outfmt=RGB; pipe_log "16-bit colour input: writing 8-bit colour (pngenc has no 16-bit colour)" ;;
    *) outfmt=RGB ;;
  esac
elif [[ "${bytes[*]:0:3}" == "255 216 255" ]]; then
  pipe_require_element jpegdec gstreamer1.0-plugins-good
  decode=jpegdec
  outfmt="{RGB,GRAY8}"  # videoconvert keeps a gray JPEG gray and a colour one colour
else
  pipe_die "$src is neither a PNG nor a JPEG"
fi

# Written beside OUT and renamed on success, so a failed run leaves no partial or empty OUT.
tmp=$(mktemp "$(dirname "$out")/.$(basename "$out").XXXXXX")
trap 'rm -f "$tmp"' EXIT
# shellcheck disable=SC2086 # $denoise is a gst-launch element description, split on purpose
pipe_run 600 filesrc location="$src" ! $decode ! videoconvert ! $denoise \
  ! identity name=count silent=false ! videoconvert ! "video/x-raw,format=$outfmt" ! pngenc \
  ! filesink location="$tmp"
((PIPE_FRAMES == 1)) ||
  pipe_die "no picture decoded from $src (damaged or cut short?): the pipeline passed $PIPE_FRAMES frames"
[[ -s "$tmp" ]] || pipe_die "the pipeline wrote nothing for $src"
chmod "$(printf '%o' $((0666 & ~$(umask))))" "$tmp"  # mktemp made it private
mv -f "$tmp" "$out"
pipe_log "model: $(pipe_model_name)"
pipe_log "denoised 1 frame in ${PIPE_SECONDS}s: $out"
