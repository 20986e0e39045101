#!/usr/bin/env bash
# Recipe of models/anomaly-<texture>.onnx, the caeanomaly texture models of the defect benchmark
# (bench/run_anomaly_bench.sh): one undercomplete conv autoencoder per texture, trained on the
# defect-free training part of the texture (bench_anomaly_defects prepare: the left three
# quarters, cut into 6 tiles; one tile, two for the segmentation variants, is held out for
# validation and for the threshold), as a denoising autoencoder (Gaussian noise, sigma 15) so that
# it learns to pull unusual pixels back to the texture. The threshold is calibrated by cae-train on held-out crops: the frame score is the
# largest pixel of the low-passed residual map (sigma 2) smoothed by sigma 4 (cae.anomaly_map,
# cae.map_sigma); the crop scores' frame model (--frame-fpr 0.001, cae.frame_model) sets it for
# 0.001 false alarms per frame at each frame's size (cae.threshold: at 640x480). Models made
# before the frame model (recipe without --frame-fpr) carry the crop quantile at 1 %.
#   <texture>        quality: a learned 2x2 stem, three stages (16-32-64-64 channels), code 32
#   <texture>-fast   real time: a learned linear 4x4 stem, two stages (24-48-48), code 32 — about
#                    2.5x faster through caeanomaly, a few points of AUROC lower (the cards)
#   <texture>-seg    DRAEM-style (issue 12): the quality autoencoder plus a segmentation head
#                    (--seg-width 16 at 1/2 resolution) trained on synthetic anomalies
#                    (core/train/synthetic_anomaly: Perlin regions filled from the mate-backgrounds
#                    nature photographs other than the benchmark's Wood and Blinds, or warps of
#                    the sample), flips (and rotations for the isotropic grass and gravel),
#                    calibrated by the frame model at 0.001 false alarms per 640x480 frame
#   <texture>-fast-seg  the real-time autoencoder with the head at 1/4 resolution
#                    The segmentation variants train for 200 epochs, the others for 60: chosen on
#                    validation (2026-12-01, the five -fast-seg models both ways; held-out crops
#                    with the trainer's synthetic anomalies, AUROC / share flagged at the
#                    threshold, brick grass gravel leaf wood): 60 epochs 0.954/14.0 %,
#                    0.669/13.5, 0.810/29.0, 0.980/46.5, 0.803/15.5 (mean 0.843/23.7 %);
#                    200 epochs 0.973/31.0, 0.812/21.0, 0.886/42.5, 0.968/52.5, 0.973/38.0
#                    (mean 0.922/37.0 %). About 8 min each at 200 epochs (leaf 10).
#                    A candidate (session 32), not shipped: the five trained with half the
#                    patches blurred and calibrated on crops blurred the same way (extra options
#                    --defocus 1 --calib-defocus 1: sigma up to 1 px, as a line camera's focus
#                    drifts). On validation (both ways calibrated and validated on the blurred
#                    crops; the shipped models recalibrated by --init from them, --steps 1
#                    --epochs 1 --lr 1e-12; AUROC / share flagged, brick grass gravel leaf wood):
#                    shipped 0.973/24.5 %, 0.821/23.5, 0.867/34.0, 0.989/52.5, 0.962/39.5 (mean
#                    0.922/34.8 %); blurred 0.967/27.0, 0.855/22.0, 0.892/46.0, 0.977/48.5,
#                    0.961/34.5 (mean 0.931/35.6 %): better on gravel and grass, within the
#                    noise of 200 crops on the mean. Its benchmark run
#                    (bench/reports/candidates/anomaly-defocus.md): image AUROC 0.757 as
#                    before (wood 0.808 against 0.871), pixel 0.925 (0.921), 12.1 % of defect
#                    crops flagged (15.7), gravel 617 false alarms per 1,000 frames (436): the
#                    benchmark's gravel false alarms do not come from blur alone.
#                    They come from one dark crevice between pebbles in the test strip (x 107-121,
#                    y 443-477 of the 128x512 strip): with the benchmark's line variation redrawn
#                    (100 strips through caeanomaly, session 32) the shipped gravel-fast-seg
#                    flags 34, 10 of them under the view change alone, none under lighting, blur
#                    or noise alone. The one calibration tile (tile12) has no such crevice. A
#                    second candidate, gravel-fast-seg with two held-out tiles (--val-fraction
#                    0.34 in place of 0.17: tile01 and tile12 calibrate, four tiles train):
#                    threshold at 640x480 0.99974 (0.9866), validation 0.875 / 16.5 % flagged
#                    (0.886 / 42.5), on the benchmark's gravel (bench_anomaly_defects eval,
#                    --textures gravel) 0 false alarms per 1,000 frames (436), image / pixel
#                    AUROC 0.628 / 0.780 (0.615 / 0.806), 4.1 % of defect crops flagged (7.5):
#                    the false alarms go, and half the detections with them. Not shipped then.
#                    The other four the same way (bench_anomaly_defects eval --textures T, image /
#                    pixel AUROC, defect crops flagged, against the shipped): wood 0.905 / 0.963,
#                    36.1 % (0.871 / 0.957, 29.6 %; 1 of 46 clean crops flagged); brick 0.769 /
#                    0.987, 4.1 % (0.810 / 0.987, 18.9 %); grass 0.666 / 0.840, 3.9 % (0.699 /
#                    0.869, 3.8 %); leaf 0.752 / 0.979, 7.7 % (0.792 / 0.986, 17.0 %); no false
#                    alarms on any. Brick's and leaf's thresholds saturate at 0.99999.
#                    Shipped since session 33 for all five segmentation variants (--val-fraction
#                    0.34 below): issue 12 asks for the threshold to be calibrated on held-out data
#                    as varied as a line, with several held-out tiles, and one tile of six missed
#                    what gravel's test strip holds. The benchmark of 2026-12-03 (the five
#                    retrained, against the one-tile models of 2026-12-01): false alarms per 1,000
#                    line-varied 640x480 frames 0.0 on every texture (mean 87.2, gravel 436: the
#                    target of 1 is met), image / pixel AUROC 0.744 / 0.910 (0.757 / 0.921),
#                    defect crops flagged 11.8 % (15.7; wood 36.1 against 29.6, brick 4.1 against
#                    18.9, leaf 7.7 against 17.0): a threshold that holds its false-alarm rate is a
#                    higher one, and these models find fewer defects under it.
#                    A candidate (session 36), not shipped: the same models scored on the logit
#                    of the head's output (--anomaly-map segmentation-logit: the logit taken
#                    before the sigma-4 smoothing and the maximum; the heads saturate, brick's
#                    and leaf's thresholds sat at probability 0.99999, where smoothed
#                    probabilities no longer rank). On validation (2026-12-04, the five
#                    recalibrated both ways by --init with one step at lr 1e-12; retrained by
#                    this recipe with the logit map, each reached the shipped validation loss to
#                    every digit and the same thresholds; AUROC / share flagged, brick grass
#                    gravel leaf wood):
#                    probability 0.960/2.5 %, 0.782/16.0, 0.875/16.5, 0.992/29.0, 0.973/52.5
#                    (mean 0.916/23.3 %); logit 0.968/2.5, 0.785/19.5, 0.876/20.0, 0.992/51.5,
#                    0.974/58.5 (mean 0.919/30.4 %). Its benchmark run
#                    (bench/reports/candidates/anomaly-logit.md): image / pixel AUROC 0.763 /
#                    0.905 (probability in the same run 0.744 / 0.910; brick 0.827 against
#                    0.769, leaf 0.795 against 0.752, the others level),
#                    defect crops flagged 19.7 % (11.8 with the probability map, 2026-12-03),
#                    but false alarms per 1,000 line-varied 640x480 frames 105 on wood and 46
#                    on gravel (0 and 0), mean 30.2 against the target of 1; the 5-minute demo
#                    with the wood model found 11 of 15 defects (5) with 60 false-alarm frames
#                    (0; with --alarm-frames 2 --alarm-window 3: 9 of 15, 4 false-alarm
#                    frames): one spot of the never-calibrated test
#                    strip scores logit 4.1 against the threshold 3.35 at one phase of the
#                    model's 16-pixel grid. A logit map's maximum has a heavier tail on texture
#                    the two calibration tiles do not hold; the probability map stays shipped.
#                    With three calibration tiles (val_fraction 0.5, three left to train) the
#                    logit wood model raises none (threshold 9.88, 0 per 1,000 frames) but finds
#                    fewer: image / pixel AUROC 0.896 / 0.961, 28.1 % of defect crops flagged
#                    (bench_anomaly_defects eval --textures wood), below the shipped 0.905 /
#                    0.963, 36.1 %: calibration data should not be taken from the training tiles.
#   <texture>-riad   reconstruction by inpainting (RIAD, issue 12): the quality network with U-Net
#                    skips, trained to fill in one random set of blanked square cells per sample
#                    (--noise grid-mask, cells of 2, 4, 8, 16 pixels); run as 4 scales x 3
#                    complementary masks = 12 passes per frame (cae.inpaint), so it never sees
#                    the pixels it reconstructs and cannot copy a defect through
# Every variant is trained under random lighting (--lighting) and calibrated on held-out crops
# seen as a line's camera varies (--calib-variation line: lighting, view, noise). Chosen on
# validation data (2026-11-30, the seven shipped designs trained both ways): held-out crops with
# the trainer's synthetic anomalies against normal ones at the calibrated operating point
# (validation_anomaly_auroc / _detection in the logs) — with --lighting mean AUROC 0.708 and
# 15.9 % flagged, without 0.673 and 13.1 % (validation loss, which scores plain reconstruction,
# was worse with it for brick and wood-fast-seg, equal elsewhere).
# Retrain: models/recipes/anomaly.sh TEXTURE[-fast|-seg|-fast-seg|-riad] [out-dir] [extra cae-train
#   options, e.g. --resume]
#   TEXTURE: brick | grass | gravel | wood | leaf (colour) | all (the five quality models)
#   (TEXTURE-riad too)
# Needs a built tree (build/tools/cae-train, build/bench/bench_anomaly_defects). One engine
# thread, as the shipped models were trained. Reruns were bit-identical when they were made; on
# 2026-11-29 wood-fast retrained to validation loss 0.000346397 against the shipped 0.000345794
# (not bit-identical any more; the cause is not yet found).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
name=${1:?"usage: $0 brick|grass|gravel|wood|leaf[-fast|-seg|-fast-seg|-riad]|all [out-dir] [cae-train options]"}
shift
out=${1:-$root/out/models}; shift || true
if [[ $name == all ]]; then
  for t in brick grass gravel wood leaf; do "$0" "$t" "$out" "$@"; done
  exit 0
