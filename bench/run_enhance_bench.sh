#!/usr/bin/env bash
# Medical enhancement (issue 13): quality of the given models against 16-bit OpenCV NLM and
# ffmpeg bm3d on held-out real slices with simulated low-dose CT and Rician MR noise
# (bench_enhance_quality), throughput of cae-enhance on 100 real 512x512 CT slices with --jobs 1
# and --jobs 2, and the time --resume takes on the finished job; writes bench/reports/enhance.md,
# enhance.jsonl, enhance.png and before/after crops in bench/reports/enhance/.
# Usage: bench/run_enhance_bench.sh [builddir (default build)] [models... (default: cae-enhance's
#        default, models/denoise-gray.onnx)]
# Needs octave-dicom (the 512x512 CT slice) and ffmpeg; installs nothing itself.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
build="${1:-$root/build}"
shift || true
models=("$@")
((${#models[@]})) || models=("$root/models/denoise-gray.onnx")
ankle=/usr/share/octave/packages/dicom-0.5.1/imdata/CT-MONO2-16-ankle.dcm
[[ -f $ankle ]] || { echo "needs octave-dicom ($ankle): apt-get install octave-dicom" >&2; exit 1; }
command -v ffmpeg >/dev/null || { echo "needs ffmpeg" >&2; exit 1; }
ninja -C "$build" bench/bench_enhance_quality tools/cae-enhance >&2
reports="$here/reports"
mkdir -p "$reports/enhance"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
load0=$(cut -d' ' -f1-3 /proc/loadavg)
start=$(date +%s)

margs=()
for m in "${models[@]}"; do margs+=(--model "$m"); done
echo "quality ..." >&2
"$build/bench/bench_enhance_quality" "${margs[@]}" --json 2>/dev/null | grep '^{' >"$reports/enhance.jsonl"
table=$("$build/bench/bench_enhance_quality" "${margs[@]}" --images "$reports/enhance" 2>/dev/null)

# Throughput: 100 copies of the 512x512 ankle slice, the first model, --jobs 1 then 2.
mkdir -p "$work/in"
for i in $(seq -w 1 100); do cp "$ankle" "$work/in/IM$i.dcm"; done
declare -A rate
for j in 1 2; do
  t0=$(date +%s.%N)
  "$build/tools/cae-enhance" "$work/in" -o "$work/out$j" -m "${models[0]}" --jobs "$j" -q 2>/dev/null
  t1=$(date +%s.%N)
  rate[$j]=$(/usr/bin/python3 -c "print(f'{100/($t1-$t0):.1f}')")
done
t0=$(date +%s.%N)
"$build/tools/cae-enhance" "$work/in" -o "$work/out2" -m "${models[0]}" --jobs 2 --resume -q 2>"$work/resume.txt"
t1=$(date +%s.%N)
resume=$(/usr/bin/python3 -c "print(f'{$t1-$t0:.2f}')")
grep -q "0 enhanced, 100 already done" "$work/resume.txt" || { cat "$work/resume.txt" >&2; exit 1; }

/usr/bin/python3 - "$reports/enhance.jsonl" "$reports/enhance.png" <<'EOF'
import json, sys, collections
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
rows = [json.loads(l) for l in open(sys.argv[1])]
levels = list(dict.fromkeys(r["level"] for r in rows))
methods = list(dict.fromkeys(r["method"] for r in rows))
mean = collections.defaultdict(list)
for r in rows: mean[(r["level"], r["method"])].append(r["psnr"])
fig, ax = plt.subplots(figsize=(10, 4))
w = 0.8 / len(methods)
for k, m in enumerate(methods):
    ax.bar([i + k * w for i in range(len(levels))],
           [sum(mean[(l, m)]) / len(mean[(l, m)]) if mean[(l, m)] else 0 for l in levels], w,
           label=m)  # 0: a model trained for the other modality is not scored there
ax.set_xticks([i + 0.4 - w / 2 for i in range(len(levels))], levels, fontsize=8)
ax.set_ylabel("PSNR (dB), mean over test slices")
ax.set_ylim(bottom=15)
ax.legend(fontsize=7)
fig.tight_layout()
fig.savefig(sys.argv[2], dpi=100)
EOF

{
  echo "# Medical enhancement: cae-enhance against 16-bit NLM and bm3d (issue 13)"
  echo
  # shellcheck disable=SC2016 # the backticks are markdown
  echo "Measured $(date -u '+%Y-%m-%d %H:%M') UTC, commit $(git -C "$root" rev-parse --short HEAD), $(nproc) cores; load $load0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end; $(($(date +%s) - start)) s. Models: $(for m in "${models[@]}"; do printf '`%s` ' "$(basename "$m")"; done)(through \`cae::enhance::Enhancer\`, what cae-enhance runs: the model's \`cae.window\`, else each slice's own range)."
  echo
  echo "**Slices.** Real scans that Debian ships. Tuning (NLM's h and bm3d's sigma, per noise level; never the test slices): CT-MONO2-16-ankle.dcm (octave-dicom, 512×512, 16-bit signed), ITK's BrainMidSagittalSlice.png and FatMRISlice.png (insighttoolkit5-examples, 8-bit, spread over 12 bits ×16). Test: CT_small.dcm (python3-pydicom, 128×128 CT); MR_small.dcm (pydicom, 64×64, 16-bit), ITK's BrainProtonDensitySlice.png and BrainT1Slice.png (BrainWeb, 8-bit ×16). One CT test slice only: Debian ships two real CT slices."
  echo
  echo "**Noise.** CT: low dose simulated in the projection domain (core/train/ct_lowdose.hpp: the slice's HU window [−1000, 1000] as attenuation with water at 0.5, parallel beam, ⌈π/2·N⌉ angles, Poisson counts at I0 photons per ray, Shepp–Logan-filtered back-projection of the noise) at I0 = 5e4 and 1e4. MR: Rician noise at sigma = 3 % and 6 % of the slice's maximum. Seeded; noisy values rounded and clamped to the stored range."
  echo
  echo "**Methods.** OpenCV \`fastNlMeansDenoising\` on 16-bit values with NORM_L1 (windows 7 and 21), h from a grid of multiples of the noise std, the best mean PSNR on the tuning slices. ffmpeg 5.1's bm3d (estim=basic) fed **gray12le**: its gray16le path is broken (a 12-bit camera.png with noise gives at best 24.8 dB, and black frames from sigma 400 up), while on gray12le its sigma is in 8-bit units and 3.75 × the noise std is best as at 8 bits; sigma tuned like h. PSNR and SSIM (Gaussian window 1.5, K 0.01/0.03) in each clean slice's value range; means over the test slices."
  echo
  echo "$table"
  echo
  echo "![PSNR per noise level](enhance.png)"
  echo
  echo "Before/after crops (the higher noise level, first test slice of each modality, windowed to the clean slice's range): \`bench/reports/enhance/enhance-{ct,mr}-{clean,noisy,opencv,ffmpeg,<model>}.png\`."
  echo
  echo "## Throughput and resume"
  echo
  echo "cae-enhance on 100 copies of the 512×512 CT slice (DICOM in, derived DICOM out, manifest, hashes; model \`$(basename "${models[0]}")\`, one engine thread per worker):"
  echo
  echo "| --jobs | slices/s |"
  echo "|---|---|"
  echo "| 1 | ${rate[1]} |"
  echo "| 2 | ${rate[2]} |"
  echo
  echo "\`--resume\` on the finished 100-slice job (every input and output hashed against the manifest): ${resume} s."
  echo
  echo "## Targets (issue 13)"
  echo
  /usr/bin/python3 "$here/enhance_targets.py" "$reports/enhance.jsonl"
  echo "- ≥ 10 slices/s at 512×512 with --jobs 2: ${rate[2]} slices/s → $(/usr/bin/python3 -c "print('**met**' if ${rate[2]} >= 10 else '**missed**')")."
  echo "- --resume of a finished 100-slice job in under 1 s: ${resume} s → $(/usr/bin/python3 -c "print('**met**' if ${resume} < 1 else '**missed**')")."
  echo
  echo "Reproduce: \`bench/run_enhance_bench.sh [builddir] [models...]\` (raw rows: \`enhance.jsonl\`)."
} >"$reports/enhance.md"
echo "report: $reports/enhance.md" >&2
