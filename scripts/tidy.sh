#!/usr/bin/env bash
# clang-tidy (the checks in .clang-tidy) over cae's sources, with the compile commands of a meson
# build tree; fails when it finds anything, listing each finding once.
# Usage: scripts/tidy.sh BUILD_DIR [-j N] [FOLDER...]   (folders default: core plugins tools tests
# bench). Headers are checked through the translation units that include them (HeaderFilterRegex).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "${1:?usage: scripts/tidy.sh BUILD_DIR [-j N] [FOLDER...]}" && pwd)"
shift
jobs=$(nproc)
if [[ "${1:-}" == -j ]]; then jobs=$2; shift 2; fi
folders=("$@")
((${#folders[@]})) || folders=(core plugins tools tests bench)

runner=$(command -v run-clang-tidy-14 || command -v run-clang-tidy) ||
  { echo "tidy: run-clang-tidy not found; install it: apt-get install clang-tidy" >&2; exit 1; }
[[ -f "$build/compile_commands.json" ]] ||
  { echo "tidy: no $build/compile_commands.json (configure with meson first)" >&2; exit 1; }

# One compile command per source file in the folders: core/nn is built twice (float32, and
# float64 for the gradient checks) from the same sources, and checking both copies finds nothing
# more in twice the time.
db="$build/tidy"
mkdir -p "$db"
/usr/bin/python3 - "$build/compile_commands.json" "$db/compile_commands.json" "$root" \
  "${folders[@]}" <<'PY'
import json, os, sys
src, dst, root, folders = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
seen, keep = set(), []
for e in json.load(open(src)):
    path = os.path.realpath(os.path.join(e["directory"], e["file"]))
    rel = os.path.relpath(path, root)
    inside = any(rel == f.rstrip("/") or rel.startswith(f.rstrip("/") + "/") for f in folders)
    if inside and path not in seen and "-DCAE_NN_DOUBLE" not in e.get("command", ""):
        seen.add(path)
        keep.append(e)
json.dump(keep, open(dst, "w"), indent=1)
print(f"tidy: {len(keep)} translation units in {' '.join(folders)}", file=sys.stderr)
sys.exit(0 if keep else 1)
PY

out="$db/output.txt"
start=$SECONDS
# -w: compiler warnings are the build's business (-Werror there); not computing them is faster.
"$runner" -p "$db" -j "$jobs" -quiet -extra-arg=-w >"$out" 2>&1 || true
echo "tidy: $((SECONDS - start)) s with -j $jobs"
# Findings as FILE:LINE:COL: MESSAGE [CHECK], paths from the source root, each once (a header's
# finding comes from every translation unit that includes it); exit 1 on any, or on a file
# clang-tidy could not process.
/usr/bin/python3 - "$out" "$build" "$root" <<'PY'
import os, re, sys
out, build, root = sys.argv[1:]
text = re.sub(r"\x1b\[[0-9;]*m", "", open(out, errors="replace").read())
diag = re.compile(r"^(\S+?):(\d+):(\d+): (warning|error): (.*)$")
findings, failed = set(), set()
for line in text.splitlines():
    m = diag.match(line)
    if m:
        path = os.path.relpath(os.path.realpath(os.path.join(build, m[1])), root)
        findings.add(f"{path}:{m[2]}:{m[3]}: {m[5]}")
    elif line.startswith("Error while processing"):
        failed.add(line)
key = lambda f: (f.split(":")[0], int(f.split(":")[1]), f)
for f in sorted(findings, key=key):
    print(f)
for f in sorted(failed):
    print(f)
print(f"tidy: {len(findings)} findings")
sys.exit(1 if findings or failed else 0)
PY
