#!/usr/bin/python3
"""Turns `gst-launch-1.0 -m` output into JSON lines: one per cae-audio-anomaly message (score,
threshold, is_anomaly, above_threshold, z, error, running_time_s, stream_time_s, duration_s),
read from stdin, written
to stdout; a last line {"summary": ...} with the windows, the flagged ones and their times.
`audio-events.py --label LABELS.jsonl` says in words where cae-machine-sounds put the first
clip's fault. Used by pipelines/watch-machine.sh."""
import json
import re
import sys

if len(sys.argv) == 3 and sys.argv[1] == "--label":
    label = json.loads(open(sys.argv[2]).readline())
    print(f"machine {label['machine']}, a {label['fault']} fault from {label['start']:.1f} s "
          f"to {label['end']:.1f} s")
    sys.exit(0)

FIELD = re.compile(r"([a-z-]+)=\((double|boolean|guint64)\)([^,;\s]+)")
windows = flagged = 0
times = []
for line in sys.stdin:
    if "cae-audio-anomaly" not in line:
        continue
    f = {k: (float(v) if t == "double" else v == "true" if t == "boolean" else int(v))
         for k, t, v in FIELD.findall(line)}
    e = {"score": f.get("score"), "threshold": f.get("threshold"),
         "is_anomaly": f.get("is-anomaly", False),
         "above_threshold": f.get("above-threshold", f.get("is-anomaly", False)),
         "z": f.get("z"), "error": f.get("error"),
         "running_time_s": f.get("running-time", 0) / 1e9,
         "stream_time_s": f.get("stream-time", 0) / 1e9,
         "duration_s": f.get("duration", 0) / 1e9}
    print(json.dumps(e), flush=True)
    windows += 1
    if e["is_anomaly"]:
        flagged += 1
        times.append(round(e["stream_time_s"], 3))
print(json.dumps({"summary": {"windows": windows, "flagged": flagged, "flagged_at_s": times}}))
