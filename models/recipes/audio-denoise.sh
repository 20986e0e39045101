#!/usr/bin/env bash
# Recipe of models/audio-denoise.onnx, the speech denoiser of caeaudiodenoise (issue 15): a
# causal convolutional autoencoder over 16 kHz STFT frames (512-sample sqrt-Hann windows every
# 128 samples: 32 ms algorithmic latency) that reads the log-magnitudes of the last 23 frames (8
# before the last step) and their running noise floors, and outputs a gain in [0, 1] per bin of
# the newest (train/audio_arch.hpp, audio_data.hpp, audio/noise_floor.hpp).
# Data (audio-data.sh): real speech (asterisk's prompts: 8 kHz en-US Allison for the first
# steps, then the wideband G.722 prompts of five voices; pocketsphinx's LibriVox excerpts) and
# espeak-ng speech in 24 voices, mixed on the fly at SNRs of -5..20 dB with recorded noise and
# noise made on the fly (coloured, hum, babble of the training speech).
# Recorded training noise (Debian game data; the benchmark's noise comes from other packages):
#   btanks-data      ambient city, forest, country, swamp; train pass-by; helicopter
#   lugaru-data      wind, desert wind
#   endless-sky-data machinery (engine room)
# Speech and noise files are held out by file for validation (--val-fraction 0.1; the last step
# names its validation noise instead). The loss is the phase-sensitive spectrum approximation
# (--mask-loss psa): on validation frames it left the masks' power-weighted error 6.42 dB below
# the noisy frames' against 4.16 dB for plain mask MSE (the same 100 epochs; session 16).
# Seven steps of 500 steps of 32 frames per epoch, each from the one before's weights with a new
# cosine schedule (to 1e-5). The first four (sessions 16-17) drew every speech file equally
# often, so that 82 % of the mixtures held the 8 kHz en-US prompts (nothing above 4 kHz). From
# `wide` on (session 18) the real speech is the wideband G.722 prompts of five voices instead,
# every second of speech drawn as often as any other (--speech-sampling duration); `floor` adds
# the noise-floor plane (--noise-floor: the floor's weights start at zero, so it starts as
# `wide`); `crowd` (session 19) adds recorded crowds, cheering and a market to the noise.
#   base      from scratch, lr 1e-3, 100 epochs   -> audio-denoise-base.*
#   s2        --init base, lr 5e-4, 120 epochs     -> audio-denoise-s2.*  (session 16's model)
#   s3        --init s2, lr 3e-4, 200 epochs       -> audio-denoise-s3.*
#   s4        --init s3, lr 2e-4, 200 epochs       -> audio-denoise-s4.*  (session 17's model)
#   wide      --init s4.onnx (its best epoch), wideband speech, lr 3e-4, 150 epochs
#             -> audio-denoise-wide.*
#   floor     --init wide.onnx, --noise-floor, lr 3e-4, 120 epochs
#             -> audio-denoise-floor.*  (session 18's model)
#   crowd     --init floor.onnx, the crowd noise, --val-noise-data, lr 3e-4, 100 epochs, two
#             engine threads -> audio-denoise-crowd.*  (session 19's model)
#   kinds     --init crowd.onnx widened to 256 channels (its weights fill the first 192, the
#             added ones start with zero weights out, so training starts from its function),
#             more kinds of recorded noise (crackle and hiss, waves, a factory, creaks, music;
#             held-out recordings of those kinds validate), --mask-loss snr, lr 3e-4, 100
#             epochs, one thread -> audio-denoise-kinds.*  (session 22's model, shipped until
#             session 27)
#   strided   --init kinds.onnx, the same layers with stride 2 along time in the three first
#             convs (--time-stride 2 --context 23: they read 23 frames instead of 8), lr 3e-4,
#             100 epochs, two threads -> audio-denoise-strided.*  (session 27's model, shipped
#             until session 30)
#   recorded  --init strided.onnx, 70 % of the noise draws from the recordings
#             (--recorded-share 0.7, 0.35 before), lr 1.5e-4, 60 epochs, one thread
#             -> audio-denoise-recorded.*  (session 31's model, shipped until session 36)
#   broad, broad-half  --init recorded.onnx, twelve more recordings (six train, six more
#             validate), share 0.7 / 0.5, lr 1e-4, 30 epochs, one thread each
#             -> audio-denoise-broad.*, audio-denoise-broad-half.*  (session 33's candidates)
#   soup      no training: the mean of recorded's, broad's and broad-half's weights
#             (--init-average), written by one step at lr 1e-12 -> audio-denoise.*  (the
#             shipped model, session 37)
# Retrain: models/recipes/audio-denoise.sh [out-dir]
#   [base|s2|s3|s4|wide|floor|crowd|kinds|strided|recorded|broad|broad-half|soup|all] [extra
#   cae-train options, e.g. --resume] (needs build/tools/cae-train, or CAE_TRAIN=path; under
#   nice; about 20 + 25 + 35 + 35 + 30 + 45 + 45 + 42 + 48 + 35 + 13 + 13 + 1 minutes on an idle
#   machine here).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/models/recipes/audio-data.sh"
out=${1:-$root/out/models}; shift || true
step=${1:-all}; shift || true
mkdir -p "$out"
if [[ $step == all ]]; then
  for s in base s2 s3 s4 wide floor crowd kinds strided recorded broad broad-half; do
    "$0" "$out" $s "$@"
  done
  exec "$0" "$out" soup "$@"
