#!/usr/bin/env bash
# Training-step benchmark, side by side in one run: this engine vs Debian's libtorch on CAE-REF
# (forward + backward + Adam, batch 16x1x64x64), with Eigen's sgemm rate as the ceiling, and
# the engine's inference forward vs OpenCV DNN on a 512x512 frame. Rounds alternate between
# implementations so that load on this shared machine hits both alike.
# Writes bench/reports/train_step.md, train_step.json and train_step.png.
# Usage: bench/run_train_bench.sh [rounds (default 3)] [threads (default 2)]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
CAE_EXTRA_PACKAGES="libtorch-dev python3-matplotlib"
source "$here/../scripts/setup.sh"
cae_setup
rounds="${1:-3}"
threads="${2:-2}"
b="$CAE_BUILD_DIR/bench"
[[ -x "$b/bench_torch_train_step" ]] || { cae_log "libtorch bench not built (libtorch-dev missing?)"; exit 1; }
raw="$here/reports/train_step.jsonl"
: > "$raw"
export OMP_NUM_THREADS="$threads"
for ((r = 1; r <= rounds; r++)); do
  cae_log "round $r/$rounds: engine"
  "$b/bench_engine_train_step" 20 | sed "s/^{/{\"round\":$r,/" >> "$raw"
  cae_log "round $r/$rounds: libtorch"
  "$b/bench_torch_train_step" 5 "$threads" | sed "s/^{/{\"round\":$r,/" >> "$raw"
  if [[ -x "$b/bench_engine_vs_opencv" ]]; then
    cae_log "round $r/$rounds: inference 512x512, engine vs OpenCV DNN"
    "$b/bench_engine_vs_opencv" 512 512 5 | sed "s/^{/{\"round\":$r,/" >> "$raw"
  fi
done
"$CAE_PYTHON" "$here/train_report.py" "$raw" "$here/reports"
