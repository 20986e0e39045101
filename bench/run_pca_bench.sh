#!/usr/bin/env bash
# PCA against autoencoders: reconstruction error vs latent size (8, 16, 32, 64) on 16x16 real
# image patches; writes bench/reports/pca_vs_ae.{md,png,jsonl} (the patch rows; Fashion-MNIST:
# bench/run_pca_fmnist_bench.sh).
# Usage: bench/run_pca_bench.sh [steps-scale (default 1.0)]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
CAE_EXTRA_PACKAGES="python3-matplotlib"
source "$here/../scripts/setup.sh"
cae_setup
raw="$here/reports/pca_vs_ae.jsonl"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}" "$CAE_BUILD_DIR/bench/bench_pca_vs_ae" "${1:-1.0}" "$work" | tee "$work/rows.jsonl"
printf '{"data":"patches","meta":true,"measured":"%s","commit":"%s"}\n' \
  "$(date -u '+%Y-%m-%d %H:%M')" "$(git -C "$here" rev-parse --short HEAD)" >>"$work/rows.jsonl"
# The Fashion-MNIST rows (bench/run_pca_fmnist_bench.sh) stay as they are.
{ grep '"data":"fashion-mnist' "$raw" || true; } >"$work/keep.jsonl"
cat "$work/rows.jsonl" "$work/keep.jsonl" >"$raw"
"$CAE_PYTHON" "$here/pca_report.py" "$raw" "$here/reports"