fi
data=${CAE_AUDIO_DATA:-$root/out/audio-data}
cae_espeak_speech "$data/espeak" 120
cae_g722_speech "$data/g722"
noise=(
  /usr/share/games/btanks/data/sounds/ambient/city.ogg
  /usr/share/games/btanks/data/sounds/ambient/forest.ogg
  /usr/share/games/btanks/data/sounds/ambient/country.ogg
  /usr/share/games/btanks/data/sounds/ambient/swamp.ogg
  /usr/share/games/btanks/data/sounds/train.ogg
  /usr/share/games/btanks/data/sounds/helicopter.ogg
  /usr/share/games/lugaru/Sounds/Wind.ogg
  /usr/share/games/lugaru/Sounds/DesertAmbient.ogg
  /usr/share/games/endless-sky/sounds/ambient/machinery.mp3
)
# From step `crowd` on, more recorded noise: crowds and cheering (etw-data's football crowds,
# dustracing2d-data) and a market (lincity-ng-data); validation noise named outright
# (--val-noise-data), one recording of each kind: an ambience, machinery, a crowd and applause
# (foobillardplus-data). The benchmark's crowd and applause come from lmms-common; bench/
# audio_denoise.py cross-correlates them with every noise file of a model's recipe. Not here:
# frozen-bubble-data's applause.ogg, which is lmms's applause01 (normalized cross-correlation
# 0.95).
crowd_val=(
  /usr/share/games/btanks/data/sounds/ambient/country.ogg
  /usr/share/games/endless-sky/sounds/ambient/machinery.mp3
  /usr/share/games/etw/crowd/crowd05.wav
  /usr/share/games/foobillardplus/data/applause.wav
)
crowd_noise=()
for f in "${noise[@]}"; do [[ " ${crowd_val[*]} " == *" $f "* ]] || crowd_noise+=("$f"); done
crowd_noise+=(
  /usr/share/games/etw/crowd/crowd0{1,4,8,9}.wav
  /usr/share/games/etw/crowd/crowd14.wav
  /usr/share/games/dustracing2d/sounds/cheering.ogg
  /usr/share/games/lincity-ng/sounds/MarketFull1.wav
)
# From step `kinds` on, more kinds of recorded noise, none of them from the benchmark's packages
# (sonic-pi-samples, lmms-common): crackle and hiss (scorched3d-data's rain, bubbling lava),
# waves and a factory loop (scorched3d-data), a ship's creaks (wesnoth-1.16-data), music
# (supertux-data, hedgewars-data); validated on held-out recordings of those kinds: a campfire's
# crackle (wesnoth-1.16-data), frogs (scorched3d-data), music (xmoto-data).
s3=/usr/share/games/scorched3d/data/globalmods
kinds_noise=(
  "${crowd_noise[@]}"
  $s3/none/data/wav/misc/rain.wav
  $s3/none/data/wav/misc/lava2.wav
  $s3/none/data/wav/misc/oceanwaves.wav
  $s3/apoc/data/wav/misc/factoryloop1.wav
  /usr/share/games/wesnoth/1.16/data/core/sounds/ambient/ship.ogg
  /usr/share/games/supertux2/music/forest/forest.ogg
  /usr/share/games/supertux2/music/antarctic/cave.ogg
  /usr/share/games/hedgewars/Data/Music/underwater.ogg
)
kinds_val=(
  /usr/share/games/wesnoth/1.16/data/core/sounds/ambient/campfire.ogg
  $s3/none/data/wav/misc/frogs.wav
  /usr/share/games/xmoto/Textures/Musics/batcave.ogg
  "${crowd_val[@]}"
)
# Step `wider` (a candidate, session 32) adds these recordings to the training noise.
wider_noise=(
  /usr/share/games/btanks/data/sounds/ambient/horror.ogg
  /usr/share/games/btanks/data/sounds/ambient/space.ogg
  $s3/apoc/data/wav/misc/cessna.wav
  $s3/apoc/data/wav/misc/cheeringloop.wav
  $s3/apoc/data/wav/misc/citysounds.wav
  $s3/apoc/data/wav/misc/helicopter.wav
  $s3/none/data/wav/misc/birds1.wav
  $s3/none/data/wav/misc/f16_2.wav
  $s3/none/data/wav/misc/jet.wav
  $s3/none/data/wav/movement/tankmove.wav
  /usr/share/games/supertux2/sounds/rain.wav
  /usr/share/games/wesnoth/1.16/data/core/sounds/ambient/wardrums.ogg
)
# Steps `broad` and `broad-half` (candidates, session 33) split `wider`'s recordings: six more
# to train on, six more to validate on (13 validation recordings in all, against 7), so that the
# best epoch is chosen on a wider set of noises than the one `recorded`'s epoch was chosen on.
broad_held=(space.ogg helicopter.wav cheeringloop.wav jet.wav rain.wav wardrums.ogg)
broad_noise=() broad_val=("${kinds_val[@]}")
for f in "${wider_noise[@]}"; do
  [[ " ${broad_held[*]} " == *" ${f##*/} "* ]] || broad_noise+=("$f")
