#!/usr/bin/env bash
# Enhances an archive of scans on a Slurm cluster: one job array of N tasks, task I running
# `cae-enhance INPUT... -o OUTDIR --shard I/N --resume` (a deterministic partition by path: every
# input in exactly one task, each task with its own manifest), then a merge job that runs when
# the array has ended and writes OUTDIR/manifest.jsonl and OUTDIR/failures.csv for the whole
# archive. A task that fails or is cancelled can be resubmitted the same way: --resume skips what
# its manifest proves done.
set -euo pipefail
source "$(dirname "$0")/common.sh"

usage() {
  cat <<EOF
Usage: $(basename "$0") INPUT... -o OUTDIR [--tasks N] [--model M] [--wait] [--partition P]
                         [--sbatch "OPTS"] [-- CAE-ENHANCE-OPTIONS]
       $(basename "$0") --merge OUTDIR

Submits INPUT... (DICOM files/folders, 16-bit PNG/TIFF; paths every node can read) as a Slurm
array of N tasks of cae-enhance, and a merge job after it.
  -o OUTDIR       output folder, on storage every node shares
  --tasks N       array tasks (default 4)
  --model M       enhancement model (default: cae-enhance's default)
  --wait          wait for the array and the merge, print the summary, exit non-zero if
                  a task failed or an input is missing from the merged manifest
  --partition P   Slurm partition (default: the cluster's default)
  --sbatch OPTS   more sbatch options for the array, e.g. "--cpus-per-task=2 --mem=4G"
  --merge OUTDIR  (what the merge job runs) merge the shard manifests and failure lists
  -- OPTIONS      passed to cae-enhance (e.g. --format tiff --jobs 2)
Environment: CAE_BUILD_DIR (build tree with tools/cae-enhance; default <repo>/build).
Logs: OUTDIR/slurm/enhance-<job>_<task>.log and merge-<job>.log.
Example: $(basename "$0") /archive/ct -o /shared/ct-enhanced --tasks 8 --wait
EOF
}

# Merges OUTDIR/manifest.shard-*-of-N.jsonl into manifest.jsonl (one line per output, the last
# one a shard wrote) and the failures.shard-*.csv into failures.csv; prints the totals.
merge() {
  local out="$1"
  [[ -d "$out" ]] || pipe_die "no output folder $out"
  "$CAE_PYTHON" - "$out" <<'EOF'
import glob, json, os, sys
out = sys.argv[1]
lines = {}
for path in sorted(glob.glob(os.path.join(out, "manifest.shard-*.jsonl"))):
    with open(path) as f:
        for line in f:
            try:
                j = json.loads(line)
            except ValueError:
                continue  # a torn last line of a killed task
            lines[j["output"]] = j
failures = []
for path in sorted(glob.glob(os.path.join(out, "failures.shard-*.csv"))):
    with open(path) as f:
        failures += [l for l in f.read().splitlines()[1:] if l]
tmp = os.path.join(out, ".manifest.merge")
with open(tmp, "w") as f:
    for k in sorted(lines):
        f.write(json.dumps(lines[k]) + "\n")
os.replace(tmp, os.path.join(out, "manifest.jsonl"))
tmp = os.path.join(out, ".failures.merge")
with open(tmp, "w") as f:
    f.write("input,reason\n" + "".join(l + "\n" for l in failures))
os.replace(tmp, os.path.join(out, "failures.csv"))
print(f"merged: {len(lines)} outputs, {len(failures)} failed inputs "
      f"({os.path.join(out, 'manifest.jsonl')}, {os.path.join(out, 'failures.csv')})")
EOF
}

inputs=() out="" tasks=4 model="" wait=0 partition="" sbatch_opts="" extra=()
while (($#)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --merge) merge "${2:?--merge needs OUTDIR}"; exit ;;
    -o | --output) out="${2:?-o needs a folder}"; shift 2 ;;
    --tasks) tasks="${2:?--tasks needs a number}"; shift 2 ;;
    --model) model="${2:?--model needs a file}"; shift 2 ;;
    --wait) wait=1; shift ;;
    --partition) partition="${2:?--partition needs a name}"; shift 2 ;;
    --sbatch) sbatch_opts="${2?--sbatch needs options}"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -*) usage >&2; pipe_die "unknown option $1" ;;
    *) inputs+=("$1"); shift ;;
  esac
