#!/usr/bin/env bash
# Recipe of models/codec-<kind>-q<N>.onnx (+ .decoder.onnx), the learned codecs of caeenc /
# caedec / cae-codec (issue 14): Ballé et al.'s factorized-prior autoencoder trained by cae-train
# --task compress on the denoisers' photographs (denoise-data.sh: mate-backgrounds and the
# skimage images not on the ANCHORS test list; microaneurysms.png, 102x102, is left out: it is
# smaller than a patch), in RGB, random 64x64 patches with flips (as many steps in the time as
# 128x128 gave a quarter of, at the same loss per step: session 15's A/B), lambda of
# L = lambda * 255^2 * MSE + bits per pixel (CompressAI's scale):
#   hq    GDN / IGDN, 4 stages of 5x5 (strided) convs, N = 64 channels, M = 96 latents
#   fast  ReLU, 4 stages of 3x3 convs, N = 32, M = 64: the real-time model
# Two steps:
#   base      from scratch at lambda 0.0130 on the pictures as they are (lr 1e-3, cosine to
#             1e-5); written as codec-<kind>-base.*, not shipped
#   q1 .. q4  lambda 0.0035, 0.0067, 0.0130, 0.0250, each fine-tuned from the base's final
#             checkpoint (--init: transforms and entropy model) at lr 3e-4 on the pictures and
#             their 1/2 and 1/4 downsizings (--scales 1,0.5,0.25): the photographs are 2560 px
#             wide, so their 64x64 patches are nearly flat, and a codec trained on them alone
#             coded detailed pictures (skimage's motorcycle_right.png, on no list) 2-3 dB worse
#             than JPEG while beating it on the flat ones (session 15)
# A run that diverges (GDN at lr 1e-3 can: hq's base did at epoch 38 in session 15) is resumed
# from its last good checkpoint at lr 3e-4, the cosine schedule then spanning `rescue` epochs.
# Retrain: models/recipes/codec.sh hq|fast all|base|q1|q2|q3|q4 [out-dir] [extra cae-train
#   options, e.g. --resume]; "all" runs base, then q3, q1, q2, q4. Needs a built tree
#   (build/tools/cae-train). One engine thread, under nice. Steps: fast 60,000 (base) + 15,000
#   per rate point; hq 25,000 (base: 17,000 when it diverges at epoch 38 and is resumed, as in
#   session 15) + 2,000 per rate point.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/models/recipes/denoise-data.sh"
usage="usage: $0 hq|fast all|base|q1|q2|q3|q4 [out-dir] [cae-train options]"
kind=${1:?$usage}
point=${2:?$usage}
shift 2
out=${1:-$root/out/models}; shift || true
if [[ $point == all ]]; then
  for q in base q3 q1 q2 q4; do "$0" "$kind" "$q" "$out" "$@"; done
  exit
fi
case $point in
  q1) lambda=0.0035 ;; q2) lambda=0.0067 ;; q3 | base) lambda=0.0130 ;; q4) lambda=0.0250 ;;
  *) echo "unknown rate point: $point (base, q1..q4)" >&2; exit 2 ;;
esac
case $kind in
  hq) arch=(--activation gdn --codec-kernel 5 --channels 64 --latent 96); base=250 tune=20 rescue=170 ;;
  fast) arch=(--activation relu --codec-kernel 3 --channels 32 --latent 64); base=600 tune=150 rescue=600 ;;
  *) echo "unknown codec: $kind (hq or fast)" >&2; exit 2 ;;
esac
if [[ $point == base ]]; then
  schedule=(--epochs "$base" --lr 1e-3) data_opts=()
else
  schedule=(--epochs "$tune" --lr 3e-4 --init "$out/codec-$kind-base.ckpt")
  data_opts=(--scales 1,0.5,0.25)
fi
data=()
for f in "${DENOISE_DATA[@]}"; do [[ $f == */microaneurysms.png ]] || data+=("$f"); done
mkdir -p "$out"
train() {
  nice -n 5 "${CAE_TRAIN:-$root/build/tools/cae-train}" "${data[@]}" --color rgb \
    --task compress --arch codec --stages 4 "${arch[@]}" --lambda "$lambda" \
    --patch 64 --flips --val-samples 64 "${data_opts[@]}" \
    --batch 8 --steps 100 "$@" --schedule cosine --min-lr 1e-5 \
    --seed 1 --threads 1 -o "$out/codec-$kind-$point.onnx"
}
log="$out/codec-$kind-$point.log.jsonl"
if ! train "${schedule[@]}" "$@"; then
  tail -n 1 "$log" | grep -q '"event":"diverged"' || exit 1
  echo "codec.sh: diverged; resuming from the last good checkpoint at lr 3e-4" >&2
  train --epochs "$rescue" --lr 3e-4 --resume
fi