done
for h in "${broad_held[@]}"; do
  for f in "${wider_noise[@]}"; do [[ ${f##*/} == "$h" ]] && broad_val+=("$f"); done
done
packages="btanks-data lugaru-data endless-sky-data etw-data dustracing2d-data lincity-ng-data foobillardplus-data"
# Every step from `kinds` on (and the candidates from it) mixes in the kinds' noise.
more_kinds=false
case $step in kinds | envelope | lookahead | code128 | strided | sequence | timeloss | recorded | again | ema | half | polish | polish-half | wider | broad* | ctx47* | low* | soup*) more_kinds=true ;; esac
$more_kinds && packages+=" wesnoth-1.16-data scorched3d-data supertux-data hedgewars-data xmoto-data"
noise_files=("${crowd_noise[@]}" "${crowd_val[@]}")
$more_kinds && noise_files+=("${kinds_noise[@]}" "${kinds_val[@]}")
[[ $step == wider ]] && noise_files+=("${wider_noise[@]}")
[[ $step == broad* || $step == ctx47* || $step == low* || $step == soup* ]] && noise_files+=("${broad_noise[@]}" "${broad_val[@]}")
for f in "${noise_files[@]}"; do
  [[ -f $f ]] || { echo "audio-denoise: missing $f (apt-get install $packages)" >&2; exit 1; }
done
# Steps base..s4: the 8 kHz en-US prompts, every file as often; from wide on: the wideband
# prompts of five voices, every second of speech as often.
narrow=("${cae_speech_dirs[@]}" "$data/espeak" --speech-sampling clip)
wide=("$data/g722" /usr/share/pocketsphinx/test/data "$data/espeak" --speech-sampling duration)
ambient=(--noise-data "${noise[@]}")
crowds=(--noise-data "${crowd_noise[@]}" --val-noise-data "${crowd_val[@]}")
kinds=(--noise-data "${kinds_noise[@]}" --val-noise-data "${kinds_val[@]}")
# Steps base..crowd: 192 channels and the psa loss; `kinds`: 256 channels and the snr loss.
psa=(--mask-loss psa --channels 192)
# The code: 64 values, 128 for the `code128` candidate.
latent=64
[[ $step == code128 ]] && latent=128
# The frames the model reads: 8, 23 for the last step (`strided`: three stride-2 convs).
context=8
case $step in strided | sequence | timeloss | recorded | again | ema | half | polish | polish-half | wider | broad | broad-half | low* | soup*) context=23 ;; ctx47*) context=47 ;; esac
common=(--task audio-denoise
  --rate 16000 --stft 512:128 --context "$context" --snr=-5:20 --latent "$latent"
  --batch 32 --steps 500 --schedule cosine --min-lr 1e-5 --val-samples 4096 --seed 15)
