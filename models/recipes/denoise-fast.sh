#!/usr/bin/env bash
# Recipe of models/denoise-fast.onnx, the real-time denoiser: a blind (sigma 5-50) U-Net at
# quarter resolution behind a 4x4 learned linear unshuffle, predicting the clean image (not
# residual). Chosen among three 16/32-channel designs by validation loss (models/denoise-fast.md):
# with only 16 channels for each 4x4 block, a residual output has to carry the noise itself
# through the ReLUs, and a residual version reached 26.41 dB at sigma 25 against this one's 27.65.
# Noise clipped to [0, 1] as an 8-bit frame stores it (--noise-clip, session 11): validation loss
# under clipped noise 0.000244 for the unclipped model (8d8445e:models/denoise-fast.onnx),
# 0.000227 for a 40-epoch fine-tune of it with clipped noise, 0.000210 for this recipe from scratch.
# 60 epochs: about 12 min on a quiet 2-core machine.
# Retrain: models/recipes/denoise-fast.sh [out-dir] [extra cae-train options, e.g. --resume].
# Needs a built tree. One engine thread, as the shipped model was trained (bit-identical rerun).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/out/models}; shift || true
source "$root/models/recipes/denoise-data.sh"
mkdir -p "$out"
exec "$root/build/tools/cae-train" "${DENOISE_DATA[@]}" \
  --arch conv --stem 4 --linear-stem --channels 16 --stages 2 --depth 2 --max-channels 64 --skips \
  --task denoise --noise gaussian --sigma 5-50 --noise-clip \
  --patch 64 --scales 1,0.5,0.25 --flips --rotations --val-samples 256 \
  --batch 16 --epochs 60 --steps 400 --lr 2e-3 --schedule cosine --min-lr 1e-5 --seed 1 --threads 1 \
  -o "$out/denoise-fast.onnx" "$@"
