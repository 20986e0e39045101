#!/usr/bin/env bash
# Recipe of models/enhance-ct.onnx, cae-enhance's CT denoiser: denoise-gray's U-Net (residual,
# 2x2 learned unshuffle, 3 stages) fine-tuned from denoise-gray (76c7ee3) on real CT in HU
# (window -1000:1000: model units 0 and 1 are -1000 and +1000 HU; cae.window says so, and 16-bit
# PNG/TIFF inputs are read as stored = HU + 1024, cae.sample_rescale 1:-1024), with low-dose CT
# noise simulated in the projection domain (core/train/ct_lowdose.hpp: parallel beam, Poisson
# counts at I0 photons per ray drawn log-uniformly from 2e3..1e5, Shepp-Logan FBP of the noise).
# Data: the one real 512x512 CT slice Debian ships besides the test slice (octave-dicom's
# CT-MONO2-16-ankle.dcm; CT_small.dcm is the benchmark's test slice), at scales 1 and 1/2; the
# trainer validates on patches of the same slice (no second CT slice exists to hold out).
# Retrain: models/recipes/enhance-ct.sh [out-dir] [extra cae-train options, e.g. --resume]
# (needs a built tree and octave-dicom; ~20 min on one core of a loaded 2-core machine).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/out/models}; shift || true
source "$root/models/recipes/enhance-data.sh" "$root/out/enhance-data"
mkdir -p "$out/enhance-ct-stages"
# The denoise-gray this model was fine-tuned from (since replaced by a version fine-tuned with
# clipped noise): the file as commit 76c7ee3 shipped it.
init=$out/enhance-ct-stages/denoise-gray-76c7ee3.onnx
git -C "$root" show 76c7ee3:models/denoise-gray.onnx >"$init"
exec nice -n 5 "${CAE_TRAIN:-$root/build/tools/cae-train}" "${ENHANCE_CT_DATA[@]}" \
  --arch conv --stem 2 --channels 24 --stages 3 --depth 2 --max-channels 96 --skips --residual \
  --task denoise --noise ct-lowdose --photons 2000-100000 --window -1000:1000 \
  --sample-rescale 1:-1024 \
  --patch 64 --scales 1,0.5 --flips --rotations --val-samples 256 \
  --batch 16 --epochs 90 --steps 100 --lr 3e-4 --warmup 100 --schedule cosine --min-lr 1e-5 \
  --seed 1 --threads 1 --init "$init" -o "$out/enhance-ct.onnx" "$@"
