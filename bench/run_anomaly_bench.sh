#!/usr/bin/env bash
# Defect benchmark (issue 5), side by side in one run: image and pixel AUROC of the shipped
# texture models (models/anomaly-<texture>.onnx, both maps) against patch PCA and per-pixel
# Gaussian feature statistics on real textures with synthetic defects (bench_anomaly_defects; the
# autoencoders scored on the first backend, timed on each, their reconstructions compared across
# backends), time per 640x480 frame of each, then frames per second through caeanomaly
# (backend=each) in gst-launch-1.0 at 640x480 GRAY8 with inference-interval=1; writes
# bench/reports/anomaly.{md,png,jsonl}.
# Usage: bench/run_anomaly_bench.sh [builddir (default build)] [model dir (default models/)]
# Environment: CAE_BENCH_FRAMES (frames timed through the element, default 100), CAE_BENCH_ARGS
#   (more bench_anomaly_defects eval options, e.g. "--textures brick,wood --max-crops 8"),
#   CAE_BENCH_OUT (report folder, default bench/reports), CAE_BENCH_BACKENDS (inference backends,
#   default "opencv onednn"), CAE_BENCH_MODEL_THREADS (the models' and the element's threads,
#   default 0: the element's default, i.e. OpenCV DNN at OpenCV's 2 threads, oneDNN at
#   onednn::kDefaultThreads).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
if [[ $# -gt 0 ]]; then
  CAE_BUILD_DIR="$(cd "$1" 2>/dev/null && pwd || echo "$1")"
  export CAE_BUILD_DIR
  shift
fi
models="${1:-$root/models}"

CAE_EXTRA_PACKAGES="python3-matplotlib gstreamer1.0-tools gstreamer1.0-plugins-base"
source "$root/scripts/setup.sh"
cae_install_packages
if [[ ! -f "$CAE_BUILD_DIR/build.ninja" ]]; then
  cae_log "configuring $CAE_BUILD_DIR (release)"
  meson setup "$CAE_BUILD_DIR" "$root" --buildtype=release >&2
fi
cae_log "building the benchmark and the plugin in $CAE_BUILD_DIR"
ninja -C "$CAE_BUILD_DIR" bench/bench_anomaly_defects plugins/libgstcae.so >&2

out="${CAE_BENCH_OUT:-$here/reports}"
mkdir -p "$out"
raw="$out/anomaly.jsonl"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
start=$(date +%s)
# OMP_WAIT_POLICY stays as the caller has it (unset: libgomp's default spin-then-sleep), as an
# element in a user's pipeline gets it: oneDNN's OpenMP threads wait differently under "passive".
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
printf '{"type":"machine","nproc":%d,"cpu":"%s","loadavg_start":"%s","omp_wait_policy":"%s"}\n' "$(nproc)" \
  "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" "$(cut -d' ' -f1-3 /proc/loadavg)" \
  "${OMP_WAIT_POLICY:-}" >"$raw"

bench="$CAE_BUILD_DIR/bench/bench_anomaly_defects"
"$bench" prepare "$work/data" >&2
cae_log "AUROC and speed: autoencoders, patch PCA, Gaussian features on 5 textures"
read -ra backends <<<"${CAE_BENCH_BACKENDS:-opencv onednn}"
# shellcheck disable=SC2086  # CAE_BENCH_ARGS is a list of options
model_threads="${CAE_BENCH_MODEL_THREADS:-0}"
"$bench" eval "$work/data" "$models" --threads 2 --backends "$(IFS=,; echo "${backends[*]}")" \
  --model-threads "$model_threads" \
  ${CAE_BENCH_ARGS:-} | tee -a "$raw" | grep -v '"roc"' | cut -c1-160 >&2

# Element throughput. gst-launch-1.0 starts its clock when it sets PLAYING: the first buffer was
# already processed while prerolling, so N-1 frames are timed (fps = (N-1) / elapsed). Frames:
# the prepared wood test strip, mirrored to 640x480, repeated (imagefreeze).
export GST_PLUGIN_PATH="$CAE_BUILD_DIR/plugins" GST_REGISTRY="$work/registry.bin"
elapsed() {  # gst-launch-1.0 pipeline... → seconds of "Execution ended after H:MM:SS.NNNNNNNNN"
  local log t
  log=$(gst-launch-1.0 "$@" 2>&1) || { echo "$log" >&2; return 1; }
  t=$(sed -n 's/.*Execution ended after \([0-9]*\):\([0-9]*\):\([0-9.]*\).*/\1 \2 \3/p' <<<"$log" |
    awk '{printf "%.6f", $1 * 3600 + $2 * 60 + $3}')
  [[ -n $t ]] || { echo "$log" >&2; echo "no \"Execution ended after\" line from gst-launch-1.0 $*" >&2; return 1; }
  echo "$t"
}
n="${CAE_BENCH_FRAMES:-100}"
src=(filesrc location="$work/data/wood/test.png" ! pngdec ! videoconvert ! videoscale ! video/x-raw,format=GRAY8,width=640,height=480 ! imagefreeze num-buffers="$n" ! video/x-raw,framerate=30/1)
for m in "$models"/anomaly-*.onnx; do
  [[ -f $m ]] || continue
  tex=$(basename "$m" .onnx); tex=${tex#anomaly-}; tex=${tex%-riad}; tex=${tex%-seg}; tex=${tex%-fast}
  [[ $tex == leaf ]] && continue  # colour model; the gray timing is the target's
  for be in "${backends[@]}"; do
    cae_log "caeanomaly $(basename "$m") backend=$be at 640x480, $n frames"
    t=$(elapsed "${src[@]}" ! caeanomaly model="$m" backend="$be" threads="$model_threads" inference-interval=1 ! fakesink sync=false)
    awk -v m="$(basename "$m")" -v x="$tex" -v be="$be" -v n="$n" -v t="$t" 'BEGIN {
      printf "{\"type\":\"element\",\"model\":\"%s\",\"texture\":\"%s\",\"backend\":\"%s\",\"width\":640,\"height\":480,", m, x, be
      printf "\"frames\":%d,\"elapsed_s\":%.4f,\"fps\":%.3f}\n", n, t, (n - 1) / t
    }' | tee -a "$raw"
  done
done
printf '{"type":"run","seconds":%d,"loadavg_end":"%s"}\n' $(($(date +%s) - start)) "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$raw"

"$CAE_PYTHON" "$here/anomaly_report.py" "$raw" "$out"
cae_log "report: $out/anomaly.md (plot anomaly.png, raw anomaly.jsonl)"