extra=("$@")
# One step: the data, the common options, then the step's own options (the extra ones last).
train() { exec nice "${CAE_TRAIN:-$root/build/tools/cae-train}" "$@" "${extra[@]}"; }
case $step in
  base) train "${narrow[@]}" "${ambient[@]}" "${common[@]}" "${psa[@]}" --threads 1 --epochs 100 --lr 1e-3 \
          -o "$out/audio-denoise-base.onnx" ;;
  s2) train "${narrow[@]}" "${ambient[@]}" "${common[@]}" "${psa[@]}" --threads 1 \
        --init "$out/audio-denoise-base.ckpt" --epochs 120 --lr 5e-4 -o "$out/audio-denoise-s2.onnx" ;;
  s3) train "${narrow[@]}" "${ambient[@]}" "${common[@]}" "${psa[@]}" --threads 1 \
        --init "$out/audio-denoise-s2.ckpt" --epochs 200 --lr 3e-4 -o "$out/audio-denoise-s3.onnx" ;;
  s4) train "${narrow[@]}" "${ambient[@]}" "${common[@]}" "${psa[@]}" --threads 1 \
        --init "$out/audio-denoise-s3.ckpt" --epochs 200 --lr 2e-4 -o "$out/audio-denoise-s4.onnx" ;;
  wide) train "${wide[@]}" "${ambient[@]}" "${common[@]}" "${psa[@]}" --threads 1 \
          --init "$out/audio-denoise-s4.onnx" --epochs 150 --lr 3e-4 -o "$out/audio-denoise-wide.onnx" ;;
  floor) train "${wide[@]}" "${ambient[@]}" "${common[@]}" "${psa[@]}" --threads 1 --noise-floor \
           --init "$out/audio-denoise-wide.onnx" --epochs 120 --lr 3e-4 \
           -o "$out/audio-denoise-floor.onnx" ;;
  crowd) train "${wide[@]}" "${crowds[@]}" "${common[@]}" "${psa[@]}" --threads 2 --noise-floor \
           --init "$out/audio-denoise-floor.onnx" --epochs 100 --lr 3e-4 \
           -o "$out/audio-denoise-crowd.onnx" ;;
  kinds) train "${wide[@]}" "${kinds[@]}" "${common[@]}" --mask-loss snr --channels 256 \
           --threads 1 --noise-floor --init "$out/audio-denoise-crowd.onnx" --epochs 100 \
           --lr 3e-4 -o "$out/audio-denoise-kinds.onnx" ;;
  # A candidate (session 25), not in `all`: the then shipped model (`kinds`,
  # audio-denoise-kinds.onnx) with a third input plane, each bin's envelope (--envelope 0.95:
  # the log-magnitude smoothed over about 160 ms), whose weights start at zero, so that training
  # starts from the shipped model's function; XB's continuations' schedule (lr 1.5e-4).
  # Measured (session 25, 2 threads, 40 min): validation loss 0.05496 (best epoch 63) against
  # the shipped model's 0.05498; bench/audio_validation.py SI-SDRi at 0 / 5 / 10 dB 2.31 / 2.34 /
  # 1.65 against 2.21 / 2.25 / 1.58 on the held-out files, 3.17 / 2.64 / 1.43 against 3.19 /
  # 2.65 / 1.40 on unseen ktuberling speakers: no better than a plain continuation of the
  # shipped model (session 22's XC: 2.36 / 2.38 / 1.71, 3.06 / 2.57 / 1.42), so not shipped.
  envelope) train "${wide[@]}" "${kinds[@]}" "${common[@]}" --mask-loss snr --channels 256 \
              --threads 2 --noise-floor --envelope 0.95 --init "$out/audio-denoise-kinds.onnx" \
              --epochs 100 --lr 1.5e-4 -o "$out/audio-denoise-envelope.onnx" ;;
  # A candidate (session 26), not in `all`: the then shipped model (`kinds`, as for
  # `envelope`) taught to mask the frame one hop before the
  # newest it reads (--lookahead 1: it hears 8 ms after the frame it masks; the element's
  # algorithmic latency becomes 32 + 8 ms less a sample, within issue 15's 40 ms), the same
  # schedule as `envelope`.
  # Measured (session 26, 2 threads, 38 min): validation loss 0.05375 (best epoch 63) against
  # 0.05498, the masks' error 5.72 dB below the noisy frames' against 5.51; but SI-SDRi through
  # the element (bench/audio_validation.py) at 0 / 5 / 10 dB 2.05 / 2.12 / 1.43 against the
  # shipped model's 2.21 / 2.25 / 1.58 on the held-out files (per mixture -0.15 +- 0.01 dB, 960
  # mixtures), 3.13 / 2.63 / 1.45 against 3.19 / 2.65 / 1.40 on unseen ktuberling speakers
  # (-0.001 +- 0.016 dB, 600 mixtures): not shipped. One hop is 8 ms of new sound under a 32 ms
  # window; more look-ahead would break the 40 ms latency target.
  lookahead) train "${wide[@]}" "${kinds[@]}" "${common[@]}" --mask-loss snr --channels 256 \
               --threads 2 --noise-floor --lookahead 1 --init "$out/audio-denoise-kinds.onnx" \
               --epochs 100 --lr 1.5e-4 -o "$out/audio-denoise-lookahead.onnx" ;;
  # A candidate (session 26), not in `all`: the then shipped model (`kinds`, as for
  # `envelope`) with its code widened from 64 to 128 values (the
  # added code channels start with the file's random draw in and zero weights out, so training
  # starts from the shipped model's function): whether 64 values are too few to carry a mask of
  # 257 bins with a voice's harmonics. The same schedule as `envelope`.
  # Measured (session 26, 2 threads, 64 min beside a test run): validation loss 0.05559 (best
  # epoch 63) against 0.05498, the masks' error 5.51 dB below the noisy frames' (the same as the
  # shipped model's); SI-SDRi at 0 / 5 / 10 dB 2.07 / 2.10 / 1.45 against 2.21 / 2.25 / 1.58 on
  # the held-out files (per mixture -0.14 +- 0.01 dB, 960 mixtures): not shipped. The first
  # epoch's validation loss (0.0613) shows Adam moving the zero weights of the added code
  # channels far from the shipped model's function at once; a wider code would want a lower
  # learning rate on the new weights, or training from scratch.
  code128) train "${wide[@]}" "${kinds[@]}" "${common[@]}" --mask-loss snr --channels 256 \
             --threads 2 --noise-floor --init "$out/audio-denoise-kinds.onnx" \
             --epochs 100 --lr 1.5e-4 -o "$out/audio-denoise-code128.onnx" ;;
  # The model shipped in sessions 27-30 (`strided`): `kinds`' layers with stride 2 along time in
  # the three first convs (--time-stride 2, --context 23), so that they read 23 frames (176 ms
  # of hops, 208 ms of sound) instead of 8, at the same cost per frame in a stream (the strides
  # become dilations there). Its weights start from `kinds`' (the same shapes), which now compute
  # another function, so `kinds`' rate (3e-4) rather than a continuation's.
  # Measured (session 27, 2 threads, 48 min beside a build): validation loss 0.05317 (best epoch
  # 53) against `kinds`' 0.05498, the masks' error 6.49 dB below the noisy frames' against 5.51;
  # SI-SDRi through the element (bench/audio_validation.py) at 0 / 5 / 10 dB 3.09 / 2.83 / 1.96
  # against 2.21 / 2.25 / 1.58 on the held-out files (960 mixtures; better on every noise but
  # white: 6.44 against 6.69 at 0 dB).
  strided) train "${wide[@]}" "${kinds[@]}" "${common[@]}" --mask-loss snr --channels 256 \
             --threads 2 --noise-floor --time-stride 2 \
             --init "$out/audio-denoise-kinds.onnx" --epochs 100 --lr 3e-4 \
             -o "$out/audio-denoise-strided.onnx" ;;
  # A candidate (session 28), not in `all`: the shipped model (`strided`, models/audio-denoise.onnx)
  # trained on at half its rate (1.5e-4) on 16 frames per sample (--sequence 16: the model reads
  # 38 frames and masks the 16 newest, its strides as dilations, so a step of 32 samples
  # trains 512 masks; the file written is the same 23-frame model), 50 epochs (2 threads, 42
  # s each, 36 min: 8x the masks of `strided`'s 100 epochs in three quarters of the time).
  # Measured (session 28): validation loss 0.0516 (best epoch 17; later epochs 0.052-0.054)
  # against the shipped model's 0.0532 on the same 16-mask validation samples, the masks'
  # error 6.54 dB below the noisy frames' against 6.66; SI-SDRi through the element
  # (bench/audio_validation.py) at 0 / 5 / 10 dB 2.79 / 2.57 / 1.62 against 3.09 / 2.83 / 1.96
  # on the held-out files (per mixture -0.30 +- 0.02 dB, 960 mixtures; worse on every recorded
  # noise but frogs), 3.31 / 2.71 / 1.48 against 3.28 / 2.63 / 1.34 on unseen ktuberling
  # speakers (+0.07 +- 0.02 dB, 600 mixtures): not shipped.
  sequence)
    train "${wide[@]}" "${kinds[@]}" "${common[@]}" --mask-loss snr --channels 256 \
      --threads 2 --noise-floor --time-stride 2 --sequence 16 \
      --init "$out/audio-denoise-strided.onnx" --epochs 50 --lr 1.5e-4 \
      -o "$out/audio-denoise-sequence.onnx" ;;
  # A candidate (session 29), not in `all`: `sequence` with the time-domain loss (--mask-loss
  # time: the squared error of the signal the 16 masks give once overlap-added, against the
  # clean speech, over the mixture's noise power; train/overlap_add_loss.hpp), so that what
  # training minimises is what SNR measures rather than a per-frame weighting of it.
  # Measured (session 30, 2 threads, 37 min): the time loss on the validation stretches 0.3907
  # (best epoch 43; the output's error 4.08 dB below the noise's) against the shipped model's
  # 0.4467 (3.50 dB), but the masks' frame error 6.10 dB below the noisy frames' against 6.67,
  # and through the element (bench/audio_validation.py, the held-out files) SI-SDRi 2.11 /
  # 1.90 / 0.92 against 3.09 / 2.83 / 1.96 at 0 / 5 / 10 dB (-0.98 +- 0.05 dB per mixture,
  # worse on 69 % of 960, on every noise): not shipped. At one SNR the trainer's own measure
  # already disagrees (--snr=0:0: 5.32 dB against 5.51; 10:10: 3.85 against 3.34): the loss is
  # a mean of each stretch's error over its noise power, which the quiet-noise (15-20 dB)
  # stretches dominate, so the model learnt to spare speech there at the cost of suppression.
  # Why the element finds it worse at 10 dB as well (-1.04 dB) is not known yet.
  timeloss)
    train "${wide[@]}" "${kinds[@]}" "${common[@]}" --mask-loss time --channels 256 \
      --threads 2 --noise-floor --time-stride 2 --sequence 16 \
      --init "$out/audio-denoise-strided.onnx" --epochs 50 --lr 1.5e-4 \
      -o "$out/audio-denoise-timeloss.onnx" ;;
  # Session 31's model (`recorded`, shipped until session 36) and two candidates of the same
  # session: `strided`
  # trained on at half its rate (1.5e-4) for 60 epochs with its options, one thread each (run side
  # by side). `recorded` draws 70 % of its noise from the recordings (--recorded-share 0.7, against
  # 0.35: the rest coloured, hum and babble as 5 : 3 : 5), so that more of what it learns is real
  # noise, as a stream's noise is; `again` is the same continuation with the default share, its
  # control; `ema` is `again` with weight averaging (--ema 0.999: the weights' moving average over
  # about 1,000 steps, two epochs, validates and is written), because the validation loss of these
  # continuations moves by up to 10 % from one epoch to the next.
  # Measured (session 31; bench/audio_validation.py on the held-out files, 960 mixtures,
  # SI-SDRi at 0 / 5 / 10 dB, per mixture against `strided`):
  #   strided   3.12 / 2.85 / 1.95
  #   recorded  3.93 / 3.26 / 2.02   +0.43 +- 0.04 dB (better on 59 %; white -0.5 at 0 dB)
  #   again     3.25 / 2.93 / 2.03   +0.10 +- 0.01 dB
  #   ema       2.66 / 2.50 / 1.61   -0.39 +- 0.02 dB
  # and on unseen ktuberling speakers (600 mixtures) recorded against strided 3.60 / 2.71 / 1.12
  # against 3.26 / 2.61 / 1.29 (+0.05 +- 0.05 dB: better at 0 and 5 dB, worse at 10 dB and on
  # white noise). `recorded` was shipped (sessions 31-36); its best epoch (7 of 60) was chosen
  # on its own validation mixtures, 70 % recorded noise like its training.
  recorded | again | ema)
    share=0.35 average=() name=$step
    [[ $step == recorded ]] && share=0.7
    [[ $step == ema ]] && average=(--ema 0.999)
    train "${wide[@]}" "${kinds[@]}" "${common[@]}" --mask-loss snr --channels 256 \
      --threads 1 --noise-floor --time-stride 2 --recorded-share "$share" "${average[@]}" \
      --init "$out/audio-denoise-strided.onnx" --epochs 60 --lr 1.5e-4 \
      -o "$out/audio-denoise-$name.onnx" ;;
  # A candidate (session 31), not in `all`: `recorded` at a share of 0.5 (`half`), since
  # `recorded` lost 0.5-0.9 dB on white noise (validation; 1-2 dB in
  # pipelines/denoise-audio.sh --add-noise 5 on the alsa clips).
  # Measured (session 31, two threads, stopped at epoch 39 beside a test run and resumed):
  # validation loss 0.0582 (best epoch 48, its own mixtures); bench/audio_validation.py on the
  # held-out files 2.82 / 2.57 / 1.66 at 0 / 5 / 10 dB against strided's 3.12 / 2.85 / 1.95
  # (-0.30 +- 0.01 dB per mixture) and recorded's 3.93 / 3.26 / 2.02 (-0.72 +- 0.04), white
  # 6.40 at 0 dB (strided 6.46, recorded 5.97): not shipped. Not monotonic in the share, so
  # part of what separates these continuations is the draw of their best epoch.
  half)
    train "${wide[@]}" "${kinds[@]}" "${common[@]}" --mask-loss snr --channels 256 \
      --threads 2 --noise-floor --time-stride 2 --recorded-share 0.5 \
      --init "$out/audio-denoise-strided.onnx" --epochs 60 --lr 1.5e-4 \
      -o "$out/audio-denoise-half.onnx" ;;
  # Candidates (session 32), not in `all`: `recorded` trained on at a tenth of its rate (2e-5,
  # cosine to 1e-6) with batches twice as large, 30 epochs, one thread each. `recorded`'s
  # validation loss moved between 0.049 and 0.061 from one epoch to the next at 1.5e-4, and its
  # continuation at that rate left its best (0.049) at once (0.060): the weights wander more
  # than they learn there. `polish` keeps its share of recorded noise (0.7); `polish-half`
  # draws half its noise from the recordings, to win back white noise.
  # Measured (session 32, 20 min each side by side): validation loss 0.0541 (best epoch 16;
  # `recorded` scores 0.0491 on the same mixtures: every epoch, even the first at this rate,
  # left it); bench/audio_validation.py on the held-out files (960 mixtures), SI-SDRi at 0 / 5 /
  # 10 dB and per mixture against `recorded` (3.93 / 3.26 / 2.02):
  #   polish       3.19 / 2.84 / 1.91   -0.42 +- 0.04 dB (better on 56 %)
  #   polish-half  3.20 / 2.92 / 2.03   -0.35 +- 0.05 dB (better on 57 %)
  # Both are better on white noise (6.40 / 6.45 at 0 dB against 5.97) and machinery, worse by 2
  # to 3 dB on frogs and campfire, where `recorded`'s best epoch stands out: that epoch was chosen
  # on these validation recordings, so part of its lead is the choice. Not shipped.
  polish | polish-half)
    share=0.7
    [[ $step == polish-half ]] && share=0.5
    polish_common=()
    for o in "${common[@]}"; do
      case $o in 32) o=64 ;; 1e-5) o=1e-6 ;; esac
      polish_common+=("$o")
    done
    train "${wide[@]}" "${kinds[@]}" "${polish_common[@]}" --mask-loss snr --channels 256 \
      --threads 1 --noise-floor --time-stride 2 --recorded-share "$share" \
      --init "$out/audio-denoise-recorded.onnx" --epochs 30 --lr 2e-5 \
      -o "$out/audio-denoise-$step.onnx" ;;
  # A candidate (session 32), not in `all`: `recorded` trained on (lr 1e-4, 40 epochs, one
  # thread) with more recorded noise from the packages already installed: engines and jets,
  # rain on a roof, a city, an ambience, war drums, birds, a cheering loop and a tank's tracks
  # (btanks-data, scorched3d-data, supertux-data, wesnoth-1.16-data). The validation noise
  # stays `kinds_val`.
  # Measured (session 32, 40 epochs in 45 min beside other runs): validation loss 0.0503 (best
  # epoch 24; its epochs average 0.0538 against `recorded`'s 0.0553); held-out files 3.52 /
  # 2.94 / 1.86, -0.29 +- 0.04 dB per mixture against `recorded` (better on 46 %; white 6.40 at
  # 0 dB, machinery +1.1, frogs -2.5, campfire -1.3). Not shipped.
  wider)
    train "${wide[@]}" --noise-data "${kinds_noise[@]}" "${wider_noise[@]}" \
      --val-noise-data "${kinds_val[@]}" "${common[@]}" --mask-loss snr --channels 256 \
      --threads 1 --noise-floor --time-stride 2 --recorded-share 0.7 \
      --init "$out/audio-denoise-recorded.onnx" --epochs 40 --lr 1e-4 \
      -o "$out/audio-denoise-wider.onnx" ;;
  # Candidates of session 33, in `all` since session 37 (the soup's ingredients): `recorded`
  # trained on (lr 1e-4, 30 epochs, one thread each, side by side) with six of `wider`'s
  # recordings added to the training noise and validated on `kinds_val` and the other six
  # (broad_noise, broad_val above); `broad` keeps `recorded`'s share of recorded noise (0.7),
  # `broad-half` draws half its noise from the recordings.
  # Measured (session 33, 13 min each side by side): on the 13-recording validation set,
  # validation loss 0.0441 (best epoch 13) against `recorded`'s 0.0450 at share 0.7 (the masks'
  # error 6.84 dB below the noisy frames' against 6.16), `broad-half` 0.0492 against 0.0514 at
  # share 0.5 (6.63 against 6.02 dB); `recorded` scored by --init with --steps 1 --epochs 1
  # --lr 1e-12. Through the element (bench/audio_validation.py --list of this step's
  # --list-validation, 40 clips x 14 noises x 0 / 5 / 10 dB = 1680 mixtures), per mixture
  # against `recorded` (4.40 / 3.70 / 2.46):
  #   broad        -0.12 +- 0.02 dB (better on 59 %; 0 dB -0.30, 10 dB +0.08)
  #   broad-half   -0.15 +- 0.03 dB (better on 56 %; 0 dB -0.39, 10 dB +0.08)
  # Both better on the six new validation recordings (+0.16, +0.13), white (+0.7, +0.8) and
  # machinery (+0.6, +0.7), worse on the seven `recorded`'s epoch was chosen on (-0.33, -0.37;
  # frogs -1.9, -2.1, campfire -0.9, -1.1). The trainer's frame error and the element's SI-SDR
  # disagree again, and the loss is at 0 dB, where issue 15's target is: not shipped alone (the
  # soup of both with `recorded` is, session 37).
  broad | broad-half)
    share=0.7
    [[ $step == broad-half ]] && share=0.5
    train "${wide[@]}" --noise-data "${kinds_noise[@]}" "${broad_noise[@]}" \
      --val-noise-data "${broad_val[@]}" "${common[@]}" --mask-loss snr --channels 256 \
      --threads 1 --noise-floor --time-stride 2 --recorded-share "$share" \
      --init "$out/audio-denoise-recorded.onnx" --epochs 30 --lr 1e-4 \
      -o "$out/audio-denoise-$step.onnx" ;;
  # Candidates (session 37), not in `all`: `broad` and `broad-half` on mixtures of -5..10 dB
  # (--snr=-5:10, against -5..20), as more ingredients of a soup that leans toward low SNRs
  # (`soup-low`: the shipped soup's three and these two).
  # Measured (session 37, 13 min each side by side): validation loss on -5..10 dB mixtures 0.0766
  # (best epoch 13) and 0.0849 (17; share 0.5), not comparable with the others; `soup-low` 0.0433
  # on `broad`'s mixtures (the shipped soup 0.0430; masks' error 7.11 dB below the noisy frames'
  # against 6.90). On the fresh set (see `soup` below), per mixture against the shipped soup at
  # 0 / 5 / 10 dB: +0.035 +- 0.010 / -0.037 +- 0.010 / -0.197 +- 0.012 dB. Not shipped: the
  # rule (better at 0 and at 5 dB) fails at 5 dB; `broad`'s set and the benchmark were not run.
  low | low-half)
    share=0.7
    [[ $step == low-half ]] && share=0.5
    low_common=()
    for o in "${common[@]}"; do low_common+=("${o/#--snr=-5:20/--snr=-5:10}"); done
    train "${wide[@]}" --noise-data "${kinds_noise[@]}" "${broad_noise[@]}" \
      --val-noise-data "${broad_val[@]}" "${low_common[@]}" --mask-loss snr --channels 256 \
      --threads 1 --noise-floor --time-stride 2 --recorded-share "$share" \
      --init "$out/audio-denoise-recorded.onnx" --epochs 30 --lr 1e-4 \
      -o "$out/audio-denoise-$step.onnx" ;;
  # Candidates (session 34), not in `all`: the shipped model (`recorded`) reading 47 frames
  # (--context 47: a fourth stride-2 conv "ea3", 376 ms of hops against 176), the step that
  # took `kinds` to `strided` (+0.9 dB SI-SDRi at 0 dB) taken once more. ea3 is new: it starts
  # as the identity on its newest tap (--init-deepen), so the code conv reads ea2's outputs 16
  # hops apart instead of 8 and training starts near `recorded`'s function, not at it; hence
  # `strided`'s rate (3e-4). `ctx47-deep` also adds a second 1x1 decoder conv ("da1", 256 ->
  # 256, --decoder-layers 2), which starts as the identity too (between ReLUs: exactly). The
  # data and validation noise are `broad`'s. One thread each, side by side.
  # Measured (session 34, 37 min each side by side): validation loss 0.04366 (`ctx47`, best
  # epoch 44) and 0.04342 (`ctx47-deep`, epoch 48) against `recorded`'s 0.0450 and `broad`'s
  # 0.0441 on the same 13 recordings; through the element (bench/audio_validation.py, `broad`'s
  # 1680 mixtures), per mixture against `recorded` at 0 / 5 / 10 dB:
  #   ctx47        -0.36 +- 0.05 / -0.24 +- 0.04 / -0.09 +- 0.04 dB (-0.23 in all; STOI +0.015)
  #   ctx47-deep   -0.11 +- 0.06 / +0.09 +- 0.05 / +0.33 +- 0.04 dB (+0.105 in all, better on
  #                63 %; STOI +0.02 at every level; the six new validation recordings +0.39,
  #                frogs -2.0, campfire -0.8, country -0.6; without frogs +0.09 at 0 dB)
  # Not shipped: worse at 0 dB, where issue 15's target is (the rule `broad` was held to). The
  # benchmark was also run with `ctx47-deep` before that rule was applied (bench/
  # run_audio_bench.sh, 2026-12-03 21:10): SI-SDRi 4.94 / 4.68 / 3.93 at 16 kHz against the
  # shipped model's 5.40 / 4.88 / 3.78 (STOI 0.770 / 0.843 / 0.904 against 0.737 / 0.814 /
  # 0.880), 48 kHz 5.09 / 4.87 / 4.18 against 5.52 / 5.01 / 3.98; RTF 0.0273 whole process
  # (0.0111 processing; 4,676,143-byte file) against 0.0196 (another run); the report is not
  # committed.
  ctx47 | ctx47-deep)
    deeper=()
    [[ $step == ctx47-deep ]] && deeper=(--decoder-layers 2)
    train "${wide[@]}" --noise-data "${kinds_noise[@]}" "${broad_noise[@]}" \
      --val-noise-data "${broad_val[@]}" "${common[@]}" --mask-loss snr --channels 256 \
      --threads 1 --noise-floor --time-stride 2 --recorded-share 0.7 "${deeper[@]}" \
      --init "$out/audio-denoise-recorded.onnx" --init-deepen --epochs 60 --lr 3e-4 \
      -o "$out/audio-denoise-$step.onnx" ;;
  # A candidate (session 34), not in `all`: `ctx47-deep` trained on at a third of its rate on
  # mixtures of -5..10 dB (--snr=-5:10, against -5..20), since it gained on `recorded` at 5 and
  # 10 dB and lost at 0 dB, where issue 15's target is.
  # Measured (session 34, 17 min): validation loss 0.0753 (best epoch 16; on -5..10 dB mixtures,
  # not comparable with the others); through the element (`broad`'s 1680 mixtures) per mixture
  # against `recorded` -0.05 +- 0.06 / +0.15 +- 0.05 / +0.26 +- 0.04 dB at 0 / 5 / 10 dB (+0.12
  # in all, better on 64 %; STOI +0.02). Not shipped: the rule set down before it was measured
  # (better than `recorded` at 0 and at 5 dB) does not hold at 0 dB. The benchmark was not run.
  ctx47-low)
    low_common=()
    for o in "${common[@]}"; do low_common+=("${o/#--snr=-5:20/--snr=-5:10}"); done
    train "${wide[@]}" --noise-data "${kinds_noise[@]}" "${broad_noise[@]}" \
      --val-noise-data "${broad_val[@]}" "${low_common[@]}" --mask-loss snr \
      --channels 256 --threads 1 --noise-floor --time-stride 2 --recorded-share 0.7 \
      --decoder-layers 2 --init "$out/audio-denoise-ctx47-deep.onnx" --epochs 30 --lr 1e-4 \
      -o "$out/audio-denoise-ctx47-low.onnx" ;;
  # The shipped model (`soup`, session 37, in `all`) and two candidates: model soups (Wortsman
  # et al. 2022), the mean of the
  # weights of runs fine-tuned from one model, `cae-train --init A --init-average B ...` with one
  # step at lr 1e-12 (so the file written is the mean as it is) and `broad`'s data and
  # validation noise. `soup`: the shipped model (`recorded`), `broad` and `broad-half` (both
  # fine-tuned from it, retrained here to the digit of session 33's validation losses);
  # `soup-two`: `recorded` and `broad`; `soup-wise`: 2 : 1 of `recorded` and `broad` (the
  # shipped model listed twice; WiSE-FT's interpolation toward the fine-tuned weights).
  # Measured (session 37): validation loss at share 0.7 on `broad`'s 13 recordings (`recorded`
  # 0.0450, `broad` 0.0441): soup 0.0430, soup-two 0.0434, soup-wise 0.0436 (`broad` with
  # `broad-half`, without `recorded`: 0.0439). Through the element (bench/audio_validation.py,
  # `broad`'s 1680 mixtures), SI-SDRi at 0 / 5 / 10 dB against `recorded`'s 4.40 / 3.70 / 2.46:
  #   soup        4.24 / 3.68 / 2.60   (white +0.5 at 0 dB, frogs -1.9, campfire -0.9)
  #   soup-two    4.32 / 3.70 / 2.57
  #   soup-wise   4.36 / 3.72 / 2.55
  # Every soup gains at 10 dB and loses at 0 dB there, mostly on frogs and campfire, two of the
  # recordings `recorded`'s best epoch was chosen on. So a fresh set that no model trained or
  # was chosen on decided (the rule set before it ran: the best at 0 dB if it beats `recorded` at
  # 0 and 5 dB): ktuberling-data's speakers (--speech-dir) with white noise and nine recordings
  # no recipe names (lincity-ng-data SportsCroud1, TraficHigh2, Fire3, Farm2, Blacksmith1;
  # supertux-data waterfall; scorched3d-data f18_1, birds2, elevate), 1200 mixtures; per
  # mixture against `recorded` at 0 / 5 / 10 dB:
  #   soup        +0.15 +- 0.03 / +0.24 +- 0.03 / +0.30 +- 0.03 dB
  #   soup-two    +0.12 +- 0.03 / +0.18 +- 0.02 / +0.23 +- 0.02 dB
  #   soup-wise   +0.10 +- 0.02 / +0.14 +- 0.02 / +0.17 +- 0.02 dB
  # `soup` is shipped (the card has the rest and the benchmark, run once on it).
  soup | soup-two | soup-wise | soup-low)
    one_step=() skip=false  # `common` with one step at lr 1e-12: the soup written as it is
    for o in "${common[@]}"; do
      $skip && { skip=false; continue; }
      case $o in --min-lr) skip=true; continue ;; 500) o=1 ;; cosine) o=constant ;; esac
      one_step+=("$o")
    done
    name=$step
    case $step in
      soup) name= more=("$out/audio-denoise-broad.onnx" "$out/audio-denoise-broad-half.onnx") ;;
      soup-two) more=("$out/audio-denoise-broad.onnx") ;;
      soup-wise) more=("$out/audio-denoise-recorded.onnx" "$out/audio-denoise-broad.onnx") ;;
      soup-low) more=("$out/audio-denoise-broad.onnx" "$out/audio-denoise-broad-half.onnx"
                      "$out/audio-denoise-low.onnx" "$out/audio-denoise-low-half.onnx") ;;
    esac
    train "${wide[@]}" --noise-data "${kinds_noise[@]}" "${broad_noise[@]}" \
      --val-noise-data "${broad_val[@]}" "${one_step[@]}" --mask-loss snr --channels 256 \
      --threads 1 --noise-floor --time-stride 2 --recorded-share 0.7 \
      --init "$out/audio-denoise-recorded.onnx" --init-average "${more[@]}" \
      --epochs 1 --lr 1e-12 \
      -o "$out/audio-denoise${name:+-$name}.onnx" ;;
  *) echo "usage: $0 [out-dir] [base|s2|s3|s4|wide|floor|crowd|kinds|envelope|lookahead|code128|strided|sequence|timeloss|recorded|again|ema|half|polish|polish-half|wider|broad|broad-half|ctx47|ctx47-deep|ctx47-low|low|low-half|soup|soup-two|soup-wise|soup-low|all] [cae-train options]" >&2
     exit 2 ;;
esac
