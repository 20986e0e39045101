#!/usr/bin/env bash
# Recipe of models/denoise-gray.onnx, caedenoise's default: a blind (sigma 5-50) residual U-Net
# behind a 2x2 learned unshuffle (35.7 kFLOP/pixel), trained for the oneDNN backend's budget
# (issue 11): 320 epochs x 100 steps x 16 patches = 512,000 patches, cosine to 1e-5.
# Retrain: models/recipes/denoise-gray.sh [out-dir] [extra cae-train options, e.g. --resume].
# Needs a built tree (./run-tests or meson+ninja in build/). One engine thread at nice 5: about
# 55 min on a quiet 2-core machine (160 patches/s); checkpoints every epoch, --resume continues.
# The shipped file was trained by this command (its cae.recipe metadata has it, with the output
# then named denoise-gray-320.onnx) in two parts on 2026-11-28/29: epochs 1-192 (epochs 1-49 with
# 2 engine threads), stopped, then --resume for 193-320; threads change speed, not the result's
# recipe.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/out/models}; shift || true
source "$root/models/recipes/denoise-data.sh"
mkdir -p "$out"
exec nice -n 5 "${CAE_TRAIN:-$root/build/tools/cae-train}" "${DENOISE_DATA[@]}" \
  --arch conv --stem 2 --channels 24 --stages 3 --depth 2 --max-channels 96 --skips --residual \
  --task denoise --noise gaussian --sigma 5-50 \
  --patch 64 --scales 1,0.5,0.25 --flips --rotations --val-samples 256 \
  --batch 16 --epochs 320 --steps 100 --lr 1e-3 --schedule cosine --min-lr 1e-5 --seed 1 --threads 1 \
  -o "$out/denoise-gray.onnx" "$@"
