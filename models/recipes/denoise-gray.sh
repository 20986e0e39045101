#!/usr/bin/env bash
# Recipe of models/denoise-gray.onnx, caedenoise's default: a blind (sigma 5-50) residual U-Net
# behind a 2x2 learned unshuffle (35.7 kFLOP/pixel), trained for the oneDNN backend's budget
# (issue 11) in two stages on the same data, split and validation samples:
#  1. 320 epochs x 100 steps x 16 patches = 512,000 patches, cosine to 1e-5 (Gaussian noise,
#     unclipped). One engine thread at nice 5: about 55 min on a quiet 2-core machine (160
#     patches/s); checkpoints every epoch. This stage was shipped alone as
#     76c7ee3:models/denoise-gray.onnx (validation loss 0.000111 unclipped); `git show
#     76c7ee3:models/denoise-gray.onnx > OUT/denoise-gray-stages/denoise-gray-unclipped.onnx`
#     skips it.
#  2. denoise_clip_finetune (models/recipes/denoise-data.sh): 40 epochs with clipped noise, as an
#     8-bit frame stores it; 10 min with two engine threads. Validation loss under clipped noise
#     0.000143 -> 0.000119.
# Retrain: models/recipes/denoise-gray.sh [out-dir] [extra cae-train options, e.g. --resume]; the
# extra options go to the first stage still to run (stage 1 is skipped when its output exists).
# Needs a built tree (./run-tests or meson+ninja in build/).
# The shipped file was trained this way: stage 1 in two parts on 2026-11-28/29 (epochs 1-192,
# stopped, --resume for 193-320; engine threads 1 or 2), stage 2 on 2026-11-29 with two engine
# threads (its cae.recipe metadata has the command, with --init naming the stage-1 file as it
# was then shipped); threads change speed, not the recipe.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/out/models}; shift || true
source "$root/models/recipes/denoise-data.sh"
arch=(--arch conv --stem 2 --channels 24 --stages 3 --depth 2 --max-channels 96 --skips --residual)
denoise_two_stages denoise-gray 320 "$@"
