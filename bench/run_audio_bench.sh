#!/usr/bin/env bash
# Speech denoising benchmark (issue 15), side by side in one run: caeaudiodenoise against
# GStreamer's webrtcdsp (noise suppression very-high) and ffmpeg's afftdn (nr=30) and anlmdn on the
# alsa-utils voice clips mixed with white noise and four recorded noises (sonic-pi-samples,
# lmms-common) at 0, 5, 10 dB SNR, at 16 and 48 kHz: SI-SDR, SNR and STOI improvements, lags,
# real-time factor on one core and the element's latency (bench/audio_denoise.py); writes
# bench/reports/audio-denoise.{md,png,jsonl}. Builds nothing: the plugin must exist.
# Usage: bench/run_audio_bench.sh [builddir (default build)] [options of bench/audio_denoise.py]
#   e.g. --model models/audio-denoise.onnx, --rates 16000, --clips 4, --clips-48k 4,
#   --noises white,crowd, --jobs 1, --out DIR, --keep DIR (keeps the noisy and denoised WAVs)
# Environment: CAE_BENCH_OUT (report folder, default bench/reports; --out wins).
# bench/audio_denoise.py --self-test checks the metrics (STOI, SI-SDR, alignment) alone.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
command_line="bench/run_audio_bench.sh${*:+ $*}"
if [[ $# -gt 0 && $1 != -* ]]; then
  CAE_BUILD_DIR="$(cd "$1" 2>/dev/null && pwd || echo "$1")"
  export CAE_BUILD_DIR
  shift
fi

CAE_EXTRA_PACKAGES="python3-numpy python3-scipy python3-matplotlib ffmpeg util-linux alsa-utils
  sonic-pi-samples lmms-common gstreamer1.0-tools gstreamer1.0-plugins-base
  gstreamer1.0-plugins-good gstreamer1.0-plugins-bad"
source "$root/scripts/setup.sh"
CAE_PACKAGES=()  # only what this benchmark needs, not the whole build's list
cae_install_packages

plugin="$CAE_BUILD_DIR/plugins/libgstcae.so"
if [[ ! -f $plugin ]]; then
  echo "no $plugin: build the plugin first (ninja -C $CAE_BUILD_DIR plugins/libgstcae.so)" >&2
  exit 1
fi
cae_log "speech denoising: cae, webrtcdsp, afftdn, anlmdn ($plugin)"
export CAE_BENCH_COMMAND="$command_line"
# The machine is shared: the benchmark runs niced (the report says so, with the load).
nice -n 10 "$CAE_PYTHON" "$here/audio_denoise.py" --plugin-dir "$CAE_BUILD_DIR/plugins" "$@"
