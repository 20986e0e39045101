#!/usr/bin/env bash
# Recipe of models/denoise-hq.onnx, the quality denoiser (issue 11): denoise-gray's design (a
# blind sigma 5-50 residual U-Net behind a 2x2 learned unshuffle) at 32 channels, cap 128: 1.8x
# its arithmetic (260 MFLOP per 64x64 patch), trained twice as long (640 epochs x 100 steps x 16
# patches = 1,024,000 patches, cosine to 1e-5) on the same data, split and validation samples.
# Retrain: models/recipes/denoise-hq.sh [out-dir] [extra cae-train options, e.g. --resume].
# Needs a built tree (./run-tests or meson+ninja in build/). One engine thread: about 100 patches/s
# on a quiet 2-core machine, 3 hours; checkpoints every epoch, --resume continues.
# The shipped file was trained by this command (its cae.recipe metadata has it, with the output
# then in out/models/hq/) over three sessions on 2026-11-29, stopped and --resume'd after epochs
# 113, 222 and 360 (engine threads 1 or 2 by the machine's other work: threads change speed, not
# the recipe); 4.9 h of training in all.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/out/models}; shift || true
source "$root/models/recipes/denoise-data.sh"
mkdir -p "$out"
exec nice -n 5 "${CAE_TRAIN:-$root/build/tools/cae-train}" "${DENOISE_DATA[@]}" \
  --arch conv --stem 2 --channels 32 --stages 3 --depth 2 --max-channels 128 --skips --residual \
  --task denoise --noise gaussian --sigma 5-50 \
  --patch 64 --scales 1,0.5,0.25 --flips --rotations --val-samples 256 \
  --batch 16 --epochs 640 --steps 100 --lr 1e-3 --schedule cosine --min-lr 1e-5 --seed 1 --threads 1 \
  -o "$out/denoise-hq.onnx" "$@"
