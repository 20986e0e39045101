#!/usr/bin/env bash
# Learned-compression benchmark (issue 14), side by side in one run: rate-distortion of the cae
# codec families against JPEG and WebP on the ANCHORS.md test list (bench_codec_rd), then frames
# per second through the elements in gst-launch-1.0 (caeenc alone, caedec alone on a file of
# caeenc's frames, and caeenc ! caedec) at 640x480 and 1280x720 RGB; writes
# bench/reports/codec.{md,png,jsonl} and codec_crops.png.
# Usage: bench/run_codec_bench.sh [builddir (default build)] [FAMILY=enc1.onnx,enc2.onnx,...] ...
#   families default to the shipped codec-fast-q1..4 and codec-hq-q1..4 (models/), whose cards
#   (models/codec-fast.md, codec-hq.md, and the short card of each file) the run then rewrites
# Environment: CAE_BENCH_IMAGES (first N test pictures, default 11), CAE_BENCH_FRAMES (frames
#   timed at 640x480, default 60; a quarter of that at 1280x720, at least 10), CAE_BENCH_OUT
#   (report folder, default bench/reports), CAE_BENCH_SPEED_QUALITY (the rate point whose speed is
#   measured, default 3).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
if [[ $# -gt 0 && $1 != *=* ]]; then
  CAE_BUILD_DIR="$(cd "$1" 2>/dev/null && pwd || echo "$1")"
  export CAE_BUILD_DIR
  shift
fi
families=("$@")
cards=()  # the shipped families: their cards (models/codec-*.md) come from this run
if ((${#families[@]} == 0)); then
  cards=(--cards "$root/models")
  for f in codec-fast codec-hq; do
    files=()
    for q in 1 2 3 4; do [[ -f $root/models/$f-q$q.onnx ]] && files+=("$root/models/$f-q$q.onnx"); done
    ((${#files[@]})) && families+=("$f=$(IFS=,; echo "${files[*]}")")
  done
fi
((${#families[@]})) || { echo "no codec models: train them (models/recipes/codec.sh) or name FAMILY=files" >&2; exit 1; }

CAE_EXTRA_PACKAGES="python3-matplotlib python3-numpy gstreamer1.0-tools gstreamer1.0-plugins-base"
source "$root/scripts/setup.sh"
cae_install_packages
if [[ ! -f "$CAE_BUILD_DIR/build.ninja" ]]; then
  cae_log "configuring $CAE_BUILD_DIR (release)"
  meson setup "$CAE_BUILD_DIR" "$root" --buildtype=release >&2
fi
ninja -C "$CAE_BUILD_DIR" bench/bench_codec_rd plugins/libgstcae.so >&2

out="${CAE_BENCH_OUT:-$here/reports}"
mkdir -p "$out"
raw="$out/codec.jsonl"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
start=$(date +%s)
printf '{"type":"machine","nproc":%d,"cpu":"%s","loadavg_start":"%s","utc":"%s","commit":"%s"}\n' \
  "$(nproc)" "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" \
  "$(cut -d' ' -f1-3 /proc/loadavg)" "$(date -u '+%Y-%m-%d %H:%M')" \
  "$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)" >"$raw"

cae_log "rate-distortion: ${#families[@]} codec families, JPEG, WebP"
"$CAE_BUILD_DIR/bench/bench_codec_rd" --images "${CAE_BENCH_IMAGES:-11}" --dump "$work" \
  "${families[@]}" | tee -a "$raw"

export GST_PLUGIN_PATH="$CAE_BUILD_DIR/plugins" GST_REGISTRY="$work/registry.bin"
elapsed() {  # gst-launch-1.0 pipeline... -> seconds of "Execution ended after H:MM:SS.NNNNNNNNN"
  local log t
  log=$(gst-launch-1.0 "$@" 2>&1) || { echo "$log" >&2; return 1; }
  t=$(sed -n 's/.*Execution ended after \([0-9]*\):\([0-9]*\):\([0-9.]*\).*/\1 \2 \3/p' <<<"$log" |
    awk '{printf "%.6f", $1 * 3600 + $2 * 60 + $3}')
  [[ -n $t ]] || { echo "$log" >&2; return 1; }
  echo "$t"
}
q="${CAE_BENCH_SPEED_QUALITY:-3}"
frames="${CAE_BENCH_FRAMES:-60}"
for fam in "${families[@]}"; do
  name=${fam%%=*}
  IFS=, read -ra files <<<"${fam#*=}"
  model=${files[$((q <= ${#files[@]} ? q - 1 : ${#files[@]} - 1))]}
  for size in 640x480 1280x720; do
    w=${size%x*} h=${size#*x}
    n=$((frames * 640 * 480 / (w * h)))
    ((n >= 10)) || n=10
    caps="video/x-raw,format=RGB,width=$w,height=$h,framerate=30/1"
    src=(videotestsrc num-buffers="$n" pattern=smpte ! "$caps")
    gst-launch-1.0 -q "${src[@]}" ! caeenc model="$model" ! filesink location="$work/s.cae" >&2
    for pipeline in encode decode both; do
      case $pipeline in
        encode) t=$(elapsed "${src[@]}" ! caeenc model="$model" ! fakesink sync=false) ;;
        decode) t=$(elapsed filesrc location="$work/s.cae" ! video/x-cae ! caedec model="$model" ! fakesink sync=false) ;;
        both) t=$(elapsed "${src[@]}" ! caeenc model="$model" ! caedec model="$model" ! fakesink sync=false) ;;
      esac
      awk -v m="$name q$q" -v p="$pipeline" -v w="$w" -v h="$h" -v n="$n" -v t="$t" 'BEGIN {
        printf "{\"type\":\"element\",\"model\":\"%s\",\"pipeline\":\"%s\",\"width\":%d,\"height\":%d,", m, p, w, h
        printf "\"frames\":%d,\"elapsed_s\":%.4f,\"fps\":%.3f}\n", n, t, (n - 1) / t
      }' | tee -a "$raw"
    done
  done
done
printf '{"type":"run","seconds":%d,"loadavg_end":"%s"}\n' $(($(date +%s) - start)) \
  "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$raw"
"$CAE_PYTHON" "$here/codec_report.py" "$raw" "$out" "$work" "${cards[@]}"
cae_log "report: $out/codec.md (plots codec.png, codec_crops.png; raw codec.jsonl)"