fi
tex=${name%-seg}
tex=${tex%-riad}
tex=${tex%-fast}
arch=(--stem 2 --channels 16 --stages 3 --depth 1 --max-channels 64 --latent 32)
[[ $name == *-fast* ]] && arch=(--stem 4 --linear-stem --channels 24 --stages 2 --depth 1 --max-channels 48 --latent 32)
line=(--lighting --calib-variation line)
objective=(--noise gaussian --sigma 15 --anomaly-map lowpass --fpr 0.01 --epochs 60
           --frame-fpr 0.001 --deploy-size 640x480 "${line[@]}")
if [[ $name == *-riad ]]; then
  arch+=(--skips)
  objective=(--noise grid-mask --mask-scales 2,4,8,16 --anomaly-map lowpass --fpr 0.01 --epochs 60
             --frame-fpr 0.001 --deploy-size 640x480 "${line[@]}")
fi
if [[ $name == *-seg ]]; then
  sources=()
  for f in Aqua Dune FreshFlower Garden GreenMeadow LadyBird RainDrops Storm TwoWings YellowFlower; do
    sources+=(--anomaly-source "/usr/share/backgrounds/mate/nature/$f.jpg")
  done
  head=(--seg-width 16 --seg-stem 2)
  [[ $name == *-fast-seg ]] && head=(--seg-width 16 --seg-stem 4)
  objective=("${head[@]}" "${sources[@]}" --flips --fpr 0.01 --frame-fpr 0.001
             --deploy-size 640x480 --epochs 200 "${line[@]}")
  [[ $tex == grass || $tex == gravel ]] && objective+=(--rotations)
fi
# Held out for validation and the threshold: one tile of six (--val-fraction 0.17), two (tile01
# and tile12: 0.34) for the segmentation variants (session 33; see <texture>-fast-seg above).
val_fraction=0.17
[[ $name == *-seg ]] && val_fraction=0.34
data=$out/anomaly-data
[[ -d $data/$tex/train ]] || "$root/build/bench/bench_anomaly_defects" prepare "$data" >/dev/null
[[ -d $data/$tex/train ]] || { echo "unknown texture: $tex" >&2; exit 2; }
color=gray
[[ $tex == leaf ]] && color=rgb
mkdir -p "$out"
exec "$root/build/tools/cae-train" "$data/$tex/train" --color "$color" \
  --task anomaly --map-sigma 4 --calib-size 640 \
  --arch conv "${arch[@]}" \
  "${objective[@]}" \
  --patch 64 --val-fraction "$val_fraction" --val-samples 128 \
  --batch 16 --steps 100 --lr 1e-3 --schedule cosine --min-lr 1e-5 --seed 1 --threads 1 \
  -o "$out/anomaly-$name.onnx" "$@"
