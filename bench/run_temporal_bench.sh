#!/usr/bin/env bash
# Temporal denoising benchmark (issue 11), side by side in one run: 320x240 gray clips made from
# the ANCHORS.md test photographs with a synthetic camera (still, pans, a slow zoom, a hand-held
# shake, an object crossing a still camera), 32 scored frames each, Gaussian noise sigma 15, 25,
# 50 (seeded); PSNR of the noisy frames, a single-frame model frame by frame, a temporal model
# (cae.frames = K) fed the current and K-1 previous frames, the same temporal model fed K copies
# of the current frame, and OpenCV's fastNlMeansDenoisingMulti (window 3, centred: it also reads
# the next frame). Writes bench/reports/temporal.{md,jsonl} and temporal.png (side-by-side crops
# of moving clips: noisy | single-frame | temporal | clean, for the ghosting check).
# Usage: bench/run_temporal_bench.sh [builddir (default build)] [temporal.onnx [single.onnx]]
#   models default to models/denoise-temporal.onnx and models/denoise-gray.onnx
# Environment: CAE_BENCH_ARGS (more bench_temporal_denoise options, e.g. "--sigmas 25 --frames
#   8"), CAE_BENCH_OUT (report folder, default bench/reports), CAE_BENCH_THREADS (threads of the
#   models and NLM, default 1), CAE_BENCH_BACKEND (inference backend, default auto).
# Runs at nice 19: the machine is shared; the report records the load.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
if [[ $# -gt 0 && $1 != *.onnx ]]; then
  CAE_BUILD_DIR="$(cd "$1" 2>/dev/null && pwd || echo "$1")"
  export CAE_BUILD_DIR
  shift
fi
temporal="${1:-$root/models/denoise-temporal.onnx}"
single="${2:-$root/models/denoise-gray.onnx}"
for m in "$temporal" "$single"; do
  [[ -f $m ]] || { echo "model not found: $m" >&2; exit 1; }
done

CAE_EXTRA_PACKAGES="python3-matplotlib"
source "$root/scripts/setup.sh"
cae_install_packages
if [[ ! -f "$CAE_BUILD_DIR/build.ninja" ]]; then
  cae_log "configuring $CAE_BUILD_DIR (release)"
  meson setup "$CAE_BUILD_DIR" "$root" --buildtype=release >&2
fi
cae_log "building the benchmark in $CAE_BUILD_DIR"
ninja -C "$CAE_BUILD_DIR" bench/bench_temporal_denoise >&2

out="${CAE_BENCH_OUT:-$here/reports}"
mkdir -p "$out"
raw="$out/temporal.jsonl"
crops="$(mktemp -d)"
trap 'rm -rf "$crops"' EXIT
start=$(date +%s)
threads="${CAE_BENCH_THREADS:-1}"
export OMP_NUM_THREADS="$threads"

printf '{"type":"machine","nproc":%d,"cpu":"%s","loadavg_start":"%s","commit":"%s","temporal_sha256":"%s","single_sha256":"%s"}\n' \
  "$(nproc --all)" "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" \
  "$(cut -d' ' -f1-3 /proc/loadavg)" "$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
  "$(sha256sum "$temporal" | cut -c1-16)" "$(sha256sum "$single" | cut -c1-16)" >"$raw"

cae_log "temporal bench: $(basename "$temporal") against $(basename "$single") and NLM-multi (the long part)"
# shellcheck disable=SC2086  # CAE_BENCH_ARGS is a list of options
nice -n 19 "$CAE_BUILD_DIR/bench/bench_temporal_denoise" --temporal "$temporal" --single "$single" \
  --threads "$threads" --backend "${CAE_BENCH_BACKEND:-auto}" --crops "$crops" \
  ${CAE_BENCH_ARGS:-} | tee -a "$raw"
printf '{"type":"run","seconds":%d,"loadavg_end":"%s"}\n' $(($(date +%s) - start)) \
  "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$raw"

"$CAE_PYTHON" "$here/temporal_report.py" "$raw" "$crops" "$out"
cae_log "report: $out/temporal.md (crops temporal.png, raw temporal.jsonl)"
