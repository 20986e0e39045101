#!/usr/bin/env bash
# Inference backends (issue 11), side by side in one run: OpenCV DNN against the oneDNN backend on
# every shipped model (models/*.onnx) at 640x480 and 1280x720, at 1 and 2 threads, with Eigen's
# sgemm as the ceiling, per-layer profiles, 1 vs 2 threads quiet and under a competing 2-process
# load, and the elements' overhead over Engine::run (bench_engine_backends); writes
# bench/reports/backends.{md,png,jsonl}.
# Usage: bench/run_backend_bench.sh [builddir (default build)] [model.onnx ...]
# Environment: CAE_BENCH_SIZES (default 640x480,1280x720; the first size is the one profiled,
#   loaded and run through the elements), CAE_BENCH_REPS (timed forwards per configuration,
#   default 20), CAE_BENCH_ARGS (more bench_engine_backends options, e.g. "--sections speed"),
#   CAE_BENCH_OUT (report folder, default bench/reports), CAE_BENCH_PASSIVE (1, the default:
#   measure threads under load once more with OMP_WAIT_POLICY=passive, in a second process, as
#   libgomp reads it only when it starts; 0: not).
# Run it at normal priority (nice skews every figure) on a machine as quiet as it gets; the load
# average at the start and the end, the busiest other processes and the OMP_* variables (passed
# through as they are: an element gets the user's environment) are recorded in the report.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
if [[ $# -gt 0 && $1 != *.onnx ]]; then
  CAE_BUILD_DIR="$(cd "$1" 2>/dev/null && pwd || echo "$1")"
  export CAE_BUILD_DIR
  shift
fi
models=("$@")
((${#models[@]})) || models=("$root"/models/*.onnx)
for m in "${models[@]}"; do
  [[ -f $m ]] || { echo "model not found: $m" >&2; exit 1; }
done

CAE_EXTRA_PACKAGES="python3-matplotlib gstreamer1.0-tools gstreamer1.0-plugins-base libdnnl-dev"
source "$root/scripts/setup.sh"
cae_install_packages
cae_configure
cae_log "building the benchmark and the plugin in $CAE_BUILD_DIR"
ninja -C "$CAE_BUILD_DIR" bench/bench_engine_backends plugins/libgstcae.so >&2

out="${CAE_BENCH_OUT:-$here/reports}"
mkdir -p "$out"
raw="$out/backends.jsonl"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export GST_PLUGIN_PATH="$CAE_BUILD_DIR/plugins" GST_REGISTRY="$work/registry.bin"
start=$(date +%s)

# Other processes busy at the start (a compile, a training run): the figures are read with them.
busy=$(ps -eo pcpu=,ni=,comm= --sort=-pcpu | awk '$1 >= 10 {printf "%s%s %s%% (nice %s)", n++ ? ", " : "", $3, $1, $2}')
# CPU pressure (share of time some runnable task waited for a CPU), the truer gauge of contention
# on a machine whose sessions share the CPUs by autogroup whatever their niceness.
pressure() { sed -n 's/^some avg10=\([0-9.]*\) avg60=\([0-9.]*\) avg300=\([0-9.]*\).*/\2 % (60 s), \3 % (300 s)/p' /proc/pressure/cpu 2>/dev/null; }
printf '{"type":"machine","date":"%s","commit":"%s","nproc":%d,"cpu":"%s","loadavg_start":"%s","pressure_start":"%s","nice":%d,"onednn":"%s","omp_wait_policy":"%s","omp_num_threads":"%s","busy_start":"%s"}\n' \
  "$(date -u '+%Y-%m-%d %H:%M')" "$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')" \
  "$(nproc)" "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" \
  "$(cut -d' ' -f1-3 /proc/loadavg)" "$(pressure)" "$(nice)" \
  "$(dpkg-query -W -f='${Version}' libdnnl2 2>/dev/null || echo '?')" \
  "${OMP_WAIT_POLICY:-}" "${OMP_NUM_THREADS:-}" "$busy" >"$raw"

bench=("$CAE_BUILD_DIR/bench/bench_engine_backends" --sizes "${CAE_BENCH_SIZES:-640x480,1280x720}"
  --reps "${CAE_BENCH_REPS:-20}")
show() { tee -a "$raw" | grep --line-buffered -v '"type":"layer"' | cut -c1-200 >&2; }
cae_log "${#models[@]} model(s): the ceiling, speed, layers, threads under load (5-10 min)"
# shellcheck disable=SC2086  # CAE_BENCH_ARGS is a list of options
"${bench[@]}" ${CAE_BENCH_ARGS:-} --sections ceiling,speed,layers,load "${models[@]}" | show
# The elements, one process per model and backend: a process's other OpenMP threads change how
# libgomp's threads wait (see element() in engine_backends.cpp).
cae_log "the elements against Engine::run"
for m in "${models[@]}"; do
  for be in opencv onednn; do
    # shellcheck disable=SC2086
    "${bench[@]}" ${CAE_BENCH_ARGS:-} --sections element --element-backends "$be" "$m" |
      grep --line-buffered '"type":"element"' | show
  done
done
if [[ ${CAE_BENCH_PASSIVE:-1} == 1 && ${OMP_WAIT_POLICY:-} != passive ]]; then
  cae_log "threads under load again with OMP_WAIT_POLICY=passive"
  # shellcheck disable=SC2086
  OMP_WAIT_POLICY=passive "${bench[@]}" ${CAE_BENCH_ARGS:-} --sections load --load-reps 10 --budget-s 8 "${models[@]}" |
    grep --line-buffered '"type":"load"' | show
fi

printf '{"type":"run","seconds":%d,"loadavg_end":"%s","pressure_end":"%s"}\n' \
  $(($(date +%s) - start)) "$(cut -d' ' -f1-3 /proc/loadavg)" "$(pressure)" >>"$raw"
"$CAE_PYTHON" "$here/backend_report.py" "$raw" "$out" >/dev/null
cae_log "report: $out/backends.md (plot backends.png, raw backends.jsonl)"
