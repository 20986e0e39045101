#!/usr/bin/env bash
# Recipe of models/audio-anomaly.onnx, caeaudioanomaly's default (issue 15): the DCASE 2020
# task 2 baseline's shape, a dense autoencoder 640-128-128-128-128-8-128-128-128-128-640 of 5
# stacked log-mel frames (128 mels from 0 to 7.2 kHz of 1024-sample Hann frames every 512 at
# 16 kHz: 64 ms / 32 ms), trained by cae-train --task audio-anomaly on normal sound only. A 1 s analysis window
# scores the Mahalanobis distance of its mean reconstruction residual per mel band from normal
# windows' (--window-score mahalanobis, the default: statistics fitted on half the held-out
# clips), calibrated at 1 % false alarms per window on the other half.
# Data: Debian ships no machine recordings that run well and then fail, so the machines are
# synthetic (core/audio/machine_sounds.hpp via cae-machine-sounds): machines 1-4, 50 normal
# clips of 10 s each, each over a stretch of a real recorded drone (endless-sky-data's
# machinery ambience, looped); 30 % of the clips are held out (30 to fit the window statistics,
# 30 to calibrate). The model never sees a fault.
# Chosen on validation clips (bench_audio_anomaly MODEL --seed-base 3000000 --normal 10
# --faulty 5), session 17: mean AUROC 0.837 with the mean error as window score (session 16),
# 0.961 with the Mahalanobis score and 40 clips / 20 % held out, 0.967 with 50 clips / 30 %;
# 0.960 with the band to 7.2 kHz (--mel-fmax's default), which alone keeps its false alarms
# when the same clips arrive resampled to 48 kHz (5 of 400 windows; 400 of 400 with 8 kHz).
# Retrain: models/recipes/audio-anomaly.sh [out-dir] [extra cae-train options]
#   (needs build/tools/cae-train and build/tools/cae-machine-sounds, or CAE_TRAIN /
#   CAE_MACHINE_SOUNDS; a few minutes here).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/out/models}; shift || true
mkdir -p "$out"
data=${CAE_AUDIO_DATA:-$root/out/audio-data}/machines-train
drone=/usr/share/games/endless-sky/sounds/ambient/machinery.mp3
[[ -f $drone ]] || { echo "audio-anomaly: missing $drone (apt-get install endless-sky-data)" >&2; exit 1; }
"${CAE_MACHINE_SOUNDS:-$root/build/tools/cae-machine-sounds}" "$data" --machines 1 2 3 4 \
  --clips 50 --seconds 10 --drone "$drone" --seed 1
exec nice "${CAE_TRAIN:-$root/build/tools/cae-train}" --task audio-anomaly "$data" \
  --val-fraction 0.3 --fpr 0.01 --analysis-window 1 \
  --batch 256 --epochs 100 --steps 200 --lr 1e-3 --schedule cosine --min-lr 1e-5 \
  --val-samples 4096 --threads 1 --seed 15 \
  -o "$out/audio-anomaly.onnx" "$@"
