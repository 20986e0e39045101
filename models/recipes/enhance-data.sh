#!/usr/bin/env bash
# Training data of the medical enhancement models (sourced by their recipes, or run to make it):
# real scans that Debian ships, none of them a test slice of bench/run_enhance_bench.sh
# (CT_small.dcm, MR_small.dcm, ITK's BrainProtonDensitySlice.png and BrainT1Slice.png).
#   CT: CT-MONO2-16-ankle.dcm (octave-dicom; 512x512, 16-bit signed, HU = stored - 1024).
#   MR: axial slices of the ch2better T1 volume (mricron-data: Colin27, 0.5 mm, 8-bit) and of the
#       inia19 T1 template (mricron-data: a rhesus macaque brain, float), every 12th slice with
#       enough brain in it, written as 16-bit PNGs (values x16: 12-bit MR magnitudes); ITK's
#       BrainMidSagittalSlice.png and FatMRISlice.png (insighttoolkit5-examples, 8-bit, x16), which
#       the benchmark also uses to tune NLM and bm3d (never to score them).
#       Each MR slice is stretched to its own min..max (0..65535): MR magnitudes have no absolute
#       scale, so cae-enhance maps a scan through its own range for a model without cae.window,
#       and the trainer reads a 16-bit PNG as sample / 65535; the Rician --sigma is then a
#       fraction of the slice's maximum, as in the benchmark (3 % and 6 %).
# Usage: models/recipes/enhance-data.sh [out-dir (default out/enhance-data)]; prints the folders.
# Needs /usr/bin/python3 with python3-nibabel and python3-skimage, and the packages above.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
data=${1:-$root/out/enhance-data}
ENHANCE_CT_DATA=(/usr/share/octave/packages/dicom-0.5.1/imdata/CT-MONO2-16-ankle.dcm)
ENHANCE_MR_DATA=("$data/mr-range")
mkdir -p "$data/mr-range"
if [[ ! -f "$data/mr-range/.done" ]]; then
  /usr/bin/python3 - "$data/mr-range" <<'EOF'
import sys, numpy as np, nibabel as nib
from skimage import io
out = sys.argv[1]
def save(path, sl):
    sl = sl - sl.min()
    io.imsave(path, (sl * (65535.0 / sl.max())).round().astype(np.uint16), check_contrast=False)
itk = "/usr/share/doc/insighttoolkit5-examples/examples/Data/"
n = 0
for name, path, scale in [("ch2better", "/usr/share/mricron/templates/ch2better.nii.gz", 16.0),
                          ("inia19", "/usr/share/mricron/templates/inia19-t1-brain.nii.gz", None)]:
    vol = np.asarray(nib.load(path).dataobj, dtype=np.float64)
    s = scale if scale else 4000.0 / vol.max()
    for z in range(0, vol.shape[2], 12):
        sl = np.rot90(vol[:, :, z])
        if (sl > 0.1 * vol.max()).mean() < 0.15:
            continue  # mostly background
        save(f"{out}/{name}-z{z:03d}.png", np.clip(sl * s, 0, 65535).round())
        n += 1
for f in ["BrainMidSagittalSlice.png", "FatMRISlice.png"]:
    save(f"{out}/itk-{f}", io.imread(itk + f).astype(np.float64) * 16)
    n += 1
print(f"{n} MR slices in {out}", file=sys.stderr)
EOF
  touch "$data/mr-range/.done"
fi
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  printf 'CT: %s\nMR: %s\n' "${ENHANCE_CT_DATA[*]}" "${ENHANCE_MR_DATA[*]}"
fi
