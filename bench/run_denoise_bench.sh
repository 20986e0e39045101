#!/usr/bin/env bash
# Denoising benchmark (issue 4), side by side in one run: PSNR and time per frame of the denoising
# models on each inference backend, OpenCV fastNlMeansDenoising and ffmpeg's bm3d on the ANCHORS.md
# test list at sigma 15, 25, 50 (bench_denoise_quality, which also checks that the backends give
# the same output), then frames per second through caedenoise (backend=each) in gst-launch-1.0 at
# 640x480, 1280x720 and 1920x1080 GRAY8; writes bench/reports/denoise.{md,png,jsonl}.
# Usage: bench/run_denoise_bench.sh [builddir (default build)] [model.onnx ...]
#   models default to models/denoise-gray.onnx models/denoise-fast.onnx
# Environment: CAE_BENCH_IMAGES (first N test images, default 11), CAE_BENCH_FRAMES (frames timed
#   at 640x480, default 60; fewer at the larger sizes, at least 10), CAE_BENCH_ARGS (more
#   bench_denoise_quality options, e.g. "--no-bm3d --sigmas 25"), CAE_BENCH_OUT (report folder,
#   default bench/reports), CAE_BENCH_BACKENDS (inference backends, default "opencv onednn
#   onednn-bf16": oneDNN in f32 and in bf16, the precision caedenoise's precision=auto picks on
#   CPUs with bf16 instructions; bench_denoise_quality skips onednn-bf16 on other CPUs),
#   CAE_BENCH_MODEL_THREADS (the models' and the element's threads, default 0: the element's
#   default, i.e. OpenCV DNN at OpenCV's 2 threads, oneDNN at onednn::kDefaultThreads).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
if [[ $# -gt 0 && $1 != *.onnx ]]; then
  CAE_BUILD_DIR="$(cd "$1" 2>/dev/null && pwd || echo "$1")"
  export CAE_BUILD_DIR
  shift
fi
models=("$@")
((${#models[@]})) || models=("$root/models/denoise-gray.onnx" "$root/models/denoise-fast.onnx")
for m in "${models[@]}"; do
  [[ -f $m ]] || { echo "model not found: $m (train it with models/recipes/, or name other .onnx files)" >&2; exit 1; }
done

CAE_EXTRA_PACKAGES="python3-matplotlib ffmpeg gstreamer1.0-tools gstreamer1.0-plugins-base"
source "$root/scripts/setup.sh"
cae_install_packages
if [[ ! -f "$CAE_BUILD_DIR/build.ninja" ]]; then
  cae_log "configuring $CAE_BUILD_DIR (release)"
  meson setup "$CAE_BUILD_DIR" "$root" --buildtype=release >&2
fi
cae_log "building the benchmark and the plugin in $CAE_BUILD_DIR"
ninja -C "$CAE_BUILD_DIR" bench/bench_denoise_quality plugins/libgstcae.so >&2

out="${CAE_BENCH_OUT:-$here/reports}"
mkdir -p "$out"
raw="$out/denoise.jsonl"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
start=$(date +%s)
# OMP_WAIT_POLICY stays as the caller has it (unset: libgomp's default spin-then-sleep), as an
# element in a user's pipeline gets it: oneDNN's OpenMP threads wait differently under "passive".
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"

printf '{"type":"machine","nproc":%d,"cpu":"%s","loadavg_start":"%s","omp_wait_policy":"%s","utc":"%s","commit":"%s"}\n' "$(nproc)" \
  "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" "$(cut -d' ' -f1-3 /proc/loadavg)" \
  "${OMP_WAIT_POLICY:-}" "$(date -u '+%Y-%m-%d %H:%M')" "$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)" >"$raw"

cae_log "quality and speed: ${#models[@]} model(s), OpenCV NLM, ffmpeg bm3d (this is the long part)"
read -ra backends <<<"${CAE_BENCH_BACKENDS:-opencv onednn onednn-bf16}"
# shellcheck disable=SC2086  # CAE_BENCH_ARGS is a list of options
model_threads="${CAE_BENCH_MODEL_THREADS:-0}"
"$CAE_BUILD_DIR/bench/bench_denoise_quality" --images "${CAE_BENCH_IMAGES:-11}" --threads 2 \
  --model-threads "$model_threads" \
  --backends "$(IFS=,; echo "${backends[*]}")" ${CAE_BENCH_ARGS:-} "${models[@]}" | tee -a "$raw"

# Element throughput. gst-launch-1.0 starts its clock when it sets PLAYING: the first buffer was
# already processed while prerolling, so N-1 frames are timed (fps = (N-1) / elapsed).
export GST_PLUGIN_PATH="$CAE_BUILD_DIR/plugins" GST_REGISTRY="$work/registry.bin"
elapsed() {  # gst-launch-1.0 pipeline... → seconds of "Execution ended after H:MM:SS.NNNNNNNNN"
  local log t
  log=$(gst-launch-1.0 "$@" 2>&1) || { echo "$log" >&2; return 1; }
  t=$(sed -n 's/.*Execution ended after \([0-9]*\):\([0-9]*\):\([0-9.]*\).*/\1 \2 \3/p' <<<"$log" |
    awk '{printf "%.6f", $1 * 3600 + $2 * 60 + $3}')
  [[ -n $t ]] || { echo "$log" >&2; echo "no \"Execution ended after\" line from gst-launch-1.0 $*" >&2; return 1; }
  echo "$t"
}
frames640="${CAE_BENCH_FRAMES:-60}"
for size in 640x480 1280x720 1920x1080; do
  w=${size%x*} h=${size#*x}
  n=$((frames640 * 640 * 480 / (w * h)))
  ((n >= 10)) || n=10
  caps="video/x-raw,format=GRAY8,width=$w,height=$h,framerate=30/1"
  base=$(elapsed videotestsrc num-buffers="$n" ! "$caps" ! fakesink sync=false)
  for m in "${models[@]}"; do
    for be in "${backends[@]}"; do
      # onednn-bf16: backend=onednn precision=bf16; the others in f32 (precision=auto would be
      # bf16 on oneDNN where the CPU has it); only the backends bench_denoise_quality measured.
      grep -q "\"backend\":\"$be\"" "$raw" || continue
      props="backend=${be%-bf16} precision=f32"
      [[ $be == *-bf16 ]] && props="backend=${be%-bf16} precision=bf16"
      cae_log "caedenoise $(basename "$m") $props at $size, $n frames"
      # shellcheck disable=SC2086  # props is a list of properties
      t=$(elapsed videotestsrc num-buffers="$n" ! "$caps" ! caedenoise model="$m" $props threads="$model_threads" ! fakesink sync=false)
      awk -v m="$(basename "$m" .onnx)" -v be="$be" -v w="$w" -v h="$h" -v n="$n" -v t="$t" -v b="$base" 'BEGIN {
        net = t - b; if (net <= 0) net = t
        printf "{\"type\":\"element\",\"method\":\"%s\",\"backend\":\"%s\",\"width\":%d,\"height\":%d,\"frames\":%d,", m, be, w, h, n
        printf "\"elapsed_s\":%.4f,\"baseline_s\":%.4f,\"fps\":%.3f,\"fps_net\":%.3f}\n", t, b, (n - 1) / t, (n - 1) / net
      }' | tee -a "$raw"
    done
  done
done
printf '{"type":"run","seconds":%d,"loadavg_end":"%s"}\n' $(($(date +%s) - start)) "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$raw"

"$CAE_PYTHON" "$here/denoise_report.py" "$raw" "$out"
cae_log "report: $out/denoise.md (plot denoise.png, raw denoise.jsonl)"
