#!/usr/bin/env bash
# Denoises a numbered gray PNG sequence (IN_DIR/00000.png, 00001.png, ...; e.g. scan slices):
# multifilesrc ! pngdec ! videoconvert ! GRAY16_LE or GRAY8 ! caedenoise ! videoconvert ! pngenc
# ! multifilesink. 16-bit input stays 16-bit (pngdec gives GRAY16_BE, pngenc takes it back).
set -euo pipefail
source "$(dirname "$0")/common.sh"

usage() {
  cat <<EOF
Usage: $(basename "$0") IN_DIR OUT_DIR [--model M] [--depth 8|16] [--strength S]

Denoises the PNG sequence IN_DIR/%05d.png (numbered from its first file, no gaps) with
caedenoise and writes OUT_DIR/%05d.png with the same numbers. Frames are denoised as gray;
color input is converted to gray.
  --model M       ONNX denoising model (default: \$CAE_MODEL, else the element's default,
                  models/denoise-gray.onnx)
  --depth 8|16    bit depth to process and write (default: that of the first input file)
  --strength S    blend between input (0) and denoised (1) (default 1)
  -h, --help      this help
Environment: CAE_BUILD_DIR (build tree with plugins/libgstcae.so; default <repo>/build).
Example: $(basename "$0") slices/ denoised/ --depth 16
EOF
}

PIPE_MODEL="${CAE_MODEL:-}"
PIPE_STRENGTH=""
depth="" args=()
while (($#)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --model) PIPE_MODEL="${2:?--model needs a file}"; shift 2 ;;
    --depth) depth="${2:?--depth needs 8 or 16}"; shift 2 ;;
    --strength) PIPE_STRENGTH="${2:?--strength needs a value}"; shift 2 ;;
    -*) usage >&2; pipe_die "unknown option $1" ;;
    *) args+=("$1"); shift ;;
  esac
done
((${#args[@]} == 2)) || { usage >&2; exit 2; }
in_dir="${args[0]}" out_dir="${args[1]}"
pipe_require_gst
[[ -d "$in_dir" ]] || pipe_die "input folder not found: $in_dir"

# The numbered files: first index and count (multifilesrc stops at the first gap).
mapfile -t files < <(find "$in_dir" -maxdepth 1 -regex '.*/[0-9][0-9][0-9][0-9][0-9]\.png' | sort)
((${#files[@]} > 0)) || pipe_die "no numbered PNGs (00000.png, 00001.png, ...) in $in_dir"
first=$(basename "${files[0]}" .png)
first=$((10#$first))
last=$((first + ${#files[@]} - 1))
[[ -f "$in_dir/$(printf '%05d' "$last").png" ]] ||
  pipe_die "the sequence in $in_dir has gaps: expected $(printf '%05d' "$first")..$(printf '%05d' "$last").png"

# Bit depth from the PNG header (IHDR: byte 24 is the bit depth).
if [[ -z "$depth" ]]; then
  depth=$(od -An -tu1 -j24 -N1 "${files[0]}" | tr -d ' ')
  ((depth == 16)) || depth=8
fi
case "$depth" in
  8) work=GRAY8 outfmt=GRAY8 ;;
  16) work=GRAY16_LE outfmt=GRAY16_BE ;;
  *) pipe_die "--depth must be 8 or 16, not $depth" ;;
esac

pipe_require_element multifilesrc gstreamer1.0-plugins-good
pipe_require_element pngdec gstreamer1.0-plugins-good
pipe_require_element pngenc gstreamer1.0-plugins-good
denoise=$(pipe_denoise_element)
mkdir -p "$out_dir"

# shellcheck disable=SC2086 # $denoise is a gst-launch element description, split on purpose
pipe_run 0 multifilesrc location="$in_dir/%05d.png" start-index=$first stop-index=$last \
  caps="image/png,framerate=(fraction)1/1" ! pngdec ! videoconvert ! video/x-raw,format=$work \
  ! $denoise ! identity name=count silent=false ! videoconvert ! video/x-raw,format=$outfmt \
  ! pngenc compression-level=1 ! multifilesink location="$out_dir/%05d.png" index=$first
((PIPE_FRAMES == ${#files[@]})) ||
  pipe_die "expected ${#files[@]} frames, the pipeline passed $PIPE_FRAMES"
pipe_log "model: $(pipe_model_name)"
pipe_log "denoised $PIPE_FRAMES frames ($depth-bit gray) in ${PIPE_SECONDS}s:" \
  "$out_dir/$(printf '%05d' "$first").png .. $(printf '%05d' "$last").png"
