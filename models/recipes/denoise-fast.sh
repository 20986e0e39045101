#!/usr/bin/env bash
# Recipe of models/denoise-fast.onnx, the real-time denoiser: a blind (sigma 5-50) residual U-Net
# at quarter resolution behind a 4x4 learned linear unshuffle (no ReLU after the stem: with 16
# channels for 16 pixels a ReLU there threw away detail; the first version, with one, reached
# only 26.41 dB at sigma 25). Retrain: models/recipes/denoise-fast.sh
# [out-dir] [extra cae-train options, e.g. --resume]. Needs a built tree.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/out/models}; shift || true
source "$root/models/recipes/denoise-data.sh"
mkdir -p "$out"
exec "$root/build/tools/cae-train" "${DENOISE_DATA[@]}" \
  --arch conv --stem 4 --linear-stem --channels 16 --stages 2 --depth 2 --max-channels 64 --skips --residual \
  --task denoise --noise gaussian --sigma 5-50 \
  --patch 64 --scales 1,0.5,0.25 --flips --rotations --val-samples 256 \
  --batch 16 --epochs 100 --steps 400 --lr 2e-3 --schedule cosine --min-lr 1e-5 --seed 1 \
  -o "$out/denoise-fast.onnx" "$@"
