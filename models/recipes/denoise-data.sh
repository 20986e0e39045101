# Training data of the shipped denoisers (sourced by the recipes): the mate-backgrounds nature
# photographs and the python3-skimage images that are NOT on the test list of ANCHORS.md
# (camera, astronaut, coffee, chelsea, rocket, motorcycle_left, horse, moon, coins,
# hubble_deep_field, text). motorcycle_right is left out too: it is the stereo partner of the
# test image motorcycle_left.
SK=/usr/lib/python3/dist-packages/skimage/data
DENOISE_DATA=(
  /usr/share/backgrounds/mate/nature
  "$SK/brick.png" "$SK/grass.png" "$SK/gravel.png" "$SK/retina.jpg" "$SK/ihc.png"
  "$SK/cell.png" "$SK/microaneurysms.png" "$SK/page.png"
)

# The second stage of the single-image denoisers' recipes (session 11): a fine-tune with clipped
# noise (cae-train --noise-clip, Gaussian samples clipped to [0, 1] as an 8-bit frame stores
# them; the first stage never saw the clipping's bias), 40 epochs x 100 steps x 16 patches at
# lr 1e-4, 100 warm-up steps, cosine to 1e-6, on the same data, split and validation samples.
# Usage: denoise_clip_finetune INIT OUTPUT ARCH-AND-EXTRA-OPTIONS...
denoise_clip_finetune() {
  local init=$1 output=$2
  shift 2
  nice -n 5 "${CAE_TRAIN:-$root/build/tools/cae-train}" "${DENOISE_DATA[@]}" "$@" \
    --task denoise --noise gaussian --sigma 5-50 --noise-clip \
    --patch 64 --scales 1,0.5,0.25 --flips --rotations --val-samples 256 \
    --batch 16 --epochs 40 --steps 100 --lr 1e-4 --warmup 100 --schedule cosine --min-lr 1e-6 \
    --seed 1 --threads 1 --init "$init" -o "$output"
}

# The two stages of denoise-gray's and denoise-hq's recipes: stage 1 (Gaussian noise unclipped,
# EPOCHS x 100 steps x 16 patches, lr 1e-3 cosine to 1e-5) into OUT/NAME-stages/NAME-unclipped.onnx
# unless that file exists, then denoise_clip_finetune into OUT/NAME.onnx. Reads the caller's
# `arch` array (the architecture options) and `out`; the extra options go to the first stage still
# to run. Usage: denoise_two_stages NAME EPOCHS [extra cae-train options, e.g. --resume]
denoise_two_stages() {
  local name=$1 epochs=$2
  shift 2
  mkdir -p "$out/$name-stages"
  local base=$out/$name-stages/$name-unclipped.onnx
  if [[ ! -f $base ]]; then
    nice -n 5 "${CAE_TRAIN:-$root/build/tools/cae-train}" "${DENOISE_DATA[@]}" "${arch[@]}" \
      --task denoise --noise gaussian --sigma 5-50 \
      --patch 64 --scales 1,0.5,0.25 --flips --rotations --val-samples 256 \
      --batch 16 --epochs "$epochs" --steps 100 --lr 1e-3 --schedule cosine --min-lr 1e-5 \
      --seed 1 --threads 1 -o "$base" "$@"
    set --
  fi
  denoise_clip_finetune "$base" "$out/$name.onnx" "${arch[@]}" "$@"
}
