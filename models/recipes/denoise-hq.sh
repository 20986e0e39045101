#!/usr/bin/env bash
# Recipe of models/denoise-hq.onnx, the quality denoiser (issue 11): denoise-gray's design (a
# blind sigma 5-50 residual U-Net behind a 2x2 learned unshuffle) at 32 channels, cap 128: 1.8x
# its arithmetic (260 MFLOP per 64x64 patch), in two stages on the same data, split and
# validation samples:
#  1. 640 epochs x 100 steps x 16 patches = 1,024,000 patches, cosine to 1e-5 (Gaussian noise,
#     unclipped). One engine thread: about 100 patches/s on a quiet 2-core machine, 3 hours;
#     checkpoints every epoch. This stage was shipped alone as af1b64f:models/denoise-hq.onnx
#     (validation loss 0.0000997 unclipped); `git show af1b64f:models/denoise-hq.onnx >
#     OUT/denoise-hq-stages/denoise-hq-unclipped.onnx` skips it.
#  2. denoise_clip_finetune (models/recipes/denoise-data.sh): 40 epochs with clipped noise, as an
#     8-bit frame stores it; 18 min. Validation loss under clipped noise 0.000134 -> 0.000106.
# Retrain: models/recipes/denoise-hq.sh [out-dir] [extra cae-train options, e.g. --resume]; the
# extra options go to the first stage still to run (stage 1 is skipped when its output exists).
# Needs a built tree (./run-tests or meson+ninja in build/).
# The shipped file was trained this way: stage 1 over three sessions on 2026-11-29 (stopped and
# --resume'd after epochs 113, 222 and 360, engine threads 1 or 2; 4.9 h), stage 2 the same day
# (its cae.recipe metadata has the command, with --init naming the stage-1 file as it was then
# shipped).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/out/models}; shift || true
source "$root/models/recipes/denoise-data.sh"
arch=(--arch conv --stem 2 --channels 32 --stages 3 --depth 2 --max-channels 128 --skips --residual)
denoise_two_stages denoise-hq 640 "$@"
