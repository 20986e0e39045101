#!/usr/bin/env bash
# Recipe of models/denoise-gray.onnx, the quality denoiser: a blind (sigma 5-50) residual U-Net
# behind a 2x2 learned unshuffle. Retrain: models/recipes/denoise-gray.sh [out-dir] [extra
# cae-train options, e.g. --resume]. Needs a built tree (./run-tests or meson+ninja in build/).
# Two engine threads, as the shipped model was trained.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/out/models}; shift || true
source "$root/models/recipes/denoise-data.sh"
mkdir -p "$out"
exec "$root/build/tools/cae-train" "${DENOISE_DATA[@]}" \
  --arch conv --stem 2 --channels 24 --stages 3 --depth 2 --max-channels 96 --skips --residual \
  --task denoise --noise gaussian --sigma 5-50 \
  --patch 64 --scales 1,0.5,0.25 --flips --rotations --val-samples 256 \
  --batch 16 --epochs 160 --steps 100 --lr 1e-3 --schedule cosine --min-lr 1e-5 --seed 1 --threads 2 \
  -o "$out/denoise-gray.onnx" "$@"
