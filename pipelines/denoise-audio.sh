#!/usr/bin/env bash
# Denoises speech with caeaudiodenoise: a sound file to a WAV file, or live.
set -euo pipefail
source "$(dirname "$0")/common.sh"

usage() {
  cat <<EOF
Usage: $(basename "$0") IN OUT.wav [--add-noise SNR] [--model M] [--strength S]
       $(basename "$0") --live [--to OUT.wav] [--seconds N] [--model M] [--strength S]

File: decodes IN (any file GStreamer's decodebin reads), denoises every channel with
caeaudiodenoise and writes OUT as 16-bit WAV at IN's rate (resampled to the nearest rate the
element takes when IN's is not one of 8, 11.025, 16, 22.05, 32, 44.1, 48 kHz). OUT holds the
input delayed by the element's latency (32 ms) and is that much longer. --add-noise SNR first
mixes white noise into IN at SNR dB (kept as OUT-noisy.wav, IN as 16-bit WAV in OUT-clean.wav)
and prints the SNR before and after.
Live: from the default capture device (autoaudiosrc) when one exists, else from a noisy
recording played in real time (an alsa-utils voice clip with white noise at 5 dB SNR, looped),
to the default output (autoaudiosink) or --to OUT.wav; --seconds N stops after N seconds
(default: until Ctrl-C; 10 without a capture device).
  --model M       ONNX audio-denoise model (default: \$CAE_AUDIO_MODEL, else the element's
                  default, models/audio-denoise.onnx)
  --strength S    0 (input) .. 1 (fully denoised, default)
  -h, --help      this help
Environment: CAE_BUILD_DIR (build tree with plugins/libgstcae.so; default <repo>/build).
Example: $(basename "$0") /usr/share/sounds/alsa/Front_Center.wav /tmp/clean.wav --add-noise 5
EOF
}

model="${CAE_AUDIO_MODEL:-}" strength="" snr="" live=0 to="" seconds=""
args=()
while (($#)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --model) model="${2:?--model needs a file}"; shift 2 ;;
    --strength) strength="${2:?--strength needs a value}"; shift 2 ;;
    --add-noise) snr="${2:?--add-noise needs an SNR in dB}"; shift 2 ;;
    --live) live=1; shift ;;
    --to) to="${2:?--to needs a file}"; shift 2 ;;
    --seconds) seconds="${2:?--seconds needs a number}"; shift 2 ;;
    -*) usage >&2; pipe_die "unknown option $1" ;;
    *) args+=("$1"); shift ;;
  esac
done
pipe_require_gst
element=(caeaudiodenoise)
if [[ -n $model ]]; then
  [[ -f $model ]] || pipe_die "model not found: $model"
  element+=("model=$(realpath "$model")")
fi
[[ -n $strength ]] && element+=("strength=$strength")
rates="audio/x-raw,rate={8000,11025,16000,22050,32000,44100,48000}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if ((live)); then
  ((${#args[@]} == 0)) || { usage >&2; exit 2; }
  if [[ -n $to ]]; then
    sink=(wavenc ! filesink "location=$to")
  else
    pipe_require_element autoaudiosink gstreamer1.0-plugins-good
    sink=(autoaudiosink)
  fi
  if arecord -l 2>/dev/null | grep -q '^card'; then
    src=(autoaudiosrc ! audioconvert ! audioresample ! "$rates")
    limit="${seconds:-0}"
    PIPE_TIMEOUT_OK=1  # --seconds ends a capture by interrupting it
    pipe_log "live from the capture device"
  else
    seconds="${seconds:-10}"
    gst-launch-1.0 -q filesrc location=/usr/share/sounds/alsa/Front_Center.wav ! wavparse ! \
      audioconvert ! audio/x-raw,format=S16LE,channels=1 ! wavenc ! filesink location="$tmp/clean.wav"
    "$CAE_PYTHON" "$CAE_ROOT/pipelines/audio-snr.py" add "$tmp/clean.wav" 5 "$tmp/noisy.wav" \
      --length "$seconds"
    # The noisy recording paced by the clock, as a live source would deliver it.
    src=(filesrc "location=$tmp/noisy.wav" ! wavparse ! audioconvert ! "$rates" ! identity sync=true)
    limit=0
    pipe_log "no capture device: a noisy recording in real time (alsa Front_Center.wav, white noise at 5 dB SNR)"
  fi
  pipe_run "$limit" "${src[@]}" ! "${element[@]}" ! identity name=count silent=false ! \
    audioconvert ! "${sink[@]}"
  pipe_log "denoised $PIPE_FRAMES buffers live in $PIPE_SECONDS s${to:+, written to $to}"
  exit 0
fi

((${#args[@]} == 2)) || { usage >&2; exit 2; }
in="${args[0]}" out="${args[1]}"
[[ -f $in ]] || pipe_die "input not found: $in"
[[ ${out,,} == *.wav ]] || pipe_die "OUT must be a .wav file: $out"
mkdir -p "$(dirname "$out")"
source_file="$in"
if [[ -n $snr ]]; then
  base="${out%.*}"
  gst-launch-1.0 -q filesrc location="$in" ! decodebin ! audioconvert ! audioresample ! \
    "$rates" ! audioconvert ! audio/x-raw,format=S16LE ! wavenc ! filesink location="$base-clean.wav" ||
    pipe_die "cannot decode $in"
  "$CAE_PYTHON" "$CAE_ROOT/pipelines/audio-snr.py" add "$base-clean.wav" "$snr" "$base-noisy.wav"
  source_file="$base-noisy.wav"
fi
# Written beside OUT and renamed when complete: a failed run leaves no partial OUT.
part="$tmp/out.wav"
pipe_run 0 filesrc location="$source_file" ! decodebin ! audioconvert ! audioresample ! \
  "$rates" ! "${element[@]}" ! identity name=count silent=false ! audioconvert ! \
  audio/x-raw,format=S16LE ! wavenc ! filesink location="$part"
((PIPE_FRAMES > 0)) || pipe_die "no audio decoded from $in"
mv "$part" "$out"
pipe_log "denoised $PIPE_FRAMES buffers of $in in $PIPE_SECONDS s -> $out"
if [[ -n $snr ]]; then
  "$CAE_PYTHON" "$CAE_ROOT/pipelines/audio-snr.py" compare "$base-clean.wav" "$base-noisy.wav" "$out"
fi