done
((${#inputs[@]})) || { usage >&2; exit 2; }
[[ -n "$out" ]] || { usage >&2; pipe_die "-o OUTDIR is required"; }
[[ "$tasks" =~ ^[1-9][0-9]*$ ]] || pipe_die "--tasks must be a positive number, got '$tasks'"
command -v sbatch >/dev/null || pipe_die "sbatch not found: this needs a Slurm cluster (apt-get install slurm-wlm)"
exe="${CAE_BUILD_DIR:-$CAE_ROOT/build}/tools/cae-enhance"
[[ -x "$exe" ]] || pipe_die "cae-enhance is not built: no $exe (build it: meson setup build && ninja -C build)"
exe=$(realpath "$exe")

mkdir -p "$out/slurm"
out=$(realpath "$out")
abs_inputs=()
for i in "${inputs[@]}"; do
  [[ -e "$i" ]] || pipe_die "input not found: $i"
  abs_inputs+=("$(realpath "$i")")
done
cmd=("$exe" "${abs_inputs[@]}" -o "$out" --resume -q)
[[ -n "$model" ]] && cmd+=(--model "$(realpath "$model")")
cmd+=("${extra[@]}")

common=(--parsable --chdir "$out")
[[ -n "$partition" ]] && common+=(--partition "$partition")
# The array: each task adds its own --shard (Slurm sets the two variables per task) and leaves
# its exit status in OUTDIR/slurm/status-I (0: done, 2: some inputs failed; see cae-enhance -h).
rm -f "$out"/slurm/status-*
task_script="$(printf '%q ' "${cmd[@]}")--shard \"\$SLURM_ARRAY_TASK_ID/\$SLURM_ARRAY_TASK_COUNT\"
rc=\$?; echo \$rc >$(printf '%q' "$out/slurm")/status-\$SLURM_ARRAY_TASK_ID; exit \$rc"
# shellcheck disable=SC2086 # sbatch_opts holds several options
array=$(sbatch "${common[@]}" $sbatch_opts --job-name cae-enhance --array "0-$((tasks - 1))" \
  --output "$out/slurm/enhance-%A_%a.log" --wrap "$task_script")
array=${array%%;*}
merge_cmd="exec $(printf '%q ' "$(realpath "$0")" --merge "$out")"
merge_job=$(sbatch "${common[@]}" --job-name cae-enhance-merge --dependency "afterany:$array" \
  --output "$out/slurm/merge-%j.log" --wrap "$merge_cmd")
merge_job=${merge_job%%;*}
pipe_log "submitted array job $array ($tasks tasks) and merge job $merge_job; output $out"
((wait)) || exit 0

# Wait for the merge (it runs after every task ended, whatever their state).
pipe_log "waiting for the jobs to end"
while squeue -h -j "$array,$merge_job" 2>/dev/null | grep -q .; do sleep 1; done
cat "$out"/slurm/merge-"$merge_job".log 2>/dev/null || true
# Every task must have left its status: 0, or 2 when some of its inputs failed.
status=0
for ((i = 0; i < tasks; i++)); do
  f="$out/slurm/status-$i"
  if [[ ! -f "$f" ]]; then
    pipe_log "task $i did not finish (no $f; log: $out/slurm/enhance-${array}_$i.log)"
    status=1
  elif [[ $(<"$f") != 0 ]]; then
    pipe_log "task $i ended with status $(<"$f") (log: $out/slurm/enhance-${array}_$i.log)"
    ((status == 1)) || status=$(<"$f")
  fi
done
exit "$status"
