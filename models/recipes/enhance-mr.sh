#!/usr/bin/env bash
# Recipe of models/enhance-mr.onnx, cae-enhance's MR denoiser: denoise-gray's U-Net (residual,
# 2x2 learned unshuffle, 3 stages) fine-tuned from denoise-gray (76c7ee3) on real MR slices
# with Rician (magnitude) noise, sigma 3-25 in 1/255 of each slice's range (1.2-10 % of its
# maximum; the benchmark scores 3 % and 6 %). No window: MR magnitudes have no absolute scale, so
# the model works, as cae-enhance runs it, on each scan mapped through its own min..max.
# Data (models/recipes/enhance-data.sh): axial slices of mricron-data's ch2better and inia19 T1
# volumes and two ITK MR slices, each stretched to its own range as 16-bit PNGs; none is a
# benchmark test slice (MR_small.dcm, ITK's BrainProtonDensitySlice.png and BrainT1Slice.png).
# The trainer validates on 256 patches of held-out slices of the same volumes.
# Retrain: models/recipes/enhance-mr.sh [out-dir] [extra cae-train options, e.g. --resume]
# (needs a built tree, python3-nibabel, mricron-data and insighttoolkit5-examples; ~25 min on one
# core of a 2-core machine).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/out/models}; shift || true
source "$root/models/recipes/enhance-data.sh" "$root/out/enhance-data"
mkdir -p "$out/enhance-mr-stages"
# The denoise-gray this model was fine-tuned from (since replaced by a version fine-tuned with
# clipped noise): the file as commit 76c7ee3 shipped it.
init=$out/enhance-mr-stages/denoise-gray-76c7ee3.onnx
git -C "$root" show 76c7ee3:models/denoise-gray.onnx >"$init"
exec nice -n 5 "${CAE_TRAIN:-$root/build/tools/cae-train}" "${ENHANCE_MR_DATA[@]}" \
  --arch conv --stem 2 --channels 24 --stages 3 --depth 2 --max-channels 96 --skips --residual \
  --task denoise --noise rician --sigma 3-25 \
  --patch 64 --scales 1 --flips --rotations --val-samples 256 \
  --batch 16 --epochs 90 --steps 100 --lr 3e-4 --warmup 100 --schedule cosine --min-lr 1e-5 \
  --seed 1 --threads 1 --init "$init" -o "$out/enhance-mr.onnx" "$@"
