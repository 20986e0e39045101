#!/usr/bin/env bash
# Recipe of models/denoise-temporal.onnx, the aligned temporal (3-frame) gray denoiser: the U-Net
# of denoise-gray reading the current frame and the two before it stacked as channels
# (cae.frames = 3), each older frame first moved onto the current one by the global translation
# of core/infer/align (cae.align = translation: caedenoise does the same on whole noisy frames).
# Clips come from the denoise data seen by a moving camera (cae-train --frames: pans of up to
# --max-motion px/frame with small turns and zooms, a quarter still, a quarter with an object
# moving on its own; blind sigma 5-50, independent noise per frame), rendered at 192x192 around
# the 64x64 patch so that the shift estimate has context (--align translation).
# The shipped file was made in three runs on 2026-11-29 (one engine thread each):
#   1. 60 epochs from the first denoise-gray (git 91f3405:models/denoise-gray.onnx), without
#      stream starts (29 min);
#   2. 20 epochs from 1 with --no-history-share 0.15 --partial-history-share 0.1: clips fed as
#      caedenoise feeds a stream with no or one older frame (22 min);
#   3. 15 epochs from 2 with --no-history-share 0.25 (20 min). This script runs the three.
# Retrain: models/recipes/denoise-temporal.sh [out-dir] (needs a built tree; CAE_TRAIN: the
# cae-train to run, default build/tools/cae-train; ~75 min on a quiet 2-core machine).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/out/models}
source "$root/models/recipes/denoise-data.sh"
mkdir -p "$out/denoise-temporal-stages"
stages=$out/denoise-temporal-stages
train() {
  nice -n 5 "${CAE_TRAIN:-$root/build/tools/cae-train}" "${DENOISE_DATA[@]}" \
    --arch conv --stem 2 --channels 24 --stages 3 --depth 2 --max-channels 96 --skips --residual \
    --frames 3 --temporal-channels 48 --max-motion 4 --align translation \
    --task denoise --noise gaussian --sigma 5-50 \
    --patch 64 --scales 1,0.5,0.25 --flips --rotations --val-samples 256 \
    --batch 16 --steps 100 --schedule cosine --min-lr 1e-5 --seed 1 --threads 1 "$@"
}
git -C "$root" show 91f3405:models/denoise-gray.onnx >"$stages/denoise-gray-2026-11-28.onnx"
train --init "$stages/denoise-gray-2026-11-28.onnx" --no-history-share 0 --partial-history-share 0 \
  --epochs 60 --lr 5e-4 --warmup 200 -o "$stages/aligned.onnx"
train --init "$stages/aligned.onnx" --no-history-share 0.15 --partial-history-share 0.1 \
  --epochs 20 --lr 2e-4 --warmup 50 -o "$stages/stream-starts-1.onnx"
train --init "$stages/stream-starts-1.onnx" --no-history-share 0.25 --partial-history-share 0.1 \
  --epochs 15 --lr 1.5e-4 --warmup 50 -o "$out/denoise-temporal.onnx"
