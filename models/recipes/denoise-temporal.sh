#!/usr/bin/env bash
# Recipe of models/denoise-temporal.onnx, the aligned temporal (5-frame) gray denoiser: the U-Net
# of denoise-gray reading the current frame and the four before it stacked as channels
# (cae.frames = 5), each older frame first moved onto the current one by the global translation
# of core/infer/align (cae.align = translation: caedenoise does the same on whole noisy frames).
# Clips come from the denoise data seen by a moving camera (cae-train --frames: pans of up to
# --max-motion px/frame with small turns and zooms, a quarter still, a quarter with an object
# moving on its own; blind sigma 5-50, independent noise per frame), rendered at 192x192 around
# the 64x64 patch so that the shift estimate has context (--align translation). Stream starts are
# trained from the first epoch: 20 % of the clips are fed as caedenoise feeds a stream's first
# frame (every older frame a copy of the current one), 15 % with 1 to 3 older frames only.
# Two stages. 1: 150 epochs x 100 steps x 16 clips from denoise-gray (git 76c7ee3, the version
# shipped on 2026-11-29; its stem runs on every frame, enc0 reads the older frames' channels with
# zero weights, so training starts from the single-frame model exactly); Gaussian noise
# unclipped. This stage was shipped alone as 8d8445e:models/denoise-temporal.onnx (made on
# 2026-11-29, built at commit 532f5bd, in three parts: epochs 1-41, stopped; --resume 42-150 with
# 1, then 2 engine threads: threads change speed, not the result); `git show
# 8d8445e:models/denoise-temporal.onnx > OUT/denoise-temporal-stages/denoise-temporal-unclipped.onnx`
# skips it. 2: denoise_clip_finetune (models/recipes/denoise-data.sh), 40 epochs with noise
# clipped to [0, 1] as an 8-bit frame stores it (about 20 min on one thread; session 11).
# The extra options go to the first stage still to run. Retrain: models/recipes/denoise-temporal.sh [out-dir] [more cae-train
# options, e.g. --resume] (needs a built tree; CAE_TRAIN: the cae-train to run, default
# build/tools/cae-train; about 3 h on one engine thread of a quiet 2-core machine).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/out/models}; shift || true
source "$root/models/recipes/denoise-data.sh"
mkdir -p "$out/denoise-temporal-stages"
arch=(--arch conv --stem 2 --channels 24 --stages 3 --depth 2 --max-channels 96 --skips --residual
  --frames 5 --temporal-channels 48 --max-motion 4 --align translation
  --no-history-share 0.2 --partial-history-share 0.15)
base=$out/denoise-temporal-stages/denoise-temporal-unclipped.onnx
if [[ ! -f $base ]]; then
  init=$out/denoise-temporal-stages/denoise-gray-76c7ee3.onnx
  git -C "$root" show 76c7ee3:models/denoise-gray.onnx >"$init"
  nice -n 5 "${CAE_TRAIN:-$root/build/tools/cae-train}" "${DENOISE_DATA[@]}" "${arch[@]}" \
    --task denoise --noise gaussian --sigma 5-50 \
    --patch 64 --scales 1,0.5,0.25 --flips --rotations --val-samples 256 \
    --batch 16 --steps 100 --schedule cosine --min-lr 1e-5 --seed 1 --threads 1 \
    --init "$init" --epochs 150 --lr 5e-4 --warmup 200 -o "$base" "$@"
  set --
fi
denoise_clip_finetune "$base" "$out/denoise-temporal.onnx" "${arch[@]}" "$@"
