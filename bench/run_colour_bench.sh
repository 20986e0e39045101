#!/usr/bin/env bash
# Colour with a gray model (issue 11): per-plane R, G, B against luma + opponent channels (what
# caedenoise runs on RGB-type frames) against OpenCV's fastNlMeansDenoisingColored, on the colour
# images of the ANCHORS.md test list; writes bench/reports/colour.md.
# Usage: bench/run_colour_bench.sh [builddir (default build)] [model (default models/denoise-gray.onnx)]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
build="${1:-$root/build}"
model="${2:-$root/models/denoise-gray.onnx}"
ninja -C "$build" bench/bench_colour_denoise >&2
out="$here/reports/colour.md"
load0=$(cut -d' ' -f1-3 /proc/loadavg)
start=$(date +%s)
table=$("$build/bench/bench_colour_denoise" "$model" 2>/dev/null)
{
  echo "# Colour through a gray denoiser: per plane or luma + opponent channels (issue 11)"
  echo
  echo "Measured $(date -u '+%Y-%m-%d %H:%M') UTC, commit $(git -C "$root" rev-parse --short HEAD), $(nproc) cores; load $load0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end; $(( $(date +%s) - start )) s. Model: \`$(basename "$model")\` on the Engine's default backend and threads."
  echo
  echo "The colour images of the ANCHORS.md test list (skimage astronaut, coffee, chelsea, rocket, motorcycle_left, hubble_deep_field), independent Gaussian noise per channel (seeded, rounded, clipped to 8 bits), PSNR over the three 8-bit channels. **per-plane**: R, G, B each through the gray model (caedenoise before 2026-11-29). **opponent**: \`runPlanes\` with \`Colour::Opponent\` (caedenoise now): Y = (R+G+B)/3, C1 = (R−B)/2 + ½, C2 = (R−2G+B)/4 + ½, each through the same gray model, then back. **OpenCV NLM colored**: \`fastNlMeansDenoisingColored\` with h = hColor = ANCHORS' gray h (13.5 / 22.5 / 40), windows 7 and 21 — not tuned for colour, so a weak anchor here."
  echo
  echo "$table"
  echo
  echo "Reproduce: \`bench/run_colour_bench.sh [builddir] [model]\`."
} >"$out"
echo "report: $out" >&2
