#!/usr/bin/env bash
# Line inspection over RTSP, end to end on loopback: `cae-inspect camera` serves a simulated
# camera (a slow pan over a wood texture with synthetic defects painted in at scheduled times),
# `cae-inspect watch` runs rtspsrc ! depay ! videoconvert ! caeanomaly ! fakesink on it and
# writes the detections as JSON lines, and every scheduled defect is matched with them.
set -euo pipefail
source "$(dirname "$0")/common.sh"

usage() {
  cat <<EOF
Usage: $(basename "$0") [--seconds N] [--defects LIST] [--out DIR] [--model M]
                        [--threshold T] [--inference-interval N] [--min-region-area A]
                        [--alarm-frames K --alarm-window N]
                        [--codec raw|jpeg] [--fps F] [--speed PX] [--defect-seconds S]
                        [--defect-size PX] [--contrast C] [--seed S] [--color]
                        [--display] [--record FILE.webm]

Serves a simulated line camera on rtsp://127.0.0.1:<free port>/cam, watches it with caeanomaly
for N seconds of stream time, and reports for every scheduled defect whether it was detected
within [start - 0.3 s, end + 1.0 s] and when first, plus the false alarms (detections outside
every such window).
  --seconds N           stream time to watch (default 16)
  --defects LIST        START:KIND,... seconds and scratch|spot|cut|blob|stain|tint (tint: with --color)
                        (default 3:spot,6:scratch,9:cut,12:blob; "none": no defects)
  --out DIR             schedule.jsonl, detections.jsonl, watch-stats.json, summary.json
                        (default inspect-out)
  --model M             anomaly model (default: \$CAE_ANOMALY_MODEL, else
                        models/anomaly-wood-fast-seg.onnx, the real-time wood model)
  --threshold T         score threshold (default: the model's calibrated one)
  --inference-interval N, --min-region-area A   caeanomaly properties
  --alarm-frames K --alarm-window N   flag a frame only when K of the last N analysed frames are
                        above the threshold (caeanomaly's temporal rule; default: off)
  --codec raw|jpeg      RTP payload (default raw: uncompressed, the pixels arrive exactly)
  --fps F, --speed PX, --defect-seconds S, --defect-size PX, --contrast C, --seed S, --color
                        the camera's settings (see: cae-inspect camera --help)
  --display             show the stream with the overlay;  --record FILE.webm  record it
  -h, --help            this help
Environment: CAE_BUILD_DIR (build tree with tools/cae-inspect and plugins/libgstcae.so; default
<repo>/build), CAE_ANOMALY_MODEL.
Example: $(basename "$0") --seconds 16 --out /tmp/inspect
EOF
}

# A detection counts for a defect from this long before it appears until this long after it went.
BEFORE=0.3 AFTER=1.0

seconds=16 defects="3:spot,6:scratch,9:cut,12:blob" out=inspect-out codec=raw
model="${CAE_ANOMALY_MODEL:-$CAE_ROOT/models/anomaly-wood-fast-seg.onnx}"
camera_args=() watch_args=()
while (($#)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --seconds) seconds="${2:?--seconds needs a number}"; shift 2 ;;
    --defects) defects="${2?--defects needs a list}"; shift 2 ;;
    --out) out="${2:?--out needs a folder}"; shift 2 ;;
    --model) model="${2:?--model needs a file}"; shift 2 ;;
    --codec) codec="${2:?--codec needs raw or jpeg}"; shift 2 ;;
    --threshold | --inference-interval | --min-region-area | --alarm-frames | --alarm-window | --record)
      watch_args+=("$1" "${2:?$1 needs a value}"); shift 2 ;;
    --display) watch_args+=("$1"); shift ;;
    --fps | --speed | --defect-seconds | --defect-size | --contrast | --seed)
      camera_args+=("$1" "${2:?$1 needs a value}"); shift 2 ;;
    --color) camera_args+=("$1"); shift ;;
    *) usage >&2; pipe_die "unknown argument $1" ;;
  esac
done
[[ "$seconds" =~ ^[0-9]+([.][0-9]+)?$ ]] || pipe_die "--seconds must be a number, not $seconds"
[[ "$codec" == raw || "$codec" == jpeg ]] || pipe_die "--codec must be raw or jpeg, not $codec"
pipe_require_gst
inspect="${CAE_BUILD_DIR:-$CAE_ROOT/build}/tools/cae-inspect"
[[ -x "$inspect" ]] ||
  pipe_die "cae-inspect is not built: no $inspect (build it: ninja -C build tools/cae-inspect)"
pipe_has_element caeanomaly ||
  pipe_die "the cae plugin in $GST_PLUGIN_PATH has no caeanomaly element (rebuild it)"
pipe_require_element rtspsrc gstreamer1.0-plugins-good
pipe_require_element rtpvrawpay gstreamer1.0-plugins-good
[[ -f "$model" ]] ||
  pipe_die "model not found: $model (set --model or CAE_ANOMALY_MODEL; train one with" \
    "cae-train --task anomaly, see models/)"
[[ "$defects" == none ]] && defects=""

mkdir -p "$out"
rm -f "$out"/{camera.url,schedule.jsonl,detections.jsonl,watch-stats.json,summary.json}

