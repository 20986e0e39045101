#!/usr/bin/env bash
# Recipe of models/codec-<kind>-q<N>.onnx (+ .decoder.onnx), the learned codecs of caeenc /
# caedec / cae-codec (issue 14): Ballé et al.'s factorized-prior autoencoder trained by cae-train
# --task compress on the denoisers' photographs (denoise-data.sh: mate-backgrounds and the
# skimage images not on the ANCHORS test list; microaneurysms.png, 102x102, is left out: it is
# smaller than a patch), in RGB, 128x128 patches, one model per rate point (lambda of
# L = lambda * 255^2 * MSE + bits per pixel, CompressAI's scale):
#   hq    GDN / IGDN, 4 stages of 5x5 (strided) convs, N = 64 channels, M = 96 latents
#   fast  ReLU, 4 stages of 3x3 convs, N = 32, M = 64: the real-time model
#   q1 .. q4: lambda 0.0035, 0.0067, 0.0130, 0.0250
# Retrain: models/recipes/codec.sh hq|fast q1|q2|q3|q4 [out-dir] [extra cae-train options, e.g.
#   --resume]. Needs a built tree (build/tools/cae-train). One engine thread, under nice.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/models/recipes/denoise-data.sh"
kind=${1:?"usage: $0 hq|fast q1|q2|q3|q4 [out-dir] [cae-train options]"}
point=${2:?"usage: $0 hq|fast q1|q2|q3|q4 [out-dir] [cae-train options]"}
shift 2
out=${1:-$root/out/models}; shift || true
case $point in
  q1) lambda=0.0035 ;; q2) lambda=0.0067 ;; q3) lambda=0.0130 ;; q4) lambda=0.0250 ;;
  *) echo "unknown rate point: $point (q1..q4)" >&2; exit 2 ;;
esac
case $kind in
  hq) arch=(--activation gdn --codec-kernel 5 --channels 64 --latent 96) ;;
  fast) arch=(--activation relu --codec-kernel 3 --channels 32 --latent 64) ;;
  *) echo "unknown codec: $kind (hq or fast)" >&2; exit 2 ;;
esac
data=()
for f in "${DENOISE_DATA[@]}"; do [[ $f == */microaneurysms.png ]] || data+=("$f"); done
mkdir -p "$out"
exec nice -n 5 "${CAE_TRAIN:-$root/build/tools/cae-train}" "${data[@]}" --color rgb \
  --task compress --arch codec --stages 4 "${arch[@]}" --lambda "$lambda" \
  --patch 128 --flips --val-samples 64 \
  --batch 8 --epochs 200 --steps 100 --lr 1e-3 --schedule cosine --min-lr 1e-5 \
  --seed 1 --threads 1 -o "$out/codec-$kind-$point.onnx" "$@"
