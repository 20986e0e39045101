#!/usr/bin/env bash
# Recipe of models/denoise-temporal.onnx, the temporal (3-frame) gray denoiser: the U-Net of
# denoise-gray reading the current frame and the two before it stacked as channels (cae.frames =
# 3), started from models/denoise-gray.onnx (--init: the stem runs on every frame, the 48
# temporal stem channels enter enc0 with zero weights, so training starts from the single-frame
# model exactly) and trained on clips made from the denoise data by a moving camera (cae-train
# --frames: pans of up to --max-motion px/frame with small turns and zooms, a quarter still, a
# quarter with an object moving on its own; blind sigma 5-50, independent noise per frame).
# Every clip with its full history, as when it was trained (cae-train's stream-start shares,
# added later, are set to 0 here).
# Retrain: models/recipes/denoise-temporal.sh [out-dir] [extra cae-train options, e.g. --resume].
# Needs a built tree (CAE_TRAIN: the cae-train to run, default build/tools/cae-train). One engine
# thread at nice 19: the machine is shared. Checkpoints every epoch; --resume continues.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/out/models}; shift || true
source "$root/models/recipes/denoise-data.sh"
mkdir -p "$out"
exec nice -n 19 "${CAE_TRAIN:-$root/build/tools/cae-train}" "${DENOISE_DATA[@]}" \
  --arch conv --stem 2 --channels 24 --stages 3 --depth 2 --max-channels 96 --skips --residual \
  --frames 3 --temporal-channels 48 --max-motion 4 --init "$root/models/denoise-gray.onnx" \
  --no-history-share 0 --partial-history-share 0 \
  --task denoise --noise gaussian --sigma 5-50 \
  --patch 64 --scales 1,0.5,0.25 --flips --rotations --val-samples 256 \
  --batch 16 --epochs 60 --steps 100 --lr 5e-4 --warmup 200 --schedule cosine --min-lr 1e-5 \
  --seed 1 --threads 1 -o "$out/denoise-temporal.onnx" "$@"
