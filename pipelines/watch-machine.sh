#!/usr/bin/env bash
# Watches machine sound for anomalies with caeaudioanomaly and writes its windows as JSON lines.
set -euo pipefail
source "$(dirname "$0")/common.sh"

usage() {
  cat <<EOF
Usage: $(basename "$0") IN [--out EVENTS.jsonl] [--model M] [--window S] [--threshold T]
                            [--alarm K/N]
       $(basename "$0") --demo [--out EVENTS.jsonl] [--realtime]
       $(basename "$0") --live [--seconds N] [--out EVENTS.jsonl]

Runs filesrc ! decodebin ! audioconvert ! audioresample ! caeaudioanomaly ! fakesink and prints
one JSON line per analysis window (score, threshold, is_anomaly, above_threshold, z, error,
running_time_s, stream_time_s, duration_s), then a summary line (windows, flagged, flagged_at_s); --out also
writes them to a file.
  --demo       a synthetic machine (machine 1 of cae-machine-sounds, over a recorded drone) that
               runs normally and develops a bearing fault: prints where the fault was put, then
               the windows; --realtime paces it by the clock as a live source would
  --live       from the capture device (autoaudiosrc); --seconds N stops after N seconds
  --model M    ONNX audio-anomaly model (default: \$CAE_AUDIO_ANOMALY_MODEL, else the element's
               default, models/audio-anomaly.onnx, which knows only the synthetic machines of
               --demo: on any other sound nearly every window is flagged; train one on your
               machine's normal sound with cae-train --task audio-anomaly)
  --window S   seconds per score (default: the model's, which its threshold was set for)
  --threshold T  override the model's calibrated threshold
  --alarm K/N  flag a window only when at least K of the last N windows (it included) are above
               the threshold (caeaudioanomaly alarm-windows=K alarm-span=N; default 1/1: every
               window above it). The model's threshold allows 1 % of healthy windows above it,
               about 36 an hour with 1 s windows: 2/3 keeps a lasting fault and drops most
               single windows
  -h, --help   this help
Environment: CAE_BUILD_DIR (build tree with plugins/libgstcae.so; default <repo>/build).
Example: $(basename "$0") --demo --out /tmp/events.jsonl
EOF
}

model="${CAE_AUDIO_ANOMALY_MODEL:-}" window="" threshold="" alarm="" out="" demo=0 live=0 realtime=0
seconds=""
args=()
while (($#)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --model) model="${2:?--model needs a file}"; shift 2 ;;
    --window) window="${2:?--window needs seconds}"; shift 2 ;;
    --threshold) threshold="${2:?--threshold needs a value}"; shift 2 ;;
    --alarm) alarm="${2:?--alarm needs K/N}"; shift 2 ;;
    --out) out="${2:?--out needs a file}"; shift 2 ;;
    --demo) demo=1; shift ;;
    --realtime) realtime=1; shift ;;
    --live) live=1; shift ;;
    --seconds) seconds="${2:?--seconds needs a number}"; shift 2 ;;
    -*) usage >&2; pipe_die "unknown option $1" ;;
    *) args+=("$1"); shift ;;
  esac
done
pipe_require_gst
element=(caeaudioanomaly)
if [[ -n $model ]]; then
  [[ -f $model ]] || pipe_die "model not found: $model"
  element+=("model=$(realpath "$model")")
fi
[[ -n $window ]] && element+=("window=$window")
[[ -n $threshold ]] && element+=("threshold=$threshold")
if [[ -n $alarm ]]; then
  [[ $alarm =~ ^([0-9]+)/([0-9]+)$ ]] || pipe_die "--alarm needs K/N, e.g. 2/3 (got $alarm)"
  ((BASH_REMATCH[1] >= 1 && BASH_REMATCH[1] <= BASH_REMATCH[2])) ||
    pipe_die "--alarm K/N needs 1 <= K <= N (got $alarm)"
  element+=("alarm-windows=${BASH_REMATCH[1]}" "alarm-span=${BASH_REMATCH[2]}")
fi
rates="audio/x-raw,rate={16000,22050,32000,44100,48000}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sync=false
limit=0
if ((demo)); then
  gen="${CAE_BUILD_DIR:-$CAE_ROOT/build}/tools/cae-machine-sounds"
  [[ -x $gen ]] || pipe_die "no $gen: build it (ninja -C build tools/cae-machine-sounds)"
  drone=/usr/share/games/endless-sky/sounds/ambient/machinery.mp3
  dopt=()
  [[ -f $drone ]] && dopt=(--drone "$drone")
  "$gen" "$tmp/demo" --machines 1 --clips 0 --faults bearing --fault-clips 1 --seconds 20 \
    --seed 4242 "${dopt[@]}" >/dev/null
  pipe_log "demo: $("$CAE_PYTHON" "$CAE_ROOT/pipelines/audio-events.py" --label "$tmp/demo/labels.jsonl")"
  src=(filesrc "location=$tmp/demo/machine-1/bearing-0000.wav" ! decodebin)
  ((realtime)) && sync=true
elif ((live)); then
  src=(autoaudiosrc)
  limit="${seconds:-0}"
  PIPE_TIMEOUT_OK=1
else
  ((${#args[@]} == 1)) || { usage >&2; exit 2; }
  [[ -f ${args[0]} ]] || pipe_die "input not found: ${args[0]}"
  src=(filesrc "location=${args[0]}" ! decodebin)
fi
log="$tmp/gst.log"
set +e
if [[ $limit != 0 ]]; then
  timeout --signal=INT --kill-after=10 "$limit" gst-launch-1.0 --no-fault -e -m "${src[@]}" ! \
    audioconvert ! audioresample ! "$rates" ! "${element[@]}" ! fakesink "sync=$sync" >"$log" 2>&1
else
  gst-launch-1.0 --no-fault -e -m "${src[@]}" ! audioconvert ! audioresample ! "$rates" ! \
    "${element[@]}" ! fakesink "sync=$sync" >"$log" 2>&1
fi
rc=$?
set -e
if { ((rc != 0)) && ! { ((rc == 124)) && [[ ${PIPE_TIMEOUT_OK:-0} == 1 ]]; }; } || grep -q '^ERROR' "$log"; then
  grep -v 'cae-audio-anomaly' "$log" | tail -n 20 >&2
  pipe_die "gst-launch-1.0 failed (exit $rc)"
fi
if [[ -n $out ]]; then
  mkdir -p "$(dirname "$out")"
  "$CAE_PYTHON" "$CAE_ROOT/pipelines/audio-events.py" <"$log" | tee "$out"
else
  "$CAE_PYTHON" "$CAE_ROOT/pipelines/audio-events.py" <"$log"
fi
