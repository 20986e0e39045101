#!/usr/bin/env bash
# PCA against a linear and a deep autoencoder on Fashion-MNIST (the setting of Hinton &
# Salakhutdinov 2006), codes 8/16/32/64, test MSE/PSNR on the 10k test images. Replaces the
# fashion-mnist rows of bench/reports/pca_vs_ae.jsonl and rewrites pca_vs_ae.{md,png}.
# Hyper-parameters below were chosen on a validation split of the training images (the trials are
# the fashion-mnist-trial rows of the report). One training thread: ~40 min on this machine.
# Usage: bench/run_pca_fmnist_bench.sh [more bench_pca_vs_ae_fmnist options, e.g. --epochs 2]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
CAE_EXTRA_PACKAGES="python3-matplotlib"
source "$here/../scripts/setup.sh"
cae_install_packages
# Only this benchmark's target: the rest of the tree is not needed to run it.
[[ -f "$CAE_BUILD_DIR/build.ninja" ]] ||
  meson setup "$CAE_BUILD_DIR" "$CAE_ROOT" --buildtype=release >&2
ninja -C "$CAE_BUILD_DIR" bench/bench_pca_vs_ae_fmnist >&2
raw="$here/reports/pca_vs_ae.jsonl"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
args=(--latent 8,16,32,64 --methods pca,pca-sweep,linear-ae,deep-ae --test
      --hidden 1000,500,250 --act relu --out linear --lr 1e-3 --epochs 18 --batch 128
      --linear-lr 1e-2 --linear-epochs 100 --threads "${CAE_THREADS:-1}" "$@")
start=$(date +%s)
commit="$(git -C "$here" rev-parse --short HEAD)"  # what the binary was built from
"$CAE_BUILD_DIR/bench/bench_pca_vs_ae_fmnist" "${args[@]}" | tee "$work/rows.jsonl"
printf '{"data":"fashion-mnist","meta":true,"measured":"%s","commit":"%s","wall_s":%d,"args":"%s"}\n' \
  "$(date -u '+%Y-%m-%d %H:%M')" "$commit" \
  "$(($(date +%s) - start))" "${args[*]}" >>"$work/rows.jsonl"
{ grep -v '"data":"fashion-mnist"' "$raw" || true; } >"$work/keep.jsonl"
cat "$work/keep.jsonl" "$work/rows.jsonl" >"$raw"
"$CAE_PYTHON" "$here/pca_report.py" "$raw" "$here/reports"