# The camera outlives the watch by a margin only; the trap stops it (SIGTERM: clean shutdown).
camera_pid=""
stop_camera() {
  [[ -n "$camera_pid" ]] || return 0
  kill "$camera_pid" 2>/dev/null || true
  wait "$camera_pid" 2>/dev/null || true
  camera_pid=""
}
trap stop_camera EXIT
guard=$(awk -v s="$seconds" 'BEGIN { printf "%d", s * 3 + 60 }')
"$inspect" camera --port 0 --codec "$codec" --defects "$defects" \
  --schedule "$out/schedule.jsonl" --seconds "$guard" "${camera_args[@]}" \
  >"$out/camera.url" 2>"$out/camera.log" &
camera_pid=$!
url=""
for ((i = 0; i < 200; i++)); do
  url=$(head -n 1 "$out/camera.url" 2>/dev/null || true)
  [[ -n "$url" ]] && break
  if ! kill -0 "$camera_pid" 2>/dev/null; then
    cat "$out/camera.log" >&2
    camera_pid=""
    pipe_die "the camera did not start"
  fi
  sleep 0.05
done
[[ -n "$url" ]] || pipe_die "the camera printed no URL within 10 s (see $out/camera.log)"
pipe_log "camera: $url ($codec RTP), defects: ${defects:-none}"
pipe_log "watching ${seconds}s with $model"

rc=0
timeout --foreground --signal=INT --kill-after=10 "$guard" "$inspect" watch "$url" --codec "$codec" \
  --model "$model" --seconds "$seconds" --out "$out/detections.jsonl" \
  --stats "$out/watch-stats.json" "${watch_args[@]}" || rc=$?
stop_camera
((rc == 0)) || pipe_die "cae-inspect watch failed (exit $rc); camera log: $out/camera.log"

# Every scheduled defect against the detections; summary.json and a table on stdout.
"$CAE_PYTHON" - "$out" "$seconds" "$BEFORE" "$AFTER" <<'EOF'
import json, os, sys

out, seconds, before, after = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])

def lines(name):
    with open(os.path.join(out, name)) as f:
        return [json.loads(l) for l in f if l.strip()]

schedule = lines("schedule.jsonl")
flagged = [d for d in lines("detections.jsonl") if d.get("anomaly", True)]
stats_file = os.path.join(out, "watch-stats.json")
stats = json.load(open(stats_file)) if os.path.exists(stats_file) else {}
window = lambda s: (s["start"] - before, s["end"] + after)

def at_defect(d, s):
    """A region of detection d overlaps defect s (its size plus 8 px), which rides the pan."""
    t = min(max(d["time"], s["start"]), s["end"])
    cx, cy = s["x"] + s.get("vx", 0) * (t - s["start"]), s["y"]
    half = s["size"] / 2 + 8
    return any(r["x"] < cx + half and r["x"] + r["width"] > cx - half and
               r["y"] < cy + half and r["y"] + r["height"] > cy - half for r in d["regions"])

defects = []
for s in schedule:
    lo, hi = window(s)
    hits = sorted((d for d in flagged if lo <= d["time"] <= hi), key=lambda d: d["time"])
    located = [d["time"] for d in hits if at_defect(d, s)]
    row = dict(s, window=[round(lo, 3), round(hi, 3)], in_run=s["start"] < seconds,
               reported=bool(hits), frames=len(hits),
               first=hits[0]["time"] if hits else None,
               delay=round(hits[0]["time"] - s["start"], 4) if hits else None,
               frames_at_defect=len(located),
               first_at_defect=located[0] if located else None)
    defects.append(row)
false_alarms = sorted(d["time"] for d in flagged
                      if not any(window(s)[0] <= d["time"] <= window(s)[1] for s in schedule))
seen = [r for r in defects if r["in_run"]]
summary = dict(seconds=seconds, window=[-before, after], defects=defects,
               reported=sum(r["reported"] for r in seen),
               at_defect=sum(r["frames_at_defect"] > 0 for r in seen),
               missed=sum(not r["reported"] for r in seen),
               false_alarm_frames=len(false_alarms), false_alarm_times=false_alarms, watch=stats)
with open(os.path.join(out, "summary.json"), "w") as f:
    json.dump(summary, f, indent=1)

tag = "[inspect-rtsp]"
print(f"{tag} {'defect':8} {'start':>6} {'end':>6}  {'reported':8} {'first':>6} {'delay':>6} "
      f"frames (at the defect)")
for r in defects:
    verdict = "yes" if r["reported"] else ("NO" if r["in_run"] else "(after)")
    first = f"{r['first']:6.2f}" if r["first"] is not None else "     -"
    delay = f"{r['delay']:+6.2f}" if r["delay"] is not None else "     -"
    print(f"{tag} {r['kind']:8} {r['start']:6.2f} {r['end']:6.2f}  {verdict:8} {first} {delay} "
          f"{r['frames']:6d} ({r['frames_at_defect']})")
print(f"{tag} {summary['reported']} of {len(seen)} defect(s) reported "
      f"({summary['at_defect']} with a region at the defect); {len(false_alarms)} "
      f"false-alarm frame(s)" + (f" at {', '.join(f'{t:.2f}' for t in false_alarms)} s" if false_alarms else ""))
if stats:
    print(f"{tag} watch: {stats.get('frames', 0)} frames received at {stats.get('fps_received', 0):.1f} fps, "
          f"{stats.get('analysed', 0)} analysed at {stats.get('fps_analysed', 0):.1f} fps, "
          f"caeanomaly {stats.get('process_ms_mean', 0):.0f} ms per frame")
print(f"{tag} wrote {os.path.join(out, 'summary.json')}")
EOF
